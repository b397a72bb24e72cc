// -----------------------------------------------------------------------------
// File: filter.h
// -----------------------------------------------------------------------------
//
// What a query asks for: `Filter` (plain data, built by the CLI, the client library and the
// aggregator's query service), its validated form `CompiledFilter`, and `Matches`, the one
// definition of which events a filter selects. Every EventStore implementation answers
// exactly the events `Matches` accepts; the RocksDB store uses indexes to find them faster.
//
//   Filter f;
//   f.from_us = now - 2h; f.users = {"system:serviceaccount:kube-system:*"};
//   f.resources = {"secrets"}; f.verbs = {"delete", "patch"}; f.codes = {"2xx"};
//   KT_ASSIGN_OR_RETURN(CompiledFilter compiled, CompileFilter(f));
//   if (Matches(compiled, event, EventTimeMicros(event))) ...
//
// Semantics: every list is a set of alternatives (OR); different fields combine with AND; an
// empty list or string places no constraint. A field the event lacks compares as "".
#ifndef KUBETRAIL_STORAGE_FILTER_H_
#define KUBETRAIL_STORAGE_FILTER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kubetrail/v1/event.pb.h"

namespace kubetrail::storage {

// When a query gives up before it is done: not a condition on events, but its caller's
// deadline (an RPC's) and whether the caller went away. A store looks at it before it starts
// and then as it scans, every few hundred events, and ends the query with DeadlineExceeded or
// Cancelled, so that a scan nobody waits for any more stops using the disk and the CPU.
struct QueryStop {
  absl::Time deadline = absl::InfiniteFuture();
  // May be empty; called on the thread running the query.
  std::function<bool()> cancelled;

  // OK while the query may go on.
  absl::Status Check() const;
};

// An event's time, the key of every time range and of time order: its
// requestReceivedTimestamp; when absent its stageTimestamp (a v1beta1 event's `timestamp`
// has already been mapped to requestReceivedTimestamp by the codec); when both are absent,
// the envelope's receive time.
int64_t EventTimeMicros(const kubetrail::v1::EnvelopedEvent& event);

struct Filter {
  // Time range [from_us, to_us), microseconds since the Unix epoch; either end may be open.
  std::optional<int64_t> from_us;
  std::optional<int64_t> to_us;

  // Envelope cluster names, exact.
  std::vector<std::string> clusters;
  // user.username: exact, or a prefix when the value ends in '*'
  // ("system:serviceaccount:kube-system:*"). A lone "*" matches every event that has a user.
  std::vector<std::string> users;
  // impersonatedUser.username, as `users`.
  std::vector<std::string> impersonated_users;
  // user.groups: the event matches when any of its groups is listed (exact).
  std::vector<std::string> groups;
  // verb, exact ("get", "list", "delete", ...).
  std::vector<std::string> verbs;
  // objectRef.namespace, exact; "" selects events without a namespace.
  std::vector<std::string> namespaces;
  // objectRef resource patterns:
  //   "pods"              resource pods in any API group, no subresource
  //   "pods/log"          subresource log of pods, any API group
  //   "pods/*"            pods with or without any subresource
  //   "*/status"          subresource status of any resource
  //   "deployments.apps"  resource deployments of API group apps (no subresource);
  //                       "deployments.apps/scale" likewise with a subresource
  std::vector<std::string> resources;
  // objectRef.apiGroup, exact; "" is the core group.
  std::vector<std::string> api_groups;
  // objectRef.name, exact.
  std::vector<std::string> names;
  // responseStatus.code: exact ("403") or a class ("4xx"). Events without a code (stage
  // RequestReceived) match no code filter.
  std::vector<std::string> codes;
  // stage and level names, exact ("ResponseComplete", "Metadata").
  std::vector<std::string> stages;
  std::vector<std::string> levels;
  // auditID, exact.
  std::vector<std::string> audit_ids;
  // sourceIPs: the event matches when any of its source IPs is listed (exact text).
  std::vector<std::string> source_ips;
  // Case-sensitive substring of userAgent.
  std::string user_agent_substring;

  // Not a condition on events: when to give up (Search, Count, Top and Histogram).
  QueryStop stop;
};

// A pattern on a string field: exact value or prefix.
struct StringPattern {
  std::string text;
  bool prefix = false;
  bool MatchesText(std::string_view value) const;
};

// A resource pattern, parsed. Empty optionals are wildcards.
struct ResourcePattern {
  std::optional<std::string> resource;     // nullopt: any resource ("*")
  std::optional<std::string> api_group;    // nullopt: any group
  std::optional<std::string> subresource;  // nullopt: any ("/*"); "" none
  bool MatchesParts(std::string_view resource_name, std::string_view group,
                    std::string_view subresource_name) const;
};

// A code constraint: [min, max].
struct CodeRange {
  int32_t min = 0;
  int32_t max = 0;
};

// A validated Filter. Build with CompileFilter; cheap to copy.
struct CompiledFilter {
  Filter source;
  int64_t from_us = INT64_MIN;  // inclusive
  int64_t to_us = INT64_MAX;    // exclusive
  std::vector<StringPattern> users;
  std::vector<StringPattern> impersonated_users;
  std::vector<ResourcePattern> resources;
  std::vector<CodeRange> codes;
  // True when no time range is empty or inverted; false means nothing can match.
  bool satisfiable = true;
};

// Validates `filter`: codes must be three digits or a digit and "xx"; resource patterns must
// be well formed; no value may be empty except namespaces and api_groups (where "" means
// none / the core group). Errors are InvalidArgument naming the field and value.
absl::StatusOr<CompiledFilter> CompileFilter(const Filter& filter);

// True when `event` (whose time is `time_us`, see EventTimeMicros) satisfies `filter`.
bool Matches(const CompiledFilter& filter, const kubetrail::v1::EnvelopedEvent& event,
             int64_t time_us);

// Formats a resource as the query syntax names it: "pods", "pods/log", "deployments.apps",
// "deployments.apps/scale". Used as the Top-N key for resources.
std::string ResourceKey(std::string_view resource, std::string_view api_group,
                        std::string_view subresource);

}  // namespace kubetrail::storage

#endif  // KUBETRAIL_STORAGE_FILTER_H_
