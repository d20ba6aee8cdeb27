// peel probe, peel formats, --dry-run and its ffmpeg command, -ss/-to/-t aliases.
#include <gtest/gtest.h>

#include "support/fixtures.h"
#include "support/support.h"

namespace peel::test {
namespace {

TEST(Probe, JsonAgreesWithFfprobe) {
  auto r = peel({"probe", "--json", mkv_two_tracks()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto file = json_of(r)["files"][0];
  const auto oracle = ffprobe(mkv_two_tracks());
  EXPECT_EQ(file["container"], oracle["format"]["format_name"]);
  EXPECT_NEAR(file["duration"].get<double>(),
              std::stod(oracle["format"]["duration"].get<std::string>()), 0.001);
  ASSERT_EQ(file["audio"].size(), 2u);
  ASSERT_EQ(file["video"].size(), 1u);
  int n = 0;
  for (const auto& s : oracle["streams"]) {
    if (s["codec_type"] != "audio") continue;
    const auto& t = file["audio"][n++];
    EXPECT_EQ(t["track"], n);
    EXPECT_EQ(t["stream_index"], s["index"]);
    EXPECT_EQ(t["codec"], s["codec_name"]);
    EXPECT_EQ(t["sample_rate"], std::stoi(s["sample_rate"].get<std::string>()));
    EXPECT_EQ(t["channels"], s["channels"]);
    EXPECT_EQ(t["channel_layout"], s["channel_layout"]);
    EXPECT_EQ(t["language"], s["tags"]["language"]);
    EXPECT_EQ(t["title"], s["tags"]["title"]);
    EXPECT_EQ(t["default"], s["disposition"]["default"] == 1);
  }
  EXPECT_EQ(file["video"][0]["codec"], "h264");
  EXPECT_EQ(file["video"][0]["width"], 160);
  auto human = peel({"probe", mkv_two_tracks()});
  EXPECT_NE(human.out.find("audio track 2"), std::string::npos);
}

TEST(Formats, ListsEveryFormatOfTheContract) {
  auto r = peel({"formats", "--json"});
  ASSERT_EQ(r.exit_code, 0);
  std::set<std::string> names;
  for (const auto& f : json_of(r)) {
    if (f["selectable"]) names.insert(f["name"]);
  }
  EXPECT_EQ(names, (std::set<std::string>{"mp3", "aac", "m4a", "flac", "wav", "opus", "ogg", "mka",
                                          "pcm"}));
  const std::string table = peel({"formats"}).out;
  for (const auto& name : names)
    EXPECT_NE(table.find("\n" + name + " "), std::string::npos) << name;
}

TEST(DryRun, WritesNothingAndExplainsItself) {
  TempDir dir;
  auto r = peel({mp4_h264_aac(), "-d", dir.path(), "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(dir.entries().empty());
  EXPECT_NE(r.out.find("copy"), std::string::npos);
  EXPECT_NE(r.out.find("ffmpeg"), std::string::npos);
  EXPECT_NE(r.out.find(dir / "step.m4a"), std::string::npos);
  auto cut = peel({mp4_h264_aac(), "-d", dir.path(), "--from", "1", "--dry-run"});
  EXPECT_NE(cut.out.find("sample-exact"), std::string::npos) << cut.out;
}

// The ffmpeg command printed by --dry-run does the same job: same codec, same length.
TEST(DryRun, TheEquivalentFfmpegCommandMatchesWhatPeelWrites) {
  TempDir dir;
  struct Case {
    std::vector<std::string> args;
  };
  for (const auto& c :
       std::vector<Case>{{{mp4_h264_aac(), "-o", dir / "a.m4a"}},
                         {{mkv_opus(), "-o", dir / "b.opus"}},
                         {{mkv_flac24(), "--from", "1", "-t", "2", "-o", dir / "c.wav"}},
                         {{mkv_two_tracks(), "--lang", "eng", "-b", "128k", "--sample-rate",
                           "44100", "-o", dir / "d.mp3"}}}) {
    auto args = c.args;
    args.push_back("--dry-run");
    args.push_back("--json");
    auto plan = peel(args);
    ASSERT_EQ(plan.exit_code, 0) << plan.err;
    const auto p = json_of(plan)["outputs"][0];
    const std::string out = p["output"];
    const std::string cmd = p["ffmpeg_command"];
    auto ff = run({"bash", "-c", cmd + " -v error"});
    ASSERT_EQ(ff.exit_code, 0) << cmd << "\n" << ff.err;
    const std::string by_ffmpeg = dir / "ffmpeg-output";
    std::filesystem::rename(out, by_ffmpeg);
    ASSERT_EQ(peel(c.args).exit_code, 0);
    const auto a = ffprobe(out)["streams"][0];
    const auto b = ffprobe(by_ffmpeg)["streams"][0];
    EXPECT_EQ(a["codec_name"], b["codec_name"]) << cmd;
    EXPECT_EQ(a["sample_rate"], b["sample_rate"]) << cmd;
    EXPECT_EQ(a["channels"], b["channels"]) << cmd;
    EXPECT_NEAR(static_cast<double>(decode_f32(out).size()),
                static_cast<double>(decode_f32(by_ffmpeg).size()), 2 * 2048)
        << cmd;
    std::filesystem::remove(by_ffmpeg);
    std::filesystem::remove(out);
  }
}

TEST(Aliases, FfmpegSpellingsOfTheRange) {
  TempDir dir;
  auto r = peel({mkv_h264_pcm16(), "-ss", "1:00.5", "-to", "1:02", "-o", dir / "x.wav", "--json"});
  EXPECT_EQ(r.exit_code, 2) << "1:00.5 is past the 6 s file";
  auto ok = peel({mkv_h264_pcm16(), "-ss", "0.5", "-t", "1.5s", "-o", dir / "y.wav", "--json"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(json_of(ok)["outputs"][0]["samples"], 72000);
}

}  // namespace
}  // namespace peel::test
