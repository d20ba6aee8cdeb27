// join_mp3 on hand-made MPEG-1 Layer III frames (48 kHz stereo, no CRC): the borrowed bytes
// of B's first frame land in the unused tail of A's payload, the nearest fitting frame is
// chosen, and a frame without room grows by a bitrate step.
#include "engine/mp3_join.h"

#include <gtest/gtest.h>

namespace peel::engine {
namespace {

constexpr int kStep = 1152;

// A frame of bitrate index `bitrate` (11: 192 kbit/s, 576 bytes at 48 kHz) whose main data
// begins `begin` bytes before its payload and is `bytes` long; payload bytes are `fill`.
CodedPacket frame(int64_t index, int bitrate, int begin, int bytes, uint8_t fill) {
  static constexpr int kKbps[15] = {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320};
  const int size = 144 * kKbps[bitrate] * 1000 / 48000;
  std::vector<uint8_t> f(static_cast<size_t>(size), fill);
  f[0] = 0xFF;
  f[1] = 0xFB;                                         // MPEG-1, Layer III, no CRC
  f[2] = static_cast<uint8_t>((bitrate << 4) | (1 << 2));  // 48 kHz, no padding
  f[3] = 0x00;                                         // stereo
  std::fill(f.begin() + 4, f.begin() + 36, 0);
  size_t bit = 0;
  auto put = [&](uint64_t v, int n) {  // n <= 64
    for (int i = n - 1; i >= 0; --i, ++bit) {
      if (((v >> i) & 1) != 0) f[4 + bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
    }
  };
  put(static_cast<uint64_t>(begin), 9);
  put(0, 3 + 8);  // private bits, scfsi
  const int bits = bytes * 8;
  for (int gc = 0; gc < 4; ++gc) {  // 2 granules x 2 channels, 59 bits each
    put(static_cast<uint64_t>(bits / 4 + (gc == 0 ? bits % 4 : 0)), 12);  // part2_3_length
    put(0, 59 - 12);
  }
  return CodedPacket{index * kStep, kStep, std::move(f)};
}

constexpr int kPayload = 576 - 36;

TEST(Mp3Join, BorrowedBytesGoIntoTheRoomAtTheEndOfA) {
  // A: frames 0..9 each using 300 of 540 payload bytes: 240 unused at the end of each.
  std::vector<CodedPacket> a;
  for (int i = 0; i < 10; ++i) a.push_back(frame(i, 11, 0, 300, 0xAA));
  // B: frames 3..12; frame 5 borrows 100 bytes from the frames before it.
  std::vector<CodedPacket> b;
  for (int i = 3; i < 13; ++i) b.push_back(frame(i, 11, i == 5 ? 100 : 0, 300, static_cast<uint8_t>(i)));
  std::vector<CodedPacket> out;
  auto j = join_mp3(a, b, 5 * kStep, 3 * kStep, 7 * kStep, out);
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_EQ(j->pts, 5 * kStep);
  EXPECT_EQ(j->borrowed, 100);
  EXPECT_EQ(j->room, 240);
  EXPECT_EQ(j->grown, 0);
  ASSERT_EQ(out.size(), 5u + 8u);
  for (int i = 0; i < 13; ++i) EXPECT_EQ(out[static_cast<size_t>(i)].pts, i * kStep);
  // A's frame 4 ends with B's frame 4's last 100 bytes; what A's frames use is untouched.
  const auto& last_a = out[4].data;
  for (size_t k = last_a.size() - 100; k < last_a.size(); ++k) ASSERT_EQ(last_a[k], 4) << k;
  for (size_t k = 36; k < 36 + 300; ++k) ASSERT_EQ(last_a[k], 0xAA) << k;
  EXPECT_EQ(out[5].data, b[2].data);  // B from its frame 5 on, unchanged
}

TEST(Mp3Join, TheNearestFrameThatFitsIsChosen) {
  std::vector<CodedPacket> a;
  // A's frames use all their payload except frame 3's (and the ones after it).
  for (int i = 0; i < 10; ++i) a.push_back(frame(i, 11, 0, i < 3 ? kPayload : 100, 0xAA));
  std::vector<CodedPacket> b;
  for (int i = 0; i < 10; ++i) b.push_back(frame(i, 11, 50, 300, static_cast<uint8_t>(i)));
  std::vector<CodedPacket> out;
  // At the cut (frame 3) A has no room (frame 2 is full); at frame 4 it has 440 bytes.
  auto j = join_mp3(a, b, 3 * kStep, 1 * kStep, 6 * kStep, out);
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_EQ(j->pts, 4 * kStep);
  EXPECT_EQ(j->grown, 0);
  EXPECT_EQ(out.size(), 4u + 6u);
}

TEST(Mp3Join, AFrameWithoutRoomGrowsABitrateStep) {
  std::vector<CodedPacket> a;
  for (int i = 0; i < 10; ++i) a.push_back(frame(i, 11, 0, kPayload, 0xAA));  // no room anywhere
  std::vector<CodedPacket> b;
  for (int i = 0; i < 10; ++i) b.push_back(frame(i, 11, 90, 300, static_cast<uint8_t>(i)));
  std::vector<CodedPacket> out;
  auto j = join_mp3(a, b, 5 * kStep, 4 * kStep, 6 * kStep, out);
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_EQ(j->pts, 5 * kStep);
  EXPECT_EQ(j->grown, 96);  // 192 -> 224 kbit/s: 576 -> 672 bytes
  ASSERT_EQ(out[4].data.size(), 672u);
  EXPECT_EQ(out[4].data[2] >> 4, 12);
  for (size_t k = 672 - 90; k < 672; ++k) ASSERT_EQ(out[4].data[k], 4) << k;
  for (size_t k = 36; k < 576; ++k) ASSERT_EQ(out[4].data[k], 0xAA) << k;  // A's data kept
}

TEST(Mp3Join, NoRoomEvenAtTheHighestBitrateFails) {
  std::vector<CodedPacket> a;
  for (int i = 0; i < 6; ++i) a.push_back(frame(i, 14, 0, 1044, 0xAA));  // 320k, full
  std::vector<CodedPacket> b;
  for (int i = 0; i < 6; ++i) b.push_back(frame(i, 14, 200, 900, 1));
  std::vector<CodedPacket> out;
  EXPECT_FALSE(join_mp3(a, b, 3 * kStep, 2 * kStep, 4 * kStep, out));
}

}  // namespace
}  // namespace peel::engine
