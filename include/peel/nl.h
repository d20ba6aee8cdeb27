// Plain-language requests: an English or Chinese sentence becomes a Request, or a question.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "peel/error.h"
#include "peel/plan.h"
#include "peel/request.h"
#include "peel/time.h"

namespace peel::nl {

enum class Language { kEnglish, kChinese };

enum class Outcome {
  kPlan,           // understood: `request` is what to run
  kQuestion,       // a part was not understood or is missing: `question` asks for it
  kContradiction,  // two parts conflict ("mp3 lossless"): `question` names them
  kUnsupported,    // asks for something peel cannot do yet (loudness): `question` says so
};

// Files picked by folder and extension ("all the mkv files in ./videos"). The parser does no
// I/O: the caller lists the folder and appends the matches to the inputs.
struct FolderInput {
  std::string folder;
  std::string extension;  // lower case, without the dot; empty: every file in the folder
};

struct Understanding {
  Outcome outcome = Outcome::kPlan;
  Language language = Language::kEnglish;  // of the sentence; explanation and question use it
  Request request;  // inputs: the paths given as arguments, then the files the sentence names
  std::vector<FolderInput> folders;
  // "The last 2 minutes": the range starts this long before the end of each input. Only the
  // file knows its duration, so the caller sets request.from after probing it (for_input()).
  std::optional<Micros> from_end;
  bool format_stated = false;      // the sentence chose the format (even "same as source")
  std::vector<std::string> notes;  // readings taken where the sentence allowed more than one,
                                   // and the typos it corrected
  std::string explanation;         // the plan in plain words, notes included
  std::string question;            // for every outcome but kPlan: what to say instead
  // The words of the sentence that set each part of the request, keyed like the JSON of
  // `peel ask` ("format", "copy_policy", "from", "to", "duration", "from_end", "track",
  // "lang", "title", "all_tracks", "bitrate", "quality", "sample_rate", "channels",
  // "sample_format", "output", "out_dir", "purpose"): for messages about a refusal.
  std::map<std::string, std::string> said;
  // Every reading of an unquoted file name that the words before it allow ("my holiday
  // video.mkv", "holiday video.mkv", "video.mkv"), exactly as typed. The parser cannot know
  // which exist: the caller looks them up and passes those that do as `known_files`.
  std::vector<std::string> file_candidates;
};

// Reads one sentence. `inputs` are the paths given after it; "this file" refers to them.
// `known_files` are names known to exist (from file_candidates): an unquoted name that has
// several readings takes the one known, and becomes a question when none or several are.
// Pure and deterministic: no I/O, no globals, no locale; time linear in the sentence's
// length; accepts any bytes (invalid UTF-8 is read as unknown characters). Never fails:
// what it cannot map becomes a question. A quoted or unquoted file name is kept byte for
// byte; folding (case, width, traditional characters) is only for matching words.
Understanding understand(std::string_view sentence, const std::vector<std::string>& inputs,
                         const std::vector<std::string>& known_files = {});

// Whether a file name ends in an extension of the audio and video files the parser knows
// (mkv, mp4, mov, mp3, flac, ...), case-insensitive. For listing the folders of FolderInput.
bool is_media_file_name(std::string_view name);

// What the sentence asks of one of its inputs, once that file's duration is known.
struct InputRequest {
  Request request;                 // inputs = {input}; "the last N" resolved into `from`
  std::vector<std::string> notes;  // in the sentence's language: the file is shorter than
                                   // "the last N", so all of it is taken
};

// The Request for `input` whose duration is `duration` (0: unknown, and "the last N" stays
// unresolved). Pure.
InputRequest for_input(const Understanding& u, const std::string& input, Micros duration);

// The plans of one input in plain words and in the sentence's language, from what plan()
// decided: the track, the range, copy or re-encode and why, the output; then u's notes and
// `notes`. Pure.
std::string explain(const Understanding& u, const std::vector<OutputPlan>& plans,
                    const std::vector<std::string>& notes);

// Says which words of the sentence led plan() to refuse with `e` ("keep original quality"
// and "flac" for kCannotCopy, the range for kBadRange...), in the sentence's language; empty
// when the refusal does not come from words of the sentence. Pure.
std::string explain_refusal(const Understanding& u, const Error& e);

}  // namespace peel::nl
