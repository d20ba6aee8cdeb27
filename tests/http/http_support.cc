// `peel serve` started for real, and curl.
#include "http/http_support.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

namespace peel::test {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The port a server writes to `port_file` once it listens, "" when none came within 30 s.
std::string wait_for_port(const std::string& port_file) {
  std::string port;
  bool up = eventually(
      [&] {
        port = read_file(port_file);
        return !port.empty() && port.back() == '\n';
      },
      30);
  if (!up) return "";
  port.pop_back();
  return port;
}

}  // namespace

nlohmann::json HttpReply::json() const {
  // Not JSON: an empty object, so that a test's EXPECT names the line, not an exception.
  auto j = nlohmann::json::parse(body, nullptr, false);
  return j.is_discarded() ? nlohmann::json::object() : j;
}

std::string random_client_id() {
  std::random_device rd;
  std::mt19937_64 g(rd());
  char text[40];
  std::snprintf(text, sizeof text, "%08llx-test-%016llx",
                static_cast<unsigned long long>(g() & 0xffffffff),
                static_cast<unsigned long long>(g()));
  return text;
}

Server::Server(std::vector<std::string> extra_args, std::string data) {
  if (data.empty()) {
    own_data_ = std::make_unique<TempDir>();
    data = own_data_->path();
  }
  data_ = data;
  run_ = std::make_unique<TempDir>();
  std::string port_file = *run_ / "port";
  std::vector<std::string> args = {"serve", "--listen",    "127.0.0.1:0", "--data",
                                   data_,   "--port-file", port_file};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  child_ = std::make_unique<Child>(args);
  std::string port = wait_for_port(port_file);
  if (port.empty()) {
    ADD_FAILURE() << "peel serve did not start";
    return;
  }
  url_ = "http://127.0.0.1:" + port;
}

Server::~Server() {
  if (child_ && child_->running()) {
    child_->signal(SIGTERM);
    auto r = child_->wait();
    EXPECT_EQ(r.exit_code, 0) << "peel serve did not stop cleanly on SIGTERM:\n" << r.err;
    if (::testing::Test::HasFailure()) std::cerr << "peel serve said:\n" << r.err;
  } else if (child_ && ::testing::Test::HasFailure()) {
    auto r = child_->wait();
    std::cerr << "peel serve ended (" << r.exit_code << ", signal " << r.signal << "):\n" << r.err;
  }
}

void Server::kill9() {
  child_->signal(SIGKILL);
  child_->wait();
}

HttpReply Server::curl(const std::vector<std::string>& args, const std::string& path) const {
  TempDir out;
  std::vector<std::string> argv = {"curl",       "-sS", "--max-time",    "300", "-o",
                                   out / "body", "-D",  out / "headers", "-w",  "%{http_code}"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(path.starts_with("http") ? path : url_ + path);
  auto r = run(argv);
  HttpReply reply;
  reply.status = std::atoi(r.out.c_str());
  reply.body = read_file(out / "body");
  std::istringstream headers(read_file(out / "headers"));
  std::string line;
  while (std::getline(headers, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    reply.headers[name] = value;
  }
  return reply;
}

HttpReply Server::request(const std::string& method, const std::string& path,
                          const std::vector<std::string>& headers, const std::string& body,
                          const std::string& body_file) const {
  std::vector<std::string> args = {"-X", method};
  if (method == "HEAD") args = {"-I"};
  for (const auto& h : headers) {
    args.push_back("-H");
    args.push_back(h);
  }
  TempDir tmp;
  if (!body.empty()) {
    std::ofstream(tmp / "req", std::ios::binary) << body;
    args.push_back("--data-binary");
    args.push_back("@" + tmp / "req");
  } else if (!body_file.empty()) {
    args.push_back("--data-binary");
    args.push_back("@" + body_file);
  }
  return curl(args, path);
}

Client::Client(const Server& s, std::string client_id) : server(s), id(std::move(client_id)) {
  if (id.empty()) id = random_client_id();
  auto r = server.request("POST", "/api/auth/anonymous-token", {"X-Client-Id: " + id});
  EXPECT_EQ(r.status, 200) << r.body;
  token = r.json()["data"].value("token", "");
  auto sr = post("/api/tasks/me/with-session/peel", {{"task_name", "test"}, {"language", "en"}});
  EXPECT_EQ(sr.status, 200) << sr.body;
  session = sr.json()["data"].value("session_id", "");
}

HttpReply Client::get(const std::string& path) const {
  return server.request("GET", path, {auth()});
}

HttpReply Client::post(const std::string& path, const nlohmann::json& body,
                       const std::vector<std::string>& headers) const {
  std::vector<std::string> h = {auth(), "Content-Type: application/json"};
  h.insert(h.end(), headers.begin(), headers.end());
  return server.request("POST", path, h, body.dump());
}

HttpReply Client::del(const std::string& path) const {
  return server.request("DELETE", path, {auth()});
}

HttpReply Client::upload(const std::string& file) const {
  return server.curl({"-H", auth(), "-F", "files=@" + file},
                     "/api/upload-video/peel/me/" + session);
}

HttpReply Client::post_export(const nlohmann::json& body) const {
  return post("/api/render/proxy/lambda", body,
              {"X-Skill-Source: peel-tests", "X-Skill-Version: 1.0", "X-Skill-Platform: linux"});
}

nlohmann::json Client::wait_export(const std::string& job, double seconds) const {
  nlohmann::json last;
  eventually(
      [&] {
        last = get("/api/render/proxy/lambda/" + job).json();
        std::string status = last["data"].value("status", "");
        return status == "completed" || status == "failed" || status == "cancelled";
      },
      seconds);
  return last;
}

std::vector<SseEvent> parse_sse(const std::string& body) {
  std::vector<SseEvent> events;
  SseEvent current;
  bool any = false;
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      if (any) events.push_back(current);
      current = {};
      any = false;
    } else if (line.starts_with("id: ")) {
      current.id = std::atoll(line.c_str() + 4);
      any = true;
    } else if (line.starts_with("event: ")) {
      current.type = line.substr(7);
      any = true;
    } else if (line.starts_with("data: ")) {
      current.data = nlohmann::json::parse(line.substr(6), nullptr, false);
      any = true;
    }
  }
  if (any) events.push_back(current);
  return events;
}

FileServer::FileServer(const std::string& folder) {
  const std::string port_file = run_ / "port";
  child_ = Child::program(
      {"/usr/bin/python3", std::string(PEEL_TEST_HTTP_DIR) + "/file_server.py", folder, port_file});
  port_ = wait_for_port(port_file);
  EXPECT_FALSE(port_.empty()) << "the file server did not start";
}

FileServer::~FileServer() {
  child_->signal(SIGKILL);
  child_->wait();
}

int download(const std::string& url, const std::string& path) {
  auto r = run({"curl", "-sS", "-o", path, "-w", "%{http_code}", url});
  return std::atoi(r.out.c_str());
}

}  // namespace peel::test
