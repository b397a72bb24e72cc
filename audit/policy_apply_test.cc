// Tests of ApplyDecision (policy.h) against ../shared/docs/k8s-audit-semantics.md §3: dropping,
// level capping, body stripping per level and managedFields removal on compact Go JSON.
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "audit/codec_testing.h"
#include "audit/gojson.h"
#include "audit/policy.h"
#include "gtest/gtest.h"
#include "kubetrail/v1/event.pb.h"

namespace kubetrail::audit {
namespace {

using kubetrail::v1::Event;

Event MakeEvent(std::string_view level, std::string_view stage, std::string_view verb = "create") {
  Event e;
  e.set_level(std::string(level));
  e.set_stage(std::string(stage));
  e.set_verb(std::string(verb));
  e.set_audit_id("0b7f0c4e-0000-4000-8000-000000000001");
  e.mutable_user()->set_username("alice");
  e.mutable_object_ref()->set_resource("pods");
  e.set_request_object(R"({"kind":"Pod","metadata":{"name":"p"}})");
  e.set_response_object(R"({"kind":"Pod","metadata":{"name":"p","uid":"u"}})");
  return e;
}

PolicyDecision Decision(Level level, StageSet omit = 0, bool omf = false) {
  PolicyDecision d;
  d.level = level;
  d.omit_stages = omit;
  d.omit_managed_fields = omf;
  d.rule = 0;
  return d;
}

TEST(ApplyDecisionTest, DropsNone) {
  Event e = MakeEvent("RequestResponse", "ResponseComplete");
  EXPECT_EQ(ApplyDecision(Decision(Level::kNone), &e), ApplyOutcome::kDroppedNone);
}

TEST(ApplyDecisionTest, DropsOmittedStage) {
  PolicyDecision d = Decision(Level::kMetadata, StageBit(Stage::kRequestReceived));
  Event received = MakeEvent("Metadata", "RequestReceived");
  EXPECT_EQ(ApplyDecision(d, &received), ApplyOutcome::kDroppedStage);
  Event complete = MakeEvent("Metadata", "ResponseComplete");
  EXPECT_EQ(ApplyDecision(d, &complete), ApplyOutcome::kKept);
  // An unknown stage is never in omit_stages.
  Event odd = MakeEvent("Metadata", "Bogus");
  EXPECT_EQ(ApplyDecision(Decision(Level::kMetadata, 0xff), &odd), ApplyOutcome::kKept);
}

TEST(ApplyDecisionTest, NoneBeatsStage) {
  Event e = MakeEvent("Metadata", "RequestReceived");
  EXPECT_EQ(ApplyDecision(Decision(Level::kNone, StageBit(Stage::kRequestReceived)), &e),
            ApplyOutcome::kDroppedNone);
}

TEST(ApplyDecisionTest, CapsLevelNeverRaises) {
  Event e = MakeEvent("Metadata", "ResponseComplete");
  ASSERT_EQ(ApplyDecision(Decision(Level::kRequestResponse), &e), ApplyOutcome::kKept);
  EXPECT_EQ(e.level(), "Metadata");
  EXPECT_FALSE(e.has_request_object());
  EXPECT_FALSE(e.has_response_object());

  Event req = MakeEvent("Request", "ResponseComplete");
  ASSERT_EQ(ApplyDecision(Decision(Level::kRequestResponse), &req), ApplyOutcome::kKept);
  EXPECT_EQ(req.level(), "Request");
  EXPECT_TRUE(req.has_request_object());
  EXPECT_FALSE(req.has_response_object());
}

TEST(ApplyDecisionTest, StripsBodiesPerLevel) {
  struct Case {
    Level decision;
    std::string_view level;
    bool request;
    bool response;
  };
  for (const Case& c : {Case{Level::kMetadata, "Metadata", false, false},
                        Case{Level::kRequest, "Request", true, false},
                        Case{Level::kRequestResponse, "RequestResponse", true, true}}) {
    Event e = MakeEvent("RequestResponse", "ResponseComplete");
    Event before = e;
    ASSERT_EQ(ApplyDecision(Decision(c.decision), &e), ApplyOutcome::kKept) << c.level;
    EXPECT_EQ(e.level(), c.level);
    EXPECT_EQ(e.has_request_object(), c.request) << c.level;
    EXPECT_EQ(e.has_response_object(), c.response) << c.level;
    if (c.request) {
      EXPECT_EQ(e.request_object(), before.request_object());
    }
    if (c.response) {
      EXPECT_EQ(e.response_object(), before.response_object());
    }
    // Nothing else changes.
    Event expected = before;
    expected.set_level(std::string(c.level));
    if (!c.request) expected.clear_request_object();
    if (!c.response) expected.clear_response_object();
    std::string diff;
    EXPECT_TRUE(testing::SameEvent(e, expected, &diff)) << diff;
  }
}

TEST(ApplyDecisionTest, UnknownEventLevelRanksNone) {
  Event e = MakeEvent("Verbose", "ResponseComplete");
  EXPECT_EQ(ApplyDecision(Decision(Level::kRequestResponse), &e), ApplyOutcome::kDroppedNone);
}

// ---------------------------------------------------------------------------------------------
// managedFields removal: exact bytes.

struct StripCase {
  std::string name;
  std::string in;
  std::string out;
};

const std::vector<StripCase>& StripCases() {
  static const auto* cases = new std::vector<StripCase>{
      {"middle member",
       R"json({"kind":"Pod","metadata":{"name":"p","managedFields":[{"manager":"kubectl","fi)json"
       R"json(eldsV1":{"f:a":{}}}],"uid":"u"},"spec":{}})json",
       R"json({"kind":"Pod","metadata":{"name":"p","uid":"u"},"spec":{}})json"},
      {"last member", R"json({"metadata":{"name":"p","managedFields":[]}})json",
       R"json({"metadata":{"name":"p"}})json"},
      {"only member", R"json({"metadata":{"managedFields":[]},"x":1})json",
       R"json({"metadata":{},"x":1})json"},
      {"first member", R"json({"metadata":{"managedFields":null,"name":"n"}})json",
       R"json({"metadata":{"name":"n"}})json"},
      {"duplicates",
       R"json({"metadata":{"managedFields":1,"a":2,"managedFields":3,"managedFields":4}})json",
       R"json({"metadata":{"a":2}})json"},
      {"escapes in strings",
       R"json({"metadata":{"annotations":{"a":"\"managedFields\":[]}\\","b\"":"{"},"managedF)json"
       R"json(ields":[{"m":"x\"}],\\\""}],"name":"n\u003c"}})json",
       R"json({"metadata":{"annotations":{"a":"\"managedFields\":[]}\\","b\"":"{"},"name":")json"
       R"json(n\u003c"}})json"},
      {"nested metadata untouched",
       R"json({"spec":{"template":{"metadata":{"managedFields":[]}}},"metadata":{"managedFie)json"
       R"json(lds":[]}})json",
       R"json({"spec":{"template":{"metadata":{"managedFields":[]}}},"metadata":{}})json"},
      {"top-level managedFields untouched", R"json({"managedFields":[],"metadata":{"a":1}})json",
       R"json({"managedFields":[],"metadata":{"a":1}})json"},
      {"list items",
       R"json({"kind":"PodList","metadata":{"resourceVersion":"1"},"items":[{"metadata":{"na)json"
       R"json(me":"a","managedFields":[{}]}},{"metadata":{"name":"b"}},"x",{"metadata":{"man)json"
       R"json(agedFields":[],"name":"c"}},{"metadata":[1]}]})json",
       R"json({"kind":"PodList","metadata":{"resourceVersion":"1"},"items":[{"metadata":{"n)json"
       R"json(ame":"a"}},{"metadata":{"name":"b"}},"x",{"metadata":{"name":"c"}},{"metadata)json"
       R"json(":[1]}]})json"},
      {"table rows",
       R"json({"kind":"Table","columnDefinitions":[{"name":"Name"}],"rows":[{"cells":["a",1.)json"
       R"json(5e3,true],"object":{"kind":"PartialObjectMetadata","metadata":{"name":"a","man)json"
       R"json(agedFields":[{"manager":"m"}]}}},{"cells":[],"object":null},{"object":{"metada)json"
       R"json(ta":{"managedFields":[],"uid":"u"}}}]})json",
       R"json({"kind":"Table","columnDefinitions":[{"name":"Name"}],"rows":[{"cells":["a",1)json"
       R"json(.5e3,true],"object":{"kind":"PartialObjectMetadata","metadata":{"name":"a"}}})json"
       R"json(,{"cells":[],"object":null},{"object":{"metadata":{"uid":"u"}}}]})json"},
      {"empty object", "{}", "{}"},
      {"empty metadata", R"json({"metadata":{}})json", R"json({"metadata":{}})json"},
      {"array body", R"json([{"metadata":{"managedFields":[]}}])json",
       R"json([{"metadata":{"managedFields":[]}}])json"},
      {"string body", R"json("managedFields")json", R"json("managedFields")json"},
      {"null body", "null", "null"},
      {"malformed body kept", R"json({"metadata":{"managedFields":[],"a":)json",
       R"json({"metadata":{"managedFields":[],"a":)json"},
  };
  return *cases;
}

TEST(ApplyDecisionTest, RemovesManagedFieldsExactly) {
  for (const StripCase& c : StripCases()) {
    Event e = MakeEvent("RequestResponse", "ResponseComplete", "update");
    e.set_request_object(c.in);
    e.set_response_object(c.in);
    ASSERT_EQ(ApplyDecision(Decision(Level::kRequestResponse, 0, true), &e), ApplyOutcome::kKept);
    EXPECT_EQ(e.request_object(), c.out) << c.name;
    EXPECT_EQ(e.response_object(), c.out) << c.name;
  }
}

TEST(ApplyDecisionTest, KeepsManagedFieldsWhenNotOmitted) {
  for (const StripCase& c : StripCases()) {
    Event e = MakeEvent("RequestResponse", "ResponseComplete", "update");
    e.set_request_object(c.in);
    e.set_response_object(c.in);
    ASSERT_EQ(ApplyDecision(Decision(Level::kRequestResponse, 0, false), &e),
              ApplyOutcome::kKept);
    EXPECT_EQ(e.request_object(), c.in) << c.name;
    EXPECT_EQ(e.response_object(), c.in) << c.name;
  }
}

TEST(ApplyDecisionTest, PatchBodyUntouched) {
  const std::string body = R"json({"metadata":{"managedFields":[],"name":"p"}})json";
  Event e = MakeEvent("RequestResponse", "ResponseComplete", "patch");
  e.set_request_object(body);
  e.set_response_object(body);
  ASSERT_EQ(ApplyDecision(Decision(Level::kRequestResponse, 0, true), &e), ApplyOutcome::kKept);
  EXPECT_EQ(e.request_object(), body);
  EXPECT_EQ(e.response_object(), R"json({"metadata":{"name":"p"}})json");
}

// Stripped bodies are still valid compact Go JSON: recompacting them changes nothing.
TEST(ApplyDecisionTest, StrippedBodiesStayCompactJson) {
  for (const StripCase& c : StripCases()) {
    std::string check;
    if (!AppendCompactGoJson(c.in, 256, &check).ok()) continue;  // the malformed case
    std::string again;
    ASSERT_TRUE(AppendCompactGoJson(c.out, 256, &again).ok()) << c.name;
    EXPECT_EQ(again, c.out) << c.name;
  }
}

// ---------------------------------------------------------------------------------------------
// Property: over many hand-made events and decisions, applying never adds bytes, never raises
// the level, and keeps exactly what the level allows.

TEST(ApplyDecisionTest, NeverAddsBytesNeverRaisesLevel) {
  const std::vector<std::string_view> levels = {"None", "Metadata", "Request", "RequestResponse",
                                                "Bogus", ""};
  const std::vector<std::string_view> stages = {"RequestReceived", "ResponseStarted",
                                                "ResponseComplete", "Panic", "x"};
  const std::vector<std::string_view> verbs = {"get", "list", "create", "update", "patch",
                                               "delete", "watch"};
  std::mt19937 rng(12345);
  auto pick = [&rng](size_t n) { return static_cast<size_t>(rng() % n); };
  int kept = 0;
  for (int i = 0; i < 5000; ++i) {
    Event e = MakeEvent(levels[pick(levels.size())], stages[pick(stages.size())],
                        verbs[pick(verbs.size())]);
    const std::vector<StripCase>& bodies = StripCases();
    if (pick(4) == 0) {
      e.clear_request_object();
    } else {
      e.set_request_object(bodies[pick(bodies.size())].in);
    }
    if (pick(4) == 0) {
      e.clear_response_object();
    } else {
      e.set_response_object(bodies[pick(bodies.size())].in);
    }
    PolicyDecision d = Decision(static_cast<Level>(pick(4)), static_cast<StageSet>(pick(16)),
                                pick(2) == 0);
    const Event before = e;
    ApplyOutcome outcome = ApplyDecision(d, &e);
    Level old_level = RankLevel(before.level());
    if (outcome != ApplyOutcome::kKept) {
      EXPECT_TRUE(d.level == Level::kNone || old_level == Level::kNone ||
                  outcome == ApplyOutcome::kDroppedStage);
      continue;
    }
    ++kept;
    Level new_level = RankLevel(e.level());
    ASSERT_TRUE(ParseLevel(e.level()).has_value()) << e.level();
    EXPECT_LE(new_level, old_level);
    EXPECT_LE(new_level, d.level);
    EXPECT_NE(new_level, Level::kNone);
    EXPECT_LE(e.request_object().size(), before.request_object().size());
    EXPECT_LE(e.response_object().size(), before.response_object().size());
    // Only the level name may grow (Request -> Metadata is one byte longer).
    EXPECT_LE(e.ByteSizeLong() - e.level().size(), before.ByteSizeLong() - before.level().size());
    if (new_level < Level::kRequest) {
      EXPECT_FALSE(e.has_request_object());
    }
    if (new_level < Level::kRequestResponse) {
      EXPECT_FALSE(e.has_response_object());
    }
    if (!d.omit_managed_fields) {
      if (e.has_request_object()) {
        EXPECT_EQ(e.request_object(), before.request_object());
      }
      if (e.has_response_object()) {
        EXPECT_EQ(e.response_object(), before.response_object());
      }
    }
    if (e.verb() == "patch" && e.has_request_object()) {
      EXPECT_EQ(e.request_object(), before.request_object());
    }
  }
  EXPECT_GT(kept, 500);
}

}  // namespace
}  // namespace kubetrail::audit
