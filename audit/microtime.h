// Kubernetes MicroTime: RFC 3339 timestamps with microsecond precision.
//
//   absl::StatusOr<int64_t> us = ParseRfc3339Micros("2026-07-23T16:47:51.123456789+02:00");
//   std::string s; AppendMicroTime(*us, &s);   // "2026-07-23T14:47:51.123456Z"
//
// Thread safety: pure functions.
#ifndef KUBETRAIL_AUDIT_MICROTIME_H_
#define KUBETRAIL_AUDIT_MICROTIME_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace kubetrail::audit {

// Parses any RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS[.F{1,9}](Z|±HH:MM)`; `T`/`Z` may be
// lower case. Returns microseconds since the Unix epoch in UTC; fractional digits beyond the
// sixth are truncated (not rounded), as Go's MicroTime does when re-encoding. Years 0000-9999.
// Rejects out-of-range fields (month 13, Feb 30, hour 24, second 60, offset hour > 23) with
// InvalidArgument naming what was wrong.
absl::StatusOr<int64_t> ParseRfc3339Micros(std::string_view text);

// Appends `micros` as MicroTime writes it: UTC, exactly six fractional digits, `Z` suffix
// (layout 2006-01-02T15:04:05.000000Z). No quotes. Defined for years 0000-9999.
void AppendMicroTime(int64_t micros, std::string* out);

// Convenience wrapper around AppendMicroTime.
std::string FormatMicroTime(int64_t micros);

}  // namespace kubetrail::audit

#endif  // KUBETRAIL_AUDIT_MICROTIME_H_
