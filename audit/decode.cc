// Decoding: one audit.k8s.io Event object -> kubetrail.v1.Event, with simdjson's On-Demand
// API walking the object once. Known fields are typed; raw objects and unknown fields are
// compacted to Go's form (AppendCompactGoJson), which also validates the parts On-Demand
// skips without checking.
#include <simdjson.h>

#include <cstring>
#include <string>
#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "audit/codec.h"
#include "audit/gojson.h"
#include "audit/internal/decode_internal.h"
#include "audit/microtime.h"
#include "common/strings.h"

namespace kubetrail::audit {
namespace {

namespace od = simdjson::ondemand;
using ::kubetrail::Cat;
using ::kubetrail::ToAbsl;
using ::kubetrail::ToStd;
using kubetrail::v1::Event;

std::string_view TypeName(od::json_type t) {
  switch (t) {
    case od::json_type::array:
      return "array";
    case od::json_type::object:
      return "object";
    case od::json_type::number:
      return "number";
    case od::json_type::string:
      return "string";
    case od::json_type::boolean:
      return "boolean";
    case od::json_type::null:
      return "null";
  }
  return "value";
}

void SetBit(uint32_t* mask, int field) { *mask |= 1u << field; }

// An RFC 3339 timestamp as an event time. MicroTime writes years 0000-9999 only, so an instant
// that a zone offset moved outside them (0000-01-01T00:00:00+01:00) is rejected: it could be
// decoded, but not written back in a form that reads again.
absl::StatusOr<int64_t> ParseEventTime(std::string_view text) {
  constexpr int64_t kFirst = -62'167'219'200'000'000;  // 0000-01-01T00:00:00.000000Z
  constexpr int64_t kLast = 253'402'300'799'999'999;   // 9999-12-31T23:59:59.999999Z
  absl::StatusOr<int64_t> us = ParseRfc3339Micros(text);
  if (us.ok() && (*us < kFirst || *us > kLast)) {
    return absl::InvalidArgumentError(
        Cat("timestamp \"", text, "\" is outside years 0000-9999 once converted to UTC"));
  }
  return us;
}

// A JSON null for the field numbered `number` of `msg`: the field is left unset and the null
// recorded in *nulls (written back as null on encode). Nulls are rare, so reflection is fine.
void RecordNull(google::protobuf::Message* msg, int number, uint32_t* nulls) {
  SetBit(nulls, number);
  msg->GetReflection()->ClearField(msg, msg->GetDescriptor()->FindFieldByNumber(number));
}

// A key may come more than once; as in Go, its last occurrence decides. RecordNull clears a
// value set before; a null recorded before a value is dropped here, once the object is read
// (for every bit of `nulls` whose singular field of `msg` is set).
uint32_t DropOverriddenNulls(const google::protobuf::Message& msg, uint32_t nulls) {
  if (nulls == 0) return 0;
  for (int number = 0; number < 32; ++number) {
    if (((nulls >> number) & 1u) == 0) continue;
    const google::protobuf::FieldDescriptor* f = msg.GetDescriptor()->FindFieldByNumber(number);
    if (f != nullptr && !f->is_repeated() && msg.GetReflection()->HasField(msg, f)) {
      nulls &= ~(1u << number);
    }
  }
  return nulls;
}

// Records that the list or map field `field` came as null or as a list / an object,
// replacing what an earlier occurrence of its key recorded.
void RecordListPresence(int field, bool is_null, uint32_t* nulls, uint32_t* present) {
  const uint32_t bit = 1u << field;
  *nulls = is_null ? *nulls | bit : *nulls & ~bit;
  *present = is_null ? *present & ~bit : *present | bit;
}

// Walks one event. Every error names the byte offset (relative to `base_`) and the field.
class Walker {
 public:
  Walker(const char* base, const DecodeOptions& options, const DecodeExtras* extras)
      : base_(base), options_(options), extras_(extras) {}

  absl::Status WalkEvent(od::object& obj, Event* e);

 private:
  size_t Offset(od::value& v) { return static_cast<size_t>(v.raw_json_token().data() - base_); }

  absl::Status Error(size_t offset, std::string_view path, std::string_view what) {
    return absl::InvalidArgumentError(Cat("byte ", offset, ": \"", path, "\": ", what));
  }
  absl::Status TypeError(od::value& v, od::json_type got, std::string_view path,
                         std::string_view expected) {
    return Error(Offset(v), path, Cat("expected ", expected, ", got ", TypeName(got)));
  }
  absl::Status SimdError(simdjson::error_code err, size_t offset, std::string_view path) {
    syntax_error_ = true;
    return Error(offset, path, DescribeSimdjsonError(err, options_.max_depth));
  }

 public:
  // Whether the walk failed on the JSON syntax (rather than on the event's schema).
  bool syntax_error() const { return syntax_error_; }

 private:
  // Reads the type of `v`, turning a failure into a status.
  absl::Status Type(od::value& v, std::string_view path, od::json_type* t) {
    if (auto err = v.type().get(*t)) return SimdError(err, Offset(v), path);
    return absl::OkStatus();
  }

  // A string-valued field: sets *out, or records null in *nulls (bit `field`).
  absl::Status String(od::value v, std::string_view path, std::string* out, bool* is_null);
  absl::Status StringList(od::value v, std::string_view path,
                          google::protobuf::RepeatedPtrField<std::string>* out, bool* is_null);
  // Any JSON value, compacted to Go's raw form. `depth` = nesting level of the value's
  // container (the event object is level 1).
  absl::Status Raw(od::value v, std::string_view path, int depth, std::string* out, bool* is_null);
  absl::Status Timestamp(od::value v, std::string_view path, int64_t* micros, bool* is_null,
                         bool* present);
  absl::Status User(od::value v, std::string_view path, kubetrail::v1::UserInfo* u);
  absl::Status ObjectRef(od::value v, kubetrail::v1::ObjectReference* r);
  absl::Status ResponseStatus(od::value v, kubetrail::v1::ResponseStatus* s);
  absl::Status AuthMetadata(od::value v, kubetrail::v1::AuthenticationMetadata* m);
  absl::Status Annotations(od::value v, Event* e);
  absl::Status Unknown(std::string_view key, od::value v, std::string_view path, int depth,
                       google::protobuf::RepeatedPtrField<kubetrail::v1::RawField>* out);

  // Iterates the members of object `v` (which must be an object, else a type error naming
  // `path`), calling fn(key, value) for each.
  template <typename Fn>
  absl::Status ForEachMember(od::value& v, std::string_view path, Fn fn);

  const char* base_;
  const DecodeOptions& options_;
  const DecodeExtras* extras_;  // may be null
  bool syntax_error_ = false;
};

template <typename Fn>
absl::Status Walker::ForEachMember(od::value& v, std::string_view path, Fn fn) {
  od::json_type t{};
  if (auto s = Type(v, path, &t); !s.ok()) return s;
  if (t != od::json_type::object) return TypeError(v, t, path, "an object");
  od::object obj;
  const size_t at = Offset(v);
  if (auto err = v.get_object().get(obj)) return SimdError(err, at, path);
  for (auto member : obj) {
    od::field field;
    if (auto err = std::move(member).get(field)) return SimdError(err, at, path);
    std::string_view key;
    if (auto err = field.unescaped_key().get(key)) return SimdError(err, at, path);
    if (auto s = fn(key, field.value()); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Walker::String(od::value v, std::string_view path, std::string* out, bool* is_null) {
  od::json_type t{};
  if (auto s = Type(v, path, &t); !s.ok()) return s;
  if (t == od::json_type::null) {
    *is_null = true;
    return absl::OkStatus();
  }
  if (t != od::json_type::string) return TypeError(v, t, path, "a string");
  std::string_view sv;
  if (auto err = v.get_string().get(sv)) return SimdError(err, Offset(v), path);
  out->assign(sv.data(), sv.size());
  return absl::OkStatus();
}

absl::Status Walker::StringList(od::value v, std::string_view path,
                                google::protobuf::RepeatedPtrField<std::string>* out,
                                bool* is_null) {
  od::json_type t{};
  if (auto s = Type(v, path, &t); !s.ok()) return s;
  out->Clear();
  if (t == od::json_type::null) {
    *is_null = true;
    return absl::OkStatus();
  }
  if (t != od::json_type::array) return TypeError(v, t, path, "an array of strings");
  const size_t at = Offset(v);
  od::array arr;
  if (auto err = v.get_array().get(arr)) return SimdError(err, at, path);
  size_t index = 0;
  for (auto element : arr) {
    od::value item;
    if (auto err = std::move(element).get(item)) return SimdError(err, at, path);
    od::json_type it{};
    if (auto s = Type(item, path, &it); !s.ok()) return s;
    if (it != od::json_type::string) {
      return TypeError(item, it, Cat(path, "[", index, "]"), "a string");
    }
    std::string_view sv;
    if (auto err = item.get_string().get(sv)) return SimdError(err, Offset(item), path);
    out->Add()->assign(sv.data(), sv.size());
    ++index;
  }
  return absl::OkStatus();
}

absl::Status Walker::Raw(od::value v, std::string_view path, int depth, std::string* out,
                         bool* is_null) {
  od::json_type t{};
  if (auto s = Type(v, path, &t); !s.ok()) return s;
  if (t == od::json_type::null && is_null != nullptr) {
    *is_null = true;
    return absl::OkStatus();
  }
  const size_t at = Offset(v);
  std::string_view raw;
  if (t == od::json_type::object) {
    od::object o;
    if (auto err = v.get_object().get(o)) return SimdError(err, at, path);
    if (auto err = o.raw_json().get(raw)) return SimdError(err, at, path);
  } else if (t == od::json_type::array) {
    od::array a;
    if (auto err = v.get_array().get(a)) return SimdError(err, at, path);
    if (auto err = a.raw_json().get(raw)) return SimdError(err, at, path);
  } else {
    raw = v.raw_json_token();
  }
  out->clear();
  absl::Status s = AppendCompactGoJson(raw, options_.max_depth - depth, out);
  if (!s.ok()) return RelocateError(s, at, path);
  return absl::OkStatus();
}

absl::Status Walker::Timestamp(od::value v, std::string_view path, int64_t* micros, bool* is_null,
                               bool* present) {
  od::json_type t{};
  if (auto s = Type(v, path, &t); !s.ok()) return s;
  if (t == od::json_type::null) {
    *is_null = true;
    return absl::OkStatus();
  }
  if (t != od::json_type::string) return TypeError(v, t, path, "an RFC 3339 timestamp string");
  std::string_view sv;
  if (auto err = v.get_string().get(sv)) return SimdError(err, Offset(v), path);
  absl::StatusOr<int64_t> us = ParseEventTime(sv);
  if (!us.ok()) return Error(Offset(v), path, ToStd(us.status().message()));
  *micros = *us;
  *present = true;
  return absl::OkStatus();
}

absl::Status Walker::Unknown(std::string_view key, od::value v, std::string_view path, int depth,
                             google::protobuf::RepeatedPtrField<kubetrail::v1::RawField>* out) {
  kubetrail::v1::RawField* f = out->Add();
  f->mutable_key()->assign(key.data(), key.size());
  return Raw(v, path, depth, f->mutable_value(), nullptr);
}

absl::Status Walker::User(od::value v, std::string_view path, kubetrail::v1::UserInfo* u) {
  uint32_t nulls = 0;
  uint32_t present = 0;
  // Error paths, chosen without building strings on the way.
  const bool impersonated = path != "user";
  const auto sub = [impersonated](std::string_view user_path, std::string_view impersonated_path) {
    return impersonated ? impersonated_path : user_path;
  };
  absl::Status s = ForEachMember(v, path, [&](std::string_view key, od::value fv) -> absl::Status {
    bool null = false;
    absl::Status st;
    if (key == "username") {
      st = String(fv, sub("user.username", "impersonatedUser.username"), u->mutable_username(),
                  &null);
      if (null) RecordNull(u, 1, &nulls);
    } else if (key == "uid") {
      st = String(fv, sub("user.uid", "impersonatedUser.uid"), u->mutable_uid(), &null);
      if (null) RecordNull(u, 2, &nulls);
    } else if (key == "groups") {
      st =
          StringList(fv, sub("user.groups", "impersonatedUser.groups"), u->mutable_groups(), &null);
      RecordListPresence(3, null, &nulls, &present);
    } else if (key == "extra") {
      od::json_type t{};
      if (auto ts = Type(fv, sub("user.extra", "impersonatedUser.extra"), &t); !ts.ok()) return ts;
      RecordListPresence(4, t == od::json_type::null, &nulls, &present);
      if (t == od::json_type::null) {
        u->clear_extra();
        return absl::OkStatus();
      }
      st = ForEachMember(fv, sub("user.extra", "impersonatedUser.extra"),
                         [&](std::string_view k, od::value ev) -> absl::Status {
                           kubetrail::v1::ExtraValue& value = (*u->mutable_extra())[std::string(k)];
                           bool value_null = false;
                           absl::Status es =
                               StringList(ev, sub("user.extra", "impersonatedUser.extra"),
                                          value.mutable_values(), &value_null);
                           value.set_is_null(value_null);
                           return es;
                         });
    } else {
      st = Unknown(key, fv, Cat(path, ".", key), 2, u->mutable_unknown_fields());
    }
    return st;
  });
  u->set_null_fields(DropOverriddenNulls(*u, nulls));
  u->set_present_fields(present);
  return s;
}

// ObjectReference's members: all strings, numbered 1-8 in JSON order.
struct ObjectRefField {
  std::string_view key;
  std::string_view path;  // for error messages
  int number;
  std::string* (kubetrail::v1::ObjectReference::*mutable_field)();
};
using kubetrail::v1::ObjectReference;
constexpr ObjectRefField kObjectRefFields[] = {
    {"resource", "objectRef.resource", 1, &ObjectReference::mutable_resource},
    {"namespace", "objectRef.namespace", 2, &ObjectReference::mutable_namespace_},
    {"name", "objectRef.name", 3, &ObjectReference::mutable_name},
    {"uid", "objectRef.uid", 4, &ObjectReference::mutable_uid},
    {"apiGroup", "objectRef.apiGroup", 5, &ObjectReference::mutable_api_group},
    {"apiVersion", "objectRef.apiVersion", 6, &ObjectReference::mutable_api_version},
    {"resourceVersion", "objectRef.resourceVersion", 7, &ObjectReference::mutable_resource_version},
    {"subresource", "objectRef.subresource", 8, &ObjectReference::mutable_subresource},
};

absl::Status Walker::ObjectRef(od::value v, ObjectReference* r) {
  uint32_t nulls = 0;
  absl::Status s =
      ForEachMember(v, "objectRef", [&](std::string_view key, od::value fv) -> absl::Status {
        for (const ObjectRefField& f : kObjectRefFields) {
          if (key != f.key) continue;
          bool null = false;
          absl::Status st = String(fv, f.path, (r->*f.mutable_field)(), &null);
          if (null) RecordNull(r, f.number, &nulls);
          return st;
        }
        return Unknown(key, fv, Cat("objectRef.", key), 2, r->mutable_unknown_fields());
      });
  r->set_null_fields(DropOverriddenNulls(*r, nulls));
  return s;
}

absl::Status Walker::ResponseStatus(od::value v, kubetrail::v1::ResponseStatus* rs) {
  uint32_t nulls = 0;
  absl::Status s =
      ForEachMember(v, "responseStatus", [&](std::string_view key, od::value fv) -> absl::Status {
        bool null = false;
        absl::Status st;
        if (key == "metadata") {
          st = Raw(fv, "responseStatus.metadata", 2, rs->mutable_metadata(), &null);
          if (null) RecordNull(rs, 6, &nulls);
        } else if (key == "status") {
          st = String(fv, "responseStatus.status", rs->mutable_status(), &null);
          if (null) RecordNull(rs, 1, &nulls);
        } else if (key == "message") {
          st = String(fv, "responseStatus.message", rs->mutable_message(), &null);
          if (null) RecordNull(rs, 2, &nulls);
        } else if (key == "reason") {
          st = String(fv, "responseStatus.reason", rs->mutable_reason(), &null);
          if (null) RecordNull(rs, 3, &nulls);
        } else if (key == "details") {
          st = Raw(fv, "responseStatus.details", 2, rs->mutable_details(), &null);
          if (null) RecordNull(rs, 4, &nulls);
        } else if (key == "code") {
          od::json_type t{};
          if (auto ts = Type(fv, "responseStatus.code", &t); !ts.ok()) return ts;
          if (t == od::json_type::null) {
            RecordNull(rs, 5, &nulls);
            return absl::OkStatus();
          }
          if (t != od::json_type::number) {
            return TypeError(fv, t, "responseStatus.code", "an integer");
          }
          int64_t code = 0;
          if (fv.get_int64().get(code) || code < INT32_MIN || code > INT32_MAX) {
            return Error(Offset(fv), "responseStatus.code", "expected a 32-bit integer");
          }
          rs->set_code(static_cast<int32_t>(code));
        } else {
          st = Unknown(key, fv, Cat("responseStatus.", key), 2, rs->mutable_unknown_fields());
        }
        return st;
      });
  rs->set_null_fields(DropOverriddenNulls(*rs, nulls));
  return s;
}

absl::Status Walker::AuthMetadata(od::value v, kubetrail::v1::AuthenticationMetadata* m) {
  uint32_t nulls = 0;
  absl::Status s = ForEachMember(
      v, "authenticationMetadata", [&](std::string_view key, od::value fv) -> absl::Status {
        if (key == "impersonationConstraint") {
          bool null = false;
          absl::Status st = String(fv, "authenticationMetadata.impersonationConstraint",
                                   m->mutable_impersonation_constraint(), &null);
          if (null) RecordNull(m, 1, &nulls);
          return st;
        }
        return Unknown(key, fv, Cat("authenticationMetadata.", key), 2,
                       m->mutable_unknown_fields());
      });
  m->set_null_fields(DropOverriddenNulls(*m, nulls));
  return s;
}

absl::Status Walker::Annotations(od::value v, Event* e) {
  auto* map = e->mutable_annotations();
  return ForEachMember(v, "annotations", [&](std::string_view key, od::value fv) -> absl::Status {
    od::json_type t{};
    if (auto s = Type(fv, "annotations", &t); !s.ok()) return s;
    if (t != od::json_type::string) {
      return TypeError(fv, t, Cat("annotations.", key), "a string");
    }
    std::string_view sv;
    if (auto err = fv.get_string().get(sv)) return SimdError(err, Offset(fv), "annotations");
    (*map)[std::string(key)].assign(sv.data(), sv.size());
    return absl::OkStatus();
  });
}

absl::Status Walker::WalkEvent(od::object& obj, Event* e) {
  uint32_t nulls = 0;
  uint32_t present = 0;
  bool has_level = false, has_audit_id = false, has_stage = false;
  std::string api_version;
  bool has_api_version = false;
  bool saw_kind_event = false;
  int timestamp_index = -1;  // index in unknown_fields of a v1beta1 `timestamp`

  for (auto member : obj) {
    od::field field;
    if (auto err = std::move(member).get(field)) return SimdError(err, 0, "");
    std::string_view key;
    if (auto err = field.unescaped_key().get(key)) return SimdError(err, 0, "");
    od::value v = field.value();
    bool null = false;
    absl::Status st;
    // Known keys, most frequent first.
    if (key == "level") {
      st = String(v, "level", e->mutable_level(), &null);
      has_level = !null;
    } else if (key == "auditID") {
      st = String(v, "auditID", e->mutable_audit_id(), &null);
      has_audit_id = !null;
    } else if (key == "stage") {
      st = String(v, "stage", e->mutable_stage(), &null);
      has_stage = !null;
    } else if (key == "requestURI") {
      st = String(v, "requestURI", e->mutable_request_uri(), &null);
      if (null) RecordNull(e, Event::kRequestUriFieldNumber, &nulls);
    } else if (key == "verb") {
      st = String(v, "verb", e->mutable_verb(), &null);
      if (null) RecordNull(e, Event::kVerbFieldNumber, &nulls);
    } else if (key == "user" || key == "impersonatedUser") {
      const bool impersonated = key.size() != 4;
      od::json_type t{};
      if (auto ts = Type(v, key, &t); !ts.ok()) return ts;
      if (t == od::json_type::null) {
        RecordNull(e, impersonated ? Event::kImpersonatedUserFieldNumber : Event::kUserFieldNumber,
                   &nulls);
      } else {
        kubetrail::v1::UserInfo* u =
            impersonated ? e->mutable_impersonated_user() : e->mutable_user();
        u->Clear();
        st = User(v, impersonated ? "impersonatedUser" : "user", u);
      }
    } else if (key == "sourceIPs") {
      st = StringList(v, "sourceIPs", e->mutable_source_ips(), &null);
      RecordListPresence(Event::kSourceIpsFieldNumber, null, &nulls, &present);
    } else if (key == "userAgent") {
      st = String(v, "userAgent", e->mutable_user_agent(), &null);
      if (null) RecordNull(e, Event::kUserAgentFieldNumber, &nulls);
    } else if (key == "objectRef" || key == "responseStatus" || key == "authenticationMetadata") {
      od::json_type t{};
      if (auto ts = Type(v, key, &t); !ts.ok()) return ts;
      const int number = key[0] == 'o'   ? Event::kObjectRefFieldNumber
                         : key[0] == 'r' ? Event::kResponseStatusFieldNumber
                                         : Event::kAuthenticationMetadataFieldNumber;
      if (t == od::json_type::null) {
        RecordNull(e, number, &nulls);
      } else if (number == Event::kObjectRefFieldNumber) {
        e->mutable_object_ref()->Clear();
        st = ObjectRef(v, e->mutable_object_ref());
      } else if (number == Event::kResponseStatusFieldNumber) {
        e->mutable_response_status()->Clear();
        st = ResponseStatus(v, e->mutable_response_status());
      } else {
        e->mutable_authentication_metadata()->Clear();
        st = AuthMetadata(v, e->mutable_authentication_metadata());
      }
    } else if (key == "requestObject") {
      st = Raw(v, "requestObject", 1, e->mutable_request_object(), &null);
      if (null) RecordNull(e, Event::kRequestObjectFieldNumber, &nulls);
    } else if (key == "responseObject") {
      st = Raw(v, "responseObject", 1, e->mutable_response_object(), &null);
      if (null) RecordNull(e, Event::kResponseObjectFieldNumber, &nulls);
    } else if (key == "requestReceivedTimestamp" || key == "stageTimestamp") {
      const bool received = key[0] == 'r';
      const int number = received ? Event::kRequestReceivedTimestampUsFieldNumber
                                  : Event::kStageTimestampUsFieldNumber;
      int64_t us = 0;
      bool set = false;
      st = Timestamp(v, key, &us, &null, &set);
      if (null) RecordNull(e, number, &nulls);
      if (set && received) e->set_request_received_timestamp_us(us);
      if (set && !received) e->set_stage_timestamp_us(us);
    } else if (key == "annotations") {
      od::json_type t{};
      if (auto ts = Type(v, key, &t); !ts.ok()) return ts;
      RecordListPresence(Event::kAnnotationsFieldNumber, t == od::json_type::null, &nulls,
                         &present);
      if (t == od::json_type::null) {
        e->clear_annotations();
      } else {
        st = Annotations(v, e);
      }
    } else if (key == "kind") {
      std::string kind;
      st = String(v, "kind", &kind, &null);
      if (st.ok() && !null && kind == "EventList" && extras_ != nullptr && extras_->is_list) {
        *extras_->is_list = true;
        return absl::FailedPreconditionError("an EventList");
      }
      if (st.ok() && !null) saw_kind_event = true;
      if (st.ok() && (null || kind != "Event")) {
        return Error(Offset(v), "kind",
                     Cat("expected \"Event\", got ", null ? "null" : Cat("\"", kind, "\"")));
      }
    } else if (key == "apiVersion") {
      const size_t at = Offset(v);
      st = String(v, "apiVersion", &api_version, &null);
      if (st.ok()) {
        if (null || (api_version != kApiVersionV1 && api_version != kApiVersionV1beta1)) {
          return Error(at, "apiVersion",
                       Cat("unsupported apiVersion ", null ? "null" : Cat("\"", api_version, "\""),
                           " (expected audit.k8s.io/v1 or audit.k8s.io/v1beta1)"));
        }
        has_api_version = true;
      }
    } else if (key == "items" && !saw_kind_event && extras_ != nullptr && extras_->is_list) {
      od::json_type t{};
      if (Type(v, key, &t).ok() && t == od::json_type::array) {
        *extras_->is_list = true;
        return absl::FailedPreconditionError("an EventList");
      }
      st = Unknown(key, v, key, 1, e->mutable_unknown_fields());
    } else {
      if (key == "timestamp") timestamp_index = e->unknown_fields_size();
      st = Unknown(key, v, key, 1, e->mutable_unknown_fields());
    }
    if (!st.ok()) return st;
  }

  if (!has_level) return absl::InvalidArgumentError("missing required field \"level\"");
  if (!has_audit_id) return absl::InvalidArgumentError("missing required field \"auditID\"");
  if (!has_stage) return absl::InvalidArgumentError("missing required field \"stage\"");

  if (!has_api_version && extras_ != nullptr && !extras_->default_api_version.empty()) {
    api_version.assign(extras_->default_api_version);
    has_api_version = true;
  }
  if (has_api_version && api_version == kApiVersionV1beta1) {
    e->set_source_api_version(api_version);
    // v1beta1 -> v1: the v1 timestamps default to the v1beta1 `timestamp`.
    // Absent, not null: a null is kept as the input said it.
    const bool fill_rrt = !e->has_request_received_timestamp_us() &&
                          !((nulls >> Event::kRequestReceivedTimestampUsFieldNumber) & 1u);
    const bool fill_st =
        !e->has_stage_timestamp_us() && !((nulls >> Event::kStageTimestampUsFieldNumber) & 1u);
    if (timestamp_index >= 0 && (fill_rrt || fill_st)) {
      const std::string& raw = e->unknown_fields(timestamp_index).value();
      if (raw.size() >= 2 && raw.front() == '"' && raw.back() == '"') {
        absl::StatusOr<int64_t> us =
            ParseEventTime(std::string_view(raw).substr(1, raw.size() - 2));
        if (!us.ok()) {
          return absl::InvalidArgumentError(Cat("\"timestamp\": ", ToStd(us.status().message())));
        }
        if (fill_rrt) e->set_request_received_timestamp_us(*us);
        if (fill_st) e->set_stage_timestamp_us(*us);
      }
    }
  }
  e->set_null_fields(DropOverriddenNulls(*e, nulls));
  e->set_present_fields(present);
  return absl::OkStatus();
}

}  // namespace

absl::Status DecodeEventObject(od::object& obj, const char* base, const DecodeOptions& options,
                               const DecodeExtras* extras, Event* event) {
  event->Clear();
  Walker walker(base, options, extras);
  return walker.WalkEvent(obj, event);
}

std::string DescribeSimdjsonError(simdjson::error_code err, int max_depth) {
  switch (err) {
    case simdjson::DEPTH_ERROR:
      return Cat("nesting deeper than ", max_depth);
    case simdjson::UNCLOSED_STRING:
      return "unterminated string";
    case simdjson::TAPE_ERROR:
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT:
      return "malformed or truncated JSON (unbalanced braces or brackets)";
    case simdjson::STRING_ERROR:
      return "invalid string (bad escape or control character)";
    case simdjson::UNESCAPED_CHARS:
      return "control character inside a string";
    case simdjson::NUMBER_ERROR:
      return "invalid number";
    case simdjson::T_ATOM_ERROR:
    case simdjson::F_ATOM_ERROR:
    case simdjson::N_ATOM_ERROR:
      return "invalid literal (expected true, false or null)";
    case simdjson::EMPTY:
      return "empty input";
    default:
      return simdjson::error_message(err);
  }
}

absl::Status RelocateError(const absl::Status& s, size_t base_offset, std::string_view path) {
  std::string_view msg = ToStd(s.message());
  size_t inner = 0;
  if (msg.substr(0, 5) == "byte ") {
    const size_t colon = msg.find(':');
    if (colon != std::string_view::npos &&
        absl::SimpleAtoi(ToAbsl(msg.substr(5, colon - 5)), &inner)) {
      msg.remove_prefix(colon + 1);
      if (!msg.empty() && msg.front() == ' ') msg.remove_prefix(1);
    }
  }
  return absl::Status(s.code(), Cat("byte ", base_offset + inner, ": \"", path, "\": ", msg));
}

// ---------------------------------------------------------------------------------------------
// EventDecoder

namespace {

// simdjson says what is wrong with rejected JSON, not where; the validating compactor says
// both. Returns the compactor's error when it finds the fault, else `fallback`.
absl::Status LocateSyntaxError(std::string_view text, int max_depth, absl::Status fallback) {
  std::string scratch;
  absl::Status precise = AppendCompactGoJson(text, max_depth, &scratch);
  return precise.ok() ? fallback : precise;
}

// The error for JSON that simdjson rejected with `err`.
absl::Status SyntaxError(std::string_view text, simdjson::error_code err, int max_depth) {
  if (err == simdjson::UTF8_ERROR) {
    return absl::InvalidArgumentError(Cat("invalid UTF-8 at byte ", FindInvalidUtf8(text)));
  }
  return LocateSyntaxError(text, max_depth,
                           absl::InvalidArgumentError(DescribeSimdjsonError(err, max_depth)));
}

}  // namespace

EventDecoder::EventDecoder(DecodeOptions options)
    : options_(options), impl_(std::make_unique<Impl>()) {
  // A little more depth than the limit, so that our own, more precise check speaks first.
  // Allocation failure here only means iterate() allocates later; it reports its own errors.
  if (impl_->parser.allocate(64 * 1024, static_cast<size_t>(options_.max_depth) + 2) !=
      simdjson::SUCCESS) {
    impl_ = std::make_unique<Impl>();
  }
}

EventDecoder::~EventDecoder() = default;

absl::Status EventDecoder::Decode(std::string_view json, Event* event) {
  const size_t capacity = json.size() + simdjson::SIMDJSON_PADDING;
  if (impl_->padded.size() < capacity) impl_->padded.resize(capacity);
  std::memcpy(impl_->padded.data(), json.data(), json.size());
  std::memset(impl_->padded.data() + json.size(), ' ', simdjson::SIMDJSON_PADDING);
  return DecodePadded(impl_->padded.data(), json.size(), impl_->padded.size() - json.size(), event,
                      nullptr);
}

absl::Status EventDecoder::DecodePadded(const char* data, size_t size, size_t padding, Event* event,
                                        const DecodeExtras* extras) {
  event->Clear();
  if (size > options_.max_event_bytes) {
    return absl::ResourceExhaustedError(
        Cat("event of ", size, " bytes is over the limit of ", options_.max_event_bytes, " bytes"));
  }
  od::document& doc = impl_->doc;
  auto err =
      impl_->parser.iterate(simdjson::padded_string_view(data, size, size + padding)).get(doc);
  const std::string_view text(data, size);
  if (err) return SyntaxError(text, err, options_.max_depth);
  od::json_type t{};
  if (auto terr = doc.type().get(t)) return SyntaxError(text, terr, options_.max_depth);
  if (t != od::json_type::object) {
    return absl::InvalidArgumentError(
        Cat("byte 0: expected a JSON object (an audit Event), got ", TypeName(t)));
  }
  od::object obj;
  if (auto oerr = doc.get_object().get(obj)) return SyntaxError(text, oerr, options_.max_depth);
  Walker walker(data, options_, extras);
  if (absl::Status s = walker.WalkEvent(obj, event); !s.ok()) {
    return walker.syntax_error() ? LocateSyntaxError(text, options_.max_depth, s) : s;
  }
  // Anything after the object (a second value, stray characters) is an error: one input,
  // one event.
  const char* loc = nullptr;
  if (doc.current_location().get(loc) == simdjson::SUCCESS) {
    return absl::InvalidArgumentError(
        Cat("byte ", static_cast<size_t>(loc - data), ": unexpected data after the event object"));
  }
  return absl::OkStatus();
}

}  // namespace kubetrail::audit
