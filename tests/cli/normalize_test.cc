// Loudness normalization (--loudness TARGET): measured once, one gain, peaks held under the
// ceiling; the output measured again by the ffmpeg CLI's ebur128 filter.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "support/fixtures.h"
#include "support/oracles.h"
#include "support/support.h"

namespace peel::test {
namespace {

// Speech-like bursts at about -18 LUFS, peaks about -2.6 dBTP: +2 dB to reach a podcast's -16
// would pass -1 dBTP only at its loudest moments.
std::string speech() {
  return fixture("norm-speech.wav",
                 {"-f", "lavfi", "-i", "anoisesrc=d=30:c=brown:a=0.9:r=48000:s=11", "-af",
                  "volume='if(lt(mod(t,1.7),1.1),1,0.03)':eval=frame,lowpass=f=3000", "-ac", "1"});
}
// Quiet talk (about -38 LUFS) with a loud click every 4 s: a linear gain to -16 would put the
// clicks 20 dB over full scale; only the limiter lets it reach the target.
std::string quiet_with_clicks() {
  return fixture("norm-clicks.wav",
                 {"-f", "lavfi", "-i", "anoisesrc=d=24:c=pink:a=0.02:r=44100:s=12", "-af",
                  "volume='if(lt(mod(t,4),0.004),40,1)':eval=frame", "-ac", "2"});
}
// Loud music-like noise (about -12 LUFS), to be turned down.
std::string loud_music() {
  return fixture("norm-loud.wav",
                 {"-f", "lavfi", "-i", "anoisesrc=d=20:c=pink:a=0.9:r=48000:s=13", "-af",
                  "volume='0.5+0.5*abs(sin(t))':eval=frame", "-ac", "2"});
}

nlohmann::json normalize(const std::string& input, const std::string& output,
                         std::vector<std::string> extra) {
  std::vector<std::string> args = {input, "-o", output, "-y", "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = peel(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = json_of(r);
  return j["outputs"].empty() ? nlohmann::json() : j["outputs"][0];
}

void expect_at_target(const std::string& output, double lufs, double ceiling) {
  const R128 m = ffmpeg_r128(output);
  EXPECT_NEAR(m.integrated, lufs, 0.5) << output;
  EXPECT_LE(m.true_peak, ceiling + 0.05) << output;
}

TEST(Normalize, PresetsReachTheirTargetUnderTheCeiling) {
  TempDir dir;
  struct Case {
    std::string input, preset, ext;
    double lufs;
  };
  for (const Case& c : {Case{speech(), "podcast", "wav", -16}, Case{loud_music(), "broadcast", "flac", -23},
                        Case{speech(), "music", "wav", -14}}) {
    const std::string out = dir.path() + "/" + c.preset + "." + c.ext;
    const auto o = normalize(c.input, out, {"--loudness", c.preset});
    ASSERT_TRUE(o.is_object());
    EXPECT_EQ(o["mode"], "transcode");
    EXPECT_EQ(o["normalization"]["target_lufs"], c.lufs);
    EXPECT_EQ(o["normalization"]["ceiling_dbtp"], -1.0);
    EXPECT_NEAR(o["normalization"]["measured_lufs"].get<double>(),
                ffmpeg_r128(c.input).integrated, 0.1);
    expect_at_target(out, c.lufs, -1);
  }
}

TEST(Normalize, TheLimiterHoldsPeaksThatTheGainWouldPushOver) {
  TempDir dir;
  const std::string out = dir.path() + "/loud.wav";
  const auto o = normalize(quiet_with_clicks(), out, {"--loudness", "-16"});
  ASSERT_TRUE(o.is_object());
  // The gain is what the target asks; only the clicks (a few 10 ms each) are held down.
  EXPECT_GT(o["normalization"]["gain_db"].get<double>(), 15);
  EXPECT_GT(o["normalization"]["limited_seconds"].get<double>(), 0);
  EXPECT_LT(o["normalization"]["limited_seconds"].get<double>(), 2);
  expect_at_target(out, -16, -1);
}

TEST(Normalize, ATargetAndACeilingOfOnesOwn) {
  TempDir dir;
  const std::string out = dir.path() + "/own.flac";
  ASSERT_TRUE(normalize(speech(), out, {"--loudness", "-20 LUFS", "--true-peak", "-3"}).is_object());
  expect_at_target(out, -20, -3);
}

TEST(Normalize, LossyOutputsReachTheTargetToo) {
  TempDir dir;
  for (const char* ext : {"mp3", "m4a", "opus"}) {
    const std::string out = dir.path() + "/lossy." + ext;
    ASSERT_TRUE(normalize(speech(), out, {"--loudness", "podcast"}).is_object()) << ext;
    EXPECT_NEAR(ffmpeg_r128(out).integrated, -16, 0.5) << ext;
  }
}

// Segment mode: one measurement, one curve, the same gain on both sides of every join; the
// output decodes to exactly what the serial run writes.
TEST(Normalize, SegmentModeIsTheSerialRun) {
  TempDir dir;
  const std::string input = fixture(
      "norm-long.wav", {"-f", "lavfi", "-i", "anoisesrc=d=90:c=pink:a=0.05:r=48000:s=14", "-af",
                        "volume='if(lt(mod(t,7),0.01),15,0.5+0.5*abs(sin(t/5)))':eval=frame"});
  const std::string serial = dir.path() + "/serial.flac";
  const std::string parallel = dir.path() + "/parallel.flac";
  const auto s = normalize(input, serial, {"--loudness", "podcast", "--segment-parallel=off"});
  const auto p = normalize(input, parallel,
                           {"--loudness", "podcast", "--segment-parallel=on", "-j", "4"});
  ASSERT_TRUE(s.is_object() && p.is_object());
  EXPECT_EQ(s["segments"], 1);
  EXPECT_GT(p["segments"].get<int>(), 1) << "segment mode did not engage";
  EXPECT_GT(p["normalization"]["limited_seconds"].get<double>(), 0);
  EXPECT_TRUE(decode_s16(serial) == decode_s16(parallel));
  expect_at_target(parallel, -16, -1);
}

TEST(Normalize, EachFileOfABatchIsMeasuredOnItsOwn) {
  TempDir dir;
  auto r = peel({speech(), loud_music(), "-d", dir.path(), "-f", "wav", "--loudness", "podcast",
                 "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int seen = 0;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("outputs")) continue;
    for (const auto& o : j["outputs"]) {
      expect_at_target(o["output"], -16, -1);
      ++seen;
    }
  }
  EXPECT_EQ(seen, 2) << r.out;
}

TEST(Normalize, TheDryRunSaysItAndTheFfmpegCommand) {
  auto r = peel({speech(), "-o", "/tmp/never-written.mp3", "--loudness", "podcast", "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("normalize the loudness to -16 LUFS, peaks under -1 dBTP"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("loudnorm=I=-16:TP=-1"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists("/tmp/never-written.mp3"));
  // An AAC copy is what `auto` would do; normalization makes it a transcode, and says why.
  auto dry = peel({mp4_h264_aac(), "--loudness", "podcast", "--dry-run", "--json"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  const auto plan = json_of(dry)["outputs"][0];
  EXPECT_EQ(plan["mode"], "transcode");
  EXPECT_NE(plan["reason"].get<std::string>().find("loudness normalization"), std::string::npos);
}

TEST(Normalize, WhatCannotBeDoneIsRefused) {
  TempDir dir;
  const std::string out = dir.path() + "/x.wav";
  auto copy = peel({speech(), "-o", out, "--loudness", "podcast", "--copy"});
  EXPECT_NE(copy.exit_code, 0);
  EXPECT_NE(copy.err.find("cannot apply loudness normalization"), std::string::npos) << copy.err;
  auto word = peel({speech(), "-o", out, "--loudness", "loud"});
  EXPECT_NE(word.exit_code, 0);
  EXPECT_NE(word.err.find("'loud' is not a loudness target"), std::string::npos) << word.err;
  auto range = peel({speech(), "-o", out, "--loudness", "-80"});
  EXPECT_NE(range.exit_code, 0);
  EXPECT_NE(range.err.find("out of range"), std::string::npos) << range.err;
  auto ceiling = peel({speech(), "-o", out, "--loudness", "podcast", "--true-peak", "-12"});
  EXPECT_NE(ceiling.exit_code, 0);
  EXPECT_NE(ceiling.err.find("true-peak ceiling of -12 dBTP is out of range"), std::string::npos)
      << ceiling.err;
  auto alone = peel({speech(), "-o", out, "--true-peak", "-2"});
  EXPECT_NE(alone.exit_code, 0);
  EXPECT_NE(alone.err.find("--true-peak goes with --loudness"), std::string::npos) << alone.err;
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(Normalize, SilenceIsLeftSilentAndSaidSo) {
  TempDir dir;
  const std::string silent =
      fixture("norm-silent.wav", {"-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-t", "3"});
  const std::string out = dir.path() + "/silent.wav";
  const auto o = normalize(silent, out, {"--loudness", "podcast"});
  ASSERT_TRUE(o.is_object());
  EXPECT_TRUE(o["normalization"]["measured_lufs"].is_null());
  EXPECT_EQ(o["normalization"]["gain_db"], 0.0);
  ASSERT_FALSE(o["warnings"].empty());
  EXPECT_NE(o["warnings"][0].get<std::string>().find("silent"), std::string::npos);
  EXPECT_TRUE(decode_s16(out) == decode_s16(silent));
}

}  // namespace
}  // namespace peel::test
