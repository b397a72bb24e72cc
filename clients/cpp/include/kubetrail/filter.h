// Building a query filter (kubetrail.v1.Filter) from text, as the `kubetrail` CLI does from
// its flags: one type and one set of rules for the CLI, the C++ client library and any
// program that takes filters from people.
//
//   kubetrail::FilterFlags flags;
//   flags.since = "2h";
//   flags.users = {"alice,system:serviceaccount:kube-system:*"};  // ',' separates alternatives
//   flags.codes = {"4xx"};
//   absl::StatusOr<kubetrail::v1::Filter> filter = kubetrail::BuildFilter(flags, absl::Now());
//   if (!filter.ok()) ...          // InvalidArgument naming the flag: a usage error
//
// Matching (what each field selects) is the aggregator's: see the comments of message Filter
// in kubetrail/v1/query.proto. Values such as codes and resource patterns are checked by the
// server (INVALID_ARGUMENT).
//
// Thread safety: pure functions.
#ifndef KUBETRAIL_CLIENTS_CPP_INCLUDE_KUBETRAIL_FILTER_H_
#define KUBETRAIL_CLIENTS_CPP_INCLUDE_KUBETRAIL_FILTER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kubetrail/v1/query.pb.h"

namespace kubetrail {

// A filter as text, not yet parsed: the `kubetrail query` flags. Every list may hold several
// values, and each value several alternatives separated by ','. Error messages name the
// fields by their CLI flag (`--user`, `--since`, ...).
struct FilterFlags {
  // Time; empty: not given. `since` is a duration back from now ("2h", "90m", "7d",
  // "1d12h"); `from` / `to` are times (ParseTimeFlag). `since` excludes `from` and `to`.
  std::string since;
  std::string from;
  std::string to;
  // Lists (kubetrail.v1.Filter for their matching). An empty alternative is allowed only in
  // `namespaces` (no namespace) and `api_groups` (the core group).
  std::vector<std::string> clusters;
  std::vector<std::string> users;               // --user: exact, or a prefix ending in '*'
  std::vector<std::string> impersonated_users;  // --as
  std::vector<std::string> groups;
  std::vector<std::string> verbs;
  std::vector<std::string> namespaces;
  std::vector<std::string> resources;
  std::vector<std::string> api_groups;
  std::vector<std::string> names;
  std::vector<std::string> codes;
  std::vector<std::string> stages;
  std::vector<std::string> levels;
  std::vector<std::string> audit_ids;
  std::vector<std::string> source_ips;
  // Case-sensitive substring of userAgent; one value, commas included. Empty: any.
  std::string user_agent;
};

// Parses a duration back from now: what absl::ParseDuration accepts ("2h", "1h30m", "90s")
// with a leading day count allowed ("7d", "1.5d", "1d12h"; a day is 24 h). Must be positive.
// InvalidArgument otherwise.
absl::StatusOr<absl::Duration> ParseSince(std::string_view text);

// Parses a time into microseconds since the Unix epoch:
//  * RFC 3339, with optional fractional seconds and a Z or numeric offset
//    ("2026-11-27T10:00:00Z", "2026-11-27T10:00:00.5+01:00"); digits beyond microseconds
//    are truncated;
//  * a plain date "2026-11-27": midnight UTC;
//  * "now", or "now-DURATION" with a ParseSince duration ("now-2h"), relative to `now`.
// InvalidArgument otherwise.
absl::StatusOr<int64_t> ParseTimeFlag(std::string_view text, absl::Time now);

// The wire Filter for `flags`: list values split at ',' and copied in order; the time range
// [from, to) from `since` (from = now - since) or `from` / `to`; no time: all time.
// InvalidArgument, naming the flag, for an unparsable time or duration, `since` together with
// `from` or `to`, `to` not after `from`, or an empty alternative where none is allowed.
absl::StatusOr<kubetrail::v1::Filter> BuildFilter(const FilterFlags& flags, absl::Time now);

}  // namespace kubetrail

#endif  // KUBETRAIL_CLIENTS_CPP_INCLUDE_KUBETRAIL_FILTER_H_
