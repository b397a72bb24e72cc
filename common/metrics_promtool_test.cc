// Checks a realistic exposition with Prometheus's own linter, `promtool check metrics`
// (Debian package `prometheus`, installed by scripts/install-deps.sh).
//
// The child runs through popen() rather than tests/testing/subprocess.h: common/ sits upstream
// of every other folder, tests/testing included.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/metrics.h"
#include "common/strings.h"
#include "gtest/gtest.h"

namespace kubetrail {
namespace {

// The first executable `promtool` in $PATH, or nullopt.
std::optional<std::string> FindPromtool() {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return std::nullopt;
  std::string_view rest(path);
  while (true) {
    const size_t colon = rest.find(':');
    const std::string_view dir = rest.substr(0, colon);
    // (absl::StrCat, not std::string operators: GCC 12's -O3 -Wrestrict false positive.)
    const std::string candidate = absl::StrCat(dir.empty() ? "." : ToAbsl(dir), "/promtool");
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(colon + 1);
  }
}

struct CheckResult {
  int exit_code = -1;
  std::string output;  // standard output and standard error, interleaved
};

// Runs `promtool check metrics` with `exposition` on its standard input.
CheckResult RunPromtoolCheck(const std::string& promtool, const std::string& exposition) {
  CheckResult result;
  const char* tmpdir = std::getenv("TMPDIR");
  std::string path = (tmpdir != nullptr && *tmpdir != '\0') ? tmpdir : "/tmp";
  path += "/kubetrail-metrics-XXXXXX";
  const int fd = mkstemp(path.data());
  if (fd < 0) {
    result.output = "mkstemp failed";
    return result;
  }
  const bool written =
      write(fd, exposition.data(), exposition.size()) == static_cast<ssize_t>(exposition.size());
  close(fd);
  if (written) {
    const std::string command = "'" + promtool + "' check metrics < '" + path + "' 2>&1";
    if (FILE* pipe = popen(command.c_str(), "r"); pipe != nullptr) {
      char buf[4096];
      size_t n;
      while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) result.output.append(buf, n);
      const int status = pclose(pipe);
      if (status != -1 && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    } else {
      result.output = "popen failed";
    }
  } else {
    result.output = "short write to the temporary file";
  }
  unlink(path.c_str());
  return result;
}

// What the aggregator and a collector might expose together.
std::string RealisticExposition() {
  Registry registry;
  Family<Counter>& events = registry.AddCounter("kubetrail_ingest_events_total",
                                                "Audit events received, by collector and outcome.",
                                                {"collector", "outcome"});
  events.WithLabels({"node-a", "accepted"}).IncrementBy(12345);
  events.WithLabels({"node-a", "rejected"}).IncrementBy(3);
  events.WithLabels({"node \"b\"\\x\ny", "accepted"}).IncrementBy(7);
  registry.AddCounter("kubetrail_ingest_bytes_total", "Bytes received.")
      .WithLabels()
      .IncrementBy(1 << 30);
  registry.AddGauge("kubetrail_writer_queue_batches", "Batches waiting for the writer.")
      .WithLabels()
      .Set(4);
  registry.AddGauge("kubetrail_spool_oldest_age_seconds", "Age of the oldest spooled record.")
      .WithLabels()
      .Set(0.125);
  Family<Histogram>& commit = registry.AddHistogram("kubetrail_writer_commit_seconds",
                                                    "Time to commit one batch to the store.",
                                                    ExponentialBuckets(0.0005, 2, 12), {"store"});
  Histogram& rocks = commit.WithLabels({"rocksdb"});
  for (int i = 0; i < 100; ++i) rocks.Observe(0.0001 * i * i);
  registry
      .AddHistogram("kubetrail_batch_events", "Events per shipped batch.",
                    LinearBuckets(100, 100, 5))
      .WithLabels()
      .Observe(250);
  registry.AddCallbackGauge(
      "kubetrail_collector_last_seen_timestamp_seconds",
      "Unix time of the last batch from each collector.", {"collector"}, [] {
        return std::vector<Sample>{{{"node-a"}, 1800000000.5}, {{"node-b"}, 1800000001}};
      });
  registry.AddCallbackCounter("kubetrail_store_compactions_total", "Store compactions.", {}, [] {
    return std::vector<Sample>{{{}, 2}};
  });
  return registry.Expose();
}

TEST(MetricsPromtoolTest, PromtoolAcceptsTheExposition) {
  const std::optional<std::string> promtool = FindPromtool();
  ASSERT_TRUE(promtool.has_value())
      << "promtool not found on PATH; it comes from the Debian package `prometheus`: run "
         "scripts/install-deps.sh";
  const CheckResult result = RunPromtoolCheck(*promtool, RealisticExposition());
  EXPECT_EQ(result.exit_code, 0) << result.output;
  // Lint findings (missing _total, bad units, ...) are printed even when the exit code is 0.
  EXPECT_EQ(result.output, "");
}

TEST(MetricsPromtoolTest, PromtoolRejectsBrokenText) {
  // Proves the check above can fail: a sample without a value is a parse error.
  const std::optional<std::string> promtool = FindPromtool();
  ASSERT_TRUE(promtool.has_value())
      << "promtool not found on PATH; it comes from the Debian package `prometheus`: run "
         "scripts/install-deps.sh";
  const CheckResult result = RunPromtoolCheck(*promtool, "# TYPE x gauge\nx{a=\"b\"}\n");
  EXPECT_NE(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output, "");
}

}  // namespace
}  // namespace kubetrail
