// Golden tests of every output format of the `kubetrail` CLI (output.h), and the properties
// the goldens cannot show: jsonl is the codec's line, JSON is valid, YAML reads back as the
// JSON's data, the zone changes only times, table widths never shrink, colour only adds
// escape sequences.
//
// The goldens are clients/cli/testdata/*.golden, read through the source dir
// (tests/testing/paths.h). After a deliberate change of a format, rewrite them with
//   KUBETRAIL_UPDATE_GOLDEN=1 build/tests/cli_output_test
// and review the diff: the golden files are the specification of the formats.
#include "clients/cli/output.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "audit/codec.h"
#include "audit/gojson.h"
#include "common/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kubetrail/v1/admin.pb.h"
#include "kubetrail/v1/query.pb.h"
#include "tests/testing/paths.h"
#include "yaml-cpp/yaml.h"

namespace kubetrail::cli {
namespace {

using kubetrail::v1::GetResponse;
using kubetrail::v1::HistogramResponse;
using kubetrail::v1::StatsResponse;
using kubetrail::v1::StoredEvent;
using kubetrail::v1::TopResponse;
using ::testing::HasSubstr;
using ::testing::Not;

// ---------------------------------------------------------------------------------------
// The events, as kube-apiserver writes them (plus odd ones it would write for odd input).

// A plain get with a 200.
constexpr std::string_view kGet =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"7f3c1a52-0001-4e5f-8a9b-5d1c2e3f4a01","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods/web-1","verb":"get","user":{"username":"alice@example.com","groups":["devs","system:authenticated"]},"sourceIPs":["10.0.0.7"],"userAgent":"kubectl/v1.30.1 (linux/amd64) kubernetes/6911225","objectRef":{"resource":"pods","namespace":"default","name":"web-1","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-11-27T10:00:00.123456Z","stageTimestamp":"2026-11-27T10:00:00.135790Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \"devs\" of ClusterRole \"view\" to Group \"devs\""}})json";
// Impersonation; a list of a group's resource in a namespace (no name); two source IPs.
constexpr std::string_view kImpersonated =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"7f3c1a52-0002-4e5f-8a9b-5d1c2e3f4a02","stage":"ResponseComplete","requestURI":"/apis/apps/v1/namespaces/team-a/deployments?limit=500","verb":"list","user":{"username":"admin@example.com","groups":["system:masters","system:authenticated"]},"impersonatedUser":{"username":"bob","groups":["devs"]},"sourceIPs":["192.168.1.20","10.0.0.1"],"userAgent":"kubectl/v1.30.1 (linux/amd64) kubernetes/6911225","objectRef":{"resource":"deployments","namespace":"team-a","apiGroup":"apps","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-11-27T10:00:01.500000Z","stageTimestamp":"2026-11-27T10:00:01.500850Z"})json";
// Cluster-scoped, with a subresource and a long user agent.
constexpr std::string_view kClusterScoped =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"7f3c1a52-0003-4e5f-8a9b-5d1c2e3f4a03","stage":"ResponseComplete","requestURI":"/api/v1/nodes/node-1/status?timeout=10s","verb":"patch","user":{"username":"system:serviceaccount:kube-system:node-controller","uid":"3c0e8f4a-7d2b-4e61-9a55-0b1c2d3e4f50","groups":["system:serviceaccounts","system:serviceaccounts:kube-system","system:authenticated"]},"sourceIPs":["172.18.0.2"],"userAgent":"kube-controller-manager/v1.30.1 (linux/amd64) kubernetes/6911225/system:serviceaccount:kube-system:node-controller","objectRef":{"resource":"nodes","name":"node-1","apiVersion":"v1","subresource":"status"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-11-27T10:00:02.000000Z","stageTimestamp":"2026-11-27T10:00:02.001234Z"})json";
// No objectRef (a non-resource URL), no user agent.
constexpr std::string_view kNoObjectRef =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"7f3c1a52-0004-4e5f-8a9b-5d1c2e3f4a04","stage":"ResponseComplete","requestURI":"/healthz?verbose=1","verb":"get","user":{"username":"system:anonymous","groups":["system:unauthenticated"]},"sourceIPs":["10.0.0.99"],"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-11-27T10:00:03.000000Z","stageTimestamp":"2026-11-27T10:00:04.500000Z"})json";
// A 403 with status, reason, message and details.
constexpr std::string_view kForbidden =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"7f3c1a52-0005-4e5f-8a9b-5d1c2e3f4a05","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/kube-system/secrets/admin-token","verb":"delete","user":{"username":"mallory","groups":["system:authenticated"]},"sourceIPs":["203.0.113.66"],"userAgent":"curl/8.5.0","objectRef":{"resource":"secrets","namespace":"kube-system","name":"admin-token","apiVersion":"v1"},"responseStatus":{"metadata":{},"status":"Failure","message":"secrets \"admin-token\" is forbidden: User \"mallory\" cannot delete resource \"secrets\" in API group \"\" in the namespace \"kube-system\"","reason":"Forbidden","details":{"name":"admin-token","kind":"secrets"},"code":403},"requestReceivedTimestamp":"2026-11-27T10:00:05.000000Z","stageTimestamp":"2026-11-27T10:00:05.000420Z","annotations":{"authorization.k8s.io/decision":"forbid","authorization.k8s.io/reason":""}})json";
// A 500.
constexpr std::string_view kServerError =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"7f3c1a52-0006-4e5f-8a9b-5d1c2e3f4a06","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/team-a/configmaps","verb":"create","user":{"username":"system:serviceaccount:team-a:deployer","groups":["system:serviceaccounts","system:serviceaccounts:team-a","system:authenticated"]},"sourceIPs":["10.0.0.12"],"userAgent":"deployer/1.0","objectRef":{"resource":"configmaps","namespace":"team-a","apiVersion":"v1"},"responseStatus":{"metadata":{},"status":"Failure","message":"Internal error occurred: etcdserver: request timed out","reason":"InternalError","details":{"causes":[{"message":"etcdserver: request timed out"}]},"code":500},"requestReceivedTimestamp":"2026-11-27T10:00:06.000000Z","stageTimestamp":"2026-11-27T10:00:13.250000Z"})json";
// Non-ASCII (wide CJK, a combining accent) and control characters (newline, ESC, tab, CR,
// BEL, NEL, a right-to-left override) in user-controlled strings; a RequestReceived stage
// without a response code.
constexpr std::string_view kOddCharacters =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"7f3c1a52-0007-4e5f-8a9b-5d1c2e3f4a07","stage":"RequestReceived","requestURI":"/api/v1/namespaces/cafe%CC%81/configmaps/web%E2%80%AE1","verb":"update","user":{"username":"jos\u00e9\n日本\u001b[31m","groups":["system:authenticated"]},"sourceIPs":["10.0.0.8"],"userAgent":"evil\tagent\r\u0007","objectRef":{"resource":"configmaps","namespace":"cafe\u0301","name":"web\u202e1\u0085","apiVersion":"v1"},"requestReceivedTimestamp":"2026-11-27T10:00:07.000000Z","stageTimestamp":"2026-11-27T10:00:07.000000Z"})json";
// audit.k8s.io/v1 at RequestResponse with a requestObject holding every JSON type, strings
// YAML would misread unquoted, HTML characters Go escapes, and a number beyond int64.
constexpr std::string_view kWithRequestObject =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"7f3c1a52-0008-4e5f-8a9b-5d1c2e3f4a08","stage":"ResponseComplete","requestURI":"/apis/apps/v1/namespaces/team-a/deployments?fieldManager=kubectl-client-side-apply","verb":"create","user":{"username":"alice@example.com","groups":["devs","system:authenticated"],"extra":{"authentication.kubernetes.io/credential-id":["X509SHA256=9f86d081"]}},"sourceIPs":["10.0.0.7"],"userAgent":"kubectl/v1.30.1 (linux/amd64) kubernetes/6911225","objectRef":{"resource":"deployments","namespace":"team-a","name":"web","apiGroup":"apps","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201},"requestObject":{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"web","labels":{"app":"web","version":"1.0","enabled":"true","tier":"null","short":"y"},"annotations":{"note":"a\u003cb \u0026 c\u003ed","multi":"line1\nline2","when":"2026-11-27T10:00:00Z","colon":"key: value","hash":"a #b"}},"spec":{"replicas":3,"paused":false,"revisionHistoryLimit":null,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"nginx:1.25","args":["--port","8080","yes",""],"env":[],"resources":{}}]}},"progressDeadlineSeconds":600,"big":12345678901234567890123,"ratio":1.5e-3,"negative":-7}},"requestReceivedTimestamp":"2026-11-27T10:00:08.000000Z","stageTimestamp":"2026-11-27T10:00:08.020000Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}})json";

// The three stages of one `kubectl exec` (for `get`): annotations grow on the last one.
constexpr std::string_view kExecReceived =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"7f3c1a52-0010-4e5f-8a9b-5d1c2e3f4a10","stage":"RequestReceived","requestURI":"/api/v1/namespaces/default/pods/web-1/exec?command=sh\u0026container=web\u0026stdin=true\u0026tty=true","verb":"create","user":{"username":"alice@example.com","uid":"u-1234","groups":["devs","system:authenticated"]},"sourceIPs":["10.0.0.7"],"userAgent":"kubectl/v1.30.1 (linux/amd64) kubernetes/6911225","objectRef":{"resource":"pods","namespace":"default","name":"web-1","apiVersion":"v1","subresource":"exec"},"requestReceivedTimestamp":"2026-11-27T10:05:00.000100Z","stageTimestamp":"2026-11-27T10:05:00.000100Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by RoleBinding \"exec/default\" of Role \"exec\" to User \"alice@example.com\""}})json";
constexpr std::string_view kExecStarted =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"7f3c1a52-0010-4e5f-8a9b-5d1c2e3f4a10","stage":"ResponseStarted","requestURI":"/api/v1/namespaces/default/pods/web-1/exec?command=sh\u0026container=web\u0026stdin=true\u0026tty=true","verb":"create","user":{"username":"alice@example.com","uid":"u-1234","groups":["devs","system:authenticated"]},"sourceIPs":["10.0.0.7"],"userAgent":"kubectl/v1.30.1 (linux/amd64) kubernetes/6911225","objectRef":{"resource":"pods","namespace":"default","name":"web-1","apiVersion":"v1","subresource":"exec"},"responseStatus":{"metadata":{},"code":101},"requestReceivedTimestamp":"2026-11-27T10:05:00.000100Z","stageTimestamp":"2026-11-27T10:05:00.050000Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by RoleBinding \"exec/default\" of Role \"exec\" to User \"alice@example.com\""}})json";
constexpr std::string_view kExecComplete =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"7f3c1a52-0010-4e5f-8a9b-5d1c2e3f4a10","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods/web-1/exec?command=sh\u0026container=web\u0026stdin=true\u0026tty=true","verb":"create","user":{"username":"alice@example.com","uid":"u-1234","groups":["devs","system:authenticated"]},"sourceIPs":["10.0.0.7"],"userAgent":"kubectl/v1.30.1 (linux/amd64) kubernetes/6911225","objectRef":{"resource":"pods","namespace":"default","name":"web-1","apiVersion":"v1","subresource":"exec"},"responseStatus":{"metadata":{},"code":101},"requestReceivedTimestamp":"2026-11-27T10:05:00.000100Z","stageTimestamp":"2026-11-27T10:07:30.250000Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by RoleBinding \"exec/default\" of Role \"exec\" to User \"alice@example.com\"","pod-security.kubernetes.io/enforce-policy":"privileged:latest"}})json";
// A watch, impersonated, that has not finished.
constexpr std::string_view kWatchReceived =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"7f3c1a52-0011-4e5f-8a9b-5d1c2e3f4a11","stage":"RequestReceived","requestURI":"/api/v1/namespaces/team-a/pods?watch=true","verb":"watch","user":{"username":"admin@example.com","groups":["system:masters"]},"impersonatedUser":{"username":"bob","uid":"u-5678","groups":["devs","system:authenticated"]},"sourceIPs":["192.168.1.20"],"userAgent":"kubectl/v1.30.1 (linux/amd64) kubernetes/6911225","objectRef":{"resource":"pods","namespace":"team-a","apiVersion":"v1"},"requestReceivedTimestamp":"2026-11-27T10:06:00.000000Z","stageTimestamp":"2026-11-27T10:06:00.000000Z"})json";

// `json` decoded, in an envelope from `cluster`, received 1.5 ms after its stage.
StoredEvent Stored(std::string_view json, std::string_view cluster, uint64_t sequence) {
  audit::EventDecoder decoder;
  StoredEvent stored;
  kubetrail::v1::Event* event = stored.mutable_event()->mutable_event();
  const absl::Status status = decoder.Decode(json, event);
  EXPECT_TRUE(status.ok()) << status << "\n" << json;
  kubetrail::v1::Envelope* envelope = stored.mutable_event()->mutable_envelope();
  envelope->set_cluster(std::string(cluster));
  envelope->set_source("apiserver-1");
  envelope->set_receive_time_us(event->stage_timestamp_us() + 1500);
  stored.set_sequence(sequence);
  stored.set_time_us(event->request_received_timestamp_us());
  return stored;
}

// Every table/list case above, in time order, as a Search would return them.
GetResponse AllEvents() {
  GetResponse events;
  uint64_t sequence = 1000;
  for (const auto& [json, cluster] : std::vector<std::pair<std::string_view, std::string_view>>{
           {kGet, "prod-eu"},
           {kImpersonated, "prod-eu"},
           {kClusterScoped, "prod-eu"},
           {kNoObjectRef, "prod-eu"},
           {kForbidden, "prod-eu"},
           {kServerError, "staging"},
           {kOddCharacters, "edge-東京"},
           {kWithRequestObject, "prod-eu"},
       }) {
    *events.add_events() = Stored(json, cluster, sequence++);
  }
  return events;
}

GetResponse Stages(std::initializer_list<std::string_view> jsons) {
  GetResponse stages;
  uint64_t sequence = 2000;
  for (std::string_view json : jsons) *stages.add_events() = Stored(json, "prod-eu", sequence++);
  return stages;
}

TopResponse Top() {
  TopResponse top;
  for (const auto& [key, count] : std::vector<std::pair<std::string, uint64_t>>{
           {"alice@example.com", 1200},
           {"system:serviceaccount:kube-system:node-controller", 730},
           {"", 31},
           {"jos\u00e9\n\u65e5\u672c", 2}}) {
    kubetrail::v1::KeyCount* entry = top.add_entries();
    entry->set_key(key);
    entry->set_count(count);
  }
  return top;
}

int64_t Micros(std::string_view rfc3339) {
  absl::Time t;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, std::string(rfc3339), &t, &error)) << error;
  return absl::ToUnixMicros(t);
}

// Buckets of 10:00 (split alice 8, bob 4), 11:00 (3 events without a user) and 13:00 (30:
// alice 20, mallory 5, 5 not in by_key).
HistogramResponse Histogram(bool split) {
  HistogramResponse histogram;
  struct Bucket {
    std::string_view start;
    uint64_t count;
    std::vector<std::pair<std::string, uint64_t>> by;
  };
  for (const Bucket& b : std::vector<Bucket>{
           {"2026-11-27T10:00:00Z", 12, {{"alice@example.com", 8}, {"bob", 4}}},
           {"2026-11-27T11:00:00Z", 3, {{"", 3}}},
           {"2026-11-27T13:00:00Z", 30, {{"alice@example.com", 20}, {"mallory", 5}}}}) {
    kubetrail::v1::HistogramBucket* bucket = histogram.add_buckets();
    bucket->set_start_us(Micros(b.start));
    bucket->set_count(b.count);
    if (!split) continue;
    for (const auto& [key, count] : b.by) {
      kubetrail::v1::KeyCount* entry = bucket->add_by_key();
      entry->set_key(key);
      entry->set_count(count);
    }
  }
  return histogram;
}

HistogramResponse DayHistogram() {
  HistogramResponse histogram;
  for (const auto& [start, count] : std::vector<std::pair<std::string_view, uint64_t>>{
           {"2026-11-26T00:00:00Z", 40210}, {"2026-11-27T00:00:00Z", 51877}}) {
    kubetrail::v1::HistogramBucket* bucket = histogram.add_buckets();
    bucket->set_start_us(Micros(start));
    bucket->set_count(count);
  }
  return histogram;
}

StatsResponse Stats() {
  StatsResponse stats;
  stats.set_events(1234567);
  stats.set_last_sequence(1234600);
  stats.set_disk_bytes(1288490188);
  for (const auto& [cluster, events] :
       std::vector<std::pair<std::string, uint64_t>>{{"prod-eu", 1000000}, {"staging", 234567}}) {
    kubetrail::v1::KeyCount* entry = stats.add_events_per_cluster();
    entry->set_key(cluster);
    entry->set_count(events);
  }
  for (const auto& [part, bytes] :
       std::vector<std::pair<std::string, uint64_t>>{{"events", 1073741824},
                                                     {"ids", 52428800},
                                                     {"postings", 157286400},
                                                     {"rollups", 4096},
                                                     {"seqlog", 512}}) {
    kubetrail::v1::KeyCount* entry = stats.add_disk_bytes_by_part();
    entry->set_key(part);
    entry->set_count(bytes);
  }
  return stats;
}

// ---------------------------------------------------------------------------------------
// Helpers.

std::string Print(const GetResponse& events, EventFormat format, OutputOptions options = {}) {
  EventPrinter printer(format, options);
  for (const StoredEvent& event : events.events()) printer.Add(event);
  std::string out;
  printer.Flush(&out);
  return out;
}

std::string Summary(const GetResponse& stages, EventFormat format, OutputOptions options = {}) {
  std::string out;
  AppendRequestSummary(stages.events(), format, options, &out);
  return out;
}

// Compares `actual` with clients/cli/testdata/`name`, or rewrites that file when
// KUBETRAIL_UPDATE_GOLDEN=1.
void ExpectGolden(std::string_view name, const std::string& actual) {
  for (absl::string_view line : absl::StrSplit(ToAbsl(actual), '\n')) {
    EXPECT_FALSE(!line.empty() && line.back() == ' ') << name << ": line ends in a space: " << line;
  }
  const std::string path = Cat(testing::SourceDir(), "/clients/cli/testdata/", name);
  const char* update = std::getenv("KUBETRAIL_UPDATE_GOLDEN");
  if (update != nullptr && std::string_view(update) == "1") {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file << actual;
    ASSERT_TRUE(file.good()) << "cannot write " << path;
    return;
  }
  std::ifstream file(path, std::ios::binary);
  ASSERT_TRUE(file.good()) << "no golden file " << path << " (KUBETRAIL_UPDATE_GOLDEN=1 writes it)";
  std::stringstream expected;
  expected << file.rdbuf();
  EXPECT_EQ(actual, expected.str())
      << "differs from " << path << " (after a deliberate change: KUBETRAIL_UPDATE_GOLDEN=1)";
}

// `text` without its ANSI SGR sequences (ESC [ digits and ';' m).
std::string StripColour(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\x1b' && i + 1 < text.size() && text[i + 1] == '[') {
      size_t j = i + 2;
      while (j < text.size() &&
             (absl::ascii_isdigit(static_cast<unsigned char>(text[j])) || text[j] == ';')) {
        ++j;
      }
      if (j < text.size() && text[j] == 'm') {
        i = j;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

std::vector<std::string> SplitLines(std::string_view text) {
  std::vector<std::string> lines = absl::StrSplit(ToAbsl(text), '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

// Valid JSON: audit::AppendCompactGoJson checks the whole grammar (and, unlike a DOM parser,
// takes numbers of any size); compact JSON comes back unchanged.
void ExpectValidJson(std::string_view json) {
  std::string compact;
  const absl::Status status = audit::AppendCompactGoJson(json, 512, &compact);
  EXPECT_TRUE(status.ok()) << status << "\n" << json;
  EXPECT_EQ(compact, json);
}

bool AllDigits(std::string_view s, std::string_view alphabet = "0123456789") {
  return !s.empty() && s.find_first_not_of(alphabet) == std::string_view::npos;
}

// A YAML 1.2 core-schema float or integer: [-+]? ( \.[0-9]+ | [0-9]+ ( \.[0-9]* )? )
// ( [eE] [-+]? [0-9]+ )?.
bool IsYamlNumber(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  const size_t e = s.find_first_of("eE");
  if (e != std::string_view::npos) {
    std::string_view exponent = s.substr(e + 1);
    if (!exponent.empty() && (exponent[0] == '-' || exponent[0] == '+')) exponent.remove_prefix(1);
    if (!AllDigits(exponent)) return false;
    s = s.substr(0, e);
  }
  const size_t dot = s.find('.');
  if (dot == std::string_view::npos) return AllDigits(s);
  const std::string_view whole = s.substr(0, dot);
  const std::string_view fraction = s.substr(dot + 1);
  if (whole.empty()) return AllDigits(fraction);
  return AllDigits(whole) && (fraction.empty() || AllDigits(fraction));
}

// Whether a plain (unquoted) YAML scalar is read as something other than a string: the YAML
// 1.2 core schema, YAML 1.1's other booleans, and timestamps (anything starting with a date).
bool PlainIsNotString(std::string_view s) {
  for (std::string_view word :
       {"~",     "null",  "Null",  "NULL",  "true",  "True", "TRUE", "false", "False", "FALSE",
        "yes",   "Yes",   "YES",   "no",    "No",    "NO",   "on",   "On",    "ON",    "off",
        "Off",   "OFF",   "y",     "Y",     "n",     "N",    ".inf", ".Inf",  ".INF",  "+.inf",
        "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN"}) {
    if (s == word) return true;
  }
  if (s.empty() || IsYamlNumber(s)) return true;
  if (s.size() > 2 && s.substr(0, 2) == "0o" && AllDigits(s.substr(2), "01234567")) return true;
  if (s.size() > 2 && s.substr(0, 2) == "0x" && AllDigits(s.substr(2), "0123456789abcdefABCDEF")) {
    return true;
  }
  return s.size() >= 10 && AllDigits(s.substr(0, 4)) && s[4] == '-' && AllDigits(s.substr(5, 2)) &&
         s[7] == '-' && AllDigits(s.substr(8, 2));
}

// `json` (YAML::Load of a JSON text: quoted scalars are strings) and `yaml` hold the same
// data: same structure, key order, scalar text, and strings read as strings.
void ExpectSameData(const YAML::Node& json, const YAML::Node& yaml, const std::string& path) {
  ASSERT_EQ(json.Type(), yaml.Type()) << path;
  switch (json.Type()) {
    case YAML::NodeType::Map: {
      ASSERT_EQ(json.size(), yaml.size()) << path;
      auto j = json.begin();
      auto y = yaml.begin();
      for (; j != json.end(); ++j, ++y) {
        const std::string key = j->first.Scalar();
        ExpectSameData(j->first, y->first, path + ".<key " + key + ">");
        ExpectSameData(j->second, y->second, path + "." + key);
      }
      return;
    }
    case YAML::NodeType::Sequence:
      ASSERT_EQ(json.size(), yaml.size()) << path;
      for (size_t i = 0; i < json.size(); ++i) {
        ExpectSameData(json[i], yaml[i], absl::StrCat(path, "[", i, "]"));
      }
      return;
    case YAML::NodeType::Scalar: {
      EXPECT_EQ(json.Scalar(), yaml.Scalar()) << path;
      const bool json_string = json.Tag() == "!";
      const bool yaml_string = yaml.Tag() == "!" || !PlainIsNotString(yaml.Scalar());
      EXPECT_EQ(json_string, yaml_string) << path << ": " << yaml.Scalar();
      return;
    }
    default:
      return;
  }
}

// ---------------------------------------------------------------------------------------
// Formats.

TEST(ParseEventFormatTest, KnowsEveryName) {
  EventFormat format = EventFormat::kJson;
  for (const auto& [name, expected] :
       std::vector<std::pair<std::string_view, EventFormat>>{{"table", EventFormat::kTable},
                                                             {"wide", EventFormat::kWide},
                                                             {"json", EventFormat::kJson},
                                                             {"jsonl", EventFormat::kJsonLines},
                                                             {"yaml", EventFormat::kYaml}}) {
    ASSERT_TRUE(ParseEventFormat(name, &format).ok()) << name;
    EXPECT_EQ(format, expected) << name;
  }
  const absl::Status status = ParseEventFormat("yml", &format);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "unknown output format \"yml\" (want table, wide, json, jsonl or yaml)");
}

TEST(EventPrinterTest, Goldens) {
  const GetResponse events = AllEvents();
  ExpectGolden("events.table.golden", Print(events, EventFormat::kTable));
  ExpectGolden("events.wide.golden", Print(events, EventFormat::kWide));
  ExpectGolden("events.json.golden", Print(events, EventFormat::kJson));
  ExpectGolden("events.jsonl.golden", Print(events, EventFormat::kJsonLines));
  ExpectGolden("events.yaml.golden", Print(events, EventFormat::kYaml));
  OutputOptions local;
  local.zone = absl::FixedTimeZone(3600);
  ExpectGolden("events.table-local.golden", Print(events, EventFormat::kTable, local));
  OutputOptions no_headers;
  no_headers.no_headers = true;
  ExpectGolden("events.wide-no-headers.golden", Print(events, EventFormat::kWide, no_headers));
}

TEST(EventPrinterTest, JsonLinesAreTheCodecsLines) {
  const GetResponse events = AllEvents();
  std::string expected;
  for (const StoredEvent& event : events.events()) {
    audit::AppendEventJson(event.event().event(), &expected);
    expected += '\n';
  }
  EXPECT_EQ(Print(events, EventFormat::kJsonLines), expected);
}

TEST(EventPrinterTest, JsonIsOneValidEnvelopePerLine) {
  const GetResponse events = AllEvents();
  const std::vector<std::string> lines = SplitLines(Print(events, EventFormat::kJson));
  ASSERT_EQ(lines.size(), static_cast<size_t>(events.events_size()));
  for (size_t i = 0; i < lines.size(); ++i) {
    ExpectValidJson(lines[i]);
    const StoredEvent& event = events.events(static_cast<int>(i));
    std::string inner;
    audit::AppendEventJson(event.event().event(), &inner);
    EXPECT_THAT(lines[i], HasSubstr(absl::StrCat(",\"event\":", inner, ",\"receive_time\":\"")));
    EXPECT_THAT(lines[i], HasSubstr(absl::StrCat("\"sequence\":", event.sequence(), "}")));
  }
}

TEST(EventPrinterTest, YamlReadsBackAsTheJsonData) {
  const GetResponse events = AllEvents();
  const std::string yaml = Print(events, EventFormat::kYaml);
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(yaml);
  } catch (const YAML::Exception& e) {
    FAIL() << e.what() << "\n" << yaml;
  }
  ASSERT_EQ(documents.size(), static_cast<size_t>(events.events_size()));
  for (int i = 0; i < events.events_size(); ++i) {
    const std::string json = audit::EncodeEventJson(events.events(i).event().event());
    ExpectSameData(YAML::Load(json), documents[static_cast<size_t>(i)], absl::StrCat("event ", i));
  }
  // Spot checks of the quoting: strings that would read as other types are quoted, numbers
  // and the other scalars are not.
  EXPECT_THAT(yaml, HasSubstr("enabled: \"true\"\n"));
  EXPECT_THAT(yaml, HasSubstr("tier: \"null\"\n"));
  EXPECT_THAT(yaml, HasSubstr("short: \"y\"\n"));
  EXPECT_THAT(yaml, HasSubstr("version: \"1.0\"\n"));
  EXPECT_THAT(yaml, HasSubstr("when: \"2026-11-27T10:00:00Z\"\n"));
  EXPECT_THAT(yaml, HasSubstr("replicas: 3\n"));
  EXPECT_THAT(yaml, HasSubstr("big: 12345678901234567890123\n"));
  EXPECT_THAT(yaml, HasSubstr("ratio: 1.5e-3\n"));
  EXPECT_THAT(yaml, HasSubstr("paused: false\n"));
  EXPECT_THAT(yaml, HasSubstr("revisionHistoryLimit: null\n"));
  EXPECT_THAT(yaml, HasSubstr("note: a<b & c>d\n"));
}

TEST(EventPrinterTest, ZoneChangesOnlyTheTimes) {
  const GetResponse events = AllEvents();
  OutputOptions utc;
  utc.no_headers = true;  // the TIME title's padding depends on the times' width
  OutputOptions local = utc;
  local.zone = absl::FixedTimeZone(3600);
  // Every UTC time in `text` (2026-11-27T10:00:00Z, with or without six fractional
  // digits), as the local zone writes it.
  const auto to_local = [](std::string_view text) {
    const auto matches = [&](size_t i, std::string_view pattern) {
      if (i + pattern.size() > text.size()) return false;
      for (size_t k = 0; k < pattern.size(); ++k) {
        const char c = text[i + k];
        if (pattern[k] == 'd' ? !absl::ascii_isdigit(static_cast<unsigned char>(c))
                              : c != pattern[k]) {
          return false;
        }
      }
      return true;
    };
    constexpr std::string_view kWithFraction = "dddd-dd-ddTdd:dd:dd.ddddddZ";
    constexpr std::string_view kWhole = "dddd-dd-ddTdd:dd:ddZ";
    std::string result;
    for (size_t i = 0; i < text.size();) {
      const bool fraction = matches(i, kWithFraction);
      if (!fraction && !matches(i, kWhole)) {
        result.push_back(text[i++]);
        continue;
      }
      const size_t size = fraction ? kWithFraction.size() : kWhole.size();
      result += absl::FormatTime(fraction ? "%Y-%m-%dT%H:%M:%E6S%Ez" : "%Y-%m-%dT%H:%M:%S%Ez",
                                 absl::FromUnixMicros(Micros(text.substr(i, size))),
                                 absl::FixedTimeZone(3600));
      i += size;
    }
    return result;
  };
  for (EventFormat format : {EventFormat::kTable, EventFormat::kWide}) {
    const std::string local_text = Print(events, format, local);
    EXPECT_THAT(local_text, HasSubstr("2026-11-27T11:00:00+01:00"));
    EXPECT_EQ(local_text, to_local(Print(events, format, utc)));
  }
  for (EventFormat format : {EventFormat::kJson, EventFormat::kJsonLines, EventFormat::kYaml}) {
    EXPECT_EQ(Print(events, format, local), Print(events, format, utc));
  }
  const GetResponse exec = Stages({kExecReceived, kExecStarted, kExecComplete});
  EXPECT_EQ(Summary(exec, EventFormat::kTable, local),
            to_local(Summary(exec, EventFormat::kTable, utc)));
}

TEST(EventPrinterTest, WidthsNeverShrinkAcrossFlushes) {
  EventPrinter printer(EventFormat::kTable);
  std::string out;
  // The offset of the VERB column in a row: after TIME, CLUSTER and USER.
  const auto verb_offset = [](const std::string& line, std::string_view verb) {
    return line.find(Cat("   ", verb, "   "));
  };
  const GetResponse events = AllEvents();
  printer.Add(events.events(2));  // the service account: a long USER
  printer.Flush(&out);
  std::vector<std::string> lines = SplitLines(out);
  ASSERT_EQ(lines.size(), 2u);  // header and row
  const size_t wide = verb_offset(lines[1], "patch");
  ASSERT_NE(wide, std::string::npos);
  EXPECT_EQ(lines[0].find("VERB"), wide + 3);

  out.clear();
  printer.Add(events.events(0));  // alice: a shorter USER
  printer.Flush(&out);
  lines = SplitLines(out);
  ASSERT_EQ(lines.size(), 1u) << out;  // no second header
  EXPECT_EQ(verb_offset(lines[0], "get"), wide);

  out.clear();
  printer.Flush(&out);
  EXPECT_EQ(out, "");  // nothing buffered, nothing written

  // A longer value widens the columns from then on.
  StoredEvent longer = events.events(0);
  longer.mutable_event()->mutable_event()->mutable_user()->set_username(std::string(60, 'u'));
  printer.Add(longer);
  printer.Flush(&out);
  lines = SplitLines(out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_GT(verb_offset(lines[0], "get"), wide);
}

TEST(EventPrinterTest, NothingWrittenWithoutEvents) {
  for (EventFormat format : {EventFormat::kTable, EventFormat::kWide, EventFormat::kJson,
                             EventFormat::kJsonLines, EventFormat::kYaml}) {
    EventPrinter printer(format);
    std::string out;
    printer.Flush(&out);
    EXPECT_EQ(out, "");
  }
}

TEST(EventPrinterTest, ColourAddsOnlyEscapeSequences) {
  const GetResponse events = AllEvents();
  OutputOptions colour;
  colour.colour = true;
  for (EventFormat format : {EventFormat::kTable, EventFormat::kWide}) {
    const std::string plain = Print(events, format);
    const std::string coloured = Print(events, format, colour);
    EXPECT_NE(plain, coloured);
    EXPECT_EQ(StripColour(coloured), plain);
    EXPECT_THAT(coloured, HasSubstr("\x1b[1mTIME "));
    EXPECT_THAT(coloured, HasSubstr("\x1b[32m200\x1b[0m"));
    EXPECT_THAT(coloured, HasSubstr("\x1b[33m403\x1b[0m"));
    EXPECT_THAT(coloured, HasSubstr("\x1b[31m500\x1b[0m"));
  }
  // JSON, JSON lines and YAML are never coloured.
  for (EventFormat format : {EventFormat::kJson, EventFormat::kJsonLines, EventFormat::kYaml}) {
    EXPECT_EQ(Print(events, format, colour), Print(events, format));
  }
  const GetResponse forbidden = Stages({kForbidden});
  const std::string coloured = Summary(forbidden, EventFormat::kTable, colour);
  EXPECT_THAT(coloured, HasSubstr("\x1b[33m403\x1b[0m"));
  EXPECT_EQ(StripColour(coloured), Summary(forbidden, EventFormat::kTable));

  std::string top_plain, top_coloured;
  AppendTop(Top().entries(), "USER", EventFormat::kTable, {}, &top_plain);
  AppendTop(Top().entries(), "USER", EventFormat::kTable, colour, &top_coloured);
  EXPECT_EQ(StripColour(top_coloured), top_plain);
  EXPECT_NE(top_coloured, top_plain);

  std::string histogram_plain, histogram_coloured;
  AppendHistogram(Histogram(true), kubetrail::v1::GRANULARITY_HOUR, "USER", EventFormat::kTable, {},
                  &histogram_plain);
  AppendHistogram(Histogram(true), kubetrail::v1::GRANULARITY_HOUR, "USER", EventFormat::kTable,
                  colour, &histogram_coloured);
  EXPECT_EQ(StripColour(histogram_coloured), histogram_plain);

  std::string status_plain, status_coloured;
  AppendStatus(Stats(), "127.0.0.1:7443", "SERVING", EventFormat::kTable, {}, &status_plain);
  AppendStatus(Stats(), "127.0.0.1:7443", "SERVING", EventFormat::kTable, colour, &status_coloured);
  EXPECT_EQ(StripColour(status_coloured), status_plain);
  EXPECT_THAT(status_coloured, HasSubstr("\x1b[32mSERVING\x1b[0m"));
}

TEST(EventPrinterTest, LatencyForms) {
  OutputOptions options;
  options.no_headers = true;
  for (const auto& [micros, expected] :
       std::vector<std::pair<int64_t, std::string_view>>{{0, "0µs"},
                                                         {999, "999µs"},
                                                         {1000, "1.0ms"},
                                                         {9999, "9.9ms"},
                                                         {10'000, "10ms"},
                                                         {999'999, "999ms"},
                                                         {1'000'000, "1.0s"},
                                                         {59'999'999, "59s"},
                                                         {60'000'000, "1m0s"},
                                                         {3'599'000'000, "59m59s"},
                                                         {3'600'000'000, "1h0m"},
                                                         {7'503'000'000, "2h5m"},
                                                         {-1'500'000, "-1.5s"}}) {
    GetResponse events;
    StoredEvent* event = events.add_events();
    *event = Stored(kGet, "prod-eu", 1);
    kubetrail::v1::Event* e = event->mutable_event()->mutable_event();
    e->set_stage_timestamp_us(e->request_received_timestamp_us() + micros);
    EXPECT_THAT(Print(events, EventFormat::kWide, options), HasSubstr(Cat("   ", expected, "   ")))
        << micros;
    // Only the final stages have a latency.
    e->set_stage("Panic");
    EXPECT_THAT(Print(events, EventFormat::kWide, options), HasSubstr(Cat("   ", expected, "   ")));
    e->set_stage("ResponseStarted");
    EXPECT_THAT(Print(events, EventFormat::kWide, options), HasSubstr("200   -   ResponseStarted"));
  }
}

TEST(EventPrinterTest, UserTextCannotBreakTheTable) {
  const GetResponse events = AllEvents();
  for (EventFormat format : {EventFormat::kTable, EventFormat::kWide}) {
    const std::string out = Print(events, format);
    EXPECT_EQ(SplitLines(out).size(), static_cast<size_t>(events.events_size()) + 1);
    for (char c : out) {
      const auto byte = static_cast<unsigned char>(c);
      EXPECT_TRUE(c == '\n' || (byte >= 0x20 && byte != 0x7F)) << "byte " << int{byte};
    }
    EXPECT_THAT(out, Not(HasSubstr("\u202e")));
    EXPECT_THAT(out, Not(HasSubstr("\u0085")));
    EXPECT_THAT(out, HasSubstr("jos\u00e9\\n日本\\x1b[31m"));
    EXPECT_THAT(out, HasSubstr("cafe\u0301/web\\u202e1\\u0085"));
    for (const std::string& line : SplitLines(out)) EXPECT_NE(line.back(), ' ') << line;
  }
  const std::string wide = Print(events, EventFormat::kWide);
  EXPECT_THAT(wide, HasSubstr("evil\\tagent\\r\\x07"));
  // The long user agent, cut to 60 columns.
  EXPECT_THAT(wide, HasSubstr("kube-controller-manager/v1.30.1 (linux/amd64) kubernetes/69…\n"));
}

// ---------------------------------------------------------------------------------------
// get.

TEST(RequestSummaryTest, Goldens) {
  ExpectGolden("summary-exec.table.golden",
               Summary(Stages({kExecReceived, kExecStarted, kExecComplete}), EventFormat::kTable));
  ExpectGolden("summary-watch.table.golden",
               Summary(Stages({kWatchReceived}), EventFormat::kTable));
  ExpectGolden("summary-forbidden.table.golden",
               Summary(Stages({kForbidden}), EventFormat::kTable));
  ExpectGolden("summary-odd.table.golden", Summary(Stages({kOddCharacters}), EventFormat::kTable));
  OutputOptions local;
  local.zone = absl::FixedTimeZone(3600);
  ExpectGolden(
      "summary-exec.table-local.golden",
      Summary(Stages({kExecReceived, kExecStarted, kExecComplete}), EventFormat::kTable, local));
}

TEST(RequestSummaryTest, WideIsTableAndMachineFormatsAreThePrinters) {
  const GetResponse exec = Stages({kExecReceived, kExecStarted, kExecComplete});
  EXPECT_EQ(Summary(exec, EventFormat::kWide), Summary(exec, EventFormat::kTable));
  for (EventFormat format : {EventFormat::kJson, EventFormat::kJsonLines, EventFormat::kYaml}) {
    EXPECT_EQ(Summary(exec, format), Print(exec, format));
  }
  EXPECT_EQ(Summary(GetResponse(), EventFormat::kTable), "");
  EXPECT_EQ(Summary(GetResponse(), EventFormat::kJson), "");
}

// ---------------------------------------------------------------------------------------
// top, count, histogram, status.

TEST(TopTest, Goldens) {
  std::string table, json, yaml;
  AppendTop(Top().entries(), "USER", EventFormat::kTable, {}, &table);
  AppendTop(Top().entries(), "USER", EventFormat::kJson, {}, &json);
  AppendTop(Top().entries(), "USER", EventFormat::kYaml, {}, &yaml);
  ExpectGolden("top.table.golden", table);
  ExpectGolden("top.json.golden", json);
  ExpectGolden("top.yaml.golden", yaml);
  ASSERT_EQ(json.back(), '\n');
  ExpectValidJson(std::string_view(json).substr(0, json.size() - 1));
  ExpectSameData(YAML::Load(json), YAML::Load(yaml), "top");

  std::string jsonl;
  AppendTop(Top().entries(), "USER", EventFormat::kJsonLines, {}, &jsonl);
  EXPECT_EQ(jsonl, json);
}

TEST(TopTest, Empty) {
  std::string table, json;
  AppendTop(TopResponse().entries(), "VERB", EventFormat::kTable, {}, &table);
  AppendTop(TopResponse().entries(), "VERB", EventFormat::kJson, {}, &json);
  EXPECT_EQ(table, "");
  EXPECT_EQ(json, "[]\n");
}

TEST(TopTest, DimensionTitles) {
  EXPECT_EQ(DimensionTitle(kubetrail::v1::DIMENSION_USER), "USER");
  EXPECT_EQ(DimensionTitle(kubetrail::v1::DIMENSION_VERB), "VERB");
  EXPECT_EQ(DimensionTitle(kubetrail::v1::DIMENSION_RESOURCE), "RESOURCE");
  EXPECT_EQ(DimensionTitle(kubetrail::v1::DIMENSION_NAMESPACE), "NAMESPACE");
  EXPECT_EQ(DimensionTitle(kubetrail::v1::DIMENSION_CODE), "CODE");
  EXPECT_EQ(DimensionTitle(kubetrail::v1::DIMENSION_CLUSTER), "CLUSTER");
  EXPECT_EQ(DimensionTitle(kubetrail::v1::DIMENSION_UNSPECIFIED), "KEY");
}

TEST(CountTest, EveryFormat) {
  const auto count = [](EventFormat format) {
    std::string out;
    AppendCount(12, format, &out);
    return out;
  };
  EXPECT_EQ(count(EventFormat::kTable), "12\n");
  EXPECT_EQ(count(EventFormat::kWide), "12\n");
  EXPECT_EQ(count(EventFormat::kJson), "{\"count\":12}\n");
  EXPECT_EQ(count(EventFormat::kJsonLines), "{\"count\":12}\n");
  EXPECT_EQ(count(EventFormat::kYaml), "count: 12\n");
}

TEST(HistogramTest, Goldens) {
  const auto histogram = [](const HistogramResponse& h, kubetrail::v1::Granularity granularity,
                            std::string_view split, EventFormat format,
                            OutputOptions options = {}) {
    std::string out;
    AppendHistogram(h, granularity, split, format, options, &out);
    return out;
  };
  using kubetrail::v1::GRANULARITY_DAY;
  using kubetrail::v1::GRANULARITY_HOUR;
  ExpectGolden("histogram.table.golden",
               histogram(Histogram(false), GRANULARITY_HOUR, "", EventFormat::kTable));
  ExpectGolden("histogram-by-user.table.golden",
               histogram(Histogram(true), GRANULARITY_HOUR, "USER", EventFormat::kTable));
  ExpectGolden("histogram-day.table.golden",
               histogram(DayHistogram(), GRANULARITY_DAY, "", EventFormat::kTable));
  OutputOptions local;
  local.zone = absl::FixedTimeZone(3600);
  ExpectGolden("histogram-day.table-local.golden",
               histogram(DayHistogram(), GRANULARITY_DAY, "", EventFormat::kTable, local));
  const std::string json = histogram(Histogram(false), GRANULARITY_HOUR, "", EventFormat::kJson);
  const std::string split_json =
      histogram(Histogram(true), GRANULARITY_HOUR, "USER", EventFormat::kJson);
  const std::string split_yaml =
      histogram(Histogram(true), GRANULARITY_HOUR, "USER", EventFormat::kYaml);
  ExpectGolden("histogram.json.golden", json);
  ExpectGolden("histogram-by-user.json.golden", split_json);
  ExpectGolden("histogram-by-user.yaml.golden", split_yaml);
  for (const std::string& line : {json, split_json}) {
    ASSERT_EQ(line.back(), '\n');
    ExpectValidJson(std::string_view(line).substr(0, line.size() - 1));
  }
  ExpectSameData(YAML::Load(split_json), YAML::Load(split_yaml), "histogram");
  EXPECT_EQ(histogram(HistogramResponse(), GRANULARITY_HOUR, "", EventFormat::kTable), "");
  EXPECT_EQ(histogram(HistogramResponse(), GRANULARITY_HOUR, "", EventFormat::kJson), "[]\n");
}

TEST(StatusTest, Goldens) {
  std::string table, json, yaml, not_serving;
  AppendStatus(Stats(), "127.0.0.1:7443", "SERVING", EventFormat::kTable, {}, &table);
  AppendStatus(Stats(), "127.0.0.1:7443", "SERVING", EventFormat::kJson, {}, &json);
  AppendStatus(Stats(), "127.0.0.1:7443", "SERVING", EventFormat::kYaml, {}, &yaml);
  ExpectGolden("status.table.golden", table);
  ExpectGolden("status.json.golden", json);
  ExpectGolden("status.yaml.golden", yaml);
  ASSERT_EQ(json.back(), '\n');
  ExpectValidJson(std::string_view(json).substr(0, json.size() - 1));
  ExpectSameData(YAML::Load(json), YAML::Load(yaml), "status");

  // An empty store: no tables after the figures.
  AppendStatus(StatsResponse(), "aggregator:7443", "NOT_SERVING", EventFormat::kTable, {},
               &not_serving);
  EXPECT_EQ(not_serving,
            "Server:         aggregator:7443\n"
            "Health:         NOT_SERVING\n"
            "Events:         0\n"
            "Last Sequence:  0\n"
            "Disk:           0 B (0 bytes)\n");
}

// ---------------------------------------------------------------------------------------
// JSON -> YAML.

TEST(JsonAsYamlTest, QuotesWhatYamlWouldMisread) {
  const std::string json =
      R"({"s":["true","False","yes","No","on","OFF","y","N","~","null","","123","-1","+.5",)"
      R"(".inf",".NaN","0x1F","1e3","2026-11-27","2026-11-27T10:00:00Z","<<","=","a: b",)"
      R"(" lead","trail ","a #b","- x","-","?","#c","@at","`tick","%p","*star","&amp","!bang",)"
      R"("|pipe",">gt","'q","\"dq","{b","[b","x\ny","tab\there","\u0007bel","\u2028",)"
      R"("caf\u00e9","\u65e5\u672c","--port","nginx:1.25","http://x/y?a=b#c","plain words",)"
      R"("10.0.0.7","7f3c1a52-0001","1_000","0b101","0o17","017","1:30","1:30.5","12:345",)"
      R"("1.","-.5","2026-11","2026","1.2.3","a\u0085b","\ufeffbom","\u202e"],)"
      R"("n":[0,-1,1.5e-3,12345678901234567890123,1E+400],"b":[true,false],"z":null,)"
      R"("e":{},"a":[],"nested":[[1,[]],{"k":{"x":[{}]}}]})";
  std::string yaml;
  ASSERT_TRUE(AppendJsonAsYaml(json, &yaml).ok());
  ExpectGolden("quoting.yaml.golden", yaml);
  ExpectSameData(YAML::Load(json), YAML::Load(yaml), "doc");
}

TEST(JsonAsYamlTest, SurrogateEscapes) {
  std::string yaml;
  ASSERT_TRUE(
      AppendJsonAsYaml(R"({"pair":"\ud83d\ude00","lone":"a\ud800b","low":"\udc00"})", &yaml).ok());
  EXPECT_EQ(yaml, "pair: \U0001F600\nlone: a\uFFFDb\nlow: \uFFFD\n");
}

TEST(JsonAsYamlTest, RefusesInvalidJson) {
  for (std::string_view bad : {"{\"a\":}", "{\"a\":1", "[1,2,]", "{\"a\":\"\\q\"}", "{\"a\":01}",
                               "{\"a\":1} x", "{\"a\":nul}"}) {
    std::string yaml = "kept";
    const absl::Status status = AppendJsonAsYaml(bad, &yaml);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(yaml, "kept") << bad;
  }
}

// Years below 1000 keep four digits: a hold from the first instant a store keeps.
TEST(HoldsOutputTest, EarlyYearsHaveFourDigits) {
  google::protobuf::RepeatedPtrField<kubetrail::v1::LegalHold> holds;
  kubetrail::v1::LegalHold* hold = holds.Add();
  hold->set_id("hold-1");
  hold->set_cluster("prod");
  hold->set_from_us(absl::ToUnixMicros(absl::FromCivil(absl::CivilSecond(1, 1, 1), absl::UTCTimeZone())));
  hold->set_to_us(absl::ToUnixMicros(absl::FromCivil(absl::CivilSecond(999, 12, 31), absl::UTCTimeZone())));
  hold->set_created_us(0);
  hold->set_reason("r");
  std::string table;
  AppendHolds(holds, EventFormat::kTable, {}, &table);
  EXPECT_THAT(table, HasSubstr("0001-01-01T00:00:00Z   0999-12-31T00:00:00Z"));
  std::string json;
  AppendHolds(holds, EventFormat::kJson, {}, &json);
  EXPECT_THAT(json, HasSubstr(R"("from":"0001-01-01T00:00:00.000000Z","to":"0999-12-31T00:00:00.000000Z")"));
}

}  // namespace
}  // namespace kubetrail::cli
