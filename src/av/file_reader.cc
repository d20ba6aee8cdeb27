// pread-based AVIO source with an index-steered read-ahead.
#include "av/file_reader.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace peel::av {

FileReader::FileReader(int fd, int64_t size) : fd_(fd), size_(size) {}

FileReader::~FileReader() { ::close(fd_); }

int FileReader::read_packet(void* opaque, uint8_t* buf, int size) noexcept {
  auto* r = static_cast<FileReader*>(opaque);
  if (r->interrupt_.callback != nullptr && r->interrupt_.callback(r->interrupt_.opaque) != 0) {
    return AVERROR_EXIT;
  }
  return r->read(buf, size);
}

int64_t FileReader::seek(void* opaque, int64_t offset, int whence) noexcept {
  auto* r = static_cast<FileReader*>(opaque);
  switch (whence & ~AVSEEK_FORCE) {
    case AVSEEK_SIZE:
      return r->size_;
    case SEEK_SET:
      r->pos_ = offset;
      break;
    case SEEK_CUR:
      r->pos_ += offset;
      break;
    case SEEK_END:
      r->pos_ = r->size_ + offset;
      break;
    default:
      return AVERROR(EINVAL);
  }
  return r->pos_;
}

int FileReader::read(uint8_t* buf, int size) {
  if (pos_ < ahead_pos_ || pos_ >= ahead_pos_ + ahead_len_) {
    const int64_t want = std::min(run_end(pos_) - pos_, kReadAhead);
    if (want > size) {
      if (!ahead_) ahead_ = std::make_unique_for_overwrite<uint8_t[]>(kReadAhead);
      const ssize_t n = ::pread(fd_, ahead_.get(), static_cast<size_t>(want), pos_);
      // On an error or at the end of the file the plain read below meets it again and
      // reports it as it always has.
      if (n > 0) {
        ahead_pos_ = pos_;
        ahead_len_ = n;
      }
    }
  }
  if (pos_ >= ahead_pos_ && pos_ < ahead_pos_ + ahead_len_) {
    const int64_t n = std::min<int64_t>(size, ahead_pos_ + ahead_len_ - pos_);
    std::memcpy(buf, ahead_.get() + (pos_ - ahead_pos_), static_cast<size_t>(n));
    pos_ += n;
    return static_cast<int>(n);
  }
  const ssize_t n = ::pread(fd_, buf, static_cast<size_t>(size), pos_);
  if (n < 0) return AVERROR(errno);
  if (n == 0) return AVERROR_EOF;
  pos_ += n;
  return static_cast<int>(n);
}

int64_t FileReader::run_end(int64_t pos) {
  if (ctx_ == nullptr) return pos;
  update_plan();
  auto after = std::upper_bound(runs_.begin(), runs_.end(), pos,
                                [](int64_t p, const Run& r) { return p < r.begin; });
  if (after == runs_.begin()) return pos;
  const Run& run = *(after - 1);
  return run.end > pos ? std::min(run.end, size_) : pos;
}

void FileReader::update_plan() {
  // Called on every read the read-ahead cannot serve, so it checks without allocating.
  bool same = true;
  size_t k = 0;
  int64_t entries = 0;
  for (unsigned i = 0; i < ctx_->nb_streams; ++i) {
    if (ctx_->streams[i]->discard >= AVDISCARD_ALL) continue;
    same = same && k < planned_streams_.size() && planned_streams_[k] == i;
    ++k;
    entries += avformat_index_get_entries_count(ctx_->streams[i]);
  }
  same = same && k == planned_streams_.size();
  // Demuxers that index as they read (fragmented MP4, Matroska, AVI without an index) grow
  // it all the time: remaking the plan only when it has grown by an eighth keeps the work
  // linear in the size of the index.
  if (same && planned_entries_ >= 0 && entries <= planned_entries_ + planned_entries_ / 8) {
    return;
  }

  planned_streams_.clear();
  runs_.clear();
  runs_.reserve(static_cast<size_t>(entries));
  for (unsigned i = 0; i < ctx_->nb_streams; ++i) {
    AVStream* st = ctx_->streams[i];
    if (st->discard >= AVDISCARD_ALL) continue;
    planned_streams_.push_back(i);
    const int count = avformat_index_get_entries_count(st);
    for (int j = 0; j < count; ++j) {
      const AVIndexEntry* e = avformat_index_get_entry(st, j);
      // Entries without a size (keyframe cues, seek points) say nothing of where bytes lie.
      if (e->pos >= 0 && e->size > 0) runs_.push_back({e->pos, e->pos + e->size});
    }
  }
  planned_entries_ = entries;
  const auto by_begin = [](const Run& a, const Run& b) { return a.begin < b.begin; };
  if (!std::is_sorted(runs_.begin(), runs_.end(), by_begin)) {
    std::sort(runs_.begin(), runs_.end(), by_begin);
  }
  // Adjacent entries (one's end is the next one's start) make one run; merged in place.
  size_t out = 0;
  for (size_t i = 0; i < runs_.size(); ++i) {
    if (out > 0 && runs_[i].begin <= runs_[out - 1].end) {
      runs_[out - 1].end = std::max(runs_[out - 1].end, runs_[i].end);
    } else {
      runs_[out++] = runs_[i];
    }
  }
  runs_.resize(out);
  runs_.shrink_to_fit();
}

}  // namespace peel::av
