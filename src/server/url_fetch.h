// Reaching out from `peel serve`: fetching a job's input from a URL, and POSTing signed callbacks,
// both safe against server-side request forgery. A URL's host is resolved once, every address it
// resolves to is checked, and the connection goes to a checked address (pinned, and checked again
// as the socket is opened), so a client cannot make the server reach its own network.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "blob/blob_store.h"
#include "peel/cancel.h"
#include "peel/error.h"

namespace peel::server {

// A block of addresses, "10.1.0.0/16", "fd00::/8" or one address ("192.168.1.20").
struct AddressRange {
  int family = 0;  // AF_INET or AF_INET6
  unsigned char bytes[16] = {};
  int prefix = 0;  // leading bits that must match
};
// Fails with kUsage, saying what a range looks like, when `text` is none.
Result<AddressRange> parse_address_range(const std::string& text);
bool in_range(const AddressRange& range, const sockaddr* address);

struct FetchOptions {
  bool allow_private = false;     // --allow-private-urls: every address may be reached
  // --allow-url-range: these may be reached besides public addresses (a trusted media server
  // on the company network), while the rest of the private ranges stay refused.
  std::vector<AddressRange> allowed_ranges;
  int64_t max_bytes = 4LL << 30;  // a body past this is refused (Content-Length, then as it comes)
  std::chrono::seconds timeout{300};         // the whole transfer, redirects included
  std::chrono::seconds connect_timeout{10};  // each connection
  int max_redirects = 5;
  // Decides instead of refused_address_reason (and allow_private) why an address is refused, ""
  // to reach it: for tests, which have only loopback servers to tell apart by port.
  std::function<std::string(const sockaddr*)> refuse_address;
};

// Why `address` may not be reached from a server that fetches only public addresses, or "" when
// it is public: "unspecified", "loopback", "private", "link-local", "CGNAT", "benchmarking",
// "documentation", "multicast", "broadcast", "reserved", or "not IP" for a family other than
// AF_INET and AF_INET6. IPv6 addresses that carry an IPv4 address (mapped ::ffff:0:0/96, NAT64
// 64:ff9b::/96, 6to4 2002::/16) are judged by the IPv4 address; outside 2000::/3 nothing is public.
std::string refused_address_reason(const sockaddr* address);

struct Fetched {
  std::string final_url;  // the URL that answered, after redirects
  std::string file_name;  // from Content-Disposition or the URL's path, without any folder; or ""
  std::string content_type;  // as the server sent it, or ""
  int64_t bytes = 0;         // written to the BlobWriter
};

// GETs `url` (http or https, without credentials) into `out`, then calls out.finish(). Redirects
// are followed by hand, at most options.max_redirects, each new URL checked as the first was.
// Stops within about a second when `cancel` fires. Blocks the calling thread (a worker's); calls
// on many threads at once are independent. The host name's lookup (getaddrinfo) is not bounded by
// options.timeout. On failure `out` may hold part of the body, unfinished: the caller drops the
// blob. Fails with
//   kUsage            the URL is malformed, not http(s), carries a user or password, or resolves
//                     (itself or after a redirect) to an address that is refused;
//   kInputNotFound    the host does not resolve, nothing listens there, or it answered 404 or 410;
//   kInputUnreadable  any other answer than 2xx (the message names the status), too many
//                     redirects, a timeout, a TLS failure, a body cut off;
//   kFileTooLarge     the body is past options.max_bytes (nothing past it is written);
//   kCancelled        `cancel` fired;
//   whatever out.write() or out.finish() failed with.
Result<Fetched> fetch_url(const std::string& url, const FetchOptions& options,
                          blob::BlobWriter& out, const CancelToken* cancel = nullptr);

// Whether `url` could be fetched or posted to under `options`: its form, and every address its
// host resolves to (a lookup, so it blocks). Fails with fetch_url's kUsage and kInputNotFound.
Result<void> check_reachable(const std::string& url, const FetchOptions& options);

// POSTs `body` (application/json) to `url` under the same rules as fetch_url, signed with the
// header `Peel-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. The
// whole request takes at most 10 s (or options.timeout when shorter); redirects are not followed.
// Succeeds when the answer is 2xx; fails with fetch_url's codes otherwise (a 3xx is
// kInputUnreadable).
Result<void> post_signed(const std::string& url, const std::string& body, const std::string& secret,
                         const FetchOptions& options);

// How a receiver checks a callback: true when `header` (Peel-Signature's value) has a t= within
// `tolerance_seconds` of `now` (unix seconds) and a v1= that is the HMAC of "<t>.<body>" under
// `secret`. Several v1= may be given (while a secret is being replaced): one must match.
bool verify_signature(const std::string& header, const std::string& body, const std::string& secret,
                      int64_t now, int64_t tolerance_seconds = 300);

// A uniform draw in [0, 1), for callback_backoff's jitter.
double random_fraction();

// How long to wait before retrying a callback after `attempt` failures (1 for the first): between
// half and all of min(2^(attempt-1) s, 5 min), where in that span set by `jitter` in [0, 1), so
// that callbacks failed together do not retry together.
std::chrono::milliseconds callback_backoff(int attempt, double jitter = random_fraction());

}  // namespace peel::server
