// SpillFile: a segment's packets in an unlinked temporary file, as fixed records (timestamps,
// flags, skip-samples side data) each followed by the packet's bytes.
#include "engine/segment_spill.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace peel::engine {

SpillFile::~SpillFile() {
  if (file_ != nullptr) std::fclose(file_);
}

Result<void> SpillFile::create(const std::string& folder) {
  std::string name = folder + "/.peel-segment-XXXXXX";
  const int fd = ::mkstemp(name.data());
  if (fd < 0) return Error{ErrorCode::kOutputUnwritable, fmt::format("cannot write in {}", folder)};
  ::unlink(name.c_str());
  file_ = ::fdopen(fd, "w+b");
  if (file_ == nullptr) {
    ::close(fd);
    return Error{ErrorCode::kInternal, "out of memory"};
  }
  return {};
}

bool SpillFile::write(const void* data, size_t size) {
  return std::fwrite(data, 1, size, file_) == size;
}

size_t SpillFile::read(void* data, size_t size) { return std::fread(data, 1, size, file_); }

bool SpillFile::put(const AVPacket& pkt, bool keep_priming) {
  Record r{pkt.pts, pkt.dts, pkt.duration, pkt.size, pkt.flags, 0, {}};
  size_t side_size = 0;
  if (const uint8_t* side = av_packet_get_side_data(&pkt, AV_PKT_DATA_SKIP_SAMPLES, &side_size);
      side != nullptr && side_size >= sizeof(r.skip)) {
    std::memcpy(r.skip, side, sizeof(r.skip));
    // Only the file's first packet says how many priming samples to skip.
    if (!keep_priming) std::memset(r.skip, 0, 4);
    r.has_skip = 1;
  }
  // (an empty packet, FLAC's last, may have no data at all)
  return std::fwrite(&r, sizeof(r), 1, file_) == 1 &&
         (pkt.size == 0 || std::fwrite(pkt.data, 1, static_cast<size_t>(pkt.size), file_) ==
                               static_cast<size_t>(pkt.size));
}

void SpillFile::rewind() { std::rewind(file_); }

bool SpillFile::get(AVPacket* pkt) {
  av_packet_unref(pkt);
  Record r{};
  if (std::fread(&r, sizeof(r), 1, file_) != 1) return false;
  if (av_new_packet(pkt, r.size) < 0) return false;
  if (std::fread(pkt->data, 1, static_cast<size_t>(r.size), file_) != static_cast<size_t>(r.size)) {
    return false;
  }
  pkt->pts = r.pts;
  pkt->dts = r.dts;
  pkt->duration = r.duration;
  pkt->flags = r.flags;
  if (r.has_skip != 0 &&
      std::any_of(r.skip, r.skip + sizeof(r.skip), [](uint8_t b) { return b != 0; })) {
    uint8_t* side = av_packet_new_side_data(pkt, AV_PKT_DATA_SKIP_SAMPLES, sizeof(r.skip));
    if (side != nullptr) std::memcpy(side, r.skip, sizeof(r.skip));
  }
  return true;
}

Error spill_error(const std::string& output) {
  return Error{ErrorCode::kWriteFailed,
               fmt::format("cannot write the segments' temporary files next to {} (is the disk "
                           "full?); free some space and try again",
                           output)};
}

}  // namespace peel::engine
