// Test support: run programs, make fixtures with the ffmpeg CLI (the oracle), decode with it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace peel::test {

struct RunResult {
  int exit_code = -1;
  int signal = 0;  // the signal that ended it, if one did
  std::string out;
  std::string err;
};

// Runs argv (no shell), capturing stdout and stderr. Stdin is /dev/null.
RunResult run(const std::vector<std::string>& argv);

// Path of the peel executable under test.
std::string peel();

// Runs peel with args; convenience over run().
RunResult peel(const std::vector<std::string>& args);

// A fixture made once per build by `ffmpeg -v error <args> -y <path>` and cached under the
// build's fixture folder, keyed by the command that makes it (a changed command makes a new
// file); concurrent test processes share it safely. The file is named `name`, which includes
// the extension. Fails the calling test (and returns "") if ffmpeg fails.
std::string fixture(const std::string& name, const std::vector<std::string>& ffmpeg_args);

// A fixture made once per build by another program (oggenc, mkvmerge, gst-launch-1.0...):
// `argv` with every "{out}" replaced by the file to write, and "{tmp}" by a scratch folder
// for intermediate files. Cached and shared like fixture(); fails the calling test (and
// returns "") if the program fails or writes nothing.
std::string tool_fixture(const std::string& name, const std::vector<std::string>& argv);

// A text file with `content`, cached like fixture() (keyed by the content).
std::string text_fixture(const std::string& name, const std::string& content);

// A fresh empty folder, removed (with its contents) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  // Names of the entries in the folder, sorted (hidden ones too).
  std::vector<std::string> entries() const;

 private:
  std::string path_;
};

// ffmpeg's full decode of audio stream `stream` (0-based among audio streams) as
// interleaved samples of the given raw format ("s16le", "s32le", "f32le"), native channels.
std::vector<int16_t> decode_s16(const std::string& path, int stream = 0);
std::vector<int32_t> decode_s32(const std::string& path, int stream = 0);
std::vector<float> decode_f32(const std::string& path, int stream = 0);

// The same, cut at the end the container states for the track, where it states one to the
// sample (MP4: an edit list may end inside the last AAC frame, which FFmpeg 5.1's decoder
// gives whole): what an output of the whole track must hold.
std::vector<int16_t> decode_s16_track(const std::string& path, int stream = 0);
std::vector<float> decode_f32_track(const std::string& path, int stream = 0);

// Samples per channel in audio stream `stream` as the container states them to the sample
// (MP4's duration_ts), or -1 where it does not.
int64_t stated_samples(const std::string& path, int stream = 0);

// ffprobe -show_streams -show_format -show_chapters as JSON.
nlohmann::json ffprobe(const std::string& path);

// Number of audio channels of the first audio stream, per ffprobe.
int channels_of(const std::string& path);

// The stderr of `ffmpeg -v warning -i path -f null -`: empty when ffmpeg decodes cleanly.
std::string ffmpeg_warnings(const std::string& path);

// Runs peel as the unprivileged user nobody when running as root (permission bits stop
// nothing for root); as itself otherwise.
RunResult peel_unprivileged(const std::vector<std::string>& args);
// False when running as root and setpriv cannot drop to nobody (tests then skip).
bool can_drop_privileges();

// A tmpfs mounted over a folder for the life of the object, where the system lets us.
class Mount {
 public:
  Mount(const std::string& where, const std::string& options);
  ~Mount();
  Mount(const Mount&) = delete;
  Mount& operator=(const Mount&) = delete;
  bool mounted() const { return mounted_; }

 private:
  std::string where_;
  bool mounted_ = false;
};

// peel started in the background (stdin /dev/null, output to files), to be signalled.
class Child {
 public:
  explicit Child(const std::vector<std::string>& peel_args);
  // Another program (argv[0] a path or a name on PATH), started the same way.
  static std::unique_ptr<Child> program(const std::vector<std::string>& argv);
  ~Child();  // kills it (SIGKILL) if still running
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool running();
  int pid() const { return pid_; }
  // Sends `sig` to the process: the kernel hands it to any of its threads.
  void signal(int sig);
  // Sends `sig` to its main thread alone. Signals for one thread are handled one after the
  // other, never at once, as they can be on two threads.
  void signal_main_thread(int sig);
  // SIGSTOP, and waits until it has stopped: until resume(), nothing it does changes what it
  // has written. False (and not stopped) if it exited first.
  bool stop();
  // SIGCONT. The signals sent while it was stopped are handled as it resumes, before it goes
  // on with anything else. (Two of the same signal sent meanwhile are one: they do not queue.)
  void resume();
  // Waits for the exit; returns what it printed and its exit code (128+N if killed by N).
  RunResult wait();
  std::string out() const;  // what it has printed on stdout so far

 private:
  Child() = default;
  void spawn(const std::vector<std::string>& argv);

  TempDir logs_;
  int pid_ = -1;
  int status_ = 0;
  bool exited_ = false;
};

// Polls `done` every 20 ms until true or `seconds` pass; returns its last value.
bool eventually(const std::function<bool()>& done, double seconds = 20);

// Stops `child` (Child::stop) at a moment when `condition` holds, as seen while it is stopped:
// a signal sent to it before resume() is then handled in that state, however fast or slow the
// machine. Polls like eventually(); false (the child not stopped) if it ends first or at the
// deadline.
bool stop_when(Child& child, const std::function<bool()>& condition, double seconds = 20);

// Parses peel's --json stdout; fails the test on malformed JSON.
nlohmann::json json_of(const RunResult& r);

}  // namespace peel::test
