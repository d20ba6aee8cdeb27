// Sink: one audio stream muxed into a temporary file, with tags and chapters carried over.
#pragma once

#include <optional>
#include <string>

#include "av/av.h"
#include "engine/demux.h"
#include "engine/format_table.h"
#include "peel/plan.h"
#include "peel/run.h"

namespace peel::engine {

class Sink {
 public:
  // Opens `path` for the plan's format with the given stream parameters. Tags and chapters
  // are taken from the source unless the plan drops metadata; chapters are kept when they
  // overlap [start, plan.to) and shifted so that `start` (timeline µs) is zero.
  static Result<Sink> open(const OutputPlan& plan, const std::string& path,
                           const AVCodecParameters& par, AVRational time_base, const Source& source,
                           Micros start, const CancelToken& cancel, int64_t max_bytes);

  AVStream* stream() const { return ctx_->streams[0]; }

  // Writes the header; call after any codecpar adjustment.
  Result<void> start();
  // Writes one packet whose timestamps are in `tb`; takes the packet's reference. Fails with
  // kOutputTooLarge once the file passes `max_bytes` (0: no bound).
  Result<void> write(AVPacket* pkt, AVRational tb);
  Result<void> finish();

 private:
  Sink() = default;
  Error write_error(int rc) const;

  std::unique_ptr<CancelToken> cancel_;
  av::OutputContext ctx_;
  std::string target_;
  int64_t max_bytes_ = 0;
};

}  // namespace peel::engine
