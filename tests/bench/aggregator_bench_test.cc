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

constexpr int kEvents = 3000;

// The last line of `text` (which ends in '\n'), without it.
std::string LastLine(std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  const size_t start = text.rfind('\n');
  return std::string(start == std::string_view::npos ? text : text.substr(start + 1));
}

size_t CountLines(std::string_view text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

// The JSON pointer of `path`. (Appending, not "/" + path: GCC 12 warns falsely there.)
std::string Pointer(std::string_view path) {
  std::string pointer(1, '/');
  pointer.append(path);
  return pointer;
}

// A number at `path` ("queries/get/results") of `doc`; nullopt (with a test failure) when it
// is missing or not a number.
std::optional<double> Number(simdjson::dom::element doc, std::string_view path) {
  int64_t integer = 0;
  double value = 0;
  simdjson::dom::element element;
  if (doc.at_pointer(Pointer(path)).get(element) != simdjson::SUCCESS) {
    ADD_FAILURE() << "missing " << path;
    return std::nullopt;
  }
  if (element.get_int64().get(integer) == simdjson::SUCCESS) return static_cast<double>(integer);
  if (element.get_double().get(value) != simdjson::SUCCESS) {
    ADD_FAILURE() << path << " is not a number";
    return std::nullopt;
  }
  return value;
}

class AggregatorBenchTest : public ::testing::Test {
 protected:
  // The loadgen file is shared by every test of the suite.
  static void SetUpTestSuite() {
    data_ = new TempDir;
    if (!data_->ok()) return;
    events_ = data_->File("events.jsonl");
    SubprocessOptions options;
    options.timeout = absl::Seconds(60);
    absl::StatusOr<SubprocessResult> r =
        RunSubprocess({BinDir() + "/kubetrail-loadgen", "--count", std::to_string(kEvents),
                       "--seed", "1", "--output", events_},
                      options);
    if (!r.ok() || r->exit_code != 0) events_.clear();
  }
  static void TearDownTestSuite() {
    delete data_;
    data_ = nullptr;
  }

  void SetUp() override {
    binary_ = BinDir() + "/kubetrail-bench";
    ASSERT_TRUE(std::filesystem::exists(binary_)) << binary_ << " is missing; build it first";
    ASSERT_TRUE(data_->ok()) << data_->error();
    ASSERT_FALSE(events_.empty()) << "kubetrail-loadgen failed to write " << kEvents << " events";
    ASSERT_TRUE(temp_.ok()) << temp_.error();
  }

  // Runs `kubetrail-bench args...`; fails the test if it cannot run at all.
  SubprocessResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), binary_);
    SubprocessOptions options;
    options.timeout = absl::Seconds(90);
    absl::StatusOr<SubprocessResult> result = RunSubprocess(args, options);
    EXPECT_TRUE(result.ok()) << result.status();
    if (!result.ok()) return SubprocessResult();
    return *std::move(result);
  }

  static TempDir* data_;
  static std::string events_;
  TempDir temp_;  // this test's directories; removed after the test
  std::string binary_;
};

TempDir* AggregatorBenchTest::data_ = nullptr;
std::string AggregatorBenchTest::events_;

TEST_F(AggregatorBenchTest, ShipsEveryEventAndReportsEveryFigure) {
  const std::string dir = temp_.File("agg");
  const SubprocessResult r = Run({"aggregator", "--input", events_, "--dir", dir, "--streams", "2",
                                  "--batch", "100", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_data;
  // With --json the result is the only line on stdout; progress went to stderr.
  EXPECT_EQ(CountLines(r.stdout_data), 1u) << r.stdout_data;
  EXPECT_THAT(r.stderr_data, Not(IsEmpty()));

  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const simdjson::padded_string line(LastLine(r.stdout_data));
  ASSERT_EQ(parser.parse(line).get(doc), simdjson::SUCCESS) << r.stdout_data;

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
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"aggregator", "--dir", temp_.File("a")}, "--input"},
           {{"aggregator", "--input", events_}, "--dir"},
           {{"aggregator", "--input", events_, "--dir", not_empty}, "already holds files"},
           {{"aggregator", "--input", events_, "--dir", temp_.File("b"), "--streams", "0"},
            "--streams"},
           {{"aggregator", "--input", events_, "--dir", temp_.File("c"), "--min-line-bytes",
             "900000"},
            "no events of 900000"},
       }) {
    const SubprocessResult r = Run(c.args);
    std::string joined;
    for (const std::string& a : c.args) joined += " " + a;
    EXPECT_EQ(r.exit_code, 1) << "kubetrail-bench" << joined;
    EXPECT_THAT(r.stderr_data, HasSubstr(c.message)) << "kubetrail-bench" << joined;
    EXPECT_EQ(CountLines(r.stderr_data), 1u) << r.stderr_data;
    EXPECT_THAT(r.stdout_data, IsEmpty()) << "kubetrail-bench" << joined;
  }
}

}  // namespace
}  // namespace kubetrail
