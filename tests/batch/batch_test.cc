// run_batch() and discover() through the library API.
#include "peel/batch.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/engine.h"
#include "support/fixtures.h"
#include "support/support.h"

namespace peel {
namespace {

namespace fs = std::filesystem;

using test::engine;

TEST(RunBatch, AFileThatVanishesAfterDiscoveryFailsAloneWithItsName) {
  test::TempDir in, out;
  for (const char* name : {"a.mp4", "b.mp4", "c.mp4"}) {
    fs::copy_file(test::mp4_h264_aac(), in / name);
  }
  const Discovery found = discover({in.path()}, true, out.path());
  ASSERT_EQ(found.files.size(), 3u);
  fs::remove(in / "b.mp4");
  Request r;
  r.out_dir = out.path();
  auto summary = run_batch(engine(), r, found.files, BatchOptions{});
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->done, 2);
  EXPECT_EQ(summary->failed, 1);
  const auto& o = summary->outcomes[1];
  ASSERT_TRUE(o.error.has_value());
  EXPECT_EQ(o.error->code, ErrorCode::kInputNotFound);
  EXPECT_NE(o.error->message.find("b.mp4"), std::string::npos);
  EXPECT_TRUE(fs::exists(out / "a.m4a"));
  EXPECT_TRUE(fs::exists(out / "c.m4a"));
}

TEST(RunBatch, EventsComeInOrderAndNeverOverlap) {
  test::TempDir in, out;
  for (int i = 0; i < 5; ++i) {
    fs::copy_file(test::mkv_h264_pcm16(), in / ("v" + std::to_string(i) + ".mkv"));
  }
  std::ofstream(in / "notes.txt") << "text";
  Request r;
  r.out_dir = out.path();
  r.format = "mp3";
  BatchOptions options;
  options.jobs = 3;
  std::atomic<int> inside{0};
  bool overlapped = false;
  std::vector<BatchEvent::Kind> kinds;
  std::map<std::string, std::vector<BatchEvent::Kind>> per_file;
  options.on_event = [&](const BatchEvent& e) {
    if (inside++ != 0) overlapped = true;
    kinds.push_back(e.kind);
    if (e.kind != BatchEvent::Kind::kPlanned) per_file[e.input].push_back(e.kind);
    --inside;
  };
  auto summary = run_batch(engine(), r, discover({in.path()}, true, "").files, options);
  ASSERT_TRUE(summary.ok());
  EXPECT_FALSE(overlapped);
  ASSERT_FALSE(kinds.empty());
  EXPECT_EQ(kinds.front(), BatchEvent::Kind::kPlanned);
  EXPECT_EQ(per_file.size(), 6u);
  for (const auto& [input, events] : per_file) {
    EXPECT_EQ(events.back(), BatchEvent::Kind::kFinished) << input;
    if (input.ends_with(".txt")) {
      EXPECT_EQ(events.size(), 1u);
    } else {
      EXPECT_EQ(events.front(), BatchEvent::Kind::kStarted) << input;
    }
  }
  EXPECT_NEAR(summary->planned_seconds, 30.0, 0.1);
  EXPECT_NEAR(summary->audio_seconds, 30.0, 0.1);
}

TEST(Discover, UnreadableFoldersAreReportedAndTheRestIsTaken) {
  if (!test::can_drop_privileges()) GTEST_SKIP() << "cannot drop root privileges here";
  test::TempDir in, out;
  fs::create_directories(in / "open");
  fs::create_directories(in / "closed");
  fs::copy_file(test::mp4_h264_aac(), in / "open/a.mp4");
  fs::copy_file(test::mp4_h264_aac(), in / "closed/b.mp4");
  fs::permissions(in / "closed", fs::perms::none);
  fs::permissions(in.path(), fs::perms::all);
  fs::permissions(out.path(), fs::perms::all);
  auto r = test::peel_unprivileged({"-R", in.path(), "-d", out.path(), "--json"});
  fs::permissions(in / "closed", fs::perms::owner_all);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.out.find("input_unreadable"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("closed"), std::string::npos);
  EXPECT_TRUE(fs::exists(out / "open/a.m4a"));
}

}  // namespace
}  // namespace peel
