// url_fetch.h: the address classifier on a table of IPv4 and IPv6 addresses, and fetches and
// signed callbacks against a real HTTP server on 127.0.0.1 that the test starts on a free port.
// No network beyond loopback: "public" hops are loopback ones let through FetchOptions'
// refuse_address.
#include "server/url_fetch.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace peel::server {
namespace {

using namespace std::chrono_literals;

// --- the classifier ---

std::string reason_of(const char* text) {
  sockaddr_in in{};
  if (inet_pton(AF_INET, text, &in.sin_addr) == 1) {
    in.sin_family = AF_INET;
    return refused_address_reason(reinterpret_cast<const sockaddr*>(&in));
  }
  sockaddr_in6 in6{};
  EXPECT_EQ(inet_pton(AF_INET6, text, &in6.sin6_addr), 1) << text;
  in6.sin6_family = AF_INET6;
  return refused_address_reason(reinterpret_cast<const sockaddr*>(&in6));
}

TEST(RefusedAddressReason, AllowsPublicAddresses) {
  for (const char* address : {
           "93.184.216.34", "8.8.8.8", "1.1.1.1", "100.63.255.255", "100.128.0.0", "172.15.255.255",
           "172.32.0.0", "192.0.1.1", "192.169.0.1", "198.17.255.255", "198.20.0.0",
           "223.255.255.255", "2606:4700::1111", "2001:4860:4860::8888", "2a00:1450:4001::200e",
           "::ffff:93.184.216.34",  // IPv4-mapped
           "64:ff9b::808:808",      // NAT64 of 8.8.8.8
           "2002:5db8:d822::1",     // 6to4 of 93.184.216.34
       }) {
    EXPECT_EQ(reason_of(address), "") << address;
  }
}

TEST(RefusedAddressReason, RefusesEverySpecialRange) {
  const std::pair<const char*, const char*> table[] = {
      {"0.0.0.0", "unspecified"},
      {"0.1.2.3", "unspecified"},
      {"10.0.0.1", "private"},
      {"10.255.255.255", "private"},
      {"100.64.0.1", "CGNAT"},
      {"100.127.255.255", "CGNAT"},
      {"127.0.0.1", "loopback"},
      {"127.255.255.254", "loopback"},
      {"169.254.169.254", "link-local"},
      {"172.16.0.1", "private"},
      {"172.31.255.255", "private"},
      {"192.0.0.8", "reserved"},
      {"192.0.2.1", "documentation"},
      {"192.88.99.1", "reserved"},
      {"192.168.1.1", "private"},
      {"198.18.0.1", "benchmarking"},
      {"198.19.255.255", "benchmarking"},
      {"198.51.100.7", "documentation"},
      {"203.0.113.9", "documentation"},
      {"224.0.0.1", "multicast"},
      {"239.255.255.250", "multicast"},
      {"240.0.0.1", "reserved"},
      {"255.255.255.254", "reserved"},
      {"255.255.255.255", "broadcast"},
      {"::", "unspecified"},
      {"::1", "loopback"},
      {"::ffff:127.0.0.1", "loopback"},
      {"::ffff:10.1.2.3", "private"},
      {"::ffff:169.254.169.254", "link-local"},
      {"::ffff:0.0.0.0", "unspecified"},
      {"::127.0.0.1", "reserved"},  // IPv4-compatible, deprecated
      {"64:ff9b::7f00:1", "loopback"},
      {"64:ff9b::a9fe:a9fe", "link-local"},
      {"64:ff9b:1::1", "private"},
      {"2002:7f00:1::1", "loopback"},
      {"2002:a9fe:a9fe::1", "link-local"},
      {"2002:c0a8:101::1", "private"},
      {"2001:db8::1", "documentation"},
      {"3fff::1", "documentation"},
      {"2001::1", "reserved"},  // Teredo
      {"2001:1ff::1", "reserved"},
      {"100::1", "reserved"},
      {"4000::1", "reserved"},
      {"fc00::1", "private"},
      {"fd12:3456::1", "private"},
      {"fe80::1", "link-local"},
      {"febf::1", "link-local"},
      {"fec0::1", "private"},
      {"ff02::1", "multicast"},
      {"ff0e::1", "multicast"},
  };
  for (const auto& [address, reason] : table) EXPECT_EQ(reason_of(address), reason) << address;
}

TEST(RefusedAddressReason, RefusesOtherFamilies) {
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  EXPECT_EQ(refused_address_reason(reinterpret_cast<const sockaddr*>(&un)), "not IP");
}

// --- a server to fetch from ---

struct Seen {
  std::string method, path, body;
  std::map<std::string, std::string> headers;  // names in lower case
};

std::string clip_bytes() {
  std::string bytes;
  for (int i = 0; i < 3000; ++i) bytes.push_back(static_cast<char>((i * 7 + i / 256) & 0xff));
  return bytes;
}
const std::string kClip = clip_bytes();

// HTTP/1.1 on 127.0.0.1, one connection at a time, canned answers by path.
class TestServer {
 public:
  TestServer() {
    listen_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (bind(listen_, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
        listen(listen_, 16) != 0 ||
        getsockname(listen_, reinterpret_cast<sockaddr*>(&address), &size) != 0 ||
        pipe2(wake_, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "the test server could not listen: " << std::strerror(errno);
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~TestServer() {
    stopping_ = true;
    (void)!write(wake_[1], "x", 1);
    thread_.join();
    close(listen_);
    close(wake_[0]);
    close(wake_[1]);
  }

  int port() const { return port_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  // Connections made to this server so far. The server accepts in order, one at a time: once it
  // has answered a probe made now, it has accepted every connection made before.
  int connections() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port_));
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    std::string probe = "GET /__probe HTTP/1.1\r\nHost: x\r\n\r\n";
    EXPECT_EQ(send(fd, probe.data(), probe.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(probe.size()));
    char buffer[256];
    while (recv(fd, buffer, sizeof buffer, 0) > 0) {
    }
    close(fd);
    return connections_;
  }

  std::vector<Seen> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  void serve() {
    while (!stopping_) {
      pollfd fds[2] = {{listen_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      if (poll(fds, 2, -1) < 0 || stopping_) continue;
      if ((fds[0].revents & POLLIN) == 0) continue;
      int fd = accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      timeval five{5, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &five, sizeof five);
      auto request = read_request(fd);
      if (!request || request->path != "/__probe") {
        ++connections_;
        if (request) {
          std::lock_guard lock(mutex_);
          seen_.push_back(*request);
        }
      }
      if (request) answer(fd, *request);
      close(fd);
    }
  }

  static std::optional<Seen> read_request(int fd) {
    std::string data;
    char buffer[4096];
    size_t end;
    while ((end = data.find("\r\n\r\n")) == std::string::npos) {
      ssize_t got = recv(fd, buffer, sizeof buffer, 0);
      if (got <= 0 || data.size() > 65536) return std::nullopt;
      data.append(buffer, static_cast<size_t>(got));
    }
    Seen seen;
    std::string head = data.substr(0, end);
    size_t line_end = head.find("\r\n");
    std::string line = head.substr(0, line_end);
    size_t space = line.find(' ');
    seen.method = line.substr(0, space);
    seen.path = line.substr(space + 1, line.rfind(' ') - space - 1);
    size_t at = line_end == std::string::npos ? head.size() : line_end + 2;
    while (at < head.size()) {
      size_t next = head.find("\r\n", at);
      if (next == std::string::npos) next = head.size();
      std::string header = head.substr(at, next - at);
      size_t colon = header.find(':');
      if (colon != std::string::npos) {
        std::string name = header.substr(0, colon);
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        size_t value = header.find_first_not_of(' ', colon + 1);
        seen.headers[name] = value == std::string::npos ? "" : header.substr(value);
      }
      at = next + 2;
    }
    seen.body = data.substr(end + 4);
    size_t length =
        seen.headers.count("content-length") ? std::stoul(seen.headers["content-length"]) : 0;
    while (seen.body.size() < length) {
      ssize_t got = recv(fd, buffer, sizeof buffer, 0);
      if (got <= 0) return std::nullopt;
      seen.body.append(buffer, static_cast<size_t>(got));
    }
    return seen;
  }

  static bool send_all(int fd, const std::string& data) {
    size_t at = 0;
    while (at < data.size()) {
      ssize_t sent = send(fd, data.data() + at, data.size() - at, MSG_NOSIGNAL);
      if (sent <= 0) return false;
      at += static_cast<size_t>(sent);
    }
    return true;
  }

  static void respond(int fd, const std::string& status, const std::string& headers,
                      const std::string& body) {
    send_all(fd, "HTTP/1.1 " + status + "\r\n" + headers + "Content-Length: " +
                     std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  }

  void answer(int fd, const Seen& request) {
    std::string path = request.path.substr(0, request.path.find('?'));
    std::string here = "http://127.0.0.1:" + std::to_string(port_);
    if (path == "/__probe") {
      respond(fd, "200 OK", "", "");
    } else if (path == "/clip.mp4" || path == "/media/clip%20one.mp4") {
      respond(fd, "200 OK", "Content-Type: video/mp4\r\n", kClip);
    } else if (path == "/named") {
      respond(fd, "200 OK", "Content-Disposition: attachment; filename=\"../../etc/talk.mp3\"\r\n",
              kClip);
    } else if (path == "/named-utf8") {
      respond(fd, "200 OK",
              "Content-Disposition: attachment; filename=\"fallback.mp3\"; "
              "filename*=UTF-8''%E8%AE%B2%E5%BA%A7.mp3\r\n",
              kClip);
    } else if (path == "/redirect") {
      respond(fd, "302 Found", "Location: /clip.mp4\r\n", "moved");
    } else if (path == "/redirect-twice") {
      respond(fd, "301 Moved Permanently", "Location: " + here + "/redirect\r\n", "");
    } else if (path == "/loop") {
      respond(fd, "302 Found", "Location: /loop\r\n", "");
    } else if (path.starts_with("/to/")) {  // /to/<port>/<path>: to another loopback server
      respond(fd, "302 Found", "Location: http://127.0.0.1:" + path.substr(4) + "\r\n", "");
    } else if (path == "/big") {
      send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + std::string(4096, 'x'));
    } else if (path == "/chunked-big") {
      std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
      for (int i = 0; i < 10; ++i) chunked += "12c\r\n" + std::string(300, 'y') + "\r\n";
      send_all(fd, chunked + "0\r\n\r\n");
    } else if (path == "/slow") {
      if (!send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n")) return;
      while (!stopping_ && send_all(fd, std::string(100, 'z'))) std::this_thread::sleep_for(10ms);
    } else if (path == "/stall") {
      pollfd fds[2] = {{fd, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      poll(fds, 2, 30000);
    } else if (path == "/hook") {
      respond(fd, "200 OK", "Content-Type: application/json\r\n", "{\"ok\":true}");
    } else if (path == "/hook-500") {
      respond(fd, "500 Internal Server Error", "", "down");
    } else if (path == "/hook-302") {
      respond(fd, "302 Found", "Location: /hook\r\n", "");
    } else {
      respond(fd, "404 Not Found", "", "no such page");
    }
  }

  int listen_ = -1;
  int wake_[2] = {-1, -1};
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::mutex mutex_;
  std::vector<Seen> seen_;
  std::thread thread_;
};

class StringWriter : public blob::BlobWriter {
 public:
  Result<void> write(const char* data, size_t size) override {
    data_.append(data, size);
    if (on_write) on_write();
    return {};
  }
  Result<void> finish() override {
    finished_ = true;
    return {};
  }
  const std::string& data() const { return data_; }
  bool finished() const { return finished_; }
  std::function<void()> on_write;

 private:
  std::string data_;
  bool finished_ = false;
};

FetchOptions private_ok() {
  FetchOptions options;
  options.allow_private = true;
  return options;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// --- fetch_url ---

TEST(FetchUrl, RefusesLoopbackByDefaultWithoutConnecting) {
  TestServer server;
  StringWriter out;
  auto fetched = fetch_url(server.url("/clip.mp4"), FetchOptions(), out);
  ASSERT_FALSE(fetched.ok());
  EXPECT_EQ(fetched.error().code, ErrorCode::kUsage);
  const std::string& message = fetched.error().message;
  EXPECT_TRUE(contains(message, server.url("/clip.mp4"))) << message;
  EXPECT_TRUE(contains(message, "resolves to 127.0.0.1, a loopback address")) << message;
  EXPECT_TRUE(contains(message, "--allow-private-urls")) << message;
  EXPECT_EQ(server.connections(), 0);
  EXPECT_TRUE(out.data().empty());
}

TEST(FetchUrl, RefusesIpv6LoopbackAndNamesThatResolveToLoopback) {
  TestServer server;
  std::string port = std::to_string(server.port());
  for (const std::string& url :
       {"http://[::1]:" + port + "/clip.mp4", "http://localhost:" + port + "/clip.mp4",
        "http://LocalHost:" + port + "/clip.mp4", "http://2130706433:" + port + "/clip.mp4",
        "http://0x7f.1:" + port + "/clip.mp4", "http://[::ffff:127.0.0.1]:" + port + "/clip.mp4",
        "http://0.0.0.0:" + port + "/clip.mp4"}) {
    StringWriter out;
    auto fetched = fetch_url(url, FetchOptions(), out);
    ASSERT_FALSE(fetched.ok()) << url;
    EXPECT_EQ(fetched.error().code, ErrorCode::kUsage) << url;
    EXPECT_TRUE(contains(fetched.error().message, "loopback") ||
                contains(fetched.error().message, "unspecified"))
        << fetched.error().message;
  }
  EXPECT_EQ(server.connections(), 0);
}

TEST(FetchUrl, RefusesOtherSchemesCredentialsAndNonUrls) {
  TestServer server;
  std::string port = std::to_string(server.port());
  for (const std::string& url :
       {"ftp://127.0.0.1:" + port + "/clip.mp4", std::string("file:///etc/passwd"),
        "gopher://127.0.0.1:" + port + "/", "dict://127.0.0.1:" + port + "/x",
        "http://user:secret@127.0.0.1:" + port + "/clip.mp4",
        "http://user@127.0.0.1:" + port + "/clip.mp4", std::string("not a url"),
        "//127.0.0.1:" + port + "/clip.mp4", std::string("")}) {
    StringWriter out;
    auto fetched = fetch_url(url, private_ok(), out);
    ASSERT_FALSE(fetched.ok()) << url;
    EXPECT_EQ(fetched.error().code, ErrorCode::kUsage) << url;
    EXPECT_FALSE(fetched.error().message.empty());
  }
  StringWriter out;
  auto ftp = fetch_url("ftp://127.0.0.1:" + port + "/clip.mp4", private_ok(), out);
  EXPECT_TRUE(contains(ftp.error().message, "not an http or https URL")) << ftp.error().message;
  auto user = fetch_url("http://u:p@127.0.0.1:" + port + "/clip.mp4", private_ok(), out);
  EXPECT_TRUE(contains(user.error().message, "user name or password")) << user.error().message;
  EXPECT_EQ(server.connections(), 0);
}

TEST(FetchUrl, FetchesExactBytesWithAllowPrivate) {
  TestServer server;
  StringWriter out;
  auto fetched = fetch_url(server.url("/clip.mp4"), private_ok(), out);
  ASSERT_TRUE(fetched.ok()) << fetched.error().message;
  EXPECT_EQ(out.data(), kClip);
  EXPECT_TRUE(out.finished());
  EXPECT_EQ(fetched->bytes, static_cast<int64_t>(kClip.size()));
  EXPECT_EQ(fetched->final_url, server.url("/clip.mp4"));
  EXPECT_EQ(fetched->file_name, "clip.mp4");
  EXPECT_EQ(fetched->content_type, "video/mp4");
  auto seen = server.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
}

TEST(FetchUrl, ReachesAPinnedNameAtItsCheckedAddress) {
  TestServer server;
  StringWriter out;
  auto fetched = fetch_url("http://localhost:" + std::to_string(server.port()) + "/clip.mp4",
                           private_ok(), out);
  ASSERT_TRUE(fetched.ok()) << fetched.error().message;
  EXPECT_EQ(out.data(), kClip);
}

TEST(FetchUrl, NamesTheFileFromContentDispositionOrThePath) {
  TestServer server;
  const std::pair<const char*, const char*> cases[] = {
      {"/named", "talk.mp3"},
      {"/named-utf8", "\xe8\xae\xb2\xe5\xba\xa7.mp3"},
      {"/media/clip%20one.mp4?token=abc", "clip one.mp4"},
  };
  for (const auto& [path, name] : cases) {
    StringWriter out;
    auto fetched = fetch_url(server.url(path), private_ok(), out);
    ASSERT_TRUE(fetched.ok()) << fetched.error().message;
    EXPECT_EQ(fetched->file_name, name) << path;
    EXPECT_EQ(out.data(), kClip);
  }
}

TEST(FetchUrl, FollowsRedirects) {
  TestServer server;
  StringWriter out;
  auto fetched = fetch_url(server.url("/redirect-twice"), private_ok(), out);
  ASSERT_TRUE(fetched.ok()) << fetched.error().message;
  EXPECT_EQ(out.data(), kClip);  // no redirect's body among the bytes
  EXPECT_EQ(fetched->final_url, server.url("/clip.mp4"));
  EXPECT_EQ(fetched->file_name, "clip.mp4");
  EXPECT_EQ(server.connections(), 3);
}

TEST(FetchUrl, StopsAfterMaxRedirects) {
  TestServer server;
  FetchOptions options = private_ok();
  options.max_redirects = 3;
  StringWriter out;
  auto fetched = fetch_url(server.url("/loop"), options, out);
  ASSERT_FALSE(fetched.ok());
  EXPECT_EQ(fetched.error().code, ErrorCode::kInputUnreadable);
  EXPECT_TRUE(contains(fetched.error().message, "redirects more than 3 times"))
      << fetched.error().message;
  EXPECT_EQ(server.connections(), 4);
}

TEST(FetchUrl, ChecksEveryRedirectAgain) {
  TestServer public_server, private_server;
  // The first server stands for a public one: its port is let through, nothing else is.
  FetchOptions options;
  options.refuse_address = [port = public_server.port()](const sockaddr* address) -> std::string {
    sockaddr_in in;
    std::memcpy(&in, address, sizeof in);
    if (address->sa_family == AF_INET && ntohs(in.sin_port) == port) return "";
    return refused_address_reason(address);
  };
  StringWriter direct;
  ASSERT_TRUE(fetch_url(public_server.url("/clip.mp4"), options, direct).ok());

  std::string to_private = "/to/" + std::to_string(private_server.port()) + "/clip.mp4";
  StringWriter out;
  auto fetched = fetch_url(public_server.url(to_private), options, out);
  ASSERT_FALSE(fetched.ok());
  EXPECT_EQ(fetched.error().code, ErrorCode::kUsage);
  EXPECT_TRUE(contains(
      fetched.error().message,
      private_server.url("/clip.mp4") + " (redirected from " + public_server.url(to_private) + ")"))
      << fetched.error().message;
  EXPECT_TRUE(contains(fetched.error().message, "loopback")) << fetched.error().message;
  EXPECT_EQ(public_server.connections(), 2);
  EXPECT_EQ(private_server.connections(), 0);
  EXPECT_TRUE(out.data().empty());
}

TEST(FetchUrl, ChecksTheAddressAgainAsTheSocketOpens) {
  // An address that passed when the name was resolved and fails when libcurl connects (a
  // policy that changes its mind stands for a resolver that does): no connection is made.
  TestServer server;
  FetchOptions options;
  int calls = 0;
  options.refuse_address = [&calls](const sockaddr*) -> std::string {
    return ++calls == 1 ? "" : "loopback";
  };
  StringWriter out;
  auto fetched = fetch_url(server.url("/clip.mp4"), options, out);
  ASSERT_FALSE(fetched.ok());
  EXPECT_EQ(fetched.error().code, ErrorCode::kUsage);
  EXPECT_TRUE(contains(fetched.error().message, "connects to 127.0.0.1, a loopback address"))
      << fetched.error().message;
  EXPECT_GE(calls, 2);
  EXPECT_EQ(server.connections(), 0);
}

TEST(FetchUrl, NamesTheStatusOfAFailedAnswer) {
  TestServer server;
  StringWriter out;
  auto fetched = fetch_url(server.url("/missing"), private_ok(), out);
  ASSERT_FALSE(fetched.ok());
  EXPECT_EQ(fetched.error().code, ErrorCode::kInputNotFound);
  EXPECT_TRUE(contains(fetched.error().message, server.url("/missing") + " answered 404 Not Found"))
      << fetched.error().message;
  EXPECT_TRUE(out.data().empty());
  EXPECT_FALSE(out.finished());
}

TEST(FetchUrl, SaysWhenNothingListens) {
  int probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  ASSERT_EQ(bind(probe, reinterpret_cast<sockaddr*>(&address), size), 0);
  ASSERT_EQ(getsockname(probe, reinterpret_cast<sockaddr*>(&address), &size), 0);
  close(probe);  // a port that was free a moment ago, with nothing listening
  StringWriter out;
  auto fetched = fetch_url("http://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/x",
                           private_ok(), out);
  ASSERT_FALSE(fetched.ok());
  EXPECT_EQ(fetched.error().code, ErrorCode::kInputNotFound) << fetched.error().message;
}

TEST(FetchUrl, RefusesAContentLengthOverTheLimitBeforeAnyByte) {
  TestServer server;
  FetchOptions options = private_ok();
  options.max_bytes = 1000;
  StringWriter out;
  auto fetched = fetch_url(server.url("/big"), options, out);
  ASSERT_FALSE(fetched.ok());
  EXPECT_EQ(fetched.error().code, ErrorCode::kFileTooLarge);
  EXPECT_TRUE(contains(fetched.error().message,
                       "is 1000000 bytes, over this server's limit of "
                       "1000 bytes"))
      << fetched.error().message;
  EXPECT_TRUE(out.data().empty());

  options.max_bytes = static_cast<int64_t>(kClip.size());
  StringWriter exact;
  EXPECT_TRUE(fetch_url(server.url("/clip.mp4"), options, exact).ok());
  options.max_bytes -= 1;
  StringWriter over;
  auto one_over = fetch_url(server.url("/clip.mp4"), options, over);
  ASSERT_FALSE(one_over.ok());
  EXPECT_EQ(one_over.error().code, ErrorCode::kFileTooLarge);
}

TEST(FetchUrl, StopsAChunkedBodyAtTheLimit) {
  TestServer server;
  FetchOptions options = private_ok();
  options.max_bytes = 1000;
  StringWriter out;
  auto fetched = fetch_url(server.url("/chunked-big"), options, out);
  ASSERT_FALSE(fetched.ok());
  EXPECT_EQ(fetched.error().code, ErrorCode::kFileTooLarge);
  EXPECT_TRUE(contains(fetched.error().message, "sent more than 1000 bytes"))
      << fetched.error().message;
  EXPECT_LE(out.data().size(), 1000u);
  EXPECT_FALSE(out.finished());
}

TEST(FetchUrl, CancelStopsASlowTransfer) {
  TestServer server;
  FetchOptions options = private_ok();
  options.timeout = 60s;  // a cancel that did not work fails here, not in CI's global timeout
  CancelToken cancel;
  StringWriter out;
  out.on_write = [&cancel] { cancel.cancel(); };
  auto fetched = fetch_url(server.url("/slow"), options, out, &cancel);
  ASSERT_FALSE(fetched.ok());
  EXPECT_EQ(fetched.error().code, ErrorCode::kCancelled) << fetched.error().message;
  EXPECT_FALSE(out.data().empty());

  StringWriter before;
  auto cancelled = fetch_url(server.url("/clip.mp4"), options, before, &cancel);
  ASSERT_FALSE(cancelled.ok());
  EXPECT_EQ(cancelled.error().code, ErrorCode::kCancelled);
  EXPECT_EQ(server.connections(), 1);
}

TEST(FetchUrl, GivesUpAtTheTimeout) {
  TestServer server;
  FetchOptions options = private_ok();
  options.timeout = 1s;
  StringWriter out;
  auto fetched = fetch_url(server.url("/stall"), options, out);
  ASSERT_FALSE(fetched.ok());
  EXPECT_EQ(fetched.error().code, ErrorCode::kInputUnreadable);
  EXPECT_TRUE(contains(fetched.error().message, "did not finish within 1 s"))
      << fetched.error().message;
}

// --- signed callbacks ---

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(PostSigned, SignsWhatAReceiverVerifies) {
  TestServer server;
  const std::string body = R"({"job":"job_1","status":"done"})";
  auto posted = post_signed(server.url("/hook"), body, "s3cret", private_ok());
  ASSERT_TRUE(posted.ok()) << posted.error().message;
  auto seen = server.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].body, body);
  EXPECT_EQ(seen[0].headers["content-type"], "application/json");
  const std::string header = seen[0].headers["peel-signature"];
  ASSERT_TRUE(header.starts_with("t=")) << header;

  int64_t now = unix_now();
  EXPECT_TRUE(verify_signature(header, body, "s3cret", now));
  EXPECT_TRUE(verify_signature(header, body, "s3cret", now + 200));
  EXPECT_FALSE(verify_signature(header, body + " ", "s3cret", now));
  EXPECT_FALSE(verify_signature(header, body, "other", now));
  EXPECT_FALSE(verify_signature(header, body, "s3cret", now + 400));  // an old signature
  EXPECT_FALSE(verify_signature(header, body, "s3cret", now - 400));  // from the future
  EXPECT_FALSE(verify_signature("", body, "s3cret", now));
  EXPECT_FALSE(verify_signature(header.substr(0, header.find(',')), body, "s3cret", now));
  std::string t = header.substr(2, header.find(',') - 2);
  EXPECT_FALSE(verify_signature("t=x" + t + header.substr(header.find(',')), body, "s3cret", now));
  // A second v1 (a receiver's secret being replaced) does not hide the one that matches.
  EXPECT_TRUE(verify_signature(header + ",v1=00", body, "s3cret", now));
  EXPECT_TRUE(verify_signature("t=" + t + ",v1=00," + header.substr(header.find(',') + 1), body,
                               "s3cret", now));
}

TEST(PostSigned, FollowsTheSameRulesAndNoRedirects) {
  TestServer server;
  auto refused = post_signed(server.url("/hook"), "{}", "k", FetchOptions());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUsage);
  EXPECT_TRUE(contains(refused.error().message, "loopback")) << refused.error().message;
  EXPECT_EQ(server.connections(), 0);

  auto failed = post_signed(server.url("/hook-500"), "{}", "k", private_ok());
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kInputUnreadable);
  EXPECT_TRUE(contains(failed.error().message, "answered 500 Internal Server Error"))
      << failed.error().message;

  auto moved = post_signed(server.url("/hook-302"), "{}", "k", private_ok());
  ASSERT_FALSE(moved.ok());
  EXPECT_TRUE(contains(moved.error().message, "answered 302 Found")) << moved.error().message;
  EXPECT_EQ(server.connections(), 2);  // the redirect was not followed
}

TEST(CallbackBackoff, DoublesFromOneSecondUpToFiveMinutesWithJitter) {
  EXPECT_EQ(callback_backoff(1, 0.0), 500ms);
  EXPECT_EQ(callback_backoff(1, 1.0), 1000ms);
  EXPECT_EQ(callback_backoff(2, 0.0), 1000ms);
  EXPECT_EQ(callback_backoff(3, 1.0), 4000ms);
  EXPECT_EQ(callback_backoff(9, 1.0), 256000ms);
  EXPECT_EQ(callback_backoff(10, 1.0), 300000ms);
  EXPECT_EQ(callback_backoff(10, 0.0), 150000ms);
  EXPECT_EQ(callback_backoff(1000, 1.0), 300000ms);
  EXPECT_EQ(callback_backoff(0, 0.0), 500ms);
  for (int attempt = 1; attempt < 12; ++attempt) {
    auto wait = callback_backoff(attempt);
    EXPECT_GE(wait, callback_backoff(attempt, 0.0));
    EXPECT_LE(wait, callback_backoff(attempt, 1.0));
  }
}

TEST(AddressRange, BlocksOfBothFamilies) {
  auto v4 = [](const char* text) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    inet_pton(AF_INET, text, &in.sin_addr);
    return in;
  };
  auto v6 = [](const char* text) {
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, text, &in6.sin6_addr);
    return in6;
  };
  auto block = parse_address_range("10.1.0.0/16");
  ASSERT_TRUE(block) << block.error().message;
  auto inside = v4("10.1.255.3"), outside = v4("10.2.0.1");
  EXPECT_TRUE(in_range(*block, reinterpret_cast<sockaddr*>(&inside)));
  EXPECT_FALSE(in_range(*block, reinterpret_cast<sockaddr*>(&outside)));
  auto odd = parse_address_range("192.168.1.128/25");
  ASSERT_TRUE(odd);
  auto hi = v4("192.168.1.200"), lo = v4("192.168.1.100");
  EXPECT_TRUE(in_range(*odd, reinterpret_cast<sockaddr*>(&hi)));
  EXPECT_FALSE(in_range(*odd, reinterpret_cast<sockaddr*>(&lo)));
  auto one = parse_address_range("127.0.0.1");
  ASSERT_TRUE(one);
  auto same = v4("127.0.0.1"), next = v4("127.0.0.2");
  EXPECT_TRUE(in_range(*one, reinterpret_cast<sockaddr*>(&same)));
  EXPECT_FALSE(in_range(*one, reinterpret_cast<sockaddr*>(&next)));
  auto ula = parse_address_range("fd00::/8");
  ASSERT_TRUE(ula);
  auto u = v6("fd12::1"), g = v6("2001:db8::1");
  EXPECT_TRUE(in_range(*ula, reinterpret_cast<sockaddr*>(&u)));
  EXPECT_FALSE(in_range(*ula, reinterpret_cast<sockaddr*>(&g)));
  EXPECT_FALSE(in_range(*block, reinterpret_cast<sockaddr*>(&u)));  // other family
  for (const char* bad : {"", "10.0.0.0/33", "10.0.0.0/", "fd00::/129", "example.com", "10.0.0/8",
                          "10.0.0.0/-1"}) {
    auto r = parse_address_range(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code, ErrorCode::kUsage);
    }
  }
}

}  // namespace
}  // namespace peel::server
