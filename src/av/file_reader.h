// The input file behind peel's AVIO context: pread at a position of our own, with a read-ahead
// steered by the demuxer's index, so that one read fetches a whole run of adjacent samples of
// the streams being read and never the bytes of the streams it skips.
#pragma once

extern "C" {
#include <libavformat/avformat.h>
}

#include <cstdint>
#include <memory>
#include <vector>

namespace peel::av {

// One per opened input, used by one thread at a time (like the AVFormatContext it feeds).
class FileReader {
 public:
  // Takes ownership of `fd`, a file of `size` bytes open for reading; closes it on destruction.
  FileReader(int fd, int64_t size);
  ~FileReader();
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  // From now on, a read that lands inside a run of adjacent index entries of the streams of
  // `ctx` that are not discarded (AVDISCARD_ALL) fetches the rest of the run (up to
  // kReadAhead bytes) at once and serves the next reads from it. Before, and where the index
  // says nothing (no entries, or entries without sizes), each read is one pread, as asked.
  // `ctx` must outlive the reader's use by it.
  void follow(AVFormatContext* ctx) { ctx_ = ctx; }

  // Polled before every read: a read when it says to stop fails with AVERROR_EXIT (custom
  // I/O is never polled by FFmpeg itself, so this is what makes opening cancellable).
  void interrupt_with(const AVIOInterruptCB& cb) { interrupt_ = cb; }

  // The AVIO read_packet and seek callbacks; `opaque` is the FileReader.
  static int read_packet(void* opaque, uint8_t* buf, int size) noexcept;
  static int64_t seek(void* opaque, int64_t offset, int whence) noexcept;

  // Bounds the memory one input holds for reading ahead, whatever the file's layout.
  static constexpr int64_t kReadAhead = 1 << 20;

 private:
  // File bytes [begin, end) that the demuxer will read for the streams it reads.
  struct Run {
    int64_t begin;
    int64_t end;
  };

  int read(uint8_t* buf, int size);
  AVIOInterruptCB interrupt_{nullptr, nullptr};
  // The end of the run that holds byte `pos`, or `pos` where none does.
  int64_t run_end(int64_t pos);
  // Remakes the runs when the set of streams read has changed or their index has grown.
  void update_plan();

  int fd_;
  int64_t pos_ = 0;
  int64_t size_;
  AVFormatContext* ctx_ = nullptr;

  std::vector<Run> runs_;  // sorted, disjoint, never touching
  std::vector<unsigned> planned_streams_;
  int64_t planned_entries_ = -1;  // -1: no plan made yet

  // File bytes [ahead_pos_, ahead_pos_ + ahead_len_), read ahead; allocated on first use.
  std::unique_ptr<uint8_t[]> ahead_;
  int64_t ahead_pos_ = 0;
  int64_t ahead_len_ = 0;
};

}  // namespace peel::av
