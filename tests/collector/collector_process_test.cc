// kubetrail-collector as a real process between kubetrail-loadgen (posting as kube-apiserver
// does, or an audit log being written) and a real kubetrail-aggregator: every event stored
// exactly once through TLS with client certificates, SIGKILL at random moments under load,
// an aggregator outage, a full spool, log rotation, policy reloads, SIGTERM, metrics and bad
// config.
#include "tests/testing/collector_process.h"

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/tls.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/testing/aggregator_process.h"
#include "tests/testing/background_process.h"
#include "tests/testing/certs.h"
#include "tests/testing/paths.h"
#include "tests/testing/promtool.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace kubetrail {
namespace {

using testing::AwaitStored;
using testing::BackgroundProcess;
using testing::CollectorDevArgs;
using testing::Generate;
using ::testing::HasSubstr;
using testing::Metrics;
using testing::RunningAggregator;
using testing::RunningCollector;
using testing::Sample;
using testing::StartAggregator;
using testing::StartCollector;
using testing::With;

// Outside --dev: the apiserver-like client posts over HTTPS with a client certificate, the
// collector ships over mTLS with its own; every event is stored once, and SIGTERM exits 0
// with an empty spool.
TEST(CollectorProcessTest, WebhookOverTlsStoresEveryEventOnce) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  auto ca = testing::TestCa::Create("kubetrail test CA", dir.path());
  ASSERT_TRUE(ca.ok()) << ca.status();
  auto agg_cert = ca->IssueServer("aggregator");
  auto collector_client = ca->IssueClient("collector", {.common_name = "collector-prod"});
  auto webhook_cert = ca->IssueServer("webhook");
  auto apiserver = ca->IssueClient("apiserver", {.common_name = "kube-apiserver"});
  auto auditor = ca->IssueClient("auditor", {.common_name = "auditor"});
  ASSERT_TRUE(agg_cert.ok() && collector_client.ok() && webhook_cert.ok() && apiserver.ok() &&
              auditor.ok());
  const std::string config = dir.File("aggregator.yaml");
  {
    std::ofstream out(config);
    out << "listen: 127.0.0.1:0\n"
        << "data_dir: " << dir.File("agg") << "\n"
        << "tls:\n  cert_file: " << agg_cert->cert_file << "\n  key_file: " << agg_cert->key_file
        << "\n  client_ca_file: " << ca->cert_file() << "\n"
        << "collectors:\n  - identity: collector-prod\n    clusters: [prod]\n"
        << "query:\n  identities: [auditor]\n";
  }
  auto query_credentials = MakeClientCredentials(
      {.ca_file = ca->cert_file(), .cert_file = auditor->cert_file, .key_file = auditor->key_file});
  ASSERT_TRUE(query_credentials.ok());
  RunningAggregator agg = StartAggregator(dir.path(), {"--config", config}, *query_credentials);
  ASSERT_NE(agg.port, 0);

  RunningCollector collector = StartCollector({"--cluster",
                                               "prod",
                                               "--source",
                                               "apiserver-1",
                                               "--aggregator",
                                               absl::StrCat("127.0.0.1:", agg.port),
                                               "--tls-ca",
                                               ca->cert_file(),
                                               "--tls-cert",
                                               collector_client->cert_file,
                                               "--tls-key",
                                               collector_client->key_file,
                                               "--tls-server-name",
                                               "localhost",
                                               "--webhook-listen",
                                               "127.0.0.1:0",
                                               "--webhook-tls-cert",
                                               webhook_cert->cert_file,
                                               "--webhook-tls-key",
                                               webhook_cert->key_file,
                                               "--webhook-tls-client-ca",
                                               ca->cert_file(),
                                               "--spool-dir",
                                               dir.File("spool"),
                                               "--batch-wait",
                                               "100ms"});
  ASSERT_THAT(collector.webhook_url, HasSubstr("https://127.0.0.1:"));

  const std::set<std::string> want = Generate(dir.File("events.jsonl"), 2000, 11);
  auto sent = testing::RunSubprocess(
      {testing::BinDir() + "/kubetrail-loadgen", "--send", collector.webhook_url, "--tls-ca",
       ca->cert_file(), "--tls-cert", apiserver->cert_file, "--tls-key", apiserver->key_file,
       "--streams", "2", "--timeout", "120", dir.File("events.jsonl")});
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(sent->exit_code, 0) << sent->stdout_data << sent->stderr_data;
  EXPECT_THAT(sent->stdout_data, HasSubstr("\"accepted\":2000"));

  // A client without a certificate is refused by the webhook.
  auto anonymous = testing::RunSubprocess({testing::BinDir() + "/kubetrail-loadgen", "--send",
                                           collector.webhook_url, "--tls-ca", ca->cert_file(),
                                           "--count", "10", "--timeout", "2"});
  ASSERT_TRUE(anonymous.ok());
  EXPECT_EQ(anonymous->exit_code, 1);
  EXPECT_THAT(anonymous->stdout_data, HasSubstr("\"accepted\":0"));

  EXPECT_EQ(AwaitStored(agg, want.size()), want);
  ASSERT_TRUE(collector.process->Signal(SIGTERM).ok());
  EXPECT_EQ(*collector.process->Wait(absl::Seconds(60)), 0) << collector.process->stderr_data();
}

// Real audit events published by other projects (../shared/corpus: v1 and v1beta1, several
// apiserver versions), posted as EventList batches: the aggregator gives back exactly the
// canonical JSON of every one of them.
TEST(CollectorProcessTest, CorpusEventsComeBackExactly) {
  const std::optional<std::string> corpus = testing::CorpusDir();
  if (!corpus) GTEST_SKIP() << "no corpus: " << testing::CorpusSearchDescription();
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string canonical;
  for (const auto& entry : std::filesystem::directory_iterator(*corpus)) {
    if (entry.path().extension() != ".jsonl") continue;
    auto converted = testing::RunSubprocess(
        {testing::BinDir() + "/kubetrail", "convert", "--skip-invalid", entry.path().string()});
    ASSERT_TRUE(converted.ok()) << converted.status();
    canonical += converted->stdout_data;
  }
  {
    std::ofstream out(dir.File("corpus.jsonl"));
    out << canonical;
  }
  std::set<std::string> want;
  for (absl::string_view line : absl::StrSplit(canonical, '\n', absl::SkipEmpty())) {
    want.insert(std::string(line));
  }
  ASSERT_GT(want.size(), 900u);

  RunningAggregator agg = StartAggregator(dir.File("agg"));
  ASSERT_NE(agg.port, 0);
  RunningCollector collector = StartCollector(
      With(CollectorDevArgs(agg, dir.File("spool")), {"--webhook-listen", "127.0.0.1:0"}));
  ASSERT_NE(collector.webhook_port, 0);
  auto sent =
      testing::RunSubprocess({testing::BinDir() + "/kubetrail-loadgen", "--send",
                              collector.webhook_url, "--timeout", "60", dir.File("corpus.jsonl")});
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->exit_code, 0) << sent->stdout_data << sent->stderr_data;
  std::set<std::string> got;
  for (int i = 0; i < 300 && got.size() < want.size(); ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    auto stored = testing::RunSubprocess({testing::BinDir() + "/kubetrail", "--dev", "--server",
                                          absl::StrCat("127.0.0.1:", agg.port), "query",
                                          "--cluster", "prod", "--all", "-o", "jsonl"});
    ASSERT_TRUE(stored.ok());
    got.clear();
    for (absl::string_view line : absl::StrSplit(stored->stdout_data, '\n', absl::SkipEmpty())) {
      got.insert(std::string(line));
    }
  }
  EXPECT_EQ(got.size(), want.size());
  EXPECT_TRUE(got == want) << "stored events differ from what was posted";
}

// SIGKILL at random moments while an apiserver-like client posts (and retries what got no
// 2xx, as the apiserver does): the aggregator ends with every event exactly once.
TEST(CollectorProcessTest, SigkillUnderLoadLosesNothingAndStoresOnce) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  RunningAggregator agg = StartAggregator(dir.File("agg"));
  ASSERT_NE(agg.port, 0);
  const std::vector<std::string> args =
      With(CollectorDevArgs(agg, dir.File("spool")), {"--webhook-listen", "127.0.0.1:0"});
  RunningCollector collector = StartCollector(args);
  ASSERT_NE(collector.webhook_port, 0);
  // Restarts listen on the same port, where the client keeps posting.
  std::vector<std::string> restart_args = args;
  *(std::find(restart_args.begin(), restart_args.end(), "--webhook-listen") + 1) =
      absl::StrCat("127.0.0.1:", collector.webhook_port);

  const std::set<std::string> want = Generate(dir.File("events.jsonl"), 12000, 21);
  auto client = BackgroundProcess::Start({testing::BinDir() + "/kubetrail-loadgen", "--send",
                                          collector.webhook_url, "--streams", "3", "--rate", "4000",
                                          "--timeout", "240", dir.File("events.jsonl")});
  ASSERT_TRUE(client.ok()) << client.status();

  std::mt19937 rng(7);
  for (int round = 0; round < 6; ++round) {
    absl::SleepFor(absl::Milliseconds(std::uniform_int_distribution<int>(100, 600)(rng)));
    ASSERT_TRUE(collector.process->Signal(SIGKILL).ok());
    ASSERT_TRUE(collector.process->Wait(absl::Seconds(30)).ok());
    collector = StartCollector(restart_args);
    ASSERT_NE(collector.webhook_port, 0) << "round " << round;
  }
  absl::StatusOr<int> client_exit = (*client)->Wait(absl::Seconds(240));
  ASSERT_TRUE(client_exit.ok());
  EXPECT_EQ(*client_exit, 0) << (*client)->stdout_data() << (*client)->stderr_data();
  EXPECT_THAT((*client)->stdout_data(), HasSubstr("\"accepted\":12000"));

  const std::set<std::string> stored = AwaitStored(agg, want.size());
  EXPECT_EQ(stored.size(), want.size());
  EXPECT_TRUE(stored == want) << "missing or unexpected events";
  ASSERT_TRUE(collector.process->Signal(SIGTERM).ok());
  EXPECT_EQ(*collector.process->Wait(absl::Seconds(60)), 0);
}

// The aggregator is down for a while: the spool grows (the webhook keeps answering 200), then
// drains completely when the aggregator is back.
TEST(CollectorProcessTest, AggregatorOutageIsRiddenOutInTheSpool) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  RunningAggregator agg = StartAggregator(dir.File("agg"));
  ASSERT_NE(agg.port, 0);
  const int agg_port = agg.port;
  RunningCollector collector = StartCollector(With(
      CollectorDevArgs(agg, dir.File("spool")),
      {"--webhook-listen", "127.0.0.1:0", "--aggregator", absl::StrCat("127.0.0.1:", agg_port)}));
  ASSERT_NE(collector.webhook_port, 0);
  ASSERT_TRUE(agg.process->Signal(SIGTERM).ok());
  ASSERT_EQ(*agg.process->Wait(absl::Seconds(60)), 0);

  const std::set<std::string> want = Generate(dir.File("events.jsonl"), 3000, 31);
  auto sent =
      testing::RunSubprocess({testing::BinDir() + "/kubetrail-loadgen", "--send",
                              collector.webhook_url, "--timeout", "60", dir.File("events.jsonl")});
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->exit_code, 0) << sent->stdout_data << sent->stderr_data;
  const std::string during = Metrics(collector.http_port);
  EXPECT_EQ(Sample(during, "kubetrail_collector_spool_events"), 3000) << during;
  EXPECT_GT(Sample(during, "kubetrail_collector_spool_bytes"), 0);

  agg = StartAggregator(dir.File("agg"), {"--dev", "--listen", absl::StrCat("127.0.0.1:", agg_port),
                                          "--data-dir", dir.File("agg")});
  ASSERT_NE(agg.port, 0);
  EXPECT_EQ(AwaitStored(agg, want.size()), want);
  for (int i = 0;
       i < 300 && Sample(Metrics(collector.http_port), "kubetrail_collector_spool_events") != 0;
       ++i) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(Sample(Metrics(collector.http_port), "kubetrail_collector_spool_events"), 0);
}

// A full spool (block mode): the webhook answers 503 with Retry-After and the tailer pauses;
// once the aggregator is back everything arrives, nothing lost.
TEST(CollectorProcessTest, FullSpoolRefusesWith503AndPausesTheTailer) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  RunningAggregator agg = StartAggregator(dir.File("agg"));
  ASSERT_NE(agg.port, 0);
  const int agg_port = agg.port;
  ASSERT_TRUE(agg.process->Signal(SIGTERM).ok());
  ASSERT_EQ(*agg.process->Wait(absl::Seconds(60)), 0);

  const std::set<std::string> posted = Generate(dir.File("posted.jsonl"), 1500, 41);
  const std::set<std::string> logged = Generate(dir.File("logged.jsonl"), 1500, 42);
  const std::string log = dir.File("audit.log");
  std::filesystem::copy_file(dir.File("logged.jsonl"), log);
  RunningCollector collector =
      StartCollector({"--dev", "--cluster", "prod", "--source", "apiserver-1", "--aggregator",
                      absl::StrCat("127.0.0.1:", agg_port), "--spool-dir", dir.File("spool"),
                      "--http-listen", "127.0.0.1:0", "--webhook-listen", "127.0.0.1:0", "--tail",
                      log, "--spool-max-bytes", "3000000", "--batch-wait", "100ms"});
  ASSERT_NE(collector.webhook_port, 0);

  auto client = BackgroundProcess::Start({testing::BinDir() + "/kubetrail-loadgen", "--send",
                                          collector.webhook_url, "--timeout", "120",
                                          dir.File("posted.jsonl")});
  ASSERT_TRUE(client.ok());
  // The spool fills up and refuses.
  double refused = 0;
  for (int i = 0; i < 300 && refused <= 0; ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    refused = Sample(Metrics(collector.http_port),
                     "kubetrail_collector_webhook_requests_total{code=\"503\"}");
  }
  EXPECT_GT(refused, 0);
  httplib::Client http("127.0.0.1", collector.http_port);
  auto ready = http.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  EXPECT_THAT(ready->body, HasSubstr("spool is full"));
  const std::string full = Metrics(collector.http_port);
  EXPECT_LE(Sample(full, "kubetrail_collector_spool_bytes"), 3000000);

  agg = StartAggregator(dir.File("agg"), {"--dev", "--listen", absl::StrCat("127.0.0.1:", agg_port),
                                          "--data-dir", dir.File("agg")});
  ASSERT_NE(agg.port, 0);
  absl::StatusOr<int> client_exit = (*client)->Wait(absl::Seconds(120));
  ASSERT_TRUE(client_exit.ok());
  EXPECT_EQ(*client_exit, 0) << (*client)->stdout_data() << collector.process->stderr_data();
  EXPECT_THAT((*client)->stdout_data(), HasSubstr("\"503\":"));
  std::set<std::string> want = posted;
  want.insert(logged.begin(), logged.end());
  EXPECT_EQ(AwaitStored(agg, want.size()), want);
}

// The log tailer end to end: lines appended, a lumberjack rename rotation, a gzip-compressed
// rotated file and a SIGKILL in the middle: every line stored once.
TEST(CollectorProcessTest, TailerFollowsRotationAndResumesAfterSigkill) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  RunningAggregator agg = StartAggregator(dir.File("agg"));
  ASSERT_NE(agg.port, 0);
  const std::set<std::string> a = Generate(dir.File("a.jsonl"), 800, 51);
  const std::set<std::string> b = Generate(dir.File("b.jsonl"), 800, 52);
  const std::set<std::string> c = Generate(dir.File("c.jsonl"), 800, 53);
  const std::string logdir = dir.File("log");
  std::filesystem::create_directories(logdir);
  const std::string log = logdir + "/audit.log";
  auto append = [&](const std::string& from) {
    std::ifstream in(from, std::ios::binary);
    std::ofstream out(log, std::ios::binary | std::ios::app);
    out << in.rdbuf();
  };
  const std::vector<std::string> args =
      With(CollectorDevArgs(agg, dir.File("spool")), {"--tail", log});
  append(dir.File("a.jsonl"));
  RunningCollector collector = StartCollector(args);
  ASSERT_NE(collector.http_port, 0);
  EXPECT_EQ(AwaitStored(agg, a.size()).size(), a.size());

  // Killed; meanwhile the log rotates (rename) and the rotated file gets compressed.
  ASSERT_TRUE(collector.process->Signal(SIGKILL).ok());
  ASSERT_TRUE(collector.process->Wait(absl::Seconds(30)).ok());
  append(dir.File("b.jsonl"));
  const std::string rotated = logdir + "/audit-2026-11-27T06-00-00.000.log";
  std::filesystem::rename(log, rotated);
  auto gz = testing::RunSubprocess({"/bin/gzip", rotated});
  ASSERT_TRUE(gz.ok() && gz->exit_code == 0);
  append(dir.File("c.jsonl"));

  collector = StartCollector(args);
  ASSERT_NE(collector.http_port, 0);
  std::set<std::string> want = a;
  want.insert(b.begin(), b.end());
  want.insert(c.begin(), c.end());
  EXPECT_EQ(AwaitStored(agg, want.size()), want);
  ASSERT_TRUE(collector.process->Signal(SIGTERM).ok());
  EXPECT_EQ(*collector.process->Wait(absl::Seconds(60)), 0);
}

// The collector policy: applied, reloaded when the file changes, a broken new policy keeps the
// old one (log + metric).
TEST(CollectorProcessTest, PolicyIsAppliedAndReloaded) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  RunningAggregator agg = StartAggregator(dir.File("agg"));
  ASSERT_NE(agg.port, 0);
  const std::string policy = dir.File("policy.yaml");
  auto write_policy = [&](const std::string& text) {
    std::ofstream out(policy + ".new");
    out << text;
    out.close();
    std::filesystem::rename(policy + ".new", policy);
  };
  write_policy(
      "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n"
      "- level: None\n  verbs: [get, list, watch]\n- level: Metadata\n");
  RunningCollector collector =
      StartCollector(With(CollectorDevArgs(agg, dir.File("spool")),
                          {"--webhook-listen", "127.0.0.1:0", "--policy", policy}));
  ASSERT_NE(collector.webhook_port, 0);
  auto post = [&](const std::string& file) {
    auto sent = testing::RunSubprocess({testing::BinDir() + "/kubetrail-loadgen", "--send",
                                        collector.webhook_url, "--timeout", "60", file});
    ASSERT_TRUE(sent.ok());
    EXPECT_EQ(sent->exit_code, 0) << sent->stdout_data;
  };
  Generate(dir.File("one.jsonl"), 500, 61);
  post(dir.File("one.jsonl"));
  std::string metrics;
  for (int i = 0; i < 100; ++i) {
    metrics = Metrics(collector.http_port);
    if (Sample(metrics, "kubetrail_collector_events_received_total{source=\"webhook\"}") == 500) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  const double dropped = Sample(
      metrics,
      "kubetrail_collector_events_dropped_total{source=\"any\",reason=\"policy_level_none\"}");
  const double kept =
      Sample(metrics, "kubetrail_collector_events_policy_kept_total{level=\"Metadata\"}");
  EXPECT_GT(dropped, 0) << metrics;
  EXPECT_EQ(dropped + kept, 500) << metrics;
  EXPECT_EQ(Sample(metrics, "kubetrail_collector_events_policy_kept_total{level=\"Request\"}"), 0);

  // A broken policy: the old one stays.
  write_policy("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Loud\n");
  ASSERT_TRUE(collector.process
                  ->WaitForLine("previous policy stays", absl::Seconds(30),
                                BackgroundProcess::Stream::kStderr)
                  .ok());
  EXPECT_EQ(Sample(Metrics(collector.http_port), "kubetrail_collector_policy_last_load_ok"), 0);

  // A good one is picked up: now everything is kept.
  write_policy("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n");
  ASSERT_TRUE(
      collector.process
          ->WaitForLine("reloaded (changed)", absl::Seconds(30), BackgroundProcess::Stream::kStderr)
          .ok());
  EXPECT_EQ(Sample(Metrics(collector.http_port), "kubetrail_collector_policy_last_load_ok"), 1);
  // SIGHUP re-reads it too.
  ASSERT_TRUE(collector.process->Signal(SIGHUP).ok());
  ASSERT_TRUE(
      collector.process
          ->WaitForLine("SIGHUP: reloaded", absl::Seconds(30), BackgroundProcess::Stream::kStderr)
          .ok());
  const std::set<std::string> two = Generate(dir.File("two.jsonl"), 300, 62);
  post(dir.File("two.jsonl"));
  const std::set<std::string> stored = AwaitStored(agg, static_cast<size_t>(kept) + two.size());
  EXPECT_EQ(stored.size(), static_cast<size_t>(kept) + two.size());
  for (const std::string& id : two) EXPECT_EQ(stored.count(id), 1u) << id;
}

TEST(CollectorProcessTest, MetricsPassPromtool) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  RunningAggregator agg = StartAggregator(dir.File("agg"));
  ASSERT_NE(agg.port, 0);
  RunningCollector collector = StartCollector(
      With(CollectorDevArgs(agg, dir.File("spool")), {"--webhook-listen", "127.0.0.1:0"}));
  ASSERT_NE(collector.http_port, 0);
  Generate(dir.File("events.jsonl"), 100, 71);
  auto sent =
      testing::RunSubprocess({testing::BinDir() + "/kubetrail-loadgen", "--send",
                              collector.webhook_url, "--timeout", "60", dir.File("events.jsonl")});
  ASSERT_TRUE(sent.ok() && sent->exit_code == 0);
  AwaitStored(agg, 100);
  const std::string metrics = Metrics(collector.http_port);
  EXPECT_THAT(metrics,
              HasSubstr("kubetrail_collector_events_spooled_total{source=\"webhook\"} 100"));
  EXPECT_THAT(metrics, HasSubstr("kubetrail_collector_webhook_requests_total{code=\"200\"} 1"));
  testing::ExpectPromtoolClean(metrics);
  httplib::Client http("127.0.0.1", collector.http_port);
  auto healthz = http.Get("/healthz");
  ASSERT_TRUE(healthz);
  EXPECT_EQ(healthz->status, 200);
  auto readyz = http.Get("/readyz");
  ASSERT_TRUE(readyz);
  EXPECT_EQ(readyz->status, 200);
}

TEST(CollectorProcessTest, BadFlagsAndConfigExitTwoWithOneClearLine) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  const std::string bin = testing::BinDir() + "/kubetrail-collector";
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), bin);
    auto r = testing::RunSubprocess(args);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.value_or(testing::SubprocessResult());
  };
  auto r = run({"--dev", "--webhook-listen", "127.0.0.1:0", "--spool-dir", dir.File("s")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.stderr_data, "kubetrail-collector: cluster is required (--cluster)\n");

  r = run({"--dev", "--cluster", "prod", "--webhook-listen", "0.0.0.0:8443", "--spool-dir",
           dir.File("s")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_data, HasSubstr("loopback only"));
  EXPECT_EQ(std::count(r.stderr_data.begin(), r.stderr_data.end(), '\n'), 1);

  r = run({"--cluster", "prod", "--webhook-listen", "127.0.0.1:0", "--spool-dir", dir.File("s")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_data, HasSubstr("TLS to the aggregator is required"));

  r = run({"--dev", "--cluster", "prod", "--webhook-listen", "127.0.0.1:0", "--spool-dir",
           dir.File("s"), "--policy", dir.File("missing.yaml")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_data, HasSubstr("missing.yaml"));

  const std::string config = dir.File("collector.yaml");
  {
    std::ofstream out(config);
    out << "cluster: prod\nspool:\n  dir: " << dir.File("s") << "\n  max_byte: 10\n";
  }
  r = run({"--config", config, "--dev", "--webhook-listen", "127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_data, HasSubstr("line 4: spool.max_byte: unknown key"));

  // A flag wins over the file, also to turn dev mode off.
  const std::string dev_config = dir.File("dev.yaml");
  {
    std::ofstream out(dev_config);
    out << "dev: true\ncluster: prod\nspool:\n  dir: " << dir.File("s") << "\n";
  }
  r = run({"--config", dev_config, "--dev=false", "--webhook-listen", "127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_data, HasSubstr("TLS to the aggregator is required"));

  r = run({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.stdout_data, HasSubstr("--spool-dir"));
}

}  // namespace
}  // namespace kubetrail
