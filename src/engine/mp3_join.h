// Joining mp3 frames from two encoders that used LAME's bit reservoir.
//
// With the reservoir, frame j's main data may begin up to 511 bytes (MPEG-2: 255) before its
// own header (main_data_begin in its side info), in the payload of the frames before it. At a
// join those frames come from the previous segment's encoder A, so frame j of encoder B would
// read A's bytes. Both encoders have coded the frames around the join (A in its post-roll, B
// in its pre-roll), so the join can pick a frame j where
//   r_B = the bytes B's frames from j on borrow from before header j, fits in
//   s_A = the bytes A's frames before j leave unused at the end of their payload,
// and then copy B's borrowed bytes into that unused tail of A's payload (never over a header
// or side info). Every frame then decodes exactly as its own encoder made it. When no frame of
// the window fits, A's last frame is moved up a bitrate step until it has room (one larger
// frame; the file is then VBR by one frame).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/coded_packet.h"
#include "peel/error.h"

namespace peel::engine {

struct Mp3Join {
  int64_t pts = 0;     // where the join was made: B's first frame
  int borrowed = 0;    // r_B
  int room = 0;        // s_A (after any bitrate step)
  int grown = 0;       // bytes A's last frame grew by (0: it fitted as encoded)
};

// Joins `a` (the end of the output so far: frames of encoder A, its post-roll included, in
// pts order on one grid) and `b` (the start of encoder B's frames, its pre-roll included) at
// a frame whose pts lies in [min_pts, max_pts], the nearest to `cut` that fits. Patches only
// frames of `a`; on success `out` holds a's frames before the join then b's from it.
// Fails (kInternal) when the frames cannot be parsed or no frame can be made to fit.
Result<Mp3Join> join_mp3(const std::vector<CodedPacket>& a, const std::vector<CodedPacket>& b,
                         int64_t cut, int64_t min_pts, int64_t max_pts,
                         std::vector<CodedPacket>& out);

}  // namespace peel::engine
