// How many samples a coded audio packet holds, read from the packet itself.
//
// Containers with millisecond timestamps (Matroska, WebM, FLV) cannot say how long a packet
// is to the sample, and some give no duration at all (Vorbis in Matroska): a stream copy
// would drift or end in the wrong place. Vorbis, Opus and FLAC packets say how many samples
// they decode to; codecs with a fixed frame size say it once for the stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

struct AVCodecParameters;
struct AVPacket;
struct AVVorbisParseContext;

namespace peel::engine {

// The parts of a FLAC frame header (xiph.org/flac/format.html#frame_header) a copy or a join
// needs: the block size, and where the coded frame/sample number and the optional fields lie.
struct FlacFrameHeader {
  bool variable = false;   // numbered by sample, not by frame
  size_t number_at = 4;    // the coded number's offset
  size_t number_size = 0;  // its length in bytes (1 to 7)
  size_t fields_size = 0;  // optional block size and sample rate bytes after it
  int64_t block = 0;       // samples per channel
};

// Reads a FLAC frame header; empty when `data` does not start with one.
std::optional<FlacFrameHeader> read_flac_header(const uint8_t* data, size_t size);

class PacketSamples {
 public:
  explicit PacketSamples(const AVCodecParameters& par);
  ~PacketSamples();
  PacketSamples(PacketSamples&&) noexcept;
  PacketSamples& operator=(PacketSamples&&) noexcept;

  // Whether the packets themselves say how long they are (Vorbis, Opus, FLAC): then of() is
  // exact for every packet, the last one included, where a container may round or trim.
  bool self_describing() const { return self_describing_; }

  // Samples (per channel, at the stream's rate) the packet decodes to before any trimming the
  // container asks for; 0 when neither the packet nor the stream says. Call once per packet,
  // in stream order (a Vorbis packet's length depends on the one before).
  int64_t of(const AVPacket& pkt);

 private:
  struct VorbisDeleter {
    void operator()(AVVorbisParseContext* p) const;
  };
  const AVCodecParameters* par_;
  bool self_describing_ = false;
  std::unique_ptr<AVVorbisParseContext, VorbisDeleter> vorbis_;
};

}  // namespace peel::engine
