// watch(): an ingest loop over a folder, with inotify.
//
// One thread (the caller's) reads inotify events and decides when a file is complete; `jobs`
// worker threads take complete files from a queue and run each through run_batch(). A file is
// complete when nobody is writing it and its size and mtime have stayed the same for the settle
// time. "Nobody is writing it" comes from inotify: a write (IN_MODIFY) or the creation of a new
// file marks it as being written until a writer closes it (IN_CLOSE_WRITE). The settle time
// covers what inotify cannot tell: writers that were already at work when peel started, writers
// that close and reopen, network file systems.
#include "peel/watch.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>

namespace peel {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

// How often the loop looks at the cancel token and at files waiting to settle.
constexpr auto kTick = std::chrono::milliseconds(100);

constexpr uint32_t kDirMask = IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
                              IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

bool hidden(const std::string& name) { return !name.empty() && name[0] == '.'; }

bool under(const fs::path& dir, const fs::path& p) {
  auto [a, b] = std::mismatch(dir.begin(), dir.end(), p.begin(), p.end());
  return a == dir.end();
}

// Calls into the caller's handlers, one at a time.
class Reporter {
 public:
  explicit Reporter(const WatchOptions& options) : options_(options) {}

  void event(const BatchEvent& e) {
    std::lock_guard lock(mutex_);
    if (e.kind == BatchEvent::Kind::kFinished) tally(*e.outcome);
    if (options_.on_event) options_.on_event(e);
  }

  void error(const std::string& path, const Error& e) {
    std::lock_guard lock(mutex_);
    if (options_.on_error) options_.on_error(path, e);
  }

  WatchSummary take() {
    std::lock_guard lock(mutex_);
    return std::move(summary_);
  }

 private:
  void tally(const FileOutcome& o) {
    switch (o.status) {
      case FileOutcome::Status::kDone:
        if (!o.outputs.empty()) ++summary_.done;
        break;
      case FileOutcome::Status::kSkipped:
        ++summary_.skipped;
        break;
      case FileOutcome::Status::kFailed:
        ++summary_.failed;
        if (options_.max_failures_kept == 0) break;
        if (summary_.failures.size() >= options_.max_failures_kept) {
          summary_.failures.erase(summary_.failures.begin());
        }
        summary_.failures.push_back(o);
        break;
      case FileOutcome::Status::kCancelled:
        summary_.cancelled = true;
        if (o.started) ++summary_.stopped;
        break;
    }
    for (const auto& r : o.outputs) {
      summary_.audio_seconds += audio_seconds(r);
      summary_.damaged = summary_.damaged || !r.lost.empty();
    }
  }

  const WatchOptions& options_;
  std::mutex mutex_;
  WatchSummary summary_;
};

// Complete files waiting for a worker, and the files being worked on.
class WorkQueue {
 public:
  void push(InputFile file) {
    std::lock_guard lock(mutex_);
    busy_.insert(file.path);
    queue_.push_back(std::move(file));
  }

  // The next file, or nothing when none is waiting.
  std::optional<InputFile> pop() {
    std::lock_guard lock(mutex_);
    if (queue_.empty()) return std::nullopt;
    InputFile file = std::move(queue_.front());
    queue_.pop_front();
    return file;
  }

  bool waiting() const {
    std::lock_guard lock(mutex_);
    return !queue_.empty();
  }

  void finished(const std::string& path) {
    std::lock_guard lock(mutex_);
    busy_.erase(path);
  }

  // Queued or being worked on: a new version of it waits until that is over.
  bool busy(const std::string& path) const {
    std::lock_guard lock(mutex_);
    return busy_.count(path) != 0;
  }

  bool idle() const {
    std::lock_guard lock(mutex_);
    return busy_.empty();
  }

  // Drops the queued files (they are not started); returns how many there were.
  int drop() {
    std::lock_guard lock(mutex_);
    const int dropped = static_cast<int>(queue_.size());
    queue_.clear();
    return dropped;
  }

 private:
  mutable std::mutex mutex_;
  std::deque<InputFile> queue_;
  std::set<std::string> busy_;
};

// The inotify side: watched folders, and files seen but not yet complete.
class Watcher {
 public:
  Watcher(std::string root, fs::path exclude, bool once, Reporter& reporter)
      : root_(std::move(root)), exclude_(std::move(exclude)), once_(once), reporter_(reporter) {}
  ~Watcher() {
    if (fd_ >= 0) ::close(fd_);
  }
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // Watches the root and every folder below it, and takes note of the files already there.
  Result<void> start(Clock::time_point now) {
    fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd_ < 0) {
      return Error{
          ErrorCode::kInternal,
          fmt::format("cannot watch folders: inotify is not available ({})", std::strerror(errno))};
    }
    return add_tree(root_, now);
  }

  int fd() const { return fd_; }
  bool quiet() const { return pending_.empty(); }

  // Reads the events waiting on fd(). Fails when the root folder goes away.
  Result<void> read_events(Clock::time_point now) {
    alignas(inotify_event) char buf[64 * 1024];
    while (true) {
      const ssize_t n = ::read(fd_, buf, sizeof(buf));
      if (n <= 0) break;
      for (ssize_t off = 0; off < n;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        if (auto e = handle(*ev, now); !e.ok()) return e;
      }
    }
    if (overflowed_) {
      // Events were lost: look at everything again, and trust only the settle time.
      overflowed_ = false;
      for (auto& [path, p] : pending_) p.writing = false;
      if (auto e = add_tree(root_, now); !e.ok()) return e;
    }
    return {};
  }

  // Files that have settled and are not being worked on, in path order; they are forgotten.
  std::vector<std::string> take_settled(Clock::time_point now, std::chrono::milliseconds settle,
                                        const WorkQueue& queue) {
    std::vector<std::string> ready;
    for (auto it = pending_.begin(); it != pending_.end();) {
      Pending& p = it->second;
      // Looked at when first seen, while written, and when its settle time is up: a file whose
      // size and mtime are the same at both ends of that time has not changed in between.
      if (p.size >= 0 && !p.writing && now - p.since < settle) {
        ++it;
        continue;
      }
      struct stat st {};
      if (::stat(it->first.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        it = pending_.erase(it);
        continue;
      }
      if (st.st_size != p.size || st.st_mtim.tv_sec != p.mtime.tv_sec ||
          st.st_mtim.tv_nsec != p.mtime.tv_nsec) {
        p.size = st.st_size;
        p.mtime = st.st_mtim;
        p.since = now;
      } else if (!p.writing && now - p.since >= settle && !queue.busy(it->first)) {
        ready.push_back(it->first);
        it = pending_.erase(it);
        continue;
      }
      ++it;
    }
    return ready;
  }

 private:
  struct Pending {
    off_t size = -1;
    timespec mtime{};
    Clock::time_point since;
    bool writing = false;  // a writer has it open, as far as inotify tells
  };

  bool excluded(const fs::path& dir) const {
    if (exclude_.empty()) return false;
    std::error_code ec;
    return under(exclude_, fs::weakly_canonical(dir, ec));
  }

  // Watches `dir` and the folders below it; the files in them become pending, seen at `now`.
  // Only the root failing is an error; other folders are reported and skipped.
  Result<void> add_tree(const fs::path& dir, Clock::time_point now) {
    if (excluded(dir)) return {};
    const bool is_root = dir == fs::path(root_);
    const int wd = ::inotify_add_watch(fd_, dir.c_str(), kDirMask);
    if (wd < 0) {
      const int err = errno;
      if (err == ENOENT || err == ENOTDIR) return {};  // gone again already
      Error e{err == EACCES ? ErrorCode::kInputUnreadable : ErrorCode::kInternal,
              err == ENOSPC
                  ? fmt::format("cannot watch the folder {}: the limit of inotify watches is "
                                "reached; raise fs.inotify.max_user_watches (sysctl)",
                                dir.string())
                  : fmt::format("cannot watch the folder {} ({}); check its permissions",
                                dir.string(), std::strerror(err))};
      if (is_root) return e;
      reporter_.error(dir.string(), e);
      return {};
    }
    dirs_[wd] = dir.string();
    if (is_root) root_wd_ = wd;
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) {
      Error e{ErrorCode::kInputUnreadable,
              fmt::format("cannot read the folder {} ({}); check its permissions", dir.string(),
                          ec.message())};
      if (is_root) return e;
      reporter_.error(dir.string(), e);
      return {};
    }
    std::vector<fs::directory_entry> entries(it, fs::directory_iterator());
    std::sort(entries.begin(), entries.end());
    for (const auto& entry : entries) {
      if (hidden(entry.path().filename().string())) continue;
      std::error_code sec;
      if (entry.is_directory(sec)) {
        if (!entry.is_symlink(sec)) (void)add_tree(entry.path(), now);
      } else if (entry.is_regular_file(sec)) {
        pending_.try_emplace(entry.path().string(), Pending{-1, {}, now, false});
      }
    }
    return {};
  }

  // Stops watching `dir` and below (moved away or deleted) and forgets their files.
  void forget_tree(const std::string& dir) {
    for (auto it = dirs_.begin(); it != dirs_.end();) {
      if (under(dir, it->second)) {
        ::inotify_rm_watch(fd_, it->first);
        it = dirs_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = pending_.begin(); it != pending_.end();) {
      it = under(dir, it->first) ? pending_.erase(it) : std::next(it);
    }
  }

  Result<void> handle(const inotify_event& ev, Clock::time_point now) {
    if ((ev.mask & IN_Q_OVERFLOW) != 0) {
      overflowed_ = true;
      return {};
    }
    const auto dir = dirs_.find(ev.wd);
    if (ev.wd == root_wd_ && (ev.mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) != 0) {
      return Error{ErrorCode::kInputNotFound,
                   fmt::format("the watched folder {} was removed or moved away", root_)};
    }
    if ((ev.mask & IN_IGNORED) != 0) {
      if (dir != dirs_.end()) dirs_.erase(dir);
      return {};
    }
    if (dir == dirs_.end() || ev.len == 0) return {};
    const std::string name = ev.name;
    if (hidden(name)) return {};
    const std::string path = (fs::path(dir->second) / name).string();

    if ((ev.mask & IN_ISDIR) != 0) {
      if ((ev.mask & (IN_MOVED_FROM | IN_DELETE)) != 0) forget_tree(path);
      if ((ev.mask & (IN_CREATE | IN_MOVED_TO)) != 0 && !once_) (void)add_tree(path, now);
      return {};
    }
    if ((ev.mask & (IN_MOVED_FROM | IN_DELETE)) != 0) {
      pending_.erase(path);
      return {};
    }
    auto it = pending_.find(path);
    if (it == pending_.end()) {
      if (once_) return {};  // --once: only the files that were there at the start
      it = pending_.emplace(path, Pending{-1, {}, now, false}).first;
    }
    Pending& p = it->second;
    p.since = now;
    p.size = -1;  // changed: its settle time starts again from the next look at it
    if ((ev.mask & IN_MODIFY) != 0) p.writing = true;
    if ((ev.mask & IN_CREATE) != 0) {
      // A new file made by open() is being written until it is closed; a new link is whole.
      struct stat st {};
      p.writing = ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1;
    }
    if ((ev.mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) != 0) p.writing = false;
    return {};
  }

  std::string root_;
  fs::path exclude_;
  bool once_;
  Reporter& reporter_;
  int fd_ = -1;
  int root_wd_ = -1;
  bool overflowed_ = false;
  std::map<int, std::string> dirs_;  // watch descriptor -> folder
  std::map<std::string, Pending> pending_;
};

// "in/" and "in" name the same root; keep one spelling so mirrored paths come out right.
std::string clean_root(const std::string& dir) {
  const fs::path p = fs::path(dir).lexically_normal();
  return p.has_filename() || p == p.root_path() ? p.string() : p.parent_path().string();
}

}  // namespace

Result<WatchSummary> watch(Engine& engine, const std::string& dir, const Request& request,
                           const WatchOptions& options) {
  const std::function<Clock::time_point()> clock =
      options.clock ? options.clock : [] { return Clock::now(); };
  const auto started = clock();
  const std::string root = clean_root(dir);
  std::error_code ec;
  const auto status = fs::status(root, ec);
  if (!fs::exists(status)) {
    return Error{ErrorCode::kInputNotFound, fmt::format("the folder {} does not exist", root)};
  }
  if (!fs::is_directory(status)) {
    return Error{ErrorCode::kUsage,
                 fmt::format("{} is not a folder; peel watch takes the folder to watch", root)};
  }
  if (request.out_dir.empty()) {
    return Error(ErrorCode::kUsage, "watching a folder needs an output folder")
        .about("out_dir", Hint::kOutputFolder);
  }
  // The output folder is left alone when it is inside the watched one; it may not be that one.
  const fs::path canonical_root = fs::weakly_canonical(root, ec);
  fs::path exclude = fs::weakly_canonical(request.out_dir, ec);
  if (exclude == canonical_root) {
    return Error{ErrorCode::kUsage,
                 fmt::format("the output folder {} is the watched folder; use a folder outside "
                             "it or a subfolder of it",
                             request.out_dir)};
  }
  if (!under(canonical_root, exclude)) exclude.clear();

  Reporter reporter(options);
  Watcher watcher(root, exclude, options.once, reporter);
  if (auto started_ok = watcher.start(clock()); !started_ok.ok()) return started_ok.error();
  if (options.on_watching) options.on_watching();

  WorkQueue queue;
  const int jobs = std::max(1, options.jobs > 0 ? options.jobs : engine.threads());
  // Up to `jobs` tasks on the engine's pool, each taking files from the queue until it is
  // empty; one task per slot, so a slot number names a worker line. The loop below starts a
  // task for each free slot whenever files wait.
  std::atomic<int> not_started{0};  // taken from the queue after the cancel, or cut short
  std::mutex slots_mutex;
  std::vector<int> free_slots;
  for (int w = jobs - 1; w >= 0; --w) free_slots.push_back(w);
  WorkPool::Group tasks;
  auto work = [&](int slot) {
    BatchOptions batch;
    batch.jobs = 1;
    batch.segment_parallel = options.segment_parallel;
    batch.skip_existing = true;
    batch.cancel = options.cancel;
    batch.on_temp_file = options.on_temp_file;
    batch.on_event = [&](const BatchEvent& e) {
      if (e.kind == BatchEvent::Kind::kPlanned) return;
      // Cancelled before it was started: nothing happened to the file, nothing to say.
      if (e.kind == BatchEvent::Kind::kFinished &&
          e.outcome->status == FileOutcome::Status::kCancelled && !e.outcome->started) {
        return;
      }
      BatchEvent mine = e;
      mine.worker = slot;
      reporter.event(mine);
    };
    while (auto file = queue.pop()) {
      if (options.cancel.cancelled()) {
        ++not_started;
        queue.finished(file->path);
        continue;
      }
      auto done = run_batch(engine, request, {*file}, batch);
      if (!done) reporter.error(file->path, done.error());
      if (done) not_started += done->not_started;
      queue.finished(file->path);
    }
    std::lock_guard lock(slots_mutex);
    free_slots.push_back(slot);
  };
  auto start_tasks = [&] {
    while (queue.waiting()) {
      int slot = 0;
      {
        std::lock_guard lock(slots_mutex);
        if (free_slots.empty()) return;
        slot = free_slots.back();
        free_slots.pop_back();
      }
      engine.pool().add(tasks, [&work, slot](int) { work(slot); });
    }
  };

  std::optional<Error> failure;
  while (!options.cancel.cancelled()) {
    pollfd pfd{watcher.fd(), POLLIN, 0};
    const int n = ::poll(&pfd, 1, static_cast<int>(kTick.count()));
    const auto now = clock();
    if (n > 0) {
      if (auto e = watcher.read_events(now); !e.ok()) {
        failure = e.error();
        break;
      }
    }
    for (auto& path : watcher.take_settled(now, options.settle, queue)) {
      queue.push(InputFile{path, root, false});
    }
    start_tasks();
    if (options.once && watcher.quiet() && queue.idle()) break;
  }
  not_started += queue.drop();
  engine.pool().wait(tasks);

  if (failure) return *failure;
  WatchSummary summary = reporter.take();
  summary.not_started = not_started;
  summary.cancelled = summary.cancelled || options.cancel.cancelled();
  summary.wall_seconds = std::chrono::duration<double>(clock() - started).count();
  return summary;
}

}  // namespace peel
