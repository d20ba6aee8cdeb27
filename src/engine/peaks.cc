// peaks(): min/max per pixel over a track's 16-bit samples; audiowaveform's data formats.
#include "peel/peaks.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>

#include "engine/atomic_file.h"
#include "engine/decode.h"

namespace peel {

namespace {

constexpr int kMinSamplesPerPixel = 2;  // audiowaveform's minimum zoom

// Min and max of each run of `spp` samples, channels mixed or split. Samples past `limit`
// (the track's stated end) are left out.
class PeakAccumulator {
 public:
  PeakAccumulator(int channels, bool split, int spp, int64_t limit)
      : in_channels_(channels),
        out_channels_(split ? channels : 1),
        spp_(spp),
        limit_(limit),
        lo_(static_cast<size_t>(out_channels_)),
        hi_(static_cast<size_t>(out_channels_)) {
    reset();
  }

  void add(const int16_t* s, int count) {
    if (limit_ >= 0) count = static_cast<int>(std::min<int64_t>(count, limit_ - taken_));
    if (count <= 0) return;
    taken_ += count;
    while (count > 0) {
      const int n = std::min(count, spp_ - filled_);
      if (out_channels_ > 1) {
        split(s, n);
      } else {
        switch (in_channels_) {
          case 1:
            mix<1>(s, n);
            break;
          case 2:
            mix<2>(s, n);
            break;
          case 6:
            mix<6>(s, n);
            break;
          default:
            mix_any(s, n);
            break;
        }
      }
      s += static_cast<ptrdiff_t>(n) * in_channels_;
      count -= n;
      filled_ += n;
      if (filled_ == spp_) flush();
    }
  }

  // The last, partial pixel.
  void finish() {
    if (filled_ > 0) flush();
  }

  std::vector<int16_t>& data() { return data_; }
  int64_t taken() const { return taken_; }

 private:
  template <int C>
  void mix(const int16_t* s, int n) {
    int lo = lo_[0];
    int hi = hi_[0];
    for (int i = 0; i < n; ++i) {
      int sum = 0;
      for (int c = 0; c < C; ++c) sum += s[i * C + c];
      const int v = sum / C;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    lo_[0] = lo;
    hi_[0] = hi;
  }

  void mix_any(const int16_t* s, int n) {
    for (int i = 0; i < n; ++i) {
      int sum = 0;
      for (int c = 0; c < in_channels_; ++c) sum += s[i * in_channels_ + c];
      const int v = sum / in_channels_;
      lo_[0] = std::min(lo_[0], v);
      hi_[0] = std::max(hi_[0], v);
    }
  }

  void split(const int16_t* s, int n) {
    for (int i = 0; i < n; ++i) {
      for (int c = 0; c < in_channels_; ++c) {
        const int v = s[i * in_channels_ + c];
        lo_[static_cast<size_t>(c)] = std::min(lo_[static_cast<size_t>(c)], v);
        hi_[static_cast<size_t>(c)] = std::max(hi_[static_cast<size_t>(c)], v);
      }
    }
  }

  void flush() {
    for (size_t c = 0; c < lo_.size(); ++c) {
      data_.push_back(static_cast<int16_t>(lo_[c]));
      data_.push_back(static_cast<int16_t>(hi_[c]));
    }
    reset();
  }

  void reset() {
    std::fill(lo_.begin(), lo_.end(), std::numeric_limits<int16_t>::max());
    std::fill(hi_.begin(), hi_.end(), std::numeric_limits<int16_t>::min());
    filled_ = 0;
  }

  int in_channels_;
  int out_channels_;
  int spp_;
  int64_t limit_;
  int64_t taken_ = 0;
  int filled_ = 0;
  std::vector<int> lo_;
  std::vector<int> hi_;
  std::vector<int16_t> data_;
};

// The track's length in samples as the container states it, else as its duration gives it.
int64_t expected_samples(const AudioTrack& t) {
  if (t.samples > 0) return t.samples;
  return static_cast<int64_t>(std::llround(to_seconds(t.duration) * t.sample_rate));
}

Result<int> samples_per_pixel(const AudioTrack& t, const PeaksOptions& options,
                              const std::string& path) {
  if (options.width < 0) {
    return Error(ErrorCode::kUsage,
                 fmt::format("a width of {} pixels is not possible; give 1 or more", options.width))
        .about("width");
  }
  int64_t spp = 0;
  if (options.width > 0) {
    const int64_t n = expected_samples(t);
    spp = std::max<int64_t>((n + options.width - 1) / options.width, kMinSamplesPerPixel);
  } else {
    if (options.pixels_per_second <= 0) {
      return Error(ErrorCode::kUsage,
                   fmt::format("{} pixels per second is not possible; give 1 or more",
                               options.pixels_per_second))
          .about("pixels_per_second");
    }
    spp = t.sample_rate / options.pixels_per_second;
    if (spp < kMinSamplesPerPixel) {
      return Error(ErrorCode::kBadOutputOption,
                   fmt::format("{} pixels per second is finer than the audio of {} allows "
                               "({} Hz: at most {} pixels per second, 2 samples each)",
                               options.pixels_per_second, path, t.sample_rate,
                               t.sample_rate / kMinSamplesPerPixel))
          .about("pixels_per_second", Hint::kChange,
                 std::to_string(t.sample_rate / kMinSamplesPerPixel));
    }
  }
  if (spp > std::numeric_limits<int32_t>::max()) spp = std::numeric_limits<int32_t>::max();
  return static_cast<int>(spp);
}

void put32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::string extension_of(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

}  // namespace

Result<Peaks> peaks(Engine& /*engine*/, Input& input, const PeaksOptions& options) {
  const MediaInfo& info = input.info();
  if (info.audio.empty()) {
    return Error{ErrorCode::kNoAudio,
                 fmt::format("{} has no audio track; there is no waveform to draw", info.path)};
  }
  if (options.track < 1 || options.track > static_cast<int>(info.audio.size())) {
    return Error(ErrorCode::kTrackNotFound,
                 fmt::format("{} has no audio track {}; its audio tracks are 1 to {}", info.path,
                             options.track, info.audio.size()))
        .about("track")
        .given(std::to_string(options.track));
  }
  const AudioTrack& track = info.audio[static_cast<size_t>(options.track - 1)];
  auto spp = samples_per_pixel(track, options, info.path);
  if (!spp) return spp.error();

  Peaks result;
  result.track = options.track;
  result.samples_per_pixel = *spp;
  std::optional<PeakAccumulator> acc;

  engine::DecodeOptions decode;
  decode.format = AV_SAMPLE_FMT_S16;
  decode.cancel = options.cancel;
  decode.on_progress = options.on_progress;
  auto decoded = engine::decode_track(
      input, options.track, decode,
      [&](const engine::DecodedFormat& f, const uint8_t* data, int count) -> Result<void> {
        if (!acc) {
          result.sample_rate = f.sample_rate;
          result.source_channels = f.channels;
          result.channels = options.split_channels ? f.channels : 1;
          acc.emplace(f.channels, options.split_channels, *spp,
                      track.samples > 0 ? track.samples : -1);
        } else if (f.channels != result.source_channels) {
          return Error{ErrorCode::kUnsupportedFile,
                       fmt::format("the audio of {} changes from {} to {} channels midway; a "
                                   "waveform needs one channel count throughout",
                                   info.path, result.source_channels, f.channels)};
        }
        acc->add(reinterpret_cast<const int16_t*>(data), count);
        return {};
      });
  if (!decoded) return decoded.error();
  if (acc) {
    acc->finish();
    result.samples = acc->taken();
    result.data = std::move(acc->data());
  } else {
    // Nothing decoded: no pixels, at the track's stated parameters.
    result.sample_rate = track.sample_rate;
    result.source_channels = track.channels;
    result.channels = options.split_channels ? track.channels : 1;
  }
  return result;
}

Result<PeaksFormat> peaks_format_for(const std::string& path) {
  const std::string ext = extension_of(path);
  if (ext == ".json") return PeaksFormat::kJson;
  if (ext == ".dat") return PeaksFormat::kDat;
  if (ext == ".png") return PeaksFormat::kPng;
  return Error(ErrorCode::kUsage,
               fmt::format("cannot tell the waveform format from the extension of {}; name a "
                           ".json or .dat file (audiowaveform's data) or a .png (a picture)",
                           path))
      .about("output")
      .given(path);
}

std::string peaks_json(const Peaks& p, int bits) {
  std::string out = fmt::format(
      "{{\"version\":2,\"channels\":{},\"sample_rate\":{},\"samples_per_pixel\":{},\"bits\":{},"
      "\"length\":{},\"data\":[",
      p.channels, p.sample_rate, p.samples_per_pixel, bits, p.length());
  out.reserve(out.size() + p.data.size() * (bits == 8 ? 4 : 6) + 4);
  auto it = std::back_inserter(out);
  for (size_t i = 0; i < p.data.size(); ++i) {
    if (i > 0) out.push_back(',');
    fmt::format_to(it, "{}", bits == 8 ? to_8_bits(p.data[i]) : p.data[i]);
  }
  out += "]}\n";
  return out;
}

std::string peaks_dat(const Peaks& p, int bits) {
  std::string out;
  out.reserve(24 + p.data.size() * (bits == 8 ? 1 : 2));
  put32(out, 2);
  put32(out, bits == 8 ? 1U : 0U);
  put32(out, static_cast<uint32_t>(p.sample_rate));
  put32(out, static_cast<uint32_t>(p.samples_per_pixel));
  put32(out, static_cast<uint32_t>(p.length()));
  put32(out, static_cast<uint32_t>(p.channels));
  for (int16_t v : p.data) {
    if (bits == 8) {
      out.push_back(static_cast<char>(static_cast<int8_t>(to_8_bits(v))));
    } else {
      const auto u = static_cast<uint16_t>(v);
      out.push_back(static_cast<char>(u & 0xff));
      out.push_back(static_cast<char>(u >> 8));
    }
  }
  return out;
}

Result<PeaksFormat> check_peaks_output(const std::string& path, const PeaksWriteOptions& options) {
  auto format = peaks_format_for(path);
  if (!format) return format.error();
  if (*format != PeaksFormat::kPng && options.bits != 8 && options.bits != 16) {
    return Error(ErrorCode::kUsage,
                 fmt::format("waveform data has 8 or 16 bits a value, not {}", options.bits))
        .about("bits")
        .given(std::to_string(options.bits));
  }
  auto target = engine::check_target(path, options.input, options.overwrite, false);
  if (!target) return target.error();
  return *format;
}

Result<int64_t> write_peaks(const Peaks& peaks, const std::string& path,
                            const PeaksWriteOptions& options) {
  auto format = check_peaks_output(path, options);
  if (!format) return format.error();
  std::string bytes;
  switch (*format) {
    case PeaksFormat::kJson:
      bytes = peaks_json(peaks, options.bits);
      break;
    case PeaksFormat::kDat:
      bytes = peaks_dat(peaks, options.bits);
      break;
    case PeaksFormat::kPng: {
      auto png = peaks_png(peaks, options.picture);
      if (!png) return png.error();
      bytes = std::move(*png);
      break;
    }
  }
  auto file = engine::AtomicFile::create(path, options.input, options.overwrite);
  if (!file) return file.error();
  {
    std::ofstream out(file->temp_path(), std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      return Error{ErrorCode::kWriteFailed,
                   fmt::format("writing {} failed ({}); check the free space there", path,
                               std::strerror(errno))};
    }
  }
  return file->commit(false);
}

}  // namespace peel
