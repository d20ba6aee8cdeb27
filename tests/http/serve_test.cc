// `peel serve`, black-box: the real server on a loopback port, driven with curl as a chat
// assistant drives it, results checked with ffprobe/ffmpeg.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "http/http_support.h"
#include "support/fixtures.h"
#include "support/oracles.h"

namespace peel::test {
namespace {

using nlohmann::json;

int code_of(const HttpReply& r) { return r.json().value("code", -1); }


// The whole flow as an assistant runs it: token, session, upload, a message over SSE, state,
// an export polled to completion, download; the audio checked against ffmpeg's decode.
TEST(Serve, WholeFlowAsAnAssistantRunsIt) {
  Server server;
  Client client(server);
  ASSERT_FALSE(client.token.empty());
  ASSERT_FALSE(client.session.empty());

  auto up = client.upload(mp4_h264_aac());
  ASSERT_EQ(up.status, 200) << up.body;
  json file = up.json()["data"]["files"][0];
  const std::string name = std::filesystem::path(mp4_h264_aac()).filename();
  EXPECT_EQ(file["name"], name);
  EXPECT_EQ(file["info"]["audio"].size(), 1u);
  EXPECT_EQ(file["info"]["path"], name);  // never the server's own path
  EXPECT_EQ(file["info"]["audio"][0]["codec"], "aac");

  auto state = client.get("/api/state/peel/me/" + client.session + "/latest");
  ASSERT_EQ(state.status, 200) << state.body;
  json draft = state.json()["data"]["state"]["draft"];
  ASSERT_EQ(draft["t"].size(), 2u);  // the video and the audio track
  EXPECT_EQ(draft["t"][0]["tt"], 0);
  EXPECT_EQ(draft["t"][1]["tt"], 1);
  EXPECT_NEAR(draft["d"].get<double>(), 6000, 100);

  // A message: understood, queued, extracted, with the download link in the result.
  TempDir tmp;
  std::ofstream(tmp / "msg.json")
      << json{{"app_name", "peel"},
              {"user_id", "me"},
              {"session_id", client.session},
              {"new_message", {{"parts", json::array({{{"text", "extract the audio as mp3"}}})}}}}
             .dump();
  auto sse =
      server.curl({"-N", "-H", client.auth(), "-H", "Accept: text/event-stream", "-H",
                   "Content-Type: application/json", "--data-binary", "@" + tmp / "msg.json"},
                  "/run_sse");
  ASSERT_EQ(sse.status, 200) << sse.body;
  EXPECT_EQ(sse.headers["x-accel-buffering"], "no");
  EXPECT_TRUE(sse.headers["content-type"].starts_with("text/event-stream"));
  auto events = parse_sse(sse.body);
  std::vector<std::string> types;
  for (const auto& e : events) {
    if (e.type != "progress") types.push_back(e.type);
  }
  ASSERT_EQ(types, (std::vector<std::string>{"understood", "job", "result", "done"})) << sse.body;
  for (size_t i = 1; i < events.size(); ++i) EXPECT_GT(events[i].id, events[i - 1].id);
  json understood = events[0].data["data"];
  EXPECT_NE(understood["peel_command"].get<std::string>().find(name),
            std::string::npos);
  EXPECT_EQ(understood["peel_command"].get<std::string>().find(server.data()), std::string::npos);
  json result;
  for (const auto& e : events) {
    if (e.type == "result") result = e.data["data"];
  }
  std::string url = result["output"]["url"];
  ASSERT_EQ(download(url, tmp / "a.mp3"), 200);
  json probe = ffprobe(tmp / "a.mp3");
  EXPECT_EQ(probe["streams"][0]["codec_name"], "mp3");
  EXPECT_NEAR(std::stod(probe["format"]["duration"].get<std::string>()), 6.0, 0.1);

  // An export to WAV: the serial decode, sample for sample what ffmpeg decodes.
  json body = {{"id", "render_1"},
               {"sessionId", client.session},
               {"draft", draft},
               {"output", {{"format", "wav"}, {"quality", "high"}}}};
  auto created = client.post_export(body);
  ASSERT_EQ(created.status, 202) << created.body;
  EXPECT_EQ(created.json()["data"]["status"], "queued");
  json done = client.wait_export("render_1");
  ASSERT_EQ(done["data"]["status"], "completed") << done.dump();
  EXPECT_EQ(done["data"]["progress"], 100.0);
  std::string wav_url = done["data"]["output"]["url"];
  EXPECT_EQ(done["data"]["output"]["name"], "step.wav");
  ASSERT_EQ(download(wav_url, tmp / "a.wav"), 200);
  EXPECT_TRUE(decode_s16(tmp / "a.wav") == decode_s16_track(mp4_h264_aac())) << "not ffmpeg's decode";

  // A fresh signed URL on each poll; Range and HEAD on the download.
  json again = client.get("/api/render/proxy/lambda/render_1").json();
  auto head = server.request("HEAD", wav_url);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers["content-type"], "audio/wav");
  EXPECT_EQ(head.headers["accept-ranges"], "bytes");
  EXPECT_NE(head.headers["content-disposition"].find("step.wav"), std::string::npos);
  int64_t size = std::filesystem::file_size(tmp / "a.wav");
  EXPECT_EQ(head.headers["content-length"], std::to_string(size));
  auto part = server.request("GET", wav_url, {"Range: bytes=10-109"});
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.body.size(), 100u);
  EXPECT_EQ(part.headers["content-range"], "bytes 10-109/" + std::to_string(size));
  std::ifstream whole(tmp / "a.wav", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(whole)), {});
  EXPECT_EQ(part.body, bytes.substr(10, 100));
  auto tail = server.request("GET", wav_url, {"Range: bytes=-10"});
  EXPECT_EQ(tail.status, 206);
  EXPECT_EQ(tail.body, bytes.substr(bytes.size() - 10));
  auto beyond = server.request("GET", wav_url, {"Range: bytes=" + std::to_string(size) + "-"});
  EXPECT_EQ(beyond.status, 416);
  EXPECT_EQ(code_of(beyond), 416);
  EXPECT_EQ(beyond.headers["content-range"], "bytes */" + std::to_string(size));

  // The same id and body: the same job; the same id with another body: refused.
  auto repeat = client.post_export(body);
  EXPECT_EQ(repeat.status, 200);
  EXPECT_EQ(repeat.json()["data"]["status"], "completed");
  body["output"]["format"] = "flac";
  auto conflict = client.post_export(body);
  EXPECT_EQ(conflict.status, 409);
  EXPECT_EQ(code_of(conflict), 409);

  // Two exports of a 6 s file, a minute each; the state lists both outputs.
  auto balance = client.get("/api/credits/balance/simple").json()["data"];
  EXPECT_EQ(balance["available"], 98);
  EXPECT_EQ(balance["frozen"], 0);
  EXPECT_EQ(balance["total"], 98);
  auto after = client.get("/api/state/peel/me/" + client.session + "/latest").json()["data"];
  EXPECT_EQ(after["generated_media"].size(), 2u);

  auto metrics = server.request("GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find(
                "peel_http_requests_total{code=\"200\",route=\"/api/render/proxy/lambda/{id}\"}"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("peel_jobs_ended_total{state=\"completed\"} 2"), std::string::npos);
  auto health = server.request("GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.json()["data"]["status"], "ok");
}

// Every error code of the envelope, provoked.
// An export normalized to a loudness target (the Request's `loudness`, as a preset): measured
// again by the ffmpeg CLI, the download is at the target and under the ceiling, and the result
// says what was measured and done.
TEST(Serve, AnExportNormalizesItsLoudness) {
  Server server;
  Client client(server);
  ASSERT_EQ(client.upload(mp4_h264_aac()).status, 200);
  auto created = client.post_export({{"id", "render_loud"},
                                     {"sessionId", client.session},
                                     {"output", {{"format", "wav"}}},
                                     {"loudness", "podcast"}});
  ASSERT_EQ(created.status, 202) << created.body;
  json done = client.wait_export("render_loud");
  ASSERT_EQ(done["data"]["status"], "completed") << done.dump();
  EXPECT_EQ(done["data"]["request"]["loudness"], (json{{"lufs", -16.0}, {"true_peak", -1.0}}));
  const json n = done["data"]["output"]["result"]["normalization"];
  EXPECT_EQ(n["target_lufs"], -16.0);
  EXPECT_NEAR(n["measured_lufs"].get<double>(), ffmpeg_r128(mp4_h264_aac()).integrated, 0.1);
  TempDir tmp;
  ASSERT_EQ(download(done["data"]["output"]["url"], tmp / "loud.wav"), 200);
  const R128 m = ffmpeg_r128(tmp / "loud.wav");
  EXPECT_NEAR(m.integrated, -16, 0.5);
  EXPECT_LE(m.true_peak, -1 + 0.05);
  // A target out of range is the engine's own refusal, before anything is queued.
  auto refused = client.post_export({{"id", "render_loud2"},
                                     {"sessionId", client.session},
                                     {"output", {{"format", "wav"}}},
                                     {"loudness", -90}});
  EXPECT_EQ(refused.status / 100, 4) << refused.body;
}

TEST(Serve, EveryErrorCodeIsProvoked) {
  Server server({"--upload-limit", "300K"});
  auto no_id = server.request("POST", "/api/auth/anonymous-token");
  EXPECT_EQ(no_id.status, 400);
  EXPECT_EQ(code_of(no_id), 400);
  EXPECT_NE(no_id.json().value("message", "").find("X-Client-Id"), std::string::npos);

  auto bad_token =
      server.request("GET", "/api/credits/balance/simple", {"Authorization: Bearer not-a-token"});
  EXPECT_EQ(bad_token.status, 401);
  EXPECT_EQ(code_of(bad_token), 1001);
  auto no_token = server.request("GET", "/api/credits/balance/simple");
  EXPECT_EQ(code_of(no_token), 1001);

  Client client(server);
  auto no_session = client.get("/api/state/peel/me/sess_00000000000000000000000000000000/latest");
  EXPECT_EQ(no_session.status, 404);
  EXPECT_EQ(code_of(no_session), 1002);

  // Not media → 4001, with the formats the server takes.
  auto text =
      client.upload(text_fixture("notes.mp4", "these are not the frames you are looking for\n"));
  EXPECT_EQ(text.status, 415) << text.body;
  EXPECT_EQ(code_of(text), 4001);
  EXPECT_FALSE(text.json()["data"]["supported_formats"].empty());
  auto silent = client.upload(mp4_video_only());
  EXPECT_EQ(code_of(silent), 4001) << silent.body;
  EXPECT_NE(silent.json().value("message", "").find("no audio"), std::string::npos);

  // Too large → 4002, from Content-Length before a byte is stored, with the limit.
  auto big = client.upload(mkv_five_minutes());
  EXPECT_EQ(big.status, 413) << big.body;
  EXPECT_EQ(code_of(big), 4002);
  EXPECT_EQ(big.json()["data"]["limit"], 300 * 1024);
  // ...and while streaming, when the length is not announced (chunked).
  auto chunked = server.curl({"-H", client.auth(), "-H", "Transfer-Encoding: chunked", "-F",
                              "files=@" + mkv_five_minutes()},
                             "/api/upload-video/peel/me/" + client.session);
  EXPECT_EQ(code_of(chunked), 4002) << chunked.body;
  auto files = std::filesystem::recursive_directory_iterator(server.data() + "/files");
  for (const auto& entry : files) {
    EXPECT_FALSE(entry.is_regular_file() &&
                 entry.path().string().find("uploads") != std::string::npos)
        << "a refused upload was kept: " << entry.path();
  }

  ASSERT_EQ(client.upload(mkv_two_tracks()).status, 200);
  json body = {{"id", "render_a"}, {"sessionId", client.session}, {"output", {{"format", "mp3"}}}};
  // No attribution headers → 402.
  auto unattributed = client.post("/api/render/proxy/lambda", body);
  EXPECT_EQ(unattributed.status, 402);
  EXPECT_EQ(code_of(unattributed), 402);
  // The engine's own codes: a track that is not there (4004), a range outside the file (4005).
  body["track"] = 7;
  auto no_track = client.post_export(body);
  EXPECT_EQ(code_of(no_track), 4004) << no_track.body;
  EXPECT_EQ(no_track.body.find(server.data()), std::string::npos)
      << "an answer names the server's disk: " << no_track.body;
  EXPECT_NE(no_track.body.find("two-tracks.mkv"), std::string::npos) << no_track.body;
  body.erase("track");
  body["id"] = "render_b";
  body["from"] = 3600;
  auto bad_range = client.post_export(body);
  EXPECT_EQ(code_of(bad_range), 4005) << bad_range.body;
  EXPECT_EQ(bad_range.body.find(server.data()), std::string::npos) << bad_range.body;
  // Malformed requests → 400 with the field.
  body["from"] = "soon";
  auto bad_time = client.post_export(body);
  EXPECT_EQ(bad_time.status, 400);
  EXPECT_EQ(bad_time.json()["data"]["field"], "from");
  auto not_json = server.request(
      "POST", "/api/render/proxy/lambda",
      {client.auth(), "X-Skill-Source: t", "X-Skill-Version: 1", "X-Skill-Platform: linux"},
      "{\"id\": ");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_EQ(code_of(not_json), 400);
  auto deep = server.request("POST", "/api/tasks/me/with-session/peel", {client.auth()},
                             std::string(10000, '[') + std::string(10000, ']'));
  EXPECT_EQ(deep.status, 400);
  auto unknown = server.request("GET", "/api/nothing/here");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(code_of(unknown), 404);
  auto method = server.request("PUT", "/api/credits/balance/simple");
  EXPECT_EQ(method.status, 405);
  EXPECT_EQ(code_of(method), 405);
  EXPECT_EQ(method.headers["allow"], "GET, HEAD");
  auto app = client.post("/api/tasks/me/with-session/other_app", json::object());
  EXPECT_EQ(app.status, 404);
  auto alias = client.post("/api/tasks/me/with-session/nemo_agent", json::object());
  EXPECT_EQ(alias.status, 200);
  auto huge = server.request("POST", "/api/tasks/me/with-session/peel", {client.auth()},
                             std::string(2 * 1024 * 1024, ' '));
  EXPECT_EQ(huge.status, 413);
}

// Not enough credits → 2001 with needed and available; the operator grants more.
TEST(Serve, CreditsRunOutAndTheOperatorGrantsMore) {
  TempDir data;
  {
    Server server({"--initial-credits", "4"}, data.path());
    Client client(server, "client-of-five-minutes");
    ASSERT_EQ(client.upload(mkv_five_minutes()).status, 200);
    json body = {
        {"id", "render_long"}, {"sessionId", client.session}, {"output", {{"format", "mp3"}}}};
    auto refused = client.post_export(body);
    EXPECT_EQ(refused.status, 402);
    EXPECT_EQ(code_of(refused), 2001) << refused.body;
    EXPECT_EQ(refused.json()["data"]["needed"], 5);
    EXPECT_EQ(refused.json()["data"]["available"], 4);
    // A new token for the same client id sees the same balance.
    Client again(server, "client-of-five-minutes");
    EXPECT_EQ(again.get("/api/credits/balance/simple").json()["data"]["available"], 4);
  }
  auto granted = peel({"serve", "admin", "--data", data.path(), "credits", "--client",
                       "client-of-five-minutes", "--add", "10"});
  EXPECT_EQ(granted.exit_code, 0) << granted.err;
  EXPECT_NE(granted.out.find("14 credits available"), std::string::npos) << granted.out;
  Server server({"--initial-credits", "4"}, data.path());
  Client client(server, "client-of-five-minutes");
  EXPECT_EQ(client.get("/api/credits/balance/simple").json()["data"]["available"], 14);
}

// A session, file, job or download of one client is not found for another.
TEST(Serve, ClientsAreIsolated) {
  Server server;
  Client alice(server);
  Client bob(server);
  ASSERT_EQ(alice.upload(mp4_h264_aac()).status, 200);
  auto created = alice.post_export(
      {{"id", "render_x"}, {"sessionId", alice.session}, {"output", {{"format", "mp3"}}}});
  ASSERT_EQ(created.status, 202) << created.body;
  json done = alice.wait_export("render_x");
  ASSERT_EQ(done["data"]["status"], "completed");

  EXPECT_EQ(code_of(bob.get("/api/state/peel/me/" + alice.session + "/latest")), 1002);
  EXPECT_EQ(bob.get("/api/render/proxy/lambda/render_x").status, 404);
  EXPECT_EQ(bob.del("/api/render/proxy/lambda/render_x").status, 404);
  auto into = server.curl({"-H", bob.auth(), "-F", "files=@" + mp4_h264_aac()},
                          "/api/upload-video/peel/me/" + alice.session);
  EXPECT_EQ(code_of(into), 1002);
  // Bob's export naming Alice's session or file.
  auto steal = bob.post_export({{"id", "render_x"}, {"sessionId", alice.session}});
  EXPECT_EQ(code_of(steal), 1002);
  // The download link is signed: another key or a changed signature is refused.
  std::string url = done["data"]["output"]["url"];
  EXPECT_EQ(server.request("GET", url).status, 200);
  std::string forged = url.substr(0, url.size() - 1) + (url.back() == '0' ? "1" : "0");
  EXPECT_EQ(server.request("GET", forged).status, 403);
  std::string other = url;
  other.replace(other.find("/outputs/") + 9, 4, "0000");
  EXPECT_EQ(server.request("GET", other).status, 403);
  // Ids are random, not sequential.
  EXPECT_NE(alice.session, bob.session);
  EXPECT_GE(alice.session.size(), 32u);
}

// kill -9 while an export runs, then a restart on the same data: it runs again from the
// start, completes once, and is charged once.
TEST(Serve, AnExportSurvivesKillNine) {
  TempDir data;
  std::string session;
  std::string token;
  {
    Server server({"--jobs", "1"}, data.path());
    Client client(server, "survivor");
    ASSERT_EQ(client.upload(mkv_five_minutes()).status, 200);
    auto created = client.post_export(
        {{"id", "render_long"}, {"sessionId", client.session}, {"output", {{"format", "mp3"}}}});
    ASSERT_EQ(created.status, 202) << created.body;
    ASSERT_TRUE(eventually([&] {
      return client.get("/api/render/proxy/lambda/render_long").json()["data"]["status"] ==
             "running";
    }));
    server.kill9();
    session = client.session;
    token = client.token;
  }
  Server server({"--jobs", "1"}, data.path());
  Client client(server, "survivor");
  json done = client.wait_export("render_long", 240);
  ASSERT_EQ(done["data"]["status"], "completed") << done.dump();
  EXPECT_EQ(done["data"]["attempt"], 2);
  TempDir tmp;
  ASSERT_EQ(download(done["data"]["output"]["url"], tmp / "long.mp3"), 200);
  EXPECT_NEAR(std::stod(ffprobe(tmp / "long.mp3")["format"]["duration"].get<std::string>()), 300,
              0.2);
  auto balance = client.get("/api/credits/balance/simple").json()["data"];
  EXPECT_EQ(balance["available"], 95);  // five started minutes, once
  EXPECT_EQ(balance["frozen"], 0);
}

// DELETE stops a running export within a second or two and releases its credits.
TEST(Serve, CancelStopsARunningExport) {
  Server server({"--jobs", "1"});
  Client client(server);
  ASSERT_EQ(client.upload(mkv_five_minutes()).status, 200);
  auto created = client.post_export(
      {{"id", "render_c"}, {"sessionId", client.session}, {"output", {{"format", "mp3"}}}});
  ASSERT_EQ(created.status, 202);
  EXPECT_EQ(client.get("/api/credits/balance/simple").json()["data"]["frozen"], 5);
  ASSERT_TRUE(eventually([&] {
    return client.get("/api/render/proxy/lambda/render_c").json()["data"]["status"] == "running";
  }));
  auto cancelled = client.del("/api/render/proxy/lambda/render_c");
  EXPECT_EQ(cancelled.status, 200);
  json done = client.wait_export("render_c", 10);
  EXPECT_EQ(done["data"]["status"], "cancelled") << done.dump();
  auto balance = client.get("/api/credits/balance/simple").json()["data"];
  EXPECT_EQ(balance["available"], 100);
  EXPECT_EQ(balance["frozen"], 0);
}

// A reconnect with Last-Event-ID gets the events after it, the same as the first time.
TEST(Serve, MessagesResumeFromLastEventId) {
  Server server({"--credits", "off"});
  Client client(server);
  ASSERT_EQ(client.upload(mkv_two_tracks()).status, 200);
  TempDir tmp;
  std::ofstream(tmp / "msg.json")
      << json{{"app_name", "nemo_agent"},
              {"session_id", client.session},
              {"new_message", {{"parts", json::array({{{"text", "把日语音轨导出成 flac"}}})}}}}
             .dump();
  std::vector<std::string> args = {"-N",
                                   "-H",
                                   client.auth(),
                                   "-H",
                                   "Content-Type: application/json",
                                   "--data-binary",
                                   "@" + tmp / "msg.json"};
  auto first = parse_sse(server.curl(args, "/run_sse").body);
  ASSERT_GE(first.size(), 3u);
  EXPECT_EQ(first.back().type, "done");
  json result;
  for (const auto& e : first) {
    if (e.type == "result") result = e.data["data"];
  }
  ASSERT_TRUE(result.is_object()) << "no result event";
  EXPECT_EQ(result["output"]["result"]["lang"], "jpn");
  // A file of two tracks: the name says which one (exports of both do not share a name).
  const std::string stem = std::filesystem::path(mkv_two_tracks()).stem();
  EXPECT_EQ(result["output"]["name"], stem + ".2.jpn.flac");
  args.insert(args.begin(), {"-H", "Last-Event-ID: " + std::to_string(first[0].id)});
  auto resumed = parse_sse(server.curl(args, "/run_sse").body);
  ASSERT_EQ(resumed.size(), first.size() - 1);
  for (size_t i = 0; i < resumed.size(); ++i) {
    EXPECT_EQ(resumed[i].id, first[i + 1].id);
    EXPECT_EQ(resumed[i].type, first[i + 1].type);
  }
  // Credits off: nothing is charged.
  EXPECT_EQ(client.get("/api/credits/balance/simple").json()["data"]["frozen"], 0);

  // Words that ask for the routes' data are answered from them.
  std::ofstream(tmp / "ask.json") << json{{"session_id", client.session},
                                          {"new_message",
                                           {{"parts", json::array({{{"text", "积分"}}})}}}}
                                         .dump();
  auto credits = parse_sse(
      server.curl({"-N", "-H", client.auth(), "--data-binary", "@" + tmp / "ask.json"}, "/run_sse")
          .body);
  ASSERT_EQ(credits.size(), 2u);
  EXPECT_EQ(credits[0].type, "answer");
  EXPECT_EQ(credits[0].data["data"]["topic"], "credits");
}

// A message the parser cannot map is a question, not a job.
TEST(Serve, AnUnclearMessageIsAQuestion) {
  Server server;
  Client client(server);
  TempDir tmp;
  std::ofstream(tmp / "msg.json")
      << json{{"session_id", client.session},
              {"new_message", {{"parts", json::array({{{"text", "extract the audio"}}})}}}}
             .dump();
  auto events = parse_sse(
      server.curl({"-N", "-H", client.auth(), "--data-binary", "@" + tmp / "msg.json"}, "/run_sse")
          .body);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, "question");  // no file yet
  EXPECT_EQ(events[1].type, "done");
}

// Past the rate limit: 429 with Retry-After.
TEST(Serve, RateLimitedRequestsAreTold) {
  Server server({"--rate-limit", "1", "--rate-burst", "3"});
  Client client(server);  // a token and a session: two requests
  HttpReply last;
  for (int i = 0; i < 5; ++i) last = client.get("/api/credits/balance/simple");
  EXPECT_EQ(last.status, 429);
  EXPECT_EQ(code_of(last), 429);
  EXPECT_FALSE(last.headers["retry-after"].empty());
  EXPECT_GE(last.json()["data"]["retry_after"].get<int>(), 1);
}

}  // namespace
}  // namespace peel::test
