// Process tests of `kubetrail convert`: the real binary ($KUBETRAIL_BIN_DIR/kubetrail) with
// files in a temp dir and data on stdin; exit codes, messages, and the shared corpus of real
// apiserver events (when present).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iostream>
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
#include "tests/testing/text.h"

namespace kubetrail {
namespace {

using ::kubetrail::testing::BinDir;
using ::kubetrail::testing::CorpusDir;
using ::kubetrail::testing::CorpusSearchDescription;
using ::kubetrail::testing::RunSubprocess;
using ::kubetrail::testing::SubprocessOptions;
using ::kubetrail::testing::SubprocessResult;
using ::kubetrail::testing::Lines;
using ::kubetrail::testing::TempDir;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

// Canonical audit.k8s.io/v1 events (written for this test).
constexpr std::string_view kGet =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"7e1d2c3b-0000-4000-8000-000000000001","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/kube-system/secrets/token","verb":"get","user":{"username":"system:serviceaccount:kube-system:ci","groups":["system:serviceaccounts","system:authenticated"]},"sourceIPs":["172.16.0.4"],"userAgent":"ci-bot/2.3","objectRef":{"resource":"secrets","namespace":"kube-system","name":"token","apiVersion":"v1"},"responseStatus":{"metadata":{},"status":"Failure","message":"secrets \"token\" is forbidden","reason":"Forbidden","code":403},"requestReceivedTimestamp":"2025-01-02T03:04:05.000006Z","stageTimestamp":"2025-01-02T03:04:05.001234Z","annotations":{"authorization.k8s.io/decision":"forbid","authorization.k8s.io/reason":""}})json";
constexpr std::string_view kPatch =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"7e1d2c3b-0000-4000-8000-000000000002","stage":"ResponseComplete","requestURI":"/apis/apps/v1/namespaces/shop/deployments/cart/scale","verb":"patch","user":{"username":"dave"},"sourceIPs":["10.20.30.40"],"userAgent":"kubectl/v1.31.0","objectRef":{"resource":"deployments","namespace":"shop","name":"cart","apiGroup":"apps","apiVersion":"v1","subresource":"scale"},"responseStatus":{"metadata":{},"code":200},"requestObject":{"spec":{"replicas":5}},"requestReceivedTimestamp":"2025-01-02T03:04:06.100000Z","stageTimestamp":"2025-01-02T03:04:06.130000Z"})json";
// audit.k8s.io/v1beta1 as 1.8+ apiservers wrote it, and its v1 form (the v1beta1-only keys
// kept, last, in input order).
constexpr std::string_view kBeta =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","metadata":{"creationTimestamp":"2018-01-01T00:00:00Z"},"level":"Metadata","timestamp":"2018-01-01T00:00:00Z","auditID":"7e1d2c3b-0000-4000-8000-000000000003","stage":"RequestReceived","requestURI":"/healthz","verb":"get","user":{"username":"system:anonymous"},"sourceIPs":["127.0.0.1"],"requestReceivedTimestamp":"2018-01-01T00:00:00.123456Z","stageTimestamp":"2018-01-01T00:00:00.123456Z"})json";
constexpr std::string_view kBetaAsV1 =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"7e1d2c3b-0000-4000-8000-000000000003","stage":"RequestReceived","requestURI":"/healthz","verb":"get","user":{"username":"system:anonymous"},"sourceIPs":["127.0.0.1"],"requestReceivedTimestamp":"2018-01-01T00:00:00.123456Z","stageTimestamp":"2018-01-01T00:00:00.123456Z","metadata":{"creationTimestamp":"2018-01-01T00:00:00Z"},"timestamp":"2018-01-01T00:00:00Z"})json";
constexpr std::string_view kBad =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":["not","a","string"],"stage":"ResponseComplete"})json";

size_t CountLines(std::string_view text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

class ConvertProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    binary_ = BinDir() + "/kubetrail";
    ASSERT_TRUE(std::filesystem::exists(binary_)) << binary_ << " is missing; build it first";
    ASSERT_TRUE(temp_.ok()) << temp_.error();
    dir_ = temp_.path();
  }

  // Runs `kubetrail args...` with `stdin_data`; fails the test if it cannot run at all.
  SubprocessResult Run(std::vector<std::string> args, std::string stdin_data = "") {
    args.insert(args.begin(), binary_);
    SubprocessOptions options;
    options.stdin_data = std::move(stdin_data);
    absl::StatusOr<SubprocessResult> result = RunSubprocess(args, options);
    EXPECT_TRUE(result.ok()) << result.status();
    if (!result.ok()) return SubprocessResult();
    return *std::move(result);
  }

  // Writes `content` to `name` in the test's temp dir; returns its path.
  std::string Write(const std::string& name, std::string_view content) {
    return temp_.Write(name, content);
  }

  TempDir temp_;  // removed after the test
  std::string binary_;
  std::string dir_;
};

TEST_F(ConvertProcessTest, Version) {
  const SubprocessResult r = Run({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.stdout_data, MatchesRegex("kubetrail [0-9]+\\.[0-9]+\\.[0-9]+\n"));
}

TEST_F(ConvertProcessTest, HelpListsTheVerbAndItsExamples) {
  SubprocessResult r = Run({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.stdout_data, HasSubstr("convert"));
  r = Run({"convert", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.stdout_data, HasSubstr("Examples:"));
  EXPECT_THAT(r.stdout_data, HasSubstr("--skip-invalid"));
  EXPECT_THAT(r.stdout_data, HasSubstr("eventlist"));
  EXPECT_THAT(r.stdout_data, HasSubstr("--max-event-bytes"));
}

TEST_F(ConvertProcessTest, UsageErrorsExitTwo) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{}, "verb"},
           {{"frobnicate"}, "frobnicate"},
           {{"convert", "--bogus"}, "--bogus"},
           {{"convert", "-o", "xml"}, "xml"},
           {{"convert", "-o"}, "-o"},
           {{"convert", "--max-event-bytes", "-1"}, "--max-event-bytes"},
           {{"convert", "--max-event-bytes", "0"}, "--max-event-bytes"},
           {{"convert", "--max-event-bytes", "lots"}, "--max-event-bytes"},
       }) {
    const SubprocessResult r = Run(c.args, Lines({kGet}));
    std::string joined;
    for (const std::string& a : c.args) joined += " " + a;
    EXPECT_EQ(r.exit_code, 2) << "kubetrail" << joined;
    EXPECT_THAT(r.stderr_data, HasSubstr(c.message)) << "kubetrail" << joined;
    EXPECT_THAT(r.stdout_data, IsEmpty()) << "kubetrail" << joined;
  }
}

TEST_F(ConvertProcessTest, StdinToStdout) {
  const SubprocessResult r = Run({"convert"}, Lines({kGet, kBeta, kPatch}));
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_EQ(r.stdout_data, Lines({kGet, kBetaAsV1, kPatch}));
  EXPECT_THAT(r.stderr_data, IsEmpty());
}

TEST_F(ConvertProcessTest, FilesAndDashInOrder) {
  const std::string a = Write("a.jsonl", Lines({kGet}));
  const std::string b = Write("b.jsonl", "\xEF\xBB\xBF" + std::string(kPatch) + "\r\n");
  const SubprocessResult r = Run({"convert", a, "-", b}, Lines({kBeta}));
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_EQ(r.stdout_data, Lines({kGet, kBetaAsV1, kPatch}));
}

TEST_F(ConvertProcessTest, EventListOutput) {
  const std::string a = Write("a.jsonl", Lines({kGet, kBeta}));
  const std::string b = Write(
      "b.json",
      std::string(R"({"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},)") +
          "\n  \"items\": [\n    " + std::string(kPatch) + "\n  ]\n}\n");
  const std::string expected =
      std::string(R"({"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[)") +
      std::string(kGet) + "," + std::string(kBetaAsV1) + "," + std::string(kPatch) + "]}\n";
  for (const char* flag : {"-o", "--output"}) {
    const SubprocessResult r = Run({"convert", flag, "eventlist", a, b});
    EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
    EXPECT_EQ(r.stdout_data, expected);
  }
  // And back to lines.
  const SubprocessResult r = Run({"convert", "-o", "jsonl"}, expected);
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_EQ(r.stdout_data, Lines({kGet, kBetaAsV1, kPatch}));
}

TEST_F(ConvertProcessTest, BadEventExitsOneNamingFileAndLine) {
  const std::string file = Write("bad.jsonl", Lines({kGet, kPatch, kBad, kBeta}));
  SubprocessResult r = Run({"convert", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.stdout_data, Lines({kGet, kPatch}));
  EXPECT_THAT(r.stderr_data, StartsWith("kubetrail convert: " + file + ":3: "));
  EXPECT_EQ(CountLines(r.stderr_data), 1u) << r.stderr_data;

  r = Run({"convert"}, Lines({kBad, kGet}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.stdout_data, IsEmpty());
  EXPECT_THAT(r.stderr_data, StartsWith("kubetrail convert: <stdin>:1: "));

  r = Run({"convert", "-o", "eventlist", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.stdout_data, IsEmpty());
}

TEST_F(ConvertProcessTest, SkipInvalid) {
  const std::string file = Write("bad.jsonl", Lines({kBad, kGet, "{", kPatch, kBad}));
  const SubprocessResult r = Run({"convert", "--skip-invalid", file});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stdout_data, Lines({kGet, kPatch}));
  EXPECT_THAT(r.stderr_data, ContainsRegex("kubetrail convert: [^\n]*/bad\\.jsonl:1: "));
  EXPECT_THAT(r.stderr_data, ContainsRegex("kubetrail convert: [^\n]*/bad\\.jsonl:3: "));
  EXPECT_THAT(r.stderr_data, ContainsRegex("kubetrail convert: [^\n]*/bad\\.jsonl:5: "));
  EXPECT_THAT(r.stderr_data, ::testing::EndsWith(
                                 "kubetrail convert: 3 invalid events skipped, 2 written\n"));
  EXPECT_EQ(CountLines(r.stderr_data), 4u) << r.stderr_data;
}

TEST_F(ConvertProcessTest, MaxEventBytes) {
  SubprocessResult r = Run({"convert", "--max-event-bytes", "500"}, Lines({kBeta, kGet}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.stdout_data, Lines({kBetaAsV1}));
  EXPECT_THAT(r.stderr_data, StartsWith("kubetrail convert: <stdin>:2: "));
  r = Run({"convert", "--max-event-bytes", "1KiB"}, Lines({kBeta, kGet}));
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
}

TEST_F(ConvertProcessTest, UnreadableFileExitsOne) {
  const std::string missing = dir_ + "/missing.jsonl";
  SubprocessResult r = Run({"convert", missing});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.stderr_data,
            "kubetrail convert: cannot read " + missing + ": No such file or directory\n");
  r = Run({"convert", "--skip-invalid", dir_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.stderr_data, "kubetrail convert: cannot read " + dir_ + ": Is a directory\n");
}

// Many events, well past the converter's 1 MiB output buffer and a pipe's capacity, through
// a file and through stdin.
TEST_F(ConvertProcessTest, LargeInput) {
  std::string input;
  std::string expected;
  constexpr int kEvents = 30000;
  for (int i = 0; i < kEvents; ++i) {
    const std::string_view event = i % 2 == 0 ? kGet : kPatch;
    input.append(i % 3 == 0 ? kBeta : event);
    input.push_back('\n');
    expected.append(i % 3 == 0 ? kBetaAsV1 : event);
    expected.push_back('\n');
  }
  ASSERT_GT(input.size(), size_t{10} << 20);
  SubprocessResult r = Run({"convert", Write("big.jsonl", input)});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_EQ(CountLines(r.stdout_data), static_cast<size_t>(kEvents));
  EXPECT_TRUE(r.stdout_data == expected);
  r = Run({"convert"}, input);
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_TRUE(r.stdout_data == expected);
}

// Every event of the shared corpus of real apiserver output converts, one line per line; and
// converting the output again changes nothing (the canonical form is a fixed point).
TEST_F(ConvertProcessTest, SharedCorpusConvertsCompletely) {
  const std::optional<std::string> corpus_dir = CorpusDir();
  if (!corpus_dir) {
    GTEST_SKIP() << "no shared corpus at " << CorpusSearchDescription() << "; nothing to check";
  }
  const std::filesystem::path corpus = *corpus_dir;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
    if (entry.path().extension() == ".jsonl") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty()) << "no *.jsonl in " << corpus.string();

  size_t total_lines = 0;
  size_t unchanged = 0;
  std::vector<std::string> all_args = {"convert"};
  for (const std::filesystem::path& file : files) {
    SCOPED_TRACE(file.string());
    const std::string input = ReadFile(file);
    const size_t lines = CountLines(input);
    total_lines += lines;
    all_args.push_back(file.string());

    const SubprocessResult r = Run({"convert", file.string()});
    EXPECT_EQ(r.exit_code, 0) << r.stderr_data.substr(0, 4000);
    EXPECT_THAT(r.stderr_data, IsEmpty());
    EXPECT_EQ(CountLines(r.stdout_data), lines);

    const SubprocessResult again = Run({"convert"}, r.stdout_data);
    EXPECT_EQ(again.exit_code, 0) << again.stderr_data.substr(0, 4000);
    EXPECT_TRUE(again.stdout_data == r.stdout_data) << "converting twice changed the output";

    // Informational: how many lines were already canonical (apiserver v1 output should be).
    std::istringstream in_lines(input), out_lines(r.stdout_data);
    for (std::string a, b; std::getline(in_lines, a) && std::getline(out_lines, b);) {
      if (a == b) ++unchanged;
    }
  }
  const SubprocessResult all = Run(all_args);
  EXPECT_EQ(all.exit_code, 0);
  EXPECT_EQ(CountLines(all.stdout_data), total_lines);
  std::cout << "corpus: " << files.size() << " files, " << total_lines << " events, " << unchanged
            << " already canonical byte for byte\n";
}

}  // namespace
}  // namespace kubetrail
