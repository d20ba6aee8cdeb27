// Test support implementation.
#include "support/support.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

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
  auto r = run({"ffmpeg", "-v", "error", "-i", path, "-map", "0:a:" + std::to_string(stream),
                "-f", format, "-"});
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

std::string fixture(const std::string& name, const std::vector<std::string>& ffmpeg_args) {
  const std::string path = fixture_dir() + "/" + name;
  if (fs::exists(path)) return path;
  // Made under a temporary name with the same extension (ffmpeg picks the muxer from it),
  // then renamed: a concurrent test process sees the whole file or none.
  const std::string tmp = fixture_dir() + "/.tmp-" + std::to_string(::getpid()) + "-" + name;
  std::vector<std::string> argv = {"ffmpeg", "-nostdin", "-v", "error"};
  argv.insert(argv.end(), ffmpeg_args.begin(), ffmpeg_args.end());
  argv.insert(argv.end(), {"-y", tmp});
  auto r = run(argv);
  EXPECT_EQ(r.exit_code, 0) << "making fixture " << name << " failed: " << r.err;
  if (r.exit_code != 0) return "";
  fs::rename(tmp, path);
  return path;
}

std::string text_fixture(const std::string& name, const std::string& content) {
  const std::string path = fixture_dir() + "/" + name;
  if (fs::exists(path)) return path;
  const std::string tmp = fixture_dir() + "/.tmp-" + std::to_string(::getpid()) + "-" + name;
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

nlohmann::json ffprobe(const std::string& path) {
  auto r = run({"ffprobe", "-v", "error", "-print_format", "json", "-show_streams",
                "-show_format", "-show_chapters", path});
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
