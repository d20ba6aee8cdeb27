// plan() is pure: decisions from a hand-made MediaInfo, no files involved.
#include "peel/plan.h"

#include <gtest/gtest.h>

namespace peel {
namespace {

AudioTrack track(int number, const std::string& codec, int rate = 48000, int channels = 2) {
  AudioTrack t;
  t.number = number;
  t.stream_index = number;
  t.codec = codec;
  t.sample_rate = rate;
  t.channels = channels;
  t.channel_layout = channels == 2 ? "stereo" : "";
  t.duration = 60 * kMicrosPerSecond;
  return t;
}

MediaInfo file(std::vector<AudioTrack> audio) {
  MediaInfo m;
  m.path = "/videos/talk.mp4";
  m.duration = 60 * kMicrosPerSecond;
  m.audio = std::move(audio);
  return m;
}

Request request() {
  Request r;
  r.inputs = {"/videos/talk.mp4"};
  return r;
}

TEST(Plan, AutoCopiesIntoTheNaturalContainer) {
  for (const auto& [codec, ext] :
       std::vector<std::pair<std::string, std::string>>{{"aac", "m4a"},
                                                        {"mp3", "mp3"},
                                                        {"opus", "opus"},
                                                        {"vorbis", "ogg"},
                                                        {"flac", "flac"},
                                                        {"pcm_s16le", "wav"},
                                                        {"ac3", "ac3"},
                                                        {"eac3", "eac3"},
                                                        {"alac", "m4a"},
                                                        {"dts", "mka"},
                                                        {"pcm_s24le", "wav"}}) {
    auto p = plan(request(), file({track(1, codec)}));
    ASSERT_TRUE(p.ok()) << codec << ": " << p.error().message;
    EXPECT_EQ((*p)[0].mode, Mode::kCopy) << codec;
    EXPECT_EQ((*p)[0].output, "/videos/talk." + ext) << codec;
  }
}

TEST(Plan, ProcessingOrACutMeansTranscode) {
  Request r = request();
  r.from = 10 * kMicrosPerSecond;
  auto p = plan(r, file({track(1, "aac")}));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)[0].mode, Mode::kTranscode);
  EXPECT_NE((*p)[0].reason.find("a copy would"), std::string::npos) << "says how to avoid it";
  r.copy_policy = CopyPolicy::kCopy;
  p = plan(r, file({track(1, "aac")}));
  EXPECT_EQ((*p)[0].mode, Mode::kCopy);

  Request b = request();
  b.bitrate = 128000;
  EXPECT_EQ((*plan(b, file({track(1, "aac")})))[0].mode, Mode::kTranscode);
  b.copy_policy = CopyPolicy::kCopy;
  EXPECT_EQ(plan(b, file({track(1, "aac")})).error().code, ErrorCode::kCannotCopy);
}

TEST(Plan, CopyIntoAContainerThatCannotCarryTheCodecListsThoseThatCan) {
  Request r = request();
  r.output = "/out/x.m4a";
  r.copy_policy = CopyPolicy::kCopy;
  auto p = plan(r, file({track(1, "opus")}));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, ErrorCode::kCannotCopy);
  for (const char* f : {"opus", "ogg", "mka"}) {
    EXPECT_NE(p.error().message.find(f), std::string::npos) << p.error().message;
  }
  r.copy_policy = CopyPolicy::kAuto;
  EXPECT_EQ((*plan(r, file({track(1, "opus")})))[0].mode, Mode::kTranscode);
}

TEST(Plan, LosslessOutputsKeepTheSourceDepth) {
  Request r = request();
  r.format = "wav";
  auto t = track(1, "flac");
  t.bits_per_sample = 24;
  EXPECT_EQ((*plan(r, file({t})))[0].codec, "pcm_s24le");
  EXPECT_EQ((*plan(r, file({track(1, "aac")})))[0].codec, "pcm_s16le");
  r.sample_format = "f32";
  EXPECT_EQ((*plan(r, file({t})))[0].codec, "pcm_f32le");
  r.format = "mp3";
  EXPECT_EQ(plan(r, file({t})).error().code, ErrorCode::kBadOutputOption);
}

TEST(Plan, FlacRefusesToDropBits) {
  Request r = request();
  r.format = "flac";
  auto deep = track(1, "pcm_s32le");
  deep.bits_per_sample = 32;
  auto p = plan(r, file({deep}));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, ErrorCode::kBadOutputOption);
  EXPECT_NE(p.error().message.find("wav"), std::string::npos) << p.error().message;
  EXPECT_EQ(plan(r, file({track(1, "pcm_f32le")})).error().code, ErrorCode::kBadOutputOption);
  r.sample_format = "s24";
  EXPECT_EQ((*plan(r, file({deep})))[0].sample_format, "s24");
}

TEST(Plan, RangesAreChecked) {
  Request r = request();
  r.from = 70 * kMicrosPerSecond;
  EXPECT_EQ(plan(r, file({track(1, "aac")})).error().code, ErrorCode::kBadRange);
  r.from = 20 * kMicrosPerSecond;
  r.to = 10 * kMicrosPerSecond;
  auto p = plan(r, file({track(1, "aac")}));
  EXPECT_EQ(p.error().code, ErrorCode::kBadRange);
  EXPECT_NE(p.error().message.find("0:10"), std::string::npos) << p.error().message;
  r.to.reset();
  r.duration = 5 * kMicrosPerSecond;
  EXPECT_EQ(*(*plan(r, file({track(1, "aac")})))[0].to, 25 * kMicrosPerSecond);
}

TEST(Plan, TracksThatDoNotExistAreListed) {
  auto a = track(1, "aac");
  a.lang = "eng";
  auto b = track(2, "ac3", 48000, 6);
  b.lang = "jpn";
  b.title = "Commentary";
  Request r = request();
  r.track.number = 3;
  auto p = plan(r, file({a, b}));
  ASSERT_EQ(p.error().code, ErrorCode::kTrackNotFound);
  EXPECT_NE(p.error().message.find("track 2: ac3"), std::string::npos) << p.error().message;
  r.track.number.reset();
  r.track.lang = "ja";
  EXPECT_EQ((*plan(r, file({a, b})))[0].track.number, 2);
  r.track.lang = "fre";
  EXPECT_EQ(plan(r, file({a, b})).error().code, ErrorCode::kTrackNotFound);
  EXPECT_EQ(plan(request(), file({})).error().code, ErrorCode::kNoAudio);
}

TEST(Plan, EncodersGetRatesAndChannelsTheyCanTake) {
  Request r = request();
  r.format = "opus";
  EXPECT_EQ((*plan(r, file({track(1, "aac", 44100)})))[0].sample_rate, 48000);
  r.format = "mp3";
  auto p = plan(r, file({track(1, "aac", 48000, 6)}));
  EXPECT_EQ((*p)[0].channels, 2);
  // No mp3 at 96 kHz: the highest rate it has; 40 kHz: the nearest above.
  EXPECT_EQ((*plan(r, file({track(1, "pcm_s24le", 96000)})))[0].sample_rate, 48000);
  EXPECT_EQ((*plan(r, file({track(1, "pcm_s16le", 40000)})))[0].sample_rate, 44100);
  r.sample_rate = 12345;
  EXPECT_EQ(plan(r, file({track(1, "aac")})).error().code, ErrorCode::kBadOutputOption);
}

// Issue 9.7: a negative start is a bad range (4005), said with the time.
TEST(Plan, ANegativeStartIsABadRange) {
  Request r = request();
  r.from = -1 * kMicrosPerSecond;
  auto p = plan(r, file({track(1, "aac")}));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, ErrorCode::kBadRange);
  EXPECT_NE(p.error().message.find("-0:01"), std::string::npos) << p.error().message;
}

// Issue 9.10: what the encoder would quietly change is refused (4009) naming what it takes;
// a default it cannot take is moved to the nearest one it can.
TEST(Plan, BitratesAreThoseTheEncoderHonours) {
  auto bitrate = [](const std::string& format, int64_t bits, int rate = 48000, int ch = 2) {
    Request r = request();
    r.format = format;
    r.bitrate = bits;
    return plan(r, file({track(1, "pcm_s16le", rate, ch)}));
  };
  auto p = bitrate("mp3", 1'500'000, 44100);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, ErrorCode::kBadOutputOption);
  EXPECT_NE(p.error().message.find("320 kbit/s"), std::string::npos) << p.error().message;
  EXPECT_EQ(*(*bitrate("mp3", 320'000))[0].bitrate, 320'000);
  EXPECT_EQ(bitrate("mp3", 200'000).error().code, ErrorCode::kBadOutputOption);  // 192 or 224
  EXPECT_EQ(bitrate("mp3", 8'000, 22050).ok(), true);  // MPEG-2 frames go down to 8
  EXPECT_EQ(bitrate("mp3", 8'000, 48000).error().code, ErrorCode::kBadOutputOption);
  EXPECT_EQ(bitrate("mp3", 8'000, 8000).ok(), true);  // MPEG-2.5: 8 to 64
  EXPECT_EQ(bitrate("mp3", 80'000, 8000).error().code, ErrorCode::kBadOutputOption);

  // AAC and Opus: per channel.
  EXPECT_TRUE(bitrate("m4a", 384'000).ok());
  EXPECT_FALSE(bitrate("m4a", 385'000).ok());
  EXPECT_TRUE(bitrate("m4a", 1'152'000, 48000, 6).ok());
  EXPECT_FALSE(bitrate("aac", 193'000, 48000, 1).ok());
  EXPECT_TRUE(bitrate("opus", 256'000, 48000, 1).ok());
  EXPECT_FALSE(bitrate("opus", 257'000, 48000, 1).ok());
  EXPECT_TRUE(bitrate("opus", 1'536'000, 48000, 6).ok());
  EXPECT_FALSE(bitrate("opus", 11'000).ok());

  // Vorbis: libvorbis's own ranges, which differ by rate and channels.
  EXPECT_TRUE(bitrate("ogg", 500'000).ok());
  EXPECT_FALSE(bitrate("ogg", 501'000).ok());
  EXPECT_TRUE(bitrate("ogg", 240'000, 48000, 1).ok());
  p = bitrate("ogg", 250'000, 48000, 1);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("32 to 240 kbit/s"), std::string::npos) << p.error().message;

  // Lossless mka (FLAC) has no bitrate; both -b and --quality cannot be honoured at once.
  EXPECT_EQ(bitrate("mka", 128'000).error().code, ErrorCode::kBadOutputOption);
  Request both = request();
  both.format = "mp3";
  both.bitrate = 128'000;
  both.quality = 2;
  EXPECT_EQ(plan(both, file({track(1, "aac")})).error().code, ErrorCode::kUsage);
}

TEST(Plan, DefaultBitratesMoveIntoTheEncodersRange) {
  Request r = request();
  r.format = "mp3";
  EXPECT_EQ(*(*plan(r, file({track(1, "aac", 48000)})))[0].bitrate, 192'000);
  EXPECT_EQ(*(*plan(r, file({track(1, "aac", 22050)})))[0].bitrate, 160'000);
  EXPECT_EQ(*(*plan(r, file({track(1, "aac", 8000)})))[0].bitrate, 64'000);
  r.format = "ogg";  // 160 kbit/s is more than libvorbis takes for 8 kHz stereo
  const int64_t ogg = *(*plan(r, file({track(1, "aac", 8000)})))[0].bitrate;
  EXPECT_LT(ogg, 160'000);
  EXPECT_GT(ogg, 16'000);
}

TEST(Plan, QualitiesAreThoseTheEncoderTakes) {
  Request r = request();
  r.format = "mp3";
  for (double q : {0.0, 9.999}) {
    r.quality = q;
    EXPECT_EQ(*(*plan(r, file({track(1, "aac")})))[0].quality, q);
  }
  for (double q : {-0.5, 10.0}) {
    r.quality = q;
    EXPECT_EQ(plan(r, file({track(1, "aac")})).error().code, ErrorCode::kBadOutputOption) << q;
  }
  r.format = "ogg";
  for (double q : {-1.0, 10.0}) {
    r.quality = q;
    EXPECT_TRUE(plan(r, file({track(1, "aac")})).ok()) << q;
  }
  r.quality = 10.5;
  EXPECT_EQ(plan(r, file({track(1, "aac")})).error().code, ErrorCode::kBadOutputOption);
}

TEST(Plan, OneOutputNameForManyOutputsIsRefused) {
  Request r = request();
  r.output = "x.mp3";
  r.track.all = true;
  EXPECT_EQ(plan(r, file({track(1, "aac"), track(2, "aac")})).error().code, ErrorCode::kUsage);
}

TEST(Explain, SaysModeTrackRangeAndGivesAnFfmpegCommand) {
  Request r = request();
  r.from = 90 * kMicrosPerSecond;
  r.to = 95'500'000;
  r.format = "mp3";
  auto info = file({track(1, "aac")});
  info.duration = 600 * kMicrosPerSecond;
  const auto p = (*plan(r, info))[0];
  const std::string text = explain(p);
  EXPECT_NE(text.find("1:30 to 1:35.5"), std::string::npos) << text;
  EXPECT_NE(text.find("re-encode"), std::string::npos) << text;
  EXPECT_EQ(ffmpeg_command(p),
            "ffmpeg -hide_banner -n -i /videos/talk.mp4 -ss 90 -to 95.5 -map 0:1 -vn -sn -dn "
            "-c:a libmp3lame -b:a 192k -f mp3 /videos/talk.mp3");
}

}  // namespace
}  // namespace peel
