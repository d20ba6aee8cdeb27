// The library's JSON (peel/json.h), the request's ffmpeg command and peel arguments
// (peel/plan.h), and resolve() (peel/ask.h): what every front end shows.
#include "peel/json.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "peel/ask.h"
#include "support/engine.h"
#include "support/fixtures.h"
#include "support/support.h"

namespace peel {
namespace {

TEST(ErrorJson, CarriesTheStructuredPartsAndTheFrontEndsWording) {
  const Error e = Error(ErrorCode::kOutputExists, "talk.mp3 exists")
                      .about("output", Hint::kOverwrite)
                      .given("talk.mp3");
  const auto plain = error_json("talk.mp4", e);
  EXPECT_EQ(plain["code"], 5001);
  EXPECT_EQ(plain["name"], "output_exists");
  EXPECT_EQ(plain["message"], "talk.mp3 exists");
  EXPECT_EQ(plain["field"], "output");
  EXPECT_EQ(plain["hint"], "overwrite");
  EXPECT_EQ(plain["value"], "talk.mp3");
  EXPECT_TRUE(plain["suggestion"].is_null());
  EXPECT_TRUE(plain["other_field"].is_null());
  const auto worded = error_json("talk.mp4", e, [](const Error& x) { return x.message + "!"; });
  EXPECT_EQ(worded["message"], "talk.mp3 exists!");
  EXPECT_EQ(worded["hint"], "overwrite");
}

TEST(ErrorJson, AnErrorWithoutPartsHasNulls) {
  const auto j = error_json("", Error(ErrorCode::kInternal, "boom"));
  for (const char* k : {"field", "hint", "suggestion", "value", "other_field"}) {
    EXPECT_TRUE(j[k].is_null()) << k;
  }
}

TEST(FormatJson, SaysWhichSampleFormatsAndBitrateEachTakes) {
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& f : formats()) by_name[f.name] = to_json(f);
  EXPECT_EQ(by_name["flac"]["sample_formats"], nlohmann::json({"s16", "s24"}));
  EXPECT_EQ(by_name["wav"]["sample_formats"], nlohmann::json({"s16", "s24", "s32", "f32"}));
  EXPECT_TRUE(by_name["mka"]["sample_formats"].empty());
  EXPECT_TRUE(by_name["flac"]["bitrate"].is_null());
  EXPECT_GT(by_name["mp3"]["bitrate"].get<int>(), 0);
}

TEST(FileJson, CancelledItemsSayCancelledAndCarryTheirError) {
  FileOutcome o;
  o.input = "a.mkv";
  o.status = FileOutcome::Status::kCancelled;
  o.error = Error(ErrorCode::kCancelled, "cancelled");
  const auto j = file_json(o);
  EXPECT_EQ(j["status"], "cancelled");
  EXPECT_EQ(j["errors"][0]["code"], 6001);
}

// One builder: a readable file's command from its plan and the command from the request alone
// differ only in how the track is named (its stream, or its rank among audio tracks).
TEST(FfmpegCommand, FromTheRequestAloneIsThePlansButForTheMap) {
  Engine& engine = test::engine();
  const std::string input = test::mkv_h264_pcm16();
  auto info = probe(engine, input);
  ASSERT_TRUE(info.ok()) << info.error().message;
  std::vector<Request> requests(5);
  requests[0].format = "mp3";
  requests[0].bitrate = 96'000;
  requests[1].format = "wav";
  requests[1].sample_format = "s24";
  requests[2].format = "flac";
  requests[2].sample_format = "s24";
  requests[3].format = "opus";
  requests[3].sample_rate = 24000;
  requests[3].channels = 1;
  requests[4].format = "pcm";
  requests[4].from = 1 * kMicrosPerSecond;
  requests[4].to = 2 * kMicrosPerSecond;
  for (Request r : requests) {
    r.inputs = {input};
    r.copy_policy = CopyPolicy::kReencode;
    auto plans = plan(r, *info);
    ASSERT_TRUE(plans.ok()) << plans.error().message;
    std::string from_plan = ffmpeg_command(plans->front());
    const std::string map = "-map 0:" + std::to_string(plans->front().track.stream_index);
    ASSERT_NE(from_plan.find(map), std::string::npos) << from_plan;
    from_plan.replace(from_plan.find(map), map.size(), "-map 0:a:0");
    EXPECT_EQ(ffmpeg_command(r, input), from_plan);
  }
}

TEST(FfmpegCommand, FromTheRequestNamesTracksAndTheLastMinutes) {
  Request r;
  r.format = "mp3";
  r.track.number = 2;
  const std::string c = ffmpeg_command(r, "in.mkv", 30 * kMicrosPerSecond);
  EXPECT_NE(c.find("-sseof -30 -i in.mkv"), std::string::npos) << c;
  EXPECT_NE(c.find("-map 0:a:1"), std::string::npos) << c;
  EXPECT_NE(c.find("-c:a libmp3lame"), std::string::npos) << c;
  EXPECT_NE(c.find(" in.mp3"), std::string::npos) << c;
  r.track = {};
  r.track.lang = "jpn";
  r.format = "auto";
  const std::string copy = ffmpeg_command(r, "dir/in.mkv");
  EXPECT_NE(copy.find("-map 0:a:m:language:jpn"), std::string::npos) << copy;
  EXPECT_NE(copy.find("-c:a copy"), std::string::npos) << copy;
  EXPECT_NE(copy.find("dir/in.mka"), std::string::npos) << copy;
}

TEST(PeelArguments, SayTheRequestInFlags) {
  Request r;
  r.inputs = {"a b.mkv"};
  r.format = "mp3";
  r.bitrate = 192'000;
  r.from = 90 * kMicrosPerSecond;
  r.track.lang = "jpn";
  r.overwrite = true;
  EXPECT_EQ(shell_command(peel_arguments(r)),
            "'a b.mkv' -f mp3 --from 90 --lang jpn -b 192k -y");
}

TEST(PeelArguments, SayTheLoudnessAsAPresetOrANumber) {
  Request r;
  r.inputs = {"a.mkv"};
  r.loudness = LoudnessTarget{-16, -1};
  EXPECT_EQ(shell_command(peel_arguments(r)), "a.mkv --loudness podcast");
  r.loudness = LoudnessTarget{-18, -2};
  EXPECT_EQ(shell_command(peel_arguments(r)), "a.mkv --loudness -18 --true-peak -2");
}

// The loudness of a request body: LUFS, a preset, an object; anything else is refused, naming
// the field.
TEST(RequestJson, TakesALoudnessTarget) {
  auto number = request_from_json({{"loudness", -20}});
  ASSERT_TRUE(number.ok());
  EXPECT_EQ(number->loudness->lufs, -20);
  auto preset = request_from_json({{"loudness", "broadcast"}});
  ASSERT_TRUE(preset.ok());
  EXPECT_EQ(preset->loudness->lufs, -23);
  auto object = request_from_json({{"loudness", {{"lufs", -14}, {"true_peak", -2}}}});
  ASSERT_TRUE(object.ok());
  EXPECT_EQ(object->loudness->true_peak, -2);
  EXPECT_EQ(to_json(*object)["loudness"], (nlohmann::json{{"lufs", -14.0}, {"true_peak", -2.0}}));
  for (const nlohmann::json& bad : {nlohmann::json{{"loudness", true}},
                                    nlohmann::json{{"loudness", "loud"}},
                                    nlohmann::json{{"loudness", {{"true_peak", -1}}}}}) {
    auto refused = request_from_json(bad);
    ASSERT_FALSE(refused.ok()) << bad.dump();
    EXPECT_EQ(refused.error().code, ErrorCode::kUsage) << bad.dump();
    EXPECT_EQ(refused.error().field, "loudness") << bad.dump();
  }
}

TEST(Resolve, ProbesPlansAndMakesOneJobForAllInputs) {
  test::TempDir dir;
  std::filesystem::copy_file(test::mkv_opus(), dir / "a.mkv");
  std::filesystem::copy_file(test::mkv_opus(), dir / "b.mkv");
  const nl::Understanding u = nl::understand("extract the audio as mp3", {dir.path()});
  ASSERT_EQ(u.outcome, nl::Outcome::kPlan) << u.question;
  auto inputs = nl::expand_inputs(u);
  ASSERT_TRUE(inputs.ok()) << inputs.error().message;
  EXPECT_EQ(*inputs, (std::vector<std::string>{dir / "a.mkv", dir / "b.mkv"}));
  const nl::Resolution res = nl::resolve(test::engine(), u, *inputs);
  ASSERT_FALSE(res.refused());
  ASSERT_EQ(res.jobs.size(), 1u);
  EXPECT_EQ(res.jobs[0].request.inputs, *inputs);
  EXPECT_NE(res.jobs[0].ffmpeg_command.find(" && "), std::string::npos);
  const auto j = to_json(u, res);
  EXPECT_EQ(j["format"], "mp3");
  EXPECT_EQ(j["inputs"].size(), 2u);
  EXPECT_FALSE(j.contains("errors"));
  EXPECT_TRUE(dir.entries() == (std::vector<std::string>{"a.mkv", "b.mkv"})) << "wrote nothing";
}

TEST(Resolve, TheLastSecondsBecomeOneJobPerInputAndARefusalSaysWhichWords) {
  const nl::Understanding u = nl::understand("the last 2 seconds", {test::mp4_h264_aac()});
  const nl::Resolution res = nl::resolve(test::engine(), u, {test::mp4_h264_aac()});
  ASSERT_EQ(res.jobs.size(), 1u);
  ASSERT_TRUE(res.jobs[0].request.from.has_value());
  EXPECT_NEAR(to_seconds(*res.jobs[0].request.from), 4.0, 0.05);

  const nl::Understanding late = nl::understand("from 10:00 to 11:00", {test::mp4_h264_aac()});
  const nl::Resolution refused = nl::resolve(test::engine(), late, {test::mp4_h264_aac()});
  ASSERT_TRUE(refused.refused());
  EXPECT_TRUE(refused.jobs.empty());
  EXPECT_EQ(refused.resolved[0].refused->code, ErrorCode::kBadRange);
  EXPECT_FALSE(refused.resolved[0].refusal.empty());
  const auto j = to_json(late, refused);
  EXPECT_EQ(j["errors"][0]["code"], 4005);
  EXPECT_TRUE(j["peel_command"].is_null());
  EXPECT_TRUE(j.contains("refusal"));
}

TEST(Resolve, AFileStillToComeIsPlannedFromTheSentence) {
  const nl::Understanding u = nl::understand("as wav", {"/nonexistent/later.mkv"});
  const nl::Resolution res = nl::resolve(test::engine(), u, {"/nonexistent/later.mkv"});
  ASSERT_TRUE(res.unreadable());
  ASSERT_EQ(res.jobs.size(), 1u);
  EXPECT_NE(res.jobs[0].ffmpeg_command.find("/nonexistent/later.wav"), std::string::npos)
      << res.jobs[0].ffmpeg_command;
}

}  // namespace
}  // namespace peel
