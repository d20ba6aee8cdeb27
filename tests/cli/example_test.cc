// docs/library.md's embedding program, built and run as a user would: its output decodes to
// what ffmpeg decodes from the source.
#include <gtest/gtest.h>

#include "support/fixtures.h"
#include "support/support.h"

namespace peel::test {
namespace {

TEST(Example, TheEmbeddingProgramExtractsExactly) {
  TempDir dir;
  const std::string out = dir / "talk.wav";
  auto r = run({PEEL_EMBED_BIN, mp4_h264_aac(), out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("samples"), std::string::npos) << r.out;
  EXPECT_TRUE(decode_s16(out) == decode_s16_track(mp4_h264_aac())) << "not ffmpeg's decode";
  // Its errors are the library's, in plain words.
  auto missing = run({PEEL_EMBED_BIN, dir / "nothing.mp4", dir / "x.wav"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("does not exist"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace peel::test
