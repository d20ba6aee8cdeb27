// Source: demuxing one audio stream, with damage tracking.
#include "engine/demux.h"

#include <algorithm>

#include <fmt/format.h>

#include "engine/probe.h"

namespace peel::engine {

namespace {
// Gaps shorter than this between consecutive packets are container jitter, not damage.
constexpr Micros kGapTolerance = 40'000;
constexpr int kMaxConsecutiveReadErrors = 1000;

int interrupt(void* opaque) noexcept {
  return static_cast<const CancelToken*>(opaque)->cancelled() ? 1 : 0;
}
}  // namespace

Result<Source> Source::open(const std::string& path, int stream_index, const CancelToken& cancel) {
  Source s;
  s.cancel_ = std::make_unique<CancelToken>(cancel);
  const AVIOInterruptCB cb{interrupt, s.cancel_.get()};
  auto ctx = av::open_input(path, &cb);
  if (!ctx) return ctx.error();
  s.ctx_ = std::move(*ctx);
  s.info_ = describe(*s.ctx_, path);
  if (stream_index < 0 || stream_index >= static_cast<int>(s.ctx_->nb_streams) ||
      s.ctx_->streams[stream_index]->codecpar->codec_type != AVMEDIA_TYPE_AUDIO) {
    return Error{ErrorCode::kTrackNotFound,
                 fmt::format("{} changed since it was inspected: stream {} is not audio", path,
                             stream_index)};
  }
  s.index_ = stream_index;
  for (unsigned i = 0; i < s.ctx_->nb_streams; ++i) {
    s.ctx_->streams[i]->discard = static_cast<int>(i) == stream_index ? AVDISCARD_DEFAULT
                                                                      : AVDISCARD_ALL;
  }
  return s;
}

Micros Source::to_timeline(int64_t ts) const {
  return av_rescale_q(ts, stream()->time_base, av::micros_tb()) - info_.start;
}

int64_t Source::from_timeline(Micros t) const {
  return av_rescale_q(t + info_.start, av::micros_tb(), stream()->time_base);
}

void Source::seek(Micros t) {
  if (t <= 0) return;
  if (av_seek_frame(ctx_.get(), index_, from_timeline(t), AVSEEK_FLAG_BACKWARD) >= 0) {
    seek_target_ = t;
  }
  expected_next_ = AV_NOPTS_VALUE;
}

Result<bool> Source::read(AVPacket* pkt) {
  int errors = 0;
  while (true) {
    if (cancel_->cancelled()) return Error{ErrorCode::kCancelled, "cancelled"};
    av_packet_unref(pkt);
    const int rc = av_read_frame(ctx_.get(), pkt);
    if (rc == AVERROR_EOF) return false;
    if (rc == AVERROR_EXIT) return Error{ErrorCode::kCancelled, "cancelled", rc};
    if (rc < 0) {
      if (++errors > kMaxConsecutiveReadErrors) return false;
      if (ctx_->pb != nullptr && avio_feof(ctx_->pb)) return false;
      continue;
    }
    if (pkt->stream_index != index_) continue;
    if (pkt->pts == AV_NOPTS_VALUE) pkt->pts = pkt->dts;
    if (pkt->pts == AV_NOPTS_VALUE && expected_next_ != AV_NOPTS_VALUE) pkt->pts = expected_next_;
    if (seek_target_) {
      const Micros target = *seek_target_;
      seek_target_.reset();
      if (pkt->pts != AV_NOPTS_VALUE && to_timeline(pkt->pts) > target) {
        if (av_seek_frame(ctx_.get(), -1, info_.start, AVSEEK_FLAG_BACKWARD) < 0) {
          av_seek_frame(ctx_.get(), -1, 0, AVSEEK_FLAG_BYTE);
        }
        continue;
      }
    }
    if (pkt->pts != AV_NOPTS_VALUE) {
      if (expected_next_ != AV_NOPTS_VALUE) {
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
  if (expected_end > 0 && expected_end - reached > std::max<Micros>(kGapTolerance, 250'000)) {
    add_lost(reached, expected_end);
  }
}

}  // namespace peel::engine
