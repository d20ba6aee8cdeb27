// RAII helpers, error translation, input opening and log routing.
#include "av/av.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "av/file_reader.h"

extern "C" {
#include <libavutil/intreadwrite.h>
}

namespace peel::av {

void OutputDeleter::operator()(AVFormatContext* c) const {
  if (c == nullptr) return;
  if (c->oformat != nullptr && (c->oformat->flags & AVFMT_NOFILE) == 0) avio_closep(&c->pb);
  avformat_free_context(c);
}

namespace {

int refuse_nested_open(AVFormatContext*, AVIOContext**, const char*, int, AVDictionary**) {
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

thread_local std::vector<std::string>* t_log_sink = nullptr;

void log_callback(void* avcl, int level, const char* fmt, va_list vl) {
  if (level > AV_LOG_WARNING || t_log_sink == nullptr) return;
  std::array<char, 1024> line{};
  int print_prefix = 1;
  av_log_format_line2(avcl, level, fmt, vl, line.data(), static_cast<int>(line.size()),
                      &print_prefix);
  std::string text = line.data();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (!text.empty()) t_log_sink->push_back(std::move(text));
}

void install_log_callback() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_callback(log_callback); });
}

}  // namespace

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

LogCapture::LogCapture(std::vector<std::string>* sink) : previous_(t_log_sink) {
  install_log_callback();
  t_log_sink = sink;
}

LogCapture::~LogCapture() { t_log_sink = previous_; }

Result<InputContext> open_input(const std::string& path, const AVIOInterruptCB* interrupt) {
  install_log_callback();
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
  auto* buffer = static_cast<uint8_t*>(av_malloc(kBufferSize));
  AVIOContext* pb = avio_alloc_context(buffer, kBufferSize, 0, reader, FileReader::read_packet,
                                       nullptr, FileReader::seek);
  AVFormatContext* raw = avformat_alloc_context();
  raw->pb = pb;
  raw->flags |= AVFMT_FLAG_CUSTOM_IO;
  raw->io_open = refuse_nested_open;
  if (interrupt != nullptr) raw->interrupt_callback = *interrupt;
  // From here on the deleter owns the reader, whether opening succeeds or not.
  InputContext guard(raw);
  int rc = avformat_open_input(&raw, path.c_str(), nullptr, nullptr);
  if (rc < 0) {
    // avformat_open_input freed the context on failure, but not our I/O context.
    (void)guard.release();
    av_freep(&pb->buffer);
    avio_context_free(&pb);
    delete reader;
    if (rc == AVERROR_EXIT) return Error{ErrorCode::kCancelled, "cancelled", rc};
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
  if (rc < 0) {
    if (rc == AVERROR_EXIT) return Error{ErrorCode::kCancelled, "cancelled", rc};
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
