// The HTTP/1.1 server under `peel serve`, on Boost.Beast with C++20 coroutines: the shape of
// Beast's advanced_server example (a listener, one session per connection, timeouts and
// limits set where the connection is made), without its WebSocket half.
#include "server/http.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <exception>
#include <limits>
#include <thread>

#include "server/run_on.h"

namespace peel::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

std::string HttpRequest::header(std::string_view lower_name) const {
  auto it = headers.find(std::string(lower_name));
  return it == headers.end() ? std::string() : it->second;
}

void Signal::notify() {
  std::function<void()> wake;
  {
    std::lock_guard lock(mutex_);
    fired_ = true;
    wake = wake_;
  }
  if (wake) wake();
}

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = hex(text[i + 1]);
      int lo = hex(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

namespace {

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t end = path.find('/', i);
    if (end == std::string_view::npos) end = path.size();
    out.push_back(path.substr(i, end - i));
    i = end;
  }
  return out;
}

// Matches one pattern; fills `params` on success.
bool match_pattern(std::string_view pattern, std::string_view path,
                   std::map<std::string, std::string>& params) {
  auto want = segments(pattern);
  auto have = segments(path);
  std::map<std::string, std::string> found;
  for (size_t i = 0; i < want.size(); ++i) {
    std::string_view w = want[i];
    bool placeholder = w.size() > 2 && w.front() == '{' && w.back() == '}';
    if (placeholder && w.ends_with("...}")) {
      if (i >= have.size()) return false;
      // The rest of the path, from this segment on.
      size_t at = static_cast<size_t>(have[i].data() - path.data());
      found[std::string(w.substr(1, w.size() - 5))] = std::string(path.substr(at));
      params = std::move(found);
      return true;
    }
    if (i >= have.size()) return false;
    if (placeholder) {
      found[std::string(w.substr(1, w.size() - 2))] = std::string(have[i]);
    } else if (w != have[i]) {
      return false;
    }
  }
  if (want.size() != have.size()) return false;
  params = std::move(found);
  return true;
}

void parse_query(std::string_view query, std::map<std::string, std::string>& out) {
  size_t i = 0;
  while (i <= query.size()) {
    size_t end = query.find('&', i);
    if (end == std::string_view::npos) end = query.size();
    std::string_view pair = query.substr(i, end - i);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      auto key = percent_decode(pair.substr(0, eq), true);
      auto value = eq == std::string_view::npos ? std::optional<std::string>("")
                                                : percent_decode(pair.substr(eq + 1), true);
      if (key && value) out[*key] = *value;
    }
    i = end + 1;
  }
}

}  // namespace

const Route* match_route(const std::vector<Route>& routes, const std::string& method,
                         const std::string& path, std::map<std::string, std::string>& params,
                         int& status, std::string* allowed) {
  status = 404;
  std::vector<std::string> methods;
  for (const auto& route : routes) {
    std::map<std::string, std::string> found;
    if (!match_pattern(route.pattern, path, found)) continue;
    if (route.method == method || (method == "HEAD" && route.method == "GET")) {
      params = std::move(found);
      return &route;
    }
    status = 405;
    methods.push_back(route.method);
    if (route.method == "GET") methods.push_back("HEAD");
  }
  if (allowed != nullptr) {
    std::sort(methods.begin(), methods.end());
    methods.erase(std::unique(methods.begin(), methods.end()), methods.end());
    allowed->clear();
    for (const auto& m : methods) *allowed += (allowed->empty() ? "" : ", ") + m;
  }
  return nullptr;
}

Route simple_route(std::string method, std::string pattern, SimpleHandler handler) {
  Route route;
  route.method = std::move(method);
  route.pattern = std::move(pattern);
  route.handler = [handler = std::move(handler)](Exchange& exchange) -> Awaitable<void> {
    HttpResponse response = handler(exchange.request());
    co_await exchange.respond(std::move(response));
  };
  return route;
}

struct HttpServer::State {
  HttpOptions options;
  std::vector<Route> routes;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  asio::thread_pool blocking;
  std::atomic<bool> stopping{false};

  State(HttpOptions o, std::vector<Route> r)
      : options(std::move(o)),
        routes(std::move(r)),
        ioc(std::max(1, options.threads)),
        blocking(static_cast<size_t>(std::max(1, options.blocking_threads))) {}

  Awaitable<void> accept_loop();
};

// One client connection: reads requests one after another (keep-alive) and runs their routes.
class Connection : public Exchange, public std::enable_shared_from_this<Connection> {
 public:
  Connection(HttpServer::State& state, tcp::socket socket)
      : state_(state), stream_(std::move(socket)) {}

  Awaitable<void> run();
  auto executor() { return stream_.get_executor(); }
  // Waits until the socket has bytes to read (or its peer closed it): true; false when
  // `timeout` passed first or it failed.
  Awaitable<bool> readable(std::chrono::seconds timeout);

  HttpRequest& request() override { return request_; }
  Awaitable<Result<std::string_view>> read_body(int64_t limit) override;
  Awaitable<bool> respond(HttpResponse response) override;
  Awaitable<bool> respond_stream(HttpResponse head, int64_t length, BodySource source) override;
  Awaitable<bool> begin_stream(HttpResponse head) override;
  Awaitable<bool> write_chunk(std::string_view data) override;
  Awaitable<void> end_stream() override;
  Awaitable<void> wait(Signal& signal, std::chrono::milliseconds timeout) override;
  Awaitable<void> offload(std::function<void()> work) override;

 private:
  template <class Message>
  void set_headers(Message& message, const HttpResponse& response);
  void finish_request(int status);

  HttpServer::State& state_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  HttpRequest request_;
  std::optional<http::request_parser<http::buffer_body>> body_parser_;
  int64_t body_read_ = 0;
  bool body_done_ = true;
  bool keep_alive_ = false;
  bool responded_ = false;
  bool continued_ = false;  // 100 Continue sent for this request
  static constexpr size_t kBigChunk = 1 << 20;
  static constexpr size_t kChunk = 64 * 1024;
  // The buffer bodies are read into and streamed answers sent from: as large as a request
  // needs (a body of known length: its size, up to kBigChunk), and held only while one does.
  // An idle connection or an open stream holds none: thousands of them are open at once.
  std::unique_ptr<char[]> big_chunk_;
  size_t big_chunk_size_ = 0;
  char* chunk(size_t size) {
    if (big_chunk_size_ < size) {
      big_chunk_ = std::make_unique<char[]>(size);
      big_chunk_size_ = size;
    }
    return big_chunk_.get();
  }
  void drop_chunk() {
    big_chunk_.reset();
    big_chunk_size_ = 0;
  }
  std::optional<int64_t> raw_left_;       // bytes of such a body not yet read
  std::optional<Error> pending_error_;  // what read_body() says after the bytes it returned
  std::string route_name_;
  std::chrono::steady_clock::time_point started_;
};

Awaitable<Result<std::string_view>> Connection::read_body(int64_t limit) {
  if (pending_error_) {
    Error e = *pending_error_;
    pending_error_.reset();
    co_return e;
  }
  if (body_done_ || !body_parser_) co_return std::string_view();
  auto& parser = *body_parser_;
  // A client that asked to be told before it sends the body (curl does, past 1 MB) is told
  // now that the handler wants it.
  if (!continued_ && request_.header("expect") == "100-continue") {
    continued_ = true;
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    stream_.expires_after(state_.options.idle_timeout);
    auto continue_buffer = asio::const_buffer(kContinue.data(), kContinue.size());
    auto [cec, cn] = co_await asio::async_write(stream_, continue_buffer, kTuple);
    if (cec) {
      keep_alive_ = false;
      body_done_ = true;
      co_return Error(ErrorCode::kInternal, "the connection closed: " + cec.message());
    }
  }
  // A body of known length is read straight from the socket, a megabyte at a time: Beast's
  // parser reads 64 KB per call, and a gigabyte upload would cost a wake-up and a timer per
  // 64 KB. What the header's read already took in comes first.
  if (request_.content_length && !request_.chunked) {
    if (!raw_left_) {
      raw_left_ = *request_.content_length;
      chunk(static_cast<size_t>(
          std::clamp<int64_t>(*request_.content_length, 1, static_cast<int64_t>(kBigChunk))));
    }
    if (*raw_left_ == 0) {
      body_done_ = true;
      co_return std::string_view();
    }
    size_t want = static_cast<size_t>(std::min<int64_t>(*raw_left_, big_chunk_size_));
    size_t got = 0;
    if (buffer_.size() > 0) {
      got = asio::buffer_copy(asio::buffer(big_chunk_.get(), want), buffer_.data());
      buffer_.consume(got);
    } else {
      stream_.expires_after(state_.options.idle_timeout);
      auto [ec, n] = co_await stream_.async_read_some(asio::buffer(big_chunk_.get(), want), kTuple);
      if (ec) {
        keep_alive_ = false;
        body_done_ = true;
        co_return Error(ErrorCode::kInternal, "the request body ended early: " + ec.message());
      }
      got = n;
    }
    *raw_left_ -= static_cast<int64_t>(got);
    body_read_ += static_cast<int64_t>(got);
    if (body_read_ > limit) {
      keep_alive_ = false;
      co_return Error(ErrorCode::kFileTooLarge, "the request body is over the limit");
    }
    if (*raw_left_ == 0) body_done_ = true;  // the next request starts in buffer_
    co_return std::string_view(big_chunk_.get(), got);
  }
  for (;;) {
    if (parser.is_done()) {
      body_done_ = true;
      co_return std::string_view();
    }
    char* into = chunk(kChunk);
    parser.get().body().data = into;
    parser.get().body().size = kChunk;
    stream_.expires_after(state_.options.idle_timeout);
    // What has arrived, not a whole buffer: a body cut off keeps every byte that came.
    auto [ec, n] = co_await http::async_read_some(stream_, buffer_, parser, kTuple);
    if (ec == http::error::need_buffer) ec = {};
    size_t got = kChunk - parser.get().body().size;
    body_read_ += static_cast<int64_t>(got);
    if (body_read_ > limit) {
      keep_alive_ = false;
      co_return Error(ErrorCode::kFileTooLarge, "the request body is over the limit");
    }
    if (ec) {
      keep_alive_ = false;
      body_done_ = true;  // nothing more can be read
      Error e(ErrorCode::kInternal, "the request body ended early: " + ec.message());
      if (got == 0) co_return e;
      pending_error_ = e;  // the bytes first, then the error
    }
    if (got > 0) co_return std::string_view(into, got);
  }
}

template <class Message>
void Connection::set_headers(Message& message, const HttpResponse& response) {
  message.set(http::field::server, "peel");
  // Beast knows the reasons of RFC 9110; tus adds 460.
  if (response.status == 460) message.reason("Checksum Mismatch");
  if (!response.content_type.empty()) message.set(http::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) message.insert(name, value);
  message.keep_alive(keep_alive_ && body_done_);
}

void Connection::finish_request(int status) {
  responded_ = true;
  if (state_.options.on_request) {
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    state_.options.on_request(route_name_, status, seconds);
  }
}

Awaitable<bool> Connection::respond(HttpResponse response) {
  if (responded_) co_return false;
  finish_request(response.status);
  stream_.expires_after(state_.options.idle_timeout);
  bool no_content = response.status == 204 || response.status == 304;
  if (response.head || request_.method == "HEAD" || no_content) {
    http::response<http::empty_body> message{static_cast<http::status>(response.status), 11};
    set_headers(message, response);
    // A 204 or 304 has no body and, by RFC 9110, no Content-Length either.
    if (!no_content) message.content_length(response.body.size());
    http::response_serializer<http::empty_body> serializer{message};
    auto [ec, n] = co_await http::async_write_header(stream_, serializer, kTuple);
    co_return !ec;
  }
  http::response<http::string_body> message{static_cast<http::status>(response.status), 11};
  set_headers(message, response);
  message.body() = std::move(response.body);
  message.prepare_payload();
  auto [ec, n] = co_await http::async_write(stream_, message, kTuple);
  if (ec) keep_alive_ = false;
  co_return !ec;
}

Awaitable<bool> Connection::respond_stream(HttpResponse head, int64_t length, BodySource source) {
  if (responded_) co_return false;
  finish_request(head.status);
  http::response<http::buffer_body> message{static_cast<http::status>(head.status), 11};
  set_headers(message, head);
  message.content_length(static_cast<uint64_t>(length));
  http::response_serializer<http::buffer_body> serializer{message};
  stream_.expires_after(state_.options.idle_timeout);
  auto [ec, n] = co_await http::async_write_header(stream_, serializer, kTuple);
  if (ec) co_return false;
  if (request_.method == "HEAD") co_return true;
  int64_t sent = 0;
  while (sent < length) {
    char* from = chunk(kChunk);
    size_t want = static_cast<size_t>(std::min<int64_t>(length - sent, kChunk));
    auto got = source(sent, from, want);
    if (!got || *got == 0) {
      keep_alive_ = false;  // the length promised cannot be kept: the client sees a short body
      co_return false;
    }
    message.body().data = from;
    message.body().size = *got;
    message.body().more = true;
    stream_.expires_after(state_.options.idle_timeout);
    auto [wec, wn] = co_await http::async_write(stream_, serializer, kTuple);
    if (wec == http::error::need_buffer) wec = {};
    if (wec) {
      keep_alive_ = false;
      co_return false;
    }
    sent += static_cast<int64_t>(*got);
  }
  message.body().data = nullptr;
  message.body().size = 0;
  message.body().more = false;
  auto [fec, fn] = co_await http::async_write(stream_, serializer, kTuple);
  if (fec) keep_alive_ = false;
  co_return !fec;
}

Awaitable<bool> Connection::begin_stream(HttpResponse head) {
  if (responded_) co_return false;
  finish_request(head.status);
  keep_alive_ = false;  // a stream ends with its connection
  // Nothing more is read from it: the read buffer (64 KB once a request came) goes, so that
  // thousands of open streams hold only what they write.
  buffer_.clear();
  buffer_.shrink_to_fit();
  drop_chunk();
  http::response<http::empty_body> message{static_cast<http::status>(head.status), 11};
  set_headers(message, head);
  message.chunked(true);
  http::response_serializer<http::empty_body> serializer{message};
  stream_.expires_after(state_.options.idle_timeout);
  auto [ec, n] = co_await http::async_write_header(stream_, serializer, kTuple);
  co_return !ec;
}

Awaitable<bool> Connection::write_chunk(std::string_view data) {
  stream_.expires_after(state_.options.idle_timeout);
  auto chunk = http::make_chunk(asio::const_buffer(data.data(), data.size()));
  auto [ec, n] = co_await asio::async_write(stream_, chunk, kTuple);
  co_return !ec;
}

Awaitable<void> Connection::end_stream() {
  stream_.expires_after(state_.options.idle_timeout);
  auto last = http::make_chunk_last();
  co_await asio::async_write(stream_, last, kTuple);
}

Awaitable<void> Connection::wait(Signal& signal, std::chrono::milliseconds timeout) {
  auto timer = std::make_shared<asio::steady_timer>(stream_.get_executor(), timeout);
  {
    std::lock_guard lock(signal.mutex_);
    if (signal.fired_) {
      signal.fired_ = false;
      co_return;
    }
    std::weak_ptr<asio::steady_timer> weak = timer;
    auto executor = stream_.get_executor();
    signal.wake_ = [weak, executor] {
      asio::post(executor, [weak] {
        if (auto t = weak.lock()) t->cancel();
      });
    };
  }
  co_await timer->async_wait(kTuple);
  std::lock_guard lock(signal.mutex_);
  signal.wake_ = nullptr;
  signal.fired_ = false;
}

Awaitable<void> Connection::offload(std::function<void()> work) {
  co_await run_on(state_.blocking, work);
}

namespace {

HttpResponse plain_error(const HttpOptions& options, int status, const std::string& message) {
  if (options.error_response) return options.error_response(status, message);
  HttpResponse response;
  response.status = status;
  response.content_type = "text/plain";
  response.body = message + "\n";
  return response;
}

}  // namespace

Awaitable<bool> Connection::readable(std::chrono::seconds timeout) {
  // The stream's expiry covers its own reads and writes, not a wait on the socket: a timer
  // on the same strand cancels the wait, unless the wait has ended first (`waiting`).
  auto waiting = std::make_shared<bool>(true);
  asio::steady_timer timer(stream_.get_executor(), timeout);
  timer.async_wait([this, waiting, self = shared_from_this()](boost::system::error_code ec) {
    if (!ec && *waiting) {
      boost::system::error_code ignored;
      stream_.socket().cancel(ignored);
    }
  });
  auto [ec] = co_await stream_.socket().async_wait(tcp::socket::wait_read, kTuple);
  *waiting = false;
  timer.cancel();
  co_return !ec;
}

Awaitable<void> Connection::run() {
  const auto& options = state_.options;
  for (;;) {
    http::request_parser<http::empty_body> header_parser;
    header_parser.header_limit(static_cast<uint32_t>(options.header_limit));
    header_parser.body_limit(std::numeric_limits<uint64_t>::max());
    // Waiting for a request costs no buffer: the read buffer (64 KB as soon as a read begins)
    // is made only once bytes are there, so thousands of idle connections cost a frame each.
    drop_chunk();  // the last request is done with
    if (buffer_.size() == 0) {
      buffer_.shrink_to_fit();
      if (!co_await readable(options.idle_timeout)) break;
    }
    stream_.expires_after(options.idle_timeout);
    auto [ec, n] = co_await http::async_read_header(stream_, buffer_, header_parser, kTuple);
    if (ec) {
      if (ec == http::error::header_limit) {
        request_ = {};
        keep_alive_ = false;
        responded_ = false;
        route_name_ = "unknown";
        started_ = std::chrono::steady_clock::now();
        HttpResponse error = plain_error(options, 431, "the request's headers are too large");
        co_await respond(std::move(error));
      } else if (ec != http::error::end_of_stream && ec != asio::error::eof &&
                 ec != beast::error::timeout && ec != asio::error::connection_reset &&
                 ec != asio::error::operation_aborted) {
        request_ = {};
        keep_alive_ = false;
        responded_ = false;
        route_name_ = "unknown";
        started_ = std::chrono::steady_clock::now();
        HttpResponse error = plain_error(options, 400, "the request is not valid HTTP/1.1");
        co_await respond(std::move(error));
      }
      break;
    }
    started_ = std::chrono::steady_clock::now();
    responded_ = false;
    body_read_ = 0;
    continued_ = false;
    pending_error_.reset();
    raw_left_.reset();
    const auto& head = header_parser.get();
    request_ = {};
    request_.method = std::string(head.method_string());
    request_.target = std::string(head.target());
    for (const auto& field : head) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      request_.headers[name] = std::string(field.value());
    }
    if (auto length = header_parser.content_length()) {
      request_.content_length = static_cast<int64_t>(*length);
    }
    request_.chunked = header_parser.chunked();
    keep_alive_ = head.keep_alive();
    body_done_ = header_parser.is_done();
    boost::system::error_code endpoint_error;
    auto endpoint = stream_.socket().remote_endpoint(endpoint_error);
    request_.peer = endpoint_error ? "" : endpoint.address().to_string();
    std::string_view target = request_.target;
    size_t q = target.find('?');
    auto path = percent_decode(target.substr(0, q), false);
    if (q != std::string_view::npos) parse_query(target.substr(q + 1), request_.query);

    int status = 404;
    std::string allowed;  // for a 405: the methods the path takes
    const Route* route =
        path ? match_route(state_.routes, request_.method, *path, request_.params, status,
                           &allowed)
             : nullptr;
    if (path) request_.path = *path;
    route_name_ = route ? (route->name.empty() ? route->pattern : route->name) : "unknown";
    body_parser_.emplace(std::move(header_parser));
    body_parser_->body_limit(std::numeric_limits<uint64_t>::max());
    if (!route) {
      HttpResponse error = plain_error(options, path ? status : 400,
                                   !path           ? "the path is not valid"
                                   : status == 405 ? "this route takes " + allowed + ", not " +
                                                         request_.method
                                                   : "no such route: " + request_.path);
      if (path && status == 405) error.with("Allow", allowed);
      co_await respond(std::move(error));
    } else {
      bool too_large = false;
      bool dropped = false;
      if (!route->streams_body) {
        if (request_.content_length &&
            *request_.content_length > static_cast<int64_t>(options.body_limit)) {
          too_large = true;
        }
        while (!too_large && !dropped) {
          auto piece = co_await read_body(static_cast<int64_t>(options.body_limit));
          if (!piece) {
            too_large = piece.error().code == ErrorCode::kFileTooLarge;
            dropped = !too_large;
            break;
          }
          if (piece->empty()) break;
          request_.body.append(piece->data(), piece->size());
        }
      }
      if (dropped) break;
      if (too_large) {
        keep_alive_ = false;
        HttpResponse error = plain_error(
            options, 413,
            "the request body is over " + std::to_string(options.body_limit) + " bytes");
        co_await respond(std::move(error));
      } else {
        bool failed = false;
        try {
          co_await route->handler(*this);
        } catch (const std::exception& e) {
          failed = true;
        }
        if (failed || !responded_) {
          keep_alive_ = false;
          HttpResponse error = plain_error(options, 500, "the server failed to answer");
          co_await respond(std::move(error));
        }
      }
    }
    if (!keep_alive_ || !body_done_) break;
  }
  boost::system::error_code ignored;
  if (responded_ && !body_done_) {
    // An answer sent before the body was read (a refusal): closing now, with the client's
    // bytes unread, would make the kernel reset the connection, and the client might lose
    // the answer. So: no more sending, and what still comes is read and dropped, for a
    // moment, before closing.
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    std::vector<char> dropped(64 * 1024);
    while (std::chrono::steady_clock::now() < until) {
      stream_.expires_at(until);
      auto [ec, n] = co_await stream_.async_read_some(asio::buffer(dropped), kTuple);
      if (ec) break;
    }
  }
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.close();
}

Awaitable<void> HttpServer::State::accept_loop() {
  while (!stopping) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(ioc), kTuple);
    if (ec) {
      if (stopping || ec == asio::error::operation_aborted) break;
      continue;  // a connection that failed as it came (or no descriptors left this moment)
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto connection = std::make_shared<Connection>(*this, std::move(socket));
    asio::co_spawn(
        connection->executor(), [connection]() -> Awaitable<void> { co_await connection->run(); },
        asio::detached);
  }
}

HttpServer::HttpServer(HttpOptions options, std::vector<Route> routes)
    : state_(std::make_unique<State>(std::move(options), std::move(routes))) {}

HttpServer::~HttpServer() {
  stop();
  state_->blocking.join();
}

Result<void> HttpServer::start() {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(state_->options.host, ec);
  if (ec) {
    return Error(ErrorCode::kUsage,
                 "\"" + state_->options.host + "\" is not an IP address to listen on");
  }
  tcp::endpoint endpoint(address, static_cast<unsigned short>(state_->options.port));
  auto& acceptor = state_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error(ErrorCode::kUsage, "cannot listen on " + state_->options.host + ":" +
                                        std::to_string(state_->options.port) + ": " + ec.message());
  }
  asio::co_spawn(state_->ioc, state_->accept_loop(), asio::detached);
  return {};
}

int HttpServer::port() const {
  boost::system::error_code ec;
  auto endpoint = state_->acceptor.local_endpoint(ec);
  return ec ? 0 : endpoint.port();
}

void HttpServer::run() {
  std::vector<std::thread> threads;
  for (int i = 1; i < state_->options.threads; ++i) {
    threads.emplace_back([this] { state_->ioc.run(); });
  }
  state_->ioc.run();
  for (auto& t : threads) t.join();
}

void HttpServer::stop() {
  if (state_->stopping.exchange(true)) return;
  asio::post(state_->ioc, [this] {
    boost::system::error_code ignored;
    state_->acceptor.close(ignored);
    state_->ioc.stop();
  });
}

}  // namespace peel::server
