// plan(): a pure decision from (Request, MediaInfo) to what will be written, and why.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "peel/error.h"
#include "peel/media_info.h"
#include "peel/request.h"

namespace peel {

enum class Mode { kCopy, kTranscode };

// One output file to produce from one audio track.
struct OutputPlan {
  std::string input;
  std::string output;
  // The folder the output was named in (by a template), which it must stay inside even
  // through links; empty for a name the caller gave whole.
  std::string folder;
  Mode mode = Mode::kCopy;
  std::string reason;         // why copy or transcode, in plain words
  std::string format;         // format table name
  std::string codec;          // output codec name (FFmpeg's), e.g. "mp3", "pcm_s24le"
  AudioTrack track;           // the source track
  Micros from = 0;            // on the file's timeline; 0 = its start
  std::optional<Micros> to;   // empty: to the end
  int sample_rate = 0;        // output rate
  int channels = 0;           // output channel count
  std::string sample_format;  // "s16", "s24", "s32", "f32" or empty (codec's choice)
  std::optional<int64_t> bitrate;
  std::optional<double> quality;
  std::optional<LoudnessTarget> loudness;  // normalized to this (docs/cli.md#loudness)
  bool keep_metadata = true;
  bool overwrite = false;
  bool strict = false;
};

// Decides the outputs for one input. Pure: touches no file. Fails with kNoAudio,
// kTrackNotFound, kBadRange, kCannotCopy, kBadOutputOption or kUsage; output existence and
// writability are checked by run(), just before writing.
Result<std::vector<OutputPlan>> plan(const Request& request, const MediaInfo& info);

// The plan in plain words: copy or transcode and why, track, range, output.
std::string explain(const OutputPlan& plan);

// An ffmpeg CLI command that does the same job (as closely as ffmpeg can).
std::string ffmpeg_command(const OutputPlan& plan);

// The same for a file that cannot be probed (yet), from the request alone: the track by
// number or language, the format's own encoder (a copy into .mka for `auto`), and, with
// `from_end`, a range that starts that long before the end (-sseof). One builder makes both.
std::string ffmpeg_command(const Request& request, const std::string& input,
                           std::optional<Micros> from_end = std::nullopt);

// The `peel` command's arguments (after the program name) that make `request`, so that every
// front end can show the command line that does the same from a shell.
std::vector<std::string> peel_arguments(const Request& request);

// A loudness target as people say it: LUFS ("-16", "-16 LUFS"; "16" is -16 too) or a
// preset: podcast (-16 LUFS), broadcast (-23, EBU R128; also "ebu", "r128"), music (-14;
// also "streaming"), each with a -1 dBTP ceiling. Fails with kUsage.
Result<LoudnessTarget> parse_loudness(std::string_view text);

// argv as one line that a POSIX shell splits back into the same words (quoting as needed).
std::string shell_command(const std::vector<std::string>& argv);

}  // namespace peel
