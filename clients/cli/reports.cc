#include "clients/cli/reports.h"

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "clients/cli/connection.h"
#include "clients/cli/exit_codes.h"
#include "common/strings.h"

namespace kubetrail::cli {

namespace v1 = kubetrail::v1;

absl::Status ParseDimension(std::string_view name, v1::Dimension* dimension) {
  struct Name {
    std::string_view plural;
    v1::Dimension value;
  };
  for (const Name& n :
       {Name{"users", v1::DIMENSION_USER}, Name{"verbs", v1::DIMENSION_VERB},
        Name{"resources", v1::DIMENSION_RESOURCE}, Name{"namespaces", v1::DIMENSION_NAMESPACE},
        Name{"codes", v1::DIMENSION_CODE}, Name{"clusters", v1::DIMENSION_CLUSTER}}) {
    if (name == n.plural || name == n.plural.substr(0, n.plural.size() - 1)) {
      *dimension = n.value;
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(
      Cat("unknown dimension \"", name,
          "\" (want users, verbs, resources, namespaces, codes or clusters)"));
}

absl::Status ParseGranularity(std::string_view name, v1::Granularity* granularity) {
  if (name == "minute") {
    *granularity = v1::GRANULARITY_MINUTE;
  } else if (name == "hour") {
    *granularity = v1::GRANULARITY_HOUR;
  } else if (name == "day") {
    *granularity = v1::GRANULARITY_DAY;
  } else {
    return absl::InvalidArgumentError(
        Cat("unknown bucket size \"", name, "\" (want minute, hour or day)"));
  }
  return absl::OkStatus();
}

int RunCount(const ReportOptions& options, const kubetrail::Client& client, std::ostream& out,
             std::ostream& err) {
  absl::StatusOr<uint64_t> count = client.Count(options.filter);
  if (!count.ok()) return ReportRpcError(client.options().server, count.status(), err);
  std::string text;
  AppendCount(*count, options.format, &text);
  return WriteVerbOutput(text, "count", out, err);
}

int RunTop(const ReportOptions& options, v1::Dimension dimension, int limit,
           const kubetrail::Client& client, std::ostream& out, std::ostream& err) {
  absl::StatusOr<std::vector<v1::KeyCount>> entries = client.Top(options.filter, dimension, limit);
  if (!entries.ok()) return ReportRpcError(client.options().server, entries.status(), err);
  google::protobuf::RepeatedPtrField<v1::KeyCount> list(entries->begin(), entries->end());
  std::string text;
  AppendTop(list, DimensionTitle(dimension), options.format, options.output, &text);
  return WriteVerbOutput(text, "top", out, err);
}

int RunHistogram(const ReportOptions& options, v1::Granularity granularity, v1::Dimension by,
                 absl::Time now, const kubetrail::Client& client, std::ostream& out,
                 std::ostream& err) {
  // The server needs both ends; a histogram of "all time" would be mostly empty buckets.
  const absl::Duration span = granularity == v1::GRANULARITY_MINUTE ? absl::Hours(1)
                              : granularity == v1::GRANULARITY_DAY  ? absl::Hours(24 * 30)
                                                                    : absl::Hours(24);
  v1::Filter filter = options.filter;
  if (!filter.has_to_us()) filter.set_to_us(absl::ToUnixMicros(now));
  if (!filter.has_from_us()) {
    filter.set_from_us(filter.to_us() - absl::ToInt64Microseconds(span));
  }
  absl::StatusOr<v1::HistogramResponse> histogram = client.Histogram(filter, granularity, by);
  if (!histogram.ok()) {
    return ReportRpcError(client.options().server, histogram.status(), err);
  }
  std::string text;
  AppendHistogram(*histogram, granularity,
                  by == v1::DIMENSION_UNSPECIFIED ? std::string_view() : DimensionTitle(by),
                  options.format, options.output, &text);
  return WriteVerbOutput(text, "histogram", out, err);
}

int RunStatus(const ReportOptions& options, const kubetrail::Client& client, std::ostream& out,
              std::ostream& err) {
  absl::StatusOr<std::string> health = client.Health();
  if (!health.ok()) return ReportRpcError(client.options().server, health.status(), err);
  absl::StatusOr<v1::StatsResponse> stats = client.Stats();
  if (!stats.ok()) return ReportRpcError(client.options().server, stats.status(), err);
  std::string text;
  AppendStatus(*stats, client.options().server, *health, options.format, options.output, &text);
  const int code = WriteVerbOutput(text, "status", out, err);
  if (code != kExitOk) return code;
  return *health == "SERVING" ? kExitOk : kExitFailure;
}

}  // namespace kubetrail::cli
