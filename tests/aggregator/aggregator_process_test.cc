// kubetrail-aggregator as a real process: SIGKILL mid-stream loses nothing acked (and the
// resend stores the rest exactly once), SIGTERM drains and exits 0, the metrics exposition
// passes `promtool check metrics`, and bad flags or config exit 2 with one clear line.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/tls.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "kubetrail/v1/query.grpc.pb.h"
#include "reflection_v1alpha.grpc.pb.h"
#include "services/aggregator/testing/ingest_client.h"
#include "tests/testing/aggregator_process.h"
#include "tests/testing/background_process.h"
#include "tests/testing/certs.h"
#include "tests/testing/paths.h"
#include "tests/testing/promtool.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace kubetrail {
namespace {

namespace v1 = ::kubetrail::v1;
using aggregator::testing::Ctx;
using aggregator::testing::Events;
using aggregator::testing::IngestClient;
using testing::BackgroundProcess;
using testing::RunningAggregator;
using testing::StartAggregator;
using testing::StoredIds;
using ::testing::HasSubstr;

constexpr int kPerBatch = 50;

std::string Id(const v1::EnvelopedEvent& e) {
  return e.event().audit_id() + "/" + e.event().stage();
}

TEST(AggregatorProcessTest, SigkillMidStreamLosesNothingAckedAndResendStoresTheRestOnce) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok()) << dir.error();
  constexpr int kBatches = 200;
  std::vector<std::vector<v1::EnvelopedEvent>> batches;
  for (int b = 0; b < kBatches; ++b) batches.push_back(Events(kPerBatch, 5000 + b));

  RunningAggregator agg = StartAggregator(dir.path());
  ASSERT_NE(agg.port, 0);
  std::set<uint64_t> acked;
  {
    IngestClient client(agg.channel, "prod", "node-1");
    ASSERT_TRUE(client.Welcome());
    std::thread sender([&] {
      for (int b = 0; b < kBatches; ++b) {
        if (!client.Send(b + 1, batches[b])) break;
      }
    });
    // Kill the process after some acks, while batches are in flight.
    while (acked.size() < 40) {
      std::optional<v1::Ack> ack = client.ReadAck();
      ASSERT_TRUE(ack);
      acked.insert(ack->sequence());
    }
    ASSERT_TRUE(agg.process->Signal(SIGKILL).ok());
    while (std::optional<v1::Ack> ack = client.ReadAck()) acked.insert(ack->sequence());
    sender.join();
    client.Finish();
  }
  ASSERT_EQ(*agg.process->Wait(absl::Seconds(30)), -1);
  ASSERT_LT(acked.size(), static_cast<size_t>(kBatches)) << "killed too late to matter";

  // Restart on the same data: every acked event is there.
  RunningAggregator again = StartAggregator(dir.path());
  ASSERT_NE(again.port, 0);
  const std::set<std::string> after_crash = StoredIds(again.channel);
  for (uint64_t seq : acked) {
    for (const auto& e : batches[seq - 1]) EXPECT_TRUE(after_crash.contains(Id(e))) << seq;
  }
  // The collector resends everything not acked (here: everything, the strictest case).
  IngestClient client(again.channel, "prod", "node-1");
  ASSERT_TRUE(client.Welcome());
  uint64_t stored = 0, duplicates = 0;
  for (int b = 0; b < kBatches; ++b) {
    ASSERT_TRUE(client.Send(b + 1, batches[b]));
    std::optional<v1::Ack> ack = client.ReadAck();
    ASSERT_TRUE(ack);
    stored += ack->stored();
    duplicates += ack->duplicates();
    if (acked.contains(b + 1)) {
      EXPECT_EQ(ack->duplicates(), uint32_t{kPerBatch});
    }
  }
  EXPECT_TRUE(client.Close().ok());
  EXPECT_EQ(stored + duplicates, uint64_t{kBatches} * kPerBatch);
  EXPECT_EQ(duplicates, after_crash.size());
  EXPECT_EQ(StoredIds(again.channel).size(), size_t{kBatches} * kPerBatch);

  ASSERT_TRUE(again.process->Signal(SIGTERM).ok());
  EXPECT_EQ(*again.process->Wait(absl::Seconds(60)), 0) << again.process->stderr_data();
}

TEST(AggregatorProcessTest, SigtermDrainsInFlightBatchesAndExitsZero) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok()) << dir.error();
  RunningAggregator agg = StartAggregator(dir.path());
  ASSERT_NE(agg.port, 0);
  IngestClient client(agg.channel, "prod", "node-1");
  ASSERT_TRUE(client.Welcome());
  std::set<uint64_t> acked;
  for (int b = 1; b <= 10; ++b) ASSERT_TRUE(client.Send(b, Events(kPerBatch, 7000 + b)));
  for (int b = 1; b <= 3; ++b) acked.insert(client.ReadAck()->sequence());

  const absl::Time start = absl::Now();
  ASSERT_TRUE(agg.process->Signal(SIGTERM).ok());
  while (std::optional<v1::Ack> ack = client.ReadAck()) acked.insert(ack->sequence());
  grpc::Status end = client.Finish();
  absl::StatusOr<int> code = agg.process->Wait(absl::Seconds(60));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << agg.process->stderr_data();
  EXPECT_LT(absl::Now() - start, absl::Seconds(15));
  EXPECT_THAT(agg.process->stderr_data(), HasSubstr("store closed: OK"));
  // Batches already read when draining began were written and acknowledged; any others
  // were neither stored nor acked (the collector resends them).
  EXPECT_GE(acked.size(), 3u) << end.error_message();
  EXPECT_TRUE(end.ok() || end.error_code() == grpc::StatusCode::UNAVAILABLE) << end.error_message();

  RunningAggregator again = StartAggregator(dir.path());
  const std::set<std::string> stored = StoredIds(again.channel);
  EXPECT_EQ(stored.size(), acked.size() * kPerBatch);
  for (uint64_t seq : acked) {
    for (const auto& e : Events(kPerBatch, 7000 + seq)) EXPECT_TRUE(stored.contains(Id(e)));
  }
}

TEST(AggregatorProcessTest, ServesReflection) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok()) << dir.error();
  RunningAggregator agg = StartAggregator(dir.path());
  ASSERT_NE(agg.port, 0);
  auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(agg.channel);
  auto ctx = Ctx();
  auto stream = stub->ServerReflectionInfo(ctx.get());
  grpc::reflection::v1alpha::ServerReflectionRequest req;
  req.set_list_services("");
  ASSERT_TRUE(stream->Write(req));
  stream->WritesDone();
  grpc::reflection::v1alpha::ServerReflectionResponse resp;
  ASSERT_TRUE(stream->Read(&resp));
  std::set<std::string> services;
  for (const auto& s : resp.list_services_response().service()) services.insert(s.name());
  EXPECT_TRUE(stream->Finish().ok());
  for (const char* name : {"kubetrail.v1.Ingest", "kubetrail.v1.Query", "kubetrail.v1.Admin",
                           "grpc.health.v1.Health"}) {
    EXPECT_TRUE(services.contains(name)) << name;
  }
}

TEST(AggregatorProcessTest, MetricsPassPromtoolAndProbesAnswer) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok()) << dir.error();
  RunningAggregator agg = StartAggregator(dir.path());
  ASSERT_NE(agg.http_port, 0);
  {
    IngestClient client(agg.channel, "prod", "node-1");
    ASSERT_TRUE(client.Welcome());
    ASSERT_TRUE(client.Send(1, Events(kPerBatch, 1)));
    ASSERT_TRUE(client.ReadAck());
    EXPECT_TRUE(client.Close().ok());
  }
  auto query = v1::Query::NewStub(agg.channel);
  v1::CountResponse count;
  ASSERT_TRUE(query->Count(Ctx().get(), {}, &count).ok());

  httplib::Client http("127.0.0.1", agg.http_port);
  auto metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_THAT(metrics->body,
              HasSubstr("kubetrail_ingest_stored_events_total{cluster=\"prod\"} 50"));
  EXPECT_THAT(metrics->body, HasSubstr("kubetrail_query_seconds_count{rpc=\"Count\"} 1"));
  EXPECT_THAT(metrics->body,
              HasSubstr("kubetrail_collector_last_seen_timestamp_seconds{cluster=\"prod\","
                        "source=\"node-1\"}"));
  EXPECT_THAT(metrics->body, HasSubstr("kubetrail_store_events{cluster=\"prod\"} 50"));
  testing::ExpectPromtoolClean(metrics->body);

  auto healthz = http.Get("/healthz");
  ASSERT_TRUE(healthz);
  EXPECT_EQ(healthz->status, 200);
  auto readyz = http.Get("/readyz");
  ASSERT_TRUE(readyz);
  EXPECT_EQ(readyz->status, 200);
}

// Outside --dev: TLS from the config file, collectors bound to clusters by certificate;
// SIGHUP applies a changed config without a restart, and a broken one leaves the running
// rules in place.
TEST(AggregatorProcessTest, SighupReloadsAccessRulesFromTheConfigFile) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok()) << dir.error();
  auto ca = testing::TestCa::Create("kubetrail test CA", dir.path());
  ASSERT_TRUE(ca.ok()) << ca.status();
  auto server = ca->IssueServer("server");
  auto client = ca->IssueClient("collector", {.common_name = "collector-a"});
  ASSERT_TRUE(server.ok() && client.ok());
  const std::string config = dir.path() + "/aggregator.yaml";
  auto write_config = [&](const std::string& clusters) {
    std::ofstream out(config);
    out << "listen: 127.0.0.1:0\n"
        << "data_dir: " << dir.path() << "/data\n"
        << "tls:\n  cert_file: " << server->cert_file << "\n  key_file: " << server->key_file
        << "\n  client_ca_file: " << ca->cert_file() << "\n"
        << "collectors:\n  - identity: collector-a\n    clusters: " << clusters << "\n";
  };
  write_config("[prod-a]");
  auto credentials = MakeClientCredentials(
      {.ca_file = ca->cert_file(), .cert_file = client->cert_file, .key_file = client->key_file});
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  RunningAggregator agg = StartAggregator(dir.path(), {"--config", config}, *credentials);
  ASSERT_NE(agg.port, 0);
  auto welcome = [&](const std::string& cluster) {
    IngestClient c(agg.channel, cluster, "node-1");
    const bool ok = c.Welcome().has_value();
    grpc::Status end = ok ? c.Close() : c.Finish();
    return ok ? grpc::StatusCode::OK : end.error_code();
  };
  EXPECT_EQ(welcome("prod-a"), grpc::StatusCode::OK);
  EXPECT_EQ(welcome("prod-b"), grpc::StatusCode::PERMISSION_DENIED);

  write_config("[prod-a, prod-b]");
  ASSERT_TRUE(agg.process->Signal(SIGHUP).ok());
  ASSERT_TRUE(
      agg.process
          ->WaitForLine("SIGHUP: reloaded", absl::Seconds(30), BackgroundProcess::Stream::kStderr)
          .ok());
  EXPECT_EQ(welcome("prod-b"), grpc::StatusCode::OK);

  // kubetrail-loadgen over TLS with the collector's certificate, as a collector ships.
  auto sent =
      testing::RunSubprocess({testing::BinDir() + "/kubetrail-loadgen", "--send",
                              absl::StrCat("grpcs://127.0.0.1:", agg.port), "--cluster", "prod-b",
                              "--count", "100", "--tls-ca", ca->cert_file(), "--tls-cert",
                              client->cert_file, "--tls-key", client->key_file, "--timeout", "60"});
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(sent->exit_code, 0) << sent->stderr_data;
  EXPECT_THAT(sent->stdout_data, HasSubstr("\"stored\":100"));

  {
    std::ofstream out(config);
    out << "collectors: [broken\n";
  }
  ASSERT_TRUE(agg.process->Signal(SIGHUP).ok());
  auto failed = agg.process->WaitForLine("reload failed", absl::Seconds(30),
                                         BackgroundProcess::Stream::kStderr);
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_THAT(*failed, HasSubstr("aggregator.yaml"));
  EXPECT_EQ(welcome("prod-b"), grpc::StatusCode::OK);

  ASSERT_TRUE(agg.process->Signal(SIGTERM).ok());
  EXPECT_EQ(*agg.process->Wait(absl::Seconds(60)), 0) << agg.process->stderr_data();
}

TEST(AggregatorProcessTest, BadFlagsAndConfigExitTwoWithOneClearLine) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok()) << dir.error();
  const std::string bin = testing::BinDir() + "/kubetrail-aggregator";
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), bin);
    auto r = testing::RunSubprocess(args);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.value_or(testing::SubprocessResult());
  };
  auto r = run({"--dev", "--listen", "0.0.0.0:7443", "--data-dir", dir.path()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_data, HasSubstr("loopback only"));
  EXPECT_EQ(std::count(r.stderr_data.begin(), r.stderr_data.end(), '\n'), 1);

  r = run({"--listen", "127.0.0.1:0", "--data-dir", dir.path()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_data, HasSubstr("TLS is required outside --dev"));

  r = run({"--config", dir.path() + "/missing.yaml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_data, HasSubstr("missing.yaml"));

  const std::string config = dir.path() + "/aggregator.yaml";
  {
    std::ofstream out(config);
    out << "listen: 127.0.0.1:0\nlimits:\n  max_batch_event: 10\n";
  }
  r = run({"--config", config, "--dev", "--data-dir", dir.path()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_data, HasSubstr("line 3: limits.max_batch_event: unknown key"));

  // A flag wins over the file, also to turn dev mode off.
  const std::string dev_config = dir.path() + "/dev.yaml";
  {
    std::ofstream out(dev_config);
    out << "dev: true\nlisten: 127.0.0.1:0\n";
  }
  r = run({"--config", dev_config, "--dev=false", "--data-dir", dir.path()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_data, HasSubstr("TLS is required outside --dev"));

  r = run({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.stdout_data, HasSubstr("--data-dir"));
}

}  // namespace
}  // namespace kubetrail
