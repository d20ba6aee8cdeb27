// Joining Vorbis packets from two encoders (libvorbis).
//
// A Vorbis packet codes one block, short or long (256 or 2048 samples with libvorbis); the
// decoder overlaps each block with the one before it and outputs the samples between their
// centres, so a packet's duration is (previous block + this block) / 4. Blocks are chosen by
// the encoder's own analysis, so two encoders of the same audio agree on them only once they
// have seen the same transient, or started on the same grid of long blocks. A join after
// A's packet i and before B's packet j+1 is seamless when
//   - A's packet i and B's packet j end at the same sample,
//   - they are blocks of the same size, and so are A's packet i+1 and B's packet j+1,
// because the decoder then overlaps B's block j+1 with a block that has the window shape B
// coded it against. The timestamps need no change: each encoder stamps its packets on the
// whole output's timeline.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/coded_packet.h"
#include "peel/error.h"

namespace peel::engine {

struct VorbisJoin {
  bool joined = false;
  int64_t pts = 0;    // joined: where B's packets take over
  int64_t shift = 0;  // not joined: start B this many samples earlier to put it on A's grid
};

// Joins `a` (A's packets from before the window to past it, in order) and `b` (B's from
// before the window on) at the point nearest `cut` within [min_pts, max_pts]; on success
// `out` holds a's packets up to the join and b's after it. `extradata`: the encoder's
// (Xiph-laced headers), for the two block sizes. Fails (kInternal) when a packet is not a
// libvorbis audio packet whose duration matches its block sizes.
Result<VorbisJoin> join_vorbis(const std::vector<CodedPacket>& a, const std::vector<CodedPacket>& b,
                               int64_t cut, int64_t min_pts, int64_t max_pts,
                               std::span<const uint8_t> extradata, std::vector<CodedPacket>& out);

}  // namespace peel::engine
