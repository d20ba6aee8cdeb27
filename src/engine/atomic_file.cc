// Atomic output files.
#include "engine/atomic_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <vector>

namespace peel::engine {

namespace fs = std::filesystem;

Result<void> check_target_path(const std::string& target, const std::string& input,
                               bool overwrite) {
  struct stat out_st {};
  if (::stat(target.c_str(), &out_st) != 0) return {};
  struct stat in_st {};
  if (::stat(input.c_str(), &in_st) == 0 && in_st.st_dev == out_st.st_dev &&
      in_st.st_ino == out_st.st_ino) {
    return Error{ErrorCode::kOutputIsInput,
                 fmt::format("the output {} is the input file itself; choose another name or "
                             "folder (peel never overwrites an input)",
                             target)};
  }
  if (S_ISDIR(out_st.st_mode)) {
    return Error(ErrorCode::kOutputExists,
                 fmt::format("the output {} is a folder; name a file, or name the folder as the "
                             "place for outputs",
                             target))
        .about("output", Hint::kOutputFolder);
  }
  if (!overwrite) {
    return Error(ErrorCode::kOutputExists,
                 fmt::format("{} already exists; replace it, or choose another name", target))
        .about("output", Hint::kOverwrite);
  }
  return {};
}

namespace {

fs::path folder_of(const std::string& target) {
  fs::path dir = fs::path(target).parent_path();
  return dir.empty() ? fs::path(".") : dir;
}

Error not_a_folder(const fs::path& dir) {
  return Error{ErrorCode::kOutputUnwritable,
               fmt::format("the output folder {} is not a folder (it, or part of its path, is a "
                           "file); choose another folder",
                           dir.string())}
      .about("output");
}

Error missing_folder(const fs::path& dir) {
  return Error{ErrorCode::kOutputUnwritable,
               fmt::format("the output folder {} does not exist; create it first, or name it "
                           "as the folder for outputs (which is created)",
                           dir.string())}
      .about("output", Hint::kOutputFolder);
}

// Whether `dir` is a folder (false: missing); a file in its place is an error.
Result<bool> folder_exists(const fs::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOTDIR) return not_a_folder(dir);
    return false;
  }
  if (!S_ISDIR(st.st_mode)) return not_a_folder(dir);
  return true;
}

// Creates the hidden temporary file for `target` in `dir`, exclusively under a random name,
// with mode 0666 so that the process umask gives the output the permissions of any new file
// (mkstemp's 0600 would need a chmod, and reading the umask means changing it, which races
// with other threads). Returns its path. `on_temp` is told the name before the file exists, so
// that no moment has the file on disk unknown to it (a second Ctrl-C removes what it knows).
Result<std::string> create_temp(const fs::path& dir, const std::string& target,
                                const AtomicFile::TempNotice& on_temp = {}) {
  std::random_device random;
  int fd = -1;
  int err = 0;
  std::string temp;
  for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    temp = (dir / fmt::format(".{}.peel-{:08x}", fs::path(target).filename().string(), random()))
               .string();
    if (on_temp) on_temp(temp, true);
    fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) break;
    err = errno;
    if (on_temp) on_temp(temp, false);
    if (err != EEXIST) break;
  }
  if (fd < 0) {
    return Error{ErrorCode::kOutputUnwritable,
                 fmt::format("cannot write into the folder {} ({}); choose a folder you can "
                             "write to",
                             dir.string(), std::strerror(err))}
        .about("output");
  }
  ::close(fd);
  return temp;
}

}  // namespace

Result<std::string> check_target(const std::string& target, const std::string& input,
                                 bool overwrite, bool create_folders) {
  if (auto ok = check_target_path(target, input, overwrite); !ok) return ok.error();
  const fs::path dir = folder_of(target);
  auto exists = folder_exists(dir);
  if (!exists) return exists.error();
  if (*exists) {
    auto temp = create_temp(dir, target);
    if (!temp) return temp.error();
    ::unlink(temp->c_str());
    return std::string();
  }
  if (!create_folders) return missing_folder(dir);
  // The nearest folder above that exists is where the run makes its first new folder.
  fs::path above = dir;
  do {
    if (above == "." || above == above.root_path()) return missing_folder(above);
    above = above.parent_path();
    if (above.empty()) above = ".";
    exists = folder_exists(above);
    if (!exists) return exists.error();
  } while (!*exists);
  // The first thing a run does there is make a folder: try that, under a hidden name.
  std::random_device random;
  const fs::path probe = above / fmt::format(".peel-{:08x}", random());
  if (::mkdir(probe.c_str(), 0777) != 0) {
    return Error{ErrorCode::kOutputUnwritable,
                 fmt::format("cannot create the output folder {} ({}); choose a folder you can "
                             "write to",
                             dir.string(), std::strerror(errno))}
        .about("output");
  }
  ::rmdir(probe.c_str());
  return dir.string();
}

Result<std::string> make_target_folder(const std::string& target) {
  const fs::path dir = folder_of(target);
  auto exists = folder_exists(dir);
  if (!exists) return exists.error();
  if (*exists) return std::string();
  std::error_code ec;
  // False without an error: another run (a batch's other file) made it meanwhile.
  const bool made = fs::create_directories(dir, ec);
  if (ec) {
    return Error{ErrorCode::kOutputUnwritable,
                 fmt::format("cannot create the output folder {} ({}); choose a folder you can "
                             "write to",
                             dir.string(), ec.message())}
        .about("output");
  }
  return made ? dir.string() : std::string();
}

Result<AtomicFile> AtomicFile::create(const std::string& target, const std::string& input,
                                      bool overwrite, TempNotice on_temp) {
  if (auto ok = check_target_path(target, input, overwrite); !ok) return ok.error();
  const fs::path dir = folder_of(target);
  auto exists = folder_exists(dir);
  if (!exists) return exists.error();
  if (!*exists) return missing_folder(dir);
  auto temp = create_temp(dir, target, on_temp);
  if (!temp) return temp.error();
  return AtomicFile(target, std::move(*temp), overwrite, std::move(on_temp));
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : target_(std::move(other.target_)),
      temp_(std::move(other.temp_)),
      overwrite_(other.overwrite_),
      on_temp_(std::move(other.on_temp_)),
      done_(other.done_) {
  other.on_temp_ = nullptr;
  other.done_ = true;
}

AtomicFile::~AtomicFile() {
  if (done_) return;
  ::unlink(temp_.c_str());
  if (on_temp_) on_temp_(temp_, false);
}

Result<int64_t> AtomicFile::commit(bool sync) {
  struct stat st {};
  if (sync) {
    const int fd = ::open(temp_.c_str(), O_RDONLY);
    if (fd < 0 || ::fsync(fd) != 0) {
      const int err = errno;
      if (fd >= 0) ::close(fd);
      return Error{ErrorCode::kWriteFailed,
                   fmt::format("cannot flush {} to disk ({})", target_, std::strerror(err))};
    }
    ::close(fd);
  }
  if (::stat(temp_.c_str(), &st) != 0) {
    return Error{ErrorCode::kWriteFailed,
                 fmt::format("the output {} vanished while being written ({})", target_,
                             std::strerror(errno))};
  }
  const unsigned flags = overwrite_ ? 0 : RENAME_NOREPLACE;
  if (::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, target_.c_str(), flags) != 0) {
    const int err = errno;
    if (err == EEXIST) {
      return Error(ErrorCode::kOutputExists,
                   fmt::format("{} appeared while peel was writing it; replace it, or choose "
                               "another name",
                               target_))
          .about("output", Hint::kOverwrite);
    }
    return Error{ErrorCode::kWriteFailed,
                 fmt::format("cannot move the finished output into place as {} ({})", target_,
                             std::strerror(err))};
  }
  done_ = true;
  if (on_temp_) on_temp_(temp_, false);
  return static_cast<int64_t>(st.st_size);
}

}  // namespace peel::engine
