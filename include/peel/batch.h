// Batch extraction: many inputs, one process, all cores. Built on probe/plan/run; adds input
// discovery (folders, globs), output mirroring, collision checks, scheduling, resume.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "peel/error.h"
#include "peel/request.h"
#include "peel/run.h"

namespace peel {

// One input file found by discover().
struct InputFile {
  std::string path;
  std::string root;    // the folder it was found under (mirrored below --out-dir), or its own
  bool named = false;  // named on the command line: errors about it are reported, never skipped
};

struct Discovery {
  std::vector<InputFile> files;  // in argument order, folders sorted; each file once (by identity)
  std::vector<std::pair<std::string, Error>> errors;  // unreadable folders, broken links...
};

// Expands files, folders (recursively when `recursive`) and glob patterns ("*", "?", "[..]",
// and "**" for any depth) into input files. Hidden files and folders, peel's temporary files and
// anything under `exclude_dir` (the output folder) are skipped. A folder given without
// `recursive` is an error (kInputIsDirectory) that says to add -R. Thread-safe, no side effects.
Discovery discover(const std::vector<std::string>& inputs, bool recursive,
                   const std::string& exclude_dir);

// Why a file was skipped rather than done.
enum class SkipReason { kExists, kNotVideo };

// What happened to one input.
struct FileOutcome {
  std::string input;
  // kCancelled: the cancel token fired before the file's turn came (error says so, nothing
  // was written) or while it was extracted (its partial output removed; `started`).
  enum class Status { kDone, kSkipped, kFailed, kCancelled } status = Status::kDone;
  bool started = false;  // its extraction began
  std::optional<SkipReason> skip_reason;
  std::vector<OutputPlan> plans;  // what it was (or, planning only, would be) written to
  // Planning only: for each of `plans`, the missing folder its run would create, or "".
  std::vector<std::string> new_folders;
  std::vector<OutputResult> outputs;
  std::optional<Error> error;
};

// Events of a batch, in this order: one kPlanned; then per file either kFinished alone (it was
// skipped or refused while planning, or only planned) or kStarted, kProgress..., kFinished.
struct BatchEvent {
  enum class Kind { kPlanned, kStarted, kProgress, kFinished } kind = Kind::kStarted;
  std::string input;
  int worker = 0;     // which worker thread (0-based): one terminal line each
  Progress progress;  // kProgress: this file's progress; kPlanned: total = planned audio
  const FileOutcome* outcome = nullptr;  // kFinished
};

struct BatchOptions {
  int jobs = 0;                // files extracted (and planned) at once; 0: the engine's threads
  bool skip_existing = false;  // resume: an input whose outputs all exist is skipped
  // --dry-run: plan, and check every output as run() would (check_output()), write nothing.
  bool plan_only = false;
  bool sync = false;           // as in RunOptions: fsync each output before it is renamed
  SegmentParallel segment_parallel = SegmentParallel::kAuto;  // as in RunOptions
  CancelToken cancel;
  // As in RunOptions (called from worker threads, not serialized).
  std::function<void(const std::string& path, bool exists)> on_temp_file;
  // Called from worker threads, serialized (never two calls at once).
  std::function<void(const BatchEvent&)> on_event;
};

// The counts a batch (or a watch) ends with.
struct BatchTotals {
  int done = 0;
  int skipped = 0;
  int failed = 0;
  bool cancelled = false;
  int stopped = 0;           // cancelled while being extracted (their partial outputs removed)
  int not_started = 0;       // cancelled before their turn came
  bool damaged = false;      // some output lost audio to damage
  double audio_seconds = 0;  // audio written: the sum of samples / sample_rate
  double wall_seconds = 0;
};

struct BatchSummary : BatchTotals {
  double planned_seconds = 0;         // audio the batch set out to write
  std::vector<FileOutcome> outcomes;  // in input order
};

// Plans every input first (refusing the batch when two inputs would write the same output,
// unless the request has a name template, in which case names are made unique), then runs them
// `jobs` at a time on the engine's pool, longest first, creating the output folders they need
// (run()'s create_folders). A failing file never stops the others. Fails only when the batch
// cannot start (an output collision). The calling thread may run files too (it may be one of
// the pool's).
Result<BatchSummary> run_batch(Engine& engine, const Request& request,
                               const std::vector<InputFile>& files, const BatchOptions& options);

}  // namespace peel
