// Encoder setup: the encoder and sample format for a plan, the encoder opened with the
// plan's bitrate, quality and layout, and the resampler into its format.
#include "engine/encoder.h"

#include <fmt/format.h>

#include "engine/format_table.h"

extern "C" {
#include <libavutil/channel_layout.h>
}

namespace peel::engine {

namespace {

struct EncoderSetup {
  const AVCodec* codec = nullptr;
  AVSampleFormat sample_fmt = AV_SAMPLE_FMT_NONE;
  int bits_per_raw_sample = 0;
};

EncoderSetup choose_encoder(const OutputPlan& plan) {
  EncoderSetup e;
  const FormatSpec& spec = *find_format(plan.format);
  if (!spec.sample_formats.empty() || spec.encoder == "flac") {  // pcm, flac, Matroska's FLAC
    const std::string& sf = plan.sample_format;
    e.sample_fmt = sf == "s16"   ? AV_SAMPLE_FMT_S16
                   : sf == "f32" ? AV_SAMPLE_FMT_FLT
                                 : AV_SAMPLE_FMT_S32;
    if (sf == "s24") e.bits_per_raw_sample = 24;
    e.codec = spec.encoder == "flac" ? avcodec_find_encoder_by_name("flac")
                                     : avcodec_find_encoder(pcm_codec(sf));
    return e;
  }
  e.codec = avcodec_find_encoder_by_name(std::string(spec.encoder).c_str());
  if (e.codec != nullptr && e.codec->sample_fmts != nullptr) {
    e.sample_fmt = e.codec->sample_fmts[0];
    // Prefer float: decoders of lossy codecs produce it, so no precision is thrown away.
    for (const AVSampleFormat* f = e.codec->sample_fmts; *f != AV_SAMPLE_FMT_NONE; ++f) {
      if (*f == AV_SAMPLE_FMT_FLTP || *f == AV_SAMPLE_FMT_FLT) {
        e.sample_fmt = *f;
        break;
      }
    }
  }
  return e;
}

}  // namespace

AVCodecID output_codec(const OutputPlan& plan) {
  const EncoderSetup setup = choose_encoder(plan);
  return setup.codec != nullptr ? setup.codec->id : AV_CODEC_ID_NONE;
}

Result<av::CodecContext> open_encoder_for(const OutputPlan& plan, const AVChannelLayout& layout) {
  const EncoderSetup setup = choose_encoder(plan);
  if (setup.codec == nullptr) {
    return Error{ErrorCode::kInternal, fmt::format("no encoder for {}", plan.format)};
  }
  av::CodecContext enc(avcodec_alloc_context3(setup.codec));
  AVCodecContext* e = enc.get();
  e->sample_rate = plan.sample_rate;
  e->sample_fmt = setup.sample_fmt;
  e->bits_per_raw_sample = setup.bits_per_raw_sample;
  if (plan.channels == layout.nb_channels && layout.order == AV_CHANNEL_ORDER_NATIVE) {
    av_channel_layout_copy(&e->ch_layout, &layout);
  } else {
    av_channel_layout_default(&e->ch_layout, plan.channels);
  }
  if (setup.codec->ch_layouts != nullptr) {
    bool supported = false;
    for (const AVChannelLayout* l = setup.codec->ch_layouts; l->nb_channels != 0; ++l) {
      supported = supported || av_channel_layout_compare(l, &e->ch_layout) == 0;
    }
    if (!supported) {
      av_channel_layout_uninit(&e->ch_layout);
      av_channel_layout_default(&e->ch_layout, plan.channels);
    }
  }
  e->time_base = AVRational{1, plan.sample_rate};
  e->thread_count = 1;
  if (plan.bitrate) e->bit_rate = *plan.bitrate;
  if (plan.quality) {
    e->flags |= AV_CODEC_FLAG_QSCALE;
    e->global_quality = static_cast<int>(*plan.quality * FF_QP2LAMBDA);
  }
  const FormatSpec& spec = *find_format(plan.format);
  const AVOutputFormat* of = av_guess_format(
      spec.muxer.empty() ? "s16le" : std::string(spec.muxer).c_str(), nullptr, nullptr);
  if (of != nullptr && (of->flags & AVFMT_GLOBALHEADER) != 0) {
    e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  }
  if (const int rc = avcodec_open2(e, setup.codec, nullptr); rc < 0) {
    return av::translate(rc, ErrorCode::kBadOutputOption,
                         fmt::format("the {} encoder refused these settings for {}",
                                     setup.codec->name, plan.output));
  }
  return enc;
}

int frame_samples(const AVCodecContext& encoder) {
  const bool fixed = encoder.frame_size > 0 &&
                     (encoder.codec->capabilities & AV_CODEC_CAP_VARIABLE_FRAME_SIZE) == 0;
  return fixed ? encoder.frame_size : kChunk;
}

Result<av::Swr> open_resampler(const AVCodecContext& encoder, const AVFrame& first) {
  SwrContext* swr = nullptr;
  // FFmpeg 5.1 declares the layouts non-const but only reads them.
  int rc = swr_alloc_set_opts2(
      &swr, const_cast<AVChannelLayout*>(&encoder.ch_layout), encoder.sample_fmt,
      encoder.sample_rate, const_cast<AVChannelLayout*>(&first.ch_layout),
      static_cast<AVSampleFormat>(first.format), first.sample_rate, 0, nullptr);
  av::Swr resampler(swr);
  if (rc >= 0) rc = swr_init(swr);
  if (rc < 0) return av::translate(rc, ErrorCode::kInternal, "cannot set up the resampler");
  return resampler;
}

}  // namespace peel::engine
