#include "engine/gain.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace peel::engine {

namespace {

// A peak is held down this far below the ceiling: true-peak meters differ by a few tenths of
// a dB on bright, heavily amplified audio (libebur128's 4x interpolation against the ffmpeg
// CLI's 192 kHz resampling), and the output's own rounding adds a little.
constexpr double kMarginDb = 0.5;
// The ramps into and out of a dip: the dip is held over this many blocks either side of the
// peak, and smoothed over one block fewer, so the smoothed gain never rises above what any
// peak within reach allows.
constexpr int kHold = 6;
constexpr int kSmooth = kHold - 1;

template <class T>
T scaled(T value, double gain) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(value * gain);
  } else {
    const double v = std::nearbyint(static_cast<double>(value) * gain);
    return static_cast<T>(std::clamp(v, static_cast<double>(std::numeric_limits<T>::min()),
                                     static_cast<double>(std::numeric_limits<T>::max())));
  }
}

template <class T>
void apply(const GainCurve& curve, uint8_t* const* planes, bool planar, int channels, int count,
           int64_t first, int rate) {
  for (int i = 0; i < count; ++i) {
    const double g = curve.at(first + i, rate);
    for (int c = 0; c < channels; ++c) {
      T* sample = planar ? reinterpret_cast<T*>(planes[c]) + i
                         : reinterpret_cast<T*>(planes[0]) + static_cast<ptrdiff_t>(i) * channels + c;
      *sample = scaled(*sample, g);
    }
  }
}

}  // namespace

GainCurve::GainCurve(double gain, const std::vector<float>& block_peaks, double ceiling)
    : gain_(gain) {
  const double limit = ceiling * std::pow(10.0, -kMarginDb / 20.0);
  const auto n = static_cast<ptrdiff_t>(block_peaks.size());
  std::vector<float> allowed(block_peaks.size());
  bool dips = false;
  for (ptrdiff_t i = 0; i < n; ++i) {
    const double peak = block_peaks[static_cast<size_t>(i)];
    const double most = peak > 0 ? limit / peak : gain;
    allowed[static_cast<size_t>(i)] = static_cast<float>(std::min(gain, most));
    dips = dips || most < gain;
  }
  if (!dips) return;
  std::vector<float> held(allowed.size());
  for (ptrdiff_t i = 0; i < n; ++i) {
    float low = allowed[static_cast<size_t>(i)];
    for (ptrdiff_t j = std::max<ptrdiff_t>(0, i - kHold); j <= std::min(n - 1, i + kHold); ++j) {
      low = std::min(low, allowed[static_cast<size_t>(j)]);
    }
    held[static_cast<size_t>(i)] = low;
  }
  blocks_.resize(held.size());
  for (ptrdiff_t i = 0; i < n; ++i) {
    double sum = 0;
    int k = 0;
    for (ptrdiff_t j = i - kSmooth; j <= i + kSmooth; ++j) {
      // Past either end the gain is the nearest block's.
      sum += held[static_cast<size_t>(std::clamp<ptrdiff_t>(j, 0, n - 1))];
      ++k;
    }
    blocks_[static_cast<size_t>(i)] = static_cast<float>(sum / k);
    if (blocks_[static_cast<size_t>(i)] < gain * 0.999) ++limited_;
  }
}

double GainCurve::at(int64_t index, int rate) const {
  if (blocks_.empty() || rate <= 0) return gain_;
  // Between the centres of the two nearest blocks.
  const double t = static_cast<double>(index) * kBlocksPerSecond / rate - 0.5;
  const double base = std::floor(t);
  const double frac = t - base;
  const auto last = static_cast<int64_t>(blocks_.size()) - 1;
  const int64_t i = std::clamp<int64_t>(static_cast<int64_t>(base), 0, last);
  const int64_t j = std::clamp<int64_t>(static_cast<int64_t>(base) + 1, 0, last);
  return blocks_[static_cast<size_t>(i)] * (1 - frac) + blocks_[static_cast<size_t>(j)] * frac;
}

double GainCurve::mean_square(int64_t first, int64_t count) const {
  if (blocks_.empty() || count <= 0) return gain_ * gain_;
  const auto n = static_cast<int64_t>(blocks_.size());
  double sum = 0;
  for (int64_t i = first; i < first + count; ++i) {
    const double g = blocks_[static_cast<size_t>(std::clamp<int64_t>(i, 0, n - 1))];
    sum += g * g;
  }
  return sum / static_cast<double>(count);
}

void apply_gain(const GainCurve& curve, uint8_t* const* planes, AVSampleFormat format,
                int channels, int count, int64_t first, int rate) {
  const bool planar = av_sample_fmt_is_planar(format) != 0;
  switch (av_get_packed_sample_fmt(format)) {
    case AV_SAMPLE_FMT_FLT:
      return apply<float>(curve, planes, planar, channels, count, first, rate);
    case AV_SAMPLE_FMT_DBL:
      return apply<double>(curve, planes, planar, channels, count, first, rate);
    case AV_SAMPLE_FMT_S16:
      return apply<int16_t>(curve, planes, planar, channels, count, first, rate);
    case AV_SAMPLE_FMT_S32:
      return apply<int32_t>(curve, planes, planar, channels, count, first, rate);
    case AV_SAMPLE_FMT_S64:
      return apply<int64_t>(curve, planes, planar, channels, count, first, rate);
    case AV_SAMPLE_FMT_U8:
      // Unsigned, centred on 128.
      for (int i = 0; i < count; ++i) {
        const double g = curve.at(first + i, rate);
        for (int c = 0; c < channels; ++c) {
          uint8_t* s = planar ? planes[c] + i : planes[0] + static_cast<ptrdiff_t>(i) * channels + c;
          *s = static_cast<uint8_t>(std::clamp(std::nearbyint((*s - 128) * g) + 128, 0.0, 255.0));
        }
      }
      return;
    default:
      return;
  }
}

}  // namespace peel::engine
