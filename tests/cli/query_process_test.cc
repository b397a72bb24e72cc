// Process tests of `kubetrail query`: a real kubetrail-aggregator (--dev, a private data dir,
// port 0) loaded with generated events and the shared corpus by kubetrail-loadgen --send,
// queried by the real kubetrail binary. Checks that -o jsonl gives back the very bytes that
// went in, time order both ways, time and field filters, --limit and --all paging, the -o
// json envelope, and the exit codes and messages of usage and connection errors.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "audit/codec.h"
#include "audit/microtime.h"
#include "common/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kubetrail/v1/event.pb.h"
#include "tests/testing/background_process.h"
#include "tests/testing/paths.h"
#include "tests/testing/ports.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace kubetrail {
namespace {

using ::kubetrail::testing::BackgroundProcess;
using ::kubetrail::testing::BinDir;
using ::kubetrail::testing::CorpusDir;
using ::kubetrail::testing::RunSubprocess;
using ::kubetrail::testing::SubprocessOptions;
using ::kubetrail::testing::SubprocessResult;
using ::kubetrail::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

// Generated events for cluster c1: more than one --all page (1000 events), in 2020 so that
// "--since 1h" selects none of them.
constexpr int kGeneratedEvents = 2500;
constexpr char kGeneratedStart[] = "2020-01-01T00:00:00Z";

// One loaded event: its canonical line and what the tests filter on.
struct Line {
  std::string json;
  int64_t time_us = 0;
  std::string verb;
  std::string ns;
  uint64_t sequence = 0;  // the aggregator's ingest sequence number
};

// Splits JSON lines and decodes each one (the event's time as the aggregator defines it:
// requestReceivedTimestamp, else stageTimestamp).
absl::StatusOr<std::vector<Line>> ParseLines(std::string_view text) {
  std::vector<Line> lines;
  audit::EventDecoder decoder;
  v1::Event event;
  for (absl::string_view part : absl::StrSplit(ToAbsl(text), '\n', absl::SkipEmpty())) {
    const std::string_view json = ToStd(part);
    if (absl::Status s = decoder.Decode(json, &event); !s.ok()) return s;
    Line line;
    line.json = std::string(json);
    line.time_us = event.has_request_received_timestamp_us() ? event.request_received_timestamp_us()
                                                             : event.stage_timestamp_us();
    line.verb = event.verb();
    line.ns = event.object_ref().namespace_();
    lines.push_back(std::move(line));
  }
  return lines;
}

std::string Join(const std::vector<Line>& lines) {
  std::string text;
  for (const Line& line : lines) absl::StrAppend(&text, line.json, "\n");
  return text;
}

std::vector<std::string> SplitLines(std::string_view text) {
  return absl::StrSplit(ToAbsl(text), '\n', absl::SkipEmpty());
}

// At most 300 bytes of `line`, for failure messages (events are long).
std::string Excerpt(std::string_view line) {
  return line.size() <= 300 ? std::string(line) : Cat(line.substr(0, 300), "...");
}

// `actual` holds exactly `expected`, one per line, in order. On failure names the first
// difference instead of printing megabytes.
::testing::AssertionResult SameLines(std::string_view actual, const std::vector<Line>& expected) {
  const std::vector<std::string> lines = SplitLines(actual);
  for (size_t i = 0; i < std::min(lines.size(), expected.size()); ++i) {
    if (lines[i] != expected[i].json) {
      return ::testing::AssertionFailure()
             << "line " << i + 1 << " differs:\n  got:  " << Excerpt(lines[i])
             << "\n  want: " << Excerpt(expected[i].json);
    }
  }
  if (lines.size() != expected.size() || actual.size() != Join(expected).size()) {
    return ::testing::AssertionFailure()
           << "got " << lines.size() << " lines (" << actual.size() << " bytes), want "
           << expected.size() << " (" << Join(expected).size() << " bytes)";
  }
  return ::testing::AssertionSuccess();
}

// The parts of a `-o json` line: the event's JSON and the sequence number.
struct Envelope {
  std::string prefix;  // {"cluster":...,"source":...,"event":
  std::string event;
  std::string receive_time;
  uint64_t sequence = 0;
};
std::optional<Envelope> ParseEnvelope(std::string_view line) {
  constexpr std::string_view kEvent = ",\"event\":";
  constexpr std::string_view kReceive = ",\"receive_time\":\"";
  constexpr std::string_view kSequence = "\",\"sequence\":";
  const size_t event = line.find(kEvent);
  const size_t receive = line.rfind(kReceive);
  const size_t sequence = line.rfind(kSequence);
  if (event == std::string_view::npos || receive == std::string_view::npos ||
      sequence == std::string_view::npos || receive < event || sequence < receive ||
      !line.ends_with("}")) {
    return std::nullopt;
  }
  Envelope e;
  e.prefix = std::string(line.substr(0, event + kEvent.size()));
  e.event = std::string(line.substr(event + kEvent.size(), receive - event - kEvent.size()));
  e.receive_time =
      std::string(line.substr(receive + kReceive.size(), sequence - receive - kReceive.size()));
  const std::string_view digits =
      line.substr(sequence + kSequence.size(), line.size() - 1 - sequence - kSequence.size());
  if (!absl::SimpleAtoi(ToAbsl(digits), &e.sequence)) return std::nullopt;
  return e;
}

// What every test shares: one aggregator, loaded once.
struct Shared {
  TempDir temp;
  std::unique_ptr<BackgroundProcess> aggregator;
  std::string address;  // 127.0.0.1:PORT
  // Cluster c1, in the order the aggregator answers: by time, then ingest order.
  std::vector<Line> generated;
  // Cluster corpus: the shared corpus as `kubetrail convert` writes it, each distinct line
  // once; empty when there is no corpus.
  std::set<std::string> corpus;
  std::string corpus_skip;
};

class QueryProcessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    shared_ = new Shared;
    setup_error_ = new std::string(Setup(*shared_));
  }
  static void TearDownTestSuite() {
    if (shared_->aggregator != nullptr) {
      // A clean shutdown, as an operator's SIGTERM would do it.
      EXPECT_TRUE(shared_->aggregator->Signal(SIGTERM).ok());
      absl::StatusOr<int> code = shared_->aggregator->Wait(absl::Seconds(60));
      EXPECT_TRUE(code.ok()) << code.status();
      if (code.ok()) {
        EXPECT_EQ(*code, 0) << shared_->aggregator->stderr_data();
      }
    }
    delete shared_;
    shared_ = nullptr;
    delete setup_error_;
    setup_error_ = nullptr;
  }

  void SetUp() override { ASSERT_THAT(*setup_error_, IsEmpty()); }

  // Starts the aggregator and loads it; returns what went wrong, or "".
  static std::string Setup(Shared& s) {
    if (!s.temp.ok()) return s.temp.error();
    const std::string bin = BinDir();
    for (const char* tool : {"kubetrail", "kubetrail-aggregator", "kubetrail-loadgen"}) {
      if (!std::filesystem::exists(bin + "/" + tool)) {
        return absl::StrCat(bin, "/", tool, " is missing; build it first");
      }
    }
    absl::StatusOr<std::unique_ptr<BackgroundProcess>> aggregator =
        BackgroundProcess::Start({bin + "/kubetrail-aggregator", "--dev", "--listen", "127.0.0.1:0",
                                  "--data-dir", s.temp.File("data")});
    if (!aggregator.ok()) return aggregator.status().ToString();
    s.aggregator = *std::move(aggregator);
    absl::StatusOr<std::string> line =
        s.aggregator->WaitForLine("kubetrail-aggregator: serving grpc=", absl::Seconds(60));
    if (!line.ok()) return line.status().ToString();
    // "kubetrail-aggregator: serving grpc=127.0.0.1:PORT ..."
    const size_t start = line->find("grpc=") + 5;
    s.address = line->substr(start, line->find(' ', start) - start);

    // Generated events.
    absl::StatusOr<SubprocessResult> generated =
        RunSubprocess({bin + "/kubetrail-loadgen", "--count", std::to_string(kGeneratedEvents),
                       "--seed", "7", "--start", kGeneratedStart});
    if (!generated.ok()) return generated.status().ToString();
    if (generated->exit_code != 0) return "kubetrail-loadgen: " + generated->stderr_data;
    absl::StatusOr<std::vector<Line>> lines = ParseLines(generated->stdout_data);
    if (!lines.ok()) return "generated events: " + lines.status().ToString();
    if (std::string error = Send(s, "c1", s.temp.Write("c1.jsonl", generated->stdout_data));
        !error.empty()) {
      return error;
    }
    // The order the aggregator promises is (time, ingest sequence). The sequence follows
    // commit order, which need not be file order (batches of one stream may commit out of
    // order), so learn each event's sequence from -o json, and check that the events that
    // come back are byte for byte the ones sent, each once.
    s.generated = *std::move(lines);
    absl::StatusOr<SubprocessResult> json =
        RunSubprocess({bin + "/kubetrail", "--dev", "--server", s.address, "query", "--cluster",
                       "c1", "--all", "-o", "json"});
    if (!json.ok()) return json.status().ToString();
    if (json->exit_code != 0) return "kubetrail query -o json: " + json->stderr_data;
    std::map<std::string, uint64_t> sequences;
    for (const std::string& l : SplitLines(json->stdout_data)) {
      const std::optional<Envelope> e = ParseEnvelope(l);
      if (!e) return "not an envelope: " + Excerpt(l);
      if (!sequences.emplace(e->event, e->sequence).second) {
        return "returned twice: " + Excerpt(e->event);
      }
    }
    if (sequences.size() != s.generated.size()) {
      return Cat("sent ", s.generated.size(), " events, got ", sequences.size(), " back");
    }
    for (Line& l : s.generated) {
      const auto it = sequences.find(l.json);
      if (it == sequences.end()) return "not returned byte for byte: " + Excerpt(l.json);
      l.sequence = it->second;
    }
    std::sort(s.generated.begin(), s.generated.end(), [](const Line& a, const Line& b) {
      return std::pair(a.time_us, a.sequence) < std::pair(b.time_us, b.sequence);
    });

    // The shared corpus, canonicalised by `kubetrail convert`.
    const std::optional<std::string> corpus = CorpusDir();
    if (!corpus) {
      s.corpus_skip = "no corpus: " + testing::CorpusSearchDescription();
      return "";
    }
    std::vector<std::string> convert = {bin + "/kubetrail", "convert"};
    for (const auto& entry : std::filesystem::directory_iterator(*corpus)) {
      if (entry.path().extension() == ".jsonl") convert.push_back(entry.path().string());
    }
    std::sort(convert.begin() + 2, convert.end());
    absl::StatusOr<SubprocessResult> converted = RunSubprocess(convert);
    if (!converted.ok()) return converted.status().ToString();
    if (converted->exit_code != 0) return "kubetrail convert: " + converted->stderr_data;
    if (std::string error = Send(s, "corpus", s.temp.Write("corpus.jsonl", converted->stdout_data));
        !error.empty()) {
      return error;
    }
    for (std::string& l : SplitLines(converted->stdout_data)) s.corpus.insert(std::move(l));
    return "";
  }

  // kubetrail-loadgen --send FILE to the aggregator as `cluster`; "" or what went wrong.
  static std::string Send(const Shared& s, const std::string& cluster, const std::string& file) {
    absl::StatusOr<SubprocessResult> sent =
        RunSubprocess({BinDir() + "/kubetrail-loadgen", "--send", "grpc://" + s.address,
                       "--cluster", cluster, "--timeout", "60", file});
    if (!sent.ok()) return sent.status().ToString();
    if (sent->exit_code != 0 || sent->stdout_data.find("\"rejected\":0") == std::string::npos) {
      return absl::StrCat("kubetrail-loadgen --send (exit ", sent->exit_code,
                          "): ", sent->stdout_data, sent->stderr_data);
    }
    return "";
  }

  // Runs `kubetrail ARGS...`; fails the test if it cannot run at all.
  static SubprocessResult Run(std::vector<std::string> args, std::vector<std::string> env = {}) {
    args.insert(args.begin(), BinDir() + "/kubetrail");
    SubprocessOptions options;
    options.env = std::move(env);
    absl::StatusOr<SubprocessResult> result = RunSubprocess(args, options);
    EXPECT_TRUE(result.ok()) << result.status();
    if (!result.ok()) return SubprocessResult();
    return *std::move(result);
  }

  // Runs `kubetrail --dev --server ADDRESS query ARGS...`, with `-o jsonl` unless ARGS has
  // an `-o`.
  static SubprocessResult Query(std::vector<std::string> args) {
    if (std::find(args.begin(), args.end(), "-o") == args.end()) {
      args.insert(args.begin(), {"-o", "jsonl"});
    }
    args.insert(args.begin(), {"--dev", "--server", shared_->address, "query"});
    return Run(std::move(args));
  }

  static const std::vector<Line>& generated() { return shared_->generated; }

  static Shared* shared_;
  static std::string* setup_error_;
};

Shared* QueryProcessTest::shared_ = nullptr;
std::string* QueryProcessTest::setup_error_ = nullptr;

TEST_F(QueryProcessTest, AllGivesBackTheGeneratedBytesInTimeOrder) {
  const SubprocessResult r = Query({"--cluster", "c1", "--all"});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_THAT(r.stderr_data, IsEmpty());
  EXPECT_TRUE(SameLines(r.stdout_data, generated()));
  // Time order, independently of the sequence numbers.
  const std::vector<Line>& g = generated();
  EXPECT_TRUE(std::is_sorted(g.begin(), g.end(),
                             [](const Line& a, const Line& b) { return a.time_us < b.time_us; }));
}

TEST_F(QueryProcessTest, NewestFirst) {
  const SubprocessResult r = Query({"--cluster", "c1", "--all", "--order", "desc"});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  std::vector<Line> reversed(generated().rbegin(), generated().rend());
  EXPECT_TRUE(SameLines(r.stdout_data, reversed));

  const SubprocessResult top = Query({"--cluster", "c1", "--order", "desc", "--limit", "5"});
  EXPECT_EQ(top.exit_code, 0) << top.stderr_data;
  reversed.resize(5);
  EXPECT_TRUE(SameLines(top.stdout_data, reversed));
}

TEST_F(QueryProcessTest, TheCorpusComesBackByteForByte) {
  if (shared_->corpus.empty()) GTEST_SKIP() << shared_->corpus_skip;
  const SubprocessResult r = Query({"--cluster", "corpus", "--all"});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  const std::vector<std::string> lines = SplitLines(r.stdout_data);
  EXPECT_EQ(lines.size(), shared_->corpus.size());
  const std::set<std::string> got(lines.begin(), lines.end());
  EXPECT_EQ(got.size(), lines.size()) << "an event came back twice";
  for (const std::string& line : lines) {
    EXPECT_EQ(shared_->corpus.count(line), 1u) << "not in the corpus: " << line;
  }
}

TEST_F(QueryProcessTest, DefaultLimitAndHint) {
  SubprocessResult r = Query({"--cluster", "c1"});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  std::vector<Line> first(generated().begin(), generated().begin() + 100);
  EXPECT_TRUE(SameLines(r.stdout_data, first));
  EXPECT_EQ(r.stderr_data,
            "kubetrail query: more events match; use --all or --limit N (up to 100000)\n");

  r = Query({"--cluster", "c1", "--limit", "7"});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  first.resize(7);
  EXPECT_TRUE(SameLines(r.stdout_data, first));
  EXPECT_THAT(r.stderr_data, HasSubstr("more events match"));

  // Exactly everything: no hint.
  r = Query({"--cluster", "c1", "--limit", std::to_string(kGeneratedEvents)});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_TRUE(SameLines(r.stdout_data, generated()));
  EXPECT_THAT(r.stderr_data, IsEmpty());
}

TEST_F(QueryProcessTest, TimeRangeIsHalfOpen) {
  const std::vector<Line>& all = generated();
  // Bounds at event times, so the half-open ends are visible.
  const int64_t from = all[all.size() / 4].time_us;
  const int64_t to = all[all.size() / 2].time_us;
  std::vector<Line> expected;
  for (const Line& line : all) {
    if (line.time_us >= from && line.time_us < to) expected.push_back(line);
  }
  ASSERT_FALSE(expected.empty());
  SubprocessResult r = Query({"--cluster", "c1", "--all", "--from", audit::FormatMicroTime(from),
                              "--to", audit::FormatMicroTime(to)});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_TRUE(SameLines(r.stdout_data, expected));

  // Open-ended --from, and the same instant written with an offset.
  expected.clear();
  for (const Line& line : all) {
    if (line.time_us >= to) expected.push_back(line);
  }
  const std::string with_offset = absl::FormatTime(
      "%Y-%m-%dT%H:%M:%E6S+02:00", absl::FromUnixMicros(to), absl::FixedTimeZone(2 * 3600));
  r = Query({"--cluster", "c1", "--all", "--from", with_offset});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_TRUE(SameLines(r.stdout_data, expected));

  // --to alone, as a plain date: before 2020-01-01T00:00:00Z, the first event's time.
  r = Query({"--cluster", "c1", "--all", "--to", "2020-01-01"});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_THAT(r.stdout_data, IsEmpty());
}

TEST_F(QueryProcessTest, Since) {
  // The generated events are from 2020: nothing in the last hour, all of them in 100000 days.
  SubprocessResult r = Query({"--cluster", "c1", "--since", "1h"});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_THAT(r.stdout_data, IsEmpty());
  EXPECT_THAT(r.stderr_data, IsEmpty());
  r = Query({"--cluster", "c1", "--since", "100000d", "--all"});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_TRUE(SameLines(r.stdout_data, generated()));
}

TEST_F(QueryProcessTest, FieldFilters) {
  std::vector<Line> expected;
  for (const Line& line : generated()) {
    if ((line.verb == "get" || line.verb == "list") && line.ns == "kube-system") {
      expected.push_back(line);
    }
  }
  ASSERT_FALSE(expected.empty());
  const SubprocessResult r =
      Query({"--cluster", "c1,nope", "--verb", "get,list", "--namespace", "kube-system", "--all"});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_TRUE(SameLines(r.stdout_data, expected));

  const SubprocessResult none = Query({"--cluster", "nope", "--all"});
  EXPECT_EQ(none.exit_code, 0) << none.stderr_data;
  EXPECT_THAT(none.stdout_data, IsEmpty());
}

TEST_F(QueryProcessTest, JsonEnvelope) {
  const SubprocessResult r = Query({"--cluster", "c1", "--limit", "3", "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  const std::vector<std::string> lines = SplitLines(r.stdout_data);
  ASSERT_EQ(lines.size(), 3u) << r.stdout_data;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::optional<Envelope> e = ParseEnvelope(lines[i]);
    ASSERT_TRUE(e.has_value()) << lines[i];
    EXPECT_EQ(e->prefix, R"({"cluster":"c1","source":"loadgen","event":)");
    EXPECT_EQ(e->event, generated()[i].json);
    EXPECT_EQ(e->sequence, generated()[i].sequence);
    EXPECT_THAT(e->receive_time, MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
                                              "[0-9]{2}\\.[0-9]{6}Z"));
  }
}

TEST_F(QueryProcessTest, GlobalFlagsAfterTheVerb) {
  const SubprocessResult r = Run({"query", "--dev", "--server", shared_->address, "--cluster", "c1",
                                  "--limit", "2", "--timeout", "20s", "-o", "jsonl"});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  std::vector<Line> first(generated().begin(), generated().begin() + 2);
  EXPECT_TRUE(SameLines(r.stdout_data, first));
}

TEST_F(QueryProcessTest, ServerRefusedFilterIsAUsageError) {
  const SubprocessResult r = Query({"--code", "4x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stdout_data, IsEmpty());
  EXPECT_THAT(r.stderr_data, StartsWith("kubetrail: " + shared_->address + ": INVALID_ARGUMENT: "));
  EXPECT_THAT(r.stderr_data, HasSubstr("4x"));
}

TEST_F(QueryProcessTest, UsageErrors) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"--since", "2h", "--from", "2026-11-27"}, "--since"},
           {{"--since", "2h", "--to", "2026-11-27"}, "--since"},
           {{"--limit", "5", "--all"}, "--all"},
           {{"--limit", "0"}, "--limit"},
           {{"--limit", "100001"}, "--limit"},
           {{"--from", "yesterday"}, "--from"},
           {{"--from", "2026-11-28", "--to", "2026-11-27"}, "--to"},
           {{"--since", "soon"}, "--since"},
           {{"-o", "xml"}, "xml"},
           {{"--order", "newest"}, "newest"},
           {{"--verb", "get,"}, "--verb"},
           {{"--user", "alice", "bob"}, "bob"},
           {{"--tls-ca", "ca.pem"}, "--dev"},
           {{"--timeout", "0s"}, "--timeout"},
           {{"--bogus"}, "--bogus"},
       }) {
    const SubprocessResult r = Query(c.args);
    const std::string joined = absl::StrJoin(c.args, " ");
    EXPECT_EQ(r.exit_code, 2) << joined << ": " << r.stderr_data;
    EXPECT_THAT(r.stderr_data, HasSubstr(c.message)) << joined;
    EXPECT_THAT(r.stdout_data, IsEmpty()) << joined;
  }
}

TEST_F(QueryProcessTest, UnreachableServer) {
  const int port = kubetrail::testing::UnusedLoopbackPort();
  ASSERT_NE(port, 0);
  const std::string address = absl::StrCat("127.0.0.1:", port);
  const SubprocessResult r = Run({"--dev", "--server", address, "query", "--timeout", "20s"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.stdout_data, IsEmpty());
  EXPECT_THAT(r.stderr_data, StartsWith("kubetrail: " + address + ": UNAVAILABLE: "));
  EXPECT_EQ(std::count(r.stderr_data.begin(), r.stderr_data.end(), '\n'), 1) << r.stderr_data;
}

TEST_F(QueryProcessTest, TlsToAPlaintextServerFails) {
  const SubprocessResult r =
      Run({"--server", shared_->address, "query", "--timeout", "20s"}, {"KUBETRAIL_TOKEN=s3cret"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.stdout_data, IsEmpty());
  EXPECT_THAT(r.stderr_data, StartsWith("kubetrail: " + shared_->address + ": UNAVAILABLE: "));
}

TEST_F(QueryProcessTest, HelpNamesTheFlags) {
  const SubprocessResult r = Run({"query", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag : {"--since", "--from", "--to", "--limit", "--all", "--order", "--output",
                           "--cluster", "--user-agent", "--dev", "--server", "Examples:"}) {
    EXPECT_THAT(r.stdout_data, HasSubstr(flag));
  }
}

}  // namespace
}  // namespace kubetrail
