// Segment-parallel transcoding: one long transcode cut into segments on codec-frame
// boundaries, each encoded on its own thread from its own reader with a warm-up (pre-roll)
// before it and a look-ahead (post-roll) after it, the packets joined in order into one file.
#pragma once

#include "engine/stages.h"

namespace peel::engine {

// Runs job's transcode in segments when its options, format and length call for it.
// Returns false, having written nothing, when they do not (or when the input turns out
// shorter than it declared): the caller then runs serially. Fails like transcode_stream().
Result<bool> transcode_parallel(Job& job);

}  // namespace peel::engine
