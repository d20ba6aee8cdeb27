// Time parsing: plain seconds, clock notation and unit notation, all to exact microseconds.
#include "peel/time.h"

#include <fmt/format.h>

#include <cctype>

namespace peel {

namespace {

// Parses "12", "12.5", ".5" into microseconds; advances `pos`. False if no digits.
bool parse_decimal(std::string_view s, size_t& pos, Micros& out) {
  Micros whole = 0;
  size_t digits = 0;
  while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
    if (whole > 1'000'000'000'000) return false;
    whole = whole * 10 + (s[pos++] - '0');
    ++digits;
  }
  Micros frac = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    Micros scale = kMicrosPerSecond / 10;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      frac += (s[pos++] - '0') * scale;
      scale /= 10;
      ++digits;
    }
  }
  if (digits == 0) return false;
  out = whole * kMicrosPerSecond + frac;
  return true;
}

Error bad_time(std::string_view text) {
  return Error{ErrorCode::kUsage,
               fmt::format("'{}' is not a time; write it as seconds (90), clock time (1:30, "
                           "01:02:03.250) or with units (2m, 1h2m3.5s)",
                           text)};
}

}  // namespace

Result<Micros> parse_time(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  if (text.empty()) return bad_time(text);
  // "-5" is a time (before the start); whether it makes sense is for whoever uses it to say.
  if (text.front() == '-') {
    if (text.size() == 1 ||
        !(std::isdigit(static_cast<unsigned char>(text[1])) || text[1] == '.')) {
      return bad_time(text);
    }
    auto t = parse_time(text.substr(1));
    if (!t) return bad_time(text);
    return -*t;
  }

  size_t pos = 0;
  Micros first = 0;
  if (!parse_decimal(text, pos, first)) return bad_time(text);
  if (pos == text.size()) return first;

  if (text[pos] == ':') {
    // Clock notation: [[h:]m:]s, with seconds possibly fractional, minutes and hours whole.
    Micros total = first;
    int fields = 1;
    while (pos < text.size()) {
      if (text[pos] != ':' || fields == 3) return bad_time(text);
      if (total % kMicrosPerSecond != 0) return bad_time(text);  // "1.5:30"
      ++pos;
      Micros next = 0;
      if (!parse_decimal(text, pos, next)) return bad_time(text);
      if (next >= 60 * kMicrosPerSecond) return bad_time(text);
      total = total * 60 + next;
      ++fields;
    }
    return total;
  }

  // Unit notation: 1h2m3.5s, 2m, 45s, 1500ms.
  Micros total = 0;
  Micros value = first;
  int last_rank = 4;
  while (true) {
    int rank = 0;
    Micros unit = 0;
    if (text.substr(pos, 2) == "ms") {
      rank = 0, unit = 1000, pos += 2;
    } else if (text[pos] == 's') {
      rank = 1, unit = kMicrosPerSecond, ++pos;
    } else if (text[pos] == 'm') {
      rank = 2, unit = 60 * kMicrosPerSecond, ++pos;
    } else if (text[pos] == 'h') {
      rank = 3, unit = 3600 * kMicrosPerSecond, ++pos;
    } else {
      return bad_time(text);
    }
    if (rank >= last_rank) return bad_time(text);
    last_rank = rank;
    total += unit == 1000 ? value / 1000
                          : value / kMicrosPerSecond * unit +
                                value % kMicrosPerSecond * (unit / kMicrosPerSecond);
    if (pos == text.size()) return total;
    if (!parse_decimal(text, pos, value) || pos == text.size()) return bad_time(text);
  }
}

std::string format_time(Micros t) {
  const bool negative = t < 0;
  // Milliseconds, rounded half away from zero: one precision for every time peel prints.
  const int64_t ms = ((negative ? -t : t) + 500) / 1000;
  const int64_t h = ms / 3'600'000;
  const int64_t m = ms / 60'000 % 60;
  const int64_t s = ms / 1000 % 60;
  std::string out = h > 0 ? fmt::format("{}:{:02}:{:02}", h, m, s) : fmt::format("{}:{:02}", m, s);
  if (ms % 1000 != 0) out += fmt::format(".{:03}", ms % 1000);
  return negative && ms != 0 ? "-" + out : out;
}

}  // namespace peel
