// Segment-parallel transcoding: the run of one transcode in segments, from the split to the
// joined output.
//
// The output's samples [0, N) are cut at positions a_1 < ... < a_{K-1}, multiples of a step
// that is both a whole number of encoder frames and a whole number of input samples (so every
// worker's frames fall where a serial run's do). Worker k feeds its encoder from a pre-roll
// before a_k to a post-roll after a_{k+1} and keeps the packets whose timestamps lie in
// [a_k, a_{k+1}). An encoder stamps the packet that carries samples [t, t + F) with t (the
// delay is already subtracted), so the kept packets of all workers are exactly a serial run's
// packets, each made by an encoder that saw the same audio around it. The first segment keeps
// the priming packets (negative timestamps), the last the flush; the muxer is told the first
// worker's encoder parameters (delay, extradata), so gapless metadata describes the whole file.
//
// Three codecs need more at a join. mp3 frames borrow bytes from the frames before them (the
// bit reservoir, mp3_join.h) and Vorbis blocks overlap with the block before them in a shape
// both must agree on (vorbis_join.h): for them the workers keep packets a little beyond their
// cuts on both sides, and the join is made near the cut where it fits, while the output is
// assembled. FLAC frames carry their own number and the stream's STREAMINFO an MD5 of every
// sample (flac_join.h): frames are renumbered and STREAMINFO rebuilt while assembling.
//
// Workers write their packets to unlinked files in the output's folder, so memory stays flat
// however long the input; the calling thread runs the first segment, helps with any segment no
// thread has taken yet (the pool may be busy with a batch's other files), then joins the files
// in order.
//
// The stages, each in its own file: segment_joiner (what each codec needs, by table),
// segment_split (where to cut), segment_worker (one segment's transcode) with segment_spill
// (its packets on disk), segment_assembly (the joins, into the output).
#include "engine/parallel.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "engine/segment_assembly.h"
#include "engine/segment_joiner.h"
#include "engine/segment_split.h"
#include "engine/segment_worker.h"
#include "peel/pool.h"

namespace peel::engine {

Result<bool> transcode_parallel(Job& job) {
  const SegmentJoiner* joiner = segment_joiner_for(job.plan);
  if (joiner == nullptr) return false;
  const auto split = plan_split(job, *joiner);
  if (!split) return false;
  const OutputPlan& plan = job.plan;
  const size_t count = split->cuts.size() + 1;
  std::string folder = std::filesystem::path(job.temp_path).parent_path().string();
  if (folder.empty()) folder = ".";

  auto stream = joiner->stream_join();
  if (!stream) return stream.error();
  // Worker k, starting `earlier` samples before its pre-roll (a second try at a join).
  auto make = [&](size_t k, int64_t earlier) {
    auto w = make_worker(*split, k, earlier, folder, stream->get());
    if (w) (*w)->gain = job.gain;
    return w;
  };

  std::vector<std::unique_ptr<Worker>> workers;
  for (size_t k = 0; k < count; ++k) {
    auto w = make(k, 0);
    if (!w) return w.error();
    workers.push_back(std::move(*w));
  }

  // Segment 0 runs on this thread, the others on the pool (at the front of its queue, so they
  // do not wait behind a batch's other files); whichever thread feeds an encoder reports the
  // progress of all of them and passes a cancellation on.
  const CancelToken stop;
  ProgressReporter progress(job.options, split->seconds);
  std::mutex progress_mutex;
  const double rate = plan.sample_rate;
  auto on_fed = [&] {
    if (job.options.cancel.cancelled()) stop.cancel();
    const std::unique_lock lock(progress_mutex, std::try_to_lock);
    if (!lock) return;
    int64_t fed = 0;
    for (const auto& w : workers) {
      // Pre-roll is not progress: count what lies inside the worker's own segment.
      const int64_t inside = w->range.begin + w->fed.load() - w->keep_from.value_or(0);
      const int64_t size = w->keep_to ? *w->keep_to - w->keep_from.value_or(0) : inside;
      fed += std::clamp<int64_t>(inside, 0, size);
    }
    progress.update(static_cast<double>(fed) / rate);
  };
  for (auto& w : workers) w->range.on_fed = on_fed;

  WorkPool& pool = job.engine.pool();
  WorkPool::Group group;
  for (size_t k = count - 1; k >= 1; --k) {
    pool.add(
        group,
        [&, w = workers[k].get()](int) {
          run_worker(job.engine, plan, *w, stop, job.options.cancel);
        },
        true);
  }
  run_worker(job.engine, plan, *workers.front(), stop, job.options.cancel);
  pool.wait(group);
  // FFmpeg's words from the workers, in segment order, kept with this thread's, where run()
  // listens (a pre-roll may repeat a line the segment before it said).
  for (const auto& w : workers) {
    for (const auto& line : w->log) av::LogCapture::take(line);
  }

  if (job.options.cancel.cancelled()) return Error{ErrorCode::kCancelled, "cancelled"};
  for (const auto& w : workers) {
    if (w->error && w->error->code != ErrorCode::kCancelled) return *w->error;
  }
  for (const auto& w : workers) {
    if (w->error) return *w->error;
  }
  // Every segment before the last must have been whole, frame for frame; if the input ended
  // early (a declared duration that lied), the serial run is the one that is right.
  for (size_t k = 0; k + 1 < count; ++k) {
    const Worker& w = *workers[k];
    if (w.range.go_serial || w.par == nullptr) return false;
    // (Where packets are not frames of a fixed size, the join checks the packets.)
    if (k > 0 && joiner->fixed_frames() && w.kept != (*w.keep_to - *w.keep_from) / split->frame) {
      return false;
    }
  }
  if (workers.back()->range.go_serial || workers.back()->par == nullptr) return false;

  for (const auto& w : workers) {
    for (const LostSpan& s : w->lost) job.source.add_lost(s.from, s.to);
  }
  const Worker& first = *workers.front();
  const Worker& last = *workers.back();
  job.result.start = first.result.start;
  job.result.sample_rate = first.result.sample_rate;
  job.result.channels = first.result.channels;
  job.result.samples = last.range.begin + last.result.samples;
  job.result.end =
      job.result.start + job.result.samples * kMicrosPerSecond / job.result.sample_rate;
  job.result.segments = static_cast<int>(count);

  // A second encode of segment k, moved `earlier` onto the previous segment's block grid.
  auto redo = [&](size_t k, int64_t earlier) -> Result<bool> {
    auto w = make(k, earlier);
    if (!w) return false;
    (*w)->range.on_fed = [&] {  // a Ctrl-C stops it within a frame
      if (job.options.cancel.cancelled()) stop.cancel();
    };
    run_worker(job.engine, plan, **w, stop, job.options.cancel);
    if (job.options.cancel.cancelled()) return Error{ErrorCode::kCancelled, "cancelled"};
    if ((*w)->error) return *(*w)->error;
    if ((*w)->range.go_serial || (*w)->par == nullptr) return false;
    for (const LostSpan& s : (*w)->lost) job.source.add_lost(s.from, s.to);
    workers[k] = std::move(*w);
    return true;
  };
  auto joined = assemble(job, *split, *joiner, workers, stream->get(), redo);
  if (!joined || !*joined) {
    job.result.segments = 1;
    // Nothing of the attempt may stay in the temporary file the serial run writes next.
    if (::truncate(job.temp_path.c_str(), 0) != 0 && joined) {
      return Error{ErrorCode::kWriteFailed, fmt::format("cannot write next to {}", plan.output)};
    }
  }
  return joined;
}

}  // namespace peel::engine
