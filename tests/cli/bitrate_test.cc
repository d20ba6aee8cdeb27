// Issue 9, point 10: a bitrate or quality the encoder cannot honour is refused (4009) before
// anything is written, and at each edge of what peel accepts the file really comes out at that
// bitrate, as ffprobe says. Noise is the input: the hardest content, on which an encoder that
// aims at a bitrate on average (AAC, Opus, Vorbis) overshoots at the bottom of its range and
// falls short at the top if it cannot spend the bits.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/support.h"

namespace peel::test {
namespace {

constexpr int kBadOutputOption = 4009;

std::string noise(int rate, int channels) {
  std::string inputs, pads;
  for (int c = 1; c <= channels; ++c) {
    inputs += "anoisesrc=r=" + std::to_string(rate) + ":d=4:a=0.5:seed=" + std::to_string(c) +
              "[n" + std::to_string(c) + "];";
    pads += "[n" + std::to_string(c) + "]";
  }
  const std::string name = "bitrate-noise-" + std::to_string(rate) + "-" +
                           std::to_string(channels) + ".wav";
  if (channels == 1) {
    return fixture(name, {"-f", "lavfi", "-i", "anoisesrc=r=" + std::to_string(rate) +
                                                   ":d=4:a=0.5:seed=1"});
  }
  return fixture(name, {"-filter_complex",
                        inputs + pads + "amerge=inputs=" + std::to_string(channels)});
}

// What ffprobe says of a file's bitrate: the stream's where the format records it for real
// (MP3, AC-3, E-AC-3 frames; AAC in MP4 from its sample sizes), else size * 8 / duration
// (Ogg holds no stream bitrate for Opus, and Vorbis's is the header's nominal one).
double measured(const std::string& path, bool from_size) {
  const auto j = ffprobe(path);
  if (!from_size) return std::stod(j["streams"][0]["bit_rate"].get<std::string>());
  return std::stod(j["format"]["bit_rate"].get<std::string>());
}

struct Edge {
  const char* name;
  int rate;
  int channels;
  const char* ext;
  const char* bitrate;  // as given to -b
  double bits;          // the same in bits/s
  double tolerance;     // of ffprobe's figure; 0: exactly
  bool from_size;
};

void PrintTo(const Edge& e, std::ostream* os) { *os << e.name; }

class BitrateEdge : public ::testing::TestWithParam<Edge> {};

TEST_P(BitrateEdge, ComesOutAtTheBitrateThePlanPromises) {
  const Edge& e = GetParam();
  TempDir dir;
  const std::string out = dir / (std::string("x.") + e.ext);
  const std::string input = noise(e.rate, e.channels);
  auto plan = peel({input, "-o", out, "-b", e.bitrate, "--dry-run", "--json"});
  ASSERT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  EXPECT_EQ(json_of(plan)["outputs"][0]["bitrate"].get<double>(), e.bits);
  auto r = peel({input, "-o", out, "-b", e.bitrate});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "") << "no warning: the bitrate is honoured";
  const double got = measured(out, e.from_size);
  if (e.tolerance == 0) {
    EXPECT_EQ(got, e.bits);
  } else {
    EXPECT_NEAR(got, e.bits, e.bits * e.tolerance);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Encoders, BitrateEdge,
    ::testing::Values(
        // LAME: the MPEG-1 table at 44.1/48 kHz, MPEG-2's at 22.05 kHz. Exact (CBR frames).
        Edge{"mp3_48k_min", 48000, 2, "mp3", "32k", 32000, 0, false},
        Edge{"mp3_48k_max", 48000, 2, "mp3", "320k", 320000, 0, false},
        Edge{"mp3_22k_min", 22050, 2, "mp3", "8k", 8000, 0, false},
        Edge{"mp3_22k_max", 22050, 2, "mp3", "160k", 160000, 0, false},
        // AAC: 16 kbit/s per channel up to 4 bits per sample and channel.
        Edge{"aac_mono_min", 48000, 1, "m4a", "16k", 16000, 0.1, false},
        Edge{"aac_mono_max", 48000, 1, "m4a", "192k", 192000, 0.1, false},
        Edge{"aac_stereo_min", 48000, 2, "m4a", "32k", 32000, 0.1, false},
        Edge{"aac_stereo_max", 48000, 2, "m4a", "384k", 384000, 0.1, false},
        Edge{"aac_51_max", 48000, 6, "m4a", "1152k", 1152000, 0.1, false},
        // Opus: 6 to 256 kbit/s per channel (variable bitrate: noise lands a little low).
        Edge{"opus_mono_min", 48000, 1, "opus", "6k", 6000, 0.25, true},
        Edge{"opus_stereo_min", 48000, 2, "opus", "12k", 12000, 0.25, true},
        Edge{"opus_stereo_max", 48000, 2, "opus", "512k", 512000, 0.1, true},
        // Vorbis: libvorbis's own range for 48 kHz stereo. It aims at the bitrate from an
        // estimate and spends more on noise.
        Edge{"vorbis_stereo_min", 48000, 2, "ogg", "45k", 45000, 0.35, true},
        Edge{"vorbis_stereo_max", 48000, 2, "ogg", "500k", 500000, 0.35, true},
        // AC-3's table, exact; for 5.1 it starts at 64. E-AC-3 goes in steps of 16-bit words.
        Edge{"ac3_stereo_min", 48000, 2, "ac3", "32k", 32000, 0, false},
        Edge{"ac3_stereo_max", 48000, 2, "ac3", "640k", 640000, 0, false},
        Edge{"ac3_51_min", 48000, 6, "ac3", "64k", 64000, 0, false},
        Edge{"eac3_stereo_min", 48000, 2, "eac3", "32k", 32000, 0.01, false},
        Edge{"eac3_stereo_max", 48000, 2, "eac3", "6144k", 6144000, 0.01, false},
        Edge{"eac3_51_min", 48000, 6, "eac3", "72k", 72000, 0.01, false}),
    [](const auto& info) { return std::string(info.param.name); });

struct Refused {
  const char* name;
  int rate;
  int channels;
  const char* ext;
  std::vector<std::string> args;
  std::vector<std::string> mentions;  // in the message: what the encoder takes
};

void PrintTo(const Refused& r, std::ostream* os) { *os << r.name; }

class BitrateRefused : public ::testing::TestWithParam<Refused> {};

// Just outside each edge, and the issue's own example: refused by the dry run and by the run
// alike, with 4009, nothing written.
TEST_P(BitrateRefused, IsRefusedByTheDryRunAndTheRunAlike) {
  const Refused& c = GetParam();
  TempDir dir;
  const std::string input = noise(c.rate, c.channels);
  for (const bool dry_run : {true, false}) {
    SCOPED_TRACE(dry_run ? "--dry-run" : "run");
    std::vector<std::string> args = {input, "-o", dir / (std::string("x.") + c.ext), "--json"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    if (dry_run) args.push_back("--dry-run");
    const auto r = peel(args);
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    const auto j = json_of(r);
    ASSERT_EQ(j["errors"].size(), 1u) << j.dump(2);
    EXPECT_EQ(j["errors"][0]["code"], kBadOutputOption) << j.dump(2);
    const std::string message = j["errors"][0]["message"];
    for (const auto& m : c.mentions) {
      EXPECT_NE(message.find(m), std::string::npos) << "'" << m << "' missing from: " << message;
    }
    EXPECT_TRUE(dir.entries().empty());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Encoders, BitrateRefused,
    ::testing::Values(
        Refused{"mp3_issue_example", 44100, 2, "mp3", {"-b", "1.5M"}, {"1500", "320 kbit/s"}},
        Refused{"mp3_below_the_table", 48000, 2, "mp3", {"-b", "24k"}, {"24", "32, 40"}},
        Refused{"mp3_between_steps", 48000, 2, "mp3", {"-b", "200k"}, {"192, 224"}},
        Refused{"mp3_22k_above", 22050, 2, "mp3", {"-b", "192k"}, {"22050 Hz", "144 or 160"}},
        Refused{"aac_stereo_above", 48000, 2, "m4a", {"-b", "385k"}, {"32 to 384 kbit/s"}},
        Refused{"aac_mono_below", 48000, 1, "m4a", {"-b", "15k"}, {"16 to 192 kbit/s"}},
        Refused{"opus_stereo_above", 48000, 2, "opus", {"-b", "513k"}, {"12 to 512 kbit/s"}},
        Refused{"opus_mono_below", 48000, 1, "opus", {"-b", "5k"}, {"6 to 256 kbit/s"}},
        Refused{"vorbis_stereo_below", 48000, 2, "ogg", {"-b", "44k"}, {"45 to 500 kbit/s"}},
        Refused{"vorbis_stereo_above", 48000, 2, "ogg", {"-b", "501k"}, {"45 to 500 kbit/s"}},
        Refused{"ac3_above", 48000, 2, "ac3", {"-b", "700k"}, {"576 or 640 kbit/s"}},
        Refused{"ac3_51_below", 48000, 6, "ac3", {"-b", "56k"}, {"64, 80"}},
        Refused{"eac3_above", 48000, 2, "eac3", {"-b", "6145k"}, {"32 to 6144 kbit/s"}},
        Refused{"mp3_quality_above", 48000, 2, "mp3", {"--quality", "10"}, {"0 to 9.999"}},
        Refused{"mp3_quality_below", 48000, 2, "mp3", {"--quality", "-0.5"}, {"0 to 9.999"}},
        Refused{"vorbis_quality_above", 48000, 2, "ogg", {"--quality", "10.5"}, {"-1 to 10"}},
        Refused{"vorbis_quality_below", 48000, 2, "ogg", {"--quality", "-1.5"}, {"-1 to 10"}},
        Refused{"mka_is_flac", 48000, 2, "mka", {"-b", "128k"}, {"flac", "lossless"}}),
    [](const auto& info) { return std::string(info.param.name); });

// libvorbis has no tables for 384 kHz: the default bitrate and any quality are refused in the
// plan, as the run would refuse them, with a way out.
TEST(Vorbis, ARateItHasNoTablesForIsRefusedBeforeTheRun) {
  TempDir dir;
  const std::string input = fixture("bitrate-noise-384k.wav", {"-f", "lavfi", "-i",
                                                               "anoisesrc=r=384000:d=1:a=0.3",
                                                               "-ac", "2"});
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{}, std::vector<std::string>{"--quality", "5"},
        std::vector<std::string>{"-b", "128k"}}) {
    for (const bool dry_run : {true, false}) {
      SCOPED_TRACE((extra.empty() ? "default" : extra[0]) + (dry_run ? " --dry-run" : ""));
      std::vector<std::string> args = {input, "-o", dir / "x.ogg", "--json"};
      args.insert(args.end(), extra.begin(), extra.end());
      if (dry_run) args.push_back("--dry-run");
      const auto j = json_of(peel(args));
      ASSERT_EQ(j["errors"].size(), 1u) << j.dump(2);
      EXPECT_EQ(j["errors"][0]["code"], kBadOutputOption);
      const std::string message = j["errors"][0]["message"];
      EXPECT_NE(message.find("384000 Hz"), std::string::npos) << message;
      EXPECT_NE(message.find("--sample-rate 48000"), std::string::npos) << message;
    }
  }
  // The way out works.
  ASSERT_EQ(peel({input, "-o", dir / "x.ogg", "--sample-rate", "48000"}).exit_code, 0);
  EXPECT_TRUE(dir.entries() == std::vector<std::string>{"x.ogg"});
}

// The quality edges: both ends are taken, and they are not the same setting.
TEST(Quality, BothEndsOfEachRangeAreTakenAndDiffer) {
  TempDir dir;
  const std::string input = noise(48000, 2);
  for (const auto& [ext, best, worst] :
       std::vector<std::tuple<std::string, std::string, std::string>>{{"mp3", "0", "9.999"},
                                                                      {"ogg", "10", "-1"}}) {
    SCOPED_TRACE(ext);
    const std::string hi = dir / ("best." + ext), lo = dir / ("worst." + ext);
    ASSERT_EQ(peel({input, "-o", hi, "--quality", best}).exit_code, 0);
    ASSERT_EQ(peel({input, "-o", lo, "--quality", worst}).exit_code, 0);
    EXPECT_GT(measured(hi, true), 2 * measured(lo, true)) << "the best setting spends more";
  }
}

// A default the encoder cannot honour is moved to the nearest one it does, and the plan says so:
// mp3's 192 kbit/s is more than MPEG-2 (22.05 kHz) frames hold.
TEST(DefaultBitrate, IsMovedIntoTheEncodersRangeAndThePlanSaysIt) {
  TempDir dir;
  const std::string input = noise(22050, 2);
  const std::string out = dir / "x.mp3";
  auto plan = peel({input, "-o", out, "--dry-run"});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_NE(plan.out.find("160 kbit/s"), std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("-b:a 160k"), std::string::npos) << plan.out;
  ASSERT_EQ(peel({input, "-o", out}).exit_code, 0);
  EXPECT_EQ(measured(out, false), 160000);
}

}  // namespace
}  // namespace peel::test
