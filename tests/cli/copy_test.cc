// Stream copy is exact: the output decodes to the same PCM as the source track, and cuts
// fall on packet boundaries reported truthfully.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cmath>
#include <filesystem>

#include "support/fixtures.h"
#include "support/support.h"

namespace peel::test {
namespace {

struct CopyCase {
  const char* name;
  std::string (*input)();
  const char* ext;    // expected natural output extension
  const char* codec;  // expected output codec (ffprobe name)
};

class WholeFileCopy : public ::testing::TestWithParam<CopyCase> {};

TEST_P(WholeFileCopy, DecodesToTheSourcePcmExactly) {
  const CopyCase& c = GetParam();
  const std::string input = c.input();
  TempDir dir;
  auto r = peel({input, "-d", dir.path(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = json_of(r);
  ASSERT_EQ(j["outputs"].size(), 1u);
  const auto& o = j["outputs"][0];
  EXPECT_EQ(o["mode"], "copy");
  const std::string out = o["output"];
  EXPECT_EQ(out.substr(out.size() - std::string(c.ext).size()), c.ext);

  const auto probe = ffprobe(out);
  EXPECT_EQ(probe["streams"][0]["codec_name"], c.codec);
  const auto expected = decode_f32(input);
  const auto got = decode_f32(out);
  ASSERT_FALSE(expected.empty());
  ASSERT_EQ(got.size(), expected.size()) << "sample count differs from the source";
  EXPECT_TRUE(got == expected) << "decoded PCM differs from the source";
  // Decoders differ in whether they drop priming and padding: within one codec frame (WMA's
  // 2048 samples being the longest here).
  const int64_t decoded = static_cast<int64_t>(got.size()) / channels_of(out);
  EXPECT_NEAR(o["samples"].get<int64_t>(), decoded, 2048);
  std::string warnings = ffmpeg_warnings(out);
  if (std::string(c.codec) == "mp3") {
    // A source mp3 without a LAME header has no gapless data to carry, so the copy has none
    // either (a header would make decoders drop 529 real samples); ffmpeg then notes that it
    // estimates the duration.
    const auto at = warnings.find("Estimating duration from bitrate");
    if (at != std::string::npos)
      warnings.erase(warnings.rfind('[', at), warnings.find('\n', at) + 1);
  }
  EXPECT_EQ(warnings, "");
}

INSTANTIATE_TEST_SUITE_P(
    Containers, WholeFileCopy,
    ::testing::Values(CopyCase{"mp4_aac", mp4_h264_aac, ".m4a", "aac"},
                      CopyCase{"ts_adts_aac", ts_h264_aac, ".m4a", "aac"},
                      CopyCase{"flv_aac", flv_aac, ".m4a", "aac"},
                      CopyCase{"mkv_opus", mkv_opus, ".opus", "opus"},
                      CopyCase{"webm_opus", webm_vp9_opus, ".opus", "opus"},
                      CopyCase{"mkv_flac24", mkv_flac24, ".flac", "flac"},
                      CopyCase{"mkv_pcm16", mkv_h264_pcm16, ".wav", "pcm_s16le"},
                      CopyCase{"avi_mp3", avi_mp3, ".mp3", "mp3"},
                      CopyCase{"mp3_with_lame_header", mp3_lame, ".mp3", "mp3"},
                      CopyCase{"mov_aac", mov_aac, ".m4a", "aac"},
                      CopyCase{"wmv_wma", wmv_wma, ".mka", "wmav2"}),
    [](const auto& info) { return std::string(info.param.name); });

void PrintTo(const CopyCase& c, std::ostream* os) { *os << c.name; }

TEST(CopyInto, ExplicitContainersThatCanCarryTheCodec) {
  TempDir dir;
  const std::string input = mkv_opus();
  for (const char* ext : {"ogg", "mka", "opus"}) {
    const std::string out = dir / (std::string("x.") + ext);
    auto r = peel({input, "-o", out, "--copy", "--json"});
    ASSERT_EQ(r.exit_code, 0) << ext << ": " << r.err;
    EXPECT_TRUE(decode_f32(out) == decode_f32(input)) << ext;
  }
  const std::string aac = dir / "x.aac";
  auto r = peel({mp4_h264_aac(), "-o", aac, "--copy"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ffprobe(aac)["format"]["format_name"], "aac");
}

TEST(CopyInto, OutputsGetThePermissionsOfAnyNewFile) {
  TempDir dir;
  const mode_t mask = ::umask(022);  // the test's own process: single-threaded here
  const std::string out = dir / "x.m4a";
  ASSERT_EQ(peel({mp4_h264_aac(), "-o", out}).exit_code, 0);
  ::umask(mask);
  EXPECT_EQ(std::filesystem::status(out).permissions() & std::filesystem::perms::all,
            std::filesystem::perms(0644));
}

TEST(CopyCut, StartsAndEndsOnPacketBoundariesWithinOneFrame) {
  TempDir dir;
  const std::string input = mkv_flac24();
  const std::string out = dir / "cut.flac";
  auto r = peel({input, "--copy", "--from", "1.3", "--to", "3.7", "-o", out, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto o = json_of(r)["outputs"][0];
  const double start = o["start"], end = o["end"];
  // FLAC frames from ffmpeg hold 4608 samples at 48 kHz: 96 ms.
  const double frame = 4608.0 / 48000;
  EXPECT_LE(start, 1.3);
  EXPECT_GT(start, 1.3 - frame);
  EXPECT_GE(end, 3.7);
  EXPECT_LT(end, 3.7 + frame);

  // The output is the source's own samples over exactly those packets.
  const auto source = decode_s32(input);
  const auto got = decode_s32(out);
  const int64_t first = std::llround(start * 48000) * 2;
  ASSERT_EQ(static_cast<int64_t>(got.size()), std::llround((end - start) * 48000) * 2);
  EXPECT_TRUE(std::equal(got.begin(), got.end(), source.begin() + first));
}

TEST(CopyCut, AacCutKeepsWholePacketsAndTellsTheRealBounds) {
  TempDir dir;
  const std::string out = dir / "cut.m4a";
  auto r = peel({mp4_h264_aac(), "--copy", "--from", "2.5", "-t", "1", "-o", out, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto o = json_of(r)["outputs"][0];
  const double frame = 1024.0 / 48000;
  EXPECT_LE(o["start"].get<double>(), 2.5);
  EXPECT_GT(o["start"].get<double>(), 2.5 - frame);
  EXPECT_GE(o["end"].get<double>(), 3.5);
  EXPECT_LT(o["end"].get<double>(), 3.5 + frame);
  EXPECT_EQ(o["mode"], "copy");
}

TEST(CopyGapless, OpusEndTrimmingSurvivesIntoOgg) {
  // 6 s at 48 kHz is not a multiple of Opus's 20 ms frames plus pre-skip: the last packet is
  // trimmed, and the .opus must end exactly where the source ends.
  TempDir dir;
  const std::string out = dir / "x.opus";
  ASSERT_EQ(peel({mkv_opus(), "-o", out}).exit_code, 0);
  EXPECT_EQ(decode_f32(out).size(), decode_f32(mkv_opus()).size());
  EXPECT_EQ(decode_f32(out).size(), 6u * 48000 * 2);
  // The JSON counts what decodes: the end trimming is not audio. (Matroska's timestamps, which
  // the bounds are read from, are rounded to the millisecond.)
  auto r = peel({mkv_opus(), "-o", out, "-y", "--json"});
  EXPECT_NEAR(json_of(r)["outputs"][0]["end"].get<double>(), 6.0, 0.0015);
  EXPECT_NEAR(json_of(r)["outputs"][0]["samples"].get<double>(), 6.0 * 48000, 48 * 1.5);
}

TEST(CopyGapless, AacPrimingSurvivesIntoM4a) {
  TempDir dir;
  const std::string out = dir / "x.m4a";
  ASSERT_EQ(peel({mp4_h264_aac(), "-o", out}).exit_code, 0);
  const auto in = ffprobe(mp4_h264_aac());
  const auto got = ffprobe(out);
  EXPECT_EQ(decode_f32(out).size(), decode_f32(mp4_h264_aac()).size());
  // The edit list hides the 1024 priming samples: the start time stays 0.
  EXPECT_EQ(got["streams"][0]["start_time"], "0.000000");
}

}  // namespace
}  // namespace peel::test
