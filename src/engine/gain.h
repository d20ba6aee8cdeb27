// Loudness normalization's gain (--loudness): measured once over the whole track, then applied
// to every decoded sample before it is resampled and encoded.
//
// The gain is the target's level minus the track's integrated loudness, the same everywhere,
// except around peaks that it would push past the true-peak ceiling: there it dips just
// enough, with 50 ms ramps in and out (a look-ahead limiter that knows the whole track, from
// the measurement's true peak of every 10 ms). It is a function of the time on the track, so
// a serial run and every segment of a segment-parallel one give each sample the very same
// gain: no level jump at a join.
#pragma once

#include <cstdint>
#include <vector>

extern "C" {
#include <libavutil/samplefmt.h>
}

#include "peel/cancel.h"
#include "peel/error.h"
#include "peel/loudness.h"
#include "peel/media_info.h"
#include "peel/request.h"

namespace peel::engine {

class GainCurve {
 public:
  static constexpr int kBlocksPerSecond = 100;

  // `gain`: linear; `block_peaks`: the track's linear true peak in each 10 ms; `ceiling`:
  // linear. Where gain × peak would pass the ceiling, the gain there is lowered to meet it.
  GainCurve(double gain, const std::vector<float>& block_peaks, double ceiling);

  // The linear gain of input sample `index` (counted from the track's first sample) at `rate`.
  double at(int64_t index, int rate) const;
  double gain() const { return gain_; }
  // The mean of the squared gain over `count` 10 ms blocks from block `first`.
  double mean_square(int64_t first, int64_t count) const;
  // How much of the track is turned down below the gain, in seconds.
  double limited_seconds() const { return static_cast<double>(limited_) / kBlocksPerSecond; }

 private:
  double gain_;
  std::vector<float> blocks_;  // the gain of each 10 ms, smoothed; empty: gain_ everywhere
  int64_t limited_ = 0;
};

// Multiplies `count` samples of each channel, in `planes` (one plane for a packed format),
// by the curve, the first being input sample `first` at `rate`. Integer formats are rounded
// and kept in range.
void apply_gain(const GainCurve& curve, uint8_t* const* planes, AVSampleFormat format,
                int channels, int count, int64_t first, int rate);

// What a normalization found and will do.
struct Normalization {
  Loudness measured;
  GainCurve curve;
};

// Measures track `track` of `input` and makes the curve that brings it to `target`. Where
// the curve holds peaks down, the track comes out quieter than the gain alone would make it:
// the gain is raised until the loudness the curve gives (BS.1770's gated mean over the
// track's 400 ms blocks, each turned by the curve's gain there) is the target. A silent
// track is left as it is (gain 1).
Result<Normalization> plan_normalization(Input& input, int track, const LoudnessTarget& target,
                                         const CancelToken& cancel);

}  // namespace peel::engine
