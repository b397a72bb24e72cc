// Process tests of `kubetrail-bench aggregator`: the real binary on 3000 loadgen events, an
// aggregator started inside it on 127.0.0.1 with a real RocksDB store in a temp dir. They
// check the shape of the result line, that every event was stored and that the queries found
// something, never timings (performance is measured, not asserted).
#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/bench/bench_process_test.h"
#include "tests/testing/paths.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace kubetrail {
namespace {

using ::kubetrail::testing::BinDir;
using ::kubetrail::testing::RunSubprocess;
using ::kubetrail::testing::SubprocessOptions;
using ::kubetrail::testing::SubprocessResult;
using ::kubetrail::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

using bench_test::CountLines;
using bench_test::LastLine;
using bench_test::Number;
using bench_test::String;

constexpr int kEvents = 3000;

class AggregatorBenchTest : public bench_test::BenchProcessTest<kEvents, 90> {};

TEST_F(AggregatorBenchTest, ShipsEveryEventAndReportsEveryFigure) {
  const std::string dir = temp_.File("agg");
  const SubprocessResult r = Run({"aggregator", "--input", events_, "--dir", dir, "--streams", "2",
                                  "--batch", "100", "--json"});
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ExpectJsonResult(r, parser, &doc);
  if (HasFatalFailure()) return;

  EXPECT_EQ(Number(doc, "events"), kEvents);
  EXPECT_EQ(Number(doc, "stored"), kEvents);
  EXPECT_EQ(Number(doc, "duplicates"), 0);
  EXPECT_GE(Number(doc, "reconnects").value_or(-1), 0);
  EXPECT_EQ(Number(doc, "streams"), 2);
  EXPECT_EQ(Number(doc, "batch_events"), 100);
  for (const std::string_view positive :
       {"input_bytes_per_event", "e2e_events_per_s", "raw_put_events_per_s", "ratio"}) {
    EXPECT_GT(Number(doc, positive).value_or(0), 0) << positive;
  }
  for (const std::string_view query : {"user_window", "get"}) {
    const std::string q = "queries/" + std::string(query);
    const double p50 = Number(doc, q + "/p50_ms").value_or(-1);
    const double p99 = Number(doc, q + "/p99_ms").value_or(-1);
    EXPECT_GE(p50, 0) << query;
    EXPECT_GE(p99, p50) << query;
    // Every run costs some CPU: the query's, and for the aggregator the gRPC round trip's.
    EXPECT_GT(Number(doc, q + "/cpu_us").value_or(0), 0) << query;
    EXPECT_EQ(Number(doc, q + "/runs"), 100) << query;
    // The window starts at the user's first event, the auditID is one of the file's.
    EXPECT_GT(Number(doc, q + "/results").value_or(0), 0) << query;
  }
  EXPECT_LE(Number(doc, "queries/user_window/results").value_or(0), 100);

  // The aggregator's data stays in DIR; the raw-put database is gone.
  EXPECT_FALSE(std::filesystem::is_empty(dir + "/aggregator"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/rawput"));
}

TEST_F(AggregatorBenchTest, LineFiltersSelectTheEvents) {
  // Without --json a readable summary comes first; the JSON line is still last.
  const SubprocessResult r = Run({"aggregator", "--input", events_, "--dir", temp_.File("agg"),
                                  "--min-line-bytes", "1500", "--max-line-bytes", "2500"});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_GT(CountLines(r.stdout_data), 1u);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const simdjson::padded_string line(LastLine(r.stdout_data));
  ASSERT_EQ(parser.parse(line).get(doc), simdjson::SUCCESS) << r.stdout_data;
  const double events = Number(doc, "events").value_or(0);
  EXPECT_GT(events, 0);
  EXPECT_LT(events, kEvents);
  EXPECT_EQ(Number(doc, "stored"), events);
  // Each kept line is 1500-2500 bytes, plus its newline.
  EXPECT_GE(Number(doc, "input_bytes_per_event").value_or(0), 1501);
  EXPECT_LE(Number(doc, "input_bytes_per_event").value_or(0), 2501);
}

TEST_F(AggregatorBenchTest, ErrorsAreOneLineAndExitOne) {
  const std::string not_empty = temp_.File("full");
  std::filesystem::create_directories(not_empty);
  temp_.Write("full/file", "x");
  ExpectEachFailsWithOneLine({
      {{"aggregator", "--dir", temp_.File("a")}, "--input"},
      {{"aggregator", "--input", events_}, "--dir"},
      {{"aggregator", "--input", events_, "--dir", not_empty}, "already holds files"},
      {{"aggregator", "--input", events_, "--dir", temp_.File("b"), "--streams", "0"}, "--streams"},
      {{"aggregator", "--input", events_, "--dir", temp_.File("c"), "--min-line-bytes", "900000"},
       "no events of 900000"},
  });
}

}  // namespace
}  // namespace kubetrail
