// What an output codec needs for segment-parallel encoding: where its segments may be cut,
// which packets around a cut the workers keep, and how the packets of two segments become one
// stream. One table (segment_joiner.cc) maps each codec that can run in segments to its joiner.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "engine/coded_packet.h"
#include "peel/error.h"
#include "peel/plan.h"

extern "C" {
#include <libavcodec/codec_id.h>
}

struct AVFrame;
struct AVPacket;

namespace peel::engine {

// Packets kept around a cut for a join made near it rather than at it.
struct JoinMargins {
  int64_t overlap = 0;  // the join is made within this many samples of the cut (0: at the cut)
  int64_t before = 0;   // each worker also keeps its packets this many samples before its
  int64_t after = 0;    // segment, and this many after it
};

// A join at one cut (SegmentJoiner::join).
struct CutJoin {
  bool joined = false;
  int64_t shift = 0;  // not joined: encode the later segment again this many samples earlier
};

// What a join keeps over the whole stream (FLAC: frame numbers and the MD5 of every sample),
// made once per output by SegmentJoiner::stream_join(). sample_bytes() may be called from any
// thread; the others from one thread at a time, in stream order.
class StreamJoin {
 public:
  virtual ~StreamJoin() = default;
  // The bytes of `frame` (in the encoder's format, `bits` per sample) that hash() takes.
  virtual void sample_bytes(const AVFrame& frame, int bits, std::vector<uint8_t>& out) const = 0;
  // Adds the next samples of the stream, as sample_bytes() gives them.
  virtual void hash(std::span<const uint8_t> bytes) = 0;
  // Puts the next packet of the stream right for its place in the whole stream.
  virtual Result<void> next_packet(AVPacket* pkt) = 0;
  // The whole stream's extradata, once every packet and sample has been seen, from the first
  // segment's encoder extradata.
  virtual Result<std::vector<uint8_t>> extradata(std::span<const uint8_t> first) = 0;
};

class SegmentJoiner {
 public:
  virtual ~SegmentJoiner() = default;

  // Whether the output must be the serial decode of its source bit for bit (then only
  // sources whose packets decode independently can run in segments).
  virtual bool lossless() const { return false; }
  // The number of samples, a multiple of `frame` (samples per packet), that every cut and
  // every segment's start must be a multiple of, at `rate` samples per second.
  virtual int64_t grid(int64_t frame, int /*rate*/) const { return frame; }
  virtual JoinMargins margins(int64_t /*frame*/) const { return {}; }
  // Whether each packet holds one frame of `frame` samples, so that a whole segment holds a
  // known number of them.
  virtual bool fixed_frames() const { return true; }
  // Joins `a` (the output's packets from cut - margins().before on) and `b` (the next
  // segment's packets before cut + margins().before) at a point in [min_pts, max_pts], the
  // nearest to `cut` that works; `extradata` is the first segment's encoder's. When joined,
  // `out` holds a's packets before the join and b's from it. Empty when the join cannot be
  // made. Without margins both are empty: the segments' packets meet at the cut.
  virtual std::optional<CutJoin> join(const std::vector<CodedPacket>& a,
                                      const std::vector<CodedPacket>& b, int64_t cut,
                                      int64_t min_pts, int64_t max_pts,
                                      std::span<const uint8_t> extradata,
                                      std::vector<CodedPacket>& out) const;
  // How many times a segment may be encoded again, moved by CutJoin::shift, before the
  // transcode runs serially.
  virtual int redos() const { return 0; }
  // The stream-wide state of a join, or null where packets need no change on the way out.
  // Fails with kInternal.
  virtual Result<std::unique_ptr<StreamJoin>> stream_join() const {
    return std::unique_ptr<StreamJoin>();
  }
};

// The joiner for output `codec`, or null when that codec cannot run in segments.
const SegmentJoiner* segment_joiner_for(AVCodecID codec);

// The joiner for the plan's transcode, or null when its segments could not be joined into the
// output a serial run writes (its codec has no joiner, or its output is lossless and its
// source's packets do not decode independently).
const SegmentJoiner* segment_joiner_for(const OutputPlan& plan);

}  // namespace peel::engine
