// The segment joiner table on plans made by plan(): which transcodes can run in segments,
// with which joiner, and the grid and margins each codec's joins need.
#include "engine/segment_joiner.h"

#include <gtest/gtest.h>

#include <string>

#include "peel/plan.h"

namespace peel::engine {
namespace {

// The transcode plan() makes of a 48 kHz stereo `source` track into `format`.
OutputPlan transcode(const std::string& source, const std::string& format) {
  AudioTrack t;
  t.number = 1;
  t.codec = source;
  t.sample_rate = 48000;
  t.channels = 2;
  t.channel_layout = "stereo";
  t.duration = 600 * kMicrosPerSecond;
  MediaInfo info;
  info.path = "/videos/talk.mp4";
  info.duration = t.duration;
  info.audio = {t};
  Request r;
  r.inputs = {info.path};
  r.format = format;
  r.copy_policy = CopyPolicy::kReencode;
  auto p = plan(r, info);
  EXPECT_TRUE(p.ok()) << source << " -> " << format << ": " << p.error().message;
  return p.ok() ? p->front() : OutputPlan{};
}

TEST(SegmentJoiner, LossyOutputsRunInSegmentsFromAnySource) {
  for (const std::string format : {"mp3", "m4a", "aac", "opus", "ogg"}) {
    for (const std::string source : {"aac", "mp3", "pcm_s16le"}) {
      const OutputPlan p = transcode(source, format);
      EXPECT_NE(segment_joiner_for(p), nullptr) << source << " -> " << format;
    }
  }
}

TEST(SegmentJoiner, LosslessOutputsRunInSegmentsOnlyFromSourcesThatDecodeIndependently) {
  for (const std::string format : {"wav", "pcm", "flac", "mka"}) {
    for (const std::string source : {"pcm_s16le", "pcm_s24le", "flac", "alac"}) {
      const OutputPlan p = transcode(source, format);
      const SegmentJoiner* j = segment_joiner_for(p);
      ASSERT_NE(j, nullptr) << source << " -> " << format;
      EXPECT_TRUE(j->lossless()) << source << " -> " << format;
    }
    for (const std::string source : {"aac", "mp3", "opus", "vorbis"}) {
      EXPECT_EQ(segment_joiner_for(transcode(source, format)), nullptr)
          << source << " -> " << format;
    }
  }
}

TEST(SegmentJoiner, CodecsWithoutAJoinRunSerially) {
  EXPECT_EQ(segment_joiner_for(AV_CODEC_ID_AC3), nullptr);
  EXPECT_EQ(segment_joiner_for(AV_CODEC_ID_EAC3), nullptr);
  EXPECT_EQ(segment_joiner_for(AV_CODEC_ID_NONE), nullptr);
}

TEST(SegmentJoiner, Mp3CutsOnThePaddingPatternAt44100AndJoinsNearTheCut) {
  const SegmentJoiner* mp3 = segment_joiner_for(AV_CODEC_ID_MP3);
  ASSERT_NE(mp3, nullptr);
  EXPECT_EQ(mp3->grid(1152, 44100), 49 * 1152);
  EXPECT_EQ(mp3->grid(576, 22050), 49 * 576);
  EXPECT_EQ(mp3->grid(1152, 48000), 1152);
  const JoinMargins m = mp3->margins(1152);
  EXPECT_EQ(m.overlap, 16 * 1152);
  EXPECT_GT(m.before, m.overlap);  // room for the reservoir bytes before the window
  EXPECT_GT(m.after, m.overlap);
  EXPECT_TRUE(mp3->fixed_frames());
  EXPECT_EQ(mp3->redos(), 0);
}

TEST(SegmentJoiner, VorbisCutsOnTheLongBlockGridAndMayEncodeASegmentAgain) {
  const SegmentJoiner* vorbis = segment_joiner_for(AV_CODEC_ID_VORBIS);
  ASSERT_NE(vorbis, nullptr);
  EXPECT_EQ(vorbis->grid(4096, 48000), 4096);
  EXPECT_EQ(vorbis->grid(64, 48000), 1024);
  const JoinMargins m = vorbis->margins(64);
  EXPECT_GT(m.overlap, 0);
  EXPECT_GE(m.before, m.overlap);
  EXPECT_FALSE(vorbis->fixed_frames());
  EXPECT_GT(vorbis->redos(), 0);
}

TEST(SegmentJoiner, OnlyFlacRewritesTheWholeStream) {
  for (const AVCodecID codec : {AV_CODEC_ID_MP3, AV_CODEC_ID_AAC, AV_CODEC_ID_OPUS,
                                AV_CODEC_ID_VORBIS, AV_CODEC_ID_PCM_S16LE, AV_CODEC_ID_FLAC}) {
    const SegmentJoiner* j = segment_joiner_for(codec);
    ASSERT_NE(j, nullptr) << avcodec_get_name(codec);
    auto stream = j->stream_join();
    ASSERT_TRUE(stream.ok());
    EXPECT_EQ(*stream != nullptr, codec == AV_CODEC_ID_FLAC) << avcodec_get_name(codec);
  }
}

TEST(SegmentJoiner, PlainPacketsMeetAtTheCut) {
  const SegmentJoiner* aac = segment_joiner_for(AV_CODEC_ID_AAC);
  ASSERT_NE(aac, nullptr);
  EXPECT_EQ(aac->margins(1024).overlap, 0);
  const std::vector<CodedPacket> a = {{0, 1024, {1}}, {1024, 1024, {2}}, {2048, 1024, {3}}};
  const std::vector<CodedPacket> b = {{1024, 1024, {4}}, {2048, 1024, {5}}, {3072, 1024, {6}}};
  std::vector<CodedPacket> out;
  auto j = aac->join(a, b, 2048, 2048, 2048, {}, out);
  ASSERT_TRUE(j.has_value());
  EXPECT_TRUE(j->joined);
  ASSERT_EQ(out.size(), 4U);
  EXPECT_EQ(out[0].data[0], 1);
  EXPECT_EQ(out[1].data[0], 2);
  EXPECT_EQ(out[2].data[0], 5);
  EXPECT_EQ(out[3].data[0], 6);
}

}  // namespace
}  // namespace peel::engine
