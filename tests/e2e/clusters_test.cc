// Two clusters into one aggregator, no faults: cluster e2e-webhook is a collector with a policy
// receiving EventList POSTs as kube-apiserver sends them (kubetrail-loadgen --send); cluster
// e2e-tail is a collector without a policy tailing an audit log written and rotated (with
// compression) as kube-apiserver's lumberjack does. Each gets loadgen events and the shared
// corpus of real audit events. `kubetrail query --cluster C --all -o jsonl` must then give back
// exactly what went in, byte for byte, each event once: for e2e-webhook what `kubetrail policy
// apply` says the policy keeps, for e2e-tail every line of the log.
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/cluster.h"
#include "tests/testing/paths.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace kubetrail {
namespace {

using ::testing::HasSubstr;

// Lowers and drops as a real control plane's policy does: every rule kind the collector
// applies (users, verbs, non-resource URLs, resources by group), omitStages and
// omitManagedFields.
constexpr char kPolicy[] = R"(apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
omitManagedFields: true
rules:
  - level: None
    users: ["system:kube-proxy"]
    verbs: ["watch"]
  - level: None
    nonResourceURLs: ["/healthz*", "/readyz*", "/livez*", "/version"]
  - level: None
    resources:
      - group: "coordination.k8s.io"
        resources: ["leases"]
  - level: Metadata
    resources:
      - group: ""
        resources: ["secrets", "configmaps"]
  - level: Request
    verbs: ["get", "list", "watch"]
  - level: RequestResponse
)";

std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(E2eClustersTest, EachClusterGivesBackExactlyItsInput) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok()) << dir.error();

  // The inputs: loadgen events, plus the corpus when there is one.
  absl::StatusOr<std::vector<std::string>> web_events =
      e2e::Generate(dir.File("web-loadgen.jsonl"), 3000, 201);
  absl::StatusOr<std::vector<std::string>> tail_events =
      e2e::Generate(dir.File("tail-loadgen.jsonl"), 3000, 202);
  ASSERT_TRUE(web_events.ok()) << web_events.status();
  ASSERT_TRUE(tail_events.ok()) << tail_events.status();
  ASSERT_EQ(web_events->size(), 3000u);
  absl::StatusOr<std::vector<std::string>> corpus = e2e::CorpusLines();
  if (!corpus.ok()) {
    std::cout << "e2e clusters: loadgen events only, the corpus part is skipped: "
              << corpus.status().message() << std::endl;
    corpus = std::vector<std::string>();
  }
  const std::vector<std::string> web_input = Concat(*web_events, *corpus);
  const std::vector<std::string> tail_input = Concat(*tail_events, *corpus);
  KT_E2E_ASSERT_OK(e2e::WriteLines(dir.File("web.jsonl"), web_input));
  const std::string policy = dir.Write("policy.yaml", kPolicy);
  absl::StatusOr<std::vector<std::string>> web_expected =
      e2e::PolicyApply(policy, {dir.File("web.jsonl")});
  ASSERT_TRUE(web_expected.ok()) << web_expected.status();
  // The policy matters: it drops some events and keeps most.
  ASSERT_LT(web_expected->size(), web_input.size());
  ASSERT_GT(web_expected->size(), web_input.size() / 4);

  e2e::AggregatorProcess agg(dir.File("agg"));
  KT_E2E_ASSERT_OK(agg.Start());
  e2e::CollectorProcess web(
      e2e::WebhookCollectorArgs(agg.address(), dir.File("web-spool"), {"--policy", policy}));
  KT_E2E_ASSERT_OK(web.Start());
  ASSERT_TRUE(std::filesystem::create_directory(dir.File("log")));
  const std::string log = dir.File("log/audit.log");
  e2e::CollectorProcess tail(
      e2e::TailCollectorArgs(agg.address(), dir.File("tail-spool"), log));
  KT_E2E_ASSERT_OK(tail.Start());

  const absl::Time start = absl::Now();
  e2e::AuditLogWriter writer({.path = log,
                              .rotation = e2e::Rotation::kLumberjack,
                              .rotate_every_lines = 700,
                              .compress = true,
                              .lines_per_second = 2000,
                              .seed = 203},
                             tail_input);
  testing::SubprocessOptions send_options;
  send_options.timeout = absl::Seconds(150);
  absl::StatusOr<testing::SubprocessResult> sent =
      testing::RunSubprocess({testing::BinDir() + "/kubetrail-loadgen", "--send", web.webhook_url(),
                              "--streams", "2", "--timeout", "120", dir.File("web.jsonl")},
                             send_options);
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(sent->exit_code, 0) << sent->stdout_data << sent->stderr_data;
  EXPECT_THAT(sent->stdout_data, HasSubstr(absl::StrCat("\"accepted\":", web_input.size(), ",")));
  KT_E2E_ASSERT_OK(writer.Wait(absl::Seconds(120)));
  EXPECT_GT(writer.rotations(), 3);

  KT_E2E_ASSERT_OK(
      e2e::AwaitCount(agg.address(), "e2e-webhook", web_expected->size(), absl::Seconds(120))
          .status());
  KT_E2E_ASSERT_OK(
      e2e::AwaitCount(agg.address(), "e2e-tail", tail_input.size(), absl::Seconds(120)).status());
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  absl::StatusOr<e2e::Figures> web_figures =
      e2e::CompareCluster(agg.address(), "e2e-webhook", *web_expected);
  absl::StatusOr<e2e::Figures> tail_figures =
      e2e::CompareCluster(agg.address(), "e2e-tail", tail_input);
  ASSERT_TRUE(web_figures.ok()) << web_figures.status();
  ASSERT_TRUE(tail_figures.ok()) << tail_figures.status();
  std::cout << "e2e clusters: corpus=" << corpus->size() << " webhook_in=" << web_input.size()
            << " webhook_kept=" << web_figures->expected << " tail_in=" << tail_input.size()
            << " rotations=" << writer.rotations() << " seconds=" << static_cast<int>(seconds)
            << " lost=" << web_figures->lost + tail_figures->lost
            << " duplicated=" << web_figures->duplicated + tail_figures->duplicated
            << " unexpected=" << web_figures->unexpected + tail_figures->unexpected << std::endl;
  EXPECT_TRUE(web_figures->exact()) << "e2e-webhook: " << e2e::Describe(*web_figures);
  EXPECT_TRUE(tail_figures->exact()) << "e2e-tail: " << e2e::Describe(*tail_figures);

  // The spools empty; then each stops, in reverse order of start, and exits 0.
  e2e::ExpectSpoolsEmptyThenStop(agg, {&tail, &web});
}

}  // namespace
}  // namespace kubetrail
