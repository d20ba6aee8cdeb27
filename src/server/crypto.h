// The few cryptographic operations the service needs, on OpenSSL's libcrypto: random tokens
// and ids, SHA-256 for storing tokens and body hashes, HMAC-SHA256 for signed download URLs,
// and a constant-time comparison.
#pragma once

#include <string>
#include <string_view>

namespace peel::server {

// `bytes` random bytes (RAND_bytes) as unpadded base64url: a bearer token (32 bytes: 256 bits).
std::string random_token(size_t bytes = 32);
// A random id of 128 bits in lower-case hex, after `prefix` ("sess_", "up_"): never guessed
// from another.
std::string random_id(std::string_view prefix);
// Lower-case hex digests.
std::string sha256_hex(std::string_view data);
std::string hmac_sha256_hex(std::string_view key, std::string_view data);
// Equal contents, in time that depends only on the lengths (CRYPTO_memcmp).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace peel::server
