// RAII handles over FFmpeg types and AVERROR translation. The only place (with src/engine)
// that includes FFmpeg headers.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavcodec/bsf.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
}

#include <memory>
#include <string>
#include <vector>

#include "peel/engine.h"
#include "peel/error.h"
#include "peel/time.h"

namespace peel::av {

// Closes the input and the file reader open_input() gave it.
struct InputDeleter {
  void operator()(AVFormatContext* c) const;
};
// Closes the AVIO context it opened itself, then frees.
struct OutputDeleter {
  void operator()(AVFormatContext* c) const;
};
struct CodecDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct SwrDeleter {
  void operator()(SwrContext* s) const { swr_free(&s); }
};
struct FifoDeleter {
  void operator()(AVAudioFifo* f) const { av_audio_fifo_free(f); }
};
struct ParametersDeleter {
  void operator()(AVCodecParameters* p) const { avcodec_parameters_free(&p); }
};
struct BsfDeleter {
  void operator()(AVBSFContext* b) const { av_bsf_free(&b); }
};

using InputContext = std::unique_ptr<AVFormatContext, InputDeleter>;
using OutputContext = std::unique_ptr<AVFormatContext, OutputDeleter>;
using CodecContext = std::unique_ptr<AVCodecContext, CodecDeleter>;
using Packet = std::unique_ptr<AVPacket, PacketDeleter>;
using Frame = std::unique_ptr<AVFrame, FrameDeleter>;
using Swr = std::unique_ptr<SwrContext, SwrDeleter>;
using AudioFifo = std::unique_ptr<AVAudioFifo, FifoDeleter>;
using Bsf = std::unique_ptr<AVBSFContext, BsfDeleter>;
using CodecParameters = std::unique_ptr<AVCodecParameters, ParametersDeleter>;

Packet make_packet();
Frame make_frame();

// FFmpeg's text for an AVERROR.
std::string error_text(int averror);

// The one translation from AVERROR to peel::Error: `what` says what peel was doing, with the
// file name; the FFmpeg reason is appended.
Error translate(int averror, ErrorCode code, const std::string& what);

// Opens an input for demuxing and reads stream info. The file is read with pread through
// peel's own I/O context (a seek costs no system call; where the demuxer indexes its samples,
// one read fetches a whole run of adjacent samples of the streams not discarded, see
// av/file_reader.h). `limits` bound what the file can make FFmpeg do: which demuxers, how much
// is probed, how many streams, and whether (and through which protocols) it may open other
// files or URLs it names (playlists, external references). The interrupt callback (if any) is
// installed before any I/O. Errors are classified (missing, folder, empty, truncated index,
// unsupported, cancelled, timed out).
Result<InputContext> open_input(const std::string& path, const AVIOInterruptCB* interrupt,
                                const Limits& limits);

// What the top-level boxes of an MP4/MOV (ISO-BMFF) file show: whether it starts with 'ftyp',
// has its index ('moov'), and is fragmented ('mvex' in the index, or 'moof' boxes). Reads box
// headers only; all false when the file cannot be read.
struct Mp4Layout {
  bool ftyp = false;
  bool moov = false;
  bool fragmented = false;
};
Mp4Layout mp4_layout(const std::string& path);

// Keeps the FFmpeg log lines (warnings and errors) of the calling thread in `sink` while
// alive, at most `max_lines` of them (then a last line counts the rest). Lines reach it
// through the Engine's log callback (peel/engine.h), which calls take().
class LogCapture {
 public:
  LogCapture(std::vector<std::string>* sink, size_t max_lines);
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  // Gives `line` to the calling thread's capture; false when there is none.
  static bool take(const std::string& line);

 private:
  std::vector<std::string>* sink_;
  size_t max_lines_;
  size_t dropped_ = 0;
  LogCapture* previous_;
};

// One log line as FFmpeg's default callback would print it, without the line end.
std::string format_log_line(void* avcl, int level, const char* fmt, va_list args);

inline AVRational micros_tb() { return AVRational{1, static_cast<int>(kMicrosPerSecond)}; }

}  // namespace peel::av
