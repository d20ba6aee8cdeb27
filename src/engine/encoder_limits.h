// What each lossy encoder really does with a bitrate or a VBR quality, so that plan() refuses
// a setting the encoder would quietly change (LAME turns 1500 kbit/s into 320) instead of
// promising it. The ranges are documented in docs/cli.md ("Bitrates and qualities").
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "peel/error.h"

struct AVCodec;

namespace peel::engine {

// The bitrates (bits/s) an encoder honours for one sample rate and channel count.
struct BitrateRange {
  int64_t min = 0;
  int64_t max = 0;
  std::vector<int64_t> steps;  // its only bitrates (CBR tables), ascending; empty: any in range
};

// For LAME, AAC, Opus, AC-3 and E-AC-3 from what they are known to do (each edge checked
// against ffprobe in tests/cli/bitrate_test.cc); for Vorbis by asking libvorbis, whose tables
// depend on both. Empty for an encoder peel knows no limits of, or one that has no bitrate
// (lossless), or when libvorbis takes no bitrate at all for this rate and channel count.
std::optional<BitrateRange> bitrate_range(const AVCodec& encoder, int sample_rate, int channels);

struct EncoderSettings {
  std::optional<int64_t> bitrate;
  std::optional<double> quality;
};

// The bitrate and quality `encoder` will run with when writing `format` at `sample_rate` with
// `channels`: the asked ones when the encoder honours them exactly; without either,
// `default_bitrate` (0: none) moved to the nearest one it honours. Fails with
// kBadOutputOption, naming what the encoder takes, for a bitrate or quality it would change or
// refuse (or any bitrate for a lossless encoder); kUsage when both are asked.
Result<EncoderSettings> encoder_settings(const AVCodec& encoder, std::string_view format,
                                         int sample_rate, int channels,
                                         std::optional<int64_t> bitrate,
                                         std::optional<double> quality, int64_t default_bitrate);

}  // namespace peel::engine
