// The single-node BlobStore: each blob a file under one folder, root/<key>, written and read
// with POSIX calls.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "blob/blob_store.h"

namespace peel::blob {
namespace {

namespace fs = std::filesystem;

// Where scratch_folder() points, under the root; no key may name it.
constexpr std::string_view kScratch = "tmp";

std::string reason(int error) { return std::error_code(error, std::generic_category()).message(); }

Error write_error(const fs::path& path, int error) {
  return Error(ErrorCode::kWriteFailed,
               fmt::format("Cannot write {}: {}.", path.string(), reason(error)));
}

Error read_error(const fs::path& path, int error) {
  return Error(ErrorCode::kInternal,
               fmt::format("Cannot read {}: {}.", path.string(), reason(error)));
}

// A file descriptor, closed with its owner.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  Fd(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

// Writes all of `size` bytes, through partial writes and signals.
Result<void> write_all(int fd, const char* data, size_t size, const fs::path& path) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return write_error(path, errno);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return {};
}

// Makes a folder's entries (a file created or renamed in it) survive a power cut.
Result<void> sync_folder(const fs::path& folder) {
  Fd fd(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.ok() || ::fsync(fd.get()) != 0) return write_error(folder, errno);
  return {};
}

Result<void> make_folders(const fs::path& folder) {
  std::error_code error;
  fs::create_directories(folder, error);
  if (error) return write_error(folder, error.value());
  return {};
}

class FolderWriter final : public BlobWriter {
 public:
  FolderWriter(Fd fd, fs::path path, bool created)
      : fd_(std::move(fd)), path_(std::move(path)), created_(created) {}

  Result<void> write(const char* data, size_t size) override {
    return write_all(fd_.get(), data, size, path_);
  }

  Result<void> finish() override {
    if (::fsync(fd_.get()) != 0) return write_error(path_, errno);
    // A new file's name is in its folder, which has to reach the disk too.
    if (created_) {
      Result<void> synced = sync_folder(path_.parent_path());
      if (!synced) return synced;
      created_ = false;
    }
    return {};
  }

 private:
  Fd fd_;
  fs::path path_;
  bool created_;
};

class FolderStore final : public BlobStore {
 public:
  explicit FolderStore(fs::path root) : root_(std::move(root)) {}

  // The offset is the Store's, which counts only bytes a writer finished. A longer file holds
  // a tail that was written and never finished (a dropped connection): it is cut off, and the
  // client sends those bytes again. A shorter one lost bytes the Store counted, or another
  // writer is behind: refused.
  Result<std::unique_ptr<BlobWriter>> append(const std::string& key, int64_t offset) override {
    Result<fs::path> path = path_of(key);
    if (!path) return path.error();
    if (offset < 0) return mismatch(key, offset, -1);
    Result<void> folders = make_folders(path->parent_path());
    if (!folders) return folders.error();

    // Only a blob that starts at 0 may be created.
    bool created = false;
    Fd fd(::open(path->c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.ok() && errno == ENOENT && offset == 0) {
      fd = Fd(::open(path->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
      created = fd.ok();
    }
    if (!fd.ok()) {
      if (errno == ENOENT) return mismatch(key, offset, -1);
      return write_error(*path, errno);
    }

    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return write_error(*path, errno);
    if (st.st_size < offset) return mismatch(key, offset, st.st_size);
    if (st.st_size > offset && ::ftruncate(fd.get(), offset) != 0) {
      return write_error(*path, errno);
    }
    if (::lseek(fd.get(), offset, SEEK_SET) < 0) return write_error(*path, errno);
    return std::unique_ptr<BlobWriter>(
        std::make_unique<FolderWriter>(std::move(fd), std::move(*path), created));
  }

  Result<int64_t> size(const std::string& key) override {
    Result<fs::path> path = path_of(key);
    if (!path) return path.error();
    struct stat st {};
    if (::stat(path->c_str(), &st) != 0) {
      if (errno == ENOENT) return int64_t{-1};
      return read_error(*path, errno);
    }
    return static_cast<int64_t>(st.st_size);
  }

  Result<size_t> read(const std::string& key, int64_t offset, char* data, size_t size) override {
    Result<fs::path> path = path_of(key);
    if (!path) return path.error();
    Fd fd(::open(path->c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.ok()) return read_error(*path, errno);
    size_t done = 0;
    while (done < size) {
      const ssize_t n = ::pread(fd.get(), data + done, size - done,
                                static_cast<off_t>(offset) + static_cast<off_t>(done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return read_error(*path, errno);
      }
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    return done;
  }

  Result<std::string> local_path(const std::string& key) override {
    Result<fs::path> path = path_of(key);
    if (!path) return path.error();
    return path->string();
  }

  std::string scratch_folder() override { return (root_ / kScratch).string(); }

  Result<void> put_file(const std::string& key, const std::string& path) override {
    Result<fs::path> target = path_of(key);
    if (!target) return target.error();
    Result<void> folders = make_folders(target->parent_path());
    if (!folders) return folders;
    // Its bytes reach the disk before its name does: after a power cut the blob is the old
    // one or the whole new one.
    {
      Fd source(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!source.ok()) return read_error(path, errno);
      if (::fsync(source.get()) != 0) return write_error(path, errno);
    }
    if (::rename(path.c_str(), target->c_str()) != 0) {
      if (errno != EXDEV) return write_error(*target, errno);
      Result<void> copied = copy_into_place(path, *target);
      if (!copied) return copied;
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) return write_error(path, errno);
    }
    return sync_folder(target->parent_path());
  }

  // Folders the key made that are left empty go too, up to (not including) its first one
  // ("uploads", "outputs"), which a writer of another key may be about to use.
  Result<void> remove(const std::string& key) override {
    Result<fs::path> path = path_of(key);
    if (!path) return path.error();
    if (::unlink(path->c_str()) != 0 && errno != ENOENT) return write_error(*path, errno);
    const fs::path top = root_ / fs::path(key).begin()->string();
    for (fs::path folder = path->parent_path(); folder != top && folder != root_;
         folder = folder.parent_path()) {
      if (::rmdir(folder.c_str()) != 0) break;
    }
    return {};
  }

 private:
  // Keys are the server's own, but a mistake must not reach outside the root.
  Result<fs::path> path_of(const std::string& key) const {
    const bool bad = key.empty() || key.front() == '/' || key.back() == '/' ||
                     key.find("..") != std::string::npos ||
                     key.find_first_of(std::string_view("\\\0", 2)) != std::string::npos ||
                     key == kScratch || key.starts_with(std::string(kScratch) + "/");
    if (bad) return Error(ErrorCode::kInternal, fmt::format("bad blob key \"{}\"", key));
    return root_ / key;
  }

  static Error mismatch(const std::string& key, int64_t offset, int64_t size) {
    return Error(ErrorCode::kInternal,
                 size < 0 ? fmt::format("The blob {} cannot be appended at byte {}: it does not "
                                        "exist (only byte 0 starts one).",
                                        key, offset)
                          : fmt::format("The blob {} cannot be appended at byte {}: it holds {} "
                                        "bytes (another writer moved it).",
                                        key, offset, size));
  }

  // A copy across file systems, beside the target under a temporary name, flushed, then
  // renamed over it.
  static Result<void> copy_into_place(const std::string& source_path, const fs::path& target) {
    Fd source(::open(source_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!source.ok()) return read_error(source_path, errno);
    std::string temp =
        (target.parent_path() / ("." + target.filename().string() + ".XXXXXX")).string();
    Fd out(::mkostemp(temp.data(), O_CLOEXEC));
    if (!out.ok()) return write_error(temp, errno);

    Result<void> copied = [&]() -> Result<void> {
      char buffer[1 << 16];
      for (;;) {
        const ssize_t n = ::read(source.get(), buffer, sizeof buffer);
        if (n < 0) {
          if (errno == EINTR) continue;
          return read_error(source_path, errno);
        }
        if (n == 0) break;
        Result<void> written = write_all(out.get(), buffer, static_cast<size_t>(n), temp);
        if (!written) return written;
      }
      if (::fsync(out.get()) != 0) return write_error(temp, errno);
      if (::rename(temp.c_str(), target.c_str()) != 0) return write_error(target, errno);
      return {};
    }();
    if (!copied) ::unlink(temp.c_str());
    return copied;
  }

  fs::path root_;
};

}  // namespace

Result<std::unique_ptr<BlobStore>> open_folder_store(const std::string& root) {
  Result<void> folders = make_folders(fs::path(root) / kScratch);
  if (!folders) return folders.error();
  return std::unique_ptr<BlobStore>(std::make_unique<FolderStore>(fs::path(root)));
}

}  // namespace peel::blob
