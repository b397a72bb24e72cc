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
//   absl::StatusOr<kubetrail::Client> client = kubetrail::Client::Connect(server);
//   int code = RunQuery(options, *client, std::cout, std::cerr);
//
// Behaviour (also in README.md):
//  * One Search call per page, each with its own deadline (ServerOptions::timeout) and the
//    bearer token. Without `all`, one page of `limit` events; when the server says more
//    events match, the hint `kubetrail: more events match; use --all or --limit N` goes to
//    `err` and the exit code stays 0. With `all`, pages of `page_size` events follow the
//    cursor until the server says there are no more (the pages read one snapshot of the
//    store, so nothing is repeated or skipped while events arrive).
//  * Output goes through an EventPrinter (output.h), written in pieces of about 1000 events
//    (table widths are computed per piece and never shrink).
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
#include "clients/cli/output.h"
#include "kubetrail/client.h"
#include "kubetrail/filter.h"
#include "kubetrail/v1/query.pb.h"

namespace kubetrail::cli {

// The largest page the aggregator serves (SearchRequest.limit).
inline constexpr int kMaxQueryLimit = 100'000;

// Parses an `--order` value: "asc" (oldest first) or "desc" (newest first).
absl::Status ParseQueryOrder(std::string_view name, kubetrail::v1::Order* order);

// The filter flags as given on the command line: the C++ client library's type, so that the
// CLI and programs build filters by the same rules (kubetrail/filter.h: BuildFilter,
// ParseSince, ParseTimeFlag).
using QueryFilterFlags = kubetrail::FilterFlags;
using kubetrail::BuildFilter;
using kubetrail::ParseSince;
using kubetrail::ParseTimeFlag;

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
  // Default: a table, times in UTC.
  EventFormat format = EventFormat::kTable;
  OutputOptions output;
};

// Writes every event of `it` through `printer` to `out`, in pieces of 1000 events (table
// widths are computed per piece). False, after `PREFIXcannot write output` on `err`, when
// `out` failed; the iterator's own status is left to the caller.
bool WriteSearchResults(kubetrail::SearchIterator& it, EventPrinter& printer,
                        std::string_view prefix, std::ostream& out, std::ostream& err);

// Runs `kubetrail query` through `client` (its options name the server in messages). Returns the exit code (exit_codes.h):
// kExitOk, kExitFailure, or kExitUsage for options out of range or INVALID_ARGUMENT from the
// server. Events go to `out`, diagnostics to `err`.
int RunQuery(const QueryOptions& options, const kubetrail::Client& client, std::ostream& out,
             std::ostream& err);

}  // namespace kubetrail::cli

#endif  // KUBETRAIL_CLIENTS_CLI_QUERY_H_
