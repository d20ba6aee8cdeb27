// run_batch(): plan every input, check the outputs, then run on a pool of threads.
//
// Scheduling: files are planned in parallel (probing is I/O and parsing), then run longest
// first (the classic LPT rule) on one WorkPool of `jobs` threads, each taking the next file
// when it finishes one, so a few huge files start early and small ones fill the gaps. A long
// transcode cuts itself into segments (segment-parallel mode) that go to the front of the same
// queue: idle threads take them before the next file, so one long file never keeps the batch
// waiting on a single core. Only `jobs` files are open at once and per-file state is small, so
// memory does not grow with the number of files.
#include "peel/batch.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>

#include "peel/plan.h"
#include "peel/pool.h"

namespace peel {

namespace fs = std::filesystem;

namespace {

// Runs fn(index, worker) for index in [0, n) on `jobs` threads.
template <class Fn>
void parallel_for(size_t n, int jobs, Fn fn) {
  std::atomic<size_t> next{0};
  auto work = [&](int worker) {
    for (size_t i = next++; i < n; i = next++) fn(i, worker);
  };
  std::vector<std::thread> threads;
  const int extra = std::min<int>(jobs, static_cast<int>(n)) - 1;
  for (int w = 1; w <= extra; ++w) threads.emplace_back(work, w);
  work(0);
  for (auto& t : threads) t.join();
}

bool has_real_video(const MediaInfo& info) {
  return std::any_of(info.video.begin(), info.video.end(),
                     [](const VideoStream& v) { return !v.attached_pic; });
}

// "name.ext" -> "name-2.ext"
std::string numbered(const std::string& path, int n) {
  const fs::path p(path);
  return (p.parent_path() / fmt::format("{}-{}{}", p.stem().string(), n, p.extension().string()))
      .string();
}

struct Planned {
  std::vector<OutputPlan> plans;
  double seconds = 0;
};

// A dry run refuses what the run would: each output checked as run() checks it. False, with
// the outcome failed, when one is refused.
bool check_outputs(const std::vector<OutputPlan>& plans, FileOutcome& out) {
  for (const auto& p : plans) {
    auto checked = check_output(p, /*create_folders=*/true);
    if (!checked) {
      out.status = FileOutcome::Status::kFailed;
      out.error = checked.error();
      out.new_folders.clear();
      return false;
    }
    out.new_folders.push_back(*checked);
  }
  return true;
}

}  // namespace

Result<BatchSummary> run_batch(const Request& request, const std::vector<InputFile>& files,
                               const BatchOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  const int jobs = options.jobs > 0
                       ? options.jobs
                       : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  BatchSummary summary;
  summary.outcomes.resize(files.size());
  std::vector<Planned> planned(files.size());

  // 1. Plan every file.
  parallel_for(files.size(), jobs, [&](size_t i, int) {
    const InputFile& in = files[i];
    FileOutcome& out = summary.outcomes[i];
    out.input = in.path;
    if (options.cancel.cancelled()) return;
    auto info = probe(in.path);
    if (!info) {
      const bool not_media = info.error().code == ErrorCode::kUnsupportedFile ||
                             info.error().code == ErrorCode::kInputEmpty;
      if (!in.named && not_media) {
        out.status = FileOutcome::Status::kSkipped;
        out.skip_reason = SkipReason::kNotVideo;
      } else {
        out.status = FileOutcome::Status::kFailed;
        out.error = info.error();
      }
      return;
    }
    // In a folder, audio-only files (such as peel's own outputs) are not videos to extract.
    if (!in.named && !has_real_video(*info)) {
      out.status = FileOutcome::Status::kSkipped;
      out.skip_reason = SkipReason::kNotVideo;
      return;
    }
    Request r = request;
    r.inputs = {in.path};
    if (!request.out_dir.empty()) {
      // Mirror the input's folder below the output folder.
      const fs::path rel = fs::path(in.path).parent_path().lexically_relative(in.root);
      r.out_dir = (fs::path(request.out_dir) / rel).lexically_normal().string();
    }
    auto plans = plan(r, *info);
    if (!plans) {
      out.status = FileOutcome::Status::kFailed;
      out.error = plans.error();
      return;
    }
    planned[i].plans = std::move(*plans);
    for (const auto& p : planned[i].plans) {
      const Micros end = p.to ? *p.to : p.track.duration;
      planned[i].seconds += to_seconds(std::max<Micros>(0, end - p.from));
    }
  });

  // 2. No two inputs may write the same file.
  std::map<std::string, size_t> owner;
  for (size_t i = 0; i < files.size(); ++i) {
    for (auto& p : planned[i].plans) {
      const std::string key = fs::path(p.output).lexically_normal().string();
      auto [it, fresh] = owner.emplace(key, i);
      if (fresh) continue;
      if (request.name_template.empty()) {
        return Error{ErrorCode::kUsage,
                     fmt::format("{} and {} would both be written to {}; use --name (e.g. "
                                 "'{{stem}}.{{dir}}.{{ext}}') or separate output folders",
                                 files[it->second].path, files[i].path, p.output)};
      }
      int n = 2;
      while (owner.count(numbered(key, n)) != 0) ++n;
      p.output = numbered(key, n);
      owner.emplace(p.output, i);
    }
  }

  // 3. Resume: skip inputs whose every output exists (outputs are atomic: existing = whole).
  std::vector<size_t> order;
  for (size_t i = 0; i < files.size(); ++i) {
    if (planned[i].plans.empty()) continue;
    if (options.skip_existing &&
        std::all_of(planned[i].plans.begin(), planned[i].plans.end(),
                    [](const OutputPlan& p) { return fs::exists(p.output); })) {
      summary.outcomes[i].status = FileOutcome::Status::kSkipped;
      summary.outcomes[i].skip_reason = SkipReason::kExists;
      continue;
    }
    if (options.plan_only && !check_outputs(planned[i].plans, summary.outcomes[i])) continue;
    order.push_back(i);
    summary.planned_seconds += planned[i].seconds;
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return planned[a].seconds > planned[b].seconds; });
  for (size_t i = 0; i < files.size(); ++i) summary.outcomes[i].plans = planned[i].plans;
  if (options.plan_only) order.clear();

  std::mutex event_mutex;
  auto emit = [&](const BatchEvent& e) {
    if (!options.on_event) return;
    std::lock_guard lock(event_mutex);
    options.on_event(e);
  };
  emit({BatchEvent::Kind::kPlanned, "", 0, Progress{0, summary.planned_seconds}, nullptr});
  std::vector<bool> queued(files.size(), false);
  for (size_t i : order) queued[i] = true;
  for (size_t i = 0; i < files.size(); ++i) {
    if (!queued[i]) emit({BatchEvent::Kind::kFinished, files[i].path, 0, {}, &summary.outcomes[i]});
  }

  // 4. Run, longest first.
  std::optional<WorkPool> own_pool;
  WorkPool& pool = options.pool != nullptr ? *options.pool : own_pool.emplace(jobs);
  WorkPool::Group files_group;
  auto run_file = [&](size_t i, int worker) {
    FileOutcome& out = summary.outcomes[i];
    if (options.cancel.cancelled()) return;
    emit({BatchEvent::Kind::kStarted, out.input, worker, {}, nullptr});
    for (const auto& p : planned[i].plans) {
      RunOptions run_options;
      run_options.create_folders = true;
      run_options.cancel = options.cancel;
      run_options.on_temp_file = options.on_temp_file;
      run_options.sync = options.sync;
      run_options.jobs = pool.threads();
      run_options.segment_parallel = options.segment_parallel;
      run_options.pool = &pool;
      run_options.on_progress = [&](const Progress& pr) {
        emit({BatchEvent::Kind::kProgress, out.input, worker, pr, nullptr});
      };
      auto result = run(p, run_options);
      if (!result) {
        out.status = FileOutcome::Status::kFailed;
        out.error = result.error();
        break;
      }
      out.outputs.push_back(std::move(*result));
    }
    emit({BatchEvent::Kind::kFinished, out.input, worker, {}, &out});
  };
  for (size_t i : order) pool.add(files_group, [&run_file, i](int worker) { run_file(i, worker); });
  pool.wait(files_group, /*help=*/false);  // this thread is not one of the `jobs` workers

  for (const auto& o : summary.outcomes) {
    switch (o.status) {
      case FileOutcome::Status::kDone:
        if (!o.outputs.empty() || (options.plan_only && !o.plans.empty())) {
          ++summary.done;
        } else if (!options.plan_only && options.cancel.cancelled()) {
          ++summary.not_started;  // never planned, or never taken from the queue
        }
        break;
      case FileOutcome::Status::kSkipped:
        ++summary.skipped;
        break;
      case FileOutcome::Status::kFailed:
        if (o.error && o.error->code == ErrorCode::kCancelled) {
          summary.cancelled = true;
          ++summary.stopped;
        } else {
          ++summary.failed;
        }
        break;
    }
    for (const auto& r : o.outputs) {
      summary.audio_seconds += audio_seconds(r);
      summary.damaged = summary.damaged || !r.lost.empty();
    }
  }
  summary.cancelled = summary.cancelled || options.cancel.cancelled();
  summary.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return summary;
}

}  // namespace peel
