// The transcoder loop: decode, trim to exact samples, resample/mix and encode into a
// PacketSink. The serial run (transcode_stream.cc) and each segment's worker
// (segment_worker.cc) call it through this header.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>

#include "av/av.h"
#include "engine/encoder.h"
#include "engine/stages.h"

namespace peel::engine {

// Where encoded packets go: the output file, or one segment's spill file.
class PacketSink {
 public:
  virtual ~PacketSink() = default;
  // The encoder is open; called once, before the first write().
  virtual Result<void> open(const AVCodecContext& encoder) = 0;
  // One packet, timestamps in the encoder's time base (1/sample_rate) counted from the first
  // sample this transcode fed the encoder. Takes the packet's reference.
  virtual Result<void> write(AVPacket* pkt) = 0;
  // The frame about to go into the encoder (timestamps as write()'s).
  virtual Result<void> encoding(const AVFrame& /*frame*/) { return {}; }
};

// One worker's share of a segment-parallel transcode, in output samples counted from the
// first sample of the whole output. `begin` and `end` are multiples of the encoder's frame
// size that map to whole input samples, so the worker's frames line up with a serial run's.
struct SegmentRange {
  int64_t begin = 0;           // first sample fed to the encoder (the pre-roll's start)
  std::optional<int64_t> end;  // one past the last sample fed (the post-roll's end); empty:
                               // to the end of the plan's range, like a serial run
  std::atomic<int64_t>* fed = nullptr;  // samples fed so far, for progress (may be null)
  std::function<void()> on_fed;         // called every kChunk samples fed or so (may be empty)
  bool go_serial = false;  // out: the segment cannot be placed where the split assumed (the
                           // input ended before `end`, its rate is not the declared one, or
                           // its timestamps jump where the data does not); the caller falls
                           // back to a serial run
};

// Decodes the plan's range (or the segment of it) and encodes it into `sink`. With a segment,
// job.result.samples counts what this worker fed its encoder.
Result<void> transcode_into(Job& job, PacketSink& sink, SegmentRange* segment);

}  // namespace peel::engine
