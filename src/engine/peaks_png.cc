// peaks_png(): the waveform drawn as a picture with a time axis, encoded by FFmpeg's PNG
// encoder.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "av/av.h"
#include "peel/peaks.h"

namespace peel {

namespace {

struct Rgb {
  uint8_t r, g, b;
};

constexpr Rgb kBackground{0xf7, 0xf8, 0xfa};
constexpr Rgb kWave{0x2f, 0x6d, 0xb5};
constexpr Rgb kCentre{0xd5, 0xdb, 0xe3};
constexpr Rgb kAxis{0x55, 0x5b, 0x63};
constexpr Rgb kLabel{0x33, 0x37, 0x3d};

constexpr int kAxisHeight = 24;  // below the waveform: line, ticks, labels
constexpr int kGlyphScale = 2;   // 3×5 glyphs drawn as 6×10 pixels

// 3×5 glyphs, a row a byte (bit 2 is the left column): the digits, ':' and '.'.
constexpr std::array<std::array<uint8_t, 5>, 12> kGlyphs{{
    {7, 5, 5, 5, 7},  // 0
    {2, 6, 2, 2, 7},  // 1
    {7, 1, 7, 4, 7},  // 2
    {7, 1, 3, 1, 7},  // 3
    {5, 5, 7, 1, 1},  // 4
    {7, 4, 7, 1, 7},  // 5
    {7, 4, 7, 5, 7},  // 6
    {7, 1, 1, 2, 2},  // 7
    {7, 5, 7, 5, 7},  // 8
    {7, 5, 7, 1, 7},  // 9
    {0, 2, 0, 2, 0},  // :
    {0, 0, 0, 0, 2},  // .
}};

class Canvas {
 public:
  Canvas(int width, int height)
      : width_(width), height_(height), rgb_(static_cast<size_t>(width) * height * 3) {
    for (size_t i = 0; i < rgb_.size(); i += 3) {
      rgb_[i] = kBackground.r;
      rgb_[i + 1] = kBackground.g;
      rgb_[i + 2] = kBackground.b;
    }
  }

  void set(int x, int y, Rgb c) {
    if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
    uint8_t* p = &rgb_[(static_cast<size_t>(y) * width_ + x) * 3];
    p[0] = c.r;
    p[1] = c.g;
    p[2] = c.b;
  }

  void vline(int x, int y0, int y1, Rgb c) {
    if (y0 > y1) std::swap(y0, y1);
    for (int y = y0; y <= y1; ++y) set(x, y, c);
  }

  void hline(int x0, int x1, int y, Rgb c) {
    for (int x = x0; x <= x1; ++x) set(x, y, c);
  }

  // Text of digits, ':' and '.', its top left corner at (x, y).
  void text(int x, int y, const std::string& s, Rgb c) {
    for (char ch : s) {
      const int g = ch == ':' ? 10 : ch == '.' ? 11 : ch - '0';
      if (g < 0 || g > 11) continue;
      for (int row = 0; row < 5; ++row) {
        for (int col = 0; col < 3; ++col) {
          if ((kGlyphs[static_cast<size_t>(g)][static_cast<size_t>(row)] >> (2 - col) & 1) == 0) {
            continue;
          }
          for (int dy = 0; dy < kGlyphScale; ++dy) {
            for (int dx = 0; dx < kGlyphScale; ++dx) {
              set(x + col * kGlyphScale + dx, y + row * kGlyphScale + dy, c);
            }
          }
        }
      }
      x += 4 * kGlyphScale;
    }
  }

  static int text_width(const std::string& s) {
    return s.empty() ? 0 : static_cast<int>(s.size()) * 4 * kGlyphScale - kGlyphScale;
  }

  int width() const { return width_; }
  int height() const { return height_; }
  const std::vector<uint8_t>& rgb() const { return rgb_; }

 private:
  int width_;
  int height_;
  std::vector<uint8_t> rgb_;
};

// A tick label, as peel writes times: m:ss or h:mm:ss, with tenths where ticks are finer than
// a second.
std::string tick_label(double seconds, bool tenths) {
  const auto tenth_count = static_cast<int64_t>(std::llround(seconds * 10));
  const int64_t whole = tenth_count / 10;
  std::string s = whole >= 3600
                      ? fmt::format("{}:{:02}:{:02}", whole / 3600, whole / 60 % 60, whole % 60)
                      : fmt::format("{}:{:02}", whole / 60, whole % 60);
  if (tenths) s += fmt::format(".{}", tenth_count % 10);
  return s;
}

// The tick step in seconds: the finest of a 1-2-5 style series whose labels stay apart.
double tick_step(double seconds_per_pixel) {
  static constexpr double kSteps[] = {0.1, 0.2, 0.5, 1,   2,    5,    10,   15,    30,   60,
                                      120, 300, 600, 900, 1800, 3600, 7200, 14400, 36000};
  constexpr double kMinGap = 110;  // pixels between ticks: room for "1:02:03.4" and a gap
  for (double step : kSteps) {
    if (step / seconds_per_pixel >= kMinGap) return step;
  }
  return kSteps[std::size(kSteps) - 1];
}

Result<std::string> encode_png(const Canvas& canvas) {
  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
  if (codec == nullptr) return Error{ErrorCode::kInternal, "FFmpeg has no PNG encoder"};
  av::CodecContext enc(avcodec_alloc_context3(codec));
  if (!enc) return Error{ErrorCode::kInternal, "out of memory"};
  enc->width = canvas.width();
  enc->height = canvas.height();
  enc->pix_fmt = AV_PIX_FMT_RGB24;
  enc->time_base = AVRational{1, 1};
  if (int rc = avcodec_open2(enc.get(), codec, nullptr); rc < 0) {
    return av::translate(rc, ErrorCode::kInternal, "cannot open the PNG encoder");
  }
  av::Frame frame = av::make_frame();
  frame->format = AV_PIX_FMT_RGB24;
  frame->width = canvas.width();
  frame->height = canvas.height();
  if (int rc = av_frame_get_buffer(frame.get(), 0); rc < 0) {
    return av::translate(rc, ErrorCode::kInternal, "cannot make the picture's frame");
  }
  const size_t row = static_cast<size_t>(canvas.width()) * 3;
  for (int y = 0; y < canvas.height(); ++y) {
    std::copy_n(canvas.rgb().data() + row * static_cast<size_t>(y), row,
                frame->data[0] + static_cast<ptrdiff_t>(y) * frame->linesize[0]);
  }
  frame->pts = 0;
  if (int rc = avcodec_send_frame(enc.get(), frame.get()); rc < 0) {
    return av::translate(rc, ErrorCode::kInternal, "encoding the picture failed");
  }
  avcodec_send_frame(enc.get(), nullptr);
  av::Packet pkt = av::make_packet();
  std::string out;
  int rc = 0;
  while ((rc = avcodec_receive_packet(enc.get(), pkt.get())) == 0) {
    out.append(reinterpret_cast<const char*>(pkt->data), static_cast<size_t>(pkt->size));
    av_packet_unref(pkt.get());
  }
  if (rc != AVERROR_EOF) {
    return av::translate(rc, ErrorCode::kInternal, "encoding the picture failed");
  }
  return out;
}

}  // namespace

Result<std::string> peaks_png(const Peaks& peaks, const PictureOptions& options) {
  if (options.width < 64 || options.width > 30000 || options.height < 64 || options.height > 4000) {
    return Error(ErrorCode::kBadOutputOption,
                 fmt::format("a picture of {}x{} pixels is outside what peel draws: 64 to 30000 "
                             "wide, 64 to 4000 high",
                             options.width, options.height))
        .about("width")
        .and_about("height");
  }
  Canvas canvas(options.width, options.height);
  const int lanes = std::max(peaks.channels, 1);
  const int wave_height = options.height - kAxisHeight;
  const int lane_height = wave_height / lanes;
  const int64_t length = peaks.length();
  const int columns = static_cast<int>(std::min<int64_t>(length, options.width));

  for (int lane = 0; lane < lanes; ++lane) {
    const int top = lane * lane_height;
    const int centre = top + lane_height / 2;
    const double half = lane_height / 2 - 2;  // a pixel's margin each side of a lane
    canvas.hline(0, options.width - 1, centre, kCentre);
    // A value's row: 32767 at the top of the lane, -32768 at its bottom.
    auto row = [&](int v) { return centre - static_cast<int>(std::lround(v * half / 32768.0)); };
    for (int x = 0; x < columns; ++x) {
      const size_t at = (static_cast<size_t>(x) * lanes + lane) * 2;
      canvas.vline(x, row(peaks.data[at + 1]), row(peaks.data[at]), kWave);
    }
  }

  // The time axis: a line, a tick every `step` seconds, a label under each.
  const int axis = wave_height;
  canvas.hline(0, options.width - 1, axis, kAxis);
  if (peaks.sample_rate > 0 && peaks.samples_per_pixel > 0) {
    const double seconds_per_pixel =
        static_cast<double>(peaks.samples_per_pixel) / peaks.sample_rate;
    const double step = tick_step(seconds_per_pixel);
    const bool tenths = step < 1;
    for (int64_t i = 0;; ++i) {
      const double t = static_cast<double>(i) * step;
      const int x = static_cast<int>(std::lround(t / seconds_per_pixel));
      if (x >= options.width) break;
      canvas.vline(x, axis, axis + 4, kAxis);
      const std::string label = tick_label(t, tenths);
      const int w = Canvas::text_width(label);
      const int left = std::clamp(x - w / 2, 1, std::max(options.width - w - 1, 1));
      canvas.text(left, axis + 8, label, kLabel);
    }
  }
  return encode_png(canvas);
}

}  // namespace peel
