// Unit tests of the query vocabulary: CompileFilter and Matches (filter.h), EventTimeMicros,
// ResourceKey, DimensionKey and friends (event_store.h), and the cursor text form
// (internal/cursor.h).
#include "storage/filter.h"

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kubetrail/v1/event.pb.h"
#include "storage/event_store.h"
#include "storage/internal/cursor.h"

namespace kubetrail::storage {
namespace {

using ::kubetrail::v1::EnvelopedEvent;
using ::testing::HasSubstr;

// A typical event: alice gets pod web-1 in namespace shop, answered 200, with a time.
EnvelopedEvent BaseEvent() {
  EnvelopedEvent e;
  e.mutable_envelope()->set_cluster("prod");
  e.mutable_envelope()->set_source("apiserver-0");
  e.mutable_envelope()->set_receive_time_us(1'000'500);
  kubetrail::v1::Event* ev = e.mutable_event();
  ev->set_level("Metadata");
  ev->set_audit_id("6b1c1f0e-0000-4000-8000-000000000001");
  ev->set_stage("ResponseComplete");
  ev->set_verb("get");
  ev->mutable_user()->set_username("alice");
  ev->mutable_user()->add_groups("system:authenticated");
  ev->mutable_user()->add_groups("developers");
  ev->add_source_ips("10.0.0.1");
  ev->add_source_ips("192.168.1.7");
  ev->set_user_agent("kubectl/v1.31.0 (linux/amd64) kubernetes/abc");
  ev->mutable_object_ref()->set_resource("pods");
  ev->mutable_object_ref()->set_namespace_("shop");
  ev->mutable_object_ref()->set_name("web-1");
  ev->mutable_object_ref()->set_api_version("v1");
  ev->mutable_response_status()->set_code(200);
  ev->set_request_received_timestamp_us(1'000'000);
  ev->set_stage_timestamp_us(1'000'200);
  return e;
}

// Compiles `f`, failing the test when it is rejected.
CompiledFilter Compile(const Filter& f) {
  absl::StatusOr<CompiledFilter> c = CompileFilter(f);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : CompiledFilter{};
}

bool Match(const Filter& f, const EnvelopedEvent& e) {
  absl::StatusOr<CompiledFilter> c = CompileFilter(f);
  EXPECT_TRUE(c.ok()) << c.status();
  if (!c.ok()) return false;
  return Matches(*c, e, EventTimeMicros(e));
}

// Expects CompileFilter(f) to fail with InvalidArgument mentioning `field`.
void ExpectRejected(const Filter& f, std::string_view field) {
  absl::StatusOr<CompiledFilter> c = CompileFilter(f);
  ASSERT_FALSE(c.ok()) << "field " << field << " accepted";
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << c.status();
  EXPECT_THAT(std::string(c.status().message()), HasSubstr(std::string(field)));
}

EnvelopedEvent WithResource(std::string_view resource, std::string_view group,
                            std::string_view subresource) {
  EnvelopedEvent e = BaseEvent();
  kubetrail::v1::ObjectReference* ref = e.mutable_event()->mutable_object_ref();
  ref->set_resource(std::string(resource));
  if (group.empty()) {
    ref->clear_api_group();
  } else {
    ref->set_api_group(std::string(group));
  }
  if (subresource.empty()) {
    ref->clear_subresource();
  } else {
    ref->set_subresource(std::string(subresource));
  }
  return e;
}

// --- CompileFilter ---------------------------------------------------------------------------

TEST(CompileFilterTest, EmptyFilterMatchesEverything) {
  const CompiledFilter c = Compile(Filter{});
  EXPECT_TRUE(c.satisfiable);
  EXPECT_EQ(c.from_us, std::numeric_limits<int64_t>::min());
  EXPECT_EQ(c.to_us, std::numeric_limits<int64_t>::max());
  EXPECT_TRUE(Matches(c, BaseEvent(), 1'000'000));
  EXPECT_TRUE(Matches(c, EnvelopedEvent{}, 0));
}

TEST(CompileFilterTest, EmptyValueIsRejectedNamingTheField) {
  struct Case {
    std::string_view field;
    std::vector<std::string> Filter::*list;
  };
  for (const Case& c :
       std::initializer_list<Case>{{"clusters", &Filter::clusters},
                                   {"users", &Filter::users},
                                   {"impersonated_users", &Filter::impersonated_users},
                                   {"groups", &Filter::groups},
                                   {"verbs", &Filter::verbs},
                                   {"resources", &Filter::resources},
                                   {"names", &Filter::names},
                                   {"codes", &Filter::codes},
                                   {"stages", &Filter::stages},
                                   {"levels", &Filter::levels},
                                   {"audit_ids", &Filter::audit_ids},
                                   {"source_ips", &Filter::source_ips}}) {
    SCOPED_TRACE(c.field);
    Filter f;
    (f.*c.list) = {"x", ""};
    if (c.field == "resources") f.resources = {"pods", ""};
    if (c.field == "codes") f.codes = {"200", ""};
    ExpectRejected(f, c.field);
  }
}

TEST(CompileFilterTest, EmptyNamespaceAndCoreGroupAreAllowed) {
  Filter f;
  f.namespaces = {""};
  f.api_groups = {""};
  EXPECT_TRUE(CompileFilter(f).ok());
}

TEST(CompileFilterTest, BadResourcePatterns) {
  for (const char* bad : {"/", "/log", "pods/", "pods/log/x", "*/", ".apps", "deployments.",
                          "./scale", "pods//log"}) {
    SCOPED_TRACE(bad);
    Filter f;
    f.resources = {bad};
    ExpectRejected(f, "resources");
    EXPECT_THAT(std::string(CompileFilter(f).status().message()), HasSubstr(bad));
  }
}

TEST(CompileFilterTest, ResourcePatternsParse) {
  struct Case {
    const char* text;
    std::optional<std::string> resource, group, subresource;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"pods", "pods", std::nullopt, ""},
           {"pods/log", "pods", std::nullopt, "log"},
           {"pods/*", "pods", std::nullopt, std::nullopt},
           {"*/status", std::nullopt, std::nullopt, "status"},
           {"*", std::nullopt, std::nullopt, ""},
           {"*/*", std::nullopt, std::nullopt, std::nullopt},
           {"deployments.apps", "deployments", "apps", ""},
           {"deployments.apps/scale", "deployments", "apps", "scale"},
           {"ingresses.networking.k8s.io", "ingresses", "networking.k8s.io", ""}}) {
    SCOPED_TRACE(c.text);
    Filter f;
    f.resources = {c.text};
    const CompiledFilter compiled = Compile(f);
    ASSERT_EQ(compiled.resources.size(), 1u);
    EXPECT_EQ(compiled.resources[0].resource, c.resource);
    EXPECT_EQ(compiled.resources[0].api_group, c.group);
    EXPECT_EQ(compiled.resources[0].subresource, c.subresource);
  }
}

TEST(CompileFilterTest, BadCodes) {
  for (const char* bad :
       {"4", "40", "4000", "abc", "0xx", "099", "4x", "4x1", "x00", " 40", "-40", "4xX0"}) {
    SCOPED_TRACE(bad);
    Filter f;
    f.codes = {bad};
    ExpectRejected(f, "codes");
  }
}

TEST(CompileFilterTest, CodesParse) {
  Filter f;
  f.codes = {"403", "5xx", "2XX"};
  const CompiledFilter c = Compile(f);
  ASSERT_EQ(c.codes.size(), 3u);
  EXPECT_EQ(c.codes[0].min, 403);
  EXPECT_EQ(c.codes[0].max, 403);
  EXPECT_EQ(c.codes[1].min, 500);
  EXPECT_EQ(c.codes[1].max, 599);
  EXPECT_EQ(c.codes[2].min, 200);
  EXPECT_EQ(c.codes[2].max, 299);
}

TEST(CompileFilterTest, EmptyOrInvertedRangeIsUnsatisfiableNotAnError) {
  Filter f;
  f.from_us = 10;
  f.to_us = 10;
  CompiledFilter c = Compile(f);
  EXPECT_FALSE(c.satisfiable);
  EXPECT_FALSE(Matches(c, BaseEvent(), 10));
  f.to_us = 5;
  c = Compile(f);
  EXPECT_FALSE(c.satisfiable);
  EXPECT_FALSE(Matches(c, BaseEvent(), 7));
}

// --- Matches, field by field -----------------------------------------------------------------

TEST(MatchesTest, TimeRangeIsHalfOpen) {
  const EnvelopedEvent e = BaseEvent();  // time 1'000'000
  Filter f;
  f.from_us = 1'000'000;
  EXPECT_TRUE(Match(f, e));
  f.from_us = 1'000'001;
  EXPECT_FALSE(Match(f, e));
  f = Filter{};
  f.to_us = 1'000'000;
  EXPECT_FALSE(Match(f, e));
  f.to_us = 1'000'001;
  EXPECT_TRUE(Match(f, e));
  f.from_us = 999'999;
  EXPECT_TRUE(Match(f, e));
  // The time passed in is what counts, not the event's own fields.
  const CompiledFilter c = Compile(f);
  EXPECT_FALSE(Matches(c, e, 1'000'001));
  EXPECT_TRUE(Matches(c, e, 999'999));
}

TEST(MatchesTest, Clusters) {
  Filter f;
  f.clusters = {"staging", "prod"};
  EXPECT_TRUE(Match(f, BaseEvent()));
  f.clusters = {"staging"};
  EXPECT_FALSE(Match(f, BaseEvent()));
  f.clusters = {"pro"};
  EXPECT_FALSE(Match(f, BaseEvent()));
}

TEST(MatchesTest, UsersExactPrefixAndLoneStar) {
  EnvelopedEvent sa = BaseEvent();
  sa.mutable_event()->mutable_user()->set_username("system:serviceaccount:kube-system:coredns");
  EnvelopedEvent anonymous = BaseEvent();
  anonymous.mutable_event()->clear_user();

  Filter f;
  f.users = {"alice"};
  EXPECT_TRUE(Match(f, BaseEvent()));
  EXPECT_FALSE(Match(f, sa));
  f.users = {"ali"};
  EXPECT_FALSE(Match(f, BaseEvent()));
  f.users = {"ali*"};
  EXPECT_TRUE(Match(f, BaseEvent()));
  f.users = {"alice*"};  // a prefix matches the whole value too
  EXPECT_TRUE(Match(f, BaseEvent()));
  f.users = {"system:serviceaccount:kube-system:*"};
  EXPECT_TRUE(Match(f, sa));
  EXPECT_FALSE(Match(f, BaseEvent()));
  EXPECT_FALSE(Match(f, anonymous));
  f.users = {"bob", "system:serviceaccount:*"};
  EXPECT_TRUE(Match(f, sa));
  EXPECT_FALSE(Match(f, BaseEvent()));
  f.users = {"*"};
  EXPECT_TRUE(Match(f, BaseEvent()));
  EXPECT_TRUE(Match(f, sa));
  EXPECT_FALSE(Match(f, anonymous));
  EnvelopedEvent empty_name = BaseEvent();
  empty_name.mutable_event()->mutable_user()->set_username("");
  EXPECT_FALSE(Match(f, empty_name));
}

TEST(MatchesTest, ImpersonatedUsers) {
  EnvelopedEvent e = BaseEvent();
  e.mutable_event()->mutable_impersonated_user()->set_username("system:serviceaccount:ci:deployer");
  Filter f;
  f.impersonated_users = {"system:serviceaccount:ci:deployer"};
  EXPECT_TRUE(Match(f, e));
  EXPECT_FALSE(Match(f, BaseEvent()));
  f.impersonated_users = {"system:serviceaccount:*"};
  EXPECT_TRUE(Match(f, e));
  f.impersonated_users = {"*"};
  EXPECT_TRUE(Match(f, e));
  EXPECT_FALSE(Match(f, BaseEvent()));
  f.impersonated_users = {"alice"};  // the authenticated user is not the impersonated one
  EXPECT_FALSE(Match(f, BaseEvent()));
  EXPECT_FALSE(Match(f, e));
}

TEST(MatchesTest, Groups) {
  Filter f;
  f.groups = {"developers"};
  EXPECT_TRUE(Match(f, BaseEvent()));
  f.groups = {"sre", "system:authenticated"};
  EXPECT_TRUE(Match(f, BaseEvent()));
  f.groups = {"sre"};
  EXPECT_FALSE(Match(f, BaseEvent()));
  f.groups = {"develop"};
  EXPECT_FALSE(Match(f, BaseEvent()));
  EnvelopedEvent no_groups = BaseEvent();
  no_groups.mutable_event()->mutable_user()->clear_groups();
  f.groups = {"developers"};
  EXPECT_FALSE(Match(f, no_groups));
}

TEST(MatchesTest, Verbs) {
  Filter f;
  f.verbs = {"list", "get"};
  EXPECT_TRUE(Match(f, BaseEvent()));
  f.verbs = {"delete"};
  EXPECT_FALSE(Match(f, BaseEvent()));
  f.verbs = {"GET"};
  EXPECT_FALSE(Match(f, BaseEvent()));
}

TEST(MatchesTest, NamespacesWithEmptyForClusterScoped) {
  EnvelopedEvent node = WithResource("nodes", "", "");
  node.mutable_event()->mutable_object_ref()->clear_namespace_();
  EnvelopedEvent no_ref = BaseEvent();
  no_ref.mutable_event()->clear_object_ref();

  Filter f;
  f.namespaces = {"shop"};
  EXPECT_TRUE(Match(f, BaseEvent()));
  EXPECT_FALSE(Match(f, node));
  f.namespaces = {""};
  EXPECT_FALSE(Match(f, BaseEvent()));
  EXPECT_TRUE(Match(f, node));
  EXPECT_TRUE(Match(f, no_ref));
  f.namespaces = {"", "shop"};
  EXPECT_TRUE(Match(f, BaseEvent()));
  EXPECT_TRUE(Match(f, node));
  f.namespaces = {"sho"};
  EXPECT_FALSE(Match(f, BaseEvent()));
}

TEST(MatchesTest, ResourcePatterns) {
  const EnvelopedEvent pods = WithResource("pods", "", "");
  const EnvelopedEvent pods_log = WithResource("pods", "", "log");
  const EnvelopedEvent pods_status = WithResource("pods", "", "status");
  const EnvelopedEvent metrics_pods = WithResource("pods", "metrics.k8s.io", "");
  const EnvelopedEvent deployments = WithResource("deployments", "apps", "");
  const EnvelopedEvent deployments_scale = WithResource("deployments", "apps", "scale");
  const EnvelopedEvent deployments_status = WithResource("deployments", "apps", "status");
  const EnvelopedEvent ext_deployments = WithResource("deployments", "extensions", "");
  const EnvelopedEvent nodes = WithResource("nodes", "", "");
  EnvelopedEvent no_ref = BaseEvent();
  no_ref.mutable_event()->clear_object_ref();

  struct Case {
    const char* pattern;
    std::vector<const EnvelopedEvent*> matching;
  };
  const std::vector<const EnvelopedEvent*> all = {&pods,
                                                  &pods_log,
                                                  &pods_status,
                                                  &metrics_pods,
                                                  &deployments,
                                                  &deployments_scale,
                                                  &deployments_status,
                                                  &ext_deployments,
                                                  &nodes,
                                                  &no_ref};
  for (const Case& c : std::initializer_list<Case>{
           {"pods", {&pods, &metrics_pods}},
           {"pods/log", {&pods_log}},
           {"pods/*", {&pods, &pods_log, &pods_status, &metrics_pods}},
           {"*/status", {&pods_status, &deployments_status}},
           {"deployments.apps", {&deployments}},
           {"deployments.apps/scale", {&deployments_scale}},
           {"deployments.apps/*", {&deployments, &deployments_scale, &deployments_status}},
           {"deployments", {&deployments, &ext_deployments}},
           {"pods.metrics.k8s.io", {&metrics_pods}}}) {
    Filter f;
    f.resources = {c.pattern};
    for (const EnvelopedEvent* e : all) {
      const bool want = std::find(c.matching.begin(), c.matching.end(), e) != c.matching.end();
      EXPECT_EQ(Match(f, *e), want)
          << c.pattern << " vs " << e->event().object_ref().ShortDebugString();
    }
  }
  Filter both;
  both.resources = {"pods/log", "nodes"};
  EXPECT_TRUE(Match(both, pods_log));
  EXPECT_TRUE(Match(both, nodes));
  EXPECT_FALSE(Match(both, pods));
}

TEST(MatchesTest, ApiGroups) {
  Filter f;
  f.api_groups = {""};
  EXPECT_TRUE(Match(f, WithResource("pods", "", "")));
  EXPECT_FALSE(Match(f, WithResource("deployments", "apps", "")));
  f.api_groups = {"apps", "batch"};
  EXPECT_TRUE(Match(f, WithResource("deployments", "apps", "")));
  EXPECT_TRUE(Match(f, WithResource("jobs", "batch", "status")));
  EXPECT_FALSE(Match(f, WithResource("pods", "", "")));
}

TEST(MatchesTest, Names) {
  Filter f;
  f.names = {"web-1"};
  EXPECT_TRUE(Match(f, BaseEvent()));
  f.names = {"web"};
  EXPECT_FALSE(Match(f, BaseEvent()));
  f.names = {"db-0", "web-1"};
  EXPECT_TRUE(Match(f, BaseEvent()));
}

TEST(MatchesTest, CodesExactClassAndNoCode) {
  EnvelopedEvent forbidden = BaseEvent();
  forbidden.mutable_event()->mutable_response_status()->set_code(403);
  EnvelopedEvent received = BaseEvent();
  received.mutable_event()->set_stage("RequestReceived");
  received.mutable_event()->clear_response_status();
  EnvelopedEvent status_without_code = BaseEvent();
  status_without_code.mutable_event()->mutable_response_status()->clear_code();
  status_without_code.mutable_event()->mutable_response_status()->set_status("Success");

  Filter f;
  f.codes = {"200"};
  EXPECT_TRUE(Match(f, BaseEvent()));
  EXPECT_FALSE(Match(f, forbidden));
  EXPECT_FALSE(Match(f, received));
  f.codes = {"4xx"};
  EXPECT_TRUE(Match(f, forbidden));
  EXPECT_FALSE(Match(f, BaseEvent()));
  EXPECT_FALSE(Match(f, received));
  EXPECT_FALSE(Match(f, status_without_code));
  f.codes = {"2xx", "403"};
  EXPECT_TRUE(Match(f, forbidden));
  EXPECT_TRUE(Match(f, BaseEvent()));
  EXPECT_FALSE(Match(f, received));
  // Class bounds are inclusive.
  EnvelopedEvent e499 = BaseEvent();
  e499.mutable_event()->mutable_response_status()->set_code(499);
  EnvelopedEvent e500 = BaseEvent();
  e500.mutable_event()->mutable_response_status()->set_code(500);
  EnvelopedEvent e400 = BaseEvent();
  e400.mutable_event()->mutable_response_status()->set_code(400);
  f.codes = {"4xx"};
  EXPECT_TRUE(Match(f, e400));
  EXPECT_TRUE(Match(f, e499));
  EXPECT_FALSE(Match(f, e500));
  // No code filter: events without a code match.
  EXPECT_TRUE(Match(Filter{}, received));
}

TEST(MatchesTest, StagesAndLevels) {
  Filter f;
  f.stages = {"ResponseComplete"};
  EXPECT_TRUE(Match(f, BaseEvent()));
  f.stages = {"RequestReceived"};
  EXPECT_FALSE(Match(f, BaseEvent()));
  f = Filter{};
  f.levels = {"Metadata", "Request"};
  EXPECT_TRUE(Match(f, BaseEvent()));
  f.levels = {"RequestResponse"};
  EXPECT_FALSE(Match(f, BaseEvent()));
  f.levels = {"metadata"};
  EXPECT_FALSE(Match(f, BaseEvent()));
}

TEST(MatchesTest, AuditIds) {
  Filter f;
  f.audit_ids = {"6b1c1f0e-0000-4000-8000-000000000001"};
  EXPECT_TRUE(Match(f, BaseEvent()));
  f.audit_ids = {"6b1c1f0e"};
  EXPECT_FALSE(Match(f, BaseEvent()));
}

TEST(MatchesTest, SourceIps) {
  Filter f;
  f.source_ips = {"192.168.1.7"};
  EXPECT_TRUE(Match(f, BaseEvent()));
  f.source_ips = {"10.0.0.2", "10.0.0.1"};
  EXPECT_TRUE(Match(f, BaseEvent()));
  f.source_ips = {"10.0.0"};
  EXPECT_FALSE(Match(f, BaseEvent()));
  EnvelopedEvent none = BaseEvent();
  none.mutable_event()->clear_source_ips();
  f.source_ips = {"10.0.0.1"};
  EXPECT_FALSE(Match(f, none));
}

TEST(MatchesTest, UserAgentSubstringIsCaseSensitive) {
  Filter f;
  f.user_agent_substring = "kubectl/";
  EXPECT_TRUE(Match(f, BaseEvent()));
  f.user_agent_substring = "linux/amd64";
  EXPECT_TRUE(Match(f, BaseEvent()));
  f.user_agent_substring = "Kubectl";
  EXPECT_FALSE(Match(f, BaseEvent()));
  EnvelopedEvent none = BaseEvent();
  none.mutable_event()->clear_user_agent();
  f.user_agent_substring = "kubectl";
  EXPECT_FALSE(Match(f, none));
}

TEST(MatchesTest, FieldsCombineWithAnd) {
  Filter f;
  f.clusters = {"prod"};
  f.users = {"ali*"};
  f.verbs = {"get"};
  f.namespaces = {"shop"};
  f.resources = {"pods"};
  f.codes = {"2xx"};
  f.from_us = 0;
  f.to_us = 2'000'000;
  EXPECT_TRUE(Match(f, BaseEvent()));
  f.verbs = {"list"};
  EXPECT_FALSE(Match(f, BaseEvent()));
  f.verbs = {"get"};
  f.clusters = {"dev"};
  EXPECT_FALSE(Match(f, BaseEvent()));
}

// --- EventTimeMicros, ResourceKey, DimensionKey ---------------------------------------------

TEST(EventTimeMicrosTest, FallsBackFromReceivedToStageToEnvelope) {
  EnvelopedEvent e = BaseEvent();
  EXPECT_EQ(EventTimeMicros(e), 1'000'000);
  e.mutable_event()->clear_request_received_timestamp_us();
  EXPECT_EQ(EventTimeMicros(e), 1'000'200);
  e.mutable_event()->clear_stage_timestamp_us();
  EXPECT_EQ(EventTimeMicros(e), 1'000'500);
  e.mutable_event()->set_request_received_timestamp_us(0);  // present, even when zero
  EXPECT_EQ(EventTimeMicros(e), 0);
  e.mutable_event()->set_request_received_timestamp_us(-5);
  EXPECT_EQ(EventTimeMicros(e), -5);
  EXPECT_EQ(EventTimeMicros(EnvelopedEvent{}), 0);
}

TEST(ResourceKeyTest, Forms) {
  EXPECT_EQ(ResourceKey("pods", "", ""), "pods");
  EXPECT_EQ(ResourceKey("pods", "", "log"), "pods/log");
  EXPECT_EQ(ResourceKey("deployments", "apps", ""), "deployments.apps");
  EXPECT_EQ(ResourceKey("deployments", "apps", "scale"), "deployments.apps/scale");
  EXPECT_EQ(ResourceKey("", "", ""), "");
}

TEST(ResourceKeyTest, KeyAsPatternSelectsThatResource) {
  // Every resource key, used as a pattern, selects exactly events of that resource.
  const EnvelopedEvent events[] = {WithResource("pods", "", ""), WithResource("pods", "", "log"),
                                   WithResource("deployments", "apps", ""),
                                   WithResource("deployments", "apps", "scale")};
  for (const EnvelopedEvent& e : events) {
    const std::string key = DimensionKey(e, Dimension::kResource);
    Filter f;
    f.resources = {key};
    for (const EnvelopedEvent& other : events) {
      EXPECT_EQ(Match(f, other), DimensionKey(other, Dimension::kResource) == key) << key;
    }
  }
}

TEST(DimensionTest, KeysOfAnEvent) {
  EnvelopedEvent e = WithResource("deployments", "apps", "scale");
  e.mutable_event()->mutable_response_status()->set_code(409);
  EXPECT_EQ(DimensionKey(e, Dimension::kUser), "alice");
  EXPECT_EQ(DimensionKey(e, Dimension::kVerb), "get");
  EXPECT_EQ(DimensionKey(e, Dimension::kResource), "deployments.apps/scale");
  EXPECT_EQ(DimensionKey(e, Dimension::kNamespace), "shop");
  EXPECT_EQ(DimensionKey(e, Dimension::kCode), "409");
  EXPECT_EQ(DimensionKey(e, Dimension::kCluster), "prod");
}

TEST(DimensionTest, MissingFieldsGiveEmptyKeys) {
  EnvelopedEvent e;
  e.mutable_event()->set_audit_id("x");
  for (Dimension d : {Dimension::kUser, Dimension::kVerb, Dimension::kResource,
                      Dimension::kNamespace, Dimension::kCode, Dimension::kCluster}) {
    EXPECT_EQ(DimensionKey(e, d), "") << DimensionName(d);
  }
  // A code of 0 that is present is a key; an absent code is not.
  e.mutable_event()->mutable_response_status()->set_code(0);
  EXPECT_EQ(DimensionKey(e, Dimension::kCode), "0");
}

TEST(DimensionTest, NamesRoundTrip) {
  for (Dimension d : {Dimension::kUser, Dimension::kVerb, Dimension::kResource,
                      Dimension::kNamespace, Dimension::kCode, Dimension::kCluster}) {
    EXPECT_EQ(ParseDimension(DimensionName(d)), d);
  }
  EXPECT_EQ(DimensionName(Dimension::kNamespace), "namespace");
  EXPECT_EQ(ParseDimension("users"), std::nullopt);
  EXPECT_EQ(ParseDimension(""), std::nullopt);
  EXPECT_EQ(ParseDimension("User"), std::nullopt);
}

TEST(GranularityTest, Micros) {
  EXPECT_EQ(GranularityMicros(Granularity::kMinute), int64_t{60} * 1'000'000);
  EXPECT_EQ(GranularityMicros(Granularity::kHour), int64_t{3600} * 1'000'000);
  EXPECT_EQ(GranularityMicros(Granularity::kDay), int64_t{86400} * 1'000'000);
}

// --- Cursors --------------------------------------------------------------------------------

TEST(CursorTest, RoundTrip) {
  for (const internal::Cursor& c : std::initializer_list<internal::Cursor>{
           {Order::kAscending, 0, false, 0, 0},
           {Order::kDescending, 42, true, 1'793'491'200'000'000, 7},
           {Order::kAscending, ~uint64_t{0}, true, -1, ~uint64_t{0}},
           {Order::kDescending, 1, true, std::numeric_limits<int64_t>::min(), 1},
           {Order::kAscending, 5, true, std::numeric_limits<int64_t>::max(), 3}}) {
    const std::string text = internal::EncodeCursor(c);
    EXPECT_TRUE(text.rfind("kt1.", 0) == 0) << text;
    absl::StatusOr<internal::Cursor> back = internal::DecodeCursor(text);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->order, c.order);
    EXPECT_EQ(back->snapshot, c.snapshot);
    EXPECT_EQ(back->has_position, c.has_position);
    EXPECT_EQ(back->time_us, c.time_us);
    EXPECT_EQ(back->sequence, c.sequence);
    absl::StatusOr<uint64_t> snapshot = SnapshotSequence(text);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    EXPECT_EQ(*snapshot, c.snapshot);
  }
}

std::string Base64Url(std::string_view bin) {
  return "kt1." + absl::WebSafeBase64Escape(absl::string_view(bin.data(), bin.size()));
}

TEST(CursorTest, Malformed) {
  const std::string good = internal::EncodeCursor({Order::kAscending, 9, true, 100, 3});
  std::string bad_order(26, '\0');
  bad_order[0] = 'x';
  std::string bad_flag(26, '\0');
  bad_flag[0] = 'a';
  bad_flag[9] = 2;
  for (const std::string& bad : std::vector<std::string>{
           "", "kt1.", "kt2." + good.substr(4), good.substr(4), "KT1." + good.substr(4), "kt1.!!!!",
           good.substr(0, good.size() - 2), good + "AA", Base64Url(bad_order), Base64Url(bad_flag),
           Base64Url(std::string(25, 'a'))}) {
    SCOPED_TRACE(bad);
    absl::StatusOr<internal::Cursor> c = internal::DecodeCursor(bad);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(SnapshotSequence(bad).status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(CursorTest, StartCursor) {
  SearchRequest req;
  req.order = Order::kDescending;
  absl::StatusOr<internal::Cursor> fresh = internal::StartCursor(req, 17);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(fresh->order, Order::kDescending);
  EXPECT_EQ(fresh->snapshot, 17u);
  EXPECT_FALSE(fresh->has_position);

  req.cursor = internal::EncodeCursor({Order::kDescending, 5, true, 10, 2});
  absl::StatusOr<internal::Cursor> resumed = internal::StartCursor(req, 17);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->snapshot, 5u);  // the cursor's snapshot, not the store's
  EXPECT_TRUE(resumed->has_position);

  req.order = Order::kAscending;
  EXPECT_EQ(internal::StartCursor(req, 17).status().code(), absl::StatusCode::kInvalidArgument);
  req.cursor = "garbage";
  EXPECT_EQ(internal::StartCursor(req, 17).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CursorTest, AfterCursor) {
  const internal::Cursor fresh{Order::kAscending, 10, false, 0, 0};
  EXPECT_TRUE(internal::AfterCursor(fresh, -100, 1));
  EXPECT_TRUE(internal::AfterCursor(fresh, 100, 10));
  EXPECT_FALSE(internal::AfterCursor(fresh, 100, 11));  // beyond the snapshot

  const internal::Cursor asc{Order::kAscending, 10, true, 50, 4};
  EXPECT_TRUE(internal::AfterCursor(asc, 51, 1));
  EXPECT_TRUE(internal::AfterCursor(asc, 50, 5));
  EXPECT_FALSE(internal::AfterCursor(asc, 50, 4));
  EXPECT_FALSE(internal::AfterCursor(asc, 50, 3));
  EXPECT_FALSE(internal::AfterCursor(asc, 49, 9));
  EXPECT_FALSE(internal::AfterCursor(asc, 60, 11));

  const internal::Cursor desc{Order::kDescending, 10, true, 50, 4};
  EXPECT_TRUE(internal::AfterCursor(desc, 49, 9));
  EXPECT_TRUE(internal::AfterCursor(desc, 50, 3));
  EXPECT_FALSE(internal::AfterCursor(desc, 50, 4));
  EXPECT_FALSE(internal::AfterCursor(desc, 50, 5));
  EXPECT_FALSE(internal::AfterCursor(desc, 51, 1));
  EXPECT_FALSE(internal::AfterCursor(desc, 40, 11));
}

TEST(CursorTest, CheckLimit) {
  EXPECT_TRUE(internal::CheckLimit(1).ok());
  EXPECT_TRUE(internal::CheckLimit(kMaxSearchLimit).ok());
  EXPECT_EQ(internal::CheckLimit(0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(internal::CheckLimit(-1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(internal::CheckLimit(kMaxSearchLimit + 1).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kubetrail::storage
