// AtomicFile: an output written to a hidden temporary file beside its target, then flushed
// and renamed into place. Destroyed without commit(), it removes the temporary file.
#pragma once

#include <functional>
#include <string>

#include "peel/error.h"

namespace peel::engine {

// The checks on the target path alone, touching nothing: when it exists, it is not the input
// (same file through any link; `input` may be ""), not a folder, and `overwrite` is set.
Result<void> check_target_path(const std::string& target, const std::string& input,
                               bool overwrite);

// What create() checks, done without leaving anything behind: the target is not the input
// (same file through any link), not a folder, not existing unless `overwrite`, and its folder
// takes new files. That last is tried for real, by creating the temporary file and removing it
// (nothing else tells for certain: permissions, read-only mounts, /proc...). A missing folder
// fails, unless `create_folders`: then the nearest folder above it that exists must take a new
// folder (tried the same way), and the missing folder is returned ("" when it exists).
Result<std::string> check_target(const std::string& target, const std::string& input,
                                 bool overwrite, bool create_folders);

// Creates the target's folder (and those above it) where it is missing; returns the folder it
// created, or "" when there was one. Fails with kOutputUnwritable.
Result<std::string> make_target_folder(const std::string& target);

class AtomicFile {
 public:
  // Told the temporary file's path just before it is created (true) and once it is gone,
  // renamed into place or removed (false), as RunOptions::on_temp_file.
  using TempNotice = std::function<void(const std::string& path, bool exists)>;

  // Checks the target as check_target() does (its folder must exist), then creates the
  // temporary file.
  static Result<AtomicFile> create(const std::string& target, const std::string& input,
                                   bool overwrite, TempNotice on_temp = {});

  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;
  ~AtomicFile();

  const std::string& temp_path() const { return temp_; }
  const std::string& target() const { return target_; }

  // Renames over the target (refusing to replace a file that appeared meanwhile unless
  // overwriting), after an fsync when `sync`. The writer has flushed and closed the file.
  // Returns the final size in bytes.
  Result<int64_t> commit(bool sync);

 private:
  AtomicFile(std::string target, std::string temp, bool overwrite, TempNotice on_temp)
      : target_(std::move(target)),
        temp_(std::move(temp)),
        overwrite_(overwrite),
        on_temp_(std::move(on_temp)) {}

  std::string target_;
  std::string temp_;
  bool overwrite_ = false;
  TempNotice on_temp_;
  bool done_ = false;
};

}  // namespace peel::engine
