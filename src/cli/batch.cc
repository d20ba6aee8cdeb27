// The batch half of the extract command: many inputs on all cores, JSON Lines, a summary.
#include "peel/batch.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "cli/advice.h"
#include "cli/commands.h"
#include "cli/extract.h"
#include "peel/json.h"
#include "peel/plan.h"

namespace peel::cli {

namespace {

std::string format_seconds(double seconds) { return format_time(std::llround(seconds * 1e6)); }

// "12x", or "0.4x" where a whole number would say nothing.
std::string format_speed(double speed) {
  return speed < 9.95 ? fmt::format("{:.1f}x", speed) : fmt::format("{:.0f}x", speed);
}

// On a terminal: one overall line (files, audio seconds, speed, ETA) and one line per worker.
class BatchDisplay {
 public:
  explicit BatchDisplay(size_t files) : files_(files), start_(std::chrono::steady_clock::now()) {}

  void on_event(const BatchEvent& e) {
    switch (e.kind) {
      case BatchEvent::Kind::kPlanned:
        planned_ = e.progress.total;
        break;
      case BatchEvent::Kind::kStarted:
        running_[e.worker] = {e.input, 0, 0};
        break;
      case BatchEvent::Kind::kProgress:
        running_[e.worker].done = e.progress.done;
        running_[e.worker].total = e.progress.total;
        break;
      case BatchEvent::Kind::kFinished:
        ++finished_;
        for (const auto& r : e.outcome->outputs) finished_seconds_ += audio_seconds(r);
        if (running_.count(e.worker) != 0 && running_[e.worker].input == e.input) {
          running_.erase(e.worker);
        }
        break;
    }
    const auto now = std::chrono::steady_clock::now();
    if (e.kind == BatchEvent::Kind::kProgress &&
        now - last_draw_ < std::chrono::milliseconds(100)) {
      return;
    }
    last_draw_ = now;
    draw(now);
  }

  // Prints a line above the display (a finished file, an error).
  void print(const std::string& text) {
    erase();
    std::cerr << text << "\n";
  }

  void erase() {
    if (drawn_ == 0) return;
    std::cerr << fmt::format("\033[{}A\r\033[J", drawn_);
    drawn_ = 0;
  }

 private:
  struct Line {
    std::string input;
    double done = 0;
    double total = 0;
  };

  void draw(std::chrono::steady_clock::time_point now) {
    erase();
    double seconds = finished_seconds_;
    for (const auto& [w, l] : running_) seconds += l.done;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double speed = elapsed > 0 ? seconds / elapsed : 0;
    const double eta = speed > 0 ? (planned_ - seconds) / speed : 0;
    std::string out = fmt::format("{}/{} files  {}/{} of audio  {}  ETA {:.0f}s\n", finished_,
                                  files_, format_seconds(seconds), format_seconds(planned_),
                                  format_speed(speed), std::max(0.0, eta));
    drawn_ = 1;
    for (const auto& [w, l] : running_) {
      const double pct = l.total > 0 ? 100 * l.done / l.total : 0;
      std::string name = l.input;
      if (name.size() > 60) name = fmt::format("…{}", name.substr(name.size() - 59));
      out += fmt::format("  [{}] {:3.0f}%  {}\n", w + 1, pct, name);
      ++drawn_;
    }
    std::cerr << out << std::flush;
  }

  size_t files_;
  double planned_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_{};
  std::map<int, Line> running_;
  size_t finished_ = 0;
  double finished_seconds_ = 0;
  int drawn_ = 0;
};

}  // namespace

std::string summary_line(const BatchTotals& t, bool dry_run, double planned_seconds) {
  std::string line = fmt::format("peel: {} {}, {} skipped, {} failed", t.done,
                                 dry_run ? "planned" : "done", t.skipped, t.failed);
  if (t.cancelled) {
    line += fmt::format("; interrupted: {} stopped, {} not started", t.stopped, t.not_started);
  }
  if (dry_run && planned_seconds > 0) {
    line += fmt::format("; {} of audio to write", format_seconds(planned_seconds));
  } else if (t.audio_seconds > 0) {
    const double speed = t.wall_seconds > 0 ? t.audio_seconds / t.wall_seconds : 0;
    line += fmt::format("; {} of audio in {:.2f} s ({} real time)", format_seconds(t.audio_seconds),
                        t.wall_seconds, format_speed(speed));
  } else if (t.done + t.skipped + t.failed == 0 && !t.cancelled) {
    line += "; nothing to do";
  }
  return line;
}

int run_batch_command(Engine& engine, const ExtractOptions& f, const CancelToken& cancel) {
  const Request& req = f.request;
  if (!req.output.empty()) {
    usage_error("-o names one file, but a batch makes several; use -d DIR (and --name)", f.json);
    return kExitUsage;
  }
  // The output folders are made by the runs that need them (and only said to be, in a dry run).
  const Discovery found = discover(req.inputs, f.recursive, req.out_dir);

  const bool tty = ::isatty(STDOUT_FILENO) != 0 && ::isatty(STDERR_FILENO) != 0;
  const bool live = tty && !f.json && !f.quiet && !f.dry_run;
  const int jobs = f.jobs > 0 ? f.jobs : engine.threads();
  std::optional<BatchDisplay> display;  // declared before options: its handler uses it

  int failed_discovery = 0;
  for (const auto& [path, error] : found.errors) {
    ++failed_discovery;
    if (f.json) {
      std::cout << failed_file_json(path, error, say).dump() << "\n";
    } else {
      std::cerr << "peel: " << say(error) << "\n";
    }
  }

  BatchOptions options;
  options.jobs = jobs;
  options.skip_existing = f.skip_existing;
  options.plan_only = f.dry_run;
  options.sync = f.sync;
  options.segment_parallel = segment_parallel_mode(f);
  options.cancel = cancel;
  options.on_temp_file = track_temp_file;
  if (live) display.emplace(found.files.size());
  std::set<std::string> told;  // folders a dry run said it would create (each said once)
  options.on_event = [&](const BatchEvent& e) {
    if (display) display->on_event(e);
    if (e.kind != BatchEvent::Kind::kFinished) return;
    const FileOutcome& o = *e.outcome;
    if (f.json) {
      std::cout << file_json(o, f.dry_run, say).dump() << "\n" << std::flush;
      return;
    }
    std::vector<std::string> lines;
    std::vector<std::string> notes;  // on stderr, as for one file
    if (o.error) lines.push_back(fmt::format("peel: {}", o.error->message));
    for (size_t i = 0; f.dry_run && i < o.plans.size() && !o.error; ++i) {
      const std::string& folder = i < o.new_folders.size() ? o.new_folders[i] : "";
      lines.push_back(fmt::format("{}{}  ffmpeg: {}", explain(o.plans[i]),
                                  folder.empty() || !told.insert(folder).second
                                      ? ""
                                      : fmt::format("  would create the folder {}\n", folder),
                                  ffmpeg_command(o.plans[i])));
    }
    for (const auto& r : o.outputs) {
      if (!r.new_folder.empty() && !f.quiet) {
        notes.push_back(fmt::format("peel: created the folder {}", r.new_folder));
      }
      if (!f.quiet) lines.push_back(describe_result(r));
      for (const auto& w : r.warnings) lines.push_back(fmt::format("peel: warning: {}", w));
    }
    if (!notes.empty()) {
      const std::string text = fmt::format("{}", fmt::join(notes, "\n"));
      if (display)
        display->print(text);
      else
        std::cerr << text << "\n";
    }
    if (lines.empty()) return;
    const std::string text = fmt::format("{}", fmt::join(lines, "\n"));
    if (display)
      display->print(text);
    else
      (o.error ? std::cerr : std::cout) << text << "\n";
  };

  auto summary = run_batch(engine, req, found.files, options);
  if (display) display->erase();
  if (!summary) {
    usage_error(say(summary.error()), f.json);
    return exit_code_for(summary.error().code);
  }

  const int failed = summary->failed + failed_discovery;
  if (f.json) {
    nlohmann::json failures = nlohmann::json::array();
    for (const auto& o : summary->outcomes) {
      if (o.status == FileOutcome::Status::kFailed && o.error) {
        failures.push_back(error_json(o.input, *o.error, say));
      }
    }
    for (const auto& [path, error] : found.errors) {
      failures.push_back(error_json(path, error, say));
    }
    BatchTotals totals = *summary;  // with the paths that failed before planning
    totals.failed = failed;
    std::cout << summary_json(totals, failures).dump() << "\n";
  } else if (!f.quiet || failed > 0) {
    if (failed > 0 && summary->done + summary->skipped + failed > 1) {
      std::cerr << "peel: failed:\n";
      for (const auto& o : summary->outcomes) {
        if (o.status == FileOutcome::Status::kFailed && o.error) {
          std::cerr << fmt::format("  {} [{} {}]: {}\n", o.input, static_cast<int>(o.error->code),
                                   error_name(o.error->code), say(*o.error));
        }
      }
      for (const auto& [path, error] : found.errors) {
        std::cerr << fmt::format("  {} [{} {}]: {}\n", path, static_cast<int>(error.code),
                                 error_name(error.code), say(error));
      }
    }
    BatchTotals totals = *summary;
    totals.failed = failed;
    std::cerr << summary_line(totals, f.dry_run, summary->planned_seconds) << "\n";
  }
  if (summary->cancelled) return kExitInterrupted;
  if (failed > 0) return kExitFailed;
  return summary->damaged ? kExitDamaged : kExitOk;
}

}  // namespace peel::cli
