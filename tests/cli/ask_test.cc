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

// A copy of `fixture` in `dir` named `name`.
std::string copy_as(const TempDir& dir, const std::string& fixture, const std::string& name) {
  const std::string path = dir / name;
  std::filesystem::copy_file(fixture, path);
  return path;
}

TEST(Ask, DryRunJsonHasEveryKeyOfTheContract) {
  TempDir dir;
  // (Beside the fixture itself, step.mp3 may be another test's fixture, and the run would
  // refuse to overwrite it.)
  const std::string talk = copy_as(dir, mp4_h264_aac(), "talk.mp4");
  const auto j = ask_json({"Extract the audio from this mp4 file and save it as an mp3", talk});
  for (const char* key :
       {"inputs", "format", "copy_policy", "from", "to", "duration", "track", "lang", "title",
        "all_tracks", "bitrate", "quality", "sample_rate", "channels", "sample_format",
        "explanation", "peel_command", "ffmpeg_command"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["inputs"], nlohmann::json::array({talk}));
  EXPECT_EQ(j["format"], "mp3");
  EXPECT_EQ(j["copy_policy"], "auto");
  EXPECT_TRUE(j["from"].is_null());
  EXPECT_TRUE(j["track"].is_null());
  EXPECT_EQ(j["all_tracks"], false);
  EXPECT_EQ(j["peel_command"], "peel " + talk + " -f mp3");
  const std::string ffmpeg = j["ffmpeg_command"];
  EXPECT_NE(ffmpeg.find("libmp3lame"), std::string::npos) << ffmpeg;
  EXPECT_FALSE(j.contains("question"));
}

TEST(Ask, TheIssuesExamplesInBothLanguages) {
  // A file still to come: planned from the sentence alone (the 6 s fixtures would refuse a
  // range from 2:00, as the run does).
  const std::string mkv = "video-to-come.mkv";
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

// ---- What a new user tripped on (issue 9) ---------------------------------------------------

TEST(Ask, FileNamesPassThroughByteForByteInEitherLanguagesQuotes) {
  TempDir dir;
  const std::string in = copy_as(dir, mp4_h264_aac(), "my vidéo 日本語 ñ.mp4");
  struct Say {
    std::string sentence, out;
  };
  for (const auto& s : std::initializer_list<Say>{
           {"extract audio from \"" + in + "\" as mp3", "my vidéo 日本語 ñ.mp3"},
           {"extract audio from “" + in + "” as wav", "my vidéo 日本語 ñ.wav"},
           {"从「" + in + "」提取音频，转成flac", "my vidéo 日本語 ñ.flac"},
           // Unquoted: the one reading that exists is taken.
           {"extract audio from " + in + " as opus", "my vidéo 日本語 ñ.opus"}}) {
    const auto r = peel({"ask", "--yes", s.sentence});
    ASSERT_EQ(r.exit_code, 0) << s.sentence << "\n" << r.err;
    EXPECT_TRUE(std::filesystem::exists(dir / s.out)) << s.sentence << "\n" << r.out;
  }
  EXPECT_EQ(ffprobe(dir / "my vidéo 日本語 ñ.mp3")["streams"][0]["codec_name"], "mp3");
}

TEST(Ask, OriginalQualityIntoFlacIsALosslessTranscodeThatRuns) {
  TempDir dir;
  const std::string film = copy_as(dir, mp4_h264_aac(), "film.mp4");  // AAC audio
  const auto j = ask_json({"give me the last 5 seconds of " + film +
                           " in flac, keep original "
                           "quality"});
  EXPECT_EQ(j["copy_policy"], "auto");
  EXPECT_EQ(std::string(j["peel_command"]).find("--copy"), std::string::npos) << j["peel_command"];
  const auto r =
      peel({"ask", "--yes",
            "give me the last 5 seconds of " + film + " in flac, keep original quality"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto probe = ffprobe(dir / "film.flac");
  EXPECT_EQ(probe["streams"][0]["codec_name"], "flac");
  EXPECT_NEAR(std::stod(probe["format"]["duration"].get<std::string>()), 5.0, 0.05);
}

TEST(Ask, AContradictionWithTheFileIsRefusedAsTheRunWouldRefuseIt) {
  TempDir dir;
  const std::string film = copy_as(dir, mp4_h264_aac(), "film.mp4");
  const std::string sentence = "the last 5 seconds of " + film + " in mp3, keep original quality";
  const auto run = peel({film, "-f", "mp3", "--copy", "--json"});
  const auto asked = peel({"ask", "--yes", sentence});
  EXPECT_EQ(asked.exit_code, run.exit_code) << asked.err;
  EXPECT_NE(asked.err.find("cannot be copied into .mp3"), std::string::npos) << asked.err;
  EXPECT_NE(asked.err.find("\"keep original quality\""), std::string::npos) << asked.err;
  EXPECT_EQ(asked.out.find("peel:"), std::string::npos) << "no plan is offered\n" << asked.out;
  EXPECT_FALSE(std::filesystem::exists(dir / "film.mp3"));
  const auto j = ask_json({sentence}, run.exit_code);
  ASSERT_TRUE(j.contains("errors"));
  EXPECT_EQ(j["errors"][0]["code"], json_of(run)["errors"][0]["code"]);
  EXPECT_TRUE(j["peel_command"].is_null());
  EXPECT_NE(std::string(j["refusal"]).find("\"mp3\""), std::string::npos) << j["refusal"];
}

TEST(Ask, AnUnquotedNameWithSpacesIsAQuestionNotASecondInput) {
  TempDir dir;
  const std::string talk = copy_as(dir, mp4_h264_aac(), "talk.mp4");
  std::filesystem::create_directory(dir / "out dir");
  const auto r = peel({"ask", "--yes", "save the audio of " + talk + " as out dir/my file.mp3"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("\"out dir/my file.mp3\""), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("peel:"), std::string::npos) << r.out;
  EXPECT_EQ(dir.entries(), std::vector<std::string>({"out dir", "talk.mp4"}));
  // Quoted, it is one name, and runs.
  const std::string out = dir / "out dir/my file.mp3";
  const auto q = peel({"ask", "--yes", "save the audio of " + talk + " as \"" + out + "\""});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  EXPECT_EQ(ffprobe(out)["streams"][0]["codec_name"], "mp3");
}

TEST(Ask, ARangePastTheEndGetsTheRunsRefusalAndExitStatus) {
  const std::string in = mp4_h264_aac();  // 6 s
  const auto run = peel({in, "--from", "60", "--to", "120", "--json"});
  for (const char* s : {"from minute 1 to minute 2", "从第1分钟到第2分钟"}) {
    const auto asked = peel({"ask", "--yes", s, in});
    EXPECT_EQ(asked.exit_code, run.exit_code) << s;
    EXPECT_NE(asked.err.find("the range starts at 1:00"), std::string::npos) << asked.err;
    EXPECT_NE(asked.err.find(s), std::string::npos) << "names the words\n" << asked.err;
    EXPECT_EQ(asked.out.find("peel:"), std::string::npos) << asked.out;
    const auto j = ask_json({s, in}, run.exit_code);
    EXPECT_EQ(j["errors"][0]["code"], json_of(run)["errors"][0]["code"]) << s;
    EXPECT_EQ(j["errors"][0]["code"], 4005);
  }
}

TEST(Ask, TheExplanationComesFromThePlan) {
  TempDir dir;
  const std::string talk = copy_as(dir, mp4_h264_aac(), "talk.mp4");
  const auto t = ask_json({"audio from 0:01 to 0:03 of " + talk + ", mono, 16khz"});
  const std::string e = t["explanation"];
  EXPECT_NE(e.find("re-encode"), std::string::npos) << e;
  EXPECT_NE(e.find("channel mixing"), std::string::npos) << e;
  EXPECT_EQ(e.find("copied when nothing needs changing"), std::string::npos) << e;
  const std::string c = ask_json({"the audio of " + talk})["explanation"];
  EXPECT_NE(c.find("copied as it is into " + dir / "talk.m4a"), std::string::npos) << c;
  const std::string z = ask_json({"把" + talk + "的音频转成单声道"})["explanation"];
  EXPECT_NE(z.find("重新编码"), std::string::npos) << z;
  EXPECT_NE(z.find("改变声道数"), std::string::npos) << z;
}

TEST(Ask, WithoutATerminalAndWithoutYesItPrintsThePlanAndRunsNothing) {
  TempDir dir;
  const std::string talk = copy_as(dir, mp4_h264_aac(), "talk.mp4");
  const auto r = peel({"ask", "the first 2 seconds of " + talk + " as mp3"});  // stdin: /dev/null
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("peel:   peel " + talk + " -f mp3 --to 2"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("--yes"), std::string::npos) << r.err;
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"talk.mp4"});
}

TEST(Ask, MorePhrasingsPeopleTyped) {
  TempDir dir;
  const std::string x = copy_as(dir, mp4_h264_aac(), "x.mp4");
  const auto strip = peel({"ask", "--yes", "strip the video from " + x + " and keep the sound"});
  ASSERT_EQ(strip.exit_code, 0) << strip.err;
  EXPECT_EQ(ffprobe(dir / "x.m4a")["streams"][0]["codec_name"], "aac");

  const auto possessive =
      peel({"ask", "--yes", "save " + x + "'s audio as " + dir / "x-audio.mp3"});
  ASSERT_EQ(possessive.exit_code, 0) << possessive.err;
  EXPECT_EQ(ffprobe(dir / "x-audio.mp3")["streams"][0]["codec_name"], "mp3");

  const auto zh = peel({"ask", "--yes", "帮忙把" + x + "搞成mp3"});
  ASSERT_EQ(zh.exit_code, 0) << zh.err;
  EXPECT_EQ(ffprobe(dir / "x.mp3")["streams"][0]["codec_name"], "mp3");

  // The dry runs below would write x.m4a again: a run would refuse that, and so would they.
  std::filesystem::remove(dir / "x.m4a");
  const auto seconds = ask_json({"get seconds 1-3 as wav", x});
  EXPECT_EQ(seconds["from"], 1.0);
  EXPECT_EQ(seconds["to"], 3.0);
  EXPECT_EQ(seconds["format"], "wav");
  const auto picture = ask_json({x + " 去掉画面 只要声音"});
  EXPECT_EQ(picture["inputs"], nlohmann::json::array({x}));

  // "The last minute" of a 6 s file: all of it, and a word that it is shorter.
  const auto last = ask_json({"the last minute of " + x});
  EXPECT_TRUE(last["from"].is_null());
  EXPECT_EQ(last["peel_command"], "peel " + x);
  const std::string notes = last["notes"].dump();
  EXPECT_NE(notes.find("shorter than the last 1:00"), std::string::npos) << notes;
  EXPECT_NE(std::string(last["explanation"]).find("shorter"), std::string::npos);
}

TEST(Ask, AnotherWordOrderInChineseRunsSampleExact) {
  TempDir dir;
  const std::string in = copy_as(dir, mkv_h264_pcm16(), "in.mkv");
  const auto r = peel({"ask", "--yes", "从第1秒开始截取" + in + "的2秒音频，转成wav"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(decode_s16(dir / "in.wav").size(), 96000u * 2) << "2 s of 48 kHz stereo";
}

TEST(Ask, TheSentencesNotesAreSaidOnceForSeveralInputs) {
  const auto j = ask_json({"the first track as flac", mp4_h264_aac(), mkv_opus()});
  const std::string e = j["explanation"];
  const std::string note = j["notes"][0];
  EXPECT_EQ(e.find(note), e.rfind(note)) << e;
  EXPECT_NE(e.find(mp4_h264_aac()), std::string::npos) << e;
  EXPECT_NE(e.find(mkv_opus()), std::string::npos) << e;
}

// An output already there: the plan is refused as the run refuses it (5001), dry run or not.
TEST(Ask, AnOutputAlreadyThereIsRefusedAsTheRunRefusesIt) {
  TempDir dir;
  const std::string talk = copy_as(dir, mp4_h264_aac(), "talk.mp4");
  std::ofstream(dir / "talk.m4a") << "already here";
  const auto run = peel({talk, "--json"});
  ASSERT_EQ(json_of(run)["errors"][0]["code"], 5001);
  const auto asked = peel({"ask", "--yes", "the audio of " + talk});
  EXPECT_EQ(asked.exit_code, run.exit_code) << asked.err;
  EXPECT_NE(asked.err.find("talk.m4a"), std::string::npos) << asked.err;
  const auto j = ask_json({"the audio of " + talk}, run.exit_code);
  EXPECT_EQ(j["errors"][0]["code"], 5001);
}

}  // namespace
}  // namespace peel::test
