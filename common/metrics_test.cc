#include "common/metrics.h"

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace kubetrail {
namespace {

TEST(MetricsTest, EmptyRegistryExposesNothing) {
  Registry registry;
  EXPECT_EQ(registry.Expose(), "");
}

TEST(MetricsTest, UnlabelledCounterAndGauge) {
  Registry registry;
  Counter& counter = registry.AddCounter("requests_total", "Requests served.").WithLabels();
  Gauge& gauge = registry.AddGauge("queue_depth", "Items waiting.").WithLabels();
  counter.Increment();
  counter.IncrementBy(41);
  gauge.Set(7);
  gauge.Decrement();
  gauge.Add(0.5);
  EXPECT_EQ(registry.Expose(),
            "# HELP queue_depth Items waiting.\n"
            "# TYPE queue_depth gauge\n"
            "queue_depth 6.5\n"
            "# HELP requests_total Requests served.\n"
            "# TYPE requests_total counter\n"
            "requests_total 42\n");
}

TEST(MetricsTest, UnlabelledFamilyExposesZeroBeforeFirstUse) {
  Registry registry;
  registry.AddCounter("errors_total", "Errors.");
  EXPECT_EQ(registry.Expose(),
            "# HELP errors_total Errors.\n"
            "# TYPE errors_total counter\n"
            "errors_total 0\n");
}

TEST(MetricsTest, LabelledChildrenSortedByLabelValues) {
  Registry registry;
  Family<Counter>& family = registry.AddCounter("events_total", "Events.", {"collector", "verb"});
  family.WithLabels({"node-b", "get"}).IncrementBy(2);
  family.WithLabels({"node-a", "list"}).Increment();
  family.WithLabels({"node-a", "get"}).IncrementBy(3);
  EXPECT_EQ(registry.Expose(),
            "# HELP events_total Events.\n"
            "# TYPE events_total counter\n"
            "events_total{collector=\"node-a\",verb=\"get\"} 3\n"
            "events_total{collector=\"node-a\",verb=\"list\"} 1\n"
            "events_total{collector=\"node-b\",verb=\"get\"} 2\n");
}

TEST(MetricsTest, WithLabelsReturnsTheSameChild) {
  Registry registry;
  Family<Gauge>& family = registry.AddGauge("g", "G.", {"k"});
  Gauge& a = family.WithLabels({"x"});
  const std::string key = "x";
  EXPECT_EQ(&a, &family.WithLabels({key}));
  EXPECT_NE(&a, &family.WithLabels({"y"}));
}

TEST(MetricsTest, FamiliesSortedByName) {
  Registry registry;
  registry.AddGauge("b", "B.");
  registry.AddGauge("a", "A.");
  registry.AddGauge("c", "C.");
  EXPECT_EQ(registry.Expose(),
            "# HELP a A.\n# TYPE a gauge\na 0\n"
            "# HELP b B.\n# TYPE b gauge\nb 0\n"
            "# HELP c C.\n# TYPE c gauge\nc 0\n");
}

TEST(MetricsTest, HistogramWithLabels) {
  Registry registry;
  Family<Histogram>& family =
      registry.AddHistogram("latency_seconds", "Latency.", {0.005, 0.1, 2.5}, {"op"});
  Histogram& write = family.WithLabels({"write"});
  write.Observe(0.001);
  write.Observe(0.005);  // a bound is inclusive
  write.Observe(0.05);
  write.Observe(10);
  family.WithLabels({"read"});
  EXPECT_EQ(registry.Expose(),
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{op=\"read\",le=\"0.005\"} 0\n"
            "latency_seconds_bucket{op=\"read\",le=\"0.1\"} 0\n"
            "latency_seconds_bucket{op=\"read\",le=\"2.5\"} 0\n"
            "latency_seconds_bucket{op=\"read\",le=\"+Inf\"} 0\n"
            "latency_seconds_sum{op=\"read\"} 0\n"
            "latency_seconds_count{op=\"read\"} 0\n"
            "latency_seconds_bucket{op=\"write\",le=\"0.005\"} 2\n"
            "latency_seconds_bucket{op=\"write\",le=\"0.1\"} 3\n"
            "latency_seconds_bucket{op=\"write\",le=\"2.5\"} 3\n"
            "latency_seconds_bucket{op=\"write\",le=\"+Inf\"} 4\n"
            "latency_seconds_sum{op=\"write\"} 10.056\n"
            "latency_seconds_count{op=\"write\"} 4\n");
}

TEST(MetricsTest, UnlabelledHistogramDropsTrailingInfBound) {
  Registry registry;
  Histogram& h =
      registry.AddHistogram("size_bytes", "Size.", {1024, std::numeric_limits<double>::infinity()})
          .WithLabels();
  h.Observe(std::nan(""));  // NaN counts into +Inf only
  h.Observe(100);
  EXPECT_EQ(registry.Expose(),
            "# HELP size_bytes Size.\n"
            "# TYPE size_bytes histogram\n"
            "size_bytes_bucket{le=\"1024\"} 1\n"
            "size_bytes_bucket{le=\"+Inf\"} 2\n"
            "size_bytes_sum NaN\n"
            "size_bytes_count 2\n");
}

TEST(MetricsTest, EscapesHelpAndLabelValues) {
  Registry registry;
  registry.AddGauge("g", "say \"hi\"\\\nbye", {"path"}).WithLabels({"C:\\dir \"q\"\nnext"}).Set(1);
  // HELP escapes backslash and newline only; label values also escape the double quote.
  EXPECT_EQ(registry.Expose(),
            "# HELP g say \"hi\"\\\\\\nbye\n"
            "# TYPE g gauge\n"
            "g{path=\"C:\\\\dir \\\"q\\\"\\nnext\"} 1\n");
}

TEST(MetricsTest, FloatFormatting) {
  Registry registry;
  Family<Gauge>& family = registry.AddGauge("v", "V.", {"case"});
  family.WithLabels({"a_int"}).Set(1234567);
  family.WithLabels({"b_frac"}).Set(0.25);
  family.WithLabels({"c_small"}).Set(1e-7);
  family.WithLabels({"d_big"}).Set(1e300);
  family.WithLabels({"e_neg"}).Set(-3.5);
  family.WithLabels({"f_inf"}).Set(std::numeric_limits<double>::infinity());
  family.WithLabels({"g_ninf"}).Set(-std::numeric_limits<double>::infinity());
  family.WithLabels({"h_nan"}).Set(std::nan(""));
  family.WithLabels({"i_micros"}).Set(1800000000123456.0);
  EXPECT_EQ(registry.Expose(),
            "# HELP v V.\n"
            "# TYPE v gauge\n"
            "v{case=\"a_int\"} 1234567\n"
            "v{case=\"b_frac\"} 0.25\n"
            "v{case=\"c_small\"} 1e-07\n"
            "v{case=\"d_big\"} 1e+300\n"
            "v{case=\"e_neg\"} -3.5\n"
            "v{case=\"f_inf\"} +Inf\n"
            "v{case=\"g_ninf\"} -Inf\n"
            "v{case=\"h_nan\"} NaN\n"
            "v{case=\"i_micros\"} 1800000000123456\n");
}

TEST(MetricsTest, CounterAddIgnoresNegativeAndNaN) {
  Registry registry;
  Counter& c = registry.AddCounter("cpu_seconds_total", "CPU.").WithLabels();
  c.Add(0.5);
  c.Add(-1);
  c.Add(std::nan(""));
  c.Increment();
  EXPECT_DOUBLE_EQ(c.Value(), 1.5);
}

TEST(MetricsTest, CallbackGaugeSortedAndDeduplicated) {
  Registry registry;
  int calls = 0;
  registry.AddCallbackGauge(
      "collector_last_seen_seconds", "Last batch per collector.", {"collector"}, [&calls] {
        ++calls;
        return std::vector<Sample>{{{"node-b"}, 20}, {{"node-a"}, 10}, {{"node-b"}, 99}};
      });
  registry.AddCallbackCounter("store_compactions_total", "Compactions.", {}, [] {
    return std::vector<Sample>{{{}, 3}};
  });
  const std::string expected =
      "# HELP collector_last_seen_seconds Last batch per collector.\n"
      "# TYPE collector_last_seen_seconds gauge\n"
      "collector_last_seen_seconds{collector=\"node-a\"} 10\n"
      "collector_last_seen_seconds{collector=\"node-b\"} 20\n"
      "# HELP store_compactions_total Compactions.\n"
      "# TYPE store_compactions_total counter\n"
      "store_compactions_total 3\n";
  EXPECT_EQ(registry.Expose(), expected);
  EXPECT_EQ(registry.Expose(), expected);
  EXPECT_EQ(calls, 2);  // evaluated at every scrape
}

TEST(MetricsTest, CallbackMayReadOtherMetrics) {
  Registry registry;
  Counter& c = registry.AddCounter("a_total", "A.").WithLabels();
  c.IncrementBy(4);
  registry.AddCallbackGauge("b", "Twice a.", {}, [&c] {
    return std::vector<Sample>{{{}, 2 * c.Value()}};
  });
  EXPECT_NE(registry.Expose().find("\nb 8\n"), std::string::npos);
}

TEST(MetricsTest, ConcurrentIncrementsGiveExactTotals) {
  Registry registry;
  Family<Counter>& counters = registry.AddCounter("hits_total", "Hits.", {"shard"});
  Gauge& gauge = registry.AddGauge("inflight", "In flight.").WithLabels();
  Histogram& hist = registry.AddHistogram("op_seconds", "Ops.", {0.5, 1}).WithLabels();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Counter& shared = counters.WithLabels({"shared"});
      Counter& own = counters.WithLabels({t % 2 == 0 ? "even" : "odd"});
      for (int i = 0; i < kPerThread; ++i) {
        shared.Increment();
        own.IncrementBy(2);
        gauge.Add(1);
        hist.Observe(i % 2 == 0 ? 0.25 : 0.75);
        if (i % 1000 == 0) (void)registry.Expose();  // scrapes race with updates
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(counters.WithLabels({"shared"}).Value(), kThreads * kPerThread);
  EXPECT_EQ(counters.WithLabels({"even"}).Value(), kThreads / 2 * kPerThread * 2);
  EXPECT_EQ(counters.WithLabels({"odd"}).Value(), kThreads / 2 * kPerThread * 2);
  EXPECT_EQ(gauge.Value(), kThreads * kPerThread);
  const Histogram::Snapshot snap = hist.Snap();
  EXPECT_EQ(snap.count, uint64_t{kThreads * kPerThread});
  EXPECT_EQ(snap.cumulative_counts,
            (std::vector<uint64_t>{kThreads * kPerThread / 2, kThreads * kPerThread,
                                   kThreads * kPerThread}));
  EXPECT_EQ(snap.sum, kThreads * kPerThread / 2 * (0.25 + 0.75));
}

TEST(MetricsTest, BucketHelpers) {
  EXPECT_EQ(ExponentialBuckets(0.001, 10, 4), (std::vector<double>{0.001, 0.01, 0.1, 1}));
  EXPECT_EQ(LinearBuckets(1, 2, 3), (std::vector<double>{1, 3, 5}));
}

using MetricsDeathTest = ::testing::Test;

TEST_F(MetricsDeathTest, ProgrammingErrorsAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(Registry().AddCounter("1bad", "x"), "invalid metric name");
  EXPECT_DEATH(Registry().AddCounter("a-b", "x"), "invalid metric name");
  EXPECT_DEATH(Registry().AddCounter("ok", "x", {"bad-label"}), "invalid label name");
  EXPECT_DEATH(Registry().AddCounter("ok", "x", {"__reserved"}), "invalid label name");
  EXPECT_DEATH(Registry().AddCounter("ok", "x", {"a", "a"}), "duplicate label name");
  EXPECT_DEATH(Registry().AddHistogram("h", "x", {1}, {"le"}), "reserved");
  EXPECT_DEATH(Registry().AddHistogram("h", "x", {2, 1}), "strictly increasing");
  EXPECT_DEATH(Registry().AddHistogram("h", "x", {}), "at least one");
  EXPECT_DEATH(
      {
        Registry r;
        r.AddGauge("dup", "x");
        r.AddCounter("dup", "y");
      },
      "already registered");
  EXPECT_DEATH(
      {
        Registry r;
        r.AddHistogram("h", "x", {1});
        r.AddGauge("h_count", "y");
      },
      "already registered");
  EXPECT_DEATH(
      {
        Registry r;
        r.AddGauge("g", "x", {"a", "b"}).WithLabels({"only-one"});
      },
      "1 label values for 2 label names");
  EXPECT_DEATH(
      {
        Registry r;
        r.AddCallbackGauge("g", "x", {"a"}, [] { return std::vector<Sample>{{{}, 1}}; });
        (void)r.Expose();
      },
      "callback returned 0 label values");
}

}  // namespace
}  // namespace kubetrail
