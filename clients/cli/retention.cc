#include "clients/cli/retention.h"

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
#include "kubetrail/filter.h"

namespace kubetrail::cli {

namespace v1 = kubetrail::v1;

namespace {

int UsageError(std::string_view verb, std::string_view message, std::ostream& err) {
  err << "kubetrail " << verb << ": " << message << "\n";
  err.flush();
  return kExitUsage;
}

template <typename T>
google::protobuf::RepeatedPtrField<T> ToRepeated(const std::vector<T>& items) {
  return google::protobuf::RepeatedPtrField<T>(items.begin(), items.end());
}

}  // namespace

absl::StatusOr<int64_t> ParseKeep(std::string_view text) {
  if (text == "0") return 0;
  absl::StatusOr<absl::Duration> keep = ParseSince(text);
  if (!keep.ok()) {
    return absl::InvalidArgumentError(
        Cat("want 0 (keep forever) or a positive duration such as 400d, 2160h or 1d12h, got \"",
            text, "\""));
  }
  const int64_t keep_us = absl::ToInt64Microseconds(*keep);
  if (keep_us <= 0) {
    // Under a microsecond would be 0: keep forever, the opposite of what was asked.
    return absl::InvalidArgumentError(
        Cat("want 0 (keep forever) or a duration of at least 1us, got \"", text, "\""));
  }
  return keep_us;
}

int RunRetention(const RetentionOptions& options, const kubetrail::Client& client,
                 std::ostream& out, std::ostream& err) {
  constexpr std::string_view kVerb = "retention";
  if (options.cluster.empty() != options.keep.empty()) {
    return UsageError(kVerb, "--cluster and --keep go together", err);
  }
  absl::StatusOr<std::vector<v1::RetentionSetting>> settings;
  if (options.keep.empty()) {
    settings = client.ListRetention();
  } else {
    absl::StatusOr<int64_t> keep = ParseKeep(options.keep);
    if (!keep.ok()) return UsageError(kVerb, Cat("--keep: ", keep.status().message()), err);
    settings = client.SetRetention(options.cluster, *keep);
  }
  if (!settings.ok()) return ReportRpcError(client.options().server, settings.status(), err);
  std::string text;
  AppendRetention(ToRepeated(*settings), options.format, options.output, &text);
  return WriteVerbOutput(text, kVerb, out, err);
}

int RunHold(const HoldOptions& options, absl::Time now, const kubetrail::Client& client,
            std::ostream& out, std::ostream& err) {
  constexpr std::string_view kVerb = "hold";
  absl::StatusOr<int64_t> from = ParseTimeFlag(options.from, now);
  if (!from.ok()) return UsageError(kVerb, Cat("--from: ", from.status().message()), err);
  absl::StatusOr<int64_t> to = ParseTimeFlag(options.to, now);
  if (!to.ok()) return UsageError(kVerb, Cat("--to: ", to.status().message()), err);
  if (*to <= *from) return UsageError(kVerb, "--to must be after --from", err);
  v1::PlaceHoldRequest request;
  request.set_cluster(options.cluster);
  request.set_from_us(*from);
  request.set_to_us(*to);
  request.set_user(options.user);
  request.set_namespace_name(options.namespace_name);
  request.set_reason(options.reason);
  absl::StatusOr<v1::LegalHold> hold = client.PlaceHold(request);
  if (!hold.ok()) return ReportRpcError(client.options().server, hold.status(), err);
  std::string text;
  if (options.format == EventFormat::kTable || options.format == EventFormat::kWide) {
    text = Cat(hold->id(), "\n");
  } else {
    AppendHolds(ToRepeated(std::vector<v1::LegalHold>{*hold}), options.format, options.output,
                &text);
  }
  return WriteVerbOutput(text, kVerb, out, err);
}

int RunHolds(const HoldsOptions& options, const kubetrail::Client& client, std::ostream& out,
             std::ostream& err) {
  if (!options.release.empty()) {
    if (absl::Status s = client.ReleaseHold(options.release); !s.ok()) {
      return ReportRpcError(client.options().server, s, err);
    }
  }
  absl::StatusOr<std::vector<v1::LegalHold>> holds = client.ListHolds();
  if (!holds.ok()) return ReportRpcError(client.options().server, holds.status(), err);
  std::string text;
  AppendHolds(ToRepeated(*holds), options.format, options.output, &text);
  return WriteVerbOutput(text, "holds", out, err);
}

}  // namespace kubetrail::cli
