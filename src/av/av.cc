// RAII helpers, error translation, input opening and log routing.
#include "av/av.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "av/file_reader.h"

extern "C" {
#include <libavutil/avstring.h>
#include <libavutil/intreadwrite.h>
}

namespace peel::av {

void OutputDeleter::operator()(AVFormatContext* c) const {
  if (c == nullptr) return;
  if (c->oformat != nullptr && (c->oformat->flags & AVFMT_NOFILE) == 0) avio_closep(&c->pb);
  avformat_free_context(c);
}

namespace {

// Set on the context's `opaque` while opening: a demuxer tried to open another file or URL.
struct OpenAttempts {
  std::string first;  // what it tried to open first
};

int refuse_nested_open(AVFormatContext* ctx, AVIOContext**, const char* url, int,
                       AVDictionary**) {
  if (auto* attempts = static_cast<OpenAttempts*>(ctx->opaque);
      attempts != nullptr && attempts->first.empty()) {
    attempts->first = url != nullptr ? url : "?";
  }
  return AVERROR(EPERM);
}

}  // namespace

void InputDeleter::operator()(AVFormatContext* c) const {
  AVIOContext* pb = c != nullptr ? c->pb : nullptr;
  avformat_close_input(&c);
  if (pb == nullptr) return;
  auto* reader = static_cast<FileReader*>(pb->opaque);
  av_freep(&pb->buffer);
  avio_context_free(&pb);
  delete reader;
}

Packet make_packet() { return Packet(av_packet_alloc()); }
Frame make_frame() { return Frame(av_frame_alloc()); }

std::string error_text(int averror) {
  std::array<char, AV_ERROR_MAX_STRING_SIZE> buf{};
  av_strerror(averror, buf.data(), buf.size());
  return buf.data();
}

Error translate(int averror, ErrorCode code, const std::string& what) {
  return Error{code, fmt::format("{} ({})", what, error_text(averror)), averror};
}

namespace {
thread_local LogCapture* t_capture = nullptr;
}  // namespace

std::string format_log_line(void* avcl, int level, const char* fmt, va_list args) {
  std::array<char, 1024> line{};
  int print_prefix = 1;
  va_list copy;
  va_copy(copy, args);
  av_log_format_line2(avcl, level, fmt, copy, line.data(), static_cast<int>(line.size()),
                      &print_prefix);
  va_end(copy);
  std::string text = line.data();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  // "[mov,mp4,m4a @ 0x55d0c1a2b3c0] ..." → "[mov,mp4,m4a] ...": the address helps no reader,
  // and a log a server hands its clients must not tell where its memory is.
  for (size_t at = text.find(" @ 0x"); at != std::string::npos; at = text.find(" @ 0x", at)) {
    size_t end = at + 5;
    while (end < text.size() && std::isxdigit(static_cast<unsigned char>(text[end]))) ++end;
    text.erase(at, end - at);
  }
  return text;
}

Mp4Layout mp4_layout(const std::string& path) {
  Mp4Layout layout;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return layout;
  struct stat st {};
  const auto file_size = ::fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  // The size and type of the box at `pos`, and where its contents start.
  auto box = [fd, file_size](uint64_t pos, uint64_t& size, std::string& type, uint64_t& body) {
    uint8_t head[16];
    if (::pread(fd, head, 8, static_cast<off_t>(pos)) != 8) return false;
    size = AV_RB32(head);
    if (size == 0) size = file_size - pos;  // the last box, to the end of the file
    type.assign(reinterpret_cast<const char*>(head + 4), 4);
    body = pos + 8;
    if (size == 1) {
      if (::pread(fd, head + 8, 8, static_cast<off_t>(pos + 8)) != 8) return false;
      size = AV_RB64(head + 8);
      body += 8;
    }
    return size >= body - pos;
  };
  uint64_t pos = 0;
  uint64_t size = 0;
  uint64_t body = 0;
  std::string type;
  // (Once the index is found in a fragmented file, the thousands of fragments after it need
  // not be walked.)
  for (int boxes = 0; boxes < 4096 && !(layout.moov && layout.fragmented) &&
                      box(pos, size, type, body) && size > 0;
       ++boxes, pos += size) {
    if (boxes == 0) layout.ftyp = type == "ftyp";
    if (type == "moof") layout.fragmented = true;
    if (type != "moov") continue;
    layout.moov = true;
    uint64_t child = body;
    uint64_t child_size = 0;
    uint64_t child_body = 0;
    std::string child_type;
    for (int n = 0; n < 4096 && child < pos + size &&
                    box(child, child_size, child_type, child_body) && child_size > 0;
         ++n, child += child_size) {
      if (child_type == "mvex") layout.fragmented = true;
    }
  }
  ::close(fd);
  return layout;
}

LogCapture::LogCapture(std::vector<std::string>* sink, size_t max_lines)
    : sink_(sink), max_lines_(max_lines), previous_(t_capture) {
  t_capture = this;
}

LogCapture::~LogCapture() {
  t_capture = previous_;
  if (dropped_ > 0) sink_->push_back(fmt::format("({} more lines of FFmpeg's log not kept)", dropped_));
}

bool LogCapture::take(const std::string& line) {
  LogCapture* c = t_capture;
  if (c == nullptr) return false;
  if (c->sink_->size() < c->max_lines_) {
    c->sink_->push_back(line);
  } else {
    ++c->dropped_;
  }
  return true;
}

namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

// Formats whose files are lists of other files or URLs (FFmpeg has no flag for them).
bool names_other_files(const AVInputFormat& f) {
  for (const char* name : {"concat", "hls", "dash"}) {
    if (av_match_list(name, f.name, ',') > 0) return true;
  }
  return false;
}

// A playlist, a concat list, a reference movie: its media is in other files or at URLs.
Error refers_elsewhere(const std::string& path, const std::string& target, int rc) {
  return Error{ErrorCode::kUnsupportedFile,
               fmt::format("{} holds no media of its own: it refers to {}, and peel reads only "
                           "the file it is given; give the media file itself",
                           path, target),
               rc};
}

}  // namespace

Result<InputContext> open_input(const std::string& path, const AVIOInterruptCB* interrupt,
                                const Limits& limits) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == EACCES) {
      return Error{
          ErrorCode::kInputUnreadable,
          fmt::format("cannot read {}: permission denied; check the file's permissions", path)};
    }
    return Error{ErrorCode::kInputNotFound, fmt::format("{} does not exist; check the path", path)};
  }
  if (S_ISDIR(st.st_mode)) {
    return Error{ErrorCode::kInputIsDirectory,
                 fmt::format("{} is a folder, not a file; name the video files inside it", path)};
  }
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
    // A pipe, socket or character device has no positions to read at (and a FIFO would
    // block opening until someone writes).
    return Error{ErrorCode::kUnsupportedFile,
                 fmt::format("{} is not a regular file (it is a {}); peel reads media files, so "
                             "save the stream to a file first",
                             path,
                             S_ISFIFO(st.st_mode)   ? "pipe"
                             : S_ISSOCK(st.st_mode) ? "socket"
                                                    : "device")};
  }
  if (::access(path.c_str(), R_OK) != 0) {
    return Error{
        ErrorCode::kInputUnreadable,
        fmt::format("cannot read {}: permission denied; check the file's permissions", path)};
  }
  if (S_ISREG(st.st_mode) && st.st_size == 0) {
    return Error{
        ErrorCode::kInputEmpty,
        fmt::format("{} is empty (0 bytes); it may still be copying or downloading", path)};
  }

  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Error{ErrorCode::kInputUnreadable,
                 fmt::format("cannot open {} ({}); check the file's permissions", path,
                             std::strerror(errno))};
  }
  constexpr int kBufferSize = 64 * 1024;
  auto* reader = new FileReader(fd, st.st_size);
  if (interrupt != nullptr) reader->interrupt_with(*interrupt);
  auto* buffer = static_cast<uint8_t*>(av_malloc(kBufferSize));
  AVIOContext* pb = avio_alloc_context(buffer, kBufferSize, 0, reader, FileReader::read_packet,
                                       nullptr, FileReader::seek);
  AVFormatContext* raw = avformat_alloc_context();
  raw->pb = pb;
  raw->flags |= AVFMT_FLAG_CUSTOM_IO;
  if (!limits.follow_references) raw->io_open = refuse_nested_open;
  if (interrupt != nullptr) raw->interrupt_callback = *interrupt;
  raw->probesize = std::max<int64_t>(limits.probe_bytes, 32);
  raw->format_probesize = static_cast<int>(std::min<int64_t>(raw->probesize, 1 << 20));
  raw->max_analyze_duration = limits.analyze_duration;
  raw->max_streams = std::max(1, limits.max_streams);
  OpenAttempts attempts;
  raw->opaque = &attempts;
  AVDictionary* opts = nullptr;
  // The input itself is read through peel's own I/O, not a protocol: the whitelist bounds only
  // what a demuxer opens on its own, and without references it may open nothing at all (a
  // demuxer that opens inner files as inputs of their own, as concat does, is bound by it too).
  av_dict_set(&opts, "protocol_whitelist",
              limits.follow_references ? joined(limits.protocols).c_str() : "", 0);
  if (!limits.formats.empty()) {
    av_dict_set(&opts, "format_whitelist", joined(limits.formats).c_str(), 0);
  }
  // From here on the deleter owns the reader, whether opening succeeds or not.
  InputContext guard(raw);
  // The format is recognised here rather than inside avformat_open_input, so that a format
  // not accepted is named in the error (FFmpeg would only say "invalid argument").
  const AVInputFormat* format = nullptr;
  int rc = av_probe_input_buffer2(pb, &format, path.c_str(), nullptr, 0, raw->format_probesize);
  if (rc >= 0 && !limits.follow_references && names_other_files(*format)) {
    av_dict_free(&opts);
    return refers_elsewhere(path, fmt::format("the files it lists (a {} list)", format->name), 0);
  }
  if (rc >= 0 && !limits.formats.empty() &&
      av_match_list(format->name, joined(limits.formats).c_str(), ',') <= 0) {
    av_dict_free(&opts);
    return Error{ErrorCode::kUnsupportedFile,
                 fmt::format("{} is a {} file ({}), a format not accepted here; accepted: {}",
                             path, format->name,
                             format->long_name != nullptr ? format->long_name : format->name,
                             fmt::join(limits.formats, ", "))};
  }
  bool freed = false;  // avformat_open_input failed: it freed the context, not our I/O
  if (rc >= 0) {
    rc = avformat_open_input(&raw, path.c_str(), format, &opts);
    freed = rc < 0;
  }
  av_dict_free(&opts);
  if (rc >= 0 && !attempts.first.empty() && raw->nb_streams == 0) rc = AVERROR(EPERM);
  if (rc < 0) {
    if (freed) {
      (void)guard.release();
      av_freep(&pb->buffer);
      avio_context_free(&pb);
      delete reader;
    } else {
      guard.reset();
    }
    if (rc == AVERROR_EXIT) return Error{ErrorCode::kCancelled, "cancelled", rc};
    if (!attempts.first.empty()) return refers_elsewhere(path, "'" + attempts.first + "'", rc);
    // An ISO-BMFF file (it starts with 'ftyp') without its index: cut off before it.
    if (const Mp4Layout layout = mp4_layout(path); layout.ftyp && !layout.moov) {
      return Error{ErrorCode::kTruncatedIndex,
                   fmt::format("{} is an MP4/MOV file cut off before its index (the 'moov' box), "
                               "so none of its audio can be located; re-copy or re-download the "
                               "complete file",
                               path),
                   rc};
    }
    if (rc == AVERROR(EACCES)) {
      return translate(rc, ErrorCode::kInputUnreadable, fmt::format("cannot read {}", path));
    }
    return translate(rc, ErrorCode::kUnsupportedFile,
                     fmt::format("{} is not a media file peel can read; is it really a video or "
                                 "audio file?",
                                 path));
  }
  InputContext ctx(guard.release());
  const bool mov = std::string_view(ctx->iformat->name).starts_with("mov,");
  if (mov) {
    // MP4's header already describes every stream; decoding video frames to learn what it
    // says would only cost time.
    for (unsigned i = 0; i < ctx->nb_streams; ++i) {
      if (ctx->streams[i]->codecpar->codec_type != AVMEDIA_TYPE_AUDIO) {
        ctx->streams[i]->discard = AVDISCARD_ALL;
      }
    }
  }
  rc = avformat_find_stream_info(ctx.get(), nullptr);
  if (rc >= 0 && !attempts.first.empty() && ctx->nb_streams == 0) rc = AVERROR(EPERM);
  ctx->opaque = nullptr;
  if (rc < 0) {
    if (rc == AVERROR_EXIT) return Error{ErrorCode::kCancelled, "cancelled", rc};
    if (!attempts.first.empty()) return refers_elsewhere(path, "'" + attempts.first + "'", rc);
    return translate(rc, ErrorCode::kUnsupportedFile,
                     fmt::format("cannot read the streams of {}", path));
  }
  // MP4 reads samples by position: unbuffered, a seek over the other streams' bytes really
  // skips them (buffered, avio reads through gaps under 64 KiB, i.e. most of the file), and
  // the reader fetches each run of adjacent audio samples (a chunk or more) in one read.
  if (mov) ctx->pb->direct = 1;
  // From here on the index (where the demuxer has one) tells the reader where the bytes of the
  // streams being read lie. Not earlier: probing reads what it read before, no more.
  reader->follow(ctx.get());
  return ctx;
}

}  // namespace peel::av
