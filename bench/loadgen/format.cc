#include "bench/loadgen/format.h"

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "bench/loadgen/rng.h"

namespace kubetrail::loadgen {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr std::string_view kNameAlphabet = "bcdfghjklmnpqrstvwxz2456789";

// Appends `value` as exactly `width` decimal digits (value < 10^width).
void AppendPadded(int64_t value, int width, std::string* out) {
  char buf[12];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out->append(buf, static_cast<size_t>(width));
}

// Floor division, so that times before 1970 still map to the right calendar day.
int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

void AppendUuid(uint64_t hi, uint64_t lo, std::string* out) {
  hi = (hi & ~uint64_t{0xF000}) | uint64_t{0x4000};           // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // variant 10xx
  char buf[36];
  int pos = 0;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) buf[pos++] = '-';
    const uint64_t word = i < 16 ? hi : lo;
    const int shift = 60 - 4 * (i % 16);
    buf[pos++] = kHexDigits[(word >> shift) & 0xF];
  }
  out->append(buf, sizeof(buf));
}

void AppendRfc3339(int64_t micros, bool with_micros, std::string* out) {
  const int64_t secs = FloorDiv(micros, 1000000);
  const int64_t frac = micros - secs * 1000000;
  const int64_t days = FloorDiv(secs, 86400);
  int64_t rem = secs - days * 86400;
  // Civil date from days since 1970-01-01 (H. Hinnant's civil_from_days algorithm).
  const int64_t z = days + 719468;
  const int64_t era = FloorDiv(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  AppendPadded(year, 4, out);
  out->push_back('-');
  AppendPadded(month, 2, out);
  out->push_back('-');
  AppendPadded(day, 2, out);
  out->push_back('T');
  AppendPadded(rem / 3600, 2, out);
  rem %= 3600;
  out->push_back(':');
  AppendPadded(rem / 60, 2, out);
  out->push_back(':');
  AppendPadded(rem % 60, 2, out);
  if (with_micros) {
    out->push_back('.');
    AppendPadded(frac, 6, out);
  }
  out->push_back('Z');
}

std::string FormatRfc3339(int64_t micros, bool with_micros) {
  std::string out;
  AppendRfc3339(micros, with_micros, &out);
  return out;
}

void AppendGoDuration(int64_t nanos, std::string* out) {
  // A transcription of Go's time.Duration.format: the text is built backwards from the end
  // of a buffer, the fraction without trailing zeros.
  char buf[40];
  int w = sizeof(buf);
  uint64_t u = nanos < 0 ? 0 - static_cast<uint64_t>(nanos) : static_cast<uint64_t>(nanos);
  auto fmt_frac = [&](int prec) {
    bool print = false;
    for (int i = 0; i < prec; ++i) {
      const uint64_t digit = u % 10;
      print = print || digit != 0;
      if (print) buf[--w] = static_cast<char>('0' + digit);
      u /= 10;
    }
    if (print) buf[--w] = '.';
  };
  auto fmt_int = [&](uint64_t v) {
    if (v == 0) {
      buf[--w] = '0';
      return;
    }
    while (v > 0) {
      buf[--w] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
  };
  if (u < 1000000000) {
    buf[--w] = 's';
    if (u == 0) {
      buf[--w] = '0';
      out->append(buf + w, sizeof(buf) - static_cast<size_t>(w));
      return;
    }
    int prec;
    if (u < 1000) {
      prec = 0;
      buf[--w] = 'n';
    } else if (u < 1000000) {
      prec = 3;
      buf[--w] = '\xB5';  // U+00B5 MICRO SIGN as UTF-8: C2 B5
      buf[--w] = '\xC2';
    } else {
      prec = 6;
      buf[--w] = 'm';
    }
    fmt_frac(prec);
    fmt_int(u);
  } else {
    buf[--w] = 's';
    fmt_frac(9);
    fmt_int(u % 60);
    u /= 60;
    if (u > 0) {
      buf[--w] = 'm';
      fmt_int(u % 60);
      u /= 60;
      if (u > 0) {
        buf[--w] = 'h';
        fmt_int(u);
      }
    }
  }
  if (nanos < 0) buf[--w] = '-';
  out->append(buf + w, sizeof(buf) - static_cast<size_t>(w));
}

void AppendInt(int64_t value, std::string* out) {
  char buf[24];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), value);
  out->append(buf, static_cast<size_t>(r.ptr - buf));
}

void AppendHex(uint64_t value, int digits, std::string* out) {
  for (int i = digits - 1; i >= 0; --i) out->push_back(kHexDigits[(value >> (4 * i)) & 0xF]);
}

void AppendNameSuffix(uint64_t bits, int length, std::string* out) {
  for (int i = 0; i < length; ++i) {
    out->push_back(kNameAlphabet[bits % kNameAlphabet.size()]);
    bits /= kNameAlphabet.size();
  }
}

uint64_t HashName(std::string_view text, uint64_t salt) {
  uint64_t h = 0xcbf29ce484222325ULL ^ salt;
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return Mix64(h);
}

}  // namespace kubetrail::loadgen
