// Source: one input opened for reading one audio stream. Other streams are discarded so
// that demuxers which can (mp4, mkv) skip their bytes instead of reading them. Tracks the
// time spans whose packets are missing (damage) on the file's timeline.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "av/av.h"
#include "peel/engine.h"
#include "peel/media_info.h"
#include "peel/run.h"

namespace peel::engine {

// An opened input file: the demuxer and what it holds. Heap-allocated so that FFmpeg's
// interrupt callback can point at it.
struct OpenFile {
  av::InputContext ctx;
  MediaInfo info;
  CancelToken cancel;  // the open's, then the current run's token, polled by the interrupt callback
  // While opening, with Limits::open_timeout: when to give up.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  bool read_from = false;  // a run has read packets: the next one rewinds first
};

// Opens and inspects `path` within `limits`; FFmpeg's warnings go to info.log.
Result<std::unique_ptr<OpenFile>> open_file(const std::string& path, const Limits& limits,
                                            const CancelToken& cancel);

class Source {
 public:
  // Reads `stream_index` of an open input for one run; `cancel` is wired into FFmpeg's
  // interrupt callback. Rewinds an input that an earlier run has read.
  static Result<Source> open(Input& input, int stream_index, const CancelToken& cancel);

  AVFormatContext* format() const { return file_->ctx.get(); }
  AVStream* stream() const { return file_->ctx->streams[index_]; }
  const MediaInfo& info() const { return file_->info; }

  // Timeline time (µs, 0 = file start) of a timestamp in the stream's time base.
  Micros to_timeline(int64_t ts) const;
  int64_t from_timeline(Micros t) const;

  // Seeks so that the next packets start at or before timeline time t. Where the demuxer
  // lands after t (a file without an index for this stream), reading restarts from the
  // beginning instead: slower, never wrong.
  void seek(Micros t);

  // Next packet of the audio stream into `pkt`. Returns false at the end of the input
  // (or after too many read errors, recorded as damage); an Error only for cancellation.
  Result<bool> read(AVPacket* pkt);

  // Records a lost span (decode failures found by the caller).
  void add_lost(Micros from, Micros to);
  // Closes the damage record at the end of reading: a stream that stops well before its
  // declared end lost its tail.
  void finish(Micros reached, Micros expected_end);

  const std::vector<LostSpan>& lost() const { return lost_; }

  // Whether a jump in the timestamps means that packets are missing. Not in MP4 and its
  // kin: their index lists every sample, so a jump (fragmented files often have one after
  // the first packet) is a timestamp discontinuity over data that is all there, and decoders
  // follow the data.
  bool timestamps_show_loss() const { return shows_loss_; }

 private:
  Source() = default;

  OpenFile* file_ = nullptr;
  int index_ = 0;
  int64_t expected_next_ = AV_NOPTS_VALUE;  // stream tb
  std::optional<Micros> seek_target_;       // checked against the first packet after a seek
  int64_t last_duration_ = 0;
  bool shows_loss_ = true;
  bool kept_one_ = false;  // a packet not to be discarded has been read
  std::vector<LostSpan> lost_;
};

}  // namespace peel::engine
