// A small ISO 639 table: the languages audio tracks are commonly tagged with.
#include "engine/languages.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace peel::engine {

namespace {

struct Language {
  std::string_view two, terminologic, bibliographic, english;
};

constexpr std::array<Language, 40> kLanguages = {{
    {"en", "eng", "eng", "english"},    {"ja", "jpn", "jpn", "japanese"},
    {"zh", "zho", "chi", "chinese"},    {"fr", "fra", "fre", "french"},
    {"de", "deu", "ger", "german"},     {"es", "spa", "spa", "spanish"},
    {"it", "ita", "ita", "italian"},    {"pt", "por", "por", "portuguese"},
    {"ru", "rus", "rus", "russian"},    {"ko", "kor", "kor", "korean"},
    {"nl", "nld", "dut", "dutch"},      {"sv", "swe", "swe", "swedish"},
    {"no", "nor", "nor", "norwegian"},  {"da", "dan", "dan", "danish"},
    {"fi", "fin", "fin", "finnish"},    {"pl", "pol", "pol", "polish"},
    {"cs", "ces", "cze", "czech"},      {"el", "ell", "gre", "greek"},
    {"tr", "tur", "tur", "turkish"},    {"ar", "ara", "ara", "arabic"},
    {"he", "heb", "heb", "hebrew"},     {"hi", "hin", "hin", "hindi"},
    {"th", "tha", "tha", "thai"},       {"vi", "vie", "vie", "vietnamese"},
    {"id", "ind", "ind", "indonesian"}, {"ms", "msa", "may", "malay"},
    {"uk", "ukr", "ukr", "ukrainian"},  {"hu", "hun", "hun", "hungarian"},
    {"ro", "ron", "rum", "romanian"},   {"bg", "bul", "bul", "bulgarian"},
    {"hr", "hrv", "hrv", "croatian"},   {"sr", "srp", "srp", "serbian"},
    {"sk", "slk", "slo", "slovak"},     {"sl", "slv", "slv", "slovenian"},
    {"ca", "cat", "cat", "catalan"},    {"fa", "fas", "per", "persian"},
    {"bn", "ben", "ben", "bengali"},    {"ta", "tam", "tam", "tamil"},
    {"is", "isl", "ice", "icelandic"},  {"et", "est", "est", "estonian"},
}};

}  // namespace

std::string normalize_language(std::string_view code) {
  std::string lower(code);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const auto& l : kLanguages) {
    if (lower == l.two || lower == l.terminologic || lower == l.bibliographic ||
        lower == l.english) {
      return std::string(l.terminologic);
    }
  }
  return lower;
}

}  // namespace peel::engine
