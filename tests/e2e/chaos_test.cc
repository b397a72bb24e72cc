// Chaos: two clusters under steady load (EventList POSTs to one collector's webhook, an audit
// log written with lumberjack rotations and compression for the other) while a seeded PRNG
// SIGKILLs a collector, both collectors, the aggregator, or all three at random moments, and
// starts them again on the same spools, data directory and ports. In the end each cluster's
// `kubetrail query --all -o jsonl` gives back exactly its input, byte for byte: nothing lost,
// nothing stored twice. The webhook client resends every POST that got no 2xx (as
// kube-apiserver does), so whatever the collector acknowledged must arrive; the tailer resumes
// from the position committed with the events.
//
// One line on stdout states the figures:
//   e2e chaos: seed=S rounds=8 events=36000 lost=0 duplicated=0 unexpected=0 rotations=… seconds=…
// KUBETRAIL_E2E_SEED=S repeats a run's choices.
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/cluster.h"
#include "tests/testing/background_process.h"
#include "tests/testing/paths.h"
#include "tests/testing/temp_dir.h"

namespace kubetrail {
namespace {

using ::testing::HasSubstr;

constexpr int kEventsPerCluster = 18000;
constexpr double kEventsPerSecond = 1000;  // per cluster: the load lasts about 18 s
constexpr int kRounds = 8;
// Rounds stop early when this is spent (a slow machine), so the test stays bounded.
constexpr absl::Duration kRoundsBudget = absl::Seconds(60);

// What one round kills.
enum class Target { kWebhookCollector, kTailCollector, kBothCollectors, kAggregator, kAll };

const char* Name(Target t) {
  switch (t) {
    case Target::kWebhookCollector:
      return "webhook collector";
    case Target::kTailCollector:
      return "tail collector";
    case Target::kBothCollectors:
      return "both collectors";
    case Target::kAggregator:
      return "aggregator";
    case Target::kAll:
      return "aggregator and both collectors";
  }
  return "?";
}

TEST(E2eChaosTest, SigkillsUnderLoadLoseNothingAndStoreNothingTwice) {
  const uint64_t seed = e2e::TestSeed();
  std::cout << "e2e chaos: seed=" << seed << " (KUBETRAIL_E2E_SEED=" << seed
            << " repeats this run's choices)" << std::endl;
  RecordProperty("seed", absl::StrCat(seed));
  std::mt19937_64 rng(seed);
  auto uniform = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };

  testing::TempDir dir;
  ASSERT_TRUE(dir.ok()) << dir.error();
  absl::StatusOr<std::vector<std::string>> web_input =
      e2e::Generate(dir.File("web.jsonl"), kEventsPerCluster, 301);
  absl::StatusOr<std::vector<std::string>> tail_input =
      e2e::Generate(dir.File("tail.jsonl"), kEventsPerCluster, 302);
  ASSERT_TRUE(web_input.ok()) << web_input.status();
  ASSERT_TRUE(tail_input.ok()) << tail_input.status();
  ASSERT_EQ(web_input->size(), static_cast<size_t>(kEventsPerCluster));
  ASSERT_EQ(tail_input->size(), static_cast<size_t>(kEventsPerCluster));

  e2e::AggregatorProcess agg(dir.File("agg"));
  KT_E2E_ASSERT_OK(agg.Start());
  e2e::CollectorProcess web(
      e2e::WebhookCollectorArgs(agg.address(), dir.File("web-spool"), {"--drain-timeout", "20s"}));
  KT_E2E_ASSERT_OK(web.Start());
  ASSERT_TRUE(std::filesystem::create_directory(dir.File("log")));
  const std::string log = dir.File("log/audit.log");
  e2e::CollectorProcess tail(
      e2e::TailCollectorArgs(agg.address(), dir.File("tail-spool"), log, {"--drain-timeout", "20s"}));
  KT_E2E_ASSERT_OK(tail.Start());

  // The load: both clusters at a steady rate for about 18 s.
  const absl::Time start = absl::Now();
  auto client = testing::BackgroundProcess::Start(
      {testing::BinDir() + "/kubetrail-loadgen", "--send", web.webhook_url(), "--streams", "3",
       "--rate", absl::StrCat(kEventsPerSecond), "--timeout", "300", dir.File("web.jsonl")});
  ASSERT_TRUE(client.ok()) << client.status();
  e2e::AuditLogWriter writer({.path = log,
                              .rotation = e2e::Rotation::kLumberjack,
                              .rotate_every_lines = 1500,
                              .compress = true,
                              .lines_per_second = kEventsPerSecond,
                              .seed = seed},
                             *tail_input);

  int rounds = 0;
  int under_load = 0;
  for (; rounds < kRounds && absl::Now() - start < kRoundsBudget; ++rounds) {
    absl::SleepFor(absl::Milliseconds(uniform(200, 1500)));  // a random moment
    const Target target = static_cast<Target>(uniform(0, 4));
    const bool loaded = !writer.done() || !(*client)->Wait(absl::ZeroDuration()).ok();
    under_load += loaded ? 1 : 0;
    const double at = absl::ToDoubleSeconds(absl::Now() - start);
    const bool kill_agg = target == Target::kAggregator || target == Target::kAll;
    const bool kill_web = target == Target::kWebhookCollector ||
                          target == Target::kBothCollectors || target == Target::kAll;
    const bool kill_tail = target == Target::kTailCollector || target == Target::kBothCollectors ||
                           target == Target::kAll;
    if (kill_agg) KT_E2E_ASSERT_OK(agg.Kill());
    if (kill_web) KT_E2E_ASSERT_OK(web.Kill());
    if (kill_tail) KT_E2E_ASSERT_OK(tail.Kill());
    const int down_ms = uniform(0, 1500);
    absl::SleepFor(absl::Milliseconds(down_ms));
    if (kill_agg) KT_E2E_ASSERT_OK(agg.Start());
    if (kill_web) KT_E2E_ASSERT_OK(web.Start());
    if (kill_tail) KT_E2E_ASSERT_OK(tail.Start());
    std::cout << "e2e chaos: round " << rounds + 1 << ": SIGKILL " << Name(target) << " at "
              << static_cast<int>(at * 1000) << " ms" << (loaded ? " under load" : "") << ", down "
              << down_ms << " ms" << std::endl;
  }
  // At least 3 rounds hit the load (it lasts about 18 s; a round about 1-4 s).
  EXPECT_GE(under_load, 3) << "the rounds came too late to hit the load";

  absl::StatusOr<int> client_exit = (*client)->Wait(absl::Seconds(300));
  ASSERT_TRUE(client_exit.ok()) << client_exit.status();
  EXPECT_EQ(*client_exit, 0) << (*client)->stdout_data() << (*client)->stderr_data();
  EXPECT_THAT((*client)->stdout_data(),
              HasSubstr(absl::StrCat("\"accepted\":", kEventsPerCluster, ",")));
  KT_E2E_ASSERT_OK(writer.Wait(absl::Seconds(120)));

  KT_E2E_ASSERT_OK(
      e2e::AwaitCount(agg.address(), "e2e-webhook", web_input->size(), absl::Seconds(180))
          .status());
  KT_E2E_ASSERT_OK(
      e2e::AwaitCount(agg.address(), "e2e-tail", tail_input->size(), absl::Seconds(180)).status());
  absl::StatusOr<e2e::Figures> web_figures =
      e2e::CompareCluster(agg.address(), "e2e-webhook", *web_input);
  absl::StatusOr<e2e::Figures> tail_figures =
      e2e::CompareCluster(agg.address(), "e2e-tail", *tail_input);
  ASSERT_TRUE(web_figures.ok()) << web_figures.status();
  ASSERT_TRUE(tail_figures.ok()) << tail_figures.status();
  std::cout << "e2e chaos: seed=" << seed << " rounds=" << rounds
            << " events=" << web_input->size() + tail_input->size()
            << " lost=" << web_figures->lost + tail_figures->lost
            << " duplicated=" << web_figures->duplicated + tail_figures->duplicated
            << " unexpected=" << web_figures->unexpected + tail_figures->unexpected
            << " rotations=" << writer.rotations()
            << " seconds=" << static_cast<int>(absl::ToDoubleSeconds(absl::Now() - start))
            << std::endl;
  EXPECT_TRUE(web_figures->exact())
      << "seed " << seed << ", e2e-webhook: " << e2e::Describe(*web_figures);
  EXPECT_TRUE(tail_figures->exact())
      << "seed " << seed << ", e2e-tail: " << e2e::Describe(*tail_figures);

  // Nothing is left behind in the spools, and every process still shuts down cleanly.
  e2e::ExpectSpoolsEmptyThenStop(agg, {&tail, &web});
}

}  // namespace
}  // namespace kubetrail
