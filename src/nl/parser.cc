// understand(): reads the sentence's tokens with phrase rules, most specific first, then
// applies the quality words per format and checks what is left over, conflicting or missing.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <optional>

#include "nl/explain.h"
#include "nl/lexer.h"
#include "nl/text.h"
#include "nl/vocabulary.h"
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

bool lossless_format(std::string_view f) {
  return f == "wav" || f == "flac" || f == "pcm" || f == "mka";
}

std::string quoted(std::string_view s) { return fmt::format("\"{}\"", s); }

class Parser {
 public:
  Parser(std::string_view sentence, const std::vector<std::string>& inputs)
      : t_(lex(sentence)), args_(inputs) {
    for (const auto& tok : t_) {
      if (tok.kind == Kind::kHan) chinese_ = true;
    }
    u_.language = chinese_ ? Language::kChinese : Language::kEnglish;
  }

  Understanding run() {
    files();
    unsupported();
    copy_policy();
    formats();
    intents();
    sample_rate();
    bitrate();
    channels();
    sample_format();
    ranges();
    tracks();
    leftovers();
    finish();
    return std::move(u_);
  }

 private:
  // ---- Matching -------------------------------------------------------------------------

  std::string_view say(std::string_view en, std::string_view zh) const {
    return chinese_ ? zh : en;
  }

  bool free(size_t i) const { return i < t_.size() && !t_[i].consumed; }

  // Words skipped between the parts of a phrase: "the 2-minute and the 5-minute mark".
  bool transparent(size_t i) const {
    if (!free(i)) return false;
    const std::string& w = t_[i].text;
    return (t_[i].kind == Kind::kWord &&
            (w == "the" || w == "a" || w == "an" || w == "my" || w == "your" || w == "our" ||
             w == "its" || w == "this" || w == "that")) ||
           (t_[i].kind == Kind::kHan && w == "的");
  }

  // Length of `alt` matched at i, 0 if it does not match. Slots append to m.slots.
  size_t match_alt(std::string_view alt, size_t i, Match& m) const {
    if (!free(i)) return 0;
    const Token& t = t_[i];
    if (alt.size() > 1 && alt.front() == '@') {
      const std::string_view slot = alt.substr(1);
      bool ok = false;
      if (slot == "dur")
        ok = t.kind == Kind::kDuration;
      else if (slot == "time")
        ok = t.kind == Kind::kDuration || t.kind == Kind::kTime;
      else if (slot == "point")
        ok = t.kind == Kind::kDuration || t.kind == Kind::kTime || t.kind == Kind::kNumber;
      else if (slot == "num")
        ok = t.kind == Kind::kNumber;
      else if (slot == "ord")
        ok = t.kind == Kind::kOrdinal;
      else if (slot == "bitrate")
        ok = t.kind == Kind::kBitrate;
      else if (slot == "rate")
        ok = t.kind == Kind::kRate;
      else if (slot == "path")
        ok = t.kind == Kind::kPath;
      else if (slot == "quoted")
        ok = t.kind == Kind::kQuoted;
      else if (slot == "file")
        ok = t.kind == Kind::kPath || t.kind == Kind::kQuoted;
      else if (slot == "word")
        ok = t.kind == Kind::kWord;
      else if (slot == "ext")
        ok = t.kind == Kind::kWord && is_media_extension(t.text);
      if (!ok) return 0;
      m.slots.push_back(i);
      return 1;
    }
    if (t.kind == Kind::kQuoted || t.kind == Kind::kPath) return 0;
    if (t.text == alt) return 1;
    if (static_cast<unsigned char>(alt.front()) < 0x80) return 0;
    // Han characters, one token each.
    const std::u32string chars = decode_utf8(alt);
    if (chars.size() < 2) return 0;
    for (size_t k = 0; k < chars.size(); ++k) {
      std::string c;
      append_utf8(c, chars[k]);
      if (!free(i + k) || t_[i + k].kind != Kind::kHan || t_[i + k].text != c) return 0;
    }
    return chars.size();
  }

  struct Element {
    std::string_view alts;
    bool optional;
  };

  static std::vector<Element> elements(std::string_view pattern) {
    std::vector<Element> out;
    size_t i = 0;
    while (i < pattern.size()) {
      size_t j = pattern.find(' ', i);
      if (j == std::string_view::npos) j = pattern.size();
      std::string_view e = pattern.substr(i, j - i);
      const bool optional = e.size() > 1 && e.back() == '?';
      if (optional) e.remove_suffix(1);
      out.push_back({e, optional});
      i = j + 1;
    }
    return out;
  }

  bool match_from(const std::vector<Element>& els, size_t e, size_t ti, bool first,
                  Match& m) const {
    if (e == els.size()) {
      m.end = ti;
      return true;
    }
    size_t tj = ti;
    for (;;) {
      std::string_view alts = els[e].alts;
      for (;;) {
        const size_t bar = alts.find('|');
        const std::string_view alt = alts.substr(0, bar);
        const size_t slots = m.slots.size();
        if (const size_t len = match_alt(alt, tj, m)) {
          if (match_from(els, e + 1, tj + len, false, m)) return true;
          m.slots.resize(slots);
        }
        if (bar == std::string_view::npos) break;
        alts.remove_prefix(bar + 1);
      }
      if (first || !transparent(tj)) break;
      ++tj;
    }
    return els[e].optional && match_from(els, e + 1, ti, first, m);
  }

  std::optional<Match> match_at(const std::vector<Element>& pattern, size_t i) const {
    Match m;
    m.begin = i;
    if (!free(i) || !match_from(pattern, 0, i, true, m) || m.end == i) {
      return std::nullopt;
    }
    for (size_t k = m.begin; k < m.end; ++k) {
      if (!m.shown.empty() && t_[k].begin > t_[k - 1].end) m.shown += ' ';
      m.shown += t_[k].shown;
    }
    return m;
  }

  void consume(const Match& m) {
    for (size_t k = m.begin; k < m.end; ++k) t_[k].consumed = true;
  }

  // Runs `action` on every match of any of `patterns`, left to right; an action returning
  // false leaves the words for later rules.
  void each(std::initializer_list<std::string_view> patterns,
            const std::function<bool(const Match&)>& action) {
    std::vector<std::vector<Element>> parsed;
    for (auto p : patterns) parsed.push_back(elements(p));
    for (size_t i = 0; i < t_.size(); ++i) {
      for (const auto& p : parsed) {
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

  // ---- Recording what was said ----------------------------------------------------------

  void problem(Outcome kind, std::string text) {
    for (const auto& p : problems_) {
      if (p.text == text) return;
    }
    problems_.push_back({kind, std::move(text)});
  }

  void note(std::string text) {
    if (std::find(u_.notes.begin(), u_.notes.end(), text) == u_.notes.end()) {
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
    each({"called|named|titled|title @quoted", "called|named|titled @word", "标题 为|是? @quoted",
          "名为|叫做|名叫|叫 @quoted"},
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
    each({"all|every|each @ext? files|file|videos|video|clips|movies|recordings "
          "in|from|inside|under|within|of folder|directory? @file",
          "@file 文件夹|目录? 里|中|下|内|里面? 所有|全部|每个|每一个 @ext? 文件|视频|影片",
          "@file 文件夹|目录? 里|中|下|内|里面? @ext 文件|视频|影片",
          "in|from folder|directory @file"},
         there);
    each({"all|every|each @ext? files|file|videos|video|clips|movies|recordings here",
          "all|every|each @ext? files|file|videos|video|clips|movies|recordings in|from current? "
          "folder|directory",
          "当前|这个 文件夹|目录 里|中|下|内? 所有|全部|每个? @ext? 文件|视频"},
         here);
    each({"all|every|each @ext files|videos|clips|movies|recordings",
          "所有|全部|每个 @ext 文件|视频"},
         [&](const Match& m) {
           note(
               std::string(say("no folder was named, so the files are taken from the current "
                               "folder",
                               "没有指定文件夹，取当前文件夹中的文件")));
           return here(m);
         });

    // Outputs: a file with an audio extension after "as", "to", "保存为"...
    each({"as|to|into @file",
          "保存为|另存为|存为|输出为|输出到|导出为|导出到|保存到|存到|保存成|存成|转成|转为|转换为|"
          "转换成|变成|成|为|到 @file"},
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
      std::initializer_list<std::string_view> patterns;
      std::string_view en, zh;
    };
    const Feature kFeatures[] = {
        {{"normalize|normalise|normalized|normalised|normalization|normalisation|louder|loudness|"
          "quieter|volume|amplify|boost|lufs|gain",
          "响度|音量|标准化|归一|大声|放大|增益|调大|调高|调小|小声 化?"},
         "changing the loudness",
         "调整响度或音量"},
        {{"denoise|noise|hiss|降噪|去噪|噪音|杂音|噪声"}, "removing noise", "降噪"},
        {{"fade|fades|fading|淡入|淡出|渐强|渐弱"}, "fades", "淡入淡出"},
        {{"speed|faster|slower|tempo|pitch|倍速|加速|减速|变速|变调"},
         "changing speed or pitch",
         "变速或变调"},
        {{"merge|combine|concatenate|join|合并|拼接|连接"}, "joining files", "合并文件"},
        {{"split|chunks|分割|切分|切成|拆分"}, "splitting into parts", "切分成多段"},
        {{"silence|静音"}, "removing silence", "去除静音"},
        {{"vocals|vocal|karaoke|instrumental|人声|伴奏|消音"},
         "separating voice and music",
         "分离人声和伴奏"},
        {{"subtitle|subtitles|captions|字幕"}, "subtitles", "字幕"},
    };
    for (const auto& f : kFeatures) {
      each(f.patterns, [&](const Match& m) {
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

  void copy_policy() {
    const auto copy = [&](const Match& m) {
      return assign(Field::kCopy, copy_, CopyPolicy::kCopy, m.shown);
    };
    each({"original|source quality|stream",
          "lossless|losslessly copy|extraction|extract|rip",
          "no|without|not|never "
          "re|reencode|reencoding|transcode|transcoding|conversion|converting|recompression|"
          "recompressing encode|encoding?",
          "don't|dont|do|does not? re|reencode|transcode encode|encoding?",
          "as is",
          "as-is",
          "untouched",
          "unchanged",
          "bit perfect|exact",
          "bitperfect",
          "stream copy",
          "copy stream|streams",
          "direct|straight copy",
          "keep|preserve original|source quality",
          "原始|原 音质|品质|质量|编码",
          "原音质",
          "不|不要|不用|无需|不需要|别|无须 重新 编码|压缩",
          "不|不要|不用|无需|不需要|别|无须 转码|重编码|重新编码",
          "原样",
          "原封不动",
          "直接 复制|拷贝",
          "保持|保留 原始|原来|原? 音质|品质|编码",
          "流 复制",
          "无损 复制|提取"},
         copy);
    each({"re encode|encoding|encoded", "reencode|reencoding|reencoded",
          "force|always? transcode|transcoding|transcoded", "重新 编码|压缩", "转码", "重编码"},
         [&](const Match& m) {
           return assign(Field::kCopy, copy_, CopyPolicy::kReencode, m.shown);
         });
    each(
        {"same format|codec as source|original|input|video|file?", "same as source|original|input",
         "original|source format|codec|container", "keep|preserve format|codec",
         "whatever format|codec it is|has?", "原|原始|原来|源 格式", "保持|保留 原|原来|原始? 格式",
         "格式 不变", "与|和|跟 源|原|原来|原始 文件|视频? 相同|一样 格式?", "源 格式"},
        [&](const Match& m) {
          format_stated_ = true;
          return assign(Field::kFormat, format_, std::string("auto"), m.shown);
        });
  }

  void formats() {
    each({"mp3|mp|mpeg 3|-? 3?"}, [&](const Match& m) {
      // "mp 3", "mp-3", "mpeg 3": a split or spelled-out mp3; "mp" alone is not a format.
      if (m.end - m.begin == 1 && t_[m.begin].text != "mp3") return false;
      if (t_[m.begin].text == "mpeg" && m.end - m.begin == 1) return false;
      return set_format("mp3", m.shown);
    });
    each({"lossless|losslessly|无损"}, [&](const Match& m) {
      lossless_ = m.shown;
      return true;
    });
    each({"uncompressed|未压缩|不压缩|无压缩"},
         [&](const Match& m) { return set_format("wav", m.shown); });
    each({"pcm wav|wave", "wav|wave pcm", "wav|wave file|format|audio|格式|文件"},
         [&](const Match& m) { return set_format("wav", m.shown); });
    each({"raw|原始|裸? pcm", "raw pcm|samples"},
         [&](const Match& m) { return set_format("pcm", m.shown); });
    each({"ogg opus"}, [&](const Match& m) { return set_format("opus", m.shown); });
    each({"ogg vorbis"}, [&](const Match& m) { return set_format("ogg", m.shown); });
    each({"matroska|mka audio"}, [&](const Match& m) { return set_format("mka", m.shown); });
    each({"as|to|into|成|为|转成|转为|保存为 mp4|mkv|mov|avi|webm|m4v|flv|wmv"},
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
      for (const auto& fw : kFormatWords) {
        // Typos only where no real word is near: swapped letters of a three-letter name
        // ("wva"), one slip in a longer one ("falc", "flak", "opsu").
        const bool typo = !is_media_extension(w) && !is_filler(w) &&
                          ((w.size() == 3 && fw.word.size() == 3 && w != fw.word &&
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
    each({"high|higher|highest|best|top|max|maximum|better|great|excellent|studio|hi|good|full "
          "quality|fidelity",
          "hq", "hifi", "hi fi", "high|highest|best|max|maximum|top bitrate",
          "高|最高|最好|最佳|好|更好|顶级 质量|品质|音质", "高质量|高品质|高音质", "高保真"},
         intent(Intent::kHigh));
    each({"small|smaller|smallest|tiny|compact|little file|files|size?",
          "low|lower|lowest quality|bitrate", "save|saving space", "minimal|minimum size",
          "文件|体积 小|更小|最小|尽量小|小些 一点?", "小|更小 一点|些", "小 文件|体积", "小文件",
          "低 质量|音质|码率|比特率", "压缩"},
         intent(Intent::kSmall));
    each(
        {"transcription|transcribing|transcribe|transcript", "speech to text", "speech recognition",
         "stt", "asr", "whisper", "dictation", "voice recognition", "转录|转写|听写", "转 文字",
         "语音 识别", "语音识别", "语音转文字", "语音 转 文字", "识别 文字"},
        intent(Intent::kTranscription));
    each({"podcast|podcasts|podcasting", "播客"}, intent(Intent::kPodcast));
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
    each({"sample|sampling rate|frequency|freq of|at|to|is|=? @rate|@bitrate|@num",
          "samplerate of|at|to|is|=? @rate|@bitrate|@num",
          "采样率|采样频率|采样 为|是|设为|设置为|改为|=? @rate|@bitrate|@num",
          "@rate|@bitrate|@num sample|sampling rate", "@rate|@bitrate|@num samplerate",
          "@rate|@bitrate|@num 采样率|采样频率|采样", "@rate"},
         rate);
    // "16k" and "44.1k" are sample rates, not bitrates anyone would ask for.
    each({"@bitrate"}, [&](const Match& m) {
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
    each({"bitrate|bitrates of|at|to|is|=? @bitrate|@num", "bit rate of|at|to|is|=? @bitrate|@num",
          "比特率|码率|位率 为|是|设为|设置为|改为|=? @bitrate|@num",
          "@bitrate bitrate|比特率|码率", "@bitrate bit rate", "at|@ @bitrate", "@bitrate"},
         bits);
    each({"v|vbr @num", "vbr quality|level @num", "quality level @num"}, [&](const Match& m) {
      const double q = slot(m, 0).value;
      if (!(q >= 0 && q <= 10)) return false;
      return assign(Field::kQuality, quality_, q, m.shown);
    });
  }

  void channels() {
    each({"mono|monaural|monophonic", "single|one channel", "单声道|单通道"},
         [&](const Match& m) { return assign(Field::kChannels, channels_, 1, m.shown); });
    each({"stereo|stereophonic", "立体声|双声道"},
         [&](const Match& m) { return assign(Field::kChannels, channels_, 2, m.shown); });
    each({"@num channels|channel|ch|声道|个声道|通道|路", "@num surround|环绕|环绕声 sound|声?"},
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
    each({"@num -? bit|bits|位|比特 float|floating|浮点? point?", "bit depth of? @num",
          "位深 为|是? @num", "@num 位深"},
         [&](const Match& m) {
           const double v = slot(m, 0).value;
           const bool is_float = m.shown.find("float") != std::string::npos ||
                                 m.shown.find("浮点") != std::string::npos;
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
    if (t.kind != Kind::kNumber) return t.micros;
    if (unit == 0 || !(t.value >= 0 && t.value * static_cast<double>(unit) < 1e15))
      return std::nullopt;
    return std::llround(t.value * static_cast<double>(unit));
  }

  void set_range(const Match& m, const Token& a, const Token& b) {
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
      return;
    }
    assign(Field::kFrom, from_, *from, m.shown);
    assign(Field::kTo, to_, *to, m.shown);
  }

  Micros unit_alone(const Match& m) const {
    return t_[m.end - 1].text == "hour" ? 3600 * kMicrosPerSecond : 60 * kMicrosPerSecond;
  }

  void ranges() {
    // A length and a start, in either order.
    each({"for @dur from|after|at @time", "for @dur starting|beginning|start from|at @time",
          "@dur from|after @time", "@dur starting|beginning|start from|at @time"},
         [&](const Match& m) {
           assign(Field::kDuration, duration_, slot(m, 0).micros, m.shown);
           return assign(Field::kFrom, from_, slot(m, 1).micros, m.shown);
         });
    each({"from|starting|beginning|start at|from? @time for|lasting @dur",
          "从 @time 开始|起 截取|提取|取|录|往后? @dur", "@time 开始|起 的? @dur",
          "从 @time 往后 @dur"},
         [&](const Match& m) {
           assign(Field::kFrom, from_, slot(m, 0).micros, m.shown);
           return assign(Field::kDuration, duration_, slot(m, 1).micros, m.shown);
         });
    // Two points.
    each({"between @point and|to|- @point", "from @point to|till|until|through|thru|- @point",
          "从 @point 到|至|-|~ @point 之间|为止?", "在|于? @point 到|至|和|与|跟|-|~ @point 之间",
          "@point to|till|until|through|thru|-|~ @point", "@point 到|至|-|~ @point"},
         [&](const Match& m) {
           set_range(m, slot(m, 0), slot(m, 1));
           return true;
         });
    // The beginning or the end.
    each({"first|opening|initial|beginning @dur", "前 @dur", "开头|开始|起始|最前面|头 的? @dur"},
         [&](const Match& m) { return assign(Field::kTo, to_, slot(m, 0).micros, m.shown); });
    // "the first minute": the unit alone means one of it.
    each({"first|opening minute|hour"},
         [&](const Match& m) { return assign(Field::kTo, to_, unit_alone(m), m.shown); });
    each({"last|final|closing minute|hour"}, [&](const Match& m) {
      return assign(Field::kFromEnd, from_end_, unit_alone(m), m.shown);
    });
    each({"last|final|closing|ending @dur", "最后|末尾|结尾|最后面|末 的? @dur", "后 @dur"},
         [&](const Match& m) {
           return assign(Field::kFromEnd, from_end_, slot(m, 0).micros, m.shown);
         });
    // One point.
    each({"from|after|since @time onwards|onward|on?",
          "starting|beginning|start|begin from|at @time", "从 @time 开始|起|以后|之后|往后?",
          "@time 开始|起|以后|之后|后", "starting|beginning|start? @time in|into"},
         [&](const Match& m) { return assign(Field::kFrom, from_, slot(m, 0).micros, m.shown); });
    each({"until|till|to|through|before|upto @time", "up to @time",
          "end|ending|ends|stop|stopping at @time", "到 @time 为止|结束?", "@time 之前|以前|为止",
          "截止 到? @time"},
         [&](const Match& m) { return assign(Field::kTo, to_, slot(m, 0).micros, m.shown); });
    each({"for @dur", "@dur long|worth", "持续|时长 @dur", "@dur 长"}, [&](const Match& m) {
      return assign(Field::kDuration, duration_, slot(m, 0).micros, m.shown);
    });
  }

  void tracks() {
    each({"all|every|each audio? tracks|track|streams|stream|languages",
          "所有|全部|每条|每个|每一条|每一个|各个|每 音轨|轨道|音频轨|音频流|声轨"},
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
    each({"@ord audio|language|sound? track|stream|soundtrack", "@ord audio",
          "@ord 条|个|号|路? 音轨|轨|轨道|音频轨|音频流|声轨|音频",
          "audio|sound? track|stream number|no|#? .? @num|@ord", "音轨|轨道|音频轨|音频流 @num",
          "@num 号 音轨|轨"},
         number);
    // "in Japanese", "the Japanese dub", "日语配音": the name and the words that go with it.
    std::string tail;
    for (auto w : kLanguageTail) tail += (tail.empty() ? "" : "|") + std::string(w);
    std::vector<std::pair<std::vector<Element>, std::string_view>> languages;
    std::vector<std::string> patterns;  // owns the text the elements point into
    patterns.reserve(std::size(kLanguageNames));
    for (const auto& l : kLanguageNames) {
      patterns.push_back(fmt::format("in? {} {}?", l.name, tail));
      languages.emplace_back(elements(patterns.back()), l.code);
    }
    for (size_t i = 0; i < t_.size(); ++i) {
      for (const auto& [pattern, code] : languages) {
        auto m = match_at(pattern, i);
        if (!m) continue;
        assign(Field::kLang, lang_, std::string(code), m->shown);
        consume(*m);
        break;
      }
    }
    each({"director's|directors|director? commentary|commentaries track?",
          "导演? 解说|评论|评论音轨|解说音轨"},
         [&](const Match& m) {
           return assign(Field::kTitle, title_, std::string("commentary"), m.shown);
         });
    each({"audio description|descriptions", "descriptive|described audio|track|video?"},
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
    std::vector<std::string> unknown;
    std::string run;
    size_t last_end = 0;
    auto flush = [&] {
      if (!run.empty()) unknown.push_back(run);
      run.clear();
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
        for (auto f : kEnglishFillers) {
          if (skip == 0 && t.text.size() >= 5 && one_typo(t.text, f)) skip = 1;
        }
      } else if (t.kind == Kind::kHan) {
        for (auto f : kChineseFillers) {
          Match m;
          if (const size_t len = match_alt(f, i, m)) {
            skip = std::max(skip, len);
          }
        }
      }
      if (skip > 0) {
        flush();
        for (size_t k = i; k < i + skip; ++k) t_[k].consumed = true;
        i += skip - 1;
        continue;
      }
      if (!run.empty() && t.begin > last_end) run += ' ';
      run += t.shown;
      last_end = t.end;
    }
    flush();
    if (unknown.empty()) return;
    std::string list;
    for (const auto& w : unknown) {
      list += (list.empty() ? "" : chinese_ ? "、" : ", ") + (chinese_ ? "“" + w + "”" : quoted(w));
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
        if (!bitrate_ && !lossless_format(*format_)) bitrate_ = 128'000;
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
          note(chinese_ ? fmt::format("{} 是无损格式，本身就是最高质量", f)
                        : fmt::format("{} is lossless: already the highest quality", f));
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
        if (f != "auto" && lossless_format(f)) {
          contradiction(
              fmt::format("{} is lossless, so it cannot make a small file; choose mp3, "
                          "aac or opus for a small one, or drop {}",
                          f, quoted(said(Field::kIntent))),
              fmt::format("{} 是无损格式，文件不会小；要小文件请选 mp3、aac 或 opus，或去掉“{}”", f,
                          said(Field::kIntent)));
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
      } else if (!lossless_format(*format_)) {
        contradiction(
            fmt::format("{} is lossy, so it cannot be {}. Choose flac or wav for "
                        "lossless, or drop {} to get {}.",
                        *format_, quoted(*lossless_), quoted(*lossless_), *format_),
            fmt::format("{} 是有损格式，做不到“{}”。要无损请选 flac 或 wav，或去掉“{}”保留 {}。",
                        *format_, *lossless_, *lossless_, *format_));
      }
    }
    const bool lossless_out = format_ && lossless_format(*format_);
    if (bitrate_ && lossless_out) {
      contradiction(
          fmt::format("{} is lossless: it has no bitrate to set ({}). Drop the bitrate, "
                      "or choose mp3, aac or opus.",
                      *format_, quoted(said(Field::kBitrate))),
          fmt::format("{} 是无损格式，没有比特率可设（“{}”）。去掉比特率，或选 mp3、aac、opus。",
                      *format_, said(Field::kBitrate)));
    }
    if (sample_format_ && format_ && *format_ != "auto" && !lossless_out) {
      contradiction(fmt::format("{} applies to wav, flac and pcm, not {}; which do you want?",
                                quoted(said(Field::kSampleFormat)), *format_),
                    fmt::format("“{}”只适用于 wav、flac 和 pcm，不适用于 {}；要哪个？",
                                said(Field::kSampleFormat), *format_));
    }
    if (sample_format_ && (!format_ || *format_ == "auto")) {
      format_ = "wav";
      note(std::string(
          say("a sample depth was asked for, so the output is wav", "指定了位深，输出为 wav")));
    }
    if (sample_format_ && *sample_format_ == "f32" && format_ && *format_ == "flac") {
      contradiction(
          "flac stores integer samples, not 32-bit float; choose wav for float, or 16-, "
          "24- or 32-bit for flac",
          "flac 只存整数采样，不能用 32 位浮点；浮点请用 wav，flac 请选 16、24 或 32 位");
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
                      Field::kSampleFormat, Field::kIntent}) {
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
    if (output_) r.output = *output_;
    if (out_dir_) r.out_dir = *out_dir_;

    u_.outcome = Outcome::kPlan;
    for (Outcome o : {Outcome::kQuestion, Outcome::kContradiction, Outcome::kUnsupported}) {
      for (const auto& p : problems_) {
        if (p.kind == o) u_.outcome = o;
      }
    }
    for (const auto& p : problems_) {
      u_.question += (u_.question.empty() ? "" : chinese_ ? "" : " ") + p.text;
    }
    u_.explanation = explain(u_);
  }

  std::vector<Token> t_;
  std::vector<std::string> args_;
  bool chinese_ = false;
  Understanding u_;
  std::vector<Problem> problems_;
  std::array<std::string, static_cast<size_t>(Field::kCount)> said_;

  std::vector<std::string> named_;  // files named in the sentence
  std::optional<std::string> format_, lang_, title_, sample_format_, output_, out_dir_, lossless_;
  bool format_stated_ = false;
  std::optional<CopyPolicy> copy_;
  std::optional<Micros> from_, to_, duration_, from_end_;
  std::optional<int> track_, rate_, channels_;
  std::optional<bool> all_;
  std::optional<int64_t> bitrate_;
  std::optional<double> quality_;
  std::optional<Intent> intent_;
};

}  // namespace

Understanding understand(std::string_view sentence, const std::vector<std::string>& inputs) {
  return Parser(sentence, inputs).run();
}

}  // namespace peel::nl
