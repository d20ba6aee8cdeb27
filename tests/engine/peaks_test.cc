// peaks(): min/max per pixel, against the same computed from the ffmpeg CLI's s16 decode.
#include "peel/peaks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "support/engine.h"
#include "support/fixtures.h"
#include "support/oracles.h"
#include "support/support.h"

namespace peel {
namespace {

std::vector<int> as_ints(const std::vector<int16_t>& v) { return {v.begin(), v.end()}; }

PeaksOptions options_with(void (*set)(PeaksOptions&)) {
  PeaksOptions o;
  set(o);
  return o;
}

Peaks computed(const std::string& path, PeaksOptions options) {
  auto input = Input::open(test::engine(), path);
  EXPECT_TRUE(input.ok()) << path;
  auto p = peaks(test::engine(), *input, options);
  EXPECT_TRUE(p.ok()) << path << ": " << p.error().message;
  return p.ok() ? *p : Peaks{};
}

std::string mono_flac() {
  // 3 s at 44.1 kHz: 1 s of silence, then a 300 Hz tone at -6 dB.
  return test::fixture(
      "peaks-mono.mkv",
      {"-f", "lavfi", "-i", "aevalsrc=exprs='if(gte(t,1),0.5*sin(2*PI*300*t),0)':s=44100:d=3",
       "-c:a", "flac"});
}

// Each fixture's samples as the ffmpeg CLI decodes them, cut where the container ends the
// track (MP4's edit list), as an extraction of it holds.
struct Case {
  std::string path;
  int channels;
  int rate;
};

std::vector<Case> cases() {
  return {{mono_flac(), 1, 44100},
          {test::mp4_h264_aac(), 2, 48000},
          {test::mp4_51(), 6, 48000},
          {test::mkv_opus(), 2, 48000}};
}

TEST(Peaks, AreAudiowaveformsOverFfmpegsDecode) {
  for (const auto& c : cases()) {
    const std::vector<int16_t> samples = test::decode_s16_track(c.path);
    for (bool split : {false, true}) {
      PeaksOptions options;
      options.split_channels = split;
      const Peaks p = computed(c.path, options);
      EXPECT_EQ(p.sample_rate, c.rate) << c.path;
      EXPECT_EQ(p.source_channels, c.channels) << c.path;
      EXPECT_EQ(p.channels, split ? c.channels : 1) << c.path;
      EXPECT_EQ(p.samples_per_pixel, c.rate / 100) << c.path;
      EXPECT_EQ(p.samples * c.channels, static_cast<int64_t>(samples.size())) << c.path;
      EXPECT_TRUE(as_ints(p.data) == test::peaks_oracle(samples, c.channels, c.rate / 100, split))
          << c.path << (split ? " split" : " mixed");
    }
  }
}

// 70 pixels a second do not divide 48000: 685 samples a pixel (rounded down), as
// audiowaveform's --pixels-per-second; the last pixel is partial.
TEST(Peaks, PixelsPerSecondThatDoNotDivideTheRate) {
  const std::string path = test::mp4_h264_aac();
  PeaksOptions options;
  options.pixels_per_second = 70;
  const Peaks p = computed(path, options);
  EXPECT_EQ(p.samples_per_pixel, 685);
  const auto samples = test::decode_s16_track(path);
  EXPECT_EQ(p.length(), (static_cast<int64_t>(samples.size()) / 2 + 684) / 685);
  EXPECT_TRUE(as_ints(p.data) == test::peaks_oracle(samples, 2, 685, false));
}

// --width: the whole track in that many pixels (the stated length, rounded up per pixel).
TEST(Peaks, AWidthFitsTheWholeTrack) {
  for (const auto& c : cases()) {
    for (int width : {500, 1800}) {
      PeaksOptions options;
      options.width = width;
      const Peaks p = computed(c.path, options);
      const auto samples = test::decode_s16_track(c.path);
      const int64_t n = static_cast<int64_t>(samples.size()) / c.channels;
      // The container states the length to the sample here (MP4), or to the millisecond.
      EXPECT_NEAR(p.samples_per_pixel, static_cast<double>(n) / width, 1.0) << c.path;
      EXPECT_NEAR(static_cast<double>(p.length()), width, 0.1 * c.rate / p.samples_per_pixel + 1)
          << c.path;
      EXPECT_TRUE(as_ints(p.data) ==
                  test::peaks_oracle(samples, c.channels, p.samples_per_pixel, false))
          << c.path;
    }
  }
  const Peaks exact =
      computed(test::mp4_h264_aac(), options_with([](PeaksOptions& o) { o.width = 1000; }));
  EXPECT_EQ(exact.length(), 1000);
}

TEST(Peaks, TheSecondTrack) {
  const std::string path = test::mkv_two_tracks();
  const Peaks p = computed(path, options_with([](PeaksOptions& o) { o.track = 2; }));
  EXPECT_EQ(p.track, 2);
  EXPECT_EQ(p.source_channels, 1);  // a mono sine at 44.1 kHz
  EXPECT_EQ(p.sample_rate, 44100);
  EXPECT_TRUE(as_ints(p.data) ==
              test::peaks_oracle(test::decode_s16(path, 1), 1, p.samples_per_pixel, false));
}

TEST(Peaks, EightBitsAreSixteenDividedBy256TowardZero) {
  EXPECT_EQ(to_8_bits(32767), 127);
  EXPECT_EQ(to_8_bits(-32768), -128);
  EXPECT_EQ(to_8_bits(255), 0);
  EXPECT_EQ(to_8_bits(-255), 0);
  EXPECT_EQ(to_8_bits(-256), -1);
  EXPECT_EQ(to_8_bits(513), 2);
}

TEST(Peaks, TheDataFormatsAreAudiowaveformsVersion2) {
  Peaks p;
  p.sample_rate = 48000;
  p.channels = 2;
  p.samples_per_pixel = 512;
  p.data = {-300, 700, -32768, 32767};
  EXPECT_EQ(peaks_json(p, 16),
            "{\"version\":2,\"channels\":2,\"sample_rate\":48000,\"samples_per_pixel\":512,"
            "\"bits\":16,\"length\":1,\"data\":[-300,700,-32768,32767]}\n");
  EXPECT_EQ(peaks_json(p, 8),
            "{\"version\":2,\"channels\":2,\"sample_rate\":48000,\"samples_per_pixel\":512,"
            "\"bits\":8,\"length\":1,\"data\":[-1,2,-128,127]}\n");
  const std::string dat16 = peaks_dat(p, 16);
  const unsigned char head[24] = {2, 0, 0, 0, 0, 0, 0, 0, 0x80, 0xbb, 0, 0,
                                  0, 2, 0, 0, 1, 0, 0, 0, 2,    0,    0, 0};
  ASSERT_EQ(dat16.size(), 24U + 8U);
  EXPECT_EQ(std::memcmp(dat16.data(), head, 24), 0);
  const unsigned char values16[8] = {0xd4, 0xfe, 0xbc, 0x02, 0x00, 0x80, 0xff, 0x7f};
  EXPECT_EQ(std::memcmp(dat16.data() + 24, values16, 8), 0);
  const std::string dat8 = peaks_dat(p, 8);
  ASSERT_EQ(dat8.size(), 24U + 4U);
  EXPECT_EQ(dat8[4], 1);  // flags: 8-bit
  const signed char values8[4] = {-1, 2, -128, 127};
  EXPECT_EQ(std::memcmp(dat8.data() + 24, values8, 4), 0);
}

TEST(Peaks, TheFormatIsTheExtensions) {
  EXPECT_EQ(*peaks_format_for("a/b.json"), PeaksFormat::kJson);
  EXPECT_EQ(*peaks_format_for("b.DAT"), PeaksFormat::kDat);
  EXPECT_EQ(*peaks_format_for("wave.png"), PeaksFormat::kPng);
  auto bad = peaks_format_for("wave.txt");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kUsage);
}

TEST(Peaks, RefusalsAreNamed) {
  auto input = Input::open(test::engine(), test::mp4_h264_aac());
  ASSERT_TRUE(input.ok());
  auto no_track = peaks(test::engine(), *input, options_with([](PeaksOptions& o) { o.track = 3; }));
  ASSERT_FALSE(no_track.ok());
  EXPECT_EQ(no_track.error().code, ErrorCode::kTrackNotFound);
  EXPECT_EQ(no_track.error().field, "track");
  auto too_fine = peaks(test::engine(), *input,
                        options_with([](PeaksOptions& o) { o.pixels_per_second = 30000; }));
  ASSERT_FALSE(too_fine.ok());
  EXPECT_EQ(too_fine.error().code, ErrorCode::kBadOutputOption);
  EXPECT_EQ(too_fine.error().suggestion, "24000");

  auto video = Input::open(test::engine(), test::mp4_video_only());
  ASSERT_TRUE(video.ok());
  auto none = peaks(test::engine(), *video, {});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kNoAudio);
}

TEST(Peaks, CancelledIsCancelled) {
  auto input = Input::open(test::engine(), test::mkv_five_minutes());
  ASSERT_TRUE(input.ok());
  PeaksOptions options;
  options.on_progress = [&](const Progress& p) {
    if (p.done > 1) options.cancel.cancel();
  };
  auto p = peaks(test::engine(), *input, options);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, ErrorCode::kCancelled);
}

}  // namespace
}  // namespace peel
