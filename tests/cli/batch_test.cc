// Batch mode: many inputs in one process, folders and globs, mirroring, collisions, resume,
// failures that do not stop the others, Ctrl-C.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/fixtures.h"
#include "support/support.h"

namespace peel::test {
namespace {

namespace fs = std::filesystem;

// The JSON Lines of a batch run: the per-file objects, and the summary (last line).
struct Lines {
  std::vector<nlohmann::json> files;
  nlohmann::json summary;
};

Lines lines_of(const RunResult& r) {
  Lines l;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not a JSON line: " << line;
    if (j.contains("summary"))
      l.summary = j["summary"];
    else
      l.files.push_back(j);
  }
  EXPECT_FALSE(l.summary.is_null()) << r.out << r.err;
  return l;
}

nlohmann::json line_for(const Lines& l, const std::string& input_suffix) {
  for (const auto& f : l.files) {
    const std::string in = f["input"];
    if (in.size() >= input_suffix.size() &&
        in.compare(in.size() - input_suffix.size(), input_suffix.size(), input_suffix) == 0) {
      return f;
    }
  }
  ADD_FAILURE() << "no line for " << input_suffix;
  return {};
}

void copy(const std::string& from, const std::string& to) {
  fs::create_directories(fs::path(to).parent_path());
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
}

// Every file below `dir`, relative, sorted; hidden ones included.
std::vector<std::string> tree(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) names.push_back(fs::relative(e.path(), dir).string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// 40 s of AAC, re-encoded for long enough that a file is still being written when the test
// looks (below the length at which a transcode is split into segments, which writes the output
// only at the end).
std::string mkv_40s() {
  return fixture("ctrl-c-40s.mkv",
                 {"-f", "lavfi", "-i", "color=black:size=32x32:rate=1:duration=40", "-f", "lavfi",
                  "-i", "sine=frequency=440:sample_rate=48000:duration=40", "-ac", "2", "-c:v",
                  "libx264", "-preset", "ultrafast", "-c:a", "aac"});
}

// Whether a file is provably being written into `dir` (not below it): a temporary output
// holding data exists, and at most `most_finished` outputs are finished. No temporary output
// may be empty: one just created may not yet be known to the Ctrl-C handler.
bool writing(const std::string& dir, size_t most_finished) {
  std::error_code ec;
  size_t finished = 0;
  bool partial = false;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename().string()[0] != '.') {
      ++finished;
      continue;
    }
    const auto size = fs::file_size(it->path(), ec);
    if (ec || size == 0) return false;
    partial = true;
  }
  return !ec && partial && finished <= most_finished;
}

// Stops the child while writing(dir, most_finished) holds (stop_when()).
bool stop_while_writing(Child& child, const std::string& dir, size_t most_finished) {
  return stop_when(child, [&] { return writing(dir, most_finished); });
}

TEST(Batch, FolderTreeIsMirroredAndOnlyVideosAreTaken) {
  TempDir in, out;
  copy(mp4_h264_aac(), in / "a.mp4");
  copy(mkv_opus(), in / "talks/b.mkv");
  copy(mkv_h264_pcm16(), in / "talks/2024/c.mkv");
  copy(mp4_h264_aac(), in / "talks/recording.dat");  // a video, whatever its name says
  copy(mp3_lame(), in / "music/song.mp3");           // audio only: not a video to extract
  copy(mp4_h264_aac(), in / ".hidden/d.mp4");        // hidden folders are skipped
  std::ofstream(in / "notes.txt") << "not media";
  auto r = peel({"-R", in.path(), "-d", out.path(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(tree(out.path()), (std::vector<std::string>{"a.m4a", "talks/2024/c.wav", "talks/b.opus",
                                                        "talks/recording.m4a"}));
  const auto l = lines_of(r);
  EXPECT_EQ(l.summary["done"], 4);
  EXPECT_EQ(l.summary["skipped"], 2);  // song.mp3, notes.txt
  EXPECT_EQ(l.summary["failed"], 0);
  EXPECT_NEAR(l.summary["audio_seconds"].get<double>(), 4 * 6.0, 0.2);
  EXPECT_EQ(line_for(l, "song.mp3")["reason"], "not a video");
  EXPECT_EQ(line_for(l, "c.mkv")["outputs"][0]["mode"], "copy");
  EXPECT_TRUE(decode_f32(out / "talks/b.opus") == decode_f32(mkv_opus()));
}

TEST(Batch, AFolderWithoutRecursiveIsRefusedWithAHint) {
  TempDir in;
  copy(mp4_h264_aac(), in / "a.mp4");
  auto r = peel({in.path(), in / "a.mp4", "--json"});
  EXPECT_EQ(r.exit_code, 2);
  const auto l = lines_of(r);
  EXPECT_EQ(l.summary["done"], 1);
  EXPECT_EQ(l.summary["failures"][0]["name"], "input_is_directory");
  EXPECT_NE(l.summary["failures"][0]["message"].get<std::string>().find("-R"), std::string::npos);
}

TEST(Batch, OutputsBesideTheInputsAreNotTakenAgain) {
  TempDir in;
  copy(mp4_h264_aac(), in / "a.mp4");
  copy(mkv_flac24(), in / "sub/b.mkv");
  ASSERT_EQ(peel({"-R", in.path()}).exit_code, 0);
  EXPECT_EQ(tree(in.path()),
            (std::vector<std::string>{"a.m4a", "a.mp4", "sub/b.flac", "sub/b.mkv"}));
  auto again = peel({"-R", in.path(), "--json", "-y"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  const auto l = lines_of(again);
  EXPECT_EQ(l.summary["done"], 2);
  EXPECT_EQ(line_for(l, "a.m4a")["reason"], "not a video");
  EXPECT_EQ(tree(in.path()).size(), 4u);
}

TEST(Batch, AnOutputFolderInsideTheInputFolderIsNotReadBack) {
  TempDir in;
  copy(mp4_h264_aac(), in / "a.mp4");
  const std::string out = in / "audio";
  ASSERT_EQ(peel({"-R", in.path(), "-d", out, "-f", "mka"}).exit_code, 0);
  auto again = peel({"-R", in.path(), "-d", out, "-f", "mka", "--json", "-y"});
  const auto l = lines_of(again);
  EXPECT_EQ(l.files.size(), 1u) << again.out;  // a.mp4 only: audio/a.mka is never looked at
  EXPECT_EQ(tree(in.path()), (std::vector<std::string>{"a.mp4", "audio/a.mka"}));
}

TEST(Batch, InputsInsideTheOutputFolderAreStillFound) {
  TempDir root;
  copy(mp4_h264_aac(), root / "incoming/a.mp4");
  auto r = peel({"-R", root / "incoming", "-d", root.path(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(lines_of(r).summary["done"], 1);
  EXPECT_TRUE(fs::exists(root / "a.m4a"));
}

TEST(Batch, GlobsWithDeepWildcardsAndOverlapsDoEachFileOnce) {
  TempDir in, out;
  copy(mkv_opus(), in / "x/one.mkv");
  copy(mkv_opus(), in / "x/y/two.mkv");
  copy(mp4_h264_aac(), in / "x/three.mp4");
  auto r = peel({in / "**/*.mkv", in / "x/*.mkv", in / "x/y/two.mkv", "-d", out.path(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto l = lines_of(r);
  EXPECT_EQ(l.files.size(), 2u);
  EXPECT_EQ(tree(out.path()), (std::vector<std::string>{"x/one.opus", "x/y/two.opus"}));
  auto none = peel({in / "**/*.avi", "-d", out.path(), "--json"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.out.find("matches no file"), std::string::npos);
}

TEST(Batch, TwoInputsForOneOutputAreRefusedBeforeAnythingRuns) {
  TempDir in, out;
  copy(mp4_h264_aac(), in / "a/talk.mp4");
  copy(mp4_h264_aac(), in / "b/talk.mp4");
  auto r = peel({in / "a/talk.mp4", in / "b/talk.mp4", "-d", out.path(), "--json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("would both be written to"), std::string::npos) << r.out;
  EXPECT_TRUE(out.entries().empty());
  // A name template makes them unique instead.
  auto named = peel(
      {in / "a/talk.mp4", in / "b/talk.mp4", "-d", out.path(), "--name", "{stem}.{ext}", "--json"});
  ASSERT_EQ(named.exit_code, 0) << named.err;
  EXPECT_EQ(out.entries(), (std::vector<std::string>{"talk-2.m4a", "talk.m4a"}));
}

TEST(Batch, OneBadFileDoesNotStopTheOthers) {
  TempDir in, out;
  copy(mp4_h264_aac(), in / "good1.mp4");
  copy(mkv_opus(), in / "good2.mkv");
  std::ofstream(in / "bad.mp4") << "this is not a video";
  fs::create_symlink(in / "gone.mp4", in / "broken.mp4");
  auto r = peel({in / "good1.mp4", in / "bad.mp4", "-R", in.path(), "-d", out.path(), "--json"});
  EXPECT_EQ(r.exit_code, 2);
  const auto l = lines_of(r);
  EXPECT_EQ(l.summary["done"], 2);
  EXPECT_EQ(l.summary["failed"], 2);  // bad.mp4 (named, so reported), broken.mp4
  std::set<std::string> names;
  for (const auto& f : l.summary["failures"]) names.insert(f["name"]);
  EXPECT_EQ(names, (std::set<std::string>{"unsupported_file", "input_not_found"}));
  EXPECT_EQ(tree(out.path()), (std::vector<std::string>{"good1.m4a", "good2.opus"}));
  // The human summary says the same, with each failure's code.
  auto human = peel({in / "good1.mp4", in / "bad.mp4", "-d", out.path(), "-y"});
  EXPECT_NE(human.err.find("1 done, 0 skipped, 1 failed"), std::string::npos) << human.err;
  EXPECT_NE(human.err.find("bad.mp4 [4001 unsupported_file]"), std::string::npos) << human.err;
}

TEST(Batch, SkipExistingRedoesOnlyWhatIsMissing) {
  TempDir in, out;
  for (int i = 0; i < 4; ++i) copy(mp4_h264_aac(), in / ("v" + std::to_string(i) + ".mp4"));
  ASSERT_EQ(peel({"-R", in.path(), "-d", out.path(), "-f", "mp3"}).exit_code, 0);
  const auto before = fs::last_write_time(out / "v0.mp3");
  fs::remove(out / "v2.mp3");
  // A partial output of a crashed run is a hidden temporary file: it never counts as done.
  std::ofstream(out / ".v3.mp3.peel-abc123") << "partial";
  fs::remove(out / "v3.mp3");
  auto r = peel({"-R", in.path(), "-d", out.path(), "-f", "mp3", "--skip-existing", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto l = lines_of(r);
  EXPECT_EQ(l.summary["done"], 2);
  EXPECT_EQ(l.summary["skipped"], 2);
  EXPECT_EQ(fs::last_write_time(out / "v0.mp3"), before);
  EXPECT_TRUE(fs::exists(out / "v2.mp3"));
  EXPECT_TRUE(fs::exists(out / "v3.mp3"));
}

TEST(Batch, JobsRunFilesAtOnceWithTheSameResults) {
  TempDir in, serial, parallel;
  for (int i = 0; i < 6; ++i) copy(mkv_h264_pcm16(), in / ("v" + std::to_string(i) + ".mkv"));
  ASSERT_EQ(peel({"-R", in.path(), "-d", serial.path(), "-f", "flac", "-j", "1"}).exit_code, 0);
  ASSERT_EQ(peel({"-R", in.path(), "-d", parallel.path(), "-f", "flac", "-j", "4"}).exit_code, 0);
  for (int i = 0; i < 6; ++i) {
    const std::string name = "v" + std::to_string(i) + ".flac";
    EXPECT_TRUE(decode_s16(serial / name) == decode_s16(parallel / name)) << name;
  }
}

TEST(Batch, DryRunPlansEveryFileAndWritesNothing) {
  TempDir in, out;
  copy(mp4_h264_aac(), in / "a.mp4");
  copy(mkv_opus(), in / "b.mkv");
  auto r = peel({"-R", in.path(), "-d", out.path(), "--dry-run", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto l = lines_of(r);
  ASSERT_EQ(l.files.size(), 2u);
  EXPECT_NE(line_for(l, "b.mkv")["outputs"][0]["ffmpeg_command"].get<std::string>().find("ffmpeg"),
            std::string::npos);
  EXPECT_TRUE(out.entries().empty());
}

TEST(Batch, FullDiskFailsThatFileCleanlyAndSaysSo) {
  TempDir in, out;
  Mount small(out.path(), "size=256k");
  if (!small.mounted()) GTEST_SKIP() << "cannot mount a small tmpfs here";
  copy(mp4_h264_aac(), in / "small.mp4");  // ~100 KB of AAC: fits
  copy(mkv_h264_pcm16(), in / "big.mkv");  // ~1.1 MB as WAV: does not
  auto r = peel({"-R", in.path(), "-d", out.path(), "-j", "1", "--json"});
  EXPECT_EQ(r.exit_code, 2);
  const auto l = lines_of(r);
  EXPECT_EQ(line_for(l, "big.mkv")["errors"][0]["name"], "write_failed");
  EXPECT_NE(line_for(l, "big.mkv")["errors"][0]["message"].get<std::string>().find("disk is full"),
            std::string::npos);
  EXPECT_EQ(out.entries(), (std::vector<std::string>{"small.m4a"}));  // no partial left
}

TEST(Batch, CtrlCStopsStartingFilesCancelsRunningOnesAndLeavesNoPartials) {
  TempDir in, out;
  for (int i = 0; i < 8; ++i) copy(mkv_40s(), in / ("v" + std::to_string(i) + ".mkv"));
  // Every file is re-encoded to mp3, two at a time. The signal comes while a file is being
  // written and at most 4 are finished: the 2 running may still finish, 2 never start.
  Child child({"-R", in.path(), "-d", out.path(), "-f", "mp3", "-j", "2", "--json"});
  ASSERT_TRUE(stop_while_writing(child, out.path(), 4)) << child.wait().err;
  child.signal(SIGINT);
  child.resume();
  const auto r = child.wait();
  EXPECT_EQ(r.exit_code, 130) << r.err;
  EXPECT_EQ(r.signal, 0);
  const auto l = lines_of(r);
  EXPECT_TRUE(l.summary["interrupted"].get<bool>());
  for (const auto& name : tree(out.path())) {
    EXPECT_NE(name[0], '.') << "partial output left: " << name;
  }
  EXPECT_LT(tree(out.path()).size(), 8u);
}

TEST(Batch, ASecondCtrlCExitsAtOnceAndStillLeavesNoPartials) {
  TempDir in, out;
  for (int i = 0; i < 4; ++i) copy(mkv_40s(), in / ("v" + std::to_string(i) + ".mkv"));
  Child child({"-R", in.path(), "-d", out.path(), "-f", "mp3", "-j", "2"});
  ASSERT_TRUE(stop_while_writing(child, out.path(), 1)) << child.wait().err;
  // Two SIGINTs sent to a stopped process would be one (signals do not queue): the second is a
  // SIGTERM, which peel takes as it takes Ctrl-C. Both go to one thread, which handles them in
  // turn: the first cancels, the second finds the batch cancelled and exits at once.
  child.signal_main_thread(SIGINT);
  child.signal_main_thread(SIGTERM);
  child.resume();
  const auto r = child.wait();
  EXPECT_EQ(r.exit_code, 130);
  EXPECT_EQ(r.signal, 0);
  // At once: without waiting for the running files to stop and the summary to be printed.
  EXPECT_EQ(r.err.find("interrupted"), std::string::npos) << r.err;
  for (const auto& name : out.entries()) EXPECT_NE(name[0], '.') << "partial left: " << name;
}

// ---- Issue 9 -------------------------------------------------------------------------------

// Point 5: a batch dry run refuses what the batch would, with the same code.
TEST(Batch, DryRunRefusesWhatTheRunWould) {
  TempDir in, out;
  copy(mp4_h264_aac(), in / "a.mp4");
  copy(mkv_opus(), in / "b.mkv");
  std::ofstream(out / "a.m4a") << "already here";
  const auto dry = peel({"-R", in.path(), "-d", out.path(), "--dry-run", "--json"});
  // A human dry run says it too, in the failures and the summary line.
  const auto human = peel({"-R", in.path(), "-d", out.path(), "--dry-run"});
  EXPECT_NE(human.err.find("a.mp4 [5001 output_exists]"), std::string::npos) << human.err;
  EXPECT_NE(human.err.find("1 planned, 0 skipped, 1 failed"), std::string::npos) << human.err;
  const auto run = peel({"-R", in.path(), "-d", out.path(), "--json"});
  EXPECT_EQ(dry.exit_code, 2) << dry.out;
  EXPECT_EQ(run.exit_code, 2) << run.out;
  const auto d = lines_of(dry), r = lines_of(run);
  EXPECT_EQ(line_for(d, "a.mp4")["status"], "failed");
  EXPECT_EQ(line_for(d, "a.mp4")["errors"][0]["code"], 5001);
  EXPECT_EQ(line_for(d, "a.mp4")["errors"][0], line_for(r, "a.mp4")["errors"][0]);
  EXPECT_EQ(d.summary["done"], 1);  // b.mkv: planned
  EXPECT_EQ(d.summary["failed"], 1);
  EXPECT_EQ(r.summary["failed"], 1);
}

// Point 6 in a batch dry run: the folder it would create is said once, and not created.
TEST(Batch, DryRunSaysWhichFolderItWouldCreate) {
  TempDir in, out;
  copy(mp4_h264_aac(), in / "a.mp4");
  copy(mp4_h264_aac(), in / "b.mp4");
  const std::string target = out / "new";
  const auto r = peel({"-R", in.path(), "-d", target, "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string said = "would create the folder " + target + "\n";
  const auto first = r.out.find(said);
  EXPECT_NE(first, std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(said, first + 1), std::string::npos) << "said twice:\n" << r.out;
  const auto l = lines_of(peel({"-R", in.path(), "-d", target, "--dry-run", "--json"}));
  EXPECT_EQ(line_for(l, "a.mp4")["outputs"][0]["new_folder"], target);
  EXPECT_TRUE(out.entries().empty());
}

// Point 14: nothing to do says so, without "0:00 of audio ... (0x real time)".
TEST(Batch, NothingToDoSaysNoAudioOrSpeed) {
  TempDir in, out;
  copy(mp4_h264_aac(), in / "a.mp4");
  ASSERT_EQ(peel({"-R", in.path(), "-d", out.path()}).exit_code, 0);
  const auto skipped = peel({"-R", in.path(), "-d", out.path(), "--skip-existing"});
  EXPECT_EQ(skipped.exit_code, 0) << skipped.err;
  EXPECT_NE(skipped.err.find("peel: 0 done, 1 skipped, 0 failed\n"), std::string::npos)
      << skipped.err;
  TempDir empty;
  const auto none = peel({"-R", empty.path()});
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_NE(none.err.find("nothing to do"), std::string::npos) << none.err;
  for (const auto& r : {skipped, none}) {
    EXPECT_EQ(r.err.find("of audio"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("real time"), std::string::npos) << r.err;
  }
}

// Point 13: the audio of a batch, in text and JSON, without floating-point noise.
TEST(Batch, AudioTotalsHaveNoFloatNoise) {
  TempDir in, out;
  for (int i = 0; i < 11; ++i) copy(mkv_opus(), in / ("v" + std::to_string(i) + ".mkv"));
  const auto r = peel({"-R", in.path(), "-d", out.path(), "-f", "wav", "--from", "0.1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto l = lines_of(r);
  double sum = 0;
  for (const auto& f : l.files) sum += f["outputs"][0]["duration"].get<double>();
  EXPECT_NEAR(l.summary["audio_seconds"].get<double>(), sum, 1e-6);
  // As printed: at most six decimals.
  const std::string key = "\"audio_seconds\":";
  const auto at = r.out.find(key);
  ASSERT_NE(at, std::string::npos) << r.out;
  const std::string number =
      r.out.substr(at + key.size(), r.out.find_first_of(",}", at) - at - key.size());
  const auto dot = number.find('.');
  EXPECT_TRUE(dot == std::string::npos || number.size() - dot - 1 <= 6) << number;
  // In text: a time to the millisecond.
  const auto human = peel({"-R", in.path(), "-d", out.path(), "-f", "wav", "--from", "0.1", "-y"});
  const auto of = human.err.find(" of audio");
  ASSERT_NE(of, std::string::npos) << human.err;
  const auto from = human.err.rfind("; ", of) + 2;
  const std::string text = human.err.substr(from, of - from);
  const auto text_dot = text.find('.');
  EXPECT_TRUE(text_dot == std::string::npos || text.size() - text_dot - 1 == 3) << text;
  EXPECT_NE(text.find(':'), std::string::npos) << text;
}

// Point 13: after Ctrl-C the summary says how many files were stopped and not started.
TEST(Batch, CtrlCSummaryCountsTheFilesNotFinished) {
  TempDir in, out;
  for (int i = 0; i < 8; ++i) copy(mkv_40s(), in / ("v" + std::to_string(i) + ".mkv"));
  for (const bool json : {true, false}) {
    SCOPED_TRACE(json ? "json" : "text");
    fs::remove_all(out.path());
    fs::create_directory(out.path());
    std::vector<std::string> args = {"-R", in.path(), "-d", out.path(), "-f", "mp3", "-j", "1",
                                     "--segment-parallel=off"};
    if (json) args.push_back("--json");
    Child child(args);
    ASSERT_TRUE(stop_while_writing(child, out.path(), 4)) << child.wait().err;
    child.signal(SIGINT);
    child.resume();
    const auto r = child.wait();
    ASSERT_EQ(r.exit_code, 130) << r.err;
    const int written = static_cast<int>(tree(out.path()).size());
    if (json) {
      const auto l = lines_of(r);
      const int done = l.summary["done"], stopped = l.summary["stopped"],
                not_started = l.summary["not_started"];
      EXPECT_EQ(done, written);
      // The signal came as a file was being written, with at most 4 finished: that file (or,
      // if it was just finishing, the next) was stopped or never started, and so were the rest.
      EXPECT_EQ(done + stopped + not_started, 8) << l.summary.dump();
      EXPECT_GE(stopped + not_started, 1) << l.summary.dump();
    } else {
      const auto at = r.err.rfind("peel: ");
      ASSERT_NE(at, std::string::npos) << r.err;
      int done = -1, stopped = -1, not_started = -1;
      ASSERT_EQ(std::sscanf(r.err.c_str() + at,
                            "peel: %d done, 0 skipped, 0 failed; interrupted: %d stopped, %d not "
                            "started",
                            &done, &stopped, &not_started),
                3)
          << r.err;
      EXPECT_EQ(done + stopped + not_started, 8) << r.err;
      EXPECT_EQ(done, written);
    }
  }
}

}  // namespace
}  // namespace peel::test
