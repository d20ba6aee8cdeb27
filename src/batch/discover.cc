// discover(): files, folders and globs into a deduplicated list of input files.
#include <fmt/format.h>
#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "peel/batch.h"

namespace peel {

namespace fs = std::filesystem;

namespace {

bool is_glob(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

bool hidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] == '.' && name != "." && name != "..";
}

class Collector {
 public:
  Collector(bool recursive, const std::string& exclude_dir) : recursive_(recursive) {
    std::error_code ec;
    if (!exclude_dir.empty()) exclude_ = fs::weakly_canonical(exclude_dir, ec);
  }

  void add_argument(const std::string& arg) {
    // The output folder is passed over when it lies inside what is searched; when the search
    // starts inside the output folder, everything found is an input.
    active_exclude_ = inside(search_root(arg), exclude_) ? fs::path() : exclude_;
    if (is_glob(arg)) {
      add_glob(arg);
      return;
    }
    std::error_code ec;
    const auto status = fs::status(arg, ec);
    if (fs::is_directory(status)) {
      if (!recursive_) {
        result_.errors.emplace_back(
            arg, Error(ErrorCode::kInputIsDirectory,
                       fmt::format("{} is a folder; ask to look inside folders to extract every "
                                   "video in it (and in its subfolders), or name the video files "
                                   "inside it",
                                   arg))
                     .about("inputs", Hint::kRecursive));
        return;
      }
      walk(arg, arg);
      return;
    }
    // Named files go through as they are: probe reports what is wrong with them.
    add_file(arg, fs::path(arg).parent_path().string(), true);
  }

  Discovery take() { return std::move(result_); }

 private:
  void error(const std::string& path, ErrorCode code, std::string message) {
    result_.errors.emplace_back(path, Error{code, std::move(message)});
  }

  // Whether `p` is `dir` or below it (both canonical, or `dir` empty: never).
  static bool inside(const fs::path& p, const fs::path& dir) {
    if (dir.empty()) return false;
    auto [a, b] = std::mismatch(dir.begin(), dir.end(), p.begin(), p.end());
    return a == dir.end();
  }

  // The folder an argument searches: itself, or a pattern's part before its first wildcard.
  static fs::path search_root(const std::string& arg) {
    fs::path base;
    for (const auto& part : fs::path(arg)) {
      if (is_glob(part.string())) break;
      base /= part;
    }
    std::error_code ec;
    return fs::weakly_canonical(base.empty() ? fs::path(".") : base, ec);
  }

  bool excluded(const fs::path& p) const {
    if (active_exclude_.empty()) return false;
    std::error_code ec;
    return inside(fs::weakly_canonical(p, ec), active_exclude_);
  }

  void add_file(const std::string& path, const std::string& root, bool named) {
    std::error_code ec;
    if (!named) {
      const auto st = fs::symlink_status(path, ec);
      if (fs::is_symlink(st) && !fs::exists(path, ec)) {
        error(path, ErrorCode::kInputNotFound,
              fmt::format("{} is a broken link; its target does not exist", path));
        return;
      }
      if (!fs::is_regular_file(path, ec)) return;
    }
    ++matched_;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
      // The same file through two names (globs that overlap, links) is done once.
      if (!seen_.insert({st.st_dev, st.st_ino}).second) return;
    }
    result_.files.push_back({path, root.empty() ? "." : root, named});
  }

  void walk(const fs::path& dir, const std::string& root) {
    if (excluded(dir)) return;
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) {
      error(dir.string(), ErrorCode::kInputUnreadable,
            fmt::format("cannot read the folder {} ({}); check its permissions", dir.string(),
                        ec.message()));
      return;
    }
    std::vector<fs::directory_entry> entries(it, fs::directory_iterator());
    std::sort(entries.begin(), entries.end());
    for (const auto& e : entries) {
      if (hidden(e.path())) continue;
      std::error_code sec;
      if (e.is_directory(sec)) {
        if (recursive_ && !e.is_symlink(sec)) walk(e.path(), root);
      } else if (!excluded(e.path())) {
        add_file(e.path().string(), root, false);
      }
    }
  }

  // Matches pattern segments from `index` on below `dir`; "**" spans any number of folders.
  void match(const fs::path& dir, const std::vector<std::string>& segments, size_t index,
             const std::string& root) {
    if (index == segments.size()) return;
    const std::string& seg = segments[index];
    const bool last = index + 1 == segments.size();
    std::error_code ec;
    if (seg == "**") {
      match(dir, segments, index + 1, root);
      fs::directory_iterator it(dir.empty() ? "." : dir, ec);
      if (ec) return;
      for (const auto& e : it) {
        std::error_code sec;
        if (!hidden(e.path()) && e.is_directory(sec) && !e.is_symlink(sec) && !excluded(e.path())) {
          match(dir / e.path().filename(), segments, index, root);
        }
      }
      return;
    }
    if (!is_glob(seg)) {
      const fs::path next = dir / seg;
      if (last) {
        if (fs::exists(fs::symlink_status(next, ec))) add_file(next.string(), root, false);
      } else if (fs::is_directory(next, ec)) {
        match(next, segments, index + 1, root);
      }
      return;
    }
    fs::directory_iterator it(dir.empty() ? "." : dir, ec);
    if (ec) {
      error(dir.string(), ErrorCode::kInputUnreadable,
            fmt::format("cannot read the folder {} ({})", dir.string(), ec.message()));
      return;
    }
    std::vector<fs::directory_entry> entries(it, fs::directory_iterator());
    std::sort(entries.begin(), entries.end());
    for (const auto& e : entries) {
      const std::string name = e.path().filename().string();
      if (hidden(e.path()) || fnmatch(seg.c_str(), name.c_str(), FNM_PERIOD) != 0) continue;
      const fs::path next = dir / name;
      std::error_code sec;
      if (last) {
        if (!e.is_directory(sec) && !excluded(next)) add_file(next.string(), root, false);
      } else if (e.is_directory(sec)) {
        match(next, segments, index + 1, root);
      }
    }
  }

  void add_glob(const std::string& pattern) {
    // The root (mirrored below --out-dir) is the part of the pattern before its first wildcard.
    std::vector<std::string> segments;
    fs::path base;
    bool wild = false;
    const fs::path p(pattern);
    for (const auto& part : p) {
      const std::string s = part.string();
      if (!wild && !is_glob(s)) {
        base /= part;
      } else {
        wild = true;
        segments.push_back(s);
      }
    }
    const size_t before = matched_;
    const size_t errors_before = result_.errors.size();
    std::error_code ec;
    if (!base.empty() && !fs::is_directory(base, ec)) {
      error(pattern, ErrorCode::kInputNotFound,
            fmt::format("no folder {} for the pattern {}", base.string(), pattern));
      return;
    }
    match(base, segments, 0, base.empty() ? "." : base.string());
    if (matched_ == before && result_.errors.size() == errors_before) {
      error(pattern, ErrorCode::kInputNotFound,
            fmt::format("the pattern {} matches no file", pattern));
    }
  }

  bool recursive_;
  fs::path exclude_;
  fs::path active_exclude_;  // exclude_, unless the current argument searches inside it
  std::set<std::pair<dev_t, ino_t>> seen_;
  size_t matched_ = 0;  // files matched, counting those already taken
  Discovery result_;
};

}  // namespace

Discovery discover(const std::vector<std::string>& inputs, bool recursive,
                   const std::string& exclude_dir) {
  Collector c(recursive, exclude_dir);
  for (const auto& arg : inputs) c.add_argument(arg);
  return c.take();
}

}  // namespace peel
