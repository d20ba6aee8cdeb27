// A segment's spill: the packets one worker keeps (or the samples it hashes), in an unlinked
// temporary file in the output's folder, so memory stays flat however long the input.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "av/av.h"
#include "peel/error.h"

namespace peel::engine {

// One segment's kept packets, in an unlinked file: gone when closed, whatever happens.
class SpillFile {
 public:
  SpillFile() = default;
  SpillFile(const SpillFile&) = delete;
  SpillFile& operator=(const SpillFile&) = delete;
  ~SpillFile();

  // Creates the file in `folder`. Fails with kOutputUnwritable or kInternal.
  Result<void> create(const std::string& folder);

  // Raw bytes (a segment's samples); write() says whether all of them were written.
  bool write(const void* data, size_t size);
  size_t read(void* data, size_t size);

  // Appends `pkt` with its timestamps, flags and skip-samples side data; without
  // `keep_priming` the priming samples to skip are dropped from that side data. False when
  // the write failed.
  bool put(const AVPacket& pkt, bool keep_priming);

  void rewind();

  // The next packet (in place of what pkt held), or false at the end.
  bool get(AVPacket* pkt);

 private:
  struct Record {
    int64_t pts, dts, duration;
    int32_t size, flags;
    int32_t has_skip;
    uint8_t skip[10];  // AV_PKT_DATA_SKIP_SAMPLES: skip at start, discard at end, reasons
  };
  FILE* file_ = nullptr;
};

// The error of a spill that could not be written, for the run writing `output`.
Error spill_error(const std::string& output);

}  // namespace peel::engine
