// Shared by the single-file and batch halves of the extract command.
#pragma once

#include <string>

#include "peel/request.h"
#include "peel/run.h"

namespace peel::cli {

// Everything the extract command line says.
struct ExtractOptions {
  Request request;
  std::string from, to, duration, bitrate, channels, sample_rate;
  bool copy = false, reencode = false, no_metadata = false, json = false, dry_run = false;
  bool quiet = false, verbose = false, sync = false;
  bool recursive = false, skip_existing = false;
  int jobs = 0;
};

// Many inputs (folders, patterns): the batch behaviour, JSON Lines and a summary.
int run_batch_command(const ExtractOptions& options, const CancelToken& cancel);

// "in -> out  (copied aac, track 1 [eng], 0:00–1:02, 48000 Hz, 2 ch, 1.0 MB)"
std::string describe_result(const OutputResult& result);

// Reports a usage error on stderr (and as JSON with `json`).
void usage_error(const std::string& message, bool json);

// Keeps the temporary outputs alive right now, for the interrupt handler (interrupt.cc).
void track_temp_file(const std::string& path, bool exists);

}  // namespace peel::cli
