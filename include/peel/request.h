// Request: what the user wants, in plain terms. Built by every front end (CLI, plain-language
// parser, HTTP service); no FFmpeg types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "peel/time.h"

namespace peel {

enum class CopyPolicy {
  kAuto,      // copy when the target can carry the codec and nothing asks for processing
  kCopy,      // copy or fail with the reason
  kReencode,  // always transcode
};

// Which audio track(s) to take. Empty selector: the default-flagged track, else the first.
struct TrackSelector {
  std::optional<int> number;         // 1-based among audio tracks
  std::optional<std::string> lang;   // ISO 639-1 or 639-2 code
  std::optional<std::string> title;  // case-insensitive substring of the track title
  bool all = false;                  // one output per audio track
};

// Loudness normalization (EBU R128): the integrated loudness to reach, and the true peak the
// output must stay under. Presets: podcast -16/-1, broadcast -23/-1 (EBU R128), music -14/-1.
struct LoudnessTarget {
  double lufs = -16;
  double true_peak = -1;  // dBTP
};

struct Request {
  std::vector<std::string> inputs;
  std::string output;           // explicit output path; empty: derived
  std::string out_dir;          // folder for derived outputs; empty: beside input
  std::string name_template;    // "{stem}.{ext}" style; empty: the default
  std::string format = "auto";  // a format table name, or "auto"
  CopyPolicy copy_policy = CopyPolicy::kAuto;

  std::optional<Micros> from;
  std::optional<Micros> to;
  std::optional<Micros> duration;  // exclusive with `to`

  TrackSelector track;

  std::optional<int64_t> bitrate;            // bits per second (CBR)
  std::optional<double> quality;             // codec VBR quality (LAME V0..9, vorbis -1..10, ...)
  std::optional<int> sample_rate;            // Hz
  std::optional<int> channels;               // count; down-mix uses the standard matrix
  std::optional<std::string> sample_format;  // s16, s24, s32, f32 (wav, flac, pcm)
  std::optional<LoudnessTarget> loudness;    // normalize to this (a transcode)

  bool keep_metadata = true;
  bool overwrite = false;
  bool strict = false;  // refuse damaged input instead of salvaging it
};

}  // namespace peel
