// Unit tests of `kubetrail query` (query.h, connection.h): flags → Filter, the output
// formats, and RunQuery against a fake Query service over an in-process gRPC channel
// (paging, order, hint, deadline, token, error mapping).
#include "clients/cli/query.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "audit/codec.h"
#include "clients/cli/connection.h"
#include "clients/cli/exit_codes.h"
#include "common/strings.h"
#include "gmock/gmock.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/server_context.h"
#include "gtest/gtest.h"
#include "kubetrail/v1/query.grpc.pb.h"

namespace kubetrail::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

// A canonical audit.k8s.io/v1 line; AUDIT_ID and TIME are replaced per event.
constexpr std::string_view kTemplate =
    R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"AUDIT_ID","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/kube-system/secrets/token","verb":"get","user":{"username":"system:serviceaccount:kube-system:ci","groups":["system:serviceaccounts","system:authenticated"]},"sourceIPs":["172.16.0.4"],"userAgent":"ci-bot/2.3 \u003cx\u003e","objectRef":{"resource":"secrets","namespace":"kube-system","name":"token","apiVersion":"v1"},"responseStatus":{"metadata":{},"status":"Failure","reason":"Forbidden","code":403},"requestReceivedTimestamp":"TIME","stageTimestamp":"TIME","annotations":{"authorization.k8s.io/decision":"forbid"}})json";

std::string EventLine(int i) {
  return absl::StrReplaceAll(ToAbsl(kTemplate),
                             {{"AUDIT_ID", absl::StrCat("7e1d2c3b-0000-4000-8000-00000000000", i)},
                              {"TIME", absl::StrCat("2026-11-27T10:00:0", i, ".000001Z")}});
}

// Stored event number `i` (sequence 100 + i), decoded from EventLine(i).
v1::StoredEvent MakeStored(int i) {
  v1::StoredEvent stored;
  stored.set_sequence(100 + static_cast<uint64_t>(i));
  audit::EventDecoder decoder;
  const absl::Status s = decoder.Decode(EventLine(i), stored.mutable_event()->mutable_event());
  EXPECT_TRUE(s.ok()) << s;
  stored.set_time_us(stored.event().event().request_received_timestamp_us());
  v1::Envelope* envelope = stored.mutable_event()->mutable_envelope();
  envelope->set_cluster("prod-eu");
  envelope->set_source("apiserver-1");
  envelope->set_receive_time_us(1'795'773'600'000'000 + i);  // 2026-11-27T10:00:00.00000iZ
  return stored;
}

// ----- flags → Filter ---------------------------------------------------------------------

const absl::Time kNow = absl::FromUnixSeconds(1'795'773'600);  // 2026-11-27T10:00:00Z

TEST(BuildFilterTest, NoFlagsSelectsEverything) {
  absl::StatusOr<v1::Filter> filter = BuildFilter({}, kNow);
  ASSERT_TRUE(filter.ok()) << filter.status();
  EXPECT_EQ(filter->ByteSizeLong(), 0u) << filter->DebugString();
}

TEST(BuildFilterTest, Since) {
  for (const auto& [text, back] : std::vector<std::pair<std::string, absl::Duration>>{
           {"2h", absl::Hours(2)},
           {"90m", absl::Minutes(90)},
           {"1h30m", absl::Minutes(90)},
           {"7d", absl::Hours(7 * 24)},
           {"1.5d", absl::Hours(36)},
           {"1d12h", absl::Hours(36)},
           {"250ms", absl::Milliseconds(250)},
       }) {
    QueryFilterFlags flags;
    flags.since = text;
    absl::StatusOr<v1::Filter> filter = BuildFilter(flags, kNow);
    ASSERT_TRUE(filter.ok()) << text << ": " << filter.status();
    ASSERT_TRUE(filter->has_from_us()) << text;
    EXPECT_EQ(filter->from_us(), absl::ToUnixMicros(kNow - back)) << text;
    EXPECT_FALSE(filter->has_to_us()) << text;
  }
}

TEST(BuildFilterTest, BadSince) {
  for (const std::string text : {"x", "2", "-2h", "0s", "d", "7dd", "1d-2h", "inf", "2 h", "+2h"}) {
    QueryFilterFlags flags;
    flags.since = text;
    absl::StatusOr<v1::Filter> filter = BuildFilter(flags, kNow);
    EXPECT_EQ(filter.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(filter.status().message()), StartsWith("--since: ")) << text;
  }
}

TEST(BuildFilterTest, FromAndTo) {
  struct Case {
    std::string text;
    int64_t micros;
  };
  const int64_t now_us = absl::ToUnixMicros(kNow);
  for (const Case& c : std::vector<Case>{
           {"2026-11-27T10:00:00Z", now_us},
           {"2026-11-27t10:00:00z", now_us},
           {"2026-11-27T10:00:00.5Z", now_us + 500'000},
           {"2026-11-27T10:00:00.123456789Z", now_us + 123'456},
           {"2026-11-27T11:30:00+01:30", now_us},
           {"2026-11-27T08:00:00-02:00", now_us},
           {"2026-11-27", now_us - 10 * 3'600'000'000LL},
           {"now", now_us},
           {"now-2h", now_us - 2 * 3'600'000'000LL},
           {"now-1d", now_us - 24 * 3'600'000'000LL},
       }) {
    QueryFilterFlags flags;
    flags.from = c.text;
    absl::StatusOr<v1::Filter> filter = BuildFilter(flags, kNow);
    ASSERT_TRUE(filter.ok()) << c.text << ": " << filter.status();
    EXPECT_EQ(filter->from_us(), c.micros) << c.text;
    EXPECT_FALSE(filter->has_to_us()) << c.text;

    flags.from.clear();
    flags.to = c.text;
    filter = BuildFilter(flags, kNow);
    ASSERT_TRUE(filter.ok()) << c.text << ": " << filter.status();
    EXPECT_FALSE(filter->has_from_us()) << c.text;
    EXPECT_EQ(filter->to_us(), c.micros) << c.text;
  }

  QueryFilterFlags flags;
  flags.from = "2026-11-27";
  flags.to = "2026-11-28T00:00:00Z";
  absl::StatusOr<v1::Filter> filter = BuildFilter(flags, kNow);
  ASSERT_TRUE(filter.ok()) << filter.status();
  EXPECT_EQ(filter->to_us() - filter->from_us(), 24 * 3'600'000'000LL);
}

TEST(BuildFilterTest, BadTimes) {
  for (const std::string text : {"yesterday", "2026-13-01", "2026-02-30", "2026-11-27T25:00:00Z",
                                 "2026-11-27T10:00:00", "1795773600", "now+2h", "now-", "now-x"}) {
    QueryFilterFlags flags;
    flags.from = text;
    absl::StatusOr<v1::Filter> filter = BuildFilter(flags, kNow);
    EXPECT_EQ(filter.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(filter.status().message()), StartsWith("--from: ")) << text;
  }
  QueryFilterFlags flags;
  flags.to = "soon";
  EXPECT_THAT(std::string(BuildFilter(flags, kNow).status().message()), StartsWith("--to: "));
}

TEST(BuildFilterTest, ConflictingTimes) {
  QueryFilterFlags flags;
  flags.since = "2h";
  flags.from = "2026-11-27";
  EXPECT_THAT(std::string(BuildFilter(flags, kNow).status().message()), HasSubstr("--since"));
  flags.from.clear();
  flags.to = "2026-11-27";
  EXPECT_THAT(std::string(BuildFilter(flags, kNow).status().message()), HasSubstr("--since"));

  flags = {};
  flags.from = "2026-11-27T10:00:00Z";
  flags.to = "2026-11-27T10:00:00Z";  // [t, t) is empty
  absl::StatusOr<v1::Filter> filter = BuildFilter(flags, kNow);
  EXPECT_EQ(filter.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(filter.status().message()), HasSubstr("--to"));
  flags.to = "2026-11-26";
  EXPECT_FALSE(BuildFilter(flags, kNow).ok());
}

TEST(BuildFilterTest, ListsAreRepeatedOrCommaSeparated) {
  QueryFilterFlags flags;
  flags.clusters = {"prod-eu,prod-us", "staging"};
  flags.users = {"alice", "system:serviceaccount:kube-system:*"};
  flags.impersonated_users = {"bob"};
  flags.groups = {"system:masters"};
  flags.verbs = {"get,list,watch"};
  flags.namespaces = {"", "kube-system"};  // "" = cluster-scoped
  flags.resources = {"pods/*,*/status", "deployments.apps"};
  flags.api_groups = {",apps"};  // core and apps
  flags.names = {"token"};
  flags.codes = {"403,5xx"};
  flags.stages = {"ResponseComplete"};
  flags.levels = {"Metadata,Request"};
  flags.audit_ids = {"7e1d2c3b-0000-4000-8000-000000000001"};
  flags.source_ips = {"10.0.0.1,::1"};
  flags.user_agent = "kubectl/v1.31, linux";
  absl::StatusOr<v1::Filter> filter = BuildFilter(flags, kNow);
  ASSERT_TRUE(filter.ok()) << filter.status();
  EXPECT_THAT(filter->clusters(), ElementsAre("prod-eu", "prod-us", "staging"));
  EXPECT_THAT(filter->users(), ElementsAre("alice", "system:serviceaccount:kube-system:*"));
  EXPECT_THAT(filter->impersonated_users(), ElementsAre("bob"));
  EXPECT_THAT(filter->groups(), ElementsAre("system:masters"));
  EXPECT_THAT(filter->verbs(), ElementsAre("get", "list", "watch"));
  EXPECT_THAT(filter->namespaces(), ElementsAre("", "kube-system"));
  EXPECT_THAT(filter->resources(), ElementsAre("pods/*", "*/status", "deployments.apps"));
  EXPECT_THAT(filter->api_groups(), ElementsAre("", "apps"));
  EXPECT_THAT(filter->names(), ElementsAre("token"));
  EXPECT_THAT(filter->codes(), ElementsAre("403", "5xx"));
  EXPECT_THAT(filter->stages(), ElementsAre("ResponseComplete"));
  EXPECT_THAT(filter->levels(), ElementsAre("Metadata", "Request"));
  EXPECT_THAT(filter->audit_ids(), ElementsAre("7e1d2c3b-0000-4000-8000-000000000001"));
  EXPECT_THAT(filter->source_ips(), ElementsAre("10.0.0.1", "::1"));
  EXPECT_EQ(filter->user_agent_substring(), "kubectl/v1.31, linux");
  EXPECT_FALSE(filter->has_from_us());
  EXPECT_FALSE(filter->has_to_us());
}

TEST(BuildFilterTest, EmptyAlternativesOnlyWhereTheyMeanSomething) {
  QueryFilterFlags flags;
  flags.verbs = {"get,"};
  absl::StatusOr<v1::Filter> filter = BuildFilter(flags, kNow);
  EXPECT_EQ(filter.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(filter.status().message(), "--verb: empty value in \"get,\"");
  flags = {};
  flags.users = {""};
  EXPECT_THAT(std::string(BuildFilter(flags, kNow).status().message()), StartsWith("--user: "));
}

TEST(ParseTest, FormatAndOrder) {
  QueryFormat format = QueryFormat::kJson;
  EXPECT_TRUE(ParseQueryFormat("jsonl", &format).ok());
  EXPECT_EQ(format, QueryFormat::kJsonLines);
  EXPECT_TRUE(ParseQueryFormat("json", &format).ok());
  EXPECT_EQ(format, QueryFormat::kJson);
  EXPECT_FALSE(ParseQueryFormat("yaml", &format).ok());
  v1::Order order = v1::ORDER_ASCENDING;
  EXPECT_TRUE(ParseQueryOrder("desc", &order).ok());
  EXPECT_EQ(order, v1::ORDER_DESCENDING);
  EXPECT_TRUE(ParseQueryOrder("asc", &order).ok());
  EXPECT_EQ(order, v1::ORDER_ASCENDING);
  EXPECT_FALSE(ParseQueryOrder("newest", &order).ok());
}

// ----- output -----------------------------------------------------------------------------

TEST(AppendQueryOutputTest, JsonLinesIsTheApiserverLine) {
  std::string out;
  AppendQueryOutput(MakeStored(1), QueryFormat::kJsonLines, &out);
  AppendQueryOutput(MakeStored(2), QueryFormat::kJsonLines, &out);
  EXPECT_EQ(out, EventLine(1) + "\n" + EventLine(2) + "\n");
}

TEST(AppendQueryOutputTest, JsonIsAnEnvelope) {
  v1::StoredEvent stored = MakeStored(3);
  std::string out;
  AppendQueryOutput(stored, QueryFormat::kJson, &out);
  EXPECT_EQ(out, R"({"cluster":"prod-eu","source":"apiserver-1","event":)" + EventLine(3) +
                     R"(,"receive_time":"2026-11-27T10:00:00.000003Z","sequence":103})"
                     "\n");

  // Envelope strings are escaped as JSON.
  stored.mutable_event()->mutable_envelope()->set_cluster("a\"b<c");
  stored.set_sequence(18'446'744'073'709'551'615u);
  out.clear();
  AppendQueryOutput(stored, QueryFormat::kJson, &out);
  EXPECT_THAT(out, StartsWith(R"({"cluster":"a\"b\u003cc","source":)"));
  EXPECT_THAT(out, HasSubstr(R"("sequence":18446744073709551615})"));
}

// ----- connection helpers -----------------------------------------------------------------

TEST(ConnectionTest, ExitCodes) {
  EXPECT_EQ(ExitCodeForRpcError(grpc::Status::OK), kExitOk);
  EXPECT_EQ(ExitCodeForRpcError(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "x")), kExitUsage);
  for (grpc::StatusCode code :
       {grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::DEADLINE_EXCEEDED,
        grpc::StatusCode::UNAUTHENTICATED, grpc::StatusCode::PERMISSION_DENIED,
        grpc::StatusCode::INTERNAL, grpc::StatusCode::RESOURCE_EXHAUSTED}) {
    EXPECT_EQ(ExitCodeForRpcError(grpc::Status(code, "x")), kExitFailure) << code;
  }
}

TEST(ConnectionTest, ReportIsOneLine) {
  std::ostringstream err;
  EXPECT_EQ(ReportRpcError("127.0.0.1:7443",
                           grpc::Status(grpc::StatusCode::UNAVAILABLE, "failed\nto connect"), err),
            kExitFailure);
  EXPECT_EQ(err.str(), "kubetrail: 127.0.0.1:7443: UNAVAILABLE: failed to connect\n");
}

TEST(ConnectionTest, Validate) {
  EXPECT_TRUE(ValidateServerOptions({}).ok());
  ServerOptions options;
  options.dev = true;
  options.token = "abc.DEF-123_~";
  EXPECT_TRUE(ValidateServerOptions(options).ok());
  options.tls.ca_file = "ca.pem";
  EXPECT_THAT(std::string(ValidateServerOptions(options).message()), HasSubstr("--dev"));
  options = {};
  options.tls.cert_file = "c.pem";
  EXPECT_THAT(std::string(ValidateServerOptions(options).message()), HasSubstr("--tls-key"));
  options = {};
  options.token = "two words";
  EXPECT_THAT(std::string(ValidateServerOptions(options).message()), HasSubstr("--token"));
  options = {};
  options.server.clear();
  EXPECT_THAT(std::string(ValidateServerOptions(options).message()), HasSubstr("--server"));
  options = {};
  options.timeout = absl::ZeroDuration();
  EXPECT_THAT(std::string(ValidateServerOptions(options).message()), HasSubstr("--timeout"));
}

// ----- RunQuery against a fake service ----------------------------------------------------

// Serves Search from a list of stored events kept in ascending order; the cursor is the
// offset into the (ordered) list. Sends each page in chunks of `chunk_events`. Records what
// each call asked.
class FakeQueryService final : public v1::Query::Service {
 public:
  struct Call {
    v1::SearchRequest request;
    std::string authorization;  // "" when absent
    absl::Duration deadline_in;
  };

  explicit FakeQueryService(std::vector<v1::StoredEvent> events) : events_(std::move(events)) {}

  grpc::Status Search(grpc::ServerContext* context, const v1::SearchRequest* request,
                      grpc::ServerWriter<v1::SearchResponse>* writer) override {
    Call call;
    call.request = *request;
    call.deadline_in = absl::FromChrono(context->deadline()) - absl::Now();
    for (const auto& [key, value] : context->client_metadata()) {
      if (key == "authorization") call.authorization.assign(value.data(), value.size());
    }
    grpc::Status error;
    bool omit_last = false;
    bool stall = false;
    {
      absl::MutexLock lock(&mu_);
      calls_.push_back(call);
      error = error_;
      omit_last = omit_last_;
      stall = stall_;
    }
    if (!error.ok()) return error;
    if (stall) {
      // Until the client gives up (its deadline), at most 30 s.
      const absl::Time give_up = absl::Now() + absl::Seconds(30);
      while (!context->IsCancelled() && absl::Now() < give_up) {
        absl::SleepFor(absl::Milliseconds(5));
      }
      return grpc::Status(grpc::StatusCode::INTERNAL, "the client did not give up");
    }
    std::vector<v1::StoredEvent> ordered = events_;
    if (request->order() == v1::ORDER_DESCENDING) std::reverse(ordered.begin(), ordered.end());
    const size_t begin = request->cursor().empty() ? 0 : std::stoul(request->cursor());
    const size_t end = std::min(ordered.size(), begin + static_cast<size_t>(request->limit()));
    size_t i = begin;
    do {
      v1::SearchResponse response;
      for (int n = 0; n < chunk_events_ && i < end; ++n, ++i) *response.add_events() = ordered[i];
      if (i == end && !omit_last) {
        response.set_last(true);
        response.set_more(end < ordered.size());
        response.set_cursor(std::to_string(end));
      }
      writer->Write(response);
    } while (i < end);
    return grpc::Status::OK;
  }

  void FailWith(grpc::Status status) {
    absl::MutexLock lock(&mu_);
    error_ = std::move(status);
  }
  void OmitLastChunk() {
    absl::MutexLock lock(&mu_);
    omit_last_ = true;
  }
  void Stall() {
    absl::MutexLock lock(&mu_);
    stall_ = true;
  }
  std::vector<Call> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  const std::vector<v1::StoredEvent> events_;
  const int chunk_events_ = 2;
  absl::Mutex mu_;
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
  grpc::Status error_ ABSL_GUARDED_BY(mu_);
  bool omit_last_ ABSL_GUARDED_BY(mu_) = false;
  bool stall_ ABSL_GUARDED_BY(mu_) = false;
};

class RunQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<v1::StoredEvent> events;
    for (int i = 0; i < 5; ++i) events.push_back(MakeStored(i));
    service_ = std::make_unique<FakeQueryService>(std::move(events));
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::Query::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
    server_options_.server = "fake:7443";
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  int Run(const QueryOptions& options) {
    out_.str("");
    err_.str("");
    return RunQuery(options, server_options_, *stub_, out_, err_);
  }

  static std::string Lines(std::initializer_list<int> events) {
    std::string text;
    for (int i : events) text += EventLine(i) + "\n";
    return text;
  }

  std::unique_ptr<FakeQueryService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Query::Stub> stub_;
  ServerOptions server_options_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(RunQueryTest, OnePageWithinTheLimit) {
  QueryOptions options;
  options.filter.add_users("alice");
  options.filter.set_from_us(42);
  EXPECT_EQ(Run(options), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), Lines({0, 1, 2, 3, 4}));
  EXPECT_THAT(err_.str(), IsEmpty());
  const std::vector<FakeQueryService::Call> calls = service_->calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].request.limit(), 100);
  EXPECT_EQ(calls[0].request.order(), v1::ORDER_ASCENDING);
  EXPECT_THAT(calls[0].request.cursor(), IsEmpty());
  EXPECT_THAT(calls[0].request.filter().users(), ElementsAre("alice"));
  EXPECT_EQ(calls[0].request.filter().from_us(), 42);
  EXPECT_THAT(calls[0].authorization, IsEmpty());
  EXPECT_GT(calls[0].deadline_in, absl::Seconds(25));
  // Give or take the rounding of the grpc-timeout header.
  EXPECT_LE(calls[0].deadline_in, absl::Seconds(31));
}

TEST_F(RunQueryTest, LimitLeavesAHint) {
  QueryOptions options;
  options.limit = 3;
  EXPECT_EQ(Run(options), kExitOk);
  EXPECT_EQ(out_.str(), Lines({0, 1, 2}));
  EXPECT_EQ(err_.str(),
            "kubetrail query: more events match; use --all or --limit N (up to 100000)\n");
  ASSERT_EQ(service_->calls().size(), 1u);
  EXPECT_EQ(service_->calls()[0].request.limit(), 3);

  // Exactly as many as match: no hint.
  options.limit = 5;
  EXPECT_EQ(Run(options), kExitOk);
  EXPECT_EQ(out_.str(), Lines({0, 1, 2, 3, 4}));
  EXPECT_THAT(err_.str(), IsEmpty());
}

TEST_F(RunQueryTest, AllFollowsTheCursor) {
  QueryOptions options;
  options.all = true;
  options.limit = 1;  // not used with `all`
  options.page_size = 2;
  options.order = v1::ORDER_DESCENDING;
  options.filter.add_verbs("get");
  EXPECT_EQ(Run(options), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), Lines({4, 3, 2, 1, 0}));
  EXPECT_THAT(err_.str(), IsEmpty());
  const std::vector<FakeQueryService::Call> calls = service_->calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].request.cursor(), "");
  EXPECT_EQ(calls[1].request.cursor(), "2");
  EXPECT_EQ(calls[2].request.cursor(), "4");
  for (const FakeQueryService::Call& call : calls) {
    EXPECT_EQ(call.request.limit(), 2);
    EXPECT_EQ(call.request.order(), v1::ORDER_DESCENDING);
    EXPECT_THAT(call.request.filter().verbs(), ElementsAre("get"));
  }
}

TEST_F(RunQueryTest, JsonEnvelopes) {
  QueryOptions options;
  options.limit = 2;
  options.format = QueryFormat::kJson;
  EXPECT_EQ(Run(options), kExitOk);
  std::string expected;
  AppendQueryOutput(MakeStored(0), QueryFormat::kJson, &expected);
  AppendQueryOutput(MakeStored(1), QueryFormat::kJson, &expected);
  EXPECT_EQ(out_.str(), expected);
}

TEST_F(RunQueryTest, TokenAndTimeout) {
  server_options_.token = "s3cret";
  server_options_.timeout = absl::Seconds(5);
  QueryOptions options;
  EXPECT_EQ(Run(options), kExitOk);
  ASSERT_EQ(service_->calls().size(), 1u);
  EXPECT_EQ(service_->calls()[0].authorization, "Bearer s3cret");
  EXPECT_GT(service_->calls()[0].deadline_in, absl::Seconds(1));
  EXPECT_LE(service_->calls()[0].deadline_in, absl::Seconds(6));
}

TEST_F(RunQueryTest, InvalidArgumentIsAUsageError) {
  service_->FailWith(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "codes: bad value \"4x\""));
  EXPECT_EQ(Run({}), kExitUsage);
  EXPECT_THAT(out_.str(), IsEmpty());
  EXPECT_EQ(err_.str(), "kubetrail: fake:7443: INVALID_ARGUMENT: codes: bad value \"4x\"\n");
}

TEST_F(RunQueryTest, OtherErrorsAreFailures) {
  service_->FailWith(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no token"));
  EXPECT_EQ(Run({}), kExitFailure);
  EXPECT_EQ(err_.str(), "kubetrail: fake:7443: UNAUTHENTICATED: no token\n");
  service_->FailWith(grpc::Status(grpc::StatusCode::UNAVAILABLE, "shutting down"));
  EXPECT_EQ(Run({}), kExitFailure);
  EXPECT_EQ(err_.str(), "kubetrail: fake:7443: UNAVAILABLE: shutting down\n");
}

TEST_F(RunQueryTest, AShortTimeoutExpires) {
  service_->Stall();
  server_options_.timeout = absl::Milliseconds(100);
  EXPECT_EQ(Run({}), kExitFailure);
  EXPECT_THAT(err_.str(), StartsWith("kubetrail: fake:7443: DEADLINE_EXCEEDED: "));
}

TEST_F(RunQueryTest, APageWithoutItsLastChunkIsAnError) {
  service_->OmitLastChunk();
  EXPECT_EQ(Run({}), kExitFailure);
  EXPECT_EQ(out_.str(), Lines({0, 1, 2, 3, 4}));
  EXPECT_THAT(err_.str(), StartsWith("kubetrail: fake:7443: INTERNAL: "));
}

TEST_F(RunQueryTest, LimitOutOfRange) {
  for (int limit : {0, -1, kMaxQueryLimit + 1}) {
    QueryOptions options;
    options.limit = limit;
    EXPECT_EQ(Run(options), kExitUsage) << limit;
    EXPECT_THAT(err_.str(), HasSubstr("--limit")) << limit;
  }
  EXPECT_THAT(service_->calls(), IsEmpty());
}

TEST_F(RunQueryTest, FailedWriteIsAFailure) {
  out_.setstate(std::ios::badbit);
  EXPECT_EQ(RunQuery({}, server_options_, *stub_, out_, err_), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("cannot write output"));
}

}  // namespace
}  // namespace kubetrail::cli
