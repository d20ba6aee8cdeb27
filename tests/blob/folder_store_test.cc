// The folder BlobStore on a real folder: appends that resume at the Store's offset, the
// unfinished tail cut off, reads, atomic put_file (across file systems too), refused keys.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "blob/blob_store.h"
#include "support/support.h"

namespace peel::blob {
namespace {

namespace fs = std::filesystem;

template <class T>
T must(Result<T> result) {
  if (!result.ok()) throw std::runtime_error(result.error().message);
  return std::move(result).value();
}
void must(Result<void> result) {
  if (!result.ok()) throw std::runtime_error(result.error().message);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void spit(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

class FolderStore : public ::testing::Test {
 protected:
  void SetUp() override { store_ = must(open_folder_store(root())); }

  std::string root() const { return dir_ / "blobs"; }

  // Appends `bytes` at `offset` and finishes.
  void append(const std::string& key, int64_t offset, const std::string& bytes) {
    std::unique_ptr<BlobWriter> writer = must(store_->append(key, offset));
    must(writer->write(bytes.data(), bytes.size()));
    must(writer->finish());
  }
  // The whole blob, read in small pieces.
  std::string contents(const std::string& key) {
    std::string all;
    char buffer[3];
    for (;;) {
      const size_t n = must(store_->read(key, static_cast<int64_t>(all.size()), buffer, 3));
      if (n == 0) return all;
      all.append(buffer, n);
    }
  }

  test::TempDir dir_;
  std::unique_ptr<BlobStore> store_;
};

TEST_F(FolderStore, AppendCreatesThenResumesAtTheOffset) {
  EXPECT_EQ(must(store_->size("uploads/u1")), -1);
  append("uploads/u1", 0, "hello");
  EXPECT_EQ(must(store_->size("uploads/u1")), 5);
  append("uploads/u1", 5, ", world");
  EXPECT_EQ(must(store_->size("uploads/u1")), 12);
  EXPECT_EQ(contents("uploads/u1"), "hello, world");
  EXPECT_EQ(slurp(root() + "/uploads/u1"), "hello, world");
}

TEST_F(FolderStore, AppendingAtZeroToAnExistingBlobStartsItOver) {
  append("uploads/u1", 0, "first");
  append("uploads/u1", 0, "2nd");
  EXPECT_EQ(contents("uploads/u1"), "2nd");
}

TEST_F(FolderStore, AnOffsetPastTheBlobIsRefused) {
  Result<std::unique_ptr<BlobWriter>> missing = store_->append("uploads/u1", 3);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kInternal);
  EXPECT_EQ(must(store_->size("uploads/u1")), -1);

  append("uploads/u1", 0, "hello");
  Result<std::unique_ptr<BlobWriter>> ahead = store_->append("uploads/u1", 8);
  ASSERT_FALSE(ahead.ok());
  EXPECT_EQ(ahead.error().code, ErrorCode::kInternal);
  EXPECT_NE(ahead.error().message.find("holds 5 bytes"), std::string::npos)
      << ahead.error().message;
  EXPECT_EQ(contents("uploads/u1"), "hello");

  EXPECT_FALSE(store_->append("uploads/u1", -1).ok());
}

TEST_F(FolderStore, AnUnfinishedTailIsCutAtTheOffset) {
  append("uploads/u1", 0, "hello");
  {
    // A dropped connection: written, never finished, never counted by the Store.
    std::unique_ptr<BlobWriter> writer = must(store_->append("uploads/u1", 5));
    const std::string lost = " and bytes the Store never counted";
    must(writer->write(lost.data(), lost.size()));
  }
  EXPECT_GT(must(store_->size("uploads/u1")), 5);

  std::unique_ptr<BlobWriter> writer = must(store_->append("uploads/u1", 5));
  EXPECT_EQ(must(store_->size("uploads/u1")), 5);
  must(writer->write("!", 1));
  must(writer->finish());
  EXPECT_EQ(contents("uploads/u1"), "hello!");
}

TEST_F(FolderStore, ManyWritesOfOneWriterAppendInOrder) {
  std::unique_ptr<BlobWriter> writer = must(store_->append("uploads/big", 0));
  std::string expected;
  for (int i = 0; i < 200; ++i) {
    const std::string piece = std::to_string(i) + std::string(static_cast<size_t>(i), 'x');
    must(writer->write(piece.data(), piece.size()));
    expected += piece;
  }
  must(writer->finish());
  EXPECT_EQ(contents("uploads/big"), expected);
}

TEST_F(FolderStore, ReadsAtAnOffsetAndZeroAtTheEnd) {
  append("outputs/j1/a.mp3", 0, "0123456789");
  char buffer[16] = {};
  EXPECT_EQ(must(store_->read("outputs/j1/a.mp3", 3, buffer, 4)), 4u);
  EXPECT_EQ(std::string(buffer, 4), "3456");
  EXPECT_EQ(must(store_->read("outputs/j1/a.mp3", 7, buffer, 16)), 3u);
  EXPECT_EQ(std::string(buffer, 3), "789");
  EXPECT_EQ(must(store_->read("outputs/j1/a.mp3", 10, buffer, 16)), 0u);
  EXPECT_EQ(must(store_->read("outputs/j1/a.mp3", 50, buffer, 16)), 0u);
  EXPECT_FALSE(store_->read("outputs/none", 0, buffer, 16).ok());
}

TEST_F(FolderStore, LocalPathIsTheBlobsOwnFile) {
  append("uploads/u1", 0, "bytes");
  const std::string path = must(store_->local_path("uploads/u1"));
  EXPECT_EQ(fs::path(path), fs::path(root()) / "uploads/u1");
  EXPECT_EQ(slurp(path), "bytes");
}

TEST_F(FolderStore, ScratchIsAFolderOnTheStoresFileSystem) {
  const std::string scratch = store_->scratch_folder();
  EXPECT_EQ(fs::path(scratch), fs::path(root()) / "tmp");
  ASSERT_TRUE(fs::is_directory(scratch));
  struct stat scratch_stat {};
  struct stat root_stat {};
  ASSERT_EQ(::stat(scratch.c_str(), &scratch_stat), 0);
  ASSERT_EQ(::stat(root().c_str(), &root_stat), 0);
  EXPECT_EQ(scratch_stat.st_dev, root_stat.st_dev);
}

TEST_F(FolderStore, PutFileReplacesTheBlobWhole) {
  append("outputs/j1/a.mp3", 0, "old output");
  const std::string made = store_->scratch_folder() + "/a.mp3";
  spit(made, "the new output");
  must(store_->put_file("outputs/j1/a.mp3", made));
  EXPECT_EQ(contents("outputs/j1/a.mp3"), "the new output");
  EXPECT_FALSE(fs::exists(made));
  EXPECT_EQ(std::distance(fs::directory_iterator(root() + "/outputs/j1"), {}), 1);

  const std::string fresh = store_->scratch_folder() + "/b.mp3";
  spit(fresh, "b");
  must(store_->put_file("outputs/j2/b.mp3", fresh));
  EXPECT_EQ(contents("outputs/j2/b.mp3"), "b");
  EXPECT_FALSE(store_->put_file("outputs/j3/c.mp3", store_->scratch_folder() + "/none").ok());
}

TEST_F(FolderStore, PutFileCopiesFromAnotherFileSystem) {
  struct stat shm {};
  struct stat here {};
  if (::stat("/dev/shm", &shm) != 0 || ::stat(root().c_str(), &here) != 0 ||
      shm.st_dev == here.st_dev) {
    GTEST_SKIP() << "no second file system (/dev/shm) to put a file from";
  }
  char elsewhere[] = "/dev/shm/peel-folder-store-XXXXXX";
  const int fd = ::mkstemp(elsewhere);
  ASSERT_GE(fd, 0);
  ::close(fd);
  const std::string content(200000, 'z');
  spit(elsewhere, content);
  append("outputs/j1/a.mp3", 0, "old");
  const Result<void> put = store_->put_file("outputs/j1/a.mp3", elsewhere);
  std::error_code ignored;
  const bool left = fs::exists(elsewhere, ignored);
  fs::remove(elsewhere, ignored);
  ASSERT_TRUE(put.ok()) << put.error().message;
  EXPECT_FALSE(left);
  EXPECT_EQ(slurp(root() + "/outputs/j1/a.mp3"), content);
  EXPECT_EQ(std::distance(fs::directory_iterator(root() + "/outputs/j1"), {}), 1);
}

TEST_F(FolderStore, KeysOutsideTheRootAreRefused) {
  const std::vector<std::string> bad = {"",           "/etc/passwd",
                                        "../outside", "uploads/../../x",
                                        "a\\b",       std::string("a\0b", 3),
                                        "uploads/",   "tmp",
                                        "tmp/x",      "a/..b"};
  const std::string made = store_->scratch_folder() + "/made";
  spit(made, "x");
  char buffer[4];
  for (const std::string& key : bad) {
    SCOPED_TRACE(key);
    const Result<std::unique_ptr<BlobWriter>> appended = store_->append(key, 0);
    ASSERT_FALSE(appended.ok());
    EXPECT_EQ(appended.error().code, ErrorCode::kInternal);
    EXPECT_NE(appended.error().message.find("bad blob key"), std::string::npos);
    EXPECT_FALSE(store_->size(key).ok());
    EXPECT_FALSE(store_->read(key, 0, buffer, 4).ok());
    EXPECT_FALSE(store_->local_path(key).ok());
    EXPECT_FALSE(store_->put_file(key, made).ok());
    EXPECT_FALSE(store_->remove(key).ok());
  }
  EXPECT_TRUE(fs::exists(made));
  EXPECT_FALSE(fs::exists(dir_ / "outside"));
}

TEST_F(FolderStore, RemoveIsIdempotentAndTidiesItsFolders) {
  append("outputs/j1/a.mp3", 0, "a");
  append("uploads/u1", 0, "u");
  must(store_->remove("outputs/j1/a.mp3"));
  EXPECT_EQ(must(store_->size("outputs/j1/a.mp3")), -1);
  EXPECT_FALSE(fs::exists(root() + "/outputs/j1"));
  EXPECT_TRUE(fs::is_directory(root() + "/outputs"));
  must(store_->remove("outputs/j1/a.mp3"));
  must(store_->remove("uploads/u1"));
  must(store_->remove("uploads/u1"));
  EXPECT_TRUE(fs::is_directory(root() + "/uploads"));
  EXPECT_EQ(must(store_->size("uploads/u1")), -1);
}

TEST_F(FolderStore, ReopeningKeepsTheBlobs) {
  append("uploads/u1", 0, "kept");
  store_.reset();
  store_ = must(open_folder_store(root()));
  EXPECT_EQ(contents("uploads/u1"), "kept");
}

TEST_F(FolderStore, ARootThatCannotBeMadeIsRefused) {
  spit(dir_ / "file", "not a folder");
  const Result<std::unique_ptr<BlobStore>> opened = open_folder_store(dir_ / "file/blobs");
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, ErrorCode::kWriteFailed);
}

}  // namespace
}  // namespace peel::blob
