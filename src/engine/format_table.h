// The output format table: the single source of truth about output formats. Adding a format
// is adding a row in format_table.cc.
#pragma once

extern "C" {
#include <libavcodec/codec_id.h>
}

#include <string>
#include <string_view>
#include <vector>

namespace peel::engine {

struct CopyRule {
  AVCodecID codec;
  const char* bsf = nullptr;    // bitstream filter needed on the way in
  const char* muxer = nullptr;  // the muxer for this codec, where not the format's own
  bool keeps_delay = false;     // the format states this codec's encoder delay (an edit list,
                                // a LAME header, Opus pre-skip), so a copy plays on time
};

struct FormatSpec {
  std::string_view name;
  std::string_view extension;
  std::string_view muxer;  // FFmpeg muxer; pcm rows pick it from the sample format
  std::string_view description;
  AVCodecID codec;             // codec when transcoding into this format
  std::string_view encoder;    // FFmpeg encoder name
  std::vector<CopyRule> copy;  // codecs taken by stream copy
  bool copy_any = false;       // takes any codec by copy (Matroska)
  bool tags = false;
  bool chapters = false;
  bool lossless = false;
  // The sample formats it writes on request (wav, pcm: s16 s24 s32 f32; flac: s16 s24),
  // of "s16", "s24", "s32", "f32"; empty: the codec's own, none to choose.
  std::vector<std::string_view> sample_formats = {};
  bool selectable = true;       // listed for -f
  int64_t default_bitrate = 0;  // bits/s for lossy codecs, 0: codec default or lossless
};

const std::vector<FormatSpec>& format_table();

// nullptr if unknown.
const FormatSpec* find_format(std::string_view name);
const FormatSpec* format_for_extension(std::string_view extension);

// The container a codec naturally lives in (`auto`): aac→m4a, pcm→wav, unknown→mka. A
// stream with an encoder delay goes where the delay can be stated, if its natural container
// cannot (E-AC-3 with priming: .m4a, not raw .eac3).
const FormatSpec& natural_format(AVCodecID codec, int64_t delay = 0);

// Whether a copy of `codec` into `format` keeps its encoder delay.
bool keeps_delay(const FormatSpec& format, AVCodecID codec);

// The muxer that writes `codec` into `format`.
std::string_view muxer_for(const FormatSpec& format, AVCodecID codec);

// The copy rule for `codec`, or nullptr if the format cannot carry it.
const CopyRule* copy_rule(const FormatSpec& format, AVCodecID codec);

// Names of selectable formats that can carry `codec` by copy, for error messages.
std::vector<std::string> formats_that_copy(AVCodecID codec);

// For wav/pcm/flac: the codec writing samples of `sample_format` ("s16", "s24", ...).
AVCodecID pcm_codec(std::string_view sample_format);

// The muxer for a raw pcm codec ("s16le" for pcm_s16le).
std::string_view raw_muxer(AVCodecID codec);

}  // namespace peel::engine
