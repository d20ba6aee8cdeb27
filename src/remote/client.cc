// The client of `peel serve` over libcurl (remote/client.h).
#include "remote/client.h"

#include "engine/atomic_file.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

namespace peel::remote {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kApp = "peel";
constexpr int kTransportRetries = 4;

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool valid_id(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.';
  });
}

std::string random_hex(size_t bytes) {
  std::random_device random;
  std::string out;
  for (size_t i = 0; i < bytes; ++i) out += fmt::format("{:02x}", random() & 0xff);
  return out;
}

std::string uuid_v4() {
  std::string hex = random_hex(16);
  hex[12] = '4';                                                    // version 4
  hex[16] = "89ab"[std::stoi(hex.substr(16, 1), nullptr, 16) & 3];  // variant 10xx
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

std::string base64(std::string_view data) {
  static constexpr char kDigits[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(data[i]) << 16 | static_cast<uint8_t>(data[i + 1]) << 8 |
                 static_cast<uint8_t>(data[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kDigits[(n >> s) & 63];
  }
  if (i < data.size()) {
    uint32_t n = static_cast<uint8_t>(data[i]) << 16;
    if (i + 1 < data.size()) n |= static_cast<uint8_t>(data[i + 1]) << 8;
    out += kDigits[(n >> 18) & 63];
    out += kDigits[(n >> 12) & 63];
    out += i + 1 < data.size() ? kDigits[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Makes `path` a folder of mode 0700 (and its parents) when missing.
Result<void> ensure_private_folder(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return {};
  fs::create_directories(path, ec);
  if (ec) {
    return Error(ErrorCode::kInternal,
                 fmt::format("cannot create the folder {} ({}); set XDG_CONFIG_HOME to a folder "
                             "you can write to",
                             path.string(), ec.message()));
  }
  ::chmod(path.c_str(), 0700);
  return {};
}

// Writes `text` to `path` with mode 0600, whole or not at all (temporary file and rename).
Result<void> write_private_file(const fs::path& path, const std::string& text) {
  const std::string temp = path.string() + "." + random_hex(4) + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ok && ::fsync(fd) == 0;
  const int err = errno;
  if (fd >= 0) ::close(fd);
  if (ok && ::rename(temp.c_str(), path.c_str()) == 0) return {};
  ::unlink(temp.c_str());
  return Error(ErrorCode::kInternal,
               fmt::format("cannot write {} ({})", path.string(), std::strerror(err)));
}

std::string read_small_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str().substr(0, 64 * 1024);
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t start = 0;
  while (start < s.size() && std::isspace(static_cast<unsigned char>(s[start]))) ++start;
  return s.substr(start);
}

// The token cache's file name for a server: its URL with anything but [A-Za-z0-9.-] as '_'.
std::string cache_name(const std::string& server) {
  std::string name;
  for (unsigned char c : server) {
    name += std::isalnum(c) || c == '.' || c == '-' ? static_cast<char>(c) : '_';
  }
  return name.substr(0, 200) + ".json";
}

std::string platform() {
  struct utsname u {};
  if (::uname(&u) != 0) return "unknown";
  std::string name = u.sysname;
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name + "-" + u.machine;
}

Hint hint_named(const std::string& name) {
  for (Hint h :
       {Hint::kOverwrite, Hint::kReencode, Hint::kCopy, Hint::kNotStrict, Hint::kOutputFolder,
        Hint::kNameTemplate, Hint::kChange, Hint::kRecursive, Hint::kOneOf}) {
    if (hint_name(h) == name) return h;
  }
  return Hint::kNone;
}

std::string text_at(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

void curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

Result<std::string> config_folder() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && *xdg == '/') {
    return (fs::path(xdg) / "peel").string();
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return (fs::path(home) / ".config" / "peel").string();
  }
  return Error(ErrorCode::kUsage,
               "cannot tell where to keep the client id: set HOME or XDG_CONFIG_HOME");
}

Result<std::string> load_or_create_client_id(const std::string& folder) {
  if (auto made = ensure_private_folder(folder); !made) return made.error();
  const fs::path path = fs::path(folder) / "client_id";
  for (int attempt = 0; attempt < 2; ++attempt) {
    const std::string id = uuid_v4();
    const std::string text = id + "\n";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      // A crash here leaves a short file, which the read below refuses: never a silent new id.
      const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                      ::fsync(fd) == 0;
      ::close(fd);
      if (ok) return id;
      ::unlink(path.c_str());
      continue;
    }
    if (errno != EEXIST) break;
    const std::string held = trim(read_small_file(path));
    if (!valid_id(held)) {
      return Error(ErrorCode::kInternal,
                   fmt::format("{} does not hold a client id (1 to 128 letters, digits, '-', '_' "
                               "or '.'); fix it, or remove it to start as a new client (with "
                               "new credits and no sessions)",
                               path.string()));
    }
    return held;
  }
  return Error(ErrorCode::kInternal,
               fmt::format("cannot create {} ({}); set XDG_CONFIG_HOME to a folder you can "
                           "write to",
                           path.string(), std::strerror(errno)));
}

Result<int64_t> check_input(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == EACCES) {
      return Error(
          ErrorCode::kInputUnreadable,
          fmt::format("cannot read {}: permission denied; check the file's permissions", path));
    }
    return Error(ErrorCode::kInputNotFound, fmt::format("{} does not exist; check the path", path));
  }
  if (S_ISDIR(st.st_mode)) {
    return Error(ErrorCode::kInputIsDirectory,
                 fmt::format("{} is a folder, not a file; name the video files inside it", path));
  }
  if (!S_ISREG(st.st_mode)) {
    return Error(ErrorCode::kUnsupportedFile,
                 fmt::format("{} is not a regular file; save the stream to a file first", path));
  }
  if (::access(path.c_str(), R_OK) != 0) {
    return Error(
        ErrorCode::kInputUnreadable,
        fmt::format("cannot read {}: permission denied; check the file's permissions", path));
  }
  if (st.st_size == 0) {
    return Error(
        ErrorCode::kInputEmpty,
        fmt::format("{} is empty (0 bytes); it may still be copying or downloading", path));
  }
  return static_cast<int64_t>(st.st_size);
}

Error error_from_json(const json& error) {
  Error e(static_cast<ErrorCode>(error.is_object() ? error.value("code", 7001) : 7001),
          text_at(error, "message"));
  if (e.message.empty()) e.message = "the export failed on the server";
  e.field = text_at(error, "field");
  e.hint = hint_named(text_at(error, "hint"));
  e.suggestion = text_at(error, "suggestion");
  e.value = text_at(error, "value");
  e.other_field = text_at(error, "other_field");
  return e;
}

std::string StreamEvent::text() const {
  if (!data.is_object()) return "";
  const json& content = data.value("content", json::object());
  if (!content.is_object() || !content.contains("parts") || !content["parts"].is_array()) {
    return "";
  }
  std::string out;
  for (const auto& part : content["parts"]) {
    const std::string t = text_at(part, "text");
    if (t.empty()) continue;
    if (!out.empty()) out += "\n";
    out += t;
  }
  return out;
}

// --- HTTP over libcurl -------------------------------------------------------------------------

struct RemoteClient::Reply {
  CURLcode transport = CURLE_OK;  // not CURLE_OK: no answer (status is 0)
  std::string transport_message;
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  json envelope() const {
    json j = json::parse(body, nullptr, false);
    return j.is_object() ? j : json::object();
  }
  json data() const { return envelope().value("data", json::object()); }
};

struct RemoteClient::Call {
  std::string method = "GET";
  std::string path;  // below the server's URL, or a whole URL
  std::vector<std::string> headers;
  std::string body;
  bool auth = true;
  bool uncancellable = false;
  bool retry_transport = false;  // safe to send again when no answer came (idempotent)
  bool pass_transport = false;   // no answer: the Reply says so, for the caller to resume
  // A body read from a file: `length` bytes from `offset` (upload_fd >= 0).
  int upload_fd = -1;
  int64_t upload_offset = 0;
  int64_t upload_length = 0;
  // Where a 2xx answer's body goes instead of Reply::body.
  std::function<bool(const char* data, size_t size)> sink;
  TransferProgress on_progress;
};

namespace {

struct Transfer {
  const RemoteClient* client = nullptr;
  CURL* handle = nullptr;
  const CancelToken* cancel = nullptr;
  bool uncancellable = false;
  int fd = -1;
  int64_t offset = 0;
  int64_t left = 0;
  int read_errno = 0;
  std::function<bool(const char*, size_t)>* sink = nullptr;
  TransferProgress* progress = nullptr;
  std::string* body = nullptr;
  std::map<std::string, std::string>* headers = nullptr;
  bool sink_failed = false;
};

size_t on_read(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t want = std::min<int64_t>(static_cast<int64_t>(size * count), t->left);
  if (want == 0) return 0;
  const ssize_t got = ::pread(t->fd, buffer, want, t->offset);
  if (got <= 0) {
    t->read_errno = got < 0 ? errno : EIO;
    return CURL_READFUNC_ABORT;
  }
  t->offset += got;
  t->left -= got;
  return static_cast<size_t>(got);
}

size_t on_write(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  long status = 0;
  curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &status);
  if (t->sink && *t->sink && status >= 200 && status < 300) {
    if (!(*t->sink)(data, n)) {
      t->sink_failed = true;
      return 0;
    }
    return n;
  }
  if (t->body->size() < 16 * 1024 * 1024) t->body->append(data, n);
  return n;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * count);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.starts_with("HTTP/")) {
    t->headers->clear();  // a new answer (after 100 Continue)
    return size * count;
  }
  const size_t colon = line.find(':');
  if (colon == std::string::npos) return size * count;
  std::string name = line.substr(0, colon);
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  (*t->headers)[name] = trim(line.substr(colon + 1));
  return size * count;
}

int on_progress(void* user, curl_off_t down_total, curl_off_t down_now, curl_off_t up_total,
                curl_off_t up_now) {
  auto* t = static_cast<Transfer*>(user);
  if (!t->uncancellable && t->cancel->cancelled()) return 1;
  if (t->progress && *t->progress) {
    if (up_total > 0) {
      (*t->progress)(up_now, up_total);
    } else if (down_total > 0 || down_now > 0) {
      (*t->progress)(down_now, down_total);
    }
  }
  return 0;
}

// Waits `seconds`, or less if `cancel` fires; false when it did.
bool pause_for(double seconds, const CancelToken& cancel) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (cancel.cancelled()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return !cancel.cancelled();
}

}  // namespace

RemoteClient::RemoteClient(ClientOptions options) : options_(std::move(options)) {
  curl_once();
  server_ = options_.server;
  while (!server_.empty() && server_.back() == '/') server_.pop_back();
}

RemoteClient::~RemoteClient() = default;

Result<RemoteClient::Reply> RemoteClient::call_once(const Call& c, const std::string& bearer) {
  Reply reply;
  CURL* h = curl_easy_init();
  if (h == nullptr) return Error(ErrorCode::kInternal, "libcurl could not start a transfer");
  const std::string url = c.path.starts_with("http") ? c.path : server_ + c.path;
  Transfer t;
  t.handle = h;
  t.cancel = &options_.cancel;
  t.uncancellable = c.uncancellable;
  t.fd = c.upload_fd;
  t.offset = c.upload_offset;
  t.left = c.upload_length;
  auto sink = c.sink;
  auto progress = c.on_progress;
  t.sink = &sink;
  t.progress = &progress;
  t.body = &reply.body;
  t.headers = &reply.headers;

  curl_slist* headers = nullptr;
  std::vector<std::string> lines = c.headers;
  if (c.auth && !bearer.empty()) lines.push_back("Authorization: Bearer " + bearer);
  lines.emplace_back("Expect:");  // the server answers at once; no 100-continue round trip
  for (const auto& line : lines) headers = curl_slist_append(headers, line.c_str());

  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
  // A server that sends nothing for a minute is gone (message streams beat every 15 s).
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, ("peel-remote/" + options_.version).c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
  if (c.upload_fd >= 0) {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &t);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(c.upload_length));
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c.method.c_str());
  } else if (c.method == "POST") {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, c.body.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(c.body.size()));
  } else if (c.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (c.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c.method.c_str());
  }
  reply.transport = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  if (t.sink_failed) reply.transport = CURLE_WRITE_ERROR;
  if (reply.transport == CURLE_ABORTED_BY_CALLBACK) {
    return Error(ErrorCode::kCancelled, "cancelled");
  }
  if (t.read_errno != 0) {
    return Error(ErrorCode::kInternal,
                 fmt::format("reading the file failed midway ({})", std::strerror(t.read_errno)));
  }
  if (reply.transport != CURLE_OK) {
    reply.transport_message = curl_easy_strerror(reply.transport);
    reply.status = 0;
  } else {
    reply.status = static_cast<int>(status);
  }
  return reply;
}

Result<RemoteClient::Reply> RemoteClient::call(const Call& c) {
  bool renewed = false;
  int transport_failures = 0;
  int waits = 0;
  for (;;) {
    std::string bearer;
    if (c.auth) {
      auto t = token(false);
      if (!t) return t.error();
      bearer = *t;
    }
    auto reply = call_once(c, bearer);
    if (!reply) return reply.error();
    if (reply->transport != CURLE_OK &&
        !(c.pass_transport && reply->status == 0 && !options_.cancel.cancelled() && reachable_)) {
      const bool unreachable = reply->transport == CURLE_COULDNT_CONNECT ||
                               reply->transport == CURLE_COULDNT_RESOLVE_HOST ||
                               reply->transport == CURLE_URL_MALFORMAT ||
                               reply->transport == CURLE_UNSUPPORTED_PROTOCOL;
      if (!unreachable && c.retry_transport && ++transport_failures <= kTransportRetries &&
          pause_for(0.5 * transport_failures, options_.cancel)) {
        continue;
      }
      if (options_.cancel.cancelled() && !c.uncancellable) {
        return Error(ErrorCode::kCancelled, "cancelled");
      }
      if (unreachable) {
        return Error(ErrorCode::kInternal,
                     fmt::format("cannot reach the peel server at {} ({}); check that `peel "
                                 "serve` runs there, or give another with --server URL (or "
                                 "PEEL_SERVER)",
                                 server_, reply->transport_message));
      }
      return Error(ErrorCode::kInternal,
                   fmt::format("the connection to the peel server at {} broke off ({}); try "
                               "again",
                               server_, reply->transport_message));
    }
    if (reply->transport != CURLE_OK) return std::move(*reply);
    reachable_ = true;
    const json envelope = reply->envelope();
    const int code = envelope.value("code", 0);
    if (reply->status == 401 && code == 1001 && c.auth && !renewed) {
      renewed = true;  // expired or unknown to this server: a new token, once
      auto t = token(true);
      if (!t) return t.error();
      continue;
    }
    if (reply->status == 429 && ++waits <= 5) {
      const int wait = std::clamp(std::atoi(reply->header("retry-after").c_str()), 1, 30);
      if (!pause_for(wait, options_.cancel)) return Error(ErrorCode::kCancelled, "cancelled");
      continue;
    }
    return std::move(*reply);
  }
}

Result<std::string> RemoteClient::token(bool renew) {
  if (!renew && !token_.empty()) return token_;
  const fs::path cache = fs::path(options_.config_folder) / "tokens" / cache_name(server_);
  if (!renew) {
    const json cached = json::parse(read_small_file(cache), nullptr, false);
    if (cached.is_object() && text_at(cached, "server") == server_ &&
        cached.value("expires_at", int64_t{0}) > now_seconds() + 60 &&
        !text_at(cached, "token").empty()) {
      token_ = text_at(cached, "token");
      return token_;
    }
  }
  auto id = load_or_create_client_id(options_.config_folder);
  if (!id) return id.error();
  Call c;
  c.method = "POST";
  c.path = "/api/auth/anonymous-token";
  c.headers = {"X-Client-Id: " + *id};
  c.auth = false;
  c.retry_transport = true;
  auto reply = call(c);
  if (!reply) return reply.error();
  const json data = reply->data();
  if (reply->status != 200 || text_at(data, "token").empty()) return refused(*reply);
  token_ = text_at(data, "token");
  const int64_t expires = now_seconds() + data.value("expires_in", int64_t{3600});
  if (auto folder = ensure_private_folder(cache.parent_path()); folder) {
    // A cache that cannot be written costs a token per run, nothing more.
    (void)write_private_file(
        cache, json{{"server", server_}, {"token", token_}, {"expires_at", expires}}.dump() + "\n");
  }
  return token_;
}

Error RemoteClient::refused(const Reply& reply) {
  const json envelope = reply.envelope();
  Refusal r;
  r.status = reply.status;
  r.code = envelope.value("code", reply.status);
  r.message = text_at(envelope, "message");
  r.data = envelope.value("data", json());
  if (r.message.empty()) r.message = fmt::format("the server answered HTTP {}", reply.status);
  // An engine usage error is answered as 400; its own code is 1001.
  Error e(static_cast<ErrorCode>(r.code), r.message);
  if (r.data.is_object() && r.data.contains("name")) e = error_from_json(r.data);
  e.code = r.code == 400 ? ErrorCode::kUsage : static_cast<ErrorCode>(r.code);
  e.message = r.message;
  last_refusal_ = std::move(r);
  return e;
}

// --- Routes ------------------------------------------------------------------------------------

Result<json> RemoteClient::credits() {
  last_refusal_.reset();
  Call c;
  c.path = "/api/credits/balance/simple";
  c.retry_transport = true;
  auto reply = call(c);
  if (!reply) return reply.error();
  if (reply->status != 200) return refused(*reply);
  return reply->data();
}

Result<std::string> RemoteClient::create_session(const std::string& task_name) {
  last_refusal_.reset();
  Call c;
  c.method = "POST";
  c.path = std::string("/api/tasks/me/with-session/") + kApp;
  c.headers = {"Content-Type: application/json"};
  c.body = json{{"task_name", task_name}, {"language", "en"}}.dump();
  auto reply = call(c);
  if (!reply) return reply.error();
  const std::string id = text_at(reply->data(), "session_id");
  if (reply->status != 200 || id.empty()) return refused(*reply);
  return id;
}

Result<UploadedFile> RemoteClient::upload(const std::string& session_id, const std::string& path,
                                          const TransferProgress& on_progress) {
  last_refusal_.reset();
  auto checked = check_input(path);
  if (!checked) return checked.error();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Error(ErrorCode::kInputUnreadable,
                 fmt::format("cannot read {} ({}); check the file's permissions", path,
                             std::strerror(errno)));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  const int64_t size = *checked;
  const std::string name = fs::path(path).filename().string();
  const std::string base = std::string("/api/tus/") + kApp + "/me/" + session_id;

  Call create;
  create.method = "POST";
  create.path = base;
  create.headers = {"Tus-Resumable: 1.0.0",
                    "Content-Type:", "Upload-Length: " + std::to_string(size),
                    "Upload-Metadata: filename " + base64(name)};
  auto created = call(create);
  if (!created) return created.error();
  const std::string location = created->header("location");
  if (created->status != 201 || location.empty()) return refused(*created);
  const std::string upload_id = fs::path(location).filename().string();

  int64_t offset = 0;
  int failures = 0;
  while (offset < size) {
    Call patch;
    patch.method = "PATCH";
    patch.path = location;
    patch.headers = {"Tus-Resumable: 1.0.0", "Content-Type: application/offset+octet-stream",
                     "Upload-Offset: " + std::to_string(offset)};
    patch.upload_fd = fd;
    patch.upload_offset = offset;
    patch.upload_length = size - offset;
    patch.pass_transport = true;
    const int64_t from = offset;
    if (on_progress) {
      patch.on_progress = [&](int64_t done, int64_t) { on_progress(from + done, size); };
    }
    auto reply = call(patch);
    if (!reply) return reply.error();
    if (reply->transport != CURLE_OK || reply->status == 409) {
      // Dropped (or another PATCH was still finishing): ask what arrived, go on from there.
      if (++failures > kTransportRetries) {
        if (reply->status == 409) return refused(*reply);
        return Error(ErrorCode::kInternal,
                     fmt::format("the upload of {} to {} kept breaking off ({}); try again", path,
                                 server_, reply->transport_message));
      }
      if (!pause_for(0.5 * failures, options_.cancel)) {
        return Error(ErrorCode::kCancelled, "cancelled");
      }
      Call head;
      head.method = "HEAD";
      head.path = location;
      head.headers = {"Tus-Resumable: 1.0.0"};
      head.retry_transport = true;
      auto asked = call(head);
      if (!asked) return asked.error();
      if (asked->status != 200) return refused(*asked);
      offset = std::atoll(asked->header("upload-offset").c_str());
      continue;
    }
    if (reply->status != 204) return refused(*reply);
    offset = std::atoll(reply->header("upload-offset").c_str());
  }

  UploadedFile file;
  file.upload_id = upload_id;
  file.name = name;
  file.size = size;
  // The server's probe, for the progress line's length: nice to have, never a failure.
  Call state;
  state.path = std::string("/api/state/") + kApp + "/me/" + session_id + "/latest";
  state.retry_transport = true;
  if (auto s = call(state); s && s->status == 200) {
    for (const auto& f : s->data().value("video_infos", json::array())) {
      if (text_at(f, "upload_id") == upload_id) {
        if (!text_at(f, "name").empty()) file.name = text_at(f, "name");
        file.info = f.value("info", json());
      }
    }
  }
  return file;
}

Result<void> RemoteClient::delete_upload(const std::string& session_id,
                                         const std::string& upload_id) {
  last_refusal_.reset();
  Call c;
  c.method = "DELETE";
  c.path = std::string("/api/tus/") + kApp + "/me/" + session_id + "/" + upload_id;
  c.headers = {"Tus-Resumable: 1.0.0"};
  c.uncancellable = true;
  c.retry_transport = true;
  auto reply = call(c);
  if (!reply) return reply.error();
  if (reply->status != 204) return refused(*reply);
  return {};
}

Result<json> RemoteClient::create_export(const json& body) {
  last_refusal_.reset();
  Call c;
  c.method = "POST";
  c.path = "/api/render/proxy/lambda";
  c.headers = {"Content-Type: application/json", "X-Skill-Source: peel-remote",
               "X-Skill-Version: " + options_.version, "X-Skill-Platform: " + platform()};
  c.body = body.dump();
  c.retry_transport = true;  // the id makes a second send the same export
  auto reply = call(c);
  if (!reply) return reply.error();
  if (reply->status != 200 && reply->status != 202) return refused(*reply);
  return reply->data();
}

Result<json> RemoteClient::export_status(const std::string& id) {
  last_refusal_.reset();
  Call c;
  c.path = "/api/render/proxy/lambda/" + id;
  c.retry_transport = true;
  auto reply = call(c);
  if (!reply) return reply.error();
  if (reply->status != 200) return refused(*reply);
  return reply->data();
}

Result<json> RemoteClient::cancel_export(const std::string& id) {
  last_refusal_.reset();
  Call c;
  c.method = "DELETE";
  c.path = "/api/render/proxy/lambda/" + id;
  c.uncancellable = true;
  c.retry_transport = true;
  auto reply = call(c);
  if (!reply) return reply.error();
  if (reply->status != 200) return refused(*reply);
  return reply->data();
}

Result<int64_t> RemoteClient::download(const std::string& url, const std::string& target,
                                       bool overwrite, const TransferProgress& on_progress,
                                       const TempNotice& on_temp) {
  last_refusal_.reset();
  const fs::path dir =
      fs::path(target).parent_path().empty() ? fs::path(".") : fs::path(target).parent_path();
  if (Result<void> free = engine::check_target_path(target, "", overwrite); !free) {
    return free.error();
  }
  const std::string temp =
      (dir / fmt::format(".{}.peel-{}", fs::path(target).filename().string(), random_hex(4)))
          .string();
  if (on_temp) on_temp(temp, true);
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) {
    const int err = errno;
    if (on_temp) on_temp(temp, false);
    return Error(ErrorCode::kOutputUnwritable,
                 fmt::format("cannot write into the folder {} ({}); choose a folder you can "
                             "write to",
                             dir.string(), std::strerror(err)))
        .about("output");
  }
  // Removes the temporary file unless it was renamed into place.
  struct Temp {
    std::string path;
    int fd;
    const TempNotice& notice;
    bool kept = false;
    ~Temp() {
      if (fd >= 0) ::close(fd);
      if (kept) return;
      ::unlink(path.c_str());
      if (notice) notice(path, false);
    }
  } guard{temp, fd, on_temp};

  int64_t written = 0;
  int write_errno = 0;
  int failures = 0;
  for (;;) {
    Call c;
    c.path = url;
    c.auth = false;
    c.pass_transport = true;
    if (written > 0) c.headers = {"Range: bytes=" + std::to_string(written) + "-"};
    c.sink = [&](const char* data, size_t size) {
      size_t done = 0;
      while (done < size) {
        const ssize_t n = ::write(fd, data + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          write_errno = n < 0 ? errno : EIO;
          return false;
        }
        done += static_cast<size_t>(n);
      }
      written += static_cast<int64_t>(size);
      return true;
    };
    const int64_t from = written;
    if (on_progress) {
      c.on_progress = [&](int64_t done, int64_t total) {
        on_progress(from + done, total > 0 ? from + total : 0);
      };
    }
    auto reply = call(c);
    if (!reply) return reply.error();
    if (write_errno != 0) {
      return Error(ErrorCode::kWriteFailed,
                   fmt::format("cannot write {} ({}); free some space or choose another folder",
                               target, std::strerror(write_errno)));
    }
    if (reply->transport != CURLE_OK) {
      if (++failures > kTransportRetries || !pause_for(0.5 * failures, options_.cancel)) {
        if (options_.cancel.cancelled()) return Error(ErrorCode::kCancelled, "cancelled");
        return Error(ErrorCode::kInternal,
                     fmt::format("the download of {} from {} kept breaking off ({}); try again",
                                 target, server_, reply->transport_message));
      }
      continue;  // on from the bytes that came, with a Range
    }
    if (reply->status == 200 && from > 0) {
      // The server sent it whole again: start over.
      if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0) {
        return Error(ErrorCode::kWriteFailed,
                     fmt::format("cannot write {} ({})", target, std::strerror(errno)));
      }
      written = 0;
      continue;
    }
    if (reply->status != 200 && reply->status != 206) return refused(*reply);
    break;
  }
  if (::fsync(fd) != 0) {
    return Error(ErrorCode::kWriteFailed,
                 fmt::format("cannot flush {} to disk ({})", target, std::strerror(errno)));
  }
  const unsigned flags = overwrite ? 0 : RENAME_NOREPLACE;
  if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, target.c_str(), flags) != 0) {
    const int err = errno;
    if (err == EEXIST) {
      return Error(ErrorCode::kOutputExists,
                   fmt::format("{} appeared while peel was writing it; replace it, or choose "
                               "another name",
                               target))
          .about("output", Hint::kOverwrite);
    }
    return Error(ErrorCode::kWriteFailed,
                 fmt::format("cannot move the finished output into place as {} ({})", target,
                             std::strerror(err)));
  }
  guard.kept = true;
  if (on_temp) on_temp(temp, false);
  // The rename itself survives a power cut once the folder is flushed.
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return written;
}

Result<void> RemoteClient::send_message(const std::string& session_id, const std::string& text,
                                        const std::function<void(const StreamEvent&)>& on_event) {
  last_refusal_.reset();
  long long last_id = 0;
  bool done = false;
  int failures = 0;
  while (!done) {
    Call c;
    c.method = "POST";
    c.path = "/run_sse";
    c.headers = {"Content-Type: application/json", "Accept: text/event-stream"};
    json body = {{"app_name", kApp}, {"session_id", session_id}};
    if (last_id > 0) {
      c.headers.push_back("Last-Event-ID: " + std::to_string(last_id));
    } else {
      body["new_message"] = {{"role", "user"}, {"parts", json::array({{{"text", text}}})}};
    }
    c.body = body.dump();
    c.pass_transport = true;
    std::string pending;
    StreamEvent event;
    bool any = false;
    c.sink = [&](const char* data, size_t size) {
      pending.append(data, size);
      size_t start = 0;
      for (size_t nl = pending.find('\n', start); nl != std::string::npos;
           nl = pending.find('\n', start)) {
        std::string line = pending.substr(start, nl - start);
        start = nl + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) {
          if (any && !done) {
            if (event.id > 0) last_id = event.id;
            if (event.type == "done") done = true;
            on_event(event);
          }
          event = StreamEvent{};
          any = false;
        } else if (line.starts_with("id:")) {
          event.id = std::atoll(line.c_str() + 3);
          any = true;
        } else if (line.starts_with("event:")) {
          event.type = trim(line.substr(6));
          any = true;
        } else if (line.starts_with("data:")) {
          event.data = json::parse(line.substr(5), nullptr, false);
          any = true;
        }
      }
      pending.erase(0, start);
      return true;
    };
    auto reply = call(c);
    if (!reply) return reply.error();
    if (reply->transport == CURLE_OK && reply->status != 200) return refused(*reply);
    if (done) break;
    // The stream ended early (a drop, or its 15 minutes): resume after the last event.
    if (++failures > kTransportRetries || last_id == 0) {
      return Error(ErrorCode::kInternal,
                   fmt::format("the message stream from {} broke off ({}); try again", server_,
                               reply->transport == CURLE_OK ? "it ended before done"
                                                            : reply->transport_message));
    }
    if (!pause_for(0.5 * failures, options_.cancel)) {
      return Error(ErrorCode::kCancelled, "cancelled");
    }
  }
  return {};
}

}  // namespace peel::remote
