// In-process tests of `kubetrail convert` (RunConvert): layouts in, canonical JSON out, error
// reporting with and without --skip-invalid. The events are written for this test.
#include "clients/cli/convert.h"
#include "clients/cli/input.h"

#include <initializer_list>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "audit/codec.h"
#include "clients/cli/exit_codes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kubetrail/v1/event.pb.h"
#include "tests/testing/temp_dir.h"

namespace kubetrail::cli {
namespace {

using ::kubetrail::testing::TempDir;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

// Canonical audit.k8s.io/v1 events, byte for byte as kube-apiserver's log backend writes
// them: converting them must give them back unchanged.
constexpr std::string_view kList =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"0b7a3f2e-1c4d-4e5f-8a9b-000000000001","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods?limit=500","verb":"list","user":{"username":"alice@example.com","groups":["devs","system:authenticated"]},"sourceIPs":["10.0.0.7"],"userAgent":"kubectl/v1.30.1 (linux/amd64) kubernetes/6911225","objectRef":{"resource":"pods","namespace":"default","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2024-05-01T10:00:00.123456Z","stageTimestamp":"2024-05-01T10:00:00.234567Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \"devs\" of ClusterRole \"view\" to Group \"devs\""}})json";
constexpr std::string_view kCreate =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"0b7a3f2e-1c4d-4e5f-8a9b-000000000002","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/team-a/configmaps","verb":"create","user":{"username":"system:serviceaccount:team-a:deployer","uid":"5f0c0a9e-2b1d-4c3e-9f8a-7b6c5d4e3f21","groups":["system:serviceaccounts","system:serviceaccounts:team-a","system:authenticated"]},"sourceIPs":["192.168.1.20","10.0.0.1"],"userAgent":"deployer/1.0","objectRef":{"resource":"configmaps","namespace":"team-a","name":"settings","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201},"requestObject":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"settings"},"data":{"mode":"fast"}},"responseObject":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"settings","namespace":"team-a","uid":"9d8c7b6a-5f4e-3d2c-1b0a-998877665544","resourceVersion":"4242"},"data":{"mode":"fast"}},"requestReceivedTimestamp":"2024-05-01T10:00:01.000001Z","stageTimestamp":"2024-05-01T10:00:01.004200Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}})json";
constexpr std::string_view kDelete =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"0b7a3f2e-1c4d-4e5f-8a9b-000000000003","stage":"RequestReceived","requestURI":"/apis/apps/v1/namespaces/team-a/deployments/web","verb":"delete","user":{"username":"bob"},"sourceIPs":["10.0.0.9"],"userAgent":"kubectl/v1.29.0","objectRef":{"resource":"deployments","namespace":"team-a","name":"web","apiGroup":"apps","apiVersion":"v1"},"requestReceivedTimestamp":"2024-05-01T10:00:02.500000Z","stageTimestamp":"2024-05-01T10:00:02.500000Z"})json";

// Not canonical: keys out of order, spaces, no kind/apiVersion, unsorted map, short fraction.
constexpr std::string_view kLoose =
    R"json({ "stage" : "ResponseComplete", "auditID":"0b7a3f2e-1c4d-4e5f-8a9b-000000000005", "annotations":{"b":"2","a":"1"}, "verb":"get", "level":"Metadata", "stageTimestamp":"2024-05-01T10:00:03.5Z" })json";
constexpr std::string_view kLooseCanonical =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"0b7a3f2e-1c4d-4e5f-8a9b-000000000005","stage":"ResponseComplete","verb":"get","stageTimestamp":"2024-05-01T10:00:03.500000Z","annotations":{"a":"1","b":"2"}})json";

// audit.k8s.io/v1beta1, as 1.8-1.12 apiservers wrote it; `metadata` and `timestamp` are not
// v1 keys and are kept, after the known ones, in input order.
constexpr std::string_view kBeta =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","metadata":{"creationTimestamp":"2019-03-04T05:06:07Z"},"level":"Metadata","timestamp":"2019-03-04T05:06:07Z","auditID":"0b7a3f2e-1c4d-4e5f-8a9b-000000000004","stage":"ResponseComplete","requestURI":"/version","verb":"get","user":{"username":"carol","groups":["system:authenticated"]},"sourceIPs":["10.1.2.3"],"requestReceivedTimestamp":"2019-03-04T05:06:07.080910Z","stageTimestamp":"2019-03-04T05:06:07.090000Z"})json";
constexpr std::string_view kBetaCanonical =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"0b7a3f2e-1c4d-4e5f-8a9b-000000000004","stage":"ResponseComplete","requestURI":"/version","verb":"get","user":{"username":"carol","groups":["system:authenticated"]},"sourceIPs":["10.1.2.3"],"requestReceivedTimestamp":"2019-03-04T05:06:07.080910Z","stageTimestamp":"2019-03-04T05:06:07.090000Z","metadata":{"creationTimestamp":"2019-03-04T05:06:07Z"},"timestamp":"2019-03-04T05:06:07Z"})json";

// Small, with nothing but the required fields.
constexpr std::string_view kTiny = R"json({"level":"None","auditID":"a1","stage":"ResponseComplete"})json";
constexpr std::string_view kTinyCanonical =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"None","auditID":"a1","stage":"ResponseComplete"})json";

// Bad events, each well-formed JSON lines on its own line.
constexpr std::string_view kBadType =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":42,"stage":"ResponseComplete"})json";
constexpr std::string_view kBadMissingStage =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"0b7a3f2e-1c4d-4e5f-8a9b-000000000009"})json";
constexpr std::string_view kBadTruncated = R"json({"kind":"Event","auditID":"x","stage":)json";
constexpr std::string_view kBadNotJson = "this is not json";

// Pretty-prints compact JSON (two-space indent, "key": value), as kubectl and jq would.
std::string Pretty(std::string_view compact, std::string_view newline = "\n") {
  std::string out;
  int depth = 0;
  bool in_string = false;
  auto indent = [&] {
    out += newline;
    out.append(static_cast<size_t>(depth) * 2, ' ');
  };
  for (size_t i = 0; i < compact.size(); ++i) {
    const char c = compact[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\') {
        out.push_back(compact[++i]);
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        out.push_back(c);
        break;
      case '{':
      case '[':
        out.push_back(c);
        ++depth;
        indent();
        break;
      case '}':
      case ']':
        --depth;
        indent();
        out.push_back(c);
        break;
      case ',':
        out.push_back(c);
        indent();
        break;
      case ':':
        out += ": ";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string Lines(std::initializer_list<std::string_view> lines, std::string_view eol = "\n") {
  std::string out;
  for (std::string_view line : lines) {
    out.append(line);
    out.append(eol);
  }
  return out;
}

std::string EventList(std::initializer_list<std::string_view> items) {
  std::string out = R"({"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[)";
  for (std::string_view item : items) {
    if (out.back() != '[') out.push_back(',');
    out.append(item);
  }
  return out + "]}";
}

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

Outcome Convert(const ConvertOptions& options, std::string_view stdin_data) {
  std::istringstream in{std::string(stdin_data)};
  std::ostringstream out;
  std::ostringstream err;
  const int code = RunConvert(options, in, out, err);
  return {code, out.str(), err.str()};
}

Outcome Convert(std::string_view stdin_data) { return Convert(ConvertOptions(), stdin_data); }

std::vector<std::string> SplitLines(std::string_view text) {
  std::vector<std::string> lines = absl::StrSplit(absl::string_view(text.data(), text.size()), '\n');
  // Text ending in '\n' splits into one empty piece too many.
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

// Decodes `body` (any layout) and re-encodes each event on its own, or the first error.
absl::StatusOr<std::vector<std::string>> Reencode(std::string_view body) {
  audit::EventReader reader(body);
  std::vector<std::string> events;
  kubetrail::v1::Event event;
  while (true) {
    absl::StatusOr<bool> more = reader.Next(&event);
    if (!more.ok()) return more.status();
    if (!*more) return events;
    events.push_back(audit::EncodeEventJson(event));
  }
}

TEST(ConvertTest, CanonicalJsonLinesComeBackByteForByte) {
  const std::string input = Lines({kList, kCreate, kDelete});
  const Outcome r = Convert(input);
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, input);
  EXPECT_THAT(r.err, IsEmpty());
}

TEST(ConvertTest, LooseJsonLinesBecomeCanonical) {
  const Outcome r = Convert(Lines({kLoose, kTiny}));
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, Lines({kLooseCanonical, kTinyCanonical}));
  EXPECT_THAT(r.err, IsEmpty());
}

TEST(ConvertTest, EmptyInputGivesEmptyOutput) {
  for (std::string_view input : {"", "\n\n", "  \r\n"}) {
    const Outcome r = Convert(input);
    EXPECT_EQ(r.code, kExitOk) << "input: \"" << input << "\"";
    EXPECT_THAT(r.out, IsEmpty());
    EXPECT_THAT(r.err, IsEmpty());
  }
}

TEST(ConvertTest, PrettyEventListBecomesLines) {
  const std::string body = Pretty(EventList({kList, kCreate, kDelete}));
  ASSERT_GT(SplitLines(body).size(), 20u) << "the body should span many lines";
  const Outcome r = Convert(body);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, Lines({kList, kCreate, kDelete}));
  EXPECT_THAT(r.err, IsEmpty());
}

TEST(ConvertTest, CompactEventListBecomesLines) {
  const Outcome r = Convert(EventList({kList, kDelete}) + "\n");
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, Lines({kList, kDelete}));
}

TEST(ConvertTest, SinglePrettyEventBecomesOneLine) {
  const Outcome r = Convert(Pretty(kCreate) + "\n");
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, Lines({kCreate}));
  EXPECT_THAT(r.err, IsEmpty());
}

TEST(ConvertTest, CrlfAndByteOrderMarkAreAccepted) {
  const std::string expected = Lines({kList, kDelete, kTinyCanonical});
  const std::string crlf = Lines({kList, kDelete, kTiny}, "\r\n");
  for (const std::string& input : {crlf, "\xEF\xBB\xBF" + crlf,
                                   "\xEF\xBB\xBF" + Lines({kList, kDelete, kTiny})}) {
    const Outcome r = Convert(input);
    EXPECT_EQ(r.code, kExitOk) << r.err;
    EXPECT_EQ(r.out, expected);
  }
  // A pretty-printed EventList with CRLF line ends and a BOM.
  const Outcome r = Convert("\xEF\xBB\xBF" + Pretty(EventList({kList, kDelete}), "\r\n") + "\r\n");
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, Lines({kList, kDelete}));
}

TEST(ConvertTest, V1beta1ComesOutAsV1) {
  const Outcome r = Convert(Lines({kBeta}));
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, StartsWith(R"({"kind":"Event","apiVersion":"audit.k8s.io/v1",)"));
  EXPECT_THAT(r.out, Not(HasSubstr("v1beta1")));
  EXPECT_EQ(r.out, Lines({kBetaCanonical}));
}

TEST(ConvertTest, EventListOutputParsesBackToTheSameEvents) {
  ConvertOptions options;
  options.output = OutputFormat::kEventList;
  const Outcome r = Convert(options, Lines({kList, kLoose, kCreate, kBeta, kDelete}));
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.err, IsEmpty());
  EXPECT_THAT(r.out, StartsWith(R"({"kind":"EventList","apiVersion":"audit.k8s.io/v1",)"));
  ASSERT_THAT(r.out, ::testing::EndsWith("]}\n"));
  EXPECT_EQ(SplitLines(r.out).size(), 1u) << "one body on one line";
  absl::StatusOr<std::vector<std::string>> events = Reencode(r.out);
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_THAT(*events, ElementsAre(kList, kLooseCanonical, kCreate, kBetaCanonical, kDelete));
}

TEST(ConvertTest, EventListOutputOfNothingIsAnEmptyList) {
  ConvertOptions options;
  options.output = OutputFormat::kEventList;
  const Outcome r = Convert(options, "");
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, StartsWith(R"({"kind":"EventList","apiVersion":"audit.k8s.io/v1",)"));
  absl::StatusOr<std::vector<std::string>> events = Reencode(r.out);
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_THAT(*events, IsEmpty());
}

TEST(ConvertTest, ParseOutputFormat) {
  OutputFormat format = OutputFormat::kEventList;
  ASSERT_TRUE(ParseOutputFormat("jsonl", &format).ok());
  EXPECT_EQ(format, OutputFormat::kJsonLines);
  ASSERT_TRUE(ParseOutputFormat("eventlist", &format).ok());
  EXPECT_EQ(format, OutputFormat::kEventList);
  const absl::Status bad = ParseOutputFormat("xml", &format);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.message(), HasSubstr("xml"));
}

// Without --skip-invalid the first bad event stops the run: the events before it are
// written (JSON lines), the one error names its line, and nothing after it is read.
TEST(ConvertTest, BadLineStopsWithItsLineNumber) {
  const Outcome r = Convert(Lines({kList, kCreate, kBadType, kDelete, kBadNotJson}));
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_EQ(r.out, Lines({kList, kCreate}));
  const std::vector<std::string> errors = SplitLines(r.err);
  ASSERT_EQ(errors.size(), 1u) << r.err;
  EXPECT_THAT(errors[0], StartsWith("kubetrail convert: <stdin>:3: "));
  EXPECT_THAT(errors[0], HasSubstr("auditID"));
  // The reader's own "line 3: " is not repeated after the FILE:LINE prefix.
  EXPECT_THAT(errors[0], Not(HasSubstr("line 3")));
}

TEST(ConvertTest, BadLineWithEventListOutputWritesNothing) {
  ConvertOptions options;
  options.output = OutputFormat::kEventList;
  const Outcome r = Convert(options, Lines({kList, kBadNotJson, kDelete}));
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_THAT(r.err, StartsWith("kubetrail convert: <stdin>:2: "));
}

TEST(ConvertTest, SkipInvalidReportsEveryBadLineAndWritesEveryGoodOne) {
  ConvertOptions options;
  options.skip_invalid = true;
  const Outcome r = Convert(options, Lines({kList, kBadType, kCreate, kBadNotJson, kDelete,
                                            kBadMissingStage, kBadTruncated, kTiny}));
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, Lines({kList, kCreate, kDelete, kTinyCanonical}));
  const std::vector<std::string> errors = SplitLines(r.err);
  ASSERT_EQ(errors.size(), 5u) << r.err;
  EXPECT_THAT(errors[0], StartsWith("kubetrail convert: <stdin>:2: "));
  EXPECT_THAT(errors[0], HasSubstr("auditID"));
  EXPECT_THAT(errors[1], StartsWith("kubetrail convert: <stdin>:4: "));
  EXPECT_THAT(errors[2], StartsWith("kubetrail convert: <stdin>:6: "));
  EXPECT_THAT(errors[2], HasSubstr("stage"));
  EXPECT_THAT(errors[3], StartsWith("kubetrail convert: <stdin>:7: "));
  EXPECT_EQ(errors[4], "kubetrail convert: 4 invalid events skipped, 4 written");
}

TEST(ConvertTest, SkipInvalidWithEventListOutputKeepsTheGoodEvents) {
  ConvertOptions options;
  options.skip_invalid = true;
  options.output = OutputFormat::kEventList;
  const Outcome r = Convert(options, Lines({kBadType, kList, kBadTruncated, kDelete}));
  EXPECT_EQ(r.code, kExitOk);
  absl::StatusOr<std::vector<std::string>> events = Reencode(r.out);
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_THAT(*events, ElementsAre(kList, kDelete));
  const std::vector<std::string> errors = SplitLines(r.err);
  ASSERT_EQ(errors.size(), 3u) << r.err;
  EXPECT_THAT(errors[0], StartsWith("kubetrail convert: <stdin>:1: "));
  EXPECT_THAT(errors[1], StartsWith("kubetrail convert: <stdin>:3: "));
  EXPECT_EQ(errors[2], "kubetrail convert: 2 invalid events skipped, 2 written");
}

TEST(ConvertTest, SkipInvalidSummarySaysSoWhenNothingWasSkipped) {
  ConvertOptions options;
  options.skip_invalid = true;
  const Outcome r = Convert(options, Lines({kTiny}));
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.err, "kubetrail convert: 0 invalid events skipped, 1 written\n");
}

TEST(ConvertTest, BadItemOfAPrettyEventListIsReportedWithItsIndex) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  const std::string file =
      dir.Write("body.json", Pretty(EventList({kList, kBadType, kDelete})) + "\n");
  ConvertOptions options;
  options.inputs = {file};
  options.skip_invalid = true;
  const Outcome r = Convert(options, "");
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, Lines({kList, kDelete}));
  const std::vector<std::string> errors = SplitLines(r.err);
  ASSERT_EQ(errors.size(), 2u) << r.err;
  EXPECT_THAT(errors[0], AllOf(StartsWith(absl::StrCat("kubetrail convert: ", file, ":")),
                               HasSubstr("items[1]"), HasSubstr("auditID")));
  EXPECT_EQ(errors[1], "kubetrail convert: 1 invalid event skipped, 2 written");
}

TEST(ConvertTest, TruncatedEventListFails) {
  const std::string body = Pretty(EventList({kList, kDelete}));
  const Outcome r = Convert(body.substr(0, body.size() / 2));
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, StartsWith("kubetrail convert: <stdin>"));
}

TEST(ConvertTest, MaxEventBytesIsPassedToTheDecoder) {
  ConvertOptions options;
  options.decode.max_event_bytes = 200;
  ASSERT_LT(kTiny.size(), 200u);
  ASSERT_GT(kCreate.size(), 200u);
  const Outcome r = Convert(options, Lines({kTiny, kCreate}));
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_EQ(r.out, Lines({kTinyCanonical}));
  EXPECT_THAT(r.err, StartsWith("kubetrail convert: <stdin>:2: "));

  options.decode.max_event_bytes = 4096;
  EXPECT_EQ(Convert(options, Lines({kTiny, kCreate})).code, kExitOk);
}

TEST(ConvertTest, FilesAndStdinAreReadInOrder) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  ConvertOptions options;
  options.inputs = {dir.Write("a.jsonl", Lines({kList})), "-",
                    dir.Write("b.json", Pretty(kCreate)), "-"};
  const Outcome r = Convert(options, Lines({kDelete}));
  EXPECT_EQ(r.code, kExitOk) << r.err;
  // The second "-" finds standard input already at its end.
  EXPECT_EQ(r.out, Lines({kList, kDelete, kCreate}));
}

TEST(ConvertTest, ErrorsNameTheFile) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  ConvertOptions options;
  options.inputs = {dir.Write("good.jsonl", Lines({kList})),
                    dir.Write("bad.jsonl", Lines({kDelete, kBadNotJson}))};
  const Outcome r = Convert(options, "");
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_EQ(r.out, Lines({kList, kDelete}));
  EXPECT_THAT(r.err, StartsWith(absl::StrCat("kubetrail convert: ", dir.path(), "/bad.jsonl:2: ")));
}

TEST(ConvertTest, UnreadableFileFails) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  ConvertOptions options;
  options.skip_invalid = true;  // concerns bad events, not unreadable files
  const std::string missing = dir.path() + "/missing.jsonl";
  options.inputs = {dir.Write("a.jsonl", Lines({kList})), missing,
                    dir.Write("b.jsonl", Lines({kDelete}))};
  const Outcome r = Convert(options, "");
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_EQ(r.out, Lines({kList}));
  EXPECT_EQ(r.err,
            absl::StrCat("kubetrail convert: cannot read ", missing, ": No such file or directory\n"));

  options.inputs = {dir.path()};
  const Outcome r2 = Convert(options, "");
  EXPECT_EQ(r2.code, kExitFailure);
  EXPECT_EQ(r2.err, absl::StrCat("kubetrail convert: cannot read ", dir.path(), ": Is a directory\n"));
}

TEST(ConvertTest, ReadWholeFileReadsEverything) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  // Larger than one read chunk, so the loop runs more than once.
  std::string big(3 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 4093) big[i] = static_cast<char>('a' + i % 26);
  std::string content;
  ASSERT_TRUE(ReadWholeFile(dir.Write("big", big), &content).ok());
  EXPECT_TRUE(content == big);
  ASSERT_TRUE(ReadWholeFile(dir.Write("empty", ""), &content).ok());
  EXPECT_THAT(content, IsEmpty());
  const absl::Status missing = ReadWholeFile(dir.path() + "/nope", &content);
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);

  std::istringstream in(big);
  ASSERT_TRUE(ReadWholeStream(in, "<stdin>", &content).ok());
  EXPECT_TRUE(content == big);
}

TEST(ConvertTest, UnwritableOutputFails) {
  std::istringstream in(Lines({kList}));
  std::ostream out(nullptr);  // every write fails
  std::ostringstream err;
  EXPECT_EQ(RunConvert(ConvertOptions(), in, out, err), kExitFailure);
  EXPECT_THAT(err.str(), MatchesRegex("kubetrail convert: cannot write output.*\n"));
}

}  // namespace
}  // namespace kubetrail::cli
