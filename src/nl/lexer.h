// The parser's tokens: words, Han characters, and the values people type (numbers, times,
// durations, bitrates, sample rates, ordinals) already read in either language.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "peel/time.h"

namespace peel::nl {

enum class Kind {
  kWord,      // ASCII word, lower case ("mp3", "track", "don't")
  kHan,       // one Han character, or a protected Han word ("一下")
  kPunct,     // one punctuation mark: , - ~ / . : and the like
  kNumber,    // 30, 2.5, "fifteen", "二十"
  kTime,      // a clock time: 1:30, 00:10:05
  kDuration,  // a number with a unit: "2 minutes", "2-minute", "1分30秒", "half an hour"
  kBitrate,   // "320kbps", "192 k", "128千比特" (value in bit/s)
  kRate,      // "44.1 kHz", "16000 Hz", "16千赫" (value in Hz)
  kOrdinal,   // "second", "2nd", "第二"
  kQuoted,    // text between quotes, as typed
  kPath,      // a file or folder name: "interview.mkv", "./videos", as typed
};

struct Token {
  Kind kind = Kind::kWord;
  std::string text;   // the matching form (folded, lower case); the bytes typed for kQuoted
                      // and kPath: a name is never folded
  std::string shown;  // the bytes typed, for messages
  double value = 0;   // kNumber, kOrdinal, kBitrate, kRate
  Micros micros = 0;  // kTime, kDuration
  Micros unit = 0;    // kDuration of one number and one unit: that unit, lent to a bare
                      // number in "2 to 5 minutes"
  size_t begin = 0;   // code points into the sentence, for messages
  size_t end = 0;
  size_t byte_begin = 0;  // the same span in bytes of the sentence
  size_t byte_end = 0;
  bool glued = false;     // starts where the previous token ends ("从x.mp4", "1分")
  bool spaced = false;    // only white space lies between it and the previous token
  bool han = false;       // holds Han (or kana, Hangul) outside a name: a Chinese sentence
  bool stemless = false;  // kPath ".mp4" right after Han: the name starts in that Han
  bool consumed = false;
};

// Splits and reads a sentence. Never fails; an unreadable part stays a word or a mark.
// Linear in the sentence's length.
std::vector<Token> lex(std::string_view sentence);

// The words the lexer itself reads (units, number words, ordinals, bitrate and rate units),
// for matching typos against.
void lexer_words(std::vector<std::string_view>& out);

// The file extensions the parser recognises as media files (lower case, without the dot).
bool is_media_extension(std::string_view ext);

}  // namespace peel::nl
