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

// Moves `event` into `out` (parsing StoredEvent::serialized when the store left it encoded).
void ToProto(storage::StoredEvent&& event, kubetrail::v1::StoredEvent& out);

// Appends `event` (moved from) to the Search chunk `out`, keeping the events' order. An event
// the store left encoded (StoredEvent::serialized) goes into `out` still encoded, as an
// unknown field 1: on the wire that is one more element of `events`, so it is sent without
// being parsed and serialized again. Unknown fields are written after the known ones, so
// once one event went there, the following ones do too.
void AppendToChunk(storage::StoredEvent&& event, kubetrail::v1::SearchResponse& out);

// About the bytes `event` adds to a chunk (for the chunk size limit).
size_t ChunkBytes(const storage::StoredEvent& event);

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
