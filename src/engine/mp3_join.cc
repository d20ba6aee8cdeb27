// join_mp3(): frame headers and side info (ISO 11172-3 / 13818-3 Layer III), the payload
// stream they share, and the splice.
#include "engine/mp3_join.h"

#include <algorithm>
#include <cstdlib>
#include <optional>

namespace peel::engine {

namespace {

struct Layout {
  int frame_bytes = 0;      // from the header, padding included
  int main_off = 0;         // header, CRC and side info: where the payload starts
  int main_data_begin = 0;  // bytes of the payload before this frame's where its data starts
  int main_bits = 0;        // the frame's main data: part2_3_length over granules and channels
};

// Header and side info of one Layer III frame; nothing if it is not one (or free format).
std::optional<Layout> parse(const std::vector<uint8_t>& f) {
  if (f.size() < 4) return {};
  const uint32_t h = (uint32_t{f[0]} << 24) | (uint32_t{f[1]} << 16) | (uint32_t{f[2]} << 8) | f[3];
  const uint32_t version = (h >> 19) & 3;  // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
  const uint32_t bitrate = (h >> 12) & 15;
  const uint32_t rate = (h >> 10) & 3;
  if ((h >> 21) != 0x7FF || version == 1 || ((h >> 17) & 3) != 1 || bitrate == 0 ||
      bitrate == 15 || rate == 3) {
    return {};
  }
  static constexpr int kKbps1[15] = {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320};
  static constexpr int kKbps2[15] = {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160};
  static constexpr int kRates[3] = {44100, 48000, 32000};
  const bool lsf = version != 3;  // MPEG-2/2.5: one granule, smaller fields
  const bool crc = ((h >> 16) & 1) == 0;
  const bool mono = ((h >> 6) & 3) == 3;
  const int kbps = lsf ? kKbps2[bitrate] : kKbps1[bitrate];
  const int sample_rate = kRates[rate] >> (version == 3 ? 0 : version == 2 ? 1 : 2);
  Layout l;
  l.frame_bytes = (lsf ? 72 : 144) * kbps * 1000 / sample_rate + static_cast<int>((h >> 9) & 1);
  l.main_off = 4 + (crc ? 2 : 0) + (lsf ? (mono ? 9 : 17) : (mono ? 17 : 32));
  if (f.size() < static_cast<size_t>(l.main_off) || l.frame_bytes < l.main_off) return {};
  const uint8_t* side = f.data() + 4 + (crc ? 2 : 0);
  size_t bit = 0;
  auto get = [&](int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; ++i, ++bit) v = (v << 1) | ((side[bit >> 3] >> (7 - (bit & 7))) & 1);
    return static_cast<int>(v);
  };
  const int channels = mono ? 1 : 2;
  if (!lsf) {
    l.main_data_begin = get(9);
    bit += (mono ? 5 : 3) + 4 * channels;  // private bits, scfsi
  } else {
    l.main_data_begin = get(8);
    bit += mono ? 1 : 2;  // private bits
  }
  const int granules = lsf ? 1 : 2;
  const size_t block = lsf ? 63 : 59;  // side info bits per granule and channel
  for (int g = 0; g < granules; ++g) {
    for (int c = 0; c < channels; ++c) {
      const size_t start = bit;
      l.main_bits += get(12);
      bit = start + block;
    }
  }
  return l;
}

// Where each frame's payload and main data lie in the payload stream of a run of frames.
struct StreamMap {
  std::vector<Layout> layout;
  std::vector<int64_t> payload;   // stream position of frame i's first payload byte
  std::vector<int64_t> data_end;  // one past frame i's main data
  bool ok = true;

  explicit StreamMap(const std::vector<CodedPacket>& frames) {
    int64_t pos = 0;
    for (const auto& f : frames) {
      const auto l = parse(f.data);
      if (!l || static_cast<size_t>(l->frame_bytes) != f.data.size()) {
        ok = false;
        return;
      }
      layout.push_back(*l);
      payload.push_back(pos);
      data_end.push_back(pos - l->main_data_begin + (l->main_bits + 7) / 8);
      pos += l->frame_bytes - l->main_off;
    }
  }
  int64_t payload_size(size_t i) const { return layout[i].frame_bytes - layout[i].main_off; }
};

// The header's CRC-16 (polynomial 0x8005, initial 0xFFFF over header bytes 2-3 and the side
// info), when the frame has one.
void fix_crc(std::vector<uint8_t>& f, int main_off) {
  if ((f[1] & 1) != 0) return;
  uint32_t crc = 0xFFFF;
  auto add = [&crc](uint8_t b) {
    for (int i = 7; i >= 0; --i) {
      const bool bit = (((crc >> 15) ^ (b >> i)) & 1) != 0;
      crc = (crc << 1) & 0xFFFF;
      if (bit) crc ^= 0x8005;
    }
  };
  add(f[2]);
  add(f[3]);
  for (int i = 6; i < main_off; ++i) add(f[i]);
  f[4] = static_cast<uint8_t>(crc >> 8);
  f[5] = static_cast<uint8_t>(crc);
}

// Raises frame f's bitrate until it gains at least `need` bytes (zeros at its end, which no
// frame reads); the bytes gained, or 0 when even the highest bitrate is not enough.
int grow(std::vector<uint8_t>& f, int need) {
  const auto before = parse(f);
  if (!before) return 0;
  for (int index = ((f[2] >> 4) & 15) + 1; index <= 14; ++index) {
    std::vector<uint8_t> g = f;
    g[2] = static_cast<uint8_t>((g[2] & 0x0F) | (index << 4));
    const auto after = parse(g);
    if (!after) return 0;
    const int gain = after->frame_bytes - before->frame_bytes;
    if (gain >= need) {
      g.resize(static_cast<size_t>(after->frame_bytes), 0);
      fix_crc(g, after->main_off);
      f.swap(g);
      return gain;
    }
  }
  return 0;
}

int find_pts(const std::vector<CodedPacket>& frames, int64_t pts) {
  const auto it = std::lower_bound(frames.begin(), frames.end(), pts,
                                   [](const CodedPacket& f, int64_t v) { return f.pts < v; });
  return it != frames.end() && it->pts == pts ? static_cast<int>(it - frames.begin()) : -1;
}

}  // namespace

Result<Mp3Join> join_mp3(const std::vector<CodedPacket>& a, const std::vector<CodedPacket>& b,
                         int64_t cut, int64_t min_pts, int64_t max_pts,
                         std::vector<CodedPacket>& out) {
  const StreamMap ma(a);
  const StreamMap mb(b);
  if (!ma.ok || !mb.ok || a.empty() || b.empty()) {
    return Error{ErrorCode::kInternal, "the mp3 encoder made frames peel cannot join"};
  }
  struct Candidate {
    int ia, ib, borrowed, room;
  };
  std::optional<Candidate> best;
  std::vector<Candidate> near;  // every usable position, nearest to the cut first
  // A's frames in the window, the nearest to the cut first (frames start where the encoder's
  // delay puts them, not on the cut's grid).
  std::vector<int> order;
  for (int i = 1; i < static_cast<int>(a.size()); ++i) {
    if (a[static_cast<size_t>(i)].pts >= min_pts && a[static_cast<size_t>(i)].pts <= max_pts) {
      order.push_back(i);
    }
  }
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) {
    return std::llabs(a[static_cast<size_t>(x)].pts - cut) <
           std::llabs(a[static_cast<size_t>(y)].pts - cut);
  });
  for (const int ia : order) {
    if (best) break;
    const int ib = find_pts(b, a[static_cast<size_t>(ia)].pts);
    if (ib <= 0) continue;
    // r_B: how far before header ib any of B's frames from ib on reach back (normally
    // main_data_begin of frame ib itself).
    int borrowed = 0;
    for (size_t i = static_cast<size_t>(ib); i < b.size() && mb.payload[i] - mb.payload[ib] < 512; ++i) {
      borrowed = std::max(borrowed, static_cast<int>(mb.payload[ib] - (mb.payload[i] -
                                                                        mb.layout[i].main_data_begin)));
    }
    // s_A: what A's frames before ia leave unused at the end of their payload.
    int64_t used = INT64_MIN;
    for (int i = 0; i < ia; ++i) used = std::max(used, ma.data_end[i]);
    const int room = static_cast<int>(std::max<int64_t>(0, ma.payload[ia] - used));
    // The copied bytes must lie within the frames given, on both sides.
    if (ma.payload[ia] - borrowed < 0 || mb.payload[ib] - borrowed < 0) continue;
    const Candidate c{ia, ib, borrowed, room};
    if (borrowed <= room) best = c;
    near.push_back(c);
  }

  std::vector<uint8_t> grown;
  int gain = 0;
  for (const Candidate& c : near) {
    if (best) break;
    std::vector<uint8_t> f = a[static_cast<size_t>(c.ia - 1)].data;
    if (const int g = grow(f, c.borrowed - c.room); g > 0) {
      best = c;
      gain = g;
      grown.swap(f);
    }
  }
  if (!best) {
    return Error{ErrorCode::kInternal, "no frame near a segment join has room for the mp3 bit "
                                       "reservoir"};
  }

  out.assign(a.begin(), a.begin() + best->ia);
  if (gain > 0) out.back().data.swap(grown);
  // B's last `borrowed` payload bytes before header ib over the last payload bytes of A's
  // frames before ia, walking back through the payloads (never headers or side info).
  int need = best->borrowed;
  size_t fb = static_cast<size_t>(best->ib) - 1;
  size_t fa = out.size() - 1;
  size_t ob = b[fb].data.size();
  size_t oa = out[fa].data.size();
  while (need > 0) {
    if (ob == static_cast<size_t>(mb.layout[fb].main_off)) {
      ob = b[--fb].data.size();
      continue;
    }
    // A grown frame is larger than its layout says: its payload starts at the same place.
    if (oa == static_cast<size_t>(ma.layout[fa].main_off)) {
      oa = out[--fa].data.size();
      continue;
    }
    out[fa].data[--oa] = b[fb].data[--ob];
    --need;
  }
  out.insert(out.end(), b.begin() + best->ib, b.end());
  return Mp3Join{a[static_cast<size_t>(best->ia)].pts, best->borrowed, best->room + gain, gain};
}

}  // namespace peel::engine
