// Test support implementation.
#include "support/support.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace peel::test {

namespace fs = std::filesystem;

namespace {

std::string slurp(int fd) {
  std::string s;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) s.append(buf, static_cast<size_t>(n));
  return s;
}

std::string fixture_dir() {
  const char* env = std::getenv("PEEL_FIXTURES");
  std::string dir = env != nullptr ? env : PEEL_FIXTURE_DIR;
  fs::create_directories(dir);
  return dir;
}

template <class T>
std::vector<T> decode_as(const std::string& path, int stream, const char* format) {
  auto r = run({"ffmpeg", "-v", "error", "-i", path, "-map", "0:a:" + std::to_string(stream), "-f",
                format, "-"});
  EXPECT_EQ(r.exit_code, 0) << "ffmpeg could not decode " << path << ": " << r.err;
  std::vector<T> samples(r.out.size() / sizeof(T));
  std::memcpy(samples.data(), r.out.data(), samples.size() * sizeof(T));
  return samples;
}

}  // namespace

RunResult run(const std::vector<std::string>& argv) {
  // Output goes through temporary files: pipes would need a reader thread per stream.
  char out_name[] = "/tmp/peel-test-out-XXXXXX";
  char err_name[] = "/tmp/peel-test-err-XXXXXX";
  const int out_fd = ::mkstemp(out_name);
  const int err_fd = ::mkstemp(err_name);
  ::unlink(out_name);
  ::unlink(err_name);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  RunResult result;
  if (posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ) == 0) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  }
  posix_spawn_file_actions_destroy(&actions);
  ::lseek(out_fd, 0, SEEK_SET);
  ::lseek(err_fd, 0, SEEK_SET);
  result.out = slurp(out_fd);
  result.err = slurp(err_fd);
  ::close(out_fd);
  ::close(err_fd);
  return result;
}

std::string peel() {
  const char* env = std::getenv("PEEL_BIN");
  return env != nullptr ? env : PEEL_BIN;
}

RunResult peel(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {peel()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

namespace {

// FNV-1a (64 bits) of the words, each ended by a NUL: what makes a fixture, as a folder name.
std::string key_of(const std::vector<std::string>& words) {
  uint64_t h = 14695981039346656037ull;
  for (const auto& w : words) {
    for (const char c : w + '\0') {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ull;
    }
  }
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

// Where the fixture `name` made by `recipe` is cached: a folder per recipe, so a changed
// recipe makes a new file, under the name itself (tests see the name they asked for).
std::string cached_path(const std::string& name, const std::vector<std::string>& recipe) {
  const std::string dir = fixture_dir() + "/" + key_of(recipe);
  fs::create_directories(dir);  // concurrent callers: whoever comes second finds it made
  return dir + "/" + name;
}

// The file a fixture is made in, beside its cached path, with the same extension (ffmpeg picks
// the muxer from it); renamed onto the cached path once whole, so that a concurrent test process
// sees the whole file or none.
std::string temp_path_for(const std::string& path) {
  const fs::path p(path);
  return (p.parent_path() / (".tmp-" + std::to_string(::getpid()) + "-" + p.filename().string()))
      .string();
}

}  // namespace

std::string fixture(const std::string& name, const std::vector<std::string>& ffmpeg_args) {
  std::vector<std::string> argv = {"ffmpeg", "-nostdin", "-v", "error"};
  argv.insert(argv.end(), ffmpeg_args.begin(), ffmpeg_args.end());
  const std::string path = cached_path(name, argv);
  if (fs::exists(path)) return path;
  const std::string tmp = temp_path_for(path);
  argv.insert(argv.end(), {"-y", tmp});
  auto r = run(argv);
  EXPECT_EQ(r.exit_code, 0) << "making fixture " << name << " failed: " << r.err;
  if (r.exit_code != 0) return "";
  fs::rename(tmp, path);
  return path;
}

std::string tool_fixture(const std::string& name, const std::vector<std::string>& argv) {
  const std::string path = cached_path(name, argv);
  if (fs::exists(path)) return path;
  const std::string tmp = temp_path_for(path);
  TempDir scratch;
  std::vector<std::string> args;
  for (std::string a : argv) {
    for (const auto& [key, value] :
         {std::pair<std::string, std::string>{"{out}", tmp}, {"{tmp}", scratch.path()}}) {
      for (size_t at = 0; (at = a.find(key, at)) != std::string::npos; at += value.size()) {
        a.replace(at, key.size(), value);
      }
    }
    args.push_back(std::move(a));
  }
  auto r = run(args);
  EXPECT_EQ(r.exit_code, 0) << "making fixture " << name << " with " << argv[0]
                            << " failed: " << r.err << r.out;
  std::error_code ec;
  if (r.exit_code != 0 || !fs::exists(tmp) || fs::file_size(tmp, ec) == 0) {
    ADD_FAILURE() << argv[0] << " wrote no " << name;
    fs::remove(tmp, ec);
    return "";
  }
  fs::rename(tmp, path);
  return path;
}

std::string text_fixture(const std::string& name, const std::string& content) {
  const std::string path = cached_path(name, {"text", content});
  if (fs::exists(path)) return path;
  const std::string tmp = temp_path_for(path);
  std::ofstream(tmp) << content;
  fs::rename(tmp, path);
  return path;
}

TempDir::TempDir() {
  char name[] = "/tmp/peel-test-XXXXXX";
  path_ = ::mkdtemp(name);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
  for (const auto& e : fs::recursive_directory_iterator(path_, ec)) {
    fs::permissions(e.path(), fs::perms::owner_all, fs::perm_options::add, ec);
  }
  fs::remove_all(path_, ec);
}

std::vector<std::string> TempDir::entries() const {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(path_)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<int16_t> decode_s16(const std::string& path, int stream) {
  return decode_as<int16_t>(path, stream, "s16le");
}
std::vector<int32_t> decode_s32(const std::string& path, int stream) {
  return decode_as<int32_t>(path, stream, "s32le");
}
std::vector<float> decode_f32(const std::string& path, int stream) {
  return decode_as<float>(path, stream, "f32le");
}

int64_t stated_samples(const std::string& path, int stream) {
  const auto probe = ffprobe(path);
  if (probe["format"]["format_name"].get<std::string>().rfind("mov,", 0) != 0) return -1;
  // A fragmented MP4 (an 'mvex' box) states durations only for what FFmpeg has read so far.
  std::ifstream in(path, std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (bytes.find("mvex") != std::string::npos) return -1;
  int n = 0;
  for (const auto& st : probe["streams"]) {
    if (st["codec_type"] != "audio" || n++ != stream) continue;
    if (!st.contains("duration_ts") || !st.contains("time_base")) return -1;
    const std::string tb = st["time_base"];
    const int64_t num = std::stoll(tb.substr(0, tb.find('/')));
    const int64_t den = std::stoll(tb.substr(tb.find('/') + 1));
    const int64_t rate = std::stoll(st["sample_rate"].get<std::string>());
    return st["duration_ts"].get<int64_t>() * num * rate / den;
  }
  return -1;
}

namespace {
template <class T>
std::vector<T> cut_to_track(std::vector<T> samples, const std::string& path, int stream) {
  const int64_t stated = stated_samples(path, stream);
  int channels = 0;
  int n = 0;
  const auto probe = ffprobe(path);
  for (const auto& st : probe["streams"]) {
    if (st["codec_type"] == "audio" && n++ == stream) channels = st["channels"];
  }
  const auto wanted = static_cast<size_t>(stated * channels);
  if (stated > 0 && wanted < samples.size()) samples.resize(wanted);
  return samples;
}
}  // namespace

std::vector<int16_t> decode_s16_track(const std::string& path, int stream) {
  return cut_to_track(decode_s16(path, stream), path, stream);
}
std::vector<float> decode_f32_track(const std::string& path, int stream) {
  return cut_to_track(decode_f32(path, stream), path, stream);
}

nlohmann::json ffprobe(const std::string& path) {
  auto r = run({"ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format",
                "-show_chapters", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out, nullptr, false);
}

int channels_of(const std::string& path) {
  const auto probe = ffprobe(path);
  for (const auto& s : probe["streams"]) {
    if (s["codec_type"] == "audio") return s["channels"].get<int>();
  }
  return 0;
}

std::string ffmpeg_warnings(const std::string& path) {
  // ffmpeg says it guessed the layout of every plain stereo WAV, its own included: not a
  // defect of the file.
  std::istringstream lines(run({"ffmpeg", "-v", "warning", "-i", path, "-f", "null", "-"}).err);
  std::string kept;
  for (std::string line; std::getline(lines, line);) {
    if (line.find("Guessed Channel Layout") == std::string::npos) kept += line + "\n";
  }
  return kept;
}

nlohmann::json json_of(const RunResult& r) {
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << r.out << "\nstderr: " << r.err;
  return j;
}

}  // namespace peel::test

namespace peel::test {

namespace {
constexpr int kNobody = 65534;
}  // namespace

RunResult peel_unprivileged(const std::vector<std::string>& args) {
  std::vector<std::string> argv;
  if (::geteuid() == 0) {
    argv = {"setpriv", "--reuid=" + std::to_string(kNobody), "--regid=" + std::to_string(kNobody),
            "--clear-groups"};
  }
  argv.push_back(peel());
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

bool can_drop_privileges() {
  if (::geteuid() != 0) return true;
  return run({"setpriv", "--reuid=" + std::to_string(kNobody), "--regid=" + std::to_string(kNobody),
              "--clear-groups", "true"})
             .exit_code == 0;
}

Mount::Mount(const std::string& where, const std::string& options) : where_(where) {
  mounted_ = run({"mount", "-t", "tmpfs", "-o", options, "tmpfs", where}).exit_code == 0;
}

Mount::~Mount() {
  if (mounted_) run({"umount", where_});
}

Child::Child(const std::vector<std::string>& peel_args) {
  std::vector<std::string> argv = {peel()};
  argv.insert(argv.end(), peel_args.begin(), peel_args.end());
  spawn(argv);
}

std::unique_ptr<Child> Child::program(const std::vector<std::string>& argv) {
  std::unique_ptr<Child> child(new Child());
  child->spawn(argv);
  return child;
}

void Child::spawn(const std::vector<std::string>& original) {
  std::vector<std::string> argv = original;
  const std::string out_log = logs_ / "stdout";
  const std::string err_log = logs_ / "stderr";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  std::vector<char*> cargs;
  for (auto& a : argv) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawnp(&pid, cargs[0], &actions, nullptr, cargs.data(), environ) == 0) {
    pid_ = pid;
  } else {
    ADD_FAILURE() << "cannot start " << argv[0];
    exited_ = true;
  }
  posix_spawn_file_actions_destroy(&actions);
}

Child::~Child() {
  if (!exited_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
  }
}

bool Child::running() {
  if (exited_) return false;
  if (::waitpid(pid_, &status_, WNOHANG) == pid_) exited_ = true;
  return !exited_;
}

void Child::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

void Child::signal_main_thread(int sig) {
  if (running()) ::tgkill(pid_, pid_, sig);  // the main thread's id is the process id
}

bool Child::stop() {
  if (!running()) return false;
  ::kill(pid_, SIGSTOP);
  while (true) {
    int status = 0;
    const pid_t got = ::waitpid(pid_, &status, WUNTRACED);
    if (got == pid_ && WIFSTOPPED(status)) return true;
    if (got == pid_) {
      status_ = status;
      exited_ = true;
      return false;
    }
    if (got < 0 && errno != EINTR) return false;
  }
}

void Child::resume() {
  if (!exited_ && pid_ > 0) ::kill(pid_, SIGCONT);
}

RunResult Child::wait() {
  if (!exited_ && pid_ > 0) {
    ::waitpid(pid_, &status_, 0);
    exited_ = true;
  }
  RunResult r;
  r.exit_code = WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
  r.signal = WIFSIGNALED(status_) ? WTERMSIG(status_) : 0;
  std::ifstream out(logs_ / "stdout"), err(logs_ / "stderr");
  r.out.assign(std::istreambuf_iterator<char>(out), {});
  r.err.assign(std::istreambuf_iterator<char>(err), {});
  return r;
}

std::string Child::out() const {
  std::ifstream out(logs_ / "stdout");
  return std::string(std::istreambuf_iterator<char>(out), {});
}

bool eventually(const std::function<bool()>& done, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (true) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

bool stop_when(Child& child, const std::function<bool()>& condition, double seconds) {
  bool stopped = false;
  eventually(
      [&] {
        if (!condition()) return !child.running();
        if (!child.stop()) return true;
        if (condition()) return stopped = true;
        child.resume();
        return false;
      },
      seconds);
  return stopped;
}

}  // namespace peel::test
