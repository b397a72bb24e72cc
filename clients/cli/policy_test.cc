// In-process tests of `kubetrail policy` (RunPolicyValidate/Eval/Apply/Simulate): exact
// output for a small policy and a few events, warnings, errors and exit codes. The policies
// and events are written for this test.
#include "clients/cli/policy.h"

#include <algorithm>
#include <initializer_list>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "clients/cli/exit_codes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/text.h"

namespace kubetrail::cli {
namespace {

using ::kubetrail::testing::Lines;
using ::kubetrail::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

constexpr std::string_view kPolicy = R"(apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  users: ["system:kube-proxy"]
- level: RequestResponse
  resources:
  - group: ""
    resources: ["configmaps"]
  omitManagedFields: true
- level: Metadata
  omitStages: [ResponseStarted, Panic]
)";

// Canonical events. kProxy: rule 0 (None). kCreate: rule 1, kept as is. kDelete: rule 2,
// stage RequestReceived omitted. kList: rule 2, kept as is. kSecret: rule 2, kept at
// Metadata without its requestObject (kSecretApplied).
constexpr std::string_view kProxy =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"p1","stage":"ResponseComplete","requestURI":"/api/v1/endpoints?watch=true","verb":"watch","user":{"username":"system:kube-proxy"},"objectRef":{"resource":"endpoints","apiVersion":"v1"}})json";
constexpr std::string_view kCreate =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"p2","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/team-a/configmaps","verb":"create","user":{"username":"deployer"},"objectRef":{"resource":"configmaps","namespace":"team-a","name":"settings","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201},"requestObject":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"settings"}},"responseObject":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"settings","namespace":"team-a"}}})json";
constexpr std::string_view kDelete =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"p3","stage":"RequestReceived","requestURI":"/apis/apps/v1/namespaces/team-a/deployments/web","verb":"delete","user":{"username":"bob"},"objectRef":{"resource":"deployments","namespace":"team-a","name":"web","apiGroup":"apps","apiVersion":"v1"}})json";
constexpr std::string_view kList =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"p4","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods","verb":"list","user":{"username":"alice"},"objectRef":{"resource":"pods","namespace":"default","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200}})json";
constexpr std::string_view kSecret =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"p5","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/secrets","verb":"create","user":{"username":"eve"},"objectRef":{"resource":"secrets","namespace":"default","apiVersion":"v1"},"requestObject":{"kind":"Secret"}})json";
constexpr std::string_view kSecretApplied =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"p5","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/secrets","verb":"create","user":{"username":"eve"},"objectRef":{"resource":"secrets","namespace":"default","apiVersion":"v1"}})json";
constexpr std::string_view kBad =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":["x"],"stage":"ResponseComplete"})json";

// One in-process run of a verb.
struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

class PolicyCliTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(temp_.ok()) << temp_.error(); }

  std::string Write(std::string_view name, std::string_view content) {
    return temp_.Write(name, content);
  }

  // Runs `run` with the policy `policy_text` and events `events` on stdin.
  template <typename F>
  Result Run(F run, std::string_view policy_text, std::string events,
             PolicyOptions options = {}) {
    if (options.policy_file.empty()) options.policy_file = Write("policy.yaml", policy_text);
    std::istringstream in(std::move(events));
    std::ostringstream out;
    std::ostringstream err;
    Result r;
    r.code = run(options, in, out, err);
    r.out = out.str();
    r.err = err.str();
    return r;
  }

  Result Validate(std::string_view policy_text, bool strict = false) {
    PolicyOptions options;
    options.policy_file = Write("policy.yaml", policy_text);
    options.strict = strict;
    std::ostringstream out;
    std::ostringstream err;
    Result r;
    r.code = RunPolicyValidate(options, out, err);
    r.out = out.str();
    r.err = err.str();
    return r;
  }

  TempDir temp_;
};

TEST_F(PolicyCliTest, ValidateOk) {
  const Result r = Validate(kPolicy);
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, temp_.File("policy.yaml") + ": ok (3 rules)\n");
  EXPECT_THAT(r.err, IsEmpty());
}

TEST_F(PolicyCliTest, ValidateWarnsOfIgnoredFieldsAndStrictRejectsThem) {
  const std::string text = std::string(kPolicy) + "extra: 1\n";
  const std::string file = temp_.File("policy.yaml");
  Result r = Validate(text);
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, file + ": ok (3 rules)\n");
  EXPECT_EQ(r.err, "kubetrail policy: " + file + ":14: warning: extra: unknown field \"extra\"\n");

  r = Validate(text, /*strict=*/true);
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_EQ(r.err,
            "kubetrail policy: " + file + ": extra: unknown field \"extra\" (line 14)\n");
}

TEST_F(PolicyCliTest, ValidateReportsEveryError) {
  const Result r = Validate(R"(apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: Loud
- level: None
  nonResourceURLs: [logs]
)");
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.out, IsEmpty());
  std::vector<std::string> lines;
  std::istringstream err(r.err);
  for (std::string line; std::getline(err, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 2u) << r.err;
  EXPECT_THAT(lines[0], StartsWith("kubetrail policy: " + temp_.File("policy.yaml") + ": "));
  EXPECT_THAT(lines[0], HasSubstr("rules[0].level"));
  EXPECT_THAT(lines[1], StartsWith("kubetrail policy: "));
  EXPECT_THAT(lines[1], HasSubstr("rules[1].nonResourceURLs[0]"));
}

TEST_F(PolicyCliTest, ValidateMissingFile) {
  PolicyOptions options;
  options.policy_file = temp_.File("nope.yaml");
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(RunPolicyValidate(options, out, err), kExitFailure);
  EXPECT_THAT(out.str(), IsEmpty());
  EXPECT_THAT(err.str(), StartsWith("kubetrail policy: "));
  EXPECT_THAT(err.str(), HasSubstr("nope.yaml"));
}

TEST_F(PolicyCliTest, EvalPrintsEachDecision) {
  const Result r =
      Run(RunPolicyEval, kPolicy, Lines({kProxy, kCreate, kDelete, kList, kSecret}));
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.err, IsEmpty());
  EXPECT_EQ(
      r.out,
      Lines({
          R"({"auditID":"p1","stage":"ResponseComplete","level":"None","omitStages":["RequestReceived"],"omitManagedFields":false,"rule":0})",
          R"({"auditID":"p2","stage":"ResponseComplete","level":"RequestResponse","omitStages":["RequestReceived"],"omitManagedFields":true,"rule":1})",
          R"({"auditID":"p3","stage":"RequestReceived","level":"Metadata","omitStages":["Panic","RequestReceived","ResponseStarted"],"omitManagedFields":false,"rule":2})",
          R"({"auditID":"p4","stage":"ResponseComplete","level":"Metadata","omitStages":["Panic","RequestReceived","ResponseStarted"],"omitManagedFields":false,"rule":2})",
          R"({"auditID":"p5","stage":"ResponseComplete","level":"Metadata","omitStages":["Panic","RequestReceived","ResponseStarted"],"omitManagedFields":false,"rule":2})",
      }));
}

TEST_F(PolicyCliTest, EvalNoRuleMatched) {
  const Result r = Run(RunPolicyEval, R"(apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: Metadata
  verbs: [get]
)",
                       Lines({kList}));
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out,
            Lines({R"({"auditID":"p4","stage":"ResponseComplete","level":"None","omitStages":[],"omitManagedFields":false,"rule":-1})"}));
}

TEST_F(PolicyCliTest, EvalBadEventStopsUnlessSkipped) {
  PolicyOptions options;
  options.inputs = {Write("events.jsonl", Lines({kList, kBad, kSecret}))};
  Result r = Run(RunPolicyEval, kPolicy, "", options);
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_EQ(r.out,
            Lines({R"({"auditID":"p4","stage":"ResponseComplete","level":"Metadata","omitStages":["Panic","RequestReceived","ResponseStarted"],"omitManagedFields":false,"rule":2})"}));
  EXPECT_THAT(r.err, StartsWith("kubetrail policy: " + options.inputs[0] + ":2: "));

  options.skip_invalid = true;
  r = Run(RunPolicyEval, kPolicy, "", options);
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2);
  EXPECT_THAT(r.err, StartsWith("kubetrail policy: " + options.inputs[0] + ":2: "));
  EXPECT_THAT(r.err, HasSubstr("kubetrail policy: 1 invalid event skipped, 2 read\n"));
}

TEST_F(PolicyCliTest, BadPolicyReadsNoEvents) {
  const Result r = Run(RunPolicyApply, "kind: Policy\n", Lines({kList}));
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_THAT(r.err, StartsWith("kubetrail policy: "));
}

TEST_F(PolicyCliTest, ApplyWritesKeptEvents) {
  const Result r =
      Run(RunPolicyApply, kPolicy, Lines({kProxy, kCreate, kDelete, kList, kSecret}));
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.err, IsEmpty());
  EXPECT_EQ(r.out, Lines({kCreate, kList, kSecretApplied}));
}

TEST_F(PolicyCliTest, ApplyUnreadableInput) {
  PolicyOptions options;
  options.inputs = {temp_.File("missing.jsonl")};
  const Result r = Run(RunPolicyApply, kPolicy, "", options);
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, StartsWith("kubetrail policy: cannot read " + options.inputs[0]));
}

TEST_F(PolicyCliTest, SimulateJson) {
  PolicyOptions options;
  options.format = SimulateFormat::kJson;
  const Result r = Run(RunPolicySimulate, kPolicy,
                       Lines({kProxy, kCreate, kDelete, kList, kSecret}), options);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.err, IsEmpty());
  const size_t proxy = kProxy.size() + 1, create = kCreate.size() + 1,
               del = kDelete.size() + 1, list = kList.size() + 1, secret = kSecret.size() + 1,
               applied = kSecretApplied.size() + 1;
  const std::string expected = absl::StrCat(
      R"({"total":{"events":5,"eventsKept":3,"bytes":)", proxy + create + del + list + secret,
      R"(,"bytesKept":)", create + list + applied, "}",
      R"(,"levels":[{"level":"None","events":1,"eventsKept":0,"bytes":)", proxy,
      R"(,"bytesKept":0},{"level":"Metadata","events":3,"eventsKept":2,"bytes":)",
      del + list + secret, R"(,"bytesKept":)", list + applied,
      R"(},{"level":"Request","events":0,"eventsKept":0,"bytes":0,"bytesKept":0})",
      R"(,{"level":"RequestResponse","events":1,"eventsKept":1,"bytes":)", create,
      R"(,"bytesKept":)", create, "}]",
      R"(,"rules":[{"rule":0,"level":"None","events":1,"eventsKept":0,"bytes":)", proxy,
      R"(,"bytesKept":0},{"rule":1,"level":"RequestResponse","events":1,"eventsKept":1,"bytes":)",
      create, R"(,"bytesKept":)", create,
      R"(},{"rule":2,"level":"Metadata","events":3,"eventsKept":2,"bytes":)",
      del + list + secret, R"(,"bytesKept":)", list + applied, "}]",
      R"(,"noRule":{"events":0,"eventsKept":0,"bytes":0,"bytesKept":0})",
      R"(,"dropped":{"levelNone":1,"omittedStage":1}})", "\n");
  EXPECT_EQ(r.out, expected);
}

// The same figures as SimulateJson (whose bytes are derived from the events' sizes), laid out.
TEST_F(PolicyCliTest, SimulateTable) {
  const Result r =
      Run(RunPolicySimulate, kPolicy, Lines({kProxy, kCreate, kDelete, kList, kSecret}));
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.err, IsEmpty());
  EXPECT_EQ(r.out,
            "         LEVEL            EVENTS  KEPT  BYTES  BYTES KEPT\n"
            "total                          5     3   1755        1138\n"
            "level    None                  1     0    263           0\n"
            "level    Metadata              3     2    944         590\n"
            "level    Request               0     0      0           0\n"
            "level    RequestResponse       1     1    548         548\n"
            "rule 0   None                  1     0    263           0\n"
            "rule 1   RequestResponse       1     1    548         548\n"
            "rule 2   Metadata              3     2    944         590\n"
            "no rule  None                  0     0      0           0\n"
            "\n"
            "DROPPED        EVENTS\n"
            "level None          1\n"
            "omitted stage       1\n");
}

TEST_F(PolicyCliTest, SimulateSkipInvalidCountsThem) {
  PolicyOptions options;
  options.format = SimulateFormat::kJson;
  options.skip_invalid = true;
  const Result r = Run(RunPolicySimulate, kPolicy, Lines({kBad, kList}), options);
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_THAT(r.out, StartsWith(R"({"total":{"events":1,"eventsKept":1,)"));
  EXPECT_THAT(r.out, HasSubstr(R"(,"invalid":1}
)"));
  EXPECT_THAT(r.err, HasSubstr("<stdin>:1: "));

  options.skip_invalid = false;
  const Result stop = Run(RunPolicySimulate, kPolicy, Lines({kBad, kList}), options);
  EXPECT_EQ(stop.code, kExitFailure);
  EXPECT_THAT(stop.out, IsEmpty());
}

TEST(SimulateFormatTest, Parse) {
  SimulateFormat format = SimulateFormat::kJson;
  EXPECT_TRUE(ParseSimulateFormat("table", &format).ok());
  EXPECT_EQ(format, SimulateFormat::kTable);
  EXPECT_TRUE(ParseSimulateFormat("json", &format).ok());
  EXPECT_EQ(format, SimulateFormat::kJson);
  EXPECT_FALSE(ParseSimulateFormat("xml", &format).ok());
}

}  // namespace
}  // namespace kubetrail::cli
