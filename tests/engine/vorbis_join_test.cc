// join_vorbis on hand-made packet streams (libvorbis's two modes: 256- and 2048-sample
// blocks): the join is made where both streams' blocks agree, nearest the cut; two grids of
// long blocks give the shift that puts the second on the first's.
#include "engine/vorbis_join.h"

#include <gtest/gtest.h>

#include <string>

namespace peel::engine {
namespace {

constexpr int64_t kShort = 256;
constexpr int64_t kLong = 2048;

// Extradata as FFmpeg's libvorbis wrapper gives it: 2, the lacing of the identification and
// comment headers, then the headers (the setup header's content does not matter here).
std::vector<uint8_t> extradata() {
  std::vector<uint8_t> id = {1, 'v', 'o', 'r', 'b', 'i', 's', 0, 0, 0, 0, 2, 0x80, 0xBB, 0, 0};
  id.resize(28, 0);
  id.push_back((11 << 4) | 8);  // block sizes 2^8 and 2^11
  id.push_back(1);              // framing
  const std::string comment = "\x03vorbis";
  const std::string setup = "\x05vorbis";
  std::vector<uint8_t> x;
  x.reserve(64);
  x.push_back(2);
  x.push_back(static_cast<uint8_t>(id.size()));
  x.push_back(static_cast<uint8_t>(comment.size()));
  for (uint8_t c : id) x.push_back(c);
  for (char c : comment + setup) x.push_back(static_cast<uint8_t>(c));
  return x;
}

// Packets for blocks `blocks` ('S' short, 'L' long), the first starting at `pts` and coded
// after a block of `before`.
std::vector<CodedPacket> stream(int64_t pts, const std::string& blocks, char before = 'L') {
  std::vector<CodedPacket> out;
  char prev = before;
  for (char b : blocks) {
    const int64_t d = ((prev == 'L' ? kLong : kShort) + (b == 'L' ? kLong : kShort)) / 4;
    out.push_back(CodedPacket{pts, d, {static_cast<uint8_t>(b == 'L' ? 2 : 0), 0x55}});
    pts += d;
    prev = b;
  }
  return out;
}

void expect_continuous(const std::vector<CodedPacket>& out) {
  for (size_t i = 1; i < out.size(); ++i) {
    ASSERT_EQ(out[i].pts, out[i - 1].pts + out[i - 1].duration) << i;
  }
}

TEST(VorbisJoin, SameGridJoinsNearestTheCut) {
  const auto x = extradata();
  const auto a = stream(0, std::string(40, 'L'));       // ends at 40 * 1024
  const auto b = stream(10 * 1024, std::string(40, 'L'));
  std::vector<CodedPacket> out;
  auto j = join_vorbis(a, b, 20 * 1024 + 100, 16 * 1024, 24 * 1024, x, out);
  ASSERT_TRUE(j) << j.error().message;
  ASSERT_TRUE(j->joined);
  EXPECT_EQ(j->pts, 20 * 1024);
  expect_continuous(out);
  EXPECT_EQ(out.front().pts, 0);
  EXPECT_EQ(out.back().pts, b.back().pts);
}

TEST(VorbisJoin, BlocksThatDisagreeAreNotJoinedAcross) {
  const auto x = extradata();
  // A codes a transient with short blocks around sample 20480; B saw it as long blocks.
  const auto a = stream(0, std::string(19, 'L') + "SSSSSSSS" + std::string(20, 'L'));
  const auto b = stream(10 * 1024, std::string(40, 'L'));
  std::vector<CodedPacket> out;
  auto j = join_vorbis(a, b, 20 * 1024, 12 * 1024, 28 * 1024, x, out);
  ASSERT_TRUE(j) << j.error().message;
  // Not at 19 * 1024, where A's next block is short and B's long; the short blocks span two
  // hops, so the grids meet again right after them: A's first long block ends at 21 * 1024,
  // as B's does, and both are followed by long blocks.
  ASSERT_TRUE(j->joined);
  EXPECT_EQ(j->pts, 21 * 1024);
  expect_continuous(out);
}

TEST(VorbisJoin, TwoGridsGiveTheShiftThatAlignsThem) {
  const auto x = extradata();
  const auto a = stream(0, std::string(40, 'L'));           // grid at multiples of 1024
  const auto b = stream(10 * 1024 + 320, std::string(40, 'L'));  // 320 off it
  std::vector<CodedPacket> out;
  auto j = join_vorbis(a, b, 20 * 1024, 14 * 1024, 26 * 1024, x, out);
  ASSERT_TRUE(j) << j.error().message;
  ASSERT_FALSE(j->joined);
  EXPECT_EQ(j->shift, 320);
  // Started that much earlier, B lies on A's grid and joins.
  const auto moved = stream(10 * 1024 + 320 - j->shift, std::string(40, 'L'));
  auto again = join_vorbis(a, moved, 20 * 1024, 14 * 1024, 26 * 1024, x, out);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->joined);
}

TEST(VorbisJoin, PacketsThatAreNotLibvorbisAudioAreRefused) {
  const auto x = extradata();
  auto a = stream(0, std::string(40, 'L'));
  const auto b = stream(10 * 1024, std::string(40, 'L'));
  std::vector<CodedPacket> out;
  a[20].duration += 64;  // not what its block sizes say
  EXPECT_FALSE(join_vorbis(a, b, 20 * 1024, 14 * 1024, 26 * 1024, x, out));
  a = stream(0, std::string(40, 'L'));
  a[5].data[0] = 1;  // a header packet
  EXPECT_FALSE(join_vorbis(a, b, 20 * 1024, 14 * 1024, 26 * 1024, x, out));
  EXPECT_FALSE(join_vorbis(a, b, 20 * 1024, 14 * 1024, 26 * 1024, std::vector<uint8_t>{2, 0}, out));
}

}  // namespace
}  // namespace peel::engine
