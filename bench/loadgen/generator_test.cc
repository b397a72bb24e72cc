// Tests of the load generator (generator.h) against its contract, and of the
// kubetrail-loadgen tool as a process.
#include "bench/loadgen/generator.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "audit/codec.h"
#include "audit/gojson.h"
#include "bench/loadgen/format.h"
#include "bench/loadgen/rng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kubetrail/v1/event.pb.h"
#include "tests/testing/paths.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace kubetrail::loadgen {
namespace {

using ::kubetrail::v1::Event;
using ::testing::HasSubstr;

constexpr int64_t kStartUs = 1793491200000000;  // 2026-11-01T00:00:00Z
constexpr int kSampleSize = 20000;
constexpr uint32_t Bit(int n) { return uint32_t{1} << n; }

struct Sample {
  std::vector<Event> events;
  std::vector<std::string> lines;  // AppendEventJson of each event
};

Sample Generate(uint64_t seed, int count) {
  Sample s;
  Generator gen(seed, kStartUs);
  s.events.resize(count);
  s.lines.resize(count);
  for (int i = 0; i < count; ++i) {
    gen.Next(&s.events[i]);
    audit::AppendEventJson(s.events[i], &s.lines[i]);
  }
  return s;
}

// The default sample, shared by the tests that only read it.
const Sample& Default() {
  static const Sample* sample = new Sample(Generate(1, kSampleSize));
  return *sample;
}

bool IsUuidV4(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return s[14] == '4' && (s[19] == '8' || s[19] == '9' || s[19] == 'a' || s[19] == 'b');
}

// --- Building blocks ------------------------------------------------------------------------

TEST(RngTest, StreamIsPinned) {
  // These values pin the generator and its seeding: they must never change, on any platform,
  // or every recorded load test becomes irreproducible.
  Rng rng(42);
  std::vector<uint64_t> first;
  for (int i = 0; i < 3; ++i) first.push_back(rng.Next());
  Rng again(42);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(again.Next(), first[i]);
  EXPECT_EQ(first[0], uint64_t{0xE4638A7EBCC0372EULL}) << std::hex << first[0];
  EXPECT_EQ(first[1], uint64_t{0xF3344CCEC8BEC787ULL}) << std::hex << first[1];
}

TEST(RngTest, BelowAndPickStayInRangeAndCoverIt) {
  Rng rng(7);
  std::vector<int> hits(10, 0);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t v = rng.Below(10);
    ASSERT_LT(v, 10u);
    ++hits[v];
  }
  for (int h : hits) EXPECT_NEAR(h, 10000, 600);
  constexpr Weighted<int> kTable[] = {{1, 1}, {3, 2}, {0, 3}};
  int twos = 0;
  for (int i = 0; i < 40000; ++i) {
    const int v = Pick(rng, kTable);
    ASSERT_NE(v, 3);  // zero weight: never picked
    twos += v == 2;
  }
  EXPECT_NEAR(twos, 30000, 800);
}

TEST(FormatTest, GoDurations) {
  auto d = [](int64_t ns) {
    std::string s;
    AppendGoDuration(ns, &s);
    return s;
  };
  EXPECT_EQ(d(0), "0s");
  EXPECT_EQ(d(850), "850ns");
  EXPECT_EQ(d(561927), "561.927\xC2\xB5s");
  EXPECT_EQ(d(3500000), "3.5ms");
  EXPECT_EQ(d(7855949070), "7.85594907s");
  EXPECT_EQ(d(312004000000), "5m12.004s");
  EXPECT_EQ(d(3720500000000), "1h2m0.5s");
  EXPECT_EQ(d(60000000000), "1m0s");
}

TEST(FormatTest, TimesAndUuids) {
  EXPECT_EQ(FormatRfc3339(kStartUs, false), "2026-11-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(kStartUs + 123456, true), "2026-11-01T00:00:00.123456Z");
  EXPECT_EQ(FormatRfc3339(951782400000000, false), "2000-02-29T00:00:00Z");
  std::string uuid;
  AppendUuid(~uint64_t{0}, 0, &uuid);
  EXPECT_EQ(uuid, "ffffffff-ffff-4fff-8000-000000000000");
}

// --- The stream ----------------------------------------------------------------------------

TEST(GeneratorTest, SameSeedGivesIdenticalBytes) {
  const Sample a = Generate(42, 3000);
  const Sample b = Generate(42, 3000);
  ASSERT_EQ(a.lines.size(), b.lines.size());
  for (size_t i = 0; i < a.lines.size(); ++i) ASSERT_EQ(a.lines[i], b.lines[i]) << "event " << i;
}

TEST(GeneratorTest, DifferentSeedsDiffer) {
  const Sample a = Generate(42, 200);
  const Sample b = Generate(43, 200);
  int same = 0;
  for (size_t i = 0; i < a.lines.size(); ++i) same += a.lines[i] == b.lines[i];
  EXPECT_EQ(same, 0);
}

TEST(GeneratorTest, StartTimeShiftsOnlyTimes) {
  Generator gen(5, kStartUs);
  const Event first = gen.Next();
  EXPECT_EQ(first.request_received_timestamp_us(), kStartUs);
  EXPECT_EQ(gen.events_generated(), 1u);
  EXPECT_EQ(gen.requests_generated(), 1u);
}

TEST(GeneratorTest, EveryEventRoundTripsThroughTheCodec) {
  audit::EventDecoder decoder;
  Event decoded;
  std::string again;
  for (size_t i = 0; i < Default().lines.size(); ++i) {
    const std::string& line = Default().lines[i];
    const absl::Status status = decoder.Decode(line, &decoded);
    ASSERT_TRUE(status.ok()) << "event " << i << ": " << status << "\n" << line.substr(0, 2000);
    again.clear();
    audit::AppendEventJson(decoded, &again);
    ASSERT_EQ(again, line) << "event " << i;
  }
}

TEST(GeneratorTest, BodiesAreCompactGoJson) {
  // Re-compacting a body must give the same bytes: no whitespace, Go's escaping.
  std::string compact;
  for (const Event& e : Default().events) {
    for (const std::string* body : {&e.request_object(), &e.response_object()}) {
      if (body->empty()) continue;
      compact.clear();
      ASSERT_TRUE(audit::AppendCompactGoJson(*body, 256, &compact).ok()) << body->substr(0, 500);
      ASSERT_EQ(compact, *body);
    }
    if (e.response_status().has_details()) {
      compact.clear();
      ASSERT_TRUE(audit::AppendCompactGoJson(e.response_status().details(), 256, &compact).ok());
      ASSERT_EQ(compact, e.response_status().details());
    }
  }
}

TEST(GeneratorTest, AuditIdsAreUniqueUuidsSharedOnlyByOneRequestsStages) {
  std::unordered_set<std::string> seen;
  const std::vector<Event>& events = Default().events;
  for (size_t i = 0; i < events.size(); ++i) {
    const std::string& id = events[i].audit_id();
    ASSERT_TRUE(IsUuidV4(id)) << id;
    if (i > 0 && events[i - 1].audit_id() == id) continue;  // next stage, same request
    ASSERT_TRUE(seen.insert(id).second) << "auditID reused: " << id;
  }
  EXPECT_GT(seen.size(), 15000u);
}

TEST(GeneratorTest, StagesComeInOrderPerRequest) {
  auto rank = [](const std::string& stage) {
    if (stage == "RequestReceived") return 0;
    if (stage == "ResponseStarted") return 1;
    return 2;  // ResponseComplete, Panic
  };
  const std::vector<Event>& events = Default().events;
  for (size_t i = 1; i < events.size(); ++i) {
    if (events[i].audit_id() != events[i - 1].audit_id()) continue;
    EXPECT_LT(rank(events[i - 1].stage()), rank(events[i].stage())) << "event " << i;
  }
}

TEST(GeneratorTest, TimestampsRise) {
  const std::vector<Event>& events = Default().events;
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    ASSERT_TRUE(e.has_request_received_timestamp_us());
    ASSERT_TRUE(e.has_stage_timestamp_us());
    ASSERT_GE(e.stage_timestamp_us(), e.request_received_timestamp_us()) << "event " << i;
    if (e.stage() == "RequestReceived") {
      EXPECT_EQ(e.stage_timestamp_us(), e.request_received_timestamp_us());
    }
    if (i == 0) continue;
    const Event& prev = events[i - 1];
    if (prev.audit_id() == e.audit_id()) {
      ASSERT_EQ(e.request_received_timestamp_us(), prev.request_received_timestamp_us());
      ASSERT_GE(e.stage_timestamp_us(), prev.stage_timestamp_us());
    } else {
      ASSERT_GT(e.request_received_timestamp_us(), prev.request_received_timestamp_us())
          << "event " << i;
    }
  }
  // About 1 ms between requests: 20k events span roughly 10-30 s.
  const int64_t span = events.back().request_received_timestamp_us() - kStartUs;
  EXPECT_GT(span, 8 * 1000000);
  EXPECT_LT(span, 40 * 1000000);
}

TEST(GeneratorTest, PresenceFollowsTheProto) {
  for (const Event& e : Default().events) {
    ASSERT_TRUE(e.has_user());
    ASSERT_TRUE(e.has_request_uri());
    ASSERT_TRUE(e.has_verb());
    EXPECT_TRUE(e.present_fields() & Bit(8)) << "sourceIPs written, bit 8 must be set";
    EXPECT_GE(e.source_ips_size(), 1);
    EXPECT_EQ((e.present_fields() & Bit(15)) != 0, e.annotations_size() > 0);
    if (e.user().groups_size() > 0) {
      EXPECT_TRUE(e.user().present_fields() & Bit(3));
    }
    if (e.user().extra_size() > 0) {
      EXPECT_TRUE(e.user().present_fields() & Bit(4));
    }
    if (e.stage() == "RequestReceived") {
      EXPECT_FALSE(e.has_response_status());
      EXPECT_EQ(e.annotations_size(), 0);
      EXPECT_FALSE(e.has_request_object());
      EXPECT_FALSE(e.has_response_object());
    } else {
      EXPECT_TRUE(e.has_response_status());
      EXPECT_TRUE(e.response_status().has_code());
    }
    if (e.has_object_ref()) {
      EXPECT_TRUE(e.object_ref().has_resource());
      EXPECT_TRUE(e.object_ref().has_api_version());
      if (e.object_ref().has_api_group()) {
        EXPECT_FALSE(e.object_ref().api_group().empty());
      }
    }
    if (e.level() == "Metadata") {
      EXPECT_FALSE(e.has_request_object());
      EXPECT_FALSE(e.has_response_object());
    }
    if (e.level() == "Request") {
      EXPECT_FALSE(e.has_response_object());
    }
  }
}

TEST(GeneratorTest, MixHasEveryImportantFeature) {
  int watch_started = 0, failed_auth = 0, impersonation = 0, non_resource = 0, client_errors = 0,
      server_errors = 0, both_bodies = 0, huge_body = 0, exec_101 = 0, latency = 0,
      pod_security = 0, received = 0, escaped_amp = 0, long_agent = 0, forbidden = 0, two_ips = 0,
      ipv6 = 0, deletecollection = 0, not_modified = 0, too_many = 0;
  std::set<std::string> verbs, groups;
  const Sample& s = Default();
  for (size_t i = 0; i < s.events.size(); ++i) {
    const Event& e = s.events[i];
    const int code = e.response_status().code();
    verbs.insert(e.verb());
    if (e.has_object_ref()) groups.insert(e.object_ref().api_group());
    watch_started += e.verb() == "watch" && e.stage() == "ResponseStarted";
    if (code == 401) {
      ++failed_auth;
      EXPECT_EQ(e.stage(), "ResponseStarted");
      EXPECT_EQ(e.user().ByteSizeLong(), 0u);  // "user":{}
      EXPECT_THAT(e.response_status().message(), ::testing::StartsWith("Authentication failed, "));
      EXPECT_THAT(s.lines[i], HasSubstr("\"user\":{}"));
    }
    impersonation += e.has_impersonated_user();
    if (!e.has_object_ref()) {
      ++non_resource;
      for (char c : e.verb()) EXPECT_TRUE(c >= 'a' && c <= 'z') << e.verb();
    }
    client_errors += code >= 400 && code < 500;
    server_errors += code >= 500;
    forbidden += code == 403 && e.response_status().reason() == "Forbidden" &&
                 e.response_status().has_details();
    not_modified += code == 304;
    too_many += code == 429;
    both_bodies += e.has_request_object() && e.has_response_object();
    huge_body += e.response_object().size() > 100000;
    exec_101 += code == 101 && e.object_ref().subresource() == "exec";
    for (const auto& [key, value] : e.annotations()) {
      if (key == "apiserver.latency.k8s.io/total") ++latency;
      if (key.starts_with("pod-security.kubernetes.io/")) ++pod_security;
    }
    received += e.stage() == "RequestReceived";
    escaped_amp += s.lines[i].find("\\u0026") != std::string::npos;
    long_agent += e.user_agent().size() > 2000;
    two_ips += e.source_ips_size() == 2;
    ipv6 += e.source_ips(0) == "::1";
    deletecollection += e.verb() == "deletecollection";
  }
  EXPECT_GT(watch_started, 100);
  EXPECT_GT(failed_auth, 10);
  EXPECT_GT(impersonation, 5);
  EXPECT_GT(non_resource, 200);
  EXPECT_GT(client_errors, 200);
  EXPECT_GT(server_errors, 10);
  EXPECT_GT(forbidden, 50);
  EXPECT_GT(not_modified, 5);
  EXPECT_GT(too_many, 2);
  EXPECT_GT(both_bodies, 1000);
  EXPECT_GE(huge_body, 1);
  EXPECT_GT(exec_101, 5);
  EXPECT_GT(latency, 20);
  EXPECT_GT(pod_security, 50);
  EXPECT_GT(received, 500);
  EXPECT_GT(escaped_amp, 1000);
  EXPECT_GE(long_agent, 1);
  EXPECT_GT(two_ips, 20);
  EXPECT_GT(ipv6, 50);
  EXPECT_GE(deletecollection, 1);
  for (const char* verb : {"get", "list", "watch", "create", "update", "patch", "delete"}) {
    EXPECT_TRUE(verbs.count(verb)) << verb;
  }
  for (const char* group :
       {"", "apps", "coordination.k8s.io", "cert-manager.io", "metrics.k8s.io"}) {
    EXPECT_TRUE(groups.count(group)) << group;
  }
}

TEST(GeneratorTest, ReadsDominateTheVerbMix) {
  int reads = 0;
  int watches = 0;
  for (const Event& e : Default().events) {
    reads += e.verb() == "get" || e.verb() == "list" || e.verb() == "watch";
    watches += e.verb() == "watch";
  }
  EXPECT_GT(reads, kSampleSize * 45 / 100);
  EXPECT_LT(watches, kSampleSize * 25 / 100);
}

TEST(GeneratorTest, LineSizesLookReal) {
  std::vector<size_t> sizes;
  for (const std::string& line : Default().lines) sizes.push_back(line.size());
  std::sort(sizes.begin(), sizes.end());
  const size_t median = sizes[sizes.size() / 2];
  const size_t p90 = sizes[sizes.size() * 9 / 10];
  EXPECT_GE(median, 1000u);
  EXPECT_LE(median, 2500u);
  EXPECT_GE(p90, 3000u);
  EXPECT_LE(p90, 8000u);
  EXPECT_GT(sizes.back(), 100000u);
  const size_t big = static_cast<size_t>(
      std::count_if(sizes.begin(), sizes.end(), [](size_t s) { return s > 20000; }));
  EXPECT_GT(big, sizes.size() / 1000);  // > 0.1%
  EXPECT_LT(big, sizes.size() / 50);    // < 2%
}

// --- The tool ------------------------------------------------------------------------------

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs $KUBETRAIL_BIN_DIR/kubetrail-loadgen with `args` (no shell) and captures its outputs;
// exit_code stays -1 when it cannot run or a signal ends it.
RunResult RunTool(std::vector<std::string> args) {
  args.insert(args.begin(), kubetrail::testing::BinDir() + "/kubetrail-loadgen");
  absl::StatusOr<kubetrail::testing::SubprocessResult> result =
      kubetrail::testing::RunSubprocess(args);
  RunResult r;
  if (!result.ok()) {
    ADD_FAILURE() << "cannot run " << args[0] << ": " << result.status();
    return r;
  }
  r.exit_code = result->exit_code;
  r.out = std::move(result->stdout_data);
  r.err = std::move(result->stderr_data);
  return r;
}

TEST(ToolTest, SameFlagsGiveSameBytes) {
  const RunResult a = RunTool({"--count", "100", "--seed", "7"});
  const RunResult b = RunTool({"--count", "100", "--seed", "7"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(std::count(a.out.begin(), a.out.end(), '\n'), 100);
  EXPECT_THAT(a.out,
              ::testing::StartsWith("{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\","));
  // The tool writes exactly what the library generates.
  const Sample s = Generate(7, 100);
  std::string expected;
  for (const std::string& line : s.lines) expected += line + "\n";
  EXPECT_EQ(a.out, expected);
}

TEST(ToolTest, StartAndOutputFile) {
  const kubetrail::testing::TempDir dir;
  ASSERT_TRUE(dir.ok()) << dir.error();
  const std::string file = dir.File("loadgen_events.jsonl");
  const RunResult r = RunTool(
      {"--count", "5", "--seed", "3", "--start", "2027-01-02T03:04:05.5+01:00", "--output", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  const std::string text = ReadFile(file);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 5);
  EXPECT_THAT(text, HasSubstr("\"requestReceivedTimestamp\":\"2027-01-02T02:04:05.500000Z\""));
}

TEST(ToolTest, BadStartExitsTwoWithAMessage) {
  const RunResult r = RunTool({"--count", "1", "--start", "notatime"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("--start"));
  EXPECT_THAT(r.err, HasSubstr("notatime"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(ToolTest, BadFlagsExitTwo) {
  EXPECT_EQ(RunTool({"--count"}).exit_code, 2);
  EXPECT_EQ(RunTool({"--count", "ten"}).exit_code, 2);
  EXPECT_EQ(RunTool({"--count", "1", "--bogus"}).exit_code, 2);
  EXPECT_EQ(RunTool({"--count", "-5"}).exit_code, 2);  // not wrapped into 2^64 - 5
  EXPECT_EQ(RunTool({"--count", "1", "--seed", "-1"}).exit_code, 2);
  const RunResult missing = RunTool({"--seed", "1"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("--count"));
}

TEST(ToolTest, HelpExitsZero) {
  const RunResult r = RunTool({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("--count"));
  EXPECT_THAT(r.out, HasSubstr("--seed"));
  EXPECT_THAT(r.out, HasSubstr("--start"));
  EXPECT_THAT(r.out, HasSubstr("--output"));
}

}  // namespace
}  // namespace kubetrail::loadgen
