// Waveform peaks of an audio track: the lowest and highest sample of each run of
// samples_per_pixel samples, as BBC's audiowaveform computes them, written in its data formats
// (JSON and binary .dat, version 2), which players such as peaks.js and wavesurfer.js read, or
// drawn as a PNG picture with a time axis.
//
//   peel::Engine engine;
//   auto input = peel::Input::open(engine, "film.mkv");
//   auto p = peel::peaks(engine, *input, {});  // track 1, 100 pixels a second, mixed to mono
//   peel::write_peaks(*p, "film.json", {});
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "peel/cancel.h"
#include "peel/engine.h"
#include "peel/error.h"
#include "peel/media_info.h"
#include "peel/run.h"

namespace peel {

struct PeaksOptions {
  int track = 1;  // 1-based, as --track counts
  // Resolution: `width` pixels for the whole track when it is set (samples_per_pixel = the
  // track's stated length in samples / width, rounded up, as audiowaveform fits an image),
  // else `pixels_per_second` (samples_per_pixel = sample rate / pixels_per_second, rounded
  // down, as audiowaveform's --pixels-per-second). A pixel is at least 2 samples.
  int pixels_per_second = 100;
  int width = 0;
  // One min/max pair per channel per pixel; otherwise the channels are mixed to one first
  // (their sum divided by their count, rounded toward zero, as audiowaveform mixes them).
  bool split_channels = false;
  CancelToken cancel;
  // Seconds decoded of the track's duration, about twice a second of audio; may be empty.
  std::function<void(const Progress&)> on_progress;
};

struct Peaks {
  int track = 0;
  int sample_rate = 0;
  int channels = 0;         // of the data: 1 when mixed, else the track's
  int source_channels = 0;  // the track's
  int samples_per_pixel = 0;
  int64_t samples = 0;  // per channel, covered by the data
  // 16-bit values: for each pixel, for each channel, min then max (audiowaveform's order).
  std::vector<int16_t> data;

  int64_t length() const {
    return channels > 0 ? static_cast<int64_t>(data.size()) / (2 * channels) : 0;
  }
};

// Computes the peaks of options.track of `input` over every sample the decoder gives (the
// ffmpeg CLI's decode, in 16-bit), up to the track's stated end where the container states one
// to the sample (an MP4's edit list), as an extraction of the whole track holds. The last pixel
// may cover fewer samples. Fails with kNoAudio, kTrackNotFound, kBadOutputOption (a resolution
// finer than 2 samples a pixel), kUnsupportedFile (no decoder; the channel count changes
// midway) or kCancelled. One run at a time per Input; thread-safe otherwise.
Result<Peaks> peaks(Engine& engine, Input& input, const PeaksOptions& options);

// How the data is written: by the output's extension.
enum class PeaksFormat { kJson, kDat, kPng };

// The format for `path`'s extension (.json, .dat, .png, in any case); kUsage for another.
Result<PeaksFormat> peaks_format_for(const std::string& path);

// audiowaveform's 8-bit values: a 16-bit value divided by 256, rounded toward zero.
inline int to_8_bits(int16_t v) { return v / 256; }

// audiowaveform's JSON (version 2): version, channels, sample_rate, samples_per_pixel, bits,
// length, data. `bits`: 8 or 16.
std::string peaks_json(const Peaks& peaks, int bits);

// audiowaveform's binary .dat (version 2): a 24-byte little-endian header (version 2, flags
// with bit 0 set for 8 bits, sample rate, samples per pixel, length, channels), then the
// values as int8 or int16, little-endian.
std::string peaks_dat(const Peaks& peaks, int bits);

struct PictureOptions {
  int width = 1800;  // pixels; one column per pixel of the data (columns past it stay empty)
  int height = 280;  // pixels, the time axis's 24 included
};

// A PNG: each column a bar from the pixel's min to its max around the centre line (one lane
// per channel when split), on a light background, with a time axis below (ticks and m:ss
// labels). Fails with kBadOutputOption for a size outside 64..30000 × 64..4000.
Result<std::string> peaks_png(const Peaks& peaks, const PictureOptions& options);

struct PeaksWriteOptions {
  int bits = 16;           // .json and .dat
  PictureOptions picture;  // .png
  bool overwrite = false;
  std::string input;  // never written over, even through a link ("" for none)
};

// Writes `peaks` to `path` in the format its extension names, atomically (a hidden temporary
// file beside it, renamed into place). Returns the bytes written. Fails with kUsage (extension,
// bits), kBadOutputOption (picture size), kOutputExists, kOutputIsInput, kOutputUnwritable or
// kWriteFailed.
Result<int64_t> write_peaks(const Peaks& peaks, const std::string& path,
                            const PeaksWriteOptions& options);

// What write_peaks() checks before it writes, touching nothing: the extension, the bits, and
// the target (not the input, not a folder, not existing unless overwriting, its folder takes
// files). Lets a front end refuse before decoding a long track.
Result<PeaksFormat> check_peaks_output(const std::string& path, const PeaksWriteOptions& options);

}  // namespace peel
