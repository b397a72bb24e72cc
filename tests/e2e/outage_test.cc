// The aggregator goes away under load and comes back: two clusters (EventList POSTs to one
// collector's webhook; an audit log with logrotate rotations, delaycompress, for the other)
// keep sending while the aggregator is down. The collectors spool everything (the webhook keeps
// answering 200, the tailer keeps reading), and once the aggregator is back on its port every
// event arrives, once, byte for byte, and the spools empty.
//
// One line on stdout states the figures:
//   e2e outage: events=16000 outage_seconds=… spooled_webhook=… spooled_tail=…
//   drain_seconds=… lost=0 duplicated=0 unexpected=0 seconds=…
// (spooled_*: the events each spool held at the end of the outage; drain_seconds: from the
// aggregator's restart until every event was stored).
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/cluster.h"
#include "tests/testing/background_process.h"
#include "tests/testing/paths.h"
#include "tests/testing/temp_dir.h"

namespace kubetrail {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kEventsPerCluster = 8000;
constexpr double kEventsPerSecond = 1000;  // per cluster: the load lasts about 8 s

TEST(E2eOutageTest, AggregatorAwayUnderLoadThenEverythingArrives) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok()) << dir.error();
  absl::StatusOr<std::vector<std::string>> web_input =
      e2e::Generate(dir.File("web.jsonl"), kEventsPerCluster, 401);
  absl::StatusOr<std::vector<std::string>> tail_input =
      e2e::Generate(dir.File("tail.jsonl"), kEventsPerCluster, 402);
  ASSERT_TRUE(web_input.ok()) << web_input.status();
  ASSERT_TRUE(tail_input.ok()) << tail_input.status();

  e2e::AggregatorProcess agg(dir.File("agg"));
  KT_E2E_ASSERT_OK(agg.Start());
  e2e::CollectorProcess web(
      e2e::WebhookCollectorArgs(agg.address(), dir.File("web-spool")));
  KT_E2E_ASSERT_OK(web.Start());
  ASSERT_TRUE(std::filesystem::create_directory(dir.File("log")));
  const std::string log = dir.File("log/audit.log");
  e2e::CollectorProcess tail(
      e2e::TailCollectorArgs(agg.address(), dir.File("tail-spool"), log));
  KT_E2E_ASSERT_OK(tail.Start());

  // The first eighth of each load before the outage, the rest once the aggregator is gone:
  // the outage falls inside the load by construction, whatever the machine's speed.
  constexpr int kBefore = kEventsPerCluster / 8;
  const auto part = [&](int from, int to) {
    std::string text;
    for (int i = from; i < to; ++i) absl::StrAppend(&text, (*web_input)[i], "\n");
    return text;
  };
  const std::string web_first = dir.Write("web-first.jsonl", part(0, kBefore));
  const std::string web_rest = dir.Write("web-rest.jsonl", part(kBefore, kEventsPerCluster));
  const auto send = [&](const std::string& file) {
    return testing::BackgroundProcess::Start(
        {testing::BinDir() + "/kubetrail-loadgen", "--send", web.webhook_url(), "--streams", "2",
         "--rate", absl::StrCat(kEventsPerSecond), "--timeout", "120", file});
  };
  const absl::Time start = absl::Now();
  auto first = send(web_first);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::Notification outage_started;
  e2e::AuditLogWriter writer({.path = log,
                              .rotation = e2e::Rotation::kLogrotate,
                              .rotate_every_lines = 1000,
                              .compress = true,
                              .lines_per_second = kEventsPerSecond,
                              .seed = 403,
                              .pause_after_lines = kBefore,
                              .resume = &outage_started},
                             *tail_input);

  // Events flow through to the aggregator; then, early in the load, it goes away (SIGTERM: the
  // chaos test does the SIGKILLs) while the load goes on.
  for (const char* cluster : {"e2e-webhook", "e2e-tail"}) {
    absl::StatusOr<uint64_t> stored = e2e::AwaitCount(agg.address(), cluster, 1, absl::Seconds(60));
    ASSERT_TRUE(stored.ok() && *stored >= 1) << cluster << ": " << stored.status();
  }
  absl::StatusOr<int> first_exit = (*first)->Wait(absl::Seconds(120));
  ASSERT_TRUE(first_exit.ok()) << first_exit.status();
  EXPECT_EQ(*first_exit, 0) << (*first)->stdout_data() << (*first)->stderr_data();
  KT_E2E_ASSERT_OK(agg.Stop());
  const absl::Time outage = absl::Now();
  const std::string web_spooled_total =
      "kubetrail_collector_events_spooled_total{source=\"webhook\"}";
  const std::string tail_spooled_total =
      "kubetrail_collector_events_spooled_total{source=\"tail\"}";
  const double web_before = web.Metric(web_spooled_total);
  const double tail_before = tail.Metric(tail_spooled_total);

  // Both collectors take in the rest of the load meanwhile: the webhook answers 200 to every
  // POST, the tailer reads every line.
  auto client = send(web_rest);
  ASSERT_TRUE(client.ok()) << client.status();
  outage_started.Notify();
  absl::StatusOr<int> client_exit = (*client)->Wait(absl::Seconds(120));
  ASSERT_TRUE(client_exit.ok()) << client_exit.status();
  EXPECT_EQ(*client_exit, 0) << (*client)->stdout_data() << (*client)->stderr_data();
  EXPECT_THAT((*first)->stdout_data(), HasSubstr(absl::StrCat("\"accepted\":", kBefore, ",")));
  EXPECT_THAT((*client)->stdout_data(),
              HasSubstr(absl::StrCat("\"accepted\":", kEventsPerCluster - kBefore, ",")));
  EXPECT_THAT((*client)->stdout_data(), Not(HasSubstr("\"503\"")));
  KT_E2E_ASSERT_OK(writer.Wait(absl::Seconds(120)));
  EXPECT_EQ(
      tail.AwaitMetric(
          tail_spooled_total, [](double v) { return v >= kEventsPerCluster; }, absl::Seconds(60)),
      kEventsPerCluster);
  EXPECT_EQ(web.Metric(web_spooled_total), kEventsPerCluster);
  // Still down: the spools hold at least what came in during the outage (7/8 of each load),
  // nothing of it shipped or dropped.
  const double web_during = kEventsPerCluster - web_before;
  const double tail_during = kEventsPerCluster - tail_before;
  EXPECT_GE(web_during, kEventsPerCluster - kBefore);
  EXPECT_GE(tail_during, kEventsPerCluster - kBefore);
  const double spooled_web = web.Metric("kubetrail_collector_spool_events");
  const double spooled_tail = tail.Metric("kubetrail_collector_spool_events");
  EXPECT_GE(spooled_web, web_during);
  EXPECT_GE(spooled_tail, tail_during);
  const double outage_seconds = absl::ToDoubleSeconds(absl::Now() - outage);

  // Back on the same port: everything arrives.
  KT_E2E_ASSERT_OK(agg.Start());
  const absl::Time back = absl::Now();
  KT_E2E_ASSERT_OK(
      e2e::AwaitCount(agg.address(), "e2e-webhook", web_input->size(), absl::Seconds(120))
          .status());
  KT_E2E_ASSERT_OK(
      e2e::AwaitCount(agg.address(), "e2e-tail", tail_input->size(), absl::Seconds(120)).status());
  const double drain_seconds = absl::ToDoubleSeconds(absl::Now() - back);
  absl::StatusOr<e2e::Figures> web_figures =
      e2e::CompareCluster(agg.address(), "e2e-webhook", *web_input);
  absl::StatusOr<e2e::Figures> tail_figures =
      e2e::CompareCluster(agg.address(), "e2e-tail", *tail_input);
  ASSERT_TRUE(web_figures.ok()) << web_figures.status();
  ASSERT_TRUE(tail_figures.ok()) << tail_figures.status();
  std::cout << "e2e outage: events=" << web_input->size() + tail_input->size()
            << " outage_seconds=" << static_cast<int>(outage_seconds)
            << " spooled_webhook=" << spooled_web << " spooled_tail=" << spooled_tail
            << " drain_seconds=" << static_cast<int>(drain_seconds)
            << " lost=" << web_figures->lost + tail_figures->lost
            << " duplicated=" << web_figures->duplicated + tail_figures->duplicated
            << " unexpected=" << web_figures->unexpected + tail_figures->unexpected
            << " seconds=" << static_cast<int>(absl::ToDoubleSeconds(absl::Now() - start))
            << std::endl;
  EXPECT_TRUE(web_figures->exact()) << "e2e-webhook: " << e2e::Describe(*web_figures);
  EXPECT_TRUE(tail_figures->exact()) << "e2e-tail: " << e2e::Describe(*tail_figures);

  // The spools empty once the acks are in.
  e2e::ExpectSpoolsEmptyThenStop(agg, {&tail, &web});
}

}  // namespace
}  // namespace kubetrail
