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

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "audit/codec.h"
#include "clients/cli/connection.h"
#include "clients/cli/exit_codes.h"
#include "clients/cpp/testing/fake_query_service.h"
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

TEST(ParseTest, Order) {
  v1::Order order = v1::ORDER_ASCENDING;
  EXPECT_TRUE(ParseQueryOrder("desc", &order).ok());
  EXPECT_EQ(order, v1::ORDER_DESCENDING);
  EXPECT_TRUE(ParseQueryOrder("asc", &order).ok());
  EXPECT_EQ(order, v1::ORDER_ASCENDING);
  EXPECT_FALSE(ParseQueryOrder("newest", &order).ok());
}

// ----- output -----------------------------------------------------------------------------

// What query writes for each format (the formats themselves: output_test.cc).
std::string Print(const std::vector<v1::StoredEvent>& events, EventFormat format) {
  EventPrinter printer(format);
  for (const v1::StoredEvent& event : events) printer.Add(event);
  std::string out;
  printer.Flush(&out);
  return out;
}

QueryOptions JsonLinesQuery() {
  QueryOptions options;
  options.format = EventFormat::kJsonLines;
  return options;
}

TEST(QueryOutputTest, JsonLinesIsTheApiserverLine) {
  const std::string out = Print({MakeStored(1), MakeStored(2)}, EventFormat::kJsonLines);
  EXPECT_EQ(out, EventLine(1) + "\n" + EventLine(2) + "\n");
}

TEST(QueryOutputTest, JsonIsAnEnvelope) {
  v1::StoredEvent stored = MakeStored(3);
  std::string out = Print({stored}, EventFormat::kJson);
  EXPECT_EQ(out, R"({"cluster":"prod-eu","source":"apiserver-1","event":)" + EventLine(3) +
                     R"(,"receive_time":"2026-11-27T10:00:00.000003Z","sequence":103})"
                     "\n");

  // Envelope strings are escaped as JSON.
  stored.mutable_event()->mutable_envelope()->set_cluster("a\"b<c");
  stored.set_sequence(18'446'744'073'709'551'615u);
  out = Print({stored}, EventFormat::kJson);
  EXPECT_THAT(out, StartsWith(R"({"cluster":"a\"b\u003cc","source":)"));
  EXPECT_THAT(out, HasSubstr(R"("sequence":18446744073709551615})"));
}

// ----- connection helpers -----------------------------------------------------------------

TEST(ConnectionTest, ExitCodes) {
  EXPECT_EQ(ExitCodeForRpcError(absl::OkStatus()), kExitOk);
  EXPECT_EQ(ExitCodeForRpcError(absl::InvalidArgumentError("x")), kExitUsage);
  for (const absl::Status& status :
       {absl::UnavailableError("x"), absl::DeadlineExceededError("x"),
        absl::UnauthenticatedError("x"), absl::PermissionDeniedError("x"),
        absl::InternalError("x"), absl::ResourceExhaustedError("x")}) {
    EXPECT_EQ(ExitCodeForRpcError(status), kExitFailure) << status;
  }
}

TEST(ConnectionTest, ReportIsOneLine) {
  std::ostringstream err;
  EXPECT_EQ(ReportRpcError("127.0.0.1:7443", absl::UnavailableError("failed\nto connect"), err),
            kExitFailure);
  EXPECT_EQ(err.str(), "kubetrail: 127.0.0.1:7443: UNAVAILABLE: failed to connect\n");
}

TEST(ConnectionTest, Validate) {
  EXPECT_TRUE(ValidateServerOptions({}).ok());
  ServerOptions options;
  options.plaintext = true;
  options.token = "abc.DEF-123_~";
  EXPECT_TRUE(ValidateServerOptions(options).ok());
  options.ca_file = "ca.pem";
  EXPECT_THAT(std::string(ValidateServerOptions(options).message()), HasSubstr("--dev"));
  options = {};
  options.cert_file = "c.pem";
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

class RunQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<v1::StoredEvent> events;
    for (int i = 0; i < 5; ++i) events.push_back(MakeStored(i));
    service_ = std::make_unique<client_testing::FakeQueryService>(std::move(events));
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    server_options_.server = "fake:7443";
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  int Run(const QueryOptions& options) {
    out_.str("");
    err_.str("");
    const kubetrail::Client client = kubetrail::Client::FromChannel(
        server_->InProcessChannel(grpc::ChannelArguments()), server_options_);
    return RunQuery(options, client, out_, err_);
  }

  static std::string Lines(std::initializer_list<int> events) {
    std::string text;
    for (int i : events) text += EventLine(i) + "\n";
    return text;
  }

  std::unique_ptr<client_testing::FakeQueryService> service_;
  std::unique_ptr<grpc::Server> server_;
  ServerOptions server_options_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(RunQueryTest, OnePageWithinTheLimit) {
  QueryOptions options = JsonLinesQuery();
  options.filter.add_users("alice");
  options.filter.set_from_us(42);
  EXPECT_EQ(Run(options), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), Lines({0, 1, 2, 3, 4}));
  EXPECT_THAT(err_.str(), IsEmpty());
  const std::vector<client_testing::FakeQueryService::Call> calls = service_->calls();
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
  QueryOptions options = JsonLinesQuery();
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
  QueryOptions options = JsonLinesQuery();
  options.all = true;
  options.limit = 1;  // not used with `all`
  options.page_size = 2;
  options.order = v1::ORDER_DESCENDING;
  options.filter.add_verbs("get");
  EXPECT_EQ(Run(options), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), Lines({4, 3, 2, 1, 0}));
  EXPECT_THAT(err_.str(), IsEmpty());
  const std::vector<client_testing::FakeQueryService::Call> calls = service_->calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].request.cursor(), "");
  EXPECT_EQ(calls[1].request.cursor(), "2");
  EXPECT_EQ(calls[2].request.cursor(), "4");
  for (const client_testing::FakeQueryService::Call& call : calls) {
    EXPECT_EQ(call.request.limit(), 2);
    EXPECT_EQ(call.request.order(), v1::ORDER_DESCENDING);
    EXPECT_THAT(call.request.filter().verbs(), ElementsAre("get"));
  }
}

TEST_F(RunQueryTest, JsonEnvelopes) {
  QueryOptions options = JsonLinesQuery();
  options.limit = 2;
  options.format = EventFormat::kJson;
  EXPECT_EQ(Run(options), kExitOk);
  EXPECT_EQ(out_.str(), Print({MakeStored(0), MakeStored(1)}, EventFormat::kJson));
}

TEST_F(RunQueryTest, TokenAndTimeout) {
  server_options_.token = "s3cret";
  server_options_.timeout = absl::Seconds(5);
  QueryOptions options = JsonLinesQuery();
  EXPECT_EQ(Run(options), kExitOk);
  ASSERT_EQ(service_->calls().size(), 1u);
  EXPECT_EQ(service_->calls()[0].authorization, "Bearer s3cret");
  EXPECT_GT(service_->calls()[0].deadline_in, absl::Seconds(1));
  EXPECT_LE(service_->calls()[0].deadline_in, absl::Seconds(6));
}

TEST_F(RunQueryTest, InvalidArgumentIsAUsageError) {
  service_->FailWith(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "codes: bad value \"4x\""));
  EXPECT_EQ(Run(JsonLinesQuery()), kExitUsage);
  EXPECT_THAT(out_.str(), IsEmpty());
  EXPECT_EQ(err_.str(), "kubetrail: fake:7443: INVALID_ARGUMENT: codes: bad value \"4x\"\n");
}

TEST_F(RunQueryTest, OtherErrorsAreFailures) {
  service_->FailWith(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no token"));
  EXPECT_EQ(Run(JsonLinesQuery()), kExitFailure);
  EXPECT_EQ(err_.str(), "kubetrail: fake:7443: UNAUTHENTICATED: no token\n");
  service_->FailWith(grpc::Status(grpc::StatusCode::UNAVAILABLE, "shutting down"));
  EXPECT_EQ(Run(JsonLinesQuery()), kExitFailure);
  EXPECT_EQ(err_.str(), "kubetrail: fake:7443: UNAVAILABLE: shutting down\n");
}

TEST_F(RunQueryTest, AShortTimeoutExpires) {
  service_->Stall();
  server_options_.timeout = absl::Milliseconds(100);
  EXPECT_EQ(Run(JsonLinesQuery()), kExitFailure);
  EXPECT_THAT(err_.str(), StartsWith("kubetrail: fake:7443: DEADLINE_EXCEEDED: "));
}

TEST_F(RunQueryTest, APageWithoutItsLastChunkIsAnError) {
  service_->OmitLastChunk();
  EXPECT_EQ(Run(JsonLinesQuery()), kExitFailure);
  EXPECT_EQ(out_.str(), Lines({0, 1, 2, 3, 4}));
  EXPECT_THAT(err_.str(), StartsWith("kubetrail: fake:7443: INTERNAL: "));
}

TEST_F(RunQueryTest, LimitOutOfRange) {
  for (int limit : {0, -1, kMaxQueryLimit + 1}) {
    QueryOptions options = JsonLinesQuery();
    options.limit = limit;
    EXPECT_EQ(Run(options), kExitUsage) << limit;
    EXPECT_THAT(err_.str(), HasSubstr("--limit")) << limit;
  }
  EXPECT_THAT(service_->calls(), IsEmpty());
}

TEST_F(RunQueryTest, FailedWriteIsAFailure) {
  out_.setstate(std::ios::badbit);
  const kubetrail::Client client = kubetrail::Client::FromChannel(
      server_->InProcessChannel(grpc::ChannelArguments()), server_options_);
  EXPECT_EQ(RunQuery(JsonLinesQuery(), client, out_, err_), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("cannot write output"));
}

}  // namespace
}  // namespace kubetrail::cli
