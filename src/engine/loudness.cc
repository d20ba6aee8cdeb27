// measure_loudness(): every decoded sample of the track through libebur128.
#include "peel/loudness.h"

#include <ebur128.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "engine/decode.h"
#include "engine/gain.h"

namespace peel {

namespace {

struct StateDeleter {
  void operator()(ebur128_state* st) const { ebur128_destroy(&st); }
};
using Meter = std::unique_ptr<ebur128_state, StateDeleter>;

// BS.1770's weight of a channel by its position: LFE not counted; surround and rear
// channels count 1.41 (+1.5 dB); every other channel 1.0, as the front ones.
int channel_role(AVChannel channel) {
  switch (channel) {
    case AV_CHAN_LOW_FREQUENCY:
    case AV_CHAN_LOW_FREQUENCY_2:
      return EBUR128_UNUSED;
    case AV_CHAN_FRONT_RIGHT:
      return EBUR128_RIGHT;
    case AV_CHAN_FRONT_CENTER:
      return EBUR128_CENTER;
    case AV_CHAN_SIDE_LEFT:
    case AV_CHAN_BACK_LEFT:
      return EBUR128_LEFT_SURROUND;
    case AV_CHAN_SIDE_RIGHT:
    case AV_CHAN_BACK_RIGHT:
      return EBUR128_RIGHT_SURROUND;
    default:
      return EBUR128_LEFT;  // weight 1.0
  }
}

double decibels(double linear) {
  return linear > 0 ? 20.0 * std::log10(linear) : -std::numeric_limits<double>::infinity();
}

// EBU Tech 3342's loudness range over short-term (3 s) loudness values taken every 100 ms:
// the spread between the 10th and the 95th percentile of the values above both the absolute
// gate (-70 LUFS) and the relative one (20 LU below their mean power). As the ffmpeg CLI's
// ebur128 filter reads it: libebur128's own range reads a value every second, which differs
// by whole LU on a track that changes level fast.
double loudness_range(std::vector<double> values) {
  std::erase_if(values, [](double v) { return !(v > -70.0); });
  if (values.empty()) return 0;
  double power = 0;
  for (double v : values) power += std::pow(10.0, v / 10.0);
  const double gate = 10.0 * std::log10(power / static_cast<double>(values.size())) - 20.0;
  std::erase_if(values, [gate](double v) { return v < gate; });
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  // Nearest rank, as the ffmpeg CLI takes it: the smallest value with at least p·n values at
  // or below it.
  auto percentile = [&](double p) {
    const long rank = std::lround(p * static_cast<double>(values.size()));
    return values[static_cast<size_t>(std::max(rank, 1L) - 1)];
  };
  return percentile(0.95) - percentile(0.10);
}

Error meter_error(const std::string& input, int rc) {
  return Error{ErrorCode::kInternal,
               fmt::format("{}: the loudness meter failed (libebur128 error {})", input, rc)};
}

// What a normalization needs of the track beyond its loudness.
struct Blocks {
  std::vector<float> peaks;    // linear true peak of every 10 ms
  std::vector<double> powers;  // K-weighted mean square (channels weighted) of every 10 ms
};

// BS.1770's integrated loudness of gating blocks' powers: the absolute gate (-70 LUFS), then
// the relative one (10 LU below the mean of what passed).
double gated_loudness(const std::vector<double>& powers) {
  auto lufs = [](double power) { return -0.691 + 10 * std::log10(power); };
  double sum = 0;
  int64_t n = 0;
  for (double p : powers) {
    if (p > 0 && lufs(p) > -70) {
      sum += p;
      ++n;
    }
  }
  if (n == 0) return -std::numeric_limits<double>::infinity();
  const double gate = lufs(sum / static_cast<double>(n)) - 10;
  double kept = 0;
  int64_t k = 0;
  for (double p : powers) {
    if (p > 0 && lufs(p) > -70 && lufs(p) > gate) {
      kept += p;
      ++k;
    }
  }
  return lufs(kept / static_cast<double>(k));
}

// The measurement, and with `blocks` what normalization needs.
Result<Loudness> measure(Input& input, int track, const LoudnessOptions& options,
                         Blocks* blocks) {
  const MediaInfo& info = input.info();
  Loudness result;
  result.track = track;
  Meter meter;
  int64_t fed = 0;                  // samples given to the meter at the current rate
  std::vector<double> short_terms;  // 3 s loudness every 100 ms, once 3 s are in
  double block_peak = 0;            // of the current 10 ms
  engine::DecodeOptions decode;
  decode.format = AV_SAMPLE_FMT_FLT;
  decode.cancel = options.cancel;
  decode.on_progress = options.on_progress;
  auto decoded = engine::decode_track(
      input, track, decode,
      [&](const engine::DecodedFormat& f, const uint8_t* data, int count) -> Result<void> {
        if (meter && (f.sample_rate != result.sample_rate || f.channels != result.channels)) {
          // The stream changed its rate or channels midway: the meter follows (its history,
          // and so the gating over the whole track, is kept).
          fed = 0;
          if (int rc = ebur128_change_parameters(meter.get(), static_cast<unsigned>(f.channels),
                                                 static_cast<unsigned long>(f.sample_rate));
              rc != EBUR128_SUCCESS && rc != EBUR128_ERROR_NO_CHANGE) {
            return meter_error(info.path, rc);
          }
        }
        if (!meter) {
          meter.reset(ebur128_init(static_cast<unsigned>(f.channels),
                                   static_cast<unsigned long>(f.sample_rate),
                                   EBUR128_MODE_I | EBUR128_MODE_S | EBUR128_MODE_TRUE_PEAK |
                                       EBUR128_MODE_SAMPLE_PEAK));
          if (!meter) return Error{ErrorCode::kInternal, "out of memory"};
        }
        if (f.sample_rate != result.sample_rate || f.channels != result.channels) {
          result.sample_rate = f.sample_rate;
          result.channels = f.channels;
          for (int c = 0; c < f.channels; ++c) {
            const AVChannel channel = av_channel_layout_channel_from_index(&f.layout, c);
            // A layout that names no positions (FFmpeg's "2 channels"): libebur128's
            // defaults, which take the first five as L R C (LFE) Ls Rs.
            if (f.layout.order == AV_CHANNEL_ORDER_UNSPEC) break;
            ebur128_set_channel(meter.get(), static_cast<unsigned>(c),
                                channel_role(channel));
          }
        }
        // In pieces that end on each 10 ms of audio: the true peak of each 10 ms is read
        // there (for normalization's gain), and the short-term loudness every 100 ms.
        const auto* samples = reinterpret_cast<const float*>(data);
        const int64_t step = std::max(1, f.sample_rate / 100);
        int done = 0;
        while (done < count) {
          const int64_t to_step = step - fed % step;
          const int n = static_cast<int>(std::min<int64_t>(count - done, to_step));
          int rc = ebur128_add_frames_float(
              meter.get(), samples + static_cast<ptrdiff_t>(done) * f.channels,
              static_cast<size_t>(n));
          if (rc != EBUR128_SUCCESS) return meter_error(info.path, rc);
          done += n;
          fed += n;
          if (blocks != nullptr) {
            for (int c = 0; c < f.channels; ++c) {
              double peak = 0;
              if (ebur128_prev_true_peak(meter.get(), static_cast<unsigned>(c), &peak) ==
                  EBUR128_SUCCESS) {
                block_peak = std::max(block_peak, peak);
              }
            }
            if (fed % step == 0) {
              blocks->peaks.push_back(static_cast<float>(block_peak));
              block_peak = 0;
              double level = 0;
              if (ebur128_loudness_window(meter.get(), 10, &level) == EBUR128_SUCCESS) {
                blocks->powers.push_back(
                    std::isfinite(level) ? std::pow(10.0, (level + 0.691) / 10.0) : 0.0);
              }
            }
          }
          if (fed % (10 * step) == 0 && fed >= 300 * step) {
            double short_term = 0;
            if (ebur128_loudness_shortterm(meter.get(), &short_term) == EBUR128_SUCCESS) {
              short_terms.push_back(short_term);
            }
          }
        }
        result.seconds += static_cast<double>(count) / f.sample_rate;
        return {};
      });
  if (!decoded) return decoded.error();
  if (blocks != nullptr && fed % std::max(1, result.sample_rate / 100) != 0) {
    blocks->peaks.push_back(static_cast<float>(block_peak));
  }
  const double silence = -std::numeric_limits<double>::infinity();
  if (!meter) {
    // No sample at all (an empty track).
    result.integrated = result.true_peak = result.sample_peak = silence;
    return result;
  }
  double value = 0;
  if (int rc = ebur128_loudness_global(meter.get(), &value); rc != EBUR128_SUCCESS) {
    return meter_error(info.path, rc);
  }
  result.integrated = std::isfinite(value) ? value : silence;
  result.range = loudness_range(short_terms);
  double true_peak = 0;
  double sample_peak = 0;
  for (int c = 0; c < result.channels; ++c) {
    double peak = 0;
    if (int rc = ebur128_true_peak(meter.get(), static_cast<unsigned>(c), &peak);
        rc != EBUR128_SUCCESS) {
      return meter_error(info.path, rc);
    }
    result.channel_true_peaks.push_back(decibels(peak));
    true_peak = std::max(true_peak, peak);
    if (int rc = ebur128_sample_peak(meter.get(), static_cast<unsigned>(c), &peak);
        rc != EBUR128_SUCCESS) {
      return meter_error(info.path, rc);
    }
    sample_peak = std::max(sample_peak, peak);
  }
  result.true_peak = decibels(true_peak);
  result.sample_peak = decibels(sample_peak);
  return result;
}

}  // namespace

Result<Loudness> measure_loudness(Input& input, int track, const LoudnessOptions& options) {
  return measure(input, track, options, nullptr);
}

namespace engine {

Result<Normalization> plan_normalization(Input& input, int track, const LoudnessTarget& target,
                                         const CancelToken& cancel) {
  LoudnessOptions options;
  options.cancel = cancel;
  Blocks blocks;
  auto measured = measure(input, track, options, &blocks);
  if (!measured) return measured.error();
  const double ceiling = std::pow(10.0, target.true_peak / 20.0);
  // Silence stays silence: no gain brings it to a level.
  if (!std::isfinite(measured->integrated)) {
    return Normalization{*measured, GainCurve(1.0, blocks.peaks, ceiling)};
  }
  double gain = std::pow(10.0, (target.lufs - measured->integrated) / 20.0);
  GainCurve curve(gain, blocks.peaks, ceiling);
  // Where peaks hold the gain down, make up for the loudness they take: a few rounds, each
  // estimating the output's loudness from the blocks' powers under the curve.
  for (int round = 0; round < 6 && curve.limited_seconds() > 0; ++round) {
    // BS.1770's gating blocks: 400 ms, one every 100 ms; each the mean of its forty 10 ms
    // powers, each turned by the curve's gain there.
    std::vector<double> turned;
    const auto n = static_cast<int64_t>(blocks.powers.size());
    for (int64_t first = 0; first + 40 <= n; first += 10) {
      double sum = 0;
      for (int64_t i = first; i < first + 40; ++i) {
        sum += blocks.powers[static_cast<size_t>(i)] * curve.mean_square(i, 1);
      }
      turned.push_back(sum / 40);
    }
    const double reached = gated_loudness(turned);
    if (!std::isfinite(reached) || std::abs(target.lufs - reached) < 0.05) break;
    // At most 20 dB over the plain gain: past that the peaks would be all there is.
    gain = std::min(gain * std::pow(10.0, (target.lufs - reached) / 20.0),
                    std::pow(10.0, (target.lufs - measured->integrated + 20) / 20.0));
    curve = GainCurve(gain, blocks.peaks, ceiling);
  }
  return Normalization{*measured, std::move(curve)};
}

}  // namespace engine
}  // namespace peel
