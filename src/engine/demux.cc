// Source: demuxing one audio stream, with damage tracking.
#include "engine/demux.h"

#include <fmt/format.h>

#include <algorithm>

#include "engine/probe.h"

namespace peel::engine {

namespace {
// Gaps shorter than this between consecutive packets are container jitter, not damage.
constexpr Micros kGapTolerance = 40'000;
constexpr int kMaxConsecutiveReadErrors = 1000;

int interrupt(void* opaque) noexcept {
  const auto& file = *static_cast<const OpenFile*>(opaque);
  if (file.cancel.cancelled()) return 1;
  return file.deadline && std::chrono::steady_clock::now() > *file.deadline ? 1 : 0;
}

// Back to the first packet of the file.
void rewind(AVFormatContext* ctx, Micros start) {
  if (av_seek_frame(ctx, -1, start, AVSEEK_FLAG_BACKWARD) < 0) {
    av_seek_frame(ctx, -1, 0, AVSEEK_FLAG_BYTE);
  }
}
}  // namespace

Result<std::unique_ptr<OpenFile>> open_file(const std::string& path, const Limits& limits,
                                            const CancelToken& cancel) {
  auto file = std::make_unique<OpenFile>();
  file->cancel = cancel;
  if (limits.open_timeout > 0) {
    file->deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(limits.open_timeout);
  }
  std::vector<std::string> log;
  {
    const av::LogCapture capture(&log, limits.max_log_lines);
    const AVIOInterruptCB cb{interrupt, file.get()};
    auto ctx = av::open_input(path, &cb, limits);
    if (!ctx) {
      Error e = ctx.error();
      if (e.code == ErrorCode::kCancelled && !cancel.cancelled()) {
        return Error{ErrorCode::kUnsupportedFile,
                     fmt::format("{} took longer than {:g} s to open and inspect, the most "
                                 "allowed here; it may be damaged or made to be slow",
                                 path, to_seconds(limits.open_timeout)),
                     e.averror};
      }
      if (e.code == ErrorCode::kCancelled) e.message = fmt::format("cancelled while opening {}", path);
      return e;
    }
    file->ctx = std::move(*ctx);
  }
  file->deadline.reset();
  file->info = describe(*file->ctx, path);
  file->info.log = std::move(log);
  return file;
}

Result<Source> Source::open(Input& input, int stream_index, const CancelToken& cancel) {
  OpenFile& file = *input.file_;
  AVFormatContext* ctx = file.ctx.get();
  if (stream_index < 0 || stream_index >= static_cast<int>(ctx->nb_streams) ||
      ctx->streams[stream_index]->codecpar->codec_type != AVMEDIA_TYPE_AUDIO) {
    return Error{ErrorCode::kTrackNotFound,
                 fmt::format("{} changed since it was inspected: stream {} is not audio",
                             file.info.path, stream_index)};
  }
  file.cancel = cancel;
  for (unsigned i = 0; i < ctx->nb_streams; ++i) {
    ctx->streams[i]->discard =
        static_cast<int>(i) == stream_index ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
  }
  if (file.read_from) rewind(ctx, file.info.start);
  file.read_from = true;
  Source s;
  s.file_ = &file;
  s.index_ = stream_index;
  s.shows_loss_ = !std::string_view(ctx->iformat->name).starts_with("mov,");
  return s;
}

Micros Source::to_timeline(int64_t ts) const {
  return av_rescale_q(ts, stream()->time_base, av::micros_tb()) - info().start;
}

int64_t Source::from_timeline(Micros t) const {
  return av_rescale_q(t + info().start, av::micros_tb(), stream()->time_base);
}

void Source::seek(Micros t) {
  if (t <= 0) return;
  if (av_seek_frame(format(), index_, from_timeline(t), AVSEEK_FLAG_BACKWARD) >= 0) {
    seek_target_ = t;
  }
  expected_next_ = AV_NOPTS_VALUE;
}

Result<bool> Source::read(AVPacket* pkt) {
  int errors = 0;
  while (true) {
    if (file_->cancel.cancelled()) return Error{ErrorCode::kCancelled, "cancelled"};
    av_packet_unref(pkt);
    const int rc = av_read_frame(format(), pkt);
    if (rc == AVERROR_EOF) return false;
    if (rc == AVERROR_EXIT) return Error{ErrorCode::kCancelled, "cancelled", rc};
    if (rc < 0) {
      if (++errors > kMaxConsecutiveReadErrors) return false;
      if (format()->pb != nullptr && avio_feof(format()->pb)) return false;
      continue;
    }
    if (pkt->stream_index != index_) continue;
    if (!shows_loss_ && (pkt->flags & AV_PKT_FLAG_DISCARD) != 0 && kept_one_) {
      // FFmpeg discards the frames of MP4 fragments that overlap the one before in time;
      // every one of them holds audio that follows on (ffmpeg's own muxer writes such files),
      // and dropping them cuts holes in it. Discarding before the first kept packet is an
      // edit list's warm-up, and stays.
      pkt->flags &= ~AV_PKT_FLAG_DISCARD;
    }
    if ((pkt->flags & AV_PKT_FLAG_DISCARD) == 0) kept_one_ = true;
    if (pkt->pts == AV_NOPTS_VALUE) pkt->pts = pkt->dts;
    if (pkt->pts == AV_NOPTS_VALUE && expected_next_ != AV_NOPTS_VALUE) pkt->pts = expected_next_;
    if (seek_target_) {
      const Micros target = *seek_target_;
      seek_target_.reset();
      if (pkt->pts != AV_NOPTS_VALUE && to_timeline(pkt->pts) > target) {
        rewind(format(), info().start);
        continue;
      }
    }
    if (pkt->pts != AV_NOPTS_VALUE) {
      if (shows_loss_ && expected_next_ != AV_NOPTS_VALUE) {
        const Micros gap = to_timeline(pkt->pts) - to_timeline(expected_next_);
        const Micros last = av_rescale_q(last_duration_, stream()->time_base, av::micros_tb());
        if (gap > std::max<Micros>(kGapTolerance, 2 * last)) {
          add_lost(to_timeline(expected_next_), to_timeline(pkt->pts));
        }
      }
      last_duration_ = pkt->duration;
      expected_next_ = std::max(expected_next_ == AV_NOPTS_VALUE ? pkt->pts : expected_next_,
                                pkt->pts + pkt->duration);
    }
    return true;
  }
}

void Source::add_lost(Micros from, Micros to) {
  if (to <= from) return;
  if (!lost_.empty() && from <= lost_.back().to + kGapTolerance) {
    lost_.back().to = std::max(lost_.back().to, to);
    return;
  }
  lost_.push_back({from, to});
}

void Source::finish(Micros reached, Micros expected_end) {
  // What the timestamps reached counts too: where they run ahead of the data (a fragmented
  // MP4), the data is all there even though it ends before their end.
  if (expected_next_ != AV_NOPTS_VALUE) reached = std::max(reached, to_timeline(expected_next_));
  if (expected_end > 0 && expected_end - reached > std::max<Micros>(kGapTolerance, 250'000)) {
    add_lost(reached, expected_end);
  }
}

}  // namespace peel::engine
