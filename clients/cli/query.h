// `kubetrail query`: reads stored audit events from an aggregator (Query.Search,
// proto/kubetrail/v1/query.proto) and writes them as kube-apiserver wrote them.
//
//   QueryFilterFlags flags;
//   flags.since = "2h";
//   flags.users = {"alice,bob"};                    // comma-separated and/or repeated
//   absl::StatusOr<kubetrail::v1::Filter> filter = BuildFilter(flags, absl::Now());
//   if (!filter.ok()) ...                           // a usage error (kExitUsage)
//   QueryOptions options;
//   options.filter = *std::move(filter);
//   options.all = true;
//   auto stub = kubetrail::v1::Query::NewStub(*CreateServerChannel(server));
//   int code = RunQuery(options, server, *stub, std::cout, std::cerr);
//
// Behaviour (also in README.md):
//  * One Search call per page, each with its own deadline (ServerOptions::timeout) and the
//    bearer token. Without `all`, one page of `limit` events; when the server says more
//    events match, the hint `kubetrail: more events match; use --all or --limit N` goes to
//    `err` and the exit code stays 0. With `all`, pages of `page_size` events follow the
//    cursor until the server says there are no more (the pages read one snapshot of the
//    store, so nothing is repeated or skipped while events arrive).
//  * Output is written as each chunk arrives (see AppendQueryOutput for the formats).
//  * A failed call: the events received before it stay written, then one line
//    `kubetrail: SERVER: CODE: message` on `err`; exit 2 for INVALID_ARGUMENT (the server
//    refused a filter value such as `--code 4x`), 1 otherwise (connection, deadline,
//    authentication ...). A failed write to `out`: `kubetrail: cannot write output`, exit 1.
//
// Thread safety: the functions keep no state between calls; concurrent calls must not share
// streams.
#ifndef KUBETRAIL_CLIENTS_CLI_QUERY_H_
#define KUBETRAIL_CLIENTS_CLI_QUERY_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "clients/cli/connection.h"
#include "kubetrail/v1/query.grpc.pb.h"
#include "kubetrail/v1/query.pb.h"

namespace kubetrail::cli {

// The largest page the aggregator serves (SearchRequest.limit).
inline constexpr int kMaxQueryLimit = 100'000;

// How `kubetrail query` writes each event.
enum class QueryFormat {
  kJsonLines,  // the audit.k8s.io/v1 Event alone, as kube-apiserver's log backend writes it
  kJson,       // an envelope object holding the event (see AppendQueryOutput)
};

// Parses an `-o` value: "jsonl" or "json". InvalidArgument for anything else.
absl::Status ParseQueryFormat(std::string_view name, QueryFormat* format);

// Parses an `--order` value: "asc" (oldest first) or "desc" (newest first).
absl::Status ParseQueryOrder(std::string_view name, kubetrail::v1::Order* order);

// The filter flags of `kubetrail query` as given on the command line, not yet parsed. Every
// list flag may be repeated, and each value may hold several alternatives separated by ','.
struct QueryFilterFlags {
  // Time flags; empty: not given. `since` is a duration back from now ("2h", "90m", "7d",
  // "1d12h"); `from` / `to` are times (ParseTimeFlag). `since` excludes `from` and `to`.
  std::string since;
  std::string from;
  std::string to;
  // Filter lists (see kubetrail.v1.Filter for their matching). An empty alternative is
  // allowed only in `namespaces` (no namespace) and `api_groups` (the core group).
  std::vector<std::string> clusters;
  std::vector<std::string> users;
  std::vector<std::string> impersonated_users;
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

// Parses a `--since` duration: what absl::ParseDuration accepts ("2h", "1h30m", "90s") with
// a leading day count allowed ("7d", "1.5d", "1d12h"; a day is 24 h). Must be positive.
// InvalidArgument otherwise.
absl::StatusOr<absl::Duration> ParseSince(std::string_view text);

// Parses a `--from` / `--to` time into microseconds since the Unix epoch:
//  * RFC 3339, with optional fractional seconds and a Z or numeric offset
//    ("2026-11-27T10:00:00Z", "2026-11-27T10:00:00.5+01:00"); digits beyond microseconds
//    are truncated;
//  * a plain date "2026-11-27": midnight UTC;
//  * "now", or "now-DURATION" with a ParseSince duration ("now-2h"), relative to `now`.
// InvalidArgument otherwise.
absl::StatusOr<int64_t> ParseTimeFlag(std::string_view text, absl::Time now);

// The wire Filter for `flags`: list values split at ',' and copied in order; the time range
// [from, to) from `since` (from = now - since) or `from` / `to`; no time flag: all time.
// InvalidArgument, naming the flag, for an unparsable time or duration, `since` together with
// `from` or `to`, `to` not after `from`, or an empty alternative where none is allowed.
// Other values (codes, resource patterns) are checked by the server.
absl::StatusOr<kubetrail::v1::Filter> BuildFilter(const QueryFilterFlags& flags, absl::Time now);

struct QueryOptions {
  // What to select. Default: everything.
  kubetrail::v1::Filter filter;
  // Default: oldest first.
  kubetrail::v1::Order order = kubetrail::v1::ORDER_ASCENDING;
  // Events to write without `all`: 1-kMaxQueryLimit. Default: 100.
  int limit = 100;
  // Page through every matching event (`limit` is then not used). Default: false.
  bool all = false;
  // Events per Search call with `all`: 1-kMaxQueryLimit. Default: 1000.
  int page_size = 1000;
  // Default: kJsonLines.
  QueryFormat format = QueryFormat::kJsonLines;
};

// Appends one output line for `event`, '\n' included:
//  * kJsonLines: audit::AppendEventJson of the event: exactly the line kube-apiserver wrote.
//  * kJson: {"cluster":"…","source":"…","event":{…},"receive_time":"…","sequence":N}, the
//    envelope's cluster and source, the event as for kJsonLines, the time kubetrail received
//    it (RFC 3339, UTC, microseconds: 2026-11-27T10:00:00.123456Z) and its ingest sequence
//    number in the aggregator's store (a JSON integer; may exceed 2^53).
void AppendQueryOutput(const kubetrail::v1::StoredEvent& event, QueryFormat format,
                       std::string* out);

// Runs `kubetrail query` against `stub` (calls carry server.timeout and server.token;
// server.server names the aggregator in messages). Returns the exit code (exit_codes.h):
// kExitOk, kExitFailure, or kExitUsage for options out of range or INVALID_ARGUMENT from the
// server. Events go to `out`, diagnostics to `err`.
int RunQuery(const QueryOptions& options, const ServerOptions& server,
             kubetrail::v1::Query::StubInterface& stub, std::ostream& out, std::ostream& err);

}  // namespace kubetrail::cli

#endif  // KUBETRAIL_CLIENTS_CLI_QUERY_H_
