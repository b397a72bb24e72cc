// Text formats that Kubernetes objects and audit events use: UUIDs, RFC 3339 timestamps at
// second and microsecond precision, Go durations and the random name suffixes of generated
// object names. All are integer-only and deterministic.
//
//   std::string s;
//   AppendUuid(rng.Next(), rng.Next(), &s);        // "3f0c2a9e-4b1d-4c7a-9e2f-0b8d6c5a4e31"
//   AppendRfc3339(t_us, /*micros=*/false, &s);      // "2026-11-01T00:00:00Z"
//   AppendGoDuration(561927, &s);                   // "561.927µs"
//   AppendNameSuffix(rng.Next(), 5, &s);            // "xk2p9"
#ifndef KUBETRAIL_BENCH_LOADGEN_FORMAT_H_
#define KUBETRAIL_BENCH_LOADGEN_FORMAT_H_

#include <charconv>
#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>

namespace kubetrail::loadgen {

// Appends a version-4 UUID built from 128 random bits (hi, lo): the version nibble and the
// RFC 4122 variant bits are forced, the other 122 bits come from the input.
void AppendUuid(uint64_t hi, uint64_t lo, std::string* out);

// Appends `micros` (since the Unix epoch) as RFC 3339 UTC: `2026-11-01T00:00:00Z`, or with
// exactly six fractional digits when `with_micros` (Kubernetes MicroTime).
void AppendRfc3339(int64_t micros, bool with_micros, std::string* out);
std::string FormatRfc3339(int64_t micros, bool with_micros);

// Appends `nanos` as Go's time.Duration.String() does: "0s", "850ns", "561.927µs" (with the
// non-ASCII micro sign U+00B5), "3.5ms", "7.85594907s", "5m12.004s", "1h2m0.5s".
void AppendGoDuration(int64_t nanos, std::string* out);

// Appends `value` in decimal.
void AppendInt(int64_t value, std::string* out);

// Appends `digits` lower-case hex digits of `value` (most significant first).
void AppendHex(uint64_t value, int digits, std::string* out);

// Appends `length` (<= 12) characters drawn from `bits` in the alphabet Kubernetes uses for
// generated names ("bcdfghjklmnpqrstvwxz2456789": no vowels, no confusable digits).
void AppendNameSuffix(uint64_t bits, int length, std::string* out);

// StrCat / StrAppend for std::string_view and integers. (Debian's Abseil 20220623 has its
// own absl::string_view, which absl::StrCat does not accept as std::string_view.)
namespace internal {
inline void AppendPiece(std::string* out, std::string_view s) { out->append(s); }
template <typename T>
requires std::integral<T> &&
    (!std::same_as<T, char>)&&(!std::same_as<T, bool>)void AppendPiece(std::string* out, T value) {
  char buf[24];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), value);
  out->append(buf, static_cast<size_t>(r.ptr - buf));
}
}  // namespace internal

template <typename... Args>
void StrAppend(std::string* out, const Args&... args) {
  (internal::AppendPiece(out, args), ...);
}

template <typename... Args>
std::string StrCat(const Args&... args) {
  std::string out;
  StrAppend(&out, args...);
  return out;
}

// A stable 64-bit hash of `text` (FNV-1a, then mixed), salted; used to derive per-object
// values (uids, hashes) that stay the same every time an object is mentioned.
uint64_t HashName(std::string_view text, uint64_t salt);

}  // namespace kubetrail::loadgen

#endif  // KUBETRAIL_BENCH_LOADGEN_FORMAT_H_
