// What the process tests of kubetrail-bench (store_bench_test.cc, aggregator_bench_test.cc,
// collector_bench_test.cc) share: the fixture that generates their loadgen file and runs the
// binary, the check of a --json run's output, readers of the result line, and the check of
// runs that must fail.
#ifndef KUBETRAIL_TESTS_BENCH_BENCH_PROCESS_TEST_H_
#define KUBETRAIL_TESTS_BENCH_BENCH_PROCESS_TEST_H_

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

namespace kubetrail::bench_test {

using ::kubetrail::testing::BinDir;
using ::kubetrail::testing::RunSubprocess;
using ::kubetrail::testing::SubprocessOptions;
using ::kubetrail::testing::SubprocessResult;
using ::kubetrail::testing::TempDir;

// The last line of `text` (which ends in '\n'), without it.
inline std::string LastLine(std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  const size_t start = text.rfind('\n');
  return std::string(start == std::string_view::npos ? text : text.substr(start + 1));
}

inline size_t CountLines(std::string_view text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

// The JSON pointer of `path`. (Appending, not "/" + path: GCC 12 warns falsely there.)
inline std::string Pointer(std::string_view path) {
  std::string pointer(1, '/');
  pointer.append(path);
  return pointer;
}

// A number at `path` ("queries/get/results") of `doc`; nullopt (with a test failure) when it
// is missing or not a number.
inline std::optional<double> Number(simdjson::dom::element doc, std::string_view path) {
  int64_t integer = 0;
  double value = 0;
  const std::string pointer = Pointer(path);
  simdjson::dom::element element;
  if (doc.at_pointer(pointer).get(element) != simdjson::SUCCESS) {
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

inline std::string String(simdjson::dom::element doc, std::string_view path) {
  std::string_view value;
  if (doc.at_pointer(Pointer(path)).get_string().get(value) != simdjson::SUCCESS) {
    ADD_FAILURE() << path << " is missing or not a string";
  }
  return std::string(value);
}

// A process test of kubetrail-bench: a loadgen file of `kEvents` events shared by the suite,
// a temp dir per test, and Run(args) with a timeout of `kTimeoutSeconds`.
template <int kEvents, int kTimeoutSeconds>
class BenchProcessTest : public ::testing::Test {
 protected:
  // The loadgen file is shared by every test of the suite (generating it is the slow part).
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
    options.timeout = absl::Seconds(kTimeoutSeconds);
    absl::StatusOr<SubprocessResult> result = RunSubprocess(args, options);
    EXPECT_TRUE(result.ok()) << result.status();
    if (!result.ok()) return SubprocessResult();
    return *std::move(result);
  }

  // Checks a successful --json run: the result is the only line on stdout (progress went to
  // stderr), and it parses; `*doc` is it.
  void ExpectJsonResult(const SubprocessResult& r, simdjson::dom::parser& parser,
                        simdjson::dom::element* doc) {
    ASSERT_EQ(r.exit_code, 0) << r.stderr_data;
    EXPECT_EQ(CountLines(r.stdout_data), 1u) << r.stdout_data;
    EXPECT_THAT(r.stderr_data, ::testing::Not(::testing::IsEmpty()));
    line_ = simdjson::padded_string(LastLine(r.stdout_data));
    ASSERT_EQ(parser.parse(line_).get(*doc), simdjson::SUCCESS) << r.stdout_data;
  }

  // A command line that must fail, and what its one line on stderr must say.
  struct FailingRun {
    std::vector<std::string> args;
    std::string message;
  };
  // Runs each and expects exit code 1, one stderr line containing its message, and nothing on
  // stdout.
  void ExpectEachFailsWithOneLine(const std::vector<FailingRun>& runs) {
    for (const FailingRun& c : runs) {
      const SubprocessResult r = Run(c.args);
      std::string joined;
      for (const std::string& a : c.args) joined += " " + a;
      EXPECT_EQ(r.exit_code, 1) << "kubetrail-bench" << joined;
      EXPECT_THAT(r.stderr_data, ::testing::HasSubstr(c.message)) << "kubetrail-bench" << joined;
      EXPECT_EQ(CountLines(r.stderr_data), 1u) << r.stderr_data;
      EXPECT_THAT(r.stdout_data, ::testing::IsEmpty()) << "kubetrail-bench" << joined;
    }
  }

  static inline TempDir* data_ = nullptr;
  static inline std::string events_;
  TempDir temp_;  // this test's directories; removed after the test
  std::string binary_;
  simdjson::padded_string line_;  // the result line ExpectJsonResult parsed (doc points into it)
};

}  // namespace kubetrail::bench_test

#endif  // KUBETRAIL_TESTS_BENCH_BENCH_PROCESS_TEST_H_
