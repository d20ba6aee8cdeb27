// PacketSamples: packet lengths from Vorbis modes, Opus TOC bytes and FLAC frame headers.
#include "engine/packet_samples.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavcodec/vorbis_parser.h>
#include <libavutil/intreadwrite.h>
}

namespace peel::engine {

namespace {

// Length of FLAC's "UTF-8" coded number from its first byte; 0 if the byte cannot start one.
size_t coded_length(uint8_t first) {
  if (first < 0x80) return 1;
  for (size_t n = 2; n <= 7; ++n) {
    const auto mask = static_cast<uint8_t>(0xFF << (7 - n));  // n ones, then a zero
    if ((first & mask) == static_cast<uint8_t>(mask << 1)) return n;
  }
  return 0;
}

// Samples at 48 kHz in one Opus packet (RFC 6716, 3.1: the TOC byte, and for code 3 the
// frame count byte after it); 0 if the packet is malformed.
int64_t opus_samples(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int config = data[0] >> 3;
  int64_t frame = 0;
  if (config < 12) {
    constexpr int64_t kSilk[] = {480, 960, 1920, 2880};  // 10, 20, 40, 60 ms
    frame = kSilk[config & 3];
  } else if (config < 16) {
    frame = (config & 1) != 0 ? 960 : 480;  // hybrid: 10 or 20 ms
  } else {
    frame = int64_t{120} << (config & 3);  // CELT: 2.5 to 20 ms
  }
  int64_t frames = 1;
  switch (data[0] & 3) {
    case 0:
      break;
    case 1:
    case 2:
      frames = 2;
      break;
    default:
      if (size < 2) return 0;
      frames = data[1] & 0x3F;
  }
  // At most 120 ms in a packet.
  return frame * frames <= 5760 ? frame * frames : 0;
}

}  // namespace

std::optional<FlacFrameHeader> read_flac_header(const uint8_t* in, size_t size) {
  // Sync (14 bits), reserved, blocking strategy; block size and sample rate codes; channels,
  // sample size, reserved; the coded number; block size and sample rate at the end if their
  // codes say so; CRC-8 of all that.
  if (size < 8 || in[0] != 0xFF || (in[1] & 0xFE) != 0xF8) return {};
  FlacFrameHeader h;
  h.variable = (in[1] & 1) != 0;
  const int bs_code = in[2] >> 4;
  const int sr_code = in[2] & 0x0F;
  h.number_size = coded_length(in[4]);
  if (h.number_size == 0) return {};
  const size_t tail = h.number_at + h.number_size;
  h.fields_size = (bs_code == 6   ? 1
                   : bs_code == 7 ? 2
                                  : 0) +
                  (sr_code == 12                      ? 1
                   : (sr_code == 13 || sr_code == 14) ? 2
                                                      : 0);
  if (tail + h.fields_size + 1 > size) return {};
  if (bs_code == 1) {
    h.block = 192;
  } else if (bs_code >= 2 && bs_code <= 5) {
    h.block = int64_t{576} << (bs_code - 2);
  } else if (bs_code == 6) {
    h.block = in[tail] + 1;
  } else if (bs_code == 7) {
    h.block = AV_RB16(in + tail) + 1;
  } else if (bs_code >= 8) {
    h.block = int64_t{256} << (bs_code - 8);
  } else {
    return {};
  }
  return h;
}

void PacketSamples::VorbisDeleter::operator()(AVVorbisParseContext* p) const {
  av_vorbis_parse_free(&p);
}

PacketSamples::PacketSamples(const AVCodecParameters& par) : par_(&par) {
  switch (par.codec_id) {
    case AV_CODEC_ID_VORBIS:
      if (par.extradata != nullptr && par.extradata_size > 0) {
        vorbis_.reset(av_vorbis_parse_init(par.extradata, par.extradata_size));
      }
      self_describing_ = vorbis_ != nullptr;
      break;
    case AV_CODEC_ID_OPUS:
    case AV_CODEC_ID_FLAC:
      self_describing_ = true;
      break;
    default:
      break;
  }
}

PacketSamples::~PacketSamples() = default;
PacketSamples::PacketSamples(PacketSamples&&) noexcept = default;
PacketSamples& PacketSamples::operator=(PacketSamples&&) noexcept = default;

int64_t PacketSamples::of(const AVPacket& pkt) {
  if (pkt.size <= 0 || pkt.data == nullptr) return 0;
  const auto size = static_cast<size_t>(pkt.size);
  switch (par_->codec_id) {
    case AV_CODEC_ID_VORBIS:
      if (vorbis_) {
        const int n = av_vorbis_parse_frame(vorbis_.get(), pkt.data, pkt.size);
        return n > 0 ? n : 0;
      }
      break;
    case AV_CODEC_ID_OPUS:
      if (const int64_t n = opus_samples(pkt.data, size); n > 0) {
        return par_->sample_rate > 0 && par_->sample_rate != 48000
                   ? av_rescale(n, par_->sample_rate, 48000)
                   : n;
      }
      return 0;
    case AV_CODEC_ID_FLAC:
      if (const auto h = read_flac_header(pkt.data, size)) return h->block;
      return 0;
    default:
      break;
  }
  const int n = av_get_audio_frame_duration2(const_cast<AVCodecParameters*>(par_), pkt.size);
  return n > 0 ? n : 0;
}

}  // namespace peel::engine
