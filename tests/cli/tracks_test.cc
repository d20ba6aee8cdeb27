// Track choice: default flag, number, language, title, all tracks.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/fixtures.h"
#include "support/support.h"

namespace peel::test {
namespace {

// mkv_two_tracks: track 1 eng "Main" 48 kHz stereo step; track 2 jpn "Commentary" 44.1 kHz
// mono sine, flagged default.
int rate_of(const std::string& path) {
  return std::stoi(ffprobe(path)["streams"][0]["sample_rate"].get<std::string>());
}

TEST(Tracks, TheDefaultFlaggedTrackIsTakenAndNamed) {
  TempDir dir;
  auto r = peel({mkv_two_tracks(), "-d", dir.path(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto o = json_of(r)["outputs"][0];
  EXPECT_EQ(o["track"], 2);
  EXPECT_EQ(o["lang"], "jpn");
  EXPECT_EQ(rate_of(o["output"]), 44100);
  // Said in the human output too.
  auto human = peel({mkv_two_tracks(), "-d", dir.path(), "-y"});
  EXPECT_NE(human.out.find("track 2 [jpn]"), std::string::npos) << human.out;
}

TEST(Tracks, ByNumberLanguageAndTitle) {
  TempDir dir;
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--track", "1"}, {"--lang", "en"}, {"--lang", "eng"}, {"--title", "main"}}) {
    std::vector<std::string> argv = {mkv_two_tracks(), "-o", dir / "x.m4a", "-y", "--json"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = peel(argv);
    ASSERT_EQ(r.exit_code, 0) << args[0] << " " << args[1] << ": " << r.err;
    EXPECT_EQ(json_of(r)["outputs"][0]["track"], 1) << args[0] << " " << args[1];
    EXPECT_EQ(rate_of(dir / "x.m4a"), 48000);
  }
  auto r = peel({mkv_two_tracks(), "-o", dir / "c.m4a", "--title", "COMMENT", "--json"});
  EXPECT_EQ(json_of(r)["outputs"][0]["track"], 2);
}

TEST(Tracks, AllTracksMakesOneFileEachNamedByTrackAndLanguage) {
  TempDir dir;
  auto r = peel({mkv_two_tracks(), "--all-tracks", "-d", dir.path(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json_of(r)["outputs"].size(), 2u);
  EXPECT_EQ(dir.entries(),
            (std::vector<std::string>{"two-tracks.1.eng.m4a", "two-tracks.2.jpn.m4a"}));
  EXPECT_EQ(rate_of(dir / "two-tracks.1.eng.m4a"), 48000);
  EXPECT_EQ(rate_of(dir / "two-tracks.2.jpn.m4a"), 44100);
  // Both come from one opening of the file, read twice: each is whole.
  EXPECT_TRUE(decode_f32(dir / "two-tracks.1.eng.m4a") == decode_f32(mkv_two_tracks(), 0));
  EXPECT_TRUE(decode_f32(dir / "two-tracks.2.jpn.m4a") == decode_f32(mkv_two_tracks(), 1));
}

TEST(Tracks, NameTemplate) {
  TempDir in, dir;
  // {dir} is the name of the input's folder: one of the test's own.
  std::filesystem::create_directory(in / "talks");
  std::filesystem::copy_file(mkv_two_tracks(), in / "talks/two-tracks.mkv");
  auto r = peel({in / "talks/two-tracks.mkv", "--track", "1", "-d", dir.path(), "--name",
                 "{dir}-{stem}-{title}.{ext}", "-f", "mp3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"talks-two-tracks-Main.mp3"}));
}

}  // namespace
}  // namespace peel::test
