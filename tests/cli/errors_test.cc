// Every bad input, provoked for real: the stable error code and exit code, a message that names
// the file and says what to do, and nothing left behind in the output folder — no output, no
// hidden temporary file. Damaged inputs are salvaged (exit 3, lost spans reported) unless
// --strict; Ctrl-C stops a run and cleans up.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/fixtures.h"
#include "support/support.h"

namespace peel::test {
namespace {

namespace fs = std::filesystem;

// The stable numbers of include/peel/error.h, spelled out: a renumbering must fail here.
constexpr int kUsage = 1001;
constexpr int kInputNotFound = 2001;
constexpr int kInputIsDirectory = 2002;
constexpr int kInputUnreadable = 2003;
constexpr int kInputEmpty = 2004;
constexpr int kUnsupportedFile = 4001;
constexpr int kNoAudio = 4003;
constexpr int kTrackNotFound = 4004;
constexpr int kBadRange = 4005;
constexpr int kCannotCopy = 4006;
constexpr int kTruncatedIndex = 4007;
constexpr int kDamagedInput = 4008;
constexpr int kBadOutputOption = 4009;
constexpr int kOutputExists = 5001;
constexpr int kOutputIsInput = 5002;
constexpr int kOutputUnwritable = 5003;
constexpr int kWriteFailed = 5004;
constexpr int kCancelled = 6001;

constexpr int kExitUsage = 1;
constexpr int kExitFailed = 2;
constexpr int kExitDamaged = 3;
constexpr int kExitInterrupted = 130;

// ---- Fixtures made for these tests ----------------------------------------------------------

// 10 s of H.264 (a keyframe every second, so Matroska starts a cluster every second and a
// demuxer can resync soon after damage) and a stereo 440 Hz AAC tone that never falls silent.
std::vector<std::string> ten_seconds() {
  return {"-f",      "lavfi",     "-i",   "testsrc=size=160x120:rate=25:duration=10",
          "-f",      "lavfi",     "-i",   "sine=frequency=440:sample_rate=48000:duration=10",
          "-ac",     "2",         "-c:v", "libx264",
          "-preset", "ultrafast", "-g",   "25",
          "-c:a",    "aac",       "-b:a", "128k"};
}
std::string mkv_ten_seconds() { return fixture("errors-10s.mkv", ten_seconds()); }
// The same with 16-bit PCM: it decodes packet by packet, so a FLAC of it runs in segments.
std::string mkv_ten_seconds_pcm() {
  auto args = ten_seconds();
  args.insert(args.end(), {"-c:a", "pcm_s16le"});
  return fixture("errors-10s-pcm.mkv", args);
}
std::string ts_ten_seconds() { return fixture("errors-10s.ts", ten_seconds()); }
std::string mp4_faststart() {
  auto args = ten_seconds();
  args.insert(args.end(), {"-movflags", "+faststart"});
  return fixture("errors-faststart.mp4", args);
}
// ffmpeg's default mp4: the index (moov) is written last, after the media data.
std::string mp4_index_last() { return fixture("errors-moov-last.mp4", ten_seconds()); }
// Audio only: peel's natural output name for it is its own name.
std::string m4a_song() {
  return fixture(
      "errors-song.m4a",
      {"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2", "-c:a", "aac"});
}

// ---- Helpers --------------------------------------------------------------------------------

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Deterministic noise: the same bytes every run, so a failure reproduces.
std::string noise(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen() & 0xff);
  return s;
}

// A copy of `src` at `dst` holding only its first `fraction` of bytes.
std::string truncated_copy(const std::string& src, const std::string& dst, double fraction) {
  const std::string bytes = read_bytes(src);
  write_bytes(dst,
              bytes.substr(0, static_cast<size_t>(static_cast<double>(bytes.size()) * fraction)));
  return dst;
}

// The top-level box types of an ISO-BMFF file, in file order.
std::vector<std::string> mp4_boxes(const std::string& path) {
  const std::string b = read_bytes(path);
  std::vector<std::string> types;
  for (size_t pos = 0; pos + 8 <= b.size();) {
    uint64_t size = 0;
    for (int i = 0; i < 4; ++i) size = (size << 8) | static_cast<unsigned char>(b[pos + i]);
    types.push_back(b.substr(pos + 4, 4));
    if (size == 1 && pos + 16 <= b.size()) {
      size = 0;
      for (int i = 8; i < 16; ++i) size = (size << 8) | static_cast<unsigned char>(b[pos + i]);
    }
    if (size < 8) break;
    pos += size;
  }
  return types;
}

void expect_mentions(const std::string& message, std::initializer_list<std::string> parts) {
  for (const auto& p : parts) {
    EXPECT_NE(message.find(p), std::string::npos) << "'" << p << "' missing from: " << message;
  }
}

// Nothing in the folder: no output, no hidden .NAME.peel-XXXXXX temporary file.
void expect_empty(const TempDir& dir) {
  EXPECT_EQ(dir.entries(), std::vector<std::string>{}) << "left behind in " << dir.path();
}

// Checks one failed JSON run: exit code, no outputs, one error with `code` and `name`.
// Returns the error's message ("" if there is none).
std::string check_failure(const RunResult& r, int exit_code, int code, const std::string& name) {
  EXPECT_EQ(r.exit_code, exit_code) << r.out << r.err;
  const auto j = json_of(r);
  if (!j.is_object() || !j.contains("errors")) return "";
  EXPECT_TRUE(j["outputs"].empty()) << j.dump(2);
  EXPECT_EQ(j["errors"].size(), 1u) << j.dump(2);
  if (j["errors"].empty()) return "";
  const auto& e = j["errors"][0];
  EXPECT_EQ(e["code"], code) << j.dump(2);
  EXPECT_EQ(e["name"], name) << j.dump(2);
  return e["message"].get<std::string>();
}

// Runs peel with `args` twice: with --json (checked as above) and as a person would (same
// exit code, the same message on stderr, nothing on stdout). Returns the message.
std::string expect_error(const std::vector<std::string>& args, int exit_code, int code,
                         const std::string& name) {
  auto with_json = args;
  with_json.push_back("--json");
  const std::string message = check_failure(peel(with_json), exit_code, code, name);
  EXPECT_FALSE(message.empty());
  const auto plain = peel(args);
  EXPECT_EQ(plain.exit_code, exit_code) << plain.err;
  EXPECT_NE(plain.err.find("peel: " + message), std::string::npos) << plain.err;
  EXPECT_EQ(plain.out, "");
  return message;
}

// ---- 1–4: inputs that are not there or not files --------------------------------------------

TEST(ErrorsInput, MissingFile) {
  TempDir in, out;
  const std::string path = in / "nope.mp4";
  const auto msg =
      expect_error({path, "-d", out.path()}, kExitFailed, kInputNotFound, "input_not_found");
  expect_mentions(msg, {path, "does not exist", "check the path"});
  expect_empty(out);
}

TEST(ErrorsInput, FolderGivenAsInput) {
  TempDir in, out;
  const std::string path = in / "holiday.mp4";
  fs::create_directory(path);
  const auto msg =
      expect_error({path, "-d", out.path()}, kExitFailed, kInputIsDirectory, "input_is_directory");
  expect_mentions(msg, {path, "is a folder", "name the video files inside it"});
  expect_empty(out);
}

TEST(ErrorsInput, UnreadableFile) {
  if (!can_drop_privileges()) GTEST_SKIP() << "running as root and setpriv cannot drop to nobody";
  TempDir in, out;
  // Only the file's own permission may stop the read: the folders are open to everyone.
  fs::permissions(in.path(), fs::perms::all);
  fs::permissions(out.path(), fs::perms::all);
  const std::string locked = in / "locked.mp4";
  const std::string open = in / "open.mp4";
  fs::copy_file(mp4_h264_aac(), locked);
  fs::copy_file(mp4_h264_aac(), open);
  fs::permissions(locked, fs::perms::none);
  fs::permissions(open, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);

  // The control: the same user reads the same bytes when they are readable.
  const auto ok = peel_unprivileged({open, "-o", out / "open.m4a"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  fs::remove(out / "open.m4a");

  const auto r = peel_unprivileged({locked, "-d", out.path(), "--json"});
  const auto msg = check_failure(r, kExitFailed, kInputUnreadable, "input_unreadable");
  expect_mentions(msg, {locked, "permission denied", "check the file's permissions"});
  const auto plain = peel_unprivileged({locked, "-d", out.path()});
  EXPECT_EQ(plain.exit_code, kExitFailed);
  EXPECT_NE(plain.err.find(msg), std::string::npos) << plain.err;
  expect_empty(out);
}

TEST(ErrorsInput, ZeroByteFile) {
  TempDir in, out;
  const std::string path = in / "download.mp4";
  write_bytes(path, "");
  const auto msg = expect_error({path, "-d", out.path()}, kExitFailed, kInputEmpty, "input_empty");
  expect_mentions(msg, {path, "empty", "still be copying or downloading"});
  expect_empty(out);
}

// ---- 5–8: files that are not media, or not the media asked for ------------------------------

TEST(ErrorsMedia, TextFileNamedMp4) {
  TempDir in, out;
  const std::string path = in / "notes.mp4";
  write_bytes(path, "These are my notes about the holiday video.\nNothing to see here.\n");
  const auto msg =
      expect_error({path, "-d", out.path()}, kExitFailed, kUnsupportedFile, "unsupported_file");
  expect_mentions(msg, {path, "not a media file", "is it really a video or audio file?"});
  expect_empty(out);
}

TEST(ErrorsMedia, RandomBytesNamedAvi) {
  TempDir in, out;
  const std::string path = in / "noise.avi";
  write_bytes(path, noise(256 * 1024, 1));
  const auto msg =
      expect_error({path, "-d", out.path()}, kExitFailed, kUnsupportedFile, "unsupported_file");
  expect_mentions(msg, {path, "not a media file"});
  expect_empty(out);
}

TEST(ErrorsMedia, VideoWithoutAudio) {
  TempDir out;
  const std::string input = mp4_video_only();
  const auto msg = expect_error({input, "-d", out.path()}, kExitFailed, kNoAudio, "no_audio");
  expect_mentions(msg, {input, "no audio track"});
  expect_empty(out);
}

TEST(ErrorsMedia, TrackThatDoesNotExistListsTheTracksThereAre) {
  TempDir out;
  const std::string input = mkv_two_tracks();
  const std::vector<std::vector<std::string>> selectors = {
      {"--track", "3"},
      {"--lang", "fre"},
      {"--title", "Director"},
      {"--lang", "eng", "--title", "Commentary"}};
  for (const auto& sel : selectors) {
    SCOPED_TRACE(sel[0] + " " + sel[1]);
    std::vector<std::string> args = {input, "-d", out.path()};
    args.insert(args.end(), sel.begin(), sel.end());
    const auto msg = expect_error(args, kExitFailed, kTrackNotFound, "track_not_found");
    expect_mentions(msg, {input, sel[1], "track 1", "eng", "Main", "track 2", "jpn", "Commentary"});
  }
  expect_empty(out);
}

// ---- 9–10: ranges and copies the file cannot give -------------------------------------------

TEST(ErrorsPlan, RangeStartingAfterTheEnd) {
  TempDir out;
  const std::string input = mp4_h264_aac();  // 6 s
  for (const char* mode : {"--copy", "--reencode"}) {
    SCOPED_TRACE(mode);
    const auto msg = expect_error({input, "--from", "10", mode, "-d", out.path()}, kExitFailed,
                                  kBadRange, "bad_range");
    expect_mentions(msg, {input, "0:10", "0:06"});
  }
  expect_empty(out);
}

TEST(ErrorsPlan, ToBeforeFrom) {
  TempDir out;
  const std::string input = mp4_h264_aac();
  auto msg = expect_error({input, "--from", "3", "--to", "2", "-d", out.path()}, kExitFailed,
                          kBadRange, "bad_range");
  expect_mentions(msg, {"--to", "--from", "0:02", "0:03"});
  msg = expect_error({input, "-ss", "3", "-to", "3", "-d", out.path()}, kExitFailed, kBadRange,
                     "bad_range");
  expect_mentions(msg, {"must be after"});
  expect_empty(out);
}

TEST(ErrorsPlan, CopyIntoAContainerThatCannotCarryTheCodec) {
  TempDir out;
  // Opus has no place in MP4 audio here; the message names the containers that take it.
  auto msg = expect_error({mkv_opus(), "--copy", "-o", out / "x.m4a"}, kExitFailed, kCannotCopy,
                          "cannot_copy");
  expect_mentions(msg, {"opus", ".m4a", "ogg", "mka", "re-encode"});
  msg = expect_error({mp4_h264_aac(), "--copy", "-o", out / "x.flac"}, kExitFailed, kCannotCopy,
                     "cannot_copy");
  expect_mentions(msg, {"aac", ".flac", "m4a", "mka", "re-encode"});
  msg = expect_error({mp4_h264_aac(), "--copy", "-f", "mp3", "-d", out.path()}, kExitFailed,
                     kCannotCopy, "cannot_copy");
  expect_mentions(msg, {"aac", ".mp3", "m4a"});
  expect_empty(out);
}

// ---- 11–13: outputs that must not or cannot be written --------------------------------------

TEST(ErrorsOutput, ExistingOutputIsKeptWithoutOverwriteAndReplacedWithIt) {
  TempDir out;
  const std::string target = out / "x.m4a";
  const std::string precious = "my own file, not audio\n" + noise(1000, 2);
  write_bytes(target, precious);
  const auto msg =
      expect_error({mp4_h264_aac(), "-o", target}, kExitFailed, kOutputExists, "output_exists");
  expect_mentions(msg, {target, "already exists", "-y"});
  EXPECT_EQ(read_bytes(target), precious) << "the existing file was touched";
  EXPECT_EQ(out.entries(), std::vector<std::string>{"x.m4a"});

  // A failing run with -y leaves the old file alone too: replacing happens only at the end.
  TempDir in;
  const std::string damaged = truncated_copy(mkv_ten_seconds(), in / "cut.mkv", 0.6);
  auto r = peel({damaged, "-o", target, "-y", "--strict", "--json"});
  check_failure(r, kExitFailed, kDamagedInput, "damaged_input");
  EXPECT_EQ(read_bytes(target), precious);
  EXPECT_EQ(out.entries(), std::vector<std::string>{"x.m4a"});

  r = peel({mp4_h264_aac(), "-o", target, "-y", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ffprobe(target)["streams"][0]["codec_name"], "aac");
  EXPECT_EQ(decode_f32(target).size(), decode_f32(mp4_h264_aac()).size());
  EXPECT_EQ(out.entries(), std::vector<std::string>{"x.m4a"});
}

TEST(ErrorsOutput, OutputThatIsTheInputThroughAnyName) {
  TempDir dir;
  const std::string input = dir / "film.mp4";
  fs::copy_file(mp4_h264_aac(), input);
  const std::string original = read_bytes(input);
  fs::create_symlink("film.mp4", dir / "soft.m4a");
  fs::create_hard_link(input, dir / "hard.m4a");
  const std::vector<std::string> before = dir.entries();

  const std::vector<std::vector<std::string>> cases = {
      {input, "-o", input, "-f", "m4a"},
      {input, "-o", input, "-f", "m4a", "-y"},
      {input, "-o", dir / "soft.m4a", "-y"},
      {input, "-o", dir / "hard.m4a", "-y"},
      {input, "-o", dir.path() + "/./film.mp4", "-f", "m4a", "-y"}};
  for (const auto& args : cases) {
    SCOPED_TRACE(args[2]);
    const auto msg = expect_error(args, kExitFailed, kOutputIsInput, "output_is_input");
    expect_mentions(msg, {args[2], "is the input file itself", "choose another name"});
    EXPECT_EQ(read_bytes(input), original) << "the input was changed";
    EXPECT_EQ(dir.entries(), before);
  }
  EXPECT_TRUE(fs::is_symlink(dir / "soft.m4a"));
  EXPECT_EQ(fs::hard_link_count(input), 2u);

  // An audio-only .m4a's natural output name is its own.
  const std::string song = dir / "song.m4a";
  fs::copy_file(m4a_song(), song);
  const std::string song_bytes = read_bytes(song);
  const auto msg = expect_error({song, "-y"}, kExitFailed, kOutputIsInput, "output_is_input");
  expect_mentions(msg, {song});
  EXPECT_EQ(read_bytes(song), song_bytes);
}

// A missing -d folder is no longer refused: it is created, for one input as for several
// (issue 9, point 6; tested in commands_test.cc). An -o path's folder must exist.
TEST(ErrorsOutput, FolderThatDoesNotExistOrIsAFile) {
  TempDir out;
  const std::string input = mp4_h264_aac();
  auto msg = expect_error({input, "-o", out / "missing/sub/x.m4a"}, kExitFailed, kOutputUnwritable,
                          "output_unwritable");
  expect_mentions(msg, {out / "missing/sub", "does not exist", "create it"});
  expect_empty(out);

  const std::string file = out / "notes.txt";
  write_bytes(file, "a file, not a folder\n");
  msg = expect_error({input, "-o", file + "/x.m4a"}, kExitFailed, kOutputUnwritable,
                     "output_unwritable");
  expect_mentions(msg, {file, "not a folder"});
  msg = expect_error({input, "-d", file}, kExitFailed, kOutputUnwritable, "output_unwritable");
  expect_mentions(msg, {file, "not a folder"});
  EXPECT_EQ(out.entries(), std::vector<std::string>{"notes.txt"});
  EXPECT_EQ(read_bytes(file), "a file, not a folder\n");
}

// -d into a folder that cannot be made: /proc takes no new folder, even from root.
TEST(ErrorsOutput, OutputFolderThatCannotBeCreated) {
  const auto msg = expect_error({mp4_h264_aac(), "-d", "/proc/peel-errors-test/sub"}, kExitFailed,
                                kOutputUnwritable, "output_unwritable");
  expect_mentions(msg, {"/proc/peel-errors-test/sub", "cannot create the output folder",
                        "choose a folder you can write to"});
  EXPECT_FALSE(fs::exists("/proc/peel-errors-test"));
}

// Issue 9, point 14: -o naming a folder is 5001 (as docs/errors.md says) with a message that
// says to name a file or use -d, not "cannot tell the format from the extension".
TEST(ErrorsOutput, OutputNamingAFolder) {
  TempDir out;
  const std::string folder = out / "audio";
  fs::create_directory(folder);
  for (const std::string& o : {folder, folder + "/"}) {
    SCOPED_TRACE(o);
    const auto msg =
        expect_error({mp4_h264_aac(), "-o", o}, kExitFailed, kOutputExists, "output_exists");
    expect_mentions(msg, {o, "is a folder", "name a file", "-d"});
    EXPECT_EQ(msg.find("extension"), std::string::npos) << msg;
  }
  // A name ending in '/' that is no folder yet means one: a usage error pointing to -d.
  const auto msg = expect_error({mp4_h264_aac(), "-o", out / "new/"}, kExitUsage, kUsage, "usage");
  expect_mentions(msg, {out / "new/", "-d"});
  EXPECT_EQ(out.entries(), std::vector<std::string>{"audio"});
  EXPECT_TRUE(fs::is_empty(folder));
}

TEST(ErrorsOutput, ReadOnlyFileSystems) {
  // /proc takes no new files, even from root, on every Linux.
  const std::string input = mp4_h264_aac();
  auto msg = expect_error({input, "-o", "/proc/peel-errors-test.m4a"}, kExitFailed,
                          kOutputUnwritable, "output_unwritable");
  expect_mentions(msg, {"/proc", "choose a folder you can write to"});
  EXPECT_FALSE(fs::exists("/proc/peel-errors-test.m4a"));

  TempDir out;
  const std::string ro = out / "ro";
  fs::create_directory(ro);
  Mount mount(ro, "ro,size=1m");
  if (!mount.mounted()) GTEST_SKIP() << "cannot mount a read-only tmpfs here";
  msg = expect_error({input, "-d", ro}, kExitFailed, kOutputUnwritable, "output_unwritable");
  expect_mentions(msg, {ro, "Read-only file system", "choose a folder you can write to"});
  EXPECT_TRUE(fs::is_empty(ro));
}

TEST(ErrorsOutput, DiskFullMidwayLeavesNothing) {
  TempDir out;
  const std::string small = out / "small";
  fs::create_directory(small);
  Mount mount(small, "size=64k");
  if (!mount.mounted()) GTEST_SKIP() << "cannot mount a small tmpfs here";
  // 10 s of 16-bit stereo WAV is 1.9 MB: the disk fills while writing.
  const auto msg = expect_error({mkv_ten_seconds(), "-o", small + "/x.wav"}, kExitFailed,
                                kWriteFailed, "write_failed");
  expect_mentions(msg, {small + "/x.wav", "disk is full", "free some space"});
  EXPECT_TRUE(fs::is_empty(small)) << "the partial temporary file was left behind";
}

// Segment mode writes temporary files beside the output (each segment's packets; FLAC also
// their samples): a disk that fills with them fails the same way and leaves nothing.
TEST(ErrorsOutput, DiskFullInSegmentModeLeavesNothing) {
  TempDir out;
  const std::string small = out / "small";
  fs::create_directory(small);
  Mount mount(small, "size=256k");
  if (!mount.mounted()) GTEST_SKIP() << "cannot mount a small tmpfs here";
  const auto msg = expect_error({mkv_ten_seconds_pcm(), "-o", small + "/x.flac", "--reencode",
                                 "--segment-parallel=on", "-j", "2"},
                                kExitFailed, kWriteFailed, "write_failed");
  expect_mentions(msg, {small + "/x.flac", "disk", "free some space"});
  EXPECT_TRUE(fs::is_empty(small)) << "a temporary file was left behind";
}

// ---- 14: option values peel cannot use ------------------------------------------------------

TEST(ErrorsOptions, MalformedValuesAreUsageErrors) {
  TempDir out;
  const std::string input = mp4_h264_aac();
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> mentions;
  };
  const std::vector<Case> cases = {
      {{"--from", "abc"}, {"'abc' is not a time", "1:30"}},
      {{"--to", "1:xx"}, {"'1:xx' is not a time"}},
      {{"-b", "loud"}, {"'loud' is not a bitrate", "192k"}},
      {{"-b", "-5k"}, {"is not a bitrate"}},
      {{"-f", "xyz"}, {"unknown format 'xyz'", "mp3", "flac", "wav"}},
      {{"--sample-rate", "5"}, {"'5' is not a sample rate", "48000"}},
      {{"--channels", "12"}, {"'12' is not a channel setting", "stereo"}},
      {{"--sample-format", "s99", "-f", "wav"}, {"unknown sample format 's99'", "s16", "s24"}},
      {{"--track", "0"}, {"--track counts from 1"}},
      {{"--copy", "--reencode"}, {"--copy and --reencode conflict"}},
      {{"--to", "3", "--duration", "1"}, {"--to or --duration"}},
      {{"--frobnicate"}, {"--frobnicate", "peel --help"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args[0] + " " + (c.args.size() > 1 ? c.args[1] : ""));
    std::vector<std::string> args = {input, "-d", out.path()};
    args.insert(args.end(), c.args.begin(), c.args.end());
    const auto msg = expect_error(args, kExitUsage, kUsage, "usage");
    for (const auto& m : c.mentions) expect_mentions(msg, {m});
  }
  expect_empty(out);
}

// Issue 9, point 7: a negative --from is 4005, as docs/errors.md says, not "not a time".
TEST(ErrorsPlan, NegativeStart) {
  TempDir out;
  for (const std::vector<std::string>& range :
       {std::vector<std::string>{"--from", "-1"}, std::vector<std::string>{"-ss", "-0:30"},
        std::vector<std::string>{"--from=-2.5s"}}) {
    SCOPED_TRACE(range[0]);
    std::vector<std::string> args = {mp4_h264_aac(), "-d", out.path()};
    args.insert(args.end(), range.begin(), range.end());
    const auto msg = expect_error(args, kExitFailed, kBadRange, "bad_range");
    expect_mentions(msg, {"--from", "cannot be negative", mp4_h264_aac()});
  }
  expect_empty(out);
}

// Issue 9, point 10: a bitrate the encoder cannot honour is 4009, not a quiet 320 kbit/s (the
// edges of every encoder are in bitrate_test.cc); -b with --quality is a usage error.
TEST(ErrorsOptions, BitrateOrQualityTheEncoderCannotHonour) {
  TempDir out;
  const std::string input = mp4_h264_aac();
  auto msg = expect_error({input, "-o", out / "a.mp3", "-b", "1.5M"}, kExitFailed, kBadOutputOption,
                          "bad_output_option");
  expect_mentions(msg, {"1500 kbit/s", "320 kbit/s", "-b"});
  msg = expect_error({input, "-o", out / "a.opus", "-b", "600k"}, kExitFailed, kBadOutputOption,
                     "bad_output_option");
  expect_mentions(msg, {"Opus", "600", "12 to 512 kbit/s"});
  msg = expect_error({input, "-o", out / "a.mp3", "--quality", "12"}, kExitFailed, kBadOutputOption,
                     "bad_output_option");
  expect_mentions(msg, {"--quality 12", "0 to 9.999"});
  msg = expect_error({input, "-o", out / "a.mka", "-b", "128k"}, kExitFailed, kBadOutputOption,
                     "bad_output_option");
  expect_mentions(msg, {"mka", "flac", "lossless"});
  msg = expect_error({input, "-o", out / "a.mp3", "-b", "128k", "--quality", "2"}, kExitUsage,
                     kUsage, "usage");
  expect_mentions(msg, {"--bitrate", "--quality", "not both"});
  expect_empty(out);
}

TEST(ErrorsOptions, OptionsTheFormatCannotHonour) {
  TempDir out;
  const std::string input = mp4_h264_aac();
  auto msg = expect_error({input, "-f", "mp3", "--sample-format", "s16", "-d", out.path()},
                          kExitFailed, kBadOutputOption, "bad_output_option");
  expect_mentions(msg, {"--sample-format", "wav, flac and pcm", "mp3"});
  msg = expect_error({input, "-f", "flac", "-b", "192k", "-d", out.path()}, kExitFailed,
                     kBadOutputOption, "bad_output_option");
  expect_mentions(msg, {"flac", "lossless"});
  msg = expect_error({input, "-f", "flac", "--sample-format", "f32", "-d", out.path()}, kExitFailed,
                     kBadOutputOption, "bad_output_option");
  expect_mentions(msg, {"flac", "f32", "wav"});
  msg = expect_error({input, "-f", "mp3", "--sample-rate", "96000", "-d", out.path()}, kExitFailed,
                     kBadOutputOption, "bad_output_option");
  expect_mentions(msg, {"96000", "44100"});
  expect_empty(out);
}

// ---- Dry runs refuse what runs refuse -------------------------------------------------------

// Runs `args` with --dry-run and without; both must fail alike (exit code and error code), and
// neither may leave anything in `out`. Returns the dry run's message.
std::string expect_dry_run_refuses_alike(const std::vector<std::string>& args, int exit_code,
                                         int code, const std::string& name) {
  auto dry = args;
  dry.push_back("--dry-run");
  const std::string dry_message = expect_error(dry, exit_code, code, name);
  const std::string run_message = expect_error(args, exit_code, code, name);
  EXPECT_EQ(dry_message, run_message);
  return dry_message;
}

// Issue 9, point 5: with talk.m4a already there, `peel talk.mp4 --dry-run` exited 0 and the run
// failed with 5001. Every refusal of the output that a run makes before writing, a dry run
// makes too, with the same code and words.
TEST(ErrorsDryRun, RefusesEveryOutputTheRunRefuses) {
  TempDir dir;
  const std::string talk = dir / "talk.mp4";
  fs::copy_file(mp4_h264_aac(), talk);
  write_bytes(dir / "talk.m4a", "already here\n");
  auto msg = expect_dry_run_refuses_alike({talk}, kExitFailed, kOutputExists, "output_exists");
  expect_mentions(msg, {dir / "talk.m4a", "already exists", "-y"});
  EXPECT_EQ(read_bytes(dir / "talk.m4a"), "already here\n");

  // The output is the input (an audio-only .m4a's natural name is its own), -y or not.
  const std::string song = dir / "song.m4a";
  fs::copy_file(m4a_song(), song);
  expect_dry_run_refuses_alike({song, "-y"}, kExitFailed, kOutputIsInput, "output_is_input");

  // The output folder is missing (-o), a file, or takes no files.
  TempDir out;
  expect_dry_run_refuses_alike({talk, "-o", out / "missing/x.m4a"}, kExitFailed, kOutputUnwritable,
                               "output_unwritable");
  write_bytes(out / "notes.txt", "a file\n");
  expect_dry_run_refuses_alike({talk, "-d", out / "notes.txt"}, kExitFailed, kOutputUnwritable,
                               "output_unwritable");
  msg = expect_dry_run_refuses_alike({talk, "-o", "/proc/peel-dry-run.m4a"}, kExitFailed,
                                     kOutputUnwritable, "output_unwritable");
  expect_mentions(msg, {"/proc", "choose a folder you can write to"});
  expect_dry_run_refuses_alike({talk, "-d", "/proc/peel-dry-run/sub"}, kExitFailed,
                               kOutputUnwritable, "output_unwritable");
  EXPECT_EQ(out.entries(), std::vector<std::string>{"notes.txt"});

  // And what the run would do, the dry run passes: -y over the existing output.
  const auto ok = peel({talk, "-y", "--dry-run", "--json"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_EQ(json_of(ok)["outputs"].size(), 1u);
}

// A folder without write permission: refused by the run, and by a dry run alike.
TEST(ErrorsDryRun, RefusesAFolderWithoutWritePermissionLikeTheRun) {
  if (!can_drop_privileges()) GTEST_SKIP() << "running as root and setpriv cannot drop to nobody";
  TempDir in, out;
  fs::permissions(in.path(), fs::perms::all);
  const std::string input = in / "film.mp4";
  fs::copy_file(mp4_h264_aac(), input);
  fs::permissions(input, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
  fs::permissions(out.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);
  for (const bool dry : {true, false}) {
    std::vector<std::string> args = {input, "-d", out.path(), "--json"};
    if (dry) args.push_back("--dry-run");
    const auto msg =
        check_failure(peel_unprivileged(args), kExitFailed, kOutputUnwritable, "output_unwritable");
    expect_mentions(msg, {out.path(), "Permission denied", "choose a folder you can write to"});
  }
  // A folder to be made below it is refused the same way.
  const auto msg =
      check_failure(peel_unprivileged({input, "-d", out / "new", "--json", "--dry-run"}),
                    kExitFailed, kOutputUnwritable, "output_unwritable");
  expect_mentions(msg, {out / "new", "cannot create the output folder", "Permission denied"});
  expect_empty(out);
}

TEST(ErrorsDryRun, ReadOnlyFileSystemIsRefusedLikeTheRun) {
  TempDir out;
  const std::string ro = out / "ro";
  fs::create_directory(ro);
  Mount mount(ro, "ro,size=1m");
  if (!mount.mounted()) GTEST_SKIP() << "cannot mount a read-only tmpfs here";
  const auto msg = expect_dry_run_refuses_alike({mp4_h264_aac(), "-d", ro}, kExitFailed,
                                                kOutputUnwritable, "output_unwritable");
  expect_mentions(msg, {ro, "Read-only file system"});
  EXPECT_TRUE(fs::is_empty(ro));
}

// ---- 15: damaged inputs ---------------------------------------------------------------------

struct Salvage {
  nlohmann::json output;  // outputs[0]
  double from = 0;        // first lost span
  double to = 0;
};

// Runs peel on a damaged input expecting exit 3 with lost spans, and the damage said in a
// warning with the span; with --strict, exit 2 / 4008 and nothing written.
Salvage expect_salvaged(const std::string& input, const TempDir& out, const std::string& name) {
  const std::string target = out / name;
  auto r = peel({input, "-o", target, "--json"});
  EXPECT_EQ(r.exit_code, kExitDamaged) << r.out << r.err;
  const auto j = json_of(r);
  EXPECT_TRUE(j["errors"].empty()) << j.dump(2);
  if (j["outputs"].size() != 1) {
    ADD_FAILURE() << j.dump(2);
    return {};
  }
  Salvage s{j["outputs"][0]};
  const auto& lost = s.output["lost"];
  EXPECT_FALSE(lost.empty()) << j.dump(2);
  if (lost.empty()) return s;
  s.from = lost[0]["from"];
  s.to = lost[0]["to"];
  EXPECT_LT(s.from, s.to);
  EXPECT_EQ(s.output["warnings"].size(), 1u);
  if (!s.output["warnings"].empty()) {
    expect_mentions(s.output["warnings"][0].get<std::string>(),
                    {input, "damaged", "lost at", "(the rest was kept)"});
  }
  EXPECT_EQ(out.entries(), std::vector<std::string>{name}) << "a temporary file was left";

  // Without --json a person sees the warning and the same exit code.
  fs::remove(target);
  r = peel({input, "-o", target});
  EXPECT_EQ(r.exit_code, kExitDamaged) << r.err;
  expect_mentions(r.err, {"peel: warning: ", input, "damaged"});

  // --strict refuses instead, and leaves nothing.
  fs::remove(target);
  const auto msg = check_failure(peel({input, "-o", target, "--strict", "--json"}), kExitFailed,
                                 kDamagedInput, "damaged_input");
  expect_mentions(msg, {input, "damaged", "audio is missing at", "drop --strict"});
  expect_empty(out);
  peel({input, "-o", target});  // leave the salvaged output for the caller to inspect
  return s;
}

// Seconds of audio in a file, as ffmpeg decodes it (stereo 48 kHz fixtures).
double decoded_seconds(const std::string& path) {
  return static_cast<double>(decode_s16(path).size()) / 2 / 48000;
}

class DamageTruncatedMkv : public ::testing::TestWithParam<const char*> {};

TEST_P(DamageTruncatedMkv, KeepsWhatDecodesAndReportsTheLostTail) {
  TempDir in, out;
  const std::string input = truncated_copy(mkv_ten_seconds(), in / "cut.mkv", 0.6);
  const std::string name = std::string("x.") + GetParam();
  const Salvage s = expect_salvaged(input, out, name);
  // The file was cut at 60 % of its bytes: roughly 6 s of its 10 s survive.
  EXPECT_GT(s.from, 4.5);
  EXPECT_LT(s.from, 7.5);
  EXPECT_NEAR(s.to, 10.0, 0.1) << "the lost tail runs to the declared end";
  EXPECT_EQ(s.output["lost"].size(), 1u);
  // What was kept is everything up to the damage, no more and no less.
  EXPECT_NEAR(decoded_seconds(out / name), s.from, 0.05);
  EXPECT_NEAR(s.output["end"].get<double>(), s.from, 0.05);
}

INSTANTIATE_TEST_SUITE_P(CopyAndTranscode, DamageTruncatedMkv, ::testing::Values("m4a", "wav"));

struct GarbageCase {
  const char* name;
  std::string (*source)();
  const char* ext;  // m4a: copy; wav: transcode
};

class DamageGarbage : public ::testing::TestWithParam<GarbageCase> {};

TEST_P(DamageGarbage, LosesOnlyAroundTheDamageAndKeepsTheAudioAfterIt) {
  const GarbageCase& c = GetParam();
  TempDir in, out;
  const std::string source = c.source();
  std::string bytes = read_bytes(source);
  const size_t at = bytes.size() / 2;
  const size_t length = 64 * 1024;
  ASSERT_LT(at + length, bytes.size());
  bytes.replace(at, length, noise(length, 3));
  const std::string input = in / ("garbage" + fs::path(source).extension().string());
  write_bytes(input, bytes);
  // Bytes are roughly proportional to time in these fixtures.
  const double duration = 10.0;
  const double damage_from = duration * static_cast<double>(at) / bytes.size();
  const double damage_to = duration * static_cast<double>(at + length) / bytes.size();

  const std::string name = std::string("x.") + c.ext;
  const Salvage s = expect_salvaged(input, out, name);
  EXPECT_EQ(s.output["lost"].size(), 1u) << s.output.dump(2);
  EXPECT_NEAR(s.from, damage_from, 1.0);
  EXPECT_NEAR(s.to, damage_to, 1.5);
  EXPECT_LT(s.to, 9.0) << "a demuxer resyncs after 64 KiB of garbage";
  // The timeline stays true: the output still ends where the source does.
  EXPECT_NEAR(s.output["end"].get<double>(), duration, 0.1);

  const std::string target = out / name;
  if (std::string(c.ext) == "wav") {
    // The hole is silence, and the tone is back after it, at its true time.
    const auto pcm = decode_s16(target);
    ASSERT_NEAR(static_cast<double>(pcm.size()) / 2 / 48000, duration, 0.1);
    auto peak = [&](double a, double b) {
      int peak = 0;
      for (auto i = static_cast<size_t>(a * 48000) * 2; i < static_cast<size_t>(b * 48000) * 2;
           ++i) {
        peak = std::max(peak, std::abs(static_cast<int>(pcm[i])));
      }
      return peak;
    };
    const double mid = (s.from + s.to) / 2;
    EXPECT_EQ(peak(mid - 0.05, mid + 0.05), 0) << "the lost span is not silent";
    EXPECT_GT(peak(s.to + 0.1, s.to + 0.5), 1000) << "no audio after the damage";
    EXPECT_GT(peak(s.from - 0.5, s.from - 0.1), 1000) << "no audio before the damage";
  } else {
    // A copy keeps the gap in its timestamps; what decodes is all but the lost span.
    EXPECT_NEAR(std::stod(ffprobe(target)["format"]["duration"].get<std::string>()), duration, 0.1);
    EXPECT_NEAR(decoded_seconds(target), duration - (s.to - s.from), 0.1);
    // And the JSON counts the samples that are there, not the span with its hole.
    EXPECT_NEAR(s.output["samples"].get<double>() / 48000, decoded_seconds(target), 0.1);
  }
}

INSTANTIATE_TEST_SUITE_P(CopyAndTranscode, DamageGarbage,
                         ::testing::Values(GarbageCase{"ts_copy", ts_ten_seconds, "m4a"},
                                           GarbageCase{"ts_transcode", ts_ten_seconds, "wav"},
                                           GarbageCase{"mkv_copy", mkv_ten_seconds, "m4a"},
                                           GarbageCase{"mkv_transcode", mkv_ten_seconds, "wav"}),
                         [](const auto& info) { return std::string(info.param.name); });

void PrintTo(const GarbageCase& c, std::ostream* os) { *os << c.name; }

class DamageOutsideTheRange : public ::testing::TestWithParam<GarbageCase> {};

TEST_P(DamageOutsideTheRange, CountsOnlyWhereTheRangeMeetsTheDamage) {
  const GarbageCase& c = GetParam();
  TempDir in, out;
  std::string bytes = read_bytes(c.source());
  const size_t at = bytes.size() / 2;  // about 5 s in; the damage ends before 7.5 s
  bytes.replace(at, 64 * 1024, noise(64 * 1024, 3));
  const std::string input = in / ("garbage" + fs::path(c.source()).extension().string());
  write_bytes(input, bytes);
  const std::string target = out / (std::string("x.") + c.ext);
  const std::string mode = std::string(c.ext) == "wav" ? "--reencode" : "--copy";

  // Ranges that stay clear of the damage are whole: exit 0, nothing lost, even with --strict.
  for (const std::vector<std::string>& range :
       {std::vector<std::string>{"--from", "8"}, std::vector<std::string>{"--to", "4"},
        std::vector<std::string>{"--from", "1", "--to", "4", "--strict"}}) {
    SCOPED_TRACE(range[0] + " " + range[1]);
    std::vector<std::string> args = {input, mode, "-o", target, "-y", "--json"};
    args.insert(args.end(), range.begin(), range.end());
    const auto r = peel(args);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    const auto j = json_of(r);
    ASSERT_EQ(j["outputs"].size(), 1u) << j.dump(2);
    EXPECT_TRUE(j["outputs"][0]["lost"].empty()) << j.dump(2);
    EXPECT_TRUE(j["outputs"][0]["warnings"].empty()) << j.dump(2);
  }

  // A range across the damage reports it, within the range.
  const auto r = peel({input, mode, "--from", "3", "--to", "9", "-o", target, "-y", "--json"});
  EXPECT_EQ(r.exit_code, kExitDamaged) << r.out << r.err;
  const auto j = json_of(r);
  ASSERT_EQ(j["outputs"].size(), 1u) << j.dump(2);
  const auto& lost = j["outputs"][0]["lost"];
  ASSERT_EQ(lost.size(), 1u) << j.dump(2);
  EXPECT_GT(lost[0]["from"].get<double>(), 3.5);
  EXPECT_LT(lost[0]["to"].get<double>(), 8.5);
  EXPECT_EQ(out.entries(), std::vector<std::string>{fs::path(target).filename()});
}

INSTANTIATE_TEST_SUITE_P(CopyAndTranscode, DamageOutsideTheRange,
                         ::testing::Values(GarbageCase{"ts_copy", ts_ten_seconds, "m4a"},
                                           GarbageCase{"ts_transcode", ts_ten_seconds, "wav"},
                                           GarbageCase{"mkv_copy", mkv_ten_seconds, "m4a"},
                                           GarbageCase{"mkv_transcode", mkv_ten_seconds, "wav"}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(DamageMp4, CutBeforeItsIndexSaysSoAndWritesNothing) {
  const std::string source = mp4_index_last();
  const auto boxes = mp4_boxes(source);
  const auto moov = std::find(boxes.begin(), boxes.end(), "moov");
  const auto mdat = std::find(boxes.begin(), boxes.end(), "mdat");
  ASSERT_TRUE(moov != boxes.end() && mdat != boxes.end() && moov > mdat)
      << "the fixture must have its index after the media data";
  TempDir in, out;
  const std::string input = truncated_copy(source, in / "cut.mp4", 0.6);
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{"-d", out.path()}, std::vector<std::string>{"-o", out / "x.wav"},
        std::vector<std::string>{"-o", out / "x.m4a", "--copy", "--strict"}}) {
    SCOPED_TRACE(extra[1]);
    std::vector<std::string> args = {input};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto msg = expect_error(args, kExitFailed, kTruncatedIndex, "truncated_index");
    expect_mentions(msg, {input, "cut off before its index", "moov",
                          "re-copy or re-download the complete file"});
  }
  expect_empty(out);
  // `peel probe` says the same.
  const auto r = peel({"probe", input, "--json"});
  EXPECT_EQ(r.exit_code, kExitFailed);
  EXPECT_NE(r.out.find(std::to_string(kTruncatedIndex)), std::string::npos) << r.out;
}

TEST(DamageMp4, CutAfterItsIndexIsSalvagedLikeAnyOther) {
  const std::string source = mp4_faststart();
  const auto boxes = mp4_boxes(source);
  ASSERT_TRUE(std::find(boxes.begin(), boxes.end(), "moov") <
              std::find(boxes.begin(), boxes.end(), "mdat"));
  TempDir in, out;
  const std::string input = truncated_copy(source, in / "cut.mp4", 0.6);
  for (const char* name : {"x.m4a", "x.wav"}) {
    SCOPED_TRACE(name);
    const Salvage s = expect_salvaged(input, out, name);
    EXPECT_GT(s.from, 4.5);
    EXPECT_LT(s.from, 7.5);
    EXPECT_NEAR(s.to, 10.0, 0.1);
    EXPECT_NEAR(decoded_seconds(out / name), s.from, 0.05);
    fs::remove(out / name);
  }
}

// ---- 16: Ctrl-C -----------------------------------------------------------------------------

// Starts peel, waits until it is writing (its temporary file exists) and at least `delay` has
// passed, sends SIGINT while it is stopped there (stop_when()); returns the exit code and
// stdout.
RunResult interrupt_peel(const std::vector<std::string>& args, const TempDir& out,
                         std::chrono::milliseconds delay) {
  Child child(args);
  const auto started = std::chrono::steady_clock::now();
  const bool writing = stop_when(child, [&] {
    return std::chrono::steady_clock::now() - started >= delay && !out.entries().empty();
  });
  EXPECT_TRUE(writing) << "peel finished before it could be interrupted";
  child.signal(SIGINT);
  child.resume();
  const RunResult result = child.wait();
  EXPECT_EQ(result.signal, 0) << "peel died of a signal instead of exiting";
  return result;
}

TEST(Interrupt, CtrlCStopsTheRunAndLeavesNothing) {
  const std::string input = mkv_five_minutes();
  TempDir out;
  const std::string target = out / "long.mp3";
  auto r = interrupt_peel({input, "--reencode", "-o", target, "--json"}, out,
                          std::chrono::milliseconds(300));
  const auto msg = check_failure(r, kExitInterrupted, kCancelled, "cancelled");
  expect_mentions(msg, {"cancelled", target, "nothing was left behind"});
  expect_empty(out);

  // As a person runs it: the same exit code and the same words on stderr.
  r = interrupt_peel({input, "-f", "mp3", "-d", out.path()}, out, std::chrono::milliseconds(300));
  EXPECT_EQ(r.exit_code, kExitInterrupted);
  expect_mentions(r.err, {"peel: cancelled while writing", "nothing was left behind"});
  expect_empty(out);
}

}  // namespace
}  // namespace peel::test
