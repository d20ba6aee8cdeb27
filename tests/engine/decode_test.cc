// decode_track(): a whole track's samples, as ffmpeg decodes them.
#include "engine/decode.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "support/engine.h"
#include "support/fixtures.h"
#include "support/support.h"

namespace peel::engine {
namespace {

std::vector<float> decoded(const std::string& path, int track, DecodeSummary* summary = nullptr) {
  auto input = Input::open(test::engine(), path);
  EXPECT_TRUE(input.ok());
  std::vector<float> samples;
  DecodeOptions options;
  auto done = decode_track(*input, track, options,
                           [&](const DecodedFormat& f, const uint8_t* data, int count) {
                             EXPECT_EQ(f.format, AV_SAMPLE_FMT_FLT);
                             const size_t n = static_cast<size_t>(count) * f.channels;
                             const size_t at = samples.size();
                             samples.resize(at + n);
                             std::memcpy(samples.data() + at, data, n * sizeof(float));
                             return Result<void>();
                           });
  EXPECT_TRUE(done.ok()) << done.error().message;
  if (summary != nullptr && done) *summary = *done;
  return samples;
}

// Sample for sample what `ffmpeg -f f32le` decodes, in several codecs and containers.
TEST(DecodeTrack, IsFfmpegsDecode) {
  for (const std::string& path : {test::mp4_h264_aac(), test::mkv_flac24(), test::mkv_opus(),
                                  test::avi_mp3(), test::mp4_51(), test::ts_h264_aac()}) {
    DecodeSummary summary;
    std::vector<float> ours = decoded(path, 1, &summary);
    std::vector<float> theirs = test::decode_f32(path);
    ASSERT_EQ(ours.size(), theirs.size()) << path;
    EXPECT_TRUE(ours == theirs) << path;
    EXPECT_EQ(summary.samples * summary.channels, static_cast<int64_t>(ours.size())) << path;
    EXPECT_EQ(summary.failed_packets, 0) << path;
  }
}

TEST(DecodeTrack, TheSecondTrack) {
  EXPECT_TRUE(decoded(test::mkv_two_tracks(), 2) == test::decode_f32(test::mkv_two_tracks(), 1));
}

TEST(DecodeTrack, AMissingTrackIsNamed) {
  auto input = Input::open(test::engine(), test::mp4_h264_aac());
  ASSERT_TRUE(input.ok());
  auto none = decode_track(*input, 2, {}, [](const DecodedFormat&, const uint8_t*, int) {
    return Result<void>();
  });
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kTrackNotFound);
  EXPECT_NE(none.error().message.find("has no audio track 2"), std::string::npos);
}

TEST(DecodeTrack, CancelStopsIt) {
  auto input = Input::open(test::engine(), test::mkv_five_minutes());
  ASSERT_TRUE(input.ok());
  DecodeOptions options;
  int64_t seen = 0;
  auto stopped = decode_track(*input, 1, options,
                              [&](const DecodedFormat& f, const uint8_t*, int count) {
                                seen += count;
                                if (seen > f.sample_rate) options.cancel.cancel();
                                return Result<void>();
                              });
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().code, ErrorCode::kCancelled);
}

}  // namespace
}  // namespace peel::engine
