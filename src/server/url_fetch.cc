// url_fetch.h over libcurl. One path for every request: parse and check the URL (check_url),
// resolve it once and check each address (resolve_target), then one exchange over a connection
// that can reach only those addresses (exchange): CURLOPT_RESOLVE pins them, and the socket
// callback refuses any other address libcurl might still try.
#include "server/url_fetch.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <new>
#include <optional>
#include <random>
#include <string_view>
#include <vector>

#include "server/crypto.h"

namespace peel::server {

namespace {

constexpr std::chrono::seconds kCallbackTimeout{10};
constexpr std::chrono::milliseconds kBackoffFirst{1000};
constexpr std::chrono::milliseconds kBackoffCap{5 * 60 * 1000};
constexpr size_t kMaxFileName = 200;

// --- addresses ---

std::string_view ipv4_reason(uint32_t address) {  // host byte order
  struct Range {
    uint32_t base;
    int bits;
    std::string_view reason;
  };
  // IANA's IPv4 special-purpose registry, by what a fetch there would reach.
  static constexpr Range kRanges[] = {
      {0xFFFFFFFF, 32, "broadcast"},     {0x00000000, 8, "unspecified"},
      {0x0A000000, 8, "private"},        {0x64400000, 10, "CGNAT"},
      {0x7F000000, 8, "loopback"},       {0xA9FE0000, 16, "link-local"},
      {0xAC100000, 12, "private"},       {0xC0000000, 24, "reserved"},
      {0xC0000200, 24, "documentation"}, {0xC0586300, 24, "reserved"},  // 6to4 relays
      {0xC0A80000, 16, "private"},       {0xC6120000, 15, "benchmarking"},
      {0xC6336400, 24, "documentation"}, {0xCB007100, 24, "documentation"},
      {0xE0000000, 4, "multicast"},      {0xF0000000, 4, "reserved"},
  };
  for (const auto& range : kRanges) {
    uint32_t mask = range.bits == 0 ? 0 : ~uint32_t{0} << (32 - range.bits);
    if ((address & mask) == range.base) return range.reason;
  }
  return {};
}

uint32_t ipv4_at(const unsigned char* bytes) {
  return uint32_t{bytes[0]} << 24 | uint32_t{bytes[1]} << 16 | uint32_t{bytes[2]} << 8 | bytes[3];
}

std::string_view ipv6_reason(const unsigned char* b) {
  auto zeros = [&](int from, int to) {
    return std::all_of(b + from, b + to, [](auto c) { return c == 0; });
  };
  auto starts = [&](std::initializer_list<unsigned char> prefix) {
    return std::equal(prefix.begin(), prefix.end(), b);
  };
  if (zeros(0, 16)) return "unspecified";
  if (zeros(0, 15) && b[15] == 1) return "loopback";
  if (zeros(0, 10) && b[10] == 0xff && b[11] == 0xff) return ipv4_reason(ipv4_at(b + 12));
  if (starts({0x00, 0x64, 0xff, 0x9b}) && zeros(4, 12)) return ipv4_reason(ipv4_at(b + 12));
  if (starts({0x00, 0x64, 0xff, 0x9b, 0x00, 0x01})) return "private";  // local-use NAT64
  if (starts({0x20, 0x02})) return ipv4_reason(ipv4_at(b + 2));        // 6to4
  if (starts({0x20, 0x01, 0x0d, 0xb8})) return "documentation";
  if (b[0] == 0x3f && b[1] == 0xff && (b[2] & 0xf0) == 0) return "documentation";  // 3fff::/20
  if (b[0] == 0x20 && b[1] == 0x01 && (b[2] & 0xfe) == 0) return "reserved";  // 2001::/23, Teredo
  if ((b[0] & 0xfe) == 0xfc) return "private";                                // unique local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "link-local";
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return "private";  // site-local, deprecated
  if (b[0] == 0xff) return "multicast";
  if ((b[0] & 0xe0) != 0x20) return "reserved";  // only 2000::/3 is global unicast
  return {};
}

std::string address_text(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address->sa_family == AF_INET) {
    sockaddr_in in;
    std::memcpy(&in, address, sizeof in);
    inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
  } else if (address->sa_family == AF_INET6) {
    sockaddr_in6 in6;
    std::memcpy(&in6, address, sizeof in6);
    inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
  }
  return text;
}

std::string refusal(const FetchOptions& options, const sockaddr* address) {
  if (options.refuse_address) return options.refuse_address(address);
  if (options.allow_private) return {};
  for (const auto& range : options.allowed_ranges) {
    if (in_range(range, address)) return {};
  }
  return refused_address_reason(address);
}

// --- libcurl handles ---

struct EasyDeleter {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;
struct UrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
using Url = std::unique_ptr<CURLU, UrlDeleter>;
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

void init_curl() {
  // Thread-safe and counted inside libcurl (7.84 and later); never undone: other users of
  // libcurl in the process (the S3 store) may still need it.
  static const bool done = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  (void)done;
}

Slist append(Slist list, const std::string& line) {
  curl_slist* grown = curl_slist_append(list.get(), line.c_str());
  if (grown == nullptr) throw std::bad_alloc();
  (void)list.release();
  return Slist(grown);
}

std::optional<std::string> url_part(CURLU* url, CURLUPart part, unsigned flags = 0) {
  char* text = nullptr;
  if (curl_url_get(url, part, &text, flags) != CURLUE_OK || text == nullptr) return std::nullopt;
  std::string out(text);
  curl_free(text);
  return out;
}

std::string percent_decoded(std::string_view text) {
  std::string out;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && digit(text[i + 1]) >= 0 &&
        digit(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(digit(text[i + 1]) * 16 + digit(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// A name for a file from a server's words: the last path segment, without control characters,
// leading dots or surrounding spaces, cut to kMaxFileName bytes at a UTF-8 boundary.
std::string safe_file_name(std::string_view name) {
  if (auto slash = name.find_last_of("/\\"); slash != std::string_view::npos) {
    name.remove_prefix(slash + 1);
  }
  std::string out;
  for (char c : name) {
    if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) out.push_back(c);
  }
  size_t begin = out.find_first_not_of(" .");
  if (begin == std::string::npos) return {};
  out.erase(0, begin);
  out.erase(out.find_last_not_of(' ') + 1);
  if (out.size() > kMaxFileName) {
    size_t cut = kMaxFileName;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xc0) == 0x80) --cut;
    out.resize(cut);
  }
  return out;
}

// The file name a Content-Disposition gives: filename* (RFC 6266, charset'lang'percent-encoded)
// over filename (a token or a quoted string); "" when it gives none.
std::string disposition_file_name(std::string_view header) {
  std::string plain, extended;
  size_t at = 0;
  while (at < header.size()) {
    size_t semicolon = at;
    // A quoted value may hold semicolons: find the parameter's end outside quotes.
    bool quoted = false;
    for (; semicolon < header.size(); ++semicolon) {
      char c = header[semicolon];
      if (c == '"') quoted = !quoted;
      if (c == '\\' && quoted) ++semicolon;
      if (c == ';' && !quoted) break;
    }
    std::string_view parameter = trimmed(header.substr(at, semicolon - at));
    at = semicolon + 1;
    size_t equals = parameter.find('=');
    if (equals == std::string_view::npos) continue;
    std::string_view name = trimmed(parameter.substr(0, equals));
    std::string_view value = trimmed(parameter.substr(equals + 1));
    if (iequals(name, "filename*")) {
      size_t quote = value.find('\'');
      size_t second = quote == std::string_view::npos ? quote : value.find('\'', quote + 1);
      if (second != std::string_view::npos) extended = percent_decoded(value.substr(second + 1));
    } else if (iequals(name, "filename")) {
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
        plain.clear();
        for (size_t i = 0; i < value.size(); ++i) {
          if (value[i] == '\\' && i + 1 < value.size()) ++i;
          plain.push_back(value[i]);
        }
      } else {
        plain = std::string(value);
      }
    }
  }
  return safe_file_name(extended.empty() ? plain : extended);
}

// --- URLs and their addresses ---

// Follows "<url> resolves to <address>, a loopback": the client cannot change the server, but can
// tell its operator.
constexpr std::string_view kPrivateHelp =
    " address, and this server fetches only public addresses: give a public URL, or upload the "
    "file (a server on a trusted network can be started with --allow-private-urls)";

std::string an(std::string_view word) {
  bool vowel = !word.empty() && std::string_view("aeiouAEIOU").find(word[0]) != std::string::npos;
  return std::string(vowel ? "an " : "a ") + std::string(word);
}

// A URL that may be fetched, resolved: `subject` names it in messages.
struct Target {
  Url url;
  std::string subject;
  std::string text;  // the URL as libcurl sends it
  std::string host;  // without brackets or zone
  std::string port;
  bool literal = false;                // an IP address in the URL: libcurl resolves nothing
  std::vector<std::string> addresses;  // every checked address, bracketed when IPv6
};

// Refuses what is not an http(s) URL without credentials.
Result<void> check_url(CURLU* url, const std::string& subject) {
  auto scheme = url_part(url, CURLUPART_SCHEME);
  if (!scheme || (*scheme != "http" && *scheme != "https")) {
    return Error(ErrorCode::kUsage,
                 subject +
                     " is not an http or https URL: this server fetches only http:// and "
                     "https:// addresses");
  }
  if (url_part(url, CURLUPART_USER) || url_part(url, CURLUPART_PASSWORD) ||
      url_part(url, CURLUPART_OPTIONS)) {
    return Error(ErrorCode::kUsage, subject +
                                        " carries a user name or password: this server sends no "
                                        "credentials; give a URL that works without them");
  }
  if (!url_part(url, CURLUPART_HOST)) {
    return Error(ErrorCode::kUsage, subject + " names no host: give a full http(s) URL");
  }
  return {};
}

// Resolves the URL's host once and checks every address it has.
Result<Target> resolve_target(Url url, std::string subject, const FetchOptions& options) {
  if (auto checked = check_url(url.get(), subject); !checked) return checked.error();
  Target target;
  target.subject = std::move(subject);
  target.text = url_part(url.get(), CURLUPART_URL).value_or("");
#ifdef CURLU_PUNYCODE
  target.host = url_part(url.get(), CURLUPART_HOST, CURLU_PUNYCODE).value_or("");
#else
  target.host = url_part(url.get(), CURLUPART_HOST).value_or("");
#endif
  target.port = url_part(url.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT).value_or("");
  std::string lookup = target.host;
  if (lookup.size() >= 2 && lookup.front() == '[' && lookup.back() == ']') {
    lookup = lookup.substr(1, lookup.size() - 2);
    target.host = lookup;
    if (auto zone = url_part(url.get(), CURLUPART_ZONEID)) lookup += "%" + *zone;
  }
  target.url = std::move(url);

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  hints.ai_flags = AI_NUMERICHOST;
  int status = getaddrinfo(lookup.c_str(), target.port.c_str(), &hints, &found);
  target.literal = status == 0;
  if (!target.literal) {
    hints.ai_flags = 0;
    status = getaddrinfo(lookup.c_str(), target.port.c_str(), &hints, &found);
  }
  if (status != 0 || found == nullptr) {
    return Error(ErrorCode::kInputNotFound, target.subject + ": the host name " + target.host +
                                                " does not resolve (" + gai_strerror(status) +
                                                "): check the URL");
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> owner(found, freeaddrinfo);
  for (const addrinfo* at = found; at != nullptr; at = at->ai_next) {
    std::string text = address_text(at->ai_addr);
    if (std::string reason = refusal(options, at->ai_addr); !reason.empty()) {
      return Error(ErrorCode::kUsage, target.subject + " resolves to " + text + ", " + an(reason) +
                                          std::string(kPrivateHelp));
    }
    if (at->ai_family == AF_INET6) text = "[" + text + "]";
    if (std::find(target.addresses.begin(), target.addresses.end(), text) ==
        target.addresses.end()) {
      target.addresses.push_back(std::move(text));
    }
  }
  return target;
}

Result<Target> open_target(const std::string& text, const FetchOptions& options) {
  Url url(curl_url());
  if (!url) throw std::bad_alloc();
  if (curl_url_set(url.get(), CURLUPART_URL, text.c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
    return Error(ErrorCode::kUsage, "\"" + text + "\" is not a URL: give an http or https URL");
  }
  return resolve_target(std::move(url), text, options);
}

// The URL a redirect from `from` to `location` leads to, resolved against `from`.
Result<Target> redirect_target(const Target& from, const std::string& location,
                               const FetchOptions& options) {
  Url url(curl_url_dup(from.url.get()));
  if (!url) throw std::bad_alloc();
  if (curl_url_set(url.get(), CURLUPART_URL, location.c_str(), CURLU_NON_SUPPORT_SCHEME) !=
      CURLUE_OK) {
    return Error(ErrorCode::kInputUnreadable, from.subject + " redirects to \"" + location +
                                                  "\", which is not a URL: check the URL");
  }
  std::string text = url_part(url.get(), CURLUPART_URL).value_or(location);
  return resolve_target(std::move(url), text + " (redirected from " + from.text + ")", options);
}

// --- one exchange ---

struct Answer {
  int status = 0;
  std::string reason;  // the status line's phrase
  std::string location, content_type, content_disposition;
  int64_t content_length = -1;
  bool chunked = false;
};

struct Exchange {
  // What to send.
  const std::string* post_body = nullptr;  // a POST of this, or a GET
  std::vector<std::string> headers;
  std::chrono::milliseconds timeout{0};  // what is left of `limit`
  std::chrono::milliseconds limit{0};    // the whole time allowed, for messages
  const FetchOptions* options = nullptr;
  const CancelToken* cancel = nullptr;
  // Where a 2xx body goes; nullptr stops at the answer's headers.
  blob::BlobWriter* sink = nullptr;

  // What the callbacks saw.
  enum class Stop { kNone, kHeaders, kTooLarge, kWriteFailed, kCancelled, kFailed };
  Stop stop = Stop::kNone;
  Answer answer;
  int64_t written = 0;
  std::optional<Error> write_error;
  std::string refused_address, refused_reason;  // from the socket callback
};

bool success(int status) { return status >= 200 && status < 300; }

size_t on_header(char* data, size_t size, size_t count, void* user) noexcept {
  auto& x = *static_cast<Exchange*>(user);
  size_t total = size * count;
  try {
    std::string_view line = trimmed(std::string_view(data, total));
    if (line.starts_with("HTTP/")) {  // a new answer (after 1xx ones): forget the last
      x.answer = Answer();
      size_t space = line.find(' ');
      std::string_view code =
          space == std::string_view::npos ? std::string_view() : line.substr(space + 1, 3);
      if (code.size() != 3 ||
          !std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        x.stop = Exchange::Stop::kFailed;
        return 0;
      }
      x.answer.status = std::stoi(std::string(code));
      x.answer.reason = std::string(trimmed(line.substr(std::min(line.size(), space + 4))));
      return total;
    }
    if (line.empty()) {  // the end of one answer's headers
      if (x.answer.status >= 100 && x.answer.status < 200) return total;
      if (!success(x.answer.status) || x.sink == nullptr) {
        x.stop = Exchange::Stop::kHeaders;
        return 0;
      }
      if (!x.answer.chunked && x.answer.content_length > x.options->max_bytes) {
        x.stop = Exchange::Stop::kTooLarge;
        return 0;
      }
      return total;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return total;
    std::string_view name = trimmed(line.substr(0, colon));
    std::string value(trimmed(line.substr(colon + 1)));
    if (iequals(name, "location")) {
      x.answer.location = value;
    } else if (iequals(name, "content-type")) {
      x.answer.content_type = value;
    } else if (iequals(name, "content-disposition")) {
      x.answer.content_disposition = value;
    } else if (iequals(name, "transfer-encoding")) {
      x.answer.chunked = true;
    } else if (iequals(name, "content-length")) {
      if (!value.empty() && value.size() <= 18 &&
          std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        x.answer.content_length = std::stoll(value);
      }
    }
    return total;
  } catch (...) {
    x.stop = Exchange::Stop::kFailed;
    return 0;
  }
}

size_t on_body(char* data, size_t size, size_t count, void* user) noexcept {
  auto& x = *static_cast<Exchange*>(user);
  size_t total = size * count;
  if (x.sink == nullptr) return total;
  if (x.cancel != nullptr && x.cancel->cancelled()) {
    x.stop = Exchange::Stop::kCancelled;
    return 0;
  }
  if (x.written + static_cast<int64_t>(total) > x.options->max_bytes) {
    x.stop = Exchange::Stop::kTooLarge;
    return 0;
  }
  try {
    if (auto written = x.sink->write(data, total); !written) {
      x.write_error = written.error();
      x.stop = Exchange::Stop::kWriteFailed;
      return 0;
    }
  } catch (...) {
    x.stop = Exchange::Stop::kFailed;
    return 0;
  }
  x.written += static_cast<int64_t>(total);
  return total;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) noexcept {
  auto& x = *static_cast<Exchange*>(user);
  if (x.cancel == nullptr || !x.cancel->cancelled()) return 0;
  x.stop = Exchange::Stop::kCancelled;
  return 1;
}

// The last check, on the address libcurl is about to connect to: whatever resolved it, only an
// address the policy allows gets a socket.
curl_socket_t on_open_socket(void* user, curlsocktype, curl_sockaddr* address) noexcept {
  auto& x = *static_cast<Exchange*>(user);
  try {
    if (std::string reason = refusal(*x.options, &address->addr); !reason.empty()) {
      x.refused_address = address_text(&address->addr);
      x.refused_reason = std::move(reason);
      return CURL_SOCKET_BAD;
    }
  } catch (...) {
    return CURL_SOCKET_BAD;
  }
  return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

std::string seconds_text(std::chrono::milliseconds time) {
  return std::to_string((time.count() + 999) / 1000) + " s";
}

Error transfer_error(const Target& target, const Exchange& x, CURLcode code, const char* detail) {
  std::string what = detail[0] != '\0' ? detail : curl_easy_strerror(code);
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
      return Error(
          ErrorCode::kInputNotFound,
          target.subject + ": the host name does not resolve (" + what + "): check the URL");
    case CURLE_COULDNT_CONNECT:
      if (!x.refused_address.empty()) {
        return Error(ErrorCode::kUsage, target.subject + " connects to " + x.refused_address +
                                            ", " + an(x.refused_reason) +
                                            std::string(kPrivateHelp));
      }
      return Error(ErrorCode::kInputNotFound, target.subject + ": nothing answers at " +
                                                  target.host + " port " + target.port +
                                                  ": check the URL, or try again later");
    case CURLE_OPERATION_TIMEDOUT:
      return Error(ErrorCode::kInputUnreadable, target.subject + " did not finish within " +
                                                    seconds_text(x.limit) + " (" + what +
                                                    "): try again later");
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
      return Error(ErrorCode::kInputUnreadable,
                   target.subject + ": the server stopped midway (" + what + "): try again later");
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
      return Error(ErrorCode::kInputUnreadable,
                   target.subject + ": no secure connection (" + what + "): check the URL");
    default:
      return Error(ErrorCode::kInputUnreadable,
                   target.subject + " could not be fetched (" + what + "): check the URL");
  }
}

// Sends one request to `target` over a checked connection and reads the answer: its headers, and
// for a 2xx with a sink, its body into the sink.
Result<Answer> exchange(const Target& target, Exchange& x) {
  init_curl();
  Easy easy(curl_easy_init());
  if (!easy) throw std::bad_alloc();
  CURL* e = easy.get();
  Slist pins;
  if (!target.literal) {
    std::string pin = target.host + ":" + target.port + ":";
    for (size_t i = 0; i < target.addresses.size(); ++i) {
      pin += (i > 0 ? "," : "") + target.addresses[i];
    }
    pins = append(std::move(pins), pin);
  }
  Slist headers;
  for (const auto& header : x.headers) headers = append(std::move(headers), header);
  std::array<char, CURL_ERROR_SIZE> detail{};
  auto timeout = static_cast<long>(std::max<int64_t>(x.timeout.count(), 1));
  auto connect_timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(x.options->connect_timeout);

  curl_easy_setopt(e, CURLOPT_CURLU, target.url.get());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(e, CURLOPT_NETRC, static_cast<long>(CURL_NETRC_IGNORED));
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "peel");
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, detail.data());
  if (pins) curl_easy_setopt(e, CURLOPT_RESOLVE, pins.get());
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, &x);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &x);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &x);
  curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(e, CURLOPT_XFERINFODATA, &x);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::clamp<int64_t>(connect_timeout.count(), 1, timeout)));
  if (headers) curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
  if (x.post_body != nullptr) {
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, x.post_body->data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(x.post_body->size()));
  }

  CURLcode code = curl_easy_perform(e);
  switch (x.stop) {
    case Exchange::Stop::kHeaders:
      return x.answer;
    case Exchange::Stop::kTooLarge: {
      std::string limit = std::to_string(x.options->max_bytes) + " bytes";
      std::string what = x.answer.content_length > x.options->max_bytes
                             ? " is " + std::to_string(x.answer.content_length) + " bytes,"
                             : " sent more than " + limit + ",";
      return Error(ErrorCode::kFileTooLarge, target.subject + what +
                                                 " over this server's limit of " + limit +
                                                 " for a fetched file: give a smaller file");
    }
    case Exchange::Stop::kWriteFailed:
      return *x.write_error;
    case Exchange::Stop::kCancelled:
      return Error(ErrorCode::kCancelled, "fetching " + target.subject + " was cancelled");
    case Exchange::Stop::kFailed:
      return Error(ErrorCode::kInputUnreadable,
                   target.subject + " answered something that is not HTTP: check the URL");
    case Exchange::Stop::kNone:
      break;
  }
  if (code == CURLE_ABORTED_BY_CALLBACK) {
    return Error(ErrorCode::kCancelled, "fetching " + target.subject + " was cancelled");
  }
  if (code != CURLE_OK) return transfer_error(target, x, code, detail.data());
  return x.answer;
}

Error status_error(const Target& target, const Answer& answer) {
  std::string status =
      std::to_string(answer.status) + (answer.reason.empty() ? std::string() : " " + answer.reason);
  std::string said = target.subject + " answered " + status;
  if (answer.status == 404 || answer.status == 410) {
    return Error(ErrorCode::kInputNotFound, said + ": check that the URL is right and still valid");
  }
  if (answer.status == 401 || answer.status == 403 || answer.status == 407) {
    return Error(ErrorCode::kInputUnreadable,
                 said +
                     ": it is not public; give a URL that works without a login (a shared or "
                     "signed link)");
  }
  if (answer.status >= 300 && answer.status < 400) {
    return Error(ErrorCode::kInputUnreadable, said + ": give the URL it leads to");
  }
  if (answer.status >= 500) {
    return Error(ErrorCode::kInputUnreadable, said + ": the server failed; try again later");
  }
  return Error(ErrorCode::kInputUnreadable, said + ": check the URL");
}

bool redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::chrono::milliseconds left(std::chrono::steady_clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                               std::chrono::steady_clock::now());
}

}  // namespace

std::string refused_address_reason(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    sockaddr_in in;
    std::memcpy(&in, address, sizeof in);
    return std::string(ipv4_reason(ntohl(in.sin_addr.s_addr)));
  }
  if (address->sa_family == AF_INET6) {
    sockaddr_in6 in6;
    std::memcpy(&in6, address, sizeof in6);
    return std::string(ipv6_reason(in6.sin6_addr.s6_addr));
  }
  return "not IP";
}

Result<AddressRange> parse_address_range(const std::string& text) {
  auto refused = [&] {
    return Error(ErrorCode::kUsage, "\"" + text +
                                        "\" is not an address range: give an address or a block, "
                                        "like 10.1.2.3, 10.1.0.0/16 or fd00::/8");
  };
  AddressRange range;
  size_t slash = text.find('/');
  std::string address = text.substr(0, slash);
  if (inet_pton(AF_INET, address.c_str(), range.bytes) == 1) {
    range.family = AF_INET;
    range.prefix = 32;
  } else if (inet_pton(AF_INET6, address.c_str(), range.bytes) == 1) {
    range.family = AF_INET6;
    range.prefix = 128;
  } else {
    return refused();
  }
  if (slash != std::string::npos) {
    std::string bits = text.substr(slash + 1);
    if (bits.empty() || bits.size() > 3 || bits.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(bits) > range.prefix) {
      return refused();
    }
    range.prefix = std::stoi(bits);
  }
  return range;
}

bool in_range(const AddressRange& range, const sockaddr* address) {
  const unsigned char* bytes = nullptr;
  sockaddr_in in;
  sockaddr_in6 in6;
  if (address->sa_family == AF_INET && range.family == AF_INET) {
    std::memcpy(&in, address, sizeof in);
    bytes = reinterpret_cast<const unsigned char*>(&in.sin_addr.s_addr);
  } else if (address->sa_family == AF_INET6 && range.family == AF_INET6) {
    std::memcpy(&in6, address, sizeof in6);
    bytes = in6.sin6_addr.s6_addr;
  } else {
    return false;
  }
  int whole = range.prefix / 8;
  if (std::memcmp(bytes, range.bytes, static_cast<size_t>(whole)) != 0) return false;
  int rest = range.prefix % 8;
  if (rest == 0) return true;
  unsigned mask = (0xffu << (8 - rest)) & 0xffu;
  return (bytes[whole] & mask) == (range.bytes[whole] & mask);
}

Result<Fetched> fetch_url(const std::string& url, const FetchOptions& options,
                          blob::BlobWriter& out, const CancelToken* cancel) {
  auto deadline = std::chrono::steady_clock::now() + options.timeout;
  auto target = open_target(url, options);
  if (!target) return target.error();
  for (int redirects = 0;; ++redirects) {
    if (cancel != nullptr && cancel->cancelled()) {
      return Error(ErrorCode::kCancelled, "fetching " + target->subject + " was cancelled");
    }
    Exchange x;
    x.limit = options.timeout;
    x.timeout = left(deadline);
    if (x.timeout.count() <= 0) {
      return Error(ErrorCode::kInputUnreadable, target->subject + " did not finish within " +
                                                    seconds_text(x.limit) + ": try again later");
    }
    x.options = &options;
    x.cancel = cancel;
    x.sink = &out;
    auto answer = exchange(*target, x);
    if (!answer) return answer.error();
    if (redirect(answer->status) && !answer->location.empty()) {
      if (redirects == options.max_redirects) {
        return Error(ErrorCode::kInputUnreadable, url + " redirects more than " +
                                                      std::to_string(options.max_redirects) +
                                                      " times: give the URL the redirects end at");
      }
      auto next = redirect_target(*target, answer->location, options);
      if (!next) return next.error();
      target = std::move(next);
      continue;
    }
    if (!success(answer->status)) return status_error(*target, *answer);
    if (auto finished = out.finish(); !finished) return finished.error();
    Fetched fetched;
    fetched.final_url = target->text;
    fetched.file_name = disposition_file_name(answer->content_disposition);
    if (fetched.file_name.empty()) {
      fetched.file_name =
          safe_file_name(percent_decoded(url_part(target->url.get(), CURLUPART_PATH).value_or("")));
    }
    fetched.content_type = answer->content_type;
    fetched.bytes = x.written;
    return fetched;
  }
}

Result<void> check_reachable(const std::string& url, const FetchOptions& options) {
  auto target = open_target(url, options);
  if (!target) return target.error();
  return {};
}

Result<void> post_signed(const std::string& url, const std::string& body, const std::string& secret,
                         const FetchOptions& options) {
  auto target = open_target(url, options);
  if (!target) return target.error();
  std::string t = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  Exchange x;
  x.post_body = &body;
  x.headers = {"Content-Type: application/json",
               "Peel-Signature: t=" + t + ",v1=" + hmac_sha256_hex(secret, t + "." + body),
               // No "100 Continue" round trip: a callback's body is small.
               "Expect:"};
  x.limit = std::min<std::chrono::seconds>(options.timeout, kCallbackTimeout);
  x.timeout = x.limit;
  x.options = &options;
  auto answer = exchange(*target, x);
  if (!answer) return answer.error();
  if (!success(answer->status)) return status_error(*target, *answer);
  return {};
}

bool verify_signature(const std::string& header, const std::string& body, const std::string& secret,
                      int64_t now, int64_t tolerance_seconds) {
  std::string_view rest(header);
  std::string t;
  std::vector<std::string_view> signatures;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = trimmed(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (item.starts_with("t=")) {
      t = std::string(item.substr(2));
    } else if (item.starts_with("v1=")) {
      signatures.push_back(item.substr(3));
    }
  }
  if (t.empty() || t.size() > 18 || signatures.empty() ||
      !std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  int64_t sent = std::stoll(t);
  if (sent > now ? sent - now > tolerance_seconds : now - sent > tolerance_seconds) return false;
  std::string expected = hmac_sha256_hex(secret, t + "." + body);
  bool match = false;
  for (auto signature : signatures) match |= constant_time_equal(signature, expected);
  return match;
}

double random_fraction() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

std::chrono::milliseconds callback_backoff(int attempt, double jitter) {
  std::chrono::milliseconds base = kBackoffCap;
  if (attempt < 20) {
    base = std::min(kBackoffCap,
                    std::chrono::milliseconds(kBackoffFirst.count() << std::max(attempt - 1, 0)));
  }
  jitter = std::clamp(jitter, 0.0, 1.0);
  return std::chrono::milliseconds(
      static_cast<int64_t>(static_cast<double>(base.count()) * (0.5 + jitter / 2)));
}

}  // namespace peel::server
