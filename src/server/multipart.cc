// multipart/form-data, read as it streams in.
#include "server/multipart.h"

#include <algorithm>
#include <cctype>

#include "server/http.h"

namespace peel::server {

namespace {

constexpr size_t kHeaderLimit = 16 * 1024;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Error malformed(const std::string& why) {
  return Error(ErrorCode::kUsage, "the upload is not valid multipart/form-data: " + why);
}

// The parameters of a header value: `form-data; name="files"; filename="a b.mp4"`.
std::map<std::string, std::string> parameters(std::string_view value) {
  std::map<std::string, std::string> out;
  size_t i = value.find(';');
  while (i != std::string_view::npos && i < value.size()) {
    ++i;
    while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
    size_t eq = value.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string key = lower(trim(value.substr(i, eq - i)));
    std::string v;
    size_t j = eq + 1;
    if (j < value.size() && value[j] == '"') {
      ++j;
      while (j < value.size() && value[j] != '"') {
        if (value[j] == '\\' && j + 1 < value.size()) ++j;
        v.push_back(value[j]);
        ++j;
      }
      i = value.find(';', j);
    } else {
      size_t end = value.find(';', j);
      v = std::string(trim(value.substr(j, end == std::string_view::npos ? end : end - j)));
      i = end;
    }
    out[key] = v;
  }
  return out;
}

}  // namespace

std::optional<std::string> multipart_boundary(std::string_view content_type) {
  size_t semi = content_type.find(';');
  if (lower(trim(content_type.substr(0, semi))) != "multipart/form-data") return std::nullopt;
  auto params = parameters(content_type);
  auto it = params.find("boundary");
  if (it == params.end() || it->second.empty() || it->second.size() > 200) return std::nullopt;
  return it->second;
}

MultipartReader::MultipartReader(std::string boundary, Callbacks callbacks)
    : delimiter_("\r\n--" + boundary), callbacks_(std::move(callbacks)) {
  // The first delimiter may open the body without a line break before it.
  buffer_ = "\r\n";
}

Result<void> MultipartReader::parse_headers(std::string_view block) {
  MultipartPart part;
  size_t i = 0;
  while (i < block.size()) {
    size_t end = block.find("\r\n", i);
    if (end == std::string_view::npos) end = block.size();
    std::string_view line = block.substr(i, end - i);
    i = end + 2;
    if (line.empty()) continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return malformed("a part's header has no ':'");
    part.headers[lower(trim(line.substr(0, colon)))] = std::string(trim(line.substr(colon + 1)));
  }
  auto disposition = part.headers.find("content-disposition");
  if (disposition != part.headers.end()) {
    auto params = parameters(disposition->second);
    part.name = params["name"];
    if (auto star = params.find("filename*"); star != params.end()) {
      // RFC 5987: charset'language'percent-encoded
      size_t quote = star->second.rfind('\'');
      auto decoded = percent_decode(
          quote == std::string::npos ? star->second : star->second.substr(quote + 1), false);
      if (decoded) part.filename = *decoded;
    }
    if (part.filename.empty()) part.filename = params["filename"];
  }
  return callbacks_.begin ? callbacks_.begin(part) : Result<void>();
}

Result<void> MultipartReader::feed(std::string_view bytes) {
  buffer_.append(bytes.data(), bytes.size());
  for (;;) {
    switch (stage_) {
      case Stage::kPreamble:
      case Stage::kBody: {
        size_t at = buffer_.find(delimiter_);
        if (at == std::string::npos) {
          // Keep what could be the start of a delimiter; the rest is the part's data.
          size_t keep = std::min(buffer_.size(), delimiter_.size() - 1);
          size_t give = buffer_.size() - keep;
          if (stage_ == Stage::kBody && give > 0 && callbacks_.data) {
            auto r = callbacks_.data(std::string_view(buffer_.data(), give));
            if (!r) return r;
          }
          buffer_.erase(0, give);
          return {};
        }
        if (stage_ == Stage::kBody) {
          if (at > 0 && callbacks_.data) {
            auto r = callbacks_.data(std::string_view(buffer_.data(), at));
            if (!r) return r;
          }
          if (callbacks_.end) {
            auto r = callbacks_.end();
            if (!r) return r;
          }
        }
        buffer_.erase(0, at + delimiter_.size());
        stage_ = Stage::kAfterDelimiter;
        break;
      }
      case Stage::kAfterDelimiter: {
        // "--" closes the body; otherwise optional whitespace, then CRLF, then headers.
        if (buffer_.size() < 2) return {};
        if (buffer_.compare(0, 2, "--") == 0) {
          stage_ = Stage::kDone;
          buffer_.clear();
          return {};
        }
        size_t eol = buffer_.find("\r\n");
        if (eol == std::string::npos) {
          if (buffer_.size() > 256) return malformed("no line break after a boundary");
          return {};
        }
        if (!trim(std::string_view(buffer_).substr(0, eol)).empty()) {
          return malformed("text after a boundary");
        }
        buffer_.erase(0, eol + 2);
        stage_ = Stage::kHeaders;
        break;
      }
      case Stage::kHeaders: {
        if (buffer_.size() < 2) return {};
        if (buffer_.starts_with("\r\n")) {  // a part without headers: its data starts at once
          auto r = parse_headers({});
          if (!r) return r;
          buffer_.erase(0, 2);
        } else {
          size_t end = buffer_.find("\r\n\r\n");
          if (end == std::string::npos) {
            if (buffer_.size() > kHeaderLimit) return malformed("a part's headers are too long");
            return {};
          }
          auto r = parse_headers(std::string_view(buffer_).substr(0, end));
          if (!r) return r;
          buffer_.erase(0, end + 4);
        }
        stage_ = Stage::kBody;
        break;
      }
      case Stage::kDone:
        buffer_.clear();  // the epilogue is ignored
        return {};
    }
  }
}

Result<void> MultipartReader::finish() {
  if (stage_ != Stage::kDone) return malformed("the body ended before its closing boundary");
  return {};
}

}  // namespace peel::server
