// A segment's worker: its range set up from the split, its own reader of the input, and the
// sink that keeps the segment's packets (and, for FLAC, its samples) in spill files.
#include "engine/segment_worker.h"

#include "engine/demux.h"

namespace peel::engine {

namespace {

// Keeps the packets of the worker's own segment, on the whole output's timeline.
class SegmentSink : public PacketSink {
 public:
  SegmentSink(Worker& w, const std::string& output) : w_(w), output_(output) {}

  Result<void> open(const AVCodecContext& encoder) override {
    w_.par.reset(avcodec_parameters_alloc());
    avcodec_parameters_from_context(w_.par.get(), &encoder);
    w_.time_base = encoder.time_base;
    if (encoder.bits_per_raw_sample > 0) w_.bits = encoder.bits_per_raw_sample;
    return {};
  }

  Result<void> encoding(const AVFrame& frame) override {
    if (w_.stream == nullptr) return {};
    if (!w_.owns(frame.pts + w_.range.begin)) return {};
    w_.stream->sample_bytes(frame, w_.bits, bytes_);
    if (!w_.samples) {
      w_.stream->hash(bytes_);
    } else if (!w_.samples->write(bytes_.data(), bytes_.size())) {
      return spill_error(output_);
    }
    return {};
  }

  Result<void> write(AVPacket* pkt) override {
    const int64_t shift = w_.range.begin;
    const int64_t t = pkt->pts + shift;
    if (w_.keeps(t)) {
      pkt->pts = t;
      if (pkt->dts != AV_NOPTS_VALUE) pkt->dts += shift;
      if (!w_.spill.put(*pkt, !w_.keep_from)) w_.spill_failed = true;
      if (w_.owns(t)) ++w_.kept;
    }
    av_packet_unref(pkt);
    if (w_.spill_failed) return spill_error(output_);
    return {};
  }

 private:
  Worker& w_;
  const std::string& output_;
  std::vector<uint8_t> bytes_;
};

}  // namespace

Result<std::unique_ptr<Worker>> make_worker(const Split& split, size_t k, int64_t earlier,
                                            const std::string& folder, StreamJoin* stream) {
  const size_t count = split.cuts.size() + 1;
  auto w = std::make_unique<Worker>();
  if (k > 0) {
    const int64_t a = split.cuts[k - 1];
    w->keep_from = a;
    w->range.begin = a - split.preroll - earlier;
    if (w->range.begin < 0) return Error{ErrorCode::kInternal, "no room for a segment's pre-roll"};
    w->keep_before = split.margins.before;
  }
  if (k + 1 < count) {
    w->keep_to = split.cuts[k];
    w->range.end = split.cuts[k] + split.postroll;
    w->keep_after = split.margins.after;
  }
  w->range.fed = &w->fed;
  if (auto r = w->spill.create(folder); !r) return r.error();
  w->stream = stream;
  if (stream != nullptr && k > 0) {
    w->samples.emplace();
    if (auto r = w->samples->create(folder); !r) return r.error();
  }
  return w;
}

void run_worker(Engine& engine, const OutputPlan& plan, Worker& w, const CancelToken& stop,
                const CancelToken& outer) {
  const av::LogCapture capture(&w.log, engine.limits().max_log_lines);
  if (outer.cancelled()) stop.cancel();
  auto finish = [&](std::optional<Error> e) {
    if (e) {
      w.error = std::move(e);
      stop.cancel();
    }
  };
  auto input = Input::open(engine, plan.input, stop);
  if (!input) return finish(input.error());
  auto source = Source::open(*input, plan.track.stream_index, stop);
  if (!source) return finish(source.error());
  RunOptions options;
  options.cancel = stop;
  Job job{engine, plan, *source, options, std::string(), w.result, w.gain};
  SegmentSink sink(w, plan.output);
  auto r = transcode_into(job, sink, &w.range);
  w.lost = source->lost();
  finish(r ? std::nullopt : std::optional<Error>(r.error()));
}

}  // namespace peel::engine
