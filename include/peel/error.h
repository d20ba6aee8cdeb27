// Errors as values: every public function returns Result<T>, a value or a peel::Error.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace peel {

// Stable error codes, shared by every front end (CLI exit codes and JSON, HTTP API).
// Documented in docs/errors.md; never renumber.
enum class ErrorCode : int {
  kUsage = 1001,             // a flag or value the caller gave is malformed
  kInputNotFound = 2001,     // the input path does not exist
  kInputIsDirectory = 2002,  // the input is a folder
  kInputUnreadable = 2003,   // no permission to read the input
  kInputEmpty = 2004,        // the input is a zero-byte file
  kUnsupportedFile = 4001,   // not a media file FFmpeg can read
  kFileTooLarge = 4002,      // reserved for the HTTP service's upload limit
  kNoAudio = 4003,           // a media file without any audio track
  kTrackNotFound = 4004,     // --track / --lang / --title names no track
  kBadRange = 4005,          // range outside the file, or --to before --from
  kCannotCopy = 4006,        // --copy into a format that cannot carry the codec
  kTruncatedIndex = 4007,    // an mp4/mov cut off before its index (moov)
  kDamagedInput = 4008,      // damage found and --strict asked to refuse
  kBadOutputOption = 4009,   // an option the output format cannot honour
  kOutputExists = 5001,      // output exists and overwrite was not asked for
  kOutputIsInput = 5002,     // the output path names the input file
  kOutputUnwritable = 5003,  // the output folder cannot be written
  kWriteFailed = 5004,       // writing failed midway (disk full, I/O error)
  kOutputTooLarge = 5005,    // an output grew past the engine's Limits::max_output_bytes
  kCancelled = 6001,         // the cancel token fired
  kInternal = 7001,          // FFmpeg failed in a way peel did not foresee
};

// Short stable name of a code, such as "input_not_found".
std::string_view error_name(ErrorCode code);

// What a front end may offer to fix an error, as data: each front end words it in its own
// syntax (the CLI says "add -y", the HTTP API `"overwrite": true`).
enum class Hint {
  kNone,
  kOverwrite,     // ask to replace the existing output
  kReencode,      // drop the copy requirement (or ask for a re-encode)
  kCopy,          // ask for a stream copy instead
  kNotStrict,     // drop the refusal of damaged input, to keep what can be read
  kOutputFolder,  // several outputs: name a folder (and a name template), not one file
  kNameTemplate,  // outputs collide: give a name template that tells them apart
  kChange,        // change `field` (to `suggestion`, when there is one)
  kRecursive,     // a folder was given: ask to look inside folders
  kOneOf,         // `field` and `other_field` exclude each other: give one
};

struct Error {
  Error() = default;
  Error(ErrorCode c, std::string m, int av = 0) : code(c), message(std::move(m)), averror(av) {}
  // The same error, about `f` (see `field`), with `h` to offer (and the value to try).
  Error about(std::string f, Hint h = Hint::kNone, std::string try_value = {}) && {
    field = std::move(f);
    hint = h;
    suggestion = std::move(try_value);
    return std::move(*this);
  }
  // The same error, naming the value the caller gave for `field`.
  Error given(std::string v) && {
    value = std::move(v);
    return std::move(*this);
  }
  // The same error, also about `f` (a field that conflicts with `field`).
  Error and_about(std::string f) && {
    other_field = std::move(f);
    return std::move(*this);
  }

  ErrorCode code = ErrorCode::kInternal;
  // What happened, to which file, and what to do next, in the user's words; no front end's
  // syntax (flags, JSON fields): that comes from `field` and `hint`.
  std::string message;
  int averror = 0;  // underlying FFmpeg AVERROR, or 0
  // The part of the request the error is about, by the Request member's name ("output",
  // "from", "to", "duration", "track", "format", "copy_policy", "bitrate", "quality",
  // "sample_rate", "channels", "sample_format", "name_template", "strict"), or empty.
  std::string field;
  Hint hint = Hint::kNone;
  std::string suggestion;   // kChange: a value of `field` that would work ("48000"), or empty
  std::string value;        // the value the caller gave for `field`, where it is the trouble
  std::string other_field;  // a second field the error is about (a conflict, an order)
};

// Short stable name of a hint, such as "overwrite" ("" for kNone).
std::string_view hint_name(Hint hint);

// A value or an Error. Cheap to move; never throws on access misuse in release builds
// beyond std::get's checks.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const Error& error() const { return std::get<1>(v_); }

  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace peel
