// The output format table and its look-ups.
#include "engine/format_table.h"

#include <algorithm>

#include "peel/formats.h"

extern "C" {
#include <libavcodec/avcodec.h>
}

namespace peel::engine {

namespace {

const std::vector<CopyRule> kPcmCopy = {
    {AV_CODEC_ID_PCM_S16LE}, {AV_CODEC_ID_PCM_S24LE}, {AV_CODEC_ID_PCM_S32LE},
    {AV_CODEC_ID_PCM_F32LE}, {AV_CODEC_ID_PCM_U8},    {AV_CODEC_ID_PCM_F64LE},
};
const std::vector<std::string_view> kPcmSampleFormats = {"s16", "s24", "s32", "f32"};

std::vector<FormatSpec> build_table() {
  std::vector<FormatSpec> t;
  t.push_back({.name = "mp3",
               .extension = "mp3",
               .muxer = "mp3",
               .description = "MP3 (MPEG audio layer 3), plays everywhere",
               .codec = AV_CODEC_ID_MP3,
               .encoder = "libmp3lame",
               .copy = {{.codec = AV_CODEC_ID_MP3, .keeps_delay = true}},
               .tags = true,
               .default_bitrate = 192'000});
  t.push_back({.name = "aac",
               .extension = "aac",
               .muxer = "adts",
               .description = "raw AAC in ADTS frames (no gapless information)",
               .codec = AV_CODEC_ID_AAC,
               .encoder = "aac",
               .copy = {{.codec = AV_CODEC_ID_AAC, .bsf = "aac_adtstoasc"}},
               .default_bitrate = 192'000});
  t.push_back({.name = "m4a",
               .extension = "m4a",
               .muxer = "ipod",
               .description = "AAC or ALAC in an MPEG-4 audio file, gapless",
               .codec = AV_CODEC_ID_AAC,
               .encoder = "aac",
               // iTunes' muxer takes AAC and ALAC; the plain MP4 muxer takes Dolby's codecs.
               .copy = {{.codec = AV_CODEC_ID_AAC, .bsf = "aac_adtstoasc", .keeps_delay = true},
                        {.codec = AV_CODEC_ID_ALAC},
                        {.codec = AV_CODEC_ID_AC3, .muxer = "mp4", .keeps_delay = true},
                        {.codec = AV_CODEC_ID_EAC3, .muxer = "mp4", .keeps_delay = true}},
               .tags = true,
               .chapters = true,
               .default_bitrate = 192'000});
  t.push_back({.name = "flac",
               .extension = "flac",
               .muxer = "flac",
               .description = "FLAC, lossless and compressed",
               .codec = AV_CODEC_ID_FLAC,
               .encoder = "flac",
               .copy = {{.codec = AV_CODEC_ID_FLAC}},
               .tags = true,
               .lossless = true,
               .sample_formats = {"s16", "s24"}});
  t.push_back({.name = "wav",
               .extension = "wav",
               .muxer = "wav",
               .description = "WAV, uncompressed PCM",
               .codec = AV_CODEC_ID_PCM_S16LE,
               .encoder = "pcm_s16le",
               .copy = kPcmCopy,
               .tags = true,
               .lossless = true,
               .sample_formats = kPcmSampleFormats});
  t.push_back({.name = "opus",
               .extension = "opus",
               .muxer = "opus",
               .description = "Opus in Ogg, small and good for speech and music",
               .codec = AV_CODEC_ID_OPUS,
               .encoder = "libopus",
               .copy = {{.codec = AV_CODEC_ID_OPUS, .keeps_delay = true}},
               .tags = true,
               .default_bitrate = 128'000});
  t.push_back({.name = "ogg",
               .extension = "ogg",
               .muxer = "ogg",
               .description = "Ogg Vorbis (also carries Opus and FLAC by copy)",
               .codec = AV_CODEC_ID_VORBIS,
               .encoder = "libvorbis",
               .copy = {{.codec = AV_CODEC_ID_VORBIS},
                        {.codec = AV_CODEC_ID_OPUS, .keeps_delay = true},
                        {.codec = AV_CODEC_ID_FLAC}},
               .tags = true,
               .default_bitrate = 160'000});
  t.push_back({.name = "mka",
               .extension = "mka",
               .muxer = "matroska",
               .description = "Matroska audio, carries any codec by copy",
               .codec = AV_CODEC_ID_FLAC,
               .encoder = "flac",
               // FFmpeg 5.1 writes Matroska's CodecDelay for Opus only.
               .copy = {{.codec = AV_CODEC_ID_AAC, .bsf = "aac_adtstoasc"},
                        {.codec = AV_CODEC_ID_OPUS, .keeps_delay = true}},
               .copy_any = true,
               .tags = true,
               .chapters = true});
  t.push_back({.name = "pcm",
               .extension = "pcm",
               .muxer = "",
               .description = "raw PCM samples, no header (s16le unless another sample format is asked for)",
               .codec = AV_CODEC_ID_PCM_S16LE,
               .encoder = "pcm_s16le",
               .copy = kPcmCopy,
               .lossless = true,
               .sample_formats = kPcmSampleFormats});
  t.push_back({.name = "ac3",
               .extension = "ac3",
               .muxer = "ac3",
               .description = "Dolby Digital, raw (reached through auto)",
               .codec = AV_CODEC_ID_AC3,
               .encoder = "ac3",
               .copy = {{.codec = AV_CODEC_ID_AC3}},
               .selectable = false,
               .default_bitrate = 448'000});
  t.push_back({.name = "eac3",
               .extension = "eac3",
               .muxer = "eac3",
               .description = "Dolby Digital Plus, raw (reached through auto)",
               .codec = AV_CODEC_ID_EAC3,
               .encoder = "eac3",
               .copy = {{.codec = AV_CODEC_ID_EAC3}},
               .selectable = false,
               .default_bitrate = 640'000});
  return t;
}

const FormatSpec& natural_home(AVCodecID codec);

bool is_pcm(AVCodecID codec) {
  return codec >= AV_CODEC_ID_FIRST_AUDIO && codec < AV_CODEC_ID_ADPCM_IMA_QT;
}

}  // namespace

const std::vector<FormatSpec>& format_table() {
  static const std::vector<FormatSpec> table = build_table();
  return table;
}

const FormatSpec* find_format(std::string_view name) {
  for (const auto& f : format_table()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const FormatSpec* format_for_extension(std::string_view extension) {
  std::string ext(extension);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (ext == "raw") ext = "pcm";
  if (ext == "oga") ext = "ogg";
  if (ext == "mp4") ext = "m4a";
  if (ext == "adts") ext = "aac";
  for (const auto& f : format_table()) {
    if (f.extension == ext) return &f;
  }
  return nullptr;
}

const FormatSpec& natural_format(AVCodecID codec, int64_t delay) {
  const FormatSpec& natural = natural_home(codec);
  if (delay <= 0 || keeps_delay(natural, codec)) return natural;
  for (const auto& f : format_table()) {
    if (keeps_delay(f, codec)) return f;
  }
  return natural;
}

bool keeps_delay(const FormatSpec& format, AVCodecID codec) {
  const CopyRule* rule = copy_rule(format, codec);
  return rule != nullptr && rule->keeps_delay;
}

std::string_view muxer_for(const FormatSpec& format, AVCodecID codec) {
  const CopyRule* rule = copy_rule(format, codec);
  return rule != nullptr && rule->muxer != nullptr ? std::string_view(rule->muxer) : format.muxer;
}

namespace {

const FormatSpec& natural_home(AVCodecID codec) {
  const char* name = "mka";
  switch (codec) {
    case AV_CODEC_ID_AAC:
      name = "m4a";
      break;
    case AV_CODEC_ID_ALAC:
      name = "m4a";
      break;
    case AV_CODEC_ID_MP3:
      name = "mp3";
      break;
    case AV_CODEC_ID_OPUS:
      name = "opus";
      break;
    case AV_CODEC_ID_VORBIS:
      name = "ogg";
      break;
    case AV_CODEC_ID_FLAC:
      name = "flac";
      break;
    case AV_CODEC_ID_AC3:
      name = "ac3";
      break;
    case AV_CODEC_ID_EAC3:
      name = "eac3";
      break;
    default:
      name = is_pcm(codec) ? "wav" : "mka";
      break;
  }
  return *find_format(name);
}

}  // namespace

const CopyRule* copy_rule(const FormatSpec& format, AVCodecID codec) {
  for (const auto& rule : format.copy) {
    if (rule.codec == codec) return &rule;
  }
  if (format.copy_any) {
    static const CopyRule any{AV_CODEC_ID_NONE, nullptr};
    return &any;
  }
  return nullptr;
}

std::vector<std::string> formats_that_copy(AVCodecID codec) {
  std::vector<std::string> names;
  for (const auto& f : format_table()) {
    if (f.selectable && copy_rule(f, codec) != nullptr) names.emplace_back(f.name);
  }
  return names;
}

AVCodecID pcm_codec(std::string_view sample_format) {
  if (sample_format == "s16") return AV_CODEC_ID_PCM_S16LE;
  if (sample_format == "s24") return AV_CODEC_ID_PCM_S24LE;
  if (sample_format == "s32") return AV_CODEC_ID_PCM_S32LE;
  if (sample_format == "f32") return AV_CODEC_ID_PCM_F32LE;
  return AV_CODEC_ID_NONE;
}

std::string_view raw_muxer(AVCodecID codec) {
  switch (codec) {
    case AV_CODEC_ID_PCM_S24LE:
      return "s24le";
    case AV_CODEC_ID_PCM_S32LE:
      return "s32le";
    case AV_CODEC_ID_PCM_F32LE:
      return "f32le";
    case AV_CODEC_ID_PCM_F64LE:
      return "f64le";
    case AV_CODEC_ID_PCM_U8:
      return "u8";
    default:
      return "s16le";
  }
}

}  // namespace peel::engine

namespace peel {

std::vector<FormatView> formats() {
  std::vector<FormatView> out;
  for (const auto& f : engine::format_table()) {
    FormatView v;
    v.name = f.name;
    v.extension = f.extension;
    v.description = f.description;
    v.codec = avcodec_get_name(f.codec);
    if (f.copy_any) v.copyable.emplace_back("*");
    for (const auto& rule : f.copy) {
      if (!f.copy_any) v.copyable.emplace_back(avcodec_get_name(rule.codec));
    }
    v.tags = f.tags;
    v.chapters = f.chapters;
    v.lossless = f.lossless;
    v.sample_formats.assign(f.sample_formats.begin(), f.sample_formats.end());
    v.bitrate = f.default_bitrate;
    v.selectable = f.selectable;
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace peel
