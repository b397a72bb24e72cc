// Encoding: kubetrail.v1.Event -> the exact JSON kube-apiserver writes.
//
// Key order is Go's struct order (see event.proto); map keys are sorted as Go sorts map keys
// (byte-wise); strings use Go's escaping; raw objects were compacted to Go's form on decode
// and are copied as they are.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "audit/codec.h"
#include "audit/gojson.h"
#include "audit/microtime.h"

namespace kubetrail::audit {
namespace {

using ::google::protobuf::RepeatedPtrField;

bool Bit(uint32_t mask, int field) { return (mask >> field) & 1u; }

// Writes members of one JSON object, inserting commas.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string* out) : out_(out) { out_->push_back('{'); }
  void Close() { out_->push_back('}'); }

  // Starts a member: writes the separator and the quoted key with its colon. `key` must be a
  // literal made of plain ASCII (no escaping needed).
  std::string* Key(std::string_view key) {
    if (!first_) out_->push_back(',');
    first_ = false;
    out_->push_back('"');
    out_->append(key);
    out_->append("\":");
    return out_;
  }
  // Same for a key that may need escaping.
  std::string* EscapedKey(std::string_view key) {
    if (!first_) out_->push_back(',');
    first_ = false;
    AppendGoQuoted(key, out_);
    out_->push_back(':');
    return out_;
  }
  void String(std::string_view key, std::string_view value) { AppendGoQuoted(value, Key(key)); }
  void Raw(std::string_view key, std::string_view json) { Key(key)->append(json); }
  void Null(std::string_view key) { Key(key)->append("null"); }

  // A field with presence: when present, starts the member and returns where its value goes;
  // when it came as JSON null, writes `"key":null`; otherwise writes nothing. Returns nullptr
  // unless the caller is to write the value.
  std::string* Member(std::string_view key, bool present, bool is_null) {
    if (present) return Key(key);
    if (is_null) Null(key);
    return nullptr;
  }
  void OptString(std::string_view key, bool present, std::string_view value, bool is_null) {
    if (std::string* o = Member(key, present, is_null)) AppendGoQuoted(value, o);
  }
  void OptRaw(std::string_view key, bool present, std::string_view json, bool is_null) {
    if (std::string* o = Member(key, present, is_null)) o->append(json);
  }

 private:
  std::string* out_;
  bool first_ = true;
};

void AppendStringArray(const RepeatedPtrField<std::string>& values, std::string* out) {
  out->push_back('[');
  for (int i = 0; i < values.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendGoQuoted(values.Get(i), out);
  }
  out->push_back(']');
}

// Go sorts map keys byte-wise before writing; protobuf maps have no order.
template <typename Map>
std::vector<const typename Map::value_type*> SortedEntries(const Map& map) {
  std::vector<const typename Map::value_type*> entries;
  entries.reserve(map.size());
  for (const auto& entry : map) entries.push_back(&entry);
  std::sort(entries.begin(), entries.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  return entries;
}

void AppendUnknown(const RepeatedPtrField<kubetrail::v1::RawField>& fields, ObjectWriter& w) {
  for (const auto& f : fields) w.EscapedKey(f.key())->append(f.value());
}

void AppendUserInfo(const kubetrail::v1::UserInfo& user, std::string* out) {
  const uint32_t nulls = user.null_fields();
  const uint32_t present = user.present_fields();
  ObjectWriter w(out);
  w.OptString("username", user.has_username(), user.username(), Bit(nulls, 1));
  w.OptString("uid", user.has_uid(), user.uid(), Bit(nulls, 2));
  if (auto* o = w.Member("groups", user.groups_size() > 0 || Bit(present, 3), Bit(nulls, 3))) {
    AppendStringArray(user.groups(), o);
  }
  if (auto* o = w.Member("extra", user.extra_size() > 0 || Bit(present, 4), Bit(nulls, 4))) {
    ObjectWriter extra(o);
    for (const auto* entry : SortedEntries(user.extra())) {
      std::string* v = extra.EscapedKey(entry->first);
      if (entry->second.is_null())
        v->append("null");
      else
        AppendStringArray(entry->second.values(), v);
    }
    extra.Close();
  }
  AppendUnknown(user.unknown_fields(), w);
  w.Close();
}

void AppendObjectRef(const kubetrail::v1::ObjectReference& ref, std::string* out) {
  const uint32_t nulls = ref.null_fields();
  ObjectWriter w(out);
  auto field = [&](int number, std::string_view key, bool has, const std::string& value) {
    w.OptString(key, has, value, Bit(nulls, number));
  };
  field(1, "resource", ref.has_resource(), ref.resource());
  field(2, "namespace", ref.has_namespace_(), ref.namespace_());
  field(3, "name", ref.has_name(), ref.name());
  field(4, "uid", ref.has_uid(), ref.uid());
  field(5, "apiGroup", ref.has_api_group(), ref.api_group());
  field(6, "apiVersion", ref.has_api_version(), ref.api_version());
  field(7, "resourceVersion", ref.has_resource_version(), ref.resource_version());
  field(8, "subresource", ref.has_subresource(), ref.subresource());
  AppendUnknown(ref.unknown_fields(), w);
  w.Close();
}

void AppendResponseStatus(const kubetrail::v1::ResponseStatus& st, std::string* out) {
  const uint32_t nulls = st.null_fields();
  ObjectWriter w(out);
  w.OptRaw("metadata", st.has_metadata(), st.metadata(), Bit(nulls, 6));
  w.OptString("status", st.has_status(), st.status(), Bit(nulls, 1));
  w.OptString("message", st.has_message(), st.message(), Bit(nulls, 2));
  w.OptString("reason", st.has_reason(), st.reason(), Bit(nulls, 3));
  w.OptRaw("details", st.has_details(), st.details(), Bit(nulls, 4));
  if (auto* o = w.Member("code", st.has_code(), Bit(nulls, 5)))
    o->append(std::to_string(st.code()));
  AppendUnknown(st.unknown_fields(), w);
  w.Close();
}

void AppendAuthenticationMetadata(const kubetrail::v1::AuthenticationMetadata& m,
                                  std::string* out) {
  ObjectWriter w(out);
  w.OptString("impersonationConstraint", m.has_impersonation_constraint(),
              m.impersonation_constraint(), Bit(m.null_fields(), 1));
  AppendUnknown(m.unknown_fields(), w);
  w.Close();
}

void AppendQuotedMicroTime(int64_t micros, std::string* out) {
  out->push_back('"');
  AppendMicroTime(micros, out);
  out->push_back('"');
}

}  // namespace

void AppendEventJson(const kubetrail::v1::Event& e, std::string* out) {
  using kubetrail::v1::Event;
  auto null = [&e](int number) { return Bit(e.null_fields(), number); };
  auto listed = [&e](int number) { return Bit(e.present_fields(), number); };
  ObjectWriter w(out);
  w.Raw("kind", "\"Event\"");
  w.Raw("apiVersion", "\"audit.k8s.io/v1\"");
  w.String("level", e.level());
  w.String("auditID", e.audit_id());
  w.String("stage", e.stage());
  w.OptString("requestURI", e.has_request_uri(), e.request_uri(),
              null(Event::kRequestUriFieldNumber));
  w.OptString("verb", e.has_verb(), e.verb(), null(Event::kVerbFieldNumber));
  if (auto* o = w.Member("user", e.has_user(), null(Event::kUserFieldNumber))) {
    AppendUserInfo(e.user(), o);
  }
  if (auto* o = w.Member("impersonatedUser", e.has_impersonated_user(),
                         null(Event::kImpersonatedUserFieldNumber))) {
    AppendUserInfo(e.impersonated_user(), o);
  }
  if (auto* o = w.Member("authenticationMetadata", e.has_authentication_metadata(),
                         null(Event::kAuthenticationMetadataFieldNumber))) {
    AppendAuthenticationMetadata(e.authentication_metadata(), o);
  }
  if (auto* o =
          w.Member("sourceIPs", e.source_ips_size() > 0 || listed(Event::kSourceIpsFieldNumber),
                   null(Event::kSourceIpsFieldNumber))) {
    AppendStringArray(e.source_ips(), o);
  }
  w.OptString("userAgent", e.has_user_agent(), e.user_agent(), null(Event::kUserAgentFieldNumber));
  if (auto* o = w.Member("objectRef", e.has_object_ref(), null(Event::kObjectRefFieldNumber))) {
    AppendObjectRef(e.object_ref(), o);
  }
  if (auto* o = w.Member("responseStatus", e.has_response_status(),
                         null(Event::kResponseStatusFieldNumber))) {
    AppendResponseStatus(e.response_status(), o);
  }
  w.OptRaw("requestObject", e.has_request_object(), e.request_object(),
           null(Event::kRequestObjectFieldNumber));
  w.OptRaw("responseObject", e.has_response_object(), e.response_object(),
           null(Event::kResponseObjectFieldNumber));
  if (auto* o = w.Member("requestReceivedTimestamp", e.has_request_received_timestamp_us(),
                         null(Event::kRequestReceivedTimestampUsFieldNumber))) {
    AppendQuotedMicroTime(e.request_received_timestamp_us(), o);
  }
  if (auto* o = w.Member("stageTimestamp", e.has_stage_timestamp_us(),
                         null(Event::kStageTimestampUsFieldNumber))) {
    AppendQuotedMicroTime(e.stage_timestamp_us(), o);
  }
  if (auto* o = w.Member("annotations",
                         e.annotations_size() > 0 || listed(Event::kAnnotationsFieldNumber),
                         null(Event::kAnnotationsFieldNumber))) {
    ObjectWriter a(o);
    for (const auto* entry : SortedEntries(e.annotations())) {
      AppendGoQuoted(entry->second, a.EscapedKey(entry->first));
    }
    a.Close();
  }
  AppendUnknown(e.unknown_fields(), w);
  w.Close();
}

namespace {

// `s` (a failed check of a raw value) with the value's `path` in front.
absl::Status Named(absl::string_view path, const absl::Status& s) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.message()));
}

// Checks one raw JSON value that AppendEventJson copies verbatim; `path` names it in errors.
absl::Status CheckRaw(absl::string_view path, std::string_view json, int max_depth) {
  absl::Status s = CheckCompactGoJson(json, max_depth);
  return s.ok() ? s : Named(path, s);
}

absl::Status CheckUnknown(absl::string_view prefix,
                          const RepeatedPtrField<kubetrail::v1::RawField>& fields,
                          int max_depth) {
  for (const auto& f : fields) {
    // The path is built for an error only: most events pass.
    absl::Status s = CheckCompactGoJson(f.value(), max_depth);
    if (!s.ok()) return Named(absl::StrCat(prefix, f.key()), s);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckRawJson(const kubetrail::v1::Event& e, int max_depth) {
  // Every raw value that AppendEventJson copies, in its order.
  absl::Status s;
  auto check = [&](absl::string_view path, bool present, std::string_view json) {
    if (s.ok() && present) s = CheckRaw(path, json, max_depth);
  };
  auto unknown = [&](absl::string_view prefix,
                     const RepeatedPtrField<kubetrail::v1::RawField>& fields) {
    if (s.ok()) s = CheckUnknown(prefix, fields, max_depth);
  };
  unknown("user.", e.user().unknown_fields());
  unknown("impersonatedUser.", e.impersonated_user().unknown_fields());
  unknown("authenticationMetadata.", e.authentication_metadata().unknown_fields());
  unknown("objectRef.", e.object_ref().unknown_fields());
  const kubetrail::v1::ResponseStatus& st = e.response_status();
  check("responseStatus.metadata", st.has_metadata(), st.metadata());
  check("responseStatus.details", st.has_details(), st.details());
  unknown("responseStatus.", st.unknown_fields());
  check("requestObject", e.has_request_object(), e.request_object());
  check("responseObject", e.has_response_object(), e.response_object());
  unknown("", e.unknown_fields());
  return s;
}

std::string EncodeEventJson(const kubetrail::v1::Event& event) {
  std::string out;
  AppendEventJson(event, &out);
  return out;
}

void AppendEventListJson(const std::vector<const kubetrail::v1::Event*>& events, std::string* out) {
  out->append(
      "{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"metadata\":{},\"items\":[");
  for (size_t i = 0; i < events.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendEventJson(*events[i], out);
  }
  out->append("]}");
}

}  // namespace kubetrail::audit
