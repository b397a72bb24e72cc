// Tests of ParsePolicy / LoadPolicyFile: decoding (YAML and JSON), upstream's validation with
// paths and lines, strict vs lenient handling of unknown and duplicate fields, the loader's
// apiVersion/kind and "at least one rule" checks, and file errors.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_split.h"
#include "audit/policy.h"
#include "common/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kubetrail::audit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// The example policy of the Kubernetes auditing documentation (tasks/debug/debug-cluster/audit).
constexpr std::string_view kDocsExample = R"(apiVersion: audit.k8s.io/v1 # This is required.
kind: Policy
# Don't generate audit events for all requests in RequestReceived stage.
omitStages:
  - "RequestReceived"
rules:
  # Log pod changes at RequestResponse level
  - level: RequestResponse
    resources:
    - group: ""
      # Resource "pods" doesn't match requests to any subresource of pods,
      # which is consistent with the RBAC policy.
      resources: ["pods"]
  # Log "pods/log", "pods/status" at Metadata level
  - level: Metadata
    resources:
    - group: ""
      resources: ["pods/log", "pods/status"]

  # Don't log requests to a configmap called "controller-leader"
  - level: None
    resources:
    - group: ""
      resources: ["configmaps"]
      resourceNames: ["controller-leader"]

  # Don't log watch requests by the "system:kube-proxy" on endpoints or services
  - level: None
    users: ["system:kube-proxy"]
    verbs: ["watch"]
    resources:
    - group: "" # core API group
      resources: ["endpoints", "services"]

  # Don't log authenticated requests to certain non-resource URL paths.
  - level: None
    userGroups: ["system:authenticated"]
    nonResourceURLs:
    - "/api*" # Wildcard matching.
    - "/version"

  # Log the request body of configmap changes in kube-system.
  - level: Request
    resources:
    - group: "" # core API group
      resources: ["configmaps"]
    # This rule only applies to resources in the "kube-system" namespace.
    # The empty string "" can be used to select non-namespaced resources.
    namespaces: ["kube-system"]

  # Log configmap and secret changes in all other namespaces at the Metadata level.
  - level: Metadata
    resources:
    - group: "" # core API group
      resources: ["secrets", "configmaps"]
    - group: "authentication.k8s.io"
      resources: ["tokenreviews"]

  # Log all other resources in core and extensions at the Request level.
  - level: Request
    resources:
    - group: "" # core API group
    - group: "extensions" # Version of group should NOT be included.

  # A catch-all rule to log all other requests at the Metadata level.
  - level: Metadata
    # Long-running requests like watches that fall under this rule will not
    # generate an audit event in RequestReceived.
    omitStages:
      - "RequestReceived"
)";

// The same policy as JSON.
constexpr std::string_view kDocsExampleJson = R"({
  "apiVersion": "audit.k8s.io/v1",
  "kind": "Policy",
  "omitStages": ["RequestReceived"],
  "rules": [
    {"level": "RequestResponse", "resources": [{"group": "", "resources": ["pods"]}]},
    {"level": "Metadata", "resources": [{"group": "", "resources": ["pods/log", "pods/status"]}]},
    {"level": "None", "resources": [{"group": "", "resources": ["configmaps"],
                                     "resourceNames": ["controller-leader"]}]},
    {"level": "None", "users": ["system:kube-proxy"], "verbs": ["watch"],
     "resources": [{"group": "", "resources": ["endpoints", "services"]}]},
    {"level": "None", "userGroups": ["system:authenticated"],
     "nonResourceURLs": ["/api*", "/version"]},
    {"level": "Request", "resources": [{"group": "", "resources": ["configmaps"]}],
     "namespaces": ["kube-system"]},
    {"level": "Metadata", "resources": [{"group": "", "resources": ["secrets", "configmaps"]},
                                        {"group": "authentication.k8s.io",
                                         "resources": ["tokenreviews"]}]},
    {"level": "Request", "resources": [{"group": ""}, {"group": "extensions"}]},
    {"level": "Metadata", "omitStages": ["RequestReceived"]}
  ]
})";

constexpr std::string_view kHeader = "apiVersion: audit.k8s.io/v1\nkind: Policy\n";

// The message of `status` as a std::string (Debian's absl::string_view is not std's).
std::string Message(const absl::Status& status) { return std::string(ToStd(status.message())); }

absl::StatusOr<PolicySpec> Parse(std::string_view text, bool strict = false,
                                 std::vector<PolicyWarning>* warnings = nullptr) {
  PolicyLoadOptions options;
  options.strict = strict;
  return ParsePolicy(text, options, warnings);
}

// The error lines of a failed parse (empty when the parse succeeded).
std::vector<std::string> Errors(std::string_view text, bool strict = false) {
  absl::StatusOr<PolicySpec> spec = Parse(text, strict);
  if (spec.ok()) return {};
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument) << spec.status();
  return absl::StrSplit(spec.status().message(), '\n');
}

// The single error of a document made of kHeader + `body`.
std::string OnlyError(std::string_view body) {
  std::vector<std::string> errors = Errors(Cat(kHeader, body));
  EXPECT_EQ(errors.size(), 1u) << testing::PrintToString(errors);
  return errors.empty() ? "" : errors.front();
}

// Checks the decoded docs example (lines are checked by the YAML test only).
void ExpectDocsExample(const PolicySpec& spec) {
  EXPECT_THAT(spec.omit_stages, ElementsAre("RequestReceived"));
  EXPECT_FALSE(spec.omit_managed_fields);
  ASSERT_EQ(spec.rules.size(), 9u);
  const auto& r = spec.rules;
  EXPECT_EQ(r[0].level, "RequestResponse");
  ASSERT_EQ(r[0].resources.size(), 1u);
  EXPECT_EQ(r[0].resources[0].group, "");
  EXPECT_THAT(r[0].resources[0].resources, ElementsAre("pods"));
  EXPECT_THAT(r[0].resources[0].resource_names, IsEmpty());

  EXPECT_EQ(r[1].level, "Metadata");
  ASSERT_EQ(r[1].resources.size(), 1u);
  EXPECT_THAT(r[1].resources[0].resources, ElementsAre("pods/log", "pods/status"));

  EXPECT_EQ(r[2].level, "None");
  ASSERT_EQ(r[2].resources.size(), 1u);
  EXPECT_THAT(r[2].resources[0].resources, ElementsAre("configmaps"));
  EXPECT_THAT(r[2].resources[0].resource_names, ElementsAre("controller-leader"));

  EXPECT_EQ(r[3].level, "None");
  EXPECT_THAT(r[3].users, ElementsAre("system:kube-proxy"));
  EXPECT_THAT(r[3].verbs, ElementsAre("watch"));
  ASSERT_EQ(r[3].resources.size(), 1u);
  EXPECT_THAT(r[3].resources[0].resources, ElementsAre("endpoints", "services"));

  EXPECT_EQ(r[4].level, "None");
  EXPECT_THAT(r[4].user_groups, ElementsAre("system:authenticated"));
  EXPECT_THAT(r[4].non_resource_urls, ElementsAre("/api*", "/version"));
  EXPECT_THAT(r[4].resources, IsEmpty());

  EXPECT_EQ(r[5].level, "Request");
  EXPECT_THAT(r[5].namespaces, ElementsAre("kube-system"));
  ASSERT_EQ(r[5].resources.size(), 1u);
  EXPECT_THAT(r[5].resources[0].resources, ElementsAre("configmaps"));

  EXPECT_EQ(r[6].level, "Metadata");
  ASSERT_EQ(r[6].resources.size(), 2u);
  EXPECT_THAT(r[6].resources[0].resources, ElementsAre("secrets", "configmaps"));
  EXPECT_EQ(r[6].resources[1].group, "authentication.k8s.io");
  EXPECT_THAT(r[6].resources[1].resources, ElementsAre("tokenreviews"));

  EXPECT_EQ(r[7].level, "Request");
  ASSERT_EQ(r[7].resources.size(), 2u);
  EXPECT_EQ(r[7].resources[0].group, "");
  EXPECT_THAT(r[7].resources[0].resources, IsEmpty());
  EXPECT_EQ(r[7].resources[1].group, "extensions");

  EXPECT_EQ(r[8].level, "Metadata");
  EXPECT_THAT(r[8].omit_stages, ElementsAre("RequestReceived"));
  EXPECT_THAT(r[8].resources, IsEmpty());
  EXPECT_THAT(r[8].non_resource_urls, IsEmpty());

  for (const PolicyRuleSpec& rule : r) EXPECT_FALSE(rule.omit_managed_fields.has_value());
}

TEST(ParsePolicyTest, DocsExampleYaml) {
  std::vector<PolicyWarning> warnings;
  absl::StatusOr<PolicySpec> spec = Parse(kDocsExample, /*strict=*/true, &warnings);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_THAT(warnings, IsEmpty());
  ExpectDocsExample(*spec);
  std::vector<int> lines;
  for (const PolicyRuleSpec& rule : spec->rules) lines.push_back(rule.line);
  EXPECT_THAT(lines, ElementsAre(8, 15, 21, 28, 36, 43, 52, 60, 66));
}

TEST(ParsePolicyTest, DocsExampleJson) {
  absl::StatusOr<PolicySpec> spec = Parse(kDocsExampleJson, /*strict=*/true);
  ASSERT_TRUE(spec.ok()) << spec.status();
  ExpectDocsExample(*spec);
  EXPECT_EQ(spec->rules[0].line, 6);
  EXPECT_EQ(spec->rules[8].line, 20);
}

TEST(ParsePolicyTest, MinimalPolicyAndWildcardsThatValidate) {
  absl::StatusOr<PolicySpec> spec = Parse(Cat(kHeader, R"(rules:
- level: Metadata
  nonResourceURLs: ["*", "/logs*", "/healthz"]
- level: Request
  resources:
  - group: "*"
    resources: ["*", "pods/*", "*/scale"]
  - group: apps
  - group: rbac.authorization.k8s.io
  - group: a-b.c0
    resources: [deployments]
    resourceNames: [web]
)"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_EQ(spec->rules.size(), 2u);
  EXPECT_THAT(spec->rules[0].non_resource_urls, ElementsAre("*", "/logs*", "/healthz"));
  ASSERT_EQ(spec->rules[1].resources.size(), 4u);
  EXPECT_EQ(spec->rules[1].resources[0].group, "*");
  EXPECT_THAT(spec->rules[1].resources[3].resource_names, ElementsAre("web"));
}

// --- validation (§4.2): one failing case per rule, with path and line ---------------------

TEST(ValidationTest, LevelRequiredWhenMissing) {
  EXPECT_EQ(OnlyError("rules:\n- users: [alice]\n"), "rules[0].level: Required value (line 4)");
}

TEST(ValidationTest, LevelRequiredWhenEmptyOrNull) {
  EXPECT_EQ(OnlyError("rules:\n- level: \"\"\n"), "rules[0].level: Required value (line 4)");
  EXPECT_EQ(OnlyError("rules:\n- level:\n  verbs: [get]\n"),
            "rules[0].level: Required value (line 4)");
  EXPECT_EQ(OnlyError("rules:\n- level: ~\n"), "rules[0].level: Required value (line 4)");
}

TEST(ValidationTest, LevelUnsupported) {
  EXPECT_EQ(OnlyError("rules:\n- level: Metadata\n- level: metadata\n"),
            "rules[1].level: Unsupported value: \"metadata\": supported values: \"None\", "
            "\"Metadata\", \"Request\", \"RequestResponse\" (line 5)");
}

TEST(ValidationTest, RuleOmitStagesUnknown) {
  EXPECT_EQ(OnlyError("rules:\n- level: None\n  omitStages:\n  - ResponseStarted\n"
                      "  - requestReceived\n"),
            "rules[0].omitStages[1]: Invalid value: \"requestReceived\": allowed stages are "
            "RequestReceived,ResponseStarted,ResponseComplete,Panic (line 7)");
}

TEST(ValidationTest, PolicyOmitStagesUnknown) {
  EXPECT_EQ(OnlyError("omitStages: [Panic, Done]\nrules:\n- level: None\n"),
            "omitStages[1]: Invalid value: \"Done\": allowed stages are "
            "RequestReceived,ResponseStarted,ResponseComplete,Panic (line 3)");
}

TEST(ValidationTest, NonResourceUrlMustStartWithSlash) {
  EXPECT_EQ(OnlyError("rules:\n- level: None\n  nonResourceURLs:\n  - /ok\n  - logs\n"),
            "rules[0].nonResourceURLs[1]: Invalid value: \"logs\": must start with \"/\" "
            "(line 7)");
}

TEST(ValidationTest, NonResourceUrlEmptyIsInvalid) {
  EXPECT_EQ(OnlyError("rules:\n- level: None\n  nonResourceURLs: [\"\"]\n"),
            "rules[0].nonResourceURLs[0]: Invalid value: \"\": must start with \"/\" (line 5)");
}

TEST(ValidationTest, NonResourceUrlWildcardOnlyLast) {
  EXPECT_THAT(
      Errors(Cat(kHeader,
                 "rules:\n- level: None\n  nonResourceURLs:\n  - /logs/*/*\n"
                 "  - /logs/*.log\n  - /*\n")),
      ElementsAre("rules[0].nonResourceURLs[0]: Invalid value: \"/logs/*/*\": non-resource URL "
                  "wildcards '*' must be the final character of the rule (line 6)",
                  "rules[0].nonResourceURLs[1]: Invalid value: \"/logs/*.log\": non-resource "
                  "URL wildcards '*' must be the final character of the rule (line 7)"));
}

TEST(ValidationTest, NonResourceUrlWithoutSlashAndWithInnerWildcardGivesBoth) {
  EXPECT_THAT(Errors(Cat(kHeader, "rules:\n- level: None\n  nonResourceURLs: [\"a*b\"]\n")),
              ElementsAre(HasSubstr("must start with \"/\" (line 5)"),
                          HasSubstr("must be the final character of the rule (line 5)")));
}

TEST(ValidationTest, NonResourceUrlsWithResources) {
  EXPECT_EQ(OnlyError("rules:\n- level: None\n  resources:\n  - group: \"\"\n"
                      "  nonResourceURLs: [/metrics]\n"),
            "rules[0].nonResourceURLs: Invalid value: []string{\"/metrics\"}: rules cannot "
            "apply to both regular resources and non-resource URLs (line 7)");
}

TEST(ValidationTest, NonResourceUrlsWithNamespaces) {
  EXPECT_EQ(OnlyError("rules:\n- level: None\n  nonResourceURLs: [/metrics, /healthz]\n"
                      "  namespaces: [\"\"]\n"),
            "rules[0].nonResourceURLs: Invalid value: []string{\"/metrics\", \"/healthz\"}: "
            "rules cannot apply to both regular resources and non-resource URLs (line 5)");
}

TEST(ValidationTest, GroupWithVersionIsNotADnsSubdomain) {
  EXPECT_THAT(OnlyError("rules:\n- level: None\n  resources:\n  - group: \"\"\n"
                        "  - group: rbac.authorization.k8s.io/v1beta1\n"),
              ::testing::StartsWith("rules[0].resources[1].group: Invalid value: "
                                    "\"rbac.authorization.k8s.io/v1beta1\": a lowercase RFC 1123 "
                                    "subdomain must consist of"));
  EXPECT_THAT(OnlyError("rules:\n- level: None\n  resources:\n  - group: \"\"\n"
                        "  - group: rbac.authorization.k8s.io/v1beta1\n"),
              ::testing::EndsWith("(line 7)"));
}

TEST(ValidationTest, GroupDnsSubdomainRules) {
  auto group_error = [](std::string_view group) {
    return Errors(
        Cat(kHeader, "rules:\n- level: None\n  resources:\n  - group: \"", group, "\"\n"));
  };
  for (std::string_view bad :
       {"Apps", "-apps", "apps-", "apps.", ".apps", "a..b", "a_b", "apps/v1", " apps"}) {
    std::vector<std::string> errors = group_error(bad);
    ASSERT_EQ(errors.size(), 1u) << bad;
    EXPECT_THAT(errors[0], HasSubstr("rules[0].resources[0].group: Invalid value: "));
    EXPECT_THAT(errors[0], HasSubstr("RFC 1123 subdomain"));
    EXPECT_THAT(errors[0], HasSubstr("(line 6)"));
  }
  for (std::string_view good : {"apps", "a", "0", "x-1.y-2", "storage.k8s.io", "*"}) {
    EXPECT_THAT(group_error(good), IsEmpty()) << good;
  }
  // Length limits: 253 characters overall, 63 per label.
  const std::string label63(63, 'a');
  const std::string ok253 = Cat(label63, ".", label63, ".", label63, ".", std::string(61, 'b'));
  ASSERT_EQ(ok253.size(), 253u);
  EXPECT_THAT(group_error(ok253), IsEmpty());
  EXPECT_THAT(group_error(Cat(ok253, "c")),
              ElementsAre(HasSubstr("must be no more than 253 characters")));
  EXPECT_THAT(group_error(Cat(label63, "a.io")),
              ElementsAre(HasSubstr("each label must be no more than 63 characters")));
}

TEST(ValidationTest, ResourceNamesRequireResources) {
  EXPECT_EQ(OnlyError("rules:\n- level: None\n  resources:\n  - group: \"\"\n"
                      "    resourceNames: [a, b]\n"),
            "rules[0].resources[0].resourceNames: Invalid value: []string{\"a\", \"b\"}: using "
            "resourceNames requires at least one resource (line 7)");
}

TEST(ValidationTest, NotValidatedFieldsAreAccepted) {
  // users, userGroups, verbs, namespaces and resource patterns are free text; duplicate stages
  // are fine.
  EXPECT_THAT(Errors(Cat(kHeader, R"(rules:
- level: None
  users: ["", "ALICE", "system:*"]
  userGroups: ["?"]
  verbs: [GET, "*"]
  namespaces: ["", "Not A Namespace"]
  resources: [{resources: ["**/x", ""]}]
  omitStages: [Panic, Panic]
)")),
              IsEmpty());
}

TEST(ValidationTest, AllErrorsAreReportedTogether) {
  EXPECT_THAT(Errors(Cat(kHeader, R"(omitStages: [Sometimes]
rules:
- level: Verbose
  nonResourceURLs: [healthz]
  namespaces: [default]
- users: [bob]
- level: Request
  resources:
  - group: Apps
    resourceNames: [x]
  omitStages: [Never]
)")),
              ElementsAre(HasSubstr("rules[0].level: Unsupported value: \"Verbose\""),
                          HasSubstr("rules[0].nonResourceURLs[0]: Invalid value: \"healthz\""),
                          HasSubstr("rules[0].nonResourceURLs: Invalid value: "),
                          "rules[1].level: Required value (line 8)",
                          HasSubstr("rules[2].resources[0].group: Invalid value: \"Apps\""),
                          HasSubstr("rules[2].resources[0].resourceNames: Invalid value"),
                          HasSubstr("rules[2].omitStages[0]: Invalid value: \"Never\""),
                          HasSubstr("omitStages[0]: Invalid value: \"Sometimes\"")));
}

// --- the loader's checks (§4.3) --------------------------------------------------------------

TEST(LoaderTest, ZeroRules) {
  EXPECT_THAT(Errors(kHeader), ElementsAre("loaded illegal policy with 0 rules"));
  EXPECT_THAT(Errors(Cat(kHeader, "rules: []\n")),
              ElementsAre("loaded illegal policy with 0 rules (line 3)"));
  EXPECT_THAT(Errors(Cat(kHeader, "rules:\n")),
              ElementsAre("loaded illegal policy with 0 rules (line 3)"));
  EXPECT_THAT(Errors(R"({"apiVersion": "audit.k8s.io/v1", "kind": "Policy"})"),
              ElementsAre("loaded illegal policy with 0 rules"));
}

TEST(LoaderTest, EmptyDocument) {
  for (std::string_view text : {"", "\n\n", "# nothing here\n", "---\n", "~\n", "null"}) {
    EXPECT_THAT(Errors(text), ElementsAre(HasSubstr("loaded illegal policy with 0 rules"))) << text;
  }
}

TEST(LoaderTest, MissingApiVersionAndKind) {
  EXPECT_THAT(Errors("rules:\n- level: None\n"),
              ElementsAre("apiVersion: Required value: unknown group version field in policy "
                          "(want \"audit.k8s.io/v1\") (line 1)",
                          "kind: Required value: unknown group version field in policy (want "
                          "\"Policy\") (line 1)"));
  EXPECT_THAT(Errors("kind: Policy\nrules:\n- level: None\n"),
              ElementsAre(HasSubstr("apiVersion: Required value: unknown group version field")));
  EXPECT_THAT(Errors("apiVersion: audit.k8s.io/v1\nrules:\n- level: None\n"),
              ElementsAre(HasSubstr("kind: Required value: unknown group version field")));
}

TEST(LoaderTest, RemovedVersionsAreRejected) {
  for (std::string_view version : {"audit.k8s.io/v1beta1", "audit.k8s.io/v1alpha1"}) {
    EXPECT_THAT(Errors(Cat("kind: Policy\napiVersion: ", version, "\nrules:\n- level: None\n")),
                ElementsAre(Cat("apiVersion: Unsupported value: \"", version, "\": ", version,
                                " was removed in Kubernetes 1.24; supported values: "
                                "\"audit.k8s.io/v1\" (line 2)")));
  }
}

TEST(LoaderTest, WrongApiVersionOrKind) {
  EXPECT_THAT(Errors("apiVersion: v1\nkind: Policy\nrules:\n- level: None\n"),
              ElementsAre("apiVersion: Unsupported value: \"v1\": supported values: "
                          "\"audit.k8s.io/v1\" (line 1)"));
  EXPECT_THAT(Errors("apiVersion: audit.k8s.io/v1\nkind: Event\nrules:\n- level: None\n"),
              ElementsAre("kind: Unsupported value: \"Event\": supported values: \"Policy\" "
                          "(line 2)"));
  // Case-sensitive, like the scheme.
  EXPECT_THAT(Errors("apiVersion: audit.k8s.io/v1\nkind: policy\nrules:\n- level: None\n"),
              ElementsAre(HasSubstr("kind: Unsupported value: \"policy\"")));
}

TEST(LoaderTest, MalformedYamlNamesTheLine) {
  std::vector<std::string> errors =
      Errors(Cat(kHeader, "rules:\n- level: None\n  verbs: [get, list\n- level: Metadata\n"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr("malformed policy"));
  EXPECT_THAT(errors[0], ::testing::MatchesRegex(".*\\(line [5-6]\\)"));

  errors = Errors(
      "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: None\n"
      " bad: indentation\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr("(line 5)"));

  errors = Errors(
      "{\"apiVersion\": \"audit.k8s.io/v1\",\n \"kind\": \"Policy\",\n"
      " \"rules\": [}\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr("(line 3)"));
}

TEST(LoaderTest, DocumentMustBeAMapping) {
  EXPECT_THAT(Errors("- level: None\n"),
              ElementsAre("Invalid type: expected a Policy mapping (object), got a list (line 1)"));
  EXPECT_THAT(Errors("\"just a string\""), ElementsAre(HasSubstr("got string \"just a string\"")));
}

// --- strict vs lenient ------------------------------------------------------------------------

TEST(StrictnessTest, UnknownFieldIsAWarningWhenLenient) {
  const std::string text = Cat(kHeader, R"(metadata:
  name: anything
  labels: {a: b}
rules:
- level: Metadata
  verb: [get]
  resources:
  - group: ""
    resource: [pods]
extra: 1
)");
  std::vector<PolicyWarning> warnings;
  absl::StatusOr<PolicySpec> spec = Parse(text, /*strict=*/false, &warnings);
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_EQ(warnings.size(), 3u);
  EXPECT_EQ(warnings[0].path, "extra");
  EXPECT_EQ(warnings[0].line, 12);
  EXPECT_EQ(warnings[0].message, "unknown field \"extra\"");
  EXPECT_EQ(warnings[1].path, "rules[0].verb");
  EXPECT_EQ(warnings[1].line, 8);
  EXPECT_EQ(warnings[2].path, "rules[0].resources[0].resource");
  EXPECT_EQ(warnings[2].line, 11);
  EXPECT_THAT(spec->rules[0].verbs, IsEmpty());
  EXPECT_THAT(spec->rules[0].resources[0].resources, IsEmpty());

  // A null warnings pointer is allowed.
  EXPECT_TRUE(Parse(text, /*strict=*/false, nullptr).ok());

  EXPECT_THAT(Errors(text, /*strict=*/true),
              ElementsAre("extra: unknown field \"extra\" (line 12)",
                          "rules[0].verb: unknown field \"verb\" (line 8)",
                          "rules[0].resources[0].resource: unknown field \"resource\" (line 11)"));
}

TEST(StrictnessTest, UpstreamIndentationExample) {
  // `verbs` indented under the resources entry: an unknown field of GroupResources. Lenient
  // loading drops it, so the rule covers all verbs.
  const std::string text = Cat(kHeader, R"(rules:
- level: None
  resources:
  - group: ""
    resources: ["events"]
- level: Metadata
  resources:
  - group: ""
    resources: ["pods"]
    verbs: ["get"]
)");
  std::vector<PolicyWarning> warnings;
  absl::StatusOr<PolicySpec> spec = Parse(text, /*strict=*/false, &warnings);
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].path, "rules[1].resources[0].verbs");
  EXPECT_EQ(warnings[0].line, 12);
  EXPECT_EQ(warnings[0].message, "unknown field \"verbs\"");
  ASSERT_EQ(spec->rules.size(), 2u);
  EXPECT_THAT(spec->rules[1].verbs, IsEmpty());
  EXPECT_THAT(spec->rules[1].resources[0].resources, ElementsAre("pods"));

  EXPECT_THAT(Errors(text, /*strict=*/true),
              ElementsAre("rules[1].resources[0].verbs: unknown field \"verbs\" (line 12)"));
}

TEST(StrictnessTest, DuplicateKeyLastWinsWhenLenient) {
  const std::string text = Cat(kHeader, R"(rules:
- level: None
  verbs: [get]
  level: Metadata
omitManagedFields: false
omitManagedFields: true
)");
  std::vector<PolicyWarning> warnings;
  absl::StatusOr<PolicySpec> spec = Parse(text, /*strict=*/false, &warnings);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->rules[0].level, "Metadata");
  EXPECT_TRUE(spec->omit_managed_fields);
  // The policy's own fields are checked before its rules.
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_EQ(warnings[0].path, "omitManagedFields");
  EXPECT_EQ(warnings[0].line, 8);
  EXPECT_EQ(warnings[0].message, "duplicate field \"omitManagedFields\"");
  EXPECT_EQ(warnings[1].path, "rules[0].level");
  EXPECT_EQ(warnings[1].line, 6);
  EXPECT_EQ(warnings[1].message, "duplicate field \"level\"");

  EXPECT_THAT(Errors(text, /*strict=*/true),
              ElementsAre("omitManagedFields: duplicate field \"omitManagedFields\" (line 8)",
                          "rules[0].level: duplicate field \"level\" (line 6)"));
}

TEST(StrictnessTest, DuplicateKeyInJson) {
  std::vector<PolicyWarning> warnings;
  absl::StatusOr<PolicySpec> spec = Parse(
      R"({"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "kind": "Policy",
          "rules": [{"level": "None"}]})",
      /*strict=*/false, &warnings);
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].path, "kind");
  EXPECT_EQ(warnings[0].line, 1);
}

TEST(StrictnessTest, StrictAndValidationErrorsTogether) {
  EXPECT_THAT(Errors(Cat(kHeader, "rules:\n- level: Loud\n  verb: [get]\n"), /*strict=*/true),
              UnorderedElementsAre(HasSubstr("rules[0].verb: unknown field"),
                                   HasSubstr("rules[0].level: Unsupported value")));
}

// --- decoding: nulls, booleans, type errors ---------------------------------------------------

TEST(DecodeTest, RuleOmitManagedFieldsAbsentFalseTrue) {
  absl::StatusOr<PolicySpec> spec = Parse(Cat(kHeader, R"(omitManagedFields: true
rules:
- level: None
- level: None
  omitManagedFields: false
- level: None
  omitManagedFields: true
- level: None
  omitManagedFields:
- level: None
  omitManagedFields: yes
)"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_TRUE(spec->omit_managed_fields);
  ASSERT_EQ(spec->rules.size(), 5u);
  EXPECT_EQ(spec->rules[0].omit_managed_fields, std::nullopt);
  EXPECT_EQ(spec->rules[1].omit_managed_fields, std::optional<bool>(false));
  EXPECT_EQ(spec->rules[2].omit_managed_fields, std::optional<bool>(true));
  EXPECT_EQ(spec->rules[3].omit_managed_fields, std::nullopt);               // null = absent
  EXPECT_EQ(spec->rules[4].omit_managed_fields, std::optional<bool>(true));  // YAML 1.1 bool
}

TEST(DecodeTest, PolicyOmitManagedFieldsDefaultsToFalse) {
  absl::StatusOr<PolicySpec> spec = Parse(Cat(kHeader, "rules: [{level: None}]\n"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_FALSE(spec->omit_managed_fields);
  spec = Parse(Cat(kHeader, "omitManagedFields: ~\nrules: [{level: None}]\n"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_FALSE(spec->omit_managed_fields);
}

TEST(DecodeTest, NullsMeanEmpty) {
  absl::StatusOr<PolicySpec> spec = Parse(Cat(kHeader, R"(metadata:
omitStages:
rules:
- level: Request
  users:
  userGroups: ~
  verbs: null
  namespaces: [~]
  nonResourceURLs:
  omitStages:
  resources:
  - ~
  - group:
    resources:
    resourceNames: ~
)"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_THAT(spec->omit_stages, IsEmpty());
  const PolicyRuleSpec& rule = spec->rules[0];
  EXPECT_THAT(rule.users, IsEmpty());
  EXPECT_THAT(rule.user_groups, IsEmpty());
  EXPECT_THAT(rule.verbs, IsEmpty());
  EXPECT_THAT(rule.namespaces, ElementsAre(""));  // a null item decodes as ""
  EXPECT_THAT(rule.non_resource_urls, IsEmpty());
  ASSERT_EQ(rule.resources.size(), 2u);
  EXPECT_EQ(rule.resources[1].group, "");
  EXPECT_THAT(rule.resources[1].resources, IsEmpty());
}

TEST(DecodeTest, QuotedNullIsAString) {
  absl::StatusOr<PolicySpec> spec =
      Parse(Cat(kHeader, "rules:\n- level: None\n  users: [\"null\", \"~\"]\n"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_THAT(spec->rules[0].users, ElementsAre("null", "~"));
}

TEST(DecodeTest, NullRuleFailsValidation) {
  EXPECT_EQ(OnlyError("rules:\n- level: None\n-\n"), "rules[1].level: Required value (line 6)");
}

TEST(DecodeTest, TypeErrors) {
  EXPECT_EQ(OnlyError("rules:\n- level: None\n  users: alice\n"),
            "rules[0].users: Invalid type: expected a list of strings, got string \"alice\" "
            "(line 5)");
  EXPECT_EQ(OnlyError("rules:\n- level: None\n  omitManagedFields: maybe\n"),
            "rules[0].omitManagedFields: Invalid type: expected a boolean, got string \"maybe\" "
            "(line 5)");
  EXPECT_EQ(OnlyError("rules:\n- level: None\n  omitManagedFields: \"true\"\n"),
            "rules[0].omitManagedFields: Invalid type: expected a boolean, got string \"true\" "
            "(line 5)");
  EXPECT_THAT(OnlyError("rules:\n- level: None\n  users: [yes]\n"),
              ::testing::StartsWith("rules[0].users[0]: Invalid type: expected a string, got "
                                    "boolean yes"));
  EXPECT_THAT(OnlyError("rules:\n- level: None\n  namespaces: [\"a\", 2024]\n"),
              ::testing::StartsWith("rules[0].namespaces[1]: Invalid type: expected a string, "
                                    "got number 2024"));
  EXPECT_EQ(OnlyError("rules:\n- level: [None]\n"),
            "rules[0].level: Invalid type: expected a string, got a list (line 4)");
  EXPECT_EQ(OnlyError("rules:\n- level: None\n  resources: {group: apps}\n"),
            "rules[0].resources: Invalid type: expected a list of GroupResources, got a mapping "
            "(line 5)");
  EXPECT_EQ(OnlyError("rules:\n- level: None\n  resources: [apps]\n"),
            "rules[0].resources[0]: Invalid type: expected a mapping (GroupResources), got "
            "string \"apps\" (line 5)");
  EXPECT_EQ(OnlyError("rules: {level: None}\n"),
            "rules: Invalid type: expected a list of rules, got a mapping (line 3)");
  EXPECT_EQ(OnlyError("rules:\n- None\n"),
            "rules[0]: Invalid type: expected a mapping (PolicyRule), got string \"None\" "
            "(line 4)");
  EXPECT_EQ(OnlyError("omitStages: RequestReceived\nrules: [{level: None}]\n"),
            "omitStages: Invalid type: expected a list of strings, got string "
            "\"RequestReceived\" (line 3)");
}

TEST(DecodeTest, TypeErrorsAreNotDowngradedByLenientLoading) {
  std::vector<PolicyWarning> warnings;
  EXPECT_FALSE(Parse(Cat(kHeader, "rules:\n- level: None\n  verbs: get\n"), false, &warnings).ok());
  EXPECT_THAT(warnings, IsEmpty());
}

TEST(DecodeTest, StringsThatLookLikeOtherTypes) {
  // Quoted or explicitly tagged scalars stay strings; plain words that are not YAML 1.1
  // booleans or numbers are strings too.
  absl::StatusOr<PolicySpec> spec = Parse(Cat(kHeader, R"(rules:
- level: None
  users: ["yes", !!str 42, nan, inf, 1.2.3, 0x, "0x10", system:anonymous, 10.0.0.1]
)"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_THAT(spec->rules[0].users, ElementsAre("yes", "42", "nan", "inf", "1.2.3", "0x", "0x10",
                                                "system:anonymous", "10.0.0.1"));
  for (std::string_view number : {"1", "-2", "+3", "1.5", "1e3", ".5", "0x1F", "0o17", "0b101",
                                  "1_000", ".inf", "-.Inf", ".NaN"}) {
    std::vector<std::string> errors =
        Errors(Cat(kHeader, "rules:\n- level: None\n  verbs: [", number, "]\n"));
    EXPECT_THAT(errors, ElementsAre(HasSubstr("got number"))) << number;
  }
}

TEST(DecodeTest, AnchorsAndAliases) {
  absl::StatusOr<PolicySpec> spec = Parse(Cat(kHeader, R"(rules:
- level: None
  users: &admins [alice, bob]
- level: Metadata
  users: *admins
)"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_THAT(spec->rules[1].users, ElementsAre("alice", "bob"));
}

TEST(DecodeTest, OddInputsDoNotThrow) {
  for (std::string_view text :
       {"? [a, b]\n: c\n", "apiVersion: audit.k8s.io/v1\nkind: Policy\n[x]: y\nrules: []\n",
        "*unknown_alias\n", "!!binary aGVsbG8=\n", "{{{{{{{{{{{{{{", "\t\n", "%YAML 9.9\n---\n"}) {
    absl::StatusOr<PolicySpec> spec = Parse(text);
    EXPECT_FALSE(spec.ok()) << text;
    EXPECT_TRUE(spec.status().code() == absl::StatusCode::kInvalidArgument) << spec.status();
  }
}

TEST(DecodeTest, ComplexKeyIsAnUnknownField) {
  const std::string text = Cat(kHeader, "rules:\n- {level: None, ? [x] : y}\n");
  std::vector<PolicyWarning> warnings;
  ASSERT_TRUE(Parse(text, /*strict=*/false, &warnings).ok());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].path, "rules[0].<a list>");
  EXPECT_THAT(Errors(text, /*strict=*/true),
              ElementsAre("rules[0].<a list>: unknown field \"<a list>\" (line 4)"));
}

TEST(DecodeTest, DeepNestingIsAnErrorNotACrash) {
  const std::string deep = Cat(kHeader, "metadata: ", std::string(100000, '['));
  EXPECT_FALSE(Parse(deep).ok());
}

// --- LoadPolicyFile ---------------------------------------------------------------------------

std::string TempPath(std::string_view name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return Cat(dir != nullptr ? dir : "/tmp", "/policy_load_test_", ::getpid(), "_", name);
}

TEST(LoadPolicyFileTest, MissingFile) {
  const std::string path = TempPath("does_not_exist.yaml");
  absl::StatusOr<PolicySpec> spec = LoadPolicyFile(path, {}, nullptr);
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(spec.status()), HasSubstr(path));
  EXPECT_THAT(Message(spec.status()), HasSubstr("No such file or directory"));
}

TEST(LoadPolicyFileTest, LoadsAFile) {
  const std::string path = TempPath("docs.yaml");
  std::ofstream(path) << kDocsExample;
  absl::StatusOr<PolicySpec> spec = LoadPolicyFile(path, {}, nullptr);
  std::remove(path.c_str());
  ASSERT_TRUE(spec.ok()) << spec.status();
  ExpectDocsExample(*spec);
}

TEST(LoadPolicyFileTest, ErrorsNameTheFile) {
  const std::string path = TempPath("bad.yaml");
  std::ofstream(path) << kHeader << "rules:\n- level: Everything\n  bogus: 1\n";
  std::vector<PolicyWarning> warnings;
  absl::StatusOr<PolicySpec> spec = LoadPolicyFile(path, {}, &warnings);
  std::remove(path.c_str());
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(spec.status()),
              ::testing::StartsWith(Cat(path, ": rules[0].level: Unsupported value")));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].path, "rules[0].bogus");
}

TEST(LoadPolicyFileTest, DirectoryIsAnError) {
  absl::StatusOr<PolicySpec> spec = LoadPolicyFile("/", {}, nullptr);
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(Message(spec.status()), HasSubstr("/"));
}

TEST(LoadPolicyFileTest, UnreadableFile) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads any file";
  const std::string path = TempPath("unreadable.yaml");
  std::ofstream(path) << kDocsExample;
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  absl::StatusOr<PolicySpec> spec = LoadPolicyFile(path, {}, nullptr);
  std::remove(path.c_str());
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Message(spec.status()), HasSubstr(path));
}

}  // namespace
}  // namespace kubetrail::audit
