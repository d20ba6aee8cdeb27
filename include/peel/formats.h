// The output format table, read-only view for front ends (--help, `peel formats`, docs).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace peel {

struct FormatView {
  std::string name;       // "mp3", "m4a", ...
  std::string extension;  // without the dot
  std::string description;
  std::string codec;                  // codec used when transcoding into it
  std::vector<std::string> copyable;  // source codecs it takes by stream copy ("*": any)
  bool tags = false;
  bool chapters = false;
  bool lossless = false;
  // The sample formats it writes on request ("s16", "s24", "s32", "f32"); empty: none to
  // choose (the codec's own).
  std::vector<std::string> sample_formats;
  // Bits per second it encodes at unless asked otherwise; 0: its encoder is lossless (flac,
  // wav, pcm, and mka's FLAC), so there is no bitrate to set.
  int64_t bitrate = 0;
  bool selectable = true;  // listed for -f (false: only reached through `auto`)
};

// Every row of the table, in display order.
std::vector<FormatView> formats();

}  // namespace peel
