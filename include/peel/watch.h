// Watching a folder: an ingest loop that extracts every video that appears in it, once the
// file is complete, with the batch's per-file behaviour (run_batch on one file at a time).
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "peel/batch.h"
#include "peel/error.h"
#include "peel/request.h"
#include "peel/run.h"

namespace peel {

struct WatchOptions {
  int jobs = 0;  // files extracted at once, on the engine's pool; 0: its number of threads
  size_t max_failures_kept = 100;  // WatchSummary::failures keeps the latest this many
  // A file is taken once nobody is writing it (as far as inotify tells) and its size and
  // modification time have not changed for this long.
  std::chrono::milliseconds settle{1000};
  // The time every settle decision (and WatchSummary::wall_seconds) is measured by; empty:
  // std::chrono::steady_clock::now. Called from the watching thread only. Lets a test move
  // time on without waiting; the loop still wakes every tenth of a second of real time.
  std::function<std::chrono::steady_clock::time_point()> clock;
  // Process the files already in the folder (waiting for them to settle) and return, instead
  // of watching for new ones.
  bool once = false;
  SegmentParallel segment_parallel = SegmentParallel::kAuto;  // as in RunOptions
  CancelToken cancel;  // stops the loop within a fraction of a second; running files are cancelled
  // As in BatchOptions: called from worker threads, not serialized.
  std::function<void(const std::string& path, bool exists)> on_temp_file;
  // Per file: kStarted, kProgress..., kFinished, or kFinished alone (skipped or refused while
  // planning); never kPlanned. `worker` is the worker thread. Serialized (never two at once),
  // called from worker threads.
  std::function<void(const BatchEvent&)> on_event;
  // Called once, from the calling thread, when the folder is being watched and before any file
  // is taken: after this, watch() fails only if the folder is removed.
  std::function<void()> on_watching;
  // A folder that cannot be read or watched (its files are not seen); the loop goes on.
  // Serialized with on_event.
  std::function<void(const std::string& path, const Error&)> on_error;
};

struct WatchSummary : BatchTotals {
  // The latest failed files (at most max_failures_kept), in the order they finished; `failed`
  // counts them all.
  std::vector<FileOutcome> failures;
};

// Extracts every video below `dir` (recursively; subfolders are mirrored below
// request.out_dir, which must be set) and then every one that appears there: created,
// copied or moved in, in new subfolders too. Files are taken once they have settled (see
// WatchOptions::settle) and run as run_batch runs one file, always with skip_existing: an input
// whose outputs exist is skipped, so a restart does not redo finished work. Hidden files and
// folders (peel's temporary outputs among them) and the output folder, when it is inside `dir`,
// are ignored. A file that fails is reported through on_event and the loop goes on.
//
// Returns when the cancel token fires (summary.cancelled; no partial output is left behind),
// after the existing files with `once`, or with an error when `dir` cannot be watched at all
// (kInputNotFound, kUsage when it is not a folder or is the output folder, kInputUnreadable,
// kInternal when inotify is unavailable) or is removed while watched (kInputNotFound).
// Linux only (inotify). Blocks the calling thread, which watches; the files run on the
// engine's pool, at most `jobs` at once.
Result<WatchSummary> watch(Engine& engine, const std::string& dir, const Request& request,
                           const WatchOptions& options);

}  // namespace peel
