// Engine: the pool, the routing of FFmpeg's one log callback, and the limits.
//
// FFmpeg has a single log callback per process and no way to read it back, so this file holds
// the one piece of process-wide state peel has: which Engines exist, and the callback that was
// there before the first (EngineOptions::previous_log). The callback itself sends each line to
// the probe or run on the calling thread (av::LogCapture), or else to the Engines' on_log.
#include "peel/engine.h"

#include <algorithm>
#include <mutex>
#include <thread>

#include "av/av.h"

namespace peel {

namespace {

struct Router {
  std::mutex mutex;
  int engines = 0;
  FfmpegLogCallback previous = nullptr;
  std::vector<std::shared_ptr<const std::function<void(int, const std::string&)>>> listeners;
};

Router& router() {
  static Router r;
  return r;
}

void route(void* avcl, int level, const char* fmt, va_list args) {
  Router& r = router();
  FfmpegLogCallback previous = nullptr;
  std::vector<std::shared_ptr<const std::function<void(int, const std::string&)>>> listeners;
  {
    std::lock_guard lock(r.mutex);
    previous = r.previous;
    if (level <= AV_LOG_WARNING) listeners = r.listeners;
  }
  if (previous != nullptr) {
    va_list copy;
    va_copy(copy, args);
    previous(avcl, level, fmt, copy);
    va_end(copy);
  }
  if (level > AV_LOG_WARNING) return;
  std::string line = av::format_log_line(avcl, level, fmt, args);
  if (line.empty() || av::LogCapture::take(line)) return;
  for (const auto& l : listeners) (*l)(level, line);
}

}  // namespace

int core_count() { return std::max(1, static_cast<int>(std::thread::hardware_concurrency())); }

Limits Limits::untrusted() {
  Limits l;
  l.formats = {"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi", "mpegts", "flv", "ogg", "mp3",
               "aac", "flac", "wav", "asf", "mpeg", "mxf", "w64", "aiff", "caf", "ac3", "eac3",
               "dts", "truehd", "mlp", "wv", "ape", "tta", "amr", "au", "nut", "rm", "dv",
               "mpegvideo", "h264", "hevc"};
  l.follow_references = false;
  l.open_timeout = 30 * kMicrosPerSecond;
  l.max_streams = 64;
  l.max_output_bytes = int64_t{2} << 30;
  return l;
}

Engine::Engine(EngineOptions options)
    : options_(std::move(options)), pool_(options_.threads > 0 ? options_.threads : core_count()) {
  Router& r = router();
  std::lock_guard lock(r.mutex);
  // (Installed again when an application names its callback: it may have set it after the
  // first Engine installed the router.)
  if (options_.previous_log != nullptr && options_.previous_log != route) {
    r.previous = options_.previous_log;
  }
  if (r.engines++ == 0 || options_.previous_log != nullptr) av_log_set_callback(route);
  if (options_.on_log) {
    listener_ =
        std::make_shared<const std::function<void(int, const std::string&)>>(options_.on_log);
    r.listeners.push_back(listener_);
  }
}

Engine::~Engine() {
  Router& r = router();
  std::lock_guard lock(r.mutex);
  std::erase(r.listeners, listener_);
  if (--r.engines == 0) {
    av_log_set_callback(r.previous != nullptr ? r.previous : av_log_default_callback);
    r.previous = nullptr;
  }
}

}  // namespace peel
