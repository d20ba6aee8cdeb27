// Encoder setup for transcodes: which encoder and sample format a plan asks for, the encoder
// opened with the plan's settings, and the resampler that feeds it.
#pragma once

#include "av/av.h"
#include "peel/plan.h"

namespace peel::engine {

// Samples per encoder frame for encoders without a fixed frame size (pcm).
inline constexpr int kChunk = 4096;

// The codec the plan's encoder writes; AV_CODEC_ID_NONE when this FFmpeg has no such encoder.
AVCodecID output_codec(const OutputPlan& plan);

// Opens the encoder the plan asks for, for audio of `layout`. Fails with kBadOutputOption or
// kInternal.
Result<av::CodecContext> open_encoder_for(const OutputPlan& plan, const AVChannelLayout& layout);

// Samples in each frame the encoder takes (and so in each packet it makes), but the last.
int frame_samples(const AVCodecContext& encoder);

// The resampler from the decoder's frames, like `first`, to `encoder`'s format, rate and
// layout. Fails with kInternal.
Result<av::Swr> open_resampler(const AVCodecContext& encoder, const AVFrame& first);

}  // namespace peel::engine
