// FlacJoin on hand-made FLAC frames, checked against the test's own bit-by-bit CRCs: frames
// all numbered 0 come out numbered in stream order (frame number, or first sample for
// variable block sizes) with the optional header fields kept, STREAMINFO gets the frame sizes,
// sample count and MD5 of the whole stream, and md5_bytes() packs samples as FLAC hashes them.
#include "engine/flac_join.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

extern "C" {
#include <libavcodec/packet.h>
#include <libavutil/channel_layout.h>
#include <libavutil/frame.h>
#include <libavutil/md5.h>
}

namespace peel::engine {
namespace {

using Bytes = std::vector<uint8_t>;

template <class R>
constexpr uint8_t crc8(const R& bytes) {  // poly 0x07, init 0
  uint8_t c = 0;
  for (auto b : bytes) {
    c ^= static_cast<uint8_t>(b);
    for (int i = 0; i < 8; ++i) c = static_cast<uint8_t>((c & 0x80) ? (c << 1) ^ 0x07 : c << 1);
  }
  return c;
}

template <class R>
constexpr uint16_t crc16(const R& bytes) {  // poly 0x8005, init 0, MSB first
  uint16_t c = 0;
  for (auto b : bytes) {
    c ^= static_cast<uint16_t>(static_cast<uint8_t>(b) << 8);
    for (int i = 0; i < 8; ++i)
      c = static_cast<uint16_t>((c & 0x8000) ? (c << 1) ^ 0x8005 : c << 1);
  }
  return c;
}

// The catalogued check values of CRC-8/SMBUS and CRC-16/UMTS.
static_assert(crc8(std::string_view("123456789")) == 0xF4);
static_assert(crc16(std::string_view("123456789")) == 0xFEE8);

// FLAC's "UTF-8" number: one byte below 128, else n bytes holding 7 - n + 6 (n - 1) bits.
void put_coded(uint64_t v, Bytes& out) {
  if (v < 0x80) {
    out.push_back(static_cast<uint8_t>(v));
    return;
  }
  int n = 2;
  while (v >> (7 - n + 6 * (n - 1)) != 0) ++n;
  out.push_back(static_cast<uint8_t>((0xFF << (8 - n)) | (v >> (6 * (n - 1)))));
  for (int k = n - 2; k >= 0; --k)
    out.push_back(static_cast<uint8_t>(0x80 | ((v >> (6 * k)) & 0x3F)));
}

// A frame's header fields, positionally: {variable, bs_code, block, sr_code, rate, body}.
struct Spec {
  bool variable = false;  // 0xFFF9: numbered by first sample
  int bs_code = 12;       // 4096 samples
  int block = 0;          // bs_code 6, 7: the block size (stored as block - 1)
  int sr_code = 10;       // 48 kHz
  int rate = 0;           // sr_code 12 (kHz), 13 (Hz), 14 (tens of Hz): the value stored
  size_t body = 20;       // bytes of "subframes"
};

// A stereo 16-bit frame of `s` numbered `number`; body bytes follow a pattern from `fill`.
Bytes build(const Spec& s, uint64_t number, uint8_t fill = 0) {
  Bytes f = {0xFF, static_cast<uint8_t>(s.variable ? 0xF9 : 0xF8),
             static_cast<uint8_t>((s.bs_code << 4) | s.sr_code), (1 << 4) | (4 << 1)};
  put_coded(number, f);
  if (s.bs_code == 7) f.push_back(static_cast<uint8_t>((s.block - 1) >> 8));
  if (s.bs_code == 6 || s.bs_code == 7) f.push_back(static_cast<uint8_t>((s.block - 1) & 0xFF));
  if (s.sr_code == 13 || s.sr_code == 14) f.push_back(static_cast<uint8_t>(s.rate >> 8));
  if (s.sr_code >= 12 && s.sr_code <= 14) f.push_back(static_cast<uint8_t>(s.rate & 0xFF));
  f.push_back(crc8(f));
  for (size_t i = 0; i < s.body; ++i) f.push_back(static_cast<uint8_t>(fill + 37 * i));
  const uint16_t c = crc16(f);
  f.push_back(static_cast<uint8_t>(c >> 8));
  f.push_back(static_cast<uint8_t>(c & 0xFF));
  return f;
}

// `in` through j.renumber() in a packet of its own; the packet's bytes after.
Result<Bytes> pass(FlacJoin& j, const Bytes& in) {
  AVPacket* pkt = av_packet_alloc();
  Result<Bytes> out = Error{ErrorCode::kInternal, "test: out of memory"};
  if (pkt != nullptr && av_new_packet(pkt, static_cast<int>(in.size())) == 0) {
    if (!in.empty()) std::memcpy(pkt->data, in.data(), in.size());
    auto r = j.renumber(pkt);
    out = r ? Result<Bytes>(Bytes(pkt->data, pkt->data + pkt->size)) : Result<Bytes>(r.error());
  }
  av_packet_free(&pkt);
  return out;
}

TEST(FlacJoin, RenumbersFramesAcrossCodedLengths) {
  auto j = FlacJoin::create();
  ASSERT_TRUE(j);
  const Spec s;
  const size_t short_size = build(s, 0).size();
  for (uint64_t i = 0; i < 300; ++i) {
    auto out = pass(*j, build(s, 0, static_cast<uint8_t>(i)));
    ASSERT_TRUE(out) << out.error().message;
    ASSERT_EQ(*out, build(s, i, static_cast<uint8_t>(i))) << "frame " << i;
    EXPECT_EQ(out->size(), short_size + (i < 128 ? 0 : 1)) << "frame " << i;
  }
}

TEST(FlacJoin, KeepsOptionalBlockSizeAndSampleRateFields) {
  const Spec specs[] = {{false, 6, 100, 12, 48, 20},
                        {false, 7, 1000, 13, 44100, 20},
                        {false, 6, 256, 13, 22050, 5},
                        {false, 7, 4608, 12, 96, 40},
                        {false, 7, 65535, 14, 4410, 9}};
  for (const Spec& s : specs) {
    auto j = FlacJoin::create();
    ASSERT_TRUE(j);
    for (uint64_t i = 0; i < 130; ++i) {  // the fields move when the number grows a byte
      auto out = pass(*j, build(s, 0));
      ASSERT_TRUE(out) << out.error().message;
      ASSERT_EQ(*out, build(s, i)) << "bs " << s.bs_code << ", sr " << s.sr_code << ", frame " << i;
    }
  }
}

TEST(FlacJoin, NumbersVariableBlockSizeFramesByFirstSample) {
  auto j = FlacJoin::create();
  ASSERT_TRUE(j);
  const Spec big{true, 12, 0, 10, 0, 20};     // 4096
  const Spec small{true, 7, 1000, 10, 0, 8};  // 1000, stored as 999
  const Spec frames[] = {big, big, small, big};
  const uint64_t first[] = {0, 4096, 8192, 9192};
  for (size_t i = 0; i < 4; ++i) {
    auto out = pass(*j, build(frames[i], 0));
    ASSERT_TRUE(out) << out.error().message;
    EXPECT_EQ(*out, build(frames[i], first[i])) << "frame " << i;
  }
}

TEST(FlacJoin, CodesSampleNumbersPastThirtyTwoBits) {
  // 2^16 + 1 frames of 65536 samples (the largest block): the last starts at 2^32, coded on
  // 7 bytes, and the 36-bit sample count of STREAMINFO holds 2^32 + 2^16.
  auto j = FlacJoin::create();
  ASSERT_TRUE(j);
  const Spec s{true, 7, 65536, 10, 0, 4};
  const Bytes in = build(s, 0);
  const uint64_t frames = (uint64_t{1} << 16) + 1;
  Bytes out;
  for (uint64_t i = 0; i < frames; ++i) {
    auto r = pass(*j, in);
    ASSERT_TRUE(r) << r.error().message;
    out = std::move(*r);
    // Each coded length's first and last number: 2^16, 2^21, 2^26 and 2^31 fall on powers of 2.
    if ((i & (i - 1)) == 0 || (i & (i + 1)) == 0) {
      ASSERT_EQ(out, build(s, i << 16)) << "frame " << i;
    }
  }
  EXPECT_EQ(out.size(), in.size() + 6);
  auto info = j->streaminfo(Bytes(34, 0));
  ASSERT_TRUE(info) << info.error().message;
  uint64_t total = (*info)[13] & 0x0F;
  for (size_t b = 14; b < 18; ++b) total = (total << 8) | (*info)[b];
  EXPECT_EQ(total, frames << 16);
}

TEST(FlacJoin, PassesTheEmptyPacketAndRefusesWhatIsNoFrame) {
  auto j = FlacJoin::create();
  ASSERT_TRUE(j);
  const Spec s;
  auto empty = pass(*j, Bytes{});
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_TRUE(empty->empty());
  Bytes bad = build(s, 0);
  bad[1] = 0xF0;  // not a FLAC sync code
  EXPECT_FALSE(pass(*j, bad));
  bad[0] = 0x00;
  bad[1] = 0xF8;
  EXPECT_FALSE(pass(*j, bad));
  EXPECT_FALSE(pass(*j, Bytes{0xFF, 0xF8, 0xC9}));  // cut short
  auto out = pass(*j, build(s, 0));                 // nothing above was counted
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(*out, build(s, 0));
  out = pass(*j, build(s, 0));
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(*out, build(s, 1));
}

// STREAMINFO's body: 4608-sample blocks, frame sizes 0, 48 kHz, stereo, 16 bits, no samples.
Bytes first_streaminfo() {
  Bytes si(34, 0);
  si[0] = si[2] = 0x12;  // 4608 = 0x1200
  const uint64_t packed = (uint64_t{48000} << 44) | (uint64_t{1} << 41) | (uint64_t{15} << 36);
  for (size_t b = 0; b < 8; ++b) si[10 + b] = static_cast<uint8_t>(packed >> (56 - 8 * b));
  return si;
}

TEST(FlacJoin, BuildsStreamInfoOfTheWholeStream) {
  auto j = FlacJoin::create();
  ASSERT_TRUE(j);
  // Frames of 4608 samples (code 5), an empty packet, a last frame of 1000 (code 7); the
  // smallest and largest are neither first nor last.
  const size_t bodies[] = {30, 10, 50, 20, 25};
  std::vector<size_t> sizes;
  for (size_t i = 0; i < 5; ++i) {
    if (i == 4) {
      auto empty = pass(*j, Bytes{});
      ASSERT_TRUE(empty && empty->empty());
    }
    auto out = pass(*j, build({false, i < 4 ? 5 : 7, 1000, 10, 0, bodies[i]}, 0));
    ASSERT_TRUE(out) << out.error().message;
    sizes.push_back(out->size());
  }
  Bytes all;
  const size_t chunks[] = {7, 0, 4608 * 4, 1, 333};
  for (size_t n : chunks) {
    Bytes chunk;
    for (size_t k = 0; k < n; ++k) chunk.push_back(static_cast<uint8_t>(all.size() + k * 13));
    j->hash(chunk);
    for (uint8_t b : chunk) all.push_back(b);
  }
  const Bytes first = first_streaminfo();
  auto info = j->streaminfo(first);
  ASSERT_TRUE(info) << info.error().message;
  ASSERT_EQ(info->size(), 34u);
  const Bytes& si = *info;
  auto rb24 = [&](size_t at) {
    return uint32_t{si[at]} << 16 | uint32_t{si[at + 1]} << 8 | si[at + 2];
  };
  EXPECT_EQ(rb24(4), *std::min_element(sizes.begin(), sizes.end()));
  EXPECT_EQ(rb24(7), *std::max_element(sizes.begin(), sizes.end()));
  EXPECT_TRUE(std::equal(si.begin(), si.begin() + 4, first.begin()));             // block sizes
  EXPECT_TRUE(std::equal(si.begin() + 10, si.begin() + 13, first.begin() + 10));  // rate, ...
  EXPECT_EQ(si[13] & 0xF0, first[13] & 0xF0);  // ... channels, bits
  uint64_t total = si[13] & 0x0F;
  for (size_t b = 14; b < 18; ++b) total = (total << 8) | si[b];
  EXPECT_EQ(total, 4u * 4608 + 1000);
  uint8_t md5[16];
  av_md5_sum(md5, all.data(), static_cast<int>(all.size()));
  EXPECT_TRUE(std::equal(si.begin() + 18, si.end(), md5));
}

TEST(FlacJoin, RefusesAShortStreamInfo) {
  auto j = FlacJoin::create();
  ASSERT_TRUE(j);
  Bytes first = first_streaminfo();
  first.pop_back();
  EXPECT_FALSE(j->streaminfo(first));
}

// A packed frame of `format`, 2 channels, holding `samples` interleaved.
template <class T>
AVFrame* make_frame(AVSampleFormat format, const std::vector<T>& samples) {
  AVFrame* f = av_frame_alloc();
  f->format = format;
  f->nb_samples = static_cast<int>(samples.size() / 2);
  av_channel_layout_default(&f->ch_layout, 2);
  if (av_frame_get_buffer(f, 0) < 0) av_frame_free(&f);
  if (f != nullptr) std::memcpy(f->data[0], samples.data(), samples.size() * sizeof(T));
  return f;
}

TEST(FlacJoin, PacksSamplesAsFlacHashesThem) {
  AVFrame* s16 = make_frame<int16_t>(AV_SAMPLE_FMT_S16, {1, -2, 0x1234, -32768, 32767, 0});
  ASSERT_NE(s16, nullptr);
  Bytes out;
  FlacJoin::md5_bytes(*s16, 16, out);
  EXPECT_EQ(out, (Bytes{0x01, 0x00, 0xFE, 0xFF, 0x34, 0x12, 0x00, 0x80, 0xFF, 0x7F, 0x00, 0x00}));
  av_frame_free(&s16);

  // 24 bits left-aligned in s32: the top three bytes, the low one dropped.
  AVFrame* s32 = make_frame<int32_t>(AV_SAMPLE_FMT_S32,
                                     {0x12345600, -256, 0x7FFFFF00, INT32_MIN, 0x000001FF, -1});
  ASSERT_NE(s32, nullptr);
  out.assign(40, 0xEE);  // a buffer in use before: replaced, not appended to
  FlacJoin::md5_bytes(*s32, 24, out);
  EXPECT_EQ(out, (Bytes{0x56, 0x34, 0x12, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x00, 0x00, 0x80,
                        0x01, 0x00, 0x00, 0xFF, 0xFF, 0xFF}));
  av_frame_free(&s32);
}

}  // namespace
}  // namespace peel::engine
