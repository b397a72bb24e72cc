#include "storage/event_store.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/internal/cursor.h"
#include "storage/internal/format.h"

namespace kubetrail::storage {

std::string_view DimensionName(Dimension d) {
  switch (d) {
    case Dimension::kUser:
      return "user";
    case Dimension::kVerb:
      return "verb";
    case Dimension::kResource:
      return "resource";
    case Dimension::kNamespace:
      return "namespace";
    case Dimension::kCode:
      return "code";
    case Dimension::kCluster:
      return "cluster";
  }
  return "";
}

std::optional<Dimension> ParseDimension(std::string_view name) {
  for (Dimension d : {Dimension::kUser, Dimension::kVerb, Dimension::kResource,
                      Dimension::kNamespace, Dimension::kCode, Dimension::kCluster}) {
    if (DimensionName(d) == name) return d;
  }
  return std::nullopt;
}

std::string DimensionKey(const kubetrail::v1::EnvelopedEvent& enveloped, Dimension dimension) {
  const kubetrail::v1::Event& e = enveloped.event();
  switch (dimension) {
    case Dimension::kUser:
      return e.user().username();
    case Dimension::kVerb:
      return e.verb();
    case Dimension::kResource:
      return ResourceKey(e.object_ref().resource(), e.object_ref().api_group(),
                         e.object_ref().subresource());
    case Dimension::kNamespace:
      return e.object_ref().namespace_();
    case Dimension::kCode:
      return e.response_status().has_code() ? std::to_string(e.response_status().code())
                                            : std::string();
    case Dimension::kCluster:
      return enveloped.envelope().cluster();
  }
  return std::string();
}

int64_t GranularityMicros(Granularity g) {
  switch (g) {
    case Granularity::kMinute:
      return 60'000'000;
    case Granularity::kHour:
      return 3'600'000'000;
    case Granularity::kDay:
      return 86'400'000'000;
  }
  return 0;
}

bool LegalHold::Covers(const kubetrail::v1::EnvelopedEvent& event, int64_t time_us) const {
  if (event.envelope().cluster() != cluster) return false;
  if (time_us < from_us || time_us >= to_us) return false;
  if (!user.empty() && event.event().user().username() != user) return false;
  if (!namespace_name.empty() && event.event().object_ref().namespace_() != namespace_name) {
    return false;
  }
  return true;
}

absl::Status LegalHold::Check() const {
  if (cluster.empty()) return absl::InvalidArgumentError("legal hold: empty cluster");
  if (cluster == "*") {
    return absl::InvalidArgumentError(
        "legal hold: cluster \"*\" is no wildcard: a hold names one cluster (place one per "
        "cluster)");
  }
  if (from_us >= to_us) return absl::InvalidArgumentError("legal hold: empty range");
  return absl::OkStatus();
}

absl::StatusOr<WriteResult> EventStore::Write(absl::Span<const kubetrail::v1::EnvelopedEvent> batch,
                                              const WriteOptions& options) {
  std::vector<const kubetrail::v1::EnvelopedEvent*> pointers;
  pointers.reserve(batch.size());
  for (const kubetrail::v1::EnvelopedEvent& e : batch) pointers.push_back(&e);
  return DoWrite(pointers, options);
}

int64_t FirstKeptDay(int64_t now_us, int64_t keep_us) {
  return internal::FloorDiv(now_us - keep_us, GranularityMicros(Granularity::kDay));
}

ExpiredDays SplitExpiredDays(std::string_view cluster, int64_t first_day, int64_t first_kept_day,
                             const std::vector<LegalHold>& holds) {
  const int64_t day = GranularityMicros(Granularity::kDay);
  ExpiredDays out;
  std::vector<std::pair<int64_t, int64_t>> touched;
  for (const LegalHold& h : holds) {
    if (h.cluster != cluster) continue;
    const int64_t a = std::max(first_day, internal::FloorDiv(h.from_us, day));
    const int64_t b = std::min(first_kept_day, internal::FloorDiv(h.to_us - 1, day) + 1);
    if (a < b) touched.emplace_back(a, b);
  }
  std::sort(touched.begin(), touched.end());
  for (const auto& [a, b] : touched) {
    if (!out.held.empty() && a <= out.held.back().second) {
      out.held.back().second = std::max(out.held.back().second, b);
    } else {
      out.held.emplace_back(a, b);
    }
  }
  int64_t at = first_day;
  for (const auto& [a, b] : out.held) {
    if (at < a) out.removed.emplace_back(at, a);
    at = b;
  }
  if (at < first_kept_day) out.removed.emplace_back(at, first_kept_day);
  return out;
}

absl::StatusOr<uint64_t> SnapshotSequence(std::string_view cursor) {
  absl::StatusOr<internal::Cursor> c = internal::DecodeCursor(cursor);
  if (!c.ok()) return c.status();
  return c->snapshot;
}

}  // namespace kubetrail::storage
