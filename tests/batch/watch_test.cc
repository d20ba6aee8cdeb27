// watch() through the library API, its settling driven by a clock the test moves: files are
// taken when the settle time has passed on that clock, not before, without waiting for it.
#include "peel/watch.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include "support/engine.h"
#include "support/fixtures.h"
#include "support/support.h"

namespace peel {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::engine;

constexpr auto kSettle = std::chrono::milliseconds(1h);

// Time that moves only when the test moves it; counts how often watch() reads it.
class FakeClock {
 public:
  std::chrono::steady_clock::time_point now() {
    ++reads_;
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(offset_ms_.load()));
  }
  void advance(std::chrono::milliseconds by) { offset_ms_ += by.count(); }
  std::chrono::milliseconds elapsed() const { return std::chrono::milliseconds(offset_ms_.load()); }

  // Waits until watch() has gone round its loop, reading the events that were waiting when
  // this was called and deciding on every file: it reads the clock once a round, after
  // waiting for events (up to a tenth of a second), so the second read from now is a round
  // that saw them, and the third is after that round. Fails the test after 20 s.
  void go_round() {
    const int from = reads_.load();
    EXPECT_TRUE(test::eventually([&] { return reads_.load() >= from + 3; }))
        << "watch() stopped reading the clock";
  }

 private:
  std::atomic<int64_t> offset_ms_{1'000'000};
  std::atomic<int> reads_{0};
};

// watch() on its own thread, with the fake clock; records the events.
class Watching {
 public:
  Watching(const std::string& in, const std::string& out) {
    request_.out_dir = out;
    WatchOptions options;
    options.settle = kSettle;
    options.clock = [this] { return clock.now(); };
    options.cancel = cancel_;
    options.on_watching = [this] { watching_ = true; };
    options.on_event = [this](const BatchEvent& e) {
      std::lock_guard lock(mutex_);
      if (e.kind == BatchEvent::Kind::kStarted) started_[e.input] = clock.elapsed();
      if (e.kind == BatchEvent::Kind::kFinished) finished_.push_back(*e.outcome);
    };
    thread_ =
        std::thread([this, in, options] { result_ = watch(engine(), in, request_, options); });
    EXPECT_TRUE(test::eventually([&] { return watching_.load(); }));
    clock.go_round();  // the files already there have been looked at once
  }
  ~Watching() { stop(); }

  // Cancels and waits for watch() to return; returns its result.
  Result<WatchSummary>& stop() {
    cancel_.cancel();
    if (thread_.joinable()) thread_.join();
    return *result_;
  }

  // When (on the fake clock) `input` was started, if it was.
  std::optional<std::chrono::milliseconds> started(const std::string& input) {
    std::lock_guard lock(mutex_);
    const auto it = started_.find(input);
    if (it == started_.end()) return std::nullopt;
    return it->second;
  }

  // Waits for `input` to finish; false at a 20 s deadline.
  bool finished(const std::string& input) {
    return test::eventually([&] {
      std::lock_guard lock(mutex_);
      for (const auto& o : finished_) {
        if (o.input == input) return true;
      }
      return false;
    });
  }

  FakeClock clock;

 private:
  Request request_;
  CancelToken cancel_;
  std::atomic<bool> watching_{false};
  std::mutex mutex_;
  std::map<std::string, std::chrono::milliseconds> started_;
  std::vector<FileOutcome> finished_;
  std::optional<Result<WatchSummary>> result_;
  std::thread thread_;
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(WatchClock, AFileIsTakenOnceTheClockPassesTheSettleTimeNotBefore) {
  test::TempDir in, out;
  const std::string file = in / "a.mkv";
  fs::copy_file(test::mkv_h264_pcm16(), file);
  Watching w(in.path(), out.path());
  const auto seen = w.clock.elapsed();
  w.clock.advance(kSettle - 1ms);
  for (int i = 0; i < 3; ++i) w.clock.go_round();
  EXPECT_FALSE(w.started(file)) << "taken before its settle time";
  w.clock.advance(1ms);
  ASSERT_TRUE(w.finished(file));
  EXPECT_EQ(w.started(file), seen + kSettle);
  EXPECT_TRUE(fs::exists(out / "a.wav"));
  auto& summary = w.stop();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->done, 1);
  EXPECT_TRUE(summary->cancelled);
  // Measured by the same clock: the settle time, and no time at all in between.
  EXPECT_EQ(summary->wall_seconds, std::chrono::duration<double>(kSettle).count());
}

// A file written again after it was seen waits a whole settle time from that write.
TEST(WatchClock, AWriteStartsTheSettleTimeAgain) {
  test::TempDir in, out;
  const std::string file = in / "a.mkv";
  const std::string bytes = read_bytes(test::mkv_h264_pcm16());
  { std::ofstream(file, std::ios::binary) << bytes; }
  Watching w(in.path(), out.path());
  w.clock.advance(kSettle - 1ms);
  w.clock.go_round();
  { std::ofstream(file, std::ios::binary) << bytes; }  // inotify: modified, closed
  w.clock.go_round();
  const auto written = w.clock.elapsed();
  w.clock.advance(1ms);  // a settle time since it was first seen
  w.clock.go_round();
  w.clock.advance(kSettle - 2ms);
  for (int i = 0; i < 3; ++i) w.clock.go_round();
  EXPECT_FALSE(w.started(file)) << "taken before a settle time since it was written";
  w.clock.advance(1ms);
  ASSERT_TRUE(w.finished(file));
  EXPECT_EQ(w.started(file), written + kSettle);
}

// A change inotify does not report (only the modification time: a network file system, a
// writer that was at work before peel started) is found when the settle time is up, and
// starts it again.
TEST(WatchClock, AChangeSeenOnlyWhenTheSettleTimeIsUpStartsItAgain) {
  test::TempDir in, out;
  const std::string file = in / "a.mkv";
  fs::copy_file(test::mkv_h264_pcm16(), file);
  Watching w(in.path(), out.path());
  // Both times, as utime() sets them: inotify tells of that only as IN_ATTRIB, which is not
  // a write (the modification time alone is told as IN_MODIFY).
  const timespec an_hour_ago[2] = {{::time(nullptr) - 3600, 0}, {::time(nullptr) - 3600, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, file.c_str(), an_hour_ago, 0), 0);
  w.clock.advance(kSettle);
  w.clock.go_round();
  EXPECT_FALSE(w.started(file)) << "taken although it had changed";
  const auto looked = w.clock.elapsed();
  w.clock.advance(kSettle - 1ms);
  for (int i = 0; i < 3; ++i) w.clock.go_round();
  EXPECT_FALSE(w.started(file)) << "taken before a settle time since it changed";
  w.clock.advance(1ms);
  ASSERT_TRUE(w.finished(file));
  EXPECT_EQ(w.started(file), looked + kSettle);
}

// While a writer holds the file open, no amount of time makes it whole; closing it does,
// a settle time later.
TEST(WatchClock, AFileHeldOpenIsNotTakenHoweverLongTheWriterPauses) {
  test::TempDir in, out;
  const std::string file = in / "a.mkv";
  const std::string bytes = read_bytes(test::mkv_h264_pcm16());
  Watching w(in.path(), out.path());
  std::optional<std::chrono::milliseconds> closed;
  {
    std::ofstream f(file, std::ios::binary);
    const size_t half = bytes.size() / 2;
    f.write(bytes.data(), static_cast<std::streamsize>(half));
    f.flush();
    for (int i = 0; i < 3; ++i) {
      w.clock.go_round();
      w.clock.advance(10 * kSettle);
    }
    w.clock.go_round();
    EXPECT_FALSE(w.started(file)) << "taken while held open";
    f.write(bytes.data() + half, static_cast<std::streamsize>(bytes.size() - half));
  }
  w.clock.go_round();
  closed = w.clock.elapsed();
  w.clock.advance(kSettle - 1ms);
  for (int i = 0; i < 3; ++i) w.clock.go_round();
  EXPECT_FALSE(w.started(file)) << "taken before a settle time since it was closed";
  w.clock.advance(1ms);
  ASSERT_TRUE(w.finished(file));
  EXPECT_EQ(w.started(file), *closed + kSettle);
  EXPECT_TRUE(test::decode_s16(out / "a.wav") == test::decode_s16(test::mkv_h264_pcm16()));
}

// Every failure is counted; the summary keeps the latest max_failures_kept, in the order
// they finished.
TEST(WatchFailures, TheLatestAreKeptAndAllAreCounted) {
  test::TempDir in, out;
  const std::string mp4 = read_bytes(test::mp4_h264_aac());
  for (int i = 0; i < 5; ++i) {
    // Cut off before its index: a failure, not a file to skip.
    std::ofstream(in / ("bad" + std::to_string(i) + ".mp4"), std::ios::binary)
        << mp4.substr(0, mp4.size() / 2);
  }
  Request request;
  request.out_dir = out.path();
  WatchOptions options;
  options.once = true;
  options.jobs = 1;  // one after the other, in name order
  options.settle = 0ms;
  options.max_failures_kept = 2;
  auto summary = watch(engine(), in.path(), request, options);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->failed, 5);
  ASSERT_EQ(summary->failures.size(), 2u);
  EXPECT_EQ(summary->failures[0].input, in / "bad3.mp4");
  EXPECT_EQ(summary->failures[1].input, in / "bad4.mp4");
  for (const auto& f : summary->failures) EXPECT_TRUE(f.error.has_value());
  EXPECT_TRUE(out.entries().empty());
}

}  // namespace
}  // namespace peel
