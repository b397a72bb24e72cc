// Process tests of `kubetrail-bench store`: the real binary on 3000 loadgen events, into a
// real RocksDB store in a temp dir. They check the shape of the result line and that the
// queries found something, never timings (performance is measured, not asserted).
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

class StoreBenchTest : public bench_test::BenchProcessTest<kEvents, 60> {};

TEST_F(StoreBenchTest, RocksDbRunReportsEveryFigureAndLeavesTheStore) {
  const std::string dir = temp_.File("store");
  const SubprocessResult r = Run({"store", "--input", events_, "--dir", dir, "--json"});
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ExpectJsonResult(r, parser, &doc);
  if (HasFatalFailure()) return;

  EXPECT_EQ(Number(doc, "events"), kEvents);
  EXPECT_EQ(Number(doc, "duplicates"), 0);
  for (const std::string_view positive :
       {"ingest_events_per_s", "raw_put_events_per_s", "bytes_per_event",
        "bytes_per_event_before_compaction", "zstd3_bytes_per_event"}) {
    EXPECT_GT(Number(doc, positive).value_or(0), 0) << positive;
  }
  EXPECT_THAT(String(doc, "params/user"), Not(IsEmpty()));
  EXPECT_THAT(String(doc, "params/from"), HasSubstr("T"));
  EXPECT_THAT(String(doc, "params/audit_id"), Not(IsEmpty()));
  EXPECT_THAT(String(doc, "params/namespace"), Not(IsEmpty()));
  for (const std::string_view query :
       {"user_window", "get", "ns_verbs", "top_users", "histogram"}) {
    const std::string q = "queries/" + std::string(query);
    const double p50 = Number(doc, q + "/p50_ms").value_or(-1);
    const double p99 = Number(doc, q + "/p99_ms").value_or(-1);
    EXPECT_GE(p50, 0) << query;
    EXPECT_GE(p99, p50) << query;
    // Every run costs some CPU: the query's, and for the aggregator the gRPC round trip's.
    EXPECT_GT(Number(doc, q + "/cpu_us").value_or(0), 0) << query;
    // Every query finds something in the default choice of parameters: the window starts at
    // the user's first event, the auditID is one of the file's, and the namespace is chosen
    // among those with delete or patch events (with seed 1, within the day after `from`).
    EXPECT_GT(Number(doc, q + "/results").value_or(0), 0) << query;
  }
  EXPECT_LE(Number(doc, "queries/user_window/results").value_or(0), 100);
  EXPECT_LE(Number(doc, "queries/top_users/results").value_or(0), 10);

  // The store stays in DIR, and `kubetrail-admin check` accepts it; the raw-put database
  // beside it is gone.
  EXPECT_FALSE(std::filesystem::is_empty(dir));
  EXPECT_FALSE(std::filesystem::exists(dir + ".rawput"));
  absl::StatusOr<SubprocessResult> check =
      RunSubprocess({BinDir() + "/kubetrail-admin", "check", "--data-dir", dir}, {});
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_EQ(check->exit_code, 0) << check->stdout_data << check->stderr_data;
  EXPECT_THAT(check->stdout_data, HasSubstr(": ok (" + std::to_string(kEvents) + " events"));

  // A second run must not measure into an existing store.
  const SubprocessResult again = Run({"store", "--input", events_, "--dir", dir, "--json"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.stdout_data, IsEmpty());
  EXPECT_THAT(again.stderr_data, HasSubstr("already holds files"));
  EXPECT_EQ(CountLines(again.stderr_data), 1u) << again.stderr_data;
}

TEST_F(StoreBenchTest, ParamsFileFixesTheQueries) {
  const std::string params = temp_.Write(
      "params.json",
      R"({"user":"nobody-at-all","from":"2026-11-01T00:00:00Z","audit_id":"no-such-id",)"
      R"("namespace":"kube-system"})");
  // The in-memory store (a hidden flag) runs the same bench without a disk store.
  const SubprocessResult r = Run({"store", "--input", events_, "--dir", temp_.File("m"), "--params",
                                  params, "--memory", "--writers", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_data;
  // Without --json a readable summary comes first; the JSON line is still last.
  EXPECT_GT(CountLines(r.stdout_data), 1u);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const simdjson::padded_string line(LastLine(r.stdout_data));
  ASSERT_EQ(parser.parse(line).get(doc), simdjson::SUCCESS) << r.stdout_data;
  EXPECT_EQ(String(doc, "params/user"), "nobody-at-all");
  EXPECT_EQ(String(doc, "params/from"), "2026-11-01T00:00:00.000000Z");
  EXPECT_EQ(String(doc, "params/audit_id"), "no-such-id");
  EXPECT_EQ(String(doc, "params/namespace"), "kube-system");
  EXPECT_EQ(Number(doc, "queries/user_window/results"), 0);
  EXPECT_EQ(Number(doc, "queries/get/results"), 0);  // a miss is a result too
  EXPECT_EQ(Number(doc, "writers"), 2);
}

TEST_F(StoreBenchTest, ErrorsAreOneLineAndExitOne) {
  const std::string bad_params = temp_.Write("bad.json", R"({"from":"yesterday"})");
  const std::string not_empty = temp_.File("full");
  std::filesystem::create_directories(not_empty);
  temp_.Write("full/file", "x");
  ExpectEachFailsWithOneLine({
      {{"store", "--dir", temp_.File("a")}, "--input"},
      {{"store", "--input", events_}, "--dir"},
      {{"store", "--input", temp_.File("missing.jsonl"), "--dir", temp_.File("b")},
       "missing.jsonl"},
      {{"store", "--input", events_, "--dir", temp_.File("c"), "--writers", "0"}, "--writers"},
      {{"store", "--input", events_, "--dir", not_empty}, "already holds files"},
      {{"store", "--input", events_, "--dir", temp_.File("d"), "--params", bad_params}, "\"from\""},
      {{"store", "--input", events_, "--dir", temp_.File("e"), "--bogus"}, "--bogus"},
  });
}

TEST_F(StoreBenchTest, HelpAndTheGoogleBenchmarkMain) {
  SubprocessResult r = Run({"store", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.stdout_data, HasSubstr("--input"));
  EXPECT_THAT(r.stdout_data, HasSubstr("--writers"));
  // Everything that is not `store` is Google Benchmark's main, as before.
  r = Run({"--benchmark_list_tests=true", "--benchmark_filter=DecodeLines"});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_THAT(r.stdout_data, HasSubstr("DecodeLines/loadgen"));
}

}  // namespace
}  // namespace kubetrail
