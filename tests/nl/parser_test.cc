// understand(): every phrasing below must give exactly its Request; questions, contradictions
// and unsupported asks must say so instead of guessing.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "peel/nl.h"

namespace peel::nl {
namespace {

// The whole Request a sentence must give; what a case does not set must stay unset.
struct Want {
  std::string format = "auto";
  CopyPolicy copy = CopyPolicy::kAuto;
  std::optional<double> from{}, to{}, duration{}, from_end{};  // seconds
  std::optional<int> track{};
  std::optional<std::string> lang{}, title{};
  bool all = false;
  std::optional<int64_t> bitrate{};
  std::optional<double> quality{};
  std::optional<int> rate{}, channels{};
  std::optional<std::string> sample_format{};
  std::string output{}, out_dir{};
  std::vector<std::string> args = {"in.mkv"};  // given after the sentence
  std::vector<std::string> inputs = {"in.mkv"};
};

struct Case {
  const char* sentence;
  Want want;
};

std::optional<Micros> micros(std::optional<double> s) {
  if (!s) return std::nullopt;
  return static_cast<Micros>(*s * 1e6 + 0.5);
}

const Case kEnglish[] = {
    // The examples, then the same with messy typing.
    {"Extract the audio from this mp4 file and save it as an mp3", {.format = "mp3"}},
    {"extract the audio from this mp4 file and save it as an mp3", {.format = "mp3"}},
    {"extract audio from mp4 file save as mp3", {.format = "mp3"}},
    {"EXTRACT THE AUDIO FROM THIS MP4 FILE AND SAVE IT AS AN MP3", {.format = "mp3"}},
    {"extract the audio from this mp4 file and save it as an mp 3", {.format = "mp3"}},
    {"Pull just the audio track from my mkv video between the 2-minute and 5-minute mark",
     {.from = 120, .to = 300}},
    {"pull audio from mkv between 2 minute and 5 minute mark", {.from = 120, .to = 300}},
    {"pull just the audio track from my mkv video between the 2 minute and the 5 minute mark.",
     {.from = 120, .to = 300}},
    {"Convert the audio from this mov file to a high-quality WAV file",
     {.format = "wav", .sample_format = "s24"}},
    {"convert audio from mov to high quality wav", {.format = "wav", .sample_format = "s24"}},
    {"convert the audio from this mov file to a high quality wave file",
     {.format = "wav", .sample_format = "s24"}},
    // Formats and loose names.
    {"to mp3", {.format = "mp3"}},
    {"save it as MP3", {.format = "mp3"}},
    {"as mp-3", {.format = "mp3"}},
    {"as aac", {.format = "aac"}},
    {"as m4a", {.format = "m4a"}},
    {"make it a flac", {.format = "flac"}},
    {"wav please", {.format = "wav"}},
    {"opus", {.format = "opus"}},
    {"ogg vorbis", {.format = "ogg"}},
    {"as ogg", {.format = "ogg"}},
    {"ogg opus", {.format = "opus"}},
    {"save as falc", {.format = "flac"}},
    {"wva file", {.format = "wav"}},
    {"lossless", {.format = "flac"}},
    {"lossless wav", {.format = "wav"}},
    {"uncompressed", {.format = "wav"}},
    {"raw PCM", {.format = "pcm"}},
    {"matroska audio", {.format = "mka"}},
    {"keep the original quality", {.copy = CopyPolicy::kCopy}},
    {"in original quality", {.copy = CopyPolicy::kCopy}},
    {"without re-encoding", {.copy = CopyPolicy::kCopy}},
    {"no re-encoding, as mp3", {.format = "mp3", .copy = CopyPolicy::kCopy}},
    {"don't re-encode", {.copy = CopyPolicy::kCopy}},
    {"no transcoding", {.copy = CopyPolicy::kCopy}},
    {"just copy it as-is", {.copy = CopyPolicy::kCopy}},
    {"same format as the source", {}},
    {"same as source", {}},
    {"re-encode to aac", {.format = "aac", .copy = CopyPolicy::kReencode}},
    {"transcode to opus", {.format = "opus", .copy = CopyPolicy::kReencode}},
    // Quality words, per format.
    {"high quality mp3", {.format = "mp3", .bitrate = 320000}},
    {"HIGH QUALITY MP3 PLEASE", {.format = "mp3", .bitrate = 320000}},
    {"high quality aac", {.format = "aac", .bitrate = 256000}},
    {"best quality m4a", {.format = "m4a", .bitrate = 256000}},
    {"high quality opus", {.format = "opus", .bitrate = 160000}},
    {"high quality", {}},
    {"best quality flac", {.format = "flac"}},
    {"Get me the audio from this video as mp3 in high quality",
     {.format = "mp3", .bitrate = 320000}},
    {"small file", {.format = "opus", .bitrate = 64000}},
    {"small mp3", {.format = "mp3", .bitrate = 96000}},
    {"smallest possible file as aac", {.format = "aac", .bitrate = 96000}},
    {"for transcription", {.format = "wav", .rate = 16000, .channels = 1}},
    {"for speech-to-text", {.format = "wav", .rate = 16000, .channels = 1}},
    {"for whisper", {.format = "wav", .rate = 16000, .channels = 1}},
    {"16khz mono wav for whisper", {.format = "wav", .rate = 16000, .channels = 1}},
    {"for a podcast", {.format = "mp3", .bitrate = 128000}},
    {"for a podcast in mono", {.format = "mp3", .bitrate = 128000, .channels = 1}},
    {"podcast mp3 at 96k", {.format = "mp3", .bitrate = 96000}},
    // Bitrates and VBR.
    {"mp3 at 320kbps", {.format = "mp3", .bitrate = 320000}},
    {"mp3 192 k", {.format = "mp3", .bitrate = 192000}},
    {"aac bitrate 256", {.format = "aac", .bitrate = 256000}},
    {"320 kbit/s mp3", {.format = "mp3", .bitrate = 320000}},
    {"mp3, bit rate of 160 kbps", {.format = "mp3", .bitrate = 160000}},
    {"high quality mp3 at 192k", {.format = "mp3", .bitrate = 192000}},
    {"mp3 v0", {.format = "mp3", .quality = 0}},
    {"mp3 V2", {.format = "mp3", .quality = 2}},
    // Time ranges.
    {"from 1:30 to 2:45", {.from = 90, .to = 165}},
    {"1:30-2:45", {.from = 90, .to = 165}},
    {"the first 30 seconds", {.to = 30}},
    {"first 30 secs", {.to = 30}},
    {"the first two minutes", {.to = 120}},
    {"the first minute", {.to = 60}},
    {"the first half a minute", {.to = 30}},
    {"the first 1.5 minutes", {.to = 90}},
    {"the last 2 minutes", {.from_end = 120}},
    {"last fifteen seconds", {.from_end = 15}},
    {"the final 5 seconds", {.from_end = 5}},
    {"the last minute", {.from_end = 60}},
    {"the last 30 seconds as wav", {.format = "wav", .from_end = 30}},
    {"starting at 00:10:05", {.from = 605}},
    {"starting from 1h", {.from = 3600}},
    {"from 5 minutes onwards", {.from = 300}},
    {"for 90 seconds from 3:00", {.from = 180, .duration = 90}},
    {"from 0:30 for 10 seconds", {.from = 30, .duration = 10}},
    {"10 seconds starting at 1:00", {.from = 60, .duration = 10}},
    {"between 2 and 5 minutes", {.from = 120, .to = 300}},
    {"from 1 minute 30 seconds to 2 minutes", {.from = 90, .to = 120}},
    {"from 90 seconds to 2 minutes", {.from = 90, .to = 120}},
    {"between 00:01:00 and 00:02:00", {.from = 60, .to = 120}},
    {"from 2m to 3m30s", {.from = 120, .to = 210}},
    {"from twenty seconds to one minute", {.from = 20, .to = 60}},
    {"until 1:00", {.to = 60}},
    {"up to 45 seconds", {.to = 45}},
    {"trim to the first 45 seconds", {.to = 45}},
    {"an hour and a half in, for a minute", {.from = 5400, .duration = 60}},
    // Tracks.
    {"the second audio track", {.track = 2}},
    {"track 2", {.track = 2}},
    {"audio track #3", {.track = 3}},
    {"the 2nd track", {.track = 2}},
    {"track two", {.track = 2}},
    {"Give me track 3 as wav", {.format = "wav", .track = 3}},
    {"the third track in german", {.track = 3, .lang = "deu"}},
    {"the Japanese track", {.lang = "jpn"}},
    {"the english audio", {.lang = "eng"}},
    {"in french", {.lang = "fra"}},
    {"the japanese dub, first 10 seconds", {.to = 10, .lang = "jpn"}},
    {"the commentary", {.title = "commentary"}},
    {"the director's commentary track", {.title = "commentary"}},
    {"the track called \"Director Cut\"", {.title = "Director Cut"}},
    {"all tracks", {.all = true}},
    {"every audio track as flac", {.format = "flac", .all = true}},
    {"all the audio tracks", {.all = true}},
    // Sample rate, channels, sample format.
    {"at 48 kHz", {.rate = 48000}},
    {"sample rate 44100", {.rate = 44100}},
    {"44.1khz stereo", {.rate = 44100, .channels = 2}},
    {"at 44.1k", {.rate = 44100}},
    {"mono", {.channels = 1}},
    {"stereo wav", {.format = "wav", .channels = 2}},
    {"downmix to stereo", {.channels = 2}},
    {"5.1 channels", {.channels = 6}},
    {"24-bit wav", {.format = "wav", .sample_format = "s24"}},
    {"16 bit flac", {.format = "flac", .sample_format = "s16"}},
    {"32-bit float wav", {.format = "wav", .sample_format = "f32"}},
    {"convert to mp3 at 128kbps, mono, 44.1 kHz",
     {.format = "mp3", .bitrate = 128000, .rate = 44100, .channels = 1}},
    {"aac at 160k, stereo, 48khz",
     {.format = "aac", .bitrate = 160000, .rate = 48000, .channels = 2}},
    {"keep it stereo in opus at 128 kbps", {.format = "opus", .bitrate = 128000, .channels = 2}},
    {"track two, 96k opus", {.format = "opus", .track = 2, .bitrate = 96000}},
    // Files named in the sentence.
    {"from interview.mkv", {.args = {}, .inputs = {"interview.mkv"}}},
    {"extract the audio from \"my holiday video.mkv\" as mp3",
     {.format = "mp3", .args = {}, .inputs = {"my holiday video.mkv"}}},
    {"convert ./clips/A.mov to b.mp3",
     {.format = "mp3", .output = "b.mp3", .args = {}, .inputs = {"./clips/A.mov"}}},
    {"rip audio from movie.mp4 to flac", {.format = "flac", .args = {}, .inputs = {"movie.mp4"}}},
    {"Extract audio from lecture.MKV between 10:00 and 12:30",
     {.from = 600, .to = 750, .args = {}, .inputs = {"lecture.MKV"}}},
    {"save as out.wav", {.format = "wav", .output = "out.wav"}},
    {"save the audio as 'my song.mp3'", {.format = "mp3", .output = "my song.mp3"}},
    {"the second track in mp3, 320k, starting 1 minute in",
     {.format = "mp3", .from = 60, .track = 2, .bitrate = 320000}},
    {"put it into ./out/", {.out_dir = "./out/"}},
    {"this file and b.mp4 as mp3", {.format = "mp3", .inputs = {"in.mkv", "b.mp4"}}},
    // Typos in the words around the settings.
    {"extrct the audoi as flac", {.format = "flac"}},
    {"pleese extract the vidoe's audio as mp3", {.format = "mp3"}},
};

const Case kChinese[] = {
    // The examples, then the same with messy typing.
    {"从我的mkv视频中提取2分钟到5分钟之间的音轨", {.from = 120, .to = 300}},
    {"从我的mkv视频中提取２分钟到５分钟之间的音轨", {.from = 120, .to = 300}},
    {"从我的MKV视频中提取2分钟到5分钟之间的音轨。", {.from = 120, .to = 300}},
    {"从mkv视频提取2分钟到5分钟的音轨", {.from = 120, .to = 300}},
    {"从我的mkv视频中提取两分钟到五分钟之间的音轨", {.from = 120, .to = 300}},
    {"把这个mp4文件的音频提取出来，保存为mp3", {.format = "mp3"}},
    {"把这个mp4文件的音频提取出来，保存为ｍｐ３", {.format = "mp3"}},
    {"把这个mp4文件的音频提取出来,保存为mp 3", {.format = "mp3"}},
    {"提取mp4文件的音频并保存为mp3", {.format = "mp3"}},
    {"把这个mov文件的音频转换成高质量的WAV文件", {.format = "wav", .sample_format = "s24"}},
    {"把mov的音频转成高质量wav", {.format = "wav", .sample_format = "s24"}},
    {"把这个mov文件的音频转换成高质量的wav文件。", {.format = "wav", .sample_format = "s24"}},
    // Formats.
    {"转成mp3", {.format = "mp3"}},
    {"保存为aac", {.format = "aac"}},
    {"转换为m4a格式", {.format = "m4a"}},
    {"导出flac", {.format = "flac"}},
    {"输出opus", {.format = "opus"}},
    {"转成ogg", {.format = "ogg"}},
    {"mp3格式", {.format = "mp3"}},
    {"无损", {.format = "flac"}},
    {"无损wav", {.format = "wav"}},
    {"原始pcm", {.format = "pcm"}},
    {"保持原始音质", {.copy = CopyPolicy::kCopy}},
    {"不要重新编码", {.copy = CopyPolicy::kCopy}},
    {"不转码", {.copy = CopyPolicy::kCopy}},
    {"无需重新编码", {.copy = CopyPolicy::kCopy}},
    {"原样提取", {.copy = CopyPolicy::kCopy}},
    {"不要转码，直接复制音轨", {.copy = CopyPolicy::kCopy}},
    {"原格式", {}},
    {"和原来一样的格式", {}},
    {"重新编码成aac", {.format = "aac", .copy = CopyPolicy::kReencode}},
    {"重新编码为opus", {.format = "opus", .copy = CopyPolicy::kReencode}},
    // Quality words.
    {"高质量mp3", {.format = "mp3", .bitrate = 320000}},
    {"高音质aac", {.format = "aac", .bitrate = 256000}},
    {"高质量的opus", {.format = "opus", .bitrate = 160000}},
    {"高品质", {}},
    {"小文件", {.format = "opus", .bitrate = 64000}},
    {"mp3，文件小一点", {.format = "mp3", .bitrate = 96000}},
    {"小一点的aac", {.format = "aac", .bitrate = 96000}},
    {"用于转录", {.format = "wav", .rate = 16000, .channels = 1}},
    {"语音识别用", {.format = "wav", .rate = 16000, .channels = 1}},
    {"为语音转文字准备音频", {.format = "wav", .rate = 16000, .channels = 1}},
    {"做播客", {.format = "mp3", .bitrate = 128000}},
    {"播客用的mp3，单声道", {.format = "mp3", .bitrate = 128000, .channels = 1}},
    // Bitrates.
    {"比特率320k", {.bitrate = 320000}},
    {"比特率３２０ｋ", {.bitrate = 320000}},
    {"码率192k的mp3", {.format = "mp3", .bitrate = 192000}},
    {"320kbps的mp3", {.format = "mp3", .bitrate = 320000}},
    {"mp3格式，192k", {.format = "mp3", .bitrate = 192000}},
    {"转成mp3，比特率320k，立体声", {.format = "mp3", .bitrate = 320000, .channels = 2}},
    {"opus，64k，单声道", {.format = "opus", .bitrate = 64000, .channels = 1}},
    // Time ranges.
    {"前30秒", {.to = 30}},
    {"前３０秒", {.to = 30}},
    {"前十五秒", {.to = 15}},
    {"前两分半", {.to = 150}},
    {"开头10秒", {.to = 10}},
    {"最后两分钟", {.from_end = 120}},
    {"最后二十秒", {.from_end = 20}},
    {"最后的30秒", {.from_end = 30}},
    {"最后2分钟，高质量mp3", {.format = "mp3", .from_end = 120, .bitrate = 320000}},
    {"从1分30秒开始", {.from = 90}},
    {"从00:10:05开始", {.from = 605}},
    {"一个半小时之后", {.from = 5400}},
    {"从1:30到2:45", {.from = 90, .to = 165}},
    {"从１：３０到２：４５", {.from = 90, .to = 165}},
    {"从3:00开始截取90秒", {.from = 180, .duration = 90}},
    {"从第10秒开始取20秒", {.from = 10, .duration = 20}},
    {"2到5分钟", {.from = 120, .to = 300}},
    {"第2分钟到第5分钟", {.from = 120, .to = 300}},
    {"1分30秒到2分45秒", {.from = 90, .to = 165}},
    {"三十秒到一分钟之间", {.from = 30, .to = 60}},
    {"在1:00和2:00之间", {.from = 60, .to = 120}},
    {"1:00-2:00之间", {.from = 60, .to = 120}},
    {"从1分30秒开始，到3分钟为止", {.from = 90, .to = 180}},
    {"从头开始到30秒", {.to = 30}},
    {"前30秒，转成wav", {.format = "wav", .to = 30}},
    // Tracks.
    {"第二条音轨", {.track = 2}},
    {"第2条音轨", {.track = 2}},
    {"第２条音轨", {.track = 2}},
    {"音轨2", {.track = 2}},
    {"第三个音轨", {.track = 3}},
    {"提取第二条音轨的前一分钟", {.to = 60, .track = 2}},
    {"第2条音轨，从30秒开始", {.from = 30, .track = 2}},
    {"日语音轨", {.lang = "jpn"}},
    {"英语配音", {.lang = "eng"}},
    {"中文音轨", {.lang = "zho"}},
    {"法语", {.lang = "fra"}},
    {"把mkv里的日语音轨提取成flac", {.format = "flac", .lang = "jpn"}},
    {"日文配音，前五分钟", {.to = 300, .lang = "jpn"}},
    {"解说音轨", {.title = "commentary"}},
    {"所有音轨", {.all = true}},
    {"全部音轨转成flac", {.format = "flac", .all = true}},
    {"提取所有的音轨", {.all = true}},
    // Sample rate, channels, sample format.
    {"44.1kHz采样率", {.rate = 44100}},
    {"采样率48000", {.rate = 48000}},
    {"采样率16k", {.rate = 16000}},
    {"采样率44.1k，双声道", {.rate = 44100, .channels = 2}},
    {"单声道", {.channels = 1}},
    {"立体声", {.channels = 2}},
    {"双声道mp3", {.format = "mp3", .channels = 2}},
    {"单声道，16k采样率，wav", {.format = "wav", .rate = 16000, .channels = 1}},
    {"24位wav", {.format = "wav", .sample_format = "s24"}},
    {"16位flac", {.format = "flac", .sample_format = "s16"}},
    {"wav，24位，48千赫", {.format = "wav", .rate = 48000, .sample_format = "s24"}},
    // Files named in the sentence.
    {"从“采访 1.mkv”中提取音频", {.args = {}, .inputs = {"采访 1.mkv"}}},
    {"从interview.mkv中提取音频，保存为mp3",
     {.format = "mp3", .args = {}, .inputs = {"interview.mkv"}}},
    {"提取音频，保存为 out.mp3", {.format = "mp3", .output = "out.mp3"}},
    {"请帮我把视频里的音频提取出来", {}},
    // Traditional characters.
    {"幫我把這個視頻的音頻轉換成mp3", {.format = "mp3"}},
    {"從2分鐘到5分鐘", {.from = 120, .to = 300}},
    {"日語音軌", {.lang = "jpn"}},
    {"第二條音軌", {.track = 2}},
    {"單聲道", {.channels = 1}},
};

void expect_request(const Case& c) {
  SCOPED_TRACE(c.sentence);
  const Understanding u = understand(c.sentence, c.want.args);
  ASSERT_EQ(u.outcome, Outcome::kPlan) << u.question;
  const Request& r = u.request;
  const Want& w = c.want;
  EXPECT_EQ(r.inputs, w.inputs);
  EXPECT_EQ(r.format, w.format);
  EXPECT_EQ(r.copy_policy, w.copy);
  EXPECT_EQ(r.from, micros(w.from));
  EXPECT_EQ(r.to, micros(w.to));
  EXPECT_EQ(r.duration, micros(w.duration));
  EXPECT_EQ(u.from_end, micros(w.from_end));
  EXPECT_EQ(r.track.number, w.track);
  EXPECT_EQ(r.track.lang, w.lang);
  EXPECT_EQ(r.track.title, w.title);
  EXPECT_EQ(r.track.all, w.all);
  EXPECT_EQ(r.bitrate, w.bitrate);
  EXPECT_EQ(r.quality, w.quality);
  EXPECT_EQ(r.sample_rate, w.rate);
  EXPECT_EQ(r.channels, w.channels);
  EXPECT_EQ(r.sample_format, w.sample_format);
  EXPECT_EQ(r.output, w.output);
  EXPECT_EQ(r.out_dir, w.out_dir);
  EXPECT_TRUE(u.folders.empty());
  EXPECT_TRUE(u.question.empty()) << u.question;
  EXPECT_FALSE(u.explanation.empty());
}

TEST(Understand, EnglishPhrasings) {
  for (const auto& c : kEnglish) {
    expect_request(c);
    EXPECT_EQ(understand(c.sentence, c.want.args).language, Language::kEnglish) << c.sentence;
  }
}

TEST(Understand, ChinesePhrasings) {
  for (const auto& c : kChinese) {
    expect_request(c);
    EXPECT_EQ(understand(c.sentence, c.want.args).language, Language::kChinese) << c.sentence;
  }
}

TEST(Understand, TableHoldsTwoHundredPhrasingsInBothLanguages) {
  EXPECT_GE(std::size(kEnglish) + std::size(kChinese), 200u);
  EXPECT_GE(std::size(kEnglish), 90u);
  EXPECT_GE(std::size(kChinese), 90u);
}

TEST(Understand, SameSourceFormatIsStatedButFormatAutoIsNot) {
  EXPECT_TRUE(understand("same as source", {"a.mkv"}).format_stated);
  EXPECT_TRUE(understand("原格式", {"a.mkv"}).format_stated);
  EXPECT_FALSE(understand("the first 30 seconds", {"a.mkv"}).format_stated);
}

TEST(Understand, FoldersWithAnExtension) {
  auto u = understand("all the mkv files in ./videos as mp3", {});
  ASSERT_EQ(u.outcome, Outcome::kPlan) << u.question;
  ASSERT_EQ(u.folders.size(), 1u);
  EXPECT_EQ(u.folders[0].folder, "./videos");
  EXPECT_EQ(u.folders[0].extension, "mkv");
  EXPECT_EQ(u.request.format, "mp3");
  EXPECT_TRUE(u.request.inputs.empty());

  u = understand("./videos里所有的mkv文件转成mp3", {});
  ASSERT_EQ(u.outcome, Outcome::kPlan) << u.question;
  ASSERT_EQ(u.folders.size(), 1u);
  EXPECT_EQ(u.folders[0].folder, "./videos");
  EXPECT_EQ(u.folders[0].extension, "mkv");

  u = understand("every video in \"My Videos\" as flac", {});
  ASSERT_EQ(u.outcome, Outcome::kPlan) << u.question;
  ASSERT_EQ(u.folders.size(), 1u);
  EXPECT_EQ(u.folders[0].folder, "My Videos");
  EXPECT_EQ(u.folders[0].extension, "");

  u = understand("all the mov files", {});
  ASSERT_EQ(u.outcome, Outcome::kPlan) << u.question;
  ASSERT_EQ(u.folders.size(), 1u);
  EXPECT_EQ(u.folders[0].folder, ".");
  EXPECT_EQ(u.notes.size(), 1u) << "says that it took the current folder";
}

TEST(Understand, AsksForTheFileWhenNoneIsGiven) {
  for (const char* s : {"extract the audio as mp3", "提取音频"}) {
    const auto u = understand(s, {});
    EXPECT_EQ(u.outcome, Outcome::kQuestion) << s;
    EXPECT_NE(u.question.find(".mkv"), std::string::npos) << u.question;
  }
}

TEST(Understand, NamesWhatItDidNotUnderstand) {
  auto u = understand("convert to mp3 with reverb", {"a.mkv"});
  EXPECT_EQ(u.outcome, Outcome::kQuestion);
  EXPECT_NE(u.question.find("\"reverb\""), std::string::npos) << u.question;
  EXPECT_EQ(u.request.format, "mp3") << "what it did understand is kept";

  u = understand("转成mp3并加混响", {"a.mkv"});
  EXPECT_EQ(u.outcome, Outcome::kQuestion);
  EXPECT_NE(u.question.find("混响"), std::string::npos) << u.question;

  u = understand("extract 30", {"a.mkv"});
  EXPECT_EQ(u.outcome, Outcome::kQuestion);
  EXPECT_NE(u.question.find("\"30\""), std::string::npos) << u.question;
}

TEST(Understand, AsksForTheUnitOfBareNumbers) {
  for (const char* s : {"from 2 to 5", "between 2 and 5", "2到5"}) {
    const auto u = understand(s, {"a.mkv"});
    EXPECT_EQ(u.outcome, Outcome::kQuestion) << s;
    EXPECT_FALSE(u.request.from.has_value()) << s;
    EXPECT_TRUE(u.question.find("minutes") != std::string::npos ||
                u.question.find("分钟") != std::string::npos)
        << u.question;
  }
}

TEST(Understand, AsksWhenAVideoContainerIsTheTarget) {
  const auto u = understand("convert it to mp4", {"a.mkv"});
  EXPECT_EQ(u.outcome, Outcome::kQuestion);
  EXPECT_NE(u.question.find("m4a"), std::string::npos) << u.question;
}

TEST(Understand, ContradictionsAreNamed) {
  struct Contradiction {
    const char* sentence;
    const char* mentions;
  };
  for (const auto& c : std::initializer_list<Contradiction>{
           {"mp3 lossless", "lossless"},
           {"lossless mp3", "mp3"},
           {"无损mp3", "无损"},
           {"as mp3 and as flac", "flac"},
           {"wav at 320k", "320k"},
           {"small wav", "wav"},
           {"keep the original quality at 128k", "128k"},
           {"the first 30 seconds and the last 2 minutes", "last 2 minutes"},
           {"from 3:00 to 1:00", "1:00"},
           {"all tracks, track 2", "track 2"},
           {"mono and stereo", "stereo"},
           {"high quality small file", "small"},
           {"don't re-encode, transcode it", "transcode"},
           {"24-bit mp3", "24-bit"},
           {"32-bit float flac", "flac"},
       }) {
    const auto u = understand(c.sentence, {"a.mkv"});
    EXPECT_EQ(u.outcome, Outcome::kContradiction) << c.sentence << ": " << u.question;
    EXPECT_NE(u.question.find(c.mentions), std::string::npos) << c.sentence << ": " << u.question;
  }
}

TEST(Understand, LoudnessIsReportedAsNotSupportedYet) {
  for (const char* s : {"normalize the audio", "make it louder", "mp3, loudness normalized",
                        "响度标准化", "把音量调大", "归一化后转成mp3"}) {
    const auto u = understand(s, {"a.mkv"});
    EXPECT_EQ(u.outcome, Outcome::kUnsupported) << s;
    EXPECT_TRUE(u.question.find("not supported yet") != std::string::npos ||
                u.question.find("还不支持") != std::string::npos)
        << u.question;
  }
}

TEST(Understand, OtherUnsupportedAsksAreNamedToo) {
  for (const char* s : {"remove the noise", "add a fade", "merge them into one", "降噪"}) {
    EXPECT_EQ(understand(s, {"a.mkv"}).outcome, Outcome::kUnsupported) << s;
  }
}

TEST(Understand, SaysWhichReadingItTook) {
  auto u = understand("the first track", {"a.mkv"});
  ASSERT_EQ(u.outcome, Outcome::kPlan);
  EXPECT_EQ(u.request.track.number, 1);
  ASSERT_EQ(u.notes.size(), 1u);
  EXPECT_NE(u.notes[0].find("default"), std::string::npos) << u.notes[0];
  EXPECT_NE(u.explanation.find(u.notes[0]), std::string::npos);

  u = understand("save as falc", {"a.mkv"});
  ASSERT_EQ(u.notes.size(), 1u);
  EXPECT_NE(u.notes[0].find("flac"), std::string::npos);

  u = understand("lossless", {"a.mkv"});
  ASSERT_EQ(u.notes.size(), 1u);
  EXPECT_NE(u.notes[0].find("flac"), std::string::npos);
}

TEST(Understand, ExplainsInTheSentencesLanguage) {
  const auto en = understand("the second track from 1:30 to 2:45 as mp3 at 192k", {"a.mkv"});
  EXPECT_EQ(en.explanation,
            "Extract audio track 2 from a.mkv, from 1:30 to 2:45, saved as mp3 (192 kbit/s).");
  const auto zh = understand("第二条音轨，1:30到2:45，转成192k的mp3", {"a.mkv"});
  EXPECT_EQ(zh.explanation, "从 a.mkv 提取第 2 条音轨，1:30 到 2:45，保存为 mp3（192 kbit/s）。");
  const auto last = understand("the last 2 minutes", {"a.mkv"});
  EXPECT_NE(last.explanation.find("the last 2:00"), std::string::npos) << last.explanation;
}

TEST(Understand, IsDeterministicAndTakesAnyBytes) {
  const std::string s = "from 1:30 to 2:45 as mp3";
  const auto a = understand(s, {"x.mkv"});
  const auto b = understand(s, {"x.mkv"});
  EXPECT_EQ(a.explanation, b.explanation);
  EXPECT_EQ(a.request.from, b.request.from);
  for (const std::string& bytes :
       {std::string("\xff\xfe mp3"), std::string("\xe4\xb8"), std::string("mp3 \xed\xa0\x80"),
        std::string(1, '\0'), std::string("\"unclosed"), std::string("'"), std::string(3000, '9'),
        std::string("1:99:99"), std::string("99999999999999999999 seconds")}) {
    const auto u = understand(bytes, {"x.mkv"});
    EXPECT_FALSE(u.explanation.empty());
  }
}

}  // namespace
}  // namespace peel::nl
