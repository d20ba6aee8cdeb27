// libFuzzer target: probe() and plan() take any file, as an upload from a stranger, without
// crashing, hanging, leaking or tripping a sanitizer (scripts/fuzz-probe). Each input is the
// whole file (a crash input is a file to give `peel` as it is), written to a scratch folder on
// tmpfs where there is one, probed under Limits::untrusted() and, when it probes, planned with
// the default request and a few others.
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "peel/engine.h"
#include "peel/media_info.h"
#include "peel/plan.h"
#include "peel/request.h"

namespace {

namespace fs = std::filesystem;

// A folder of our own for the input file, removed at exit.
class Scratch {
 public:
  Scratch() {
    const char* base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    std::string dir = std::string(base) + "/peel-probe-fuzz-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) std::abort();
    dir_ = dir;
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  // Writes `data` as the input file; returns its path.
  std::string write(const uint8_t* data, size_t size) const {
    const std::string path = dir_ + "/input";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) std::abort();
    for (size_t done = 0; done < size;) {
      const ssize_t n = ::write(fd, data + done, size - done);
      if (n <= 0) std::abort();
      done += static_cast<size_t>(n);
    }
    ::close(fd);
    return path;
  }

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

peel::Engine& engine() {
  static peel::Engine e([] {
    peel::EngineOptions o;
    o.threads = 1;
    o.limits = peel::Limits::untrusted();
    return o;
  }());
  return e;
}

// The requests a front end makes most: as it comes, a range, another format, every track, a
// transcode with everything asked for.
std::vector<peel::Request> requests(const std::string& input, const std::string& out_dir) {
  peel::Request base;
  base.inputs = {input};
  base.out_dir = out_dir;
  std::vector<peel::Request> all(5, base);
  all[1].from = 1'500'000;
  all[1].to = 4'000'000;
  all[2].format = "wav";
  all[3].track.all = true;
  all[4].format = "mp3";
  all[4].copy_policy = peel::CopyPolicy::kReencode;
  all[4].bitrate = 128'000;
  all[4].sample_rate = 22050;
  all[4].channels = 1;
  all[4].duration = 2'000'000;
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Scratch scratch;
  const std::string path = scratch.write(data, size);
  const auto info = peel::probe(engine(), path);
  if (!info) return 0;
  for (const auto& r : requests(path, scratch.dir() + "/out")) {
    const auto plans = peel::plan(r, *info);
    if (!plans) continue;
    // A plan names an output, and takes a track the file has.
    for (const auto& p : *plans) {
      if (p.output.empty()) __builtin_trap();
      if (p.track.number < 1 || static_cast<size_t>(p.track.number) > info->audio.size()) {
        __builtin_trap();
      }
    }
  }
  return 0;
}
