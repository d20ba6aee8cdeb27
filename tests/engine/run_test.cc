// run(): cancellation, progress and concurrency through the public API.
#include "peel/run.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "support/engine.h"
#include "support/fixtures.h"
#include "support/support.h"

namespace peel {
namespace {

using test::engine;

OutputPlan plan_for(const std::string& input, const std::string& output,
                    const std::string& format) {
  auto info = probe(engine(), input);
  EXPECT_TRUE(info.ok());
  Request r;
  r.inputs = {input};
  r.output = output;
  r.format = format;
  auto plans = plan(r, *info);
  EXPECT_TRUE(plans.ok()) << plans.error().message;
  return plans->front();
}

TEST(Run, ReportsProgressUpToTheEnd) {
  test::TempDir dir;
  const auto p = plan_for(test::mkv_h264_pcm16(), dir / "x.mp3", "mp3");
  std::vector<Progress> seen;
  RunOptions options;
  options.on_progress = [&](const Progress& pr) { seen.push_back(pr); };
  auto r = run(engine(), p, options);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_GE(seen.size(), 5u);
  EXPECT_NEAR(seen.front().total, 6.0, 0.1);
  for (size_t i = 1; i < seen.size(); ++i) EXPECT_GE(seen[i].done, seen[i - 1].done);
  EXPECT_GT(seen.back().done, 5.0);
}

TEST(Run, CancelStopsPromptlyAndLeavesNothing) {
  test::TempDir dir;
  const auto p = plan_for(test::mkv_h264_pcm16(), dir / "x.flac", "flac");
  RunOptions options;
  int calls = 0;
  options.on_progress = [&](const Progress&) {
    if (++calls == 2) options.cancel.cancel();
  };
  auto r = run(engine(), p, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kCancelled);
  EXPECT_EQ(calls, 2) << "no progress after the cancel";
  EXPECT_TRUE(dir.entries().empty());
}

TEST(Run, ManyThreadsAtOnceGiveTheSameResultAsOne) {
  test::TempDir dir;
  const std::string input = test::mp4_h264_aac();
  const auto reference = run(engine(), plan_for(input, dir / "ref.wav", "wav"));
  ASSERT_TRUE(reference.ok());
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::vector<int64_t> samples(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      const char* format = i % 2 == 0 ? "wav" : "mp3";
      auto r = run(engine(), plan_for(input, dir / (std::to_string(i) + "." + format), format));
      samples[i] = r.ok() ? r->samples : -1;
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) EXPECT_EQ(samples[i], reference->samples) << i;
  EXPECT_EQ(test::decode_s16(dir / "0.wav"), test::decode_s16(dir / "ref.wav"));
}

}  // namespace
}  // namespace peel
