// How kubetrail-collector, as a real process, gets events to real kubetrail-aggregators:
// the webhook and the audit log of one apiserver at once (stored once), logrotate's
// copytruncate under the tailer, SIGTERM while no aggregator answers (the spool keeps the
// events for the next start), failover to the next --aggregator, and gRPC compression.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "kubetrail/v1/query.grpc.pb.h"
#include "tests/testing/aggregator_process.h"
#include "tests/testing/background_process.h"
#include "tests/testing/collector_process.h"
#include "tests/testing/paths.h"
#include "tests/testing/ports.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wait.h"

namespace kubetrail {
namespace {

using testing::AwaitStored;
using testing::BackgroundProcess;
using testing::CollectorDevArgs;
using testing::Eventually;
using testing::Generate;
using ::testing::HasSubstr;
using testing::Metrics;
using testing::RunningAggregator;
using testing::RunningCollector;
using testing::Sample;
using testing::SetFlag;
using testing::StartAggregator;
using testing::StartCollector;
using testing::StoredIds;
using testing::With;

// Long enough for anything that should happen to happen on a slow, loaded machine.
constexpr absl::Duration kPatience = absl::Seconds(90);

// One sample of the collector's (or aggregator's) metrics at http://127.0.0.1:PORT, -1 when
// absent or unreadable.
double MetricAt(int http_port, const std::string& series) {
  return Sample(Metrics(http_port), series);
}

// Waits until `series` at `http_port` has `value`; true when it did within kPatience.
bool AwaitMetric(int http_port, const std::string& series, double value) {
  return Eventually([&] { return MetricAt(http_port, series) == value; }, kPatience);
}

// Appends the content of `from` to `to`, as a writer of `to` would.
void Append(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  std::ofstream out(to, std::ios::binary | std::ios::app);
  out << in.rdbuf();
}

// Posts the events of `file` to a collector's webhook as kube-apiserver does; expects them
// all accepted.
void Post(const RunningCollector& collector, const std::string& file, size_t count) {
  auto sent = testing::RunSubprocess({testing::BinDir() + "/kubetrail-loadgen", "--send",
                                      collector.webhook_url, "--timeout", "60", file});
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(sent->exit_code, 0) << sent->stdout_data << sent->stderr_data;
  EXPECT_THAT(sent->stdout_data, HasSubstr(absl::StrCat("\"accepted\":", count)));
}

// The events the aggregator stores for `cluster`, as "auditID/stage"; a pair stored twice is
// an EXPECT failure.
std::set<std::string> StoredIdsOf(const RunningAggregator& agg, const std::string& cluster) {
  auto query = kubetrail::v1::Query::NewStub(agg.channel);
  kubetrail::v1::SearchRequest req;
  req.mutable_filter()->add_clusters(cluster);
  req.set_limit(100'000);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto reader = query->Search(&ctx, req);
  std::set<std::string> ids;
  kubetrail::v1::SearchResponse r;
  while (reader->Read(&r)) {
    for (const auto& e : r.events()) {
      EXPECT_EQ(e.event().envelope().cluster(), cluster);
      EXPECT_TRUE(ids.insert(e.event().event().audit_id() + "/" + e.event().event().stage()).second)
          << cluster << ": stored twice: " << e.event().event().audit_id();
    }
  }
  const grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  return ids;
}

// kube-apiserver with both audit backends on (as deploy/ sets it up) writes every event to
// its log and posts it to the webhook. The collector takes both, under one --source, and the
// aggregator stores each event once: the two copies have the same identity.
TEST(CollectorDeliveryTest, WebhookAndLogOfOneApiserverAreStoredOnce) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  RunningAggregator agg = StartAggregator(dir.File("agg"));
  ASSERT_NE(agg.port, 0);
  const std::set<std::string> want = Generate(dir.File("events.jsonl"), 1500, 101);
  ASSERT_EQ(want.size(), 1500u);
  std::filesystem::create_directories(dir.File("log"));
  const std::string log = dir.File("log") + "/audit.log";
  Append(dir.File("events.jsonl"), log);

  // The tailer starts reading the log at once, while the same events are posted.
  RunningCollector collector =
      StartCollector(With(CollectorDevArgs(agg, dir.File("spool")),
                          {"--webhook-listen", "127.0.0.1:0", "--tail", log}));
  ASSERT_NE(collector.webhook_port, 0);
  ASSERT_NE(collector.http_port, 0);
  Post(collector, dir.File("events.jsonl"), want.size());

  // Both sources delivered every event to the spool...
  EXPECT_TRUE(AwaitMetric(collector.http_port,
                          "kubetrail_collector_events_spooled_total{source=\"webhook\"}", 1500));
  EXPECT_TRUE(AwaitMetric(collector.http_port,
                          "kubetrail_collector_events_spooled_total{source=\"tail\"}", 1500));
  // ... both copies were shipped and acknowledged ...
  EXPECT_TRUE(AwaitMetric(collector.http_port, "kubetrail_collector_spool_events", 0));
  // ... and the aggregator has each event once.
  EXPECT_EQ(AwaitStored(agg, want.size()), want);
  const std::string metrics = Metrics(collector.http_port);
  EXPECT_EQ(Sample(metrics, "kubetrail_collector_events_acked_total{result=\"stored\"}"), 1500)
      << metrics;
  // Every second copy is a duplicate (resends after a broken stream would add more).
  EXPECT_GE(Sample(metrics, "kubetrail_collector_events_acked_total{result=\"duplicate\"}"), 1500)
      << metrics;
  EXPECT_EQ(Sample(metrics, "kubetrail_collector_events_acked_total{result=\"rejected\"}"), 0);

  ASSERT_TRUE(collector.process->Signal(SIGTERM).ok());
  EXPECT_EQ(*collector.process->Wait(kPatience), 0) << collector.process->stderr_data();
}

// logrotate's copytruncate (tailer.h, "Losses"): audit.log is copied to audit.log.1 and
// truncated to 0 bytes in place, and the apiserver goes on appending to it. The tailer
// finishes the copy from its position, then reads the live file from its start: every line
// is spooled once (the spooled count, not only the idempotent store, shows that nothing was
// read twice) and no gap is reported.
TEST(CollectorDeliveryTest, CopytruncateRotationLosesNothingAndReadsNothingTwice) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  RunningAggregator agg = StartAggregator(dir.File("agg"));
  ASSERT_NE(agg.port, 0);
  const std::set<std::string> a = Generate(dir.File("a.jsonl"), 900, 111);
  const std::set<std::string> b = Generate(dir.File("b.jsonl"), 300, 112);
  const std::set<std::string> c = Generate(dir.File("c.jsonl"), 300, 113);
  // What is appended after the truncation is shorter than what the tailer had read before
  // it, so the truncated live file is shorter than the tailer's position whenever it looks
  // (the fingerprint of its first bytes would tell as well).
  ASSERT_LT(std::filesystem::file_size(dir.File("c.jsonl")),
            std::filesystem::file_size(dir.File("a.jsonl")));
  std::filesystem::create_directories(dir.File("log"));
  const std::string log = dir.File("log") + "/audit.log";
  Append(dir.File("a.jsonl"), log);
  RunningCollector collector =
      StartCollector(With(CollectorDevArgs(agg, dir.File("spool")), {"--tail", log}));
  ASSERT_NE(collector.http_port, 0);
  EXPECT_EQ(AwaitStored(agg, a.size()), a);

  // More lines arrive, and right after them logrotate runs: the tailer has read all, some or
  // none of b when the copy is made; it finds the rest in audit.log.1.
  Append(dir.File("b.jsonl"), log);
  std::filesystem::copy_file(log, log + ".1");
  std::filesystem::resize_file(log, 0);
  Append(dir.File("c.jsonl"), log);

  std::set<std::string> want = a;
  want.insert(b.begin(), b.end());
  want.insert(c.begin(), c.end());
  EXPECT_EQ(AwaitStored(agg, want.size()), want);
  EXPECT_TRUE(AwaitMetric(collector.http_port, "kubetrail_collector_spool_events", 0));
  const std::string metrics = Metrics(collector.http_port);
  EXPECT_EQ(Sample(metrics, "kubetrail_collector_events_spooled_total{source=\"tail\"}"),
            static_cast<double>(want.size()))
      << metrics;
  EXPECT_EQ(Sample(metrics, "kubetrail_collector_tail_gaps_total"), 0) << metrics;
  EXPECT_EQ(Sample(metrics, "kubetrail_collector_tail_lines_skipped_total"), 0) << metrics;
  EXPECT_THAT(collector.process->stderr_data(), HasSubstr("was truncated; finishing its copy"));

  ASSERT_TRUE(collector.process->Signal(SIGTERM).ok());
  EXPECT_EQ(*collector.process->Wait(kPatience), 0) << collector.process->stderr_data();
}

// SIGTERM while no aggregator answers: the collector ships for --drain-timeout only, exits 0
// and says how many events stay spooled. Started again on the same spool, it ships them all.
TEST(CollectorDeliveryTest, SigtermWithTheAggregatorAwayKeepsTheSpoolForTheNextStart) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  // An aggregator's port, then nothing listens there.
  RunningAggregator agg = StartAggregator(dir.File("agg"));
  ASSERT_NE(agg.port, 0);
  const int agg_port = agg.port;
  ASSERT_TRUE(agg.process->Signal(SIGTERM).ok());
  ASSERT_EQ(*agg.process->Wait(kPatience), 0);

  const std::vector<std::string> args =
      SetFlag(With(CollectorDevArgs(agg, dir.File("spool")), {"--webhook-listen", "127.0.0.1:0"}),
              "--drain-timeout", "2s");
  RunningCollector collector = StartCollector(args);
  ASSERT_NE(collector.webhook_port, 0);
  const std::set<std::string> want = Generate(dir.File("events.jsonl"), 1500, 121);
  ASSERT_EQ(want.size(), 1500u);
  Post(collector, dir.File("events.jsonl"), want.size());
  // A 200 from the webhook means durably spooled.
  EXPECT_EQ(MetricAt(collector.http_port, "kubetrail_collector_spool_events"), 1500);

  ASSERT_TRUE(collector.process->Signal(SIGTERM).ok());
  // A bound on the exit, far above the 2 s drain (and below the default 30 s drain plus the
  // shutdown, so that an ignored --drain-timeout fails here).
  const absl::StatusOr<int> exit = collector.process->Wait(absl::Seconds(30));
  ASSERT_TRUE(exit.ok()) << exit.status() << "\n" << collector.process->stderr_data();
  EXPECT_EQ(*exit, 0) << collector.process->stderr_data();
  EXPECT_THAT(collector.process->stderr_data(), HasSubstr("1500 events are still spooled"));
  EXPECT_THAT(collector.process->stderr_data(), HasSubstr("shipped after the next start"));

  // The aggregator is back where it was; the collector is started again on the same spool.
  agg = StartAggregator(dir.File("agg"), {"--dev", "--listen", absl::StrCat("127.0.0.1:", agg_port),
                                          "--data-dir", dir.File("agg")});
  ASSERT_EQ(agg.port, agg_port);
  collector = StartCollector(args);
  ASSERT_NE(collector.http_port, 0);
  EXPECT_EQ(AwaitStored(agg, want.size()), want);
  EXPECT_TRUE(AwaitMetric(collector.http_port, "kubetrail_collector_spool_events", 0));
  EXPECT_EQ(
      MetricAt(collector.http_port, "kubetrail_collector_events_acked_total{result=\"stored\"}"),
      1500);

  ASSERT_TRUE(collector.process->Signal(SIGTERM).ok());
  EXPECT_EQ(*collector.process->Wait(kPatience), 0) << collector.process->stderr_data();
  EXPECT_THAT(collector.process->stderr_data(), ::testing::Not(HasSubstr("still spooled")));
}

// Several --aggregator addresses, tried in order; the collector moves to the next one when
// batches wait and no ack has come for ship.failover_after (3 s here). The first
// address refuses connections: everything goes to the second, once. Then the second is
// killed while events flow: what it had not acknowledged, and what comes after, goes to the
// third. An event the second stored but could not acknowledge before it died is sent to the
// third again and is then in both stores: that is expected (each store has it once); what
// matters is that the two together have every event.
TEST(CollectorDeliveryTest, FailsOverToTheNextAggregator) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  RunningAggregator a = StartAggregator(dir.File("agg-a"));
  ASSERT_NE(a.port, 0);
  RunningAggregator b = StartAggregator(dir.File("agg-b"));
  ASSERT_NE(b.port, 0);
  const int dead_port = testing::UnusedLoopbackPort();
  ASSERT_NE(dead_port, 0);
  const std::string dead = absl::StrCat("127.0.0.1:", dead_port);
  const std::string to_a = absl::StrCat("127.0.0.1:", a.port);
  const std::string to_b = absl::StrCat("127.0.0.1:", b.port);
  dir.Write("collector.yaml", "ship: {failover_after: 3s}\n");
  RunningCollector collector = StartCollector(
      With(CollectorDevArgs({dead, to_a, to_b}, dir.File("spool")),
           {"--webhook-listen", "127.0.0.1:0", "--config", dir.File("collector.yaml")}));
  ASSERT_NE(collector.webhook_port, 0);

  // Nothing listens on the first address.
  const std::set<std::string> one = Generate(dir.File("one.jsonl"), 1000, 131);
  Post(collector, dir.File("one.jsonl"), one.size());
  EXPECT_EQ(AwaitStored(a, one.size()), one);
  EXPECT_TRUE(collector.process
                  ->WaitForLine(absl::StrCat("no ack from aggregator ", dead), kPatience,
                                BackgroundProcess::Stream::kStderr)
                  .ok());
  EXPECT_THAT(collector.process->stderr_data(), HasSubstr("switching to " + to_a));
  EXPECT_TRUE(AwaitMetric(collector.http_port, "kubetrail_collector_spool_events", 0));
  std::string metrics = Metrics(collector.http_port);
  // Once on a live aggregator, acks flow: no further switch.
  EXPECT_EQ(Sample(metrics, "kubetrail_collector_failovers_total"), 1) << metrics;
  EXPECT_EQ(Sample(metrics, "kubetrail_collector_events_acked_total{result=\"stored\"}"), 1000)
      << metrics;
  EXPECT_TRUE(StoredIds(b.channel).empty());

  // The second aggregator dies (SIGKILL) once events of `two` reach it; `three` comes after.
  const std::set<std::string> two = Generate(dir.File("two.jsonl"), 2000, 132);
  const std::set<std::string> three = Generate(dir.File("three.jsonl"), 500, 133);
  auto client = BackgroundProcess::Start({testing::BinDir() + "/kubetrail-loadgen", "--send",
                                          collector.webhook_url, "--rate", "2000", "--timeout",
                                          "60", dir.File("two.jsonl")});
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_TRUE(Eventually(
      [&] {
        return MetricAt(a.http_port, "kubetrail_ingest_stored_events_total{cluster=\"prod\"}") >
               1000;
      },
      kPatience));
  ASSERT_TRUE(a.process->Signal(SIGKILL).ok());
  ASSERT_TRUE(a.process->Wait(kPatience).ok());
  const absl::StatusOr<int> client_exit = (*client)->Wait(kPatience);
  ASSERT_TRUE(client_exit.ok()) << client_exit.status();
  EXPECT_EQ(*client_exit, 0) << (*client)->stdout_data() << (*client)->stderr_data();
  EXPECT_THAT((*client)->stdout_data(), HasSubstr("\"accepted\":2000"));
  Post(collector, dir.File("three.jsonl"), three.size());

  EXPECT_TRUE(collector.process
                  ->WaitForLine(absl::StrCat("no ack from aggregator ", to_a), kPatience,
                                BackgroundProcess::Stream::kStderr)
                  .ok());
  EXPECT_THAT(collector.process->stderr_data(), HasSubstr("switching to " + to_b));
  EXPECT_TRUE(AwaitMetric(collector.http_port, "kubetrail_collector_spool_events", 0));
  metrics = Metrics(collector.http_port);
  EXPECT_EQ(Sample(metrics, "kubetrail_collector_failovers_total"), 2) << metrics;

  // What the killed aggregator stored, read back after a restart on its data.
  a = StartAggregator(dir.File("agg-a"));
  ASSERT_NE(a.port, 0);
  const std::set<std::string> in_a = StoredIds(a.channel);
  const std::set<std::string> in_b = StoredIds(b.channel);
  std::set<std::string> want = one;
  want.insert(two.begin(), two.end());
  want.insert(three.begin(), three.end());
  std::set<std::string> in_either = in_a;
  in_either.insert(in_b.begin(), in_b.end());
  EXPECT_EQ(in_either.size(), want.size());
  EXPECT_TRUE(in_either == want) << "missing or unexpected events";
  EXPECT_TRUE(std::includes(in_a.begin(), in_a.end(), one.begin(), one.end()));
  EXPECT_TRUE(std::includes(in_b.begin(), in_b.end(), three.begin(), three.end()));

  ASSERT_TRUE(collector.process->Signal(SIGTERM).ok());
  EXPECT_EQ(*collector.process->Wait(kPatience), 0) << collector.process->stderr_data();
}

// --compression: the batches go out as zstd frames (the default), with gRPC's gzip or
// deflate, or uncompressed. Four collectors, one per setting and each its own cluster, tail
// the same log to one aggregator: each cluster gets every event once, and the aggregator saw
// the same event bytes (after decompression) from each. gRPC's own trace of its compression
// (GRPC_TRACE=compression, gRPC core's "Compressed[ALGORITHM] N bytes vs. M bytes" line)
// shows that gzip and deflate are really used on the wire, and that gRPC compresses nothing
// for zstd (done by the collector itself) and none.
TEST(CollectorDeliveryTest, EveryCompressionStoresEveryEventOnce) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  RunningAggregator agg = StartAggregator(dir.File("agg"));
  ASSERT_NE(agg.port, 0);
  ASSERT_NE(agg.http_port, 0);
  const std::set<std::string> want = Generate(dir.File("events.jsonl"), 1000, 141);
  ASSERT_EQ(want.size(), 1000u);
  std::filesystem::create_directories(dir.File("log"));
  const std::string log = dir.File("log") + "/audit.log";
  Append(dir.File("events.jsonl"), log);

  const std::vector<std::string> compressions = {"zstd", "gzip", "deflate", "none"};
  std::vector<RunningCollector> collectors;
  for (const std::string& compression : compressions) {
    collectors.push_back(
        StartCollector(With(SetFlag(CollectorDevArgs(agg, dir.File("spool-" + compression)),
                                    "--cluster", compression),
                            {"--tail", log, "--compression", compression}),
                       {.env = {"GRPC_TRACE=compression", "GRPC_VERBOSITY=INFO"}}));
    ASSERT_NE(collectors.back().http_port, 0) << compression;
  }

  std::vector<double> bytes;
  for (size_t i = 0; i < compressions.size(); ++i) {
    const std::string& cluster = compressions[i];
    const std::string label = absl::StrCat("{cluster=\"", cluster, "\"}");
    EXPECT_TRUE(AwaitMetric(agg.http_port, "kubetrail_ingest_stored_events_total" + label, 1000))
        << cluster << "\n"
        << Metrics(agg.http_port);
    EXPECT_EQ(StoredIdsOf(agg, cluster), want) << cluster;
    EXPECT_TRUE(AwaitMetric(collectors[i].http_port, "kubetrail_collector_spool_events", 0))
        << cluster;
    // Nothing failed, so nothing was sent twice: the aggregator received each event once,
    // and the event bytes it counted are the same whatever the compression on the wire.
    EXPECT_EQ(
        MetricAt(collectors[i].http_port, "kubetrail_collector_events_sent_total{kind=\"resend\"}"),
        0)
        << cluster;
    const std::string metrics = Metrics(agg.http_port);
    EXPECT_EQ(Sample(metrics, "kubetrail_ingest_events_total" + label), 1000) << cluster;
    bytes.push_back(Sample(metrics, "kubetrail_ingest_bytes_total" + label));
    EXPECT_GT(bytes.back(), 0) << cluster;
    EXPECT_EQ(bytes.back(), bytes.front()) << cluster << " vs " << compressions.front();
  }
  for (size_t i = 0; i < compressions.size(); ++i) {
    BackgroundProcess& process = *collectors[i].process;
    ASSERT_TRUE(process.Signal(SIGTERM).ok());
    EXPECT_EQ(*process.Wait(kPatience), 0) << process.stderr_data();
    if (compressions[i] == "gzip" || compressions[i] == "deflate") {
      EXPECT_THAT(process.stderr_data(), HasSubstr("Compressed[" + compressions[i] + "]"));
    } else {
      EXPECT_THAT(process.stderr_data(), ::testing::Not(HasSubstr("Compressed[")))
          << compressions[i];
    }
  }

  // Anything else is a config error.
  auto bad = testing::RunSubprocess({testing::BinDir() + "/kubetrail-collector", "--dev",
                                     "--cluster", "prod", "--tail", log, "--spool-dir",
                                     dir.File("spool-bad"), "--compression", "brotli"});
  ASSERT_TRUE(bad.ok()) << bad.status();
  EXPECT_EQ(bad->exit_code, 2);
  EXPECT_EQ(bad->stderr_data,
            "kubetrail-collector: ship.compression: want zstd, gzip, deflate or none, got "
            "\"brotli\"\n");
}

}  // namespace
}  // namespace kubetrail
