// The job runner behind worker.h.
#include "worker/worker.h"

#include <cmath>
#include <filesystem>

#include "engine/names.h"
#include "peel/json.h"
#include "peel/media_info.h"
#include "peel/plan.h"
#include "peel/run.h"
#include "server/crypto.h"

namespace peel::worker {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string key_of(const std::string& client_id, const std::string& id) {
  return client_id + "/" + id;
}

}  // namespace

// Containers round a track's duration up by a frame or two of codec padding (a 5:00 AAC
// track says 5:00.021): that is not a started minute.
constexpr double kPaddingSeconds = 0.5;

int64_t job_cost(double seconds, int64_t credits_per_minute) {
  int64_t minutes = std::max<int64_t>(1, static_cast<int64_t>(std::ceil((seconds - kPaddingSeconds) / 60.0)));
  return minutes * credits_per_minute;
}

Worker::Worker(Engine& engine, store::Store& store, blob::BlobStore& blobs, WorkerOptions options)
    : engine_(engine), store_(store), blobs_(blobs), options_(std::move(options)) {
  if (options_.jobs <= 0) options_.jobs = std::max(1, engine_.threads());
}

Worker::~Worker() { stop(); }

Result<void> Worker::start() {
  auto requeued = store_.requeue_running();
  if (!requeued) return requeued.error();
  dispatcher_ = std::thread([this] { dispatch(); });
  return {};
}

void Worker::wake() {
  std::lock_guard lock(mutex_);
  woken_ = true;
  changed_.notify_all();
}

void Worker::cancel(const std::string& client_id, const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = tokens_.find(key_of(client_id, id));
  if (it != tokens_.end()) it->second.cancel();
}

int Worker::stop(std::chrono::milliseconds grace) {
  {
    std::unique_lock lock(mutex_);
    if (!dispatcher_.joinable()) return 0;
    stopping_ = true;
    changed_.notify_all();
    changed_.wait_for(lock, grace, [this] { return running_ == 0; });
    requeue_ = true;
    for (auto& [key, token] : tokens_) token.cancel();
  }
  int requeued = running_.load();
  dispatcher_.join();
  engine_.pool().wait(group_, false);
  return requeued;
}

void Worker::dispatch() {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      changed_.wait_for(lock, options_.poll,
                        [this] { return stopping_ || (woken_ && running_ < options_.jobs); });
      woken_ = false;
      if (stopping_) return;
      if (running_ >= options_.jobs) continue;
    }
    // Claim while there is room and work; a claim that finds nothing waits for the next wake.
    while (running_ < options_.jobs) {
      auto claimed = store_.claim_job(now_seconds());
      if (!claimed || !*claimed) break;
      std::lock_guard lock(mutex_);
      if (stopping_) {
        // Claimed as we stopped: the next start queues it again (requeue_running).
        return;
      }
      ++running_;
      tokens_[key_of((*claimed)->client_id, (*claimed)->id)] = CancelToken();
      engine_.pool().add(group_, [this, job = std::move(**claimed)](int) mutable {
        std::string key = key_of(job.client_id, job.id);
        execute(std::move(job));
        std::lock_guard done(mutex_);
        tokens_.erase(key);
        --running_;
        woken_ = true;  // room for the next job
        changed_.notify_all();
      });
    }
  }
}

void Worker::execute(store::Job job) {
  CancelToken cancel;
  {
    std::lock_guard lock(mutex_);
    cancel = tokens_[key_of(job.client_id, job.id)];
  }
  auto update = [&](const std::string& what, const json& data) {
    if (options_.on_update) options_.on_update(job, what, data);
  };
  ClientWords words{"", "", blobs_.scratch_folder()};
  auto fail = [&](const Error& e) {
    if (requeue_ && cancel.cancelled()) return;  // shutting down: runs again at the next start
    auto status =
        e.code == ErrorCode::kCancelled ? store::JobStatus::kCancelled : store::JobStatus::kFailed;
    json error = error_json("", words(e));
    int64_t now = now_seconds();
    auto ended = store_.fail_job(job, status, error.dump(), now);
    if (ended && *ended) {
      job.status = status;
      job.finished = now;
      job.error_json = error.dump();
      update(std::string(store::status_name(status)), error);
    }
  };
  update("started", json::object());

  auto request = request_from_json(json::parse(job.request_json, nullptr, false));
  if (!request) return fail(request.error());
  auto upload = store_.upload(job.upload_id, job.client_id);
  if (!upload) return fail(upload.error());
  if (!*upload) return fail(Error(ErrorCode::kInputNotFound, "the uploaded file is gone"));
  auto path = blobs_.local_path((*upload)->blob_key);
  if (!path) return fail(path.error());
  words.path = *path;
  words.name = (*upload)->name;
  auto input = Input::open(engine_, *path, cancel);
  if (!input) return fail(input.error());
  request->inputs = {*path};
  auto plans = plan(*request, input->info());
  if (!plans) return fail(plans.error());
  if (plans->size() != 1) {
    return fail(
        Error(ErrorCode::kUsage, "an export makes one file: choose one track").about("all_tracks"));
  }
  OutputPlan& p = plans->front();
  // The output is made in a folder of its own under the store's scratch folder, named after
  // the file the client uploaded, then handed to the BlobStore whole.
  fs::path stem = fs::path((*upload)->name).stem();
  std::string extension = fs::path(p.output).extension().string();
  std::string name = engine::safe_component(stem.string(), "audio");
  // A file of several audio tracks: which one, in the name ("talk.2.jpn.mka"), as the CLI
  // names --all-tracks outputs, so that exports of two tracks do not share a name.
  if (input->info().audio.size() > 1) {
    name += "." + std::to_string(p.track.number);
    if (!p.track.lang.empty()) name += "." + engine::safe_component(p.track.lang, "und");
  }
  name += extension;
  fs::path folder = fs::path(blobs_.scratch_folder()) / server::random_id("job_");
  std::error_code ec;
  fs::create_directories(folder, ec);
  p.output = (folder / name).string();
  p.folder = folder.string();
  p.overwrite = true;

  RunOptions options;
  options.cancel = cancel;
  auto started = std::chrono::steady_clock::now();
  auto last = started - std::chrono::seconds(10);
  options.on_progress = [&](const Progress& progress) {
    auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::milliseconds(500)) return;
    last = now;
    double percent =
        progress.total > 0 ? std::min(99.0, 100.0 * progress.done / progress.total) : 0;
    auto asked = store_.job_progress(job, percent);
    if (asked && *asked) cancel.cancel();
    double wall = std::chrono::duration<double>(now - started).count();
    update("progress", json{{"percent", percent},
                            {"done", progress.done},
                            {"total", progress.total},
                            {"speed", wall > 0 ? progress.done / wall : 0.0}});
  };
  auto result = run(engine_, p, *input, options);
  if (!result) {
    fs::remove_all(folder, ec);
    return fail(result.error());
  }
  std::string key = "outputs/" + server::random_id("") + "/" + name;
  auto put = blobs_.put_file(key, p.output);
  fs::remove_all(folder, ec);
  if (!put) return fail(put.error());
  double seconds = audio_seconds(*result);
  int64_t charged =
      options_.credits ? std::min(job.frozen, job_cost(seconds, options_.credits_per_minute)) : 0;
  result->input = (*upload)->name;
  result->output = name;
  json result_json = to_json(*result);
  int64_t finished = now_seconds();
  auto ended =
      store_.complete_job(job, charged, key, name, result->bytes, result_json.dump(), finished);
  if (!ended || !*ended) {
    // Not ours any more (cancelled as it finished, or taken over): the job points elsewhere.
    (void)blobs_.remove(key);
    return;
  }
  job.status = store::JobStatus::kCompleted;
  job.finished = finished;
  job.charged = charged;
  job.output_key = key;
  job.output_name = name;
  job.output_bytes = result->bytes;
  job.result_json = result_json.dump();
  job.progress = 100;
  update("completed", result_json);
}

namespace {

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at)) {
    text.replace(at, from.size(), to);
    at += to.size();
  }
}

}  // namespace

std::string ClientWords::operator()(std::string text) const {
  if (!scratch.empty()) {
    // A folder of a job under the scratch folder: scratch/job_<id>/name → name.
    for (size_t at = text.find(scratch); at != std::string::npos; at = text.find(scratch, at)) {
      size_t end = at + scratch.size();
      if (end < text.size() && text[end] == '/') {
        size_t next = text.find('/', end + 1);
        bool job_folder = text.compare(end + 1, 4, "job_") == 0 && next != std::string::npos;
        end = job_folder ? next + 1 : end + 1;
      }
      text.erase(at, end - at);
    }
  }
  if (!path.empty()) {
    replace_all(text, path + ".", fs::path(name).stem().string() + ".");
    replace_all(text, path, name);
  }
  return text;
}

Error ClientWords::operator()(Error e) const {
  e.message = (*this)(std::move(e.message));
  e.value = (*this)(std::move(e.value));
  return e;
}

}  // namespace peel::worker
