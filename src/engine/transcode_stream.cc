// The transcode stage's entry: a long transcode runs in segments (parallel.h) where its codec
// and length allow, any other one through the transcoder loop (transcode.h) straight into the
// output's muxer.
#include <optional>

#include "engine/mux.h"
#include "engine/parallel.h"
#include "engine/stages.h"
#include "engine/transcode.h"

namespace peel::engine {

namespace {

// The serial output: packets straight into the muxer.
class FileSink : public PacketSink {
 public:
  explicit FileSink(Job& job) : job_(job) {}

  Result<void> open(const AVCodecContext& encoder) override {
    const av::CodecParameters par(avcodec_parameters_alloc());
    avcodec_parameters_from_context(par.get(), &encoder);
    time_base_ = encoder.time_base;
    auto sink =
        Sink::open(job_.plan, job_.temp_path, *par, time_base_, job_.source, job_.result.start,
                   job_.options.cancel, job_.engine.limits().max_output_bytes);
    if (!sink) return sink.error();
    sink_.emplace(std::move(*sink));
    return sink_->start();
  }
  Result<void> write(AVPacket* pkt) override { return sink_->write(pkt, time_base_); }
  Result<void> finish() { return sink_->finish(); }

 private:
  Job& job_;
  std::optional<Sink> sink_;
  AVRational time_base_{1, 1};
};

}  // namespace

Result<void> transcode_stream(Job& job) {
  auto parallel = transcode_parallel(job);
  if (!parallel) return parallel.error();
  if (*parallel) return {};
  FileSink sink(job);
  if (auto r = transcode_into(job, sink, nullptr); !r) return r;
  return sink.finish();
}

}  // namespace peel::engine
