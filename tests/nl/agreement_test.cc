// The parser and plan() read the same format table: what the parser accepts, plan() plans, and
// what it refuses as a contradiction, plan() would refuse too. Checked over every selectable
// format, for each sample depth, a bitrate and "lossless".
#include <gtest/gtest.h>

#include <string>

#include "peel/formats.h"
#include "peel/nl.h"
#include "peel/plan.h"

namespace peel::nl {
namespace {

MediaInfo pcm24_file() {
  AudioTrack t;
  t.number = 1;
  t.stream_index = 1;
  t.codec = "pcm_s24le";
  t.bits_per_sample = 24;
  t.sample_rate = 48000;
  t.channels = 2;
  t.channel_layout = "stereo";
  t.duration = 60 * kMicrosPerSecond;
  MediaInfo m;
  m.path = "/videos/talk.mkv";
  m.duration = t.duration;
  m.audio = {t};
  return m;
}

// What plan() says of `u`'s request on a 24-bit PCM track: true when it plans.
bool plans(const Understanding& u) {
  Request r = u.request;
  r.inputs = {pcm24_file().path};
  return plan(r, pcm24_file()).ok();
}

std::vector<std::string> selectable() {
  std::vector<std::string> names;
  for (const auto& f : formats()) {
    if (f.selectable) names.push_back(f.name);
  }
  return names;
}

TEST(ParserAndPlan, AgreeOnTheSampleFormatsOfEveryFormat) {
  for (const auto& f : selectable()) {
    for (const std::string depth : {"16-bit", "24-bit", "32-bit", "32-bit float"}) {
      const std::string sentence = "extract it as " + depth + " " + f;
      SCOPED_TRACE(sentence);
      const Understanding u = understand(sentence, {"/videos/talk.mkv"});
      ASSERT_NE(u.outcome, Outcome::kQuestion) << u.question;
      if (u.outcome == Outcome::kPlan) {
        EXPECT_EQ(u.request.format, f);
        EXPECT_TRUE(plans(u)) << "the parser accepted what plan() refuses";
      } else {
        EXPECT_EQ(u.outcome, Outcome::kContradiction) << u.question;
        Understanding asked = u;  // what the words asked, as a flag would ask it
        asked.request.format = f;
        asked.request.sample_format = depth == "32-bit float" ? "f32" : "s" + depth.substr(0, 2);
        EXPECT_FALSE(plans(asked)) << "the parser refused what plan() plans: " << u.question;
      }
    }
  }
}

TEST(ParserAndPlan, NoMkaDepthNorThirtyTwoBitFlac) {
  // The two the parser once offered and plan() then refused (exit 2).
  for (const char* s :
       {"extract as 24-bit mka", "extract as 32-bit flac", "把音频转成32位的flac"}) {
    const Understanding u = understand(s, {"/videos/talk.mkv"});
    EXPECT_EQ(u.outcome, Outcome::kContradiction) << s;
    EXPECT_FALSE(u.question.empty()) << s;
  }
  const Understanding ok = understand("extract as 24-bit flac", {"/videos/talk.mkv"});
  ASSERT_EQ(ok.outcome, Outcome::kPlan) << ok.question;
  EXPECT_TRUE(plans(ok));
}

TEST(ParserAndPlan, AgreeOnBitratesAndLosslessOfEveryFormat) {
  for (const auto& f : selectable()) {
    SCOPED_TRACE(f);
    const Understanding rate = understand("extract it as " + f + " at 128k", {"/videos/talk.mkv"});
    if (rate.outcome == Outcome::kPlan) {
      EXPECT_TRUE(plans(rate)) << "accepted a bitrate plan() refuses";
    } else {
      EXPECT_EQ(rate.outcome, Outcome::kContradiction) << rate.question;
      Understanding asked = rate;
      asked.request.format = f;
      asked.request.bitrate = 128'000;
      EXPECT_FALSE(plans(asked)) << "refused a bitrate plan() takes: " << rate.question;
    }
    // "Lossless" into a format: accepted exactly where nothing is lost on the way in.
    const Understanding lossless =
        understand("extract it losslessly as " + f, {"/videos/talk.mkv"});
    if (lossless.outcome == Outcome::kPlan) {
      EXPECT_TRUE(plans(lossless));
      Request r = lossless.request;
      r.inputs = {pcm24_file().path};
      auto p = plan(r, pcm24_file());
      ASSERT_TRUE(p.ok());
      const bool kept = p->front().mode == Mode::kCopy || p->front().codec == "flac" ||
                        p->front().codec.starts_with("pcm_");
      EXPECT_TRUE(kept) << "lossless into " << f << " encodes " << p->front().codec;
    } else {
      EXPECT_EQ(lossless.outcome, Outcome::kContradiction) << lossless.question;
    }
  }
}

}  // namespace
}  // namespace peel::nl
