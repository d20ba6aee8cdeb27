// Where a segment-parallel transcode is cut: the cut positions, each segment's warm-up before
// it (pre-roll) and look-ahead after it (post-roll), and the margins its joiner needs.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "engine/segment_joiner.h"
#include "engine/stages.h"

namespace peel::engine {

struct Split {
  std::vector<int64_t> cuts;  // a_1 .. a_{K-1}, output samples
  int64_t preroll = 0;
  int64_t postroll = 0;
  int64_t frame = 0;  // samples per encoder frame (packet)
  // Joins are chosen within `margins.overlap` samples of a cut, from packets the workers keep
  // `margins.before` before and `margins.after` after their segments (mp3 and Vorbis).
  JoinMargins margins;
  double seconds = 0;  // of output, for progress
};

// Where to cut job's transcode, whose segments `joiner` joins, or nothing when it should run
// serially (segment mode off, one thread, too short, or no encoder to size frames by).
std::optional<Split> plan_split(const Job& job, const SegmentJoiner& joiner);

}  // namespace peel::engine
