// Shared by the single-file and batch halves of the extract command.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "peel/batch.h"
#include "peel/request.h"
#include "peel/run.h"

namespace CLI {
class App;
}

namespace peel::cli {

// Everything the extract command line says.
struct ExtractOptions {
  Request request;
  std::string from, to, duration, bitrate, channels, sample_rate, loudness;
  std::optional<double> true_peak;
  bool copy = false, reencode = false, no_metadata = false, json = false, dry_run = false;
  bool quiet = false, verbose = false, sync = false;
  bool recursive = false, skip_existing = false;
  int jobs = 0;
  std::string segment_parallel = "auto";  // auto, on or off (docs/parallel.md)
};

// Adds every extraction option but the inputs to `app`, bound to `options`; the command adds
// its own positionals and options (and may remove the ones it has no use for).
void add_extract_options(CLI::App& app, ExtractOptions& options);

// Parses `args` (argv without the program and subcommand names) with `app`, then turns the
// option texts into options.request. Returns an exit code when that ends the command: help was
// printed, or a usage error was reported (as JSON too with --json).
std::optional<int> parse_extract_options(CLI::App& app, std::vector<std::string> args,
                                         ExtractOptions& options);

// --segment-parallel's value.
SegmentParallel segment_parallel_mode(const ExtractOptions& options);

// Many inputs (folders, patterns): the batch behaviour, JSON Lines and a summary.
int run_batch_command(Engine& engine, const ExtractOptions& options, const CancelToken& cancel);

// The last line of a batch or a watch: "peel: 3 done, 1 skipped, 0 failed; 0:18.016 of audio
// in 0.52 s (35x real time)", what Ctrl-C left undone, and nothing of audio or speed when
// nothing was written. A dry run says the audio it would write.
std::string summary_line(const BatchTotals& totals, bool dry_run = false,
                         double planned_seconds = 0);

// "in -> out  (copied aac, track 1 [eng], 0:00–1:02, 48000 Hz, 2 ch, 1.0 MB)"
std::string describe_result(const OutputResult& result);

// Reports a usage error on stderr (and as JSON with `json`).
void usage_error(const std::string& message, bool json);

// Keeps the temporary outputs alive right now, for the interrupt handler (interrupt.cc).
void track_temp_file(const std::string& path, bool exists);

}  // namespace peel::cli
