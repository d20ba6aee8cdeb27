// run(): execute one OutputPlan. Thread-safe: any number of runs may go on at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "peel/cancel.h"
#include "peel/engine.h"
#include "peel/error.h"
#include "peel/plan.h"
#include "peel/pool.h"

namespace peel {

struct Progress {
  double done = 0;   // seconds of audio written so far
  double total = 0;  // seconds of audio the output will hold (estimate for copies)
};

// Segment-parallel transcoding (docs/parallel.md): one long transcode cut into segments on
// codec-frame boundaries, encoded on several threads at once and joined seamlessly.
enum class SegmentParallel {
  kAuto,  // when the output holds at least segment_parallel_min_seconds and the format can
  kOn,    // whenever there are two segments of a few seconds to make and the format can
  kOff,   // never: one thread encodes
};

struct RunOptions {
  CancelToken cancel;
  // Called at most every few hundred milliseconds of audio, one call at a time, from the
  // running thread or (segment-parallel mode) one of its segments' threads.
  std::function<void(const Progress&)> on_progress;
  // fsync the output before renaming it into place, so it survives a power cut whole. Off by
  // default, as with cp and ffmpeg: a crash of peel itself never leaves a partial output.
  bool sync = false;
  // Told the hidden temporary output's path just before it is created (true) and once it is
  // gone, renamed into place or removed (false): lets a front end that must exit abruptly (a
  // second Ctrl-C) remove it, whenever that comes.
  std::function<void(const std::string& path, bool exists)> on_temp_file;
  // Threads of the engine's pool one transcode may use for segments at once; 0: all of them.
  // 1 = serial.
  int jobs = 0;
  SegmentParallel segment_parallel = SegmentParallel::kAuto;
  double segment_parallel_min_seconds = 60;  // of output audio, for kAuto
  // Create the output's folder (and the missing ones above it) when it does not exist, as for
  // outputs named below -d: otherwise a missing folder fails (kOutputUnwritable).
  bool create_folders = false;
};

// A span of the source timeline whose audio could not be read.
struct LostSpan {
  Micros from = 0;
  Micros to = 0;
};

// What a loudness normalization measured and did (docs/cli.md#loudness).
struct NormalizationResult {
  double target_lufs = 0;
  double ceiling_dbtp = 0;
  double measured_lufs = 0;       // the source track's; -infinity for silence
  double measured_true_peak = 0;  // dBTP
  double gain_db = 0;             // the gain, where no peak holds it down
  double limited_seconds = 0;     // how much of the track was turned down less, for its peaks
};

struct OutputResult {
  std::string input;
  std::string output;
  Mode mode = Mode::kCopy;
  std::string format;
  std::string codec;
  int track = 0;
  std::string lang;
  Micros start = 0;      // real start of the output on the source timeline
  Micros end = 0;        // real end
  int sample_rate = 0;
  int channels = 0;
  int64_t samples = 0;   // per channel
  int64_t bytes = 0;
  int segments = 1;      // encoded in this many segments at once (1: serially or copied)
  std::string new_folder;  // the output's folder, created by this run ("" if it was there)
  std::vector<std::string> warnings;
  std::vector<LostSpan> lost;  // non-empty: the input was damaged (exit code 3)
  std::vector<std::string> log;  // FFmpeg's own warnings and errors during the run
  std::optional<NormalizationResult> normalization;  // with a loudness target
};

// Seconds of audio in an output: samples / sample_rate exactly (the span on the source
// timeline when the count is unknown). A damaged copy holds less than its span.
double audio_seconds(const OutputResult& result);

// What run() checks before it writes anything, as run() itself checks it (so that a dry run
// refuses exactly what a run would, with the same error): the output is not the input, not a
// folder, does not exist unless plan.overwrite, and its folder takes new files, or (with
// `create_folders`, as in RunOptions) can be created. Leaves nothing behind: whether a folder
// takes files is tried by creating the hidden temporary file and removing it at once.
// Returns the output's folder when it is missing and would be created, else "". Fails with
// kOutputIsInput, kOutputExists or kOutputUnwritable. Thread-safe.
Result<std::string> check_output(const OutputPlan& plan, bool create_folders);

// Writes plan.output atomically: nothing is left behind on failure or cancellation (but a
// folder it created stays). Fails with kOutputExists, kOutputIsInput, kOutputUnwritable
// (as check_output() would), kWriteFailed, kCancelled, kDamagedInput (strict plans),
// kTruncatedIndex/kUnsupportedFile (input changed since the plan) or kInternal.
// Segments run on the engine's pool; the engine's limits bound the silence filled into gaps
// and the output's size (kOutputTooLarge).
Result<OutputResult> run(Engine& engine, const OutputPlan& plan, const RunOptions& options = {});

// The same, reading from an Input already open on plan.input (no second parse of the file).
Result<OutputResult> run(Engine& engine, const OutputPlan& plan, Input& input,
                         const RunOptions& options = {});

}  // namespace peel
