// `peel watch`: a child process watching a folder while the test drops files into it. Nothing
// here depends on how fast the machine is: the test waits (up to generous deadlines) for what
// peel reports, and the settle tests rely only on peel waiting at least as long as it is told.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/fixtures.h"
#include "support/support.h"

namespace peel::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int kExitUsage = 1;
constexpr int kExitInterrupted = 130;
constexpr double kDeadline = 20;  // seconds

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Deterministic noise: the same bytes every run, so a failure reproduces.
std::string noise(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen() & 0xff);
  return s;
}

// Copies a file the way cp does: create, write, close.
void copy_in(const std::string& from, const std::string& to) {
  fs::create_directories(fs::path(to).parent_path());
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
}

// Every file below `dir` whose name starts with a dot: peel's temporary outputs.
std::vector<std::string> hidden_files(const std::string& dir) {
  std::vector<std::string> found;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.path().filename().string().starts_with(".")) found.push_back(e.path().string());
  }
  return found;
}

fs::file_time_type mtime(const std::string& path) { return fs::last_write_time(path); }

// `peel watch IN -d OUT --json ARGS...` running as a child process.
class Watching {
 public:
  Watching(const std::string& in, const std::string& out, std::vector<std::string> extra = {})
      : child_(args(in, out, std::move(extra))) {}

  // The complete JSON lines printed so far.
  std::vector<nlohmann::json> lines() const {
    std::vector<nlohmann::json> parsed;
    std::istringstream in(child_.out());
    for (std::string line; std::getline(in, line);) {
      if (in.eof()) break;  // not yet terminated: still being written
      auto j = nlohmann::json::parse(line, nullptr, false);
      EXPECT_FALSE(j.is_discarded()) << "not JSON: " << line;
      parsed.push_back(std::move(j));
    }
    return parsed;
  }

  // The lines about `input`.
  std::vector<nlohmann::json> lines_for(const std::string& input) const {
    std::vector<nlohmann::json> found;
    for (auto& j : lines()) {
      if (j.contains("input") && j["input"] == input) found.push_back(j);
    }
    return found;
  }

  // Waits for the first line about `input`; fails the test (returning null) at the deadline.
  nlohmann::json wait_for(const std::string& input) {
    nlohmann::json line;
    eventually(
        [&] {
          auto found = lines_for(input);
          if (!found.empty()) line = found.front();
          return !line.is_null() || !child_.running();
        },
        kDeadline);
    if (line.is_null()) ADD_FAILURE() << "no line about " << input << "; stdout:\n" << child_.out();
    return line;
  }

  // Stops peel while `condition` holds (stop_when()); interrupt() resumes it.
  bool stop_when(const std::function<bool()>& condition) {
    return test::stop_when(child_, condition, kDeadline);
  }

  // Ctrl-C (handled first thing if it was stopped); returns the exit code.
  int interrupt() {
    child_.signal(SIGINT);
    child_.resume();
    return wait();
  }

  // Waits for peel to end; returns the exit code.
  int wait() {
    const RunResult r = child_.wait();
    EXPECT_EQ(r.signal, 0) << "peel died of a signal instead of exiting; stderr:\n" << r.err;
    return r.exit_code;
  }

 private:
  static std::vector<std::string> args(const std::string& in, const std::string& out,
                                       std::vector<std::string> extra) {
    std::vector<std::string> a = {"watch", in, "-d", out, "--json", "-j", "2"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  Child child_;
};

void expect_done(const nlohmann::json& line, const std::string& output) {
  ASSERT_FALSE(line.is_null());
  EXPECT_EQ(line["status"], "done") << line.dump();
  ASSERT_EQ(line["outputs"].size(), 1u) << line.dump();
  EXPECT_EQ(line["outputs"][0]["output"], output) << line.dump();
  EXPECT_TRUE(line["errors"].empty()) << line.dump();
}

// The whole audio of `source` is in `output` (a PCM copy: the same samples).
void expect_whole(const std::string& source, const std::string& output) {
  const auto want = decode_f32(source);
  const auto got = decode_f32(output);
  ASSERT_FALSE(want.empty());
  EXPECT_EQ(got.size(), want.size());
  EXPECT_TRUE(got == want);
}

TEST(Watch, TakesWhatIsThereThenWhatArrives) {
  TempDir in;
  TempDir staging;  // on the same file system: a rename from it is a move into the folder
  const std::string out = in / "extracted";  // inside the watched folder: must be left alone
  copy_in(mp4_h264_aac(), in / "before.mp4");
  copy_in(mkv_h264_pcm16(), in / "old/nested.mkv");
  copy_in(mkv_h264_pcm16(), in / ".hidden.mkv");
  Watching w(in.path(), out);

  expect_done(w.wait_for(in / "before.mp4"), out + "/before.m4a");
  expect_done(w.wait_for(in / "old/nested.mkv"), out + "/old/nested.wav");

  // Copied in, after the start.
  copy_in(mkv_h264_pcm16(), in / "copied.mkv");
  expect_done(w.wait_for(in / "copied.mkv"), out + "/copied.wav");
  expect_whole(mkv_h264_pcm16(), out + "/copied.wav");

  // Moved in.
  copy_in(mkv_h264_pcm16(), staging / "moved.mkv");
  fs::rename(staging / "moved.mkv", in / "moved.mkv");
  expect_done(w.wait_for(in / "moved.mkv"), out + "/moved.wav");

  // A new subfolder, and a folder tree moved in whole.
  copy_in(mkv_h264_pcm16(), in / "new/deeper/clip.mkv");
  expect_done(w.wait_for(in / "new/deeper/clip.mkv"), out + "/new/deeper/clip.wav");
  expect_whole(mkv_h264_pcm16(), out + "/new/deeper/clip.wav");
  copy_in(mkv_h264_pcm16(), staging / "tree/sub/inner.mkv");
  fs::rename(staging / "tree", in / "tree");
  expect_done(w.wait_for(in / "tree/sub/inner.mkv"), out + "/tree/sub/inner.wav");

  EXPECT_EQ(w.interrupt(), kExitInterrupted);
  const auto lines = w.lines();
  ASSERT_FALSE(lines.empty());
  EXPECT_TRUE(lines.back().contains("summary")) << lines.back().dump();
  EXPECT_EQ(lines.back()["summary"]["done"], 6) << lines.back().dump();
  EXPECT_EQ(lines.back()["summary"]["interrupted"], true);
  for (const auto& j : lines) {
    if (!j.contains("input")) continue;
    const std::string input = j["input"];
    EXPECT_EQ(input.find("/extracted/"), std::string::npos) << "took its own output: " << input;
    EXPECT_EQ(input.find(".hidden"), std::string::npos) << "took a hidden file: " << input;
  }
  EXPECT_TRUE(hidden_files(out).empty());
}

// A file is taken only once it is whole: not while a writer holds it open, however long the
// writer pauses, nor while it keeps growing through short-lived writes closer together than the
// settle time.
TEST(Watch, WaitsUntilAFileStopsGrowing) {
  TempDir in, out;
  const std::string source = mkv_h264_pcm16();
  const std::string bytes = read_bytes(source);
  const std::string target = in / "slow.mkv";
  const std::string output = out / "slow.wav";
  const auto settle = 2s;
  Watching w(in.path(), out.path(), {"--settle", "2"});
  // Peel is running once it has handled a first file.
  copy_in(mkv_h264_pcm16(), in / "first.mkv");
  expect_done(w.wait_for(in / "first.mkv"), out / "first.wav");

  const size_t half = bytes.size() / 2;
  auto expect_not_taken = [&] {
    EXPECT_FALSE(fs::exists(output)) << "taken while still being written";
    EXPECT_TRUE(w.lines_for(target).empty()) << "taken while still being written";
  };
  {
    // Held open, with pauses longer than the settle time.
    std::ofstream f(target, std::ios::binary);
    const size_t step = half / 3;
    for (size_t pos = 0; pos < half; pos += step) {
      f.write(bytes.data() + pos, static_cast<std::streamsize>(std::min(step, half - pos)));
      f.flush();
      std::this_thread::sleep_for(settle + 500ms);
      expect_not_taken();
    }
  }
  // Appended in short writes, each closing the file, closer together than the settle time.
  const size_t step = (bytes.size() - half) / 8 + 1;
  for (size_t pos = half; pos < bytes.size(); pos += step) {
    std::ofstream f(target, std::ios::binary | std::ios::app);
    f.write(bytes.data() + pos, static_cast<std::streamsize>(std::min(step, bytes.size() - pos)));
    f.close();
    expect_not_taken();
    std::this_thread::sleep_for(200ms);
  }

  expect_done(w.wait_for(target), output);
  expect_whole(source, output);
  EXPECT_EQ(w.lines_for(target).size(), 1u);
  EXPECT_EQ(w.interrupt(), kExitInterrupted);
}

TEST(Watch, ReportsABadFileAndGoesOn) {
  TempDir in, out;
  Watching w(in.path(), out.path());
  { std::ofstream(in / "bad.mp4", std::ios::binary) << noise(200000, 7); }
  const auto bad = w.wait_for(in / "bad.mp4");
  ASSERT_FALSE(bad.is_null());
  EXPECT_NE(bad["status"], "done") << bad.dump();
  EXPECT_TRUE(bad["outputs"].empty()) << bad.dump();

  // Cut off before its index: an error, reported with its code.
  const std::string mp4 = read_bytes(mp4_h264_aac());
  { std::ofstream(in / "cut.mp4", std::ios::binary) << mp4.substr(0, mp4.size() / 2); }
  const auto cut = w.wait_for(in / "cut.mp4");
  ASSERT_FALSE(cut.is_null());
  EXPECT_EQ(cut["status"], "failed") << cut.dump();
  ASSERT_EQ(cut["errors"].size(), 1u) << cut.dump();
  EXPECT_EQ(cut["errors"][0]["input"], in / "cut.mp4");

  copy_in(mkv_h264_pcm16(), in / "good.mkv");
  expect_done(w.wait_for(in / "good.mkv"), out / "good.wav");
  expect_whole(mkv_h264_pcm16(), out / "good.wav");
  EXPECT_EQ(w.interrupt(), kExitInterrupted);
  EXPECT_EQ(out.entries(), std::vector<std::string>{"good.wav"});
}

TEST(Watch, RestartDoesNotRedoFinishedFiles) {
  TempDir in, out;
  copy_in(mkv_h264_pcm16(), in / "a.mkv");
  copy_in(mkv_h264_pcm16(), in / "sub/b.mkv");
  fs::file_time_type a_time, b_time;
  {
    Watching w(in.path(), out.path());
    expect_done(w.wait_for(in / "a.mkv"), out / "a.wav");
    expect_done(w.wait_for(in / "sub/b.mkv"), out / "sub/b.wav");
    EXPECT_EQ(w.interrupt(), kExitInterrupted);
    a_time = mtime(out / "a.wav");
    b_time = mtime(out / "sub/b.wav");
  }
  // Arrived while peel was not running.
  copy_in(mkv_h264_pcm16(), in / "c.mkv");
  Watching w(in.path(), out.path());
  expect_done(w.wait_for(in / "c.mkv"), out / "c.wav");
  for (const auto& done : {in / "a.mkv", in / "sub/b.mkv"}) {
    const auto line = w.wait_for(done);
    ASSERT_FALSE(line.is_null());
    EXPECT_EQ(line["status"], "skipped") << line.dump();
    EXPECT_EQ(line["reason"], "output exists") << line.dump();
  }
  EXPECT_EQ(mtime(out / "a.wav"), a_time);
  EXPECT_EQ(mtime(out / "sub/b.wav"), b_time);
  EXPECT_EQ(w.interrupt(), kExitInterrupted);
}

TEST(Watch, CtrlCCancelsRunningFilesAndLeavesNothing) {
  TempDir in, out;
  copy_in(mkv_five_minutes(), in / "long.mkv");
  Watching w(in.path(), out.path(), {"-f", "mp3", "--reencode"});
  // Stopped while it is writing: its temporary output exists.
  EXPECT_TRUE(w.stop_when([&] { return !hidden_files(out.path()).empty(); }));
  EXPECT_EQ(w.interrupt(), kExitInterrupted);
  EXPECT_TRUE(out.entries().empty());
  const auto lines = w.lines();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back()["summary"]["interrupted"], true) << lines.back().dump();
  EXPECT_EQ(lines.back()["summary"]["done"], 0) << lines.back().dump();
}

TEST(Watch, OnceTakesWhatIsThereAndExits) {
  TempDir in, out;
  copy_in(mkv_h264_pcm16(), in / "a.mkv");
  copy_in(mkv_h264_pcm16(), in / "x/b.mkv");
  Watching w(in.path(), out.path(), {"--once", "--settle", "0"});
  EXPECT_EQ(w.wait(), 0);
  expect_whole(mkv_h264_pcm16(), out / "a.wav");
  expect_whole(mkv_h264_pcm16(), out / "x/b.wav");
  const auto lines = w.lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines.back()["summary"]["done"], 2) << lines.back().dump();
}

TEST(Watch, UsageErrors) {
  TempDir in;
  auto r = peel({"watch", in.path()});
  EXPECT_EQ(r.exit_code, kExitUsage);
  EXPECT_NE(r.err.find("-d OUT"), std::string::npos) << r.err;

  r = peel({"watch", in.path(), "-d", in.path()});
  EXPECT_EQ(r.exit_code, kExitUsage);
  EXPECT_NE(r.err.find("is the watched folder"), std::string::npos) << r.err;

  r = peel({"watch", in / "missing", "-d", in / "out", "--json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("input_not_found"), std::string::npos) << r.out;

  r = peel({"watch", in.path(), "-o", in / "x.mp3"});
  EXPECT_EQ(r.exit_code, kExitUsage);
}

// Issue 9, point 13: a folder that cannot be watched is refused before any "watching" line,
// and the output folder is not made for it.
TEST(Watch, SaysWatchingOnlyOnceTheFolderIsWatched) {
  TempDir in;
  std::ofstream(in / "file.mp4") << "not a folder";
  for (const std::string& dir : {in / "missing", in / "file.mp4"}) {
    SCOPED_TRACE(dir);
    const auto r = peel({"watch", dir, "-d", in / "out"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(r.err.find("watching"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(dir), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(in / "out"));
  }
  // A folder that can be watched: the output folder is made, and both are said, in order.
  const std::string out = in / "made/out";
  const auto r = peel({"watch", in.path(), "-d", out, "--once"});
  EXPECT_EQ(r.exit_code, 0) << r.err;  // file.mp4 is skipped: not a video
  EXPECT_TRUE(fs::is_directory(out));
  EXPECT_NE(r.err.find("peel: created the folder " + out), std::string::npos) << r.err;
}

// Issue 9, point 13: -o and --dry-run get a sentence saying what to use instead, not "arguments
// were not expected: x.mp3 -o".
TEST(Watch, OutputFileAndDryRunSayWhatToUseInstead) {
  TempDir in;
  auto r = peel({"watch", in.path(), "-o", in / "x.mp3"});
  EXPECT_EQ(r.exit_code, kExitUsage);
  EXPECT_EQ(r.err.find("not expected"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("-o " + in / "x.mp3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("use -d OUT"), std::string::npos) << r.err;
  r = peel({"watch", in.path(), "-d", in / "out", "--dry-run", "--json"});
  EXPECT_EQ(r.exit_code, kExitUsage);
  const auto j = json_of(r);
  ASSERT_EQ(j["errors"].size(), 1u) << j.dump(2);
  EXPECT_EQ(j["errors"][0]["code"], 1001);
  EXPECT_NE(j["errors"][0]["message"].get<std::string>().find("peel -R " + in.path()),
            std::string::npos)
      << j.dump(2);
  EXPECT_FALSE(fs::exists(in / "out"));
}

}  // namespace
}  // namespace peel::test
