// FLAC frames from separately encoded segments, made into one stream.
//
// A FLAC frame is independent of the others, except for two things a join has to put right:
// its header numbers it (frame number, or first sample for variable block sizes), protected
// by the header's CRC-8 and the frame's CRC-16; and the stream's STREAMINFO block holds the
// smallest and largest frame size, the sample count and an MD5 of all samples. FlacJoin
// renumbers each frame as it goes into the output, in order, and builds the STREAMINFO of the
// whole stream from the samples it is shown, in order.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "peel/error.h"

struct AVFrame;
struct AVMD5;
struct AVPacket;

namespace peel::engine {

class FlacJoin {
 public:
  static Result<FlacJoin> create();

  // The bytes FLAC's MD5 covers for `frame` (packed s16 or s32 in the encoder's format):
  // samples interleaved, little-endian, in whole bytes of `bits` (s32 holds them left-aligned).
  static void md5_bytes(const AVFrame& frame, int bits, std::vector<uint8_t>& out);

  // Adds samples (as md5_bytes() gives them) to the MD5, in stream order.
  void hash(std::span<const uint8_t> bytes);

  // Gives the next frame of the stream its number (or first sample) and new CRCs.
  Result<void> renumber(AVPacket* pkt);

  // The whole stream's STREAMINFO, once every frame is renumbered and every sample hashed,
  // from `first`: the first segment's encoder extradata (STREAMINFO's 34-byte body).
  Result<std::vector<uint8_t>> streaminfo(std::span<const uint8_t> first);

 private:
  struct Md5Deleter {
    void operator()(AVMD5* md5) const;
  };
  FlacJoin() = default;

  std::unique_ptr<AVMD5, Md5Deleter> md5_;
  int64_t frames_ = 0;
  int64_t samples_ = 0;
  uint32_t min_frame_ = 0;
  uint32_t max_frame_ = 0;
  std::vector<uint8_t> buffer_;
};

}  // namespace peel::engine
