// `kubetrail count`, `top`, `histogram` and `status`: the aggregator's summary calls
// (Query.Count, Top, Histogram; Admin.Stats and grpc.health.v1), written through output.h.
//
//   ReportOptions options;
//   options.filter = *BuildFilter(flags, absl::Now());
//   options.format = EventFormat::kTable;
//   int code = RunTop(options, kubetrail::v1::DIMENSION_USER, 10, client, std::cout, std::cerr);
//
// Every verb returns an exit code (exit_codes.h); a failed call is one line
// `kubetrail: SERVER: CODE: message` on `err` (ReportRpcError), INVALID_ARGUMENT exit 2.
// Thread safety: none needed (no state between calls).
#ifndef KUBETRAIL_CLIENTS_CLI_REPORTS_H_
#define KUBETRAIL_CLIENTS_CLI_REPORTS_H_

#include <ostream>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "clients/cli/output.h"
#include "kubetrail/client.h"
#include "kubetrail/v1/query.pb.h"

namespace kubetrail::cli {

struct ReportOptions {
  kubetrail::v1::Filter filter;
  EventFormat format = EventFormat::kTable;
  OutputOptions output;
};

// Parses a `top` dimension: users, verbs, resources, namespaces, codes, clusters (the
// singular is accepted too). InvalidArgument listing them otherwise.
absl::Status ParseDimension(std::string_view name, kubetrail::v1::Dimension* dimension);

// Parses a histogram bucket size: minute, hour, day. InvalidArgument otherwise.
absl::Status ParseGranularity(std::string_view name, kubetrail::v1::Granularity* granularity);

// `kubetrail count`: how many events match.
int RunCount(const ReportOptions& options, const kubetrail::Client& client, std::ostream& out,
             std::ostream& err);

// `kubetrail top DIMENSION`: the `limit` (1-10000) most frequent values among the matching
// events, most frequent first.
int RunTop(const ReportOptions& options, kubetrail::v1::Dimension dimension, int limit,
           const kubetrail::Client& client, std::ostream& out, std::ostream& err);

// `kubetrail histogram`: matching events per bucket, optionally split by `by`
// (DIMENSION_UNSPECIFIED: not split). The aggregator needs a closed range: a missing `to` is
// `now`, a missing `from` is `to` minus a span of 24 h (minute buckets: 1 h; day: 30 days).
int RunHistogram(const ReportOptions& options, kubetrail::v1::Granularity granularity,
                 kubetrail::v1::Dimension by, absl::Time now, const kubetrail::Client& client,
                 std::ostream& out, std::ostream& err);

// `kubetrail status`: the server's health and its store statistics. Exit 1 when the server
// cannot be reached or is not SERVING (after printing what is known).
int RunStatus(const ReportOptions& options, const kubetrail::Client& client, std::ostream& out,
              std::ostream& err);

}  // namespace kubetrail::cli

#endif  // KUBETRAIL_CLIENTS_CLI_REPORTS_H_
