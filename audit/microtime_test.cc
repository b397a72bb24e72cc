#include "audit/microtime.h"

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kubetrail::audit {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kDay = 86'400 * kSecond;

// Unix micros of a UTC civil time, computed by Abseil (the independent oracle).
int64_t AbslMicros(int64_t y, int m, int d, int hh = 0, int mm = 0, int ss = 0) {
  return absl::ToUnixMicros(
      absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss), absl::UTCTimeZone()));
}

// The MicroTime layout as Abseil writes it: %E4Y pads the year to four digits.
std::string AbslFormat(int64_t micros) {
  return absl::FormatTime("%E4Y-%m-%dT%H:%M:%E6SZ", absl::FromUnixMicros(micros),
                          absl::UTCTimeZone());
}

int64_t Parse(std::string_view text) {
  absl::StatusOr<int64_t> micros = ParseRfc3339Micros(text);
  EXPECT_TRUE(micros.ok()) << text << ": " << micros.status();
  return micros.ok() ? *micros : std::numeric_limits<int64_t>::min();
}

// ------------------------------------------------------------------------------------------
// ParseRfc3339Micros
// ------------------------------------------------------------------------------------------

TEST(ParseRfc3339MicrosTest, KnownInstants) {
  EXPECT_EQ(Parse("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(Parse("1970-01-01T00:00:01Z"), kSecond);
  EXPECT_EQ(Parse("2000-01-01T00:00:00Z"), 946'684'800 * kSecond);
  EXPECT_EQ(Parse("2026-07-23T14:47:51.123456Z"), 1'784'818'071'123'456);
  EXPECT_EQ(Parse("2026-07-23T14:47:51.123456Z"), AbslMicros(2026, 7, 23, 14, 47, 51) + 123'456);
}

TEST(ParseRfc3339MicrosTest, HeaderExample) {
  const int64_t micros = Parse("2026-07-23T16:47:51.123456789+02:00");
  EXPECT_EQ(FormatMicroTime(micros), "2026-07-23T14:47:51.123456Z");
}

TEST(ParseRfc3339MicrosTest, Offsets) {
  const int64_t utc = Parse("2026-01-15T12:00:00Z");
  EXPECT_EQ(Parse("2026-01-15T17:30:00+05:30"), utc);
  EXPECT_EQ(Parse("2026-01-15T04:00:00-08:00"), utc);
  EXPECT_EQ(Parse("2026-01-15T12:00:00+00:00"), utc);
  EXPECT_EQ(Parse("2026-01-15T12:00:00-00:00"), utc);
  // Offsets move the instant across day, month and year boundaries.
  EXPECT_EQ(FormatMicroTime(Parse("2026-01-01T01:00:00+05:30")), "2025-12-31T19:30:00.000000Z");
  EXPECT_EQ(FormatMicroTime(Parse("2024-02-28T20:00:00-08:00")), "2024-02-29T04:00:00.000000Z");
  EXPECT_EQ(FormatMicroTime(Parse("2026-03-01T00:00:00+23:59")), "2026-02-28T00:01:00.000000Z");
  EXPECT_EQ(FormatMicroTime(Parse("2026-02-28T00:00:00-23:59")), "2026-02-28T23:59:00.000000Z");
}

TEST(ParseRfc3339MicrosTest, LowerCaseTAndZ) {
  EXPECT_EQ(Parse("2026-07-23t14:47:51z"), Parse("2026-07-23T14:47:51Z"));
  EXPECT_EQ(Parse("2026-07-23t14:47:51.5+01:00"), Parse("2026-07-23T13:47:51.5Z"));
}

TEST(ParseRfc3339MicrosTest, FractionalDigitsAreTruncatedNotRounded) {
  const int64_t base = Parse("2026-07-23T14:47:51Z");
  EXPECT_EQ(Parse("2026-07-23T14:47:51.5Z") - base, 500'000);
  EXPECT_EQ(Parse("2026-07-23T14:47:51.05Z") - base, 50'000);
  EXPECT_EQ(Parse("2026-07-23T14:47:51.000001Z") - base, 1);
  EXPECT_EQ(Parse("2026-07-23T14:47:51.0000009Z") - base, 0);
  EXPECT_EQ(Parse("2026-07-23T14:47:51.9999999Z") - base, 999'999);
  EXPECT_EQ(Parse("2026-07-23T14:47:51.999999999Z") - base, 999'999);
  EXPECT_EQ(Parse("2026-07-23T14:47:51.123456789Z") - base, 123'456);
  EXPECT_EQ(Parse("2026-07-23T14:47:51.000000000Z") - base, 0);
  EXPECT_EQ(FormatMicroTime(Parse("2026-07-23T14:47:51.9999999Z")), "2026-07-23T14:47:51.999999Z");
}

TEST(ParseRfc3339MicrosTest, LeapDays) {
  EXPECT_EQ(Parse("2024-02-29T00:00:00Z"), AbslMicros(2024, 2, 29));
  EXPECT_EQ(Parse("2000-02-29T23:59:59Z"), AbslMicros(2000, 2, 29, 23, 59, 59));  // 400-rule
  EXPECT_EQ(Parse("0000-02-29T00:00:00Z"), AbslMicros(0, 2, 29));  // year 0 is a leap year
  for (std::string_view no_leap_day :
       {"2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2100-02-29T00:00:00Z"}) {
    absl::StatusOr<int64_t> micros = ParseRfc3339Micros(no_leap_day);
    ASSERT_FALSE(micros.ok()) << no_leap_day;
    EXPECT_THAT(micros.status().message(), HasSubstr("day out of range"));
  }
}

TEST(ParseRfc3339MicrosTest, ExtremeYears) {
  EXPECT_EQ(Parse("0000-01-01T00:00:00Z"), -62'167'219'200 * kSecond);
  EXPECT_EQ(Parse("0000-01-01T00:00:00Z"), AbslMicros(0, 1, 1));
  EXPECT_EQ(Parse("9999-12-31T23:59:59.999999Z"), 253'402'300'799'999'999);
  EXPECT_EQ(Parse("9999-12-31T23:59:59.999999Z"), AbslMicros(9999, 12, 31, 23, 59, 59) + 999'999);
  // An offset may move the instant just outside 0000-9999; the arithmetic still holds.
  EXPECT_EQ(Parse("0000-01-01T00:00:00+01:00"), AbslMicros(-1, 12, 31, 23));
  EXPECT_EQ(Parse("9999-12-31T23:00:00-02:00"), AbslMicros(10000, 1, 1, 1));
}

TEST(ParseRfc3339MicrosTest, BeforeTheEpoch) {
  EXPECT_EQ(Parse("1969-12-31T23:59:59.999999Z"), -1);
  EXPECT_EQ(Parse("1969-12-31T23:59:59Z"), -kSecond);
  EXPECT_EQ(Parse("1969-12-31T00:00:00Z"), -kDay);
  EXPECT_EQ(Parse("1900-01-01T00:00:00Z"), -2'208'988'800 * kSecond);
  EXPECT_EQ(Parse("1600-03-01T12:34:56.5Z"), AbslMicros(1600, 3, 1, 12, 34, 56) + 500'000);
}

TEST(ParseRfc3339MicrosTest, EveryDayOfEveryMonth) {
  // Every valid day parses to Abseil's instant; the day after the last one is rejected.
  for (int year : {1970, 1999, 2000, 2023, 2024, 2100}) {
    for (int month = 1; month <= 12; ++month) {
      const absl::CivilMonth civil_month(year, month);
      const int days =
          static_cast<int>(absl::CivilDay(civil_month + 1) - absl::CivilDay(civil_month));
      for (int day = 1; day <= days; ++day) {
        const std::string text = absl::StrFormat("%04d-%02d-%02dT06:07:08Z", year, month, day);
        ASSERT_EQ(Parse(text), AbslMicros(year, month, day, 6, 7, 8)) << text;
      }
      const std::string past = absl::StrFormat("%04d-%02d-%02dT00:00:00Z", year, month, days + 1);
      EXPECT_FALSE(ParseRfc3339Micros(past).ok()) << past;
    }
  }
}

TEST(ParseRfc3339MicrosTest, InvalidInputs) {
  const std::pair<std::string_view, std::string_view> kCases[] = {
      {"", "too short (expected YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM))"},
      {"2026-07-23", "too short (expected YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM))"},
      {"26-07-23T14:47:51Z", "too short (expected YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM))"},
      {"-001-01-01T00:00:00Z", "expected a 4-digit year"},
      {"20x6-07-23T14:47:51Z", "expected a 4-digit year"},
      {"2026/07/23T14:47:51Z", "expected '-' after the year"},
      {"2026-7-23T14:47:51.0Z", "expected a 2-digit month"},
      {"2026-07/23T14:47:51Z", "expected '-' after the month"},
      {"2026-07-2xT14:47:51Z", "expected a 2-digit day"},
      {"2026-07-23 14:47:51Z", "expected 'T' between date and time"},
      {"2026-07-23T1:47:51.0Z", "expected a 2-digit hour"},
      {"2026-07-23T14-47:51Z", "expected ':' after the hour"},
      {"2026-07-23T14:4x:51Z", "expected a 2-digit minute"},
      {"2026-07-23T14:47-51Z", "expected ':' after the minute"},
      {"2026-07-23T14:47:5Z", "expected a 2-digit second"},
      {"2026-13-01T00:00:00Z", "month out of range"},
      {"2026-00-01T00:00:00Z", "month out of range"},
      {"2026-01-00T00:00:00Z", "day out of range"},
      {"2026-01-32T00:00:00Z", "day out of range"},
      {"2026-04-31T00:00:00Z", "day out of range"},
      {"2026-02-30T00:00:00Z", "day out of range"},
      {"2023-02-29T00:00:00Z", "day out of range"},
      {"2026-07-23T24:00:00Z", "hour out of range"},
      {"2026-07-23T23:60:00Z", "minute out of range"},
      {"2026-07-23T23:59:60Z", "second out of range"},  // no leap seconds, as in Go
      {"2026-07-23T14:47:51", "missing time zone (expected 'Z' or ±HH:MM)"},
      {"2026-07-23T14:47:51.123", "missing time zone (expected 'Z' or ±HH:MM)"},
      {"2026-07-23T14:47:51.Z", "expected 1-9 fractional digits after '.'"},
      {"2026-07-23T14:47:51.", "expected 1-9 fractional digits after '.'"},
      {"2026-07-23T14:47:51.1234567890Z", "more than 9 fractional digits"},
      {"2026-07-23T14:47:51,5Z", "expected 'Z' or a ±HH:MM offset after the time"},
      {"2026-07-23T14:47:51UTC", "expected 'Z' or a ±HH:MM offset after the time"},
      {"2026-07-23T14:47:51+0530", "expected a ±HH:MM offset"},
      {"2026-07-23T14:47:51+05", "expected a ±HH:MM offset"},
      {"2026-07-23T14:47:51+05-30", "expected a ±HH:MM offset"},
      {"2026-07-23T14:47:51+5:300", "expected a ±HH:MM offset"},
      {"2026-07-23T14:47:51+24:00", "offset hour out of range"},
      {"2026-07-23T14:47:51-05:60", "offset minute out of range"},
      {"2026-07-23T14:47:51Zjunk", "unexpected data after the time zone"},
      {"2026-07-23T14:47:51Z ", "unexpected data after the time zone"},
      {"2026-07-23T14:47:51.5+01:00Z", "unexpected data after the time zone"},
      {" 2026-07-23T14:47:51Z", "expected a 4-digit year"},
  };
  for (const auto& [text, problem] : kCases) {
    absl::StatusOr<int64_t> micros = ParseRfc3339Micros(text);
    ASSERT_FALSE(micros.ok()) << text << " parsed as " << *micros;
    EXPECT_EQ(micros.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(micros.status().message(),
              absl::StrFormat("invalid RFC 3339 timestamp \"%s\": %s", text, problem))
        << text;
  }
}

TEST(ParseRfc3339MicrosTest, ErrorQuotesInputSafely) {
  EXPECT_EQ(ParseRfc3339Micros("2026-13-01T00:00:00Z").status().message(),
            "invalid RFC 3339 timestamp \"2026-13-01T00:00:00Z\": month out of range");
  // Control bytes and quotes are escaped; long inputs are cut.
  EXPECT_EQ(ParseRfc3339Micros("\x01\"").status().message(),
            "invalid RFC 3339 timestamp \"\\x01\\\"\": too short (expected "
            "YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM))");
  const std::string long_input = "2026-07-23T14:47:51Z" + std::string(100, 'x');
  EXPECT_EQ(ParseRfc3339Micros(long_input).status().message(),
            absl::StrCat("invalid RFC 3339 timestamp \"", long_input.substr(0, 64),
                         "...\": unexpected data after the time zone"));
}

TEST(ParseRfc3339MicrosTest, EveryTruncationIsRejected) {
  constexpr std::string_view kFull = "2026-07-23T16:47:51.123456789+02:00";
  ASSERT_TRUE(ParseRfc3339Micros(kFull).ok());
  for (size_t len = 0; len < kFull.size(); ++len) {
    // Cutting right after the fraction still leaves no zone, so every prefix is invalid.
    EXPECT_FALSE(ParseRfc3339Micros(kFull.substr(0, len)).ok()) << kFull.substr(0, len);
  }
}

TEST(ParseRfc3339MicrosTest, RandomBytesNeverCrash) {
  std::mt19937_64 rng(99);
  const std::string kAlphabet = "0123456789-:.TtZz+ ";
  const std::string kValid = "2024-02-29T23:59:59.999999999-23:59";
  for (int iter = 0; iter < 50000; ++iter) {
    std::string text = kValid;
    for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0; --edits) {
      const size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0:
          text[at] = kAlphabet[rng() % kAlphabet.size()];
          break;
        case 1:
          text.resize(at + 1);
          break;
        default:
          text[at] = static_cast<char>(rng());
          break;
      }
    }
    absl::StatusOr<int64_t> micros = ParseRfc3339Micros(text);
    if (micros.ok()) {
      // Whatever parses must be a real instant that Abseil agrees on (modulo the offset).
      absl::Time t;
      std::string err;
      ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, text, &t, &err)) << text << ": " << err;
      ASSERT_EQ(*micros, absl::ToUnixMicros(t)) << text;
    } else {
      ASSERT_EQ(micros.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

// ------------------------------------------------------------------------------------------
// AppendMicroTime / FormatMicroTime
// ------------------------------------------------------------------------------------------

TEST(FormatMicroTimeTest, KnownInstants) {
  EXPECT_EQ(FormatMicroTime(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatMicroTime(1), "1970-01-01T00:00:00.000001Z");
  EXPECT_EQ(FormatMicroTime(1'784'818'071'123'456), "2026-07-23T14:47:51.123456Z");
  EXPECT_EQ(FormatMicroTime(951'782'400 * kSecond), "2000-02-29T00:00:00.000000Z");
  EXPECT_EQ(FormatMicroTime(-62'167'219'200 * kSecond), "0000-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatMicroTime(253'402'300'799'999'999), "9999-12-31T23:59:59.999999Z");
}

TEST(FormatMicroTimeTest, BeforeTheEpochUsesFloorDivision) {
  EXPECT_EQ(FormatMicroTime(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatMicroTime(-kSecond), "1969-12-31T23:59:59.000000Z");
  EXPECT_EQ(FormatMicroTime(-kSecond - 1), "1969-12-31T23:59:58.999999Z");
  EXPECT_EQ(FormatMicroTime(-kDay), "1969-12-31T00:00:00.000000Z");
  EXPECT_EQ(FormatMicroTime(-kDay - 1), "1969-12-30T23:59:59.999999Z");
  EXPECT_EQ(FormatMicroTime(-2'208'988'800 * kSecond + 500'000), "1900-01-01T00:00:00.500000Z");
}

TEST(FormatMicroTimeTest, AppendsToExistingContent) {
  std::string out = "ts=";
  AppendMicroTime(0, &out);
  AppendMicroTime(-1, &out);
  EXPECT_EQ(out, "ts=1970-01-01T00:00:00.000000Z1969-12-31T23:59:59.999999Z");
}

TEST(FormatMicroTimeTest, OutsideDocumentedRangeDoesNotCrash) {
  EXPECT_EQ(FormatMicroTime(-62'167'219'200 * kSecond - 1), "-0001-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatMicroTime(253'402'300'800 * kSecond), "10000-01-01T00:00:00.000000Z");
  // The extremes of int64 are about 292,000 years away; years this wide print the same in
  // Abseil's %E4Y as in Go's layout.
  EXPECT_EQ(FormatMicroTime(std::numeric_limits<int64_t>::min()),
            AbslFormat(std::numeric_limits<int64_t>::min()));
  EXPECT_EQ(FormatMicroTime(std::numeric_limits<int64_t>::max()),
            AbslFormat(std::numeric_limits<int64_t>::max()));
  EXPECT_EQ(FormatMicroTime(std::numeric_limits<int64_t>::max()), "294247-01-10T04:00:54.775807Z");
}

// ------------------------------------------------------------------------------------------
// Cross-checks against Abseil
// ------------------------------------------------------------------------------------------

TEST(MicroTimeCrossCheckTest, EveryDayFromYear0To9999MatchesAbseil) {
  // Walks every civil day with Abseil and checks both directions of our arithmetic at midnight
  // and one microsecond before it.
  const absl::CivilDay last(9999, 12, 31);
  int64_t micros = AbslMicros(0, 1, 1);
  char text[32];
  for (absl::CivilDay day(0, 1, 1); day <= last; ++day, micros += kDay) {
    const std::string formatted = FormatMicroTime(micros);
    absl::SNPrintF(text, sizeof(text), "%04d-%02d-%02dT00:00:00.000000Z", day.year(), day.month(),
                   day.day());
    ASSERT_EQ(formatted, text);
    ASSERT_EQ(ParseRfc3339Micros(formatted).value(), micros) << formatted;
    if (day.day() == 1 && day.year() > 0) {  // (absl writes year -1 as "-001", Go "-0001")
      ASSERT_EQ(FormatMicroTime(micros - 1), AbslFormat(micros - 1));
    }
  }
  EXPECT_EQ(micros, AbslMicros(10000, 1, 1));
}

TEST(MicroTimeCrossCheckTest, RandomInstantsFormatLikeAbseil) {
  std::mt19937_64 rng(20260723);
  const int64_t lo = AbslMicros(0, 1, 1);
  const int64_t hi = AbslMicros(10000, 1, 1) - 1;
  std::uniform_int_distribution<int64_t> any(lo, hi);
  std::uniform_int_distribution<int64_t> near_epoch(-100LL * 365 * kDay, 100LL * 365 * kDay);
  for (int iter = 0; iter < 200000; ++iter) {
    const int64_t micros = iter % 2 ? any(rng) : near_epoch(rng);
    const std::string formatted = FormatMicroTime(micros);
    ASSERT_EQ(formatted, AbslFormat(micros)) << micros;
    ASSERT_EQ(ParseRfc3339Micros(formatted).value(), micros) << formatted;  // round trip
  }
}

TEST(MicroTimeCrossCheckTest, RandomCivilTimesWithOffsetsParseLikeAbseil) {
  std::mt19937_64 rng(7);
  for (int iter = 0; iter < 200000; ++iter) {
    const int year = static_cast<int>(rng() % 10000);
    const int month = 1 + static_cast<int>(rng() % 12);
    const absl::CivilMonth civil_month(year, month);
    const int days =
        static_cast<int>(absl::CivilDay(civil_month + 1) - absl::CivilDay(civil_month));
    const int day = 1 + static_cast<int>(rng() % days);
    const int hour = static_cast<int>(rng() % 24);
    const int minute = static_cast<int>(rng() % 60);
    const int second = static_cast<int>(rng() % 60);
    const int64_t nanos = static_cast<int64_t>(rng() % 1'000'000'000);
    const int offset_minutes = static_cast<int>(rng() % (2 * 24 * 60 - 1)) - (24 * 60 - 1);
    const int frac_digits = static_cast<int>(rng() % 10);  // 0 = no fraction

    std::string text =
        absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d", year, month, day, hour, minute, second);
    int64_t frac_value = nanos;
    for (int k = frac_digits; k < 9; ++k) frac_value /= 10;
    if (frac_digits > 0) absl::StrAppendFormat(&text, ".%0*d", frac_digits, frac_value);
    if (offset_minutes == 0 && rng() % 2) {
      text += 'Z';
    } else {
      const int abs_offset = offset_minutes < 0 ? -offset_minutes : offset_minutes;
      absl::StrAppendFormat(&text, "%c%02d:%02d", offset_minutes < 0 ? '-' : '+', abs_offset / 60,
                            abs_offset % 60);
    }

    // Oracle: the civil time in a fixed zone, plus the truncated fraction.
    int64_t truncated_nanos = frac_value;
    for (int k = frac_digits; k < 9; ++k) truncated_nanos *= 10;
    const absl::TimeZone zone = absl::FixedTimeZone(offset_minutes * 60);
    const absl::Time t =
        absl::FromCivil(absl::CivilSecond(year, month, day, hour, minute, second), zone) +
        absl::Nanoseconds(truncated_nanos);
    ASSERT_EQ(ParseRfc3339Micros(text).value(), absl::ToUnixMicros(t)) << text;
  }
}

}  // namespace
}  // namespace kubetrail::audit
