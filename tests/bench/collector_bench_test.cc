// Process tests of `kubetrail-bench collector`: the real binary on 2000 loadgen events, which
// itself runs the real kubetrail-collector and kubetrail-aggregator (from the same bin
// directory) as child processes on 127.0.0.1 with their data in a temp dir. They check the
// shape of the result line, that every event was spooled and followed, and that no child
// outlives the bench, never timings (performance is measured, not asserted).
#include <simdjson.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/bench/bench_process_test.h"
#include "tests/testing/subprocess.h"

namespace kubetrail {
namespace {

using ::kubetrail::testing::SubprocessResult;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

using bench_test::CountLines;
using bench_test::LastLine;
using bench_test::Number;

constexpr int kEvents = 2000;

// Processes whose command line mentions `needle` (from /proc/*/cmdline).
std::vector<std::string> ProcessesMentioning(std::string_view needle) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmdline.find(needle) != std::string::npos) found.push_back(name);
  }
  return found;
}

class CollectorBenchTest : public bench_test::BenchProcessTest<kEvents, 150> {};

TEST_F(CollectorBenchTest, MeasuresEveryPhaseAndLeavesNoChild) {
  const std::string dir = temp_.File("collector");
  const SubprocessResult r = Run({"collector", "--input", events_, "--dir", dir, "--connections",
                                  "2", "--rate", "2000", "--latency-seconds", "2", "--json"});
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ExpectJsonResult(r, parser, &doc);
  if (HasFatalFailure()) return;

  EXPECT_EQ(Number(doc, "events"), kEvents);
  EXPECT_GT(Number(doc, "event_bytes").value_or(0), 0);

  EXPECT_EQ(Number(doc, "webhook_to_spool/connections"), 2);
  EXPECT_EQ(Number(doc, "webhook_to_spool/batch_events"), 400);
  for (const std::string_view positive :
       {"webhook_to_spool/events_per_s", "webhook_to_spool/seconds", "webhook_to_spool/post_p50_ms",
        "tail_to_spool/events_per_s", "tail_to_spool/seconds",
        "tail_to_spool/events_per_s_from_ready", "tail_to_spool/seconds_from_ready",
        "end_to_end/send_seconds", "end_to_end/p50_ms"}) {
    EXPECT_GT(Number(doc, positive).value_or(0), 0) << positive;
  }
  EXPECT_GE(Number(doc, "webhook_to_spool/post_p99_ms").value_or(-1),
            Number(doc, "webhook_to_spool/post_p50_ms").value_or(0));
  // From the start of the process, which comes before its ready line.
  EXPECT_GE(Number(doc, "tail_to_spool/seconds").value_or(0),
            Number(doc, "tail_to_spool/seconds_from_ready").value_or(1));

  EXPECT_EQ(Number(doc, "end_to_end/rate"), 2000);
  EXPECT_EQ(Number(doc, "end_to_end/connections"), 2);
  // 2000 events/s for 2 s; each one reached the follower.
  EXPECT_EQ(Number(doc, "end_to_end/sent"), 4000);
  EXPECT_EQ(Number(doc, "end_to_end/events"), 4000);
  const double p50 = Number(doc, "end_to_end/p50_ms").value_or(0);
  const double p99 = Number(doc, "end_to_end/p99_ms").value_or(0);
  const double max = Number(doc, "end_to_end/max_ms").value_or(0);
  EXPECT_GE(p99, p50);
  EXPECT_GE(max, p99);

  // Resident memory: more than nothing, and the peak at least what is resident at the end.
  for (const std::string_view phase : {"webhook_to_spool", "tail_to_spool", "end_to_end"}) {
    const std::string p(phase);
    const double hwm = Number(doc, p + "/collector_vmhwm_mb").value_or(0);
    const double rss = Number(doc, p + "/collector_vmrss_mb").value_or(0);
    EXPECT_GT(rss, 0) << phase;
    EXPECT_GE(hwm, rss) << phase;
  }

  // The children's data and logs stay in DIR.
  for (const std::string_view kept :
       {"webhook-spool", "tail-spool", "e2e-spool", "agg", "log/audit.log", "webhook-collector.log",
        "tail-collector.log", "e2e-collector.log", "e2e-aggregator.log"}) {
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + std::string(kept))) << kept;
  }
  // Every child was stopped and reaped: none still runs on this test's directory.
  EXPECT_THAT(ProcessesMentioning(dir), IsEmpty());
}

TEST_F(CollectorBenchTest, WithoutJsonASummaryComesFirst) {
  const SubprocessResult r = Run({"collector", "--input", events_, "--dir", temp_.File("collector"),
                                  "--events", "800", "--rate", "2000", "--latency-seconds", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_GT(CountLines(r.stdout_data), 1u);
  EXPECT_THAT(r.stdout_data, HasSubstr("webhook -> spool"));
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const simdjson::padded_string line(LastLine(r.stdout_data));
  ASSERT_EQ(parser.parse(line).get(doc), simdjson::SUCCESS) << r.stdout_data;
  EXPECT_EQ(Number(doc, "events"), 800);
  EXPECT_EQ(Number(doc, "end_to_end/events"), 2000);
  // 5 POSTs of 400: one connection each, though the default is 8.
  EXPECT_EQ(Number(doc, "end_to_end/connections"), 5);
}

TEST_F(CollectorBenchTest, ErrorsAreOneLineAndExitOne) {
  temp_.Write("garbage.jsonl", "this is not JSON\n");
  const std::string not_empty = temp_.File("full");
  std::filesystem::create_directories(not_empty);
  temp_.Write("full/file", "x");
  ExpectEachFailsWithOneLine({
      {{"collector", "--input", temp_.File("missing.jsonl"), "--dir", temp_.File("a")}, "--input"},
      {{"collector", "--input", temp_.File("garbage.jsonl"), "--dir", temp_.File("b")},
       "garbage.jsonl: event 1"},
      {{"collector", "--input", temp_.path(), "--dir", temp_.File("c")}, "--input"},
      {{"collector", "--input", events_}, "--dir"},
      {{"collector", "--input", events_, "--dir", not_empty}, "already holds files"},
      {{"collector", "--input", events_, "--dir", temp_.File("d"), "--events", "999999"},
       "has only 2000 events"},
      {{"collector", "--input", events_, "--dir", temp_.File("e"), "--rate", "0"}, "--rate"},
  });
}

}  // namespace
}  // namespace kubetrail
