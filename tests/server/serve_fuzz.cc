// libFuzzer target: the request handlers of `peel serve` take any bytes a client may send
// without crashing, hanging, leaking or tripping a sanitizer (scripts/fuzz-serve). The whole
// service runs in this process (HTTP layer, routes, Store on SQLite, BlobStore in a folder)
// on a loopback port; each input is written to a fresh connection as it is, the write side
// shut, and the answer read until the server closes. So what is fuzzed is what a stranger's
// socket reaches: the parser, the router and every handler behind it.
//
// To reach past the token check, an input may say @T@ (a valid bearer token), @S@ (a session
// of it) and @U@ (a WAV file uploaded to that session): they are replaced before sending. The
// worker is not started (queued exports stay queued), streams end after a second, and no rate
// limit applies, so that each input is answered quickly.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "blob/blob_store.h"
#include "peel/engine.h"
#include "server/crypto.h"
#include "server/http.h"
#include "server/service.h"
#include "store/store.h"
#include "worker/worker.h"

namespace {

namespace fs = std::filesystem;
using namespace peel;

// The request's bytes to 127.0.0.1:port; what came back before the server closed, or the
// first 3 s passed.
std::string round_trip(int port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) std::abort();
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) std::abort();
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server answered and closed early (a refusal): fine
    sent += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string answer;
  char buffer[65536];
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    answer.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return answer;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// A 0.1 s mono 8 kHz WAV of silence: media with audio, for an upload the inputs can export.
std::string small_wav() {
  auto le = [](uint32_t v, int bytes) {
    std::string s;
    for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return s;
  };
  const uint32_t data = 1600;
  return "RIFF" + le(36 + data, 4) + "WAVEfmt " + le(16, 4) + le(1, 2) + le(1, 2) + le(8000, 4) +
         le(16000, 4) + le(2, 2) + le(16, 2) + "data" + le(data, 4) + std::string(data, '\0');
}

std::string body_of(const std::string& answer) {
  size_t at = answer.find("\r\n\r\n");
  return at == std::string::npos ? "" : answer.substr(at + 4);
}

struct Service {
  std::string data;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<blob::BlobStore> blobs;
  std::unique_ptr<worker::Worker> worker;
  std::unique_ptr<server::Service> service;
  std::unique_ptr<server::HttpServer> http;
  std::thread io;
  int port = 0;
  std::string token, session, upload;

  Service() {
    const char* base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    data = std::string(base) + "/peel-serve-fuzz-XXXXXX";
    if (::mkdtemp(data.data()) == nullptr) std::abort();
    EngineOptions engine_options;
    engine_options.threads = 1;
    engine_options.limits = Limits::untrusted();
    engine_options.on_log = [](int, const std::string&) {};
    engine = std::make_unique<Engine>(engine_options);
    auto opened = store::open_sqlite_store(data + "/peel.db");
    auto folder = blob::open_folder_store(data + "/files");
    if (!opened || !folder) std::abort();
    store = std::move(*opened);
    blobs = std::move(*folder);
    worker = std::make_unique<worker::Worker>(*engine, *store, *blobs, worker::WorkerOptions{});
    server::ServiceOptions options;
    options.secret = server::random_token();
    options.rate = 0;
    options.sse_max = std::chrono::seconds(1);
    options.sse_heartbeat = std::chrono::seconds(1);
    options.upload_limit = 1 << 20;
    options.fetch.timeout = std::chrono::seconds(2);
    options.fetch.connect_timeout = std::chrono::seconds(1);
    service = std::make_unique<server::Service>(*engine, *store, *blobs, *worker, options);
    server::HttpOptions http_options;
    http_options.port = 0;
    http_options.threads = 1;
    http_options.idle_timeout = std::chrono::seconds(2);
    http_options.error_response = server::Service::error_response;
    http = std::make_unique<server::HttpServer>(http_options, service->routes());
    if (!http->start()) std::abort();
    port = http->port();
    service->set_public_url("http://127.0.0.1:" + std::to_string(port));
    service->start();
    io = std::thread([this] { http->run(); });

    using nlohmann::json;
    auto got = json::parse(body_of(round_trip(port,
                                            "POST /api/auth/anonymous-token HTTP/1.1\r\n"
                                            "Host: x\r\nX-Client-Id: fuzzer\r\n"
                                            "Connection: close\r\nContent-Length: 0\r\n\r\n")),
                           nullptr, false);
    token = got.is_discarded() ? "" : got["data"].value("token", "");
    got = json::parse(body_of(round_trip(port, "POST /api/tasks/me/with-session/peel HTTP/1.1\r\n"
                                             "Host: x\r\nAuthorization: Bearer " +
                                                 token +
                                                 "\r\nConnection: close\r\n"
                                                 "Content-Type: application/json\r\n"
                                                 "Content-Length: 2\r\n\r\n{}")),
                      nullptr, false);
    session = got.is_discarded() ? "" : got["data"].value("session_id", "");
    const std::string part = "--b\r\nContent-Disposition: form-data; name=\"files\"; "
                             "filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\n" +
                             small_wav() + "\r\n--b--\r\n";
    got = json::parse(body_of(round_trip(
                          port, "POST /api/upload-video/peel/me/" + session +
                                    " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                                    "\r\nConnection: close\r\n"
                                    "Content-Type: multipart/form-data; boundary=b\r\n"
                                    "Content-Length: " +
                                    std::to_string(part.size()) + "\r\n\r\n" + part)),
                      nullptr, false);
    if (!got.is_discarded() && got["data"].contains("files")) {
      upload = got["data"]["files"][0].value("upload_id", "");
    }
    if (token.empty() || session.empty() || upload.empty()) {
      std::fprintf(stderr, "serve_fuzz: could not set up a client (token, session, upload)\n");
      std::abort();
    }
  }
};

Service* service = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  service = new Service();  // lives as long as the process: its threads serve every input
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string request(reinterpret_cast<const char*>(data), size);
  request = replace_all(std::move(request), "@T@", service->token);
  request = replace_all(std::move(request), "@S@", service->session);
  request = replace_all(std::move(request), "@U@", service->upload);
  std::string answer = round_trip(service->port, request);
  // Whatever came, what went back is HTTP: a status line, or nothing (a connection closed
  // before a whole request head arrived).
  if (!answer.empty() && !answer.starts_with("HTTP/1.1 ")) {
    std::fprintf(stderr, "serve_fuzz: the answer is not HTTP: %.200s\n", answer.c_str());
    std::abort();
  }
  if (answer.starts_with("HTTP/1.1 5")) {
    std::fprintf(stderr, "serve_fuzz: a 5xx answer:\n%.2000s\n", answer.c_str());
    std::abort();
  }
  return 0;
}
