// Assembly: the workers' spill files read back in order into the output's muxer. At each cut
// the packets of the segment before, from the join window on, wait in `tail` until the next
// segment's first packets (`head`) are read, and the joiner makes one run of packets of them
// (mp3_join.h, vorbis_join.h), or asks for the segment to be encoded again, moved earlier. A
// StreamJoin (FLAC) renumbers each packet on its way out and gives the stream's header at the
// end.
#include "engine/segment_assembly.h"

#include <algorithm>
#include <cstring>
#include <span>

#include "engine/mux.h"

namespace peel::engine {

namespace {

CodedPacket to_coded(const AVPacket& pkt) {
  return CodedPacket{pkt.pts, pkt.duration, std::vector<uint8_t>(pkt.data, pkt.data + pkt.size)};
}

bool to_packet(const CodedPacket& f, AVPacket* pkt) {
  av_packet_unref(pkt);
  if (av_new_packet(pkt, static_cast<int>(f.data.size())) < 0) return false;
  std::memcpy(pkt->data, f.data.data(), f.data.size());
  pkt->pts = pkt->dts = f.pts;
  pkt->duration = f.duration;
  pkt->flags = AV_PKT_FLAG_KEY;
  return true;
}

}  // namespace

Result<bool> assemble(Job& job, const Split& split, const SegmentJoiner& joiner,
                      std::vector<std::unique_ptr<Worker>>& workers, StreamJoin* stream,
                      const Redo& redo) {
  const Worker& first = *workers.front();
  const auto extradata = std::span<const uint8_t>(
      first.par->extradata, static_cast<size_t>(std::max(first.par->extradata_size, 0)));
  auto sink =
      Sink::open(job.plan, job.temp_path, *first.par, first.time_base, job.source, job.result.start,
                 job.options.cancel, job.engine.limits().max_output_bytes);
  if (!sink) return sink.error();
  if (auto r = sink->start(); !r) return r.error();

  // The last packet is held back: FLAC's STREAMINFO, known once all samples are hashed, goes
  // to the muxer with it.
  auto held = av::make_packet();
  bool holding = false;
  auto emit = [&](AVPacket* pkt) -> Result<void> {
    if (stream != nullptr) {
      if (auto r = stream->next_packet(pkt); !r) return r.error();
    }
    if (holding) {
      if (auto r = sink->write(held.get(), first.time_base); !r) return r.error();
    }
    av_packet_move_ref(held.get(), pkt);
    holding = true;
    return {};
  };

  const JoinMargins& m = split.margins;
  auto pkt = av::make_packet();
  auto joined = av::make_packet();
  std::vector<CodedPacket> tail;
  std::vector<CodedPacket> head;
  std::vector<CodedPacket> out;
  std::vector<uint8_t> chunk;
  for (size_t k = 0; k < workers.size(); ++k) {
    Worker* w = workers[k].get();
    w->spill.rewind();
    bool more = w->spill.get(pkt.get());
    if (w->keep_from) {
      const int64_t cut = *w->keep_from;
      for (int tries = 0;; ++tries) {
        // This segment's first packets, well past the join window, joined to the tail.
        head.clear();
        for (; more && pkt->pts < cut + m.before; more = w->spill.get(pkt.get())) {
          head.push_back(to_coded(*pkt));
          av_packet_unref(pkt.get());
        }
        auto j = joiner.join(tail, head, cut, cut - m.overlap, cut + m.overlap, extradata, out);
        if (!j) return false;
        if (j->joined) break;
        // The segments lie on two grids of long blocks: encode this one again, moved onto
        // the grid of the one before (its own end grid moves too: the next join sees it).
        if (tries == joiner.redos()) return false;
        const int64_t earlier = (w->keep_from.value_or(0) - split.preroll) - w->range.begin;
        auto again = redo(k, earlier + j->shift);
        if (!again) return again.error();
        if (!*again) return false;
        w = workers[k].get();
        w->spill.rewind();
        more = w->spill.get(pkt.get());
      }
      for (const CodedPacket& f : out) {  // (pkt holds the first packet after the head)
        if (!to_packet(f, joined.get())) return Error{ErrorCode::kInternal, "out of memory"};
        if (auto r = emit(joined.get()); !r) return r.error();
      }
      tail.clear();
    }
    for (; more; more = w->spill.get(pkt.get())) {
      if (w->keep_to && pkt->pts >= *w->keep_to - m.before) {
        tail.push_back(to_coded(*pkt));  // the next join's
        av_packet_unref(pkt.get());
        continue;
      }
      if (auto r = emit(pkt.get()); !r) return r.error();
    }
    if (w->samples) {
      w->samples->rewind();
      chunk.resize(size_t{1} << 20);
      for (size_t n; (n = w->samples->read(chunk.data(), chunk.size())) > 0;) {
        stream->hash(std::span<const uint8_t>(chunk.data(), n));
      }
    }
  }
  if (stream != nullptr && holding) {
    auto info = stream->extradata(std::span<const uint8_t>(
        first.par->extradata, static_cast<size_t>(first.par->extradata_size)));
    if (!info) return info.error();
    uint8_t* side = av_packet_new_side_data(held.get(), AV_PKT_DATA_NEW_EXTRADATA, info->size());
    if (side == nullptr) return Error{ErrorCode::kInternal, "out of memory"};
    std::memcpy(side, info->data(), info->size());
  }
  if (holding) {
    if (auto r = sink->write(held.get(), first.time_base); !r) return r.error();
  }
  if (auto r = sink->finish(); !r) return r.error();
  return true;
}

}  // namespace peel::engine
