// A streaming reader of multipart/form-data bodies (RFC 7578): parts are told to callbacks as
// their bytes arrive, so an uploaded video goes to disk piece by piece and is never held in
// memory whole. Only a part's headers (up to 16 KiB) and a boundary's length are buffered.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "peel/error.h"

namespace peel::server {

struct MultipartPart {
  std::map<std::string, std::string> headers;  // lower-case names
  std::string name;                            // the form field's name
  std::string filename;                        // the file's name as sent ("" for a plain field)
};

// The boundary of a "multipart/form-data; boundary=..." Content-Type; nullopt when it is not one.
std::optional<std::string> multipart_boundary(std::string_view content_type);

class MultipartReader {
 public:
  struct Callbacks {
    std::function<Result<void>(const MultipartPart&)> begin;
    std::function<Result<void>(std::string_view data)> data;
    std::function<Result<void>()> end;
  };
  MultipartReader(std::string boundary, Callbacks callbacks);
  // The next bytes of the body. Fails with kUsage when they are not multipart (or a callback's
  // error).
  Result<void> feed(std::string_view bytes);
  // The body ended: fails with kUsage unless the closing boundary was seen.
  Result<void> finish();

 private:
  enum class Stage { kPreamble, kAfterDelimiter, kHeaders, kBody, kDone };
  Result<void> parse_headers(std::string_view block);

  std::string delimiter_;  // "\r\n--" + boundary
  Callbacks callbacks_;
  Stage stage_ = Stage::kPreamble;
  std::string buffer_;
};

}  // namespace peel::server
