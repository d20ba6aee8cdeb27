// `peel peaks`: audiowaveform's JSON and .dat, and a picture, checked against min/max computed
// from the ffmpeg CLI's own s16 decode, and ffprobe's reading of the picture.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "support/fixtures.h"
#include "support/oracles.h"
#include "support/support.h"

namespace peel::test {
namespace {

constexpr int kExitUsage = 1;
constexpr int kExitFailed = 2;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string mono_wav_in_mkv() {
  // 3 s at 44.1 kHz mono: 1 s of silence, then a 300 Hz tone at -6 dB, as 16-bit PCM.
  return fixture(
      "peaks-mono-pcm.mkv",
      {"-f", "lavfi", "-i", "aevalsrc=exprs='if(gte(t,1),0.5*sin(2*PI*300*t),0)':s=44100:d=3", "-f",
       "lavfi", "-i", "color=c=black:s=64x64:r=10:d=3", "-c:v", "libx264", "-c:a", "pcm_s16le"});
}

struct Case {
  std::string path;
  int channels;
  int rate;
};

std::vector<Case> cases() {
  return {{mono_wav_in_mkv(), 1, 44100}, {mp4_h264_aac(), 2, 48000}, {mp4_51(), 6, 48000}};
}

TEST(PeaksCli, JsonIsAudiowaveformsOverFfmpegsDecode) {
  TempDir out;
  for (const auto& c : cases()) {
    const auto samples = decode_s16_track(c.path);
    for (bool split : {false, true}) {
      std::vector<std::string> args = {"peaks", c.path, "-o", out / "p.json", "-y", "-q"};
      if (split) args.push_back("--split-channels");
      const auto r = peel(args);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      const auto j = nlohmann::json::parse(slurp(out / "p.json"));
      EXPECT_EQ(j["version"], 2);
      EXPECT_EQ(j["channels"], split ? c.channels : 1);
      EXPECT_EQ(j["sample_rate"], c.rate);
      EXPECT_EQ(j["samples_per_pixel"], c.rate / 100);  // 100 pixels a second by default
      EXPECT_EQ(j["bits"], 16);
      const auto expected = peaks_oracle(samples, c.channels, c.rate / 100, split);
      EXPECT_EQ(j["length"], expected.size() / 2 / (split ? c.channels : 1));
      EXPECT_TRUE(j["data"].get<std::vector<int>>() == expected) << c.path;
    }
  }
}

TEST(PeaksCli, PixelsPerSecondWidthAndEightBits) {
  TempDir out;
  const std::string path = mp4_51();
  const auto samples = decode_s16_track(path);
  // 70 a second do not divide 48000: 685 samples a pixel, rounded down.
  auto r = peel({"peaks", path, "--pixels-per-second", "70", "-o", out / "a.json", "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(slurp(out / "a.json"));
  EXPECT_EQ(j["samples_per_pixel"], 685);
  EXPECT_TRUE(j["data"].get<std::vector<int>>() == peaks_oracle(samples, 6, 685, false));

  // The whole track in 777 pixels: the MP4 states its length to the sample.
  r = peel({"peaks", path, "--width", "777", "-o", out / "w.json", "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = nlohmann::json::parse(slurp(out / "w.json"));
  const int64_t n = static_cast<int64_t>(samples.size()) / 6;
  EXPECT_EQ(j["samples_per_pixel"], (n + 776) / 777);
  EXPECT_EQ(j["length"], 777);
  EXPECT_TRUE(j["data"].get<std::vector<int>>() ==
              peaks_oracle(samples, 6, static_cast<int>((n + 776) / 777), false));

  r = peel({"peaks", path, "--bits", "8", "--split-channels", "-o", out / "e.json", "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = nlohmann::json::parse(slurp(out / "e.json"));
  EXPECT_EQ(j["bits"], 8);
  EXPECT_TRUE(j["data"].get<std::vector<int>>() == peaks_oracle(samples, 6, 480, true, 8));

  r = peel({"peaks", path, "--width", "10", "--pixels-per-second", "5", "-o", out / "x.json"});
  EXPECT_EQ(r.exit_code, kExitUsage);
  r = peel({"peaks", path, "--bits", "12", "-o", out / "x.json"});
  EXPECT_EQ(r.exit_code, kExitUsage);
}

// The binary .dat: header and values as audiowaveform's DataFormat.md lays them out.
TEST(PeaksCli, DatIsAudiowaveformsBinaryVersion2) {
  TempDir out;
  const std::string path = mp4_h264_aac();
  const auto samples = decode_s16_track(path);
  for (int bits : {16, 8}) {
    const auto r = peel({"peaks", path, "--split-channels", "--pixels-per-second", "70", "--bits",
                         std::to_string(bits), "-o", out / "p.dat", "-y", "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string dat = slurp(out / "p.dat");
    ASSERT_GE(dat.size(), 24U);
    auto i32 = [&](size_t at) {
      int32_t v = 0;
      std::memcpy(&v, dat.data() + at, 4);  // little-endian, as this machine
      return v;
    };
    EXPECT_EQ(i32(0), 2);
    EXPECT_EQ(i32(4), bits == 8 ? 1 : 0);
    EXPECT_EQ(i32(8), 48000);
    EXPECT_EQ(i32(12), 685);
    EXPECT_EQ(i32(20), 2);
    const auto expected = peaks_oracle(samples, 2, 685, true, bits);
    EXPECT_EQ(i32(16), static_cast<int32_t>(expected.size() / 4));
    ASSERT_EQ(dat.size(), 24 + expected.size() * (bits / 8));
    std::vector<int> values;
    for (size_t at = 24; at < dat.size(); at += static_cast<size_t>(bits / 8)) {
      if (bits == 8) {
        values.push_back(static_cast<signed char>(dat[at]));
      } else {
        int16_t v = 0;
        std::memcpy(&v, dat.data() + at, 2);
        values.push_back(v);
      }
    }
    EXPECT_TRUE(values == expected) << bits;
  }
}

// The picture: ffprobe reads a PNG of the asked size; decoded back, the step signal (silence,
// then a tone from 2 s of 6) has wave pixels above and below the centre line only after 2 s.
TEST(PeaksCli, APictureOfTheWaveform) {
  TempDir out;
  const std::string path = mp4_h264_aac();
  auto r = peel({"peaks", path, "-o", out / "wave.png", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json_of(r)["outputs"][0]["width"], 1800);
  const auto probe = ffprobe(out / "wave.png");
  EXPECT_EQ(probe["streams"][0]["codec_name"], "png");
  EXPECT_EQ(probe["streams"][0]["width"], 1800);
  EXPECT_EQ(probe["streams"][0]["height"], 280);

  r = peel({"peaks", path, "-o", out / "small.png", "--width", "600", "--height", "200"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto raw = run({"ffmpeg", "-nostdin", "-v", "error", "-i", out / "small.png", "-f",
                        "rawvideo", "-pix_fmt", "rgb24", "-"});
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  const int w = 600, h = 200;
  ASSERT_EQ(raw.out.size(), static_cast<size_t>(w * h * 3));
  auto is_wave = [&](int x, int y) {
    const auto* p = reinterpret_cast<const unsigned char*>(raw.out.data()) + (y * w + x) * 3;
    return p[0] == 0x2f && p[1] == 0x6d && p[2] == 0xb5;
  };
  const int centre = (h - 24) / 2;
  auto wave_pixels = [&](int x0, int x1) {
    int n = 0;
    for (int x = x0; x < x1; ++x) {
      for (int y = 0; y < h - 24; ++y) {
        if (y != centre && is_wave(x, y)) ++n;
      }
    }
    return n;
  };
  // 6 s in 600 pixels: 100 a second. Silence up to 2 s, the tone from then on.
  EXPECT_EQ(wave_pixels(0, 195), 0);
  for (int x = 210; x < 590; x += 20) {
    int above = 0, below = 0;
    for (int y = 0; y < centre; ++y) above += is_wave(x, y) ? 1 : 0;
    for (int y = centre + 1; y < h - 24; ++y) below += is_wave(x, y) ? 1 : 0;
    EXPECT_GT(above, 10) << x;
    EXPECT_GT(below, 10) << x;
  }
  // The axis has labels: dark pixels below the line, at the ticks.
  int label_pixels = 0;
  for (int y = h - 24 + 6; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const auto* p = reinterpret_cast<const unsigned char*>(raw.out.data()) + (y * w + x) * 3;
      label_pixels += p[0] == 0x33 ? 1 : 0;
    }
  }
  EXPECT_GT(label_pixels, 50);
}

TEST(PeaksCli, TheSecondTrack) {
  TempDir out;
  const std::string path = mkv_two_tracks();
  const auto r = peel({"peaks", path, "--track", "2", "-o", out / "p.json", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto result = json_of(r)["outputs"][0];
  EXPECT_EQ(result["track"], 2);
  EXPECT_EQ(result["source_channels"], 1);  // a mono sine at 44.1 kHz
  const auto j = nlohmann::json::parse(slurp(out / "p.json"));
  EXPECT_EQ(j["samples_per_pixel"], 441);
  EXPECT_TRUE(j["data"].get<std::vector<int>>() == peaks_oracle(decode_s16(path, 1), 1, 441, false));
}

// One error per way it can fail: what, which file, what to do; nothing left behind.
nlohmann::json error_of(const std::vector<std::string>& args, int exit_code) {
  auto with_json = args;
  with_json.push_back("--json");
  const auto r = peel(with_json);
  EXPECT_EQ(r.exit_code, exit_code) << r.err;
  const auto j = json_of(r);
  EXPECT_EQ(j["errors"].size(), 1U) << r.out;
  return j["errors"].empty() ? nlohmann::json{} : j["errors"][0];
}

TEST(PeaksCli, Errors) {
  TempDir out;
  const std::string path = mp4_h264_aac();
  auto e = error_of({"peaks", path, "--track", "4", "-o", out / "p.json"}, kExitFailed);
  EXPECT_EQ(e["code"], 4004);
  EXPECT_NE(e["message"].get<std::string>().find(path), std::string::npos);
  EXPECT_NE(e["message"].get<std::string>().find("--track"), std::string::npos);

  e = error_of({"peaks", mp4_video_only(), "-o", out / "p.json"}, kExitFailed);
  EXPECT_EQ(e["code"], 4003);

  e = error_of({"peaks", path, "-o", out / "p.txt"}, kExitUsage);
  EXPECT_EQ(e["code"], 1001);
  EXPECT_NE(e["message"].get<std::string>().find(".json"), std::string::npos);

  e = error_of({"peaks", path, "-o", out / "missing/p.json"}, kExitFailed);
  EXPECT_EQ(e["code"], 5003);

  e = error_of({"peaks", path, "--pixels-per-second", "40000", "-o", out / "p.json"}, kExitFailed);
  EXPECT_EQ(e["code"], 4009);

  e = error_of({"peaks", path, "--height", "100", "-o", out / "p.json"}, kExitUsage);
  EXPECT_EQ(e["code"], 1001);

  e = error_of({"peaks", path, "--width", "20", "-o", out / "p.png"}, kExitFailed);
  EXPECT_EQ(e["code"], 4009);

  e = error_of({"peaks", out / "nothing.mp4", "-o", out / "p.json"}, kExitFailed);
  EXPECT_EQ(e["code"], 2001);
  EXPECT_EQ(out.entries(), std::vector<std::string>{});

  // An existing output stays unless -y; the input is never written over.
  std::ofstream(out / "old.json") << "old";
  e = error_of({"peaks", path, "-o", out / "old.json"}, kExitFailed);
  EXPECT_EQ(e["code"], 5001);
  EXPECT_EQ(slurp(out / "old.json"), "old");
  const auto r = peel({"peaks", path, "-o", out / "old.json", "-y", "-q"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(slurp(out / "old.json"), "old");
}

// /proc takes no new files, even from root, on every Linux.
TEST(PeaksCli, AnUnwritableFolderIsRefused) {
  const auto e =
      error_of({"peaks", mp4_h264_aac(), "-o", "/proc/peel-peaks-test.json"}, kExitFailed);
  EXPECT_EQ(e["code"], 5003);
  EXPECT_NE(e["message"].get<std::string>().find("/proc"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists("/proc/peel-peaks-test.json"));
}

}  // namespace
}  // namespace peel::test
