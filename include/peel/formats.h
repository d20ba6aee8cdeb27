// The output format table, read-only view for front ends (--help, `peel formats`, docs).
#pragma once

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
  bool selectable = true;  // listed for -f (false: only reached through `auto`)
};

// Every row of the table, in display order.
std::vector<FormatView> formats();

}  // namespace peel
