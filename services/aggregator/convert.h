// Conversions between the query API's messages (proto/kubetrail/v1/query.proto) and the
// store's types (storage/event_store.h). The wire Filter is storage::Filter field for field.
#ifndef KUBETRAIL_SERVICES_AGGREGATOR_CONVERT_H_
#define KUBETRAIL_SERVICES_AGGREGATOR_CONVERT_H_

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "kubetrail/v1/query.pb.h"
#include "storage/event_store.h"
#include "storage/filter.h"

namespace kubetrail::aggregator {

storage::Filter FromProto(const kubetrail::v1::Filter& filter);
kubetrail::v1::Filter ToProto(const storage::Filter& filter);

// Moves `event` into `out`.
void ToProto(storage::StoredEvent&& event, kubetrail::v1::StoredEvent& out);

// Appends `counts` (moved from) to `out`.
void AppendKeyCounts(std::vector<storage::KeyCount>&& counts,
                     google::protobuf::RepeatedPtrField<kubetrail::v1::KeyCount>* out);

// InvalidArgument for DIMENSION_UNSPECIFIED or an unknown value.
absl::StatusOr<storage::Dimension> FromProto(kubetrail::v1::Dimension dimension);
kubetrail::v1::Dimension ToProto(storage::Dimension dimension);

// GRANULARITY_UNSPECIFIED is an hour.
absl::StatusOr<storage::Granularity> FromProto(kubetrail::v1::Granularity granularity);

}  // namespace kubetrail::aggregator

#endif  // KUBETRAIL_SERVICES_AGGREGATOR_CONVERT_H_
