// `peel ask` end to end: the JSON contract of --dry-run --json, questions, and real runs whose
// outputs ffprobe checks.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/fixtures.h"
#include "support/support.h"

namespace peel::test {
namespace {

nlohmann::json ask_json(const std::vector<std::string>& args, int want_exit = 0) {
  std::vector<std::string> a = {"ask", "--dry-run", "--json"};
  a.insert(a.end(), args.begin(), args.end());
  const auto r = peel(a);
  EXPECT_EQ(r.exit_code, want_exit) << r.err;
  return json_of(r);
}

TEST(Ask, DryRunJsonHasEveryKeyOfTheContract) {
  const auto j =
      ask_json({"Extract the audio from this mp4 file and save it as an mp3", mp4_h264_aac()});
  for (const char* key :
       {"inputs", "format", "copy_policy", "from", "to", "duration", "track", "lang", "title",
        "all_tracks", "bitrate", "quality", "sample_rate", "channels", "sample_format",
        "explanation", "peel_command", "ffmpeg_command"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["inputs"], nlohmann::json::array({mp4_h264_aac()}));
  EXPECT_EQ(j["format"], "mp3");
  EXPECT_EQ(j["copy_policy"], "auto");
  EXPECT_TRUE(j["from"].is_null());
  EXPECT_TRUE(j["track"].is_null());
  EXPECT_EQ(j["all_tracks"], false);
  EXPECT_EQ(j["peel_command"], "peel " + mp4_h264_aac() + " -f mp3");
  const std::string ffmpeg = j["ffmpeg_command"];
  EXPECT_NE(ffmpeg.find("libmp3lame"), std::string::npos) << ffmpeg;
  EXPECT_FALSE(j.contains("question"));
}

TEST(Ask, TheIssuesExamplesInBothLanguages) {
  const std::string mkv = mkv_opus();
  for (const char* s : {"Pull just the audio track from my mkv video between the 2-minute and "
                        "5-minute mark",
                        "从我的mkv视频中提取2分钟到5分钟之间的音轨"}) {
    const auto j = ask_json({s, mkv});
    EXPECT_EQ(j["from"], 120.0) << s;
    EXPECT_EQ(j["to"], 300.0) << s;
    EXPECT_TRUE(j["format"].is_null()) << s;
  }
  const auto wav =
      ask_json({"Convert the audio from this mov file to a high-quality WAV file", mov_pcm24()});
  EXPECT_EQ(wav["format"], "wav");
  EXPECT_EQ(wav["sample_format"], "s24");
  const auto zh = ask_json({"把这个mov文件的音频转换成高质量的WAV文件", mov_pcm24()});
  EXPECT_EQ(zh["sample_format"], "s24");
  EXPECT_NE(std::string(zh["explanation"]).find("提取"), std::string::npos);
}

TEST(Ask, NumbersAreSecondsBitsAndHertz) {
  const auto j =
      ask_json({"for 90 seconds from 3:00, mp3 at 192k, 44.1 kHz, mono, track 2", "missing.mkv"});
  EXPECT_EQ(j["from"], 180.0);
  EXPECT_EQ(j["duration"], 90.0);
  EXPECT_EQ(j["bitrate"], 192000);
  EXPECT_EQ(j["sample_rate"], 44100);
  EXPECT_EQ(j["channels"], 1);
  EXPECT_EQ(j["track"], 2);
  EXPECT_EQ(j["peel_command"],
            "peel missing.mkv -f mp3 --from 180 --duration 90 --track 2 -b 192k --sample-rate "
            "44100 --channels 1");
  // The file cannot be probed, so the ffmpeg command comes from the request alone.
  const std::string ffmpeg = j["ffmpeg_command"];
  EXPECT_NE(ffmpeg.find("-ss 180 -t 90"), std::string::npos) << ffmpeg;
  EXPECT_NE(ffmpeg.find("-map 0:a:1"), std::string::npos) << ffmpeg;
}

TEST(Ask, TheLastMinutesBecomeAStartAfterProbing) {
  const auto j = ask_json({"the last 2 seconds", mp4_h264_aac()});
  EXPECT_EQ(j["from_end"], 2.0);
  EXPECT_NEAR(j["from"].get<double>(), 4.0, 0.05);
  EXPECT_NE(std::string(j["peel_command"]).find("--from 4"), std::string::npos);
}

TEST(Ask, LanguageAndTitleSelectTracks) {
  const auto j = ask_json({"the Japanese track", mkv_two_tracks()});
  EXPECT_EQ(j["lang"], "jpn");
  EXPECT_NE(std::string(j["peel_command"]).find("--lang jpn"), std::string::npos);
  const auto c = ask_json({"解说音轨", mkv_two_tracks()});
  EXPECT_EQ(c["title"], "commentary");
}

TEST(Ask, FoldersAreListedInOrder) {
  TempDir dir;
  std::filesystem::copy_file(mkv_opus(), dir / "b.mkv");
  std::filesystem::copy_file(mkv_opus(), dir / "a.mkv");
  std::filesystem::copy_file(mp4_h264_aac(), dir / "c.mp4");
  const auto j = ask_json({"all the mkv files in " + dir.path() + "/ as mp3"});
  EXPECT_EQ(j["inputs"], nlohmann::json::array({dir / "a.mkv", dir / "b.mkv"}));
}

TEST(Ask, WhatItCannotMapIsAQuestionAndANonZeroExit) {
  for (const char* s :
       {"convert to mp3 with reverb", "mp3 lossless", "normalize the audio", "响度标准化"}) {
    const auto j = ask_json({s, mp4_h264_aac()}, 1);
    ASSERT_TRUE(j.contains("question")) << s;
    EXPECT_FALSE(std::string(j["question"]).empty()) << s;
  }
  const auto r = peel({"ask", "extract the audio as mp3"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("Which file"), std::string::npos) << r.err;
}

TEST(Ask, RunsWhatItPrints) {
  TempDir dir;
  const std::string out = dir / "first.mp3";
  const auto r =
      peel({"ask", "--yes", "the first 3 seconds as mp3, save it as " + out, mp4_h264_aac()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("peel " + mp4_h264_aac() + " -o " + out + " -f mp3 --to 3"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("ffmpeg "), std::string::npos) << r.out;
  ASSERT_TRUE(std::filesystem::exists(out));
  const auto probe = ffprobe(out);
  EXPECT_EQ(probe["streams"][0]["codec_name"], "mp3");
  EXPECT_NEAR(std::stod(probe["format"]["duration"].get<std::string>()), 3.0, 0.1);
}

TEST(Ask, RunsAChineseRequestSampleExact) {
  TempDir dir;
  std::filesystem::copy_file(mkv_h264_pcm16(), dir / "in.mkv");
  const auto r = peel({"ask", "--yes", "从1秒开始截取2秒，转成wav", dir / "in.mkv"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string out = dir / "in.wav";
  ASSERT_TRUE(std::filesystem::exists(out)) << r.out;
  EXPECT_EQ(ffprobe(out)["streams"][0]["codec_name"], "pcm_s16le");
  EXPECT_EQ(decode_s16(out).size(), 96000u * 2) << "2 s of 48 kHz stereo";
}

}  // namespace
}  // namespace peel::test
