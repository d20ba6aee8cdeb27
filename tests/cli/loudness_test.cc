// Loudness (EBU R128 / BS.1770): `peel probe --loudness`, against the ffmpeg CLI's ebur128
// filter on the same track.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "support/fixtures.h"
#include "support/oracles.h"
#include "support/support.h"

namespace peel::test {
namespace {

// Speech-like: bursts of low-passed noise and pauses, 48 kHz mono.
std::string speech() {
  return fixture("loud-speech.wav",
                 {"-f", "lavfi", "-i", "anoisesrc=d=30:c=brown:a=0.9:r=48000:s=11", "-af",
                  "volume='if(lt(mod(t,1.7),1.1),1,0.03)':eval=frame,lowpass=f=3000", "-ac", "1"});
}
// Music-like: pink noise swelling and falling, 44.1 kHz stereo (ffmpeg's filter measures it
// resampled to 48 kHz; the meter here at its own rate).
std::string music() {
  return fixture("loud-music.wav",
                 {"-f", "lavfi", "-i", "anoisesrc=d=30:c=pink:a=0.5:r=44100:s=12", "-af",
                  "volume='0.3+0.7*abs(sin(t/3))':eval=frame", "-ac", "2"});
}
// 5.1 AAC with video, each channel at its own level (LFE not counted, surrounds +1.5 dB).
std::string surround() {
  return fixture("loud-surround.mp4",
                 {"-f", "lavfi", "-i", "anoisesrc=d=20:c=pink:a=0.5:r=48000:s=13", "-f", "lavfi", "-i",
                  "testsrc=d=20:s=160x120:r=10", "-af",
                  "pan=5.1|c0=c0|c1=0.8*c0|c2=0.5*c0|c3=0.9*c0|c4=0.3*c0|c5=0.2*c0", "-c:v",
                  "libx264", "-c:a", "aac", "-b:a", "256k", "-shortest"});
}
// A 5 s tone between 20 s of silence on each side: the gates decide everything.
std::string long_silence() {
  return fixture("loud-long-silence.wav", {"-f", "lavfi", "-i", "sine=f=1000:d=5:r=48000", "-af",
                                           "volume=0.9,adelay=20s:all=1,apad=pad_dur=20"});
}

nlohmann::json loudness_of(const std::string& path, int track = 1) {
  auto r = peel({"probe", "--loudness", "--json", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json all = json_of(r);
  for (const auto& t : all["files"][0]["audio"]) {
    if (t["track"] == track) return t["loudness"];
  }
  ADD_FAILURE() << "no track " << track << " in " << r.out;
  return nullptr;
}

TEST(Loudness, AgreesWithFfmpegsEbur128) {
  for (const std::string& path : {speech(), music(), surround(), long_silence()}) {
    const R128 theirs = ffmpeg_r128(path);
    const nlohmann::json ours = loudness_of(path);
    ASSERT_TRUE(ours.is_object()) << path;
    EXPECT_NEAR(ours["integrated_lufs"].get<double>(), theirs.integrated, 0.1) << path;
    EXPECT_NEAR(ours["range_lu"].get<double>(), theirs.range, 0.1) << path;
    EXPECT_NEAR(ours["true_peak_dbtp"].get<double>(), theirs.true_peak, 0.1) << path;
  }
}

// One noise in one channel of a 5.1 file (FFmpeg's 5.1: FL FR FC LFE BL BR).
std::string only_in_channel(int channel) {
  std::string pan = "pan=5.1";
  for (int c = 0; c < 6; ++c) pan += "|c" + std::to_string(c) + (c == channel ? "=c0" : "=0*c0");
  return fixture("loud-51-ch" + std::to_string(channel) + ".wav",
                 {"-f", "lavfi", "-i", "anoisesrc=d=6:c=pink:a=0.5:r=48000:s=7", "-af", pan});
}

TEST(Loudness, FiveOneWeighsItsChannels) {
  const nlohmann::json l = loudness_of(surround());
  EXPECT_EQ(l["channels"], 6);
  ASSERT_EQ(l["channel_true_peaks_dbtp"].size(), 6u);
  // The loudest channel's peak is the track's.
  double highest = -1000;
  for (const auto& p : l["channel_true_peaks_dbtp"]) highest = std::max(highest, p.get<double>());
  EXPECT_DOUBLE_EQ(highest, l["true_peak_dbtp"].get<double>());
  // BS.1770: a rear channel counts 1.41 times (+1.5 dB) a front one; the LFE not at all.
  const double front = loudness_of(only_in_channel(0))["integrated_lufs"].get<double>();
  const double rear = loudness_of(only_in_channel(4))["integrated_lufs"].get<double>();
  EXPECT_NEAR(rear - front, 10 * std::log10(1.41), 0.02);
  EXPECT_TRUE(loudness_of(only_in_channel(3))["integrated_lufs"].is_null());
  EXPECT_NEAR(front, ffmpeg_r128(only_in_channel(0)).integrated, 0.1);
  EXPECT_NEAR(rear, ffmpeg_r128(only_in_channel(4)).integrated, 0.1);
}

TEST(Loudness, EachTrackOfAFileIsMeasured) {
  for (int track : {1, 2}) {
    const R128 theirs = ffmpeg_r128(mkv_two_tracks(), track - 1);
    const nlohmann::json ours = loudness_of(mkv_two_tracks(), track);
    ASSERT_TRUE(ours.is_object());
    EXPECT_EQ(ours["track"], track);
    EXPECT_NEAR(ours["integrated_lufs"].get<double>(), theirs.integrated, 0.1) << track;
    EXPECT_NEAR(ours["true_peak_dbtp"].get<double>(), theirs.true_peak, 0.1) << track;
  }
}

TEST(Loudness, SilenceIsSaidSo) {
  const std::string silent =
      fixture("loud-silent.wav", {"-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo", "-t", "4"});
  const nlohmann::json l = loudness_of(silent);
  EXPECT_TRUE(l["integrated_lufs"].is_null());
  EXPECT_TRUE(l["true_peak_dbtp"].is_null());
  EXPECT_EQ(l["range_lu"], 0.0);
  auto text = peel({"probe", "--loudness", silent});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("loudness: silent"), std::string::npos) << text.out;
}

TEST(Loudness, TheTextSaysTheThreeFigures) {
  auto r = peel({"probe", "--loudness", speech()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const R128 theirs = ffmpeg_r128(speech());
  std::ostringstream expected;
  expected.precision(1);
  expected << std::fixed << "loudness: " << theirs.integrated << " LUFS";
  EXPECT_NE(r.out.find(expected.str()), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("true peak"), std::string::npos);
  // Without the flag nothing is decoded and nothing said about loudness.
  auto plain = peel({"probe", speech()});
  EXPECT_EQ(plain.out.find("loudness"), std::string::npos);
}

TEST(Loudness, AFileWithoutAudioHasNothingToMeasure) {
  auto r = peel({"probe", "--loudness", "--json", mp4_video_only()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(json_of(r)["files"][0]["audio"].empty());
  auto missing = peel({"probe", "--loudness", "/nonexistent/talk.mp4"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("/nonexistent/talk.mp4"), std::string::npos);
}

}  // namespace
}  // namespace peel::test
