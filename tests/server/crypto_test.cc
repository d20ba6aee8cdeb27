// crypto.h against known answers: RFC 4648's base64 vectors and FIPS 180's digests of "abc".
#include "server/crypto.h"

#include <gtest/gtest.h>

namespace peel::server {
namespace {

std::string hex(const std::string& raw) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

TEST(Crypto, Base64RoundTripsRfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_EQ(base64_decode(encoded), std::optional<std::string>(plain)) << encoded;
  }
  EXPECT_EQ(base64_decode("Zm9"), std::nullopt);     // not a multiple of 4
  EXPECT_EQ(base64_decode("Zm9v!A=="), std::nullopt);  // not base64
  std::string binary("\0\xff\x10", 3);
  EXPECT_EQ(base64_decode(base64_encode(binary)), std::optional<std::string>(binary));
}

TEST(Crypto, DigestsInPiecesMatchFips180) {
  Digest sha1("sha1");
  ASSERT_TRUE(sha1.valid());
  sha1.update("a", 1);
  sha1.update("bc", 2);
  EXPECT_EQ(hex(sha1.finish()), "a9993e364706816aba3e25717850c26c9cd0d89d");
  Digest sha256("sha256");
  sha256.update("abc", 3);
  EXPECT_EQ(hex(sha256.finish()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_FALSE(Digest("md5").valid());
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace peel::server
