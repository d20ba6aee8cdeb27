// Stable names of error codes.
#include "peel/error.h"

namespace peel {

std::string_view error_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kUsage:
      return "usage";
    case ErrorCode::kInputNotFound:
      return "input_not_found";
    case ErrorCode::kInputIsDirectory:
      return "input_is_directory";
    case ErrorCode::kInputUnreadable:
      return "input_unreadable";
    case ErrorCode::kInputEmpty:
      return "input_empty";
    case ErrorCode::kUnsupportedFile:
      return "unsupported_file";
    case ErrorCode::kFileTooLarge:
      return "file_too_large";
    case ErrorCode::kNoAudio:
      return "no_audio";
    case ErrorCode::kTrackNotFound:
      return "track_not_found";
    case ErrorCode::kBadRange:
      return "bad_range";
    case ErrorCode::kCannotCopy:
      return "cannot_copy";
    case ErrorCode::kTruncatedIndex:
      return "truncated_index";
    case ErrorCode::kDamagedInput:
      return "damaged_input";
    case ErrorCode::kBadOutputOption:
      return "bad_output_option";
    case ErrorCode::kOutputExists:
      return "output_exists";
    case ErrorCode::kOutputIsInput:
      return "output_is_input";
    case ErrorCode::kOutputUnwritable:
      return "output_unwritable";
    case ErrorCode::kWriteFailed:
      return "write_failed";
    case ErrorCode::kOutputTooLarge:
      return "output_too_large";
    case ErrorCode::kCancelled:
      return "cancelled";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "unknown";
}

std::string_view hint_name(Hint hint) {
  switch (hint) {
    case Hint::kNone:
      return "";
    case Hint::kOverwrite:
      return "overwrite";
    case Hint::kReencode:
      return "reencode";
    case Hint::kCopy:
      return "copy";
    case Hint::kNotStrict:
      return "not_strict";
    case Hint::kOutputFolder:
      return "output_folder";
    case Hint::kNameTemplate:
      return "name_template";
    case Hint::kChange:
      return "change";
    case Hint::kRecursive:
      return "recursive";
    case Hint::kOneOf:
      return "one_of";
  }
  return "";
}

}  // namespace peel
