// Typos in the parser's words: a bounded edit distance that follows how people slip on a
// keyboard, so that "teh" reads "the" while "fast" never reads "last".
#pragma once

#include <span>
#include <string_view>

namespace peel::nl {

// The word of `vocabulary` that `typed` (lower-case ASCII) is most likely a slip of, or
// empty. A slip is one of, in this order of likelihood: two neighbouring letters swapped
// ("form" for "from"); one letter missing ("betwen"); one letter too many, doubled or next
// to its neighbour on a QWERTY keyboard ("mpp3"); one letter replaced by its neighbour on the
// keyboard or a vowel by another vowel ("pleese"). Words under 3 letters are never
// corrected, those of 3 only by a swap. Where two words are equally likely, none is chosen.
// Time: O(total length of the vocabulary words within one letter of typed's length).
std::string_view correct_word(std::string_view typed, std::span<const std::string_view> vocabulary);

}  // namespace peel::nl
