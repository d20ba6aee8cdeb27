// Store: everything `peel serve` must remember, behind one interface: clients and their
// tokens, the credits ledger, sessions, uploads, the job queue and the events of messages.
// Handlers and workers talk to this and nothing else; the SQL lives in one file per backend
// (sqlite/ here, postgres/ for many machines), as River and Oban keep a queue's contract in a
// handful of named queries: insert, claim, heartbeat, complete, fail, requeue.
//
// Every method is thread-safe and returns an Error (kInternal, with the database's words) only
// when the database itself fails; "not found" is an empty optional. Reads and writes that
// belong to a client take its id: a row of another client is not found, whatever id is given.
// Times are Unix seconds.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "peel/error.h"

namespace peel::store {

// Whose a token is, and until when.
struct TokenOwner {
  std::string client_id;
  int64_t expires_at = 0;
};

struct Session {
  std::string id;
  std::string client_id;
  std::string task_id;
  std::string task_name;
  std::string language;  // "en", "zh"...
  int64_t created = 0;
  int64_t expires_at = 0;
};

enum class UploadState { kReceiving, kComplete };

// One uploaded file of a session, from its first byte to its probe.
struct Upload {
  std::string id;
  std::string session_id;
  std::string client_id;
  std::string name;      // the file name the client gave, made safe
  std::string blob_key;  // where BlobStore keeps its bytes
  int64_t length = -1;   // announced size; -1 while unknown (tus Upload-Defer-Length)
  int64_t offset = 0;    // bytes stored so far
  UploadState state = UploadState::kReceiving;
  std::string metadata;  // the client's tus Upload-Metadata, as sent
  std::string info_json;  // peel's probe of the file once complete (peel/json.h)
  int64_t created = 0;
  int64_t expires_at = 0;
};

enum class JobStatus { kQueued, kRunning, kCompleted, kFailed, kCancelled };
std::string_view status_name(JobStatus status);  // "queued", "running", ...

// An export: one Request run on one uploaded file.
struct Job {
  std::string id;  // the client's render id: its idempotency key, unique per client
  std::string client_id;
  std::string session_id;
  std::string upload_id;
  std::string request_json;  // what to run: the resolved request (server/request_json.h)
  std::string body_hash;     // SHA-256 of the body that created it: the same id, another body
                             // is refused
  std::string attribution_json;  // X-Skill-Source/-Version/-Platform
  std::string callback_url;
  std::string stream_id;  // the message whose events tell of it ("" for an export)
  JobStatus status = JobStatus::kQueued;
  double progress = 0;  // 0..100
  int attempt = 0;      // raised by every claim: a fencing token for complete/fail
  bool cancel_requested = false;
  int64_t frozen = 0;   // credits frozen for it at creation
  int64_t charged = 0;  // credits settled on completion
  std::string output_key;   // BlobStore key of the result
  std::string output_name;  // the file name a download gets
  int64_t output_bytes = 0;
  std::string result_json;  // the run's OutputResult (peel/json.h)
  std::string error_json;   // the failure's error object (peel/json.h)
  int64_t created = 0;
  int64_t started = 0;
  int64_t finished = 0;
  // The POST to callback_url once the job ends: "" (no callback, or not ended yet),
  // "pending" (due at callback_due), "delivered", or "failed" (given up; callback_error says
  // the last answer). Made pending in the transaction that ends the job.
  std::string callback_status;
  int callback_attempts = 0;
  int64_t callback_due = 0;
  std::string callback_error;
};

// A client's credits, derived from the ledger. total = available + frozen.
struct Balance {
  int64_t available = 0;
  int64_t frozen = 0;
  int64_t total = 0;
};

// One event of a message's stream, numbered in its session (the SSE `id:`).
struct Event {
  int64_t seq = 0;
  std::string session_id;
  std::string stream_id;  // the message the event belongs to
  std::string type;       // SSE `event:` name
  std::string data_json;
};

class Store {
 public:
  virtual ~Store() = default;

  // --- Clients, tokens, credits -------------------------------------------------------
  // Records the client the first time its id is seen, with `initial_credits` granted (one
  // ledger entry, once per client however often and concurrently this is called).
  virtual Result<void> ensure_client(const std::string& client_id, int64_t initial_credits,
                                     int64_t now) = 0;
  // Stores a token by the hash of its value only (the value itself is never stored).
  virtual Result<void> put_token(const std::string& token_hash, const std::string& client_id,
                                 int64_t expires_at) = 0;
  // The client of an unexpired token (by its hash), and the token's expiry.
  virtual Result<std::optional<TokenOwner>> token_client(const std::string& token_hash,
                                                         int64_t now) = 0;
  virtual Result<Balance> balance(const std::string& client_id) = 0;
  // Adds (or, negative, takes back) available credits; an append to the ledger.
  virtual Result<void> grant(const std::string& client_id, int64_t amount,
                             const std::string& note, int64_t now) = 0;

  // --- Sessions --------------------------------------------------------------------------
  virtual Result<void> put_session(const Session& session) = 0;
  virtual Result<std::optional<Session>> session(const std::string& id,
                                                 const std::string& client_id) = 0;

  // --- Uploads ---------------------------------------------------------------------------
  virtual Result<void> put_upload(const Upload& upload) = 0;
  virtual Result<std::optional<Upload>> upload(const std::string& id,
                                               const std::string& client_id) = 0;
  // Moves the offset from `from` to `to` only if it is still `from` (two writers to one
  // upload: one wins). False when it was not.
  virtual Result<bool> advance_upload(const std::string& id, int64_t from, int64_t to) = 0;
  virtual Result<void> complete_upload(const std::string& id, const std::string& info_json) = 0;
  virtual Result<void> delete_upload(const std::string& id) = 0;
  // A session's complete uploads, oldest first.
  virtual Result<std::vector<Upload>> session_uploads(const std::string& session_id) = 0;
  // Bytes a client holds: the lengths (or offsets, while unknown) of its uploads and the
  // outputs of its jobs. For the per-client storage quota.
  virtual Result<int64_t> client_bytes(const std::string& client_id) = 0;

  // --- Jobs (the queue) ------------------------------------------------------------------
  // Inserts a queued job and freezes job.frozen credits in one transaction. When a job of
  // this client with this id exists, nothing is written and that job is returned: the caller
  // compares body hashes. Returns an empty optional when the client has fewer available
  // credits than job.frozen (nothing is written).
  virtual Result<std::optional<Job>> insert_job(const Job& job, int64_t now) = 0;
  virtual Result<std::optional<Job>> job(const std::string& id, const std::string& client_id) = 0;
  // A session's jobs, oldest first.
  virtual Result<std::vector<Job>> session_jobs(const std::string& session_id) = 0;
  // Takes the oldest queued job: running, attempt + 1. Empty when none is queued.
  virtual Result<std::optional<Job>> claim_job(int64_t now) = 0;
  // Progress of a running job's attempt; returns whether a cancel was requested meanwhile,
  // and true as well when the job is not running under this attempt any more (requeued,
  // ended, expired): its worker should stop either way.
  virtual Result<bool> job_progress(const Job& job, double progress) = 0;
  // Ends a running attempt in one transaction with its ledger entries: completed with
  // `charged` credits settled and the rest of the frozen ones released; or failed / cancelled
  // with all of them released. Does nothing (returns false) when the job is not running under
  // this attempt any more: a job is charged once, whatever repeats.
  virtual Result<bool> complete_job(const Job& job, int64_t charged, const std::string& output_key,
                                    const std::string& output_name, int64_t output_bytes,
                                    const std::string& result_json, int64_t now) = 0;
  virtual Result<bool> fail_job(const Job& job, JobStatus status, const std::string& error_json,
                                int64_t now) = 0;
  // A client's cancel: a queued job is cancelled at once (credits released), a running one is
  // asked to stop (its worker sees it at its next progress). False when the job had ended.
  virtual Result<bool> cancel_job(const std::string& id, const std::string& client_id,
                                  int64_t now) = 0;
  // At start: every job left running by a process that is gone is queued again, to run from
  // the start; one whose cancel was requested is cancelled instead (credits released).
  // Returns how many were queued again.
  virtual Result<int> requeue_running() = 0;
  virtual Result<int> queued_jobs() = 0;

  // --- Callbacks -------------------------------------------------------------------------
  // Ended jobs whose callback is pending and due at or before `now`, the earliest first.
  virtual Result<std::vector<Job>> due_callbacks(int64_t now, int limit) = 0;
  // Records one delivery attempt of the job's callback: delivered; or not, with `error`, due
  // again at `retry_at` (0: given up, "failed"). Only while it is pending.
  virtual Result<void> callback_attempted(const Job& job, bool delivered, const std::string& error,
                                          int64_t retry_at) = 0;

  // --- Events ----------------------------------------------------------------------------
  // Appends an event to a session's numbered sequence; returns its seq.
  virtual Result<int64_t> append_event(const Event& event) = 0;
  // A stream's events after seq `after`, oldest first.
  virtual Result<std::vector<Event>> stream_events(const std::string& stream_id, int64_t after) = 0;
  // The stream an event belongs to (for a reconnect that names only Last-Event-ID), within
  // the session.
  virtual Result<std::optional<std::string>> event_stream(const std::string& session_id,
                                                          int64_t seq) = 0;

  // --- Retention -------------------------------------------------------------------------
  // Removes sessions (with their uploads, jobs and events) that expired before `now`, and
  // unfinished uploads past their own expires_at; returns the blob keys they held, for the
  // BlobStore to remove.
  virtual Result<std::vector<std::string>> expire(int64_t now) = 0;
};

// The single-node Store: one SQLite database file in WAL mode (created with its tables when
// missing). Fails with kInternal when the file cannot be opened or is not peel's database.
Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path);

}  // namespace peel::store
