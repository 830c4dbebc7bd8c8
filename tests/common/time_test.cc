#include "common/time.h"

#include <gtest/gtest.h>

#include <chrono>

namespace common {
namespace {

TEST(TimeTest, FormatsUtcWithSixFractionDigits) {
  EXPECT_EQ(FormatRfc3339Micros(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatRfc3339Micros(1'764'151'301'123'456), "2025-11-26T10:01:41.123456Z");
  EXPECT_EQ(FormatRfc3339Micros(-1), "1969-12-31T23:59:59.999999Z");  // floor, not truncation
  EXPECT_EQ(FormatRfc3339Micros(951'782'400'000'000), "2000-02-29T00:00:00.000000Z");
}

TEST(TimeTest, ParsesDatesAndUtcDateTimes) {
  EXPECT_EQ(ParseRfc3339Micros("1970-01-01"), 0);
  EXPECT_EQ(ParseRfc3339Micros("2025-11-26T10:01:41Z"), 1'764'151'301'000'000);
  EXPECT_EQ(ParseRfc3339Micros("2025-11-26T10:01:41.999Z"), 1'764'151'301'000'000);
  EXPECT_EQ(ParseRfc3339Micros("2025-11-26T10:01:41+00:00"), 1'764'151'301'000'000);
  EXPECT_EQ(ParseRfc3339Micros("2025-11-26T10:01:41"), 1'764'151'301'000'000);
  EXPECT_EQ(ParseRfc3339Micros("2000-02-29"), 951'782'400'000'000);
}

TEST(TimeTest, RefusesWhatIsNotAnExistingUtcTime) {
  for (const char* bad :
       {"", "2026-02-31", "2026-13-01", "2026-00-10", "1900-02-29", "0000-01-01", "2026-1-05",
        "+2026-01-05", "2026-01-05T", "2026-01-05 10:00:00", "2026-01-05T24:00:00",
        "2026-01-05T10:60:00", "2026-01-05T10:00:00+01:00", "2026-01-05T10:00:00Zjunk",
        "2026-01-05T10:00:00.", "2026-01-05x", " 2026-01-05"}) {
    EXPECT_FALSE(ParseRfc3339Micros(bad).has_value()) << bad;
  }
}

TEST(TimeTest, RoundTripsWholeSecondsAcrossCenturies) {
  for (int64_t s : {0LL, 951'782'400LL, 4'102'444'800LL, 253'402'300'799LL}) {
    const int64_t us = s * 1'000'000;
    EXPECT_EQ(ParseRfc3339Micros(FormatRfc3339Micros(us)), us) << s;
  }
}

}  // namespace
}  // namespace common
