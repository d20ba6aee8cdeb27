#include "support/oracles.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>

#include "support/support.h"

namespace peel::test {

R128 ffmpeg_r128(const std::string& path, int stream) {
  TempDir dir;
  const std::string values = dir.path() + "/r128.txt";
  auto r =
      run({"ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:a:" + std::to_string(stream),
           "-af", "ebur128=peak=true:metadata=1,ametadata=mode=print:file=" + values, "-f", "null",
           "-"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  R128 m;
  std::ifstream in(values);
  std::string line;
  auto value = [](const std::string& l) { return std::stod(l.substr(l.find('=') + 1)); };
  while (std::getline(in, line)) {
    if (line.starts_with("lavfi.r128.I=")) m.integrated = value(line);
    if (line.starts_with("lavfi.r128.LRA=")) m.range = value(line);
    if (line.starts_with("lavfi.r128.true_peak=")) m.true_peak = 20 * std::log10(value(line));
  }
  return m;
}

std::vector<int> peaks_oracle(const std::vector<int16_t>& s, int channels, int spp, bool split,
                              int bits) {
  std::vector<int> out;
  const size_t frames = s.size() / static_cast<size_t>(channels);
  const int lanes = split ? channels : 1;
  for (size_t first = 0; first < frames; first += static_cast<size_t>(spp)) {
    const size_t last = std::min(frames, first + static_cast<size_t>(spp));
    for (int lane = 0; lane < lanes; ++lane) {
      int lo = std::numeric_limits<int>::max();
      int hi = std::numeric_limits<int>::min();
      for (size_t i = first; i < last; ++i) {
        int v = 0;
        if (split) {
          v = s[i * channels + lane];
        } else {
          for (int c = 0; c < channels; ++c) v += s[i * channels + c];
          v /= channels;
        }
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      out.push_back(bits == 8 ? lo / 256 : lo);
      out.push_back(bits == 8 ? hi / 256 : hi);
    }
  }
  return out;
}

}  // namespace peel::test
