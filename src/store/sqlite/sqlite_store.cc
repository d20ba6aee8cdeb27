// The single-node Store: one SQLite database file through SQLite's own C API: one connection
// that writes, behind a mutex, and a few that only read (WAL mode lets them read while the
// writer commits). All of the service's SQL for this backend is in this file.
#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "store/store.h"

namespace peel::store {
namespace {

// Raised with every change to the tables below. A file of another version is refused, not
// guessed at.
constexpr int kSchemaVersion = 2;
// PRAGMA application_id: "peel" in ASCII. It tells peel's database from another program's
// SQLite file, which would have user_version 0 like a file peel has not filled yet.
constexpr int32_t kApplicationId = 0x7065656c;
// How long a statement waits for another process's write lock before it fails.
constexpr int kBusyTimeoutMs = 5000;
// Connections that only read, next to the one that writes: as many as the service has threads
// answering requests (2 by default).
constexpr int kReaders = 2;

// The ledger is append-only: a client's balance is the sum of its entries. A job has at most
// one entry of each kind (freeze, settle, release), by the job's own number `job_seq`: a render
// id is the client's and may come back once its job has expired, its number never does.
// Jobs are numbered for the same reason, and to take the oldest first.
constexpr const char* kSchema = R"sql(
CREATE TABLE clients (
  id TEXT PRIMARY KEY,
  created INTEGER NOT NULL
);
CREATE TABLE tokens (
  hash TEXT PRIMARY KEY,
  client_id TEXT NOT NULL REFERENCES clients (id),
  expires_at INTEGER NOT NULL
);
CREATE INDEX tokens_expiry ON tokens (expires_at);
CREATE TABLE ledger (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  client_id TEXT NOT NULL REFERENCES clients (id),
  job_seq INTEGER,
  job_id TEXT,
  kind TEXT NOT NULL,
  available_delta INTEGER NOT NULL,
  frozen_delta INTEGER NOT NULL,
  note TEXT NOT NULL,
  at INTEGER NOT NULL,
  UNIQUE (job_seq, kind)
);
CREATE INDEX ledger_client ON ledger (client_id);
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  client_id TEXT NOT NULL REFERENCES clients (id),
  task_id TEXT NOT NULL,
  task_name TEXT NOT NULL,
  language TEXT NOT NULL,
  created INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);
CREATE TABLE uploads (
  id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions (id),
  client_id TEXT NOT NULL REFERENCES clients (id),
  name TEXT NOT NULL,
  blob_key TEXT NOT NULL,
  length INTEGER NOT NULL,
  upload_offset INTEGER NOT NULL,
  state TEXT NOT NULL,
  metadata TEXT NOT NULL,
  info_json TEXT NOT NULL,
  created INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX uploads_session ON uploads (session_id);
CREATE INDEX uploads_client ON uploads (client_id);
CREATE TABLE jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  client_id TEXT NOT NULL REFERENCES clients (id),
  id TEXT NOT NULL,
  session_id TEXT NOT NULL REFERENCES sessions (id),
  upload_id TEXT NOT NULL,
  request_json TEXT NOT NULL,
  body_hash TEXT NOT NULL,
  attribution_json TEXT NOT NULL,
  callback_url TEXT NOT NULL,
  stream_id TEXT NOT NULL,
  status TEXT NOT NULL,
  progress REAL NOT NULL,
  attempt INTEGER NOT NULL,
  cancel_requested INTEGER NOT NULL,
  frozen INTEGER NOT NULL,
  charged INTEGER NOT NULL,
  output_key TEXT NOT NULL,
  output_name TEXT NOT NULL,
  output_bytes INTEGER NOT NULL,
  result_json TEXT NOT NULL,
  error_json TEXT NOT NULL,
  created INTEGER NOT NULL,
  started INTEGER NOT NULL,
  finished INTEGER NOT NULL,
  UNIQUE (client_id, id)
);
CREATE INDEX jobs_session ON jobs (session_id);
CREATE INDEX jobs_client ON jobs (client_id);
CREATE INDEX jobs_queued ON jobs (created, seq) WHERE status = 'queued';
CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id TEXT NOT NULL REFERENCES sessions (id),
  stream_id TEXT NOT NULL,
  type TEXT NOT NULL,
  data_json TEXT NOT NULL
);
CREATE INDEX events_stream ON events (stream_id, seq);
CREATE INDEX events_session ON events (session_id);
)sql";

// Version 2 over version 1: export callbacks. Every ended job with a callback URL gets its
// delivery pending, in the transaction that ends it (a trigger, so that no way of ending a
// job can forget it).
constexpr const char* kSchemaV2 = R"sql(
ALTER TABLE jobs ADD COLUMN callback_status TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN callback_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN callback_due INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN callback_error TEXT NOT NULL DEFAULT '';
CREATE INDEX jobs_callbacks ON jobs (callback_due) WHERE callback_status = 'pending';
CREATE TRIGGER jobs_callback_pending AFTER UPDATE OF status ON jobs
  WHEN NEW.callback_url != '' AND NEW.status IN ('completed', 'failed', 'cancelled')
       AND OLD.status IN ('queued', 'running')
BEGIN
  UPDATE jobs SET callback_status = 'pending', callback_due = NEW.finished WHERE seq = NEW.seq;
END;
)sql";

constexpr const char* kSessionColumns =
    "id, client_id, task_id, task_name, language, created, expires_at";
constexpr const char* kUploadColumns =
    "id, session_id, client_id, name, blob_key, length, upload_offset, state, metadata, "
    "info_json, created, expires_at";
constexpr const char* kJobColumns =
    "id, client_id, session_id, upload_id, request_json, body_hash, attribution_json, "
    "callback_url, stream_id, status, progress, attempt, cancel_requested, frozen, charged, output_key, "
    "output_name, output_bytes, result_json, error_json, created, started, finished, "
    "callback_status, callback_attempts, callback_due, callback_error";
constexpr const char* kEventColumns = "seq, session_id, stream_id, type, data_json";
// The sessions expire() removes, as a subquery of the time bound to its one parameter.
constexpr const char* kExpiredSessions = "(SELECT id FROM sessions WHERE expires_at < ?)";

Error database_error(sqlite3* db) {
  const char* file = sqlite3_db_filename(db, "main");
  return Error(
      ErrorCode::kInternal,
      fmt::format("The service's database {} failed: {}.",
                  file != nullptr && *file != '\0' ? file : "(in memory)", sqlite3_errmsg(db)));
}

struct DatabaseCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Database = std::unique_ptr<sqlite3, DatabaseCloser>;

// Prepared statements by their SQL, each reset and kept for the next call of the same SQL: a
// status poll runs the same two queries thousands of times a second, and preparing one costs
// more than running it.
using StatementCache = std::unordered_map<std::string, sqlite3_stmt*>;

// One connection and the statements prepared on it. Used by one thread at a time (the store's
// mutexes).
class Connection {
 public:
  explicit Connection(Database db) : db_(std::move(db)) {}
  ~Connection() {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  }
  Connection(Connection&&) = default;
  Connection& operator=(Connection&&) = delete;

  operator sqlite3*() const { return db_.get(); }  // NOLINT: it is the connection
  StatementCache& statements() { return statements_; }

 private:
  Database db_;
  StatementCache statements_;
};

// One prepared statement with its parameters bound, taken from its connection's cache and
// given back, reset, when done. A statement whose SQL is in use already (a query run while
// another of the same SQL steps) is prepared for the call and finalized after it.
class Statement {
 public:
  Statement(Connection& db, StatementCache& cache, StatementCache::node_type node)
      : db_(db), stmt_(node.mapped()), cache_(&cache), node_(std::move(node)) {}
  Statement(Statement&& other) noexcept
      : db_(other.db_),
        stmt_(std::exchange(other.stmt_, nullptr)),
        cache_(other.cache_),
        node_(std::move(other.node_)),
        bind_rc_(other.bind_rc_),
        column_(other.column_) {}
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement() {
    if (stmt_ == nullptr) return;
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    auto kept = cache_->insert(std::move(node_));
    if (!kept.inserted) sqlite3_finalize(stmt_);
  }

  // Binds the parameters in order: integers, doubles, text, or an optional integer (NULL when
  // empty). A failure shows at the next step().
  template <class... Args>
  void bind(const Args&... args) {
    int index = 0;
    (bind_one(++index, args), ...);
  }

  // Steps once: true with a row to read, false when done.
  Result<bool> step() {
    if (bind_rc_ != SQLITE_OK) {
      return Error(ErrorCode::kInternal, fmt::format("The service's database refused a value: {}.",
                                                     sqlite3_errstr(bind_rc_)));
    }
    column_ = 0;
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return database_error(db_);
  }

  // Steps to the end; returns how many rows it changed.
  Result<int> run() {
    Result<bool> row = step();
    while (row && *row) row = step();
    if (!row) return row.error();
    return sqlite3_changes(db_);
  }

  // The current row's columns, read in order: each call reads the next one.
  int64_t int64() { return sqlite3_column_int64(stmt_, column_++); }
  double real() { return sqlite3_column_double(stmt_, column_++); }
  std::string text() {
    const int column = column_++;
    const auto* chars = sqlite3_column_text(stmt_, column);
    if (chars == nullptr) return {};
    return std::string(reinterpret_cast<const char*>(chars),
                       static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
  }

 private:
  template <class T>
  void bind_one(int index, const T& value) {
    int rc = SQLITE_OK;
    if constexpr (std::is_same_v<T, std::optional<int64_t>>) {
      rc = value ? sqlite3_bind_int64(stmt_, index, *value)
                 : sqlite3_bind_null(stmt_, index);
    } else if constexpr (std::is_floating_point_v<T>) {
      rc = sqlite3_bind_double(stmt_, index, value);
    } else if constexpr (std::is_integral_v<T>) {
      rc = sqlite3_bind_int64(stmt_, index, static_cast<sqlite3_int64>(value));
    } else {
      const std::string_view text(value);
      rc = sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                             SQLITE_TRANSIENT);
    }
    if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  StatementCache* cache_;
  StatementCache::node_type node_;
  int bind_rc_ = SQLITE_OK;
  int column_ = 0;
};

template <class... Args>
Result<Statement> prepare(Connection& db, std::string_view sql, const Args&... args) {
  StatementCache& cache = db.statements();
  StatementCache::node_type node = cache.extract(std::string(sql));
  if (node.empty()) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                           SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
      return database_error(db);
    }
    // Made as a node of the cache, so that giving it back allocates nothing.
    node = cache.extract(cache.emplace(std::string(sql), stmt).first);
  }
  Statement statement(db, cache, std::move(node));
  statement.bind(args...);
  return statement;
}

// Runs a statement that returns no rows; returns how many rows it changed.
template <class... Args>
Result<int> execute(Connection& db, std::string_view sql, const Args&... args) {
  Result<Statement> statement = prepare(db, sql, args...);
  if (!statement) return statement.error();
  return statement->run();
}

// Runs a query whose one row is one integer (a count, a sum).
template <class... Args>
Result<int64_t> query_int(Connection& db, std::string_view sql, const Args&... args) {
  Result<Statement> statement = prepare(db, sql, args...);
  if (!statement) return statement.error();
  Result<bool> row = statement->step();
  if (!row) return row.error();
  return *row ? statement->int64() : 0;
}

// BEGIN IMMEDIATE: the write lock is taken at the start, so a transaction that reads and then
// writes never meets another writer halfway (a SQLITE_BUSY that busy_timeout cannot wait out).
// Rolled back when destroyed before commit().
class Transaction {
 public:
  static Result<Transaction> begin(sqlite3* db) {
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return database_error(db);
    }
    return Transaction(db);
  }
  Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  ~Transaction() {
    // Some failures (a full disk, an I/O error) have rolled back already.
    if (db_ != nullptr && sqlite3_get_autocommit(db_) == 0) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }

  Result<void> commit() {
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return database_error(db_);
    }
    db_ = nullptr;
    return {};
  }

 private:
  explicit Transaction(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

JobStatus parse_status(std::string_view name) {
  for (JobStatus status : {JobStatus::kQueued, JobStatus::kRunning, JobStatus::kCompleted,
                           JobStatus::kFailed, JobStatus::kCancelled}) {
    if (status_name(status) == name) return status;
  }
  return JobStatus::kFailed;
}

std::string read_text(Statement& row) { return row.text(); }

Session read_session(Statement& row) {
  Session session;
  session.id = row.text();
  session.client_id = row.text();
  session.task_id = row.text();
  session.task_name = row.text();
  session.language = row.text();
  session.created = row.int64();
  session.expires_at = row.int64();
  return session;
}

Upload read_upload(Statement& row) {
  Upload upload;
  upload.id = row.text();
  upload.session_id = row.text();
  upload.client_id = row.text();
  upload.name = row.text();
  upload.blob_key = row.text();
  upload.length = row.int64();
  upload.offset = row.int64();
  upload.state = row.text() == "complete" ? UploadState::kComplete : UploadState::kReceiving;
  upload.metadata = row.text();
  upload.info_json = row.text();
  upload.created = row.int64();
  upload.expires_at = row.int64();
  return upload;
}

Job read_job(Statement& row) {
  Job job;
  job.id = row.text();
  job.client_id = row.text();
  job.session_id = row.text();
  job.upload_id = row.text();
  job.request_json = row.text();
  job.body_hash = row.text();
  job.attribution_json = row.text();
  job.callback_url = row.text();
  job.stream_id = row.text();
  job.status = parse_status(row.text());
  job.progress = row.real();
  job.attempt = static_cast<int>(row.int64());
  job.cancel_requested = row.int64() != 0;
  job.frozen = row.int64();
  job.charged = row.int64();
  job.output_key = row.text();
  job.output_name = row.text();
  job.output_bytes = row.int64();
  job.result_json = row.text();
  job.error_json = row.text();
  job.created = row.int64();
  job.started = row.int64();
  job.finished = row.int64();
  job.callback_status = row.text();
  job.callback_attempts = static_cast<int>(row.int64());
  job.callback_due = row.int64();
  job.callback_error = row.text();
  return job;
}

Event read_event(Statement& row) {
  Event event;
  event.seq = row.int64();
  event.session_id = row.text();
  event.stream_id = row.text();
  event.type = row.text();
  event.data_json = row.text();
  return event;
}

// Every row of a query, read by `read`.
template <class T, class... Args>
Result<std::vector<T>> query_all(Connection& db, T (*read)(Statement&), std::string_view sql,
                                 const Args&... args) {
  Result<Statement> statement = prepare(db, sql, args...);
  if (!statement) return statement.error();
  std::vector<T> rows;
  for (;;) {
    Result<bool> row = statement->step();
    if (!row) return row.error();
    if (!*row) return rows;
    rows.push_back(read(*statement));
  }
}

// The first row of a query, read by `read`; empty when there is none.
template <class T, class... Args>
Result<std::optional<T>> query_one(Connection& db, T (*read)(Statement&), std::string_view sql,
                                   const Args&... args) {
  Result<Statement> statement = prepare(db, sql, args...);
  if (!statement) return statement.error();
  Result<bool> row = statement->step();
  if (!row) return row.error();
  if (!*row) return std::optional<T>();
  return std::optional<T>(read(*statement));
}

// What a job's ledger entries name it by.
struct JobRef {
  int64_t seq = 0;
  std::string client_id;
  std::string id;
  int64_t frozen = 0;
  JobStatus status = JobStatus::kQueued;
  int attempt = 0;
};

constexpr const char* kJobRefColumns = "seq, client_id, id, frozen, status, attempt";

JobRef read_job_ref(Statement& row) {
  JobRef ref;
  ref.seq = row.int64();
  ref.client_id = row.text();
  ref.id = row.text();
  ref.frozen = row.int64();
  ref.status = parse_status(row.text());
  ref.attempt = static_cast<int>(row.int64());
  return ref;
}

// Whether `job` is the attempt the store has running: only that one may end it.
bool runs(const std::optional<JobRef>& ref, const Job& job) {
  return ref && ref->status == JobStatus::kRunning && ref->attempt == job.attempt;
}

Result<void> add_entry(Connection& db, const std::string& client_id, std::optional<int64_t> job_seq,
                       const std::string& job_id, std::string_view kind, int64_t available_delta,
                       int64_t frozen_delta, const std::string& note, int64_t at) {
  Result<int> added =
      execute(db,
              "INSERT INTO ledger (client_id, job_seq, job_id, kind, "
              "available_delta, frozen_delta, note, at) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
              client_id, job_seq, job_id, kind, available_delta, frozen_delta, note, at);
  if (!added) return added.error();
  return {};
}

// The entries of a job's life: frozen at creation; at its end, the charge kept and the rest
// returned (settle), or all of it returned (release).
Result<void> freeze_entry(Connection& db, const JobRef& job, int64_t now) {
  return add_entry(db, job.client_id, job.seq, job.id, "freeze", -job.frozen, job.frozen, "", now);
}
Result<void> settle_entry(Connection& db, const JobRef& job, int64_t charged, int64_t now) {
  return add_entry(db, job.client_id, job.seq, job.id, "settle", job.frozen - charged, -job.frozen,
                   "", now);
}
Result<void> release_entry(Connection& db, const JobRef& job, const std::string& note, int64_t now) {
  return add_entry(db, job.client_id, job.seq, job.id, "release", job.frozen, -job.frozen, note,
                   now);
}

Result<int64_t> available_credits(Connection& db, const std::string& client_id) {
  return query_int(db, "SELECT COALESCE(SUM(available_delta), 0) FROM ledger WHERE client_id = ?",
                   client_id);
}

Result<std::optional<Job>> find_job(Connection& db, const std::string& id,
                                    const std::string& client_id) {
  return query_one(db, read_job,
                   fmt::format("SELECT {} FROM jobs WHERE id = ? AND client_id = ?", kJobColumns),
                   id, client_id);
}

Result<std::optional<JobRef>> find_job_ref(Connection& db, const std::string& id,
                                           const std::string& client_id) {
  return query_one(
      db, read_job_ref,
      fmt::format("SELECT {} FROM jobs WHERE id = ? AND client_id = ?", kJobRefColumns), id,
      client_id);
}

class SqliteStore final : public Store {
 public:
  SqliteStore(Connection writer, std::vector<Connection> readers)
      : writer_(std::move(writer)) {
    for (auto& reader : readers) {
      readers_.push_back(std::make_unique<Reader>(std::move(reader)));
    }
  }

  Result<void> ensure_client(const std::string& client_id, int64_t initial_credits,
                             int64_t now) override {
    std::lock_guard lock(mutex_);
    Connection& db = writer_;
    Result<Transaction> txn = Transaction::begin(db);
    if (!txn) return txn.error();
    Result<int> added =
        execute(db, "INSERT OR IGNORE INTO clients (id, created) VALUES (?, ?)", client_id, now);
    if (!added) return added.error();
    if (*added == 1) {
      Result<void> granted = add_entry(db, client_id, std::nullopt, "", "grant", initial_credits, 0,
                                       "initial credits", now);
      if (!granted) return granted;
    }
    return txn->commit();
  }

  Result<void> put_token(const std::string& token_hash, const std::string& client_id,
                         int64_t expires_at) override {
    std::lock_guard lock(mutex_);
    Result<int> put = execute(writer_,
                              "INSERT INTO tokens (hash, client_id, expires_at) VALUES (?, ?, ?) "
                              "ON CONFLICT (hash) DO UPDATE SET expires_at = excluded.expires_at "
                              "WHERE client_id = excluded.client_id",
                              token_hash, client_id, expires_at);
    if (!put) return put.error();
    return {};
  }

  Result<std::optional<TokenOwner>> token_client(const std::string& token_hash,
                                                 int64_t now) override {
    Reading r = reader();
    return query_one(
        r.db,
        +[](Statement& row) {
          TokenOwner owner;
          owner.client_id = row.text();
          owner.expires_at = row.int64();
          return owner;
        },
        "SELECT client_id, expires_at FROM tokens WHERE hash = ? AND expires_at > ?", token_hash,
        now);
  }

  Result<Balance> balance(const std::string& client_id) override {
    Reading r = reader();
    Result<std::optional<Balance>> sums = query_one(
        r.db,
        +[](Statement& row) {
          Balance balance;
          balance.available = row.int64();
          balance.frozen = row.int64();
          balance.total = balance.available + balance.frozen;
          return balance;
        },
        "SELECT COALESCE(SUM(available_delta), 0), COALESCE(SUM(frozen_delta), 0) FROM ledger "
        "WHERE client_id = ?",
        client_id);
    if (!sums) return sums.error();
    return sums->value_or(Balance{});
  }

  Result<void> grant(const std::string& client_id, int64_t amount, const std::string& note,
                     int64_t now) override {
    std::lock_guard lock(mutex_);
    return add_entry(writer_, client_id, std::nullopt, "", "grant", amount, 0, note, now);
  }

  Result<void> put_session(const Session& s) override {
    std::lock_guard lock(mutex_);
    // Another client's session of the same id is left as it is.
    Result<int> put =
        execute(writer_,
                fmt::format("INSERT INTO sessions ({}) VALUES (?, ?, ?, ?, ?, ?, ?) "
                            "ON CONFLICT (id) DO UPDATE SET "
                            "task_id = excluded.task_id, "
                            "task_name = excluded.task_name, "
                            "language = excluded.language, "
                            "expires_at = excluded.expires_at "
                            "WHERE client_id = excluded.client_id",
                            kSessionColumns),
                s.id, s.client_id, s.task_id, s.task_name, s.language, s.created, s.expires_at);
    if (!put) return put.error();
    return {};
  }

  Result<std::optional<Session>> session(const std::string& id,
                                         const std::string& client_id) override {
    Reading r = reader();
    return query_one(
        r.db, read_session,
        fmt::format("SELECT {} FROM sessions WHERE id = ? AND client_id = ?", kSessionColumns), id,
        client_id);
  }

  Result<void> put_upload(const Upload& u) override {
    std::lock_guard lock(mutex_);
    // Another client's upload of the same id is left as it is.
    Result<int> put =
        execute(writer_,
                fmt::format("INSERT INTO uploads ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                            "ON CONFLICT (id) DO UPDATE SET "
                            "name = excluded.name, blob_key = excluded.blob_key, "
                            "length = excluded.length, upload_offset = excluded.upload_offset, "
                            "state = excluded.state, metadata = excluded.metadata, "
                            "info_json = excluded.info_json, expires_at = excluded.expires_at "
                            "WHERE client_id = excluded.client_id",
                            kUploadColumns),
                u.id, u.session_id, u.client_id, u.name, u.blob_key, u.length, u.offset,
                u.state == UploadState::kComplete ? "complete" : "receiving", u.metadata,
                u.info_json, u.created, u.expires_at);
    if (!put) return put.error();
    return {};
  }

  Result<std::optional<Upload>> upload(const std::string& id,
                                       const std::string& client_id) override {
    Reading r = reader();
    return query_one(
        r.db, read_upload,
        fmt::format("SELECT {} FROM uploads WHERE id = ? AND client_id = ?", kUploadColumns), id,
        client_id);
  }

  Result<bool> advance_upload(const std::string& id, int64_t from, int64_t to) override {
    std::lock_guard lock(mutex_);
    Result<int> moved = execute(
        writer_, "UPDATE uploads SET upload_offset = ? WHERE id = ? AND upload_offset = ?", to,
        id, from);
    if (!moved) return moved.error();
    return *moved == 1;
  }

  Result<void> complete_upload(const std::string& id, const std::string& info_json) override {
    std::lock_guard lock(mutex_);
    Result<int> done =
        execute(writer_, "UPDATE uploads SET state = 'complete', info_json = ? WHERE id = ?",
                info_json, id);
    if (!done) return done.error();
    return {};
  }

  Result<void> delete_upload(const std::string& id) override {
    std::lock_guard lock(mutex_);
    Result<int> deleted = execute(writer_, "DELETE FROM uploads WHERE id = ?", id);
    if (!deleted) return deleted.error();
    return {};
  }

  Result<std::vector<Upload>> session_uploads(const std::string& session_id) override {
    Reading r = reader();
    return query_all(r.db, read_upload,
                     fmt::format("SELECT {} FROM uploads WHERE session_id = ? AND "
                                 "state = 'complete' ORDER BY created, rowid",
                                 kUploadColumns),
                     session_id);
  }

  Result<int64_t> client_bytes(const std::string& client_id) override {
    Reading r = reader();
    return query_int(r.db,
                     "SELECT (SELECT COALESCE(SUM(MAX(length, upload_offset)), 0) FROM uploads "
                     "WHERE client_id = ?) + "
                     "(SELECT COALESCE(SUM(output_bytes), 0) FROM jobs WHERE client_id = ?)",
                     client_id, client_id);
  }

  Result<std::optional<Job>> insert_job(const Job& job, int64_t now) override {
    std::lock_guard lock(mutex_);
    Connection& db = writer_;
    Result<Transaction> txn = Transaction::begin(db);
    if (!txn) return txn.error();
    Result<std::optional<Job>> existing = find_job(db, job.id, job.client_id);
    if (!existing || existing->has_value()) return existing;
    Result<int64_t> available = available_credits(db, job.client_id);
    if (!available) return available.error();
    if (*available < job.frozen) return std::optional<Job>();

    Result<int> inserted = execute(
        db,
        fmt::format("INSERT INTO jobs ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', 0, 0, 0, "
                    "?, 0, '', '', 0, '', '', ?, 0, 0, '', 0, 0, '')",
                    kJobColumns),
        job.id, job.client_id, job.session_id, job.upload_id, job.request_json, job.body_hash,
        job.attribution_json, job.callback_url, job.stream_id, job.frozen, now);
    if (!inserted) return inserted.error();
    const JobRef ref{sqlite3_last_insert_rowid(db), job.client_id, job.id, job.frozen};
    Result<void> frozen = freeze_entry(db, ref, now);
    if (!frozen) return frozen.error();

    Result<std::optional<Job>> created = find_job(db, job.id, job.client_id);
    if (!created) return created;
    Result<void> committed = txn->commit();
    if (!committed) return committed.error();
    return created;
  }

  Result<std::optional<Job>> job(const std::string& id, const std::string& client_id) override {
    Reading r = reader();
    return find_job(r.db, id, client_id);
  }

  Result<std::vector<Job>> session_jobs(const std::string& session_id) override {
    Reading r = reader();
    return query_all(
        r.db, read_job,
        fmt::format("SELECT {} FROM jobs WHERE session_id = ? ORDER BY created, seq", kJobColumns),
        session_id);
  }

  Result<std::optional<Job>> claim_job(int64_t now) override {
    std::lock_guard lock(mutex_);
    Connection& db = writer_;
    Result<Transaction> txn = Transaction::begin(db);
    if (!txn) return txn.error();
    Result<std::optional<JobRef>> oldest = query_one(
        db, read_job_ref,
        fmt::format("SELECT {} FROM jobs WHERE status = 'queued' ORDER BY created, seq LIMIT 1",
                    kJobRefColumns));
    if (!oldest) return oldest.error();
    if (!oldest->has_value()) return std::optional<Job>();
    const JobRef& ref = **oldest;

    Result<int> claimed = execute(db,
                                  "UPDATE jobs SET status = 'running', attempt = attempt + 1, "
                                  "progress = 0, cancel_requested = 0, started = ? WHERE seq = ?",
                                  now, ref.seq);
    if (!claimed) return claimed.error();
    Result<std::optional<Job>> job = find_job(db, ref.id, ref.client_id);
    if (!job) return job;
    Result<void> committed = txn->commit();
    if (!committed) return committed.error();
    return job;
  }

  Result<bool> job_progress(const Job& job, double progress) override {
    std::lock_guard lock(mutex_);
    Connection& db = writer_;
    Result<int> updated =
        execute(db,
                "UPDATE jobs SET progress = ? WHERE id = ? AND client_id = ? "
                "AND status = 'running' AND attempt = ?",
                std::clamp(progress, 0.0, 100.0), job.id, job.client_id, job.attempt);
    if (!updated) return updated.error();
    // Not running under this attempt any more (requeued, ended, expired): stop all the same.
    if (*updated == 0) return true;
    Result<int64_t> cancel =
        query_int(db, "SELECT cancel_requested FROM jobs WHERE id = ? AND client_id = ?", job.id,
                  job.client_id);
    if (!cancel) return cancel.error();
    return *cancel != 0;
  }

  Result<bool> complete_job(const Job& job, int64_t charged, const std::string& output_key,
                            const std::string& output_name, int64_t output_bytes,
                            const std::string& result_json, int64_t now) override {
    std::lock_guard lock(mutex_);
    Connection& db = writer_;
    Result<Transaction> txn = Transaction::begin(db);
    if (!txn) return txn.error();
    Result<std::optional<JobRef>> ref = find_job_ref(db, job.id, job.client_id);
    if (!ref) return ref.error();
    if (!runs(*ref, job)) return false;
    // A charge is at most what was frozen: the price the client agreed to when it asked.
    const int64_t kept = std::clamp<int64_t>(charged, 0, (*ref)->frozen);
    Result<int> ended =
        execute(db,
                "UPDATE jobs SET status = 'completed', progress = 100, "
                "charged = ?, output_key = ?, output_name = ?, output_bytes = ?, "
                "result_json = ?, finished = ? WHERE seq = ?",
                kept, output_key, output_name, output_bytes, result_json, now, (*ref)->seq);
    if (!ended) return ended.error();
    Result<void> settled = settle_entry(db, **ref, kept, now);
    if (!settled) return settled.error();
    Result<void> committed = txn->commit();
    if (!committed) return committed.error();
    return true;
  }

  Result<bool> fail_job(const Job& job, JobStatus status, const std::string& error_json,
                        int64_t now) override {
    if (status != JobStatus::kFailed && status != JobStatus::kCancelled) {
      return Error(ErrorCode::kInternal,
                   fmt::format("fail_job() ends a job as failed or cancelled, not as {}.",
                               status_name(status)));
    }
    std::lock_guard lock(mutex_);
    Connection& db = writer_;
    Result<Transaction> txn = Transaction::begin(db);
    if (!txn) return txn.error();
    Result<std::optional<JobRef>> ref = find_job_ref(db, job.id, job.client_id);
    if (!ref) return ref.error();
    if (!runs(*ref, job)) return false;
    Result<int> ended =
        execute(db, "UPDATE jobs SET status = ?, error_json = ?, finished = ? WHERE seq = ?",
                status_name(status), error_json, now, (*ref)->seq);
    if (!ended) return ended.error();
    Result<void> released = release_entry(db, **ref, "", now);
    if (!released) return released.error();
    Result<void> committed = txn->commit();
    if (!committed) return committed.error();
    return true;
  }

  Result<bool> cancel_job(const std::string& id, const std::string& client_id,
                          int64_t now) override {
    std::lock_guard lock(mutex_);
    Connection& db = writer_;
    Result<Transaction> txn = Transaction::begin(db);
    if (!txn) return txn.error();
    Result<std::optional<JobRef>> ref = find_job_ref(db, id, client_id);
    if (!ref) return ref.error();
    if (!ref->has_value()) return false;
    const JobRef& job = **ref;
    if (job.status == JobStatus::kQueued) {
      Result<int> cancelled = execute(
          db, "UPDATE jobs SET status = 'cancelled', finished = ? WHERE seq = ?", now, job.seq);
      if (!cancelled) return cancelled.error();
      Result<void> released = release_entry(db, job, "", now);
      if (!released) return released.error();
    } else if (job.status == JobStatus::kRunning) {
      Result<int> asked =
          execute(db, "UPDATE jobs SET cancel_requested = 1 WHERE seq = ?", job.seq);
      if (!asked) return asked.error();
    } else {
      return false;
    }
    Result<void> committed = txn->commit();
    if (!committed) return committed.error();
    return true;
  }

  Result<std::vector<Job>> due_callbacks(int64_t now, int limit) override {
    Reading r = reader();
    return query_all(r.db, read_job,
                     fmt::format("SELECT {} FROM jobs WHERE callback_status = 'pending' AND "
                                 "callback_due <= ? ORDER BY callback_due, seq LIMIT ?",
                                 kJobColumns),
                     now, static_cast<int64_t>(limit));
  }

  Result<void> callback_attempted(const Job& job, bool delivered, const std::string& error,
                                  int64_t retry_at) override {
    std::lock_guard lock(mutex_);
    const char* status = delivered ? "delivered" : retry_at > 0 ? "pending" : "failed";
    Result<int> done = execute(
        writer_,
        "UPDATE jobs SET callback_status = ?, callback_attempts = callback_attempts + 1, "
        "callback_due = ?, callback_error = ? WHERE id = ? AND client_id = ? AND "
        "callback_status = 'pending'",
        std::string(status), delivered ? int64_t{0} : retry_at, delivered ? std::string() : error,
        job.id, job.client_id);
    if (!done) return done.error();
    return {};
  }

  Result<int> requeue_running() override {
    std::lock_guard lock(mutex_);
    Connection& db = writer_;
    Result<Transaction> txn = Transaction::begin(db);
    if (!txn) return txn.error();
    // A job whose cancel was asked is cancelled, not run again. The interface gives no time,
    // so the clock's.
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    Result<std::vector<JobRef>> asked = query_all(
        db, read_job_ref,
        fmt::format("SELECT {} FROM jobs WHERE status = 'running' AND cancel_requested = 1",
                    kJobRefColumns));
    if (!asked) return asked.error();
    for (const JobRef& ref : *asked) {
      Result<int> cancelled = execute(
          db, "UPDATE jobs SET status = 'cancelled', finished = ? WHERE seq = ?", now, ref.seq);
      if (!cancelled) return cancelled.error();
      Result<void> released = release_entry(db, ref, "", now);
      if (!released) return released.error();
    }
    Result<int> requeued =
        execute(db, "UPDATE jobs SET status = 'queued', progress = 0 WHERE status = 'running'");
    if (!requeued) return requeued;
    Result<void> committed = txn->commit();
    if (!committed) return committed.error();
    return requeued;
  }

  Result<int> queued_jobs() override {
    Reading r = reader();
    Result<int64_t> count =
        query_int(r.db, "SELECT COUNT(*) FROM jobs WHERE status = 'queued'");
    if (!count) return count.error();
    return static_cast<int>(*count);
  }

  Result<int64_t> append_event(const Event& event) override {
    std::lock_guard lock(mutex_);
    Connection& db = writer_;
    Result<int> added = execute(
        db, "INSERT INTO events (session_id, stream_id, type, data_json) VALUES (?, ?, ?, ?)",
        event.session_id, event.stream_id, event.type, event.data_json);
    if (!added) return added.error();
    return static_cast<int64_t>(sqlite3_last_insert_rowid(db));
  }

  Result<std::vector<Event>> stream_events(const std::string& stream_id, int64_t after) override {
    Reading r = reader();
    return query_all(
        r.db, read_event,
        fmt::format("SELECT {} FROM events WHERE stream_id = ? AND seq > ? ORDER BY seq",
                    kEventColumns),
        stream_id, after);
  }

  Result<std::optional<std::string>> event_stream(const std::string& session_id,
                                                  int64_t seq) override {
    Reading r = reader();
    return query_one(r.db, read_text,
                     "SELECT stream_id FROM events WHERE session_id = ? AND seq = ?", session_id,
                     seq);
  }

  Result<std::vector<std::string>> expire(int64_t now) override {
    std::lock_guard lock(mutex_);
    Connection& db = writer_;
    Result<Transaction> txn = Transaction::begin(db);
    if (!txn) return txn.error();

    Result<std::vector<std::string>> keys = query_all(
        db, read_text,
        fmt::format("SELECT blob_key FROM uploads WHERE blob_key != '' AND session_id IN {0} "
                    "UNION ALL "
                    "SELECT output_key FROM jobs WHERE output_key != '' AND session_id IN {0}",
                    kExpiredSessions),
        now, now);
    if (!keys) return keys;
    // An unfinished upload expires on its own, sooner than its session.
    Result<std::vector<std::string>> unfinished_uploads = query_all(
        db, read_text,
        "SELECT blob_key FROM uploads WHERE state = 'receiving' AND expires_at < ? AND "
        "blob_key != ''",
        now);
    if (!unfinished_uploads) return unfinished_uploads;
    keys->insert(keys->end(), unfinished_uploads->begin(), unfinished_uploads->end());
    Result<int> dropped =
        execute(db, "DELETE FROM uploads WHERE state = 'receiving' AND expires_at < ?", now);
    if (!dropped) return dropped.error();

    // The ledger outlives the jobs: what an unfinished one froze goes back first.
    Result<std::vector<JobRef>> unfinished =
        query_all(db, read_job_ref,
                  fmt::format("SELECT {} FROM jobs WHERE status IN ('queued', 'running') "
                              "AND session_id IN {}",
                              kJobRefColumns, kExpiredSessions),
                  now);
    if (!unfinished) return unfinished.error();
    for (const JobRef& ref : *unfinished) {
      Result<void> released = release_entry(db, ref, "session expired", now);
      if (!released) return released.error();
    }

    for (const char* table : {"events", "jobs", "uploads"}) {
      Result<int> deleted = execute(
          db, fmt::format("DELETE FROM {} WHERE session_id IN {}", table, kExpiredSessions), now);
      if (!deleted) return deleted.error();
    }
    Result<int> sessions = execute(db, "DELETE FROM sessions WHERE expires_at < ?", now);
    if (!sessions) return sessions.error();
    // token_client() refuses a token from its expires_at on.
    Result<int> tokens = execute(db, "DELETE FROM tokens WHERE expires_at <= ?", now);
    if (!tokens) return tokens.error();

    Result<void> committed = txn->commit();
    if (!committed) return committed.error();
    return keys;
  }

 private:
  // A connection that only reads, held for one query. In WAL mode it sees every commit made
  // before the query began, and waits for no writer.
  struct Reader {
    explicit Reader(Connection c) : db(std::move(c)) {}
    std::mutex mutex;
    Connection db;
  };
  struct Reading {
    std::unique_lock<std::mutex> lock;
    Connection& db;
  };
  // A free reader (the first if all are busy); the writer where there are none.
  Reading reader() {
    for (auto& r : readers_) {
      std::unique_lock lock(r->mutex, std::try_to_lock);
      if (lock) return Reading{std::move(lock), r->db};
    }
    if (readers_.empty()) return Reading{std::unique_lock(mutex_), writer_};
    return Reading{std::unique_lock(readers_.front()->mutex), readers_.front()->db};
  }

  std::mutex mutex_;  // the writer's
  Connection writer_;
  std::vector<std::unique_ptr<Reader>> readers_;
};

Error not_peels(const std::string& path, std::string_view why) {
  return Error(ErrorCode::kInternal,
               fmt::format("{} is not peel's database ({}): give the service a file of its own "
                           "(a new one is created with its tables).",
                           path, why));
}

// Creates the tables in a file that has none, or checks that the file is peel's database of
// this version. In one transaction: two processes opening a new file create them once.
Result<void> prepare_schema(Connection& db, const std::string& path) {
  Result<Transaction> txn = Transaction::begin(db);
  if (!txn) return txn.error();
  Result<int64_t> application_id = query_int(db, "PRAGMA application_id");
  if (!application_id) return application_id.error();
  Result<int64_t> version = query_int(db, "PRAGMA user_version");
  if (!version) return version.error();

  if (*application_id == 0 && *version == 0) {
    Result<int64_t> tables = query_int(db, "SELECT COUNT(*) FROM sqlite_schema");
    if (!tables) return tables.error();
    if (*tables != 0) return not_peels(path, "it holds another program's tables");
    if (sqlite3_exec(db, kSchema, nullptr, nullptr, nullptr) != SQLITE_OK ||
        sqlite3_exec(db, kSchemaV2, nullptr, nullptr, nullptr) != SQLITE_OK) {
      return database_error(db);
    }
    const std::string mark = fmt::format("PRAGMA application_id = {}; PRAGMA user_version = {};",
                                         kApplicationId, kSchemaVersion);
    if (sqlite3_exec(db, mark.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
      return database_error(db);
    }
  } else if (*application_id != kApplicationId) {
    return not_peels(path, fmt::format("its application id is {:#x}", *application_id));
  } else if (*version == 1) {
    // The database of an earlier peel: brought up to this version where it is.
    if (sqlite3_exec(db, kSchemaV2, nullptr, nullptr, nullptr) != SQLITE_OK ||
        sqlite3_exec(db, fmt::format("PRAGMA user_version = {};", kSchemaVersion).c_str(), nullptr,
                     nullptr, nullptr) != SQLITE_OK) {
      return database_error(db);
    }
  } else if (*version != kSchemaVersion) {
    return Error(ErrorCode::kInternal,
                 fmt::format("{} is peel's database of schema version {}, and this peel reads "
                             "version {}: run the peel that made it, or give a new file.",
                             path, *version, kSchemaVersion));
  }
  return txn->commit();
}

// One connection to the database file, as each of the store's is set up.
Result<Connection> open_connection(const std::string& path) {
  sqlite3* raw = nullptr;
  // NOMUTEX: the store's own mutexes keep each connection to one thread at a time.
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  Database db(raw);
  if (rc != SQLITE_OK) {
    return Error(ErrorCode::kInternal,
                 fmt::format("Cannot open the service's database {}: {}.", path,
                             raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  return Connection(std::move(db));
}

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path) {
  Result<Connection> opened = open_connection(path);
  if (!opened) return opened.error();
  Connection& db = *opened;
  // WAL: readers do not wait for the writer, and a commit appends to one file.
  Result<std::optional<std::string>> mode = query_one(db, read_text, "PRAGMA journal_mode = WAL");
  if (!mode) {
    if (sqlite3_errcode(db) == SQLITE_NOTADB) return not_peels(path, "not a SQLite file");
    return mode.error();
  }
  if (*mode != "wal") {
    return Error(ErrorCode::kInternal,
                 fmt::format("The service's database {} cannot be kept in WAL mode on this file "
                             "system: put it on a local disk.",
                             path));
  }
  // FULL, not NORMAL. In WAL mode NORMAL keeps the file whole through a power cut but may lose
  // the last commits, and each of those was already answered to someone: a 201 for a render,
  // an upload offset, a settled charge and its callback. FULL costs one fsync of the WAL per
  // commit, small next to the run of a job or the fsync of every upload chunk.
  // foreign_keys: a session, an upload or a job of a client that was never recorded is refused.
  if (sqlite3_exec(db, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;", nullptr, nullptr,
                   nullptr) != SQLITE_OK) {
    return database_error(db);
  }
  Result<void> schema = prepare_schema(db, path);
  if (!schema) return schema.error();

  // Connections that only read, so that a poll never waits behind a commit's fsync. A
  // database in memory is one connection's own: its reads go to that one.
  std::vector<Connection> readers;
  const char* file = sqlite3_db_filename(db, "main");
  if (file != nullptr && *file != '\0') {
    for (int i = 0; i < kReaders; ++i) {
      Result<Connection> reader = open_connection(path);
      if (!reader) return reader.error();
      if (sqlite3_exec(*reader, "PRAGMA query_only = 1;", nullptr, nullptr, nullptr) !=
          SQLITE_OK) {
        return database_error(*reader);
      }
      readers.push_back(std::move(*reader));
    }
  }
  return std::unique_ptr<Store>(
      std::make_unique<SqliteStore>(std::move(*opened), std::move(readers)));
}

}  // namespace peel::store
