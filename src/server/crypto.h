// The few cryptographic operations the service needs, on OpenSSL's libcrypto: random tokens
// and ids, SHA-256 for storing tokens and body hashes, HMAC-SHA256 for signed download URLs,
// and a constant-time comparison.
#pragma once

#include <optional>
#include <string>
#include <string_view>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace peel::server {

// `bytes` random bytes (RAND_bytes) as unpadded base64url: a bearer token (32 bytes: 256 bits).
std::string random_token(size_t bytes = 32);
// A random id of 128 bits in lower-case hex, after `prefix` ("sess_", "up_"): never guessed
// from another.
std::string random_id(std::string_view prefix);
// Lower-case hex digests.
std::string sha256_hex(std::string_view data);
std::string hmac_sha256_hex(std::string_view key, std::string_view data);
// Standard base64 with padding (RFC 4648 §4), and back: nullopt when `text` is not base64.
std::string base64_encode(std::string_view data);
std::optional<std::string> base64_decode(std::string_view text);

// A digest computed piece by piece, for checksums of uploads as they arrive.
class Digest {
 public:
  // "sha1", "sha256"; any other name makes an invalid Digest.
  explicit Digest(std::string_view algorithm);
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;
  bool valid() const { return context_ != nullptr; }
  void update(const char* data, size_t size);
  // The raw digest; the Digest is spent.
  std::string finish();

 private:
  ::evp_md_ctx_st* context_ = nullptr;
};

// Equal contents, in time that depends only on the lengths (CRYPTO_memcmp).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace peel::server
