// Segment-parallel transcodes (--segment-parallel=on -j 4) are as long as serial ones, decode
// cleanly, and their joins can be neither measured (SNR around a join vs away from joins) nor
// heard (no click in a sine sweep). The ffmpeg CLI decodes every output.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "support/fixtures.h"
#include "support/support.h"

namespace peel::test {
namespace {

constexpr int kRate = 48000;
// Long enough for 4 segments (5 s at least each) with a second and a half of audio clear of
// every join on both sides of it; segment mode is asked for (--segment-parallel=on).
constexpr int kSeconds = 30;
// Just over the 60 s from which segment mode engages on its own (RunOptions).
constexpr int kAutoSeconds = 62;
// For what needs more: the SNR around joins against the 1st percentile of many windows
// elsewhere, and resampled WAV segments (their cuts fall on 13.65 s steps at 48 -> 44.1 kHz).
constexpr int kLongSeconds = 120;

// ffmpeg's warnings with the addresses of its objects taken out, to compare two files'.
std::string warnings_of(const std::string& path) {
  std::string text = ffmpeg_warnings(path);
  for (size_t at = 0; (at = text.find("@ 0x", at)) != std::string::npos;) {
    size_t end = at + 4;
    while (end < text.size() && std::isxdigit(static_cast<unsigned char>(text[end])) != 0) ++end;
    text.erase(at + 2, end - at - 2);
    at += 2;
  }
  return text;
}

// Left: speech-like (a gliding harmonic voice in syllable bursts over a noise floor); right:
// tonal (three steady partials with a slow vibrato). Neither is ever silent, so every 20 ms
// window has an SNR. FLAC in Matroska: lossless, with millisecond timestamps (the workers
// count samples from the start).
std::string speech_and_tones(int seconds = kSeconds) {
  const std::string voice =
      "(0.25*sin(2*PI*(140*t+20*sin(2*PI*0.4*t)))+0.12*sin(4*PI*(140*t+20*sin(2*PI*0.4*t)))"
      "+0.06*sin(6*PI*(140*t+20*sin(2*PI*0.4*t))))*(0.2+0.8*pow(sin(PI*3.3*t),2))"
      "+0.03*(random(0)*2-1)*(0.3+0.7*pow(sin(PI*1.7*t),4))";
  const std::string tones =
      "0.2*sin(2*PI*(440*t+3*sin(2*PI*0.2*t)))+0.1*sin(2*PI*(660*t+4.5*sin(2*PI*0.2*t)))"
      "+0.05*sin(2*PI*2750*t)";
  return fixture("par-speech-tones.mkv",
                 {"-f", "lavfi", "-i",
                  "testsrc=size=64x48:rate=5:duration=" + std::to_string(seconds), "-f", "lavfi",
                  "-i",
                  "aevalsrc=exprs='" + voice + "|" + tones + "':s=48000:d=" +
                      std::to_string(seconds),
                  "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast",
                  "-c:a", "flac"});
}

// A linear sine sweep, 100 Hz to 4 kHz over `seconds`, in both channels: any discontinuity at
// a join is a step larger than the sweep's own. 16-bit PCM in QuickTime (sample timestamps:
// the workers seek).
std::string sweep(int seconds = kSeconds) {
  const std::string video = "testsrc=size=64x48:rate=5:duration=" + std::to_string(seconds);
  const std::string tone = "0.5*sin(2*PI*(100*t+3900/" + std::to_string(2 * seconds) + "*t*t))";
  return fixture("par-sweep.mov",
                 {"-f", "lavfi", "-i", video, "-f", "lavfi", "-i",
                  "aevalsrc=exprs='" + tone + "|" + tone + "':s=48000:d=" + std::to_string(seconds),
                  "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast",
                  "-c:a", "pcm_s16le"});
}

// The sweep, long enough that segment mode engages on its own.
std::string long_sweep() { return sweep(kAutoSeconds); }

// A range inside the fixtures, off their frame and segment grids.
const std::vector<std::string> kRange = {"--from", "2.3", "--to", "26.9"};
constexpr double kRangeSeconds = 24.6;

nlohmann::json encode(const std::string& input, const std::string& out, const std::string& mode,
                      std::vector<std::string> extra = {}, int jobs = 4) {
  std::vector<std::string> args = {input, "-o", out, "-y", "--reencode", "-j", std::to_string(jobs),
                                   "--segment-parallel=" + mode, "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = peel(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto j = json_of(r);
  return j["outputs"].empty() ? nlohmann::json() : j["outputs"][0];
}

struct Format {
  const char* ext;
  std::vector<std::string> args;
  int frame;  // samples per encoder frame (pcm: peel's 4096-sample chunks)
};

// Decoded length in samples per channel as the file itself says it (m4a: the edit list, which
// FFmpeg 5.1's mp4 demuxer honours at the start only; others: what ffmpeg decodes).
int64_t declared_samples(const std::string& path, size_t decoded_values, int channels) {
  if (path.ends_with(".m4a")) return ffprobe(path)["streams"][0]["duration_ts"].get<int64_t>();
  return static_cast<int64_t>(decoded_values) / channels;
}

// The offset L at which got[i + L] best matches ref[i] (channel c of stereo), in ±2048:
// codecs without gapless information (raw ADTS) keep their priming samples.
int64_t best_lag(const std::vector<float>& ref, const std::vector<float>& got, int c) {
  const int64_t from = 10 * kRate;
  const int64_t len = kRate / 2;
  int64_t best = 0;
  double best_err = 1e300;
  for (int64_t lag = -2048; lag <= 2048; ++lag) {
    double err = 0;
    for (int64_t i = from; i < from + len; ++i) {
      const double d = got[2 * (i + lag) + c] - ref[2 * i + c];
      err += d * d;
    }
    if (err < best_err) {
      best_err = err;
      best = lag;
    }
  }
  return best;
}

// SNR (dB) of got against ref over ref's samples [s, s + n) of channel c; 200 when exact.
double window_snr(const std::vector<float>& ref, const std::vector<float>& got, int64_t lag,
                  int c, int64_t s, int64_t n) {
  double sig = 0;
  double err = 0;
  for (int64_t i = s; i < s + n; ++i) {
    const double r = ref[2 * i + c];
    const double d = got[2 * (i + lag) + c] - r;
    sig += r * r;
    err += d * d;
  }
  return err == 0 ? 200 : 10 * std::log10(sig / err);
}

// The worst SNR of 20 ms windows straddling the joins, and the 1st percentile of the SNRs of
// windows more than 1.5 s away from any join. Without resampling, peel joins segments at
// total·k/segments rounded down to a whole frame (docs/parallel.md). A window straddles a
// join when it holds the join or the frame after it: the decoder overlaps that frame with
// the last one of the previous segment (MDCT and filter-bank overlap).
std::pair<double, double> join_vs_elsewhere(const std::vector<float>& ref,
                                            const std::vector<float>& got, int c, int segments,
                                            int64_t total, int frame) {
  const int64_t n = std::min<int64_t>(ref.size(), got.size()) / 2;
  const int64_t lag = best_lag(ref, got, c);
  const int64_t w = kRate / 50;
  std::vector<int64_t> cuts;
  for (int k = 1; k < segments; ++k) cuts.push_back(total * k / segments / frame * frame);
  double worst_join = 1e9;
  for (int64_t cut : cuts) {
    for (int64_t s = cut - w + 1; s < cut + frame; s += w / 8) {
      worst_join = std::min(worst_join, window_snr(ref, got, lag, c, s, w));
    }
  }
  std::vector<double> away;
  for (int64_t s = kRate; s + w + std::abs(lag) < n - kRate; s += w) {
    const bool near = std::any_of(cuts.begin(), cuts.end(), [&](int64_t cut) {
      return std::abs(s - cut) < 3 * kRate / 2;
    });
    if (!near) away.push_back(window_snr(ref, got, lag, c, s, w));
  }
  std::sort(away.begin(), away.end());
  return {worst_join, away.empty() ? 0 : away[away.size() / 100]};
}

// The largest sample-to-sample step in channel c of `channels`, leaving out the first and
// last 0.1 s: there the output's range cuts a running waveform, an edge both encodes have and
// no join.
float largest_step(const std::vector<float>& pcm, int c, int channels, int rate) {
  const auto edge = static_cast<size_t>(rate / 10 * channels);
  float m = 0;
  for (size_t i = edge + static_cast<size_t>(c); i + edge < pcm.size(); i += channels) {
    m = std::max(m, std::fabs(pcm[i] - pcm[i - channels]));
  }
  return m;
}

void expect_clean(const std::string& par, const std::string& ser, const std::string& ext) {
  if (ext == "wav" || ext == "aac") {
    EXPECT_EQ(warnings_of(par), warnings_of(ser));
  } else {
    EXPECT_EQ(ffmpeg_warnings(par), "");
  }
}

class Parallel : public ::testing::TestWithParam<Format> {};

TEST_P(Parallel, SpeechAndTonesJoinSeamlessly) {
  const Format& f = GetParam();
  TempDir dir;
  const std::string input = speech_and_tones(kLongSeconds);
  const std::string par = dir / (std::string("par.") + f.ext);
  const std::string ser = dir / (std::string("ser.") + f.ext);
  const auto p = encode(input, par, "on", f.args);
  const auto s = encode(input, ser, "off", f.args);
  ASSERT_EQ(p["segments"], 4) << "segment-parallel mode did not engage";
  EXPECT_EQ(s["segments"], 1);

  // (1) Exactly as many samples as the serial encode and as asked for.
  const int64_t exact = int64_t{kRate} * kLongSeconds;
  EXPECT_EQ(p["samples"], exact);
  const auto got = decode_f32(par);
  const auto serial = decode_f32(ser);
  EXPECT_EQ(got.size(), serial.size());
  EXPECT_EQ(declared_samples(par, got.size(), 2), declared_samples(ser, serial.size(), 2));
  if (std::string(f.ext) != "aac") {
    EXPECT_EQ(declared_samples(par, got.size(), 2), exact);
  }

  // (2) ffmpeg decodes it with no complaint; wav and raw ADTS: none but the serial file's
  // (a stereo 16-bit WAV without an extensible header has its layout "guessed"; ADTS has no
  // duration, so it is "estimated from bitrate").
  expect_clean(par, ser, f.ext);

  // (3) No 20 ms window across a join is worse than the worst 1% elsewhere, within 1 dB.
  const auto source = decode_f32(input);
  for (int c = 0; c < 2; ++c) {
    const auto [join, elsewhere] = join_vs_elsewhere(source, got, c, 4, exact, f.frame);
    EXPECT_GE(join, elsewhere - 1.0)
        << (c == 0 ? "speech" : "tones") << ": worst window at a join " << join
        << " dB, 1st percentile elsewhere " << elsewhere << " dB";
  }

  // (5) Size within 2% of the serial encode.
  const double ps = static_cast<double>(std::filesystem::file_size(par));
  const double ss = static_cast<double>(std::filesystem::file_size(ser));
  EXPECT_NEAR(ps / ss, 1.0, 0.02) << ps << " vs " << ss << " bytes";
}

TEST_P(Parallel, SweepHasNoClick) {
  const Format& f = GetParam();
  TempDir dir;
  const std::string par = dir / (std::string("par.") + f.ext);
  const std::string ser = dir / (std::string("ser.") + f.ext);
  const auto p = encode(sweep(), par, "on", f.args);
  encode(sweep(), ser, "off", f.args);
  ASSERT_EQ(p["segments"], 4);
  const auto got = decode_f32(par);
  const auto serial = decode_f32(ser);
  EXPECT_EQ(got.size(), serial.size());
  expect_clean(par, ser, f.ext);
  // (4) A join that clicks steps further than the sweep ever does. Two encodes of the same
  // signal differ by their coding noise, so the serial encode's largest step is met within
  // 2% of itself (at most a step of 0.005 on a 0.26 peak step) plus 1/512 of full scale.
  for (int c = 0; c < 2; ++c) {
    const float limit = largest_step(serial, c, 2, kRate);
    EXPECT_LE(largest_step(got, c, 2, kRate), limit * 1.02f + 1.0f / 512) << "channel " << c;
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, Parallel,
                         ::testing::Values(Format{"mp3", {"-b", "192k"}, 1152},
                                           Format{"m4a", {"-b", "128k"}, 1024},
                                           Format{"aac", {"-b", "128k"}, 1024},
                                           Format{"opus", {"-b", "96k"}, 960},
                                           // joins within 6144 samples after a cut
                                           Format{"ogg", {"-b", "128k"}, 8192},
                                           Format{"wav", {}, 4096}),
                         [](const auto& info) { return std::string(info.param.ext); });

void PrintTo(const Format& f, std::ostream* os) { *os << f.ext; }

TEST(ParallelRange, ResampledDownMixedRangeIsExactAndClean) {
  TempDir dir;
  const std::vector<std::string> args = {"--from", "7.3", "--to", "101.9", "--sample-rate",
                                         "44100", "--channels", "mono"};
  const int64_t exact = std::llround(94.6 * 44100);
  const std::string input = sweep(kLongSeconds);
  // Lossless: segments resampled apart are the serial resampling, sample for sample.
  const std::string wav_par = dir / "par.wav";
  const std::string wav_ser = dir / "ser.wav";
  auto p = encode(input, wav_par, "on", args);
  encode(input, wav_ser, "off", args);
  EXPECT_EQ(p["segments"], 4);
  EXPECT_EQ(p["samples"], exact);
  const auto lossless = decode_s16(wav_par);
  EXPECT_EQ(static_cast<int64_t>(lossless.size()), exact);
  EXPECT_TRUE(lossless == decode_s16(wav_ser)) << "parallel resampling differs from serial";

  const std::string mp3_par = dir / "par.mp3";
  const std::string mp3_ser = dir / "ser.mp3";
  auto args_mp3 = args;
  args_mp3.insert(args_mp3.end(), {"-b", "128k"});
  p = encode(input, mp3_par, "on", args_mp3);
  encode(input, mp3_ser, "off", args_mp3);
  EXPECT_EQ(p["segments"], 4);
  EXPECT_EQ(p["samples"], exact);
  EXPECT_EQ(channels_of(mp3_par), 1);
  const auto got = decode_f32(mp3_par);
  const auto serial = decode_f32(mp3_ser);
  EXPECT_EQ(static_cast<int64_t>(got.size()), exact);
  EXPECT_EQ(ffmpeg_warnings(mp3_par), "");
  EXPECT_LE(largest_step(got, 0, 1, 44100), largest_step(serial, 0, 1, 44100) * 1.02f + 1.0f / 512);
  EXPECT_NEAR(static_cast<double>(std::filesystem::file_size(mp3_par)) /
                  static_cast<double>(std::filesystem::file_size(mp3_ser)),
              1.0, 0.02);
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The MD5 a FLAC file's STREAMINFO declares (the first metadata block, after "fLaC").
std::string declared_md5(const std::string& path) {
  const std::string bytes = file_bytes(path);
  std::string hex;
  for (size_t i = 26; i < 42 && i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    hex += "0123456789abcdef"[b >> 4];
    hex += "0123456789abcdef"[b & 15];
  }
  return hex;
}

// The MD5 of the samples ffmpeg decodes, interleaved little-endian in `pcm` (pcm_s16le,
// pcm_s24le): what FLAC's STREAMINFO MD5 covers.
std::string decoded_md5(const std::string& path, const std::string& pcm) {
  const auto r = run({"ffmpeg", "-v", "error", "-i", path, "-c:a", pcm, "-f", "md5", "-"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out.starts_with("MD5=") ? r.out.substr(4, 32) : r.out;
}

// FLAC frames are independent, so joined segments are the serial stream itself, byte for
// byte, once every frame has its number and CRCs in the whole stream and STREAMINFO holds
// the whole stream's frame sizes, sample count and MD5. Encodes `input` to FLAC both ways and
// checks that, that ffmpeg decodes it cleanly, and that its MD5 is that of what ffmpeg decodes
// (as `pcm`); returns the segmented run's JSON. The output is dir/par.flac.
nlohmann::json expect_flac_is_serial(const TempDir& dir, const std::string& input,
                                     const std::vector<std::string>& args, int jobs,
                                     const std::string& pcm) {
  const auto p = encode(input, dir / "par.flac", "on", args, jobs);
  encode(input, dir / "ser.flac", "off", args, jobs);
  EXPECT_EQ(p["segments"], jobs);
  EXPECT_TRUE(file_bytes(dir / "par.flac") == file_bytes(dir / "ser.flac"));
  EXPECT_EQ(ffmpeg_warnings(dir / "par.flac"), "");
  EXPECT_EQ(declared_md5(dir / "par.flac"), decoded_md5(dir / "par.flac", pcm));
  EXPECT_EQ(ffprobe(dir / "par.flac")["streams"][0]["bits_per_raw_sample"],
            pcm == "pcm_s24le" ? "24" : "16");
  return p;
}

TEST(ParallelFlac, IsTheSerialStreamByteForByte) {
  TempDir dir;
  const auto p = expect_flac_is_serial(dir, speech_and_tones(), {}, 4, "pcm_s24le");
  EXPECT_EQ(p["samples"], int64_t{kRate} * kSeconds);
  // The source is 24-bit FLAC, and so is the output: the very samples of the source.
  EXPECT_EQ(decode_s32(dir / "par.flac"), decode_s32(speech_and_tones()));
}

TEST(ParallelFlac, RangeResampledDownMixed24BitIsExact) {
  TempDir dir;
  std::vector<std::string> args = kRange;
  args.insert(args.end(),
              {"--sample-rate", "44100", "--channels", "mono", "--sample-format", "s24"});
  const auto p = expect_flac_is_serial(dir, sweep(), args, 3, "pcm_s24le");
  EXPECT_EQ(p["samples"], std::llround(kRangeSeconds * 44100));
}

// Matroska gets FLAC's STREAMINFO as its CodecPrivate: rewritten at the end like the file's.
TEST(ParallelFlac, MatroskaCarriesTheSerialStream) {
  TempDir dir;
  const std::string input = speech_and_tones();
  const auto p = encode(input, dir / "par.mka", "on");
  encode(input, dir / "ser.mka", "off");
  ASSERT_EQ(p["segments"], 4);
  EXPECT_EQ(ffmpeg_warnings(dir / "par.mka"), "");
  for (const char* name : {"par", "ser"}) {
    const auto r = run({"ffmpeg", "-v", "error", "-i", dir / (std::string(name) + ".mka"), "-c",
                        "copy", dir / (std::string(name) + ".flac")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  EXPECT_TRUE(file_bytes(dir / "par.flac") == file_bytes(dir / "ser.flac"));
  EXPECT_EQ(declared_md5(dir / "par.flac"), decoded_md5(dir / "par.flac", "pcm_s24le"));
}

// Encodes `input` with `args` in 4 segments and serially; the segmented file must decode to
// the serial one's samples except, at most, by coding noise near a join.
void expect_decodes_as_serial(const std::string& input, const std::string& ext,
                              const std::vector<std::string>& args) {
  TempDir dir;
  std::string label = ext + ":";
  for (const auto& a : args) label += " " + a;
  const std::string par = dir / ("par." + ext);
  const std::string ser = dir / ("ser." + ext);
  const auto p = encode(input, par, "on", args);
  encode(input, ser, "off", args);
  ASSERT_EQ(p["segments"], 4) << label;
  EXPECT_EQ(ffmpeg_warnings(par), "") << label;
  const auto got = decode_f32(par);
  const auto serial = decode_f32(ser);
  ASSERT_EQ(got.size(), serial.size()) << label;
  const int channels = channels_of(par);
  const int rate = p["sample_rate"];
  const int64_t total = p["samples"];
  float worst = 0;
  int64_t far_from_joins = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const float d = std::fabs(got[i] - serial[i]);
    worst = std::max(worst, d);
    const int64_t at = static_cast<int64_t>(i) / channels;
    bool near = false;
    // (peel rounds a cut down to its step: up to 1.3 s for mp3 at 44.1 kHz)
    for (int k = 1; k < 4; ++k) near = near || std::llabs(at - total * k / 4) < 3 * rate;
    if (d > 0 && !near) ++far_from_joins;
  }
  EXPECT_LE(worst, 0.05f) << label;
  EXPECT_EQ(far_from_joins, 0) << label;
}

// LAME's bit reservoir stays on: each join is made where the next segment's borrowed bytes
// fit in the room the previous one left (mp3_join.h), so every frame decodes as its encoder
// made it. A frame that read the other encoder's bytes would decode to noise up to full scale
// (and ffmpeg would not say a word); here the decoded file may differ from the serial one only
// by coding noise, only within a second of a join: in most settings it does not differ at all.
// CBR and VBR, MPEG-1 and MPEG-2 rates, 320 kbit/s, a range with resampling and down-mixing.
TEST(ParallelMp3, KeepsTheBitReservoirAndDecodesAsTheSerialFileDoes) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"-b", "192k"},
        {"-b", "128k", "--sample-rate", "44100"},
        {"--quality", "2"},
        {"-b", "320k"},
        {"-b", "64k", "--sample-rate", "22050"},
        {"--from", "2.3", "--to", "26.9", "--channels", "mono", "-b", "96k"}}) {
    expect_decodes_as_serial(speech_and_tones(), "mp3", args);
  }
}

// Vorbis segments are joined where both encoders' blocks agree (vorbis_join.h). Speech-like
// audio has transients that put both on one grid; a steady sweep never does, so each segment
// is encoded again, moved onto the grid of the one before it.
TEST(ParallelVorbis, JoinsWhereTheBlocksAgreeAndDecodesAsTheSerialFileDoes) {
  expect_decodes_as_serial(speech_and_tones(), "ogg", {});
  expect_decodes_as_serial(speech_and_tones(), "ogg", {"--quality", "6"});
  expect_decodes_as_serial(sweep(), "ogg", {"-b", "96k"});
  expect_decodes_as_serial(sweep(), "ogg",
                           {"--from", "2.3", "--to", "26.9", "--channels", "mono"});
}

TEST(ParallelMode, AutoEngagesOnlyForLongTranscodesAndOffTurnsItOff) {
  TempDir dir;
  const std::string out = dir / "x.mp3";
  // 20 s is under the 60 s threshold: serial, as it is with off or -j 1.
  EXPECT_EQ(encode(long_sweep(), out, "auto", {"--to", "20"})["segments"], 1);
  EXPECT_EQ(encode(long_sweep(), out, "auto")["segments"], 4);
  EXPECT_EQ(encode(long_sweep(), out, "off")["segments"], 1);
  EXPECT_EQ(encode(long_sweep(), out, "on", {}, 1)["segments"], 1);
  // Nothing but the outputs is left in their folder (FLAC's samples spill there too, and a
  // Vorbis segment encoded again on the grid of the one before it).
  EXPECT_EQ(encode(sweep(), dir / "x.flac", "on")["segments"], 4);
  EXPECT_EQ(encode(sweep(), dir / "x.ogg", "on")["segments"], 4);
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"x.flac", "x.mp3", "x.ogg"}));
}

// A batch runs on one pool: a long file's segments go to the front of its queue, so threads
// take them between the other files. With as many files as workers, the long file still
// splits (before, it ran on one thread while the other sat idle after the short file).
TEST(ParallelMode, ABatchSharesItsWorkersWithTheSegmentsOfLongFiles) {
  TempDir in, out;
  std::filesystem::copy_file(long_sweep(), in / "long.mov");
  for (const char* name : {"a.mp4", "b.mp4", "c.mp4"}) {
    std::filesystem::copy_file(mp4_h264_aac(), in / name);
  }
  auto r = peel({"-R", in.path(), "-d", out.path(), "-f", "wav", "--reencode", "-j", "2",
                 "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int files = 0;
  for (size_t at = 0; (at = r.out.find("\"segments\":", at)) != std::string::npos; ++at) ++files;
  EXPECT_EQ(files, 4) << r.out;
  EXPECT_NE(r.out.find("\"segments\":2"), std::string::npos) << r.out;
  // The long file's segments are the serial transcode, sample for sample.
  EXPECT_TRUE(decode_s16(out / "long.wav") == decode_s16(long_sweep()));
  for (const char* name : {"a", "b", "c"}) {
    EXPECT_TRUE(decode_s16(out / (std::string(name) + ".wav")) ==
                decode_s16_track(mp4_h264_aac()))
        << name;
  }
  // --segment-parallel=off holds for a batch too.
  r = peel({"-R", in.path(), "-d", out.path(), "-f", "wav", "--reencode", "-j", "2", "--json",
            "-y", "--segment-parallel=off"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("\"segments\":2"), std::string::npos) << r.out;
}

TEST(ParallelMode, CtrlCStopsEveryWorkerAndLeavesNothing) {
  TempDir out;
  Child child({mkv_five_minutes(), "-o", out / "x.m4a", "--reencode", "-j", "4",
               "--segment-parallel=on", "--json"});
  // Signal once the output's temporary file exists and is still empty: the segments are being
  // encoded (they are joined into it at the end).
  const bool encoding = stop_when(child, [&] {
    std::error_code ec;
    const auto names = out.entries();
    return names.size() == 1 && std::filesystem::file_size(out / names[0], ec) == 0 && !ec;
  });
  EXPECT_TRUE(encoding) << "peel finished before it could be interrupted";
  child.signal(SIGINT);
  child.resume();
  const RunResult r = child.wait();
  EXPECT_EQ(r.signal, 0);
  EXPECT_EQ(r.exit_code, 130) << r.err;  // interrupted
  EXPECT_NE(r.out.find("nothing was left behind"), std::string::npos) << r.out;
  EXPECT_TRUE(out.entries().empty()) << "left behind: " << out.entries().front();
}

}  // namespace
}  // namespace peel::test
