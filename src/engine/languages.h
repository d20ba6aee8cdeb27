// ISO 639 language codes: two-letter and bibliographic/terminologic three-letter forms.
#pragma once

#include <string>
#include <string_view>

namespace peel::engine {

// Lower-cased ISO 639-2/T code for a 639-1 or 639-2 (B or T) code or an English name;
// the input lower-cased if unknown.
std::string normalize_language(std::string_view code);

}  // namespace peel::engine
