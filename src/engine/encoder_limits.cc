// The bitrates and qualities each lossy encoder honours.
#include "engine/encoder_limits.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>

extern "C" {
#include <libavcodec/avcodec.h>
}

namespace peel::engine {

namespace {

std::vector<int64_t> kbits(std::initializer_list<int> values) {
  std::vector<int64_t> v;
  for (int k : values) v.push_back(int64_t{k} * 1000);
  return v;
}

std::string_view label(const AVCodec& encoder) {
  const std::string_view name = encoder.name;
  if (name == "libmp3lame") return "MP3 (LAME)";
  if (name == "aac") return "AAC";
  if (name == "libopus") return "Opus";
  if (name == "libvorbis") return "Vorbis";
  if (name == "ac3") return "AC-3";
  if (name == "eac3") return "E-AC-3";
  return name;
}

// Whether libvorbis sets itself up for these settings: its tables of bitrates and qualities
// depend on the rate and the channel count, and nothing outside it tells which it has.
bool vorbis_accepts(const AVCodec& encoder, int sample_rate, int channels,
                    std::optional<int64_t> bitrate, std::optional<double> quality) {
  AVCodecContext* c = avcodec_alloc_context3(&encoder);
  if (c == nullptr) return false;
  c->sample_rate = sample_rate;
  c->sample_fmt = encoder.sample_fmts != nullptr ? encoder.sample_fmts[0] : AV_SAMPLE_FMT_FLTP;
  av_channel_layout_default(&c->ch_layout, channels);
  c->time_base = AVRational{1, sample_rate};
  if (bitrate) c->bit_rate = *bitrate;
  if (quality) {
    c->flags |= AV_CODEC_FLAG_QSCALE;
    c->global_quality = static_cast<int>(*quality * FF_QP2LAMBDA);
  }
  const bool ok = avcodec_open2(c, &encoder, nullptr) >= 0;
  avcodec_free_context(&c);
  return ok;
}

// libvorbis takes one span of bitrates for a rate and channel count: found to the kbit/s by
// bisection from one bitrate it takes (some 25 set-ups of a millisecond or so, done only to
// explain a refusal or to move a default).
std::optional<BitrateRange> vorbis_range(const AVCodec& encoder, int sample_rate, int channels) {
  auto accepts = [&](int64_t kbits) {
    return vorbis_accepts(encoder, sample_rate, channels, kbits * 1000, std::nullopt);
  };
  int64_t inside = 0;
  for (int64_t per_channel : {64, 32, 96, 16, 128, 8, 192}) {
    if (accepts(per_channel * channels)) {
      inside = per_channel * channels;
      break;
    }
  }
  if (inside == 0) return std::nullopt;
  int64_t lo = 0, hi = inside;  // lo refused (or nothing), hi taken
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    (accepts(mid) ? hi : lo) = mid;
  }
  BitrateRange range;
  range.min = hi * 1000;
  lo = inside;
  hi = 10'000;  // kbit/s: beyond any bitrate -b takes
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    (accepts(mid) ? lo : hi) = mid;
  }
  range.max = lo * 1000;
  return range;
}

std::string kbit(int64_t bits) { return fmt::format("{:g}", static_cast<double>(bits) / 1000); }

std::string describe(const BitrateRange& r) {
  if (r.steps.empty()) return fmt::format("{} to {} kbit/s", kbit(r.min), kbit(r.max));
  std::string s;
  for (size_t i = 0; i < r.steps.size(); ++i) {
    s += i == 0 ? "" : i + 1 == r.steps.size() ? " or " : ", ";
    s += kbit(r.steps[i]);
  }
  return s + " kbit/s";
}

bool honours(const BitrateRange& r, int64_t bitrate) {
  if (!r.steps.empty()) return std::find(r.steps.begin(), r.steps.end(), bitrate) != r.steps.end();
  return bitrate >= r.min && bitrate <= r.max;
}

int64_t nearest(const BitrateRange& r, int64_t bitrate) {
  if (r.steps.empty()) return std::clamp(bitrate, r.min, r.max);
  int64_t best = r.steps.front();
  for (int64_t s : r.steps) {
    if (std::llabs(s - bitrate) < std::llabs(best - bitrate)) best = s;
  }
  return best;
}

}  // namespace

std::optional<BitrateRange> bitrate_range(const AVCodec& encoder, int sample_rate, int channels) {
  const std::string_view name = encoder.name;
  const int64_t ch = std::max(1, channels);
  BitrateRange r;
  if (name == "libmp3lame") {
    // An MP3 frame's bitrate is one of a table per MPEG version, which the rate decides; LAME
    // takes the nearest for any other.
    r.steps = sample_rate >= 32000
                  ? kbits({32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320})
              : sample_rate >= 16000
                  ? kbits({8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160})
                  : kbits({8, 16, 24, 32, 40, 48, 56, 64});
  } else if (name == "aac") {
    // FFmpeg's encoder spends at most about 4 bits per sample and channel, even on white
    // noise (its hard limit is 6); below about 16 kbit/s per channel it spends more than asked.
    r.min = 16'000 * ch;
    r.max = 4 * int64_t{sample_rate} * ch;
  } else if (name == "libopus") {
    // libopus goes no lower than about 6 kbit/s per channel; FFmpeg refuses more than 256.
    r.min = 6'000 * ch;
    r.max = 256'000 * ch;
  } else if (name == "libvorbis") {
    return vorbis_range(encoder, sample_rate, channels);
  } else if (name == "ac3") {
    // AC-3's frame table (the encoder takes 32, 44.1 and 48 kHz, all on the same table); with
    // many channels the lowest ones leave too few bits to allocate.
    const int64_t floor = std::max<int64_t>(32'000, 10'000 * ch);
    for (int64_t s : kbits({32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448,
                            512, 576, 640})) {
      if (s >= floor) r.steps.push_back(s);
    }
  } else if (name == "eac3") {
    // E-AC-3 takes any bitrate up to 128 bits a sample (FFmpeg's limit), rounded down to
    // whole 16-bit words a frame; below about 12 kbit/s per channel bit allocation fails.
    r.min = std::max<int64_t>(32'000, 12'000 * ch);
    r.max = 128 * int64_t{sample_rate};
  } else {
    return std::nullopt;
  }
  if (!r.steps.empty()) {
    r.min = r.steps.front();
    r.max = r.steps.back();
  }
  return r;
}

Result<EncoderSettings> encoder_settings(const AVCodec& encoder, std::string_view format,
                                         int sample_rate, int channels,
                                         std::optional<int64_t> bitrate,
                                         std::optional<double> quality, int64_t default_bitrate) {
  if (bitrate && quality) {
    return Error(ErrorCode::kUsage,
                 "give a bitrate or a quality, not both: one sets the bitrate, the other a "
                 "quality the bitrate follows")
        .about("bitrate", Hint::kOneOf)
        .and_about("quality");
  }
  const AVCodecDescriptor* d = avcodec_descriptor_get(encoder.id);
  if (d != nullptr && (d->props & AV_CODEC_PROP_LOSSLESS) != 0) {
    if (bitrate || quality) {
      return Error{ErrorCode::kBadOutputOption,
                   fmt::format("{} transcodes to {}, which is lossless: it has no bitrate or "
                               "quality to set",
                               format, d->name)};
    }
    return EncoderSettings{};
  }
  const std::string_view name = encoder.name;
  if (quality) {
    // LAME's -V and Vorbis's -q (plan() takes a quality for no other encoder); both encoders
    // quietly clamp what lies beyond.
    const bool lame = name == "libmp3lame";
    const double lo = lame ? 0 : -1;
    const double hi = lame ? 9.999 : 10;
    if (!(*quality >= lo && *quality <= hi)) {
      return Error(ErrorCode::kBadOutputOption,
                   fmt::format("quality {:g} is outside what {} takes: {:g} to {:g} ({} best)",
                               *quality, label(encoder), lo, hi, lame ? "0" : "10"))
          .about("quality")
          .given(fmt::format("{:g}", *quality));
    }
    if (name == "libvorbis" && !vorbis_accepts(encoder, sample_rate, channels, {}, quality)) {
      const bool some_bitrate = vorbis_range(encoder, sample_rate, channels).has_value();
      Error e(ErrorCode::kBadOutputOption,
              fmt::format("Vorbis has no setting for quality {:g} at {} Hz with {} channel{}; {}",
                          *quality, sample_rate, channels, channels == 1 ? "" : "s",
                          some_bitrate ? "set a bitrate instead"
                                       : "resample to 48000 Hz or choose another format"));
      return some_bitrate ? std::move(e).about("bitrate", Hint::kChange)
                          : std::move(e).about("sample_rate", Hint::kChange, "48000");
    }
    return EncoderSettings{std::nullopt, quality};
  }
  const int64_t wanted = bitrate ? *bitrate : default_bitrate;
  if (wanted <= 0) return EncoderSettings{};
  // One set-up of libvorbis answers for a bitrate it takes; the whole range only for the rest.
  if (name == "libvorbis" && vorbis_accepts(encoder, sample_rate, channels, wanted, {})) {
    return EncoderSettings{wanted, std::nullopt};
  }
  const auto range = bitrate_range(encoder, sample_rate, channels);
  if (!range) {
    if (name == "libvorbis") {  // not even the default: the run would fail
      return Error(ErrorCode::kBadOutputOption,
                   fmt::format("Vorbis takes no bitrate at {} Hz with {} channel{}; resample "
                               "to 48000 Hz or choose another format",
                               sample_rate, channels, channels == 1 ? "" : "s"))
          .about("sample_rate", Hint::kChange, "48000");
    }
    return EncoderSettings{wanted, std::nullopt};
  }
  if (honours(*range, wanted)) return EncoderSettings{wanted, std::nullopt};
  if (!bitrate) return EncoderSettings{nearest(*range, wanted), std::nullopt};
  return Error(ErrorCode::kBadOutputOption,
               fmt::format("{} cannot encode at {} kbit/s: with {} channel{} at {} Hz it takes "
                           "{}; choose {}, or leave the bitrate out for the default",
                           label(encoder), kbit(*bitrate), channels, channels == 1 ? "" : "s",
                           sample_rate, describe(*range),
                           range->steps.empty() ? "a bitrate in that range" : "one of those"))
      .about("bitrate", Hint::kChange);
}

}  // namespace peel::engine
