// Worker: runs the export jobs of the queue on this process's Engine. The single node runs one
// beside its HTTP server; many machines run `peel worker` against a shared Store. Handlers
// never run a job themselves: they insert it, and a worker claims it (Store::claim_job), runs
// it on the engine's WorkPool, and ends it with its ledger entries in one transaction
// (complete_job / fail_job), fenced by the claim's attempt number so a job is charged once.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "blob/blob_store.h"
#include "peel/cancel.h"
#include "peel/engine.h"
#include "store/store.h"

namespace peel::worker {

struct WorkerOptions {
  int jobs = 0;  // jobs run at once; 0: one per core of the engine's pool
  bool credits = true;
  int64_t credits_per_minute = 1;        // charged per started minute of output audio
  std::chrono::milliseconds poll{1000};  // how often the queue is looked at without a wake()
  // Told what happens to each job ("started", "progress", "completed", "failed",
  // "cancelled"), with the job as the Store has it then and a JSON of details; from the
  // worker's threads. The service turns these into a message's events.
  std::function<void(const store::Job& job, const std::string& what, const nlohmann::json& data)>
      on_update;
};

// Credits a job of `seconds` of output audio costs: per started minute, at least one minute.
int64_t job_cost(double seconds, int64_t credits_per_minute);

// The server's own paths in a text for a client, put in the client's words: the upload's
// blob path becomes the file name it gave (a name planned next to it, "<path>.mp3", becomes
// "<stem>.mp3") and the scratch folder disappears. Every message a client reads goes through
// this: no answer names a file on the server's disk.
struct ClientWords {
  std::string path;     // the upload's file on the server
  std::string name;     // what the client called it
  std::string scratch;  // the store's scratch folder ("" if none)
  std::string operator()(std::string text) const;
  Error operator()(Error e) const;
};

class Worker {
 public:
  Worker(Engine& engine, store::Store& store, blob::BlobStore& blobs, WorkerOptions options);
  ~Worker();  // stop()s
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Queues again the jobs a previous process left running (they run from the start), then
  // starts taking jobs. Fails when the Store does.
  Result<void> start();
  // A job was queued: look now rather than at the next poll.
  void wake();
  // Stops the job `id` of `client_id` if it runs here, at once (the Store's cancel flag
  // reaches it too, at its next progress).
  void cancel(const std::string& client_id, const std::string& id);
  // Takes no more jobs; waits up to `grace` for the running ones, then cancels them and
  // queues them again for the next start. Returns how many were queued again.
  int stop(std::chrono::milliseconds grace = std::chrono::milliseconds(0));
  int running() const { return running_.load(); }

 private:
  void dispatch();
  void execute(store::Job job);

  Engine& engine_;
  store::Store& store_;
  blob::BlobStore& blobs_;
  WorkerOptions options_;
  std::thread dispatcher_;
  std::mutex mutex_;
  std::condition_variable changed_;  // woken, a job ended, or stopping
  bool woken_ = false;
  bool stopping_ = false;
  std::atomic<bool> requeue_{false};  // past the grace: what still runs goes back to the queue
  std::atomic<int> running_{0};
  std::map<std::string, CancelToken> tokens_;  // running jobs by client id + "/" + id
  WorkPool::Group group_;
};

}  // namespace peel::worker
