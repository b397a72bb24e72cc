#include "services/aggregator/convert.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/wire_format_lite.h"

namespace kubetrail::aggregator {

namespace v1 = ::kubetrail::v1;

namespace {

std::vector<std::string> List(const google::protobuf::RepeatedPtrField<std::string>& field) {
  return {field.begin(), field.end()};
}

void Fill(const std::vector<std::string>& from,
          google::protobuf::RepeatedPtrField<std::string>* to) {
  to->Assign(from.begin(), from.end());
}

}  // namespace

storage::Filter FromProto(const v1::Filter& f) {
  storage::Filter out;
  if (f.has_from_us()) out.from_us = f.from_us();
  if (f.has_to_us()) out.to_us = f.to_us();
  out.clusters = List(f.clusters());
  out.users = List(f.users());
  out.impersonated_users = List(f.impersonated_users());
  out.groups = List(f.groups());
  out.verbs = List(f.verbs());
  out.namespaces = List(f.namespaces());
  out.resources = List(f.resources());
  out.api_groups = List(f.api_groups());
  out.names = List(f.names());
  out.codes = List(f.codes());
  out.stages = List(f.stages());
  out.levels = List(f.levels());
  out.audit_ids = List(f.audit_ids());
  out.source_ips = List(f.source_ips());
  out.user_agent_substring = f.user_agent_substring();
  return out;
}

v1::Filter ToProto(const storage::Filter& f) {
  v1::Filter out;
  if (f.from_us) out.set_from_us(*f.from_us);
  if (f.to_us) out.set_to_us(*f.to_us);
  Fill(f.clusters, out.mutable_clusters());
  Fill(f.users, out.mutable_users());
  Fill(f.impersonated_users, out.mutable_impersonated_users());
  Fill(f.groups, out.mutable_groups());
  Fill(f.verbs, out.mutable_verbs());
  Fill(f.namespaces, out.mutable_namespaces());
  Fill(f.resources, out.mutable_resources());
  Fill(f.api_groups, out.mutable_api_groups());
  Fill(f.names, out.mutable_names());
  Fill(f.codes, out.mutable_codes());
  Fill(f.stages, out.mutable_stages());
  Fill(f.levels, out.mutable_levels());
  Fill(f.audit_ids, out.mutable_audit_ids());
  Fill(f.source_ips, out.mutable_source_ips());
  out.set_user_agent_substring(f.user_agent_substring);
  return out;
}

void ToProto(storage::StoredEvent&& event, v1::StoredEvent& out) {
  out.set_sequence(event.sequence);
  out.set_time_us(event.time_us);
  if (!event.serialized.empty()) {
    // The store produced these bytes from a parsed record; they parse.
    out.mutable_event()->ParseFromString(event.serialized);
    return;
  }
  out.mutable_event()->Swap(&event.event);
}

void AppendToChunk(storage::StoredEvent&& event, v1::SearchResponse& out) {
  google::protobuf::UnknownFieldSet& unknown = *out.GetReflection()->MutableUnknownFields(&out);
  if (event.serialized.empty() && unknown.empty()) {
    ToProto(std::move(event), *out.add_events());
    return;
  }
  if (event.serialized.empty()) event.serialized = event.event.SerializeAsString();
  // StoredEvent: sequence = 1, time_us = 2, event = 3 (zero scalars omitted, as protobuf
  // itself writes them): a header of at most 28 bytes, then the event's bytes, copied once
  // into a string of the exact size.
  using WireFormatLite = google::protobuf::internal::WireFormatLite;
  using Coded = google::protobuf::io::CodedOutputStream;
  uint8_t header[32];
  uint8_t* p = header;
  if (event.sequence != 0) {
    p = Coded::WriteTagToArray(WireFormatLite::MakeTag(v1::StoredEvent::kSequenceFieldNumber,
                                                       WireFormatLite::WIRETYPE_VARINT),
                               p);
    p = Coded::WriteVarint64ToArray(event.sequence, p);
  }
  if (event.time_us != 0) {
    p = Coded::WriteTagToArray(WireFormatLite::MakeTag(v1::StoredEvent::kTimeUsFieldNumber,
                                                       WireFormatLite::WIRETYPE_VARINT),
                               p);
    p = Coded::WriteVarint64ToArray(static_cast<uint64_t>(event.time_us), p);
  }
  p = Coded::WriteTagToArray(WireFormatLite::MakeTag(v1::StoredEvent::kEventFieldNumber,
                                                     WireFormatLite::WIRETYPE_LENGTH_DELIMITED),
                             p);
  p = Coded::WriteVarint32ToArray(static_cast<uint32_t>(event.serialized.size()), p);
  const size_t header_size = static_cast<size_t>(p - header);
  std::string* bytes = unknown.AddLengthDelimited(v1::SearchResponse::kEventsFieldNumber);
  bytes->reserve(header_size + event.serialized.size());
  bytes->append(reinterpret_cast<const char*>(header), header_size);
  bytes->append(event.serialized);
}

size_t ChunkBytes(const storage::StoredEvent& event) {
  return event.serialized.empty() ? event.event.ByteSizeLong() : event.serialized.size();
}

void AppendKeyCounts(std::vector<storage::KeyCount>&& counts,
                     google::protobuf::RepeatedPtrField<v1::KeyCount>* out) {
  out->Reserve(out->size() + static_cast<int>(counts.size()));
  for (storage::KeyCount& kc : counts) {
    v1::KeyCount* k = out->Add();
    k->set_key(std::move(kc.key));
    k->set_count(kc.count);
  }
}

absl::StatusOr<storage::Dimension> FromProto(v1::Dimension dimension) {
  switch (dimension) {
    case v1::DIMENSION_USER:
      return storage::Dimension::kUser;
    case v1::DIMENSION_VERB:
      return storage::Dimension::kVerb;
    case v1::DIMENSION_RESOURCE:
      return storage::Dimension::kResource;
    case v1::DIMENSION_NAMESPACE:
      return storage::Dimension::kNamespace;
    case v1::DIMENSION_CODE:
      return storage::Dimension::kCode;
    case v1::DIMENSION_CLUSTER:
      return storage::Dimension::kCluster;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("dimension must be one of user, verb, resource, namespace, code, ",
                       "cluster; got ", static_cast<int>(dimension)));
  }
}

v1::Dimension ToProto(storage::Dimension dimension) {
  switch (dimension) {
    case storage::Dimension::kUser:
      return v1::DIMENSION_USER;
    case storage::Dimension::kVerb:
      return v1::DIMENSION_VERB;
    case storage::Dimension::kResource:
      return v1::DIMENSION_RESOURCE;
    case storage::Dimension::kNamespace:
      return v1::DIMENSION_NAMESPACE;
    case storage::Dimension::kCode:
      return v1::DIMENSION_CODE;
    case storage::Dimension::kCluster:
      return v1::DIMENSION_CLUSTER;
  }
  return v1::DIMENSION_UNSPECIFIED;
}

absl::StatusOr<storage::Granularity> FromProto(v1::Granularity granularity) {
  switch (granularity) {
    case v1::GRANULARITY_MINUTE:
      return storage::Granularity::kMinute;
    case v1::GRANULARITY_UNSPECIFIED:
    case v1::GRANULARITY_HOUR:
      return storage::Granularity::kHour;
    case v1::GRANULARITY_DAY:
      return storage::Granularity::kDay;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "granularity must be minute, hour or day; got ", static_cast<int>(granularity)));
  }
}

}  // namespace kubetrail::aggregator
