// Process tests of `kubetrail policy`: the real binary ($KUBETRAIL_BIN_DIR/kubetrail) on
// policies and events written to a temp dir, and `simulate` over the shared corpus of real
// apiserver events (when present).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/paths.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace kubetrail {
namespace {

using ::kubetrail::testing::BinDir;
using ::kubetrail::testing::CorpusDir;
using ::kubetrail::testing::CorpusSearchDescription;
using ::kubetrail::testing::RunSubprocess;
using ::kubetrail::testing::SubprocessOptions;
using ::kubetrail::testing::SubprocessResult;
using ::kubetrail::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

constexpr std::string_view kMetadataPolicy = R"(apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: Metadata
)";
constexpr std::string_view kGet =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"e1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods/web","verb":"get","user":{"username":"alice"},"objectRef":{"resource":"pods","namespace":"default","name":"web","apiVersion":"v1"}})json";
constexpr std::string_view kStarted =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"e2","stage":"RequestReceived","requestURI":"/healthz","verb":"get","user":{"username":"system:anonymous"}})json";

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

size_t CountLines(std::string_view text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

class PolicyProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    binary_ = BinDir() + "/kubetrail";
    ASSERT_TRUE(std::filesystem::exists(binary_)) << binary_ << " is missing; build it first";
    ASSERT_TRUE(temp_.ok()) << temp_.error();
  }

  SubprocessResult Run(std::vector<std::string> args, std::string stdin_data = "") {
    args.insert(args.begin(), binary_);
    SubprocessOptions options;
    options.stdin_data = std::move(stdin_data);
    absl::StatusOr<SubprocessResult> result = RunSubprocess(args, options);
    EXPECT_TRUE(result.ok()) << result.status();
    if (!result.ok()) return SubprocessResult();
    return *std::move(result);
  }

  TempDir temp_;
  std::string binary_;
};

TEST_F(PolicyProcessTest, HelpHasExamples) {
  for (const char* sub : {"validate", "eval", "apply", "simulate"}) {
    const SubprocessResult r = Run({"policy", sub, "--help"});
    EXPECT_EQ(r.exit_code, 0) << sub;
    EXPECT_THAT(r.stdout_data, HasSubstr("Examples:")) << sub;
  }
}

TEST_F(PolicyProcessTest, UsageErrorsExitTwo) {
  const std::string policy = temp_.Write("p.yaml", kMetadataPolicy);
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"policy"},
           {"policy", "frob"},
           {"policy", "validate"},
           {"policy", "eval"},
           {"policy", "simulate", "--policy", policy, "-o", "xml"},
       }) {
    const SubprocessResult r = Run(args);
    EXPECT_EQ(r.exit_code, 2) << args.back();
    EXPECT_THAT(r.stdout_data, IsEmpty()) << args.back();
  }
}

TEST_F(PolicyProcessTest, ValidateOkAndBad) {
  const std::string good = temp_.Write("good.yaml", kMetadataPolicy);
  SubprocessResult r = Run({"policy", "validate", good});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_EQ(r.stdout_data, good + ": ok (1 rule)\n");
  EXPECT_THAT(r.stderr_data, IsEmpty());

  const std::string bad = temp_.Write("bad.yaml", "apiVersion: audit.k8s.io/v1\nkind: Policy\n"
                                                  "rules:\n- level: Loud\n- level: None\n"
                                                  "  omitStages: [Never]\n");
  r = Run({"policy", "validate", bad});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.stdout_data, IsEmpty());
  EXPECT_THAT(r.stderr_data, StartsWith("kubetrail policy: " + bad + ": "));
  EXPECT_EQ(CountLines(r.stderr_data), 2u) << r.stderr_data;
}

TEST_F(PolicyProcessTest, EvalJsonLinesFile) {
  const std::string policy = temp_.Write("p.yaml", kMetadataPolicy);
  const std::string events =
      temp_.Write("events.jsonl", std::string(kGet) + "\n" + std::string(kStarted) + "\n");
  const SubprocessResult r = Run({"policy", "eval", "--policy", policy, events});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_THAT(r.stderr_data, IsEmpty());
  EXPECT_EQ(r.stdout_data,
            R"({"auditID":"e1","stage":"ResponseComplete","level":"Metadata","omitStages":[],"omitManagedFields":false,"rule":0})"
            "\n"
            R"({"auditID":"e2","stage":"RequestReceived","level":"Metadata","omitStages":[],"omitManagedFields":false,"rule":0})"
            "\n");
}

TEST_F(PolicyProcessTest, SimulateSharedCorpus) {
  const std::optional<std::string> corpus_dir = CorpusDir();
  if (!corpus_dir) {
    GTEST_SKIP() << "no shared corpus at " << CorpusSearchDescription() << "; nothing to check";
  }
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(*corpus_dir)) {
    if (entry.path().extension() == ".jsonl") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty()) << "no *.jsonl in " << *corpus_dir;

  const std::string policy = temp_.Write("p.yaml", kMetadataPolicy);
  std::vector<std::string> args = {"policy", "simulate", "--policy", policy, "-o", "json"};
  size_t total = 0;
  for (const std::filesystem::path& file : files) {
    SCOPED_TRACE(file.string());
    // Every corpus line is one event; convert (checked elsewhere) agrees.
    const size_t events = CountLines(ReadFile(file));
    total += events;
    args.push_back(file.string());
    const SubprocessResult r =
        Run({"policy", "simulate", "--policy", policy, "-o", "json", file.string()});
    EXPECT_EQ(r.exit_code, 0) << r.stderr_data.substr(0, 4000);
    EXPECT_THAT(r.stdout_data,
                StartsWith("{\"total\":{\"events\":" + std::to_string(events) + ","));
  }
  const SubprocessResult all = Run(args);
  EXPECT_EQ(all.exit_code, 0) << all.stderr_data.substr(0, 4000);
  EXPECT_THAT(all.stdout_data,
              StartsWith("{\"total\":{\"events\":" + std::to_string(total) + ","));
  const SubprocessResult table =
      Run({"policy", "simulate", "--policy", policy, files.front().string()});
  EXPECT_EQ(table.exit_code, 0) << table.stderr_data.substr(0, 4000);
  EXPECT_THAT(table.stdout_data, HasSubstr("\nrule 0 "));
}

}  // namespace
}  // namespace kubetrail
