// HTTP/1.1 for `peel serve`: the listener, one coroutine per connection, and the route table.
// Boost.Beast lives in http.cc alone; handlers see only these types, so they read like the
// blocking code they are (co_await where the connection is read or written) and the simple
// ones are plain functions from a request to a response, testable without sockets.
//
// One io_context runs the connections on a few threads (each connection on its own strand):
// thousands of idle SSE streams cost a coroutine frame each, not a thread. Work that may take
// long (probing a file, hashing) is moved off those threads with Exchange::offload().
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "peel/error.h"

namespace peel::server {

template <class T>
using Awaitable = boost::asio::awaitable<T>;

// Header names are compared case-insensitively (RFC 9110): stored lower case.
struct HttpRequest {
  std::string method;                          // "GET", "POST"...
  std::string target;                          // as sent: path and query
  std::string path;                            // percent-decoded path, without the query
  std::map<std::string, std::string> query;    // decoded; a repeated key keeps the last value
  std::map<std::string, std::string> headers;  // lower-case names
  std::map<std::string, std::string> params;   // the route pattern's {name} parts
  std::string body;  // buffered routes only; streaming routes read it with read_body()
  std::string peer;  // the client's address
  std::optional<int64_t> content_length;
  bool chunked = false;

  // A header's value, "" when absent.
  std::string header(std::string_view lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool head = false;  // a HEAD answer: headers (Content-Length of `body` or `length`), no body

  HttpResponse& with(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

// Fills `data` with up to `size` bytes at `offset` of what a streamed answer sends; returns
// how many (0: the source ended early, which ends the connection).
using BodySource = std::function<Result<size_t>(int64_t offset, char* data, size_t size)>;

// Something that can be woken from another thread: an SSE stream waiting for its next event.
// wait() below returns early once notify() was called since the last wait.
class Signal {
 public:
  void notify();

 private:
  friend class Connection;
  std::mutex mutex_;
  bool fired_ = false;
  std::function<void()> wake_;
};

// One request and its answer, on one connection.
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual HttpRequest& request() = 0;

  // Streaming routes: the next piece of the request body as it arrives ("" at its end).
  // Fails with kInternal when the connection drops or stalls, and with kFileTooLarge past
  // `limit` bytes in all.
  virtual Awaitable<Result<std::string_view>> read_body(int64_t limit) = 0;

  // Sends a whole answer. False when the connection is gone.
  virtual Awaitable<bool> respond(HttpResponse response) = 0;
  // Sends `length` bytes from `source` after the status and headers of `head` (its body is
  // ignored); a HEAD request gets the headers only.
  virtual Awaitable<bool> respond_stream(HttpResponse head, int64_t length, BodySource source) = 0;

  // An answer of unknown length, sent piece by piece (chunked): Server-Sent Events.
  virtual Awaitable<bool> begin_stream(HttpResponse head) = 0;
  virtual Awaitable<bool> write_chunk(std::string_view data) = 0;
  virtual Awaitable<void> end_stream() = 0;

  // Returns after `timeout`, or sooner once `signal` is notified.
  virtual Awaitable<void> wait(Signal& signal, std::chrono::milliseconds timeout) = 0;
  // Runs `work` on a thread of the blocking pool, then resumes on the connection's strand.
  virtual Awaitable<void> offload(std::function<void()> work) = 0;
};

using Handler = std::function<Awaitable<void>(Exchange&)>;
// A route whose answer needs nothing but the request: runs on the connection's thread.
using SimpleHandler = std::function<HttpResponse(const HttpRequest&)>;

struct Route {
  std::string method;
  // Literal segments and {name} placeholders, each a whole segment: "/api/jobs/{id}".
  // A last placeholder written {name...} takes the rest of the path, slashes included.
  std::string pattern;
  Handler handler;
  // The body is read by the handler (uploads); otherwise it is read whole first, up to the
  // server's body limit.
  bool streams_body = false;
  std::string name;  // for metrics: the pattern when empty
};

// A route that answers from the request alone.
Route simple_route(std::string method, std::string pattern, SimpleHandler handler);

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;           // 0: any free port (see HttpServer::port())
  int threads = 1;           // threads running the connections
  int blocking_threads = 2;  // threads of offload()
  size_t header_limit = 16 * 1024;
  size_t body_limit = 1024 * 1024;        // buffered routes
  std::chrono::seconds idle_timeout{60};  // a read or write making no progress this long
  // Called for each answered request: route name (or "unknown"), status, seconds taken.
  std::function<void(const std::string& route, int status, double seconds)> on_request;
  // Answers for what no route takes: the status (404 or 405) and the message.
  std::function<HttpResponse(int status, const std::string& message)> error_response;
};

// Returns the route and its parameters for `method` and `path`: nullptr with status 404 (no
// route has the path) or 405 (another method has; `allowed`, when given, gets the methods
// that have, as an Allow header lists them: "GET, HEAD, POST").
const Route* match_route(const std::vector<Route>& routes, const std::string& method,
                         const std::string& path, std::map<std::string, std::string>& params,
                         int& status, std::string* allowed = nullptr);

class HttpServer {
 public:
  HttpServer(HttpOptions options, std::vector<Route> routes);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens; fails with kUsage when the address cannot be taken (in use, bad host).
  Result<void> start();
  int port() const;
  // Runs the connections on options.threads threads (this one among them) until stop().
  void run();
  // Stops accepting; open connections are closed. Thread-safe, async-signal-unsafe.
  void stop();

  struct State;  // http.cc's

 private:
  std::unique_ptr<State> state_;
};

// Percent-decoding of a path or query part ("+" is a space in a query); nullopt when malformed.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

}  // namespace peel::server
