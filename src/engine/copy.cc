// Stream copy: packets pass unchanged (through a bitstream filter where the container needs
// another framing, e.g. ADTS→MP4). Cuts fall on packet boundaries.
#include <fmt/format.h>

#include "engine/mux.h"
#include "engine/stages.h"

extern "C" {
#include <libavutil/intreadwrite.h>
}

namespace peel::engine {

namespace {

// Opus/Vorbis end trimming arrives as skip-samples side data on the last packet; Ogg
// carries it only as a shorter last packet (granule position), so fold it into duration.
void fold_end_trim(AVPacket* pkt, const AVStream& st) {
  size_t size = 0;
  const uint8_t* side = av_packet_get_side_data(pkt, AV_PKT_DATA_SKIP_SAMPLES, &size);
  if (side == nullptr || size < 8) return;
  const uint32_t end_trim = AV_RL32(side + 4);
  if (end_trim == 0 || st.codecpar->sample_rate <= 0) return;
  const int64_t trim =
      av_rescale_q(end_trim, AVRational{1, st.codecpar->sample_rate}, st.time_base);
  if (trim < pkt->duration) pkt->duration -= trim;
}

}  // namespace

Result<void> copy_stream(Job& job) {
  const OutputPlan& plan = job.plan;
  Source& src = job.source;
  AVStream* in = src.stream();
  const FormatSpec& spec = *find_format(plan.format);
  const CopyRule* rule = copy_rule(spec, in->codecpar->codec_id);

  const AVCodecParameters* par = in->codecpar;
  AVRational tb = in->time_base;
  av::Bsf bsf;
  if (rule != nullptr && rule->bsf != nullptr) {
    AVBSFContext* raw = nullptr;
    const AVBitStreamFilter* filter = av_bsf_get_by_name(rule->bsf);
    if (filter == nullptr || av_bsf_alloc(filter, &raw) < 0) {
      return Error{ErrorCode::kInternal, fmt::format("no '{}' bitstream filter", rule->bsf)};
    }
    bsf.reset(raw);
    avcodec_parameters_copy(bsf->par_in, par);
    bsf->time_base_in = tb;
    if (const int rc = av_bsf_init(bsf.get()); rc < 0) {
      return av::translate(rc, ErrorCode::kInternal, "cannot set up the bitstream filter");
    }
    par = bsf->par_out;
    tb = bsf->time_base_out;
  }
  const bool ogg = spec.muxer == "ogg" || spec.muxer == "opus";

  const bool has_range = plan.from > 0 || plan.to.has_value();
  src.seek(plan.from);
  auto pkt = av::make_packet();
  auto out_pkt = av::make_packet();

  std::optional<Sink> sink;
  int64_t shift = 0;
  int64_t total_duration = 0;  // stream tb
  bool first = true;
  const Micros track_end = plan.track.start - src.info().start + plan.track.duration;
  ProgressReporter progress(job.options,
                            to_seconds((plan.to ? *plan.to : track_end) - plan.from));

  while (true) {
    auto more = src.read(pkt.get());
    if (!more) return more.error();
    if (!*more) break;
    const Micros t0 = src.to_timeline(pkt->pts);
    const Micros t1 = t0 + av_rescale_q(pkt->duration, in->time_base, av::micros_tb());
    if (has_range && t1 <= plan.from) continue;
    if (plan.to && t0 >= *plan.to) break;
    if (first) {
      first = false;
      // A whole-file copy keeps the stream's own offsets (priming before zero stays there);
      // a cut starts the output at its first packet.
      shift = has_range ? pkt->pts : src.from_timeline(0);
      job.result.start = has_range ? t0 : std::max<Micros>(0, t0);
      auto opened = Sink::open(plan, job.temp_path, *par, tb, *src.format(), *in, job.result.start,
                               plan.to, src.info().start, job.options.cancel);
      if (!opened) return opened.error();
      sink.emplace(std::move(*opened));
      if (auto r = sink->start(); !r) return r.error();
    }
    job.result.end = t1;
    total_duration += pkt->duration;
    pkt->pts -= shift;
    if (pkt->dts != AV_NOPTS_VALUE) pkt->dts -= shift;
    if (ogg) fold_end_trim(pkt.get(), *in);

    if (bsf) {
      if (const int rc = av_bsf_send_packet(bsf.get(), pkt.get()); rc < 0) {
        return av::translate(rc, ErrorCode::kInternal, "bitstream filter failed");
      }
      while (av_bsf_receive_packet(bsf.get(), out_pkt.get()) == 0) {
        if (auto r = sink->write(out_pkt.get(), tb); !r) return r.error();
      }
    } else if (auto r = sink->write(pkt.get(), tb); !r) {
      return r.error();
    }
    progress.update(to_seconds(t1 - plan.from));
  }
  if (!sink) {
    return Error{ErrorCode::kBadRange,
                 fmt::format("{} has no audio packets in the range asked for", plan.input)};
  }
  src.finish(job.result.end, plan.to ? std::min(*plan.to, track_end) : track_end);
  const int rate = in->codecpar->sample_rate;
  job.result.samples = av_rescale_q(total_duration, in->time_base, AVRational{1, rate});
  job.result.sample_rate = rate;
  job.result.channels = in->codecpar->ch_layout.nb_channels;
  return sink->finish();
}

}  // namespace peel::engine
