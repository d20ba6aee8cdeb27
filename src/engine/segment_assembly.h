// Assembly of a segment-parallel transcode: the workers' spilled packets, in order, joined at
// each cut by the codec's joiner and written into the output's muxer.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "engine/segment_joiner.h"
#include "engine/segment_split.h"
#include "engine/segment_worker.h"
#include "engine/stages.h"

namespace peel::engine {

// A second encode of segment k (replacing workers[k]), `earlier` samples earlier: true when it
// ran, false when the transcode should run serially instead.
using Redo = std::function<Result<bool>(size_t k, int64_t earlier)>;

// Writes the workers' packets in order into job's output, joining each segment to the one
// before it with `joiner`; `stream` (may be null) puts each packet right for the whole stream.
// Returns false when a join cannot be made (the caller then runs serially). Fails with the
// muxer's errors or kInternal.
Result<bool> assemble(Job& job, const Split& split, const SegmentJoiner& joiner,
                      std::vector<std::unique_ptr<Worker>>& workers, StreamJoin* stream,
                      const Redo& redo);

}  // namespace peel::engine
