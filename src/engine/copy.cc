// Stream copy: packets pass unchanged (through a bitstream filter where the container needs
// another framing, e.g. ADTS→MP4). Cuts fall on packet boundaries.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "engine/mux.h"
#include "engine/packet_samples.h"
#include "engine/stages.h"

extern "C" {
#include <libavutil/intreadwrite.h>
}

namespace peel::engine {

namespace {

// Samples the decoder is told to drop from the end of this packet (Opus/Vorbis end trimming,
// from Matroska's DiscardPadding).
int64_t end_trim(const AVPacket* pkt) {
  size_t size = 0;
  const uint8_t* side = av_packet_get_side_data(pkt, AV_PKT_DATA_SKIP_SAMPLES, &size);
  return side != nullptr && size >= 8 ? AV_RL32(side + 4) : 0;
}

// Tells the decoder (through the muxer: Matroska's DiscardPadding, the LAME header) to drop
// `samples` from the end of this packet, keeping what it is told to drop from the start.
void set_end_trim(AVPacket* pkt, int64_t samples) {
  size_t size = 0;
  uint8_t* side = av_packet_get_side_data(pkt, AV_PKT_DATA_SKIP_SAMPLES, &size);
  if (side == nullptr || size < 10) {
    side = av_packet_new_side_data(pkt, AV_PKT_DATA_SKIP_SAMPLES, 10);
    if (side == nullptr) return;
    std::memset(side, 0, 10);
  }
  AV_WL32(side + 4, static_cast<uint32_t>(samples));
}

// Samples the decoder is told to drop from the start of this packet (priming).
int64_t start_skip(const AVPacket* pkt) {
  size_t size = 0;
  const uint8_t* side = av_packet_get_side_data(pkt, AV_PKT_DATA_SKIP_SAMPLES, &size);
  return side != nullptr && size >= 4 ? AV_RL32(side) : 0;
}

// Opus states its priming (pre-skip) in its header; other codecs in initial_padding.
int64_t priming_samples(const AVCodecParameters& par) {
  if (par.initial_padding > 0) return par.initial_padding;
  if (par.codec_id == AV_CODEC_ID_OPUS && par.extradata_size >= 12) {
    return AV_RL16(par.extradata + 10);
  }
  return 0;
}

// How long a packet is, in samples: what its decoder makes of it, and what plays of that
// once the container's end trimming is applied.
struct Length {
  int64_t decoded = 0;
  int64_t played = 0;
};

// The codec says so exactly where it can (Vorbis, Opus, FLAC); a container whose time base
// resolves samples may say it is shorter (MP4's and Ogg's end trimming, which Ogg's demuxer
// also states as `trim`); elsewhere the container's duration or the codec's frame size, less
// the trim.
Length length_of(const AVPacket& pkt, int64_t trim, PacketSamples& lengths, AVRational tb, int rate,
                 bool precise) {
  const int64_t coded = lengths.of(pkt);
  const int64_t stated = pkt.duration > 0 ? av_rescale_q(pkt.duration, tb, AVRational{1, rate}) : 0;
  int64_t played = 0;
  if (lengths.self_describing() && coded > 0) {
    played = coded - trim;
    if (precise && stated > 0) played = std::min(played, stated);
  } else if (precise && stated > 0) {
    played = stated - trim;
  } else {
    played = (coded > 0 ? coded : stated) - trim;
  }
  played = std::max<int64_t>(played, 0);
  return {std::max(played + trim, coded), played};
}

}  // namespace

Result<void> copy_stream(Job& job) {
  const OutputPlan& plan = job.plan;
  Source& src = job.source;
  AVStream* in = src.stream();
  const FormatSpec& spec = *find_format(plan.format);
  const CopyRule* rule = copy_rule(spec, in->codecpar->codec_id);
  const int rate = in->codecpar->sample_rate;
  if (rate <= 0) {
    return Error{ErrorCode::kUnsupportedFile,
                 fmt::format("{}: track {} declares no sample rate; it cannot be copied, only "
                             "re-encoded",
                             plan.input, plan.track.number)}
        .about("copy_policy", Hint::kReencode);
  }
  // Packets are placed by counting samples, on a time base of single samples: granule
  // positions, edit lists and LAME headers are exact, whatever the source's time base.
  const AVRational samples_tb{1, rate};

  const AVCodecParameters* par = in->codecpar;
  av::Bsf bsf;
  if (rule != nullptr && rule->bsf != nullptr) {
    AVBSFContext* raw = nullptr;
    const AVBitStreamFilter* filter = av_bsf_get_by_name(rule->bsf);
    if (filter == nullptr || av_bsf_alloc(filter, &raw) < 0) {
      return Error{ErrorCode::kInternal, fmt::format("no '{}' bitstream filter", rule->bsf)};
    }
    bsf.reset(raw);
    avcodec_parameters_copy(bsf->par_in, par);
    bsf->time_base_in = samples_tb;
    if (const int rc = av_bsf_init(bsf.get()); rc < 0) {
      return av::translate(rc, ErrorCode::kInternal, "cannot set up the bitstream filter");
    }
    par = bsf->par_out;
  }
  // Ogg (granule positions) and MP4 (edit lists, sample durations) state trims in their
  // timestamps: priming as a first packet before zero, the end as a shorter last packet.
  const bool ogg = spec.muxer == "ogg" || spec.muxer == "opus";
  const bool trims_by_timestamps = ogg || spec.name == "m4a";
  // Where the time base cannot name single samples (Matroska's milliseconds), timestamps
  // only place packets to within a tick: they are counted instead.
  const bool precise = static_cast<int64_t>(in->time_base.num) * rate <= in->time_base.den;
  const int64_t tolerance = av_rescale_q(1, in->time_base, samples_tb) + 1;
  PacketSamples lengths(*in->codecpar);
  // Those formats hide a cut's first packet (its decoder's warm-up) behind the priming.
  const int64_t priming_in = priming_samples(*in->codecpar);
  const int64_t priming = trims_by_timestamps ? priming_in : 0;
  const av::CodecParameters out_par(avcodec_parameters_alloc());
  avcodec_parameters_copy(out_par.get(), par);
  if (out_par->initial_padding == 0) out_par->initial_padding = static_cast<int>(priming_in);

  const bool has_range = plan.from > 0 || plan.to.has_value();
  src.seek(plan.from);
  auto pkt = av::make_packet();
  auto out_pkt = av::make_packet();

  std::optional<Sink> sink;
  const int64_t zero = av_rescale_q(src.info().start, av::micros_tb(), samples_tb);
  int64_t shift = 0;            // samples: output timestamps are positions less this
  std::optional<int64_t> next;  // where the next packet starts, if it follows on
  int64_t first = 0;            // the output's first and last sample on the stream's count
  int64_t last = 0;
  const Micros track_end = plan.track.start - src.info().start + plan.track.duration;
  ProgressReporter progress(job.options, to_seconds((plan.to ? *plan.to : track_end) - plan.from));
  auto timeline = [&](int64_t samples) {
    return av_rescale_q(samples, samples_tb, av::micros_tb()) - src.info().start;
  };

  while (true) {
    auto more = src.read(pkt.get());
    if (!more) return more.error();
    if (!*more) break;
    const int64_t trim = end_trim(pkt.get());
    const Length length = length_of(*pkt, trim, lengths, in->time_base, rate, precise);
    // Where it starts: right after the one before, unless its timestamp jumps ahead in a
    // container where a jump means lost data (MP4's index lists every sample: its jumps are
    // not loss, and decoders follow the data).
    const int64_t stamped =
        pkt->pts == AV_NOPTS_VALUE
            ? next.value_or(zero)
            : av_rescale_q_rnd(pkt->pts, in->time_base, samples_tb, AV_ROUND_NEAR_INF);
    int64_t pos = stamped;
    if (next) {
      pos = src.timestamps_show_loss() && stamped > *next + tolerance ? stamped : *next;
    } else if (!precise && priming_in > 0 &&
               std::llabs(stamped - (zero - priming_in)) <= tolerance) {
      pos = zero - priming_in;  // the priming before zero, to the sample
    }
    next = pos + length.played;
    const Micros t0 = timeline(pos);
    const Micros t1 = timeline(pos + length.played);
    if (has_range && t1 <= plan.from) continue;
    if (plan.to && t0 >= *plan.to) break;
    if (!sink) {
      // A whole-file copy keeps the stream's own offsets (priming before zero stays there);
      // a cut starts the output at its first packet, or hides that packet as priming where
      // the format can say so.
      if (has_range) {
        shift = pos + priming;
        first = pos + priming;
      } else {
        shift = zero;
        first = std::max(pos, zero);
      }
      job.result.start = timeline(first);
      // An mp3 stream's LAME header delay arrives as the first packet's skip: carry it.
      if (out_par->codec_id == AV_CODEC_ID_MP3 && !has_range && start_skip(pkt.get()) > 0) {
        out_par->initial_padding = static_cast<int>(start_skip(pkt.get()));
      }
      auto opened = Sink::open(plan, job.temp_path, *out_par, samples_tb, src, job.result.start,
                               job.options.cancel, job.engine.limits().max_output_bytes);
      if (!opened) return opened.error();
      sink.emplace(std::move(*opened));
      if (auto r = sink->start(); !r) return r.error();
    }
    last = pos + length.played;
    // A demuxer that found the packet damaged says so; copying cannot repair it.
    if ((pkt->flags & AV_PKT_FLAG_CORRUPT) != 0) src.add_lost(t0, t1);
    pkt->pts = pkt->dts = pos - shift;
    // Formats that can only shorten the last packet get the length played; the others the
    // decoded length, with the trim stated beside it.
    pkt->duration = trims_by_timestamps ? length.played : length.decoded;
    const int64_t cut = length.decoded - length.played;
    if (!trims_by_timestamps && cut != trim && cut > 0) set_end_trim(pkt.get(), cut);

    if (bsf) {
      if (const int rc = av_bsf_send_packet(bsf.get(), pkt.get()); rc < 0) {
        return av::translate(rc, ErrorCode::kInternal, "bitstream filter failed");
      }
      while (av_bsf_receive_packet(bsf.get(), out_pkt.get()) == 0) {
        if (auto r = sink->write(out_pkt.get(), samples_tb); !r) return r.error();
      }
    } else if (auto r = sink->write(pkt.get(), samples_tb); !r) {
      return r.error();
    }
    progress.update(to_seconds(t1 - plan.from));
  }
  if (!sink) {
    return Error{ErrorCode::kBadRange,
                 fmt::format("{} has no audio packets in the range asked for", plan.input)};
  }
  job.result.end = timeline(last);
  src.finish(job.result.end, plan.to ? std::min(*plan.to, track_end) : track_end);
  // Samples the output holds: its span, less the holes damage left in it.
  int64_t held = last - first;
  for (const auto& lost : src.lost()) {
    held -= micros_to_samples(std::max<Micros>(0, std::min(lost.to, job.result.end) -
                                                      std::max(lost.from, job.result.start)),
                              rate);
  }
  job.result.samples = std::max<int64_t>(held, 0);
  job.result.sample_rate = rate;
  job.result.channels = in->codecpar->ch_layout.nb_channels;
  return sink->finish();
}

}  // namespace peel::engine
