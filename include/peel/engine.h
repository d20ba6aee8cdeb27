// Engine: the one context a front end makes and passes to probe, Input::open, run, run_batch
// and watch. It owns what must exist once per process or per service, so that nothing else
// does: the thread pool every run and batch shares, the routing of FFmpeg's log, and the
// limits that bound what an untrusted file can make the library do.
//
//   peel::Engine engine;                       // one per process (or per tenant, with limits)
//   auto info = peel::probe(engine, "talk.mp4");
//
// Thread-safe: any number of threads may use one Engine at once. It must outlive every call
// made with it. Several Engines may exist at once (each with its own pool and limits); they
// share FFmpeg's one log callback, which the first installs and the last removes.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "peel/pool.h"
#include "peel/time.h"

namespace peel {

// What a file may make the library do. The defaults suit files on the user's own disk; a
// service that reads uploads from strangers starts from Limits::untrusted().
struct Limits {
  // Protocols FFmpeg may use (its protocol_whitelist). The input itself is always read as a
  // plain file; this bounds what a demuxer may open on its own (see follow_references).
  std::vector<std::string> protocols{"file"};
  // Whether a demuxer may open other files or URLs that a file names (an HLS playlist's
  // segments, a concat list's entries, an MOV's external data references), through
  // `protocols`. Off: the file named is the only one read, and a file that needs others fails.
  bool follow_references = false;
  // Demuxers (FFmpeg names: "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "mpegts"...) a file
  // may be read with; empty: any that FFmpeg has.
  std::vector<std::string> formats;
  int64_t probe_bytes = 5'000'000;     // bytes read to recognise the format and find streams
  Micros analyze_duration = 5'000'000;  // of the file read to learn its streams' parameters
  int max_streams = 1000;              // a file with more streams is refused
  Micros open_timeout = 0;             // opening and inspecting a file may take this long; 0: any
  // A gap in a damaged stream's timestamps is filled with silence up to this long, so the
  // timeline stays true; a longer gap is reported as lost and skipped (the audio after it
  // follows at once). Besides, the silence one output gains never exceeds the real audio it
  // holds: a tiny file with a huge timestamp jump cannot become a huge output.
  Micros max_silence_fill = 5'000'000;
  int64_t max_output_bytes = 0;  // one output may be at most this large (kOutputTooLarge); 0: any
  size_t max_log_lines = 100;    // FFmpeg log lines kept per probe or run (the rest are counted)

  // For files from strangers: only the common audio and video containers, no references to
  // other files, a 30 s open timeout, a 2 GiB output bound.
  static Limits untrusted();
};

// FFmpeg's log callback type (libavutil/log.h), without FFmpeg's headers.
using FfmpegLogCallback = void (*)(void* avcl, int level, const char* fmt, va_list args);

struct EngineOptions {
  int threads = 0;  // the pool's threads; 0: one per core
  Limits limits;
  // FFmpeg keeps one log callback for the process and has no way to ask which one is set: an
  // application with its own names it here. Every line is passed on to it (with the lines of
  // probes and runs also kept in their results); when the last Engine goes, it is set back.
  // Null: lines are kept in results only (a library does not print).
  FfmpegLogCallback previous_log = nullptr;
  // Warnings and errors FFmpeg logs outside any probe or run of this process; may be called
  // from any thread, at once.
  std::function<void(int level, const std::string& line)> on_log;
};

class Engine {
 public:
  explicit Engine(EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  WorkPool& pool() { return pool_; }
  int threads() const { return pool_.threads(); }
  const Limits& limits() const { return options_.limits; }

 private:
  EngineOptions options_;
  WorkPool pool_;
  std::shared_ptr<const std::function<void(int, const std::string&)>> listener_;  // on_log
};

// The number of cores, at least 1: what a pool of 0 threads gets.
int core_count();

}  // namespace peel
