// Planning a segment-parallel transcode's cuts: on a step that is a whole number of encoder
// frames and of input samples (and on the joiner's grid), with pre- and post-rolls long
// enough for the joins to be made inside both encoders' warm packets.
#include "engine/segment_split.h"

#include <algorithm>
#include <numeric>

#include "engine/encoder.h"

extern "C" {
#include <libavutil/channel_layout.h>
}

namespace peel::engine {

namespace {

constexpr double kPrerollSeconds = 1.0;   // warms the encoder's state and overlap windows
constexpr double kPostrollSeconds = 0.5;  // the encoder's look-ahead past the segment
constexpr double kMinSegmentSeconds = 5.0;

}  // namespace

std::optional<Split> plan_split(const Job& job, const SegmentJoiner& joiner) {
  const RunOptions& o = job.options;
  const OutputPlan& plan = job.plan;
  if (o.segment_parallel == SegmentParallel::kOff) return {};
  const int jobs = o.jobs > 0 ? o.jobs : job.engine.threads();
  if (jobs < 2) return {};
  const int in_rate = job.source.stream()->codecpar->sample_rate;
  const int out_rate = plan.sample_rate;
  if (in_rate <= 0 || out_rate <= 0 || plan.track.duration <= 0) return {};

  const Micros audio_start = plan.track.start - job.source.info().start;
  const Micros begin = std::max(plan.from, audio_start);
  const Micros end = plan.to ? std::min(*plan.to, audio_start + plan.track.duration)
                             : audio_start + plan.track.duration;
  Split split;
  split.seconds = to_seconds(end - begin);
  if (o.segment_parallel == SegmentParallel::kAuto &&
      split.seconds < o.segment_parallel_min_seconds) {
    return {};
  }
  const int64_t total = micros_to_samples(end - begin, out_rate);

  // The encoder's frame size, from an encoder opened the way the workers will open theirs.
  AVChannelLayout layout{};
  av_channel_layout_default(&layout, plan.channels);
  auto probe = open_encoder_for(plan, layout);
  av_channel_layout_uninit(&layout);
  if (!probe) return {};
  const int64_t frame = frame_samples(**probe);
  const int64_t step = std::lcm(std::lcm(frame, int64_t{out_rate} / std::gcd(in_rate, out_rate)),
                                joiner.grid(frame, out_rate));
  auto round_up = [step](double samples) {
    return (static_cast<int64_t>(samples) + step - 1) / step * step;
  };
  split.frame = frame;
  split.preroll = round_up(kPrerollSeconds * out_rate);
  split.postroll = round_up(kPostrollSeconds * out_rate);
  split.margins = joiner.margins(frame);
  // The join window must lie inside both encoders' warm packets: after half a second of B's
  // pre-roll, and clear of the end of A's post-roll (the encoder's flush).
  split.preroll = round_up(std::max<double>(split.preroll, split.margins.before + out_rate / 2.0));
  split.postroll = round_up(std::max<double>(split.postroll, split.margins.after + 4 * frame));

  const auto min_segment = static_cast<int64_t>(kMinSegmentSeconds * out_rate);
  const int segments =
      static_cast<int>(std::min<int64_t>(jobs, std::max<int64_t>(total / min_segment, 1)));
  for (int k = 1; k < segments; ++k) {
    const int64_t cut = total * k / segments / step * step;
    if (cut <= (split.cuts.empty() ? 0 : split.cuts.back())) continue;
    split.cuts.push_back(cut);
  }
  // The last post-roll must end well inside the input.
  while (!split.cuts.empty() && split.cuts.back() + split.postroll + out_rate > total) {
    split.cuts.pop_back();
  }
  if (split.cuts.empty()) return {};
  return split;
}

}  // namespace peel::engine
