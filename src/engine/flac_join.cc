// FlacJoin: renumbering FLAC frames and rebuilding STREAMINFO (format: xiph.org/flac/format.html).
#include "engine/flac_join.h"

#include <algorithm>
#include <cstring>

#include "engine/packet_samples.h"

extern "C" {
#include <libavcodec/packet.h>
#include <libavutil/bswap.h>
#include <libavutil/crc.h>
#include <libavutil/frame.h>
#include <libavutil/intreadwrite.h>
#include <libavutil/md5.h>
#include <libavutil/mem.h>
#include <libavutil/samplefmt.h>
}

namespace peel::engine {

namespace {

constexpr size_t kStreamInfoSize = 34;

Error bad_frame() {
  return Error{ErrorCode::kInternal, "the FLAC encoder made a frame peel cannot join"};
}

// FLAC's "UTF-8" coding of a frame or sample number (up to 36 bits).
void put_coded(uint64_t v, std::vector<uint8_t>& out) {
  if (v < 0x80) {
    out.push_back(static_cast<uint8_t>(v));
    return;
  }
  int n = 2;
  while (n < 7 && v >= (uint64_t{1} << (5 * n + 1))) ++n;
  int shift = 6 * (n - 1);
  out.push_back(static_cast<uint8_t>((0xFF00 >> n) & 0xFF) | static_cast<uint8_t>(v >> shift));
  while (shift > 0) {
    shift -= 6;
    out.push_back(static_cast<uint8_t>(0x80 | ((v >> shift) & 0x3F)));
  }
}

}  // namespace

void FlacJoin::Md5Deleter::operator()(AVMD5* md5) const { av_free(md5); }

Result<FlacJoin> FlacJoin::create() {
  FlacJoin j;
  j.md5_.reset(av_md5_alloc());
  if (!j.md5_) return Error{ErrorCode::kInternal, "out of memory"};
  av_md5_init(j.md5_.get());
  return j;
}

void FlacJoin::md5_bytes(const AVFrame& frame, int bits, std::vector<uint8_t>& out) {
  const int bytes = (bits + 7) / 8;
  const size_t count = static_cast<size_t>(frame.nb_samples) * frame.ch_layout.nb_channels;
  out.resize(count * bytes);
  if (frame.format == AV_SAMPLE_FMT_S16) {
    const auto* in = reinterpret_cast<const int16_t*>(frame.data[0]);
    for (size_t i = 0; i < count; ++i) AV_WL16(&out[2 * i], static_cast<uint16_t>(in[i]));
  } else {  // AV_SAMPLE_FMT_S32, the sample in the top `bits` bits
    const auto* in = reinterpret_cast<const int32_t*>(frame.data[0]);
    const int shift = 32 - 8 * bytes;
    for (size_t i = 0; i < count; ++i) {
      const auto v = static_cast<uint32_t>(in[i] >> shift);
      for (int b = 0; b < bytes; ++b) out[i * bytes + b] = static_cast<uint8_t>(v >> (8 * b));
    }
  }
}

void FlacJoin::hash(std::span<const uint8_t> bytes) {
  av_md5_update(md5_.get(), bytes.data(), bytes.size());
}

Result<void> FlacJoin::renumber(AVPacket* pkt) {
  if (pkt->size == 0) return {};  // the encoder's last word: no frame, only its STREAMINFO
  const uint8_t* in = pkt->data;
  const auto size = static_cast<size_t>(pkt->size);
  const auto header = read_flac_header(in, size);
  if (!header || header->number_at + header->number_size + header->fields_size + 3 > size) {
    return bad_frame();
  }
  const bool variable = header->variable;
  const int64_t block = header->block;
  const size_t tail = header->number_at + header->number_size;  // the optional fields
  const size_t fields = header->fields_size;

  buffer_.assign(in, in + 4);
  put_coded(static_cast<uint64_t>(variable ? samples_ : frames_), buffer_);
  buffer_.insert(buffer_.end(), in + tail, in + tail + fields);
  const AVCRC* crc8 = av_crc_get_table(AV_CRC_8_ATM);
  buffer_.push_back(static_cast<uint8_t>(av_crc(crc8, 0, buffer_.data(), buffer_.size())));
  const size_t body = tail + fields + 1;  // the subframes start here in `in`
  buffer_.insert(buffer_.end(), in + body, in + size - 2);
  const AVCRC* crc16 = av_crc_get_table(AV_CRC_16_ANSI);
  const auto sum = static_cast<uint16_t>(
      av_bswap16(static_cast<uint16_t>(av_crc(crc16, 0, buffer_.data(), buffer_.size()))));
  buffer_.push_back(static_cast<uint8_t>(sum >> 8));
  buffer_.push_back(static_cast<uint8_t>(sum & 0xFF));

  if (av_packet_make_writable(pkt) < 0) return Error{ErrorCode::kInternal, "out of memory"};
  if (buffer_.size() > size) {
    if (av_grow_packet(pkt, static_cast<int>(buffer_.size() - size)) < 0) {
      return Error{ErrorCode::kInternal, "out of memory"};
    }
  } else {
    av_shrink_packet(pkt, static_cast<int>(buffer_.size()));
  }
  std::memcpy(pkt->data, buffer_.data(), buffer_.size());

  const auto frame_size = static_cast<uint32_t>(buffer_.size());
  min_frame_ = frames_ == 0 ? frame_size : std::min(min_frame_, frame_size);
  max_frame_ = std::max(max_frame_, frame_size);
  ++frames_;
  samples_ += block;
  return {};
}

Result<std::vector<uint8_t>> FlacJoin::streaminfo(std::span<const uint8_t> first) {
  // min/max block size (2+2 bytes) stay; min/max frame size (3+3); sample rate (20 bits),
  // channels (3), bits (5) and the sample count (36); the MD5 (16 bytes).
  if (first.size() < kStreamInfoSize) {
    return Error{ErrorCode::kInternal, "the FLAC encoder gave no STREAMINFO"};
  }
  std::vector<uint8_t> info(first.begin(), first.begin() + kStreamInfoSize);
  AV_WB24(&info[4], min_frame_);
  AV_WB24(&info[7], max_frame_);
  const uint64_t packed = (AV_RB64(&info[10]) & ~((uint64_t{1} << 36) - 1)) |
                          (static_cast<uint64_t>(samples_) & ((uint64_t{1} << 36) - 1));
  AV_WB64(&info[10], packed);
  av_md5_final(md5_.get(), &info[18]);
  av_md5_init(md5_.get());
  return info;
}

}  // namespace peel::engine
