// The test support itself: the fixture cache.
#include "support/support.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace peel::test {
namespace {

namespace fs = std::filesystem;

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> tone(int hertz) {
  return {"-f", "lavfi", "-i", "sine=frequency=" + std::to_string(hertz) + ":duration=0.1"};
}

// A changed recipe under the same name is a new file, never the one an earlier recipe made.
TEST(FixtureCache, TheSameNameWithOtherArgumentsIsAnotherFile) {
  const std::string low = fixture("cache-key.wav", tone(440));
  const std::string high = fixture("cache-key.wav", tone(880));
  ASSERT_FALSE(low.empty());
  ASSERT_FALSE(high.empty());
  EXPECT_NE(low, high);
  EXPECT_EQ(fs::path(low).filename(), "cache-key.wav");
  EXPECT_EQ(fs::path(high).filename(), "cache-key.wav");
  EXPECT_NE(bytes_of(low), bytes_of(high));
  EXPECT_FALSE(decode_s16(low) == decode_s16(high));
  // The same recipe again is the cached file.
  EXPECT_EQ(fixture("cache-key.wav", tone(440)), low);
}

TEST(FixtureCache, TextAndToolFixturesAreKeyedByWhatMakesThem) {
  const std::string one = text_fixture("cache-key.txt", "one\n");
  const std::string two = text_fixture("cache-key.txt", "two\n");
  EXPECT_NE(one, two);
  EXPECT_EQ(bytes_of(one), "one\n");
  EXPECT_EQ(bytes_of(two), "two\n");
  const std::string a = tool_fixture("cache-key.dat", {"sh", "-c", "printf a > {out}"});
  const std::string b = tool_fixture("cache-key.dat", {"sh", "-c", "printf b > {out}"});
  EXPECT_NE(a, b);
  EXPECT_EQ(bytes_of(a), "a");
  EXPECT_EQ(bytes_of(b), "b");
}

}  // namespace
}  // namespace peel::test
