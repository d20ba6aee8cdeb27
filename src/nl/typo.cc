// correct_word(): one keyboard slip away, the likeliest slip first.
#include "nl/typo.h"

#include <cstdlib>

namespace peel::nl {

namespace {

// Position on a QWERTY keyboard in half-key steps, so that the stagger of the rows is exact:
// "a" sits half a key right of "q", "z" half a key right of "a".
bool key_position(char c, int& row, int& x) {
  constexpr std::string_view kRows[] = {"qwertyuiop", "asdfghjkl", "zxcvbnm"};
  for (int r = 0; r < 3; ++r) {
    const size_t i = kRows[r].find(c);
    if (i != std::string_view::npos) {
      row = r;
      x = static_cast<int>(i) * 2 + r;
      return true;
    }
  }
  return false;
}

bool neighbours(char a, char b) {
  int ra = 0, xa = 0, rb = 0, xb = 0;
  if (!key_position(a, ra, xa) || !key_position(b, rb, xb)) return false;
  return (ra == rb && std::abs(xa - xb) == 2) || (std::abs(ra - rb) == 1 && std::abs(xa - xb) == 1);
}

bool vowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

enum Slip { kNone = 0, kSwap = 1, kMissing = 2, kExtra = 3, kReplaced = 4 };

// The slip that turns `word` into `typed`, if one does.
Slip slip(std::string_view typed, std::string_view word) {
  if (typed == word) return kNone;
  size_t i = 0;
  while (i < typed.size() && i < word.size() && typed[i] == word[i]) ++i;
  if (typed.size() == word.size()) {
    if (i + 1 < typed.size() && typed[i] == word[i + 1] && typed[i + 1] == word[i] &&
        typed.substr(i + 2) == word.substr(i + 2)) {
      return kSwap;
    }
    if (typed.substr(i + 1) == word.substr(i + 1) &&
        (neighbours(typed[i], word[i]) || (vowel(typed[i]) && vowel(word[i])))) {
      return kReplaced;
    }
    return kNone;
  }
  if (typed.size() + 1 == word.size()) {
    return typed.substr(i) == word.substr(i + 1) ? kMissing : kNone;
  }
  if (typed.size() == word.size() + 1 && typed.substr(i + 1) == word.substr(i)) {
    const char extra = typed[i];
    const bool near =
        (i > 0 && (typed[i - 1] == extra || neighbours(typed[i - 1], extra))) ||
        (i + 1 < typed.size() && (typed[i + 1] == extra || neighbours(typed[i + 1], extra)));
    return near ? kExtra : kNone;
  }
  return kNone;
}

}  // namespace

std::string_view correct_word(std::string_view typed,
                              std::span<const std::string_view> vocabulary) {
  if (typed.size() < 3) return {};
  std::string_view best;
  int best_slip = kReplaced + 1;
  bool tie = false;
  for (std::string_view w : vocabulary) {
    if (w.size() + 1 < typed.size() || w.size() > typed.size() + 1) continue;
    const Slip s = slip(typed, w);
    if (s == kNone || (typed.size() == 3 && s != kSwap)) continue;
    if (s < best_slip) {
      best = w, best_slip = s, tie = false;
    } else if (s == best_slip && w != best) {
      tie = true;
    }
  }
  return tie ? std::string_view() : best;
}

}  // namespace peel::nl
