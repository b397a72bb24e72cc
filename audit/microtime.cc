// Kubernetes MicroTime parsing and formatting (see microtime.h).
//
// Hand-written rather than absl::ParseTime/FormatTime: both directions run for every event
// (requestReceivedTimestamp, stageTimestamp), and a fixed-layout scanner plus Howard Hinnant's
// branch-light calendar arithmetic is an order of magnitude cheaper than a general time library.
#include "audit/microtime.h"

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace kubetrail::audit {
namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kSecondsPerDay = 86'400;
constexpr int64_t kMicrosPerDay = kMicrosPerSecond * kSecondsPerDay;

// Days since 1970-01-01 of the proleptic Gregorian date y-m-d (Howard Hinnant,
// "chrono-Compatible Low-Level Date Algorithms", days_from_civil). Eras are 400-year cycles
// starting on March 1st, so the leap day is the last day of the shifted year.
constexpr int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;                                    // [0, 399]
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            // [0, 146096]
  return era * 146097 + doe - 719468;
}

struct CivilDate {
  int64_t year;
  int month;  // 1-12
  int day;    // 1-31
};

// The inverse of DaysFromCivil (civil_from_days).
constexpr CivilDate CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;                                       // [0, 146096]
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  const int64_t mp = (5 * doy + 2) / 153;                                     // [0, 11]
  const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return CivilDate{yoe + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

static_assert(DaysFromCivil(1970, 1, 1) == 0);
static_assert(DaysFromCivil(2000, 3, 1) == 11017);
static_assert(CivilFromDays(11017).year == 2000 && CivilFromDays(11017).month == 3);

constexpr bool IsLeapYear(int y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

constexpr int DaysInMonth(int y, int m) {
  constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

// The value of the two ASCII digits at p, or -1 if either is not a digit.
inline int TwoDigits(const char* p) {
  const unsigned a = static_cast<unsigned char>(p[0]) - unsigned{'0'};
  const unsigned b = static_cast<unsigned char>(p[1]) - unsigned{'0'};
  if (a > 9 || b > 9) return -1;
  return static_cast<int>(a * 10 + b);
}

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// `invalid RFC 3339 timestamp "<text>": <problem>`. The input is C-escaped (it may be any
// bytes) and cut at 64 bytes so a garbage value cannot blow up an error message.
absl::Status Invalid(absl::string_view text, absl::string_view problem) {
  constexpr size_t kMaxQuoted = 64;
  const bool cut = text.size() > kMaxQuoted;
  return absl::InvalidArgumentError(absl::StrCat("invalid RFC 3339 timestamp \"",
                                                 absl::CHexEscape(text.substr(0, kMaxQuoted)),
                                                 cut ? "..." : "", "\": ", problem));
}

// Writes v (0 <= v < 10^width) as exactly `width` decimal digits at p.
inline void PutDigits(char* p, int64_t v, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

}  // namespace

absl::StatusOr<int64_t> ParseRfc3339Micros(std::string_view input) {
  // Debian's Abseil has its own string_view type, which std::string_view does not convert to.
  const absl::string_view text(input.data(), input.size());
  const char* p = text.data();
  const size_t n = text.size();
  // The fixed part "YYYY-MM-DDTHH:MM:SS" is 19 bytes; everything after it is bounds checked.
  if (n < 19) return Invalid(text, "too short (expected YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM))");

  const int y_hi = TwoDigits(p);
  const int y_lo = TwoDigits(p + 2);
  if (y_hi < 0 || y_lo < 0) return Invalid(text, "expected a 4-digit year");
  const int year = y_hi * 100 + y_lo;
  if (p[4] != '-') return Invalid(text, "expected '-' after the year");
  const int month = TwoDigits(p + 5);
  if (month < 0) return Invalid(text, "expected a 2-digit month");
  if (p[7] != '-') return Invalid(text, "expected '-' after the month");
  const int day = TwoDigits(p + 8);
  if (day < 0) return Invalid(text, "expected a 2-digit day");
  if (p[10] != 'T' && p[10] != 't') return Invalid(text, "expected 'T' between date and time");
  const int hour = TwoDigits(p + 11);
  if (hour < 0) return Invalid(text, "expected a 2-digit hour");
  if (p[13] != ':') return Invalid(text, "expected ':' after the hour");
  const int minute = TwoDigits(p + 14);
  if (minute < 0) return Invalid(text, "expected a 2-digit minute");
  if (p[16] != ':') return Invalid(text, "expected ':' after the minute");
  const int second = TwoDigits(p + 17);
  if (second < 0) return Invalid(text, "expected a 2-digit second");

  if (month < 1 || month > 12) return Invalid(text, "month out of range");
  if (day < 1 || day > DaysInMonth(year, month)) return Invalid(text, "day out of range");
  if (hour > 23) return Invalid(text, "hour out of range");
  if (minute > 59) return Invalid(text, "minute out of range");
  if (second > 59) return Invalid(text, "second out of range");

  // Optional fraction: 1-9 digits, of which the first six count (truncated, not rounded).
  size_t i = 19;
  int64_t fraction_micros = 0;
  if (i < n && p[i] == '.') {
    const size_t first = ++i;
    while (i < n && IsDigit(p[i])) ++i;
    const size_t digits = i - first;
    if (digits == 0) return Invalid(text, "expected 1-9 fractional digits after '.'");
    if (digits > 9) return Invalid(text, "more than 9 fractional digits");
    for (size_t k = 0; k < 6; ++k) {
      fraction_micros = fraction_micros * 10 + (k < digits ? p[first + k] - '0' : 0);
    }
  }

  // Zone: Z or ±HH:MM.
  if (i == n) return Invalid(text, "missing time zone (expected 'Z' or ±HH:MM)");
  int64_t offset_seconds = 0;
  if (p[i] == 'Z' || p[i] == 'z') {
    ++i;
  } else if (p[i] == '+' || p[i] == '-') {
    if (n - i < 6) return Invalid(text, "expected a ±HH:MM offset");
    const int offset_hours = TwoDigits(p + i + 1);
    const int offset_minutes = TwoDigits(p + i + 4);
    if (offset_hours < 0 || p[i + 3] != ':' || offset_minutes < 0) {
      return Invalid(text, "expected a ±HH:MM offset");
    }
    if (offset_hours > 23) return Invalid(text, "offset hour out of range");
    if (offset_minutes > 59) return Invalid(text, "offset minute out of range");
    offset_seconds = (p[i] == '-' ? -1 : 1) * (offset_hours * 3600 + offset_minutes * 60);
    i += 6;
  } else {
    return Invalid(text, "expected 'Z' or a ±HH:MM offset after the time");
  }
  if (i != n) return Invalid(text, "unexpected data after the time zone");

  // Local time minus its offset is UTC. Years 0-9999 keep this far inside int64.
  const int64_t seconds = DaysFromCivil(year, month, day) * kSecondsPerDay + hour * 3600 +
                          minute * 60 + second - offset_seconds;
  return seconds * kMicrosPerSecond + fraction_micros;
}

void AppendMicroTime(int64_t micros, std::string* out) {
  // Floor division, so instants before 1970 land on the previous day with a positive
  // time of day. Written to avoid overflow even for INT64_MIN.
  int64_t days = micros / kMicrosPerDay;
  int64_t micros_of_day = micros % kMicrosPerDay;
  if (micros_of_day < 0) {
    --days;
    micros_of_day += kMicrosPerDay;
  }
  const CivilDate date = CivilFromDays(days);
  const int64_t second_of_day = micros_of_day / kMicrosPerSecond;
  const int64_t fraction = micros_of_day % kMicrosPerSecond;

  // Layout 2006-01-02T15:04:05.000000Z, built in a buffer and appended at once.
  char buf[27];
  const bool four_digit_year = date.year >= 0 && date.year <= 9999;
  if (four_digit_year) {
    PutDigits(buf, date.year, 4);
  } else {
    // Outside the documented range; write what Go would ("-0001", "12345") without crashing.
    out->append(date.year < 0 ? absl::StrFormat("-%04d", -date.year)
                              : absl::StrFormat("%d", date.year));
  }
  buf[4] = '-';
  PutDigits(buf + 5, date.month, 2);
  buf[7] = '-';
  PutDigits(buf + 8, date.day, 2);
  buf[10] = 'T';
  PutDigits(buf + 11, second_of_day / 3600, 2);
  buf[13] = ':';
  PutDigits(buf + 14, second_of_day / 60 % 60, 2);
  buf[16] = ':';
  PutDigits(buf + 17, second_of_day % 60, 2);
  buf[19] = '.';
  PutDigits(buf + 20, fraction, 6);
  buf[26] = 'Z';
  const size_t skip = four_digit_year ? 0 : 4;  // the year was appended separately
  out->append(buf + skip, sizeof(buf) - skip);
}

std::string FormatMicroTime(int64_t micros) {
  std::string s;
  AppendMicroTime(micros, &s);
  return s;
}

}  // namespace kubetrail::audit
