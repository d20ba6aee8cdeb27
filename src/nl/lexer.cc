// Reads a sentence into tokens: first the shape (words, Han characters, quotes, file names),
// then the values (numbers in words or digits, durations, bitrates, rates, ordinals).
#include "nl/lexer.h"

#include <charconv>
#include <cmath>
#include <optional>

#include "nl/text.h"
#include "peel/nl.h"

namespace peel::nl {

namespace {

constexpr std::string_view kMediaExtensions[] = {
    "mkv",  "mp4", "mov", "avi",  "webm", "m4v", "ts",   "mts", "m2ts", "flv", "wmv",  "mpg",
    "mpeg", "3gp", "ogv", "vob",  "mxf",  "mp3", "m4a",  "aac", "flac", "wav", "opus", "ogg",
    "oga",  "mka", "wma", "aiff", "aif",  "ac3", "eac3", "dts", "pcm",  "raw", "alac", "caf"};

// Letter-digit words that must not be split into a word and a number.
constexpr std::string_view kWholeWords[] = {"mp3",  "m4a", "mp4",  "m4v",  "3gp",  "3g2",  "ac3",
                                            "eac3", "mp2", "h264", "h265", "x264", "x265", "s16",
                                            "s24",  "s32", "f32",  "mp3s", "m2ts"};

// Han words holding a numeral that are not numbers ("一下" = "for a moment").
constexpr std::string_view kHanWords[] = {"一下", "一起", "一段", "一点", "一样", "一些",
                                          "一般", "统一", "单一", "十分", "一定", "一直",
                                          "一遍", "一致", "万一", "归一"};

constexpr std::string_view kEnglishUnits[] = {
    "zero",     "one",     "two",     "three",     "four",     "five",    "six",
    "seven",    "eight",   "nine",    "ten",       "eleven",   "twelve",  "thirteen",
    "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
constexpr std::string_view kEnglishTens[] = {"twenty", "thirty",  "forty",  "fifty",
                                             "sixty",  "seventy", "eighty", "ninety"};
constexpr std::string_view kEnglishOrdinals[] = {"first", "second",  "third",  "fourth", "fifth",
                                                 "sixth", "seventh", "eighth", "ninth",  "tenth"};

struct Unit {
  std::string_view spelling;  // a word, or Han characters
  double seconds;
};

// Longest first where one spelling starts another ("分钟" before "分").
constexpr Unit kUnits[] = {{"hours", 3600},
                           {"hour", 3600},
                           {"hrs", 3600},
                           {"hr", 3600},
                           {"h", 3600},
                           {"minutes", 60},
                           {"minute", 60},
                           {"mins", 60},
                           {"min", 60},
                           {"m", 60},
                           {"seconds", 1},
                           {"second", 1},
                           {"secs", 1},
                           {"sec", 1},
                           {"s", 1},
                           {"milliseconds", 0.001},
                           {"millisecond", 0.001},
                           {"ms", 0.001},
                           {"个小时", 3600},
                           {"小时", 3600},
                           {"个钟头", 3600},
                           {"钟头", 3600},
                           {"分钟", 60},
                           {"分", 60},
                           {"秒钟", 1},
                           {"毫秒", 0.001},
                           {"秒", 1}};

struct Suffix {
  std::string_view spelling;
  Kind kind;
  double scale;
};

constexpr Suffix kSuffixes[] = {{"kbps", Kind::kBitrate, 1000},
                                {"kbits", Kind::kBitrate, 1000},
                                {"kbit", Kind::kBitrate, 1000},
                                {"kbs", Kind::kBitrate, 1000},
                                {"kb", Kind::kBitrate, 1000},
                                {"kilobits", Kind::kBitrate, 1000},
                                {"kilobit", Kind::kBitrate, 1000},
                                {"k", Kind::kBitrate, 1000},
                                {"bps", Kind::kBitrate, 1},
                                {"mbps", Kind::kBitrate, 1e6},
                                {"千比特", Kind::kBitrate, 1000},
                                {"khz", Kind::kRate, 1000},
                                {"hz", Kind::kRate, 1},
                                {"千赫兹", Kind::kRate, 1000},
                                {"千赫", Kind::kRate, 1000},
                                {"赫兹", Kind::kRate, 1},
                                {"赫", Kind::kRate, 1},
                                {"st", Kind::kOrdinal, 1},
                                {"nd", Kind::kOrdinal, 1},
                                {"rd", Kind::kOrdinal, 1},
                                {"th", Kind::kOrdinal, 1}};

// A unit said as a word before its number ("minute 3", "seconds 5-10"), or after an ordinal
// ("the 10th second"): the spelled-out ones only, never "m" or "s".
bool is_unit_word(std::string_view w) {
  return w.size() >= 3 && static_cast<unsigned char>(w.front()) < 0x80 && w != "ms";
}

bool in(std::string_view s, const auto& list) {
  for (const auto& item : list) {
    if (s == item) return true;
  }
  return false;
}

template <class List>
int index_in(std::string_view s, const List& list) {
  int i = 0;
  for (const auto& item : list) {
    if (s == item) return i;
    ++i;
  }
  return -1;
}

bool is_ascii_letter(char32_t c) { return c >= U'a' && c <= U'z'; }
bool is_digit(char32_t c) { return c >= U'0' && c <= U'9'; }
// Letters of other alphabets: part of words, never understood, so reported as typed.
bool is_other_letter(char32_t c) {
  return (c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7) || (c >= 0x370 && c <= 0x52F);
}
// Kana and Hangul: one token per character like Han, and like unknown Han reported.
bool is_syllabic(char32_t c) {
  return (c >= 0x3040 && c <= 0x30FF) || (c >= 0xAC00 && c <= 0xD7AF);
}
bool breaks_chunk(char32_t c) {
  return c == U' ' || c == U'"' || is_han(c) || is_syllabic(c) || c == U',' || c == U';' ||
         c == U'!' || c == U'?' || c == U'(' || c == U')' || c == U'[' || c == U']' || c == U'{' ||
         c == U'}' || c == U'<' || c == U'>';
}

std::optional<double> parse_number(std::string_view digits) {
  double v = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

// Quote marks that open a quotation, and the marks that close each: people mix ASCII and
// curly quotes, so a curly or ASCII double quote closes either.
bool opens_double_quote(char32_t c) {
  return c == U'"' || c == 0xFF02 || c == 0x201C || c == 0x300C || c == 0x300E || c == 0x300A;
}
bool closes_quote(char32_t open, char32_t c) {
  switch (open) {
    case 0x300C:
      return c == 0x300D;  // 「」
    case 0x300E:
      return c == 0x300F;  // 『』
    case 0x300A:
      return c == 0x300B;  // 《》
    default:
      return c == U'"' || c == 0xFF02 || c == 0x201C || c == 0x201D;
  }
}

class Lexer {
 public:
  explicit Lexer(std::string_view sentence) : sentence_(sentence) {
    orig_ = decode_utf8(sentence, &offsets_);
    typed_.reserve(orig_.size());
    lower_.reserve(orig_.size());
    for (char32_t c : orig_) {
      typed_.push_back(fold(c, false));
      lower_.push_back(fold(c, true));
    }
    // Where a closing single quote can be found, from each position on: one pass from the
    // right keeps the test for an opening one constant-time.
    closer_from_.assign(typed_.size() + 1, typed_.size());
    for (size_t j = typed_.size(); j-- > 0;) {
      const bool closer =
          typed_[j] == U'\'' &&
          (j + 1 == typed_.size() || breaks_chunk(typed_[j + 1]) || typed_[j + 1] == U'.');
      closer_from_[j] = closer ? j : closer_from_[j + 1];
    }
  }

  std::vector<Token> run() {
    shape();
    protect_han_words();
    english_numbers();
    han_numbers();
    durations();
    values();
    for (size_t k = 0; k < out_.size(); ++k) {
      Token& t = out_[k];
      if (k == 0) continue;
      const size_t gap_begin = out_[k - 1].end;
      t.glued = t.begin == gap_begin;
      t.spaced = !t.glued && gap_begin < t.begin;
      for (size_t c = gap_begin; t.spaced && c < t.begin; ++c) t.spaced = typed_[c] == U' ';
    }
    return std::move(out_);
  }

 private:
  std::string lower(size_t b, size_t e) const {
    return encode_utf8(std::u32string_view(lower_).substr(b, e - b));
  }
  // The bytes typed for code points [b, e): names and messages quote these, never a fold.
  std::string raw(size_t b, size_t e) const {
    return std::string(sentence_.substr(offsets_[b], offsets_[e] - offsets_[b]));
  }

  bool han_in(size_t b, size_t e) const {
    for (size_t k = b; k < e; ++k) {
      if (is_han(typed_[k]) || is_syllabic(typed_[k])) return true;
    }
    return false;
  }

  void push(Kind kind, std::string text, size_t b, size_t e) {
    Token t;
    t.kind = kind;
    t.text = std::move(text);
    t.shown = raw(b, e);
    t.begin = b;
    t.end = e;
    t.byte_begin = offsets_[b];
    t.byte_end = offsets_[e];
    t.han = kind != Kind::kQuoted && kind != Kind::kPath && han_in(b, e);
    out_.push_back(std::move(t));
  }

  // A token of `kind` spanning out_[i, j).
  Token span(Kind kind, size_t i, size_t j) const {
    Token t;
    t.kind = kind;
    t.begin = out_[i].begin;
    t.end = out_[j - 1].end;
    t.byte_begin = out_[i].byte_begin;
    t.byte_end = out_[j - 1].byte_end;
    t.shown = raw(t.begin, t.end);
    t.text = lower(t.begin, t.end);
    for (size_t k = i; k < j; ++k) t.han = t.han || out_[k].han;
    return t;
  }

  // Pass 1: quotes, Han characters, chunks of everything else between spaces.
  void shape() {
    const size_t n = typed_.size();
    size_t i = 0;
    while (i < n) {
      const char32_t c = typed_[i];
      const bool single = c == U'\'' && opens_single_quote(i);
      if (c == U' ') {
        ++i;
      } else if (opens_double_quote(orig_[i]) || single) {
        size_t j = i + 1;
        if (single) {
          j = closer_from_[i + 1];
        } else {
          while (j < n && !closes_quote(orig_[i], orig_[j])) ++j;
        }
        size_t b = i + 1, e = j;
        while (b < e && typed_[b] == U' ') ++b;
        while (e > b && typed_[e - 1] == U' ') --e;
        if (e > b) push(Kind::kQuoted, raw(b, e), b, e);
        i = j < n ? j + 1 : n;
      } else if (c == U'"') {
        ++i;  // a closing mark without its opening one
      } else if (is_han(c) || is_syllabic(c)) {
        push(Kind::kHan, lower(i, i + 1), i, i + 1);
        ++i;
      } else if (breaks_chunk(c)) {
        push(Kind::kPunct, lower(i, i + 1), i, i + 1);
        ++i;
      } else {
        size_t j = i;
        while (j < n && !breaks_chunk(typed_[j]) && !(typed_[j] == U'\'' && j == i)) ++j;
        if (j == i) ++j;
        chunk(i, j);
        i = j;
      }
    }
  }

  // A single quote opens a quotation at a word start when a closing one ends a word later;
  // otherwise it is an apostrophe ("director's").
  bool opens_single_quote(size_t i) const {
    if (i > 0 && typed_[i - 1] != U' ') return false;
    return i + 2 <= typed_.size() && closer_from_[i + 2] < typed_.size();
  }

  // The extension after the last dot of [b, e), lower case ASCII, or empty.
  std::string extension(size_t b, size_t e) const {
    const std::u32string_view s = std::u32string_view(lower_).substr(b, e - b);
    const size_t dot = s.rfind(U'.');
    if (dot == std::u32string_view::npos || dot + 1 == s.size()) return "";
    std::string ext;
    for (char32_t c : s.substr(dot + 1)) {
      if (c >= 0x80) return "";
      ext += static_cast<char>(c);
    }
    return ext;
  }

  bool looks_like_path(size_t b, size_t e) const {
    const std::u32string_view s = std::u32string_view(typed_).substr(b, e - b);
    if (s.starts_with(U"/") || s.starts_with(U"./") || s.starts_with(U"../") ||
        s.starts_with(U"~/") || (s.size() > 1 && s.ends_with(U"/"))) {
      return true;
    }
    const size_t dot = s.rfind(U'.');
    if (dot == std::u32string_view::npos || dot == 0) return false;
    return is_media_extension(extension(b, e));
  }

  // "dir/my", "C:\videos\a": a piece of a path that is not a whole name.
  bool path_fragment(size_t b, size_t e) const {
    if (e - b >= 2 && lower_[e - 2] == U'/' && lower_[e - 1] == U's') return false;  // kbit/s
    for (size_t k = b + 1; k + 1 < e; ++k) {
      if ((typed_[k] == U'/' || typed_[k] == U'\\') &&
          !(is_digit(typed_[k - 1]) && is_digit(typed_[k + 1]))) {
        return true;
      }
    }
    return false;
  }

  void path(size_t b, size_t e, bool stemless = false) {
    push(Kind::kPath, raw(b, e), b, e);
    out_.back().stemless = stemless;
  }

  void chunk(size_t b, size_t e) {
    // Sentence punctuation glued to the last word is not part of a file name.
    while (e > b && (typed_[e - 1] == U'.' || typed_[e - 1] == U':' || typed_[e - 1] == U'\'')) {
      --e;
    }
    if (e == b) return;
    // "x.mp4's audio": the possessive is not part of the name.
    if (e - b > 2 && lower_[e - 1] == U's' && typed_[e - 2] == U'\'' && looks_like_path(b, e - 2)) {
      path(b, e - 2);
      return;
    }
    if (looks_like_path(b, e)) {
      path(b, e);
      return;
    }
    // ".mp4" right after Han: "把视频.mp4转成mp3" names a file whose stem is Han.
    if (typed_[b] == U'.' && b > 0 && (is_han(typed_[b - 1]) || is_syllabic(typed_[b - 1])) &&
        is_media_extension(extension(b, e)) &&
        std::u32string_view(typed_).substr(b + 1, e - b - 1).find(U'.') ==
            std::u32string_view::npos) {
      path(b, e, true);
      return;
    }
    if (path_fragment(b, e)) {
      push(Kind::kWord, lower(b, e), b, e);
      return;
    }
    size_t i = b;
    while (i < e) {
      const char32_t c = lower_[i];
      if (is_ascii_letter(c) || is_digit(c) || is_other_letter(c)) {
        size_t j = i;
        while (j < e &&
               (is_ascii_letter(lower_[j]) || is_digit(lower_[j]) || is_other_letter(lower_[j]) ||
                (lower_[j] == U'\'' && j + 1 < e && is_ascii_letter(lower_[j + 1]) && j > i &&
                 is_ascii_letter(lower_[j - 1])) ||
                ((lower_[j] == U'.' || lower_[j] == U':') && j > i && j + 1 < e &&
                 is_digit(lower_[j - 1]) && is_digit(lower_[j + 1])))) {
          ++j;
        }
        alnum(i, j);
        i = j;
      } else if (c == U'-' && i > b && i + 1 < e && is_ascii_letter(lower_[i - 1]) &&
                 is_ascii_letter(lower_[i + 1])) {
        ++i;  // "high-quality", "re-encode": one phrase either way
      } else {
        push(Kind::kPunct, lower(i, i + 1), i, i + 1);
        ++i;
      }
    }
  }

  // A run of letters and digits: kept whole when it is a name ("mp3"), else split where
  // letters meet digits ("320kbps", "1h30m", "2nd").
  void alnum(size_t b, size_t e) {
    const std::string word = lower(b, e);
    if (in(word, kWholeWords)) {
      push(Kind::kWord, word, b, e);
      return;
    }
    size_t i = b;
    while (i < e) {
      size_t j = i;
      if (is_digit(lower_[i])) {
        while (j < e && (is_digit(lower_[j]) || lower_[j] == U'.' || lower_[j] == U':')) ++j;
        number_or_time(i, j);
      } else {
        while (j < e && !is_digit(lower_[j])) ++j;
        push(Kind::kWord, lower(i, j), i, j);
      }
      i = j;
    }
  }

  void number_or_time(size_t b, size_t e) {
    const std::string s = lower(b, e);
    if (s.find(':') != std::string::npos) {
      if (auto t = parse_time(s); t.ok()) {
        push(Kind::kTime, s, b, e);
        out_.back().micros = *t;
        return;
      }
    } else if (auto v = parse_number(s)) {
      push(Kind::kNumber, s, b, e);
      out_.back().value = *v;
      return;
    }
    push(Kind::kWord, s, b, e);
  }

  // Matches a literal at i: a word, or Han characters over one token or several; returns
  // the number of tokens it covers. Compares bytes: no decoding, no allocation.
  size_t literal_at(size_t i, std::string_view s) const {
    if (i >= out_.size() || s.empty()) return 0;
    if (static_cast<unsigned char>(s.front()) < 0x80) {
      return out_[i].kind == Kind::kWord && out_[i].text == s ? 1 : 0;
    }
    size_t k = i;
    while (!s.empty()) {
      if (k >= out_.size() || out_[k].kind != Kind::kHan || out_[k].text.empty() ||
          !s.starts_with(out_[k].text)) {
        return 0;
      }
      s.remove_prefix(out_[k].text.size());
      ++k;
    }
    return k - i;
  }

  // Pass 2: Han words that contain numerals but are not numbers become one token.
  void protect_han_words() {
    std::vector<Token> next;
    next.reserve(out_.size());
    for (size_t i = 0; i < out_.size(); ++i) {
      size_t len = 0;
      for (auto word : kHanWords) {
        if ((len = literal_at(i, word)) > 0) break;
      }
      if (len > 0) {
        next.push_back(span(Kind::kHan, i, i + len));
        i += len - 1;
      } else {
        next.push_back(std::move(out_[i]));
      }
    }
    out_ = std::move(next);
  }

  // Pass 3: "twenty-five", "one hundred and twenty", "fifteen".
  void english_numbers() {
    std::vector<Token> next;
    next.reserve(out_.size());
    for (size_t i = 0; i < out_.size(); ++i) {
      const Token& t = out_[i];
      const int unit = t.kind == Kind::kWord ? index_in(t.text, kEnglishUnits) : -1;
      const int tens = t.kind == Kind::kWord ? index_in(t.text, kEnglishTens) : -1;
      if (unit < 0 && tens < 0) {
        next.push_back(std::move(out_[i]));
        continue;
      }
      double value = unit >= 0 ? unit : (tens + 2) * 10;
      size_t j = i + 1;
      if (tens >= 0 && j < out_.size() && out_[j].kind == Kind::kWord) {
        const int u = index_in(out_[j].text, kEnglishUnits);
        if (u >= 1 && u <= 9) value += u, ++j;
      }
      if (j < out_.size() && out_[j].kind == Kind::kWord && out_[j].text == "hundred") {
        value *= 100;
        ++j;
      }
      Token n = span(Kind::kNumber, i, j);
      n.value = value;
      next.push_back(std::move(n));
      i = j - 1;
    }
    out_ = std::move(next);
  }

  static int han_digit(const std::string& c) {
    constexpr std::string_view kDigits[] = {"零", "一", "二", "三", "四",
                                            "五", "六", "七", "八", "九"};
    if (c == "〇") return 0;
    if (c == "两") return 2;
    return index_in(c, kDigits);
  }

  // Pass 4: "十五", "二十", "两", "一百二十".
  void han_numbers() {
    std::vector<Token> next;
    next.reserve(out_.size());
    for (size_t i = 0; i < out_.size(); ++i) {
      auto is_numeral = [&](size_t k) {
        return k < out_.size() && out_[k].kind == Kind::kHan &&
               (han_digit(out_[k].text) >= 0 || out_[k].text == "十" || out_[k].text == "百");
      };
      if (!is_numeral(i)) {
        next.push_back(std::move(out_[i]));
        continue;
      }
      size_t j = i;
      double section = 0;
      double digit = 0;
      while (is_numeral(j)) {
        const std::string& c = out_[j].text;
        if (c == "十") {
          section += (digit == 0 ? 1 : digit) * 10, digit = 0;
        } else if (c == "百") {
          section += digit * 100, digit = 0;
        } else {
          digit = digit * 10 + han_digit(c);  // "二零" read digit by digit
          if (digit > 1e9) break;
        }
        ++j;
      }
      if (j == i) j = i + 1;
      Token n = span(Kind::kNumber, i, j);
      n.value = section + digit;
      next.push_back(std::move(n));
      i = j - 1;
    }
    out_ = std::move(next);
  }

  // A unit at i: its length in tokens and its seconds.
  std::pair<size_t, double> unit_at(size_t i) const {
    for (const auto& u : kUnits) {
      if (const size_t len = literal_at(i, u.spelling)) return {len, u.seconds};
    }
    return {0, 0};
  }

  // A unit said in full ("minute", "seconds", "分钟"; not "m" or "s") at i.
  std::pair<size_t, double> unit_word_at(size_t i) const {
    for (const auto& u : kUnits) {
      if (static_cast<unsigned char>(u.spelling.front()) < 0x80 && !is_unit_word(u.spelling)) {
        continue;
      }
      if (const size_t len = literal_at(i, u.spelling)) return {len, u.seconds};
    }
    return {0, 0};
  }

  bool word_at(size_t i, std::string_view w) const {
    return i < out_.size() && (out_[i].kind == Kind::kWord || out_[i].kind == Kind::kHan) &&
           out_[i].text == w;
  }

  // One number and unit from i: "2 minutes", "2-minute", "a minute", "half an hour",
  // "one and a half hours", "两个半小时", "2分半", "半分钟". Sets `end` past it.
  std::optional<std::pair<double, double>> group(size_t i, size_t& end) const {
    double v = 0;
    size_t j = i;
    if (j < out_.size() && out_[j].kind == Kind::kNumber) {
      v = out_[j].value, ++j;
    } else if (word_at(j, "a") || word_at(j, "an")) {
      v = 1, ++j;
    } else if (word_at(j, "half") || word_at(j, "半")) {
      v = 0.5, ++j;
      if (word_at(j, "a") || word_at(j, "an")) ++j;
    } else {
      return std::nullopt;
    }
    if (j < out_.size() && out_[j].kind == Kind::kPunct && out_[j].text == "-") ++j;
    if (word_at(j, "and") && word_at(j + 1, "a") && word_at(j + 2, "half")) v += 0.5, j += 3;
    if (word_at(j, "个") && word_at(j + 1, "半")) v += 0.5, j += 2;
    const auto [len, seconds] = unit_at(j);
    if (len == 0) return std::nullopt;
    j += len;
    if (word_at(j, "半")) v += 0.5, ++j;
    if (word_at(j, "and") && word_at(j + 1, "a") && word_at(j + 2, "half")) v += 0.5, j += 3;
    end = j;
    return std::pair{v, seconds};
  }

  Token duration(size_t i, size_t end, double total, double unit) const {
    Token d = span(Kind::kDuration, i, end);
    d.micros = std::llround(total * 1e6);
    d.unit = std::llround(unit * 1e6);
    return d;
  }

  // Pass 5: durations, compound ones included ("1 hour 30 minutes", "1分30秒", "1分30",
  // "1h2m3s"); "第2分钟" is the 2-minute mark, and so is "minute 2".
  void durations() {
    std::vector<Token> next;
    next.reserve(out_.size());
    for (size_t i = 0; i < out_.size(); ++i) {
      size_t start = word_at(i, "第") ? i + 1 : i;
      size_t end = 0;
      auto g = group(start, end);
      if (!g) {
        // "minute 3", "seconds 5-10": the unit first, then a number that has no unit itself.
        const auto [len, seconds] = unit_word_at(i);
        size_t after = 0;
        if (len > 0 && i + len < out_.size() && out_[i + len].kind == Kind::kNumber &&
            !group(i + len, after) && out_[i + len].value * seconds < 1e9) {
          next.push_back(duration(i, i + len + 1, out_[i + len].value * seconds, seconds));
          i += len;
          continue;
        }
        next.push_back(std::move(out_[i]));
        continue;
      }
      double total = g->first * g->second;
      double last_unit = g->second;
      int groups = 1;
      for (;;) {
        size_t k = end;
        if (word_at(k, "and") ||
            (k < out_.size() && out_[k].kind == Kind::kPunct && out_[k].text == ",")) {
          ++k;
        }
        size_t e2 = 0;
        auto g2 = group(k, e2);
        if (g2 && g2->second < last_unit) {
          total += g2->first * g2->second, last_unit = g2->second, end = e2, ++groups;
          continue;
        }
        // "1分30", "1h30": a bare number after a unit counts in the next smaller unit.
        if (!g2 && k == end && k < out_.size() && out_[k].kind == Kind::kNumber &&
            last_unit >= 60 && unit_at(k + 1).first == 0) {
          total += out_[k].value * (last_unit / 60), end = k + 1, ++groups;
        }
        break;
      }
      if (!(total >= 0 && total < 1e9)) {
        next.push_back(std::move(out_[i]));
        continue;
      }
      next.push_back(duration(i, end, total, groups == 1 ? last_unit : 0));
      i = end - 1;
    }
    out_ = std::move(next);
  }

  // After an ordinal at i (ending before j): a unit makes it a mark ("the 10th second",
  // "the third minute" = 0:10, 3:00). "First" keeps its own reading ("the first minute").
  bool ordinal_mark(std::vector<Token>& next, size_t i, size_t j, double value) {
    if (word_at(i, "first")) return false;
    const auto [len, seconds] = unit_word_at(j);
    if (len == 0 || !(value * seconds < 1e9)) return false;
    next.push_back(duration(i, j + len, value * seconds, seconds));
    return true;
  }

  // Pass 6: bitrates, sample rates and ordinals, each a number with its unit.
  void values() {
    std::vector<Token> next;
    next.reserve(out_.size());
    for (size_t i = 0; i < out_.size(); ++i) {
      Token& t = out_[i];
      if (t.kind == Kind::kWord) {
        if (const int o = index_in(t.text, kEnglishOrdinals); o >= 0) {
          if (ordinal_mark(next, i, i + 1, o + 1)) {
            i = skip_to(i, next.back().end);
            continue;
          }
          t.kind = Kind::kOrdinal;
          t.value = o + 1;
        }
      }
      if (word_at(i, "第") && i + 1 < out_.size() && out_[i + 1].kind == Kind::kNumber) {
        if (ordinal_mark(next, i, i + 2, out_[i + 1].value)) {
          i = skip_to(i, next.back().end);
          continue;
        }
        Token o = span(Kind::kOrdinal, i, i + 2);
        o.value = out_[i + 1].value;
        next.push_back(std::move(o));
        ++i;
        continue;
      }
      if (t.kind != Kind::kNumber) {
        next.push_back(std::move(t));
        continue;
      }
      bool done = false;
      for (const auto& s : kSuffixes) {
        size_t j = i + 1;
        // "24 k", "44.1 kHz", "320kbit/s"
        const size_t len = literal_at(j, s.spelling);
        if (len == 0) continue;
        if (s.kind == Kind::kOrdinal && t.value != std::floor(t.value)) continue;
        j += len;
        if (s.kind == Kind::kBitrate && j + 1 < out_.size() && out_[j].text == "/" &&
            out_[j + 1].text == "s") {
          j += 2;
        }
        if (s.kind == Kind::kOrdinal && ordinal_mark(next, i, j, t.value)) {
          i = skip_to(i, next.back().end);
          done = true;
          break;
        }
        Token v = span(s.kind, i, j);
        v.value = t.value * s.scale;
        next.push_back(std::move(v));
        i = j - 1;
        done = true;
        break;
      }
      if (!done) next.push_back(std::move(t));
    }
    out_ = std::move(next);
  }

  // The index of the last token that ends at code point `end`, from i on.
  size_t skip_to(size_t i, size_t end) const {
    while (i + 1 < out_.size() && out_[i].end < end) ++i;
    return i;
  }

  std::string_view sentence_;
  std::vector<size_t> offsets_;  // byte offset of each code point, and the length last
  std::u32string orig_;          // as typed: which quote mark opened a quotation
  std::u32string typed_;         // folded, case kept: the shape of the sentence
  std::u32string lower_;         // folded and lower case: everything matched
  std::vector<size_t> closer_from_;
  std::vector<Token> out_;
};

}  // namespace

bool is_media_extension(std::string_view ext) { return in(ext, kMediaExtensions); }

std::vector<Token> lex(std::string_view sentence) { return Lexer(sentence).run(); }

void lexer_words(std::vector<std::string_view>& out) {
  for (const auto& u : kUnits) {
    if (is_unit_word(u.spelling)) out.push_back(u.spelling);
  }
  for (auto w : kEnglishUnits) out.push_back(w);
  for (auto w : kEnglishTens) out.push_back(w);
  for (auto w : kEnglishOrdinals) out.push_back(w);
  for (const auto& s : kSuffixes) {
    if (s.spelling.size() >= 3 && static_cast<unsigned char>(s.spelling.front()) < 0x80) {
      out.push_back(s.spelling);
    }
  }
  out.insert(out.end(), {"hundred", "half", "and"});
}

bool is_media_file_name(std::string_view name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  std::string ext(name.substr(dot + 1));
  for (auto& c : ext) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return is_media_extension(ext);
}

}  // namespace peel::nl
