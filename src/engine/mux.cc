// Sink: muxing into the temporary output file.
#include "engine/mux.h"

#include <fmt/format.h>

#include <cerrno>
#include <set>

extern "C" {
#include <libavutil/mathematics.h>
}

namespace peel::engine {

namespace {

int interrupt(void* opaque) noexcept {
  return static_cast<const CancelToken*>(opaque)->cancelled() ? 1 : 0;
}

// Container bookkeeping that describes the source file, not the audio.
bool is_container_tag(const char* key) {
  static const std::set<std::string> kSkip = {"major_brand", "minor_version", "compatible_brands",
                                              "encoder",     "handler_name",  "vendor_id",
                                              "duration",    "ENCODER",       "DURATION"};
  return kSkip.count(key) != 0;
}

void copy_tags(AVDictionary** dst, const AVDictionary* src) {
  for (const AVDictionaryEntry* e = nullptr;
       (e = av_dict_get(src, "", e, AV_DICT_IGNORE_SUFFIX)) != nullptr;) {
    if (!is_container_tag(e->key)) av_dict_set(dst, e->key, e->value, 0);
  }
}

void copy_chapters(AVFormatContext* out, const AVFormatContext& in, Micros from,
                   std::optional<Micros> to, Micros input_start) {
  for (unsigned i = 0; i < in.nb_chapters; ++i) {
    const AVChapter* c = in.chapters[i];
    const Micros start = av_rescale_q(c->start, c->time_base, av::micros_tb()) - input_start;
    const Micros end = av_rescale_q(c->end, c->time_base, av::micros_tb()) - input_start;
    if (end <= from || (to && start >= *to)) continue;
    auto* ch = static_cast<AVChapter*>(av_mallocz(sizeof(AVChapter)));
    if (ch == nullptr) return;
    ch->id = c->id;
    ch->time_base = av::micros_tb();
    ch->start = std::max<Micros>(start, from) - from;
    ch->end = (to ? std::min(end, *to) : end) - from;
    av_dict_copy(&ch->metadata, c->metadata, 0);
    auto** grown = static_cast<AVChapter**>(
        av_realloc_array(out->chapters, out->nb_chapters + 1, sizeof(AVChapter*)));
    if (grown == nullptr) {
      av_dict_free(&ch->metadata);
      av_free(ch);
      return;
    }
    out->chapters = grown;
    out->chapters[out->nb_chapters++] = ch;
  }
}

}  // namespace

Result<Sink> Sink::open(const OutputPlan& plan, const std::string& path,
                        const AVCodecParameters& par, AVRational time_base, const Source& source,
                        Micros start, const CancelToken& cancel, int64_t max_bytes) {
  const AVFormatContext& input = *source.format();
  const AVStream& input_stream = *source.stream();
  const FormatSpec* spec = find_format(plan.format);
  const std::string_view named = muxer_for(*spec, par.codec_id);
  const std::string muxer(named.empty() ? raw_muxer(par.codec_id) : named);
  Sink s;
  s.target_ = plan.output;
  s.max_bytes_ = max_bytes;
  s.cancel_ = std::make_unique<CancelToken>(cancel);
  AVFormatContext* raw = nullptr;
  // The target's name, not the temporary file's: muxers read it (the ipod muxer warns when it
  // does not end in .m4a).
  int rc = avformat_alloc_output_context2(&raw, nullptr, muxer.c_str(), plan.output.c_str());
  if (rc < 0 || raw == nullptr) {
    return av::translate(rc, ErrorCode::kInternal,
                         fmt::format("this FFmpeg has no '{}' muxer", muxer));
  }
  s.ctx_.reset(raw);
  s.ctx_->interrupt_callback = {interrupt, s.cancel_.get()};
  AVStream* st = avformat_new_stream(s.ctx_.get(), nullptr);
  if (st == nullptr) return Error{ErrorCode::kInternal, "out of memory"};
  avcodec_parameters_copy(st->codecpar, &par);
  st->codecpar->codec_tag = 0;
  st->time_base = time_base;

  if (plan.keep_metadata) {
    if (spec->tags) {
      copy_tags(&s.ctx_->metadata, input.metadata);
      copy_tags(&st->metadata, input_stream.metadata);
      // Ogg keeps its comments per stream: give it the file's tags too.
      if (muxer == "ogg" || muxer == "opus") copy_tags(&st->metadata, input.metadata);
    } else if (const auto* lang = av_dict_get(input_stream.metadata, "language", nullptr, 0)) {
      av_dict_set(&st->metadata, "language", lang->value, 0);
    }
    if (spec->chapters) {
      copy_chapters(s.ctx_.get(), input, start, plan.to, source.info().start);
    }
  }

  AVDictionary* io_opts = nullptr;
  av_dict_set(&io_opts, "protocol_whitelist", "file", 0);
  // The temporary file is new and empty: truncating it would only make ext4 flush on close.
  av_dict_set(&io_opts, "truncate", "0", 0);
  const std::string url = "file:" + path;
  rc = avio_open2(&s.ctx_->pb, url.c_str(), AVIO_FLAG_WRITE, &s.ctx_->interrupt_callback, &io_opts);
  av_dict_free(&io_opts);
  if (rc < 0) {
    return av::translate(rc, ErrorCode::kOutputUnwritable,
                         fmt::format("cannot write {}", plan.output));
  }
  return s;
}

Error Sink::write_error(int rc) const {
  if (rc == AVERROR_EXIT || cancel_->cancelled()) {
    return Error{ErrorCode::kCancelled, "cancelled", rc};
  }
  if (rc == AVERROR(ENOSPC)) {
    return av::translate(rc, ErrorCode::kWriteFailed,
                         fmt::format("the disk is full while writing {}; free some space and "
                                     "try again",
                                     target_));
  }
  return av::translate(rc, ErrorCode::kWriteFailed, fmt::format("cannot write {}", target_));
}

Result<void> Sink::start() {
  AVDictionary* opts = nullptr;
  // mp3: a LAME header makes decoders skip its delay plus 529 samples; write it only when
  // the stream has a known delay, or an mp3 without one would lose its first samples.
  if (stream()->codecpar->initial_padding == 0) av_dict_set(&opts, "write_xing", "0", 0);
  const int rc = avformat_write_header(ctx_.get(), &opts);
  av_dict_free(&opts);
  if (rc < 0) {
    if (rc == AVERROR(EINVAL) || rc == AVERROR_INVALIDDATA || rc == AVERROR_PATCHWELCOME) {
      return av::translate(
          rc, ErrorCode::kCannotCopy,
          fmt::format("the {} format cannot hold this audio for {}", ctx_->oformat->name, target_));
    }
    return write_error(rc);
  }
  return {};
}

Result<void> Sink::write(AVPacket* pkt, AVRational tb) {
  pkt->stream_index = 0;
  pkt->pos = -1;
  av_packet_rescale_ts(pkt, tb, stream()->time_base);
  const int rc = av_write_frame(ctx_.get(), pkt);
  av_packet_unref(pkt);
  if (rc < 0) return write_error(rc);
  if (ctx_->pb != nullptr && ctx_->pb->error < 0) return write_error(ctx_->pb->error);
  if (max_bytes_ > 0 && ctx_->pb != nullptr && avio_tell(ctx_->pb) > max_bytes_) {
    return Error{ErrorCode::kOutputTooLarge,
                 fmt::format("{} grew past {} MB, the most one output may be here; ask for a "
                             "shorter range, fewer channels or a compressed format",
                             target_, max_bytes_ / 1'000'000)};
  }
  return {};
}

Result<void> Sink::finish() {
  int rc = av_write_trailer(ctx_.get());
  if (rc >= 0 && ctx_->pb != nullptr) {
    avio_flush(ctx_->pb);
    rc = ctx_->pb->error;
  }
  if (rc >= 0 && ctx_->pb != nullptr) rc = avio_closep(&ctx_->pb);
  if (rc < 0) return write_error(rc);
  return {};
}

}  // namespace peel::engine
