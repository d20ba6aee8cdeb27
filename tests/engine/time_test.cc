// parse_time: every shape the CLI documents, and the ones it refuses.
#include "peel/time.h"

#include <gtest/gtest.h>

namespace peel {
namespace {

TEST(ParseTime, AcceptsEveryDocumentedShape) {
  EXPECT_EQ(*parse_time("90"), 90'000'000);
  EXPECT_EQ(*parse_time("1.5"), 1'500'000);
  EXPECT_EQ(*parse_time("1:30"), 90'000'000);
  EXPECT_EQ(*parse_time("01:02:03.250"), 3'723'250'000);
  EXPECT_EQ(*parse_time("2m"), 120'000'000);
  EXPECT_EQ(*parse_time("1h2m3.5s"), 3'723'500'000);
  EXPECT_EQ(*parse_time("45s"), 45'000'000);
  EXPECT_EQ(*parse_time("1500ms"), 1'500'000);
  EXPECT_EQ(*parse_time(" 7 "), 7'000'000);
  EXPECT_EQ(*parse_time("0:00.000001"), 1);
}

TEST(ParseTime, RefusesMalformedTimes) {
  for (const char* bad :
       {"", "abc", "1:2:3:4", "1:60", "-5", "2x", "1m2h", "1..5", ":30", "1:", "5m3", "1.5:30"}) {
    auto r = parse_time(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kUsage) << bad;
    EXPECT_NE(r.error().message.find("1:30"), std::string::npos) << "message shows the shapes";
  }
}

TEST(FormatTime, RoundTripsThroughParse) {
  for (Micros t : {Micros{0}, Micros{1}, Micros{90'000'000}, Micros{3'723'250'000}}) {
    EXPECT_EQ(*parse_time(format_time(t)), t) << format_time(t);
  }
}

TEST(MicrosToSamples, RoundsToNearest) {
  EXPECT_EQ(micros_to_samples(1'000'000, 48000), 48000);
  EXPECT_EQ(micros_to_samples(10, 48000), 0);  // 0.48 samples
  EXPECT_EQ(micros_to_samples(11, 48000), 1);  // 0.528 samples
  EXPECT_EQ(micros_to_samples(3'723'250'000, 44100), 164195325);
}

}  // namespace
}  // namespace peel
