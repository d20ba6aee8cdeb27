// plan(): decides, for one input, which tracks become which files, copied or transcoded.
#include "peel/plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "engine/encoder_limits.h"
#include "engine/format_table.h"
#include "engine/languages.h"
#include "engine/names.h"

extern "C" {
#include <libavcodec/avcodec.h>
}

namespace peel {

namespace fs = std::filesystem;
using engine::FormatSpec;

namespace {

std::string describe_track(const AudioTrack& t) {
  std::string s =
      fmt::format("track {}: {} {} Hz {}", t.number, t.codec, t.sample_rate,
                  t.channel_layout.empty() ? fmt::format("{} ch", t.channels) : t.channel_layout);
  if (!t.lang.empty()) s += " [" + t.lang + "]";
  if (!t.title.empty()) s += " \"" + t.title + "\"";
  if (t.is_default) s += " (default)";
  return s;
}

std::string list_tracks(const MediaInfo& info) {
  std::string s;
  for (const auto& t : info.audio) s += (s.empty() ? "" : "; ") + describe_track(t);
  return s;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

Result<std::vector<AudioTrack>> select_tracks(const TrackSelector& sel, const MediaInfo& info) {
  if (info.audio.empty()) {
    return Error{ErrorCode::kNoAudio,
                 fmt::format("{} has no audio track ({} video stream(s)); there is nothing to "
                             "extract (peel probe shows what it holds)",
                             info.path, info.video.size())};
  }
  if (sel.all) return info.audio;
  std::vector<AudioTrack> matches;
  for (const auto& t : info.audio) {
    if (sel.number && t.number != *sel.number) continue;
    if (sel.lang && engine::normalize_language(t.lang) != engine::normalize_language(*sel.lang)) {
      continue;
    }
    if (sel.title && lower(t.title).find(lower(*sel.title)) == std::string::npos) continue;
    matches.push_back(t);
  }
  if (matches.empty()) {
    std::string asked;
    if (sel.number) asked = fmt::format("audio track {}", *sel.number);
    if (sel.lang) asked += (asked.empty() ? "" : ", ") + fmt::format("language '{}'", *sel.lang);
    if (sel.title) asked += (asked.empty() ? "" : ", ") + fmt::format("title '{}'", *sel.title);
    return Error(ErrorCode::kTrackNotFound, fmt::format("{} has no {}; its audio tracks are: {}",
                                                        info.path, asked, list_tracks(info)))
        .about(sel.number ? "track" : sel.lang ? "lang" : "title");
  }
  if (sel.number || sel.lang || sel.title) return std::vector<AudioTrack>{matches.front()};
  for (const auto& t : info.audio) {
    if (t.is_default) return std::vector<AudioTrack>{t};
  }
  return std::vector<AudioTrack>{info.audio.front()};
}

std::string extension_of(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  return ext.empty() ? ext : ext.substr(1);
}

Result<const FormatSpec*> choose_format(const Request& r, const AudioTrack& t) {
  if (r.format != "auto") {
    const FormatSpec* f = engine::find_format(r.format);
    if (f == nullptr || !f->selectable) {
      std::string names;
      for (const auto& row : engine::format_table()) {
        if (row.selectable) names += (names.empty() ? "" : ", ") + std::string(row.name);
      }
      return Error(ErrorCode::kUsage,
                   fmt::format("unknown format '{}'; choose one of auto, {}", r.format, names))
          .about("format");
    }
    return f;
  }
  if (!r.output.empty()) {
    const std::string ext = extension_of(r.output);
    const FormatSpec* f = engine::format_for_extension(ext);
    if (f == nullptr) {
      return Error(ErrorCode::kUsage,
                   fmt::format("cannot tell the format from the extension of {}; use a known "
                               "extension (mp3, m4a, aac, flac, wav, opus, ogg, mka, pcm) or "
                               "name the format",
                               r.output))
          .about("format");
    }
    return f;
  }
  const AVCodecDescriptor* d = avcodec_descriptor_get_by_name(t.codec.c_str());
  return &engine::natural_format(d != nullptr ? d->id : AV_CODEC_ID_NONE, t.delay);
}

std::string sample_format_of_source(const AudioTrack& t) {
  // Lossless sources keep their depth; lossy ones decode to float and become 16-bit,
  // as every player expects.
  const AVCodecDescriptor* d = avcodec_descriptor_get_by_name(t.codec.c_str());
  const bool lossless = d != nullptr && (d->props & AV_CODEC_PROP_LOSSLESS) != 0;
  if (!lossless) return "s16";
  if (t.codec == "pcm_f32le" || t.codec == "pcm_f32be") return "f32";
  if (t.bits_per_sample > 24) return "s32";
  if (t.bits_per_sample > 16) return "s24";
  return "s16";
}

// Output rate for an encoder: the asked or source rate if supported, else the nearest
// supported rate above it (else the highest).
Result<int> output_rate(const AVCodec* enc, int wanted, bool asked) {
  if (enc->supported_samplerates == nullptr) return wanted;
  int above = 0;  // the lowest supported rate above the wanted one
  int highest = 0;
  for (const int* r = enc->supported_samplerates; *r != 0; ++r) {
    if (*r == wanted) return wanted;
    if (*r > wanted && (above == 0 || *r < above)) above = *r;
    highest = std::max(highest, *r);
  }
  if (asked) {
    std::string rates;
    for (const int* r = enc->supported_samplerates; *r != 0; ++r) {
      rates += (rates.empty() ? "" : ", ") + std::to_string(*r);
    }
    return Error(ErrorCode::kBadOutputOption,
                 fmt::format("{} cannot encode at {} Hz; choose one of {}", enc->name, wanted, rates))
        .about("sample_rate");
  }
  return above != 0 ? above : highest;
}

std::string render_name(const std::string& tmpl, const std::string& input, const AudioTrack& t,
                        const FormatSpec& f) {
  const fs::path in(input);
  std::string out;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] != '{') {
      out += tmpl[i];
      continue;
    }
    const size_t close = tmpl.find('}', i);
    if (close == std::string::npos) {
      out += tmpl.substr(i);
      break;
    }
    const std::string key = tmpl.substr(i + 1, close - i - 1);
    if (key == "stem")
      out += in.stem().string();
    else if (key == "ext")
      out += f.extension;
    else if (key == "track")
      out += std::to_string(t.number);
    else if (key == "lang")
      out += engine::safe_component(t.lang, "und");
    else if (key == "title")
      out += engine::safe_component(t.title, "untitled");
    else if (key == "dir")
      out += engine::safe_component(in.parent_path().filename().string(), "_");
    else
      out += "{" + key + "}";
    i = close;
  }
  return out;
}

}  // namespace

Result<std::vector<OutputPlan>> plan(const Request& r, const MediaInfo& info) {
  auto tracks = select_tracks(r.track, info);
  if (!tracks) return tracks.error();

  // The range, on the file's timeline.
  Micros from = r.from.value_or(0);
  std::optional<Micros> to = r.to;
  if (r.duration) {
    if (r.to) {
      return Error(ErrorCode::kUsage, "give an end time or a duration, not both")
          .about("to", Hint::kOneOf)
          .and_about("duration");
    }
    if (*r.duration <= 0) {
      return Error(ErrorCode::kBadRange, "the duration must be more than zero").about("duration");
    }
    to = from + *r.duration;
  }
  if (from < 0) {
    return Error(ErrorCode::kBadRange,
                 fmt::format("the start ({}) cannot be negative: times count from the start of {} "
                             "(0:00)",
                             format_time(from), info.path))
        .about("from")
        .given(format_time(from));
  }
  if (to && *to <= from) {
    return Error(ErrorCode::kBadRange, fmt::format("the end ({}) must be after the start ({})",
                                                   format_time(*to), format_time(from)))
        .about("to")
        .and_about("from");
  }
  if (info.duration > 0 && from >= info.duration) {
    return Error(ErrorCode::kBadRange,
                 fmt::format("the range starts at {} but {} is only {} long; start before {}",
                             format_time(from), info.path, format_time(info.duration),
                             format_time(info.duration)))
        .about("from");
  }
  if (to && info.duration > 0 && *to > info.duration) to.reset();  // to the end, said in JSON
  const bool has_range = from > 0 || to.has_value();

  if (!r.output.empty() && (tracks->size() > 1 || r.inputs.size() > 1)) {
    return Error(ErrorCode::kUsage,
                 "one output file was named, but this makes several; name a folder for them "
                 "instead")
        .about("output", Hint::kOutputFolder);
  }
  if (r.sample_format && engine::pcm_codec(*r.sample_format) == AV_CODEC_ID_NONE) {
    return Error(ErrorCode::kUsage,
                 fmt::format("unknown sample format '{}'; use s16, s24, s32 or f32", *r.sample_format))
        .about("sample_format");
  }

  std::vector<OutputPlan> plans;
  for (const auto& track : *tracks) {
    auto chosen = choose_format(r, track);
    if (!chosen) return chosen.error();
    const FormatSpec& f = **chosen;
    const AVCodecDescriptor* src = avcodec_descriptor_get_by_name(track.codec.c_str());
    const AVCodecID src_id = src != nullptr ? src->id : AV_CODEC_ID_NONE;

    OutputPlan p;
    p.input = info.path;
    p.format = std::string(f.name);
    p.track = track;
    p.from = from;
    p.to = to;
    p.keep_metadata = r.keep_metadata;
    p.overwrite = r.overwrite;
    p.strict = r.strict;
    p.bitrate = r.bitrate;
    p.quality = r.quality;
    p.loudness = r.loudness;
    if (r.loudness && !(r.loudness->lufs >= -70 && r.loudness->lufs <= -5)) {
      return Error(ErrorCode::kBadOutputOption,
                   fmt::format("a loudness target of {} LUFS is out of range: give one from -70 to "
                               "-5 (podcasts -16, broadcast -23, music -14)",
                               r.loudness->lufs))
          .about("loudness");
    }
    if (r.loudness && !(r.loudness->true_peak >= -9 && r.loudness->true_peak <= 0)) {
      return Error(ErrorCode::kBadOutputOption,
                   fmt::format("a true-peak ceiling of {} dBTP is out of range: give one from -9 "
                               "to 0 (-1 is usual)",
                               r.loudness->true_peak))
          .about("true_peak");
    }

    if (r.sample_format && f.sample_formats.empty()) {
      return Error(ErrorCode::kBadOutputOption,
                   fmt::format("a sample format applies to wav, flac and pcm, not {}", f.name))
          .about("sample_format");
    }
    if ((r.bitrate || r.quality) && f.lossless) {
      return Error(ErrorCode::kBadOutputOption,
                   fmt::format("{} is lossless: it has no bitrate or quality to set", f.name))
          .about(r.bitrate ? "bitrate" : "quality");
    }

    // Copy or transcode.
    const bool can_copy = engine::copy_rule(f, src_id) != nullptr;
    std::vector<std::string> processing;
    if (r.sample_rate && *r.sample_rate != track.sample_rate) processing.push_back("resampling");
    if (r.channels && *r.channels != track.channels) processing.push_back("channel mixing");
    if (r.bitrate) processing.push_back("a bitrate");
    if (r.quality) processing.push_back("a quality setting");
    if (r.loudness) processing.push_back("loudness normalization");
    if (r.sample_format && engine::pcm_codec(*r.sample_format) != src_id && f.name != "flac") {
      processing.push_back("a sample format");
    }
    if (r.sample_format && f.name == "flac") processing.push_back("a sample format");

    if (r.copy_policy == CopyPolicy::kCopy) {
      if (!can_copy) {
        const auto names = engine::formats_that_copy(src_id);
        return Error(ErrorCode::kCannotCopy,
                     fmt::format("{} audio cannot be copied into .{}; use {} or re-encode",
                                 track.codec, f.extension,
                                 names.empty() ? std::string("mka")
                                               : fmt::format("{}", fmt::join(names, ", "))))
            .about("copy_policy", Hint::kReencode);
      }
      if (!processing.empty()) {
        return Error(ErrorCode::kCannotCopy,
                     fmt::format("a copy cannot apply {}; re-encode for that",
                                 fmt::join(processing, ", ")))
            .about("copy_policy", Hint::kReencode);
      }
      p.mode = Mode::kCopy;
      p.reason = has_range ? "copy as asked: the cut falls on packet boundaries"
                           : "copy as asked: the audio is not re-encoded";
    } else if (r.copy_policy == CopyPolicy::kReencode) {
      p.mode = Mode::kTranscode;
      p.reason = "re-encode as asked";
    } else if (!can_copy) {
      p.mode = Mode::kTranscode;
      p.reason = fmt::format("re-encode: .{} cannot carry {} audio", f.extension, track.codec);
      if (f.lossless && src != nullptr && (src->props & AV_CODEC_PROP_LOSSLESS) != 0 &&
          processing.empty()) {
        p.reason += "; losslessly, the very samples of the source";
      }
    } else if (!processing.empty() || has_range) {
      if (has_range) processing.insert(processing.begin(), "a sample-exact range cut");
      p.mode = Mode::kTranscode;
      p.reason = fmt::format(
          "re-encode: {} needs decoding (a copy would cut on packet boundaries, "
          "without re-encoding)",
          fmt::join(processing, " and "));
      if (!has_range) {
        p.reason = fmt::format("re-encode: {} needs decoding", fmt::join(processing, " and "));
      }
    } else {
      p.mode = Mode::kCopy;
      p.reason =
          fmt::format("copy: .{} carries {} as it is, no quality lost", f.extension, track.codec);
      if (track.delay > 0 && engine::keeps_delay(f, src_id) &&
          !engine::keeps_delay(engine::natural_format(src_id), src_id)) {
        p.reason += fmt::format(", with its {}-sample encoder delay (raw .{} cannot state it)",
                                track.delay, engine::natural_format(src_id).extension);
      }
    }
    if (p.mode == Mode::kCopy && track.delay > 0 && !engine::keeps_delay(f, src_id)) {
      // Copied without its delay, the audio plays late by that much against the video.
      p.reason += fmt::format(
          "; .{} cannot state the {}-sample encoder delay, so the audio plays {:.1f} ms late",
          f.extension, track.delay,
          1000.0 * static_cast<double>(track.delay) / std::max(track.sample_rate, 1));
      if (const auto& keeps = engine::natural_format(src_id, track.delay);
          engine::keeps_delay(keeps, src_id)) {
        p.reason += fmt::format(" (.{} keeps it)", keeps.extension);
      }
    }

    if (p.mode == Mode::kCopy) {
      p.codec = track.codec;
      p.sample_rate = track.sample_rate;
      p.channels = track.channels;
    } else {
      AVCodecID out_id = f.codec;
      if (!f.sample_formats.empty()) {
        p.sample_format = r.sample_format.value_or(sample_format_of_source(track));
        if (f.name != "flac") out_id = engine::pcm_codec(p.sample_format);
        // FLAC (as FFmpeg 5.1 writes it) holds integers of up to 24 bits: a deeper or float
        // source would lose bits, which a lossless format must not do silently.
        if (std::find(f.sample_formats.begin(), f.sample_formats.end(), p.sample_format) ==
            f.sample_formats.end()) {
          return Error(ErrorCode::kBadOutputOption,
                       fmt::format("{} holds integer samples of up to 24 bits, and {} would "
                                   "be {}; use wav for {}, or reduce them to 24 bits (s24)",
                                   f.name, r.sample_format ? p.sample_format + " samples"
                                                   : "this " + track.codec + " audio",
                                   p.sample_format == "f32" ? "rounded" : "truncated",
                                   p.sample_format == "f32" ? "float samples" : "32 bits"))
              .about("sample_format", Hint::kChange, "s24");
        }
      } else if (f.encoder == "flac") {
        // Matroska's FLAC: the source's depth, up to the 24 bits FLAC holds.
        p.sample_format = sample_format_of_source(track) == "s16" ? "s16" : "s24";
      }
      const AVCodec* enc = f.name == "flac" || f.sample_formats.empty()
                               ? avcodec_find_encoder_by_name(std::string(f.encoder).c_str())
                               : avcodec_find_encoder(out_id);
      if (enc == nullptr) {
        return Error{ErrorCode::kInternal,
                     fmt::format("this FFmpeg has no {} encoder; install Debian's full ffmpeg "
                                 "libraries",
                                 f.encoder)};
      }
      p.codec = avcodec_get_name(enc->id);
      auto rate =
          output_rate(enc, r.sample_rate.value_or(track.sample_rate), r.sample_rate.has_value());
      if (!rate) return rate.error();
      p.sample_rate = *rate;
      p.channels = r.channels.value_or(track.channels);
      const int max_channels = enc->id == AV_CODEC_ID_MP3 ? 2 : 8;
      if (p.channels > max_channels) {
        if (r.channels) {
          return Error(ErrorCode::kBadOutputOption,
                       fmt::format("{} holds at most {} channels", f.name, max_channels))
              .about("channels", Hint::kChange, std::to_string(max_channels));
        }
        p.channels = max_channels;
        p.reason += fmt::format("; down-mixed to stereo ({} holds at most 2 channels)", f.name);
      }
      if (r.quality && enc->id != AV_CODEC_ID_MP3 && enc->id != AV_CODEC_ID_VORBIS) {
        return Error(ErrorCode::kBadOutputOption,
                     fmt::format("a quality setting applies to mp3 and ogg (Vorbis); set a bitrate "
                                 "for {}",
                                 f.name))
            .about("quality", Hint::kChange);
      }
      auto settings = engine::encoder_settings(*enc, f.name, p.sample_rate, p.channels, r.bitrate,
                                               r.quality, f.default_bitrate);
      if (!settings) return settings.error();
      p.bitrate = settings->bitrate;
      p.quality = settings->quality;
    }

    // Output name.
    if (!r.output.empty()) {
      p.output = r.output;
    } else {
      const std::string tmpl = !r.name_template.empty() ? r.name_template
                               : r.track.all            ? "{stem}.{track}.{lang}.{ext}"
                                                        : "{stem}.{ext}";
      const fs::path dir =
          !r.out_dir.empty() ? fs::path(r.out_dir) : fs::path(info.path).parent_path();
      p.output = (dir / render_name(tmpl, info.path, track, f)).string();
      // Fields from the file are safe components; the template itself may name subfolders,
      // but none outside the folder (run() checks it again with links resolved).
      if (!engine::stays_inside(dir.string(), p.output)) {
        return Error(ErrorCode::kUsage,
                     fmt::format("the name template '{}' puts track {} of {} at {}, outside the "
                                 "output folder {}; name files inside the folder",
                                 tmpl, track.number, info.path, p.output,
                                 dir.empty() ? "." : dir.string()))
            .about("name_template");
      }
      p.folder = dir.empty() ? "." : dir.string();
    }
    plans.push_back(std::move(p));
  }
  return plans;
}

std::string explain(const OutputPlan& p) {
  std::string range = "the whole file";
  if (p.from > 0 || p.to) {
    range = fmt::format("{} to {}", format_time(p.from), p.to ? format_time(*p.to) : "the end");
  }
  std::string s = fmt::format("{} -> {}\n  {}\n  {}; {}\n", p.input, p.output, p.reason,
                              describe_track(p.track), range);
  if (p.mode == Mode::kTranscode) {
    s += fmt::format("  encode {} {} Hz, {} channel(s)", p.codec, p.sample_rate, p.channels);
    if (p.bitrate) s += fmt::format(", {} kbit/s", *p.bitrate / 1000);
    if (p.quality) s += fmt::format(", quality {}", *p.quality);
    if (!p.sample_format.empty()) s += fmt::format(", {} samples", p.sample_format);
    s += "\n";
    if (p.loudness) {
      s += fmt::format(
          "  normalize the loudness to {} LUFS, peaks under {} dBTP: the whole track is measured "
          "first, then re-encoded with one gain (lowered only around peaks that would pass the "
          "ceiling)\n",
          p.loudness->lufs, p.loudness->true_peak);
    }
  }
  return s;
}

namespace {

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789-_./:=+,") == std::string::npos) {
    return s;
  }
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string seconds(Micros t) {
  std::string s = fmt::format("{:.6f}", to_seconds(t));
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

AVCodecID output_codec(const OutputPlan& p) {
  const AVCodecDescriptor* d = avcodec_descriptor_get_by_name(p.codec.c_str());
  return d != nullptr ? d->id : AV_CODEC_ID_NONE;
}

// 192000 -> "192k"; a rate that is not whole kbit/s as it is.
std::string bitrate_arg(int64_t bps) {
  return bps % 1000 == 0 ? fmt::format("{}k", bps / 1000) : std::to_string(bps);
}

// One ffmpeg command, in ffmpeg's words: what both ffmpeg_command()s fill in.
struct FfmpegJob {
  std::string input;
  std::string output;
  bool overwrite = false;
  std::optional<Micros> from_end;  // -sseof
  Micros from = 0;
  std::optional<Micros> to;
  std::optional<Micros> duration;
  std::string map;  // "0:1", "0:a:0", "0:a"
  bool keep_metadata = true;
  std::string encoder = "copy";
  std::optional<std::string> sample_format;  // with its bit depth, for FLAC's 24 bits in 32
  std::optional<int64_t> bitrate;
  std::optional<double> quality;
  std::optional<int> sample_rate;
  std::optional<int> channels;
  std::optional<LoudnessTarget> loudness;
  int native_rate = 0;  // the source's rate, where known
  std::string muxer;
};

std::string command_line(const FfmpegJob& j) {
  std::vector<std::string> a = {"ffmpeg", "-hide_banner", j.overwrite ? "-y" : "-n"};
  if (j.from_end) a.insert(a.end(), {"-sseof", "-" + seconds(*j.from_end)});
  a.insert(a.end(), {"-i", j.input});
  // Output-side -ss/-to decode from the start: slower, but sample-accurate like peel.
  if (j.from > 0) a.insert(a.end(), {"-ss", seconds(j.from)});
  if (j.to) a.insert(a.end(), {"-to", seconds(*j.to)});
  if (j.duration) a.insert(a.end(), {"-t", seconds(*j.duration)});
  a.insert(a.end(), {"-map", j.map, "-vn", "-sn", "-dn"});
  if (!j.keep_metadata) a.insert(a.end(), {"-map_metadata", "-1", "-map_chapters", "-1"});
  a.insert(a.end(), {"-c:a", j.encoder});
  if (j.encoder == "flac" && j.sample_format == "s24") {
    a.insert(a.end(), {"-sample_fmt", "s32", "-bits_per_raw_sample", "24"});
  }
  if (j.bitrate) a.insert(a.end(), {"-b:a", bitrate_arg(*j.bitrate)});
  if (j.quality) a.insert(a.end(), {"-q:a", fmt::format("{}", *j.quality)});
  if (j.sample_rate) a.insert(a.end(), {"-ar", std::to_string(*j.sample_rate)});
  if (j.channels) a.insert(a.end(), {"-ac", std::to_string(*j.channels)});
  if (j.loudness) {
    // ffmpeg's one-pass loudnorm is the nearest: dynamic where peel's is a measured linear
    // gain, and it works at 192 kHz (hence -ar, where no rate was given).
    a.insert(a.end(), {"-af", fmt::format("loudnorm=I={}:TP={}", j.loudness->lufs,
                                          j.loudness->true_peak)});
    if (!j.sample_rate && j.native_rate > 0) {
      a.insert(a.end(), {"-ar", std::to_string(j.native_rate)});
    }
  }
  if (!j.muxer.empty()) a.insert(a.end(), {"-f", j.muxer});
  a.push_back(j.output);
  return shell_command(a);
}

// The encoder of `format`, for samples of `sample_format` where the format takes one.
std::string encoder_name(const FormatSpec& f, const std::string& sample_format) {
  if (!f.sample_formats.empty() && f.name != "flac" && !sample_format.empty()) {
    if (const AVCodec* enc = avcodec_find_encoder(engine::pcm_codec(sample_format))) {
      return enc->name;
    }
  }
  return std::string(f.encoder);
}

// The muxer of a raw PCM output, which names the sample format.
std::string pcm_muxer(const std::string& sample_format) {
  return std::string(
      engine::raw_muxer(engine::pcm_codec(sample_format.empty() ? "s16" : sample_format)));
}

}  // namespace

std::string ffmpeg_command(const OutputPlan& p) {
  FfmpegJob j;
  j.input = p.input;
  j.output = p.output;
  j.overwrite = p.overwrite;
  j.from = p.from;
  j.to = p.to;
  j.map = fmt::format("0:{}", p.track.stream_index);
  j.keep_metadata = p.keep_metadata;
  const FormatSpec* f = engine::find_format(p.format);
  if (p.mode == Mode::kTranscode && f != nullptr) {
    j.encoder = encoder_name(*f, p.sample_format);
    if (!p.sample_format.empty()) j.sample_format = p.sample_format;
    j.bitrate = p.bitrate;
    j.quality = p.quality;
    if (p.sample_rate != p.track.sample_rate) j.sample_rate = p.sample_rate;
    if (p.channels != p.track.channels) j.channels = p.channels;
    j.loudness = p.loudness;
    j.native_rate = p.sample_rate;
  }
  if (f != nullptr) {
    j.muxer = p.format == "pcm" ? pcm_muxer(p.sample_format)
                                : std::string(engine::muxer_for(*f, output_codec(p)));
  }
  return command_line(j);
}

std::string ffmpeg_command(const Request& r, const std::string& input,
                           std::optional<Micros> from_end) {
  FfmpegJob j;
  j.input = input;
  j.overwrite = r.overwrite;
  j.from_end = from_end;
  j.from = r.from.value_or(0);
  j.to = r.to;
  j.duration = r.duration;
  j.map = r.track.all            ? std::string("0:a")
          : r.track.number       ? fmt::format("0:a:{}", *r.track.number - 1)
          : r.track.lang         ? fmt::format("0:a:m:language:{}", *r.track.lang)
                                 : std::string("0:a:0");
  j.keep_metadata = r.keep_metadata;
  // `auto` goes where any codec goes by copy (the file decides where plan() would put it).
  const FormatSpec* f = engine::find_format(r.format);
  if (f == nullptr) f = engine::find_format("mka");
  const std::string sample_format = r.sample_format.value_or("");
  const bool copy = r.copy_policy == CopyPolicy::kCopy ||
                    (r.copy_policy == CopyPolicy::kAuto && r.format == "auto");
  if (!copy) {
    j.encoder = encoder_name(*f, sample_format);
    j.sample_format = r.sample_format;
    // The format's own bitrate unless told otherwise, as plan() chooses it.
    j.bitrate = r.bitrate;
    if (!r.bitrate && !r.quality && f->default_bitrate > 0) j.bitrate = f->default_bitrate;
    j.quality = r.quality;
    j.sample_rate = r.sample_rate;
    j.channels = r.channels;
    j.loudness = r.loudness;
  }
  j.muxer = f->name == "pcm" ? pcm_muxer(sample_format) : std::string(f->muxer);
  if (!r.output.empty()) {
    j.output = r.output;
  } else {
    const fs::path in(input);
    const fs::path dir = r.out_dir.empty() ? in.parent_path() : fs::path(r.out_dir);
    j.output = (dir / (in.stem().string() + "." + std::string(f->extension))).string();
  }
  return command_line(j);
}

std::vector<std::string> peel_arguments(const Request& r) {
  std::vector<std::string> a = r.inputs;
  if (!r.output.empty()) a.insert(a.end(), {"-o", r.output});
  if (!r.out_dir.empty()) a.insert(a.end(), {"-d", r.out_dir});
  if (!r.name_template.empty()) a.insert(a.end(), {"--name", r.name_template});
  if (r.format != "auto") a.insert(a.end(), {"-f", r.format});
  if (r.copy_policy == CopyPolicy::kCopy) a.emplace_back("--copy");
  if (r.copy_policy == CopyPolicy::kReencode) a.emplace_back("--reencode");
  if (r.from) a.insert(a.end(), {"--from", seconds(*r.from)});
  if (r.to) a.insert(a.end(), {"--to", seconds(*r.to)});
  if (r.duration) a.insert(a.end(), {"--duration", seconds(*r.duration)});
  if (r.track.number) a.insert(a.end(), {"--track", std::to_string(*r.track.number)});
  if (r.track.lang) a.insert(a.end(), {"--lang", *r.track.lang});
  if (r.track.title) a.insert(a.end(), {"--title", *r.track.title});
  if (r.track.all) a.emplace_back("--all-tracks");
  if (r.bitrate) a.insert(a.end(), {"-b", bitrate_arg(*r.bitrate)});
  if (r.quality) a.insert(a.end(), {"--quality", fmt::format("{}", *r.quality)});
  if (r.sample_rate) a.insert(a.end(), {"--sample-rate", std::to_string(*r.sample_rate)});
  if (r.channels) a.insert(a.end(), {"--channels", std::to_string(*r.channels)});
  if (r.sample_format) a.insert(a.end(), {"--sample-format", *r.sample_format});
  if (r.loudness) {
    std::string said = fmt::format("{}", r.loudness->lufs);
    for (const char* preset : {"podcast", "broadcast", "music"}) {
      auto t = parse_loudness(preset);
      if (t && t->lufs == r.loudness->lufs && t->true_peak == r.loudness->true_peak) said = preset;
    }
    a.insert(a.end(), {"--loudness", said});
    if (said.front() == '-' && r.loudness->true_peak != LoudnessTarget{}.true_peak) {
      a.insert(a.end(), {"--true-peak", fmt::format("{}", r.loudness->true_peak)});
    }
  }
  if (!r.keep_metadata) a.emplace_back("--no-metadata");
  if (r.overwrite) a.emplace_back("-y");
  if (r.strict) a.emplace_back("--strict");
  return a;
}

Result<LoudnessTarget> parse_loudness(std::string_view text) {
  std::string t(text);
  for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t.ends_with("lufs")) t.resize(t.size() - 4);
  while (!t.empty() && t.back() == ' ') t.pop_back();
  if (t == "podcast") return LoudnessTarget{-16, -1};
  if (t == "broadcast" || t == "ebu" || t == "r128") return LoudnessTarget{-23, -1};
  if (t == "music" || t == "streaming") return LoudnessTarget{-14, -1};
  char* end = nullptr;
  const double lufs = std::strtod(t.c_str(), &end);
  if (t.empty() || end == nullptr || *end != '\0' || !std::isfinite(lufs)) {
    return Error(ErrorCode::kUsage,
                 fmt::format("'{}' is not a loudness target: give LUFS (-16) or podcast (-16), "
                             "broadcast (-23) or music (-14)",
                             text))
        .about("loudness");
  }
  // "16" means -16: loudness targets are below full scale.
  return LoudnessTarget{lufs > 0 ? -lufs : lufs, -1};
}

std::string shell_command(const std::vector<std::string>& argv) {
  std::string cmd;
  for (const auto& w : argv) cmd += (cmd.empty() ? "" : " ") + shell_quote(w);
  return cmd;
}

}  // namespace peel
