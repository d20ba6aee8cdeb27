// The SQLite Store on real database files: the credits ledger along every path a job takes,
// the queue's fencing and concurrency, isolation between clients, durability and retention.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"
#include "support/support.h"

namespace peel::store {
namespace {

// The value of a Result; a failure ends the test with the store's message.
template <class T>
T must(Result<T> result) {
  if (!result.ok()) throw std::runtime_error(result.error().message);
  return std::move(result).value();
}
void must(Result<void> result) {
  if (!result.ok()) throw std::runtime_error(result.error().message);
}

void expect_balance(Store& store, const std::string& client, int64_t available, int64_t frozen) {
  const Balance balance = must(store.balance(client));
  EXPECT_EQ(balance.available, available) << client;
  EXPECT_EQ(balance.frozen, frozen) << client;
  EXPECT_EQ(balance.total, available + frozen) << client;
}

Session make_session(const std::string& id, const std::string& client, int64_t expires_at) {
  Session session;
  session.id = id;
  session.client_id = client;
  session.task_id = "task-" + id;
  session.task_name = "Extract";
  session.language = "en";
  session.created = 100;
  session.expires_at = expires_at;
  return session;
}

Upload make_upload(const std::string& id, const std::string& session, const std::string& client) {
  Upload upload;
  upload.id = id;
  upload.session_id = session;
  upload.client_id = client;
  upload.name = id + ".mp4";
  upload.blob_key = "uploads/" + id;
  upload.length = 100;
  upload.created = 100;
  upload.expires_at = 10000;
  return upload;
}

Job make_job(const std::string& id, int64_t frozen, const std::string& client = "alice",
             const std::string& session = "s1") {
  Job job;
  job.id = id;
  job.client_id = client;
  job.session_id = session;
  job.upload_id = "u1";
  job.request_json = R"({"format":"mp3"})";
  job.body_hash = "hash-" + id;
  job.attribution_json = "{}";
  job.callback_url = "https://example.com/done";
  job.frozen = frozen;
  return job;
}

class SqliteStore : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = must(open_sqlite_store(path()));
    must(store_->ensure_client("alice", 100, 10));
    must(store_->put_session(make_session("s1", "alice", 10000)));
  }

  std::string path() const { return dir_ / "peel.db"; }

  // Inserts a job that must be accepted.
  Job insert(const Job& job, int64_t now = 200) {
    std::optional<Job> inserted = must(store_->insert_job(job, now));
    if (!inserted) throw std::runtime_error("insert_job refused " + job.id);
    return *inserted;
  }
  Job claim(int64_t now = 300) {
    std::optional<Job> claimed = must(store_->claim_job(now));
    if (!claimed) throw std::runtime_error("nothing to claim");
    return *claimed;
  }
  Job job(const std::string& id, const std::string& client = "alice") {
    std::optional<Job> found = must(store_->job(id, client));
    if (!found) throw std::runtime_error("no job " + id);
    return *found;
  }

  test::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(SqliteStore, InitialGrantAndGrants) {
  expect_balance(*store_, "alice", 100, 0);
  must(store_->grant("alice", 25, "top-up", 20));
  expect_balance(*store_, "alice", 125, 0);
  must(store_->grant("alice", -5, "taken back", 30));
  expect_balance(*store_, "alice", 120, 0);
  expect_balance(*store_, "nobody", 0, 0);
}

TEST_F(SqliteStore, EnsureClientGrantsOnce) {
  must(store_->ensure_client("alice", 100, 20));
  must(store_->ensure_client("alice", 500, 30));
  expect_balance(*store_, "alice", 100, 0);
}

TEST_F(SqliteStore, EnsureClientGrantsOnceUnderConcurrentCalls) {
  std::vector<std::thread> threads;
  std::atomic<int> failures = 0;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (!store_->ensure_client("bob", 40, 50).ok()) ++failures;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
  expect_balance(*store_, "bob", 40, 0);
}

TEST_F(SqliteStore, InsertFreezesAndCompleteSettlesThePartialCharge) {
  const Job queued = insert(make_job("r1", 30));
  EXPECT_EQ(queued.status, JobStatus::kQueued);
  EXPECT_EQ(queued.frozen, 30);
  EXPECT_EQ(queued.attempt, 0);
  EXPECT_EQ(queued.created, 200);
  EXPECT_EQ(queued.body_hash, "hash-r1");
  expect_balance(*store_, "alice", 70, 30);

  const Job running = claim(300);
  EXPECT_EQ(running.id, "r1");
  EXPECT_EQ(running.status, JobStatus::kRunning);
  EXPECT_EQ(running.attempt, 1);
  EXPECT_EQ(running.started, 300);
  expect_balance(*store_, "alice", 70, 30);

  EXPECT_TRUE(must(
      store_->complete_job(running, 12, "outputs/r1/a.mp3", "a.mp3", 4096, R"({"ok":true})", 400)));
  expect_balance(*store_, "alice", 88, 0);
  const Job done = job("r1");
  EXPECT_EQ(done.status, JobStatus::kCompleted);
  EXPECT_EQ(done.charged, 12);
  EXPECT_EQ(done.progress, 100);
  EXPECT_EQ(done.output_key, "outputs/r1/a.mp3");
  EXPECT_EQ(done.output_name, "a.mp3");
  EXPECT_EQ(done.output_bytes, 4096);
  EXPECT_EQ(done.result_json, R"({"ok":true})");
  EXPECT_EQ(done.finished, 400);
}

TEST_F(SqliteStore, ChargeIsAtMostWhatWasFrozen) {
  insert(make_job("r1", 30));
  EXPECT_TRUE(must(store_->complete_job(claim(), 50, "outputs/r1", "a.mp3", 1, "{}", 400)));
  EXPECT_EQ(job("r1").charged, 30);
  expect_balance(*store_, "alice", 70, 0);
}

TEST_F(SqliteStore, FailReleasesTheFrozenCredits) {
  insert(make_job("r1", 30));
  EXPECT_TRUE(must(store_->fail_job(claim(), JobStatus::kFailed, R"({"code":"no_audio"})", 400)));
  expect_balance(*store_, "alice", 100, 0);
  const Job failed = job("r1");
  EXPECT_EQ(failed.status, JobStatus::kFailed);
  EXPECT_EQ(failed.error_json, R"({"code":"no_audio"})");
  EXPECT_EQ(failed.finished, 400);
  EXPECT_EQ(failed.charged, 0);
}

TEST_F(SqliteStore, FailJobTakesOnlyFailedOrCancelled) {
  insert(make_job("r1", 30));
  const Job running = claim();
  const Result<bool> refused = store_->fail_job(running, JobStatus::kCompleted, "{}", 400);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kInternal);
  EXPECT_EQ(job("r1").status, JobStatus::kRunning);
  expect_balance(*store_, "alice", 70, 30);
}

TEST_F(SqliteStore, CancelOfAQueuedJobReleasesAtOnce) {
  insert(make_job("r1", 30));
  EXPECT_TRUE(must(store_->cancel_job("r1", "alice", 250)));
  expect_balance(*store_, "alice", 100, 0);
  EXPECT_EQ(job("r1").status, JobStatus::kCancelled);
  EXPECT_EQ(job("r1").finished, 250);
  EXPECT_FALSE(must(store_->claim_job(300)).has_value());
  EXPECT_FALSE(must(store_->cancel_job("r1", "alice", 260)));
  expect_balance(*store_, "alice", 100, 0);
  EXPECT_FALSE(must(store_->cancel_job("missing", "alice", 260)));
}

TEST_F(SqliteStore, CancelOfARunningJobAsksItsWorkerThenFailReleases) {
  insert(make_job("r1", 30));
  const Job running = claim();
  EXPECT_FALSE(must(store_->job_progress(running, 10)));
  EXPECT_TRUE(must(store_->cancel_job("r1", "alice", 350)));
  EXPECT_TRUE(job("r1").cancel_requested);
  EXPECT_EQ(job("r1").status, JobStatus::kRunning);
  expect_balance(*store_, "alice", 70, 30);

  EXPECT_TRUE(must(store_->job_progress(running, 20)));
  EXPECT_TRUE(must(store_->fail_job(running, JobStatus::kCancelled, "{}", 360)));
  EXPECT_EQ(job("r1").status, JobStatus::kCancelled);
  expect_balance(*store_, "alice", 100, 0);
  EXPECT_FALSE(must(store_->cancel_job("r1", "alice", 370)));
  EXPECT_FALSE(must(store_->fail_job(running, JobStatus::kCancelled, "{}", 380)));
  expect_balance(*store_, "alice", 100, 0);
}

TEST_F(SqliteStore, InsertJobTwiceReturnsTheFirstAndFreezesOnce) {
  insert(make_job("r1", 30));
  Job again = make_job("r1", 50);
  again.body_hash = "another body";
  const Job existing = insert(again, 900);
  EXPECT_EQ(existing.body_hash, "hash-r1");
  EXPECT_EQ(existing.frozen, 30);
  EXPECT_EQ(existing.created, 200);
  expect_balance(*store_, "alice", 70, 30);
  EXPECT_EQ(must(store_->queued_jobs()), 1);
}

TEST_F(SqliteStore, TooFewCreditsWritesNothing) {
  EXPECT_FALSE(must(store_->insert_job(make_job("r1", 101), 200)).has_value());
  EXPECT_FALSE(must(store_->job("r1", "alice")).has_value());
  EXPECT_EQ(must(store_->queued_jobs()), 0);
  expect_balance(*store_, "alice", 100, 0);

  insert(make_job("r2", 100));
  expect_balance(*store_, "alice", 0, 100);
  EXPECT_FALSE(must(store_->insert_job(make_job("r3", 1), 200)).has_value());
  expect_balance(*store_, "alice", 0, 100);
}

TEST_F(SqliteStore, CreditsOffFreezeNothing) {
  must(store_->ensure_client("free", 0, 10));
  must(store_->put_session(make_session("f1", "free", 10000)));
  insert(make_job("r1", 0, "free", "f1"));
  EXPECT_TRUE(must(store_->complete_job(claim(), 0, "outputs/r1", "a.mp3", 10, "{}", 400)));
  insert(make_job("r2", 0, "free", "f1"));
  EXPECT_TRUE(must(store_->fail_job(claim(), JobStatus::kFailed, "{}", 400)));
  expect_balance(*store_, "free", 0, 0);
}

TEST_F(SqliteStore, AStaleAttemptCannotEndTheJob) {
  insert(make_job("r1", 30));
  const Job first = claim(300);
  EXPECT_EQ(must(store_->requeue_running()), 1);
  EXPECT_EQ(job("r1").status, JobStatus::kQueued);
  EXPECT_EQ(job("r1").progress, 0);
  const Job second = claim(310);
  EXPECT_EQ(second.attempt, 2);

  // The first attempt's worker is told to stop and cannot touch the job.
  EXPECT_TRUE(must(store_->job_progress(first, 90)));
  EXPECT_EQ(job("r1").progress, 0);
  EXPECT_FALSE(must(store_->complete_job(first, 5, "outputs/old", "old.mp3", 1, "{}", 400)));
  EXPECT_FALSE(must(store_->fail_job(first, JobStatus::kFailed, "{}", 400)));
  expect_balance(*store_, "alice", 70, 30);

  EXPECT_FALSE(must(store_->job_progress(second, 50)));
  EXPECT_EQ(job("r1").progress, 50);
  EXPECT_TRUE(must(store_->complete_job(second, 10, "outputs/new", "new.mp3", 1, "{}", 410)));
  EXPECT_FALSE(must(store_->complete_job(second, 10, "outputs/new", "new.mp3", 1, "{}", 420)));
  EXPECT_FALSE(must(store_->fail_job(second, JobStatus::kFailed, "{}", 430)));
  expect_balance(*store_, "alice", 90, 0);
  EXPECT_EQ(job("r1").output_key, "outputs/new");
  EXPECT_EQ(job("r1").finished, 410);
}

TEST_F(SqliteStore, RequeueCancelsTheJobsWhoseCancelWasAsked) {
  insert(make_job("r1", 30));
  insert(make_job("r2", 20));
  claim();
  claim();
  EXPECT_TRUE(must(store_->cancel_job("r1", "alice", 350)));
  EXPECT_EQ(must(store_->requeue_running()), 1);
  EXPECT_EQ(job("r1").status, JobStatus::kCancelled);
  EXPECT_EQ(job("r2").status, JobStatus::kQueued);
  expect_balance(*store_, "alice", 80, 20);
  EXPECT_EQ(must(store_->requeue_running()), 0);
}

TEST_F(SqliteStore, ClaimTakesTheOldestFirst) {
  insert(make_job("late", 1), 500);
  insert(make_job("early-a", 1), 200);
  insert(make_job("early-b", 1), 200);
  EXPECT_EQ(must(store_->queued_jobs()), 3);
  EXPECT_EQ(claim().id, "early-a");
  EXPECT_EQ(claim().id, "early-b");
  EXPECT_EQ(claim().id, "late");
  EXPECT_FALSE(must(store_->claim_job(600)).has_value());
  EXPECT_EQ(must(store_->queued_jobs()), 0);

  std::vector<std::string> ids;
  for (const Job& j : must(store_->session_jobs("s1"))) ids.push_back(j.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"early-a", "early-b", "late"}));
}

TEST_F(SqliteStore, ConcurrentClaimsTakeEachJobOnce) {
  constexpr int kJobs = 40;
  constexpr int kThreads = 8;
  for (int i = 0; i < kJobs; ++i) insert(make_job("r" + std::to_string(i), 1), 200 + i);
  std::mutex mutex;
  std::map<std::string, int> claims;
  std::atomic<int> failures = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (;;) {
        Result<std::optional<Job>> claimed = store_->claim_job(300);
        if (!claimed.ok()) {
          ++failures;
          return;
        }
        if (!claimed->has_value()) return;
        std::lock_guard lock(mutex);
        ++claims[(*claimed)->id];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(claims.size(), static_cast<size_t>(kJobs));
  for (const auto& [id, count] : claims) EXPECT_EQ(count, 1) << id;
}

TEST_F(SqliteStore, AnotherClientFindsNothingOfAlices) {
  must(store_->ensure_client("bob", 100, 10));
  must(store_->put_session(make_session("b1", "bob", 10000)));
  must(store_->put_upload(make_upload("u1", "s1", "alice")));
  insert(make_job("r1", 30));

  EXPECT_FALSE(must(store_->session("s1", "bob")).has_value());
  EXPECT_TRUE(must(store_->session("s1", "alice")).has_value());
  EXPECT_FALSE(must(store_->upload("u1", "bob")).has_value());
  EXPECT_TRUE(must(store_->upload("u1", "alice")).has_value());
  EXPECT_FALSE(must(store_->job("r1", "bob")).has_value());
  EXPECT_FALSE(must(store_->cancel_job("r1", "bob", 300)));
  EXPECT_EQ(job("r1").status, JobStatus::kQueued);

  // Bob's putting rows of Alice's ids changes none of hers.
  Session taken = make_session("s1", "bob", 1);
  taken.task_name = "taken";
  must(store_->put_session(taken));
  EXPECT_EQ(must(store_->session("s1", "alice"))->task_name, "Extract");
  EXPECT_EQ(must(store_->session("s1", "alice"))->expires_at, 10000);
  Upload upload = make_upload("u1", "b1", "bob");
  upload.blob_key = "uploads/elsewhere";
  must(store_->put_upload(upload));
  EXPECT_EQ(must(store_->upload("u1", "alice"))->blob_key, "uploads/u1");
  EXPECT_FALSE(must(store_->upload("u1", "bob")).has_value());

  // A render id is the client's own: Bob's r1 is another job, with its own ledger entries.
  const Job bobs = insert(make_job("r1", 10, "bob", "b1"));
  EXPECT_EQ(bobs.client_id, "bob");
  expect_balance(*store_, "bob", 90, 10);
  expect_balance(*store_, "alice", 70, 30);
  EXPECT_TRUE(must(store_->cancel_job("r1", "bob", 300)));
  expect_balance(*store_, "bob", 100, 0);
  expect_balance(*store_, "alice", 70, 30);
  EXPECT_EQ(job("r1").status, JobStatus::kQueued);
}

TEST_F(SqliteStore, AdvanceUploadMovesOnlyFromTheOffsetItHolds) {
  must(store_->put_upload(make_upload("u1", "s1", "alice")));
  EXPECT_TRUE(must(store_->advance_upload("u1", 0, 40)));
  EXPECT_FALSE(must(store_->advance_upload("u1", 0, 30)));
  EXPECT_EQ(must(store_->upload("u1", "alice"))->offset, 40);
  EXPECT_TRUE(must(store_->advance_upload("u1", 40, 100)));
  EXPECT_FALSE(must(store_->advance_upload("missing", 0, 10)));

  EXPECT_TRUE(must(store_->session_uploads("s1")).empty());
  must(store_->complete_upload("u1", R"({"duration":1})"));
  const Upload done = *must(store_->upload("u1", "alice"));
  EXPECT_EQ(done.state, UploadState::kComplete);
  EXPECT_EQ(done.info_json, R"({"duration":1})");
  EXPECT_EQ(done.offset, 100);
  EXPECT_EQ(done.name, "u1.mp4");
  EXPECT_EQ(done.blob_key, "uploads/u1");

  must(store_->delete_upload("u1"));
  EXPECT_FALSE(must(store_->upload("u1", "alice")).has_value());
  must(store_->delete_upload("u1"));
}

TEST_F(SqliteStore, SessionUploadsAreTheCompleteOnesOldestFirst) {
  Upload later = make_upload("later", "s1", "alice");
  later.created = 300;
  Upload earlier = make_upload("earlier", "s1", "alice");
  earlier.created = 200;
  Upload receiving = make_upload("receiving", "s1", "alice");
  must(store_->put_upload(later));
  must(store_->put_upload(earlier));
  must(store_->put_upload(receiving));
  must(store_->complete_upload("later", "{}"));
  must(store_->complete_upload("earlier", "{}"));

  std::vector<std::string> ids;
  for (const Upload& u : must(store_->session_uploads("s1"))) ids.push_back(u.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"earlier", "later"}));
}

TEST_F(SqliteStore, ClientBytesCountUploadsAndOutputs) {
  Upload announced = make_upload("announced", "s1", "alice");
  announced.length = 100;
  announced.offset = 40;
  Upload deferred = make_upload("deferred", "s1", "alice");
  deferred.length = -1;
  deferred.offset = 70;
  must(store_->put_upload(announced));
  must(store_->put_upload(deferred));
  insert(make_job("r1", 1));
  EXPECT_TRUE(must(store_->complete_job(claim(), 1, "outputs/r1", "a.mp3", 1000, "{}", 400)));

  must(store_->ensure_client("bob", 0, 10));
  must(store_->put_session(make_session("b1", "bob", 10000)));
  must(store_->put_upload(make_upload("bobs", "b1", "bob")));

  EXPECT_EQ(must(store_->client_bytes("alice")), 100 + 70 + 1000);
  EXPECT_EQ(must(store_->client_bytes("bob")), 100);
  EXPECT_EQ(must(store_->client_bytes("nobody")), 0);
}

TEST_F(SqliteStore, TokensExpire) {
  must(store_->put_token("hash-1", "alice", 1000));
  EXPECT_EQ(must(store_->token_client("hash-1", 999))->client_id, "alice");
  EXPECT_EQ(must(store_->token_client("hash-1", 999))->expires_at, 1000);
  EXPECT_FALSE(must(store_->token_client("hash-1", 1000)).has_value());
  EXPECT_FALSE(must(store_->token_client("hash-2", 999)).has_value());

  must(store_->put_token("hash-3", "alice", 5000));
  must(store_->expire(2000));
  EXPECT_FALSE(must(store_->token_client("hash-1", 999)).has_value());
  EXPECT_EQ(must(store_->token_client("hash-3", 2000))->client_id, "alice");
}

TEST_F(SqliteStore, EventsAreNumberedInTheirSession) {
  must(store_->put_session(make_session("s2", "alice", 10000)));
  const int64_t a1 = must(store_->append_event({0, "s1", "m1", "progress", R"({"p":1})"}));
  const int64_t b1 = must(store_->append_event({0, "s1", "m2", "progress", R"({"p":2})"}));
  const int64_t other = must(store_->append_event({0, "s2", "m3", "done", "{}"}));
  const int64_t a2 = must(store_->append_event({0, "s1", "m1", "done", R"({"p":3})"}));
  EXPECT_LT(a1, b1);
  EXPECT_LT(b1, a2);
  EXPECT_NE(other, a2);

  const std::vector<Event> all = must(store_->stream_events("m1", 0));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].seq, a1);
  EXPECT_EQ(all[0].session_id, "s1");
  EXPECT_EQ(all[0].stream_id, "m1");
  EXPECT_EQ(all[0].type, "progress");
  EXPECT_EQ(all[0].data_json, R"({"p":1})");
  EXPECT_EQ(all[1].seq, a2);
  EXPECT_EQ(all[1].type, "done");

  const std::vector<Event> after = must(store_->stream_events("m1", a1));
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].seq, a2);
  EXPECT_TRUE(must(store_->stream_events("m1", a2)).empty());

  EXPECT_EQ(must(store_->event_stream("s1", b1)), "m2");
  EXPECT_EQ(must(store_->event_stream("s1", a2)), "m1");
  EXPECT_FALSE(must(store_->event_stream("s2", b1)).has_value());
  EXPECT_FALSE(must(store_->event_stream("s1", 999999)).has_value());
}

TEST_F(SqliteStore, ExpireRemovesSessionsAndReleasesTheirUnfinishedJobs) {
  must(store_->put_session(make_session("old", "alice", 1000)));
  must(store_->put_upload(make_upload("u-old", "old", "alice")));
  must(store_->put_upload(make_upload("u-new", "s1", "alice")));
  Upload keyless = make_upload("u-keyless", "old", "alice");
  keyless.blob_key = "";
  must(store_->put_upload(keyless));

  insert(make_job("done", 10, "alice", "old"), 200);
  insert(make_job("running", 20, "alice", "old"), 201);
  insert(make_job("queued", 30, "alice", "old"), 202);
  insert(make_job("kept", 5, "alice", "s1"), 203);
  EXPECT_TRUE(must(store_->complete_job(claim(), 4, "outputs/done", "a.mp3", 1, "{}", 400)));
  const Job running = claim();
  EXPECT_EQ(running.id, "running");
  must(store_->append_event({0, "old", "m-old", "progress", "{}"}));
  must(store_->append_event({0, "s1", "m-new", "progress", "{}"}));
  expect_balance(*store_, "alice", 100 - 4 - 20 - 30 - 5, 20 + 30 + 5);

  // Not yet: the session expires at 1000, and expire() takes those before `now`.
  EXPECT_TRUE(must(store_->expire(1000)).empty());
  EXPECT_TRUE(must(store_->session("old", "alice")).has_value());

  std::vector<std::string> keys = must(store_->expire(1001));
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"outputs/done", "uploads/u-old"}));
  expect_balance(*store_, "alice", 100 - 4 - 5, 5);

  EXPECT_FALSE(must(store_->session("old", "alice")).has_value());
  EXPECT_FALSE(must(store_->upload("u-old", "alice")).has_value());
  EXPECT_FALSE(must(store_->job("done", "alice")).has_value());
  EXPECT_FALSE(must(store_->job("queued", "alice")).has_value());
  EXPECT_TRUE(must(store_->stream_events("m-old", 0)).empty());
  EXPECT_EQ(must(store_->queued_jobs()), 1);
  EXPECT_TRUE(must(store_->session("s1", "alice")).has_value());
  EXPECT_TRUE(must(store_->upload("u-new", "alice")).has_value());
  EXPECT_EQ(job("kept").status, JobStatus::kQueued);
  EXPECT_EQ(must(store_->stream_events("m-new", 0)).size(), 1u);
  EXPECT_TRUE(must(store_->expire(1001)).empty());

  // The worker of the expired running job finds it gone: nothing is charged.
  EXPECT_TRUE(must(store_->job_progress(running, 50)));
  EXPECT_FALSE(must(store_->complete_job(running, 20, "outputs/r", "r.mp3", 1, "{}", 1100)));
  expect_balance(*store_, "alice", 100 - 4 - 5, 5);

  // A render id can come back once its job is gone, with ledger entries of its own.
  insert(make_job("queued", 30, "alice", "s1"), 1200);
  expect_balance(*store_, "alice", 100 - 4 - 5 - 30, 5 + 30);
  EXPECT_TRUE(must(store_->cancel_job("queued", "alice", 1300)));
  expect_balance(*store_, "alice", 100 - 4 - 5, 5);
}

TEST_F(SqliteStore, DataSurvivesReopening) {
  must(store_->put_token("hash-1", "alice", 5000));
  must(store_->put_upload(make_upload("u1", "s1", "alice")));
  EXPECT_TRUE(must(store_->advance_upload("u1", 0, 60)));
  insert(make_job("r1", 30));
  insert(make_job("r2", 20), 201);
  EXPECT_TRUE(must(store_->complete_job(claim(), 7, "outputs/r1", "a.mp3", 9, "{}", 400)));
  const int64_t seq = must(store_->append_event({0, "s1", "m1", "done", "{}"}));
  store_.reset();

  store_ = must(open_sqlite_store(path()));
  EXPECT_EQ(must(store_->token_client("hash-1", 100))->client_id, "alice");
  EXPECT_EQ(must(store_->session("s1", "alice"))->task_id, "task-s1");
  EXPECT_EQ(must(store_->upload("u1", "alice"))->offset, 60);
  EXPECT_EQ(job("r1").status, JobStatus::kCompleted);
  EXPECT_EQ(job("r1").charged, 7);
  EXPECT_EQ(job("r2").status, JobStatus::kQueued);
  expect_balance(*store_, "alice", 100 - 7 - 20, 20);
  EXPECT_EQ(must(store_->event_stream("s1", seq)), "m1");
  // The client was recorded: no second initial grant.
  must(store_->ensure_client("alice", 100, 500));
  expect_balance(*store_, "alice", 100 - 7 - 20, 20);
  // Later events number on from the earlier ones.
  EXPECT_GT(must(store_->append_event({0, "s1", "m1", "more", "{}"})), seq);
}

// Writes a SQLite file with `sql` run in it, as another program would.
void write_database(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

void expect_refused(const std::string& path, const std::string& words) {
  Result<std::unique_ptr<Store>> opened = open_sqlite_store(path);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, ErrorCode::kInternal);
  EXPECT_NE(opened.error().message.find(path), std::string::npos) << opened.error().message;
  EXPECT_NE(opened.error().message.find(words), std::string::npos) << opened.error().message;
}

TEST_F(SqliteStore, AFileThatIsNotADatabaseIsRefused) {
  const std::string garbage = dir_ / "garbage.db";
  std::ofstream(garbage) << std::string(8192, 'x');
  expect_refused(garbage, "not peel's database (not a SQLite file)");
}

TEST_F(SqliteStore, AnotherProgramsDatabaseIsRefused) {
  const std::string tables = dir_ / "tables.db";
  write_database(tables, "CREATE TABLE notes (text TEXT);");
  expect_refused(tables, "not peel's database");

  const std::string versioned = dir_ / "versioned.db";
  write_database(versioned, "PRAGMA user_version = 7;");
  expect_refused(versioned, "not peel's database");

  const std::string marked = dir_ / "marked.db";
  write_database(marked, "PRAGMA application_id = 42;");
  expect_refused(marked, "not peel's database");
}

TEST_F(SqliteStore, ADatabaseOfAnotherSchemaVersionIsRefused) {
  store_.reset();
  write_database(path(), "PRAGMA user_version = 99;");
  expect_refused(path(), "schema version 99");
}

TEST_F(SqliteStore, AFolderThatCannotHoldTheFileIsRefused) {
  const Result<std::unique_ptr<Store>> opened = open_sqlite_store(dir_ / "missing/peel.db");
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, ErrorCode::kInternal);
  EXPECT_NE(opened.error().message.find("missing/peel.db"), std::string::npos);
}

// A job's callback becomes due in the transaction that ends it, whichever way it ends, and
// only then; it is retried until delivered or given up.
TEST_F(SqliteStore, CallbacksBecomeDueWhenJobsEnd) {
  insert(make_job("done", 5));
  Job quiet = make_job("quiet", 5);
  quiet.callback_url.clear();
  insert(quiet);
  insert(make_job("dropped", 5));
  EXPECT_TRUE(must(store_->due_callbacks(10000, 10)).empty());  // nothing has ended

  Job running = claim(300);
  ASSERT_EQ(running.id, "done");
  EXPECT_TRUE(must(store_->due_callbacks(10000, 10)).empty());  // running is not ended
  ASSERT_TRUE(must(store_->complete_job(running, 1, "out/k", "a.mp3", 10, "{}", 400)));
  Job other = claim(500);  // "quiet": no callback URL, nothing due when it fails
  ASSERT_TRUE(must(store_->fail_job(other, JobStatus::kFailed, "{}", 600)));
  ASSERT_TRUE(must(store_->cancel_job("dropped", "alice", 700)));  // cancelled while queued

  EXPECT_TRUE(must(store_->due_callbacks(399, 10)).empty());
  std::vector<Job> due = must(store_->due_callbacks(10000, 10));
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].id, "done");
  EXPECT_EQ(due[0].callback_status, "pending");
  EXPECT_EQ(due[0].callback_due, 400);
  EXPECT_EQ(due[1].id, "dropped");
  EXPECT_EQ(due[1].callback_due, 700);

  // A failed attempt: due again later, the error kept; then delivered, and never again.
  must(store_->callback_attempted(due[0], false, "answered 500", 800));
  Job again = job("done");
  EXPECT_EQ(again.callback_status, "pending");
  EXPECT_EQ(again.callback_attempts, 1);
  EXPECT_EQ(again.callback_error, "answered 500");
  EXPECT_EQ(must(store_->due_callbacks(799, 10)).size(), 1u);  // "dropped" alone
  must(store_->callback_attempted(again, true, "", 0));
  EXPECT_EQ(job("done").callback_status, "delivered");
  EXPECT_EQ(job("done").callback_attempts, 2);
  EXPECT_EQ(job("done").callback_error, "");
  must(store_->callback_attempted(again, false, "late", 900));  // no longer pending: ignored
  EXPECT_EQ(job("done").callback_status, "delivered");

  // Given up: failed, with the last error.
  must(store_->callback_attempted(due[1], false, "nothing answers", 0));
  EXPECT_EQ(job("dropped").callback_status, "failed");
  EXPECT_EQ(job("dropped").callback_error, "nothing answers");
  EXPECT_TRUE(must(store_->due_callbacks(100000, 10)).empty());
  EXPECT_EQ(job("quiet").callback_status, "");
}

// A database an earlier peel made (schema version 1) is brought up to this version in place,
// its rows kept.
TEST_F(SqliteStore, AVersionOneDatabaseIsUpgraded) {
  insert(make_job("old", 5));
  store_.reset();
  write_database(path(),
                 "DROP TRIGGER jobs_callback_pending; DROP INDEX jobs_callbacks; "
                 "ALTER TABLE jobs DROP COLUMN callback_status; "
                 "ALTER TABLE jobs DROP COLUMN callback_attempts; "
                 "ALTER TABLE jobs DROP COLUMN callback_due; "
                 "ALTER TABLE jobs DROP COLUMN callback_error; PRAGMA user_version = 1;");
  store_ = must(open_sqlite_store(path()));
  EXPECT_EQ(job("old").callback_status, "");
  Job running = claim(300);
  ASSERT_TRUE(must(store_->complete_job(running, 1, "out/k", "a.mp3", 10, "{}", 400)));
  EXPECT_EQ(must(store_->due_callbacks(400, 10)).size(), 1u);
  store_.reset();
  store_ = must(open_sqlite_store(path()));  // and opens again as version 2
  EXPECT_EQ(job("old").callback_status, "pending");
}

}  // namespace
}  // namespace peel::store
