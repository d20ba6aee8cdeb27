#include "engine/decode.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "av/av.h"
#include "engine/demux.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libswresample/swresample.h>
}

namespace peel::engine {

namespace {

class TrackDecoder {
 public:
  TrackDecoder(const DecodeOptions& options, const SampleSink& sink, const std::string& input,
               double total)
      : options_(options), sink_(sink), input_(input), total_(total) {}

  Result<void> open(const AVStream& stream) {
    const AVCodec* codec = avcodec_find_decoder(stream.codecpar->codec_id);
    if (codec == nullptr) {
      return Error{ErrorCode::kUnsupportedFile,
                   fmt::format("{}: no decoder for {} audio", input_,
                               avcodec_get_name(stream.codecpar->codec_id))};
    }
    dec_.reset(avcodec_alloc_context3(codec));
    if (!dec_) return Error{ErrorCode::kInternal, "out of memory"};
    avcodec_parameters_to_context(dec_.get(), stream.codecpar);
    dec_->pkt_timebase = stream.time_base;
    dec_->thread_count = 1;
    if (const int rc = avcodec_open2(dec_.get(), codec, nullptr); rc < 0) {
      return av::translate(rc, ErrorCode::kUnsupportedFile,
                           fmt::format("cannot decode the {} audio of {}", codec->name, input_));
    }
    return {};
  }

  // One packet, or the end (null).
  Result<void> feed(const AVPacket* pkt) {
    int rc = avcodec_send_packet(dec_.get(), pkt);
    if (rc < 0 && rc != AVERROR_EOF) {
      ++summary_.failed_packets;  // a damaged packet: the ffmpeg CLI skips it too
      return {};
    }
    while ((rc = avcodec_receive_frame(dec_.get(), frame_.get())) == 0) {
      Result<void> handed = hand_on(*frame_);
      av_frame_unref(frame_.get());
      if (!handed) return handed;
    }
    if (rc != AVERROR(EAGAIN) && rc != AVERROR_EOF) ++summary_.failed_packets;
    return {};
  }

  Result<void> finish() {
    if (auto r = feed(nullptr); !r) return r;
    if (swr_) {
      // What the converter holds back (nothing for a pure format change; kept for safety).
      for (;;) {
        const int got = convert(nullptr, 0);
        if (got < 0) return av::translate(got, ErrorCode::kInternal, "converting samples failed");
        if (got == 0) break;
        if (auto r = sink_(format_, out_.data(), got); !r) return r;
        summary_.samples += got;
      }
    }
    return {};
  }

  DecodeSummary summary() const { return summary_; }

 private:
  Result<void> hand_on(const AVFrame& frame) {
    if (frame.nb_samples <= 0) return {};
    if (!swr_ || frame.sample_rate != format_.sample_rate ||
        frame.format != in_format_ ||
        av_channel_layout_compare(&frame.ch_layout, &format_.layout) != 0) {
      // First frame, or the stream changed its parameters midway: a new converter. The rate
      // stays the frame's own; what is measured is what is there.
      if (auto r = open_converter(frame); !r) return r;
    }
    const int got = convert(frame.extended_data, frame.nb_samples);
    if (got < 0) return av::translate(got, ErrorCode::kInternal, "converting samples failed");
    if (got > 0) {
      if (auto r = sink_(format_, out_.data(), got); !r) return r;
      summary_.samples += got;
    }
    if (options_.on_progress && summary_.samples >= next_report_) {
      next_report_ = summary_.samples + format_.sample_rate / 2;
      const double done = static_cast<double>(summary_.samples) / format_.sample_rate;
      options_.on_progress(Progress{done, std::max(total_, done)});
    }
    return {};
  }

  Result<void> open_converter(const AVFrame& frame) {
    av_channel_layout_uninit(&format_.layout);
    if (av_channel_layout_copy(&format_.layout, &frame.ch_layout) < 0) {
      return Error{ErrorCode::kInternal, "out of memory"};
    }
    format_.sample_rate = frame.sample_rate;
    format_.channels = frame.ch_layout.nb_channels;
    format_.format = options_.format;
    in_format_ = frame.format;
    SwrContext* swr = nullptr;
    int rc = swr_alloc_set_opts2(&swr, &format_.layout, options_.format, frame.sample_rate,
                                 &format_.layout, static_cast<AVSampleFormat>(frame.format),
                                 frame.sample_rate, 0, nullptr);
    swr_.reset(swr);
    if (rc >= 0) rc = swr_init(swr);
    if (rc < 0) return av::translate(rc, ErrorCode::kInternal, "cannot set up the sample converter");
    summary_.sample_rate = format_.sample_rate;
    summary_.channels = format_.channels;
    return {};
  }

  // Converts into out_; returns the samples written (or a negative AVERROR).
  int convert(const uint8_t* const* in, int count) {
    const int room = std::max(swr_get_out_samples(swr_.get(), count), 0) + 32;
    const size_t bytes = static_cast<size_t>(room) * format_.channels *
                         av_get_bytes_per_sample(options_.format);
    if (out_.size() < bytes) out_.resize(bytes);
    uint8_t* out[1] = {out_.data()};
    return swr_convert(swr_.get(), out, room, const_cast<const uint8_t**>(in), count);
  }

  const DecodeOptions& options_;
  const SampleSink& sink_;
  const std::string& input_;
  double total_;  // the track's stated seconds (0 if unknown)
  av::CodecContext dec_;
  av::Swr swr_;
  av::Frame frame_ = av::make_frame();
  DecodedFormat format_;
  int in_format_ = AV_SAMPLE_FMT_NONE;
  std::vector<uint8_t> out_;
  DecodeSummary summary_;
  int64_t next_report_ = 0;

 public:
  ~TrackDecoder() { av_channel_layout_uninit(&format_.layout); }
};

}  // namespace

Result<DecodeSummary> decode_track(Input& input, int track_number, const DecodeOptions& options,
                                   const SampleSink& sink) {
  const MediaInfo& info = input.info();
  if (av_sample_fmt_is_planar(options.format) != 0) {
    return Error{ErrorCode::kInternal, "decode_track() hands on interleaved samples only"};
  }
  if (track_number < 1 || track_number > static_cast<int>(info.audio.size())) {
    return Error{ErrorCode::kTrackNotFound,
                 info.audio.empty()
                     ? fmt::format("{} has no audio track.", info.path)
                     : fmt::format("{} has no audio track {}: it has {} (1 to {}).", info.path,
                                   track_number, info.audio.size(), info.audio.size())};
  }
  const AudioTrack& track = info.audio[static_cast<size_t>(track_number - 1)];
  auto source = Source::open(input, track.stream_index, options.cancel);
  if (!source) return source.error();
  TrackDecoder decoder(options, sink, info.path, to_seconds(track.duration));
  if (auto r = decoder.open(*source->stream()); !r) return r.error();
  av::Packet pkt = av::make_packet();
  for (;;) {
    auto more = source->read(pkt.get());
    if (!more) return more.error();
    if (!*more) break;
    Result<void> fed = decoder.feed(pkt.get());
    av_packet_unref(pkt.get());
    if (!fed) return fed.error();
    if (options.cancel.cancelled()) return Error{ErrorCode::kCancelled, "cancelled"};
  }
  if (auto r = decoder.finish(); !r) return r.error();
  return decoder.summary();
}

}  // namespace peel::engine
