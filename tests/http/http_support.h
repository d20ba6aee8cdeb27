// Black-box support for the service's tests: `peel serve` started for real on a free loopback
// port, and curl as the client (the raw protocol, as a script or a chat assistant speaks it).
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/support.h"

namespace peel::test {

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  nlohmann::json json() const;  // the body parsed; {} when it is not JSON
};

// One `peel serve` on 127.0.0.1, on a port it chose, with its data in a folder of its own
// (or a given one, to restart on the same data).
class Server {
 public:
  explicit Server(std::vector<std::string> extra_args = {}, std::string data = "");
  ~Server();
  const std::string& url() const { return url_; }
  const std::string& data() const { return data_; }
  Child& process() { return *child_; }
  void kill9();  // SIGKILL, and waits for it to go
  // One request with curl: `headers` as "Name: value", the body from `body` (or the file
  // `body_file`).
  HttpReply request(const std::string& method, const std::string& path,
                    const std::vector<std::string>& headers = {}, const std::string& body = "",
                    const std::string& body_file = "") const;
  // curl with these arguments after the URL's (raw: multipart uploads, SSE...).
  HttpReply curl(const std::vector<std::string>& args, const std::string& path) const;

 private:
  std::unique_ptr<TempDir> own_data_;
  std::string data_;
  std::unique_ptr<TempDir> run_;
  std::unique_ptr<Child> child_;
  std::string url_;
};

// A client of a server, as an assistant drives one: a client id, its token, a session.
struct Client {
  const Server& server;
  std::string id;
  std::string token;
  std::string session;

  explicit Client(const Server& s, std::string client_id = "");
  std::string auth() const { return "Authorization: Bearer " + token; }
  HttpReply get(const std::string& path) const;
  HttpReply post(const std::string& path, const nlohmann::json& body,
                 const std::vector<std::string>& headers = {}) const;
  HttpReply del(const std::string& path) const;
  HttpReply upload(const std::string& file) const;  // multipart files=@file to the session
  // An export with the attribution headers, polled until it ends; returns the last poll.
  HttpReply post_export(const nlohmann::json& body) const;
  nlohmann::json wait_export(const std::string& id, double seconds = 120) const;
};

struct SseEvent {
  long long id = 0;
  std::string type;
  nlohmann::json data;
};
// The events of an SSE answer's body.
std::vector<SseEvent> parse_sse(const std::string& body);

// tests/http/file_server.py serving `folder` on 127.0.0.1, on a port it chose: files by GET,
// /redirect?to=URL, and POSTs kept as folder/posts/N.json (callbacks).
class FileServer {
 public:
  explicit FileServer(const std::string& folder);
  ~FileServer();
  const std::string& port() const { return port_; }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + port_ + path; }

 private:
  TempDir run_;
  std::unique_ptr<Child> child_;
  std::string port_;
};

std::string random_client_id();

// Downloads `url` into `path`; returns the HTTP status.
int download(const std::string& url, const std::string& path);

}  // namespace peel::test
