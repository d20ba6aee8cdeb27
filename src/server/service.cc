// The routes of `peel serve`: tokens, sessions, uploads, messages over SSE, state, credits,
// exports and downloads (docs/http-api.md). Handlers check, then ask the Store; only the
// Worker runs jobs.
#include "server/service.h"

#include <prometheus/counter.h>

#include <boost/asio/thread_pool.hpp>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "engine/names.h"
#include "peel/ask.h"
#include "peel/formats.h"
#include "peel/json.h"
#include "peel/media_info.h"
#include "peel/nl.h"
#include "peel/plan.h"
#include "server/crypto.h"
#include "server/multipart.h"
#include "server/run_on.h"

namespace peel::server {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The service's own codes (docs/http-api.md). The engine's codes pass through as they are,
// but two ranges the service gives other meanings: an engine usage error (1001) is answered
// as 400, and the engine's input codes (2001-2004) cannot arise (the server names the files).
constexpr int kBadRequest = 400;
constexpr int kBadToken = 1001;
constexpr int kNoSession = 1002;
constexpr int kNoCredits = 2001;
constexpr int kNoAttribution = 402;
constexpr int kNotFound = 404;
constexpr int kConflict = 409;
constexpr int kRateLimited = 429;

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string iso_time(int64_t t) {
  if (t <= 0) return "";
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

json iso_or_null(int64_t t) { return t > 0 ? json(iso_time(t)) : json(nullptr); }

HttpResponse envelope(int status, int code, std::string message, json data = json::object()) {
  HttpResponse response;
  response.status = status;
  response.body =
      json{{"code", code}, {"message", std::move(message)}, {"data", std::move(data)}}.dump(
          -1, ' ', false, json::error_handler_t::replace);
  response.body.push_back('\n');
  return response;
}

HttpResponse ok(json data) { return envelope(200, 0, "ok", std::move(data)); }

// The HTTP status and envelope code of an engine error.
std::pair<int, int> engine_status(ErrorCode code) {
  int n = static_cast<int>(code);
  switch (code) {
    case ErrorCode::kUsage:
      return {400, kBadRequest};
    case ErrorCode::kFileTooLarge:
      return {413, n};
    case ErrorCode::kOutputTooLarge:
      return {413, n};
    case ErrorCode::kCancelled:
      return {409, n};
    case ErrorCode::kInputNotFound:  // an upload that is gone (2001 is the service's credits)
      return {404, kNotFound};
    case ErrorCode::kInternal:
    case ErrorCode::kWriteFailed:
      return {500, n};
    default:
      return {422, n};
  }
}

HttpResponse engine_error(const Error& e, json extra = json::object()) {
  auto [status, code] = engine_status(e.code);
  json data = error_json("", e);
  data.erase("input");
  for (auto& [k, v] : extra.items()) data[k] = v;
  return envelope(status, code, e.message, data);
}

HttpResponse bad_request(const std::string& message, const std::string& field = "") {
  return envelope(400, kBadRequest, message,
                  json{{"field", field.empty() ? json(nullptr) : json(field)}});
}

HttpResponse not_found(const std::string& what) {
  return envelope(404, kNotFound, what + " not found");
}

// Rejects JSON nested deeper than a request could need before parsing it.
bool shallow(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

// The body as a JSON object, or the 400 answer.
std::variant<json, HttpResponse> json_body(const HttpRequest& request, bool empty_ok = false) {
  if (request.body.empty() && empty_ok) return json::object();
  if (!shallow(request.body, 32)) return bad_request("the body is nested too deeply");
  json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded()) return bad_request("the body is not valid JSON");
  if (!body.is_object()) return bad_request("the body must be a JSON object");
  return body;
}

std::string string_at(const json& body, const char* key) {
  auto it = body.find(key);
  return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool app_known(const std::string& app) { return app == "peel" || app == "nemo_agent"; }

bool valid_client_id(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.';
  });
}

std::string content_type_of(const std::string& name) {
  static const std::map<std::string, std::string> kTypes = {
      {".mp3", "audio/mpeg"},  {".m4a", "audio/mp4"},        {".aac", "audio/aac"},
      {".flac", "audio/flac"}, {".wav", "audio/wav"},        {".ogg", "audio/ogg"},
      {".opus", "audio/ogg"},  {".mka", "audio/x-matroska"}, {".ac3", "audio/ac3"},
      {".mp4", "video/mp4"},   {".mkv", "video/x-matroska"}, {".webm", "video/webm"}};
  auto it = kTypes.find(fs::path(name).extension().string());
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

std::string percent_encode(std::string_view text, bool keep_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 15]);
    }
  }
  return out;
}

// The clients of tokens seen lately, by the token's hash, with the expiry the store gave: a
// token is never changed or revoked before it expires (a new one is issued instead), so what
// the store said once holds until then, and a poll costs no query for it. Bounded: full, it
// starts again empty.
class TokenCache {
 public:
  std::optional<std::string> find(const std::string& hash, int64_t now) {
    std::lock_guard lock(mutex_);
    auto it = clients_.find(hash);
    if (it == clients_.end() || it->second.expires_at <= now) return std::nullopt;
    return it->second.client_id;
  }
  void put(const std::string& hash, std::string client_id, int64_t expires_at) {
    std::lock_guard lock(mutex_);
    if (clients_.size() >= kMaxTokens) clients_.clear();
    clients_[hash] = Entry{std::move(client_id), expires_at};
  }

 private:
  static constexpr size_t kMaxTokens = 100000;
  struct Entry {
    std::string client_id;
    int64_t expires_at = 0;
  };
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> clients_;
};

// Token buckets by key ("c:<client>", "a:<address>").
class RateLimiter {
 public:
  RateLimiter(double rate, double burst) : rate_(rate), burst_(burst) {}
  // 0 when allowed, else the seconds to wait. The machine itself (a loopback address: the
  // operator, or a reverse proxy in front of the server) is not limited by address.
  int take(const std::string& key) {
    if (rate_ <= 0) return 0;
    if (key == "a:127.0.0.1" || key == "a:::1" || key == "a:::ffff:127.0.0.1") return 0;
    auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    if (buckets_.size() > 100000) buckets_.clear();  // a flood of keys: start over
    auto [it, fresh] = buckets_.try_emplace(key, Bucket{burst_, now});
    Bucket& b = it->second;
    if (!fresh) {
      double elapsed = std::chrono::duration<double>(now - b.at).count();
      b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return std::max(1, static_cast<int>(std::ceil((1 - b.tokens) / rate_)));
  }

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point at;
  };
  double rate_;
  double burst_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

// Signals of the SSE streams waiting for events, by stream id.
class Hub {
 public:
  void add(const std::string& stream, Signal* signal) {
    std::lock_guard lock(mutex_);
    waiting_.emplace(stream, signal);
  }
  void remove(const std::string& stream, Signal* signal) {
    std::lock_guard lock(mutex_);
    auto [from, to] = waiting_.equal_range(stream);
    for (auto it = from; it != to; ++it) {
      if (it->second == signal) {
        waiting_.erase(it);
        break;
      }
    }
  }
  void notify(const std::string& stream) {
    std::lock_guard lock(mutex_);
    auto [from, to] = waiting_.equal_range(stream);
    for (auto it = from; it != to; ++it) it->second->notify();
  }

 private:
  std::mutex mutex_;
  std::multimap<std::string, Signal*> waiting_;
};

// A file arriving from a client (a multipart part, a fetch by URL): written in the scratch
// folder as incoming_<id>, and made the blob only once whole and accepted (keep(), a rename).
// Whatever interrupts it, a dropped connection or a refusal, removes it; what kill -9
// interrupts is left there, and the janitor removes incoming files nothing has written to
// for an hour. So no half-arrived file is ever a blob the Store does not know.
class IncomingFile final : public blob::BlobWriter {
 public:
  static Result<std::unique_ptr<IncomingFile>> open(blob::BlobStore& blobs, std::string key) {
    std::unique_ptr<IncomingFile> file(new IncomingFile(blobs, std::move(key)));
    std::error_code ec;
    fs::create_directories(blobs.scratch_folder(), ec);
    file->path_ = blobs.scratch_folder() + "/" + random_id("incoming_");
    file->fd_ = ::open(file->path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (file->fd_ < 0) {
      return Error(ErrorCode::kWriteFailed,
                   "the server cannot store the file now (" + std::string(std::strerror(errno)) +
                       "): try again later");
    }
    return file;
  }
  ~IncomingFile() override {
    if (fd_ >= 0) ::close(fd_);
    if (!kept_) ::unlink(path_.c_str());
  }
  IncomingFile(const IncomingFile&) = delete;
  IncomingFile& operator=(const IncomingFile&) = delete;

  Result<void> write(const char* data, size_t size) override {
    while (size > 0) {
      ssize_t n = ::write(fd_, data, size);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        return Error(ErrorCode::kWriteFailed, "the server could not store the file (" +
                                                  std::string(std::strerror(errno)) +
                                                  "): try again later");
      }
      data += n;
      size -= static_cast<size_t>(n);
    }
    return {};
  }
  // Closes it; the bytes reach the disk in keep() (BlobStore::put_file syncs them first).
  Result<void> finish() override {
    if (fd_ >= 0 && ::close(fd_) != 0) {
      fd_ = -1;
      return Error(ErrorCode::kWriteFailed, "the server could not store the file");
    }
    fd_ = -1;
    return {};
  }
  // The whole file becomes the blob `key`.
  Result<void> keep() {
    if (Result<void> closed = finish(); !closed) return closed;
    Result<void> put = blobs_.put_file(key_, path_);
    kept_ = put.ok();
    return put;
  }

 private:
  IncomingFile(blob::BlobStore& blobs, std::string key) : blobs_(blobs), key_(std::move(key)) {}
  blob::BlobStore& blobs_;
  std::string key_;
  std::string path_;
  int fd_ = -1;
  bool kept_ = false;
};

}  // namespace

struct Service::State {
  Engine& engine;
  store::Store& store;
  blob::BlobStore& blobs;
  worker::Worker& worker;
  ServiceOptions options;
  RateLimiter limiter;
  TokenCache tokens;
  Hub hub;
  std::mutex sse_mutex;
  std::map<std::string, int> sse_open;  // by client
  std::mutex progress_mutex;
  std::map<std::string, std::chrono::steady_clock::time_point> progress_sent;  // by job

  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& requests =
      prometheus::BuildCounter()
          .Name("peel_http_requests_total")
          .Help("HTTP requests answered, by route and status")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& request_seconds =
      prometheus::BuildHistogram()
          .Name("peel_http_request_duration_seconds")
          .Help("Time to answer a request, by route")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& jobs_gauge =
      prometheus::BuildGauge().Name("peel_jobs").Help("Jobs by state").Register(*registry);
  prometheus::Family<prometheus::Counter>& jobs_ended = prometheus::BuildCounter()
                                                            .Name("peel_jobs_ended_total")
                                                            .Help("Jobs ended, by final state")
                                                            .Register(*registry);
  prometheus::Histogram& job_seconds = prometheus::BuildHistogram()
                                           .Name("peel_job_duration_seconds")
                                           .Help("Wall time of completed jobs")
                                           .Register(*registry)
                                           .Add({}, prometheus::Histogram::BucketBoundaries{
                                                        0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800});
  prometheus::Counter& bytes_in = prometheus::BuildCounter()
                                      .Name("peel_upload_bytes_total")
                                      .Help("Bytes of uploaded files stored")
                                      .Register(*registry)
                                      .Add({});
  prometheus::Counter& bytes_out = prometheus::BuildCounter()
                                       .Name("peel_download_bytes_total")
                                       .Help("Bytes of downloads sent")
                                       .Register(*registry)
                                       .Add({});
  prometheus::Gauge& sse_gauge = prometheus::BuildGauge()
                                     .Name("peel_sse_streams")
                                     .Help("Message streams open")
                                     .Register(*registry)
                                     .Add({});

  State(Engine& e, store::Store& s, blob::BlobStore& b, worker::Worker& w, ServiceOptions o)
      : engine(e),
        store(s),
        blobs(b),
        worker(w),
        options(std::move(o)),
        limiter(options.rate, options.burst) {}
  ~State() {
    {
      std::lock_guard lock(deliver_mutex);
      deliver_stop = true;
    }
    deliver_wake.notify_all();
    if (deliverer.joinable()) deliverer.join();
  }

  // --- Export callbacks ------------------------------------------------------------------
  // When an export with a callback_url ends, the Store marks its callback pending in the same
  // transaction; this thread POSTs each due one, signed (url_fetch.h's post_signed) with the
  // client's callback secret, and records the attempt: delivered, or due again after
  // callback_backoff, or given up after kCallbackAttempts. The state is in the Store, so a
  // restart delivers what was pending. At least once: a receiver may see one twice (a crash
  // between its 2xx and the record), and tells them apart by the export's id.
  static constexpr int kCallbackAttempts = 10;
  std::mutex deliver_mutex;
  std::condition_variable deliver_wake;
  bool deliver_stop = false;
  std::thread deliverer;

  // The key a client's callbacks are signed with: derived, not stored, the same for every
  // export of the client.
  std::string callback_secret(const std::string& client_id) const {
    return "whsec_" + hmac_sha256_hex(options.secret, "callback/" + client_id);
  }

  void wake_deliverer() { deliver_wake.notify_all(); }

  void deliver_callbacks() {
    for (;;) {
      {
        std::unique_lock lock(deliver_mutex);
        deliver_wake.wait_for(lock, std::chrono::seconds(1));
        if (deliver_stop) return;
      }
      auto due = store.due_callbacks(now_seconds(), 16);
      if (!due) continue;
      for (const store::Job& job : *due) {
        {
          std::lock_guard lock(deliver_mutex);
          if (deliver_stop) return;
        }
        const int attempt = job.callback_attempts + 1;
        json body = {{"type", "export." + std::string(store::status_name(job.status))},
                     {"id", job.id},
                     {"delivery_attempt", attempt},
                     {"sent_at", iso_time(now_seconds())},
                     {"data", job_json(job)}};
        auto sent = post_signed(job.callback_url,
                                body.dump(-1, ' ', false, json::error_handler_t::replace),
                                callback_secret(job.client_id), options.fetch);
        int64_t retry_at = 0;
        if (!sent && attempt < kCallbackAttempts) {
          auto wait = callback_backoff(attempt);
          retry_at = now_seconds() + std::max<int64_t>(1, (wait.count() + 999) / 1000);
        }
        (void)store.callback_attempted(job, sent.ok(), sent ? "" : sent.error().message,
                                       retry_at);
      }
    }
  }

  // --- Shared checks -------------------------------------------------------------------
  // The client of the request's bearer token, or the answer that refuses it.
  std::variant<std::string, HttpResponse> client(const HttpRequest& request) {
    if (int wait = limiter.take("a:" + request.peer)) return rate_limited(wait);
    std::string auth = request.header("authorization");
    if (auth.size() < 8 ||
        !std::equal(auth.begin(), auth.begin() + 7, "Bearer ",
                    [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
      return envelope(401, kBadToken,
                      "this route needs a token: Authorization: Bearer <token> from POST "
                      "/api/auth/anonymous-token");
    }
    const std::string hash = sha256_hex(auth.substr(7));
    const int64_t now = now_seconds();
    std::optional<std::string> found = tokens.find(hash, now);
    if (!found) {
      auto owner = store.token_client(hash, now);
      if (!owner) return engine_error(owner.error());
      if (*owner) {
        found = (*owner)->client_id;
        tokens.put(hash, (*owner)->client_id, (*owner)->expires_at);
      }
    }
    if (!found) {
      return envelope(401, kBadToken,
                      "the token is not valid or has expired: get a new one from POST "
                      "/api/auth/anonymous-token");
    }
    if (int wait = limiter.take("c:" + *found)) return rate_limited(wait);
    return *found;
  }

  static HttpResponse rate_limited(int wait) {
    auto response = envelope(429, kRateLimited,
                             "too many requests: try again in " + std::to_string(wait) + " s",
                             json{{"retry_after", wait}});
    response.with("Retry-After", std::to_string(wait));
    return response;
  }

  // The client's session, or the answer that says there is none.
  std::variant<store::Session, HttpResponse> session(const std::string& id,
                                                     const std::string& client_id) {
    auto found = store.session(id, client_id);
    if (!found) return engine_error(found.error());
    if (!*found || (*found)->expires_at < now_seconds()) {
      return envelope(404, kNoSession, "session " + id + " not found (or expired)");
    }
    return **found;
  }

  std::string sign(const std::string& key, int64_t expires) {
    return hmac_sha256_hex(options.secret, key + "\n" + std::to_string(expires));
  }

  std::string download_url(const std::string& key) {
    int64_t expires = now_seconds() + options.download_seconds;
    return options.public_url + "/api/files/" + percent_encode(key, true) +
           "?expires=" + std::to_string(expires) + "&sig=" + sign(key, expires);
  }

  json balance_json(const std::string& client_id) {
    auto b = store.balance(client_id);
    if (!b) return json(nullptr);
    return json{{"available", b->available},
                {"frozen", b->frozen},
                {"total", b->total},
                {"credits_enabled", options.credits}};
  }

  HttpResponse no_credits(int64_t needed, const std::string& client_id) {
    auto b = store.balance(client_id);
    int64_t available = b ? b->available : 0;
    std::string how = options.bind_url.empty() ? "ask the server's operator for more"
                                               : "get more at " + options.bind_url;
    return envelope(
        402, kNoCredits,
        "not enough credits: this export needs " + std::to_string(needed) + ", " +
            std::to_string(available) + " available; " + how,
        json{{"needed", needed},
             {"available", available},
             {"bind_url", options.bind_url.empty() ? json(nullptr) : json(options.bind_url)}});
  }

  // An upload's probe as the client sees it: its own file name, never the server's path.
  static json file_json(const store::Upload& upload) {
    return file_json(upload, json::parse(upload.info_json, nullptr, false));
  }
  // The same, from the upload's info already parsed.
  static json file_json(const store::Upload& upload, json info) {
    if (info.is_discarded()) info = json(nullptr);
    if (info.is_object()) info["path"] = upload.name;
    return json{{"upload_id", upload.id},
                {"name", upload.name},
                {"size", upload.offset},
                {"created_at", iso_time(upload.created)},
                {"info", info}};
  }

  json job_json(const store::Job& job) {
    json output = nullptr;
    if (job.status == store::JobStatus::kCompleted && !job.output_key.empty()) {
      json result = json::parse(job.result_json, nullptr, false);
      output = json{{"url", download_url(job.output_key)},
                    {"name", job.output_name},
                    {"bytes", job.output_bytes},
                    {"expires_in", options.download_seconds},
                    {"result", result.is_discarded() ? json(nullptr) : result}};
    }
    json error = nullptr;
    if (!job.error_json.empty()) {
      error = json::parse(job.error_json, nullptr, false);
      if (error.is_discarded()) error = nullptr;
      // The engine's input codes mean, here, that the upload is gone (2001 is the credits').
      int code = error.is_object() ? error.value("code", 0) : 0;
      if (code >= 2001 && code <= 2004) error["code"] = kNotFound;
    }
    json request = json::parse(job.request_json, nullptr, false);
    return json{{"id", job.id},
                {"session_id", job.session_id},
                {"upload_id", job.upload_id},
                {"status", store::status_name(job.status)},
                {"progress", job.status == store::JobStatus::kCompleted ? 100.0 : job.progress},
                {"request", request.is_discarded() ? json(nullptr) : request},
                {"output", output},
                {"error", error},
                {"credits", json{{"frozen", job.frozen}, {"charged", job.charged}}},
                {"attempt", job.attempt},
                {"callback", callback_json(job)},
                {"created_at", iso_or_null(job.created)},
                {"started_at", iso_or_null(job.started)},
                {"finished_at", iso_or_null(job.finished)}};
  }

  json callback_json(const store::Job& job) const {
    if (job.callback_url.empty()) return nullptr;
    return json{{"url", job.callback_url},
                {"status", job.callback_status.empty() ? "waiting" : job.callback_status},
                {"attempts", job.callback_attempts},
                {"last_error", job.callback_error.empty() ? json(nullptr) : json(job.callback_error)},
                {"secret", callback_secret(job.client_id)}};
  }

  // --- Plans for exports and messages ---------------------------------------------------
  struct Planned {
    Request request;
    std::vector<OutputPlan> plans;
  };
  // Probes the upload and plans `request` on it, as the worker will.
  Result<Planned> plan_on(const store::Upload& upload, Request request) {
    auto path = blobs.local_path(upload.blob_key);
    if (!path) return path.error();
    auto info = probe(engine, *path);
    if (!info) return info.error();
    request.inputs = {*path};
    request.out_dir = blobs.scratch_folder();
    auto plans = plan(request, *info);
    if (!plans) return plans.error();
    return Planned{std::move(request), std::move(*plans)};
  }

  static double plan_seconds(const OutputPlan& p) {
    Micros end = p.to ? *p.to : p.track.start + p.track.duration;
    return std::max<double>(0, to_seconds(end - p.from));
  }

  int64_t cost(const OutputPlan& p) {
    return options.credits ? worker::job_cost(plan_seconds(p), options.credits_per_minute) : 0;
  }

  // --- Events of messages ---------------------------------------------------------------
  void event(const std::string& session_id, const std::string& stream_id, const std::string& type,
             const std::string& text, json data) {
    json payload = {{"type", type},
                    {"author", "peel"},
                    {"content", {{"role", "model"}, {"parts", json::array({{{"text", text}}})}}},
                    {"data", std::move(data)}};
    store::Event e;
    e.session_id = session_id;
    e.stream_id = stream_id;
    e.type = type;
    e.data_json = payload.dump(-1, ' ', false, json::error_handler_t::replace);
    (void)store.append_event(e);
    hub.notify(stream_id);
  }

  void start_message(const store::Session& session, const std::string& stream_id,
                     const std::string& text);
  bool answer_keyword(const store::Session& session, const std::string& stream_id,
                      const std::string& text);
  void finish_stream_if_done(const store::Job& job);

  // --- Uploaded files ---------------------------------------------------------------------
  // What is in a stored upload; kUnsupportedFile, in the client's words (its file's name, not
  // the server's path), when it is not media with audio.
  Result<MediaInfo> probe_upload(const store::Upload& upload) {
    auto path = blobs.local_path(upload.blob_key);
    if (!path) return path.error();
    auto info = probe(engine, *path);
    if (info && info->audio.empty()) {
      return Error(ErrorCode::kUnsupportedFile, upload.name + " has no audio track");
    }
    if (!info && info.error().code != ErrorCode::kInternal) {
      Error e = info.error();
      e.code = ErrorCode::kUnsupportedFile;
      e.message = upload.name + " is not a media file this server can read";
      return e;
    }
    return info;
  }

  static std::string info_text(const MediaInfo& info) {
    return to_json(info).dump(-1, ' ', false, json::error_handler_t::replace);
  }

  // 413 (4002) for an upload that would take the client past its storage quota.
  HttpResponse quota_refused(int64_t used) {
    return envelope(413, static_cast<int>(ErrorCode::kFileTooLarge),
                    "this upload would take your files past the server's quota of " +
                        std::to_string(options.client_quota) +
                        " bytes: delete a session or wait for old files to expire",
                    json{{"limit", options.client_quota}, {"used", used}, {"quota", true}});
  }

  // 415 (4001) for refused files, with the formats this server reads.
  HttpResponse unsupported(const json& refused, const json& accepted = json::array()) {
    json supported = json::array();
    for (const auto& f : engine.limits().formats) supported.push_back(f);
    return envelope(
        415, static_cast<int>(ErrorCode::kUnsupportedFile),
        refused.front().value("message", std::string("unsupported file")) +
            ": send a video or audio file (mp4, mov, mkv, webm, avi, ts, flv, mp3, m4a, wav, "
            "flac, ogg...)",
        json{{"files", accepted}, {"refused", refused}, {"supported_formats", supported}});
  }

  // --- Resumable uploads (tus 1.0) -----------------------------------------------------
  std::mutex tus_mutex;
  std::set<std::string> tus_writing;  // uploads a PATCH is writing now: one at a time

  Awaitable<void> receive_tus(Exchange& exchange, store::Upload upload, bool created);

  // --- Uploads by URL ------------------------------------------------------------------
  // Fetches block a thread each for as long as the far server takes: they run on a pool of
  // their own, so that they never hold up probes and hashing on the connections' pool.
  asio::thread_pool fetchers{4};
  CancelToken stopping;  // fired when the service goes: fetches stop within a second

  Awaitable<void> fetch_urls(Exchange& exchange, const store::Session& s,
                             const std::string& client_id);

  // --- Handlers ------------------------------------------------------------------------
  HttpResponse anonymous_token(const HttpRequest& request);
  HttpResponse create_session(const HttpRequest& request);
  Awaitable<void> upload(Exchange& exchange);
  HttpResponse state(const HttpRequest& request);
  Awaitable<void> run_sse(Exchange& exchange);
  HttpResponse balance(const HttpRequest& request);
  Awaitable<void> create_export(Exchange& exchange);
  HttpResponse get_export(const HttpRequest& request);
  HttpResponse cancel_export(const HttpRequest& request);
  Awaitable<void> download(Exchange& exchange);
  HttpResponse admin_credits(const HttpRequest& request);
  HttpResponse tus_options(const HttpRequest& request);
  Awaitable<void> tus_create(Exchange& exchange);
  HttpResponse tus_head(const HttpRequest& request);
  Awaitable<void> tus_patch(Exchange& exchange);
  HttpResponse tus_delete(const HttpRequest& request);
  // The client's unfinished or finished tus upload named by the path, or the refusal.
  std::variant<store::Upload, HttpResponse> tus_upload(const HttpRequest& request);
  HttpResponse healthz(const HttpRequest& request);
  HttpResponse metrics(const HttpRequest& request);
};

// --- Tokens and sessions -------------------------------------------------------------------

HttpResponse Service::State::anonymous_token(const HttpRequest& request) {
  if (int wait = limiter.take("a:" + request.peer)) return rate_limited(wait);
  std::string client_id = request.header("x-client-id");
  if (client_id.empty()) {
    return envelope(400, 400,
                    "the X-Client-Id header is missing: send a UUID that stays the same "
                    "for this client");
  }
  if (!valid_client_id(client_id)) {
    return envelope(400, 400,
                    "the X-Client-Id header must be 1 to 128 letters, digits, '-', '_' "
                    "or '.' (a UUID)");
  }
  if (int wait = limiter.take("c:" + client_id)) return rate_limited(wait);
  int64_t now = now_seconds();
  auto ensured = store.ensure_client(client_id, options.credits ? options.initial_credits : 0, now);
  if (!ensured) return engine_error(ensured.error());
  std::string token = random_token();
  int64_t expires = now + options.token_seconds;
  auto put = store.put_token(sha256_hex(token), client_id, expires);
  if (!put) return engine_error(put.error());
  auto b = store.balance(client_id);
  return ok(json{{"token", token},
                 {"token_type", "Bearer"},
                 {"expires_at", iso_time(expires)},
                 {"expires_in", options.token_seconds},
                 {"credits", b ? json(b->available) : json(nullptr)}});
}

HttpResponse Service::State::create_session(const HttpRequest& request) {
  auto who = client(request);
  if (auto* refused = std::get_if<HttpResponse>(&who)) return *refused;
  const std::string& client_id = std::get<std::string>(who);
  if (!app_known(request.params.at("app"))) return not_found("app " + request.params.at("app"));
  auto parsed = json_body(request, true);
  if (auto* refused = std::get_if<HttpResponse>(&parsed)) return *refused;
  const json& body = std::get<json>(parsed);
  for (const char* key : {"task_name", "language"}) {
    if (body.contains(key) && !body[key].is_string() && !body[key].is_null()) {
      return bad_request(std::string(key) + " must be a string", key);
    }
  }
  store::Session s;
  s.id = random_id("sess_");
  s.task_id = random_id("task_");
  s.client_id = client_id;
  s.task_name = string_at(body, "task_name").substr(0, 200);
  s.language = string_at(body, "language").substr(0, 16);
  if (s.language.empty()) s.language = "en";
  s.created = now_seconds();
  s.expires_at = s.created + options.session_seconds;
  auto put = store.put_session(s);
  if (!put) return engine_error(put.error());
  return ok(json{{"task_id", s.task_id},
                 {"session_id", s.id},
                 {"task_name", s.task_name},
                 {"language", s.language},
                 {"expires_at", iso_time(s.expires_at)},
                 {"web_url", options.public_url + "/?session=" + s.id}});
}

// --- Uploads ---------------------------------------------------------------------------------

Awaitable<void> Service::State::upload(Exchange& exchange) {
  HttpRequest& request = exchange.request();
  auto who = client(request);
  if (auto* refused = std::get_if<HttpResponse>(&who)) {
    co_await exchange.respond(*refused);
    co_return;
  }
  const std::string client_id = std::get<std::string>(who);
  if (!app_known(request.params.at("app"))) {
    {
      HttpResponse reply = not_found("app " + request.params.at("app"));
      co_await exchange.respond(std::move(reply));
    }
    co_return;
  }
  auto found = session(request.params.at("sid"), client_id);
  if (auto* refused = std::get_if<HttpResponse>(&found)) {
    co_await exchange.respond(*refused);
    co_return;
  }
  const store::Session s = std::get<store::Session>(found);
  auto boundary = multipart_boundary(request.header("content-type"));
  if (!boundary) {
    if (request.header("content-type").starts_with("application/json")) {
      co_await fetch_urls(exchange, s, client_id);
    } else {
      HttpResponse reply = bad_request(
          "send the files as multipart/form-data, in fields named files, or JSON "
          "{\"urls\": [...]} for the server to fetch them");
      co_await exchange.respond(std::move(reply));
    }
    co_return;
  }
  json limit_data = {{"limit", options.upload_limit}};
  auto too_large = [&](const std::string& what) {
    return envelope(413, static_cast<int>(ErrorCode::kFileTooLarge),
                    what + " is over this server's limit of " +
                        std::to_string(options.upload_limit) + " bytes per file",
                    limit_data);
  };
  // Refused before a byte is stored when the announced length says so. A multipart body
  // holds a few hundred bytes of headers per part besides the files.
  if (request.content_length && *request.content_length > options.upload_limit + 64 * 1024) {
    {
      HttpResponse reply = too_large("the upload");
      co_await exchange.respond(std::move(reply));
    }
    co_return;
  }
  auto held = store.client_bytes(client_id);
  int64_t room = options.client_quota - (held ? *held : 0);
  if (request.content_length && *request.content_length > room + 64 * 1024) {
    {
      HttpResponse reply = quota_refused(held ? *held : 0);
      co_await exchange.respond(std::move(reply));
    }
    co_return;
  }

  struct Received {
    store::Upload upload;
    std::unique_ptr<IncomingFile> writer;
  };
  std::vector<Received> files;
  bool over = false;
  bool over_quota = false;  // the files of this request together, past the client's room
  int64_t received = 0;
  bool in_file = false;  // the part being read is a file's (not a plain form field)
  MultipartReader reader(
      *boundary, {[&](const MultipartPart& part) -> Result<void> {
                    in_file = !part.filename.empty();
                    if (!in_file) return {};  // a plain form field: ignored
                    Received r;
                    r.upload.id = random_id("up_");
                    r.upload.session_id = s.id;
                    r.upload.client_id = client_id;
                    r.upload.name = engine::safe_component(
                        fs::path(part.filename).filename().string(), "upload");
                    r.upload.blob_key = "uploads/" + r.upload.id;
                    r.upload.created = now_seconds();
                    r.upload.expires_at = s.expires_at;
                    auto writer = IncomingFile::open(blobs, r.upload.blob_key);
                    if (!writer) return writer.error();
                    r.writer = std::move(*writer);
                    files.push_back(std::move(r));
                    return {};
                  },
                  [&](std::string_view data) -> Result<void> {
                    if (!in_file) return {};
                    Received& r = files.back();
                    r.upload.offset += static_cast<int64_t>(data.size());
                    received += static_cast<int64_t>(data.size());
                    over_quota = received > room;
                    if (r.upload.offset > options.upload_limit || over_quota) {
                      over = true;
                      return Error(ErrorCode::kFileTooLarge, r.upload.name + " is too large");
                    }
                    return r.writer->write(data.data(), data.size());
                  },
                  [&]() -> Result<void> {
                    if (!in_file) return {};
                    in_file = false;
                    Received& r = files.back();
                    r.upload.length = r.upload.offset;
                    return r.writer->finish();
                  }});
  Result<void> failed;
  for (;;) {
    auto piece = co_await exchange.read_body(options.upload_limit + 64 * 1024);
    if (!piece) {
      failed = piece.error();
      over = over || piece.error().code == ErrorCode::kFileTooLarge;
      break;
    }
    if (piece->empty()) {
      failed = reader.finish();
      break;
    }
    bytes_in.Increment(static_cast<double>(piece->size()));
    failed = reader.feed(*piece);
    if (!failed) break;
  }
  if (!failed || files.empty()) {
    for (auto& r : files) {
      r.writer.reset();
      (void)blobs.remove(r.upload.blob_key);
    }
    if (over && over_quota) {
      {
        HttpResponse reply = quota_refused(held ? *held : 0);
        co_await exchange.respond(std::move(reply));
      }
    } else if (over) {
      {
        HttpResponse reply = too_large(files.empty() ? "the upload" : files.back().upload.name);
        co_await exchange.respond(std::move(reply));
      }
    } else if (!failed && failed.error().code != ErrorCode::kUsage) {
      {
        HttpResponse reply = envelope(400, kBadRequest,
                                      "the upload did not arrive whole: " + failed.error().message);
        co_await exchange.respond(std::move(reply));
      }
    } else if (!failed) {
      {
        HttpResponse reply = bad_request(failed.error().message);
        co_await exchange.respond(std::move(reply));
      }
    } else {
      {
        HttpResponse reply = bad_request("no file in the upload: send fields named files");
        co_await exchange.respond(std::move(reply));
      }
    }
    co_return;
  }

  // Every file is probed as it is kept: what is not media with audio goes at once.
  json accepted = json::array();
  json refused = json::array();
  for (auto& r : files) {
    Result<void> kept = Error(ErrorCode::kInternal, "not kept");
    std::function<void()> keep_it = [&] { kept = r.writer->keep(); };
    co_await exchange.offload(std::move(keep_it));
    if (!kept) {
      refused.push_back(error_json(r.upload.name, kept.error()));
      continue;
    }
    Result<MediaInfo> info = Error(ErrorCode::kInternal, "not probed");
    std::function<void()> probe_it = [&] { info = probe_upload(r.upload); };
    co_await exchange.offload(std::move(probe_it));
    if (!info) {
      (void)blobs.remove(r.upload.blob_key);
      json e = error_json(r.upload.name, info.error());
      refused.push_back(e);
      continue;
    }
    r.upload.state = store::UploadState::kComplete;
    r.upload.info_json = info_text(*info);
    auto put = store.put_upload(r.upload);
    if (!put) {
      (void)blobs.remove(r.upload.blob_key);
      refused.push_back(error_json(r.upload.name, put.error()));
      continue;
    }
    accepted.push_back(file_json(r.upload));
  }
  if (!refused.empty()) {
    {
      HttpResponse reply = unsupported(refused, accepted);
      co_await exchange.respond(std::move(reply));
    }
    co_return;
  }
  {
    HttpResponse reply = ok(json{{"session_id", s.id}, {"files", accepted}});
    co_await exchange.respond(std::move(reply));
  }
}

// --- Uploads by URL -----------------------------------------------------------------------------
// {"urls": ["https://…/talk.mp4", …], "source_type": "url"}: the server GETs each, under
// fetch_url's rules (http and https only; every address checked, redirects re-checked; the
// upload limit and the client's quota as the size limit), into a blob, then probes it like a
// multipart file. One answer for the request: the files kept, and for each URL that failed, why.

namespace {

constexpr size_t kMaxUrls = 10;


}  // namespace

Awaitable<void> Service::State::fetch_urls(Exchange& exchange, const store::Session& s,
                                           const std::string& client_id) {
  std::string text;
  for (;;) {
    auto piece = co_await exchange.read_body(64 * 1024);
    if (!piece) {
      HttpResponse reply = bad_request("the list of URLs must be under 64 KB of JSON");
      co_await exchange.respond(std::move(reply));
      co_return;
    }
    if (piece->empty()) break;
    text.append(piece->data(), piece->size());
  }
  HttpRequest& request = exchange.request();
  request.body = std::move(text);
  auto parsed = json_body(request);
  if (auto* refused = std::get_if<HttpResponse>(&parsed)) {
    co_await exchange.respond(*refused);
    co_return;
  }
  const json body = std::get<json>(parsed);
  if (body.contains("source_type") && body["source_type"] != "url") {
    HttpResponse reply = bad_request("source_type must be \"url\" (or left out)", "source_type");
    co_await exchange.respond(std::move(reply));
    co_return;
  }
  auto urls = body.find("urls");
  bool strings = urls != body.end() && urls->is_array() &&
                 std::all_of(urls->begin(), urls->end(), [](const json& u) {
                   return u.is_string() && !u.get_ref<const std::string&>().empty() &&
                          u.get_ref<const std::string&>().size() <= 8192;
                 });
  if (!strings || urls->empty() || urls->size() > kMaxUrls) {
    HttpResponse reply = bad_request(
        "urls must be a list of 1 to " + std::to_string(kMaxUrls) + " http(s) URLs", "urls");
    co_await exchange.respond(std::move(reply));
    co_return;
  }

  json accepted = json::array();
  json refused = json::array();
  int status = 200;  // of the first URL refused
  int code = 0;
  std::string message;
  auto refuse = [&](const std::string& url, int http_status, int envelope_code,
                    const std::string& why) {
    refused.push_back(json{{"input", url}, {"code", envelope_code}, {"message", why}});
    if (status == 200) {
      status = http_status;
      code = envelope_code;
      message = why;
    }
  };
  for (const auto& u : *urls) {
    const std::string url = u.get<std::string>();
    auto held = store.client_bytes(client_id);
    int64_t room = options.client_quota - (held ? *held : 0);
    store::Upload up;
    up.id = random_id("up_");
    up.session_id = s.id;
    up.client_id = client_id;
    up.blob_key = "uploads/" + up.id;
    up.created = now_seconds();
    up.expires_at = s.expires_at;
    auto writer = IncomingFile::open(blobs, up.blob_key);
    if (!writer) {
      refuse(url, 500, static_cast<int>(writer.error().code), writer.error().message);
      continue;
    }
    FetchOptions fetch = options.fetch;
    fetch.max_bytes = std::max<int64_t>(0, std::min(options.upload_limit, room));
    Result<Fetched> got = Error(ErrorCode::kInternal, "not fetched");
    std::function<void()> get_it = [&] {
      got = fetch_url(url, fetch, **writer, &stopping);
      if (got) {
        if (Result<void> kept = (*writer)->keep(); !kept) got = kept.error();
      }
    };
    co_await run_on(fetchers, get_it);
    writer->reset();
    if (!got) {
      (void)blobs.remove(up.blob_key);
      const Error& e = got.error();
      if (e.code == ErrorCode::kUsage) {
        refuse(url, 400, kBadRequest, e.message);
      } else if (e.code == ErrorCode::kFileTooLarge && room < options.upload_limit) {
        refuse(url, 413, static_cast<int>(e.code),
               e.message + "; it would take your files past the server's quota of " +
                   std::to_string(options.client_quota) + " bytes");
      } else if (e.code == ErrorCode::kFileTooLarge) {
        refuse(url, 413, static_cast<int>(e.code), e.message);
      } else if (e.code == ErrorCode::kInputNotFound || e.code == ErrorCode::kInputUnreadable) {
        // Not the engine's local-file codes (2001 is the service's credits): one code, 2003,
        // for "that URL could not be fetched", with the reason in words.
        refuse(url, 422, static_cast<int>(ErrorCode::kInputUnreadable), e.message);
      } else {
        auto [st, c] = engine_status(e.code);
        refuse(url, st, c, e.message);
      }
      continue;
    }
    bytes_in.Increment(static_cast<double>(got->bytes));
    up.name = engine::safe_component(got->file_name.empty() ? "download" : got->file_name,
                                     "download");
    up.offset = up.length = got->bytes;
    Result<MediaInfo> info = Error(ErrorCode::kInternal, "not probed");
    std::function<void()> probe_it = [&] { info = probe_upload(up); };
    co_await exchange.offload(std::move(probe_it));
    if (!info) {
      (void)blobs.remove(up.blob_key);
      refuse(url, 415, static_cast<int>(info.error().code), info.error().message);
      continue;
    }
    up.state = store::UploadState::kComplete;
    up.info_json = info_text(*info);
    auto put = store.put_upload(up);
    if (!put) {
      (void)blobs.remove(up.blob_key);
      refuse(url, 500, static_cast<int>(put.error().code), put.error().message);
      continue;
    }
    json file = file_json(up);
    file["url"] = url;
    accepted.push_back(file);
  }
  if (refused.empty()) {
    HttpResponse reply = ok(json{{"session_id", s.id}, {"files", accepted}});
    co_await exchange.respond(std::move(reply));
    co_return;
  }
  json data = {{"files", accepted}, {"refused", refused}};
  if (code == static_cast<int>(ErrorCode::kUnsupportedFile)) {
    HttpResponse reply = unsupported(refused, accepted);
    co_await exchange.respond(std::move(reply));
    co_return;
  }
  if (code == static_cast<int>(ErrorCode::kFileTooLarge)) {
    data["limit"] = options.upload_limit;
  }
  HttpResponse reply = envelope(status, code, message, data);
  co_await exchange.respond(std::move(reply));
}

// --- Resumable uploads (tus 1.0) ---------------------------------------------------------------
// https://tus.io/protocols/resumable-upload: core, creation, creation-with-upload, expiration,
// checksum (sha1, sha256) and termination. POST /api/tus/{app}/me/{sid} creates an upload of a
// known length in the session; HEAD, PATCH and DELETE on .../{sid}/{upload_id} ask its offset,
// append at that offset and remove it. The Store's offset is the truth: a PATCH writes at it
// and moves it only by the bytes that reached the disk, so a dropped connection keeps what
// arrived and an interrupted PATCH with a checksum keeps nothing. When the last byte arrives
// the file is probed like a multipart upload and joins the session, or is refused (4001).

namespace {

constexpr const char* kTusVersion = "1.0.0";
constexpr const char* kTusExtensions =
    "creation,creation-with-upload,expiration,checksum,termination";

HttpResponse tus(HttpResponse response) {
  response.with("Tus-Resumable", kTusVersion);
  return response;
}

// RFC 9110 IMF-fixdate, as Upload-Expires wants.
std::string http_date(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char text[40];
  std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return text;
}

std::optional<int64_t> parse_count(const std::string& text) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoll(text);
}

// Upload-Metadata: "key base64,key base64,key" → the decoded value of `key`, "" when absent.
std::string tus_metadata(const std::string& header, std::string_view key) {
  size_t start = 0;
  while (start <= header.size()) {
    size_t end = header.find(',', start);
    if (end == std::string::npos) end = header.size();
    std::string_view pair = std::string_view(header).substr(start, end - start);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    size_t space = pair.find(' ');
    if (pair.substr(0, space) == key && space != std::string_view::npos) {
      auto value = base64_decode(pair.substr(space + 1));
      return value ? *value : "";
    }
    start = end + 1;
  }
  return "";
}

}  // namespace

HttpResponse Service::State::tus_options(const HttpRequest&) {
  HttpResponse response;
  response.status = 204;
  response.content_type.clear();
  response.with("Tus-Version", kTusVersion)
      .with("Tus-Extension", kTusExtensions)
      .with("Tus-Max-Size", std::to_string(options.upload_limit))
      .with("Tus-Checksum-Algorithm", "sha1,sha256");
  return tus(std::move(response));
}

// A request of another protocol version, answered 412 with the one this server speaks.
static std::optional<HttpResponse> tus_version_refused(const HttpRequest& request) {
  std::string version = request.header("tus-resumable");
  if (version == kTusVersion) return std::nullopt;
  auto response = envelope(412, 412,
                           version.empty() ? "this is a tus route: send Tus-Resumable: 1.0.0"
                                           : "tus " + version + " is not spoken here: send "
                                                                "Tus-Resumable: 1.0.0");
  response.with("Tus-Version", kTusVersion);
  return tus(std::move(response));
}

Awaitable<void> Service::State::tus_create(Exchange& exchange) {
  HttpRequest& request = exchange.request();
  std::optional<HttpResponse> refused = tus_version_refused(request);
  std::optional<store::Upload> created;
  if (!refused) {
    auto who = client(request);
    if (auto* r = std::get_if<HttpResponse>(&who)) refused = tus(*r);
    if (!refused && !app_known(request.params.at("app"))) {
      refused = tus(not_found("app " + request.params.at("app")));
    }
    std::optional<store::Session> s;
    if (!refused) {
      auto found = session(request.params.at("sid"), std::get<std::string>(who));
      if (auto* r = std::get_if<HttpResponse>(&found)) {
        refused = tus(*r);
      } else {
        s = std::get<store::Session>(found);
      }
    }
    std::optional<int64_t> length;
    if (!refused) {
      length = parse_count(request.header("upload-length"));
      if (!length) {
        refused = tus(bad_request(
            request.header("upload-defer-length").empty()
                ? "send Upload-Length: the file's size in bytes"
                : "this server needs the size at creation: send Upload-Length, not "
                  "Upload-Defer-Length",
            "Upload-Length"));
      }
    }
    if (!refused && *length > options.upload_limit) {
      refused = tus(envelope(413, static_cast<int>(ErrorCode::kFileTooLarge),
                             "the upload is over this server's limit of " +
                                 std::to_string(options.upload_limit) + " bytes per file",
                             json{{"limit", options.upload_limit}}));
    }
    if (!refused) {
      auto held = store.client_bytes(s->client_id);
      int64_t used = held ? *held : 0;
      if (used + *length > options.client_quota) refused = tus(quota_refused(used));
    }
    if (!refused) {
      store::Upload u;
      u.id = random_id("up_");
      u.session_id = s->id;
      u.client_id = s->client_id;
      std::string metadata = request.header("upload-metadata");
      std::string name = tus_metadata(metadata, "filename");
      if (name.empty()) name = tus_metadata(metadata, "name");
      u.name = engine::safe_component(fs::path(name).filename().string(), "upload");
      u.metadata = metadata.substr(0, 4096);
      u.blob_key = "uploads/" + u.id;
      u.length = *length;
      u.created = now_seconds();
      u.expires_at = std::min(s->expires_at, u.created + options.tus_seconds);
      // The blob exists from the start, so HEAD and PATCH find it at offset 0.
      auto writer = blobs.append(u.blob_key, 0);
      Result<void> made = writer ? (*writer)->finish() : Result<void>(writer.error());
      if (made) made = store.put_upload(u);
      if (!made) {
        (void)blobs.remove(u.blob_key);
        refused = tus(engine_error(made.error()));
      } else {
        created = u;
      }
    }
  }
  if (refused) {
    HttpResponse reply = std::move(*refused);
    co_await exchange.respond(std::move(reply));
    co_return;
  }
  co_await receive_tus(exchange, *created, true);
}

std::variant<store::Upload, HttpResponse> Service::State::tus_upload(const HttpRequest& request) {
  if (auto refused = tus_version_refused(request)) return *refused;
  auto who = client(request);
  if (auto* refused = std::get_if<HttpResponse>(&who)) return tus(*refused);
  const std::string& client_id = std::get<std::string>(who);
  const std::string& id = request.params.at("upload");
  auto found = store.upload(id, client_id);
  if (!found) return tus(engine_error(found.error()));
  if (!app_known(request.params.at("app")) || !*found ||
      (*found)->session_id != request.params.at("sid") ||
      (*found)->expires_at < now_seconds()) {
    return tus(envelope(404, kNotFound, "upload " + id + " not found (or it expired)"));
  }
  return **found;
}

HttpResponse Service::State::tus_head(const HttpRequest& request) {
  auto found = tus_upload(request);
  if (auto* refused = std::get_if<HttpResponse>(&found)) return *refused;
  const store::Upload& u = std::get<store::Upload>(found);
  HttpResponse response;
  response.content_type.clear();
  response.head = true;
  response.with("Upload-Offset", std::to_string(u.offset))
      .with("Upload-Length", std::to_string(u.length))
      .with("Cache-Control", "no-store");
  if (u.state == store::UploadState::kReceiving) {
    response.with("Upload-Expires", http_date(u.expires_at));
  }
  return tus(std::move(response));
}

Awaitable<void> Service::State::tus_patch(Exchange& exchange) {
  auto found = tus_upload(exchange.request());
  if (auto* refused = std::get_if<HttpResponse>(&found)) {
    HttpResponse reply = std::move(*refused);
    co_await exchange.respond(std::move(reply));
    co_return;
  }
  store::Upload u = std::get<store::Upload>(found);
  co_await receive_tus(exchange, std::move(u), false);
}

// The body of a PATCH (or of a creating POST) appended at the upload's offset; then the answer:
// 204 (201 with Location for a POST) with the new Upload-Offset.
Awaitable<void> Service::State::receive_tus(Exchange& exchange, store::Upload u, bool created) {
  HttpRequest& request = exchange.request();
  const std::string location = "/api/tus/" + request.params.at("app") + "/me/" + u.session_id +
                               "/" + u.id;
  auto answer = [&](int64_t offset) {
    HttpResponse response;
    response.status = created ? 201 : 204;
    response.content_type.clear();
    response.with("Upload-Offset", std::to_string(offset));
    if (created) response.with("Location", location);
    if (offset < u.length) response.with("Upload-Expires", http_date(u.expires_at));
    return tus(std::move(response));
  };
  std::string content_type = request.header("content-type");
  bool has_body = request.chunked || request.content_length.value_or(0) > 0;
  std::optional<HttpResponse> refused;
  if (created && !has_body) {
    // Creation alone: nothing to append, whatever Content-Type says (curl -d '' sends one).
  } else if (content_type != "application/offset+octet-stream") {
    refused = tus(envelope(415, kBadRequest,
                           "tus bodies are sent as Content-Type: application/offset+octet-stream"));
  }
  auto offset = created ? std::optional<int64_t>(0) : parse_count(request.header("upload-offset"));
  if (!refused && !offset) {
    refused = tus(bad_request("send Upload-Offset: the offset HEAD gave", "Upload-Offset"));
  }
  if (!refused && *offset != u.offset) {
    refused = tus(envelope(409, kConflict,
                           "Upload-Offset is " + std::to_string(*offset) + " but the upload has " +
                               std::to_string(u.offset) + " bytes: ask HEAD for the offset",
                           json{{"offset", u.offset}}));
  }
  // Upload-Checksum: "<algorithm> <base64 digest>" of this request's body.
  std::string checksum = request.header("upload-checksum");
  std::unique_ptr<Digest> digest;
  std::string expected;
  if (!refused && !checksum.empty()) {
    size_t space = checksum.find(' ');
    std::string algorithm = checksum.substr(0, space);
    digest = std::make_unique<Digest>(algorithm);
    expected = space == std::string::npos ? "" : checksum.substr(space + 1);
    if (!digest->valid()) {
      refused = tus(bad_request("the checksum algorithm " + algorithm +
                                    " is not supported: use sha1 or sha256",
                                "Upload-Checksum"));
    }
  }
  if (!refused && u.state == store::UploadState::kComplete && has_body) {
    refused = tus(envelope(409, kConflict, "the upload is complete", json{{"offset", u.offset}}));
  }
  int64_t room = u.length - u.offset;
  if (!refused && request.content_length && *request.content_length > room) {
    refused = tus(envelope(413, static_cast<int>(ErrorCode::kFileTooLarge),
                           "the body goes past the upload's length of " +
                               std::to_string(u.length) + " bytes",
                           json{{"limit", u.length}}));
  }
  bool claimed = false;
  if (!refused) {
    std::lock_guard lock(tus_mutex);
    claimed = tus_writing.insert(u.id).second;
  }
  if (!refused && !claimed) {
    refused = tus(envelope(409, kConflict,
                           "another request is writing this upload now: wait for it, then ask "
                           "HEAD for the offset",
                           json{{"offset", u.offset}}));
  }
  // A creating POST that is refused leaves no upload behind: the client never learnt of it.
  auto forget_if_created = [&] {
    if (!created) return;
    (void)store.delete_upload(u.id);
    (void)blobs.remove(u.blob_key);
  };
  if (refused) {
    forget_if_created();
    HttpResponse reply = std::move(*refused);
    co_await exchange.respond(std::move(reply));
    co_return;
  }

  // Appended at the Store's offset (a tail that was written but never counted is cut off).
  int64_t got = 0;
  bool dropped = false;
  bool over = false;
  Result<void> written;
  if (has_body) {
    auto writer = blobs.append(u.blob_key, u.offset);
    if (!writer) written = writer.error();
    while (written) {
      auto piece = co_await exchange.read_body(room);
      if (!piece) {
        over = piece.error().code == ErrorCode::kFileTooLarge;
        dropped = !over;
        break;
      }
      if (piece->empty()) break;
      written = (*writer)->write(piece->data(), piece->size());
      if (!written) break;
      if (digest) digest->update(piece->data(), piece->size());
      got += static_cast<int64_t>(piece->size());
      bytes_in.Increment(static_cast<double>(piece->size()));
    }
    if (writer) {
      Result<void> flushed = (*writer)->finish();
      if (written && !flushed) written = flushed;
    }
  }
  bool mismatch = digest && !dropped && !over && written &&
                  !constant_time_equal(base64_encode(digest->finish()), expected);
  // What counts: everything that reached the disk, but nothing of a body whose checksum
  // failed or could not be checked.
  int64_t keep = (digest && (dropped || over || mismatch)) || !written ? 0 : got;
  bool moved = keep == 0 || [&] {
    auto advanced = store.advance_upload(u.id, u.offset, u.offset + keep);
    return advanced && *advanced;
  }();
  if (moved) u.offset += keep;
  {
    std::lock_guard lock(tus_mutex);
    tus_writing.erase(u.id);
  }

  std::optional<HttpResponse> reply;
  if (!written) {
    reply = tus(engine_error(written.error()));
  } else if (!moved) {
    reply = tus(envelope(409, kConflict, "the upload moved on meanwhile: ask HEAD for the offset"));
  } else if (over) {
    reply = tus(envelope(413, static_cast<int>(ErrorCode::kFileTooLarge),
                         "the body goes past the upload's length of " + std::to_string(u.length) +
                             " bytes",
                         json{{"limit", u.length}}));
  } else if (mismatch) {
    reply = tus(envelope(460, 460,
                         "the body's checksum does not match Upload-Checksum: nothing of it was "
                         "kept; send it again",
                         json{{"offset", u.offset}}));
  } else if (dropped) {
    co_return;  // nobody to answer; the next HEAD says what was kept
  } else if (u.offset == u.length && u.state == store::UploadState::kReceiving) {
    // The last byte: the file is probed and joins the session, or goes.
    Result<MediaInfo> info = Error(ErrorCode::kInternal, "not probed");
    std::function<void()> probe_it = [&] { info = probe_upload(u); };
    co_await exchange.offload(std::move(probe_it));
    Result<void> kept = info ? store.complete_upload(u.id, info_text(*info))
                             : Result<void>(info.error());
    if (!kept) {
      (void)store.delete_upload(u.id);
      (void)blobs.remove(u.blob_key);
      reply = tus(kept.error().code == ErrorCode::kUnsupportedFile
                      ? unsupported(json::array({error_json(u.name, kept.error())}))
                      : engine_error(kept.error()));
    } else {
      reply = answer(u.offset);
    }
  } else {
    reply = answer(u.offset);
  }
  if (reply->status >= 400 && u.offset == 0) forget_if_created();
  HttpResponse response = std::move(*reply);
  co_await exchange.respond(std::move(response));
}

HttpResponse Service::State::tus_delete(const HttpRequest& request) {
  auto found = tus_upload(request);
  if (auto* refused = std::get_if<HttpResponse>(&found)) return *refused;
  const store::Upload& u = std::get<store::Upload>(found);
  {
    std::lock_guard lock(tus_mutex);
    if (tus_writing.count(u.id)) {
      return tus(envelope(409, kConflict, "a request is writing this upload now: try again"));
    }
  }
  auto deleted = store.delete_upload(u.id);
  if (!deleted) return tus(engine_error(deleted.error()));
  (void)blobs.remove(u.blob_key);
  HttpResponse response;
  response.status = 204;
  response.content_type.clear();
  return tus(std::move(response));
}

// --- State -----------------------------------------------------------------------------------

HttpResponse Service::State::state(const HttpRequest& request) {
  auto who = client(request);
  if (auto* refused = std::get_if<HttpResponse>(&who)) return *refused;
  const std::string& client_id = std::get<std::string>(who);
  if (!app_known(request.params.at("app"))) return not_found("app " + request.params.at("app"));
  auto found = session(request.params.at("sid"), client_id);
  if (auto* refused = std::get_if<HttpResponse>(&found)) return *refused;
  const store::Session& s = std::get<store::Session>(found);
  auto uploads = store.session_uploads(s.id);
  if (!uploads) return engine_error(uploads.error());
  auto jobs = store.session_jobs(s.id);
  if (!jobs) return engine_error(jobs.error());

  // The draft: one track per stream of every file (tt: 0 video, 1 audio, 7 text), each with
  // the file as its segment; d: the longest file, in ms.
  json tracks = json::array();
  json videos = json::array();
  int64_t longest = 0;
  for (const auto& u : *uploads) {
    json info = json::parse(u.info_json, nullptr, false);
    if (!info.is_object()) continue;
    int64_t d = std::llround(info.value("duration", 0.0) * 1000);
    longest = std::max(longest, d);
    auto segment = [&](const json& m) {
      return json::array(
          {json{{"id", u.id}, {"upload_id", u.id}, {"name", u.name}, {"d", d}, {"m", m}}});
    };
    for (const auto& v : info.value("video", json::array())) {
      tracks.push_back(json{{"id", u.id + ":v" + std::to_string(v.value("stream_index", 0))},
                            {"tt", 0},
                            {"sg", segment(v)}});
    }
    for (const auto& a : info.value("audio", json::array())) {
      tracks.push_back(json{{"id", u.id + ":a" + std::to_string(a.value("track", 0))},
                            {"tt", 1},
                            {"sg", segment(a)}});
    }
    videos.push_back(file_json(u, std::move(info)));
  }
  json generated = json::array();
  json jobs_json = json::array();
  for (const auto& j : *jobs) {
    jobs_json.push_back(job_json(j));
    if (j.status == store::JobStatus::kCompleted) generated.push_back(jobs_json.back());
  }
  return ok(json{{"session_id", s.id},
                 {"task_id", s.task_id},
                 {"state", {{"draft", {{"t", tracks}, {"d", longest}, {"m", json::object()}}}}},
                 {"video_infos", videos},
                 {"generated_media", generated},
                 {"jobs", jobs_json},
                 {"credits", balance_json(client_id)}});
}

// --- Messages ----------------------------------------------------------------------------------

bool Service::State::answer_keyword(const store::Session& s, const std::string& stream_id,
                                    const std::string& text) {
  // A short message that is one of these words asks for a route's data, as the chat client
  // expects; anything longer goes to the plain-language parser.
  std::string t;
  for (unsigned char c : text) {
    if (!std::isspace(c) && !std::ispunct(c)) t.push_back(static_cast<char>(std::tolower(c)));
  }
  if (t.size() > 24) return false;
  auto any = [&](std::initializer_list<const char*> words) {
    return std::any_of(words.begin(), words.end(),
                       [&](const char* w) { return t.find(w) != std::string::npos; });
  };
  if (any({"credit", "balance", "积分", "余额"})) {
    json b = balance_json(s.client_id);
    std::string words = b.is_object()
                            ? std::to_string(b.value("available", 0)) + " credits available, " +
                                  std::to_string(b.value("frozen", 0)) + " held for exports"
                            : "credits are unavailable";
    event(s.id, stream_id, "answer", words, json{{"topic", "credits"}, {"credits", b}});
  } else if (any({"status", "progress", "状态", "进度"}) ||
             any({"export", "download", "导出", "下载"})) {
    auto jobs = store.session_jobs(s.id);
    json list = json::array();
    std::string words;
    if (jobs) {
      for (const auto& j : *jobs) {
        list.push_back(job_json(j));
        words += j.id + ": " + std::string(store::status_name(j.status));
        if (j.status == store::JobStatus::kCompleted) words += " " + download_url(j.output_key);
        words += "\n";
      }
    }
    if (words.empty()) words = "no exports in this session yet";
    bool exports = any({"export", "download", "导出", "下载"});
    event(s.id, stream_id, "answer", words,
          json{{"topic", exports ? "export" : "status"}, {"jobs", list}});
  } else if (any({"upload", "上传"})) {
    auto uploads = store.session_uploads(s.id);
    json list = json::array();
    std::string words;
    if (uploads) {
      for (const auto& u : *uploads) {
        list.push_back(file_json(u));
        words += u.name + "\n";
      }
    }
    if (words.empty()) {
      words = "no files yet: upload one to /api/upload-video/peel/me/" + s.id;
    }
    event(s.id, stream_id, "answer", words, json{{"topic", "upload"}, {"files", list}});
  } else {
    return false;
  }
  event(s.id, stream_id, "done", "", json::object());
  return true;
}

void Service::State::start_message(const store::Session& s, const std::string& stream_id,
                                   const std::string& text) {
  auto done = [&] { event(s.id, stream_id, "done", "", json::object()); };
  auto fail = [&](const Error& e, const std::string& input) {
    auto [status, code] = engine_status(e.code);
    (void)status;
    json data = error_json(input, e);
    data["code"] = code;
    event(s.id, stream_id, "error", e.message, data);
  };
  if (answer_keyword(s, stream_id, text)) return;
  auto uploads = store.session_uploads(s.id);
  if (!uploads) return fail(uploads.error(), ""), done();
  if (uploads->empty()) {
    event(s.id, stream_id, "question",
          s.language.starts_with("zh")
              ? "请先上传一个视频文件。"
              : "Upload a video first, then tell me what you want from it.",
          json{{"upload_url", options.public_url + "/api/upload-video/peel/me/" + s.id}});
    return done();
  }
  // The parser sees the session's files by the names their owner knows; the engine reads
  // them from the store's paths.
  std::map<std::string, const store::Upload*> by_name;
  std::map<std::string, const store::Upload*> by_path;
  std::vector<std::string> names;
  std::vector<std::string> paths;
  for (const auto& u : *uploads) {
    auto path = blobs.local_path(u.blob_key);
    if (!path) continue;
    by_name[u.name] = &u;
    by_path[*path] = &u;
    names.push_back(u.name);
    paths.push_back(*path);
  }
  nl::Understanding u = nl::understand(text, {}, names);
  std::vector<std::string> inputs;
  for (const auto& named : u.request.inputs) {
    if (auto it = by_name.find(named); it != by_name.end()) {
      inputs.push_back(
          paths[static_cast<size_t>(std::find(names.begin(), names.end(), named) - names.begin())]);
    }
  }
  if (inputs.empty()) {
    // Nothing named: the sentence is about the session's files ("this video").
    u = nl::understand(text, paths, names);
    inputs = paths;
  }
  if (u.outcome != nl::Outcome::kPlan) {
    event(s.id, stream_id, "question", u.question, json{{"understood", to_json(u.request)}});
    return done();
  }
  u.request.inputs = inputs;
  nl::Resolution resolution = nl::resolve(engine, u, inputs);
  for (const auto& r : resolution.resolved) {
    const std::string name = by_path.count(r.input) ? by_path[r.input]->name : r.input;
    if (r.unreadable || r.refused) {
      const Error& e = r.unreadable ? *r.unreadable : *r.refused;
      fail(worker::ClientWords{r.input, name, blobs.scratch_folder()}(e), name);
      return done();
    }
  }
  // What was understood, in the client's terms: its file names, not the server's paths.
  auto words = [&](std::string line) {
    for (const auto& [path, upload] : by_path) {
      line = worker::ClientWords{path, upload->name, blobs.scratch_folder()}(std::move(line));
    }
    return line;
  };
  Request shown = u.request;
  shown.inputs.clear();
  for (const auto& in : inputs) shown.inputs.push_back(by_path[in]->name);
  shown.out_dir.clear();
  std::vector<std::string> argv = peel_arguments(shown);
  argv.insert(argv.begin(), "peel");
  json understood = {{"request", to_json(u.request)},
                     {"explanation", words(resolution.explanation)},
                     {"notes", resolution.notes},
                     {"peel_command", shell_command(argv)}};
  json commands = json::array();
  for (const auto& job : resolution.jobs) commands.push_back(words(job.ffmpeg_command));
  understood["ffmpeg_command"] = commands;
  event(s.id, stream_id, "understood", words(resolution.explanation), understood);

  // One export job per output: each file's each track.
  int n = 0;
  int queued = 0;
  for (const auto& r : resolution.resolved) {
    const store::Upload& upload = *by_path[r.input];
    for (const auto& p : r.plans) {
      Request one = r.request.request;
      one.track = TrackSelector{};
      one.track.number = p.track.number;
      one.from = p.from;
      one.to = p.to;
      one.duration.reset();
      one.inputs.clear();
      one.output.clear();
      one.out_dir.clear();
      store::Job job;
      job.id = stream_id + "-" + std::to_string(++n);
      job.client_id = s.client_id;
      job.session_id = s.id;
      job.upload_id = upload.id;
      job.stream_id = stream_id;
      job.request_json = to_json(one).dump();
      job.frozen = cost(p);
      job.created = now_seconds();
      auto inserted = store.insert_job(job, job.created);
      if (!inserted) {
        fail(inserted.error(), upload.name);
        break;
      }
      if (!*inserted) {
        auto refusal = no_credits(job.frozen, s.client_id);
        json body = json::parse(refusal.body);
        json data = body["data"];
        data["code"] = kNoCredits;
        event(s.id, stream_id, "error", body["message"].get<std::string>(), data);
        break;
      }
      ++queued;
      event(s.id, stream_id, "job", upload.name + ": queued",
            json{{"job_id", job.id},
                 {"status", "queued"},
                 {"name", upload.name},
                 {"credits", job.frozen}});
    }
  }
  if (queued == 0) return done();
  worker.wake();
}

void Service::State::finish_stream_if_done(const store::Job& job) {
  auto jobs = store.session_jobs(job.session_id);
  if (!jobs) return;
  for (const auto& j : *jobs) {
    if (j.stream_id != job.stream_id) continue;
    if (j.status == store::JobStatus::kQueued || j.status == store::JobStatus::kRunning) return;
  }
  event(job.session_id, job.stream_id, "done", "", json::object());
}

Awaitable<void> Service::State::run_sse(Exchange& exchange) {
  HttpRequest& request = exchange.request();
  auto who = client(request);
  if (auto* refused = std::get_if<HttpResponse>(&who)) {
    co_await exchange.respond(*refused);
    co_return;
  }
  const std::string client_id = std::get<std::string>(who);
  auto parsed = json_body(request);
  if (auto* refused = std::get_if<HttpResponse>(&parsed)) {
    co_await exchange.respond(*refused);
    co_return;
  }
  const json body = std::get<json>(parsed);
  std::string app = string_at(body, "app_name");
  if (!app.empty() && !app_known(app)) {
    {
      HttpResponse reply = not_found("app " + app);
      co_await exchange.respond(std::move(reply));
    }
    co_return;
  }
  std::string sid = string_at(body, "session_id");
  if (sid.empty()) {
    {
      HttpResponse reply = bad_request("session_id is missing", "session_id");
      co_await exchange.respond(std::move(reply));
    }
    co_return;
  }
  auto found = session(sid, client_id);
  if (auto* refused = std::get_if<HttpResponse>(&found)) {
    co_await exchange.respond(*refused);
    co_return;
  }
  const store::Session s = std::get<store::Session>(found);
  // One of the client's stream slots, taken and counted in one step (two requests racing for
  // the last one: one gets it), held until this handler returns. A reconnect takes one too.
  struct Slot {
    State& state;
    const std::string& client;
    bool held = false;
    ~Slot() {
      if (!held) return;
      std::lock_guard lock(state.sse_mutex);
      if (--state.sse_open[client] <= 0) state.sse_open.erase(client);
    }
  } slot{*this, client_id};
  {
    std::lock_guard lock(sse_mutex);
    int& open = sse_open[client_id];
    if (open < options.sse_per_client) {
      ++open;
      slot.held = true;
    }
  }
  if (!slot.held) {
    HttpResponse reply = rate_limited(5);
    co_await exchange.respond(std::move(reply));
    co_return;
  }

  std::string stream_id;
  int64_t after = 0;
  std::string last_id = request.header("last-event-id");
  if (!last_id.empty()) {
    char* end = nullptr;
    long long seq = std::strtoll(last_id.c_str(), &end, 10);
    auto stream = (end && *end == '\0' && seq > 0)
                      ? store.event_stream(s.id, seq)
                      : Result<std::optional<std::string>>(std::optional<std::string>());
    if (!stream || !*stream) {
      {
        HttpResponse reply = not_found("event " + last_id + " of this session");
        co_await exchange.respond(std::move(reply));
      }
      co_return;
    }
    stream_id = **stream;
    after = seq;
  } else {
    std::string text;
    const json& message = body.contains("new_message") ? body["new_message"] : json();
    if (message.is_object() && message.contains("parts") && message["parts"].is_array()) {
      for (const auto& part : message["parts"]) {
        if (part.is_object() && part.contains("text") && part["text"].is_string()) {
          if (!text.empty()) text += "\n";
          text += part["text"].get<std::string>();
        }
      }
    }
    if (text.empty() || text.size() > 4000) {
      {
        HttpResponse reply = bad_request(
            "new_message.parts[].text must hold the message (1 to 4000 bytes)", "new_message");
        co_await exchange.respond(std::move(reply));
      }
      co_return;
    }
    stream_id = random_id("msg_");
    std::function<void()> start = [&] { start_message(s, stream_id, text); };
    co_await exchange.offload(std::move(start));
  }
  sse_gauge.Increment();
  HttpResponse head;
  head.content_type = "text/event-stream; charset=utf-8";
  head.with("Cache-Control", "no-cache").with("X-Accel-Buffering", "no");
  Signal signal;
  hub.add(stream_id, &signal);
  bool open = co_await exchange.begin_stream(head);
  auto started = std::chrono::steady_clock::now();
  auto beat = started;
  bool ended = false;
  while (open && !ended) {
    auto events = store.stream_events(stream_id, after);
    if (events) {
      for (const auto& e : *events) {
        std::string text = "id: " + std::to_string(e.seq) + "\nevent: " + e.type +
                           "\ndata: " + e.data_json + "\n\n";
        open = co_await exchange.write_chunk(text);
        if (!open) break;
        after = e.seq;
        beat = std::chrono::steady_clock::now();
        if (e.type == "done") ended = true;
      }
    }
    if (!open || ended) break;
    auto now = std::chrono::steady_clock::now();
    if (now - started >= options.sse_max) break;
    if (now - beat >= options.sse_heartbeat) {
      open = co_await exchange.write_chunk(": heartbeat\n\n");
      beat = now;
      continue;
    }
    // Woken by a new event of this stream, else a look every second (another process may
    // have written it), else the heartbeat.
    auto until_beat =
        std::chrono::duration_cast<std::chrono::milliseconds>(options.sse_heartbeat - (now - beat));
    co_await exchange.wait(signal, std::min(until_beat, std::chrono::milliseconds(1000)));
  }
  hub.remove(stream_id, &signal);
  if (open) co_await exchange.end_stream();
  sse_gauge.Decrement();
}

// --- Credits ---------------------------------------------------------------------------------

HttpResponse Service::State::balance(const HttpRequest& request) {
  auto who = client(request);
  if (auto* refused = std::get_if<HttpResponse>(&who)) return *refused;
  json b = balance_json(std::get<std::string>(who));
  if (b.is_null())
    return envelope(500, static_cast<int>(ErrorCode::kInternal), "balance unavailable");
  return ok(b);
}

HttpResponse Service::State::admin_credits(const HttpRequest& request) {
  std::string auth = request.header("authorization");
  bool bearer = auth.size() > 7 && std::equal(auth.begin(), auth.begin() + 7, "Bearer ",
                                              [](char a, char b) {
                                                return std::tolower(a) == std::tolower(b);
                                              });
  if (options.admin_token.empty() || !bearer ||
      !constant_time_equal(auth.substr(7), options.admin_token)) {
    return envelope(401, kBadToken, "this route needs the server's admin token");
  }
  auto parsed = json_body(request);
  if (auto* refused = std::get_if<HttpResponse>(&parsed)) return *refused;
  const json& body = std::get<json>(parsed);
  std::string client_id = string_at(body, "client_id");
  if (!valid_client_id(client_id))
    return bad_request("client_id is missing or malformed", "client_id");
  if (!body.contains("add") || !body["add"].is_number_integer()) {
    return bad_request("add must be a whole number of credits", "add");
  }
  int64_t add = body["add"].get<int64_t>();
  if (std::llabs(add) > 1'000'000'000) return bad_request("add is out of range", "add");
  auto ensured =
      store.ensure_client(client_id, options.credits ? options.initial_credits : 0, now_seconds());
  if (!ensured) return engine_error(ensured.error());
  auto granted = store.grant(client_id, add, string_at(body, "note"), now_seconds());
  if (!granted) return engine_error(granted.error());
  return ok(balance_json(client_id));
}

// --- Exports ---------------------------------------------------------------------------------

Awaitable<void> Service::State::create_export(Exchange& exchange) {
  HttpRequest& request = exchange.request();
  auto who = client(request);
  if (auto* refused = std::get_if<HttpResponse>(&who)) {
    co_await exchange.respond(*refused);
    co_return;
  }
  const std::string client_id = std::get<std::string>(who);
  json attribution = json::object();
  for (const char* header : {"x-skill-source", "x-skill-version", "x-skill-platform"}) {
    std::string value = request.header(header);
    if (value.empty() || value.size() > 200) {
      {
        HttpResponse reply =
            envelope(402, kNoAttribution,
                     "exports need the attribution headers X-Skill-Source, X-Skill-Version and "
                     "X-Skill-Platform (who is asking: your tool's name, version and platform)",
                     json{{"missing", header}});
        co_await exchange.respond(std::move(reply));
      }
      co_return;
    }
    attribution[header + 8] = value;  // "source", "version", "platform"
  }
  auto parsed = json_body(request);
  if (auto* refused = std::get_if<HttpResponse>(&parsed)) {
    co_await exchange.respond(*refused);
    co_return;
  }
  const json body = std::get<json>(parsed);
  std::string id = string_at(body, "id");
  if (id.empty() || id.size() > 128 || !valid_client_id(id)) {
    {
      HttpResponse reply = bad_request(
          "id must be the export's own id (1 to 128 letters, digits, '-', '_', '.'), like "
          "render_1733100000",
          "id");
      co_await exchange.respond(std::move(reply));
    }
    co_return;
  }
  std::string sid = string_at(body, "sessionId");
  if (sid.empty()) sid = string_at(body, "session_id");
  if (sid.empty()) {
    {
      HttpResponse reply = bad_request("sessionId is missing", "sessionId");
      co_await exchange.respond(std::move(reply));
    }
    co_return;
  }
  std::string callback_url;
  if (body.contains("callback_url") && !body["callback_url"].is_null()) {
    bool text = body["callback_url"].is_string();
    callback_url = text ? body["callback_url"].get<std::string>() : "";
    Result<void> reachable = Error(ErrorCode::kUsage, "callback_url must be an http(s) URL");
    if (text && !callback_url.empty() && callback_url.size() <= 2048) {
      std::function<void()> check = [&] { reachable = check_reachable(callback_url, options.fetch); };
      co_await exchange.offload(std::move(check));
    }
    if (!reachable) {
      {
        HttpResponse reply =
            bad_request("callback_url: " + reachable.error().message, "callback_url");
        co_await exchange.respond(std::move(reply));
      }
      co_return;
    }
  }
  std::string body_hash = sha256_hex(body.dump());
  // The id is the idempotency key: the same body again answers with the same job.
  auto existing = store.job(id, client_id);
  if (!existing) {
    {
      HttpResponse reply = engine_error(existing.error());
      co_await exchange.respond(std::move(reply));
    }
    co_return;
  }
  if (*existing) {
    if (!constant_time_equal((*existing)->body_hash, body_hash)) {
      {
        HttpResponse reply =
            envelope(409, kConflict, "export " + id + " exists with another body: use a new id",
                     json{{"id", id}});
        co_await exchange.respond(std::move(reply));
      }
    } else {
      {
        HttpResponse reply = ok(job_json(**existing));
        co_await exchange.respond(std::move(reply));
      }
    }
    co_return;
  }
  auto found = session(sid, client_id);
  if (auto* refused = std::get_if<HttpResponse>(&found)) {
    co_await exchange.respond(*refused);
    co_return;
  }
  const store::Session s = std::get<store::Session>(found);

  // What to make: output.format/quality, then peel's own fields at the top level or in
  // `options` (the same names as the Request's, docs/json.md).
  json fields =
      body.contains("options") && body["options"].is_object() ? body["options"] : json::object();
  for (const char* key :
       {"format", "copy_policy", "from", "to", "duration", "track", "lang", "title", "bitrate",
        "quality", "sample_rate", "channels", "sample_format", "loudness", "keep_metadata",
        "strict"}) {
    if (body.contains(key)) fields[key] = body[key];
  }
  if (body.contains("range") && body["range"].is_object()) {
    for (const char* key : {"from", "to", "duration"}) {
      if (body["range"].contains(key)) fields[key] = body["range"][key];
    }
  }
  if (body.contains("output")) {
    const json& output = body["output"];
    if (!output.is_object()) {
      {
        HttpResponse reply = bad_request("output must be an object", "output");
        co_await exchange.respond(std::move(reply));
      }
      co_return;
    }
    if (output.contains("format")) {
      if (!output["format"].is_string()) {
        {
          HttpResponse reply = bad_request("output.format must be a string", "output.format");
          co_await exchange.respond(std::move(reply));
        }
        co_return;
      }
      std::string format = output["format"].get<std::string>();
      fields["format"] = format == "original" || format == "source" ? "auto" : format;
    }
    if (output.contains("quality") && !fields.contains("bitrate") && !fields.contains("quality")) {
      // Named levels for lossy formats: "high" is the format's default.
      const json& q = output["quality"];
      if (q == "medium")
        fields["bitrate"] = 128000;
      else if (q == "low")
        fields["bitrate"] = 64000;
      else if (q.is_number())
        fields["quality"] = q;
      else if (q != "high" && !q.is_null()) {
        {
          HttpResponse reply = bad_request(
              "output.quality must be \"high\", \"medium\", \"low\" or a number", "output.quality");
          co_await exchange.respond(std::move(reply));
        }
        co_return;
      }
    }
  }
  auto parsed_request = request_from_json(fields);
  if (!parsed_request) {
    {
      HttpResponse reply = engine_error(parsed_request.error());
      co_await exchange.respond(std::move(reply));
    }
    co_return;
  }
  if (parsed_request->track.all) {
    {
      HttpResponse reply = bad_request(
          "an export makes one file: choose one track, or one export per track", "all_tracks");
      co_await exchange.respond(std::move(reply));
    }
    co_return;
  }
  // The file: upload_id, else the draft's first segment, else the session's only file.
  std::string upload_id = string_at(body, "upload_id");
  if (upload_id.empty() && body.contains("draft") && body["draft"].is_object()) {
    const json& draft = body["draft"];
    if (draft.contains("t") && draft["t"].is_array()) {
      for (const auto& t : draft["t"]) {
        if (!t.is_object() || !t.contains("sg") || !t["sg"].is_array()) continue;
        for (const auto& sg : t["sg"]) {
          if (sg.is_object()) {
            upload_id = string_at(sg, "upload_id");
            if (upload_id.empty()) upload_id = string_at(sg, "id");
          }
          if (!upload_id.empty()) break;
        }
        if (!upload_id.empty()) break;
      }
    }
  }
  auto uploads = store.session_uploads(s.id);
  if (!uploads) {
    {
      HttpResponse reply = engine_error(uploads.error());
      co_await exchange.respond(std::move(reply));
    }
    co_return;
  }
  const store::Upload* upload = nullptr;
  for (const auto& u : *uploads) {
    if (u.id == upload_id || (upload_id.empty() && uploads->size() == 1)) upload = &u;
  }
  if (!upload) {
    {
      HttpResponse reply =
          upload_id.empty()
              ? bad_request(uploads->empty() ? "the session has no file yet: upload one first"
                                             : "the session has several files: name one with "
                                               "upload_id",
                            "upload_id")
              : not_found("file " + upload_id + " in session " + s.id);
      co_await exchange.respond(std::move(reply));
    }
    co_return;
  }
  // Planned now, as the worker will: a track or range that does not exist is refused here.
  Result<Planned> planned = Error(ErrorCode::kInternal, "not planned");
  std::function<void()> plan_it = [&] { planned = plan_on(*upload, *parsed_request); };
  co_await exchange.offload(std::move(plan_it));
  if (!planned) {
    auto path = blobs.local_path(upload->blob_key);
    Error e = worker::ClientWords{path ? *path : "", upload->name,
                                  blobs.scratch_folder()}(planned.error());
    if (e.code == ErrorCode::kUnsupportedFile || e.code == ErrorCode::kInputNotFound) {
      e.message = upload->name + " can no longer be read: upload it again";
    }
    {
      HttpResponse reply = engine_error(e);
      co_await exchange.respond(std::move(reply));
    }
    co_return;
  }
  if (planned->plans.size() != 1) {
    {
      HttpResponse reply = bad_request("an export makes one file: choose one track", "track");
      co_await exchange.respond(std::move(reply));
    }
    co_return;
  }
  const OutputPlan& p = planned->plans.front();
  store::Job job;
  job.id = id;
  job.client_id = client_id;
  job.session_id = s.id;
  job.upload_id = upload->id;
  Request one = *parsed_request;
  one.track = TrackSelector{};
  one.track.number = p.track.number;
  job.request_json = to_json(one).dump();
  job.body_hash = body_hash;
  job.attribution_json = attribution.dump();
  job.callback_url = callback_url;
  job.frozen = cost(p);
  job.created = now_seconds();
  auto inserted = store.insert_job(job, job.created);
  if (!inserted) {
    {
      HttpResponse reply = engine_error(inserted.error());
      co_await exchange.respond(std::move(reply));
    }
    co_return;
  }
  if (!*inserted) {
    {
      HttpResponse reply = no_credits(job.frozen, client_id);
      co_await exchange.respond(std::move(reply));
    }
    co_return;
  }
  if ((*inserted)->body_hash != body_hash) {
    // The same id, written by a request racing this one, with another body.
    {
      HttpResponse reply =
          envelope(409, kConflict, "export " + id + " exists with another body", json{{"id", id}});
      co_await exchange.respond(std::move(reply));
    }
    co_return;
  }
  worker.wake();
  json data = job_json(**inserted);
  data["plan"] = {{"mode", p.mode == Mode::kCopy ? "copy" : "transcode"},
                  {"reason", p.reason},
                  {"format", p.format},
                  {"codec", p.codec}};
  {
    HttpResponse reply = envelope(202, 0, "queued", data);
    co_await exchange.respond(std::move(reply));
  }
}

HttpResponse Service::State::get_export(const HttpRequest& request) {
  auto who = client(request);
  if (auto* refused = std::get_if<HttpResponse>(&who)) return *refused;
  auto job = store.job(request.params.at("id"), std::get<std::string>(who));
  if (!job) return engine_error(job.error());
  if (!*job) return not_found("export " + request.params.at("id"));
  return ok(job_json(**job));
}

HttpResponse Service::State::cancel_export(const HttpRequest& request) {
  auto who = client(request);
  if (auto* refused = std::get_if<HttpResponse>(&who)) return *refused;
  const std::string& client_id = std::get<std::string>(who);
  const std::string& id = request.params.at("id");
  auto cancelled = store.cancel_job(id, client_id, now_seconds());
  if (!cancelled) return engine_error(cancelled.error());
  worker.cancel(client_id, id);
  auto job = store.job(id, client_id);
  if (!job) return engine_error(job.error());
  if (!*job) return not_found("export " + id);
  if ((*job)->status == store::JobStatus::kCancelled && !(*job)->stream_id.empty()) {
    finish_stream_if_done(**job);
  }
  return ok(job_json(**job));
}

// --- Downloads -------------------------------------------------------------------------------

Awaitable<void> Service::State::download(Exchange& exchange) {
  HttpRequest& request = exchange.request();
  const std::string key = request.params.at("key");
  auto deny = [&](int status, const std::string& message) {
    // A link that is not valid (403) is a token's trouble; 404 and 416 are what they say.
    return envelope(status, status == 403 ? kBadToken : status, message);
  };
  char* end = nullptr;
  std::string expires_text = request.query.count("expires") ? request.query.at("expires") : "";
  long long expires = std::strtoll(expires_text.c_str(), &end, 10);
  std::string sig = request.query.count("sig") ? request.query.at("sig") : "";
  if (expires_text.empty() || !end || *end != '\0' || !key.starts_with("outputs/") ||
      !constant_time_equal(sig, sign(key, expires))) {
    {
      HttpResponse reply = deny(403,
                                "this download link is not valid: ask the export again "
                                "for a fresh one");
      co_await exchange.respond(std::move(reply));
    }
    co_return;
  }
  if (expires < now_seconds()) {
    {
      HttpResponse reply = deny(403,
                                "this download link has expired: poll the export again "
                                "for a fresh one");
      co_await exchange.respond(std::move(reply));
    }
    co_return;
  }
  auto size = blobs.size(key);
  if (!size || *size < 0) {
    {
      HttpResponse reply = deny(404, "the file is gone (expired or deleted)");
      co_await exchange.respond(std::move(reply));
    }
    co_return;
  }
  std::string name = fs::path(key).filename().string();
  HttpResponse head;
  head.content_type = content_type_of(name);
  head.with("Accept-Ranges", "bytes")
      .with("Content-Disposition", "attachment; filename=\"" + percent_encode(name, false) +
                                       "\"; filename*=UTF-8''" + percent_encode(name, false))
      .with("Cache-Control", "private, max-age=0");
  int64_t from = 0;
  int64_t length = *size;
  std::string range = request.header("range");
  if (!range.empty()) {
    // One range, "bytes=a-b", "bytes=a-" or "bytes=-n" (RFC 9110 14.1.2).
    bool valid = false;
    if (range.starts_with("bytes=") && range.find(',') == std::string::npos) {
      std::string spec = range.substr(6);
      size_t dash = spec.find('-');
      if (dash != std::string::npos) {
        std::string a = spec.substr(0, dash);
        std::string b = spec.substr(dash + 1);
        auto number = [](const std::string& t, int64_t& out) {
          if (t.empty() || t.size() > 18 ||
              t.find_first_not_of("0123456789") != std::string::npos) {
            return false;
          }
          out = std::stoll(t);
          return true;
        };
        int64_t first = 0;
        int64_t last = *size - 1;
        if (a.empty()) {
          int64_t n = 0;
          if (number(b, n) && n > 0) {
            first = std::max<int64_t>(0, *size - n);
            valid = *size > 0;
          }
        } else if (number(a, first) && (b.empty() || number(b, last))) {
          last = std::min(last, *size - 1);
          valid = first <= last && first < *size;
        }
        if (valid) {
          from = first;
          length = last - first + 1;
        }
      }
    }
    if (!valid) {
      HttpResponse refused =
          deny(416, "the range asked is not within the file's " + std::to_string(*size) + " bytes");
      refused.status = 416;
      refused.with("Content-Range", "bytes */" + std::to_string(*size));
      co_await exchange.respond(refused);
      co_return;
    }
    head.status = 206;
    head.with("Content-Range", "bytes " + std::to_string(from) + "-" +
                                   std::to_string(from + length - 1) + "/" + std::to_string(*size));
  }
  if (request.method != "HEAD") bytes_out.Increment(static_cast<double>(length));
  // Named first: GCC 12 mishandles temporaries built inside a co_await expression.
  BodySource source = [this, key, from](int64_t offset, char* data, size_t size) {
    return blobs.read(key, from + offset, data, size);
  };
  co_await exchange.respond_stream(std::move(head), length, std::move(source));
}

// --- Health and metrics ----------------------------------------------------------------------

HttpResponse Service::State::healthz(const HttpRequest&) {
  auto queued = store.queued_jobs();
  if (!queued) return envelope(503, static_cast<int>(ErrorCode::kInternal), queued.error().message);
  return ok(json{{"status", "ok"}, {"queued", *queued}, {"running", worker.running()}});
}

HttpResponse Service::State::metrics(const HttpRequest&) {
  auto queued = store.queued_jobs();
  jobs_gauge.Add({{"state", "queued"}}).Set(queued ? *queued : 0);
  jobs_gauge.Add({{"state", "running"}}).Set(worker.running());
  HttpResponse response;
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  response.body = prometheus::TextSerializer().Serialize(registry->Collect());
  return response;
}

// --- Service ---------------------------------------------------------------------------------

Service::Service(Engine& engine, store::Store& store, blob::BlobStore& blobs,
                 worker::Worker& worker, ServiceOptions options)
    : state_(std::make_unique<State>(engine, store, blobs, worker, std::move(options))) {}

Service::~Service() {
  state_->stopping.cancel();  // fetches under way stop; the pool joins them
}

void Service::set_public_url(std::string url) { state_->options.public_url = std::move(url); }

void Service::start() {
  State* s = state_.get();
  if (!s->deliverer.joinable()) s->deliverer = std::thread([s] { s->deliver_callbacks(); });
}

void Service::count_request(const std::string& route, int status, double seconds) {
  state_->requests.Add({{"route", route}, {"code", std::to_string(status)}}).Increment();
  state_->request_seconds
      .Add({{"route", route}}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005,
                                                                       0.01, 0.05, 0.25, 1, 5})
      .Observe(seconds);
}

HttpResponse Service::error_response(int status, const std::string& message) {
  return envelope(status, status, message);
}

void Service::job_update(const store::Job& job, const std::string& what, const json& data) {
  State& s = *state_;
  bool ended = what == "completed" || what == "failed" || what == "cancelled";
  if (ended && !job.callback_url.empty()) s.wake_deliverer();
  if (ended) {
    s.jobs_ended.Add({{"state", what}}).Increment();
    if (what == "completed" && job.started > 0) {
      s.job_seconds.Observe(static_cast<double>(std::max<int64_t>(0, now_seconds() - job.started)));
    }
  }
  if (job.stream_id.empty()) return;
  if (what == "progress") {
    {
      std::lock_guard lock(s.progress_mutex);
      auto now = std::chrono::steady_clock::now();
      auto& last = s.progress_sent[job.id];
      if (now - last < std::chrono::seconds(1)) return;
      last = now;
    }
    char words[96];
    std::snprintf(words, sizeof words, "%.0f%% done, %.0f× real time", data.value("percent", 0.0),
                  data.value("speed", 0.0));
    json d = data;
    d["job_id"] = job.id;
    s.event(job.session_id, job.stream_id, "progress", words, d);
    return;
  }
  if (what == "started") return;
  {
    std::lock_guard lock(s.progress_mutex);
    s.progress_sent.erase(job.id);
  }
  if (what == "completed") {
    json d = s.job_json(job);
    d["job_id"] = job.id;
    s.event(job.session_id, job.stream_id, "result",
            job.output_name + " is ready: " + d["output"].value("url", std::string()), d);
  } else {
    json d = data;
    d["job_id"] = job.id;
    auto [status, code] = engine_status(static_cast<ErrorCode>(data.value("code", 7001)));
    (void)status;
    d["code"] = code;
    s.event(job.session_id, job.stream_id, "error", data.value("message", what), d);
  }
  s.finish_stream_if_done(job);
}

std::vector<Route> Service::routes() {
  State* s = state_.get();
  auto simple = [s](std::string method, std::string pattern,
                    HttpResponse (State::*handler)(const HttpRequest&)) {
    return simple_route(std::move(method), std::move(pattern),
                        [s, handler](const HttpRequest& r) { return (s->*handler)(r); });
  };
  auto full = [s](std::string method, std::string pattern,
                  Awaitable<void> (State::*handler)(Exchange&), bool streams_body = false) {
    Route route;
    route.method = std::move(method);
    route.pattern = std::move(pattern);
    route.streams_body = streams_body;
    route.handler = [s, handler](Exchange& e) { return (s->*handler)(e); };
    return route;
  };
  return {
      simple("POST", "/api/auth/anonymous-token", &State::anonymous_token),
      simple("POST", "/api/tasks/me/with-session/{app}", &State::create_session),
      full("POST", "/api/upload-video/{app}/me/{sid}", &State::upload, true),
      simple("GET", "/api/state/{app}/me/{sid}/latest", &State::state),
      full("POST", "/run_sse", &State::run_sse),
      simple("GET", "/api/credits/balance/simple", &State::balance),
      full("POST", "/api/render/proxy/lambda", &State::create_export),
      simple("GET", "/api/render/proxy/lambda/{id}", &State::get_export),
      simple("DELETE", "/api/render/proxy/lambda/{id}", &State::cancel_export),
      full("GET", "/api/files/{key...}", &State::download),
      simple("POST", "/api/admin/credits", &State::admin_credits),
      simple("OPTIONS", "/api/tus/{app}/me/{sid}", &State::tus_options),
      full("POST", "/api/tus/{app}/me/{sid}", &State::tus_create, true),
      simple("OPTIONS", "/api/tus/{app}/me/{sid}/{upload}", &State::tus_options),
      simple("HEAD", "/api/tus/{app}/me/{sid}/{upload}", &State::tus_head),
      full("PATCH", "/api/tus/{app}/me/{sid}/{upload}", &State::tus_patch, true),
      simple("DELETE", "/api/tus/{app}/me/{sid}/{upload}", &State::tus_delete),
      simple("GET", "/healthz", &State::healthz),
      simple("GET", "/metrics", &State::metrics),
  };
}

}  // namespace peel::server
