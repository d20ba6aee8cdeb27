// Segment-parallel transcoding.
//
// The output's samples [0, N) are cut at positions a_1 < ... < a_{K-1}, multiples of a step
// that is both a whole number of encoder frames and a whole number of input samples (so every
// worker's frames fall where a serial run's do). Worker k feeds its encoder from a pre-roll
// before a_k to a post-roll after a_{k+1} and keeps the packets whose timestamps lie in
// [a_k, a_{k+1}). An encoder stamps the packet that carries samples [t, t + F) with t (the
// delay is already subtracted), so the kept packets of all workers are exactly a serial run's
// packets, each made by an encoder that saw the same audio around it. The first segment keeps
// the priming packets (negative timestamps), the last the flush; the muxer is told the first
// worker's encoder parameters (delay, extradata), so gapless metadata describes the whole file.
//
// Three codecs need more at a join. mp3 frames borrow bytes from the frames before them (the
// bit reservoir, mp3_join.h) and Vorbis blocks overlap with the block before them in a shape
// both must agree on (vorbis_join.h): for them the workers keep packets a little beyond their
// cuts on both sides, and the join is made near the cut where it fits, while the output is
// assembled. FLAC frames carry their own number and the stream's STREAMINFO an MD5 of every
// sample (flac_join.h): frames are renumbered and STREAMINFO rebuilt while assembling.
//
// Workers write their packets to unlinked files in the output's folder, so memory stays flat
// however long the input; the calling thread runs the first segment, helps with any segment no
// thread has taken yet (the pool may be busy with a batch's other files), then joins the files
// in order.
#include "engine/parallel.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <numeric>
#include <thread>

#include "engine/flac_join.h"
#include "engine/mp3_join.h"
#include "engine/mux.h"
#include "engine/transcode.h"
#include "engine/vorbis_join.h"
#include "peel/pool.h"

extern "C" {
#include <libavutil/channel_layout.h>
}

namespace peel::engine {

namespace {

constexpr double kPrerollSeconds = 1.0;   // warms the encoder's state and overlap windows
constexpr double kPostrollSeconds = 0.5;  // the encoder's look-ahead past the segment
constexpr double kMinSegmentSeconds = 5.0;
// mp3 joins (mp3_join.h) are made at a frame within this many frames of the cut, where both
// encoders have coded the frame; the workers keep frames around their cuts for that.
constexpr int64_t kJoinWindow = 16;
constexpr int64_t kKeepBefore = kJoinWindow + 12;  // and up to 511 bytes of reservoir before
constexpr int64_t kKeepAfter = kJoinWindow + 4;
// Vorbis joins (vorbis_join.h) are made where both encoders' blocks agree, within this many
// samples of the cut; a second encode of a segment, moved onto the grid of the segment before,
// is tried this many times before the transcode runs serially.
constexpr int64_t kVorbisWindow = 6144;
constexpr int64_t kVorbisKeep = 8192;
constexpr int64_t kVorbisHop = 1024;  // half of libvorbis's long block
constexpr int kVorbisRetries = 4;

// Whether a decoder's output for a packet depends on that packet alone (PCM, FLAC, ALAC...),
// so that a segment decoded from a seek point has the samples of a decode from the start.
// Lossy decoders carry state from packet to packet (overlap, bit reservoir, and AAC's noise
// substitution, whose random generator runs from the first frame on).
bool decodes_independently(const std::string& codec) {
  const AVCodecDescriptor* d = avcodec_descriptor_get_by_name(codec.c_str());
  constexpr int kProps = AV_CODEC_PROP_INTRA_ONLY | AV_CODEC_PROP_LOSSLESS;
  return d != nullptr && (d->props & kProps) == kProps;
}

// The transcodes whose segments can be joined: codecs with a join (below), and for lossless
// outputs only sources whose segments decode exactly as the whole file does, since a lossless
// output must be the serial decode bit for bit.
bool segmentable(const OutputPlan& plan) {
  const std::string& c = plan.codec;
  const bool lossless = c == "flac" || c.starts_with("pcm_");
  if (lossless) return decodes_independently(plan.track.codec);
  return c == "mp3" || c == "aac" || c == "opus" || c == "vorbis";
}

// One segment's kept packets, in an unlinked file: gone when closed, whatever happens.
class SpillFile {
 public:
  SpillFile() = default;
  SpillFile(const SpillFile&) = delete;
  SpillFile& operator=(const SpillFile&) = delete;
  ~SpillFile() {
    if (file_ != nullptr) std::fclose(file_);
  }

  Result<void> create(const std::string& folder) {
    std::string name = folder + "/.peel-segment-XXXXXX";
    const int fd = ::mkstemp(name.data());
    if (fd < 0)
      return Error{ErrorCode::kOutputUnwritable, fmt::format("cannot write in {}", folder)};
    ::unlink(name.c_str());
    file_ = ::fdopen(fd, "w+b");
    if (file_ == nullptr) {
      ::close(fd);
      return Error{ErrorCode::kInternal, "out of memory"};
    }
    return {};
  }

  bool write(const void* data, size_t size) { return std::fwrite(data, 1, size, file_) == size; }
  size_t read(void* data, size_t size) { return std::fread(data, 1, size, file_); }

  bool put(const AVPacket& pkt, bool keep_priming) {
    Record r{pkt.pts, pkt.dts, pkt.duration, pkt.size, pkt.flags, 0, {}};
    size_t side_size = 0;
    if (const uint8_t* side = av_packet_get_side_data(&pkt, AV_PKT_DATA_SKIP_SAMPLES, &side_size);
        side != nullptr && side_size >= sizeof(r.skip)) {
      std::memcpy(r.skip, side, sizeof(r.skip));
      // Only the file's first packet says how many priming samples to skip.
      if (!keep_priming) std::memset(r.skip, 0, 4);
      r.has_skip = 1;
    }
    // (an empty packet, FLAC's last, may have no data at all)
    return std::fwrite(&r, sizeof(r), 1, file_) == 1 &&
           (pkt.size == 0 || std::fwrite(pkt.data, 1, static_cast<size_t>(pkt.size), file_) ==
                                 static_cast<size_t>(pkt.size));
  }

  void rewind() { std::rewind(file_); }

  // The next packet (in place of what pkt held), or false at the end.
  bool get(AVPacket* pkt) {
    av_packet_unref(pkt);
    Record r{};
    if (std::fread(&r, sizeof(r), 1, file_) != 1) return false;
    if (av_new_packet(pkt, r.size) < 0) return false;
    if (std::fread(pkt->data, 1, static_cast<size_t>(r.size), file_) !=
        static_cast<size_t>(r.size)) {
      return false;
    }
    pkt->pts = r.pts;
    pkt->dts = r.dts;
    pkt->duration = r.duration;
    pkt->flags = r.flags;
    if (r.has_skip != 0 &&
        std::any_of(r.skip, r.skip + sizeof(r.skip), [](uint8_t b) { return b != 0; })) {
      uint8_t* side = av_packet_new_side_data(pkt, AV_PKT_DATA_SKIP_SAMPLES, sizeof(r.skip));
      if (side != nullptr) std::memcpy(side, r.skip, sizeof(r.skip));
    }
    return true;
  }

 private:
  struct Record {
    int64_t pts, dts, duration;
    int32_t size, flags;
    int32_t has_skip;
    uint8_t skip[10];  // AV_PKT_DATA_SKIP_SAMPLES: skip at start, discard at end, reasons
  };
  FILE* file_ = nullptr;
};

struct Worker {
  SegmentRange range;
  std::optional<int64_t> keep_from;  // the segment's packets' timestamps (output samples)
  std::optional<int64_t> keep_to;
  int64_t keep_before = 0;  // also kept: packets this far before keep_from, and after keep_to
  int64_t keep_after = 0;   // (for mp3 and Vorbis joins)
  std::atomic<int64_t> fed{0};
  SpillFile spill;
  // FLAC: the samples of the segment, for the stream's MD5. The first worker hashes them as
  // it goes; the others keep them in `samples` until the ones before them are hashed.
  FlacJoin* hash_now = nullptr;
  std::optional<SpillFile> samples;
  int bits = 16;
  int64_t kept = 0;
  bool spill_failed = false;
  av::CodecParameters par;
  AVRational time_base{1, 1};
  OutputResult result;
  std::vector<LostSpan> lost;
  std::vector<std::string> log;  // FFmpeg's warnings on the worker's thread
  std::optional<Error> error;

  // Whether output sample t is in the worker's own segment; in it or in the margins it keeps.
  bool owns(int64_t t) const {
    return (!keep_from || t >= *keep_from) && (!keep_to || t < *keep_to);
  }
  bool keeps(int64_t t) const {
    return (!keep_from || t >= *keep_from - keep_before) && (!keep_to || t < *keep_to + keep_after);
  }
};

Error spill_error(const std::string& output) {
  return Error{ErrorCode::kWriteFailed,
               fmt::format("cannot write the segments' temporary files next to {} (is the disk "
                           "full?); free some space and try again",
                           output)};
}

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
    if (!w_.hash_now && !w_.samples) return {};
    if (!w_.owns(frame.pts + w_.range.begin)) return {};
    FlacJoin::md5_bytes(frame, w_.bits, bytes_);
    if (w_.hash_now != nullptr) {
      w_.hash_now->hash(bytes_);
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
  Job job{engine, plan, *source, options, std::string(), w.result};
  SegmentSink sink(w, plan.output);
  auto r = transcode_into(job, sink, &w.range);
  w.lost = source->lost();
  finish(r ? std::nullopt : std::optional<Error>(r.error()));
}

struct Split {
  std::vector<int64_t> cuts;  // a_1 .. a_{K-1}, output samples
  int64_t preroll = 0;
  int64_t postroll = 0;
  int64_t frame = 0;  // samples per encoder frame (packet)
  // mp3 and Vorbis: joins are chosen within `overlap` samples of a cut, from packets the
  // workers keep `margin_before` before and `margin_after` after their segments.
  int64_t overlap = 0;
  int64_t margin_before = 0;
  int64_t margin_after = 0;
  double seconds = 0;  // of output, for progress
};

// Where to cut, or nothing when the transcode should run serially.
std::optional<Split> plan_split(const Job& job) {
  const RunOptions& o = job.options;
  const OutputPlan& plan = job.plan;
  if (o.segment_parallel == SegmentParallel::kOff || !segmentable(plan)) return {};
  const int jobs = o.jobs > 0 ? o.jobs : job.engine.threads();
  if (jobs < 2) return {};
  const int in_rate = job.source.stream()->codecpar->sample_rate;
  const int out_rate = plan.sample_rate;
  if (in_rate <= 0 || out_rate <= 0 || plan.track.duration <= 0) return {};

  const Micros audio_start = plan.track.start - job.source.info().start;
  const Micros begin = std::max(plan.from, audio_start);
  const Micros end = plan.to ? std::min(*plan.to, audio_start + plan.track.duration)
                             : audio_start + plan.track.duration;
  Split split;
  split.seconds = to_seconds(end - begin);
  if (o.segment_parallel == SegmentParallel::kAuto &&
      split.seconds < o.segment_parallel_min_seconds) {
    return {};
  }
  const int64_t total = micros_to_samples(end - begin, out_rate);

  // The encoder's frame size, from an encoder opened the way the workers will open theirs.
  AVChannelLayout layout{};
  av_channel_layout_default(&layout, plan.channels);
  auto probe = open_encoder_for(plan, layout);
  av_channel_layout_uninit(&layout);
  if (!probe) return {};
  const AVCodecContext& e = **probe;
  const bool fixed =
      e.frame_size > 0 && (e.codec->capabilities & AV_CODEC_CAP_VARIABLE_FRAME_SIZE) == 0;
  const int64_t frame = fixed ? e.frame_size : kChunk;
  int64_t step = std::lcm(frame, int64_t{out_rate} / std::gcd(in_rate, out_rate));
  // At 44.1 kHz (and its halves) a CBR mp3 frame is a byte longer in a pattern that repeats
  // every 49 frames, counted from the encoder's start: segments that start on that pattern
  // have the frame sizes, and so the reservoir, of a serial run.
  if (plan.codec == "mp3" && out_rate % 11025 == 0) step = std::lcm(step, 49 * frame);
  // Vorbis: segments start on the grid of long blocks a serial encode starts on.
  if (plan.codec == "vorbis") step = std::lcm(step, kVorbisHop);
  auto round_up = [step](double samples) {
    return (static_cast<int64_t>(samples) + step - 1) / step * step;
  };
  split.frame = frame;
  split.preroll = round_up(kPrerollSeconds * out_rate);
  split.postroll = round_up(kPostrollSeconds * out_rate);
  if (plan.codec == "mp3") {
    split.overlap = kJoinWindow * frame;
    split.margin_before = kKeepBefore * frame;
    split.margin_after = kKeepAfter * frame;
  } else if (plan.codec == "vorbis") {
    split.overlap = kVorbisWindow;
    split.margin_before = split.margin_after = kVorbisKeep;
  }
  // The join window must lie inside both encoders' warm packets: after half a second of B's
  // pre-roll, and clear of the end of A's post-roll (the encoder's flush).
  split.preroll = round_up(std::max<double>(split.preroll, split.margin_before + out_rate / 2.0));
  split.postroll = round_up(std::max<double>(split.postroll, split.margin_after + 4 * frame));

  const auto min_segment = static_cast<int64_t>(kMinSegmentSeconds * out_rate);
  const int segments =
      static_cast<int>(std::min<int64_t>(jobs, std::max<int64_t>(total / min_segment, 1)));
  for (int k = 1; k < segments; ++k) {
    const int64_t cut = total * k / segments / step * step;
    if (cut <= (split.cuts.empty() ? 0 : split.cuts.back())) continue;
    split.cuts.push_back(cut);
  }
  // The last post-roll must end well inside the input.
  while (!split.cuts.empty() && split.cuts.back() + split.postroll + out_rate > total) {
    split.cuts.pop_back();
  }
  if (split.cuts.empty()) return {};
  return split;
}

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

// Writes the workers' packets in order into the output. mp3 and Vorbis segments are joined
// within the window around each cut (mp3_join.h, vorbis_join.h): the packets of the previous
// segment from the window on wait in `tail` until the next segment's first packets are read;
// `redo` encodes a Vorbis segment again, moved earlier. FLAC frames are renumbered on their way
// out. Returns false when a join cannot be made (the caller then runs serially).
Result<bool> assemble(Job& job, const Split& split, std::vector<std::unique_ptr<Worker>>& workers,
                      std::optional<FlacJoin>& flac,
                      const std::function<Result<bool>(size_t, int64_t)>& redo) {
  const Worker& first = *workers.front();
  const auto extradata = std::span<const uint8_t>(
      first.par->extradata, static_cast<size_t>(std::max(first.par->extradata_size, 0)));
  auto sink = Sink::open(job.plan, job.temp_path, *first.par, first.time_base, job.source,
                         job.result.start, job.options.cancel, job.engine.limits().max_output_bytes);
  if (!sink) return sink.error();
  if (auto r = sink->start(); !r) return r.error();

  // The last packet is held back: FLAC's STREAMINFO, known once all samples are hashed, goes
  // to the muxer with it.
  auto held = av::make_packet();
  bool holding = false;
  auto emit = [&](AVPacket* pkt) -> Result<void> {
    if (flac) {
      if (auto r = flac->renumber(pkt); !r) return r.error();
    }
    if (holding) {
      if (auto r = sink->write(held.get(), first.time_base); !r) return r.error();
    }
    av_packet_move_ref(held.get(), pkt);
    holding = true;
    return {};
  };

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
    if (split.overlap > 0 && w->keep_from) {
      const int64_t cut = *w->keep_from;
      for (int tries = 0;; ++tries) {
        // This segment's first packets, well past the join window, joined to the tail.
        head.clear();
        for (; more && pkt->pts < cut + split.margin_before; more = w->spill.get(pkt.get())) {
          head.push_back(to_coded(*pkt));
          av_packet_unref(pkt.get());
        }
        if (job.plan.codec == "mp3") {
          if (!join_mp3(tail, head, cut, cut - split.overlap, cut + split.overlap, out)) {
            return false;
          }
          break;
        }
        auto j =
            join_vorbis(tail, head, cut, cut - split.overlap, cut + split.overlap, extradata, out);
        if (!j) return false;
        if (j->joined) break;
        // The segments lie on two grids of long blocks: encode this one again, moved onto
        // the grid of the one before (its own end grid moves too: the next join sees it).
        if (tries == kVorbisRetries) return false;
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
      if (split.overlap > 0 && w->keep_to && pkt->pts >= *w->keep_to - split.margin_before) {
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
        flac->hash(std::span<const uint8_t>(chunk.data(), n));
      }
    }
  }
  if (flac && holding) {
    auto info = flac->streaminfo(std::span<const uint8_t>(
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

}  // namespace

Result<bool> transcode_parallel(Job& job) {
  const auto split = plan_split(job);
  if (!split) return false;
  const OutputPlan& plan = job.plan;
  const size_t count = split->cuts.size() + 1;
  const std::string folder = std::filesystem::path(job.temp_path).parent_path().string();

  std::optional<FlacJoin> flac;
  if (plan.codec == "flac") {
    auto j = FlacJoin::create();
    if (!j) return j.error();
    flac = std::move(*j);
  }
  // Worker k, starting `earlier` samples before its pre-roll (a second try at a Vorbis join).
  auto make_worker = [&](size_t k, int64_t earlier) -> Result<std::unique_ptr<Worker>> {
    auto w = std::make_unique<Worker>();
    if (k > 0) {
      const int64_t a = split->cuts[k - 1];
      w->keep_from = a;
      w->range.begin = a - split->preroll - earlier;
      if (w->range.begin < 0)
        return Error{ErrorCode::kInternal, "no room for a segment's pre-roll"};
      w->keep_before = split->margin_before;
    }
    if (k + 1 < count) {
      w->keep_to = split->cuts[k];
      w->range.end = split->cuts[k] + split->postroll;
      w->keep_after = split->margin_after;
    }
    w->range.fed = &w->fed;
    if (auto r = w->spill.create(folder.empty() ? "." : folder); !r) return r.error();
    if (flac && k == 0) {
      w->hash_now = &*flac;
    } else if (flac) {
      w->samples.emplace();
      if (auto r = w->samples->create(folder.empty() ? "." : folder); !r) return r.error();
    }
    return w;
  };
  std::vector<std::unique_ptr<Worker>> workers;
  for (size_t k = 0; k < count; ++k) {
    auto w = make_worker(k, 0);
    if (!w) return w.error();
    workers.push_back(std::move(*w));
  }

  // Segment 0 runs on this thread, the others on the pool (at the front of its queue, so they
  // do not wait behind a batch's other files); whichever thread feeds an encoder reports the
  // progress of all of them and passes a cancellation on.
  const CancelToken stop;
  ProgressReporter progress(job.options, split->seconds);
  std::mutex progress_mutex;
  const double rate = plan.sample_rate;
  auto on_fed = [&] {
    if (job.options.cancel.cancelled()) stop.cancel();
    const std::unique_lock lock(progress_mutex, std::try_to_lock);
    if (!lock) return;
    int64_t fed = 0;
    for (const auto& w : workers) {
      // Pre-roll is not progress: count what lies inside the worker's own segment.
      const int64_t inside = w->range.begin + w->fed.load() - w->keep_from.value_or(0);
      const int64_t size = w->keep_to ? *w->keep_to - w->keep_from.value_or(0) : inside;
      fed += std::clamp<int64_t>(inside, 0, size);
    }
    progress.update(static_cast<double>(fed) / rate);
  };
  for (auto& w : workers) w->range.on_fed = on_fed;

  WorkPool& pool = job.engine.pool();
  WorkPool::Group group;
  for (size_t k = count - 1; k >= 1; --k) {
    pool.add(
        group,
        [&, w = workers[k].get()](int) {
          run_worker(job.engine, plan, *w, stop, job.options.cancel);
        },
        true);
  }
  run_worker(job.engine, plan, *workers.front(), stop, job.options.cancel);
  pool.wait(group);
  // FFmpeg's words from the workers, in segment order, kept with this thread's, where run()
  // listens (a pre-roll may repeat a line the segment before it said).
  for (const auto& w : workers) {
    for (const auto& line : w->log) av::LogCapture::take(line);
  }

  if (job.options.cancel.cancelled()) return Error{ErrorCode::kCancelled, "cancelled"};
  for (const auto& w : workers) {
    if (w->error && w->error->code != ErrorCode::kCancelled) return *w->error;
  }
  for (const auto& w : workers) {
    if (w->error) return *w->error;
  }
  // Every segment before the last must have been whole, frame for frame; if the input ended
  // early (a declared duration that lied), the serial run is the one that is right.
  for (size_t k = 0; k + 1 < count; ++k) {
    const Worker& w = *workers[k];
    if (w.range.go_serial || w.par == nullptr) return false;
    // (Vorbis packets are not frames of a fixed size: its join checks the packets.)
    if (k > 0 && plan.codec != "vorbis" && w.kept != (*w.keep_to - *w.keep_from) / split->frame) {
      return false;
    }
  }
  if (workers.back()->range.go_serial || workers.back()->par == nullptr) return false;

  for (const auto& w : workers) {
    for (const LostSpan& s : w->lost) job.source.add_lost(s.from, s.to);
  }
  const Worker& first = *workers.front();
  const Worker& last = *workers.back();
  job.result.start = first.result.start;
  job.result.sample_rate = first.result.sample_rate;
  job.result.channels = first.result.channels;
  job.result.samples = last.range.begin + last.result.samples;
  job.result.end =
      job.result.start + job.result.samples * kMicrosPerSecond / job.result.sample_rate;
  job.result.segments = static_cast<int>(count);

  // A second encode of segment k, moved `earlier` onto the previous segment's block grid.
  auto redo = [&](size_t k, int64_t earlier) -> Result<bool> {
    auto w = make_worker(k, earlier);
    if (!w) return false;
    (*w)->range.on_fed = [&] {  // a Ctrl-C stops it within a frame
      if (job.options.cancel.cancelled()) stop.cancel();
    };
    run_worker(job.engine, plan, **w, stop, job.options.cancel);
    if (job.options.cancel.cancelled()) return Error{ErrorCode::kCancelled, "cancelled"};
    if ((*w)->error) return *(*w)->error;
    if ((*w)->range.go_serial || (*w)->par == nullptr) return false;
    for (const LostSpan& s : (*w)->lost) job.source.add_lost(s.from, s.to);
    workers[k] = std::move(*w);
    return true;
  };
  auto joined = assemble(job, *split, workers, flac, redo);
  if (!joined || !*joined) {
    job.result.segments = 1;
    // Nothing of the attempt may stay in the temporary file the serial run writes next.
    if (::truncate(job.temp_path.c_str(), 0) != 0 && joined) {
      return Error{ErrorCode::kWriteFailed, fmt::format("cannot write next to {}", plan.output)};
    }
  }
  return joined;
}

}  // namespace peel::engine
