// join_vorbis(): block sizes from the identification header and each packet's mode bit, the
// join rule, and the grid shift for a second try.
#include "engine/vorbis_join.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>

namespace peel::engine {

namespace {

struct BlockSizes {
  int64_t small = 0;
  int64_t large = 0;
};

// The identification header's two block sizes. Extradata holds the three headers with Xiph
// lacing: 2 (count - 1), the lacing of the first two, then the headers.
std::optional<BlockSizes> block_sizes(std::span<const uint8_t> x) {
  if (x.size() < 3 || x[0] != 2) return {};
  size_t at = 1;
  while (at < x.size() && x[at] == 255) ++at;  // the identification header's lacing
  ++at;
  while (at < x.size() && x[at] == 255) ++at;  // the comment header's
  ++at;
  // Identification header: type 1, "vorbis", version (4), channels (1), rate (4), bitrates
  // (12), then the block sizes as two 4-bit exponents.
  if (at + 30 > x.size() || x[at] != 1) return {};
  const uint8_t sizes = x[at + 28];
  return BlockSizes{int64_t{1} << (sizes & 15), int64_t{1} << (sizes >> 4)};
}

// libvorbis codes two modes, 0 with short blocks and 1 with long ones; the mode number is the
// bit after the packet-type bit.
bool is_long(const CodedPacket& p) { return (p.data[0] >> 1) & 1; }

// Every packet is an audio packet whose duration (bar the first, whose block before is not
// known) is the sum of its own and its predecessor's block sizes over four.
bool consistent(const std::vector<CodedPacket>& packets, const BlockSizes& bs) {
  for (size_t i = 0; i < packets.size(); ++i) {
    if (packets[i].data.empty() || (packets[i].data[0] & 1) != 0) return false;
    if (i == 0) continue;
    const int64_t prev = is_long(packets[i - 1]) ? bs.large : bs.small;
    const int64_t self = is_long(packets[i]) ? bs.large : bs.small;
    if (packets[i].duration != (prev + self) / 4) return false;
  }
  return true;
}

// Where the grid of long blocks lies (0 <= phase < large/2): the end of the last long block
// after a long block before `pos`, modulo the hop; -1 if there is none.
int64_t phase(const std::vector<CodedPacket>& packets, int64_t pos, int64_t hop) {
  int64_t found = -1;
  for (size_t i = 1; i < packets.size() && packets[i].pts < pos; ++i) {
    if (is_long(packets[i]) && is_long(packets[i - 1])) {
      found = ((packets[i].pts + packets[i].duration) % hop + hop) % hop;
    }
  }
  return found;
}

}  // namespace

Result<VorbisJoin> join_vorbis(const std::vector<CodedPacket>& a, const std::vector<CodedPacket>& b,
                               int64_t cut, int64_t min_pts, int64_t max_pts,
                               std::span<const uint8_t> extradata, std::vector<CodedPacket>& out) {
  const auto bs = block_sizes(extradata);
  if (!bs || a.size() < 3 || b.size() < 3 || !consistent(a, *bs) || !consistent(b, *bs)) {
    return Error{ErrorCode::kInternal, "the Vorbis encoder made packets peel cannot join"};
  }
  std::map<int64_t, size_t> b_ends;  // end sample -> index in b
  for (size_t j = 1; j + 1 < b.size(); ++j) b_ends[b[j].pts + b[j].duration] = j;

  std::optional<std::pair<size_t, size_t>> best;
  int64_t best_distance = 0;
  for (size_t i = 1; i + 1 < a.size(); ++i) {
    const int64_t end = a[i].pts + a[i].duration;
    if (end < min_pts || end > max_pts) continue;
    const auto it = b_ends.find(end);
    if (it == b_ends.end()) continue;
    const size_t j = it->second;
    if (is_long(a[i]) != is_long(b[j]) || is_long(a[i + 1]) != is_long(b[j + 1])) continue;
    const int64_t distance = std::llabs(end - cut);
    if (!best || distance < best_distance) {
      best = {i, j};
      best_distance = distance;
    }
  }
  if (!best) {
    // Two grids of long blocks: B started elsewhere on it than A's history put A.
    const int64_t hop = bs->large / 2;
    const int64_t pa = phase(a, cut, hop);
    const int64_t pb = phase(b, cut, hop);
    int64_t shift = pa < 0 || pb < 0 ? hop : ((pb - pa) % hop + hop) % hop;
    if (shift == 0) shift = hop;
    return VorbisJoin{false, 0, shift};
  }
  const auto [i, j] = *best;
  out.assign(a.begin(), a.begin() + static_cast<ptrdiff_t>(i) + 1);
  out.insert(out.end(), b.begin() + static_cast<ptrdiff_t>(j) + 1, b.end());
  return VorbisJoin{true, a[i].pts + a[i].duration, 0};
}

}  // namespace peel::engine
