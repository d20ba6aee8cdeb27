// Decoding one audio track whole, for what measures it rather than writes it (loudness,
// waveform peaks): every sample the decoder gives, in order, converted to one interleaved
// sample format at the track's own rate and channels.
#pragma once

#include <cstdint>
#include <functional>

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/samplefmt.h>
}

#include "peel/cancel.h"
#include "peel/error.h"
#include "peel/media_info.h"
#include "peel/run.h"

namespace peel::engine {

// What the samples handed on are.
struct DecodedFormat {
  int sample_rate = 0;
  int channels = 0;
  AVChannelLayout layout{};  // the decoder's (owned by the decoder: valid during the call)
  AVSampleFormat format = AV_SAMPLE_FMT_NONE;  // interleaved, as asked
};

// `data`: `count` interleaved samples (count × channels values). An error stops decoding and
// is decode_track()'s result.
using SampleSink =
    std::function<Result<void>(const DecodedFormat& format, const uint8_t* data, int count)>;

struct DecodeOptions {
  AVSampleFormat format = AV_SAMPLE_FMT_FLT;  // interleaved (packed) formats only
  CancelToken cancel;
  // Seconds decoded of the track's stated duration, about every half second of audio; may
  // be empty.
  std::function<void(const Progress&)> on_progress;
};

struct DecodeSummary {
  int64_t samples = 0;       // per channel, handed on
  int sample_rate = 0;
  int channels = 0;
  int64_t failed_packets = 0;  // packets the decoder refused (skipped, as the ffmpeg CLI does)
};

// Decodes audio track `track_number` (1-based, as --track counts) of `input` from its start to
// its end: what `ffmpeg -i IN -map 0:a:N-1 -f f32le -` decodes, sample for sample. Fails with
// kTrackNotFound, kUnsupportedFile (no decoder), kCancelled, or the sink's error. One run at a
// time per Input, as for run().
Result<DecodeSummary> decode_track(Input& input, int track_number, const DecodeOptions& options,
                                   const SampleSink& sink);

}  // namespace peel::engine
