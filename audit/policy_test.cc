// Tests of Policy::Compile and Policy::Evaluate against ../shared/docs/k8s-audit-semantics.md
// §4.1 (matching) and §9 (upstream quirks). Policies are built as PolicySpec structs directly, so
// these tests do not depend on the loader.
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "audit/policy.h"
#include "gtest/gtest.h"
#include "kubetrail/v1/event.pb.h"

namespace kubetrail::audit {
namespace {

using kubetrail::v1::Event;

// ---------------------------------------------------------------------------------------------
// Event builders.

struct Res {
  std::string verb = "get";
  std::string ns;
  std::string group;
  std::string resource = "pods";
  std::string sub;
  std::string name;

  // Fluent setters: Res().Verb("list").Resource("configmaps").
  Res Verb(std::string v) const { Res r = *this; r.verb = std::move(v); return r; }
  Res Ns(std::string v) const { Res r = *this; r.ns = std::move(v); return r; }
  Res Group(std::string v) const { Res r = *this; r.group = std::move(v); return r; }
  Res Resource(std::string v) const { Res r = *this; r.resource = std::move(v); return r; }
  Res Sub(std::string v) const { Res r = *this; r.sub = std::move(v); return r; }
  Res Name(std::string v) const { Res r = *this; r.name = std::move(v); return r; }
};

// A resource request (objectRef present) by user alice in group dev.
Event ResourceEvent(const Res& r) {
  Event e;
  e.set_stage("ResponseComplete");
  e.set_level("RequestResponse");
  e.set_verb(r.verb);
  e.mutable_user()->set_username("alice");
  e.mutable_user()->add_groups("dev");
  e.mutable_user()->add_groups("system:authenticated");
  auto* ref = e.mutable_object_ref();
  ref->set_resource(r.resource);
  if (!r.ns.empty()) ref->set_namespace_(r.ns);
  if (!r.group.empty()) ref->set_api_group(r.group);
  if (!r.sub.empty()) ref->set_subresource(r.sub);
  if (!r.name.empty()) ref->set_name(r.name);
  e.set_request_uri("/api/v1/" + r.resource);
  return e;
}

// A non-resource request (no objectRef) by alice.
Event NonResourceEvent(std::string_view uri, std::string_view verb = "get") {
  Event e;
  e.set_stage("ResponseComplete");
  e.set_level("Metadata");
  e.set_verb(std::string(verb));
  e.set_request_uri(std::string(uri));
  e.mutable_user()->set_username("alice");
  e.mutable_user()->add_groups("system:authenticated");
  return e;
}

Event WithUser(Event e, std::optional<std::string> name, std::vector<std::string> groups) {
  e.clear_user();
  auto* u = e.mutable_user();  // present but possibly empty, like `user: {}`
  if (name.has_value()) u->set_username(*name);
  for (const std::string& g : groups) u->add_groups(g);
  return e;
}

PolicyRuleSpec Rule(std::string level = "Metadata") {
  PolicyRuleSpec r;
  r.level = std::move(level);
  return r;
}

GroupResourcesSpec GR(std::string group, std::vector<std::string> resources,
                      std::vector<std::string> names = {}) {
  return GroupResourcesSpec{std::move(group), std::move(resources), std::move(names)};
}

// Compiles a one-rule policy and reports whether `event` matches it.
bool RuleMatches(const PolicyRuleSpec& rule, const Event& event) {
  PolicySpec spec;
  spec.rules.push_back(rule);
  absl::StatusOr<Policy> policy = Policy::Compile(spec);
  EXPECT_TRUE(policy.ok()) << policy.status();
  if (!policy.ok()) return false;
  return policy->Evaluate(event).rule == 0;
}

struct Case {
  std::string name;
  PolicyRuleSpec rule;
  Event event;
  bool match;
};

void RunCases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    EXPECT_EQ(RuleMatches(c.rule, c.event), c.match) << c.name;
  }
}

PolicyRuleSpec With(PolicyRuleSpec r, std::initializer_list<GroupResourcesSpec> gr) {
  r.resources = gr;
  return r;
}

// ---------------------------------------------------------------------------------------------
// §4.1 steps 1-3: users, userGroups, verbs.

TEST(PolicyEvaluateTest, UsersGroupsVerbs) {
  PolicyRuleSpec users = Rule();
  users.users = {"carol", "alice"};
  PolicyRuleSpec users_case = Rule();
  users_case.users = {"Alice"};
  PolicyRuleSpec groups = Rule();
  groups.user_groups = {"ops", "dev"};
  PolicyRuleSpec verbs = Rule();
  verbs.verbs = {"list", "get"};
  PolicyRuleSpec verbs_upper = Rule();
  verbs_upper.verbs = {"GET"};
  PolicyRuleSpec many_users = Rule();  // long enough for the sorted set
  for (int i = 0; i < 20; ++i) many_users.users.push_back("user" + std::to_string(i));
  many_users.users.push_back("alice");

  Event get = ResourceEvent(Res());
  Event no_user = WithUser(get, std::nullopt, {});
  Event groups_only = WithUser(get, std::nullopt, {"dev"});
  Event name_only = WithUser(get, "alice", {});
  Event impersonating = WithUser(get, "bob", {"ops-not"});
  impersonating.mutable_impersonated_user()->set_username("alice");
  impersonating.mutable_impersonated_user()->add_groups("dev");
  Event get_upper = ResourceEvent(Res().Verb("GET"));

  RunCases({
      {"users: listed", users, get, true},
      {"users: case-sensitive", users_case, get, false},
      {"users: sorted set", many_users, get, true},
      {"users: sorted set miss", many_users, impersonating, false},
      {"users: no user never matches", users, no_user, false},
      {"users: groups-only user has name \"\"", users, groups_only, false},
      {"users: username only", users, name_only, true},
      {"users: impersonated user is not used", users, impersonating, false},
      {"userGroups: one group listed", groups, get, true},
      {"userGroups: no user never matches", groups, no_user, false},
      {"userGroups: groups-only user", groups, groups_only, true},
      {"userGroups: user without groups", groups, name_only, false},
      {"userGroups: impersonated groups are not used", groups, impersonating, false},
      {"verbs: listed", verbs, get, true},
      {"verbs: exact case GET != get", verbs, get_upper, false},
      {"verbs: exact case get != GET", verbs_upper, get, false},
      {"verbs: GET listed", verbs_upper, get_upper, true},
      {"no restriction: no user matches", Rule(), no_user, true},
  });
}

// Absent `user` (no has_user at all) is also "no user".
TEST(PolicyEvaluateTest, AbsentUserMessage) {
  PolicyRuleSpec groups = Rule();
  groups.user_groups = {"dev"};
  Event e = ResourceEvent(Res());
  e.clear_user();
  EXPECT_FALSE(RuleMatches(groups, e));
  PolicyRuleSpec users = Rule();
  users.users = {""};
  EXPECT_FALSE(RuleMatches(users, e));
  // `user: {}` (failed authentication) is no user either, even for users: [""].
  EXPECT_FALSE(RuleMatches(users, WithUser(e, std::nullopt, {})));
  // An empty username counts as none: `{"username":""}` is no user.
  EXPECT_FALSE(RuleMatches(users, WithUser(e, std::string(""), {})));
  // With only groups the user is present and its name is "".
  EXPECT_TRUE(RuleMatches(users, WithUser(e, std::nullopt, {"g"})));
}

// ---------------------------------------------------------------------------------------------
// §4.1 resource check.

TEST(PolicyEvaluateTest, Namespaces) {
  PolicyRuleSpec ns = Rule();
  ns.namespaces = {"kube-system", "default"};
  PolicyRuleSpec cluster = Rule();
  cluster.namespaces = {""};
  RunCases({
      {"namespace listed", ns, ResourceEvent(Res().Ns("default")), true},
      {"namespace not listed", ns, ResourceEvent(Res().Ns("other")), false},
      {"cluster-scoped vs named list", ns, ResourceEvent(Res().Resource("nodes")), false},
      {"\"\" matches cluster-scoped", cluster, ResourceEvent(Res().Resource("nodes")), true},
      {"\"\" matches all-namespace list", cluster, ResourceEvent(Res().Verb("list")), true},
      {"\"\" does not match namespaced", cluster, ResourceEvent(Res().Ns("default")), false},
      {"namespaces never match non-resource", cluster, NonResourceEvent("/healthz"), false},
      {"namespaces + nonResourceURLs: resource side only (non-resource)",
       [] {
         PolicyRuleSpec r = Rule();
         r.namespaces = {""};
         r.non_resource_urls = {"*"};
         return r;
       }(),
       NonResourceEvent("/healthz"), false},
  });
}

TEST(PolicyEvaluateTest, Groups) {
  PolicyRuleSpec core = With(Rule(), {GR("", {"pods"})});
  PolicyRuleSpec apps = With(Rule(), {GR("apps", {"deployments"})});
  PolicyRuleSpec any = With(Rule(), {GR("*", {"deployments"})});
  PolicyRuleSpec core_all = With(Rule(), {GR("", {})});
  PolicyRuleSpec two = With(Rule(), {GR("apps", {"pods"}), GR("", {"pods"})});
  Event pods = ResourceEvent(Res());
  Event deploy = ResourceEvent(Res().Group("apps").Resource("deployments"));
  Event ext_deploy = ResourceEvent(Res().Group("extensions").Resource("deployments"));
  Event core_deploy = ResourceEvent(Res().Resource("deployments"));
  RunCases({
      {"group \"\" matches core", core, pods, true},
      {"group \"\" does not match apps", core,
       ResourceEvent(Res().Group("apps").Resource("pods")), false},
      {"named group", apps, deploy, true},
      {"named group other group", apps, ext_deploy, false},
      {"named group vs core", apps, core_deploy, false},
      {"group * matches named", any, ext_deploy, true},
      {"group * matches core", any, core_deploy, true},
      {"empty resources: everything in the group", core_all,
       ResourceEvent(Res().Resource("secrets").Sub("x")), true},
      {"empty resources: not other groups", core_all, deploy, false},
      {"empty resources: no resource side for non-resource", core_all,
       NonResourceEvent("/api"), false},
      {"second entry matches", two, pods, true},
      {"resources never match non-resource", core, NonResourceEvent("/api/v1/pods"), false},
  });
}

TEST(PolicyEvaluateTest, ResourcePatterns) {
  auto P = [](std::vector<std::string> patterns) { return With(Rule(), {GR("", patterns)}); };
  Event pods = ResourceEvent(Res());
  Event pods_log = ResourceEvent(Res().Resource("pods").Sub("log"));
  Event pods_status = ResourceEvent(Res().Resource("pods").Sub("status"));
  Event nodes_status = ResourceEvent(Res().Resource("nodes").Sub("status"));
  Event podsx = ResourceEvent(Res().Resource("podsx"));
  RunCases({
      {"pods: pods", P({"pods"}), pods, true},
      {"pods: not pods/log", P({"pods"}), pods_log, false},
      {"pods: not podsx", P({"pods"}), podsx, false},
      {"pods/log: pods/log", P({"pods/log"}), pods_log, true},
      {"pods/log: not pods", P({"pods/log"}), pods, false},
      {"pods/log: not pods/status", P({"pods/log"}), pods_status, false},
      {"pods/log: not nodes/log", P({"pods/log"}),
       ResourceEvent(Res().Resource("nodes").Sub("log")), false},
      {"pods/log,pods/status", P({"pods/log", "pods/status"}), pods_status, true},
      {"*: pods", P({"*"}), pods, true},
      {"*: pods/log", P({"*"}), pods_log, true},
      {"*/status: pods/status", P({"*/status"}), pods_status, true},
      {"*/status: nodes/status", P({"*/status"}), nodes_status, true},
      {"*/status: not pods", P({"*/status"}), pods, false},
      {"*/status: not pods/log", P({"*/status"}), pods_log, false},
      {"*/: never (no empty subresource)", P({"*/"}), pods, false},
      {"pods/*: pods/log", P({"pods/*"}), pods_log, true},
      {"pods/*: bare pods (quirk §9.1)", P({"pods/*"}), pods, true},
      {"pods/*: not nodes/status", P({"pods/*"}), nodes_status, false},
      {"pods/*: not podsx", P({"pods/*"}), podsx, false},
      // Upstream trims with strings.TrimLeft(p, "*/") / strings.TrimRight(p, "/*").
      {"pods/**: not pods/log (does not end in \"/*\")", P({"pods/**"}), pods_log, false},
      {"pods//*: bare pods (TrimRight)", P({"pods//*"}), pods, true},
      {"*//log: pods/log (TrimLeft)", P({"*//log"}), pods_log, true},
      {"pods/log pattern vs resource with slash", P({"pods/log"}),
       ResourceEvent(Res().Resource("pods/log")), true},
  });
}

TEST(PolicyEvaluateTest, ResourceNames) {
  PolicyRuleSpec named = With(Rule(), {GR("", {"configmaps"}, {"leader", "other"})});
  PolicyRuleSpec named_empty = With(Rule(), {GR("", {"configmaps"}, {""})});
  PolicyRuleSpec names_no_resources = With(Rule(), {GR("", {}, {"leader"})});
  RunCases({
      {"name listed", named, ResourceEvent(Res().Resource("configmaps").Name("leader")), true},
      {"name not listed", named, ResourceEvent(Res().Resource("configmaps").Name("x")), false},
      {"list has no name", named, ResourceEvent(Res().Verb("list").Resource("configmaps")),
       false},
      {"create has no name", named, ResourceEvent(Res().Verb("create").Resource("configmaps")),
       false},
      // Upstream checks hasString(resourceNames, name) and a request without a name has name
      // "": it matches an entry that lists "" (the shorthand of §9.6 does not cover this).
      {"no name matches an entry that lists \"\"", named_empty,
       ResourceEvent(Res().Verb("list").Resource("configmaps")), true},
      {"a name does not match an entry that lists only \"\"", named_empty,
       ResourceEvent(Res().Resource("configmaps").Name("x")), false},
      {"name listed, other resource", named,
       ResourceEvent(Res().Resource("secrets").Name("leader")), false},
      {"resourceNames ignored when resources empty (§9.5)", names_no_resources,
       ResourceEvent(Res().Resource("secrets").Name("x")), true},
  });
}

// ---------------------------------------------------------------------------------------------
// §4.1 non-resource check and scope.

TEST(PolicyEvaluateTest, NonResourceUrls) {
  auto U = [](std::vector<std::string> urls) {
    PolicyRuleSpec r = Rule();
    r.non_resource_urls = std::move(urls);
    return r;
  };
  RunCases({
      {"*: any path", U({"*"}), NonResourceEvent("/anything/at/all"), true},
      {"*: never resource requests", U({"*"}), ResourceEvent(Res()), false},
      {"exact", U({"/healthz"}), NonResourceEvent("/healthz"), true},
      {"exact: not a prefix", U({"/healthz"}), NonResourceEvent("/healthz/etcd"), false},
      {"exact: query stripped", U({"/healthz"}), NonResourceEvent("/healthz?verbose=1"), true},
      {"exact: case-sensitive", U({"/healthz"}), NonResourceEvent("/HEALTHZ"), false},
      {"/logs*: /logs", U({"/logs*"}), NonResourceEvent("/logs"), true},
      {"/logs*: /logs/x", U({"/logs*"}), NonResourceEvent("/logs/x"), true},
      {"/logs*: /logsfoo (quirk §9.2)", U({"/logs*"}), NonResourceEvent("/logsfoo"), true},
      {"/logs*: not /log", U({"/logs*"}), NonResourceEvent("/log"), false},
      {"/logs/*: not /logs", U({"/logs/*"}), NonResourceEvent("/logs"), false},
      {"/api*: query not part of path", U({"/api*"}), NonResourceEvent("/x?/api"), false},
      {"/version: second spec", U({"/api*", "/version"}), NonResourceEvent("/version"), true},
      {"/a**: trailing stars stripped", U({"/a**"}), NonResourceEvent("/ab"), true},
      {"empty path vs /", U({"/"}), NonResourceEvent(""), false},
  });
}

TEST(PolicyEvaluateTest, RuleWithNothingMatchesBoth) {
  EXPECT_TRUE(RuleMatches(Rule(), ResourceEvent(Res())));
  EXPECT_TRUE(RuleMatches(Rule(), NonResourceEvent("/healthz")));
  PolicyRuleSpec verbs = Rule();
  verbs.verbs = {"get"};
  EXPECT_TRUE(RuleMatches(verbs, NonResourceEvent("/healthz")));
  EXPECT_FALSE(RuleMatches(verbs, NonResourceEvent("/healthz", "post")));
}

// §9.4: resources + nonResourceURLs (only possible when validation is bypassed) evaluates only
// the resource side.
TEST(PolicyEvaluateTest, ResourcesWinOverNonResourceUrls) {
  PolicyRuleSpec r = With(Rule(), {GR("", {"pods"})});
  r.non_resource_urls = {"*"};
  EXPECT_TRUE(RuleMatches(r, ResourceEvent(Res())));
  EXPECT_FALSE(RuleMatches(r, ResourceEvent(Res().Resource("nodes"))));
  EXPECT_FALSE(RuleMatches(r, NonResourceEvent("/healthz")));
}

// ---------------------------------------------------------------------------------------------
// Results.

TEST(PolicyEvaluateTest, FirstMatchWins) {
  PolicySpec spec;
  spec.rules.push_back(With(Rule("None"), {GR("", {"secrets"})}));
  spec.rules.push_back(With(Rule("RequestResponse"), {GR("", {"pods"})}));
  spec.rules.push_back(Rule("Request"));
  spec.rules.push_back(With(Rule("Metadata"), {GR("", {"pods"})}));
  absl::StatusOr<Policy> policy = Policy::Compile(spec);
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ(policy->rule_count(), 4u);
  PolicyDecision d = policy->Evaluate(ResourceEvent(Res()));
  EXPECT_EQ(d.rule, 1);
  EXPECT_EQ(d.level, Level::kRequestResponse);
  d = policy->Evaluate(ResourceEvent(Res().Resource("secrets")));
  EXPECT_EQ(d.rule, 0);
  EXPECT_EQ(d.level, Level::kNone);
  d = policy->Evaluate(NonResourceEvent("/healthz"));
  EXPECT_EQ(d.rule, 2);
  EXPECT_EQ(d.level, Level::kRequest);
}

TEST(PolicyEvaluateTest, NoMatchUsesPolicyDefaults) {
  PolicySpec spec;
  spec.omit_stages = {"RequestReceived", "Panic"};
  spec.omit_managed_fields = true;
  PolicyRuleSpec r = With(Rule("Metadata"), {GR("", {"pods"})});
  r.omit_stages = {"ResponseStarted"};
  spec.rules.push_back(r);
  absl::StatusOr<Policy> policy = Policy::Compile(spec);
  ASSERT_TRUE(policy.ok()) << policy.status();
  PolicyDecision d = policy->Evaluate(NonResourceEvent("/healthz"));
  EXPECT_EQ(d.rule, -1);
  EXPECT_EQ(d.level, Level::kNone);
  EXPECT_EQ(d.omit_stages, StageBit(Stage::kRequestReceived) | StageBit(Stage::kPanic));
  EXPECT_TRUE(d.omit_managed_fields);
}

TEST(PolicyEvaluateTest, OmitStagesUnion) {
  PolicySpec spec;
  spec.omit_stages = {"RequestReceived"};
  PolicyRuleSpec r = Rule("Request");
  r.omit_stages = {"ResponseStarted", "RequestReceived"};  // duplicates are fine
  spec.rules.push_back(r);
  absl::StatusOr<Policy> policy = Policy::Compile(spec);
  ASSERT_TRUE(policy.ok()) << policy.status();
  PolicyDecision d = policy->Evaluate(ResourceEvent(Res()));
  EXPECT_EQ(d.omit_stages,
            StageBit(Stage::kRequestReceived) | StageBit(Stage::kResponseStarted));
  EXPECT_EQ(d.level, Level::kRequest);
}

TEST(PolicyEvaluateTest, OmitManagedFieldsOverride) {
  for (bool policy_value : {false, true}) {
    for (std::optional<bool> rule_value : {std::optional<bool>(), std::optional<bool>(false),
                                           std::optional<bool>(true)}) {
      PolicySpec spec;
      spec.omit_managed_fields = policy_value;
      PolicyRuleSpec r = Rule();
      r.omit_managed_fields = rule_value;
      spec.rules.push_back(r);
      absl::StatusOr<Policy> policy = Policy::Compile(spec);
      ASSERT_TRUE(policy.ok()) << policy.status();
      EXPECT_EQ(policy->Evaluate(ResourceEvent(Res())).omit_managed_fields,
                rule_value.value_or(policy_value))
          << policy_value << " " << rule_value.has_value();
    }
  }
}

TEST(PolicyCompileTest, RejectsBadLevelsAndStages) {
  PolicySpec bad_level;
  bad_level.rules.push_back(Rule("metadata"));
  EXPECT_EQ(Policy::Compile(bad_level).status().code(), absl::StatusCode::kInvalidArgument);
  PolicySpec empty_level;
  empty_level.rules.push_back(Rule(""));
  EXPECT_EQ(Policy::Compile(empty_level).status().code(), absl::StatusCode::kInvalidArgument);
  PolicySpec bad_rule_stage;
  bad_rule_stage.rules.push_back(Rule());
  bad_rule_stage.rules[0].omit_stages = {"requestReceived"};
  EXPECT_EQ(Policy::Compile(bad_rule_stage).status().code(),
            absl::StatusCode::kInvalidArgument);
  PolicySpec bad_policy_stage;
  bad_policy_stage.rules.push_back(Rule());
  bad_policy_stage.omit_stages = {"Done"};
  EXPECT_EQ(Policy::Compile(bad_policy_stage).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Compile is not the loader: zero rules compile (everything evaluates to None).
  absl::StatusOr<Policy> none = Policy::Compile(PolicySpec{});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->Evaluate(ResourceEvent(Res())).level, Level::kNone);
}

TEST(PolicyCompileTest, MoveKeepsRules) {
  PolicySpec spec;
  spec.rules.push_back(Rule("Request"));
  absl::StatusOr<Policy> policy = Policy::Compile(spec);
  ASSERT_TRUE(policy.ok());
  Policy moved = std::move(*policy);
  EXPECT_EQ(moved.rule_count(), 1u);
  EXPECT_EQ(moved.Evaluate(ResourceEvent(Res())).level, Level::kRequest);
}

}  // namespace
}  // namespace kubetrail::audit
