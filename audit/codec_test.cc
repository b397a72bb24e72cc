// Tests of the kube-JSON codec (codec.h) against its contract: codec.h, the presence rules of
// proto/kubetrail/v1/event.proto and ../shared/docs/k8s-audit-semantics.md (beside the checkout) §1.
//
// Every event here is written by hand; none is copied from the corpus (corpus_test.cc covers
// that). Every successful decode in this file also goes through the idempotence check in
// Canon(): encode(decode(encode(decode(x)))) == encode(decode(x)).
#include "audit/codec.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "audit/codec_testing.h"
#include "audit/gojson.h"
#include "common/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kubetrail/v1/event.pb.h"

namespace kubetrail::audit {
namespace {

using ::kubetrail::audit::testing::EventListJson;
using ::kubetrail::audit::testing::SameEvent;
using ::kubetrail::v1::Event;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

constexpr uint32_t Bit(int n) { return uint32_t{1} << n; }

absl::StatusOr<Event> DecodeOne(std::string_view json, DecodeOptions options = {}) {
  EventDecoder decoder(options);
  Event event;
  absl::Status status = decoder.Decode(json, &event);
  if (!status.ok()) return status;
  return event;
}

// Decodes `json` and returns its encoding, checking on the way that the encoding is a fixed
// point (decode -> encode gives it back, and decodes to the same proto). On a decode error,
// records a failure and returns a string that says so (so EXPECT_EQ shows it).
std::string Canon(std::string_view json, DecodeOptions options = {}) {
  absl::StatusOr<Event> first = DecodeOne(json, options);
  if (!first.ok()) {
    ADD_FAILURE() << "decode failed: " << first.status() << "\ninput: " << json;
    return Cat("<decode error: ", first.status().ToString(), ">");
  }
  std::string once = EncodeEventJson(*first);
  absl::StatusOr<Event> second = DecodeOne(once, options);
  if (!second.ok()) {
    ADD_FAILURE() << "re-decode of the encoding failed: " << second.status()
                  << "\nencoding: " << once;
    return once;
  }
  std::string twice = EncodeEventJson(*second);
  EXPECT_EQ(twice, once) << "encoding is not idempotent; input: " << json;
  std::string diff;
  EXPECT_TRUE(SameEvent(*first, *second, &diff))
      << "decode(encode(decode(x))) != decode(x): " << diff << "\ninput: " << json;
  return once;
}

// Expects `json` to decode and encode back to exactly the same bytes.
void ExpectByteExact(std::string_view json) { EXPECT_EQ(Canon(json), json); }

Event MustDecode(std::string_view json, DecodeOptions options = {}) {
  absl::StatusOr<Event> event = DecodeOne(json, options);
  EXPECT_TRUE(event.ok()) << event.status() << "\ninput: " << json;
  return event.ok() ? *std::move(event) : Event();
}

// ---------------------------------------------------------------------------------------------
// Hand-written apiserver-style lines (Go key order, Go escaping, MicroTime).

// Every v1 field, with Go's HTML escaping, U+2028 in a raw object, non-ASCII kept raw, big
// numbers inside a raw object and sorted map keys.
constexpr std::string_view kFullLine =
    R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse",)"
    R"("auditID":"5f2a0c1e-7b3d-4e8a-9c61-2d4f8b7a9e10","stage":"ResponseComplete",)"
    R"("requestURI":"/api/v1/namespaces/default/pods?fieldManager=kubectl\u0026limit=500",)"
    R"("verb":"create","user":{"username":"system:serviceaccount:default:builder",)"
    R"("uid":"0b6c3a7e-1111-2222-3333-444455556666","groups":["system:serviceaccounts",)"
    R"("system:serviceaccounts:default","system:authenticated"],"extra":{)"
    R"("authentication.kubernetes.io/pod-name":["builder-7d9f"],)"
    R"("authentication.kubernetes.io/pod-uid":["9a8b7c6d-0000-1111-2222-333344445555"]}},)"
    R"("impersonatedUser":{"username":"alice","groups":["dev"]},)"
    R"("authenticationMetadata":{"impersonationConstraint":"impersonate-on:user-info"},)"
    R"("sourceIPs":["10.0.0.7","192.168.1.1"],)"
    R"("userAgent":"kubectl/v1.31.0 (linux/amd64) kubernetes/abc1234",)"
    R"("objectRef":{"resource":"pods","namespace":"default","name":"web-0",)"
    R"("uid":"c0ffee00-1234-5678-9abc-def012345678","apiGroup":"apps","apiVersion":"v1",)"
    R"("resourceVersion":"12345","subresource":"status"},)"
    R"("responseStatus":{"metadata":{},"status":"Failure",)"
    R"("message":"pods \"web-0\" is forbidden: a \u003c b \u0026\u0026 c \u003e d",)"
    R"("reason":"Forbidden","details":{"name":"web-0","kind":"pods"},"code":403},)"
    R"("requestObject":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web-0",)"
    R"("annotations":{"note":"5 \u003c 6 \u0026 7 \u003e 3","x":"line\u2028sep"}},)"
    R"("spec":{"replicas":3,"ratio":0.25,"big":123456789012345678901234567890,"huge":1e400,)"
    R"("neg":-1.5E-7,"flags":[true,false,null],"empty":{},"none":[]}},)"
    R"("responseObject":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
    R"("code":403},"requestReceivedTimestamp":"2026-07-23T14:47:51.123456Z",)"
    R"("stageTimestamp":"2026-07-23T14:47:51.130001Z","annotations":{)"
    R"("apiserver.latency.k8s.io/etcd":"561.927µs","authorization.k8s.io/decision":"forbid",)"
    R"("authorization.k8s.io/reason":"","pod-security.kubernetes.io/enforce-policy":)"
    R"("privileged:latest"}})";

// A RequestReceived event: no responseStatus, no annotations, no objectRef.
constexpr std::string_view kRequestReceivedLine =
    R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1",)"
    R"("stage":"RequestReceived","requestURI":"/livez","verb":"get","user":{)"
    R"("username":"system:anonymous","groups":["system:unauthenticated"]},"sourceIPs":["::1"],)"
    R"("requestReceivedTimestamp":"2025-07-18T10:00:00.000000Z",)"
    R"("stageTimestamp":"2025-07-18T10:00:00.000000Z"})";

// Only the three required fields.
constexpr std::string_view kMinimalLine =
    R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"m1",)"
    R"("stage":"ResponseComplete"})";

// Present-but-empty values everywhere.
constexpr std::string_view kEmptyValuesLine =
    R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"p1",)"
    R"("stage":"ResponseComplete","requestURI":"","verb":"","user":{},)"
    R"("impersonatedUser":{"username":"","uid":"","groups":[],"extra":{}},)"
    R"("authenticationMetadata":{},"sourceIPs":[],"userAgent":"",)"
    R"("objectRef":{"resource":"","apiGroup":""},"responseStatus":{"metadata":{},"code":0},)"
    R"("requestObject":{},"responseObject":[],"requestReceivedTimestamp":null,)"
    R"("stageTimestamp":null,"annotations":{}})";

// JSON null on every known field that can take it.
constexpr std::string_view kNullsLine =
    R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"n1",)"
    R"("stage":"ResponseComplete","requestURI":null,"verb":null,"user":{"username":null,)"
    R"("uid":null,"groups":null,"extra":{"a":null,"b":[],"c":["x","y"]}},)"
    R"("impersonatedUser":null,"authenticationMetadata":{"impersonationConstraint":null},)"
    R"("sourceIPs":null,"userAgent":null,"objectRef":{"resource":null,"namespace":null,)"
    R"("name":null,"uid":null,"apiGroup":null,"apiVersion":null,"resourceVersion":null,)"
    R"("subresource":null},"responseStatus":{"metadata":null,"status":null,"message":null,)"
    R"("reason":null,"details":null,"code":null},"requestObject":null,"responseObject":null,)"
    R"("requestReceivedTimestamp":null,"stageTimestamp":null,"annotations":null})";

// user.extra null, impersonatedUser with null groups.
constexpr std::string_view kNullExtraLine =
    R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"n2",)"
    R"("stage":"ResponseComplete","user":{"username":"u","extra":null},)"
    R"("impersonatedUser":{"groups":null},"authenticationMetadata":null,"objectRef":null,)"
    R"("responseStatus":null})";

TEST(CodecRoundTripTest, FullApiserverLineIsByteExact) { ExpectByteExact(kFullLine); }

TEST(CodecRoundTripTest, RequestReceivedLineIsByteExact) {
  ExpectByteExact(kRequestReceivedLine);
}

TEST(CodecRoundTripTest, MinimalLineIsByteExact) { ExpectByteExact(kMinimalLine); }

TEST(CodecRoundTripTest, FullLineDecodesToTheModel) {
  Event e = MustDecode(kFullLine);
  EXPECT_EQ(e.level(), "RequestResponse");
  EXPECT_EQ(e.audit_id(), "5f2a0c1e-7b3d-4e8a-9c61-2d4f8b7a9e10");
  EXPECT_EQ(e.stage(), "ResponseComplete");
  EXPECT_EQ(e.request_uri(), "/api/v1/namespaces/default/pods?fieldManager=kubectl&limit=500");
  EXPECT_EQ(e.verb(), "create");
  ASSERT_TRUE(e.has_user());
  EXPECT_EQ(e.user().username(), "system:serviceaccount:default:builder");
  EXPECT_EQ(e.user().uid(), "0b6c3a7e-1111-2222-3333-444455556666");
  ASSERT_EQ(e.user().groups_size(), 3);
  EXPECT_EQ(e.user().groups(2), "system:authenticated");
  ASSERT_EQ(e.user().extra().count("authentication.kubernetes.io/pod-name"), 1u);
  EXPECT_EQ(e.user().extra().at("authentication.kubernetes.io/pod-name").values(0),
            "builder-7d9f");
  EXPECT_FALSE(e.user().extra().at("authentication.kubernetes.io/pod-name").is_null());
  ASSERT_TRUE(e.has_impersonated_user());
  EXPECT_EQ(e.impersonated_user().username(), "alice");
  EXPECT_FALSE(e.impersonated_user().has_uid());
  EXPECT_EQ(e.authentication_metadata().impersonation_constraint(), "impersonate-on:user-info");
  ASSERT_EQ(e.source_ips_size(), 2);
  EXPECT_EQ(e.source_ips(1), "192.168.1.1");
  EXPECT_EQ(e.user_agent(), "kubectl/v1.31.0 (linux/amd64) kubernetes/abc1234");
  EXPECT_EQ(e.object_ref().api_group(), "apps");
  EXPECT_EQ(e.object_ref().subresource(), "status");
  EXPECT_EQ(e.object_ref().resource_version(), "12345");
  EXPECT_EQ(e.response_status().code(), 403);
  EXPECT_EQ(e.response_status().message(), R"(pods "web-0" is forbidden: a < b && c > d)");
  EXPECT_EQ(e.response_status().metadata(), "{}");
  EXPECT_EQ(e.response_status().details(), R"({"name":"web-0","kind":"pods"})");
  EXPECT_EQ(e.response_object(),
            R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","code":403})");
  EXPECT_TRUE(absl::StrContains(e.request_object(), "123456789012345678901234567890"));
  EXPECT_TRUE(absl::StrContains(e.request_object(), R"("huge":1e400)"));
  EXPECT_TRUE(absl::StrContains(e.request_object(), R"(\u003c 6 \u0026 7 \u003e 3)"));
  EXPECT_EQ(e.request_received_timestamp_us(), 1784818071123456);
  EXPECT_EQ(e.stage_timestamp_us(), 1784818071130001);
  ASSERT_EQ(e.annotations().size(), 4u);
  EXPECT_EQ(e.annotations().at("apiserver.latency.k8s.io/etcd"), "561.927\xC2\xB5s");
  EXPECT_EQ(e.annotations().at("authorization.k8s.io/reason"), "");
  EXPECT_EQ(e.unknown_fields_size(), 0);
  EXPECT_EQ(e.null_fields(), 0u);
  EXPECT_EQ(e.source_api_version(), "");
  EXPECT_NE(e.present_fields() & Bit(8), 0u);   // sourceIPs
  EXPECT_NE(e.present_fields() & Bit(15), 0u);  // annotations
}

TEST(CodecRoundTripTest, AbsentFieldsStayAbsent) {
  Event e = MustDecode(kMinimalLine);
  EXPECT_FALSE(e.has_request_uri());
  EXPECT_FALSE(e.has_verb());
  EXPECT_FALSE(e.has_user());
  EXPECT_FALSE(e.has_impersonated_user());
  EXPECT_FALSE(e.has_authentication_metadata());
  EXPECT_FALSE(e.has_user_agent());
  EXPECT_FALSE(e.has_object_ref());
  EXPECT_FALSE(e.has_response_status());
  EXPECT_FALSE(e.has_request_object());
  EXPECT_FALSE(e.has_response_object());
  EXPECT_FALSE(e.has_request_received_timestamp_us());
  EXPECT_FALSE(e.has_stage_timestamp_us());
  EXPECT_EQ(e.present_fields(), 0u);
  EXPECT_EQ(e.null_fields(), 0u);

  // Only one timestamp in: only that one out.
  ExpectByteExact(
      R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"t1",)"
      R"("stage":"ResponseComplete","stageTimestamp":"2025-07-18T10:00:00.000001Z"})");
}

TEST(CodecRoundTripTest, GoEscapingOfKnownStrings) {
  // Input escapes in every form; output in Go's form.
  std::string input =
      R"({"level":"Metadata","auditID":"esc","stage":"ResponseComplete","userAgent":")"
      R"(\u0000\u0001\u001f\u007f\t\n\r\b\f\"\\\/<>&\u2028\u2029\u00e9\ud83d\ude00 µ)"
      "\x7f"
      "\xE2\x80\xA8"
      R"(\u003C\u003e\u0026\u00E9"})";
  std::string expected =
      R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"esc",)"
      R"("stage":"ResponseComplete","userAgent":")"
      R"(\u0000\u0001\u001f)"
      "\x7f"
      R"(\t\n\r\b\f\"\\/\u003c\u003e\u0026\u2028\u2029)"
      "\xC3\xA9\xF0\x9F\x98\x80 \xC2\xB5\x7f"
      R"(\u2028\u003c\u003e\u0026)"
      "\xC3\xA9"
      R"("})";
  EXPECT_EQ(Canon(input), expected);
  Event e = MustDecode(input);
  EXPECT_EQ(e.user_agent(),
            std::string(1, '\0') + "\x01\x1f\x7f\t\n\r\b\f\"\\/<>&" +
                "\xE2\x80\xA8\xE2\x80\xA9\xC3\xA9\xF0\x9F\x98\x80 \xC2\xB5\x7f\xE2\x80\xA8<>&"
                "\xC3\xA9");
}

TEST(CodecRoundTripTest, EscapedAuditIdAndKeys) {
  // Escapes in keys are unescaped before matching ("audit\u0049D" is "auditID").
  EXPECT_EQ(Canon(R"({"lev\u0065l":"Metadata","audit\u0049D":"caf\u00e9\/1",)"
                  R"("stage":"Response\u0043omplete"})"),
            R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata",)"
            R"("auditID":"café/1","stage":"ResponseComplete"})");
}

// ---------------------------------------------------------------------------------------------
// Canonicalisation.

constexpr std::string_view kPrettyAlphabetical = R"({
  "annotations": {
    "z.example/b": "2",
    "a.example/a": "caf\u00e9 \/ ok"
  },
  "apiVersion": "audit.k8s.io/v1",
  "auditID": "c\u0061n-1",
  "kind": "Event",
  "level": "Request",
  "objectRef": {
    "apiGroup": "apps",
    "apiVersion": "v1",
    "name": "d",
    "namespace": "ns",
    "resource": "deployments"
  },
  "requestObject": {
    "spec" : { "replicas" : 3 , "big": 123456789012345678901234567890, "inf": 1e400 },
    "kind": "Deployment",
    "note": "a\u00e9\/b <&>",
    "arr": [ 1 , 2.50 , -0, 1E+2 ]
  },
  "requestReceivedTimestamp": "2026-07-23T16:47:51.123456789+02:00",
  "requestURI": "\/apis\/apps\/v1\/namespaces\/ns\/deployments?a=1&b=2",
  "responseStatus": {
    "code": 201,
    "metadata": { }
  },
  "sourceIPs": [ "10.0.0.1" ],
  "stage": "ResponseComplete",
  "stageTimestamp": "2026-07-23T14:47:51.999999999Z",
  "user": {
    "extra": { "z": ["1"], "a": [ "2", "3" ] },
    "groups": [ "system:authenticated" ],
    "username": "admin"
  },
  "userAgent": "kubectl\u002Fv1.31",
  "verb": "create"
}
)";

constexpr std::string_view kPrettyAlphabeticalCanonical =
    R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"can-1",)"
    R"("stage":"ResponseComplete",)"
    R"("requestURI":"/apis/apps/v1/namespaces/ns/deployments?a=1\u0026b=2","verb":"create",)"
    R"("user":{"username":"admin","groups":["system:authenticated"],)"
    R"("extra":{"a":["2","3"],"z":["1"]}},"sourceIPs":["10.0.0.1"],)"
    R"("userAgent":"kubectl/v1.31","objectRef":{"resource":"deployments","namespace":"ns",)"
    R"("name":"d","apiGroup":"apps","apiVersion":"v1"},)"
    R"("responseStatus":{"metadata":{},"code":201},)"
    R"("requestObject":{"spec":{"replicas":3,"big":123456789012345678901234567890,)"
    R"("inf":1e400},"kind":"Deployment","note":"a\u00e9\/b \u003c\u0026\u003e",)"
    R"("arr":[1,2.50,-0,1E+2]},)"
    R"("requestReceivedTimestamp":"2026-07-23T14:47:51.123456Z",)"
    R"("stageTimestamp":"2026-07-23T14:47:51.999999Z",)"
    R"("annotations":{"a.example/a":"café / ok","z.example/b":"2"}})";

TEST(CodecCanonicalTest, PrettyAlphabeticalInputIsCanonicalised) {
  EXPECT_EQ(Canon(kPrettyAlphabetical), kPrettyAlphabeticalCanonical);
}

TEST(CodecCanonicalTest, TimestampsAreMicroTimeInUtc) {
  struct Case {
    std::string_view in;
    std::string_view out;
  };
  const Case cases[] = {
      {"2026-07-23T14:47:51.123456Z", "2026-07-23T14:47:51.123456Z"},
      {"2026-07-23T14:47:51.123456789Z", "2026-07-23T14:47:51.123456Z"},
      {"2026-07-23T14:47:51.999999999Z", "2026-07-23T14:47:51.999999Z"},
      {"2026-07-23T16:47:51.123456789+02:00", "2026-07-23T14:47:51.123456Z"},
      {"2026-07-23T00:30:00.5-01:30", "2026-07-23T02:00:00.500000Z"},
      {"2026-01-01T00:30:00.000001+01:00", "2025-12-31T23:30:00.000001Z"},
      {"2017-09-11T19:55:05Z", "2017-09-11T19:55:05.000000Z"},
      {"2017-09-11T19:55:05.1Z", "2017-09-11T19:55:05.100000Z"},
      {"1969-12-31T23:59:59.999999Z", "1969-12-31T23:59:59.999999Z"},
      {"0000-01-01T00:00:00Z", "0000-01-01T00:00:00.000000Z"},
      {"9999-12-31T23:59:59.9999999Z", "9999-12-31T23:59:59.999999Z"},
      {"2024-02-29T23:30:00-00:45", "2024-03-01T00:15:00.000000Z"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    std::string input = Cat(
        R"({"level":"Metadata","auditID":"ts","stage":"ResponseComplete",)",
        R"("requestReceivedTimestamp":")", c.in, R"(","stageTimestamp":")", c.in, R"("})");
    std::string expected = Cat(
        R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"ts",)",
        R"("stage":"ResponseComplete","requestReceivedTimestamp":")", c.out,
        R"(","stageTimestamp":")", c.out, R"("})");
    EXPECT_EQ(Canon(input), expected);
  }
  Event e = MustDecode(
      R"({"level":"Metadata","auditID":"ts","stage":"ResponseComplete",)"
      R"("requestReceivedTimestamp":"2017-09-11T21:55:05.000000999+02:00"})");
  EXPECT_EQ(e.request_received_timestamp_us(), 1505159705000000);
}

// Found by fuzz/codec_fuzz.cc: an offset can carry 0000-01-01 or 9999-12-31 outside the years
// MicroTime writes; such an event encoded to "-0001-12-31T23:59:00.000000Z", which no decoder
// reads back.
TEST(CodecCanonicalTest, TimestampsOutsideYears0000To9999InUtcAreRejected) {
  for (std::string_view ts : {"0000-01-01T00:00:00+00:01", "9999-12-31T23:59:59.5-00:01"}) {
    SCOPED_TRACE(ts);
    for (std::string_view key : {"requestReceivedTimestamp", "stageTimestamp"}) {
      absl::StatusOr<Event> e =
          DecodeOne(Cat(R"({"level":"Metadata","auditID":"ts","stage":"ResponseComplete",")", key,
                        R"(":")", ts, R"("})"));
      ASSERT_FALSE(e.ok());
      EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(std::string(e.status().message()), HasSubstr(key));
      EXPECT_THAT(std::string(e.status().message()), HasSubstr("outside years 0000-9999"));
    }
    absl::StatusOr<Event> beta =
        DecodeOne(Cat(R"({"apiVersion":"audit.k8s.io/v1beta1","level":"Request","auditID":"b",)",
                      R"("stage":"ResponseComplete","timestamp":")", ts, R"("})"));
    ASSERT_FALSE(beta.ok());
    EXPECT_THAT(std::string(beta.status().message()), HasSubstr("\"timestamp\": timestamp"));
  }
  // The edges themselves, also reached through an offset, are fine.
  EXPECT_EQ(MustDecode(R"({"level":"Metadata","auditID":"ts","stage":"ResponseComplete",)"
                       R"("requestReceivedTimestamp":"0000-01-01T01:00:00+01:00"})")
                .request_received_timestamp_us(),
            -62'167'219'200'000'000);
}

TEST(CodecCanonicalTest, MapKeysAreSortedByBytes) {
  EXPECT_EQ(
      Canon(R"({"level":"Metadata","auditID":"s","stage":"ResponseComplete",)"
            R"("user":{"extra":{"b":["1"],"B":["2"],"é":["3"],"a":["4"],"_":[],"aa":null}},)"
            R"("annotations":{"b":"1","B":"2","é":"3","a":"4","_":"","aa":"5"}})"),
      R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"s",)"
      R"("stage":"ResponseComplete",)"
      R"("user":{"extra":{"B":["2"],"_":[],"a":["4"],"aa":null,"b":["1"],"é":["3"]}},)"
      R"("annotations":{"B":"2","_":"","a":"4","aa":"5","b":"1","é":"3"}})");
}

TEST(CodecCanonicalTest, RawObjectsAreCompactedVerbatim) {
  std::string input =
      "{\"level\":\"Request\",\"auditID\":\"r\",\"stage\":\"ResponseComplete\",\n"
      "\"requestObject\" : {\n\t\"z\" : 1e400 ,\r\n \"a\": [ 123456789012345678901234567890 ,"
      " -0.000e-0 , true , false , null , { } , [ ] ],\n"
      " \"s\": \"\\u00e9\\/\\n\\u0041 \\\"x\\\" <b> & \xE2\x80\xA8 \xE2\x80\xA9 \xC3\xA9\","
      " \"z\": \"dup key kept\" },\n"
      "\"responseObject\":\"just a string\",\n"
      "\"responseStatus\":{\"metadata\":{ \"resourceVersion\" : \"1\" },\"code\":200,"
      "\"details\":{ \"causes\" : [ { \"field\" : \"a<b\" } ] } } }";
  std::string expected =
      R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"r",)"
      R"("stage":"ResponseComplete",)"
      R"("responseStatus":{"metadata":{"resourceVersion":"1"},)"
      R"("details":{"causes":[{"field":"a\u003cb"}]},"code":200},)"
      R"("requestObject":{"z":1e400,"a":[123456789012345678901234567890,-0.000e-0,true,)"
      R"(false,null,{},[]],"s":"\u00e9\/\n\u0041 \"x\" \u003cb\u003e \u0026 \u2028 \u2029 )"
      "\xC3\xA9"
      R"(","z":"dup key kept"},"responseObject":"just a string"})";
  EXPECT_EQ(Canon(input), expected);
  Event e = MustDecode(input);
  EXPECT_EQ(e.response_object(), R"("just a string")");
  EXPECT_EQ(e.response_status().metadata(), R"({"resourceVersion":"1"})");
}

TEST(CodecCanonicalTest, DecoderIsReusableAndClearsTheEvent) {
  EventDecoder decoder;
  Event event;
  ASSERT_TRUE(decoder.Decode(kFullLine, &event).ok());
  ASSERT_TRUE(decoder.Decode(kMinimalLine, &event).ok());
  EXPECT_EQ(EncodeEventJson(event), kMinimalLine);
  ASSERT_TRUE(decoder.Decode(kNullsLine, &event).ok());
  EXPECT_EQ(EncodeEventJson(event), kNullsLine);
  ASSERT_TRUE(decoder.Decode(kPrettyAlphabetical, &event).ok());
  EXPECT_EQ(EncodeEventJson(event), kPrettyAlphabeticalCanonical);
  // An error in between does not poison the decoder.
  EXPECT_FALSE(decoder.Decode(R"({"level":"Metadata","auditID":5})", &event).ok());
  ASSERT_TRUE(decoder.Decode(kFullLine, &event).ok());
  EXPECT_EQ(EncodeEventJson(event), kFullLine);
}

TEST(CodecCanonicalTest, SurroundingWhitespaceIsAllowed) {
  EXPECT_EQ(Canon(Cat(" \t\r\n", kMinimalLine, "\r\n\t ")), kMinimalLine);
}

TEST(CodecCanonicalTest, UnknownLevelAndStageAreKept) {
  ExpectByteExact(
      R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Verbose","auditID":"x",)"
      R"("stage":"Panicked"})");
}

// ---------------------------------------------------------------------------------------------
// Presence.

TEST(CodecPresenceTest, EmptyValuesAreWrittenBack) {
  ExpectByteExact(kEmptyValuesLine);
  Event e = MustDecode(kEmptyValuesLine);
  EXPECT_TRUE(e.has_request_uri());
  EXPECT_TRUE(e.has_verb());
  EXPECT_TRUE(e.has_user());
  EXPECT_TRUE(e.has_user_agent());
  EXPECT_EQ(e.user_agent(), "");
  EXPECT_TRUE(e.has_authentication_metadata());
  EXPECT_FALSE(e.authentication_metadata().has_impersonation_constraint());
  EXPECT_TRUE(e.impersonated_user().has_username());
  EXPECT_TRUE(e.impersonated_user().has_uid());
  EXPECT_NE(e.impersonated_user().present_fields() & Bit(3), 0u);  // groups
  EXPECT_NE(e.impersonated_user().present_fields() & Bit(4), 0u);  // extra
  EXPECT_EQ(e.user().present_fields(), 0u);
  EXPECT_TRUE(e.object_ref().has_api_group());
  EXPECT_EQ(e.object_ref().api_group(), "");
  EXPECT_FALSE(e.object_ref().has_namespace_());
  EXPECT_TRUE(e.response_status().has_code());
  EXPECT_EQ(e.response_status().code(), 0);
  EXPECT_EQ(e.request_object(), "{}");
  EXPECT_EQ(e.response_object(), "[]");
  EXPECT_NE(e.present_fields() & Bit(8), 0u);   // sourceIPs
  EXPECT_NE(e.present_fields() & Bit(15), 0u);  // annotations
  EXPECT_NE(e.null_fields() & Bit(13), 0u);
  EXPECT_NE(e.null_fields() & Bit(14), 0u);
  EXPECT_FALSE(e.has_request_received_timestamp_us());
}

TEST(CodecPresenceTest, TfkStyleEmptyExtra) {
  ExpectByteExact(
      R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"e",)"
      R"("stage":"ResponseComplete","user":{"username":"system:serviceaccount:m:g",)"
      R"("groups":["system:serviceaccounts"],"extra":{}},"sourceIPs":["192.168.100.100"],)"
      R"("objectRef":{"resource":"leases","namespace":"ns","apiGroup":"",)"
      R"("apiVersion":"v1"}})");
}

TEST(CodecPresenceTest, NullsAreWrittenBack) {
  ExpectByteExact(kNullsLine);
  Event e = MustDecode(kNullsLine);
  for (int n : {4, 5, 7, 8, 11, 12, 13, 14, 15, 16}) {
    EXPECT_NE(e.null_fields() & Bit(n), 0u) << "field " << n;
  }
  EXPECT_FALSE(e.has_request_uri());
  EXPECT_FALSE(e.has_impersonated_user());
  EXPECT_FALSE(e.has_request_object());
  EXPECT_FALSE(e.has_request_received_timestamp_us());
  EXPECT_EQ(e.source_ips_size(), 0);
  for (int n : {1, 2, 3}) {
    EXPECT_NE(e.user().null_fields() & Bit(n), 0u) << "user field " << n;
  }
  ASSERT_EQ(e.user().extra().count("a"), 1u);
  EXPECT_TRUE(e.user().extra().at("a").is_null());
  EXPECT_FALSE(e.user().extra().at("b").is_null());
  EXPECT_EQ(e.user().extra().at("b").values_size(), 0);
  for (int n = 1; n <= 8; ++n) {
    EXPECT_NE(e.object_ref().null_fields() & Bit(n), 0u) << "objectRef field " << n;
  }
  for (int n = 1; n <= 6; ++n) {
    EXPECT_NE(e.response_status().null_fields() & Bit(n), 0u) << "responseStatus field " << n;
  }
  EXPECT_FALSE(e.response_status().has_code());
  EXPECT_NE(e.authentication_metadata().null_fields() & Bit(1), 0u);
}

TEST(CodecPresenceTest, NullObjectsAndNullExtra) {
  ExpectByteExact(kNullExtraLine);
  Event e = MustDecode(kNullExtraLine);
  EXPECT_NE(e.user().null_fields() & Bit(4), 0u);
  EXPECT_NE(e.impersonated_user().null_fields() & Bit(3), 0u);
  for (int n : {9, 10, 17}) {
    EXPECT_NE(e.null_fields() & Bit(n), 0u) << "field " << n;
  }
  EXPECT_FALSE(e.has_object_ref());
  EXPECT_FALSE(e.has_response_status());
}

// Found by fuzz/codec_fuzz.cc (replay): with a key given twice, a null and a value were both
// recorded, so a null before a value survived in null_fields (the event differed from its own
// re-decoding) and a null after a list or map wrote back the list or map. As in Go, the last
// occurrence of a key decides.
TEST(CodecPresenceTest, TheLastOccurrenceOfAKeyDecides) {
  EXPECT_EQ(
      Canon(R"({"level":"Metadata","auditID":"d","stage":"x","verb":null,"verb":"get",)"
            R"("user":null,"user":{"username":"u","uid":null,"uid":"1","groups":null,)"
            R"("groups":[],"extra":{"k":["v"]},"extra":null},"sourceIPs":["a"],)"
            R"("sourceIPs":null,"objectRef":{"name":null,"name":"n"},)"
            R"("responseStatus":{"code":null,"code":200},"stageTimestamp":null,)"
            R"("stageTimestamp":"2024-01-01T00:00:00Z","annotations":{"a":"b"},)"
            R"("annotations":null})"),
      R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"d",)"
      R"("stage":"x","verb":"get","user":{"username":"u","uid":"1","groups":[],"extra":null},)"
      R"("sourceIPs":null,"objectRef":{"name":"n"},"responseStatus":{"code":200},)"
      R"("stageTimestamp":"2024-01-01T00:00:00.000000Z","annotations":null})");
  // And the other way round.
  EXPECT_EQ(Canon(R"({"level":"Metadata","auditID":"d","stage":"x","verb":"get","verb":null,)"
                  R"("sourceIPs":null,"sourceIPs":[],"annotations":null,"annotations":{}})"),
            R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"d",)"
            R"("stage":"x","verb":null,"sourceIPs":[],"annotations":{}})");
}

// ---------------------------------------------------------------------------------------------
// Unknown fields.

TEST(CodecUnknownFieldsTest, KeptInInputOrderAfterKnownFields) {
  std::string_view input =
      R"({"kind":"Event","zeta":{"b": 1, "a" : [1,2 ,3]},"apiVersion":"audit.k8s.io/v1",)"
      R"("level":"Metadata","auditID":"u1","alpha":"x<y","stage":"ResponseComplete",)"
      R"("user":{"username":"u","zz":true,"groups":["g"],"aa":null},)"
      R"("objectRef":{"resource":"pods","custom":{"k":"v"},"name":"p"},)"
      R"("responseStatus":{"kind":"Status","apiVersion":"v1","metadata":{},"code":404},)"
      R"("authenticationMetadata":{"other":1,"impersonationConstraint":"c"},)"
      R"("annotations":{"k":"v"},"caf\u00e9":"\u00e9","a\u0026b":-1.50e+3,"last":null})";
  std::string_view expected =
      R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"u1",)"
      R"("stage":"ResponseComplete","user":{"username":"u","groups":["g"],"zz":true,)"
      R"("aa":null},"authenticationMetadata":{"impersonationConstraint":"c","other":1},)"
      R"("objectRef":{"resource":"pods","name":"p","custom":{"k":"v"}},)"
      R"("responseStatus":{"metadata":{},"code":404,"kind":"Status","apiVersion":"v1"},)"
      R"("annotations":{"k":"v"},"zeta":{"b":1,"a":[1,2,3]},"alpha":"x\u003cy",)"
      R"("café":"\u00e9","a\u0026b":-1.50e+3,"last":null})";
  EXPECT_EQ(Canon(input), expected);

  Event e = MustDecode(input);
  ASSERT_EQ(e.unknown_fields_size(), 5);
  EXPECT_EQ(e.unknown_fields(0).key(), "zeta");
  EXPECT_EQ(e.unknown_fields(0).value(), R"({"b":1,"a":[1,2,3]})");
  EXPECT_EQ(e.unknown_fields(1).key(), "alpha");
  EXPECT_EQ(e.unknown_fields(1).value(), R"("x\u003cy")");
  EXPECT_EQ(e.unknown_fields(2).key(), "caf\xC3\xA9");
  EXPECT_EQ(e.unknown_fields(3).key(), "a&b");
  EXPECT_EQ(e.unknown_fields(4).key(), "last");
  EXPECT_EQ(e.unknown_fields(4).value(), "null");
  ASSERT_EQ(e.user().unknown_fields_size(), 2);
  EXPECT_EQ(e.user().unknown_fields(0).key(), "zz");
  EXPECT_EQ(e.user().unknown_fields(1).value(), "null");
  ASSERT_EQ(e.object_ref().unknown_fields_size(), 1);
  ASSERT_EQ(e.response_status().unknown_fields_size(), 2);
  ASSERT_EQ(e.authentication_metadata().unknown_fields_size(), 1);
}

// ---------------------------------------------------------------------------------------------
// apiVersion / kind.

constexpr std::string_view kV1beta1Line =
    R"({"kind":"Event","apiVersion":"audit.k8s.io/v1beta1",)"
    R"("metadata":{"creationTimestamp":"2017-09-11T19:55:05Z"},"level":"Metadata",)"
    R"("timestamp":"2017-09-11T19:55:05Z","auditID":"033d17af","stage":"ResponseComplete",)"
    R"("requestURI":"/api/v1/namespaces/default/pods","verb":"list","user":{)"
    R"("username":"system:admin","groups":["system:masters","system:authenticated"]},)"
    R"("impersonatedUser":{"username":"bob","groups":["system:authenticated"]},)"
    R"("sourceIPs":["::1"],"objectRef":{"resource":"pods","namespace":"default",)"
    R"("apiVersion":"v1"},"responseStatus":{"metadata":{},"status":"Failure",)"
    R"("reason":"Forbidden","code":403}})";

TEST(CodecApiVersionTest, V1beta1IsMappedToV1) {
  EXPECT_EQ(Canon(kV1beta1Line),
            R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata",)"
            R"("auditID":"033d17af","stage":"ResponseComplete",)"
            R"("requestURI":"/api/v1/namespaces/default/pods","verb":"list","user":{)"
            R"("username":"system:admin","groups":["system:masters","system:authenticated"]},)"
            R"("impersonatedUser":{"username":"bob","groups":["system:authenticated"]},)"
            R"("sourceIPs":["::1"],"objectRef":{"resource":"pods","namespace":"default",)"
            R"("apiVersion":"v1"},"responseStatus":{"metadata":{},"status":"Failure",)"
            R"("reason":"Forbidden","code":403},)"
            R"("requestReceivedTimestamp":"2017-09-11T19:55:05.000000Z",)"
            R"("stageTimestamp":"2017-09-11T19:55:05.000000Z",)"
            R"("metadata":{"creationTimestamp":"2017-09-11T19:55:05Z"},)"
            R"("timestamp":"2017-09-11T19:55:05Z"})");
  Event e = MustDecode(kV1beta1Line);
  EXPECT_EQ(e.source_api_version(), "audit.k8s.io/v1beta1");
  EXPECT_EQ(e.request_received_timestamp_us(), 1505159705000000);
  EXPECT_EQ(e.stage_timestamp_us(), 1505159705000000);
  ASSERT_EQ(e.unknown_fields_size(), 2);
  EXPECT_EQ(e.unknown_fields(0).key(), "metadata");
  EXPECT_EQ(e.unknown_fields(1).key(), "timestamp");
  EXPECT_EQ(e.unknown_fields(1).value(), R"("2017-09-11T19:55:05Z")");
}

TEST(CodecApiVersionTest, V1beta1TimestampsLeftAloneWhenPresent) {
  EXPECT_EQ(
      Canon(R"({"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","level":"Request",)"
            R"("timestamp":"2018-10-25T13:58:49Z","auditID":"b1","stage":"ResponseComplete",)"
            R"("requestReceivedTimestamp":"2018-10-25T13:58:49.730588Z",)"
            R"("stageTimestamp":"2018-10-25T13:58:49.736252Z"})"),
      R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"b1",)"
      R"("stage":"ResponseComplete","requestReceivedTimestamp":"2018-10-25T13:58:49.730588Z",)"
      R"("stageTimestamp":"2018-10-25T13:58:49.736252Z","timestamp":"2018-10-25T13:58:49Z"})");
  // Only one of them present: the other one comes from `timestamp`.
  EXPECT_EQ(
      Canon(R"({"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","level":"Request",)"
            R"("timestamp":"2018-10-25T13:58:49Z","auditID":"b2","stage":"ResponseComplete",)"
            R"("requestReceivedTimestamp":"2018-10-25T13:58:48.000001Z"})"),
      R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"b2",)"
      R"("stage":"ResponseComplete","requestReceivedTimestamp":"2018-10-25T13:58:48.000001Z",)"
      R"("stageTimestamp":"2018-10-25T13:58:49.000000Z","timestamp":"2018-10-25T13:58:49Z"})");
}

TEST(CodecApiVersionTest, V1beta1TimestampIsReadAsAnInstant) {
  EXPECT_EQ(
      Canon(R"({"apiVersion":"audit.k8s.io/v1beta1","level":"Request","auditID":"b3",)"
            R"("stage":"ResponseComplete","timestamp":"2018-10-25T15:58:49.123456789+02:00"})"),
      R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"b3",)"
      R"("stage":"ResponseComplete","requestReceivedTimestamp":"2018-10-25T13:58:49.123456Z",)"
      R"("stageTimestamp":"2018-10-25T13:58:49.123456Z",)"
      R"("timestamp":"2018-10-25T15:58:49.123456789+02:00"})");
  // No timestamp at all: nothing is invented.
  EXPECT_EQ(Canon(R"({"apiVersion":"audit.k8s.io/v1beta1","level":"Request","auditID":"b4",)"
                  R"("stage":"ResponseComplete"})"),
            R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"b4",)"
            R"("stage":"ResponseComplete"})");
}

TEST(CodecApiVersionTest, V1WithTimestampIsNotFilled) {
  // A v1-labelled event with v1beta1's shape (the relabelled audit2rbac file): `timestamp`
  // is just an unknown field.
  ExpectByteExact(
      R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"v",)"
      R"("stage":"ResponseComplete","metadata":{"creationTimestamp":"2017-09-11T19:55:05Z"},)"
      R"("timestamp":"2017-09-11T19:55:05Z"})");
  EXPECT_EQ(MustDecode(R"({"apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"v",)"
                       R"("stage":"ResponseComplete"})")
                .source_api_version(),
            "");
}

TEST(CodecApiVersionTest, MissingApiVersionOrKindReadsAsV1) {
  EXPECT_EQ(Canon(R"({"auditID":"x","kind":"Event","level":"Metadata","stage":"Panic"})"),
            R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata",)"
            R"("auditID":"x","stage":"Panic"})");
  // EventList items as the webhook sends them carry neither kind nor apiVersion.
  EXPECT_EQ(Canon(R"({"level":"Metadata","auditID":"y","stage":"Panic"})"),
            R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata",)"
            R"("auditID":"y","stage":"Panic"})");
  EXPECT_EQ(MustDecode(R"({"level":"Metadata","auditID":"y","stage":"Panic"})")
                .source_api_version(),
            "");
}

TEST(CodecApiVersionTest, OtherVersionsAndKindsAreRejected) {
  const std::string_view bad[] = {
      R"({"kind":"Event","apiVersion":"v1","level":"Metadata","auditID":"a","stage":"x"})",
      R"({"kind":"Event","apiVersion":"audit.k8s.io/v2","level":"Metadata","auditID":"a",)"
      R"("stage":"x"})",
      R"({"kind":"Event","apiVersion":"","level":"Metadata","auditID":"a","stage":"x"})",
      R"({"kind":"Event","apiVersion":5,"level":"Metadata","auditID":"a","stage":"x"})",
      R"({"kind":"Pod","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a",)"
      R"("stage":"x"})",
      R"({"kind":"EventList","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a",)"
      R"("stage":"x"})",
      R"({"kind":5,"apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a","stage":"x"})",
      R"({"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[]})",
  };
  for (std::string_view input : bad) {
    SCOPED_TRACE(input);
    absl::StatusOr<Event> e = DecodeOne(input);
    ASSERT_FALSE(e.ok());
    EXPECT_TRUE(absl::IsInvalidArgument(e.status())) << e.status();
    EXPECT_THAT(Message(e.status()), AnyOf(HasSubstr("apiVersion"), HasSubstr("kind")));
  }
}

// ---------------------------------------------------------------------------------------------
// Errors.

// Expects InvalidArgument whose message names `field` and a byte offset inside the text
// `marker` (which must occur once in `input`).
void ExpectTypeError(std::string_view input, std::string_view field, std::string_view marker) {
  SCOPED_TRACE(input);
  absl::StatusOr<Event> e = DecodeOne(input);
  ASSERT_FALSE(e.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(e.status())) << e.status();
  const std::string message = Message(e.status());
  EXPECT_THAT(message, HasSubstr(field));
  size_t at = input.find(marker);
  ASSERT_NE(at, std::string_view::npos) << "bad test: marker " << marker;
  size_t b = message.find("byte ");
  ASSERT_NE(b, std::string_view::npos) << "no byte offset in: " << message;
  size_t offset = 0;
  size_t digits = 0;
  for (size_t i = b + 5; i < message.size() && message[i] >= '0' && message[i] <= '9'; ++i) {
    offset = offset * 10 + static_cast<size_t>(message[i] - '0');
    ++digits;
  }
  ASSERT_GT(digits, 0u) << message;
  EXPECT_GE(offset, at) << message;
  EXPECT_LT(offset, at + marker.size()) << message;
}

TEST(CodecErrorTest, WrongTypes) {
  constexpr std::string_view kHead = R"({"level":"Metadata","stage":"ResponseComplete",)";
  struct Case {
    std::string_view fragment;  // appended after kHead
    std::string_view field;
    std::string_view marker;
  };
  const Case cases[] = {
      {R"("auditID":5})", "auditID", R"("auditID":5)"},
      {R"("auditID":"a","sourceIPs":"x"})", "sourceIPs", R"("sourceIPs":"x")"},
      {R"("auditID":"a","sourceIPs":[1]})", "sourceIPs", R"("sourceIPs":[1])"},
      {R"("auditID":"a","responseStatus":{"code":"200"}})", "code", R"("code":"200")"},
      {R"("auditID":"a","responseStatus":{"code":1.5}})", "code", R"("code":1.5)"},
      {R"("auditID":"a","responseStatus":{"code":99999999999}})", "code",
       R"("code":99999999999)"},
      {R"("auditID":"a","responseStatus":[]})", "responseStatus", R"("responseStatus":[])"},
      {R"("auditID":"a","user":[]})", "user", R"("user":[])"},
      {R"("auditID":"a","user":{"username":1}})", "username", R"("username":1)"},
      {R"("auditID":"a","user":{"groups":"g"}})", "groups", R"("groups":"g")"},
      {R"("auditID":"a","user":{"extra":{"k":"v"}}})", "extra", R"({"k":"v"})"},
      {R"("auditID":"a","user":{"extra":{"k":[1]}}})", "extra", R"({"k":[1]})"},
      {R"("auditID":"a","user":{"extra":[]}})", "extra", R"("extra":[])"},
      {R"("auditID":"a","impersonatedUser":"bob"})", "impersonatedUser",
       R"("impersonatedUser":"bob")"},
      {R"("auditID":"a","annotations":{"k":1}})", "annotations", R"({"k":1})"},
      {R"("auditID":"a","annotations":{"k":{}}})", "annotations", R"({"k":{}})"},
      {R"("auditID":"a","annotations":["k"]})", "annotations", R"("annotations":["k"])"},
      {R"("auditID":"a","objectRef":"pods"})", "objectRef", R"("objectRef":"pods")"},
      {R"("auditID":"a","objectRef":{"name":true}})", "name", R"("name":true)"},
      {R"("auditID":"a","requestURI":{}})", "requestURI", R"("requestURI":{})"},
      {R"("auditID":"a","verb":["get"]})", "verb", R"("verb":["get"])"},
      {R"("auditID":"a","userAgent":1})", "userAgent", R"("userAgent":1)"},
      {R"("auditID":"a","authenticationMetadata":[]})", "authenticationMetadata",
       R"("authenticationMetadata":[])"},
      {R"("auditID":"a","requestReceivedTimestamp":5})", "requestReceivedTimestamp",
       R"("requestReceivedTimestamp":5)"},
      {R"("auditID":"a","stageTimestamp":"yesterday"})", "stageTimestamp",
       R"("stageTimestamp":"yesterday")"},
      {R"("auditID":"a","stageTimestamp":"2026-13-01T00:00:00.000000Z"})", "stageTimestamp",
       R"("stageTimestamp":"2026-13-01T00:00:00.000000Z")"},
      {R"("auditID":"a","stageTimestamp":"2023-02-29T00:00:00.000000Z"})", "stageTimestamp",
       R"("stageTimestamp":"2023-02-29T00:00:00.000000Z")"},
      {R"("auditID":"a","stageTimestamp":"2026-07-23T14:47:51.123456"})", "stageTimestamp",
       R"("stageTimestamp":"2026-07-23T14:47:51.123456")"},
      {R"("auditID":"a","stageTimestamp":"2026-07-23T14:47:51.123456Z "})", "stageTimestamp",
       R"("stageTimestamp":"2026-07-23T14:47:51.123456Z ")"},
  };
  for (const Case& c : cases) {
    ExpectTypeError(Cat(kHead, c.fragment), c.field, c.marker);
  }
  // Level and stage with the wrong type.
  ExpectTypeError(R"({"level":5,"auditID":"a","stage":"x"})", "level", R"("level":5)");
  ExpectTypeError(R"({"level":"Metadata","auditID":"a","stage":true})", "stage",
                  R"("stage":true)");
}

TEST(CodecErrorTest, AuditIdNumberOffset) {
  // The contract's example message: `byte N: "auditID": expected a string, got number`.
  absl::StatusOr<Event> e = DecodeOne(R"({"level":"Metadata","auditID":5,"stage":"x"})");
  ASSERT_FALSE(e.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(e.status()));
  EXPECT_THAT(Message(e.status()), HasSubstr("auditID"));
  EXPECT_THAT(Message(e.status()), HasSubstr("string"));
}

TEST(CodecErrorTest, MissingRequiredFields) {
  struct Case {
    std::string_view input;
    std::string_view field;
  };
  const Case cases[] = {
      {R"({"level":"Metadata","stage":"ResponseComplete"})", "auditID"},
      {R"({"level":"Metadata","auditID":"a"})", "stage"},
      {R"({"auditID":"a","stage":"ResponseComplete"})", "level"},
      {R"({"kind":"Event","apiVersion":"audit.k8s.io/v1"})", ""},
      {R"({})", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.input);
    absl::StatusOr<Event> e = DecodeOne(c.input);
    ASSERT_FALSE(e.ok());
    EXPECT_TRUE(absl::IsInvalidArgument(e.status())) << e.status();
    EXPECT_THAT(Message(e.status()), HasSubstr("missing"));
    EXPECT_THAT(Message(e.status()), HasSubstr(c.field));
  }
}

TEST(CodecErrorTest, MalformedJson) {
  const std::string_view bad[] = {
      "",
      "   \n\t ",
      "[]",
      R"("x")",
      "5",
      "null",
      "true",
      "{",
      R"({"level":"Metadata","auditID":"a","stage":"x")",
      R"({"level":"Metadata","auditID":"a","stage":"x"} {})",
      R"({"level":"Metadata","auditID":"a","stage":"x"}x)",
      R"({"level":"Metadata","auditID":"a","stage":"x",})",
      R"({"level":"Metadata","auditID":"a" "stage":"x"})",
      R"({"level":"Metadata","auditID":'a',"stage":"x"})",
      R"({"level":"Metadata","auditID":"a\x","stage":"x"})",
      R"({"level":"Metadata","auditID":"a\u12","stage":"x"})",
      R"({"level":"Metadata","auditID":"a","stage":"x","requestObject":{"a":tru}})",
      R"({"level":"Metadata","auditID":"a","stage":"x","requestObject":{"a":01}})",
      R"({"level":"Metadata","auditID":"a","stage":"x","requestObject":{"a":1.}})",
      R"({"level":"Metadata","auditID":"a","stage":"x","requestObject":{"a":-}})",
      R"({"level":"Metadata","auditID":"a","stage":"x","requestObject":{"a" 1}})",
      R"({"level":"Metadata","auditID":"a","stage":"x","requestObject":[1,]})",
      R"({"level":"Metadata","auditID":"a","stage":"x","requestObject":{"a":NaN}})",
      R"({"level":"Metadata","auditID":"a","stage":"x","zz":[1 2]})",
      R"({"level":"Metadata","auditID":"a","stage":"x","zz":undefined})",
      "{\"level\":\"Metadata\",\"auditID\":\"a\tb\",\"stage\":\"x\"}",
      "{\"level\":\"Metadata\",\"auditID\":\"a\",\"stage\":\"x\",\"requestObject\":\"\x01\"}",
  };
  std::vector<std::string> inputs(std::begin(bad), std::end(bad));
  // A NUL byte between members.
  inputs.push_back(std::string(R"({"level":"Metadata","auditID":"a",)") + '\0' +
                   R"("stage":"x"})");
  for (const std::string& input : inputs) {
    SCOPED_TRACE(input);
    absl::StatusOr<Event> e = DecodeOne(input);
    ASSERT_FALSE(e.ok());
    EXPECT_TRUE(absl::IsInvalidArgument(e.status())) << e.status();
    EXPECT_FALSE(Message(e.status()).empty());
  }
}

// Syntax errors say where, not only what: the byte offset of the fault within the event.
TEST(CodecErrorTest, SyntaxErrorsNameTheByte) {
  struct Case {
    std::string_view input;
    std::string_view message;
  };
  const Case cases[] = {
      // A line cut inside a string: the string's opening quote.
      {R"({"level":"Metadata","auditID":"abc)", "byte 30: unterminated string"},
      // A member without its value.
      {R"({"level":"Metadata","auditID":})", "byte 30:"},
      // A misspelt literal inside a raw object: the first byte that cannot continue it.
      {R"({"level":"Metadata","auditID":"a","stage":"x","requestObject":{"a":tru}})",
       "byte 70: \"requestObject\": invalid literal"},
      // A missing comma between members.
      {R"({"level":"Metadata","auditID":"a" "stage":"x"})", "byte 34:"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.input);
    absl::StatusOr<Event> e = DecodeOne(c.input);
    ASSERT_FALSE(e.ok());
    EXPECT_TRUE(absl::IsInvalidArgument(e.status())) << e.status();
    EXPECT_THAT(Message(e.status()), HasSubstr(c.message));
  }
}

TEST(CodecErrorTest, EveryProperPrefixIsAnError) {
  for (std::string_view text : {kFullLine, kNullsLine, kV1beta1Line, kPrettyAlphabetical}) {
    // Every prefix that stops before the closing brace.
    size_t limit = text.rfind('}');
    for (size_t n = 0; n < limit; ++n) {
      std::string_view prefix = text.substr(0, n);
      absl::StatusOr<Event> e = DecodeOne(prefix);
      ASSERT_FALSE(e.ok()) << "prefix of " << n << " bytes decoded: " << prefix;
      ASSERT_TRUE(absl::IsInvalidArgument(e.status())) << e.status();
    }
  }
}

TEST(CodecErrorTest, InvalidUtf8NamesTheByte) {
  struct Case {
    std::string input;
    size_t offset;
  };
  constexpr std::string_view kHead = R"({"level":"Metadata","stage":"x","auditID":"ab)";
  const std::string head(kHead);
  std::vector<Case> cases = {
      {head + "\xff" + "c\"}", head.size()},
      {head + "\xc3" + "\"}", head.size()},
      {head + "\xc0\xaf" + "\"}", head.size()},
      {head + "\xed\xa0\x80" + "\"}", head.size()},
      {head + "\xf4\x90\x80\x80" + "\"}", head.size()},
      {head + "\x80" + "\"}", head.size()},
  };
  // In a raw object, an annotation value, an unknown key and a known key's place.
  std::string a = R"({"level":"Metadata","stage":"x","auditID":"a","requestObject":{"k":"v)";
  cases.push_back({a + "\xfe" + "\"}}", a.size()});
  std::string b = R"({"level":"Metadata","stage":"x","auditID":"a","annotations":{"k":")";
  cases.push_back({b + "\xe2\x82" + "\"}}", b.size()});
  std::string c = R"({"level":"Metadata","stage":"x","auditID":"a",")";
  cases.push_back({c + "\xc1\xbf" + "\":1}", c.size()});
  std::string d = R"({"level":"Metadata","stage":"x","auditID":"a","requestObject":{")";
  cases.push_back({d + "\xff" + "\":1}}", d.size()});
  for (const Case& k : cases) {
    SCOPED_TRACE(k.input);
    absl::StatusOr<Event> e = DecodeOne(k.input);
    ASSERT_FALSE(e.ok());
    EXPECT_TRUE(absl::IsInvalidArgument(e.status())) << e.status();
    EXPECT_THAT(Message(e.status()), HasSubstr("UTF-8"));
    EXPECT_THAT(Message(e.status()), HasSubstr(Cat("byte ", k.offset)));
  }
}

std::string Nested(int levels, std::string_view inner = "") {
  return Cat(std::string(static_cast<size_t>(levels), '['), inner,
                      std::string(static_cast<size_t>(levels), ']'));
}

std::string WithRequestObject(std::string_view raw) {
  return Cat(R"({"level":"Request","auditID":"d","stage":"ResponseComplete",)",
                      R"("requestObject":)", raw, "}");
}

TEST(CodecErrorTest, MaxDepth) {
  DecodeOptions options;
  options.max_depth = 8;
  // The event is level 1, so 7 arrays inside it are the deepest allowed.
  std::string ok = WithRequestObject(Nested(7));
  EXPECT_EQ(Canon(ok, options), Cat(
      R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"d",)",
      R"("stage":"ResponseComplete","requestObject":)", Nested(7), "}"));
  for (const std::string& input :
       {WithRequestObject(Nested(8)), WithRequestObject(R"({"a":{"b":{"c":{"d":[[[[1]]]]}}}})"),
        Cat(R"({"level":"Request","auditID":"d","stage":"x","zz":)", Nested(8), "}"),
        Cat(R"({"level":"Request","auditID":"d","stage":"x","responseStatus":)",
                     R"({"details":)", Nested(7), "}}")}) {
    SCOPED_TRACE(input);
    absl::StatusOr<Event> e = DecodeOne(input, options);
    ASSERT_FALSE(e.ok());
    EXPECT_TRUE(absl::IsInvalidArgument(e.status())) << e.status();
    EXPECT_THAT(Message(e.status()),
                AnyOf(HasSubstr("nesting"), HasSubstr("depth"), HasSubstr("deep")));
  }
  // Default: 256 levels.
  EXPECT_TRUE(DecodeOne(WithRequestObject(Nested(255))).ok());
  EXPECT_FALSE(DecodeOne(WithRequestObject(Nested(256))).ok());
}

TEST(CodecErrorTest, VeryDeepNestingIsAnErrorNotACrash) {
  for (int levels : {1000, 100000, 1000000}) {
    for (const std::string& input :
         {WithRequestObject(Nested(levels)), WithRequestObject(Nested(levels).substr(
                                                 0, static_cast<size_t>(levels))),
          Nested(levels), std::string(static_cast<size_t>(levels), '{'),
          Cat(R"({"level":"Request","auditID":"d","stage":"x","zz":)",
                       std::string(static_cast<size_t>(levels), '{'))}) {
      absl::StatusOr<Event> e = DecodeOne(input);
      ASSERT_FALSE(e.ok());
      EXPECT_TRUE(absl::IsInvalidArgument(e.status())) << e.status();
    }
  }
}

TEST(CodecErrorTest, MaxEventBytes) {
  DecodeOptions options;
  options.max_event_bytes = kMinimalLine.size();
  EXPECT_EQ(Canon(kMinimalLine, options), kMinimalLine);
  options.max_event_bytes = kMinimalLine.size() - 1;
  absl::StatusOr<Event> e = DecodeOne(kMinimalLine, options);
  ASSERT_FALSE(e.ok());
  EXPECT_TRUE(absl::IsResourceExhausted(e.status())) << e.status();

  // Default 4 MiB: a 5 MiB event is rejected, a 3 MiB one accepted.
  std::string big(size_t{5} << 20, 'x');
  e = DecodeOne(WithRequestObject(Cat("\"", big, "\"")));
  ASSERT_FALSE(e.ok());
  EXPECT_TRUE(absl::IsResourceExhausted(e.status())) << e.status();
  big.resize(size_t{3} << 20);
  e = DecodeOne(WithRequestObject(Cat("\"", big, "\"")));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->request_object().size(), big.size() + 2);
}

TEST(CodecErrorTest, LoneSurrogateEscapesNeverYieldInvalidUtf8) {
  // Go's decoder turns a lone surrogate into U+FFFD; whatever the decoder does (replace or
  // reject), what it stores must be valid UTF-8, since the encoder relies on it.
  for (std::string_view escape : {R"(\ud800)", R"(\udc00)", R"(\ud800\u0041)", R"(\udbff)",
                                  R"(\ud83d\ud83d)", R"(\ude00\ud83d)"}) {
    SCOPED_TRACE(escape);
    for (std::string_view field : {"auditID", "userAgent", "zz"}) {
      std::string input = Cat(R"({"level":"Metadata","stage":"x","auditID":"a",")", field,
                              R"(":"a)", escape, R"(b"})");
      absl::StatusOr<Event> e = DecodeOne(input);
      if (!e.ok()) {
        EXPECT_TRUE(absl::IsInvalidArgument(e.status())) << e.status();
        continue;
      }
      EXPECT_EQ(FindInvalidUtf8(e->audit_id()), std::string::npos);
      EXPECT_EQ(FindInvalidUtf8(e->user_agent()), std::string::npos);
      std::string out = EncodeEventJson(*e);
      EXPECT_EQ(FindInvalidUtf8(out), std::string::npos) << out;
      Canon(input);
    }
  }
}

TEST(CodecErrorTest, DecodeStaysWithinTheView) {
  // The bytes after the view continue the JSON; the decoder must not look at them.
  std::string full(kFullLine);
  std::string_view view(full.data(), full.size() - 1);  // without the closing brace
  absl::StatusOr<Event> e = DecodeOne(view);
  EXPECT_FALSE(e.ok());
  std::string longer = Cat(kMinimalLine.substr(0, kMinimalLine.size() - 1),
                           R"(,"zz":1,"verb":"get"})");
  e = DecodeOne(std::string_view(longer.data(), kMinimalLine.size() - 1));
  EXPECT_FALSE(e.ok());
  std::string followed = Cat(kMinimalLine, R"(,"zz":1})");
  EXPECT_EQ(Canon(std::string_view(followed.data(), kMinimalLine.size())), kMinimalLine);
  // A view ending inside a string whose rest follows in memory.
  std::string cut = R"({"level":"Metadata","stage":"x","auditID":"abc"})";
  e = DecodeOne(std::string_view(cut.data(), cut.find("bc")));
  EXPECT_FALSE(e.ok());
}

TEST(CodecErrorTest, ErrorsNameFieldsInsideNestedObjects) {
  absl::StatusOr<Event> e = DecodeOne(
      R"({"level":"Metadata","auditID":"a","stage":"x","impersonatedUser":{"groups":[1]}})");
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(Message(e.status()), HasSubstr("\"impersonatedUser.groups[0]\": expected a string"));
  e = DecodeOne(R"({"level":"Metadata","auditID":"a","stage":"x","user":{"uid":7}})");
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(Message(e.status()), HasSubstr("\"user.uid\": expected a string, got number"));
  e = DecodeOne(R"({"level":"Metadata","auditID":"a","stage":"x","objectRef":{"name":[]}})");
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(Message(e.status()), HasSubstr("\"objectRef.name\": expected a string, got array"));
  e = DecodeOne(R"({"level":"Metadata","auditID":"a","stage":"x",)"
                R"("responseStatus":{"code":-2147483649}})");
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(Message(e.status()), HasSubstr("code"));
  // int32 bounds are accepted.
  EXPECT_EQ(Canon(R"({"level":"Metadata","auditID":"a","stage":"x",)"
                  R"("responseStatus":{"code":-2147483648}})"),
            R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a",)"
            R"("stage":"x","responseStatus":{"code":-2147483648}})");
  EXPECT_EQ(Canon(R"({"level":"Metadata","auditID":"a","stage":"x",)"
                  R"("responseStatus":{"code":2147483647}})"),
            R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a",)"
            R"("stage":"x","responseStatus":{"code":2147483647}})");
}

TEST(CodecUnknownFieldsTest, KeysNeedingEscapes) {
  EXPECT_EQ(Canon(R"({"level":"Metadata","auditID":"a","stage":"x","\u0000\n<\"":[ ],)"
                  R"("\u00e9\u2028":{ }})"),
            R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a",)"
            R"("stage":"x","\u0000\n\u003c\"":[],")"
            "\xC3\xA9"
            R"(\u2028":{}})");
}

TEST(CodecErrorTest, MutatedInputNeverCrashes) {
  std::mt19937 rng(12345);
  const std::string_view seeds[] = {kFullLine, kNullsLine, kEmptyValuesLine, kV1beta1Line,
                                    kPrettyAlphabetical};
  const char kAlphabet[] = "{}[]\":,\\ u0e9-+.tfnl\xff\xc3\xe2\x80\x01\n";
  int decoded = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string input(seeds[static_cast<size_t>(round) % std::size(seeds)]);
    int edits = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < edits && !input.empty(); ++k) {
      size_t at = rng() % input.size();
      char ch = kAlphabet[rng() % (sizeof(kAlphabet) - 1)];
      switch (rng() % 3) {
        case 0: input[at] = ch; break;
        case 1: input.insert(at, 1, ch); break;
        default: input.erase(at, 1); break;
      }
    }
    absl::StatusOr<Event> e = DecodeOne(input);
    if (!e.ok()) {
      EXPECT_FALSE(Message(e.status()).empty());
      continue;
    }
    ++decoded;
    Canon(input);  // checks idempotence
  }
  EXPECT_GT(decoded, 0);
}

// ---------------------------------------------------------------------------------------------
// Encoding API.

TEST(CodecEncodeTest, AppendAppends) {
  Event e = MustDecode(kMinimalLine);
  std::string out = "prefix:";
  AppendEventJson(e, &out);
  EXPECT_EQ(out, Cat("prefix:", kMinimalLine));
}

TEST(CodecEncodeTest, BuiltEvent) {
  Event e;
  e.set_level("Metadata");
  e.set_audit_id("built");
  e.set_stage("ResponseComplete");
  e.set_request_received_timestamp_us(1784818071123456);
  e.set_verb("get");
  (*e.mutable_annotations())["b"] = std::string("<2>");
  (*e.mutable_annotations())["a"] = std::string("1");
  e.set_present_fields(Bit(15));
  EXPECT_EQ(EncodeEventJson(e),
            R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata",)"
            R"("auditID":"built","stage":"ResponseComplete","verb":"get",)"
            R"("requestReceivedTimestamp":"2026-07-23T14:47:51.123456Z",)"
            R"("annotations":{"a":"1","b":"\u003c2\u003e"}})");
}

// CheckRawJson: what the decoder wrote passes; a bad raw value anywhere is named.
TEST(CodecEncodeTest, CheckRawJsonNamesTheBadValue) {
  for (std::string_view line : {kFullLine, kMinimalLine, kNullsLine, kEmptyValuesLine,
                                kV1beta1Line, kPrettyAlphabetical, kNullExtraLine}) {
    EXPECT_TRUE(CheckRawJson(MustDecode(line)).ok()) << line;
  }
  const Event good = MustDecode(kFullLine);
  auto unknown = [](google::protobuf::RepeatedPtrField<kubetrail::v1::RawField>* fields) {
    kubetrail::v1::RawField* f = fields->Add();
    f->set_key("x");
    f->set_value("x");
    return f;
  };
  struct Case {
    std::string_view path;
    std::function<void(Event&)> spoil;
  };
  for (const Case& c : std::vector<Case>{
           {"requestObject", [](Event& e) { e.set_request_object("x"); }},
           {"responseObject", [](Event& e) { e.set_response_object("x"); }},
           {"responseStatus.metadata",
            [](Event& e) { e.mutable_response_status()->set_metadata("x"); }},
           {"responseStatus.details",
            [](Event& e) { e.mutable_response_status()->set_details("x"); }},
           {"responseStatus.x",
            [&](Event& e) { unknown(e.mutable_response_status()->mutable_unknown_fields()); }},
           {"user.x", [&](Event& e) { unknown(e.mutable_user()->mutable_unknown_fields()); }},
           {"impersonatedUser.x",
            [&](Event& e) { unknown(e.mutable_impersonated_user()->mutable_unknown_fields()); }},
           {"authenticationMetadata.x",
            [&](Event& e) {
              unknown(e.mutable_authentication_metadata()->mutable_unknown_fields());
            }},
           {"objectRef.x",
            [&](Event& e) { unknown(e.mutable_object_ref()->mutable_unknown_fields()); }},
           {"x", [&](Event& e) { unknown(e.mutable_unknown_fields()); }},
       }) {
    Event e = good;
    c.spoil(e);
    absl::Status s = CheckRawJson(e);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.path;
    EXPECT_EQ(std::string(s.message()), Cat(c.path, ": byte 0: invalid literal (expected true, false or null)"));
  }
  // A value that is not present is not looked at.
  Event absent = good;
  absent.set_request_object("x");
  absent.clear_request_object();
  EXPECT_TRUE(CheckRawJson(absent).ok());
}

TEST(CodecEncodeTest, EventListBody) {
  std::string out;
  AppendEventListJson({}, &out);
  EXPECT_EQ(out, R"({"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[]})");

  std::vector<Event> events;
  for (std::string_view line : {kFullLine, kMinimalLine, kNullsLine, kEmptyValuesLine,
                                kV1beta1Line, kPrettyAlphabetical, kNullExtraLine}) {
    events.push_back(MustDecode(line));
  }
  std::vector<const Event*> pointers;
  for (const Event& e : events) pointers.push_back(&e);
  out = std::string("x");
  AppendEventListJson(pointers, &out);
  ASSERT_TRUE(absl::StartsWith(
      out, R"(x{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[)"));
  ASSERT_TRUE(absl::EndsWith(out, "]}"));
  EXPECT_EQ(out.find('\n'), std::string::npos);

  std::string_view body = std::string_view(out).substr(1);
  EventReader reader(body);
  Event event;
  size_t i = 0;
  while (true) {
    absl::StatusOr<bool> more = reader.Next(&event);
    ASSERT_TRUE(more.ok()) << more.status();
    if (!*more) break;
    ASSERT_LT(i, events.size());
    std::string diff;
    EXPECT_TRUE(SameEvent(event, events[i], &diff)) << "item " << i << ": " << diff;
    EXPECT_EQ(EncodeEventJson(event), EncodeEventJson(events[i]));
    EXPECT_EQ(reader.line(), 1u);
    ++i;
  }
  EXPECT_EQ(i, events.size());
}

// ---------------------------------------------------------------------------------------------
// EventReader.

struct ReadResult {
  bool ok;
  std::string text;  // the encoded event, or the error message
  absl::StatusCode code;
  size_t line;
};

std::vector<ReadResult> ReadAll(std::string_view input, InputFormat* format = nullptr,
                                DecodeOptions options = {}, size_t readable_after = 0) {
  EventReader reader(input, options, readable_after);
  std::vector<ReadResult> results;
  Event event;
  for (int guard = 0; guard < 10000; ++guard) {
    absl::StatusOr<bool> more = reader.Next(&event);
    if (more.ok() && !*more) {
      // Exhausted readers stay exhausted.
      absl::StatusOr<bool> again = reader.Next(&event);
      EXPECT_TRUE(again.ok() && !*again);
      if (format != nullptr) *format = reader.format();
      return results;
    }
    if (more.ok()) {
      results.push_back({true, EncodeEventJson(event), absl::StatusCode::kOk, reader.line()});
    } else {
      results.push_back({false, Message(more.status()), more.status().code(),
                         reader.line()});
    }
  }
  ADD_FAILURE() << "EventReader did not terminate";
  return results;
}

std::string Line(std::string_view audit_id) {
  return Cat(
      R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":")",
      audit_id, R"(","stage":"ResponseComplete"})");
}

TEST(EventReaderTest, JsonLinesWithBomCrlfBlankLinesAndTrailingSpace) {
  std::string input = Cat("\xEF\xBB\xBF", Line("l1"), "\r\n", "\r\n", "   \t\r\n",
                                   Line("l4"), " \t \r\n", "\n", Line("l6"), "\t ");
  InputFormat format = InputFormat::kEmpty;
  std::vector<ReadResult> r = ReadAll(input, &format);
  EXPECT_EQ(format, InputFormat::kJsonLines);
  ASSERT_EQ(r.size(), 3u);
  const std::pair<std::string_view, size_t> want[] = {{"l1", 1}, {"l4", 4}, {"l6", 6}};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(r[i].ok) << r[i].text;
    EXPECT_EQ(r[i].text, Line(want[i].first));
    EXPECT_EQ(r[i].line, want[i].second);
  }
}

TEST(EventReaderTest, BadLinesDoNotHideTheOthers) {
  std::string input = Cat(Line("a"), "\n", R"({"level":"Metadata","auditID":)", "\n",
                                   Line("c"), "\n", "not json at all\n", Line("e"), "\n",
                                   R"({"level":"Metadata","auditID":"f"})", "\n", "[1,2]\n",
                                   Line("h"), "\n");
  InputFormat format = InputFormat::kEmpty;
  std::vector<ReadResult> r = ReadAll(input, &format);
  EXPECT_EQ(format, InputFormat::kJsonLines);
  ASSERT_EQ(r.size(), 8u);
  EXPECT_TRUE(r[0].ok);
  EXPECT_EQ(r[0].text, Line("a"));
  EXPECT_FALSE(r[1].ok);
  EXPECT_THAT(r[1].text, StartsWith("line 2:"));
  EXPECT_EQ(r[1].code, absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r[1].line, 2u);
  EXPECT_TRUE(r[2].ok);
  EXPECT_EQ(r[2].text, Line("c"));
  EXPECT_EQ(r[2].line, 3u);
  EXPECT_FALSE(r[3].ok);
  EXPECT_THAT(r[3].text, StartsWith("line 4:"));
  EXPECT_TRUE(r[4].ok);
  EXPECT_EQ(r[4].text, Line("e"));
  EXPECT_FALSE(r[5].ok);
  EXPECT_THAT(r[5].text, StartsWith("line 6:"));
  EXPECT_THAT(r[5].text, HasSubstr("stage"));
  EXPECT_FALSE(r[6].ok);
  EXPECT_THAT(r[6].text, StartsWith("line 7:"));
  EXPECT_TRUE(r[7].ok);
  EXPECT_EQ(r[7].text, Line("h"));
  EXPECT_EQ(r[7].line, 8u);
}

TEST(EventReaderTest, OversizedLineIsResourceExhausted) {
  DecodeOptions options;
  options.max_event_bytes = Line("a").size();
  std::string input = Cat(Line("a"), "\n", Line("too-long"), "\n", Line("c"), "\n");
  std::vector<ReadResult> r = ReadAll(input, nullptr, options);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_TRUE(r[0].ok);
  EXPECT_FALSE(r[1].ok);
  EXPECT_EQ(r[1].code, absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(r[1].text, StartsWith("line 2:"));
  EXPECT_TRUE(r[2].ok);
  EXPECT_EQ(r[2].text, Line("c"));
}

constexpr std::string_view kPrettyList = R"({
  "kind": "EventList",
  "apiVersion": "audit.k8s.io/v1",
  "metadata": {},
  "items": [
    {"level":"Metadata","auditID":"i0","stage":"ResponseComplete"},
    {
      "level": "Metadata",
      "auditID": 5,
      "stage": "ResponseComplete"
    },
    {"level":"Metadata","auditID":"i2","stage":"ResponseComplete",
     "sourceIPs": [ "::1" ]},
    {"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","stage":"ResponseComplete"},
    {"level":"Metadata","auditID":"i4","stage":"ResponseComplete"}
  ]
}
)";

TEST(EventReaderTest, PrettyEventListWithBadItems) {
  InputFormat format = InputFormat::kEmpty;
  std::vector<ReadResult> r = ReadAll(kPrettyList, &format);
  EXPECT_EQ(format, InputFormat::kEventList);
  ASSERT_EQ(r.size(), 5u);
  EXPECT_TRUE(r[0].ok) << r[0].text;
  EXPECT_EQ(r[0].text, Line("i0"));
  EXPECT_EQ(r[0].line, 6u);
  EXPECT_FALSE(r[1].ok);
  EXPECT_THAT(r[1].text, StartsWith("items[1]"));
  EXPECT_THAT(r[1].text, HasSubstr("(line 7)"));
  EXPECT_THAT(r[1].text, HasSubstr("auditID"));
  EXPECT_EQ(r[1].line, 7u);
  EXPECT_TRUE(r[2].ok) << r[2].text;
  EXPECT_EQ(r[2].text,
            R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"i2",)"
            R"("stage":"ResponseComplete","sourceIPs":["::1"]})");
  EXPECT_EQ(r[2].line, 12u);
  EXPECT_FALSE(r[3].ok);
  EXPECT_THAT(r[3].text, StartsWith("items[3] (line 14)"));
  EXPECT_THAT(r[3].text, HasSubstr("auditID"));
  EXPECT_TRUE(r[4].ok) << r[4].text;
  EXPECT_EQ(r[4].text, Line("i4"));
  EXPECT_EQ(r[4].line, 15u);
}

TEST(EventReaderTest, PrettyEventListWithBomAndCrlf) {
  std::string input = "\xEF\xBB\xBF";
  for (char ch : kPrettyList) {
    if (ch == '\n') input += '\r';
    input += ch;
  }
  std::vector<ReadResult> r = ReadAll(input);
  ASSERT_EQ(r.size(), 5u);
  EXPECT_TRUE(r[0].ok);
  EXPECT_EQ(r[0].line, 6u);
  EXPECT_THAT(r[1].text, StartsWith("items[1] (line 7)"));
  EXPECT_TRUE(r[4].ok);
  EXPECT_EQ(r[4].line, 15u);
}

TEST(EventReaderTest, FirstLineBadThenGoodLines) {
  std::string input = Cat(R"({"level":"Metadata","auditID":)", "\n", Line("b"), "\n",
                          Line("c"), Line("d"), "\n", Line("e"), "\n");
  InputFormat format = InputFormat::kEmpty;
  std::vector<ReadResult> r = ReadAll(input, &format);
  EXPECT_EQ(format, InputFormat::kJsonLines);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_FALSE(r[0].ok);
  EXPECT_THAT(r[0].text, StartsWith("line 1:"));
  EXPECT_TRUE(r[1].ok);
  EXPECT_EQ(r[1].text, Line("b"));
  EXPECT_FALSE(r[2].ok);  // two objects on one line
  EXPECT_THAT(r[2].text, StartsWith("line 3:"));
  EXPECT_TRUE(r[3].ok);
  EXPECT_EQ(r[3].line, 4u);
}

TEST(EventReaderTest, EventListBodyLargerThanMaxEventBytes) {
  // max_event_bytes bounds each item, not the list: a webhook body is routinely larger than
  // any one of its events.
  DecodeOptions options;
  options.max_event_bytes = 110;  // Line("x") is 107 bytes; the list is 199
  std::string one_line = Cat(
      R"({"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[)",
      R"({"level":"Metadata","auditID":"a","stage":"ResponseComplete"},)",
      R"({"level":"Metadata","auditID":"b","stage":"ResponseComplete"}]})");
  const std::string in_lines = Cat(Line("x"), "\n", one_line, "\n");
  for (std::string_view input : {std::string_view(one_line), std::string_view(in_lines)}) {
    SCOPED_TRACE(input);
    std::vector<ReadResult> r = ReadAll(input, nullptr, options);
    if (r.size() < 2) {
      ADD_FAILURE() << "got " << r.size() << " results; first: " << (r.empty() ? "" : r[0].text);
      continue;
    }
    EXPECT_TRUE(r[r.size() - 2].ok) << r[r.size() - 2].text;
    EXPECT_EQ(r[r.size() - 2].text, Line("a"));
    EXPECT_TRUE(r.back().ok) << r.back().text;
    EXPECT_EQ(r.back().text, Line("b"));
  }
}

TEST(EventReaderTest, WebhookBodyLargerThanDefaultMaxEventBytes) {
  // With the default 4 MiB: a 6 MB webhook body of 60 events of 100 KiB each.
  std::vector<Event> events(60);
  for (size_t i = 0; i < events.size(); ++i) {
    events[i] = MustDecode(WithRequestObject(Cat("\"", std::string(100 << 10, 'x'), "\"")));
    events[i].set_audit_id(Cat("big-", i));
  }
  const std::string body = EventListJson(events);
  ASSERT_GT(body.size(), size_t{5} << 20);
  std::vector<ReadResult> r = ReadAll(body);
  ASSERT_EQ(r.size(), events.size()) << (r.empty() ? "" : r[0].text);
  for (size_t i = 0; i < r.size(); ++i) {
    EXPECT_TRUE(r[i].ok) << i << ": " << r[i].text.substr(0, 300);
  }
}

TEST(EventReaderTest, OversizedListItemIsResourceExhausted) {
  DecodeOptions options;
  options.max_event_bytes = 80;
  std::string input = Cat(
      R"({"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[)", "\n",
      R"({"level":"Metadata","auditID":"a","stage":"ResponseComplete"},)", "\n",
      R"({"level":"Metadata","auditID":"a-very-long-audit-id-that-is-too-long",)"
      R"("stage":"ResponseComplete"},)",
      "\n", R"({"level":"Metadata","auditID":"c","stage":"ResponseComplete"}]})", "\n");
  std::vector<ReadResult> r = ReadAll(input, nullptr, options);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_TRUE(r[0].ok) << r[0].text;
  EXPECT_FALSE(r[1].ok);
  EXPECT_EQ(r[1].code, absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(r[1].text, StartsWith("items[1] (line 3)"));
  EXPECT_TRUE(r[2].ok) << r[2].text;
}

TEST(EventReaderTest, EventListOnOneLineWithinJsonLines) {
  std::string input = Cat(
      Line("a"), "\n",
      R"({"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[)",
      R"({"level":"Metadata","auditID":"b0","stage":"ResponseComplete"},)",
      R"({"level":"Metadata","auditID":"b1","stage":"ResponseComplete"}]})", "\n", Line("c"),
      "\n",
      R"({"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[)",
      R"({"level":"Metadata","auditID":"d0","stage":"ResponseComplete"},)",
      R"({"level":"Metadata","stage":"ResponseComplete"},)",
      R"({"level":"Metadata","auditID":"d2","stage":"ResponseComplete"}]})", "\n",
      R"({"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[]})", "\n",
      Line("f"), "\n");
  InputFormat format = InputFormat::kEmpty;
  std::vector<ReadResult> r = ReadAll(input, &format);
  EXPECT_EQ(format, InputFormat::kJsonLines);
  ASSERT_EQ(r.size(), 8u);
  const std::pair<std::string_view, size_t> want[] = {
      {"a", 1}, {"b0", 2}, {"b1", 2}, {"c", 3}, {"d0", 4}, {"", 4}, {"d2", 4}, {"f", 6}};
  for (size_t i = 0; i < r.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(r[i].line, want[i].second);
    if (want[i].first.empty()) {
      EXPECT_FALSE(r[i].ok);
      EXPECT_THAT(r[i].text, HasSubstr("line 4"));
      EXPECT_THAT(r[i].text, HasSubstr("items[1]"));
      EXPECT_THAT(r[i].text, HasSubstr("auditID"));
    } else {
      EXPECT_TRUE(r[i].ok) << r[i].text;
      EXPECT_EQ(r[i].text, Line(want[i].first));
    }
  }
}

// Found by fuzz/codec_fuzz.cc: each empty list used to cost a stack frame (Next called itself
// to go on after it), so a webhook body of many of them overflowed the stack.
TEST(EventReaderTest, ManyEmptyEventListsInARow) {
  std::string input;
  for (int i = 0; i < 500'000; ++i) input += "{\"items\":[]}\n";
  input += Line("last") + "\n";
  InputFormat format = InputFormat::kEmpty;
  std::vector<ReadResult> r = ReadAll(input, &format);
  EXPECT_EQ(format, InputFormat::kJsonLines);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].ok) << r[0].text;
  EXPECT_EQ(r[0].line, 500'001u);
  EXPECT_EQ(r[0].text, Line("last"));
}

TEST(EventReaderTest, EventListItemsThatAreNotObjects) {
  std::string input = Cat(
      R"({"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[)", "\n",
      R"({"level":"Metadata","auditID":"a","stage":"ResponseComplete"},)", "\n",
      R"("not an event",)", "\n", "[1,2],\n", "null,\n",
      R"({"level":"Metadata","auditID":"e","stage":"ResponseComplete"}]})", "\n");
  InputFormat format = InputFormat::kEmpty;
  std::vector<ReadResult> r = ReadAll(input, &format);
  EXPECT_EQ(format, InputFormat::kEventList);
  ASSERT_EQ(r.size(), 5u);
  EXPECT_TRUE(r[0].ok) << r[0].text;
  for (size_t k = 1; k <= 3; ++k) {
    EXPECT_FALSE(r[k].ok);
    EXPECT_THAT(r[k].text, StartsWith(Cat("items[", k, "] (line ", k + 2, ")")));
  }
  EXPECT_TRUE(r[4].ok) << r[4].text;
  EXPECT_EQ(r[4].text, Line("e"));
  EXPECT_EQ(r[4].line, 6u);
}

TEST(EventReaderTest, BrokenEventListsEndWithOneError) {
  for (std::string_view input : {
           // Unsupported list version.
           std::string_view("{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v2\",\n"
                            "\"items\":[{\"level\":\"Metadata\",\"auditID\":\"a\","
                            "\"stage\":\"x\"}]}\n"),
           // items not an array.
           std::string_view("{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\n"
                            "\"items\":{}}\n"),
       }) {
    SCOPED_TRACE(input);
    std::vector<ReadResult> r = ReadAll(input);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_FALSE(r[0].ok);
    EXPECT_EQ(r[0].code, absl::StatusCode::kInvalidArgument);
  }
}

// Found by fuzz/codec_fuzz.cc: a list whose JSON breaks after "kind" made simdjson abandon the
// object in the lookup of "apiVersion", and the lookup of "items" then read through a null
// parser. Each such line is now one error, and the lines around it are read.
TEST(EventReaderTest, ListBrokenAfterItsKindIsOneError) {
  for (std::string_view broken : {
           R"({"kind":"EventList":"x","items":[]})",
           R"({"kind":"EventList","apiVersion":"audit.k8s.io/v1":1,"items":[]})",
           R"({"apiVersion":"audit.k8s.io/v1","kind":"EventList" "items":[]})",
       }) {
    SCOPED_TRACE(broken);
    for (bool lines : {false, true}) {
      const std::string input =
          lines ? Cat(Line("a"), "\n", broken, "\n", Line("b"), "\n") : std::string(broken);
      std::vector<ReadResult> r = ReadAll(input);
      ASSERT_EQ(r.size(), lines ? 3u : 1u);
      const ReadResult& error = r[lines ? 1 : 0];
      EXPECT_FALSE(error.ok);
      EXPECT_EQ(error.code, absl::StatusCode::kInvalidArgument);
      if (lines) {
        EXPECT_THAT(error.text, HasSubstr("line 2"));
        EXPECT_TRUE(r[0].ok && r[2].ok);
      }
    }
  }
}

TEST(EventReaderTest, V1beta1EventListItemsAreMapped) {
  // A v1beta1 webhook body: items carry no apiVersion of their own.
  std::string input = Cat(
      R"({"kind":"EventList","apiVersion":"audit.k8s.io/v1beta1","metadata":{},"items":[)", "\n",
      R"({"metadata":{"creationTimestamp":"2017-09-11T19:55:05Z"},"level":"Metadata",)",
      R"("timestamp":"2017-09-11T19:55:05Z","auditID":"a","stage":"ResponseComplete"}]})", "\n");
  EventReader reader(input);
  Event event;
  absl::StatusOr<bool> more = reader.Next(&event);
  ASSERT_TRUE(more.ok()) << more.status();
  ASSERT_TRUE(*more);
  EXPECT_EQ(event.source_api_version(), kApiVersionV1beta1);
  EXPECT_EQ(EncodeEventJson(event),
            R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a",)"
            R"("stage":"ResponseComplete",)"
            R"("requestReceivedTimestamp":"2017-09-11T19:55:05.000000Z",)"
            R"("stageTimestamp":"2017-09-11T19:55:05.000000Z",)"
            R"("metadata":{"creationTimestamp":"2017-09-11T19:55:05Z"},)"
            R"("timestamp":"2017-09-11T19:55:05Z"})");
}

TEST(EventReaderTest, PrettyPrintedSingleEvent) {
  InputFormat format = InputFormat::kEmpty;
  std::vector<ReadResult> r = ReadAll(kPrettyAlphabetical, &format);
  EXPECT_EQ(format, InputFormat::kEvent);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].ok) << r[0].text;
  EXPECT_EQ(r[0].text, kPrettyAlphabeticalCanonical);
  EXPECT_EQ(r[0].line, 1u);

  // With a BOM, CRLF and leading blank lines.
  std::string input = "\xEF\xBB\xBF\r\n\r\n";
  for (char ch : kPrettyAlphabetical) {
    if (ch == '\n') input += '\r';
    input += ch;
  }
  r = ReadAll(input, &format);
  EXPECT_EQ(format, InputFormat::kEvent);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].ok) << r[0].text;
  EXPECT_EQ(r[0].text, kPrettyAlphabeticalCanonical);
  EXPECT_EQ(r[0].line, 3u);
}

TEST(EventReaderTest, SingleCompactEventWithoutNewline) {
  InputFormat format = InputFormat::kEmpty;
  std::vector<ReadResult> r = ReadAll(kFullLine, &format);
  EXPECT_EQ(format, InputFormat::kJsonLines);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].text, kFullLine);
}

TEST(EventReaderTest, EmptyInputs) {
  for (std::string_view input :
       {std::string_view(""), std::string_view("\n\n  \r\n\t"), std::string_view("\xEF\xBB\xBF"),
        std::string_view("\xEF\xBB\xBF\r\n \n")}) {
    SCOPED_TRACE(input);
    EventReader reader(input);
    Event event;
    absl::StatusOr<bool> more = reader.Next(&event);
    ASSERT_TRUE(more.ok()) << more.status();
    EXPECT_FALSE(*more);
    EXPECT_EQ(reader.format(), InputFormat::kEmpty);
    more = reader.Next(&event);
    ASSERT_TRUE(more.ok());
    EXPECT_FALSE(*more);
  }
}

TEST(EventReaderTest, TruncatedMultiLineInputsEndWithAnError) {
  for (std::string_view whole : {kPrettyList, kPrettyAlphabetical}) {
    for (size_t cut : {whole.size() / 3, whole.size() / 2, whole.size() - 4}) {
      std::string_view input = whole.substr(0, cut);
      SCOPED_TRACE(input);
      std::vector<ReadResult> r = ReadAll(input);
      ASSERT_FALSE(r.empty());
      EXPECT_FALSE(r.back().ok);
      EXPECT_LE(r.size(), 6u);
    }
  }
}

TEST(EventReaderTest, GarbageInputsTerminate) {
  std::mt19937 rng(777);
  const char kAlphabet[] = "{}[]\":,\n\r \xEF\xBB\xBF" "abc";
  for (int round = 0; round < 500; ++round) {
    std::string input;
    size_t length = rng() % 200;
    for (size_t i = 0; i < length; ++i) input += kAlphabet[rng() % (sizeof(kAlphabet) - 1)];
    ReadAll(input);
  }
  // Prefixes of a JSON-lines input and of a pretty list.
  std::string lines = Cat(Line("a"), "\n", Line("b"), "\n", kPrettyList);
  for (size_t n = 0; n <= lines.size(); n += 7) ReadAll(std::string_view(lines).substr(0, n));
}

bool operator==(const ReadResult& a, const ReadResult& b) {
  return a.ok == b.ok && a.text == b.text && a.code == b.code && a.line == b.line;
}

TEST(EventReaderTest, ReadablePaddingGivesTheSameResults) {
  std::string crlf_list = "\xEF\xBB\xBF";
  for (char ch : kPrettyList) {
    if (ch == '\n') crlf_list += '\r';
    crlf_list += ch;
  }
  const std::string inputs[] = {
      Cat(Line("a"), "\r\n\n", Line("b"), " \t\n", R"({"level":)", "\n", Line("d")),
      std::string(kPrettyList),
      crlf_list,
      std::string(kPrettyAlphabetical),
      std::string(kFullLine),
      Cat(R"({"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[)",
          kFullLine, ",", kMinimalLine, "]}"),
      std::string(kPrettyList.substr(0, kPrettyList.size() / 2)),
      "",
      "\xEF\xBB\xBF",
  };
  for (const std::string& input : inputs) {
    SCOPED_TRACE(input);
    InputFormat want_format = InputFormat::kEmpty;
    std::vector<ReadResult> want = ReadAll(input, &want_format);
    std::string padded = input;
    ReserveReadPadding(padded);
    ASSERT_GE(padded.capacity(), padded.size() + kReadPadding);
    InputFormat got_format = InputFormat::kEmpty;
    std::vector<ReadResult> got = ReadAll(padded, &got_format, {}, kReadPadding);
    EXPECT_EQ(got_format, want_format);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_TRUE(got[i] == want[i]) << i << ": " << got[i].text << "\nvs " << want[i].text;
    }
  }
}

TEST(EventReaderTest, ReadableBytesAfterTheInputAreNotInput) {
  // The bytes after the view would complete the last event; they must not be taken for input.
  std::string buffer = Cat(Line("a"), "\n", Line("b"));
  const size_t input_size = buffer.size() - 1;  // the last event without its closing brace
  buffer += std::string(kReadPadding, '}');
  std::string_view input(buffer.data(), input_size);
  for (size_t readable_after : {size_t{0}, kReadPadding}) {
    SCOPED_TRACE(readable_after);
    std::vector<ReadResult> r = ReadAll(input, nullptr, {}, readable_after);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_TRUE(r[0].ok);
    EXPECT_FALSE(r[1].ok);
    EXPECT_THAT(r[1].text, StartsWith("line 2:"));
  }
  // The same for a single pretty-printed document.
  const size_t cut = kPrettyAlphabetical.rfind('}');
  std::string pretty = Cat(kPrettyAlphabetical.substr(0, cut), std::string(kReadPadding, '}'));
  for (size_t readable_after : {size_t{0}, kReadPadding}) {
    std::vector<ReadResult> r =
        ReadAll(std::string_view(pretty.data(), cut), nullptr, {}, readable_after);
    ASSERT_FALSE(r.empty());
    EXPECT_FALSE(r.back().ok);
  }
}

TEST(EventReaderTest, FormatNames) {
  const InputFormat formats[] = {InputFormat::kEmpty, InputFormat::kJsonLines,
                                 InputFormat::kEventList, InputFormat::kEvent};
  std::vector<std::string> names;
  for (InputFormat f : formats) {
    std::string_view name = InputFormatName(f);
    EXPECT_FALSE(name.empty());
    names.emplace_back(name);
  }
  for (size_t i = 0; i < names.size(); ++i) {
    for (size_t j = i + 1; j < names.size(); ++j) EXPECT_NE(names[i], names[j]);
  }
}

TEST(EventReaderTest, ReaderAgreesWithDecoderOnAllHandWrittenLines) {
  const std::string_view lines[] = {kFullLine,       kRequestReceivedLine, kMinimalLine,
                                    kEmptyValuesLine, kNullsLine,          kNullExtraLine,
                                    kV1beta1Line};
  std::string input;
  for (std::string_view line : lines) input += Cat(line, "\n");
  std::vector<ReadResult> r = ReadAll(input);
  ASSERT_EQ(r.size(), std::size(lines));
  for (size_t i = 0; i < r.size(); ++i) {
    EXPECT_TRUE(r[i].ok) << r[i].text;
    EXPECT_EQ(r[i].text, Canon(lines[i]));
    EXPECT_EQ(r[i].line, i + 1);
  }
}

}  // namespace
}  // namespace kubetrail::audit
