// probe(): what a media file holds. Reads the file's headers (and a few packets) once.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "peel/cancel.h"
#include "peel/error.h"
#include "peel/time.h"

namespace peel {

struct AudioTrack {
  int number = 0;        // 1-based among audio tracks, as --track counts them
  int stream_index = 0;  // index among all streams of the container
  std::string codec;     // FFmpeg codec name: "aac", "mp3", "pcm_s24le", ...
  std::string profile;   // "LC", "HE-AAC", ... or empty
  int sample_rate = 0;
  int channels = 0;
  std::string channel_layout;  // "stereo", "5.1(side)", ...
  int64_t bitrate = 0;         // bits per second, 0 if unknown
  int bits_per_sample = 0;     // of the decoded or raw samples, 0 if not meaningful
  std::string lang;            // as tagged (often ISO 639-2), or empty
  std::string title;
  bool is_default = false;
  Micros start = 0;     // first sample's time on the file's timeline
  Micros duration = 0;  // 0 if unknown
  // Exact length in samples where the container states it to the sample (an unfragmented
  // MP4's edit list or media duration, which may end inside the last coded frame), else 0.
  int64_t samples = 0;
  // Encoder delay: samples decoders drop before the first one played (an MP4 edit list,
  // Opus pre-skip, Matroska's CodecDelay), 0 if none is stated. A copy must keep it, or the
  // audio comes out this much late.
  int64_t delay = 0;
};

struct VideoStream {
  int stream_index = 0;
  std::string codec;
  int width = 0;
  int height = 0;
  double fps = 0;
  bool attached_pic = false;  // cover art, not a real video
};

struct MediaInfo {
  std::string path;
  std::string container;  // FFmpeg demuxer name(s): "mov,mp4,m4a,3gp,3g2,mj2"
  std::string container_long;
  Micros start = 0;  // container start time; the timeline's zero
  Micros duration = 0;
  int64_t size = 0;  // bytes
  std::vector<AudioTrack> audio;
  std::vector<VideoStream> video;
  std::map<std::string, std::string> tags;
  int chapters = 0;
  std::vector<std::string> log;  // FFmpeg's warnings and errors while opening it
};

class Engine;

namespace engine {
struct OpenFile;
class Source;
}  // namespace engine

// A media file opened once: inspected on opening, then read by run() for each output, so a
// file is parsed only once however many outputs it gives. Movable, not copyable. One run at a
// time per Input; different Inputs may be used from different threads at once.
class Input {
 public:
  // Fails like probe().
  static Result<Input> open(Engine& engine, const std::string& path,
                            const CancelToken& cancel = {});

  Input(Input&&) noexcept;
  Input& operator=(Input&&) noexcept;
  ~Input();

  const MediaInfo& info() const;

 private:
  explicit Input(std::unique_ptr<engine::OpenFile> file);
  friend class engine::Source;
  std::unique_ptr<engine::OpenFile> file_;
};

// Opens and inspects `path` within the engine's limits. Thread-safe. Fails with
// kInputNotFound, kInputIsDirectory, kInputUnreadable, kInputEmpty, kTruncatedIndex,
// kUnsupportedFile (also: a format the limits do not accept, a playlist or reference to other
// files, more streams than allowed, longer to open than allowed) or kCancelled; a file without
// audio is not an error here (audio is empty).
Result<MediaInfo> probe(Engine& engine, const std::string& path, const CancelToken& cancel = {});

}  // namespace peel
