// understand(): reads the sentence's tokens with phrase rules, most specific first, then
// applies the quality words per format and checks what is left over, conflicting or missing.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bitset>
#include <cmath>
#include <functional>
#include <optional>
#include <unordered_set>

#include "nl/explain.h"
#include "nl/lexer.h"
#include "nl/text.h"
#include "nl/typo.h"
#include "nl/vocabulary.h"
#include "engine/format_table.h"
#include "peel/nl.h"

namespace peel::nl {

namespace {

enum class Intent { kHigh, kSmall, kTranscription, kPodcast };

// Settings that can be said twice; saying two different values is a contradiction.
enum class Field {
  kFormat,
  kCopy,
  kFrom,
  kTo,
  kDuration,
  kFromEnd,
  kTrack,
  kLang,
  kTitle,
  kAll,
  kBitrate,
  kQuality,
  kRate,
  kChannels,
  kSampleFormat,
  kLoudness,
  kOutput,
  kOutDir,
  kIntent,
  kCount
};

struct Match {
  size_t begin = 0;
  size_t end = 0;
  std::vector<size_t> slots;  // token indices of the @slots, in pattern order
  std::string shown;          // the matched words as typed
};

struct Problem {
  Outcome kind;
  std::string text;
};

enum class Slot : uint8_t {
  kNone,  // a literal word
  kDur,
  kTime,
  kPoint,
  kNum,
  kOrd,
  kBitrate,
  kRate,
  kPath,
  kQuoted,
  kFile,
  kWord,
  kExt
};

Slot slot_named(std::string_view s) {
  constexpr std::pair<std::string_view, Slot> kSlots[] = {
      {"dur", Slot::kDur},   {"time", Slot::kTime}, {"point", Slot::kPoint},
      {"num", Slot::kNum},   {"ord", Slot::kOrd},   {"bitrate", Slot::kBitrate},
      {"rate", Slot::kRate}, {"path", Slot::kPath}, {"quoted", Slot::kQuoted},
      {"file", Slot::kFile}, {"word", Slot::kWord}, {"ext", Slot::kExt}};
  for (const auto& [name, slot] : kSlots) {
    if (s == name) return slot;
  }
  return Slot::kNone;
}

struct Alt {
  std::string_view text;  // a literal: an ASCII word or mark, or Han characters
  Slot slot = Slot::kNone;
};

struct Element {
  std::vector<Alt> alts;
  bool optional = false;
};

// A phrase pattern: elements separated by spaces, alternatives by "|", "?" marks an optional
// element, "@slot" a value token. Compiled once per rule, with a filter on the first token:
// the bucket of each literal the phrase can start with, and the kinds its slots take.
struct Pattern {
  std::vector<Element> elements;
  std::bitset<256> first;
  uint32_t first_kinds = 0;  // bits of Kind
  bool any_first = false;
};

// A small hash for the first-token filter: of a whole ASCII word (a literal matches such a
// token only when equal), of the first character of Han (a literal may span several tokens).
uint8_t bucket(std::string_view s) {
  if (s.empty()) return 0;
  if (static_cast<unsigned char>(s[0]) >= 0x80) s = s.substr(0, 3);
  uint32_t h = 2166136261u;  // FNV-1a
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return static_cast<uint8_t>(h ^ (h >> 8) ^ (h >> 16) ^ (h >> 24));
}

uint32_t kind_bit(Kind k) { return 1u << static_cast<unsigned>(k); }

uint32_t slot_kinds(Slot s) {
  switch (s) {
    case Slot::kDur:
      return kind_bit(Kind::kDuration);
    case Slot::kTime:
      return kind_bit(Kind::kDuration) | kind_bit(Kind::kTime);
    case Slot::kPoint:
      return kind_bit(Kind::kDuration) | kind_bit(Kind::kTime) | kind_bit(Kind::kNumber) |
             kind_bit(Kind::kOrdinal);
    case Slot::kNum:
      return kind_bit(Kind::kNumber);
    case Slot::kOrd:
      return kind_bit(Kind::kOrdinal);
    case Slot::kBitrate:
      return kind_bit(Kind::kBitrate);
    case Slot::kRate:
      return kind_bit(Kind::kRate);
    case Slot::kPath:
      return kind_bit(Kind::kPath);
    case Slot::kQuoted:
      return kind_bit(Kind::kQuoted);
    case Slot::kFile:
      return kind_bit(Kind::kPath) | kind_bit(Kind::kQuoted);
    case Slot::kWord:
    case Slot::kExt:
      return kind_bit(Kind::kWord);
    case Slot::kNone:
      break;
  }
  return 0;
}

bool is_ascii(std::string_view s) { return !s.empty() && static_cast<unsigned char>(s[0]) < 0x80; }

bool in_list(std::string_view w, const auto& list) {
  for (std::string_view x : list) {
    if (w == x) return true;
  }
  return false;
}

// Compiles one pattern.
Pattern compile(std::string_view pattern) {
  Pattern p;
  size_t i = 0;
  while (i < pattern.size()) {
    size_t j = pattern.find(' ', i);
    if (j == std::string_view::npos) j = pattern.size();
    std::string_view e = pattern.substr(i, j - i);
    Element el;
    el.optional = e.size() > 1 && e.back() == '?';
    if (el.optional) e.remove_suffix(1);
    for (;;) {
      const size_t bar = e.find('|');
      const std::string_view a = e.substr(0, bar);
      el.alts.push_back(
          {a, a.size() > 1 && a.front() == '@' ? slot_named(a.substr(1)) : Slot::kNone});
      if (bar == std::string_view::npos) break;
      e.remove_prefix(bar + 1);
    }
    p.elements.push_back(std::move(el));
    i = j + 1;
  }
  p.any_first = true;
  for (const auto& el : p.elements) {
    for (const auto& a : el.alts) {
      if (a.slot != Slot::kNone) {
        p.first_kinds |= slot_kinds(a.slot);
      } else {
        p.first.set(bucket(a.text));
      }
    }
    if (!el.optional) {
      p.any_first = false;
      break;
    }
  }
  return p;
}

// The patterns of one rule, compiled, with the union of their first-token filters and the
// literals they hold (the vocabulary typos are matched against).
struct Rule {
  std::vector<Pattern> patterns;
  Pattern any;
  std::vector<std::string_view> vocabulary;

  template <class Texts>
  explicit Rule(const Texts& texts) {
    for (std::string_view text : texts) {
      patterns.push_back(compile(text));
      const Pattern& p = patterns.back();
      any.first |= p.first;
      any.first_kinds |= p.first_kinds;
      any.any_first = any.any_first || p.any_first;
      for (const auto& el : p.elements) {
        for (const auto& a : el.alts) {
          if (a.slot == Slot::kNone && a.text.size() >= 3) vocabulary.push_back(a.text);
        }
      }
    }
  }
};

// The Rule of one call site, compiled on first use and read-only after: `make` returns the
// pattern texts (string literals), and every lambda is a type of its own, so every call site
// has its own. Compiling every rule for every sentence was most of a short sentence's time.
template <class Make>
const Rule& rule(Make make) {
  static const Rule compiled(make());
  return compiled;
}

// Damerau-Levenshtein distance, capped: is `a` one typo away from `b`?
bool one_typo(std::string_view a, std::string_view b) {
  if (a == b) return false;
  if (a.size() == b.size()) {
    size_t diff = 0;
    for (size_t i = 0; i < a.size(); ++i) diff += a[i] != b[i];
    if (diff == 1) return true;
    for (size_t i = 0; i + 1 < a.size(); ++i) {
      if (a[i] != b[i])
        return a[i] == b[i + 1] && a[i + 1] == b[i] && a.substr(i + 2) == b.substr(i + 2);
    }
    return false;
  }
  if (a.size() + 1 == b.size() || b.size() + 1 == a.size()) {
    const std::string_view& lo = a.size() < b.size() ? a : b;
    const std::string_view& hi = a.size() < b.size() ? b : a;
    size_t i = 0;
    while (i < lo.size() && lo[i] == hi[i]) ++i;
    return lo.substr(i) == hi.substr(i + 1);
  }
  return false;
}

// What the output format table says of the formats a sentence may name: the parser agrees
// with plan() because both read the same table.
class FormatFacts {
 public:
  const engine::FormatSpec* find(std::string_view name) const { return engine::find_format(name); }
  // Nothing is lost on the way in: a lossless format, or one that copies the audio and
  // encodes losslessly where it must (mka: a copy, or FLAC). No bitrate to set.
  bool loses_nothing(std::string_view name) const {
    const engine::FormatSpec* f = find(name);
    return f != nullptr && (f->lossless || f->default_bitrate == 0);
  }
  std::vector<std::string> sample_formats(std::string_view name) const {
    const engine::FormatSpec* f = find(name);
    if (f == nullptr) return {};
    return {f->sample_formats.begin(), f->sample_formats.end()};
  }
  // The selectable formats that take sample format `sf` (any one, when empty).
  std::vector<std::string> taking(std::string_view sf) const {
    std::vector<std::string> out;
    for (const auto& f : engine::format_table()) {
      const auto& list = f.sample_formats;
      if (f.selectable && !list.empty() &&
          (sf.empty() || std::find(list.begin(), list.end(), sf) != list.end())) {
        out.emplace_back(f.name);
      }
    }
    return out;
  }
};

std::string joined(const std::vector<std::string>& words, std::string_view last) {
  std::string s;
  for (size_t i = 0; i < words.size(); ++i) {
    s += i == 0 ? "" : i + 1 == words.size() ? std::string(last) : std::string(", ");
    s += words[i];
  }
  return s;
}

std::string quoted(std::string_view s) { return fmt::format("\"{}\"", s); }

class Parser {
 public:
  Parser(std::string_view sentence, const std::vector<std::string>& inputs,
         const std::vector<std::string>& known_files, std::vector<std::string> notes)
      : sentence_(sentence),
        t_(lex(sentence)),
        args_(inputs),
        known_(known_files.begin(), known_files.end()) {
    for (const auto& tok : t_) chinese_ = chinese_ || tok.han;
    u_.language = chinese_ ? Language::kChinese : Language::kEnglish;
    index_tokens();
    for (auto& n : notes) note(std::move(n));
  }

  Understanding run() {
    names();
    files();
    purposes();
    unsupported();
    fillers();
    copy_policy();
    formats();
    intents();
    sample_rate();
    bitrate();
    channels();
    sample_format();
    loudness();
    ranges();
    tracks();
    leftovers();
    finish();
    return std::move(u_);
  }

  // After run(): typos of the vocabulary among the words nobody understood, as replacements
  // of bytes of the sentence. Empty when there are none, or too many unknown words for them
  // to be typos rather than another request.
  struct Fix {
    size_t byte_begin, byte_end;
    std::string with;
    std::string note;
  };
  std::vector<Fix> fixes() const;

 private:
  // ---- Matching -------------------------------------------------------------------------

  // "flac is lossless", or what a format that loses nothing does instead (mka), in the
  // sentence's language.
  std::string lossless_is(std::string_view f) const {
    const engine::FormatSpec* v = facts_.find(f);
    if (v == nullptr || v->lossless) {
      return chinese_ ? fmt::format("{} 是无损格式", f) : fmt::format("{} is lossless", f);
    }
    return chinese_ ? fmt::format("{} 不损失音质（复制原音频，或编码为 {}）", f, v->encoder)
                    : fmt::format("{} loses nothing (it copies the audio, or encodes {})", f,
                                  v->encoder);
  }

  std::string_view say(std::string_view en, std::string_view zh) const {
    return chinese_ ? zh : en;
  }

  bool free(size_t i) const { return i < t_.size() && !t_[i].consumed; }

  // Words skipped between the parts of a phrase: "the 2-minute and the 5-minute mark", and a
  // file already taken as an input ("从第3秒开始截取x.mp4的5秒").
  bool transparent(size_t i) const {
    return i < t_.size() && (input_file_[i] || (glue_[i] && !t_[i].consumed));
  }

  static bool is_glue(const Token& t) {
    const std::string& w = t.text;
    return (t.kind == Kind::kWord &&
            (w == "the" || w == "a" || w == "an" || w == "my" || w == "your" || w == "our" ||
             w == "its" || w == "this" || w == "that")) ||
           (t.kind == Kind::kHan && w == "的");
  }

  bool accepts(Slot s, const Token& t) const {
    if ((slot_kinds(s) & kind_bit(t.kind)) == 0) return false;
    return s != Slot::kExt || is_media_extension(t.text);
  }

  // Length of `alt` matched at i, 0 if it does not match. Slots append to m.slots. Han
  // literals may span several tokens; bytes are compared, nothing is decoded.
  size_t match_alt(const Alt& alt, size_t i, Match& m) const {
    if (!free(i)) return 0;
    const Token& t = t_[i];
    if (alt.slot != Slot::kNone) {
      if (!accepts(alt.slot, t)) return 0;
      m.slots.push_back(i);
      return 1;
    }
    if (t.kind == Kind::kQuoted || t.kind == Kind::kPath) return 0;
    if (t.text == alt.text) return 1;
    if (t.kind != Kind::kHan || is_ascii(alt.text)) return 0;
    std::string_view rest = alt.text;
    size_t k = i;
    while (!rest.empty()) {
      if (!free(k) || t_[k].kind != Kind::kHan || t_[k].text.empty() ||
          !rest.starts_with(t_[k].text)) {
        return 0;
      }
      rest.remove_prefix(t_[k].text.size());
      ++k;
    }
    return k - i;
  }

  // Whether a pattern can start at token i at all: most tokens fail here, in constant time.
  bool may_start(const Pattern& p, size_t i) const {
    const Token& t = t_[i];
    if (p.any_first || (p.first_kinds & kind_bit(t.kind)) != 0) return true;
    return t.kind != Kind::kQuoted && t.kind != Kind::kPath && p.first.test(buckets_[i]);
  }

  void index_tokens() {
    input_file_.assign(t_.size(), false);
    buckets_.resize(t_.size());
    glue_.resize(t_.size());
    for (size_t i = 0; i < t_.size(); ++i) {
      buckets_[i] = bucket(t_[i].text);
      glue_[i] = is_glue(t_[i]);
    }
  }

  bool match_from(const std::vector<Element>& els, size_t e, size_t ti, bool first,
                  Match& m) const {
    if (e == els.size()) {
      m.end = ti;
      return true;
    }
    // A few skipped words at most between two parts: "the the the ..." must not make every
    // start scan to the end of the sentence (that would be quadratic).
    constexpr size_t kMaxSkipped = 3;
    size_t tj = ti;
    for (;;) {
      for (const Alt& alt : els[e].alts) {
        const size_t slots = m.slots.size();
        if (const size_t len = match_alt(alt, tj, m)) {
          if (match_from(els, e + 1, tj + len, false, m)) return true;
          m.slots.resize(slots);
        }
      }
      if (first || tj - ti == kMaxSkipped || !transparent(tj)) break;
      ++tj;
    }
    return els[e].optional && match_from(els, e + 1, ti, first, m);
  }

  std::optional<Match> match_at(const Pattern& pattern, size_t i) const {
    if (!free(i) || !may_start(pattern, i)) return std::nullopt;
    Match m;
    m.begin = i;
    if (!match_from(pattern.elements, 0, i, true, m) || m.end == i) return std::nullopt;
    // The words as typed, bytes and all; a file skipped inside the phrase is left out.
    for (size_t k = m.begin; k < m.end;) {
      if (input_file_[k]) {
        ++k;
        continue;
      }
      size_t e = k;
      while (e + 1 < m.end && !input_file_[e + 1]) ++e;
      if (!m.shown.empty()) m.shown += ' ';
      m.shown += raw(k, e);
      k = e + 1;
    }
    return m;
  }

  void consume(const Match& m) {
    for (size_t k = m.begin; k < m.end; ++k) t_[k].consumed = true;
  }

  // Runs `action` on every match of any of the rule's patterns, left to right; an action
  // returning false leaves the words for later rules.
  void each(const Rule& r, const std::function<bool(const Match&)>& action) {
    rules_seen_.push_back(&r);
    for (size_t i = 0; i < t_.size(); ++i) {
      if (!free(i) || !may_start(r.any, i)) continue;
      for (const auto& p : r.patterns) {
        auto m = match_at(p, i);
        if (m && action(*m)) {
          consume(*m);
          i = m->end - 1;
          break;
        }
      }
    }
  }

  const Token& slot(const Match& m, size_t k) const { return t_[m.slots[k]]; }

  // ---- File names -----------------------------------------------------------------------

  std::string raw(size_t from, size_t to) const {
    return std::string(
        sentence_.substr(t_[from].byte_begin, t_[to].byte_end - t_[from].byte_begin));
  }

  bool han_stop(const Token& t) const {
    return t.kind == Kind::kHan && in_list(t.text, kHanNameStops);
  }

  // The length in tokens of the longest filler word of Han tokens that ends at token j, 0 if
  // none does: where a Chinese sentence's words end, a name written without spaces may start.
  size_t filler_ending_at(size_t j) const {
    size_t best = 0;
    for (std::string_view f : kChineseFillers) {
      size_t k = j + 1;
      std::string_view rest = f;
      while (!rest.empty() && k > 0) {
        const Token& t = t_[k - 1];
        if (t.kind != Kind::kHan || t.text.empty() || !rest.ends_with(t.text)) break;
        rest.remove_suffix(t.text.size());
        --k;
      }
      if (rest.empty()) best = std::max(best, j + 1 - k);
    }
    return best;
  }

  // Whether a name glued after Han ("把音频.mp4") starts at token k, before name token p: a
  // word of the sentence ends right before k, and none runs on into the name ("音频").
  bool name_starts_at(size_t k, size_t p) const {
    if (filler_ending_at(k - 1) == 0) return false;
    for (size_t m = k; m < p && m < k + 4; ++m) {
      const size_t len = filler_ending_at(m);
      if (len > 0 && m + 1 - len < k) return false;
    }
    return true;
  }

  // A chunk before a name that sits between spaces: where it starts, or npos when it ends
  // the name (a stop word, a value, a mark, another name). Han words ("my vidéo 日本語 ñ.mp4")
  // may be part of a name that exists, but are never a plausible reading on their own.
  size_t chunk_before(size_t k, bool& determiner, bool& han) const {
    size_t j = k - 1;
    if (t_[j].han) {
      while (j > 0 && t_[j].glued && t_[j - 1].han) --j;
      han = true;
      return j;
    }
    while (j > 0 && t_[j].glued && !t_[j].han && !t_[j - 1].han && t_[j - 1].kind != Kind::kPath &&
           t_[j - 1].kind != Kind::kQuoted && t_[j - 1].kind != Kind::kPunct) {
      --j;
    }
    const Token& t = t_[j];
    if (t.kind == Kind::kQuoted || t.kind == Kind::kPunct) return std::string::npos;
    if (j + 1 == k) {
      switch (t.kind) {
        case Kind::kWord:
          // A typo of a stop ends the name too ("form talk.mp4"); leftovers() corrects it.
          if (in_list(t.text, kNameStops) || in_list(t.text, kSourceWords) ||
              !correct_word(t.text, kNameStops).empty()) {
            return std::string::npos;
          }
          for (const auto& fw : kFormatWords) {
            if (t.text == fw.word) return std::string::npos;
          }
          determiner = in_list(t.text, kDeterminers);
          return j;
        case Kind::kPath:
          // "/tmp/x/my" before "vidéo ñ.mp4": a folder that may hold a name with spaces.
          return is_media_extension(extension(t.text)) ? std::string::npos : j;
        default:
          return std::string::npos;  // numbers, times, bitrates: settings, not names
      }
    }
    return j;
  }

  // Pass 0: an unquoted name may hold spaces or Han characters; the words before it say where
  // it could start. One reading known to exist is taken; else several plausible readings
  // make a question, never a guess.
  void names() {
    constexpr size_t kMaxReadings = 16;
    struct Merge {
      size_t from, to;
    };
    std::vector<Merge> merges;
    for (size_t p = 0; p < t_.size(); ++p) {
      if (t_[p].kind != Kind::kPath) continue;
      std::vector<size_t> starts = {p};  // every reading, for the caller to look up
      std::vector<size_t> plausible;     // the readings a person could have meant
      if (!t_[p].stemless) plausible.push_back(p);
      size_t k = p;
      if (t_[p].glued && k > 0 && t_[k - 1].han) {
        // Han right before the name: a stemless ".mp4" starts in it; "截取x.mp4" does not,
        // but a file of that name may exist.
        while (k > 0 && t_[k].glued && t_[k - 1].han && !han_stop(t_[k - 1]) &&
               starts.size() < kMaxReadings) {
          if (t_[p].stemless && k < p && name_starts_at(k, p)) break;
          --k;
          starts.push_back(k);
        }
        if (t_[p].stemless && k < p) plausible.push_back(k);
      } else {
        bool past_han = false;
        while (k > 0 && t_[k].spaced && starts.size() < kMaxReadings) {
          bool determiner = false;
          bool han = false;
          const size_t j = chunk_before(k, determiner, han);
          if (j == std::string::npos) break;
          k = j;
          starts.push_back(k);
          past_han = past_han || han;
          if (determiner) break;
          if (!past_han) plausible.push_back(k);
        }
      }
      if (t_[p].stemless && plausible.empty()) plausible.push_back(p);
      if (starts.size() > 1) {
        for (size_t s : starts) u_.file_candidates.push_back(raw(s, p));
      }
      std::vector<size_t> known;
      for (size_t s : starts) {
        if (known_.count(raw(s, p)) > 0) known.push_back(s);
      }
      if (known.size() == 1) {
        if (known[0] != p) merges.push_back({known[0], p});
      } else if (known.size() > 1 || plausible.size() > 1) {
        const auto& asked = known.size() > 1 ? known : plausible;
        ask_which_name(asked, p, known.size() > 1);
        for (size_t s = *std::min_element(asked.begin(), asked.end()); s < p; ++s) {
          t_[s].consumed = true;
        }
        if (t_[p].stemless) t_[p].consumed = true;
      } else if (plausible.size() == 1 && plausible[0] != p) {
        merges.push_back({plausible[0], p});
      }
    }
    if (merges.empty()) return;
    std::vector<Token> next;
    next.reserve(t_.size());
    size_t m = 0;
    for (size_t i = 0; i < t_.size(); ++i) {
      if (m < merges.size() && merges[m].from == i) {
        Token name = t_[merges[m].to];
        name.text = name.shown = raw(i, merges[m].to);
        name.begin = t_[i].begin;
        name.byte_begin = t_[i].byte_begin;
        name.glued = t_[i].glued;
        name.spaced = t_[i].spaced;
        name.stemless = false;
        next.push_back(std::move(name));
        i = merges[m].to;
        ++m;
      } else {
        next.push_back(std::move(t_[i]));
      }
    }
    t_ = std::move(next);
    index_tokens();
  }

  void ask_which_name(std::vector<size_t> starts, size_t p, bool all_exist) {
    std::sort(starts.begin(), starts.end());  // the longest reading first
    std::vector<std::string> readings;
    for (size_t s : starts) readings.push_back(raw(s, p));
    std::string list;
    for (size_t r = 0; r < readings.size(); ++r) {
      const bool last = r + 1 == readings.size();
      if (chinese_) {
        list += (r == 0 ? "" : last ? "还是" : "、") + fmt::format("“{}”", readings[r]);
      } else {
        list += (r == 0 ? "" : last ? " or " : ", ") + quoted(readings[r]);
      }
    }
    if (all_exist) {
      problem(Outcome::kQuestion,
              chinese_ ? fmt::format("{}都存在；指的是哪一个？请给文件名加上引号。", list)
                       : fmt::format("{} all exist; which file do you mean? Put its name in "
                                     "quotes.",
                                     list));
      return;
    }
    problem(Outcome::kQuestion,
            chinese_ ? fmt::format("文件名是{}？含空格或中文的文件名请加引号，例如“{}”。", list,
                                   readings.front())
                     : fmt::format("Which is the file name: {}? Put a name that has spaces in "
                                   "quotes, like \"{}\".",
                                   list, readings.front()));
  }

  // ---- Recording what was said ----------------------------------------------------------

  // A sentence can hold any number of problems; the first few are what a person can act on,
  // and keeping only those keeps the work per problem constant.
  static constexpr size_t kMaxProblems = 6;
  static constexpr size_t kMaxNotes = 12;

  void problem(Outcome kind, std::string text) {
    outcomes_seen_[static_cast<size_t>(kind)] = true;
    for (const auto& p : problems_) {
      if (p.text == text) return;
    }
    if (problems_.size() == kMaxProblems) {
      ++problems_left_out_;
      return;
    }
    problems_.push_back({kind, std::move(text)});
  }

  void note(std::string text) {
    if (u_.notes.size() < kMaxNotes &&
        std::find(u_.notes.begin(), u_.notes.end(), text) == u_.notes.end()) {
      u_.notes.push_back(std::move(text));
    }
  }

  std::string_view field_name(Field f) const {
    switch (f) {
      case Field::kFormat:
        return say("output format", "输出格式");
      case Field::kCopy:
        return say("re-encoding choice", "是否重新编码");
      case Field::kFrom:
        return say("start time", "开始时间");
      case Field::kTo:
        return say("end time", "结束时间");
      case Field::kDuration:
        return say("length", "时长");
      case Field::kFromEnd:
        return say("time range", "时间范围");
      case Field::kTrack:
      case Field::kLang:
      case Field::kTitle:
      case Field::kAll:
        return say("audio track", "音轨");
      case Field::kBitrate:
        return say("bitrate", "比特率");
      case Field::kQuality:
        return say("quality setting", "质量设置");
      case Field::kRate:
        return say("sample rate", "采样率");
      case Field::kChannels:
        return say("channel count", "声道数");
      case Field::kSampleFormat:
        return say("sample format", "采样格式");
      case Field::kLoudness:
        return say("loudness target", "响度目标");
      case Field::kOutput:
        return say("output file", "输出文件");
      case Field::kOutDir:
        return say("output folder", "输出文件夹");
      case Field::kIntent:
        return say("purpose", "用途");
      case Field::kCount:
        break;
    }
    return "";
  }

  void conflict(Field f, std::string_view earlier, std::string_view later) {
    problem(Outcome::kContradiction,
            chinese_
                ? fmt::format("“{}”和“{}”要求的{}不同；要哪一个？", earlier, later, field_name(f))
                : fmt::format("{} and {} ask for different {}s; which one do you want?",
                              quoted(earlier), quoted(later), field_name(f)));
  }

  template <class T>
  bool assign(Field f, std::optional<T>& slot, T value, std::string_view phrase) {
    auto& said = said_[static_cast<size_t>(f)];
    if (slot && *slot != value) {
      conflict(f, said, phrase);
    } else if (!slot) {
      slot = std::move(value);
      said = phrase;
    }
    return true;
  }

  std::string_view said(Field f) const { return said_[static_cast<size_t>(f)]; }

  // ---- Rules ----------------------------------------------------------------------------

  // Files and folders named in the sentence; quoted titles first so they are not read as files.
  void files() {
    each(rule([] {
           return std::array{"called|named|titled|title @quoted", "called|named|titled @word",
                             "标题 为|是? @quoted", "名为|叫做|名叫|叫 @quoted"};
         }),
         [&](const Match& m) { return assign(Field::kTitle, title_, slot(m, 0).text, m.shown); });

    auto folder = [&](const Match& m, std::string path) {
      std::string ext;
      for (size_t s : m.slots) {
        if (t_[s].kind == Kind::kWord) ext = t_[s].text;
        if (t_[s].kind == Kind::kPath || t_[s].kind == Kind::kQuoted) path = t_[s].text;
      }
      u_.folders.push_back({path, ext});
      return true;
    };
    const auto here = [&](const Match& m) { return folder(m, "."); };
    const auto there = [&](const Match& m) { return folder(m, ""); };
    each(rule([] {
           return std::array{
               "all|every|each @ext? files|file|videos|video|clips|movies|recordings "
               "in|from|inside|under|within|of folder|directory? @file",
               "@file 文件夹|目录? 里|中|下|内|里面? 所有|全部|每个|每一个 @ext? 文件|视频|影片",
               "@file 文件夹|目录? 里|中|下|内|里面? @ext 文件|视频|影片",
               "in|from folder|directory @file"};
         }),
         there);
    each(rule([] {
           return std::array{
               "all|every|each @ext? files|file|videos|video|clips|movies|recordings here",
               "all|every|each @ext? files|file|videos|video|clips|movies|recordings in|from "
               "current? "
               "folder|directory",
               "当前|这个 文件夹|目录 里|中|下|内? 所有|全部|每个? @ext? 文件|视频"};
         }),
         here);
    each(rule([] {
           return std::array{"all|every|each @ext files|videos|clips|movies|recordings",
                             "所有|全部|每个 @ext 文件|视频"};
         }),
         [&](const Match& m) {
           note(
               std::string(say("no folder was named, so the files are taken from the current "
                               "folder",
                               "没有指定文件夹，取当前文件夹中的文件")));
           return here(m);
         });

    // Outputs: a file with an audio extension after "as", "to", "保存为"...
    each(rule([] {
           return std::array{"as|to|into @file",
                             "保存为|另存为|存为|输出为|输出到|导出为|导出到|保存到|存到|保存成|"
                             "存成|转成|转为|转换为|"
                             "转换成|变成|搞成|弄成|成|为|到 @file"};
         }),
         [&](const Match& m) {
           const std::string& path = slot(m, 0).text;
           if (path.ends_with('/')) return assign(Field::kOutDir, out_dir_, path, m.shown);
           const std::string ext = extension(path);
           for (const auto& fw : kFormatWords) {
             if (ext == fw.word) {
               assign(Field::kFormat, format_, std::string(fw.format), m.shown);
               return assign(Field::kOutput, output_, path, m.shown);
             }
           }
           return false;
         });
    for (size_t i = 0; i < t_.size(); ++i) {
      if (!free(i) || (t_[i].kind != Kind::kPath && t_[i].kind != Kind::kQuoted)) continue;
      named_.push_back(t_[i].text);
      t_[i].consumed = true;
      input_file_[i] = true;
    }
  }

  static std::string extension(const std::string& path) {
    const size_t dot = path.rfind('.');
    const size_t slash = path.rfind('/');
    if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
    std::string ext = path.substr(dot + 1);
    for (auto& c : ext) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return ext;
  }

  // What peel cannot do yet is said, never dropped.
  void unsupported() {
    struct Feature {
      Rule rule;
      std::string_view en, zh;
    };
    static const Feature kFeatures[] = {
        {Rule(std::array{"denoise|noise|hiss|降噪|去噪|噪音|杂音|噪声"}), "removing noise", "降噪"},
        {Rule(std::array{"fade|fades|fading|淡入|淡出|渐强|渐弱"}), "fades", "淡入淡出"},
        {Rule(std::array{"speed|faster|slower|tempo|pitch|倍速|加速|减速|变速|变调"}),
         "changing speed or pitch", "变速或变调"},
        {Rule(std::array{"merge|combine|concatenate|join|合并|拼接|连接"}), "joining files",
         "合并文件"},
        {Rule(std::array{"split|chunks|分割|切分|切成|拆分"}), "splitting into parts",
         "切分成多段"},
        {Rule(std::array{"silence|静音"}), "removing silence", "去除静音"},
        {Rule(std::array{"vocals|vocal|karaoke|instrumental|人声|伴奏|消音"}),
         "separating voice and music", "分离人声和伴奏"},
        {Rule(std::array{"subtitle|subtitles|captions|字幕"}), "subtitles", "字幕"},
    };
    for (const auto& f : kFeatures) {
      each(f.rule, [&](const Match& m) {
        problem(Outcome::kUnsupported,
                chinese_
                    ? fmt::format("peel 还不支持{}（“{}”）：它只提取和转换音频。去掉“{}”再试一次。",
                                  f.zh, m.shown, m.shown)
                    : fmt::format("{} ({}) is not supported yet: peel extracts and converts "
                                  "audio as it is. Leave out {} and ask again.",
                                  f.en, quoted(m.shown), quoted(m.shown)));
        return true;
      });
    }
  }

  // What the audio is for, where the words alone would read as something peel cannot do:
  // "for subtitles" wants the speech for a speech-to-text tool, not subtitles from peel.
  void purposes() {
    each(rule([] {
           return std::array{
               "for|into subtitles|subtitle|captions|caption|subtitling|captioning|srt",
               "to? make|making|create|creating|generate|generating|do|doing|write|writing|produce "
               "subtitles|subtitle|captions|caption|srt",
               "subtitle|subtitles|caption|captions "
               "generation|generator|creation|making|software|tool|tools|app",
               "用来|用于|为了|给|拿来|准备|方便|要 做|生成|制作|配|加|出|弄|打? 字幕",
               "做|生成|制作|配|出|打|弄 字幕",
               "字幕 用|制作|生成|软件|工具"};
         }),
         [&](const Match& m) {
           note(std::string(
               say("subtitles are made from the speech, so this is audio for a "
                   "speech-to-text tool (peel itself writes no subtitles)",
                   "字幕由语音识别生成，所以输出适合语音识别的音频（peel 本身不生成字幕）")));
           return assign(Field::kIntent, intent_, Intent::kTranscription, m.shown);
         });
  }

  // Phrases that say what peel does anyway ("strip the video", "去掉画面"): no setting.
  void fillers() {
    each(rule([] {
           return std::array{
               "strip|remove|drop|discard|ditch|lose|delete|without|no|minus "
               "video|picture|pictures|image|images|visual|visuals|frames",
               "get rid of video|picture|image|images",
               "audio|sound only",
               "only|just audio|sound",
               "去掉|去除|删掉|删除|不要|去|丢掉|扔掉|移除|除掉 画面|图像|影像|视频画面|视频",
               "只要|只留|只保留|仅保留|留下|保留 声音|音频|音轨"};
         }),
         [](const Match&) { return true; });
  }

  void copy_policy() {
    const auto copy = [&](const Match& m) {
      return assign(Field::kCopy, copy_, CopyPolicy::kCopy, m.shown);
    };
    // Said before the copy phrases: "don't change the format" keeps the format, not the bits.
    each(rule([] {
           return std::array{"same format|codec as source|original|input|video|file?",
                             "same as source|original|input",
                             "original|source format|codec|container",
                             "keep|preserve format|codec",
                             "don't|dont|do|does not? change|convert|alter format|codec",
                             "whatever format|codec it is|has?",
                             "原|原始|原来|源 格式",
                             "保持|保留 原|原来|原始? 格式",
                             "格式 不变",
                             "不|不要|别|不用|无需 转换|改变|改|变 格式",
                             "与|和|跟 源|原|原来|原始 文件|视频? 相同|一样 格式?",
                             "源 格式"};
         }),
         [&](const Match& m) {
           format_stated_ = true;
           return assign(Field::kFormat, format_, std::string("auto"), m.shown);
         });
    // "Original quality" asks that nothing be lost: a copy, or a lossless format (finish()).
    each(rule([] {
           return std::array{"keep|preserve|retain|maintain original|source|full quality",
                             "original|source quality",
                             "no|without quality loss",
                             "without losing quality",
                             "no loss of quality",
                             "原始|原 音质|品质|质量",
                             "原音质",
                             "保持|保留|维持 原始|原来|原? 音质|品质|质量",
                             "不|不要|别 损失|降低 音质|质量|品质",
                             "音质|质量|品质 不变|无损|不损失"};
         }),
         [&](const Match& m) {
           if (!keep_quality_) keep_quality_ = m.shown;
           return true;
         });
    each(rule([] {
           return std::array{
               "original|source stream",
               "lossless|losslessly copy|extraction|extract|rip",
               "no|without|not|never "
               "re|reencode|reencoding|transcode|transcoding|conversion|converting|recompression|"
               "recompressing|processing|changes|changing|altering|modification|modifying "
               "encode|encoding?",
               "don't|dont|do|does not? re|reencode|transcode encode|encoding?",
               "don't|dont|do|does not? convert|change|touch|process|alter|modify",
               "as is",
               "as-is",
               "as it is",
               "as they are",
               "the way it is",
               "untouched",
               "unchanged",
               "intact",
               "unaltered",
               "unmodified",
               "unprocessed",
               "leave|let it|audio|sound|them|track alone|untouched|unchanged|intact",
               "bit perfect|exact",
               "bit for bit",
               "bitperfect|bitexact",
               "stream copy",
               "copy stream|streams",
               "direct|straight copy",
               "just|only|simply copy",
               "copy only",
               "原始|原 编码",
               "不|不要|不用|无需|不需要|别|无须 重新 编码|压缩",
               "不|不要|不用|无需|不需要|别|无须 转码|重编码|重新编码",
               "不|不要|不用|无需|不需要|别|无须|不做|不进行 转换|改动|处理|修改|改变|动",
               "别动|不动",
               "保持|保留|维持|照|按 原样|原状|原貌",
               "原样",
               "原封不动",
               "原汁原味",
               "直接 复制|拷贝",
               "保持|保留 原始|原来|原? 编码",
               "流 复制",
               "无损 复制|提取",
               "比特级|逐比特|位级 复制|一致|相同"};
         }),
         copy);
    each(rule([] {
           return std::array{"re encode|encoding|encoded",
                             "reencode|reencoding|reencoded",
                             "force|always? transcode|transcoding|transcoded",
                             "重新 编码|压缩",
                             "转码",
                             "重编码"};
         }),
         [&](const Match& m) {
           return assign(Field::kCopy, copy_, CopyPolicy::kReencode, m.shown);
         });
  }

  void formats() {
    // "mp3 320", "opus 96": a lossy format and a number that can only be its bitrate in k.
    each(rule([] {
           return std::array{"mp3|aac|m4a|opus|ogg|vorbis at|@? @num",
                             "@num mp3|aac|m4a|opus|ogg|vorbis"};
         }),
         [&](const Match& m) {
           const bool number_first = t_[m.begin].kind == Kind::kNumber;
           const Token& f = t_[number_first ? m.end - 1 : m.begin];
           const double k = slot(m, 0).value;
           constexpr double kBitrates[] = {32,  40,  48,  56,  64,  80,  96,  112, 128,
                                           160, 192, 224, 256, 320, 384, 448, 510};
           if (std::find(std::begin(kBitrates), std::end(kBitrates), k) == std::end(kBitrates)) {
             return false;
           }
           std::string format;
           for (const auto& fw : kFormatWords) {
             if (f.text == fw.word) format = fw.format;
           }
           note(chinese_ ? fmt::format("把“{}”理解为 {} kbit/s 的 {}", m.shown, k, format)
                         : fmt::format("read {} as {} at {} kbit/s", quoted(m.shown), format, k));
           set_format(format, f.shown);
           return assign(Field::kBitrate, bitrate_, static_cast<int64_t>(k * 1000), m.shown);
         });
    each(rule([] { return std::array{"mp3|mp|mpeg 3|-? 3?"}; }), [&](const Match& m) {
      // "mp 3", "mp-3", "mpeg 3": a split or spelled-out mp3; "mp" alone is not a format.
      if (m.end - m.begin == 1 && t_[m.begin].text != "mp3") return false;
      if (t_[m.begin].text == "mpeg" && m.end - m.begin == 1) return false;
      return set_format("mp3", m.shown);
    });
    each(rule([] { return std::array{"lossless|losslessly|无损"}; }), [&](const Match& m) {
      lossless_ = m.shown;
      return true;
    });
    each(rule([] { return std::array{"uncompressed|未压缩|不压缩|无压缩"}; }),
         [&](const Match& m) { return set_format("wav", m.shown); });
    each(
        rule([] {
          return std::array{"pcm wav|wave", "wav|wave pcm", "wav|wave file|format|audio|格式|文件"};
        }),
        [&](const Match& m) { return set_format("wav", m.shown); });
    each(rule([] {
           return std::array{"raw|原始|裸? pcm", "raw pcm|samples"};
         }),
         [&](const Match& m) { return set_format("pcm", m.shown); });
    each(rule([] { return std::array{"ogg opus"}; }),
         [&](const Match& m) { return set_format("opus", m.shown); });
    each(rule([] { return std::array{"ogg vorbis"}; }),
         [&](const Match& m) { return set_format("ogg", m.shown); });
    each(rule([] { return std::array{"matroska|mka audio"}; }),
         [&](const Match& m) { return set_format("mka", m.shown); });
    each(rule([] {
           return std::array{"as|to|into|成|为|转成|转为|保存为 mp4|mkv|mov|avi|webm|m4v|flv|wmv"};
         }),
         [&](const Match& m) {
           problem(Outcome::kQuestion,
                   chinese_
                       ? fmt::format("“{}”是视频格式，peel 只写音频文件。要 m4a（MPEG-4 音频）吗？",
                                     m.shown)
                       : fmt::format("{} names a video container, and peel writes audio files. "
                                     "Did you mean m4a (AAC audio in MPEG-4)?",
                                     quoted(m.shown)));
           return true;
         });
    for (size_t i = 0; i < t_.size(); ++i) {
      if (!free(i) || t_[i].kind != Kind::kWord) continue;
      const std::string& w = t_[i].text;
      const bool known = is_media_extension(w) || is_filler(w);
      for (const auto& fw : kFormatWords) {
        // Typos only where no real word is near: swapped letters of a three-letter name
        // ("wva"), one slip in a longer one ("falc", "flak", "opsu").
        const bool typo =
            !known && ((w.size() == 3 && fw.word.size() == 3 && w != fw.word &&
                        std::is_permutation(w.begin(), w.end(), fw.word.begin())) ||
                       ((fw.word == "flac" || fw.word == "opus" || fw.word == "vorbis") &&
                        one_typo(w, fw.word)));
        if (w != fw.word && !typo) continue;
        if (typo) {
          note(chinese_ ? fmt::format("把“{}”理解为 {}", t_[i].shown, fw.format)
                        : fmt::format("read {} as {}", quoted(t_[i].shown), fw.format));
        }
        set_format(fw.format, t_[i].shown);
        t_[i].consumed = true;
        break;
      }
    }
  }

  bool set_format(std::string_view f, std::string_view phrase) {
    format_stated_ = true;
    return assign(Field::kFormat, format_, std::string(f), phrase);
  }

  void intents() {
    const auto intent = [&](Intent i) {
      return [this, i](const Match& m) { return assign(Field::kIntent, intent_, i, m.shown); };
    };
    each(
        rule([] {
          return std::array{
              "high|higher|highest|best|top|max|maximum|better|great|excellent|studio|hi|good|full "
              "quality|fidelity",
              "hq",
              "hifi",
              "hi fi",
              "high|highest|best|max|maximum|top bitrate",
              "高|最高|最好|最佳|好|更好|顶级 质量|品质|音质",
              "高质量|高品质|高音质",
              "高保真"};
        }),
        intent(Intent::kHigh));
    each(rule([] {
           return std::array{"small|smaller|smallest|tiny|compact|little file|files|size?",
                             "low|lower|lowest quality|bitrate",
                             "save|saving space",
                             "minimal|minimum size",
                             "文件|体积 小|更小|最小|尽量小|小些 一点?",
                             "小|更小 一点|些",
                             "小 文件|体积",
                             "小文件",
                             "低 质量|音质|码率|比特率",
                             "压缩"};
         }),
         intent(Intent::kSmall));
    each(rule([] {
           return std::array{"transcription|transcribing|transcribe|transcript",
                             "speech to text",
                             "speech recognition",
                             "stt",
                             "asr",
                             "whisper",
                             "dictation",
                             "voice recognition",
                             "转录|转写|听写",
                             "转 文字",
                             "语音 识别",
                             "语音识别",
                             "语音转文字",
                             "语音 转 文字",
                             "识别 文字"};
         }),
         intent(Intent::kTranscription));
    each(rule([] {
           return std::array{"podcast|podcasts|podcasting", "播客"};
         }),
         intent(Intent::kPodcast));
  }

  // A sample rate from a rate, a "16k", or a bare number: 44.1 means kHz, 48000 means Hz.
  std::optional<int> rate_of(const Token& t, std::string_view phrase) {
    double hz = t.value;
    if (t.kind == Kind::kNumber && hz < 1000) hz *= 1000;
    if (!(hz >= 1000 && hz <= 384000)) {
      problem(Outcome::kQuestion,
              chinese_
                  ? fmt::format("“{}”不是常见的采样率；要 16000、44100 还是 48000 Hz？", phrase)
                  : fmt::format("{} is not a sample rate I know; did you mean 16000, 44100 or "
                                "48000 Hz?",
                                quoted(phrase)));
      return std::nullopt;
    }
    return static_cast<int>(std::lround(hz));
  }

  void sample_rate() {
    const auto rate = [&](const Match& m) {
      if (auto hz = rate_of(slot(m, 0), m.shown)) assign(Field::kRate, rate_, *hz, m.shown);
      return true;
    };
    each(rule([] {
           return std::array{
               "sample|sampling rate|frequency|freq of|at|to|is|=? @rate|@bitrate|@num",
               "samplerate of|at|to|is|=? @rate|@bitrate|@num",
               "采样率|采样频率|采样 为|是|设为|设置为|改为|=? @rate|@bitrate|@num",
               "@rate|@bitrate|@num sample|sampling rate",
               "@rate|@bitrate|@num samplerate",
               "@rate|@bitrate|@num 采样率|采样频率|采样",
               "@rate"};
         }),
         rate);
    // "16k" and "44.1k" are sample rates, not bitrates anyone would ask for.
    each(rule([] { return std::array{"@bitrate"}; }), [&](const Match& m) {
      const Token& t = slot(m, 0);
      const std::string& s = t.text;
      const bool bare_k = !s.empty() && (s.back() == 'k' || s.back() == 'K');
      const double v = t.value;
      if (!bare_k || !(v == 8000 || v == 11025 || v == 16000 || v == 22050 || v == 44100 ||
                       v == 88200 || v == 176400)) {
        return false;
      }
      note(chinese_ ? fmt::format("把“{}”理解为采样率 {} Hz", m.shown, v)
                    : fmt::format("read {} as a sample rate of {} Hz", quoted(m.shown), v));
      return rate(m);
    });
  }

  void bitrate() {
    const auto bits = [&](const Match& m) {
      const Token& t = slot(m, 0);
      double v = t.value;
      if (t.kind == Kind::kNumber && v < 1000) v *= 1000;  // "bitrate 256" means 256k
      if (!(v >= 6000 && v <= 1'000'000)) {
        problem(Outcome::kQuestion,
                chinese_
                    ? fmt::format("“{}”不是可用的比特率；请写成 128k、192k 或 320k 这样", m.shown)
                    : fmt::format("{} is not a usable bitrate; say it like 128k, 192k or "
                                  "320kbps",
                                  quoted(m.shown)));
        return true;
      }
      return assign(Field::kBitrate, bitrate_, static_cast<int64_t>(std::llround(v)), m.shown);
    };
    each(rule([] {
           return std::array{"bitrate|bitrates of|at|to|is|=? @bitrate|@num",
                             "bit rate of|at|to|is|=? @bitrate|@num",
                             "比特率|码率|位率 为|是|设为|设置为|改为|=? @bitrate|@num",
                             "@bitrate bitrate|比特率|码率",
                             "@bitrate bit rate",
                             "at|@ @bitrate",
                             "@bitrate"};
         }),
         bits);
    each(rule([] {
           return std::array{"v|vbr @num", "vbr quality|level @num", "quality level @num"};
         }),
         [&](const Match& m) {
           const double q = slot(m, 0).value;
           if (!(q >= 0 && q <= 10)) return false;
           return assign(Field::kQuality, quality_, q, m.shown);
         });
  }

  // Loudness normalization: a target in LUFS, a preset ("for a podcast", "broadcast", "EBU
  // R128", "for streaming"), or the wish alone ("normalize it", "make it louder"), which asks
  // for the target in finish().
  void loudness() {
    each(rule([] {
           return std::array{"to|at|of|到|至|为 -|minus? @num lufs|lkfs|lu", "-|minus? @num lufs|lkfs|lu",
                             "响度 为|到|是|设为? -? @num lufs|lkfs",
                             "-? @num lufs|lkfs 响度|的响度?"};
         }),
         [&](const Match& m) {
           const double v = -std::abs(slot(m, 0).value);
           if (!(v >= -70 && v <= -5)) return false;
           return assign(Field::kLoudness, loudness_, v, m.shown);
         });
    each(rule([] {
           return std::array{"broadcast loudness|level|standard|norm",
                             "广播 标准|响度", "广电 标准"};
         }),
         [&](const Match& m) { return assign(Field::kLoudness, loudness_, -23.0, m.shown); });
    each(rule([] {
           // "r128" reads as r and 128.
           return std::array{"ebu? r @num loudness|level|standard|normalization?",
                             "ebu r @num 标准|响度?"};
         }),
         [&](const Match& m) {
           if (slot(m, 0).value != 128) return false;
           return assign(Field::kLoudness, loudness_, -23.0, m.shown);
         });
    each(rule([] {
           return std::array{"for? streaming|spotify|youtube loudness|level?",
                             "music loudness|level", "流媒体 标准|响度"};
         }),
         [&](const Match& m) { return assign(Field::kLoudness, loudness_, -14.0, m.shown); });
    each(rule([] {
           return std::array{
               "normalize|normalise|normalized|normalised|normalizing|normalising|normalization|"
               "normalisation the? loudness|volume|level|audio|it?",
               "loudness normalization|normalisation",
               "响度|音量 标准化|归一化|均衡|统一", "标准化|归一化 响度|音量?"};
         }),
         [&](const Match& m) {
           if (!normalize_) normalize_ = m.shown;
           return true;
         });
    each(rule([] {
           return std::array{"make it? louder|quieter", "louder|quieter", "turn it? up|down",
                             "boost|amplify|raise|increase|lower|reduce the? volume|level|gain",
                             "more|less volume", "调大|调高|调小|调低|提高|增大|降低|减小 音量|声音|响度?",
                             "大声 一点|点?", "小声 一点|点?", "放大 音量|声音?",
                             "音量|声音|响度 调大|调高|调小|调低|提高|增大|降低|减小|大一点|小一点"};
         }),
         [&](const Match& m) {
           if (!louder_) louder_ = m.shown;
           return true;
         });
  }

  void channels() {
    each(rule([] {
           return std::array{"mono|monaural|monophonic", "single|one channel", "单声道|单通道"};
         }),
         [&](const Match& m) { return assign(Field::kChannels, channels_, 1, m.shown); });
    each(rule([] {
           return std::array{"stereo|stereophonic", "立体声|双声道"};
         }),
         [&](const Match& m) { return assign(Field::kChannels, channels_, 2, m.shown); });
    each(rule([] {
           return std::array{"@num channels|channel|ch|声道|个声道|通道|路",
                             "@num surround|环绕|环绕声 sound|声?"};
         }),
         [&](const Match& m) {
           const double v = slot(m, 0).value;
           int n = 0;
           if (v == 5.1)
             n = 6;
           else if (v == 7.1)
             n = 8;
           else if (v >= 1 && v <= 8 && v == std::floor(v))
             n = static_cast<int>(v);
           if (n == 0) return false;
           return assign(Field::kChannels, channels_, n, m.shown);
         });
  }

  void sample_format() {
    each(rule([] {
           return std::array{"@num -? bit|bits|位|比特 float|floating|浮点? point?",
                             "bit depth of? @num", "位深 为|是? @num", "@num 位深"};
         }),
         [&](const Match& m) {
           const double v = slot(m, 0).value;
           bool is_float = false;
           for (size_t k = m.begin; k < m.end; ++k) {
             is_float = is_float || t_[k].text == "float" || t_[k].text == "floating" ||
                        t_[k].text == "浮点" || t_[k].text == "浮";
           }
           std::string f;
           if (v == 32 && is_float)
             f = "f32";
           else if (!is_float && (v == 16 || v == 24 || v == 32))
             f = fmt::format("s{}", v);
           if (f.empty()) {
             problem(Outcome::kQuestion,
                     chinese_
                         ? fmt::format("“{}”：位深可以是 16、24、32 位或 32 位浮点，要哪一种？",
                                       m.shown)
                         : fmt::format("{}: the sample depth can be 16-, 24- or 32-bit, or "
                                       "32-bit float; which one?",
                                       quoted(m.shown)));
             return true;
           }
           return assign(Field::kSampleFormat, sample_format_, f, m.shown);
         });
  }

  // A time point; a bare number borrows `unit` ("between 2 and 5 minutes").
  std::optional<Micros> point(const Token& t, Micros unit) const {
    if (t.kind != Kind::kNumber && t.kind != Kind::kOrdinal) return t.micros;
    if (unit == 0 || !(t.value >= 0 && t.value * static_cast<double>(unit) < 1e15))
      return std::nullopt;
    return std::llround(t.value * static_cast<double>(unit));
  }

  // Returns false when the two points are not times at all ("between the 2nd and the 3rd
  // track": ordinals with no unit on either side).
  bool set_range(const Match& m, const Token& a, const Token& b) {
    if ((a.kind == Kind::kOrdinal && b.unit == 0) || (b.kind == Kind::kOrdinal && a.unit == 0)) {
      return false;
    }
    auto from = point(a, b.unit);
    auto to = point(b, a.unit);
    if (!from || !to) {
      problem(Outcome::kQuestion,
              chinese_
                  ? fmt::format("“{}”：是秒还是分钟？请带上单位，例如“2分钟到5分钟”或“0:02到0:05”",
                                m.shown)
                  : fmt::format("{}: seconds or minutes? Say it with a unit, like \"from 2 "
                                "minutes to 5 minutes\" or \"from 0:02 to 0:05\".",
                                quoted(m.shown)));
      return true;
    }
    assign(Field::kFrom, from_, *from, m.shown);
    assign(Field::kTo, to_, *to, m.shown);
    return true;
  }

  Micros unit_alone(const Match& m) const {
    return t_[m.end - 1].text == "hour" ? 3600 * kMicrosPerSecond : 60 * kMicrosPerSecond;
  }

  void ranges() {
    // A length and a start, in either order.
    each(rule([] {
           return std::array{
               "for @dur from|after|at @time", "for @dur starting|beginning|start from|at @time",
               "@dur from|after @time", "@dur starting|beginning|start from|at @time"};
         }),
         [&](const Match& m) {
           assign(Field::kDuration, duration_, slot(m, 0).micros, m.shown);
           return assign(Field::kFrom, from_, slot(m, 1).micros, m.shown);
         });
    each(rule([] {
           return std::array{"from|starting|beginning|start at|from? @time for|lasting @dur",
                             "从 @time 开始|起 截取|提取|取|录|往后? @dur",
                             "@time 开始|起 的? @dur", "从 @time 往后 @dur"};
         }),
         [&](const Match& m) {
           assign(Field::kFrom, from_, slot(m, 0).micros, m.shown);
           return assign(Field::kDuration, duration_, slot(m, 1).micros, m.shown);
         });
    // Two points.
    each(rule([] {
           return std::array{"between @point and|to|- @point",
                             "from @point to|till|until|through|thru|- @point",
                             "从 @point 到|至|-|~ @point 之间|为止?",
                             "在|于? @point 到|至|和|与|跟|-|~ @point 之间",
                             "@point to|till|until|through|thru|-|~ @point",
                             "@point 到|至|-|~ @point"};
         }),
         [&](const Match& m) { return set_range(m, slot(m, 0), slot(m, 1)); });
    // The beginning or the end.
    each(rule([] {
           return std::array{"first|opening|initial|beginning @dur", "前 @dur",
                             "开头|开始|起始|最前面|头 的? @dur"};
         }),
         [&](const Match& m) { return assign(Field::kTo, to_, slot(m, 0).micros, m.shown); });
    // "the first minute": the unit alone means one of it.
    each(rule([] { return std::array{"first|opening minute|hour"}; }),
         [&](const Match& m) { return assign(Field::kTo, to_, unit_alone(m), m.shown); });
    each(rule([] { return std::array{"last|final|closing minute|hour"}; }), [&](const Match& m) {
      return assign(Field::kFromEnd, from_end_, unit_alone(m), m.shown);
    });
    each(rule([] {
           return std::array{"last|final|closing|ending @dur", "最后|末尾|结尾|最后面|末 的? @dur",
                             "后 @dur"};
         }),
         [&](const Match& m) {
           return assign(Field::kFromEnd, from_end_, slot(m, 0).micros, m.shown);
         });
    // One point.
    each(rule([] {
           return std::array{"from|after|since @time onwards|onward|on?",
                             "starting|beginning|start|begin from|at @time",
                             "从 @time 开始|起|以后|之后|往后?", "@time 开始|起|以后|之后|后",
                             "starting|beginning|start? @time in|into"};
         }),
         [&](const Match& m) { return assign(Field::kFrom, from_, slot(m, 0).micros, m.shown); });
    each(rule([] {
           return std::array{"until|till|to|through|before|upto @time",
                             "up to @time",
                             "end|ending|ends|stop|stopping at @time",
                             "到 @time 为止|结束?",
                             "@time 之前|以前|为止",
                             "截止 到? @time"};
         }),
         [&](const Match& m) { return assign(Field::kTo, to_, slot(m, 0).micros, m.shown); });
    each(rule([] {
           return std::array{"for @dur", "@dur long|worth", "持续|时长 @dur", "@dur 长"};
         }),
         [&](const Match& m) {
           return assign(Field::kDuration, duration_, slot(m, 0).micros, m.shown);
         });
  }

  void tracks() {
    each(rule([] {
           return std::array{
               "all|every|each audio? tracks|track|streams|stream|languages",
               "所有|全部|每条|每个|每一条|每一个|各个|每 音轨|轨道|音频轨|音频流|声轨"};
         }),
         [&](const Match& m) { return assign(Field::kAll, all_, true, m.shown); });
    const auto number = [&](const Match& m) {
      const double v = slot(m, 0).value;
      if (!(v >= 1 && v <= 99 && v == std::floor(v))) return false;
      const int n = static_cast<int>(v);
      if (n == 1 && slot(m, 0).kind == Kind::kOrdinal) {
        note(chinese_ ? fmt::format("“{}”理解为第 1 条音轨（只数音轨，不是默认音轨）", m.shown)
                      : fmt::format("read {} as audio track 1, counting audio tracks only (not "
                                    "the track flagged as default)",
                                    quoted(m.shown)));
      }
      return assign(Field::kTrack, track_, n, m.shown);
    };
    each(rule([] {
           return std::array{"@ord audio|language|sound? track|stream|soundtrack",
                             "@ord audio",
                             "@ord 条|个|号|路? 音轨|轨|轨道|音频轨|音频流|声轨|音频",
                             "audio|sound? track|stream number|no|#? .? @num|@ord",
                             "音轨|轨道|音频轨|音频流 @num",
                             "@num 号 音轨|轨"};
         }),
         number);
    // "in Japanese", "the Japanese dub", "日语配音": the name and the words that go with it.
    // One pattern for every language; the name matched says which.
    static const std::string kLanguages = [] {
      std::string names, tail;
      for (const auto& l : kLanguageNames) {
        names += (names.empty() ? "" : "|") + std::string(l.name);
      }
      for (auto w : kLanguageTail) tail += (tail.empty() ? "" : "|") + std::string(w);
      return fmt::format("in? {} {}?", names, tail);
    }();
    static const Rule kLanguageRule(std::array{std::string_view(kLanguages)});
    each(kLanguageRule, [&](const Match& m) {
      for (size_t k = m.begin; k < m.end; ++k) {
        for (const auto& l : kLanguageNames) {
          Match unused;
          if (match_alt(Alt{l.name}, k, unused) > 0) {
            return assign(Field::kLang, lang_, std::string(l.code), m.shown);
          }
        }
      }
      return false;
    });
    each(rule([] {
           return std::array{"director's|directors|director? commentary|commentaries track?",
                             "导演? 解说|评论|评论音轨|解说音轨"};
         }),
         [&](const Match& m) {
           return assign(Field::kTitle, title_, std::string("commentary"), m.shown);
         });
    each(rule([] {
           return std::array{"audio description|descriptions",
                             "descriptive|described audio|track|video?"};
         }),
         [&](const Match& m) {
           return assign(Field::kTitle, title_, std::string("description"), m.shown);
         });
  }

  bool is_filler(std::string_view w) const {
    for (auto f : kEnglishFillers) {
      if (w == f) return true;
    }
    for (auto f : kSourceWords) {
      if (w == f) return true;
    }
    return false;
  }

  // Whatever no rule took and no filler list covers is reported, never dropped.
  void leftovers() {
    // The Chinese fillers by the bucket of their first character, so a character is compared
    // with the few that can match it.
    std::vector<std::pair<uint8_t, std::string_view>> fillers;
    for (std::string_view f : kChineseFillers) fillers.emplace_back(bucket(f), f);
    std::sort(fillers.begin(), fillers.end());
    std::vector<std::string> unknown;
    std::string run;
    size_t run_tokens = 0;  // a long run is shown by its start
    size_t last_end = 0;
    std::optional<size_t> lone_time;  // a time or a length said with nothing around it
    auto flush = [&] {
      if (!run.empty()) unknown.push_back(run_tokens > 8 ? run + "…" : run);
      run.clear();
      run_tokens = 0;
    };
    for (size_t i = 0; i < t_.size(); ++i) {
      if (!free(i)) {
        flush();
        continue;
      }
      const Token& t = t_[i];
      size_t skip = 0;
      if (t.kind == Kind::kPunct) {
        skip = 1;  // marks, symbols and unreadable bytes carry no setting
      } else if (t.kind == Kind::kWord) {
        if (is_filler(t.text)) skip = 1;
      } else if (t.kind == Kind::kHan) {
        auto f = std::lower_bound(fillers.begin(), fillers.end(),
                                  std::pair<uint8_t, std::string_view>{buckets_[i], {}});
        for (; f != fillers.end() && f->first == buckets_[i]; ++f) {
          Match m;
          if (const size_t len = match_alt(Alt{f->second}, i, m)) skip = std::max(skip, len);
        }
      }
      if (skip > 0) {
        flush();
        for (size_t k = i; k < i + skip; ++k) t_[k].consumed = true;
        i += skip - 1;
        continue;
      }
      if ((t.kind == Kind::kDuration || t.kind == Kind::kTime) && !lone_time) lone_time = i;
      if (t.kind == Kind::kWord || t.kind == Kind::kHan) unknown_.push_back(i);
      if (++run_tokens <= 8) {
        if (!run.empty() && t.begin > last_end) run += ' ';
        run += t.shown;
      }
      last_end = t.end;
    }
    flush();
    if (lone_time && unknown.size() == 1 && unknown_.empty()) {
      // "20 分钟", "90 s": a time with no word saying what it is.
      const std::string t = format_time(t_[*lone_time].micros);
      problem(Outcome::kQuestion,
              chinese_
                  ? fmt::format("“{}”指什么：前 {}、从 {} 开始，还是 {} 长？", unknown[0], t, t, t)
                  : fmt::format("What is {} for: the first {}, from {} on, or {} long?",
                                quoted(unknown[0]), t, t, t));
      return;
    }
    if (unknown.empty()) return;
    constexpr size_t kShown = 8;
    std::string list;
    for (size_t k = 0; k < unknown.size() && k < kShown; ++k) {
      list += (list.empty() ? ""
               : chinese_   ? "、"
                            : ", ") +
              (chinese_ ? "“" + unknown[k] + "”" : quoted(unknown[k]));
    }
    if (unknown.size() > kShown) {
      list += chinese_ ? fmt::format("等 {} 处", unknown.size())
                       : fmt::format(" and {} more", unknown.size() - kShown);
    }
    problem(
        Outcome::kQuestion,
        chinese_
            ? fmt::format("我没看懂{}。它指的是格式、质量、比特率、时间范围、音轨、采样率还是声道？"
                          "请换个说法，或直接用 peel 的参数（peel --help）。",
                          list)
            : fmt::format("I did not understand {}. Is it about the format, quality, "
                          "bitrate, time range, track, sample rate or channels? Say it "
                          "another way, or use peel's flags (peel --help).",
                          list));
  }

  // ---- Putting it together --------------------------------------------------------------

  void contradiction(std::string en, std::string zh) {
    problem(Outcome::kContradiction, chinese_ ? std::move(zh) : std::move(en));
  }

  void apply_intent() {
    if (!intent_) return;
    const std::string f = format_.value_or("auto");
    switch (*intent_) {
      case Intent::kTranscription:
        if (!format_) format_ = "wav";
        if (!rate_) rate_ = 16000;
        if (!channels_) channels_ = 1;
        return;
      case Intent::kPodcast:
        if (!format_) format_ = "mp3";
        if (!bitrate_ && !facts_.loses_nothing(*format_)) bitrate_ = 128'000;
        return;
      case Intent::kHigh: {
        int64_t bps = 0;
        if (f == "wav" || f == "pcm") {
          if (!sample_format_) sample_format_ = "s24";
        } else if (f == "mp3") {
          bps = 320'000;
        } else if (f == "aac" || f == "m4a") {
          bps = 256'000;
        } else if (f == "opus") {
          bps = 160'000;
        } else if (f == "ogg") {
          bps = 256'000;
        } else if (f == "auto") {
          note(
              std::string(say("no format was named, so the audio is kept as it is: nothing "
                              "beats the original",
                              "没有指定格式，保持原始音频不变：原始音质就是最高的")));
        } else {
          note(chinese_ ? fmt::format("{}，本身就是最高质量", lossless_is(f))
                        : fmt::format("{}: already the highest quality", lossless_is(f)));
        }
        if (bps > 0 && bitrate_ && *bitrate_ != bps) {
          note(chinese_
                   ? fmt::format("使用你给的比特率“{}”，而不是高质量默认值", said(Field::kBitrate))
                   : fmt::format("used the bitrate you gave ({}) rather than the high-quality "
                                 "default",
                                 said(Field::kBitrate)));
        } else if (bps > 0) {
          bitrate_ = bps;
        }
        return;
      }
      case Intent::kSmall: {
        if (f != "auto" && facts_.loses_nothing(f)) {
          contradiction(
              fmt::format("{}, so it cannot make a small file; choose mp3, "
                          "aac or opus for a small one, or drop {}",
                          lossless_is(f), quoted(said(Field::kIntent))),
              fmt::format("{}，文件不会小；要小文件请选 mp3、aac 或 opus，或去掉“{}”",
                          lossless_is(f), said(Field::kIntent)));
          return;
        }
        if (f == "auto") {
          format_ = "opus";
          note(std::string(
              say("no format was named: opus at 64 kbit/s makes the smallest file "
                  "that still sounds good (say mp3 if it must play on old devices)",
                  "没有指定格式：用 64 kbit/s 的 opus，文件最小且音质尚好（老设备请说 mp3）")));
        }
        const int64_t bps = *format_ == "opus" ? 64'000 : 96'000;
        if (!bitrate_) bitrate_ = bps;
        return;
      }
    }
  }

  void check_contradictions() {
    if (lossless_) {
      if (!format_ || *format_ == "auto") {
        if (!format_) {
          format_ = "flac";
          format_stated_ = true;
          note(std::string(say("lossless: flac, compressed without loss (say wav for uncompressed)",
                               "无损：用 flac，无损压缩（要不压缩请说 wav）")));
        }
      } else if (!facts_.loses_nothing(*format_)) {
        contradiction(
            fmt::format("{} is lossy, so it cannot be {}. Choose flac or wav for "
                        "lossless, or drop {} to get {}.",
                        *format_, quoted(*lossless_), quoted(*lossless_), *format_),
            fmt::format("{} 是有损格式，做不到“{}”。要无损请选 flac 或 wav，或去掉“{}”保留 {}。",
                        *format_, *lossless_, *lossless_, *format_));
      }
    }
    if (keep_quality_) {
      // Into a lossless format nothing more is lost even where the audio must be decoded;
      // into anything else only a copy keeps the original quality.
      if (format_ && facts_.loses_nothing(*format_) && copy_ != CopyPolicy::kCopy) {
        note(chinese_ ? fmt::format("{}：即使需要重新编码也不再损失音质（“{}”）",
                                    lossless_is(*format_), *keep_quality_)
                      : fmt::format("{}, so {} holds even where the audio must be "
                                    "re-encoded: nothing more is lost",
                                    lossless_is(*format_), quoted(*keep_quality_)));
      } else {
        assign(Field::kCopy, copy_, CopyPolicy::kCopy, *keep_quality_);
      }
    }
    if (bitrate_ && format_ && facts_.loses_nothing(*format_)) {
      contradiction(
          fmt::format("{}: it has no bitrate to set ({}). Drop the bitrate, "
                      "or choose mp3, aac or opus.",
                      lossless_is(*format_), quoted(said(Field::kBitrate))),
          fmt::format("{}，没有比特率可设（“{}”）。去掉比特率，或选 mp3、aac、opus。",
                      lossless_is(*format_), said(Field::kBitrate)));
    }
    // Sample formats as the table has them: which formats take one, and which ones each takes.
    const bool named = format_ && *format_ != "auto";
    if (sample_format_ && named && facts_.sample_formats(*format_).empty()) {
      const auto takers = facts_.taking("");
      contradiction(fmt::format("{} applies to {}, not {}; which do you want?",
                                quoted(said(Field::kSampleFormat)), joined(takers, " and "),
                                *format_),
                    fmt::format("“{}”只适用于 {}，不适用于 {}；要哪个？",
                                said(Field::kSampleFormat), joined(takers, "、"), *format_));
    } else if (sample_format_ && named) {
      const auto takes = facts_.sample_formats(*format_);
      if (std::find(takes.begin(), takes.end(), *sample_format_) == takes.end()) {
        const auto takers = facts_.taking(*sample_format_);
        const std::string other = takers.empty() ? "wav" : takers.front();
        contradiction(
            fmt::format("{} holds {} samples, not {} ({}); choose {} for {}, or {} for {}",
                        *format_, joined(takes, " or "), *sample_format_,
                        quoted(said(Field::kSampleFormat)), other, *sample_format_,
                        joined(takes, " or "), *format_),
            fmt::format("{} 只能存 {} 采样，不能用 {}（“{}”）；{} 请用 {}，{} 请选 {}", *format_,
                        joined(takes, "、"), *sample_format_, said(Field::kSampleFormat),
                        *sample_format_, other, *format_, joined(takes, "、")));
      }
    }
    if (sample_format_ && !named) {
      format_ = "wav";
      note(std::string(
          say("a sample depth was asked for, so the output is wav", "指定了位深，输出为 wav")));
    }
    if (quality_ && format_ && *format_ != "mp3" && *format_ != "ogg") {
      contradiction(fmt::format("a VBR quality ({}) applies to mp3 and ogg, not {}",
                                quoted(said(Field::kQuality)), *format_),
                    fmt::format("VBR 质量（“{}”）只适用于 mp3 和 ogg，不适用于 {}",
                                said(Field::kQuality), *format_));
    }
    if (quality_ && !format_) {
      format_ = "mp3";
      note(std::string(
          say("a VBR quality was asked for, so the output is mp3", "指定了 VBR 质量，输出为 mp3")));
    }
    if (copy_ == CopyPolicy::kCopy) {
      std::vector<std::string_view> changes;
      for (Field f : {Field::kBitrate, Field::kQuality, Field::kRate, Field::kChannels,
                      Field::kSampleFormat, Field::kLoudness, Field::kIntent}) {
        if (!said(f).empty()) changes.push_back(said(f));
      }
      if (!changes.empty()) {
        contradiction(fmt::format("{} keeps the audio as it is, but {} changes it; which one?",
                                  quoted(said(Field::kCopy)), quoted(changes.front())),
                      fmt::format("“{}”要求保持原样，但“{}”要改变音频；要哪一个？",
                                  said(Field::kCopy), changes.front()));
      }
    }
    if (all_ && (track_ || lang_ || title_)) {
      const std::string_view one = !said(Field::kTrack).empty()  ? said(Field::kTrack)
                                   : !said(Field::kLang).empty() ? said(Field::kLang)
                                                                 : said(Field::kTitle);
      conflict(Field::kAll, said(Field::kAll), one);
    }
    if (from_end_ && (from_ || to_ || duration_)) {
      const std::string_view other = !said(Field::kFrom).empty() ? said(Field::kFrom)
                                     : !said(Field::kTo).empty() ? said(Field::kTo)
                                                                 : said(Field::kDuration);
      conflict(Field::kFromEnd, said(Field::kFromEnd), other);
    }
    if (to_ && duration_) conflict(Field::kTo, said(Field::kTo), said(Field::kDuration));
    if (from_ && to_ && *to_ <= *from_) {
      contradiction(fmt::format("the range ends ({}) before it starts ({}); which times did you "
                                "mean?",
                                format_time(*to_), format_time(*from_)),
                    fmt::format("结束时间（{}）早于开始时间（{}）；请确认时间", format_time(*to_),
                                format_time(*from_)));
    }
    if (output_ && (named_.size() + args_.size() > 1 || !u_.folders.empty())) {
      contradiction(
          "one output file was named, but there are several inputs; name a folder "
          "instead",
          "指定了一个输出文件，但有多个输入；请改为指定文件夹");
    }
  }

  void finish() {
    if (!loudness_ && normalize_ && intent_ == Intent::kPodcast) {
      loudness_ = -16.0;  // "normalize it for a podcast"
      said_[static_cast<size_t>(Field::kLoudness)] = *normalize_;
    }
    if (!loudness_ && (normalize_ || louder_)) {
      const std::string_view words = normalize_ ? *normalize_ : *louder_;
      problem(Outcome::kQuestion,
              chinese_ ? fmt::format("“{}”要调到多大的响度？播客 -16 LUFS、广播 -23 LUFS（EBU "
                                     "R128），还是音乐平台 -14 LUFS？也可以直接说“-16 LUFS”。",
                                     words)
                       : fmt::format("{} to what loudness? For a podcast (-16 LUFS), broadcast "
                                     "(-23 LUFS, EBU R128) or music streaming (-14 LUFS)? Or "
                                     "say a level, like -16 LUFS.",
                                     quoted(words)));
    }
    apply_intent();
    check_contradictions();

    Request& r = u_.request;
    r.inputs = args_;
    for (const auto& n : named_) {
      if (std::find(r.inputs.begin(), r.inputs.end(), n) == r.inputs.end()) r.inputs.push_back(n);
    }
    if (r.inputs.empty() && u_.folders.empty()) {
      problem(Outcome::kQuestion,
              std::string(say("Which file should I take the audio from? Name it in the sentence "
                              "(\"from interview.mkv\") or give its path after the sentence.",
                              "要从哪个文件提取音频？请在句子里写出文件名（如“从 interview.mkv”），"
                              "或把路径放在句子后面。")));
    }
    r.format = format_.value_or("auto");
    u_.format_stated = format_stated_;
    r.copy_policy = copy_.value_or(CopyPolicy::kAuto);
    r.from = from_;
    r.to = to_;
    r.duration = duration_;
    u_.from_end = from_end_;
    r.track.number = track_;
    r.track.lang = lang_;
    r.track.title = title_;
    r.track.all = all_.value_or(false);
    r.bitrate = bitrate_;
    r.quality = quality_;
    r.sample_rate = rate_;
    r.channels = channels_;
    r.sample_format = sample_format_;
    if (loudness_) r.loudness = LoudnessTarget{*loudness_, -1};
    if (output_) r.output = *output_;
    if (out_dir_) r.out_dir = *out_dir_;

    u_.outcome = Outcome::kPlan;
    for (Outcome o : {Outcome::kQuestion, Outcome::kContradiction, Outcome::kUnsupported}) {
      if (outcomes_seen_[static_cast<size_t>(o)]) u_.outcome = o;
    }
    for (const auto& p : problems_) {
      u_.question += (u_.question.empty() ? "" : chinese_ ? "" : " ") + p.text;
    }
    if (problems_left_out_ > 0) {
      u_.question += chinese_ ? fmt::format("（另有 {} 处问题未列出。）", problems_left_out_)
                              : fmt::format(" ({} more not listed.)", problems_left_out_);
    }
    constexpr std::pair<Field, std::string_view> kKeys[] = {{Field::kFormat, "format"},
                                                            {Field::kCopy, "copy_policy"},
                                                            {Field::kFrom, "from"},
                                                            {Field::kTo, "to"},
                                                            {Field::kDuration, "duration"},
                                                            {Field::kFromEnd, "from_end"},
                                                            {Field::kTrack, "track"},
                                                            {Field::kLang, "lang"},
                                                            {Field::kTitle, "title"},
                                                            {Field::kAll, "all_tracks"},
                                                            {Field::kBitrate, "bitrate"},
                                                            {Field::kQuality, "quality"},
                                                            {Field::kRate, "sample_rate"},
                                                            {Field::kChannels, "channels"},
                                                            {Field::kSampleFormat, "sample_format"},
                                                            {Field::kLoudness, "loudness"},
                                                            {Field::kOutput, "output"},
                                                            {Field::kOutDir, "out_dir"},
                                                            {Field::kIntent, "purpose"}};
    for (const auto& [f, key] : kKeys) {
      if (!said(f).empty()) u_.said.emplace(key, said(f));
    }
    u_.explanation = explain(u_);
  }

  std::string_view sentence_;
  std::vector<Token> t_;
  std::vector<std::string> args_;
  std::unordered_set<std::string> known_;  // file names known to exist
  std::vector<bool> input_file_;           // t_[i] was taken as an input file
  std::vector<uint8_t> buckets_;           // bucket() of each token's text
  std::vector<bool> glue_;                 // is_glue(t_[i]): skipped inside a phrase
  std::vector<const Rule*> rules_seen_;    // their literals are the vocabulary of typos
  std::vector<size_t> unknown_;            // words no rule or list took
  std::array<bool, 4> outcomes_seen_{};
  size_t problems_left_out_ = 0;
  bool chinese_ = false;
  Understanding u_;
  std::vector<Problem> problems_;
  std::array<std::string, static_cast<size_t>(Field::kCount)> said_;

  FormatFacts facts_;
  std::vector<std::string> named_;  // files named in the sentence
  std::optional<std::string> format_, lang_, title_, sample_format_, output_, out_dir_, lossless_,
      keep_quality_;
  bool format_stated_ = false;
  std::optional<CopyPolicy> copy_;
  std::optional<Micros> from_, to_, duration_, from_end_;
  std::optional<int> track_, rate_, channels_;
  std::optional<bool> all_;
  std::optional<int64_t> bitrate_;
  std::optional<double> quality_;
  std::optional<double> loudness_;         // LUFS
  std::optional<std::string> normalize_;   // the words that asked for normalization
  std::optional<std::string> louder_;      // ... or for a change of level, with no target
  std::optional<Intent> intent_;
};

std::vector<Parser::Fix> Parser::fixes() const {
  constexpr size_t kMaxUnknown = 8;
  if (unknown_.empty() || unknown_.size() > kMaxUnknown) return {};
  std::vector<std::string_view> words, han;
  auto add = [&](std::string_view w) { (is_ascii(w) ? words : han).push_back(w); };
  for (const Rule* r : rules_seen_) {
    for (std::string_view w : r->vocabulary) add(w);
  }
  for (std::string_view w : kEnglishFillers) add(w);
  for (std::string_view w : kSourceWords) add(w);
  for (std::string_view w : kChineseFillers) add(w);
  for (std::string_view w : kLanguageTail) add(w);
  for (const auto& l : kLanguageNames) add(l.name);
  for (const auto& f : kFormatWords) add(f.word);
  lexer_words(words);
  std::vector<Fix> out;
  for (size_t i : unknown_) {
    const Token& t = t_[i];
    if (t.kind == Kind::kWord) {
      // Only a word on its own: one glued to a name or a number ("talk.nmkv") is not a slip
      // of a word, and a correction must never make or change a file name.
      auto harmless = [](const Token& n) {
        return n.han || (n.kind == Kind::kPunct &&
                         std::string_view(",;!?()").find(n.text) != std::string_view::npos);
      };
      if ((i > 0 && t.glued && !harmless(t_[i - 1])) ||
          (i + 1 < t_.size() && t_[i + 1].glued && !harmless(t_[i + 1]))) {
        continue;
      }
      if (t.text.find_first_not_of("abcdefghijklmnopqrstuvwxyz'") != std::string::npos) continue;
      const std::string_view w = correct_word(t.text, words);
      if (w.empty()) continue;
      out.push_back({t.byte_begin, t.byte_end, std::string(w),
                     chinese_ ? fmt::format("把“{}”理解为“{}”", t.shown, w)
                              : fmt::format("read {} as {}", quoted(t.shown), quoted(w))});
      continue;
    }
    // A Han word of three characters or more with one of them mistyped ("解说音规"): the
    // wrong character is the one nobody understood, the others stand around it as typed.
    if (t.kind != Kind::kHan || t.text.size() != 3) continue;
    std::string_view found;
    size_t found_start = 0;
    bool tie = false;
    for (std::string_view w : han) {
      if (w.size() < 9 || w.size() % 3 != 0) continue;
      const size_t len = w.size() / 3;
      for (size_t q = 0; q < len && q <= i; ++q) {
        const size_t start = i - q;
        if (start + len > t_.size()) continue;
        bool ok = w.substr(q * 3, 3) != t.text;
        for (size_t r = 0; ok && r < len; ++r) {
          const Token& c = t_[start + r];
          ok = c.kind == Kind::kHan && c.text.size() == 3 &&
               (r == q || c.text == w.substr(r * 3, 3));
        }
        if (!ok) continue;
        if (!found.empty() && found != w) tie = true;
        found = w, found_start = start;
      }
    }
    if (found.empty() || tie) continue;
    const size_t q = i - found_start;
    const std::string typed = raw(found_start, found_start + found.size() / 3 - 1);
    out.push_back({t.byte_begin, t.byte_end, std::string(found.substr(q * 3, 3)),
                   chinese_ ? fmt::format("把“{}”理解为“{}”", typed, found)
                            : fmt::format("read {} as {}", quoted(typed), quoted(found))});
  }
  std::sort(out.begin(), out.end(),
            [](const Fix& a, const Fix& b) { return a.byte_begin < b.byte_begin; });
  return out;
}

}  // namespace

Understanding understand(std::string_view sentence, const std::vector<std::string>& inputs,
                         const std::vector<std::string>& known_files) {
  Parser first(sentence, inputs, known_files, {});
  Understanding u = first.run();
  const auto fixes = first.fixes();
  if (fixes.empty()) return u;
  // Read again with the typos corrected, saying so: linear, and at most twice.
  std::string corrected;
  std::vector<std::string> notes;
  size_t at = 0;
  for (const auto& f : fixes) {
    corrected.append(sentence.substr(at, f.byte_begin - at));
    corrected += f.with;
    at = f.byte_end;
    notes.push_back(f.note);
  }
  corrected.append(sentence.substr(at));
  return Parser(corrected, inputs, known_files, std::move(notes)).run();
}

}  // namespace peel::nl
