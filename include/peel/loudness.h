// Loudness of an audio track as EBU R128 / ITU-R BS.1770-4 measure it: integrated loudness,
// loudness range and true peak, by libebur128 over every decoded sample.
//
//   peel::Engine engine;
//   auto input = peel::Input::open(engine, "talk.mp4");
//   auto l = peel::measure_loudness(*input, 1);
//   // l->integrated: -19.3 (LUFS), l->range: 6.1 (LU), l->true_peak: -0.4 (dBTP)
#pragma once

#include <functional>
#include <vector>

#include "peel/cancel.h"
#include "peel/error.h"
#include "peel/media_info.h"
#include "peel/run.h"

namespace peel {

struct Loudness {
  int track = 0;            // 1-based, as --track counts
  double integrated = 0;    // LUFS, gated (BS.1770-4); -infinity for silence
  double range = 0;         // LU (EBU Tech 3342); 0 for a file shorter than 3 s or steady
  double true_peak = 0;     // dBTP, the highest of the channels'; -infinity for silence
  double sample_peak = 0;   // dBFS, the highest sample; -infinity for silence
  std::vector<double> channel_true_peaks;  // dBTP per channel, in the track's order
  int sample_rate = 0;
  int channels = 0;
  double seconds = 0;  // of audio measured
};

struct LoudnessOptions {
  CancelToken cancel;
  // Seconds measured of the track's duration, about twice a second of audio; may be empty.
  std::function<void(const Progress&)> on_progress;
};

// Measures audio track `track` (1-based) of `input` from its first sample to its last.
// Channels are weighted by their position (BS.1770: LFE not counted, surround channels
// +1.5 dB). Fails with kTrackNotFound, kUnsupportedFile (no decoder) or kCancelled. One run
// at a time per Input.
Result<Loudness> measure_loudness(Input& input, int track, const LoudnessOptions& options = {});

}  // namespace peel
