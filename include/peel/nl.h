// Plain-language requests: an English or Chinese sentence becomes a Request, or a question.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
  // file knows its duration, so the caller sets request.from after probing it.
  std::optional<Micros> from_end;
  bool format_stated = false;      // the sentence chose the format (even "same as source")
  std::vector<std::string> notes;  // readings taken where the sentence allowed more than one
  std::string explanation;         // the plan in plain words, notes included
  std::string question;            // for every outcome but kPlan: what to say instead
};

// Reads one sentence. `inputs` are the paths given after it; "this file" refers to them.
// Pure and deterministic: no I/O, no globals, no locale; accepts any bytes (invalid UTF-8 is
// read as unknown characters). Never fails: what it cannot map becomes a question.
Understanding understand(std::string_view sentence, const std::vector<std::string>& inputs);

// Whether a file name ends in an extension of the audio and video files the parser knows
// (mkv, mp4, mov, mp3, flac, ...), case-insensitive. For listing the folders of FolderInput.
bool is_media_file_name(std::string_view name);

}  // namespace peel::nl
