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
  kCancelled = 6001,         // the cancel token fired
  kInternal = 7001,          // FFmpeg failed in a way peel did not foresee
};

// Short stable name of a code, such as "input_not_found".
std::string_view error_name(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;  // what happened, to which file, and what to do next
  int averror = 0;      // underlying FFmpeg AVERROR, or 0
};

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
