// Encoding: kubetrail.v1.Event -> the exact JSON kube-apiserver writes.
//
// Key order is Go's struct order (see event.proto); map keys are sorted as Go sorts map keys
// (byte-wise); strings use Go's escaping; raw objects were compacted to Go's form on decode
// and are copied as they are.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

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
  if (user.has_username()) w.String("username", user.username());
  else if (Bit(nulls, 1)) w.Null("username");
  if (user.has_uid()) w.String("uid", user.uid());
  else if (Bit(nulls, 2)) w.Null("uid");
  if (user.groups_size() > 0 || Bit(present, 3)) AppendStringArray(user.groups(), w.Key("groups"));
  else if (Bit(nulls, 3)) w.Null("groups");
  if (user.extra_size() > 0 || Bit(present, 4)) {
    std::string* o = w.Key("extra");
    ObjectWriter extra(o);
    for (const auto* entry : SortedEntries(user.extra())) {
      std::string* v = extra.EscapedKey(entry->first);
      if (entry->second.is_null()) v->append("null");
      else AppendStringArray(entry->second.values(), v);
    }
    extra.Close();
  } else if (Bit(nulls, 4)) {
    w.Null("extra");
  }
  AppendUnknown(user.unknown_fields(), w);
  w.Close();
}

void AppendObjectRef(const kubetrail::v1::ObjectReference& ref, std::string* out) {
  const uint32_t nulls = ref.null_fields();
  ObjectWriter w(out);
  auto field = [&](int number, std::string_view key, bool has, const std::string& value) {
    if (has) w.String(key, value);
    else if (Bit(nulls, number)) w.Null(key);
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
  if (st.has_metadata()) w.Raw("metadata", st.metadata());
  else if (Bit(nulls, 6)) w.Null("metadata");
  if (st.has_status()) w.String("status", st.status());
  else if (Bit(nulls, 1)) w.Null("status");
  if (st.has_message()) w.String("message", st.message());
  else if (Bit(nulls, 2)) w.Null("message");
  if (st.has_reason()) w.String("reason", st.reason());
  else if (Bit(nulls, 3)) w.Null("reason");
  if (st.has_details()) w.Raw("details", st.details());
  else if (Bit(nulls, 4)) w.Null("details");
  if (st.has_code()) w.Key("code")->append(std::to_string(st.code()));
  else if (Bit(nulls, 5)) w.Null("code");
  AppendUnknown(st.unknown_fields(), w);
  w.Close();
}

void AppendAuthenticationMetadata(const kubetrail::v1::AuthenticationMetadata& m,
                                  std::string* out) {
  ObjectWriter w(out);
  if (m.has_impersonation_constraint()) {
    w.String("impersonationConstraint", m.impersonation_constraint());
  } else if (Bit(m.null_fields(), 1)) {
    w.Null("impersonationConstraint");
  }
  AppendUnknown(m.unknown_fields(), w);
  w.Close();
}

void AppendTimestamp(ObjectWriter& w, std::string_view key, int64_t micros) {
  std::string* out = w.Key(key);
  out->push_back('"');
  AppendMicroTime(micros, out);
  out->push_back('"');
}

}  // namespace

void AppendEventJson(const kubetrail::v1::Event& e, std::string* out) {
  using kubetrail::v1::Event;
  const uint32_t nulls = e.null_fields();
  const uint32_t present = e.present_fields();
  ObjectWriter w(out);
  w.Raw("kind", "\"Event\"");
  w.Raw("apiVersion", "\"audit.k8s.io/v1\"");
  w.String("level", e.level());
  w.String("auditID", e.audit_id());
  w.String("stage", e.stage());
  if (e.has_request_uri()) w.String("requestURI", e.request_uri());
  else if (Bit(nulls, Event::kRequestUriFieldNumber)) w.Null("requestURI");
  if (e.has_verb()) w.String("verb", e.verb());
  else if (Bit(nulls, Event::kVerbFieldNumber)) w.Null("verb");
  if (e.has_user()) AppendUserInfo(e.user(), w.Key("user"));
  else if (Bit(nulls, Event::kUserFieldNumber)) w.Null("user");
  if (e.has_impersonated_user()) AppendUserInfo(e.impersonated_user(), w.Key("impersonatedUser"));
  else if (Bit(nulls, Event::kImpersonatedUserFieldNumber)) w.Null("impersonatedUser");
  if (e.has_authentication_metadata()) {
    AppendAuthenticationMetadata(e.authentication_metadata(), w.Key("authenticationMetadata"));
  } else if (Bit(nulls, Event::kAuthenticationMetadataFieldNumber)) {
    w.Null("authenticationMetadata");
  }
  if (e.source_ips_size() > 0 || Bit(present, Event::kSourceIpsFieldNumber)) {
    AppendStringArray(e.source_ips(), w.Key("sourceIPs"));
  } else if (Bit(nulls, Event::kSourceIpsFieldNumber)) {
    w.Null("sourceIPs");
  }
  if (e.has_user_agent()) w.String("userAgent", e.user_agent());
  else if (Bit(nulls, Event::kUserAgentFieldNumber)) w.Null("userAgent");
  if (e.has_object_ref()) AppendObjectRef(e.object_ref(), w.Key("objectRef"));
  else if (Bit(nulls, Event::kObjectRefFieldNumber)) w.Null("objectRef");
  if (e.has_response_status()) AppendResponseStatus(e.response_status(), w.Key("responseStatus"));
  else if (Bit(nulls, Event::kResponseStatusFieldNumber)) w.Null("responseStatus");
  if (e.has_request_object()) w.Raw("requestObject", e.request_object());
  else if (Bit(nulls, Event::kRequestObjectFieldNumber)) w.Null("requestObject");
  if (e.has_response_object()) w.Raw("responseObject", e.response_object());
  else if (Bit(nulls, Event::kResponseObjectFieldNumber)) w.Null("responseObject");
  if (e.has_request_received_timestamp_us()) {
    AppendTimestamp(w, "requestReceivedTimestamp", e.request_received_timestamp_us());
  } else if (Bit(nulls, Event::kRequestReceivedTimestampUsFieldNumber)) {
    w.Null("requestReceivedTimestamp");
  }
  if (e.has_stage_timestamp_us()) AppendTimestamp(w, "stageTimestamp", e.stage_timestamp_us());
  else if (Bit(nulls, Event::kStageTimestampUsFieldNumber)) w.Null("stageTimestamp");
  if (e.annotations_size() > 0 || Bit(present, Event::kAnnotationsFieldNumber)) {
    std::string* o = w.Key("annotations");
    ObjectWriter a(o);
    for (const auto* entry : SortedEntries(e.annotations())) {
      AppendGoQuoted(entry->second, a.EscapedKey(entry->first));
    }
    a.Close();
  } else if (Bit(nulls, Event::kAnnotationsFieldNumber)) {
    w.Null("annotations");
  }
  AppendUnknown(e.unknown_fields(), w);
  w.Close();
}

std::string EncodeEventJson(const kubetrail::v1::Event& event) {
  std::string out;
  AppendEventJson(event, &out);
  return out;
}

void AppendEventListJson(const std::vector<const kubetrail::v1::Event*>& events,
                         std::string* out) {
  out->append("{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"metadata\":{},\"items\":[");
  for (size_t i = 0; i < events.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendEventJson(*events[i], out);
  }
  out->append("]}");
}

}  // namespace kubetrail::audit
