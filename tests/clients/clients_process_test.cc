// The C++ client library (kubetrail::Client), its example program and the `kubetrail` verbs
// get, count, top, histogram, export, tail and status against a real kubetrail-aggregator
// (--dev, port 0, a private data dir) loaded by kubetrail-loadgen --send. Every expected
// result is computed here, independently, from the very events that were sent: decoded, then
// filtered and counted by this file's own code.
#include <signal.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "audit/codec.h"
#include "common/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kubetrail/client.h"
#include "kubetrail/filter.h"
#include "kubetrail/v1/event.pb.h"
#include "tests/testing/aggregator_process.h"
#include "tests/testing/background_process.h"
#include "tests/testing/paths.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace kubetrail {
namespace {

using ::kubetrail::testing::BackgroundProcess;
using ::kubetrail::testing::BinDir;
using ::kubetrail::testing::RunSubprocess;
using ::kubetrail::testing::SubprocessResult;
using ::kubetrail::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// One sent event: its line as sent (canonical, as loadgen writes it) and its decoded form.
struct Sent {
  std::string line;
  std::string cluster;
  v1::Event event;
  int64_t time_us = 0;
};

std::vector<std::string> Lines(std::string_view text) {
  std::vector<std::string> lines;
  for (absl::string_view l : absl::StrSplit(ToAbsl(text), '\n', absl::SkipEmpty())) {
    lines.emplace_back(l);
  }
  return lines;
}

std::multiset<std::string> LineSet(std::string_view text) {
  std::vector<std::string> lines = Lines(text);
  return {lines.begin(), lines.end()};
}

class ClientsProcessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    temp_ = new TempDir();
    aggregator_ = new testing::RunningAggregator(testing::StartAggregator(temp_->File("data")));
    ASSERT_NE(aggregator_->process, nullptr);
    address_ = new std::string(absl::StrCat("127.0.0.1:", aggregator_->port));
    sent_ = new std::vector<Sent>();
    Load("east", 3000, 11);
    Load("west", 1000, 12);
  }
  static void TearDownTestSuite() {
    delete sent_;
    delete address_;
    delete aggregator_;
    delete temp_;
  }

  // Generates `count` events (seed) and sends them as `cluster`; returns their lines.
  static std::vector<std::string> Load(const std::string& cluster, int count, int seed) {
    const std::string file = temp_->File(cluster + ".jsonl");
    absl::StatusOr<SubprocessResult> made = RunSubprocess(
        {BinDir() + "/kubetrail-loadgen", "-n", std::to_string(count), "-s",
         std::to_string(seed), "--start", "2026-11-01T00:00:00Z", "-o", file});
    EXPECT_TRUE(made.ok() && made->exit_code == 0);
    absl::StatusOr<SubprocessResult> sent =
        RunSubprocess({BinDir() + "/kubetrail-loadgen", "--send", "grpc://" + *address_,
                       "--cluster", cluster, "--timeout", "60", file});
    EXPECT_TRUE(sent.ok() && sent->exit_code == 0 &&
                sent->stdout_data.find("\"rejected\":0") != std::string::npos)
        << (sent.ok() ? sent->stdout_data + sent->stderr_data : sent.status().ToString());
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    std::vector<std::string> lines = Lines(text.str());
    audit::EventDecoder decoder;
    for (const std::string& line : lines) {
      Sent s;
      s.line = line;
      s.cluster = cluster;
      EXPECT_TRUE(decoder.Decode(line, &s.event).ok());
      s.time_us = s.event.request_received_timestamp_us();
      sent_->push_back(std::move(s));
    }
    return lines;
  }

  // The sent events of the loaded clusters (east, west) that `keep` selects, as lines.
  template <typename Pred>
  static std::multiset<std::string> Expected(Pred keep) {
    std::multiset<std::string> out;
    for (const Sent& s : *sent_) {
      if ((s.cluster == "east" || s.cluster == "west") && keep(s)) out.insert(s.line);
    }
    return out;
  }

  static Client MakeClient() {
    absl::StatusOr<Client> client =
        Client::Connect({.server = *address_, .plaintext = true, .timeout = absl::Seconds(30)});
    EXPECT_TRUE(client.ok()) << client.status();
    return *std::move(client);
  }

  // Every event of a search, as lines (kube format).
  static std::multiset<std::string> SearchLines(const Client& client, const v1::Filter& filter,
                                                SearchOptions options = {}) {
    std::multiset<std::string> out;
    SearchIterator it = client.Search(filter, options);
    int64_t last_time = INT64_MIN;
    while (it.Next()) {
      EXPECT_GE(it.event().time_us(), last_time) << "not in time order";
      last_time = it.event().time_us();
      out.insert(audit::EncodeEventJson(it.event().event().event()));
    }
    EXPECT_TRUE(it.status().ok()) << it.status();
    return out;
  }

  static SubprocessResult Cli(std::vector<std::string> args) {
    args.insert(args.begin(), {BinDir() + "/kubetrail", "--dev", "--server", *address_});
    absl::StatusOr<SubprocessResult> r = RunSubprocess(args);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *std::move(r) : SubprocessResult();
  }

  static TempDir* temp_;
  static testing::RunningAggregator* aggregator_;
  static std::string* address_;
  static std::vector<Sent>* sent_;
};

TempDir* ClientsProcessTest::temp_ = nullptr;
testing::RunningAggregator* ClientsProcessTest::aggregator_ = nullptr;
std::string* ClientsProcessTest::address_ = nullptr;
std::vector<Sent>* ClientsProcessTest::sent_ = nullptr;

bool HasPrefix(std::string_view s, std::string_view prefix) { return s.starts_with(prefix); }

TEST_F(ClientsProcessTest, LibrarySearchMatchesAnIndependentFilter) {
  const Client client = MakeClient();
  const absl::Time now = absl::Now();
  {
    FilterFlags flags;
    flags.clusters = {"east,west"};
    EXPECT_EQ(SearchLines(client, *BuildFilter(flags, now), {.page_size = 700}),
              Expected([](const Sent&) { return true; }));
  }
  {
    FilterFlags flags;
    flags.clusters = {"east"};
    flags.users = {"system:serviceaccount:*"};
    flags.verbs = {"get,list"};
    const auto expected = Expected([](const Sent& s) {
      return s.cluster == "east" && HasPrefix(s.event.user().username(), "system:serviceaccount:") &&
             (s.event.verb() == "get" || s.event.verb() == "list");
    });
    EXPECT_FALSE(expected.empty());
    EXPECT_EQ(SearchLines(client, *BuildFilter(flags, now)), expected);
    absl::StatusOr<uint64_t> count = client.Count(*BuildFilter(flags, now));
    ASSERT_TRUE(count.ok()) << count.status();
    EXPECT_EQ(*count, expected.size());
  }
  {
    // A time window and a code class, newest first.
    const int64_t from = (*sent_)[500].time_us;
    const int64_t to = (*sent_)[1500].time_us;
    FilterFlags flags;
    flags.clusters = {"east,west"};
    flags.from = absl::FormatTime(absl::RFC3339_full, absl::FromUnixMicros(from),
                                  absl::UTCTimeZone());
    flags.to = absl::FormatTime(absl::RFC3339_full, absl::FromUnixMicros(to), absl::UTCTimeZone());
    flags.codes = {"2xx"};
    const auto expected = Expected([&](const Sent& s) {
      const int code = s.event.response_status().code();
      return s.time_us >= from && s.time_us < to && s.event.response_status().has_code() &&
             code >= 200 && code < 300;
    });
    EXPECT_FALSE(expected.empty());
    std::multiset<std::string> got;
    SearchIterator it = client.Search(*BuildFilter(flags, now),
                                      {.order = v1::ORDER_DESCENDING, .page_size = 333});
    int64_t last = INT64_MAX;
    while (it.Next()) {
      EXPECT_LE(it.event().time_us(), last);
      last = it.event().time_us();
      got.insert(audit::EncodeEventJson(it.event().event().event()));
    }
    EXPECT_TRUE(it.status().ok()) << it.status();
    EXPECT_EQ(got, expected);
  }
}

TEST_F(ClientsProcessTest, LibraryTopGetAndLimit) {
  const Client client = MakeClient();
  v1::Filter filter;
  filter.add_clusters("east");
  std::map<std::string, uint64_t> users;
  for (const Sent& s : *sent_) {
    if (s.cluster == "east") ++users[s.event.user().username()];
  }
  std::vector<std::pair<uint64_t, std::string>> ranked;
  for (const auto& [user, n] : users) ranked.emplace_back(n, user);
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  absl::StatusOr<std::vector<v1::KeyCount>> top = client.Top(filter, v1::DIMENSION_USER, 5);
  ASSERT_TRUE(top.ok()) << top.status();
  ASSERT_EQ(top->size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ((*top)[i].key(), ranked[i].second);
    EXPECT_EQ((*top)[i].count(), ranked[i].first);
  }

  const Sent& some = (*sent_)[42];
  absl::StatusOr<std::vector<v1::StoredEvent>> stages = client.Get(some.event.audit_id());
  ASSERT_TRUE(stages.ok()) << stages.status();
  std::multiset<std::string> got;
  for (const v1::StoredEvent& e : *stages) got.insert(audit::EncodeEventJson(e.event().event()));
  EXPECT_EQ(got, Expected([&](const Sent& s) {
              return s.event.audit_id() == some.event.audit_id();
            }));
  EXPECT_EQ(client.Get("no-such-audit-id").status().code(), absl::StatusCode::kNotFound);

  SearchIterator limited = client.Search(filter, {.limit = 1234, .page_size = 500});
  uint64_t n = 0;
  while (limited.Next()) ++n;
  EXPECT_EQ(n, 1234u);
  EXPECT_TRUE(limited.more());
  EXPECT_FALSE(limited.cursor().empty());
}

TEST_F(ClientsProcessTest, LibraryFollowContinuesASearch) {
  const Client client = MakeClient();
  v1::Filter filter;
  filter.add_clusters("late");
  SearchIterator it = client.Search(filter);
  while (it.Next()) ADD_FAILURE() << "nothing was sent as late yet";
  ASSERT_TRUE(it.status().ok()) << it.status();
  std::unique_ptr<FollowStream> stream = client.Follow(filter, {.cursor = it.cursor()});
  const std::vector<std::string> lines = Load("late", 250, 13);
  std::multiset<std::string> got;
  v1::FollowResponse response;
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while (got.size() < lines.size() && absl::Now() < give_up && stream->Next(&response)) {
    for (const v1::StoredEvent& e : response.events()) {
      got.insert(audit::EncodeEventJson(e.event().event()));
    }
  }
  stream->Cancel();
  EXPECT_EQ(got, std::multiset<std::string>(lines.begin(), lines.end()));
  EXPECT_EQ(stream->status().code(), absl::StatusCode::kCancelled);
}

TEST_F(ClientsProcessTest, ExampleProgram) {
  absl::StatusOr<SubprocessResult> r =
      RunSubprocess({BinDir() + "/kubetrail-client-example", "--dev", "--server", *address_,
                     "--since", "100000d", "--verb", "delete", "--cluster", "west"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 0) << r->stderr_data;
  const size_t deletes =
      Expected([](const Sent& s) { return s.cluster == "west" && s.event.verb() == "delete"; })
          .size();
  EXPECT_GT(deletes, 0u);
  EXPECT_THAT(r->stdout_data, HasSubstr(absl::StrCat("\n", deletes, " events\n")));

  absl::StatusOr<SubprocessResult> down = RunSubprocess(
      {BinDir() + "/kubetrail-client-example", "--dev", "--server", "127.0.0.1:1"});
  ASSERT_TRUE(down.ok());
  EXPECT_EQ(down->exit_code, 1);
  EXPECT_THAT(down->stderr_data, HasSubstr("UNAVAILABLE"));
}

TEST_F(ClientsProcessTest, CliCountTopGetHistogramStatus) {
  const auto east_deletes =
      Expected([](const Sent& s) { return s.cluster == "east" && s.event.verb() == "delete"; });
  SubprocessResult r = Cli({"count", "--cluster", "east", "--verb", "delete"});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_EQ(r.stdout_data, absl::StrCat(east_deletes.size(), "\n"));
  r = Cli({"count", "--cluster", "east", "--verb", "delete", "-o", "json"});
  EXPECT_EQ(r.stdout_data, absl::StrCat("{\"count\":", east_deletes.size(), "}\n"));

  // top verbs -o json, against counts made here (ties by key).
  std::map<std::string, uint64_t> verbs;
  for (const Sent& s : *sent_) {
    if (s.cluster == "west") ++verbs[s.event.verb()];
  }
  std::vector<std::pair<uint64_t, std::string>> ranked;
  for (const auto& [verb, n] : verbs) ranked.emplace_back(n, verb);
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::string json = "[";
  for (size_t i = 0; i < std::min<size_t>(3, ranked.size()); ++i) {
    absl::StrAppend(&json, i ? "," : "", "{\"key\":\"", ranked[i].second, "\",\"count\":",
                    ranked[i].first, "}");
  }
  json += "]\n";
  r = Cli({"top", "verbs", "--cluster", "west", "--limit", "3", "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_EQ(r.stdout_data, json);

  // get -o jsonl: every stage of one request, as sent.
  const Sent& some = (*sent_)[7];
  r = Cli({"get", some.event.audit_id(), "-o", "jsonl"});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_EQ(LineSet(r.stdout_data),
            Expected([&](const Sent& s) { return s.event.audit_id() == some.event.audit_id(); }));
  r = Cli({"get", some.event.audit_id()});
  EXPECT_THAT(r.stdout_data, HasSubstr(some.event.audit_id()));
  EXPECT_THAT(r.stdout_data, HasSubstr(some.event.user().username()));
  r = Cli({"get", "no-such-audit-id"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.stderr_data, HasSubstr("NOT_FOUND"));

  // histogram --by hour -o json: the bucket counts.
  std::map<int64_t, uint64_t> hours;
  for (const Sent& s : *sent_) {
    if (s.cluster == "east") ++hours[s.time_us / 3'600'000'000 * 3'600'000'000];
  }
  r = Cli({"histogram", "--cluster", "east", "--from", "2026-10-31", "--to", "2026-11-30",
           "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  for (const auto& [start, n] : hours) {
    EXPECT_THAT(r.stdout_data,
                HasSubstr(absl::StrCat("{\"start\":\"",
                                       absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ",
                                                        absl::FromUnixMicros(start),
                                                        absl::UTCTimeZone()),
                                       "\",\"count\":", n, "}")));
  }

  r = Cli({"status", "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_THAT(r.stdout_data, HasSubstr("\"health\":\"SERVING\""));
  EXPECT_THAT(r.stdout_data, HasSubstr("{\"cluster\":\"east\",\"events\":3000}"));

  // Bad input: one line, usage exit codes.
  r = Cli({"top", "colours"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_data, HasSubstr("colours"));
  r = Cli({"count", "--code", "4x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_data, HasSubstr("INVALID_ARGUMENT"));
  r = Cli({"get"});
  EXPECT_EQ(r.exit_code, 2);
  r = Cli({"query", "--context", "nope"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.stderr_data, HasSubstr("nope"));
}

TEST_F(ClientsProcessTest, CliExportToAFile) {
  const std::string file = temp_->File("export.jsonl");
  SubprocessResult r = Cli({"export", "--cluster", "east", "--file", file});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_THAT(r.stderr_data, HasSubstr("done: 3000 events"));
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(LineSet(text.str()), Expected([](const Sent& s) { return s.cluster == "east"; }));
  EXPECT_FALSE(std::ifstream(file + ".checkpoint").good());
  // The same to stdout, quietly.
  r = Cli({"export", "--cluster", "east", "-q"});
  EXPECT_EQ(r.stdout_data, text.str());
  EXPECT_THAT(r.stderr_data, IsEmpty());
  r = Cli({"export", "--resume"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_data, HasSubstr("--file"));
}

TEST_F(ClientsProcessTest, CliTailUntilInterrupted) {
  absl::StatusOr<std::unique_ptr<BackgroundProcess>> tail = BackgroundProcess::Start(
      {BinDir() + "/kubetrail", "--dev", "--server", *address_, "tail", "--cluster", "tailed",
       "-o", "jsonl"});
  ASSERT_TRUE(tail.ok()) << tail.status();
  absl::SleepFor(absl::Milliseconds(500));  // the follow starts "now"
  const std::vector<std::string> lines = Load("tailed", 300, 14);
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while (Lines((*tail)->stdout_data()).size() < lines.size() && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE((*tail)->Signal(SIGINT).ok());
  absl::StatusOr<int> code = (*tail)->Wait(absl::Seconds(30));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << (*tail)->stderr_data();
  EXPECT_EQ(LineSet((*tail)->stdout_data()),
            std::multiset<std::string>(lines.begin(), lines.end()));
}

}  // namespace
}  // namespace kubetrail
