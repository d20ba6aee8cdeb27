// UTF-8 and character folding for the plain-language parser; locale-free.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace peel::nl {

// Decodes UTF-8; each invalid, overlong or surrogate sequence becomes one U+FFFD. With
// `offsets`, also the byte offset where each code point starts, and the total length last
// (so code points [b, e) are bytes [offsets[b], offsets[e])).
std::u32string decode_utf8(std::string_view bytes, std::vector<size_t>* offsets = nullptr);

void append_utf8(std::string& out, char32_t c);
std::string encode_utf8(std::u32string_view text);

// Folds the forms people type interchangeably into one: full-width ASCII to ASCII, CJK
// punctuation and curly quotes to ASCII, the traditional spellings of the parser's words to
// simplified, ASCII upper case to lower case (when `lower`).
char32_t fold(char32_t c, bool lower);

// A Han ideograph (CJK unified, extension A, compatibility).
bool is_han(char32_t c);

}  // namespace peel::nl
