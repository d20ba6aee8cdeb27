// The joiners of segment-parallel encoding and the table that picks one by output codec:
// mp3 (the bit reservoir, mp3_join.h), Vorbis (overlapping blocks, vorbis_join.h), FLAC
// (frame numbers and STREAMINFO, flac_join.h), and plain packet concatenation for PCM, AAC
// and Opus (priming and padding are the first and last segment's, see segment_spill.h).
#include "engine/segment_joiner.h"

#include <algorithm>
#include <numeric>
#include <utility>

#include "engine/encoder.h"
#include "engine/flac_join.h"
#include "engine/mp3_join.h"
#include "engine/vorbis_join.h"

extern "C" {
#include <libavcodec/codec_desc.h>
}

namespace peel::engine {

std::optional<CutJoin> SegmentJoiner::join(const std::vector<CodedPacket>& a,
                                           const std::vector<CodedPacket>& b, int64_t cut,
                                           int64_t /*min_pts*/, int64_t /*max_pts*/,
                                           std::span<const uint8_t> /*extradata*/,
                                           std::vector<CodedPacket>& out) const {
  out.clear();
  std::copy_if(a.begin(), a.end(), std::back_inserter(out),
               [cut](const CodedPacket& p) { return p.pts < cut; });
  std::copy_if(b.begin(), b.end(), std::back_inserter(out),
               [cut](const CodedPacket& p) { return p.pts >= cut; });
  return CutJoin{.joined = true};
}

namespace {

// Packets of PCM, AAC and Opus depend on no packet of another segment: they are put one
// after the other. (PCM's lossless rule is the table's.)
class PlainJoiner : public SegmentJoiner {
 public:
  explicit PlainJoiner(bool lossless) : lossless_(lossless) {}
  bool lossless() const override { return lossless_; }

 private:
  bool lossless_;
};

// mp3 joins (mp3_join.h) are made at a frame within this many frames of the cut, where both
// encoders have coded the frame; the workers keep frames around their cuts for that.
constexpr int64_t kJoinWindow = 16;
constexpr int64_t kKeepBefore = kJoinWindow + 12;  // and up to 511 bytes of reservoir before
constexpr int64_t kKeepAfter = kJoinWindow + 4;

class Mp3Joiner : public SegmentJoiner {
 public:
  int64_t grid(int64_t frame, int rate) const override {
    // At 44.1 kHz (and its halves) a CBR mp3 frame is a byte longer in a pattern that repeats
    // every 49 frames, counted from the encoder's start: segments that start on that pattern
    // have the frame sizes, and so the reservoir, of a serial run.
    return rate % 11025 == 0 ? 49 * frame : frame;
  }
  JoinMargins margins(int64_t frame) const override {
    return {kJoinWindow * frame, kKeepBefore * frame, kKeepAfter * frame};
  }
  std::optional<CutJoin> join(const std::vector<CodedPacket>& a, const std::vector<CodedPacket>& b,
                              int64_t cut, int64_t min_pts, int64_t max_pts,
                              std::span<const uint8_t> /*extradata*/,
                              std::vector<CodedPacket>& out) const override {
    if (!join_mp3(a, b, cut, min_pts, max_pts, out)) return std::nullopt;
    return CutJoin{.joined = true};
  }
};

// Vorbis joins (vorbis_join.h) are made where both encoders' blocks agree, within this many
// samples of the cut; a second encode of a segment, moved onto the grid of the segment before,
// is tried this many times before the transcode runs serially.
constexpr int64_t kVorbisWindow = 6144;
constexpr int64_t kVorbisKeep = 8192;
constexpr int64_t kVorbisHop = 1024;  // half of libvorbis's long block
constexpr int kVorbisRetries = 4;

class VorbisJoiner : public SegmentJoiner {
 public:
  // Segments start on the grid of long blocks a serial encode starts on.
  int64_t grid(int64_t frame, int /*rate*/) const override { return std::lcm(frame, kVorbisHop); }
  JoinMargins margins(int64_t /*frame*/) const override {
    return {kVorbisWindow, kVorbisKeep, kVorbisKeep};
  }
  // Vorbis packets are not frames of a fixed size: its join checks the packets.
  bool fixed_frames() const override { return false; }
  std::optional<CutJoin> join(const std::vector<CodedPacket>& a, const std::vector<CodedPacket>& b,
                              int64_t cut, int64_t min_pts, int64_t max_pts,
                              std::span<const uint8_t> extradata,
                              std::vector<CodedPacket>& out) const override {
    auto j = join_vorbis(a, b, cut, min_pts, max_pts, extradata, out);
    if (!j) return std::nullopt;
    return CutJoin{.joined = j->joined, .shift = j->shift};
  }
  int redos() const override { return kVorbisRetries; }
};

class FlacStreamJoin : public StreamJoin {
 public:
  explicit FlacStreamJoin(FlacJoin join) : join_(std::move(join)) {}
  void sample_bytes(const AVFrame& frame, int bits, std::vector<uint8_t>& out) const override {
    FlacJoin::md5_bytes(frame, bits, out);
  }
  void hash(std::span<const uint8_t> bytes) override { join_.hash(bytes); }
  Result<void> next_packet(AVPacket* pkt) override { return join_.renumber(pkt); }
  Result<std::vector<uint8_t>> extradata(std::span<const uint8_t> first) override {
    return join_.streaminfo(first);
  }

 private:
  FlacJoin join_;
};

// FLAC frames are renumbered and STREAMINFO rebuilt on the way out (flac_join.h).
class FlacJoiner : public SegmentJoiner {
 public:
  bool lossless() const override { return true; }
  Result<std::unique_ptr<StreamJoin>> stream_join() const override {
    auto j = FlacJoin::create();
    if (!j) return j.error();
    return std::unique_ptr<StreamJoin>(std::make_unique<FlacStreamJoin>(std::move(*j)));
  }
};

const PlainJoiner kLossy(false);
const PlainJoiner kPcm(true);
const Mp3Joiner kMp3;
const VorbisJoiner kVorbis;
const FlacJoiner kFlac;

struct Row {
  AVCodecID codec;
  const SegmentJoiner* joiner;
};

// Every output codec that can run in segments; the PCM rows are the encodings pcm_codec()
// gives.
const Row kJoiners[] = {
    {AV_CODEC_ID_MP3, &kMp3},       {AV_CODEC_ID_AAC, &kLossy},     {AV_CODEC_ID_OPUS, &kLossy},
    {AV_CODEC_ID_VORBIS, &kVorbis}, {AV_CODEC_ID_FLAC, &kFlac},     {AV_CODEC_ID_PCM_S16LE, &kPcm},
    {AV_CODEC_ID_PCM_S24LE, &kPcm}, {AV_CODEC_ID_PCM_S32LE, &kPcm}, {AV_CODEC_ID_PCM_F32LE, &kPcm},
};

// Whether a decoder's output for a packet depends on that packet alone (PCM, FLAC, ALAC...),
// so that a segment decoded from a seek point has the samples of a decode from the start.
// Lossy decoders carry state from packet to packet (overlap, bit reservoir, and AAC's noise
// substitution, whose random generator runs from the first frame on).
bool decodes_independently(const std::string& codec) {
  const AVCodecDescriptor* d = avcodec_descriptor_get_by_name(codec.c_str());
  constexpr int kProps = AV_CODEC_PROP_INTRA_ONLY | AV_CODEC_PROP_LOSSLESS;
  return d != nullptr && (d->props & kProps) == kProps;
}

}  // namespace

const SegmentJoiner* segment_joiner_for(AVCodecID codec) {
  for (const Row& row : kJoiners) {
    if (row.codec == codec) return row.joiner;
  }
  return nullptr;
}

const SegmentJoiner* segment_joiner_for(const OutputPlan& plan) {
  const SegmentJoiner* joiner = segment_joiner_for(output_codec(plan));
  // A lossless output must be the serial decode bit for bit: its segments must decode
  // exactly as the whole file does.
  if (joiner != nullptr && joiner->lossless() && !decodes_independently(plan.track.codec)) {
    return nullptr;
  }
  return joiner;
}

}  // namespace peel::engine
