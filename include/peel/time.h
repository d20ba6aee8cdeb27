// Parsing and printing of user-facing times ("90", "1:30", "01:02:03.250", "2m", "1h2m3.5s").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "peel/error.h"

namespace peel {

// Microseconds: exact for every time a user can type, and exact to convert to samples.
using Micros = int64_t;
inline constexpr Micros kMicrosPerSecond = 1'000'000;

// Parses a time; a leading '-' makes it negative ("-5", "-1:30"), which a range refuses as
// kBadRange. Returns kUsage with an example of the accepted shapes on failure.
Result<Micros> parse_time(std::string_view text);

// Rounded to the millisecond, as every time in peel's text: "1:30", "1:02:03.250" ("m:ss" or
// "h:mm:ss", and exactly three decimals unless a whole second). Used in plans and messages.
std::string format_time(Micros t);

inline double to_seconds(Micros t) { return static_cast<double>(t) / kMicrosPerSecond; }

// Number of samples in t at rate hz, rounded to nearest (round(D·R) of the spec).
inline int64_t micros_to_samples(Micros t, int hz) {
  if (t < 0) return -micros_to_samples(-t, hz);
  // Whole seconds and the remainder separately: exact and free of overflow.
  return t / kMicrosPerSecond * hz +
         (t % kMicrosPerSecond * hz + kMicrosPerSecond / 2) / kMicrosPerSecond;
}

}  // namespace peel
