// kubetrail::Client against a fake Query service over an in-process gRPC channel: paging,
// limits, cursors, deadlines, tokens, errors, follow and cancellation. (Against a real
// aggregator: tests/clients/client_process_test.cc.)
#include "kubetrail/client.h"

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/cpp/testing/fake_query_service.h"
#include "gmock/gmock.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace kubetrail {
namespace {

namespace v1 = kubetrail::v1;
using client_testing::FakeQueryService;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Stored event `i`: auditID "id-<i / 2>" (two stages per request), sequence 100 + i.
v1::StoredEvent MakeStored(int i) {
  v1::StoredEvent stored;
  stored.set_sequence(100 + static_cast<uint64_t>(i));
  stored.set_time_us(1'795'773'600'000'000 + i);
  v1::Event* event = stored.mutable_event()->mutable_event();
  event->set_audit_id(absl::StrCat("id-", i / 2));
  event->set_stage(i % 2 == 0 ? "RequestReceived" : "ResponseComplete");
  event->set_verb("get");
  stored.mutable_event()->mutable_envelope()->set_cluster("prod");
  return stored;
}

std::vector<uint64_t> Sequences(SearchIterator& it) {
  std::vector<uint64_t> out;
  while (it.Next()) out.push_back(it.event().sequence());
  return out;
}

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<v1::StoredEvent> events;
    for (int i = 0; i < 5; ++i) events.push_back(MakeStored(i));
    service_ = std::make_unique<FakeQueryService>(std::move(events));
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override {
    if (server_) server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  }

  Client MakeClient(ClientOptions options = {}) {
    options.server = "fake:7443";
    return Client::FromChannel(server_->InProcessChannel(grpc::ChannelArguments()), options);
  }

  std::unique_ptr<FakeQueryService> service_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(ClientTest, SearchPagesThroughEverything) {
  Client client = MakeClient();
  v1::Filter filter;
  filter.add_verbs("get");
  SearchIterator it = client.Search(filter, {.page_size = 2});
  EXPECT_THAT(Sequences(it), ElementsAre(100, 101, 102, 103, 104));
  EXPECT_TRUE(it.status().ok()) << it.status();
  EXPECT_FALSE(it.more());
  EXPECT_EQ(it.cursor(), "5");  // where a Follow would continue
  EXPECT_EQ(it.returned(), 5u);
  const std::vector<FakeQueryService::Call> calls = service_->calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].request.cursor(), "");
  EXPECT_EQ(calls[1].request.cursor(), "2");
  EXPECT_EQ(calls[2].request.cursor(), "4");
  for (const FakeQueryService::Call& call : calls) {
    EXPECT_EQ(call.request.limit(), 2);
    EXPECT_THAT(call.request.filter().verbs(), ElementsAre("get"));
  }
}

TEST_F(ClientTest, LimitStopsAcrossPagesAndTheCursorResumes) {
  Client client = MakeClient();
  SearchIterator it = client.Search({}, {.order = v1::ORDER_DESCENDING, .limit = 3,
                                         .page_size = 2});
  EXPECT_THAT(Sequences(it), ElementsAre(104, 103, 102));
  EXPECT_TRUE(it.status().ok());
  EXPECT_TRUE(it.more());
  // The second page asked only for what the limit left.
  const std::vector<FakeQueryService::Call> calls = service_->calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].request.limit(), 1);
  EXPECT_EQ(calls[1].request.order(), v1::ORDER_DESCENDING);

  SearchIterator rest =
      client.Search({}, {.order = v1::ORDER_DESCENDING, .cursor = it.cursor()});
  EXPECT_THAT(Sequences(rest), ElementsAre(101, 100));
  EXPECT_FALSE(rest.more());
}

TEST_F(ClientTest, ExactLimitIsNotMore) {
  Client client = MakeClient();
  SearchIterator it = client.Search({}, {.limit = 5});
  EXPECT_EQ(Sequences(it).size(), 5u);
  EXPECT_FALSE(it.more());
}

TEST_F(ClientTest, DeadlineAndTokenOnEveryPage) {
  Client client = MakeClient({.token = "s3cret", .timeout = absl::Seconds(5)});
  SearchIterator it = client.Search({}, {.page_size = 3});
  EXPECT_EQ(Sequences(it).size(), 5u);
  const std::vector<FakeQueryService::Call> calls = service_->calls();
  ASSERT_EQ(calls.size(), 2u);
  for (const FakeQueryService::Call& call : calls) {
    EXPECT_EQ(call.authorization, "Bearer s3cret");
    EXPECT_GT(call.deadline_in, absl::Seconds(1));
    EXPECT_LE(call.deadline_in, absl::Seconds(6));
  }
}

TEST_F(ClientTest, SearchErrors) {
  Client client = MakeClient({.timeout = absl::Milliseconds(100)});
  SearchIterator bad_size = client.Search({}, {.page_size = 0});
  EXPECT_FALSE(bad_size.Next());
  EXPECT_EQ(bad_size.status().code(), absl::StatusCode::kInvalidArgument);

  service_->FailWith(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "codes: bad \"4x\""));
  SearchIterator refused = client.Search({});
  EXPECT_FALSE(refused.Next());
  EXPECT_EQ(refused.status(), absl::InvalidArgumentError("codes: bad \"4x\""));
  EXPECT_FALSE(refused.Next());  // stays ended

  service_->FailWith(grpc::Status::OK);
  service_->Stall();
  SearchIterator stalled = client.Search({});
  EXPECT_FALSE(stalled.Next());
  EXPECT_EQ(stalled.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(ClientTest, APageWithoutItsLastChunkIsAnError) {
  service_->OmitLastChunk();
  Client client = MakeClient();
  SearchIterator it = client.Search({});
  EXPECT_EQ(Sequences(it).size(), 5u);
  EXPECT_EQ(it.status().code(), absl::StatusCode::kInternal);
}

TEST_F(ClientTest, AbandoningASearchMidPageIsClean) {
  Client client = MakeClient();
  {
    SearchIterator it = client.Search({}, {.page_size = 4});
    ASSERT_TRUE(it.Next());
    SearchIterator moved = std::move(it);
    ASSERT_TRUE(moved.Next());
    EXPECT_EQ(moved.event().sequence(), 101u);
  }  // destroyed with the page's stream open
  SearchIterator again = client.Search({});
  EXPECT_EQ(Sequences(again).size(), 5u);
}

TEST_F(ClientTest, UnaryCalls) {
  Client client = MakeClient({.token = "t"});
  absl::StatusOr<std::vector<v1::StoredEvent>> stages = client.Get("id-1");
  ASSERT_TRUE(stages.ok()) << stages.status();
  ASSERT_EQ(stages->size(), 2u);
  EXPECT_EQ((*stages)[0].sequence(), 102u);
  EXPECT_EQ(client.Get("nope").status().code(), absl::StatusCode::kNotFound);

  v1::Filter filter;
  filter.add_clusters("prod");
  absl::StatusOr<uint64_t> count = client.Count(filter);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 5u);

  v1::TopResponse top;
  v1::KeyCount* entry = top.add_entries();
  entry->set_key("alice");
  entry->set_count(3);
  service_->SetTop(top);
  absl::StatusOr<std::vector<v1::KeyCount>> entries =
      client.Top(filter, v1::DIMENSION_USER, 5);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].key(), "alice");

  v1::HistogramResponse histogram;
  histogram.add_buckets()->set_count(7);
  service_->SetHistogram(histogram);
  absl::StatusOr<v1::HistogramResponse> buckets =
      client.Histogram(filter, v1::GRANULARITY_DAY);
  ASSERT_TRUE(buckets.ok());
  EXPECT_EQ(buckets->buckets(0).count(), 7u);

  for (const FakeQueryService::Call& call : service_->calls()) {
    EXPECT_EQ(call.authorization, "Bearer t") << call.method;
    if (call.method != "Get") {
      EXPECT_THAT(call.filter.clusters(), ElementsAre("prod"));
    }
  }
  service_->FailWith(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "who are you"));
  EXPECT_EQ(client.Count({}).status(), absl::UnauthenticatedError("who are you"));
}

TEST_F(ClientTest, FollowWithACallback) {
  Client client = MakeClient();
  std::thread feeder([&] {
    absl::SleepFor(absl::Milliseconds(100));
    service_->AddFollowEvents({MakeStored(10), MakeStored(11)});
  });
  std::vector<uint64_t> seen;
  int heartbeats = 0;
  const absl::Status status = client.Follow({}, {}, [&](const v1::FollowResponse& response) {
    if (response.events().empty()) ++heartbeats;
    for (const v1::StoredEvent& event : response.events()) seen.push_back(event.sequence());
    return seen.size() < 2;
  });
  feeder.join();
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_THAT(seen, ElementsAre(110, 111));
  EXPECT_GE(heartbeats, 1);
  EXPECT_EQ(service_->calls().back().deadline_in, absl::InfiniteDuration());
}

TEST_F(ClientTest, FollowStreamResumesAndCancels) {
  service_->AddFollowEvents({MakeStored(10), MakeStored(11), MakeStored(12)});
  Client client = MakeClient();
  std::unique_ptr<FollowStream> stream = client.Follow({}, {.after_sequence = 110});
  v1::FollowResponse response;
  ASSERT_TRUE(stream->Next(&response));
  ASSERT_EQ(response.events_size(), 2);
  EXPECT_EQ(response.events(0).sequence(), 111u);
  EXPECT_EQ(stream->last_sequence(), 112u);

  absl::Notification cancelled;
  std::thread canceller([&] {
    absl::SleepFor(absl::Milliseconds(120));
    stream->Cancel();
    cancelled.Notify();
  });
  while (stream->Next(&response)) {
  }
  canceller.join();
  EXPECT_TRUE(cancelled.HasBeenNotified());
  EXPECT_EQ(stream->status().code(), absl::StatusCode::kCancelled);
}

TEST_F(ClientTest, FollowOptionsAreChecked) {
  Client client = MakeClient();
  std::unique_ptr<FollowStream> both =
      client.Follow({}, {.cursor = "5", .after_sequence = 3});
  v1::FollowResponse response;
  EXPECT_FALSE(both->Next(&response));
  EXPECT_EQ(both->status().code(), absl::StatusCode::kInvalidArgument);

  std::unique_ptr<FollowStream> timed = client.Follow({}, {.timeout = absl::Milliseconds(150)});
  while (timed->Next(&response)) {
  }
  EXPECT_EQ(timed->status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(ClientOptionsTest, Validate) {
  EXPECT_TRUE(ValidateClientOptions({}).ok());
  EXPECT_THAT(std::string(ValidateClientOptions({.plaintext = true, .ca_file = "ca.pem"})
                              .message()),
              HasSubstr("plaintext"));
  EXPECT_THAT(std::string(ValidateClientOptions({.cert_file = "c.pem"}).message()),
              HasSubstr("certificate and key"));
  EXPECT_THAT(std::string(ValidateClientOptions({.token = "two words"}).message()),
              HasSubstr("token"));
  EXPECT_THAT(std::string(ValidateClientOptions({.timeout = absl::ZeroDuration()}).message()),
              HasSubstr("timeout"));
  EXPECT_THAT(std::string(ValidateClientOptions({.server = ""}).message()), HasSubstr("server"));
}

TEST(ClientOptionsTest, ConnectReportsUnreadableTlsFiles) {
  absl::StatusOr<Client> client = Client::Connect({.ca_file = "no-such-dir/ca.pem"});
  ASSERT_FALSE(client.ok());
  EXPECT_THAT(std::string(client.status().message()), HasSubstr("no-such-dir/ca.pem"));
  EXPECT_EQ(Client::Connect({.plaintext = true, .token = "a b"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ClientOptionsTest, AnUnreachableServerFailsTheCall) {
  // Port 1 on loopback: nothing listens there.
  absl::StatusOr<Client> client = Client::Connect(
      {.server = "127.0.0.1:1", .plaintext = true, .timeout = absl::Seconds(5)});
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ(client->Count({}).status().code(), absl::StatusCode::kUnavailable);
  SearchIterator it = client->Search({});
  EXPECT_FALSE(it.Next());
  EXPECT_EQ(it.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(it.cursor(), IsEmpty());
}

}  // namespace
}  // namespace kubetrail
