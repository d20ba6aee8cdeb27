// Transcodes are sample-exact: a range of D seconds at rate R has round(D·R) samples, its
// first sample is the one at --from, and lossless outputs are the exact slice of the source.
#include <gtest/gtest.h>

#include <cmath>

#include "support/fixtures.h"
#include "support/support.h"

namespace peel::test {
namespace {

// Index of the first frame (interleaved, `channels` wide) whose first channel exceeds half
// the step signal's amplitude: where the tone starts.
int64_t onset(const std::vector<float>& pcm, int channels) {
  for (size_t i = 0; i < pcm.size(); i += static_cast<size_t>(channels)) {
    if (std::fabs(pcm[i]) > 0.25f) return static_cast<int64_t>(i) / channels;
  }
  return -1;
}

nlohmann::json run_ok(const std::vector<std::string>& args) {
  auto args_json = args;
  args_json.push_back("--json");
  auto r = peel(args_json);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto j = json_of(r);
  EXPECT_EQ(j["errors"].size(), 0u) << j.dump();
  return j["outputs"].empty() ? nlohmann::json() : j["outputs"][0];
}

template <class T>
void expect_slice(const std::vector<T>& got, const std::vector<T>& source, int64_t first_frame,
                  int channels) {
  const auto offset = static_cast<size_t>(first_frame * channels);
  ASSERT_LE(offset + got.size(), source.size());
  size_t mismatches = 0;
  size_t first_bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] != source[offset + i] && mismatches++ == 0) first_bad = i;
  }
  EXPECT_EQ(mismatches, 0u) << "first mismatch at interleaved sample " << first_bad;
}

TEST(LosslessCut, MillisecondTimestampsStillGiveTheExactSlice) {
  // Matroska stores milliseconds; the cut is found by counting samples.
  TempDir dir;
  const std::string input = mkv_h264_pcm16();
  const std::string out = dir / "cut.wav";
  const auto o = run_ok({input, "--from", "1.2345", "--to", "3.4567", "-o", out});
  EXPECT_EQ(o["mode"], "transcode");
  const int64_t expected = std::llround(2.2222 * 48000);
  EXPECT_EQ(o["samples"], expected);
  const auto got = decode_s16(out);
  ASSERT_EQ(static_cast<int64_t>(got.size()), expected * 2);
  expect_slice(got, decode_s16(input), std::llround(1.2345 * 48000), 2);
  EXPECT_EQ(ffprobe(out)["streams"][0]["codec_name"], "pcm_s16le");
}

TEST(LosslessCut, Flac24KeepsItsDepthAndSamples) {
  TempDir dir;
  const std::string input = mkv_flac24();
  const std::string out = dir / "cut.wav";
  run_ok({input, "--from", "0:01.5", "--duration", "2.25", "-o", out});
  EXPECT_EQ(ffprobe(out)["streams"][0]["codec_name"], "pcm_s24le");
  const auto got = decode_s32(out);
  ASSERT_EQ(got.size(), 108000u * 2);
  expect_slice(got, decode_s32(input), 72000, 2);
}

// A sample-exact cut re-encodes; FLAC, in its own file or in Matroska, keeps the source's 24 bits, not FLAC's
// default 16, and the very samples of the range.
TEST(LosslessCut, FlacAtTwentyFourBitsInFlacAndMatroska) {
  const std::string input = mkv_flac24();
  for (const char* ext : {"flac", "mka"}) {
    TempDir dir;
    const std::string out = dir / (std::string("cut.") + ext);
    const auto o = run_ok({input, "--from", "2.001", "--to", "5", "-o", out});
    EXPECT_EQ(o["mode"], "transcode") << ext;
    EXPECT_EQ(o["codec"], "flac") << ext;
    EXPECT_EQ(ffprobe(out)["streams"][0]["bits_per_raw_sample"], "24") << ext;
    const auto got = decode_s32(out);
    ASSERT_EQ(got.size(), static_cast<size_t>(std::llround(2.999 * 48000) * 2)) << ext;
    expect_slice(got, decode_s32(input), std::llround(2.001 * 48000), 2);
  }
}

TEST(LosslessWhole, BigEndianPcmBecomesWavWithoutLoss) {
  TempDir dir;
  const std::string input = mov_pcm24();
  const auto o = run_ok({input, "-d", dir.path()});
  EXPECT_EQ(o["format"], "wav");
  EXPECT_EQ(o["mode"], "transcode");  // wav holds little-endian only: a lossless rewrite
  const std::string out = o["output"];
  EXPECT_EQ(ffprobe(out)["streams"][0]["codec_name"], "pcm_s24le");
  EXPECT_TRUE(decode_s32(out) == decode_s32(input));
}

TEST(LosslessFormats, SampleFormatFlagSetsTheDepth) {
  TempDir dir;
  for (const auto& [fmt, codec] :
       std::vector<std::pair<std::string, std::string>>{{"s16", "pcm_s16le"},
                                                        {"s24", "pcm_s24le"},
                                                        {"s32", "pcm_s32le"},
                                                        {"f32", "pcm_f32le"}}) {
    const std::string out = dir / (fmt + ".wav");
    run_ok({mp4_h264_aac(), "--sample-format", fmt, "-o", out});
    EXPECT_EQ(ffprobe(out)["streams"][0]["codec_name"], codec) << fmt;
  }
  const std::string raw = dir / "x.pcm";
  const auto o = run_ok({mkv_h264_pcm16(), "--from", "1", "--to", "2", "-o", raw});
  EXPECT_EQ(o["format"], "pcm");
  EXPECT_EQ(std::filesystem::file_size(raw), 48000u * 2 * 2);
}

struct LossyCase {
  const char* ext;
  const char* codec;
  int rate;
};

class LossyCut : public ::testing::TestWithParam<LossyCase> {};

TEST_P(LossyCut, HasTheExactLengthAndStartsAtFrom) {
  const LossyCase& c = GetParam();
  TempDir dir;
  const std::string out = dir / (std::string("cut.") + c.ext);
  // 2.5 s from 1.5 s: the tone (at 2.0 s in the source) starts 0.5 s into the output.
  const auto o = run_ok({mp4_h264_aac(), "--from", "1.5", "--to", "4", "-o", out});
  EXPECT_EQ(o["mode"], "transcode");
  EXPECT_EQ(ffprobe(out)["streams"][0]["codec_name"], c.codec);
  const auto pcm = decode_f32(out);
  const int64_t exact = int64_t{c.rate} * 5 / 2;
  if (std::string(c.ext) == "m4a") {
    // The edit list says the exact length; FFmpeg 5.1's mp4 demuxer honours its start
    // (priming) but not its end, so ffmpeg itself decodes up to the last whole AAC frame.
    const auto stream = ffprobe(out)["streams"][0];
    EXPECT_EQ(stream["duration_ts"].get<int64_t>(), exact);
    EXPECT_GE(static_cast<int64_t>(pcm.size()) / 2, exact);
    EXPECT_LT(static_cast<int64_t>(pcm.size()) / 2, exact + 1024);
  } else {
    EXPECT_EQ(static_cast<int64_t>(pcm.size()), exact * 2)
        << "decoders must see exactly round(D*R) samples (gapless)";
  }
  EXPECT_NEAR(onset(pcm, 2), c.rate / 2, c.rate * 3 / 1000) << "the cut starts at --from";
  EXPECT_EQ(ffmpeg_warnings(out), "");
}

TEST_P(LossyCut, WholeFileKeepsTheSourceLength) {
  const LossyCase& c = GetParam();
  TempDir dir;
  const std::string out = dir / (std::string("whole.") + c.ext);
  run_ok({mkv_h264_pcm16(), "-o", out});
  if (std::string(c.ext) == "m4a") {
    EXPECT_EQ(ffprobe(out)["streams"][0]["duration_ts"], 6 * 48000);
  } else {
    EXPECT_EQ(decode_f32(out).size(), decode_f32(mkv_h264_pcm16()).size());
  }
  EXPECT_NEAR(onset(decode_f32(out), 2), 2 * 48000, 48 * 3);
}

INSTANTIATE_TEST_SUITE_P(Codecs, LossyCut,
                         ::testing::Values(LossyCase{"mp3", "mp3", 48000},
                                           LossyCase{"m4a", "aac", 48000},
                                           LossyCase{"opus", "opus", 48000},
                                           LossyCase{"ogg", "vorbis", 48000},
                                           LossyCase{"mka", "flac", 48000}),
                         [](const auto& info) { return std::string(info.param.ext); });

void PrintTo(const LossyCase& c, std::ostream* os) { *os << c.ext; }

TEST(Resample, CountsSamplesAtTheOutputRate) {
  TempDir dir;
  const std::string out = dir / "r.wav";
  const auto o = run_ok(
      {mkv_h264_pcm16(), "--from", "1", "--to", "3.00001", "--sample-rate", "44100", "-o", out});
  EXPECT_EQ(o["sample_rate"], 44100);
  EXPECT_EQ(decode_s16(out).size(), static_cast<size_t>(std::llround(2.00001 * 44100)) * 2);
  EXPECT_NEAR(onset(decode_f32(out), 2), 44100, 44);
}

TEST(Channels, DownMixesFiveOneToStereoAndMono) {
  TempDir dir;
  const std::string stereo = dir / "s.wav";
  run_ok({mp4_51(), "--channels", "stereo", "-o", stereo});
  EXPECT_EQ(channels_of(stereo), 2);
  const std::string mono = dir / "m.flac";
  run_ok({mp4_51(), "--channels", "mono", "-o", mono});
  EXPECT_EQ(channels_of(mono), 1);
  // mp3 holds two channels at most: 5.1 is down-mixed without being asked, and said so.
  const std::string mp3 = dir / "x.mp3";
  auto r = peel({mp4_51(), "-o", mp3, "--dry-run"});
  EXPECT_NE(r.out.find("down-mixed"), std::string::npos) << r.out;
  run_ok({mp4_51(), "-o", mp3});
  EXPECT_EQ(channels_of(mp3), 2);
}

TEST(Timeline, TransportStreamWithAStartOffsetCutsOnItsOwnTimeline) {
  // MPEG-TS starts at 1.4 s and carries the AAC priming on its timeline (no edit list).
  // The oracle: ffmpeg's full decode, sliced at --from counted from the file's start.
  TempDir dir;
  const std::string input = ts_h264_aac();
  const std::string out = dir / "ts.wav";
  const auto o = run_ok({input, "--from", "1.75", "--to", "2.75", "-o", out});
  const auto probe = ffprobe(input);
  const double file_start = std::stod(probe["format"]["start_time"].get<std::string>());
  double audio_start = 0;
  for (const auto& st : probe["streams"]) {
    if (st["codec_type"] == "audio") audio_start = std::stod(st["start_time"].get<std::string>());
  }
  EXPECT_GT(file_start, 1.0);
  const int64_t first = std::llround((1.75 - (audio_start - file_start)) * 48000);
  const auto got = decode_s16(out);
  EXPECT_EQ(got.size(), 48000u * 2);
  expect_slice(got, decode_s16(input), first, 2);
  EXPECT_NEAR(o["start"].get<double>(), 1.75, 0.001);
}

TEST(Timeline, AudioStartingAfterTheVideoStaysAligned) {
  // The audio track starts 0.5 s into the file, so its tone starts at 2.5 s of the file.
  TempDir dir;
  const std::string out = dir / "late.wav";
  run_ok({mp4_delayed_audio(), "--from", "2", "--to", "3", "-o", out});
  EXPECT_NEAR(onset(decode_f32(out), 2), 24000, 48);
}

TEST(Timeline, VideoStartingLateOrRunningAtAVariableRateDoesNotMoveTheAudio) {
  for (const auto& input : {mkv_delayed_video(), mkv_vfr_pcm16()}) {
    TempDir dir;
    const std::string out = dir / "x.wav";
    run_ok({input, "--from", "1.5", "--to", "3", "-o", out});
    const auto got = decode_s16(out);
    ASSERT_EQ(got.size(), 72000u * 2) << input;
    expect_slice(got, decode_s16(input), 72000, 2);
  }
}

TEST(Bitrate, AsksTheEncoderForIt) {
  TempDir dir;
  const std::string out = dir / "b.mp3";
  run_ok({mp4_h264_aac(), "-b", "96k", "-o", out});
  EXPECT_EQ(ffprobe(out)["streams"][0]["bit_rate"], "96000");
  const std::string q = dir / "q.mp3";
  run_ok({mp4_h264_aac(), "--quality", "2", "-o", q});
  EXPECT_GT(std::filesystem::file_size(q), 0u);
}

}  // namespace
}  // namespace peel::test
