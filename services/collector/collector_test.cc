// The whole collector in-process (Collector::Start): real spool, tailer, forwarder, status
// endpoint and policy loader, shipping to an in-memory Ingest server. What is observed is what
// an operator sees: /metrics, Reload's status, what the aggregator stored.
#include "services/collector/collector.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "services/collector/shipper/testing/fake_ingest_server.h"
#include "tests/testing/certs.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/text.h"
#include "tests/testing/wait.h"

namespace kubetrail::collector {
namespace {

using ::kubetrail::testing::SampleValue;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kGoodPolicy[] =
    "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n"
    "- level: Metadata\n";
constexpr char kBrokenPolicy[] =
    "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n"
    "- level: Loud\n";

std::string EventLine(const std::string& audit_id) {
  return absl::StrCat(
      R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":")", audit_id,
      R"(","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list",)",
      R"("user":{"username":"alice"},"requestReceivedTimestamp":"2026-11-27T10:00:00.000000Z",)",
      R"("stageTimestamp":"2026-11-27T10:00:00.100000Z"})", "\n");
}

// Replaces `path` with `text` at once (rename), as editors and config management do.
void WriteFile(const std::string& path, const std::string& text) {
  {
    std::ofstream out(path + ".new", std::ios::binary | std::ios::trunc);
    out << text;
  }
  std::filesystem::rename(path + ".new", path);
}

void AppendFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << text;
}

using ::kubetrail::testing::Eventually;

class CollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    absl::StatusOr<std::unique_ptr<testing::FakeIngestServer>> server =
        testing::FakeIngestServer::Start(store_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  // A --dev collector shipping to server_, with the status endpoint on.
  CollectorConfig DevConfig() {
    CollectorConfig config;
    config.cluster = "c1";
    config.source = "s1";
    config.dev = true;
    config.aggregators = {server_->target()};
    config.spool_dir = dir_.File("spool");
    config.http_listen = "127.0.0.1:0";
    config.batch_wait = absl::Milliseconds(50);
    config.drain_timeout = absl::Seconds(10);
    return config;
  }

  std::string Metrics(const Collector& collector) {
    httplib::Client http("127.0.0.1", collector.http_port());
    httplib::Result res = http.Get("/metrics");
    EXPECT_TRUE(res) << httplib::to_string(res.error());
    return res ? res->body : std::string();
  }

  kubetrail::testing::TempDir dir_;
  testing::FakeEventStore store_;
  std::unique_ptr<testing::FakeIngestServer> server_;
};

// Without a policy file nothing can fail to load: the gauge an operator alerts on reads 1.
TEST_F(CollectorTest, PolicyLastLoadOkIsOneWithoutAPolicyFile) {
  absl::StatusOr<std::unique_ptr<Collector>> collector =
      Collector::Start(DevConfig(), Clock::Real());
  ASSERT_TRUE(collector.ok()) << collector.status();
  const std::string metrics = Metrics(**collector);
  EXPECT_EQ(SampleValue(metrics, "kubetrail_collector_policy_last_load_ok"), 1) << metrics;
  EXPECT_EQ(SampleValue(metrics, R"(kubetrail_collector_policy_reloads_total{result="error"})"), 0);
  EXPECT_TRUE((*collector)->Reload(DevConfig()).ok());
  EXPECT_EQ(SampleValue(Metrics(**collector), "kubetrail_collector_policy_last_load_ok"), 1);
  EXPECT_TRUE((*collector)->Shutdown().ok());
}

// SIGHUP's two reloads are independent: a broken policy does not hold back a rotated client
// certificate, and unreadable certificate files do not hold back a fixed policy. What fails
// keeps its previous version and is reported, naming the file.
TEST_F(CollectorTest, ReloadOfThePolicyAndOfTheClientCertificateAreIndependent) {
  absl::StatusOr<kubetrail::testing::TestCa> ca =
      kubetrail::testing::TestCa::Create("kubetrail test CA", dir_.path());
  ASSERT_TRUE(ca.ok()) << ca.status();
  const kubetrail::testing::LeafSpec identity = {.common_name = "collector-c1"};
  absl::StatusOr<kubetrail::testing::CertFiles> client = ca->IssueClient("collector", identity);
  ASSERT_TRUE(client.ok()) << client.status();
  const std::string policy = dir_.File("policy.yaml");
  WriteFile(policy, kGoodPolicy);

  CollectorConfig config = DevConfig();
  config.dev = false;
  config.tls_ca_file = ca->cert_file();
  config.tls_cert_file = client->cert_file;
  config.tls_key_file = client->key_file;
  config.tls_server_name = "localhost";
  config.policy_file = policy;
  absl::StatusOr<std::unique_ptr<Collector>> started = Collector::Start(config, Clock::Real());
  ASSERT_TRUE(started.ok()) << started.status();
  Collector& collector = **started;
  const std::string cert_ok = R"(kubetrail_collector_client_cert_reloads_total{result="ok"})";
  const std::string cert_error = R"(kubetrail_collector_client_cert_reloads_total{result="error"})";
  std::string metrics = Metrics(collector);
  EXPECT_EQ(SampleValue(metrics, "kubetrail_collector_policy_last_load_ok"), 1) << metrics;
  EXPECT_EQ(SampleValue(metrics, cert_ok), 0);
  EXPECT_EQ(SampleValue(metrics, cert_error), 0);

  // A broken policy and a rotated certificate: the certificate is taken.
  WriteFile(policy, kBrokenPolicy);
  ASSERT_TRUE(ca->IssueClient("collector", identity).ok());
  absl::Status s = collector.Reload(config);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr(policy));
  EXPECT_THAT(s.message(), Not(HasSubstr("certificate")));
  metrics = Metrics(collector);
  EXPECT_EQ(SampleValue(metrics, "kubetrail_collector_policy_last_load_ok"), 0) << metrics;
  EXPECT_GE(SampleValue(metrics, R"(kubetrail_collector_policy_reloads_total{result="error"})"), 1);
  EXPECT_EQ(SampleValue(metrics, cert_ok), 1) << metrics;
  EXPECT_EQ(SampleValue(metrics, cert_error), 0);

  // The policy fixed, the certificate file damaged: the policy is taken.
  WriteFile(policy, kGoodPolicy);
  WriteFile(client->cert_file, "not a certificate\n");
  s = collector.Reload(config);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr(client->cert_file));
  EXPECT_THAT(s.message(), Not(HasSubstr(policy)));
  metrics = Metrics(collector);
  EXPECT_EQ(SampleValue(metrics, "kubetrail_collector_policy_last_load_ok"), 1) << metrics;
  EXPECT_EQ(SampleValue(metrics, cert_ok), 1);
  EXPECT_EQ(SampleValue(metrics, cert_error), 1) << metrics;

  // Both broken: both reported, in one status.
  WriteFile(policy, kBrokenPolicy);
  s = collector.Reload(config);
  EXPECT_THAT(s.message(), HasSubstr(policy));
  EXPECT_THAT(s.message(), HasSubstr(client->cert_file));
  EXPECT_EQ(SampleValue(Metrics(collector), cert_error), 2);

  // Both good again.
  WriteFile(policy, kGoodPolicy);
  ASSERT_TRUE(ca->IssueClient("collector", identity).ok());
  EXPECT_TRUE(collector.Reload(config).ok());
  metrics = Metrics(collector);
  EXPECT_EQ(SampleValue(metrics, "kubetrail_collector_policy_last_load_ok"), 1);
  EXPECT_EQ(SampleValue(metrics, cert_ok), 2);
  EXPECT_TRUE(collector.Shutdown().ok());
}

// A tailed log with a truncation without a copy (a possible loss), a rotation and an
// unterminated last line in the rotated file; the aggregator drops the stream once, so that a
// batch is sent again. Each shows in /metrics.
TEST_F(CollectorTest, TailerAnomaliesAndShippedBatchesAreExported) {
  const std::string logdir = dir_.File("log");
  std::filesystem::create_directories(logdir);
  const std::string log = logdir + "/audit.log";
  AppendFile(log, EventLine("a-0") + EventLine("a-1") + EventLine("a-2"));
  CollectorConfig config = DevConfig();
  config.tail = {log};
  absl::StatusOr<std::unique_ptr<Collector>> started = Collector::Start(config, Clock::Real());
  ASSERT_TRUE(started.ok()) << started.status();
  Collector& collector = **started;
  ASSERT_TRUE(Eventually([&] { return store_.size() == 3; })) << store_.size();
  std::string metrics = Metrics(collector);
  EXPECT_EQ(SampleValue(metrics, R"(kubetrail_collector_events_sent_total{kind="first"})"), 3)
      << metrics;
  EXPECT_EQ(SampleValue(metrics, R"(kubetrail_collector_events_sent_total{kind="resend"})"), 0);
  EXPECT_GE(SampleValue(metrics, R"(kubetrail_collector_batches_sent_total{kind="first"})"), 1);
  EXPECT_EQ(SampleValue(metrics, R"(kubetrail_collector_batches_sent_total{kind="resend"})"), 0);
  EXPECT_EQ(SampleValue(metrics, "kubetrail_collector_tail_gaps_total"), 0);
  EXPECT_EQ(SampleValue(metrics, "kubetrail_collector_tail_lines_skipped_total"), 0);
  EXPECT_EQ(SampleValue(metrics, "kubetrail_collector_tail_files_finished_total"), 0);

  // Truncated in place with no copy left (copytruncate gone wrong): whatever was written
  // before the truncation and not read is lost, and the tailer says so.
  ASSERT_EQ(::truncate(log.c_str(), 0), 0);
  AppendFile(log, EventLine("b-0"));
  ASSERT_TRUE(Eventually([&] { return store_.size() == 4; })) << store_.size();
  EXPECT_EQ(SampleValue(Metrics(collector), "kubetrail_collector_tail_gaps_total"), 1);

  // The next batch ends its stream unacknowledged (after storing it): it is sent again.
  server_->BreakAfterBatches(1);
  const int received = server_->batches_received();
  // Rotated with an unterminated last line (the writer died mid-line), then a new live file.
  AppendFile(log, EventLine("b-1") + R"({"kind":"Event","auditID":"b-2")");
  ASSERT_TRUE(Eventually([&] { return store_.size() == 5; })) << store_.size();
  std::filesystem::rename(log, logdir + "/audit-2026-11-27T06-00-00.000.log");
  AppendFile(log, EventLine("c-0"));
  ASSERT_TRUE(Eventually([&] { return store_.size() == 6; })) << store_.size();
  // Everything acknowledged (the resend of b-1 as a duplicate): no write is still to come.
  ASSERT_TRUE(Eventually(
      [&] { return SampleValue(Metrics(collector), "kubetrail_collector_spool_events") == 0; }));
  EXPECT_GE(server_->batches_received(), received + 3);

  metrics = Metrics(collector);
  EXPECT_EQ(SampleValue(metrics, "kubetrail_collector_tail_gaps_total"), 1) << metrics;
  EXPECT_EQ(SampleValue(metrics, "kubetrail_collector_tail_lines_skipped_total"), 1);
  EXPECT_EQ(SampleValue(metrics, "kubetrail_collector_tail_files_finished_total"), 1);
  // Every event was sent once as a first write; the batch of b-1 once more.
  EXPECT_EQ(SampleValue(metrics, R"(kubetrail_collector_events_sent_total{kind="first"})"), 6);
  EXPECT_EQ(SampleValue(metrics, R"(kubetrail_collector_events_sent_total{kind="resend"})"), 1);
  EXPECT_EQ(SampleValue(metrics, R"(kubetrail_collector_batches_sent_total{kind="resend"})"), 1);
  EXPECT_EQ(SampleValue(metrics, R"(kubetrail_collector_batches_sent_total{kind="first"})") +
                SampleValue(metrics, R"(kubetrail_collector_batches_sent_total{kind="resend"})"),
            server_->batches_received());
  EXPECT_TRUE(collector.Shutdown().ok());
}

}  // namespace
}  // namespace kubetrail::collector
