// Reading inputs: the read-ahead that follows the sample index (src/av/file_reader.cc) must
// hand the demuxer exactly the file's bytes, whatever the layout, and read each run of
// adjacent audio samples at once without the video between runs. Counted with strace, as
// bench/single.sh does.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "support/support.h"

namespace peel::test {
namespace {

namespace fs = std::filesystem;

constexpr int kSeconds = 40;
constexpr int kRate = 48000;
// A bound on the reads that are not the audio's own: the header and the probe's buffered reads.
constexpr int64_t kOtherReads = 32;

// Rising tones: no two stretches of the signal are alike, so a misplaced byte range shows.
const std::string kTones =
    "aevalsrc=exprs='0.3*sin(2*PI*(200+5*t)*t)|0.3*sin(2*PI*(300+7*t)*t)':s=48000:d=" +
    std::to_string(kSeconds);

// Video that outweighs the audio about six to one, so reading it would show in the bytes.
std::vector<std::string> with_video(const std::vector<std::string>& output_args) {
  std::vector<std::string> a = {
      "-f",      "lavfi",
      "-i",      "testsrc2=size=320x240:rate=25:duration=" + std::to_string(kSeconds),
      "-f",      "lavfi",
      "-i",      kTones,
      "-map",    "0:v",
      "-map",    "1:a",
      "-c:v",    "libx264",
      "-preset", "ultrafast",
      "-qp",     "18",
      "-g",      "25"};
  a.insert(a.end(), output_args.begin(), output_args.end());
  return a;
}

const std::vector<std::string> kAac = {"-c:a", "aac", "-b:a", "128k"};

std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// ffmpeg's muxers interleave audio and video by time: audio runs of one or two packets.
std::string mp4_tight() {
  return fixture("io-tight.mp4",
                 with_video(kAac + std::vector<std::string>{"-movflags", "+faststart"}));
}
std::string mp4_moov_last() { return fixture("io-moov-last.mp4", with_video(kAac)); }
std::string mov_tight() { return fixture("io-tight.mov", with_video(kAac)); }
std::string gp3_tight() { return fixture("io-tight.3gp", with_video(kAac)); }
std::string m4v_tight() {
  return fixture("io-tight.m4v", with_video(kAac + std::vector<std::string>{"-f", "ipod"}));
}
// One fragment a second: the index grows as the file is read.
std::string mp4_fragmented() {
  return fixture(
      "io-fragmented.mp4",
      with_video(kAac + std::vector<std::string>{"-movflags", "frag_keyframe+empty_moov"}));
}
// Audio only: the whole of the audio is one run of adjacent samples, 7.7 MB.
std::string mov_pcm_one_run() {
  return fixture("io-pcm.mov",
                 {"-f", "lavfi", "-i", kTones, "-c:a", "pcm_s16le", "-movflags", "+faststart"});
}
std::string m4a_one_run() {
  return fixture("io-audio.m4a", {"-f", "lavfi", "-i", kTones, "-c:a", "aac"});
}
std::string avi_pcm() { return fixture("io.avi", with_video({"-c:a", "pcm_s16le"})); }
std::string mkv_aac() { return fixture("io.mkv", with_video(kAac)); }
// Two AAC tracks beside the video, each interleaved with the other.
std::string mp4_two_tracks() {
  return fixture(
      "io-two-tracks.mp4",
      {"-f",      "lavfi",     "-i",        "testsrc2=size=320x240:rate=25:duration=20",
       "-f",      "lavfi",     "-i",        "sine=frequency=440:sample_rate=48000:duration=20",
       "-f",      "lavfi",     "-i",        "sine=frequency=1000:sample_rate=44100:duration=20",
       "-map",    "0:v",       "-map",      "1:a",
       "-map",    "2:a",       "-c:v",      "libx264",
       "-preset", "ultrafast", "-qp",       "18",
       "-c:a",    "aac",       "-movflags", "+faststart"});
}

bool is_pcm(const std::string& path, int track = 0) {
  int n = 0;
  const auto probe = ffprobe(path);
  for (const auto& s : probe["streams"]) {
    if (s["codec_type"] != "audio") continue;
    if (n++ == track) return s["codec_name"].get<std::string>().starts_with("pcm_");
  }
  return false;
}

// The audio packets of a track as ffmpeg demuxes them: "size hash", in order. Timestamps are
// left out: containers count time in different units.
std::vector<std::string> packets(const std::string& path, int track = 0) {
  const auto r = run({"ffmpeg", "-v", "error", "-i", path, "-map", "0:a:" + std::to_string(track),
                      "-c", "copy", "-f", "framemd5", "-"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    std::istringstream cols(line);
    for (std::string f; std::getline(cols, f, ',');) {
      f.erase(0, f.find_first_not_of(' '));
      fields.push_back(f);
    }
    if (fields.size() >= 2) out.push_back(fields[fields.size() - 2] + " " + fields.back());
  }
  return out;
}

// Where the packets of `part` lie, one after another, in `whole`; nullopt if they do not.
std::optional<size_t> position_in(const std::vector<std::string>& part,
                                  const std::vector<std::string>& whole) {
  if (part.empty()) return std::nullopt;
  const auto at = std::search(whole.begin(), whole.end(), part.begin(), part.end());
  if (at == whole.end()) return std::nullopt;
  return static_cast<size_t>(at - whole.begin());
}

std::string natural_ext(const std::string& input) { return is_pcm(input) ? ".wav" : ".m4a"; }

struct Layout {
  const char* name;
  std::string (*input)();
};

void PrintTo(const Layout& l, std::ostream* os) { *os << l.name; }

const auto kLayouts = ::testing::Values(
    Layout{"mp4_tight", mp4_tight}, Layout{"mp4_moov_last", mp4_moov_last},
    Layout{"mov_tight", mov_tight}, Layout{"gp3_tight", gp3_tight}, Layout{"m4v_tight", m4v_tight},
    Layout{"mp4_fragmented", mp4_fragmented}, Layout{"mov_pcm_one_run", mov_pcm_one_run},
    Layout{"m4a_one_run", m4a_one_run}, Layout{"avi_pcm", avi_pcm}, Layout{"mkv_aac", mkv_aac});

const auto kLayoutName = [](const auto& info) { return std::string(info.param.name); };

class ReadAhead : public ::testing::TestWithParam<Layout> {};

TEST_P(ReadAhead, WholeCopyIsTheSourceTrackExactly) {
  const std::string input = GetParam().input();
  TempDir dir;
  const std::string out = dir / ("whole" + natural_ext(input));
  const auto r = peel({input, "--copy", "-o", out, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(json_of(r)["outputs"][0]["lost"].empty()) << r.out;
  const auto expected = decode_f32(input);
  ASSERT_FALSE(expected.empty());
  EXPECT_TRUE(decode_f32(out) == expected) << "decoded PCM differs from the source";
  if (!is_pcm(input)) {
    EXPECT_EQ(packets(out), packets(input)) << "packets differ from the source";
  }
}

TEST_P(ReadAhead, CutsCarryExactlyTheSourcePacketsOfTheRange) {
  const std::string input = GetParam().input();
  const bool pcm = is_pcm(input);
  const auto source_packets = pcm ? std::vector<std::string>{} : packets(input);
  const auto source_pcm = pcm ? decode_s16(input) : std::vector<int16_t>{};
  TempDir dir;
  // One range in the middle, reached by a seek; one that runs to the end.
  for (const auto& range : {std::vector<std::string>{"--from", "12.3", "--to", "27.9"},
                            std::vector<std::string>{"--from", "36"}}) {
    SCOPED_TRACE(range[0] + " " + range[1]);
    const std::string out = dir / ("cut" + natural_ext(input));
    auto args = std::vector<std::string>{input, "--copy", "-o", out, "-y", "--json"} + range;
    const auto r = peel(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto o = json_of(r)["outputs"][0];
    const double start = o["start"], end = o["end"];
    const double from = std::stod(range[1]);
    const double to = range.size() > 2 ? std::stod(range[3]) : kSeconds;
    EXPECT_LE(start, from);
    EXPECT_GT(start, from - 0.1);
    EXPECT_GE(end, to - 0.03);
    EXPECT_LT(end, to + 0.1);
    if (pcm) {
      // The source's own samples from where the JSON says the cut starts (it says so to the
      // millisecond), as many as it says.
      const auto got = decode_s16(out);
      ASSERT_EQ(static_cast<int64_t>(got.size()), o["samples"].get<int64_t>() * 2);
      bool found = false;
      for (int64_t frame = std::llround(start * kRate) - kRate / 1000;
           !found && frame <= std::llround(start * kRate) + kRate / 1000; ++frame) {
        const auto first = static_cast<size_t>(frame) * 2;
        found = first + got.size() <= source_pcm.size() &&
                std::equal(got.begin(), got.end(), source_pcm.begin() + first);
      }
      EXPECT_TRUE(found) << "the cut is not the source's samples from its start";
    } else {
      // Whole packets of the source, one after another, as many as the span holds.
      const auto got = packets(out);
      EXPECT_TRUE(position_in(got, source_packets).has_value())
          << "the cut's packets are not a run of the source's";
      EXPECT_NEAR(static_cast<double>(got.size()), (end - start) * kRate / 1024, 1.5);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, ReadAhead, kLayouts, kLayoutName);

TEST(ReadAheadTracks, EachOfTwoInterleavedTracksIsItselfExactly) {
  const std::string input = mp4_two_tracks();
  TempDir dir;
  for (int track : {1, 2}) {
    SCOPED_TRACE(track);
    const std::string out = dir / ("track" + std::to_string(track) + ".m4a");
    const auto r = peel({input, "--copy", "--track", std::to_string(track), "-o", out});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(packets(out), packets(input, track - 1));
    EXPECT_TRUE(decode_f32(out) == decode_f32(input, track - 1));
  }
}

// Several readers of one file at once, each seeking into the middle of the one run.
TEST(ReadAheadSegments, ParallelSegmentsOfOneRunAreTheSourceSamples) {
  const std::string input = mov_pcm_one_run();
  TempDir dir;
  const std::string out = dir / "par.flac";
  const auto r =
      peel({input, "--reencode", "--segment-parallel", "on", "-j", "4", "-o", out, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(json_of(r)["outputs"][0]["segments"].get<int>(), 1) << r.out;
  EXPECT_TRUE(decode_s16(out) == decode_s16(input));
}

// ---- how the input is read, as strace sees it --------------------------------------------

struct Reads {
  int64_t calls = 0;
  int64_t bytes = 0;
};

// The read system calls peel makes on `input` (every process and thread), or nullopt where
// strace cannot run here.
std::optional<Reads> reads_of(const std::string& input, const std::vector<std::string>& args) {
  TempDir logs;
  // LeakSanitizer cannot run under ptrace; the sanitizer build's other checks still do.
  const char* asan = std::getenv("ASAN_OPTIONS");
  const std::string asan_options =
      std::string(asan != nullptr ? asan : "") + (asan != nullptr ? ":" : "") + "detect_leaks=0";
  std::vector<std::string> argv = {"strace", "-ff",
                                   "-qq",    "-s",
                                   "0",      "-y",
                                   "-e",     "signal=none",
                                   "-e",     "trace=read,pread64,readv,preadv",
                                   "-E",     "ASAN_OPTIONS=" + asan_options,
                                   "-o",     logs / "log",
                                   peel()};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto r = run(argv);
  if (r.exit_code < 0 || r.err.find("ptrace") != std::string::npos) return std::nullopt;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // strace -y names the file behind each descriptor: "pread64(3</the/input>, ...) = 344".
  const std::string path = "<" + fs::canonical(input).string() + ">";
  Reads reads;
  for (const auto& name : logs.entries()) {
    std::ifstream log(logs / name);
    for (std::string line; std::getline(log, line);) {
      const auto fd = line.find('(');
      if (fd == std::string::npos) continue;
      const auto name = line.find_first_not_of("0123456789", fd + 1);
      if (name == std::string::npos || line.compare(name, path.size(), path) != 0) continue;
      const auto eq = line.rfind(" = ");
      if (eq == std::string::npos) continue;
      const int64_t n = std::stoll(line.substr(eq + 3));
      if (n <= 0) continue;
      ++reads.calls;
      reads.bytes += n;
    }
  }
  return reads;
}

struct AudioLayout {
  int64_t packets = 0;
  int64_t runs = 0;  // groups of packets each starting where the previous one ends
  int64_t bytes = 0;
};

AudioLayout audio_layout(const std::string& path) {
  const auto r = run({"ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
                      "packet=pos,size", "-of", "json", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  AudioLayout l;
  int64_t end = -1;
  const auto probe = nlohmann::json::parse(r.out);
  for (const auto& p : probe["packets"]) {
    const int64_t pos = std::stoll(p["pos"].get<std::string>());
    const int64_t size = std::stoll(p["size"].get<std::string>());
    if (pos != end) ++l.runs;
    end = pos + size;
    ++l.packets;
    l.bytes += size;
  }
  return l;
}

TEST(ReadCalls, OneReadPerRunOfAudioAndNoneOfTheVideoBetween) {
  for (auto input : {mp4_tight(), mov_tight(), gp3_tight(), mp4_moov_last()}) {
    SCOPED_TRACE(input);
    TempDir dir;
    const auto reads = reads_of(input, {input, "--copy", "-o", dir / "x.m4a"});
    if (!reads) GTEST_SKIP() << "strace cannot trace here";
    const auto layout = audio_layout(input);
    ASSERT_GT(layout.packets, 1500);
    EXPECT_LT(layout.runs, layout.packets * 3 / 4) << "the fixture has no runs to read at once";
    EXPECT_LE(reads->calls, layout.runs + kOtherReads)
        << layout.packets << " packets in " << layout.runs << " runs";
    // The audio, the header and what the probe reads through, but not the video.
    const auto file = static_cast<int64_t>(fs::file_size(input));
    EXPECT_LT(reads->bytes, file / 3) << layout.bytes << " bytes of audio in a file of " << file;
  }
}

TEST(ReadCalls, OneRunOfAudioIsReadInPiecesOfTheReadAhead) {
  for (auto input : {mov_pcm_one_run(), m4a_one_run()}) {
    SCOPED_TRACE(input);
    TempDir dir;
    const auto reads = reads_of(input, {input, "--copy", "-o", dir / ("x" + natural_ext(input))});
    if (!reads) GTEST_SKIP() << "strace cannot trace here";
    const auto layout = audio_layout(input);
    EXPECT_EQ(layout.runs, 1);
    // 1 MiB at a time (FileReader::kReadAhead).
    EXPECT_LE(reads->calls, layout.bytes / (1 << 20) + 1 + kOtherReads)
        << layout.packets << " packets";
    EXPECT_LT(reads->calls, layout.packets / 10);
  }
}

// The read-ahead starts after probing: `peel probe` of a file that is one run of audio reads
// the header and the few packets the probe looks at, not a read-ahead's worth (1 MiB).
TEST(ReadCalls, ProbingReadsNoMoreThanTheProbeNeeds) {
  for (auto input : {mov_pcm_one_run(), m4a_one_run()}) {
    SCOPED_TRACE(input);
    const auto reads = reads_of(input, {"probe", input});
    if (!reads) GTEST_SKIP() << "strace cannot trace here";
    EXPECT_LE(reads->bytes, 256 * 1024);
  }
}

// ---- damage: the index promises more than the file holds -----------------------------------

std::string truncated(const std::string& src, const std::string& dst, double fraction) {
  std::ifstream in(src, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(dst, std::ios::binary | std::ios::trunc)
      << bytes.substr(0, static_cast<size_t>(static_cast<double>(bytes.size()) * fraction));
  return dst;
}

TEST(ReadAheadDamage, FileCutInsideARunKeepsEverySampleBeforeTheCut) {
  TempDir in, dir;
  const std::string source = mov_pcm_one_run();
  const std::string input = truncated(source, in / "cut.mov", 0.6);
  const std::string out = dir / "x.wav";
  const auto r = peel({input, "-o", out, "--json"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;  // damaged, the rest kept
  const auto o = json_of(r)["outputs"][0];
  ASSERT_EQ(o["lost"].size(), 1u) << o.dump(2);
  const double from = o["lost"][0]["from"], to = o["lost"][0]["to"];
  EXPECT_NEAR(from, 0.6 * kSeconds, 0.5);
  EXPECT_NEAR(to, kSeconds, 0.1);
  // Everything before the cut, exactly: the whole packets the file still holds.
  const auto got = decode_s16(out);
  const auto whole = decode_s16(source);
  EXPECT_NEAR(static_cast<double>(got.size()) / 2 / kRate, from, 0.05);
  ASSERT_LE(got.size(), whole.size());
  EXPECT_TRUE(std::equal(got.begin(), got.end(), whole.begin()));
  // --strict refuses it.
  EXPECT_EQ(peel({input, "-o", dir / "y.wav", "--strict"}).exit_code, 2);
}

TEST(ReadAheadDamage, InterleavedFileCutMidwayKeepsThePacketsBeforeTheCut) {
  TempDir in, dir;
  const std::string source = mp4_tight();
  const std::string input = truncated(source, in / "cut.mp4", 0.6);
  const std::string out = dir / "x.m4a";
  const auto r = peel({input, "--copy", "-o", out, "--json"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  const auto o = json_of(r)["outputs"][0];
  ASSERT_EQ(o["lost"].size(), 1u) << o.dump(2);
  EXPECT_NEAR(o["lost"][0]["to"].get<double>(), kSeconds, 0.1);
  const auto got = packets(out);
  const auto whole = packets(source);
  EXPECT_EQ(position_in(got, whole), std::optional<size_t>(0)) << "not the source's first packets";
  EXPECT_NEAR(static_cast<double>(got.size()) * 1024 / kRate, o["lost"][0]["from"].get<double>(),
              0.05);
}

}  // namespace
}  // namespace peel::test
