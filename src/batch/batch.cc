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

#include "peel/plan.h"
#include "peel/pool.h"

namespace peel {

namespace fs = std::filesystem;

namespace {

// Runs fn(index, slot) for every index in `order` on at most `jobs` tasks of `pool` at once,
// each taking the next index when it finishes one; `slot` in [0, jobs) tells the tasks apart.
// The calling thread takes a task of its own if no pool thread has (it may itself be one of
// the pool's, as under watch(): waiting without helping could wait forever).
template <class Fn>
void for_each_on(WorkPool& pool, const std::vector<size_t>& order, int jobs, Fn fn) {
  std::atomic<size_t> next{0};
  WorkPool::Group group;
  const int tasks = std::min<int>(jobs, static_cast<int>(order.size()));
  for (int slot = 0; slot < tasks; ++slot) {
    pool.add(group, [&, slot](int) {
      for (size_t i = next++; i < order.size(); i = next++) fn(order[i], slot);
    });
  }
  pool.wait(group);
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

Result<BatchSummary> run_batch(Engine& engine, const Request& request,
                               const std::vector<InputFile>& files, const BatchOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  WorkPool& pool = engine.pool();
  const int jobs = std::max(1, options.jobs > 0 ? options.jobs : engine.threads());
  BatchSummary summary;
  summary.outcomes.resize(files.size());
  std::vector<Planned> planned(files.size());
  auto not_started = [&](FileOutcome& out) {
    out.status = FileOutcome::Status::kCancelled;
    out.error = Error{ErrorCode::kCancelled,
                      fmt::format("cancelled before {} was extracted; nothing was written", out.input)};
  };

  // 1. Plan every file.
  std::vector<size_t> all(files.size());
  std::iota(all.begin(), all.end(), size_t{0});
  for_each_on(pool, all, jobs, [&](size_t i, int) {
    const InputFile& in = files[i];
    FileOutcome& out = summary.outcomes[i];
    out.input = in.path;
    if (options.cancel.cancelled()) return not_started(out);
    auto info = probe(engine, in.path, options.cancel);
    if (!info && info.error().code == ErrorCode::kCancelled) return not_started(out);
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
        return Error(ErrorCode::kUsage,
                     fmt::format("{} and {} would both be written to {}; give a name template "
                                 "that tells them apart (such as '{{stem}}.{{dir}}.{{ext}}') or "
                                 "separate output folders",
                                 files[it->second].path, files[i].path, p.output))
            .about("name_template", Hint::kNameTemplate);
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
  auto run_file = [&](size_t i, int worker) {
    FileOutcome& out = summary.outcomes[i];
    if (options.cancel.cancelled()) {
      not_started(out);
      emit({BatchEvent::Kind::kFinished, out.input, worker, {}, &out});
      return;
    }
    out.started = true;
    emit({BatchEvent::Kind::kStarted, out.input, worker, {}, nullptr});
    for (const auto& p : planned[i].plans) {
      RunOptions run_options;
      run_options.create_folders = true;
      run_options.cancel = options.cancel;
      run_options.on_temp_file = options.on_temp_file;
      run_options.sync = options.sync;
      run_options.segment_parallel = options.segment_parallel;
      run_options.on_progress = [&](const Progress& pr) {
        emit({BatchEvent::Kind::kProgress, out.input, worker, pr, nullptr});
      };
      auto result = run(engine, p, run_options);
      if (!result) {
        out.status = result.error().code == ErrorCode::kCancelled ? FileOutcome::Status::kCancelled
                                                                  : FileOutcome::Status::kFailed;
        out.error = result.error();
        break;
      }
      out.outputs.push_back(std::move(*result));
    }
    emit({BatchEvent::Kind::kFinished, out.input, worker, {}, &out});
  };
  for_each_on(pool, order, jobs, run_file);

  for (const auto& o : summary.outcomes) {
    switch (o.status) {
      case FileOutcome::Status::kDone:
        ++summary.done;
        break;
      case FileOutcome::Status::kSkipped:
        ++summary.skipped;
        break;
      case FileOutcome::Status::kFailed:
        ++summary.failed;
        break;
      case FileOutcome::Status::kCancelled:
        summary.cancelled = true;
        ++(o.started ? summary.stopped : summary.not_started);
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
