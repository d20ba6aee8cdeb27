// Output names from a template: every field a file supplies (a track's title or language,
// later chapter titles) becomes one safe file-name component, whatever bytes the file holds.
#pragma once

#include <string>
#include <string_view>

namespace peel::engine {

// `value` as one file-name component that is safe on Linux, macOS and Windows: path
// separators, control characters and the characters Windows forbids (<>:"|?*) become '_'; a
// leading dot becomes '_' (no hidden files, no "." or ".."); spaces and dots at the ends are
// trimmed; at most 200 bytes, cut at a UTF-8 character boundary. Empty (or nothing left):
// `fallback`.
std::string safe_component(std::string_view value, std::string_view fallback);

// Whether `path` (made from a template below `root`) stays inside `root`, judged by their
// words alone (no file is looked at): no ".." climbs out, and it is not absolute unless
// `root` is a prefix of it.
bool stays_inside(const std::string& root, const std::string& path);

}  // namespace peel::engine
