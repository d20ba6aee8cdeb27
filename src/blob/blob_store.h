// BlobStore: the bytes `peel serve` keeps, uploaded files and produced outputs, by key. The
// single node keeps them in a local folder; many machines keep them in object storage behind
// the same interface. Keys are the server's own ("uploads/<id>", "outputs/<id>/<name>"):
// never a client's words. Thread-safe; one writer per key at a time (the Store's upload offset
// decides which).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "peel/error.h"

namespace peel::blob {

// Appends to one blob. Bytes are visible to readers once finish() returns.
class BlobWriter {
 public:
  virtual ~BlobWriter() = default;
  virtual Result<void> write(const char* data, size_t size) = 0;
  // Flushes what was written to stable storage. Without it (an error, a dropped connection)
  // the bytes written since open may be lost, never half-kept beyond the blob's size().
  virtual Result<void> finish() = 0;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // Opens `key` for appending at `offset`, the Store's upload offset (0 creates it). A blob
  // longer than `offset` holds a tail that was written but never counted (a dropped
  // connection): it is cut to `offset` first. Fails with kInternal when the blob is shorter
  // than `offset` or missing with `offset` > 0 (another writer moved it), kWriteFailed when
  // the store cannot write (with the reason).
  virtual Result<std::unique_ptr<BlobWriter>> append(const std::string& key, int64_t offset) = 0;
  // Bytes in `key`; -1 when there is no such blob.
  virtual Result<int64_t> size(const std::string& key) = 0;
  // Reads up to `size` bytes at `offset`; returns how many (0 at the end).
  virtual Result<size_t> read(const std::string& key, int64_t offset, char* data, size_t size) = 0;
  // A local file holding the blob, for the engine to open: the blob's own file in a folder
  // store (no copy).
  virtual Result<std::string> local_path(const std::string& key) = 0;
  // A folder on the local disk where a worker may write a file before put_file() takes it:
  // on the same file system as the store's files, so put_file() is a rename.
  virtual std::string scratch_folder() = 0;
  // Takes the local file `path` as the blob `key`, atomically: readers see the old blob or
  // the whole new one. The file is moved (or copied and removed).
  virtual Result<void> put_file(const std::string& key, const std::string& path) = 0;
  // Removes the blob; no error when there is none.
  virtual Result<void> remove(const std::string& key) = 0;
};

// Blobs as files under `root` (created when missing): root/<key>.
Result<std::unique_ptr<BlobStore>> open_folder_store(const std::string& root);

}  // namespace peel::blob
