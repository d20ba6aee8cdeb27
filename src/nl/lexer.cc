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
constexpr std::u32string_view kHanWords[] = {U"一下", U"一起", U"一段", U"一点", U"一样", U"一些",
                                             U"一般", U"统一", U"单一", U"十分", U"一定", U"一直",
                                             U"一遍", U"一致", U"万一", U"归一"};

constexpr std::string_view kEnglishUnits[] = {
    "zero",     "one",     "two",     "three",     "four",     "five",    "six",
    "seven",    "eight",   "nine",    "ten",       "eleven",   "twelve",  "thirteen",
    "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
constexpr std::string_view kEnglishTens[] = {"twenty", "thirty",  "forty",  "fifty",
                                             "sixty",  "seventy", "eighty", "ninety"};
constexpr std::string_view kEnglishOrdinals[] = {"first", "second",  "third",  "fourth", "fifth",
                                                 "sixth", "seventh", "eighth", "ninth",  "tenth"};

struct Unit {
  std::u32string_view spelling;  // a word, or a Han sequence
  double seconds;
};

// Longest first where one spelling starts another ("分钟" before "分").
constexpr Unit kUnits[] = {{U"hours", 3600},
                           {U"hour", 3600},
                           {U"hrs", 3600},
                           {U"hr", 3600},
                           {U"h", 3600},
                           {U"minutes", 60},
                           {U"minute", 60},
                           {U"mins", 60},
                           {U"min", 60},
                           {U"m", 60},
                           {U"seconds", 1},
                           {U"second", 1},
                           {U"secs", 1},
                           {U"sec", 1},
                           {U"s", 1},
                           {U"milliseconds", 0.001},
                           {U"millisecond", 0.001},
                           {U"ms", 0.001},
                           {U"个小时", 3600},
                           {U"小时", 3600},
                           {U"个钟头", 3600},
                           {U"钟头", 3600},
                           {U"分钟", 60},
                           {U"分", 60},
                           {U"秒钟", 1},
                           {U"毫秒", 0.001},
                           {U"秒", 1}};

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

class Lexer {
 public:
  explicit Lexer(std::string_view sentence) {
    for (char32_t c : decode_utf8(sentence)) {
      typed_.push_back(fold(c, false));
      lower_.push_back(fold(c, true));
    }
  }

  std::vector<Token> run() {
    shape();
    protect_han_words();
    english_numbers();
    han_numbers();
    durations();
    values();
    return std::move(out_);
  }

 private:
  std::string typed(size_t b, size_t e) const {
    return encode_utf8(std::u32string_view(typed_).substr(b, e - b));
  }

  void push(Kind kind, std::string text, size_t b, size_t e) {
    Token t;
    t.kind = kind;
    t.text = std::move(text);
    t.shown = typed(b, e);
    t.begin = b;
    t.end = e;
    out_.push_back(std::move(t));
  }

  // A token of `kind` spanning out_[i, j), shown as typed.
  Token span(Kind kind, size_t i, size_t j) const {
    Token t;
    t.kind = kind;
    t.begin = out_[i].begin;
    t.end = out_[j - 1].end;
    t.shown = typed(t.begin, t.end);
    t.text = t.shown;
    return t;
  }

  // Pass 1: quotes, Han characters, chunks of everything else between spaces.
  void shape() {
    const size_t n = typed_.size();
    size_t i = 0;
    while (i < n) {
      const char32_t c = typed_[i];
      if (c == U' ') {
        ++i;
      } else if (c == U'"' || (c == U'\'' && opens_single_quote(i))) {
        size_t j = i + 1;
        while (j < n && typed_[j] != c) ++j;
        size_t b = i + 1, e = j;
        while (b < e && typed_[b] == U' ') ++b;
        while (e > b && typed_[e - 1] == U' ') --e;
        if (e > b) push(Kind::kQuoted, typed(b, e), b, e);
        i = j < n ? j + 1 : n;
      } else if (is_han(c) || is_syllabic(c)) {
        push(Kind::kHan, encode_utf8(std::u32string_view(&lower_[i], 1)), i, i + 1);
        ++i;
      } else if (breaks_chunk(c)) {
        push(Kind::kPunct, encode_utf8(std::u32string_view(&lower_[i], 1)), i, i + 1);
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
    for (size_t j = i + 2; j < typed_.size(); ++j) {
      if (typed_[j] == U'\'' &&
          (j + 1 == typed_.size() || breaks_chunk(typed_[j + 1]) || typed_[j + 1] == U'.')) {
        return true;
      }
    }
    return false;
  }

  bool looks_like_path(size_t b, size_t e) const {
    const std::u32string_view s = std::u32string_view(typed_).substr(b, e - b);
    if (s.starts_with(U"/") || s.starts_with(U"./") || s.starts_with(U"../") ||
        s.starts_with(U"~/") || (s.size() > 1 && s.ends_with(U"/"))) {
      return true;
    }
    const size_t dot = s.rfind(U'.');
    if (dot == std::u32string_view::npos || dot == 0 || dot + 1 == s.size()) return false;
    std::string ext;
    for (char32_t c : std::u32string_view(lower_).substr(b + dot + 1, e - b - dot - 1)) {
      if (c >= 0x80) return false;
      ext += static_cast<char>(c);
    }
    return is_media_extension(ext);
  }

  void chunk(size_t b, size_t e) {
    // Sentence punctuation glued to the last word is not part of a file name.
    while (e > b && (typed_[e - 1] == U'.' || typed_[e - 1] == U':' || typed_[e - 1] == U'\'')) {
      --e;
    }
    if (e == b) return;
    if (looks_like_path(b, e)) {
      push(Kind::kPath, typed(b, e), b, e);
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
        push(Kind::kPunct, encode_utf8(std::u32string_view(&lower_[i], 1)), i, i + 1);
        ++i;
      }
    }
  }

  // A run of letters and digits: kept whole when it is a name ("mp3"), else split where
  // letters meet digits ("320kbps", "1h30m", "2nd").
  void alnum(size_t b, size_t e) {
    const std::string word = encode_utf8(std::u32string_view(lower_).substr(b, e - b));
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
        push(Kind::kWord, encode_utf8(std::u32string_view(lower_).substr(i, j - i)), i, j);
      }
      i = j;
    }
  }

  void number_or_time(size_t b, size_t e) {
    const std::string s = encode_utf8(std::u32string_view(lower_).substr(b, e - b));
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

  // Pass 2: Han words that contain numerals but are not numbers become one token.
  void protect_han_words() {
    std::vector<Token> next;
    for (size_t i = 0; i < out_.size(); ++i) {
      bool merged = false;
      for (auto word : kHanWords) {
        if (han_sequence_at(i, word)) {
          next.push_back(span(Kind::kHan, i, i + word.size()));
          i += word.size() - 1;
          merged = true;
          break;
        }
      }
      if (!merged) next.push_back(std::move(out_[i]));
    }
    out_ = std::move(next);
  }

  bool han_sequence_at(size_t i, std::u32string_view word) const {
    if (i + word.size() > out_.size()) return false;
    for (size_t k = 0; k < word.size(); ++k) {
      const Token& t = out_[i + k];
      if (t.kind != Kind::kHan) return false;
      std::string c;
      append_utf8(c, word[k]);
      if (t.text != c) return false;
    }
    return true;
  }

  // Pass 3: "twenty-five", "one hundred and twenty", "fifteen".
  void english_numbers() {
    std::vector<Token> next;
    for (size_t i = 0; i < out_.size(); ++i) {
      const Token& t = out_[i];
      const int unit = t.kind == Kind::kWord ? index_in(t.text, kEnglishUnits) : -1;
      const int tens = t.kind == Kind::kWord ? index_in(t.text, kEnglishTens) : -1;
      if (unit < 0 && tens < 0) {
        next.push_back(t);
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
      Token n = span(Kind::kNumber, i, j);
      n.value = section + digit;
      next.push_back(std::move(n));
      i = j - 1;
    }
    out_ = std::move(next);
  }

  // Matches a literal (a word, or Han characters one token each) at i; returns its length.
  size_t literal_at(size_t i, std::u32string_view s) const {
    if (i >= out_.size()) return 0;
    if (!is_han(s.front())) {
      return out_[i].kind == Kind::kWord && out_[i].text == encode_utf8(s) ? 1 : 0;
    }
    return han_sequence_at(i, s) ? s.size() : 0;
  }

  // A unit at i: its length in tokens and its seconds.
  std::pair<size_t, double> unit_at(size_t i) const {
    for (const auto& u : kUnits) {
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

  // Pass 5: durations, compound ones included ("1 hour 30 minutes", "1分30秒", "1分30",
  // "1h2m3s"); "第2分钟" is the 2-minute mark.
  void durations() {
    std::vector<Token> next;
    for (size_t i = 0; i < out_.size(); ++i) {
      size_t start = word_at(i, "第") ? i + 1 : i;
      size_t end = 0;
      auto g = group(start, end);
      if (!g) {
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
      Token d = span(Kind::kDuration, i, end);
      d.micros = std::llround(total * 1e6);
      d.unit = groups == 1 ? std::llround(last_unit * 1e6) : 0;
      next.push_back(std::move(d));
      i = end - 1;
    }
    out_ = std::move(next);
  }

  // Pass 6: bitrates, sample rates and ordinals, each a number with its unit.
  void values() {
    struct Suffix {
      std::u32string_view spelling;
      Kind kind;
      double scale;
    };
    constexpr Suffix kSuffixes[] = {{U"kbps", Kind::kBitrate, 1000},
                                    {U"kbits", Kind::kBitrate, 1000},
                                    {U"kbit", Kind::kBitrate, 1000},
                                    {U"kbs", Kind::kBitrate, 1000},
                                    {U"kb", Kind::kBitrate, 1000},
                                    {U"kilobits", Kind::kBitrate, 1000},
                                    {U"kilobit", Kind::kBitrate, 1000},
                                    {U"k", Kind::kBitrate, 1000},
                                    {U"bps", Kind::kBitrate, 1},
                                    {U"mbps", Kind::kBitrate, 1e6},
                                    {U"千比特", Kind::kBitrate, 1000},
                                    {U"khz", Kind::kRate, 1000},
                                    {U"hz", Kind::kRate, 1},
                                    {U"千赫兹", Kind::kRate, 1000},
                                    {U"千赫", Kind::kRate, 1000},
                                    {U"赫兹", Kind::kRate, 1},
                                    {U"赫", Kind::kRate, 1},
                                    {U"st", Kind::kOrdinal, 1},
                                    {U"nd", Kind::kOrdinal, 1},
                                    {U"rd", Kind::kOrdinal, 1},
                                    {U"th", Kind::kOrdinal, 1}};
    std::vector<Token> next;
    for (size_t i = 0; i < out_.size(); ++i) {
      Token& t = out_[i];
      if (t.kind == Kind::kWord) {
        if (const int o = index_in(t.text, kEnglishOrdinals); o >= 0) {
          t.kind = Kind::kOrdinal;
          t.value = o + 1;
        }
      }
      if (word_at(i, "第") && i + 1 < out_.size() && out_[i + 1].kind == Kind::kNumber) {
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

  std::u32string typed_;  // folded, case kept: file names and quotes
  std::u32string lower_;  // folded and lower case: everything matched
  std::vector<Token> out_;
};

}  // namespace

bool is_media_extension(std::string_view ext) { return in(ext, kMediaExtensions); }

std::vector<Token> lex(std::string_view sentence) { return Lexer(sentence).run(); }

bool is_media_file_name(std::string_view name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  std::string ext(name.substr(dot + 1));
  for (auto& c : ext) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return is_media_extension(ext);
}

}  // namespace peel::nl
