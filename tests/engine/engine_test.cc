// The Engine and its Limits, through the public API, on files made by ffmpeg at test time:
// each of issue 10's hostile inputs, and what an embedding application keeps.
#include "peel/engine.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdarg>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "peel/batch.h"
#include "peel/plan.h"
#include "peel/run.h"
#include "support/engine.h"
#include "support/fixtures.h"
#include "support/support.h"

extern "C" {
#include <libavutil/log.h>
}

namespace peel {
namespace {

namespace fs = std::filesystem;

using test::engine;

std::vector<OutputPlan> plans_for(Engine& e, const Request& r) {
  auto info = probe(e, r.inputs.front());
  EXPECT_TRUE(info.ok()) << info.error().message;
  if (!info) return {};
  auto plans = plan(r, *info);
  EXPECT_TRUE(plans.ok()) << plans.error().message;
  return plans ? *plans : std::vector<OutputPlan>{};
}

// 4 s of tone whose timestamps jump by an hour after 2 s: 48 KB that would decode to an hour.
std::string one_hour_gap() {
  return test::fixture("engine-gap-1h.mkv",
                       {"-f", "lavfi", "-i", "sine=f=440:d=4:sample_rate=44100", "-af",
                        "asetpts='PTS+gte(T,2)*3600/TB'", "-c:a", "flac"});
}

std::string titled(const std::string& name, const std::string& title) {
  return test::fixture(name, {"-f", "lavfi", "-i", "sine=d=1", "-c:a", "flac",
                              "-metadata:s:a:0", "title=" + title});
}

TEST(Names, HostileTitlesBecomeOneSafeComponentInsideTheFolder) {
  test::TempDir out;
  Request r;
  r.inputs = {titled("engine-title-escape.mkv", "../../escaped")};
  r.out_dir = out / "deep";
  r.name_template = "{title}.{ext}";
  const auto plans = plans_for(engine(), r);
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_EQ(fs::path(plans[0].output).parent_path(), fs::path(out / "deep"));
  EXPECT_EQ(fs::path(plans[0].output).filename(), "_._.._escaped.flac");
  RunOptions options;
  options.create_folders = true;
  auto done = run(engine(), plans[0], options);
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_TRUE(fs::exists(plans[0].output));
  // Nothing was written anywhere but the folder asked for.
  EXPECT_EQ(out.entries(), std::vector<std::string>{"deep"});
}

TEST(Names, ControlCharactersDotsAndLengthAreTamed) {
  test::TempDir out;
  Request r;
  r.inputs = {titled("engine-title-odd.mkv", std::string(300, 'a') + "é/\\:*?\"<>|\x01.. ")};
  r.out_dir = out.path();
  r.name_template = "{title}.{ext}";
  const auto plans = plans_for(engine(), r);
  ASSERT_EQ(plans.size(), 1u);
  const std::string name = fs::path(plans[0].output).filename().string();
  EXPECT_EQ(name, std::string(200, 'a') + ".flac");
  for (const char* t : {"..", ".", " ", "/"}) {
    SCOPED_TRACE(t);
    Request q = r;
    q.inputs = {titled(std::string("engine-title-") + (t[0] == '/' ? "slash" : t[0] == ' ' ? "space"
                                                                   : t[1] == '.'   ? "dotdot"
                                                                                   : "dot") +
                           ".mkv",
                       t)};
    const auto p = plans_for(engine(), q);
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(fs::path(p[0].output).parent_path(), fs::path(out.path()));
  }
}

TEST(Names, ATemplateThatLeavesTheFolderIsRefused) {
  test::TempDir out;
  Request r;
  r.inputs = {test::mkv_opus()};
  r.out_dir = out / "deep";
  r.name_template = "../{stem}.{ext}";
  auto info = probe(engine(), r.inputs.front());
  ASSERT_TRUE(info.ok());
  auto plans = plan(r, *info);
  ASSERT_FALSE(plans.ok());
  EXPECT_EQ(plans.error().code, ErrorCode::kUsage);
  EXPECT_EQ(plans.error().field, "name_template");
  EXPECT_NE(plans.error().message.find("outside the output folder"), std::string::npos);
}

TEST(Names, ALinkInsideTheFolderMayNotLeadOutOfIt) {
  test::TempDir out, elsewhere;
  fs::create_directory_symlink(elsewhere.path(), out / "link");
  Request r;
  r.inputs = {test::mkv_opus()};
  r.out_dir = out.path();
  r.name_template = "link/{stem}.{ext}";
  const auto plans = plans_for(engine(), r);
  ASSERT_EQ(plans.size(), 1u);
  auto checked = check_output(plans[0], true);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().code, ErrorCode::kUsage);
  auto done = run(engine(), plans[0]);
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.error().code, ErrorCode::kUsage);
  EXPECT_TRUE(elsewhere.entries().empty());
}

TEST(Limits, AnHourLongGapIsSkippedNotFilledAndTheOutputDecodesAsFfmpegDoes) {
  test::TempDir out;
  Request r;
  r.inputs = {one_hour_gap()};
  r.output = out / "x.wav";
  const auto plans = plans_for(engine(), r);
  ASSERT_EQ(plans.size(), 1u);
  auto done = run(engine(), plans[0]);
  ASSERT_TRUE(done.ok()) << done.error().message;
  // ffmpeg's decode follows the data: 4 s, not an hour.
  EXPECT_EQ(test::decode_s16(out / "x.wav"), test::decode_s16(one_hour_gap()));
  EXPECT_LT(fs::file_size(out / "x.wav"), 400'000u);
  ASSERT_FALSE(done->lost.empty()) << "the jump is still reported as damage";
  bool said = false;
  for (const auto& w : done->warnings) said = said || w.find("was skipped") != std::string::npos;
  EXPECT_TRUE(said);
}

TEST(Limits, AGapWithinTheBoundIsStillFilledWithSilence) {
  const std::string input = test::fixture(
      "engine-gap-2s.mkv", {"-f", "lavfi", "-i", "sine=f=440:d=4:sample_rate=44100", "-af",
                            "asetpts='PTS+gte(T,2)*2/TB'", "-c:a", "flac"});
  test::TempDir out;
  Request r;
  r.inputs = {input};
  r.output = out / "x.wav";
  const auto plans = plans_for(engine(), r);
  ASSERT_EQ(plans.size(), 1u);
  auto done = run(engine(), plans[0]);
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_NEAR(static_cast<double>(done->samples) / 44100, 6.0, 0.05);
  // A tighter bound skips it too.
  EngineOptions tight;
  tight.limits.max_silence_fill = kMicrosPerSecond;
  Engine small(tight);
  r.output = out / "y.wav";
  auto skipped = run(small, plans_for(small, r)[0]);
  ASSERT_TRUE(skipped.ok());
  EXPECT_NEAR(static_cast<double>(skipped->samples) / 44100, 4.0, 0.05);
}

TEST(Limits, AnOutputPastMaxOutputBytesFailsAndLeavesNothing) {
  EngineOptions options;
  options.limits.max_output_bytes = 100'000;
  Engine bounded(options);
  test::TempDir out;
  Request r;
  r.inputs = {test::mkv_h264_pcm16()};
  r.output = out / "x.wav";
  auto done = run(bounded, plans_for(bounded, r)[0]);
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.error().code, ErrorCode::kOutputTooLarge);
  EXPECT_EQ(error_name(done.error().code), "output_too_large");
  EXPECT_TRUE(out.entries().empty());
}

// A listening loopback socket that counts the connections made to it.
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    ::listen(fd_, 8);
    socklen_t len = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Listener() { ::close(fd_); }
  int port() const { return port_; }
  int accepted() {
    int n = 0;
    for (int c; (c = ::accept(fd_, nullptr, nullptr)) >= 0; ++n) ::close(c);
    return n;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(Limits, APlaylistThatNamesAUrlIsRefusedWithoutFetchingIt) {
  Listener server;
  test::TempDir dir;
  const std::string playlist = dir / "list.m3u8";
  std::ofstream(playlist) << "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nhttp://127.0.0.1:"
                          << server.port() << "/segment.ts\n#EXT-X-ENDLIST\n";
  auto info = probe(engine(), playlist);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kUnsupportedFile);
  EXPECT_NE(info.error().message.find("refers to"), std::string::npos) << info.error().message;
  EXPECT_NE(info.error().message.find(playlist), std::string::npos);
  EXPECT_EQ(server.accepted(), 0);
}

TEST(Limits, AConcatListThatNamesOtherFilesIsRefused) {
  test::TempDir dir;
  const std::string list = dir / "list.ffconcat";
  std::ofstream(list) << "ffconcat version 1.0\nfile '" << test::mkv_opus() << "'\n";
  auto info = probe(engine(), list);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kUnsupportedFile);
  EXPECT_NE(info.error().message.find("refers to"), std::string::npos) << info.error().message;
}

TEST(Limits, AFormatNotOnTheWhitelistIsNamedInTheRefusal) {
  EngineOptions options;
  options.limits.formats = {"matroska,webm"};
  Engine only_mkv(options);
  auto mkv = probe(only_mkv, test::mkv_opus());
  EXPECT_TRUE(mkv.ok()) << mkv.error().message;
  auto mp4 = probe(only_mkv, test::mp4_h264_aac());
  ASSERT_FALSE(mp4.ok());
  EXPECT_EQ(mp4.error().code, ErrorCode::kUnsupportedFile);
  EXPECT_NE(mp4.error().message.find("mov,mp4"), std::string::npos) << mp4.error().message;
  EXPECT_NE(mp4.error().message.find("not accepted"), std::string::npos);
  // The preset for strangers' files takes the usual containers.
  EngineOptions strangers;
  strangers.limits = Limits::untrusted();
  Engine untrusted(strangers);
  for (const auto& f : {test::mp4_h264_aac(), test::mkv_opus(), test::ts_h264_aac(),
                        test::avi_mp3(), test::flv_aac(), test::wmv_wma(), test::mp3_lame()}) {
    auto info = probe(untrusted, f);
    EXPECT_TRUE(info.ok()) << f << ": " << info.error().message;
  }
}

TEST(Limits, MoreStreamsThanAllowedAreRefused) {
  const std::string input = test::fixture(
      "engine-four-tracks.mkv",
      {"-f", "lavfi", "-i", "sine=d=1", "-map", "0:a", "-map", "0:a", "-map", "0:a", "-map",
       "0:a", "-c:a", "flac"});
  EngineOptions options;
  options.limits.max_streams = 2;
  Engine few(options);
  auto info = probe(few, input);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kUnsupportedFile);
  auto all = probe(engine(), input);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->audio.size(), 4u);
}

TEST(Open, ACancelledTokenStopsProbeAndOpenBeforeTheyRead) {
  const CancelToken cancel;
  cancel.cancel();
  auto info = probe(engine(), test::mp4_h264_aac(), cancel);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kCancelled);
  auto input = Input::open(engine(), test::mkv_opus(), cancel);
  ASSERT_FALSE(input.ok());
  EXPECT_EQ(input.error().code, ErrorCode::kCancelled);
}

TEST(Open, AFileSlowerToOpenThanTheLimitIsRefused) {
  EngineOptions options;
  options.limits.open_timeout = 1;  // µs: over before the first byte is read
  Engine hurried(options);
  auto info = probe(hurried, test::mkv_opus());
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kUnsupportedFile);
  EXPECT_NE(info.error().message.find("took longer than"), std::string::npos)
      << info.error().message;
  EXPECT_TRUE(probe(engine(), test::mkv_opus()).ok()) << "no limit, no refusal";
}

TEST(Open, APipeIsRefusedAtOnceInsteadOfBlocking) {
  test::TempDir dir;
  const std::string fifo = dir / "stream.mkv";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto info = probe(engine(), fifo);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kUnsupportedFile);
  EXPECT_NE(info.error().message.find("pipe"), std::string::npos) << info.error().message;
}

TEST(Batch, ItemsCancelledBeforeTheyRanSaySoWithAnError) {
  test::TempDir in, out;
  for (const char* name : {"a.mp4", "b.mp4", "c.mp4"}) fs::copy_file(test::mp4_h264_aac(), in / name);
  Request r;
  r.out_dir = out.path();
  BatchOptions options;
  options.cancel.cancel();
  auto summary = run_batch(engine(), r, discover({in.path()}, true, out.path()).files, options);
  ASSERT_TRUE(summary.ok());
  ASSERT_EQ(summary->outcomes.size(), 3u);
  for (const auto& o : summary->outcomes) {
    EXPECT_EQ(o.status, FileOutcome::Status::kCancelled) << o.input;
    ASSERT_TRUE(o.error.has_value()) << o.input;
    EXPECT_EQ(o.error->code, ErrorCode::kCancelled);
    EXPECT_FALSE(o.started);
  }
  EXPECT_EQ(summary->done, 0);
  EXPECT_EQ(summary->not_started, 3);
  EXPECT_TRUE(summary->cancelled);
  EXPECT_TRUE(out.entries().empty());
}

// What an application's own log callback saw.
std::mutex g_seen_mutex;
std::vector<std::string> g_seen;

void application_log(void*, int level, const char* fmt, va_list args) {
  if (level > AV_LOG_WARNING) return;
  char line[1024];
  vsnprintf(line, sizeof(line), fmt, args);
  std::lock_guard lock(g_seen_mutex);
  g_seen.emplace_back(line);
}

bool seen(const std::string& text) {
  std::lock_guard lock(g_seen_mutex);
  for (const auto& s : g_seen) {
    if (s.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(Log, TheApplicationsCallbackKeepsGettingLinesAndProbeWarningsAreKept) {
  // (Other tests' engine() lives on; this test's Engine shares the one callback with it.)
  av_log_set_callback(application_log);
  const std::string junk = test::fixture(
      "engine-junk.mp3", {"-f", "lavfi", "-i", "sine=d=2", "-c:a", "libmp3lame"});
  test::TempDir dir;
  const std::string prefixed = dir / "junk.mp3";
  {
    std::ofstream out(prefixed, std::ios::binary);
    for (int i = 0; i < 3000; ++i) out.put(static_cast<char>((i * 7919 + 13) & 0xff));
    std::ifstream in(junk, std::ios::binary);
    out << in.rdbuf();
  }
  std::vector<std::string> told;
  std::mutex told_mutex;
  {
    EngineOptions options;
    options.previous_log = application_log;
    options.on_log = [&](int, const std::string& line) {
      std::lock_guard lock(told_mutex);
      told.push_back(line);
    };
    Engine mine(options);
    av_log(nullptr, AV_LOG_ERROR, "application line one\n");
    EXPECT_TRUE(seen("application line one"));
    {
      std::lock_guard lock(told_mutex);
      ASSERT_FALSE(told.empty()) << "a line outside any probe or run reaches on_log";
      EXPECT_NE(told.back().find("application line one"), std::string::npos);
    }
    auto info = probe(mine, prefixed);
    ASSERT_TRUE(info.ok()) << info.error().message;
    bool kept = false;
    for (const auto& line : info->log) kept = kept || line.find("low score") != std::string::npos;
    EXPECT_TRUE(kept) << "FFmpeg's warnings while probing are kept";
    EXPECT_TRUE(seen("low score")) << "and passed on to the application's callback";
  }
  // This Engine gone, the application's callback is still in place.
  av_log(nullptr, AV_LOG_ERROR, "application line two\n");
  EXPECT_TRUE(seen("application line two"));
}

TEST(Log, ARunKeepsAtMostMaxLogLines) {
  EngineOptions options;
  options.limits.max_log_lines = 2;
  Engine terse(options);
  // Bytes cut out of the middle of an MPEG-TS make the AAC decoder complain many times.
  const std::string ts = test::ts_h264_aac();
  test::TempDir dir;
  const std::string damaged = dir / "damaged.ts";
  {
    std::ifstream in(ts, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (size_t i = bytes.size() / 4; i < bytes.size() * 3 / 4; i += 997) bytes[i] ^= 0x5a;
    std::ofstream(damaged, std::ios::binary) << bytes;
  }
  Request r;
  r.inputs = {damaged};
  r.output = dir / "x.wav";
  auto done = run(terse, plans_for(terse, r)[0]);
  ASSERT_TRUE(done.ok()) << done.error().message;
  ASSERT_EQ(done->log.size(), 3u) << "two lines, then the count of the rest";
  EXPECT_NE(done->log.back().find("more lines"), std::string::npos) << done->log.back();
}

TEST(Engine, OnePoolServesEveryRun) {
  EngineOptions options;
  options.threads = 3;
  Engine three(options);
  EXPECT_EQ(three.threads(), 3);
  EXPECT_GE(core_count(), 1);
  EXPECT_EQ(Engine().threads(), core_count());
}

}  // namespace
}  // namespace peel
