// What the ffmpeg CLI (and audiowaveform's arithmetic over ffmpeg's samples) says about a
// file: the oracles the loudness and peaks tests compare peel with.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace peel::test {

struct R128 {
  double integrated = 0;  // LUFS
  double range = 0;       // LU
  double true_peak = 0;   // dBTP
};

// What `ffmpeg -af ebur128=peak=true` measures on audio stream `stream` (0-based): the
// filter's last values, to three decimals (its summary prints one).
R128 ffmpeg_r128(const std::string& path, int stream = 0);

// audiowaveform's peaks of interleaved 16-bit samples: channels mixed (their sum divided by
// their count, toward zero) or split, min then max per channel per run of `spp` samples, the
// last run partial; with `bits` 8, each divided by 256 toward zero.
std::vector<int> peaks_oracle(const std::vector<int16_t>& samples, int channels, int spp,
                              bool split, int bits = 16);

}  // namespace peel::test
