// Service: the routes of `peel serve` (docs/http-api.md), over a Store, a BlobStore and the
// Worker that runs their queue. Every answer but downloads, SSE and /metrics is the envelope
// {"code": N, "message": "...", "data": {...}}.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "blob/blob_store.h"
#include "peel/engine.h"
#include "server/http.h"
#include "server/url_fetch.h"
#include "store/store.h"
#include "worker/worker.h"

namespace peel::server {

struct ServiceOptions {
  std::string public_url = "http://127.0.0.1:8080";  // how clients reach this server
  bool credits = true;
  int64_t initial_credits = 100;   // granted to a client id the first time it is seen
  int64_t credits_per_minute = 1;  // per started minute of output audio
  std::string bind_url;     // where a client gets more credits ("" when the operator has none)
  std::string admin_token;  // the bearer of /api/admin/* ("": no admin route)
  int64_t token_seconds = 7 * 24 * 3600;
  int64_t session_seconds = 7 * 24 * 3600;  // retention of sessions, their files and outputs
  int64_t download_seconds = 3600;          // lifetime of a signed download URL
  int64_t upload_limit = 4LL << 30;         // bytes per file
  int64_t tus_seconds = 24 * 3600;          // an unfinished resumable upload's lifetime
  int64_t client_quota = 20LL << 30;        // bytes a client may hold
  int sse_per_client = 8;                   // message streams open at once per client
  std::chrono::seconds sse_heartbeat{15};
  std::chrono::seconds sse_max{15 * 60};
  // Requests per second (and bursts of `burst`) per client id and per address; 0: no limit.
  double rate = 50;
  double burst = 100;
  // How uploads by URL and export callbacks reach out: which addresses, how long (max_bytes
  // is set per fetch from the upload limit and the client's quota).
  FetchOptions fetch;
  std::string secret;  // the key of signed download URLs (open_service makes and keeps one)
};

class Service {
 public:
  Service(Engine& engine, store::Store& store, blob::BlobStore& blobs, worker::Worker& worker,
          ServiceOptions options);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  std::vector<Route> routes();
  // The URL links start with; before the server runs (not thread-safe).
  void set_public_url(std::string url);
  // Starts what runs beside the routes: the delivery of export callbacks. After
  // set_public_url (their bodies carry download links), before the server runs.
  void start();
  // Counts each answered request for /metrics (HttpOptions::on_request).
  void count_request(const std::string& route, int status, double seconds);
  // The envelope for what no route answers (HttpOptions::error_response).
  static HttpResponse error_response(int status, const std::string& message);
  // What the worker tells of a job: the events of the message that made it.
  void job_update(const store::Job& job, const std::string& what, const nlohmann::json& data);

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace peel::server
