// The transcoder loop: decode → trim to exact samples → resample/mix → encode, into a
// PacketSink (the output file's muxer, or one segment's spill).
//
// Exactness: sample positions are counted, not read off timestamps. The first decoded frame
// is placed by its timestamp only when the stream's time base resolves single samples
// (mp4, ts, ogg); otherwise (Matroska's milliseconds) decoding starts at the beginning and
// samples are counted from zero. After that, frames follow each other; a timestamp jump
// beyond tolerance is damage: the hole is filled with silence so the timeline stays true.
#include "engine/transcode.h"

#include <fmt/format.h>

#include <algorithm>

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/samplefmt.h>
}

namespace peel::engine {

namespace {

// Decoding this much before the range warms up the decoder (MDCT overlap, bit reservoir,
// Opus pre-roll) so the first kept sample is right.
constexpr Micros kPreroll = 1'000'000;

class Transcoder {
 public:
  Transcoder(Job& job, PacketSink& out, SegmentRange* segment)
      : job_(job), plan_(job.plan), src_(job.source), out_(out), seg_(segment) {}

  Result<void> run();

 private:
  Result<void> open_decoder();
  Result<void> open_encoder(const AVFrame& first);
  Result<void> on_frame(AVFrame* frame);
  Result<void> push(const uint8_t* const* data, int offset, int count, AVSampleFormat fmt);
  Result<void> convert(const uint8_t** in, int in_count);
  Result<void> drain_fifo(bool final);
  Result<void> encode(AVFrame* frame);
  Result<void> fill_silence(int64_t count);

  Job& job_;
  const OutputPlan& plan_;
  Source& src_;
  PacketSink& out_;
  SegmentRange* seg_;  // null: the whole output
  av::CodecContext dec_;
  av::CodecContext enc_;
  av::Swr swr_;
  av::AudioFifo fifo_;
  av::Frame enc_frame_ = av::make_frame();
  av::Packet enc_pkt_ = av::make_packet();

  bool precise_ = false;  // the time base resolves single samples
  int in_rate_ = 0;
  int64_t first_ = 0;                  // first kept input sample index
  int64_t skipped_in_ = 0;             // input samples of the range before the segment's begin
  std::optional<int64_t> last_;        // one past the last kept input sample
  bool declared_end_ = false;          // last_ is the container's stated end of the track
  std::optional<int64_t> out_target_;  // exact number of output samples, when known
  int64_t next_pos_ = -1;              // input sample index expected next
  int64_t kept_in_ = 0;                // input samples passed to the resampler
  int64_t decoded_ = 0;                // input samples the decoder gave
  int64_t filled_ = 0;                 // input samples of silence filled into gaps
  int64_t sent_ = 0;                   // output samples sent to the encoder
  int64_t ticked_ = 0;                 // sent_ when seg_->on_fed was last called
  int64_t origin_ = 0;                 // stream tb timestamp of sample 0
  Micros stamp_offset_ = 0;            // the first frame's timestamp, where it was placed at 0
  bool done_ = false;                  // reached the end of the range
  std::optional<ProgressReporter> progress_;
};

Result<void> Transcoder::open_decoder() {
  const AVStream* st = src_.stream();
  const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
  if (codec == nullptr) {
    return Error{ErrorCode::kUnsupportedFile,
                 fmt::format("{}: no decoder for {} audio", plan_.input,
                             avcodec_get_name(st->codecpar->codec_id))};
  }
  dec_.reset(avcodec_alloc_context3(codec));
  avcodec_parameters_to_context(dec_.get(), st->codecpar);
  dec_->pkt_timebase = st->time_base;
  dec_->thread_count = 1;
  if (const int rc = avcodec_open2(dec_.get(), codec, nullptr); rc < 0) {
    return av::translate(rc, ErrorCode::kUnsupportedFile,
                         fmt::format("cannot decode the {} audio of {}", codec->name, plan_.input));
  }
  return {};
}

Result<void> Transcoder::open_encoder(const AVFrame& first) {
  auto enc = open_encoder_for(plan_, first.ch_layout);
  if (!enc) return enc.error();
  enc_ = std::move(*enc);
  AVCodecContext* e = enc_.get();

  auto swr = open_resampler(*e, first);
  if (!swr) return swr.error();
  swr_ = std::move(*swr);
  fifo_.reset(av_audio_fifo_alloc(e->sample_fmt, e->ch_layout.nb_channels, kChunk * 2));
  return out_.open(*e);
}

Result<void> Transcoder::encode(AVFrame* frame) {
  int rc = avcodec_send_frame(enc_.get(), frame);
  if (rc < 0) return av::translate(rc, ErrorCode::kInternal, "the encoder failed");
  while ((rc = avcodec_receive_packet(enc_.get(), enc_pkt_.get())) == 0) {
    if (auto w = out_.write(enc_pkt_.get()); !w) return w.error();
  }
  if (rc != AVERROR(EAGAIN) && rc != AVERROR_EOF) {
    return av::translate(rc, ErrorCode::kInternal, "the encoder failed");
  }
  return {};
}

Result<void> Transcoder::drain_fifo(bool final) {
  const int size = frame_samples(*enc_);
  while (av_audio_fifo_size(fifo_.get()) >= size ||
         (final && av_audio_fifo_size(fifo_.get()) > 0)) {
    int n = std::min(size, av_audio_fifo_size(fifo_.get()));
    if (out_target_) n = static_cast<int>(std::min<int64_t>(n, *out_target_ - sent_));
    if (n <= 0) break;
    av_frame_unref(enc_frame_.get());
    enc_frame_->nb_samples = n;
    enc_frame_->format = enc_->sample_fmt;
    enc_frame_->sample_rate = enc_->sample_rate;
    av_channel_layout_copy(&enc_frame_->ch_layout, &enc_->ch_layout);
    if (av_frame_get_buffer(enc_frame_.get(), 0) < 0) {
      return Error{ErrorCode::kInternal, "out of memory"};
    }
    av_audio_fifo_read(fifo_.get(), reinterpret_cast<void**>(enc_frame_->data), n);
    enc_frame_->pts = sent_;
    sent_ += n;
    if (auto r = out_.encoding(*enc_frame_); !r) return r;
    if (auto r = encode(enc_frame_.get()); !r) return r;
    progress_->update(static_cast<double>(sent_) / enc_->sample_rate);
    if (seg_ != nullptr && seg_->fed != nullptr) {
      seg_->fed->store(sent_, std::memory_order_relaxed);
      // Not every frame (Vorbis takes 64 samples at a time): every chunk is often enough.
      if (seg_->on_fed && sent_ - ticked_ >= kChunk) {
        ticked_ = sent_;
        seg_->on_fed();
      }
    }
    if (out_target_ && sent_ >= *out_target_) {
      av_audio_fifo_reset(fifo_.get());
      break;
    }
  }
  return {};
}

Result<void> Transcoder::convert(const uint8_t** in, int in_count) {
  const int room = swr_get_out_samples(swr_.get(), in_count);
  if (room > 0) {
    uint8_t** out = nullptr;
    if (av_samples_alloc_array_and_samples(&out, nullptr, enc_->ch_layout.nb_channels, room,
                                           enc_->sample_fmt, 0) < 0) {
      return Error{ErrorCode::kInternal, "out of memory"};
    }
    const int got = swr_convert(swr_.get(), out, room, in, in_count);
    if (got > 0) av_audio_fifo_write(fifo_.get(), reinterpret_cast<void**>(out), got);
    av_freep(&out[0]);
    av_freep(&out);
    if (got < 0) return av::translate(got, ErrorCode::kInternal, "resampling failed");
  }
  return drain_fifo(false);
}

// Feeds input samples [offset, offset+count) of planes `data` (in the decoder's format).
Result<void> Transcoder::push(const uint8_t* const* data, int offset, int count,
                              AVSampleFormat fmt) {
  const int channels = dec_->ch_layout.nb_channels;
  const bool planar = av_sample_fmt_is_planar(fmt) != 0;
  const int bytes = av_get_bytes_per_sample(fmt) * (planar ? 1 : channels);
  const uint8_t* planes[AV_NUM_DATA_POINTERS] = {};
  for (int c = 0; c < (planar ? channels : 1) && c < AV_NUM_DATA_POINTERS; ++c) {
    planes[c] = data[c] + static_cast<ptrdiff_t>(offset) * bytes;
  }
  const int64_t index = first_ + kept_in_;  // on the track, from its first sample
  kept_in_ += count;
  if (job_.gain == nullptr) return convert(planes, count);
  // Normalization: a copy of the samples, turned up or down by the track's gain curve.
  uint8_t** gained = nullptr;
  if (av_samples_alloc_array_and_samples(&gained, nullptr, channels, count, fmt, 0) < 0) {
    return Error{ErrorCode::kInternal, "out of memory"};
  }
  av_samples_copy(gained, const_cast<uint8_t* const*>(planes), 0, 0, count, channels, fmt);
  apply_gain(*job_.gain, gained, fmt, channels, count, index, in_rate_);
  auto converted = convert(const_cast<const uint8_t**>(gained), count);
  av_freep(&gained[0]);
  av_freep(&gained);
  return converted;
}

Result<void> Transcoder::fill_silence(int64_t count) {
  const auto fmt = static_cast<AVSampleFormat>(dec_->sample_fmt);
  while (count > 0) {
    const int n = static_cast<int>(std::min<int64_t>(count, kChunk));
    uint8_t** buf = nullptr;
    if (av_samples_alloc_array_and_samples(&buf, nullptr, dec_->ch_layout.nb_channels, n, fmt, 0) <
        0) {
      return Error{ErrorCode::kInternal, "out of memory"};
    }
    av_samples_set_silence(buf, 0, n, dec_->ch_layout.nb_channels, fmt);
    const int64_t begin = std::max<int64_t>(next_pos_, first_);
    const int64_t end = last_ ? std::min<int64_t>(next_pos_ + n, *last_) : next_pos_ + n;
    if (end > begin) {
      if (auto p =
              push(buf, static_cast<int>(begin - next_pos_), static_cast<int>(end - begin), fmt);
          !p) {
        av_freep(&buf[0]);
        av_freep(&buf);
        return p;
      }
    }
    av_freep(&buf[0]);
    av_freep(&buf);
    next_pos_ += n;
    count -= n;
  }
  return {};
}

Result<void> Transcoder::on_frame(AVFrame* frame) {
  if (!enc_) {
    in_rate_ = frame->sample_rate;
    const AVRational tb = src_.stream()->time_base;
    precise_ = static_cast<int64_t>(tb.num) * in_rate_ <= tb.den;
    const Micros audio_start = plan_.track.start - src_.info().start;
    first_ = std::max<int64_t>(0, micros_to_samples(plan_.from - audio_start, in_rate_));
    job_.result.start = audio_start + first_ * kMicrosPerSecond / in_rate_;
    if (plan_.to) {
      const Micros begin = std::max(plan_.from, audio_start);
      const Micros span = *plan_.to - begin;
      last_ = first_ + micros_to_samples(span, in_rate_);
      out_target_ = micros_to_samples(span, plan_.sample_rate);
    }
    if (plan_.track.samples > 0 && plan_.track.sample_rate > 0) {
      // The container's own end (an MP4 edit list ends inside the last AAC frame; FFmpeg's
      // decoder gives the whole frame) is the track's end, with or without a range.
      const int64_t end = av_rescale(plan_.track.samples, in_rate_, plan_.track.sample_rate);
      if (!last_ || end < *last_) {
        last_ = end;
        out_target_.reset();  // as many as the track holds
        declared_end_ = true;
      }
    }
    const double total =
        plan_.to ? to_seconds(*plan_.to - plan_.from)
                 : to_seconds(plan_.track.duration) - to_seconds(job_.result.start - audio_start);
    progress_.emplace(job_.options, total);
    if (seg_ != nullptr) {
      // The split put the segment's bounds where output samples meet whole input samples;
      // a decoder whose rate is not the declared one breaks that: let the caller go serial.
      if (seg_->begin * in_rate_ % plan_.sample_rate != 0 ||
          (seg_->end && *seg_->end * in_rate_ % plan_.sample_rate != 0)) {
        seg_->go_serial = true;
        done_ = true;
        return {};
      }
      skipped_in_ = seg_->begin * in_rate_ / plan_.sample_rate;
      first_ += skipped_in_;
      if (seg_->end) {
        last_ = first_ + (*seg_->end - seg_->begin) * in_rate_ / plan_.sample_rate;
        out_target_ = *seg_->end - seg_->begin;
      } else if (out_target_) {
        *out_target_ -= seg_->begin;
      }
    }
    if (auto r = open_encoder(*frame); !r) return r;
  }

  int64_t pos = next_pos_;
  const int64_t ts = frame->best_effort_timestamp;
  if (next_pos_ < 0) {
    pos = precise_ && ts != AV_NOPTS_VALUE
              ? av_rescale_q_rnd(ts - origin_, src_.stream()->time_base, AVRational{1, in_rate_},
                                 static_cast<AVRounding>(AV_ROUND_NEAR_INF))
              : 0;
    next_pos_ = pos;
    // Placed at the start, not where its timestamp says (a decoder may give nothing for the
    // first packets: WMA's first frame comes with the third): later timestamps are read
    // relative to this one's.
    if (!precise_ && ts != AV_NOPTS_VALUE) {
      stamp_offset_ = av_rescale_q(ts - origin_, src_.stream()->time_base, av::micros_tb());
    }
  } else if (ts != AV_NOPTS_VALUE) {
    const Micros stamped =
        av_rescale_q(ts - origin_, src_.stream()->time_base, av::micros_tb()) - stamp_offset_;
    const Micros expected = next_pos_ * kMicrosPerSecond / in_rate_;
    const Micros frame_len = static_cast<Micros>(frame->nb_samples) * kMicrosPerSecond / in_rate_;
    if (src_.timestamps_show_loss()) {
      if (stamped - expected > std::max<Micros>(40'000, 2 * frame_len)) {
        // A hole in the stream (damage): keep the timeline true by filling it with silence,
        // as far as the limits let a file make its output grow.
        const Micros base = plan_.track.start - src_.info().start;
        src_.add_lost(base + expected, base + stamped);
        if (seg_ != nullptr) {
          // Whether a gap is filled depends on all the audio before it: a serial decision.
          seg_->go_serial = true;
          done_ = true;
          return {};
        }
        const int64_t gap = micros_to_samples(stamped - expected, in_rate_);
        const Limits& limits = job_.engine.limits();
        if (gap <= micros_to_samples(limits.max_silence_fill, in_rate_) &&
            filled_ + gap <= std::max(decoded_, micros_to_samples(limits.max_silence_fill, in_rate_))) {
          if (auto r = fill_silence(gap); !r) return r;
          filled_ += gap;
        } else {
          // Skipped: the audio after the gap follows at once, and later timestamps are read
          // as if the gap were not there.
          stamp_offset_ += stamped - expected;
          job_.result.warnings.push_back(fmt::format(
              "{}: a gap of {} in the audio at {} was skipped, not filled with silence (more "
              "than the {} allowed); what follows it comes that much earlier in the output",
              plan_.input, format_time(stamped - expected), format_time(base + expected),
              format_time(limits.max_silence_fill)));
        }
        pos = next_pos_;
      }
    } else if (precise_ && std::llabs(stamped - expected) > 2 * kMicrosPerSecond / in_rate_ + 1) {
      // The timestamps jump where the data does not (fragmented MP4s often do): samples are
      // where the data puts them. Neither the length the timestamps add up to nor a seek by
      // timestamp (a segment's start) says where a sample is.
      if (seg_ != nullptr) {
        seg_->go_serial = true;
        done_ = true;
        return {};
      }
      if (declared_end_) {
        last_.reset();
        declared_end_ = false;
      }
    }
  }

  decoded_ += frame->nb_samples;
  const int64_t end = pos + frame->nb_samples;
  const int64_t begin = std::max(pos, first_);
  const int64_t stop = last_ ? std::min(end, *last_) : end;
  if (stop > begin) {
    if (auto r = push(frame->extended_data, static_cast<int>(begin - pos),
                      static_cast<int>(stop - begin), static_cast<AVSampleFormat>(frame->format));
        !r) {
      return r;
    }
  }
  next_pos_ = end;
  if (last_ && next_pos_ >= *last_) done_ = true;
  return {};
}

Result<void> Transcoder::run() {
  if (auto r = open_decoder(); !r) return r;
  const AVStream* st = src_.stream();
  origin_ = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
  const AVRational tb = st->time_base;
  const bool seekable_precisely =
      static_cast<int64_t>(tb.num) * st->codecpar->sample_rate <= tb.den;
  Micros seek_to = plan_.from;
  if (seg_ != nullptr) {
    const Micros audio_start = plan_.track.start - src_.info().start;
    seek_to =
        std::max(plan_.from, audio_start) + seg_->begin * kMicrosPerSecond / plan_.sample_rate;
  }
  if (seekable_precisely && seek_to > kPreroll) src_.seek(seek_to - kPreroll);

  auto pkt = av::make_packet();
  auto frame = av::make_frame();
  bool input_done = false;
  while (!done_) {
    if (!input_done) {
      auto more = src_.read(pkt.get());
      if (!more) return more.error();
      if (!*more) {
        input_done = true;
        avcodec_send_packet(dec_.get(), nullptr);
      } else {
        const int rc = avcodec_send_packet(dec_.get(), pkt.get());
        if (rc < 0 && rc != AVERROR(EAGAIN)) {
          const Micros t0 = src_.to_timeline(pkt->pts);
          src_.add_lost(t0, t0 + av_rescale_q(pkt->duration, tb, av::micros_tb()));
          continue;
        }
      }
    }
    int rc = 0;
    while (!done_ && (rc = avcodec_receive_frame(dec_.get(), frame.get())) == 0) {
      auto r = on_frame(frame.get());
      av_frame_unref(frame.get());
      if (!r) return r;
    }
    if (rc == AVERROR_EOF) break;
    if (rc < 0 && rc != AVERROR(EAGAIN) && !done_) {
      if (input_done) break;
    }
  }
  if (seg_ != nullptr && seg_->go_serial) return {};
  if (!enc_) {
    return Error{ErrorCode::kBadRange,
                 fmt::format("{} has no decodable audio in the range asked for", plan_.input)};
  }
  if (seg_ != nullptr && seg_->end) {
    // A segment before the last: its end is not the input's.
    if (!done_) {
      seg_->go_serial = true;
      return {};
    }
  } else {
    const Micros audio_start = plan_.track.start - src_.info().start;
    const Micros reached = audio_start + next_pos_ * kMicrosPerSecond / in_rate_;
    const Micros track_end = audio_start + plan_.track.duration;
    src_.finish(reached, plan_.to ? std::min(*plan_.to, track_end) : track_end);
  }

  // Flush the resampler's tail, then make the length exact.
  if (auto r = convert(nullptr, 0); !r) return r;
  if (!out_target_ || !last_ || next_pos_ < *last_) {
    // Open range, or the input ended early: as many samples as the input gave, resampled.
    // (Counted from the range's start, so that a last segment ends where a serial run does.)
    out_target_ =
        av_rescale_rnd(skipped_in_ + kept_in_, enc_->sample_rate, in_rate_, AV_ROUND_NEAR_INF) -
        (seg_ != nullptr ? seg_->begin : 0);
  }
  const int64_t missing = *out_target_ - sent_ - av_audio_fifo_size(fifo_.get());
  if (missing > 0) {
    // The resampler's rounding left a sample or two short of the exact length: pad.
    uint8_t** buf = nullptr;
    av_samples_alloc_array_and_samples(&buf, nullptr, enc_->ch_layout.nb_channels,
                                       static_cast<int>(missing), enc_->sample_fmt, 0);
    av_samples_set_silence(buf, 0, static_cast<int>(missing), enc_->ch_layout.nb_channels,
                           enc_->sample_fmt);
    av_audio_fifo_write(fifo_.get(), reinterpret_cast<void**>(buf), static_cast<int>(missing));
    av_freep(&buf[0]);
    av_freep(&buf);
  }
  if (auto r = drain_fifo(true); !r) return r;
  if (auto r = encode(nullptr); !r) return r;

  job_.result.samples = sent_;
  job_.result.sample_rate = enc_->sample_rate;
  job_.result.channels = enc_->ch_layout.nb_channels;
  job_.result.end = job_.result.start + sent_ * kMicrosPerSecond / enc_->sample_rate;
  return {};
}

}  // namespace

Result<void> transcode_into(Job& job, PacketSink& sink, SegmentRange* segment) {
  return Transcoder(job, sink, segment).run();
}

}  // namespace peel::engine
