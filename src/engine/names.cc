// Safe file-name components and the output-folder containment check.
#include "engine/names.h"

#include <filesystem>

namespace peel::engine {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxComponentBytes = 200;  // leaves room for "-2", the extension, ".peel-..."

bool unsafe(unsigned char c) {
  return c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == '<' || c == '>' || c == ':' ||
         c == '"' || c == '|' || c == '?' || c == '*';
}

}  // namespace

std::string safe_component(std::string_view value, std::string_view fallback) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) out += unsafe(static_cast<unsigned char>(c)) ? '_' : c;
  const auto end = out.find_last_not_of(" .");
  out.erase(end == std::string::npos ? 0 : end + 1);
  const auto begin = out.find_first_not_of(' ');
  out.erase(0, begin == std::string::npos ? out.size() : begin);
  if (out.size() > kMaxComponentBytes) {
    size_t cut = kMaxComponentBytes;
    // Back to the start of a UTF-8 character (continuation bytes are 10xxxxxx).
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
  }
  if (!out.empty() && out.front() == '.') out.front() = '_';
  return out.empty() ? std::string(fallback) : out;
}

bool stays_inside(const std::string& root, const std::string& path) {
  const fs::path r = fs::path(root.empty() ? "." : root).lexically_normal();
  const fs::path p = fs::path(path).lexically_normal();
  const fs::path rel = p.lexically_relative(r);
  if (rel.empty()) return false;
  const auto first = *rel.begin();
  return first != ".." && first != ".";
}

}  // namespace peel::engine
