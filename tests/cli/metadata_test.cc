// Tags go to formats that hold them; chapters go to m4a and mka, shifted to the range.
#include <gtest/gtest.h>

#include "support/fixtures.h"
#include "support/support.h"

namespace peel::test {
namespace {

// Tags of the file and its first audio stream, merged, keys lower-cased.
std::map<std::string, std::string> tags_of(const std::string& path) {
  std::map<std::string, std::string> tags;
  const auto probe = ffprobe(path);
  auto add = [&](const nlohmann::json& t) {
    for (const auto& [k, v] : t.items()) {
      std::string key = k;
      std::transform(key.begin(), key.end(), key.begin(), ::tolower);
      tags[key] = v;
    }
  };
  if (probe["format"].contains("tags")) add(probe["format"]["tags"]);
  for (const auto& s : probe["streams"]) {
    if (s["codec_type"] == "audio" && s.contains("tags")) add(s["tags"]);
  }
  return tags;
}

class TagsCarried : public ::testing::TestWithParam<const char*> {};

TEST_P(TagsCarried, TitleArtistAlbumDateComment) {
  TempDir dir;
  const std::string out = dir / (std::string("t.") + GetParam());
  auto r = peel({mp4_tagged(), "-o", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto tags = tags_of(out);
  EXPECT_EQ(tags["title"], "Peel Test");
  EXPECT_EQ(tags["artist"], "The Artist");
  EXPECT_EQ(tags["album"], "The Album");
  EXPECT_EQ(tags["comment"], "A comment");
  EXPECT_TRUE(tags["date"] == "2024" || tags["year"] == "2024");
  // The source's container bookkeeping is not a tag (an m4a states its own brand).
  EXPECT_NE(tags["major_brand"], "isom");
}

INSTANTIATE_TEST_SUITE_P(Formats, TagsCarried,
                         ::testing::Values("m4a", "mp3", "flac", "opus", "ogg", "mka"));

TEST(Tags, NoMetadataDropsThemAndTheChapters) {
  TempDir dir;
  const std::string out = dir / "t.m4a";
  ASSERT_EQ(peel({mp4_tagged(), "-o", out, "--no-metadata"}).exit_code, 0);
  const auto tags = tags_of(out);
  EXPECT_EQ(tags.count("title"), 0u);
  EXPECT_EQ(tags.count("artist"), 0u);
  EXPECT_TRUE(ffprobe(out)["chapters"].empty());
}

TEST(Chapters, WholeFileKeepsAllOfThem) {
  TempDir dir;
  for (const char* ext : {"m4a", "mka"}) {
    const std::string out = dir / (std::string("c.") + ext);
    ASSERT_EQ(peel({mp4_tagged(), "-o", out}).exit_code, 0);
    const auto chapters = ffprobe(out)["chapters"];
    ASSERT_EQ(chapters.size(), 3u) << ext;
    EXPECT_EQ(chapters[1]["tags"]["title"], "Two");
    EXPECT_NEAR(std::stod(chapters[1]["start_time"].get<std::string>()), 2.0, 0.001);
  }
}

TEST(Chapters, ARangeKeepsThoseInsideItShifted) {
  TempDir dir;
  const std::string out = dir / "c.mka";
  ASSERT_EQ(peel({mp4_tagged(), "--from", "3", "--to", "5", "-o", out}).exit_code, 0);
  const auto chapters = ffprobe(out)["chapters"];
  ASSERT_EQ(chapters.size(), 2u);
  EXPECT_EQ(chapters[0]["tags"]["title"], "Two");
  EXPECT_NEAR(std::stod(chapters[0]["start_time"].get<std::string>()), 0.0, 0.001);
  EXPECT_NEAR(std::stod(chapters[0]["end_time"].get<std::string>()), 1.0, 0.001);
  EXPECT_EQ(chapters[1]["tags"]["title"], "Three");
  EXPECT_NEAR(std::stod(chapters[1]["start_time"].get<std::string>()), 1.0, 0.001);
  EXPECT_NEAR(std::stod(chapters[1]["end_time"].get<std::string>()), 2.0, 0.001);
}

TEST(Tags, TrackLanguageTravels) {
  TempDir dir;
  const std::string out = dir / "j.mka";
  ASSERT_EQ(peel({mkv_two_tracks(), "--lang", "ja", "-o", out}).exit_code, 0);
  EXPECT_EQ(tags_of(out)["language"], "jpn");
}

}  // namespace
}  // namespace peel::test
