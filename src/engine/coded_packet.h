// One encoded packet held in memory while segments are joined (mp3_join.h, vorbis_join.h).
#pragma once

#include <cstdint>
#include <vector>

namespace peel::engine {

struct CodedPacket {
  int64_t pts = 0;  // output samples, on the whole output's timeline
  int64_t duration = 0;
  std::vector<uint8_t> data;  // the packet: one MPEG audio frame, one Vorbis packet
};

}  // namespace peel::engine
