// One segment's worker: its own reader of the input, a transcode of the segment with its pre-
// and post-roll through the transcoder loop, and the packets of its segment (and of the join
// margins around it) kept in its spill file, on the whole output's timeline.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/segment_joiner.h"
#include "engine/segment_spill.h"
#include "engine/segment_split.h"
#include "engine/transcode.h"

namespace peel::engine {

struct Worker {
  SegmentRange range;
  std::optional<int64_t> keep_from;  // the segment's packets' timestamps (output samples)
  std::optional<int64_t> keep_to;
  int64_t keep_before = 0;  // also kept: packets this far before keep_from, and after keep_to
  int64_t keep_after = 0;   // (for mp3 and Vorbis joins)
  std::atomic<int64_t> fed{0};
  SpillFile spill;
  // FLAC: the samples of the segment, for the stream's MD5 (`stream`). The first worker
  // hashes them as it goes; the others keep them in `samples` until the ones before them are
  // hashed.
  StreamJoin* stream = nullptr;
  std::optional<SpillFile> samples;
  int bits = 16;
  int64_t kept = 0;
  bool spill_failed = false;
  av::CodecParameters par;
  AVRational time_base{1, 1};
  OutputResult result;
  const GainCurve* gain = nullptr;  // the whole run's (every segment applies the same)
  std::vector<LostSpan> lost;
  std::vector<std::string> log;  // FFmpeg's warnings on the worker's thread
  std::optional<Error> error;

  // Whether output sample t is in the worker's own segment; in it or in the margins it keeps.
  bool owns(int64_t t) const {
    return (!keep_from || t >= *keep_from) && (!keep_to || t < *keep_to);
  }
  bool keeps(int64_t t) const {
    return (!keep_from || t >= *keep_from - keep_before) && (!keep_to || t < *keep_to + keep_after);
  }
};

// Worker k of the split's cuts.size() + 1, starting `earlier` samples before its pre-roll (a
// second try at a join), with its spill files in `folder`; `stream` (may be null) is the
// output's StreamJoin. Fails with kOutputUnwritable or kInternal.
Result<std::unique_ptr<Worker>> make_worker(const Split& split, size_t k, int64_t earlier,
                                            const std::string& folder, StreamJoin* stream);

// Runs worker `w` on this thread: opens the input, transcodes its range into its spill. A
// failure goes to w.error and cancels `stop`, so the other workers stop too; a cancelled
// `outer` (the run's token) cancels `stop` before anything starts.
void run_worker(Engine& engine, const OutputPlan& plan, Worker& w, const CancelToken& stop,
                const CancelToken& outer);

}  // namespace peel::engine
