// Files made by other tools (oggenc, mkvmerge, GStreamer) and by ffmpeg with unusual flags.
// The oracle is what ffmpeg decodes from the source over the same packets: a copy must decode
// to it exactly, a whole-file WAV must be it bit for bit (cut where the container says the
// track ends), and nothing whose data is all there may be called damaged.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "support/support.h"

namespace peel::test {
namespace {

const std::string kVideo = "testsrc=size=160x120:rate=25:duration=8";

// Speech-like audio: a voiced tone with moving pitch and syllable envelope, some breath noise.
std::string voice(int rate, double seconds) {
  return "aevalsrc=exprs='(0.25*sin(2*PI*(140*t+20*sin(2*PI*0.4*t)))+0.1*sin(4*PI*(140*t+20*sin("
         "2*PI*0.4*t))))*(0.2+0.8*pow(sin(PI*3.3*t),2))+0.02*(random(0)*2-1)|0.2*sin(2*PI*(220*t+"
         "5*sin(2*PI*0.3*t)))*(0.3+0.7*pow(sin(PI*2.1*t),2))':s=" +
         std::to_string(rate) + ":d=" + std::to_string(seconds);
}

// The ffmpeg command line that makes `name` from a video and the voice, with `audio` flags.
std::string av_fixture(const std::string& name, const std::vector<std::string>& audio,
                       int rate = 48000, double seconds = 8) {
  std::vector<std::string> a = {
      "-f",   "lavfi", "-i",   kVideo, "-f",   "lavfi",   "-i",      voice(rate, seconds),
      "-map", "0:v",   "-map", "1:a",  "-c:v", "libx264", "-preset", "ultrafast"};
  a.insert(a.end(), audio.begin(), audio.end());
  return fixture(name, a);
}

struct Outcome {
  std::string output;
  nlohmann::json json;
};

// Runs peel on `input` with `args` (into a fresh folder when no -o is given) and expects a
// clean run: exit 0, one output, nothing lost, no warning.
Outcome extract(const TempDir& dir, const std::string& input, std::vector<std::string> args) {
  args.insert(args.begin(), input);
  if (std::find(args.begin(), args.end(), "-o") == args.end()) {
    args.insert(args.end(), {"-d", dir.path()});
  }
  args.insert(args.end(), {"-y", "--json"});
  const auto r = peel(args);
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  const auto j = json_of(r);
  if (!j.contains("outputs") || j["outputs"].size() != 1) {
    ADD_FAILURE() << "expected one output: " << r.out;
    return {};
  }
  const auto& o = j["outputs"][0];
  EXPECT_TRUE(o["lost"].empty()) << input << ": " << o.dump();
  EXPECT_TRUE(o["warnings"].empty()) << input << ": " << o.dump();
  return {o["output"], o};
}

bool is_mp4_family(const std::string& path) {
  for (const char* ext : {".m4a", ".mp4", ".mov"}) {
    if (path.ends_with(ext)) return true;
  }
  return false;
}

// A copy of the whole track decodes to the source's samples, exactly. (An MP4 output keeps an
// edit list's end as its source had it; FFmpeg 5.1 ignores it in both. Other outputs state
// it in their own way, and ffmpeg applies it.)
void expect_copy_exact(const std::string& input, const Outcome& o) {
  ASSERT_EQ(o.json["mode"], "copy") << o.json.dump();
  const auto expected = is_mp4_family(o.output) ? decode_f32(input) : decode_f32_track(input);
  const auto got = decode_f32(o.output);
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(got.size(), expected.size()) << input << " -> " << o.output;
  EXPECT_TRUE(got == expected) << input << " -> " << o.output << ": decoded PCM differs";
  // A raw Dolby file states no duration: ffmpeg estimates it, and says so.
  std::string warnings = ffmpeg_warnings(o.output);
  if (const auto at = warnings.find("Estimating duration from bitrate"); at != std::string::npos) {
    warnings.erase(warnings.rfind('[', at), warnings.find('\n', at) + 1);
  }
  EXPECT_EQ(warnings, "") << o.output;
}

// A whole-file WAV is ffmpeg's decode of the track, bit for bit.
void expect_wav_exact(const TempDir& dir, const std::string& input) {
  const auto o = extract(dir, input, {"-o", dir / "whole.wav"});
  const auto expected = decode_s16_track(input);
  const auto got = decode_s16(o.output);
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(got.size(), expected.size()) << input;
  EXPECT_TRUE(got == expected) << input << ": the WAV is not ffmpeg's decode";
  const int channels = o.json["channels"];
  EXPECT_EQ(o.json["samples"].get<int64_t>() * channels, static_cast<int64_t>(got.size()));
}

// ---- Ogg Vorbis from oggenc, and Vorbis in other containers ---------------------------------

// 8.000 s at 44.1 kHz: 352,800 samples, as oggenc's last granule position says.
std::string oggenc_vorbis() {
  return tool_fixture("oggenc.ogg",
                      {"sh", "-c",
                       "ffmpeg -nostdin -v error -f lavfi -i \"" + voice(44100, 8) +
                           "\" -y {tmp}/voice.wav && oggenc -Q -t 'A Title' -a 'An Artist' -o "
                           "{out} {tmp}/voice.wav"});
}

// The granule positions of an Ogg file's first and last pages.
std::pair<int64_t, int64_t> granules(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::vector<int64_t> all;
  for (size_t at = 0;
       (at = bytes.find("OggS", at)) != std::string::npos && at + 27 <= bytes.size();) {
    int64_t g = 0;
    std::memcpy(&g, bytes.data() + at + 6, 8);
    const auto segments = static_cast<unsigned char>(bytes[at + 26]);
    size_t body = 0;
    for (unsigned i = 0; i < segments && at + 27 + i < bytes.size(); ++i) {
      body += static_cast<unsigned char>(bytes[at + 27 + i]);
    }
    // Header pages (granule 0) come first: the first audio page is the first with audio.
    if (g > 0 || !all.empty()) all.push_back(g);
    at += 27 + segments + body;
  }
  if (all.empty()) return {-1, -1};
  return {all.front(), all.back()};
}

// The first audio packet's timestamp, as ffprobe reads it.
int64_t first_pts(const std::string& path) {
  const auto r = run({"ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
                      "packet=pts", "-read_intervals", "%+#1", "-of", "csv=p=0", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out.empty() ? -1 : std::stoll(r.out);
}

TEST(Vorbis, OggencFileCopiesWithItsGranulePositions) {
  TempDir dir;
  const std::string input = oggenc_vorbis();
  const auto o = extract(dir, input, {});
  ASSERT_TRUE(o.output.ends_with(".ogg")) << o.output;
  expect_copy_exact(input, o);
  EXPECT_EQ(decode_s16(o.output).size(), 352800u * 2);
  EXPECT_EQ(o.json["samples"], 352800);
  // Pages are laid out anew, so their granules differ, but not where the audio starts (the
  // first packet's position, from the first audio page's granule) or ends (the last page's).
  EXPECT_EQ(first_pts(o.output), first_pts(input));
  EXPECT_EQ(granules(o.output).second, granules(input).second) << "the last granule position";
  const auto tags = ffprobe(o.output)["streams"][0]["tags"];
  EXPECT_EQ(tags.value("artist", tags.value("ARTIST", "")), "An Artist") << tags.dump();
}

struct Source {
  const char* name;
  std::string (*make)();
};
void PrintTo(const Source& s, std::ostream* os) { *os << s.name; }

class VorbisIn : public ::testing::TestWithParam<Source> {};

TEST_P(VorbisIn, CopiesToOggExactly) {
  TempDir dir;
  const std::string input = GetParam().make();
  const auto o = extract(dir, input, {});
  ASSERT_TRUE(o.output.ends_with(".ogg")) << o.output;
  expect_copy_exact(input, o);
  expect_wav_exact(dir, input);
}

INSTANTIATE_TEST_SUITE_P(
    Containers, VorbisIn,
    ::testing::Values(Source{"ogv",
                             [] {
                               return fixture("vorbis.ogv", {"-f", "lavfi", "-i", kVideo, "-f",
                                                             "lavfi", "-i", voice(44100, 8), "-c:v",
                                                             "libtheora", "-c:a", "libvorbis"});
                             }},
                      Source{"webm",
                             [] {
                               return fixture("vorbis.webm",
                                              {"-f", "lavfi", "-i", kVideo, "-f", "lavfi", "-i",
                                               voice(44100, 8), "-c:v", "libvpx", "-deadline",
                                               "realtime", "-c:a", "libvorbis"});
                             }},
                      Source{"mkv_ffmpeg",
                             [] {
                               return av_fixture("vorbis-ffmpeg.mkv", {"-c:a", "libvorbis"}, 44100);
                             }},
                      Source{"mkv_mkvmerge",
                             [] {
                               const std::string video = fixture(
                                   "mkvmerge-video.mp4", {"-f", "lavfi", "-i", kVideo, "-c:v",
                                                          "libx264", "-preset", "ultrafast"});
                               const std::string ogg = oggenc_vorbis();
                               return tool_fixture(
                                   "vorbis-mkvmerge.mkv",
                                   {"mkvmerge", "-q", "-o", "{out}", "-A", video, ogg});
                             }}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- Fragmented MP4 --------------------------------------------------------------------------

// H.264 with B-frames and AAC: ffmpeg's fragmented files of it have a jump in the audio
// timestamps after the first packet.
std::string plain_mp4() {
  return fixture("frag-plain.mp4",
                 {"-f", "lavfi", "-i", "testsrc=size=320x240:rate=30:duration=10", "-f", "lavfi",
                  "-i", voice(48000, 10), "-c:v", "libx264", "-c:a", "aac"});
}
std::string fragmented(const std::string& flags) {
  return fixture("frag-" + flags + ".mp4", {"-i", plain_mp4(), "-c", "copy", "-movflags", flags});
}

class Fragmented : public ::testing::TestWithParam<Source> {};

TEST_P(Fragmented, IsNotDamagedAndDecodesAsFfmpegDoes) {
  TempDir dir;
  const std::string input = GetParam().make();
  const auto o = extract(dir, input, {});
  ASSERT_TRUE(o.output.ends_with(".m4a"));
  expect_copy_exact(input, o);
  expect_wav_exact(dir, input);
  // And the same as a transcode.
  const auto mp3 = extract(dir, input, {"-o", dir / "x.mp3"});
  EXPECT_EQ(mp3.json["samples"], o.json["samples"]);
}

INSTANTIATE_TEST_SUITE_P(
    Flags, Fragmented,
    ::testing::Values(Source{"frag_keyframe",
                             [] { return fragmented("frag_keyframe+empty_moov"); }},
                      Source{"dash", [] { return fragmented("dash"); }},
                      Source{"cmaf", [] { return fragmented("cmaf"); }},
                      Source{"gstreamer_mp4mux",
                             [] {
                               return tool_fixture(
                                   "frag-gstreamer.mp4",
                                   {"gst-launch-1.0",
                                    "-q",
                                    "mp4mux",
                                    "name=m",
                                    "fragment-duration=1000",
                                    "!",
                                    "filesink",
                                    "location={out}",
                                    "videotestsrc",
                                    "num-buffers=250",
                                    "!",
                                    "video/x-raw,width=160,height=120,framerate=25/1",
                                    "!",
                                    "x264enc",
                                    "speed-preset=ultrafast",
                                    "!",
                                    "m.",
                                    "audiotestsrc",
                                    "num-buffers=431",
                                    "samplesperbuffer=1024",
                                    "wave=ticks",
                                    "!",
                                    "audio/x-raw,rate=44100,channels=2",
                                    "!",
                                    "voaacenc",
                                    "!",
                                    "m."});
                             }}),
    [](const auto& info) { return std::string(info.param.name); });

// ffmpeg's frag_every_frame writes fragments whose timestamps overlap the one before; FFmpeg
// then drops 22 of the 470 AAC frames after decoding them, cutting holes in the audio. Every
// frame is real audio that follows on: the same packets without the fragmenting
// (frag_keyframe) decode, in ffmpeg too, with none missing.
TEST(FragmentedEveryFrame, KeepsEveryFrameAsTheSamePacketsUnfragmentedDecode) {
  TempDir dir;
  const std::string input = fragmented("frag_every_frame+empty_moov");
  const std::string same_packets = fragmented("frag_keyframe+empty_moov");
  ASSERT_LT(decode_s16(input).size(), decode_s16(same_packets).size())
      << "ffmpeg no longer drops the overlapping frames: this test's premise is gone";
  const auto copy = extract(dir, input, {});
  EXPECT_TRUE(decode_f32(copy.output) == decode_f32(same_packets));
  const auto wav = extract(dir, input, {"-o", dir / "x.wav"});
  EXPECT_TRUE(decode_s16(wav.output) == decode_s16(same_packets));
}

// ---- Lossless outputs of lossy sources: the serial decode ------------------------------------

// 62 s: just over the 60 s from which segment mode engages on its own.
std::string long_voice(const std::string& name, const std::vector<std::string>& codec) {
  std::vector<std::string> a = {"-f", "lavfi", "-i", voice(48000, 62)};
  a.insert(a.end(), codec.begin(), codec.end());
  return fixture(name, a);
}

struct Lossy {
  const char* name;
  const char* file;   // the fixture's name
  const char* codec;  // ffmpeg's encoder
};
void PrintTo(const Lossy& l, std::ostream* os) { *os << l.name; }

class LossyToLossless : public ::testing::TestWithParam<Lossy> {};

TEST_P(LossyToLossless, WavAndFlacAreTheSerialDecode) {
  TempDir dir;
  const std::string input = long_voice(GetParam().file, {"-c:a", GetParam().codec});
  const auto wav = extract(dir, input, {"-o", dir / "x.wav", "-j", "4"});
  EXPECT_EQ(wav.json["segments"], 1) << "a lossy source's lossless output ran in segments";
  const auto expected = decode_s16_track(input);
  EXPECT_TRUE(decode_s16(wav.output) == expected) << "the WAV is not ffmpeg's decode";
  const auto flac = extract(dir, input, {"-o", dir / "x.flac", "-j", "4"});
  EXPECT_EQ(flac.json["segments"], 1);
  EXPECT_TRUE(decode_s16(flac.output) == expected) << "the FLAC is not ffmpeg's decode";
}

// FFmpeg's AAC encoder uses noise substitution, decoded from a random generator that runs
// from the first frame on.
INSTANTIATE_TEST_SUITE_P(Codecs, LossyToLossless,
                         ::testing::Values(Lossy{"aac_mp4", "lossy-62s-aac.mp4", "aac"},
                                           Lossy{"mp3", "lossy-62s.mp3", "libmp3lame"},
                                           Lossy{"opus", "lossy-62s-opus.mka", "libopus"},
                                           Lossy{"vorbis", "lossy-62s.ogg", "libvorbis"},
                                           Lossy{"ac3", "lossy-62s-ac3.mka", "ac3"},
                                           Lossy{"eac3", "lossy-62s-eac3.mp4", "eac3"},
                                           Lossy{"mp2", "lossy-62s-mp2.mka", "mp2"},
                                           Lossy{"wma", "lossy-62s.wma", "wmav2"}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(LosslessToLossless, StillRunsInSegments) {
  TempDir dir;
  const std::string input = long_voice("lossless-62s.mka", {"-c:a", "flac"});
  const auto wav = extract(dir, input, {"-o", dir / "x.wav", "-j", "4"});
  EXPECT_EQ(wav.json["segments"], 4);
  EXPECT_TRUE(decode_s16(wav.output) == decode_s16(input));
}

// ---- Copies keep the encoder delay -----------------------------------------------------------

class Delayed : public ::testing::TestWithParam<Source> {};

TEST_P(Delayed, AutoGoesWhereTheDelayIsKept) {
  TempDir dir;
  const std::string input = GetParam().make();
  const auto plan = peel({input, "-d", dir.path(), "--dry-run"});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_NE(plan.out.find("256-sample encoder delay"), std::string::npos) << plan.out;
  const auto o = extract(dir, input, {});
  EXPECT_TRUE(o.output.ends_with(".m4a")) << o.output;
  expect_copy_exact(input, o);
  // Into the raw format the plan says what is lost.
  const std::string codec = GetParam().name;
  const auto raw = peel({input, "-o", dir / ("x." + codec), "--dry-run"});
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  EXPECT_NE(raw.out.find("cannot state the 256-sample encoder delay"), std::string::npos)
      << raw.out;
  EXPECT_NE(raw.out.find("5.3 ms late"), std::string::npos) << raw.out;
}

std::string surround() {
  return "aevalsrc=exprs='0.1*sin(2*PI*200*t)|0.1*sin(2*PI*300*t)|0.1*sin(2*PI*400*t)|"
         "0.1*sin(2*PI*50*t)|0.1*sin(2*PI*500*t)|0.1*sin(2*PI*600*t)':s=48000:d=6:"
         "channel_layout=5.1";
}

INSTANTIATE_TEST_SUITE_P(
    Codecs, Delayed,
    ::testing::Values(Source{"eac3",
                             [] {
                               return fixture("delay-eac3.mp4",
                                              {"-f", "lavfi", "-i", kVideo, "-f", "lavfi", "-i",
                                               surround(), "-c:v", "libx264", "-preset",
                                               "ultrafast", "-c:a", "eac3", "-shortest"});
                             }},
                      Source{"ac3",
                             [] {
                               return av_fixture("delay-ac3.mp4", {"-c:a", "ac3"});
                             }}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Delayed, WithoutADelayTheRawFileStays) {
  TempDir dir;
  // Matroska made by ffmpeg states no delay for AC-3: nothing to keep.
  const std::string input = av_fixture("nodelay-ac3.mkv", {"-c:a", "ac3"});
  const auto o = extract(dir, input, {});
  EXPECT_TRUE(o.output.ends_with(".ac3")) << o.output;
  expect_copy_exact(input, o);
}

// ---- A whole-file transcode ends where the MP4 edit list ends --------------------------------

TEST(EditListEnd, EveryOutputOfTheWholeFileHasTheTracksLength) {
  TempDir dir;
  const std::string input = av_fixture("talk-20s.mp4", {"-c:a", "aac"}, 48000, 20);
  ASSERT_EQ(stated_samples(input), 960000);
  ASSERT_GT(decode_s16(input).size(), 960000u * 2) << "FFmpeg now applies the edit list's end";
  for (const char* ext : {"wav", "mp3", "flac", "opus", "ogg"}) {
    const auto o = extract(dir, input, {"-o", dir / (std::string("full.") + ext)});
    EXPECT_EQ(o.json["samples"], 960000) << ext;
    EXPECT_EQ(o.json["end"], 20.0) << ext;
    EXPECT_EQ(decode_s16(o.output).size(), 960000u * 2) << ext;
  }
  expect_wav_exact(dir, input);
  const auto m4a = extract(dir, input, {"-o", dir / "full.m4a"});
  EXPECT_EQ(stated_samples(m4a.output), 960000);
  const auto copy = extract(dir, input, {"-o", dir / "copy.m4a"});
  EXPECT_EQ(stated_samples(copy.output), 960000);
}

// ---- Cuts decode from a seek point, like ffmpeg -ss --------------------------------------------

class CutOf : public ::testing::TestWithParam<Source> {};

// Where the decoder keeps no noise state, a cut is the same slice of the whole decode.
TEST_P(CutOf, IsTheSliceOfTheWholeDecode) {
  TempDir dir;
  const std::string input = GetParam().make();
  const auto o = extract(dir, input, {"--from", "2", "--to", "5", "-o", dir / "cut.wav"});
  const auto whole = decode_s16(input);
  const auto cut = decode_s16(o.output);
  ASSERT_EQ(cut.size(), 3u * 48000 * 2);
  ASSERT_GE(whole.size(), 5u * 48000 * 2);
  const std::vector<int16_t> slice(whole.begin() + 2 * 48000 * 2, whole.begin() + 5 * 48000 * 2);
  size_t differ = 0;
  for (size_t i = 0; i < cut.size(); ++i) differ += cut[i] != slice[i] ? 1 : 0;
  EXPECT_EQ(differ, 0u) << "samples differ from ffmpeg's decode of the same slice";
}

INSTANTIATE_TEST_SUITE_P(
    Codecs, CutOf,
    ::testing::Values(Source{"aac_without_pns",
                             [] {
                               return av_fixture("cut-aac.mp4", {"-c:a", "aac", "-aac_pns", "0"});
                             }},
                      Source{"mp3",
                             [] {
                               return av_fixture("cut-mp3.mkv", {"-c:a", "libmp3lame"});
                             }},
                      Source{"opus",
                             [] {
                               return av_fixture("cut-opus.mkv", {"-c:a", "libopus"});
                             }},
                      Source{"vorbis",
                             [] {
                               return av_fixture("cut-vorbis.mkv", {"-c:a", "libvorbis"});
                             }},
                      Source{"ac3",
                             [] {
                               return av_fixture("cut-ac3.mkv", {"-c:a", "ac3"});
                             }},
                      Source{"flac",
                             [] {
                               return av_fixture("cut-flac.mkv", {"-c:a", "flac"});
                             }}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- More families, each copied and decoded whole --------------------------------------------

struct Family {
  const char* name;
  std::string (*make)();
  const char* ext;     // what auto writes it to
  bool copied = true;  // false: auto converts it, losslessly (big-endian PCM into WAV)
};
void PrintTo(const Family& f, std::ostream* os) { *os << f.name; }

class Families : public ::testing::TestWithParam<Family> {};

TEST_P(Families, CopyAndWavAreExact) {
  TempDir dir;
  const std::string input = GetParam().make();
  const auto o = extract(dir, input, {});
  EXPECT_TRUE(o.output.ends_with(GetParam().ext)) << o.output;
  if (GetParam().copied) {
    expect_copy_exact(input, o);
  } else {
    EXPECT_EQ(o.json["mode"], "transcode");
    EXPECT_TRUE(decode_s32(o.output) == decode_s32(input)) << "not the source's samples";
  }
  expect_wav_exact(dir, input);
}

// Audio that starts 2 s after the video.
std::string late_audio(const std::string& ext) {
  return fixture("fam-late." + ext, {"-f",      "lavfi",   "-i",        kVideo, "-itsoffset",
                                     "2",       "-f",      "lavfi",     "-i",   voice(48000, 6),
                                     "-map",    "0:v",     "-map",      "1:a",  "-c:v",
                                     "libx264", "-preset", "ultrafast", "-c:a", "aac"});
}

std::string lame_mp3() {
  return fixture("lame-8s.mp3", {"-f", "lavfi", "-i", voice(44100, 8), "-c:a", "libmp3lame"});
}

INSTANTIATE_TEST_SUITE_P(
    Containers, Families,
    ::testing::Values(
        Family{"mp3_in_mp4",
               [] {
                 return av_fixture("fam-mp3.mp4", {"-c:a", "libmp3lame"});
               },
               ".mp3"},
        Family{"mp3_remuxed_into_mp4",
               [] {
                 return fixture("fam-mp3-remux.mp4", {"-i", lame_mp3(), "-c", "copy"});
               },
               ".mp3"},
        Family{"aac_in_ts_with_a_pts_wrap",
               [] {
                 return av_fixture("fam-wrap.ts", {"-c:a", "aac", "-output_ts_offset", "95440"});
               },
               ".m4a"},
        Family{"opus_in_mp4",
               [] {
                 return av_fixture("fam-opus.mp4", {"-c:a", "libopus"});
               },
               ".opus"},
        Family{"flac_in_mp4",
               [] {
                 return av_fixture("fam-flac.mp4", {"-c:a", "flac", "-strict", "-2"});
               },
               ".flac"},
        Family{"alac_in_mov",
               [] {
                 return av_fixture("fam-alac.mov", {"-c:a", "alac"});
               },
               ".m4a"},
        Family{"pcm_s16be_in_mov",
               [] {
                 return av_fixture("fam-s16be.mov", {"-c:a", "pcm_s16be"});
               },
               ".wav", false},
        Family{"pcm_s24be_in_mov",
               [] {
                 return av_fixture("fam-s24be.mov", {"-c:a", "pcm_s24be"});
               },
               ".wav", false},
        Family{"pcm_u8_in_avi",
               [] {
                 return av_fixture("fam-u8.avi", {"-c:a", "pcm_u8"});
               },
               ".wav"},
        Family{"pcm_f32_in_avi",
               [] {
                 return av_fixture("fam-f32.avi", {"-c:a", "pcm_f32le"});
               },
               ".wav"},
        Family{"pcm_u8_in_mkv",
               [] {
                 return av_fixture("fam-u8.mkv", {"-c:a", "pcm_u8"});
               },
               ".wav"},
        Family{"pcm_f32_in_mkv",
               [] {
                 return av_fixture("fam-f32.mkv", {"-c:a", "pcm_f32le"});
               },
               ".wav"},
        Family{"amr_nb_in_3gp_by_gstreamer",
               [] {
                 return tool_fixture("fam-amr.3gp",
                                     {"gst-launch-1.0",
                                      "-q",
                                      "3gppmux",
                                      "name=m",
                                      "!",
                                      "filesink",
                                      "location={out}",
                                      "videotestsrc",
                                      "num-buffers=125",
                                      "!",
                                      "video/x-raw,width=176,height=144,framerate=25/1",
                                      "!",
                                      "x264enc",
                                      "speed-preset=ultrafast",
                                      "!",
                                      "m.",
                                      "audiotestsrc",
                                      "num-buffers=250",
                                      "samplesperbuffer=160",
                                      "wave=ticks",
                                      "!",
                                      "audio/x-raw,rate=8000,channels=1",
                                      "!",
                                      "amrnbenc",
                                      "!",
                                      "m."});
               },
               ".mka"},
        Family{"mp4_index_first",
               [] {
                 return av_fixture("fam-faststart.mp4", {"-c:a", "aac", "-movflags", "+faststart"});
               },
               ".m4a"},
        Family{"mp4_index_last",
               [] {
                 return av_fixture("fam-moov-last.mp4", {"-c:a", "aac"});
               },
               ".m4a"},
        Family{"mp4_audio_2s_after_video", [] { return late_audio("mp4"); }, ".m4a"},
        Family{"mkv_audio_2s_after_video", [] { return late_audio("mkv"); }, ".m4a"}),
    [](const auto& info) { return std::string(info.param.name); });

// The late audio starts 2 s into the file's timeline, and the whole-file outputs say so.
TEST(Families, LateAudioStartsTwoSecondsIn) {
  TempDir dir;
  for (const char* ext : {"mp4", "mkv"}) {
    const std::string input = late_audio(ext);
    const auto o = extract(dir, input, {"-o", dir / "late.wav"});
    // ffmpeg's -itsoffset keeps no edit list for the AAC priming: decoders play its frame,
    // from 1024 samples before 2 s.
    EXPECT_NEAR(o.json["start"].get<double>(), 2.0 - 512.0 / 48000, 512.0 / 48000 + 0.001) << ext;
  }
}

// MP3 in Matroska: mkvmerge keeps the LAME header frame, which makes a copy gapless (ffmpeg
// decodes the .mkv with its priming and padding; peel's .mp3 is the original's gapless decode).
TEST(Mp3InMatroska, WithALameHeaderTheCopyIsGapless) {
  TempDir dir;
  const std::string input =
      tool_fixture("fam-mp3-mkvmerge.mkv", {"mkvmerge", "-q", "-o", "{out}", lame_mp3()});
  const auto o = extract(dir, input, {});
  ASSERT_TRUE(o.output.ends_with(".mp3"));
  EXPECT_TRUE(decode_f32(o.output) == decode_f32(lame_mp3())) << "not the original's samples";
  EXPECT_GT(decode_f32(input).size(), decode_f32(o.output).size());
}

// Without the header (ffmpeg's Matroska muxer drops the encoder delay, keeping only the last
// block's end trim), the copy decodes as the source does, priming included; an .mp3 cannot
// state an end trim without a start delay of at least 529 samples, so it ends up to one frame
// later (docs/formats.md).
TEST(Mp3InMatroska, WithoutALameHeaderTheCopyDecodesAsTheSourceDoes) {
  TempDir dir;
  const std::string input = fixture("fam-mp3-remux.mkv", {"-i", lame_mp3(), "-c", "copy"});
  const auto o = extract(dir, input, {});
  const auto source = decode_f32(input);
  const auto got = decode_f32(o.output);
  ASSERT_GE(got.size(), source.size());
  EXPECT_LT(got.size() - source.size(), 1152u * 2);
  EXPECT_TRUE(std::equal(source.begin(), source.end(), got.begin()));
  expect_wav_exact(dir, input);
}

}  // namespace
}  // namespace peel::test
