// The aggregator in-process over real gRPC on 127.0.0.1 and a real RocksDB store in a temp
// dir: ingest (acks, exactly-once, rejects, protocol errors, draining), every query RPC,
// Search + Follow continuity with late events, Admin (backup, stats, retention and legal holds
// on the running store), metrics, and mTLS cluster binding.
#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/tls.h"
#include "common/zstd_frame.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "kubetrail/v1/admin.grpc.pb.h"
#include "kubetrail/v1/ingest.grpc.pb.h"
#include "kubetrail/v1/query.grpc.pb.h"
#include "services/aggregator/server.h"
#include "services/aggregator/testing/ingest_client.h"
#include "storage/rocksdb_event_store.h"
#include "tests/testing/certs.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/text.h"

namespace kubetrail::aggregator {
namespace {

namespace v1 = ::kubetrail::v1;
using ::testing::HasSubstr;
using ::testing::Not;

using testing::Ctx;
using testing::Events;
using testing::IngestClient;
constexpr int64_t kStart = testing::kEventsStartUs;

class AggregatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok()) << dir_.error();
    config_.dev = true;
    config_.listen = "127.0.0.1:0";
    config_.http_listen = "127.0.0.1:0";
    config_.data_dir = dir_.path() + "/data";
    config_.retention_interval = absl::ZeroDuration();
    config_.follow_heartbeat = absl::Milliseconds(200);
    config_.drain_timeout = absl::Seconds(10);
  }

  void Start(Clock& clock = Clock::Real()) {
    absl::StatusOr<std::unique_ptr<Aggregator>> agg = Aggregator::Start(config_, clock);
    ASSERT_TRUE(agg.ok()) << agg.status();
    agg_ = std::move(*agg);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", agg_->port()),
                                   grpc::InsecureChannelCredentials());
    query_ = v1::Query::NewStub(channel_);
  }

  // Sends `events` as one batch on a new stream, returns the ack.
  v1::Ack SendBatch(const std::string& cluster, uint64_t sequence,
                    const std::vector<v1::EnvelopedEvent>& events) {
    IngestClient client(channel_, cluster);
    EXPECT_TRUE(client.Welcome().has_value());
    EXPECT_TRUE(client.Send(sequence, events));
    std::optional<v1::Ack> ack = client.ReadAck();
    EXPECT_TRUE(ack.has_value());
    EXPECT_TRUE(client.Close().ok());
    return ack.value_or(v1::Ack());
  }

  uint64_t Count(const v1::Filter& filter = {}) {
    v1::CountRequest req;
    *req.mutable_filter() = filter;
    v1::CountResponse resp;
    grpc::Status s = query_->Count(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.count();
  }

  // The value of `sample` (name and labels as exposed) on the status port's /metrics, or -1
  // when it is not there.
  double Metric(std::string_view sample) {
    httplib::Client http("127.0.0.1", agg_->http_port());
    httplib::Result metrics = http.Get("/metrics");
    EXPECT_TRUE(metrics) << httplib::to_string(metrics.error());
    return metrics ? kubetrail::testing::SampleValue(metrics->body, sample) : -1;
  }

  // One Search page: the events and the last chunk.
  struct Page {
    std::vector<v1::StoredEvent> events;
    v1::SearchResponse last;
    int chunks = 0;
    grpc::Status status;
  };
  Page Search(const v1::SearchRequest& req) {
    Page page;
    auto ctx = Ctx();
    auto reader = query_->Search(ctx.get(), req);
    v1::SearchResponse r;
    while (reader->Read(&r)) {
      ++page.chunks;
      for (auto& e : *r.mutable_events()) page.events.push_back(std::move(e));
      page.last = r;
    }
    page.status = reader->Finish();
    return page;
  }

  // Waits (at most `timeout`) until Count(filter) is `want`; returns the last count.
  uint64_t AwaitCount(const v1::Filter& filter, uint64_t want,
                      absl::Duration timeout = absl::Seconds(60)) {
    const absl::Time deadline = absl::Now() + timeout;
    uint64_t count = Count(filter);
    while (count != want && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(50));
      count = Count(filter);
    }
    return count;
  }

  kubetrail::testing::TempDir dir_;
  Config config_;
  FakeClock clock_;  // for tests that pass it to Start(); outlives agg_
  std::unique_ptr<Aggregator> agg_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Query::Stub> query_;
};

TEST_F(AggregatorTest, StreamsFromSeveralClustersAreAckedInOrderAndStoredOnce) {
  Start();
  constexpr int kStreams = 4, kBatches = 10, kPerBatch = 50;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int s = 0; s < kStreams; ++s) {
    threads.emplace_back([&, s] {
      IngestClient client(channel_, absl::StrCat("cluster-", s % 2), absl::StrCat("src-", s));
      if (!client.Welcome()) ++failures;
      for (int b = 0; b < kBatches; ++b) {
        // Sequence numbers with gaps, as a spool's record numbers may have.
        if (!client.Send(10 + 3 * b, Events(kPerBatch, 1000 * s + b))) ++failures;
      }
      for (int b = 0; b < kBatches; ++b) {
        std::optional<v1::Ack> ack = client.ReadAck();
        if (!ack || ack->sequence() != static_cast<uint64_t>(10 + 3 * b) ||
            ack->committed_sequence() != ack->sequence() || ack->stored() != kPerBatch) {
          ++failures;
        }
      }
      if (!client.Close().ok()) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Count(), uint64_t{kStreams * kBatches * kPerBatch});
  v1::Filter one;
  one.add_clusters("cluster-1");
  EXPECT_EQ(Count(one), uint64_t{kStreams / 2 * kBatches * kPerBatch});
}

TEST_F(AggregatorTest, ResentBatchesAreDuplicatesNotStoredTwice) {
  Start();
  const auto events = Events(40, 7);
  v1::Ack first = SendBatch("c1", 1, events);
  EXPECT_EQ(first.stored(), 40u);
  // A reconnecting collector resends the batch (same sequence, new stream).
  v1::Ack again = SendBatch("c1", 1, events);
  EXPECT_EQ(again.stored(), 0u);
  EXPECT_EQ(again.duplicates(), 40u);
  EXPECT_EQ(Count(), 40u);
  // The same events from another source are other events.
  IngestClient other(channel_, "c1", "src-2");
  ASSERT_TRUE(other.Welcome());
  ASSERT_TRUE(other.Send(1, events));
  EXPECT_EQ(other.ReadAck()->stored(), 40u);
  EXPECT_TRUE(other.Close().ok());
}

TEST_F(AggregatorTest, BadEventsAreRejectedOneByOneAndTheirNeighboursStored) {
  config_.max_event_bytes = 20'000;
  Start();
  auto events = Events(6, 3);
  events[1].mutable_event()->clear_audit_id();
  events[3].mutable_envelope()->set_cluster("other");
  events[4].mutable_event()->set_request_object(
      absl::StrCat("{\"x\":\"", std::string(30'000, 'a'), "\"}"));
  v1::Ack ack = SendBatch("c1", 5, events);
  EXPECT_EQ(ack.stored(), 3u);
  ASSERT_EQ(ack.rejected_size(), 3);
  EXPECT_EQ(ack.rejected(0).index(), 1u);
  EXPECT_THAT(ack.rejected(0).reason(), HasSubstr("auditID is empty"));
  EXPECT_EQ(ack.rejected(1).index(), 3u);
  EXPECT_THAT(ack.rejected(1).reason(), HasSubstr("envelope cluster \"other\""));
  EXPECT_EQ(ack.rejected(2).index(), 4u);
  EXPECT_EQ(ack.rejected(2).audit_id(), events[4].event().audit_id());
  EXPECT_THAT(ack.rejected(2).reason(), HasSubstr("over the limit of 20000"));
  EXPECT_EQ(Count(), 3u);
}

// Found by fuzz/ingest_fuzz.cc: the store's arithmetic overflowed on times near the ends of
// int64 and merged the minutes after 6053; such an event is rejected alone, as the other bad
// events are.
TEST_F(AggregatorTest, EventTimesTheStoreDoesNotKeepAreRejected) {
  Start();
  auto events = Events(4, 9);
  events[1].mutable_event()->set_request_received_timestamp_us(INT64_MAX);
  events[2].mutable_event()->clear_request_received_timestamp_us();
  events[2].mutable_event()->clear_stage_timestamp_us();
  events[2].mutable_envelope()->set_receive_time_us(INT64_MIN);
  v1::Ack ack = SendBatch("c1", 1, events);
  EXPECT_EQ(ack.stored(), 2u);
  ASSERT_EQ(ack.rejected_size(), 2);
  EXPECT_EQ(ack.rejected(0).index(), 1u);
  EXPECT_THAT(ack.rejected(0).reason(), HasSubstr("outside the times a store keeps"));
  EXPECT_EQ(ack.rejected(1).index(), 2u);
  EXPECT_THAT(ack.rejected(1).reason(), HasSubstr("outside the times a store keeps"));
  EXPECT_EQ(Count(), 2u);
}

// Raw JSON values are copied into every JSON answer as they are: a client other than the
// collector could otherwise store one that breaks them.
TEST_F(AggregatorTest, RawJsonThatIsNotCompactJsonIsRejected) {
  Start();
  auto events = Events(5, 11);
  events[0].mutable_event()->set_request_object("{\"a\":");
  events[2].mutable_event()->mutable_response_status()->set_details("{\"a\": 1}");
  v1::RawField* extra = events[3].mutable_event()->mutable_user()->add_unknown_fields();
  extra->set_key("x-extra");
  extra->set_value("\xff");
  // Valid and compact: stored.
  events[4].mutable_event()->set_response_object("{\"a\":[1,\"\\u003c\"]}");
  v1::Ack ack = SendBatch("c1", 1, events);
  EXPECT_EQ(ack.stored(), 2u);
  ASSERT_EQ(ack.rejected_size(), 3);
  EXPECT_EQ(ack.rejected(0).index(), 0u);
  EXPECT_EQ(ack.rejected(0).reason(), "requestObject: byte 5: unexpected end of input");
  EXPECT_EQ(ack.rejected(1).index(), 2u);
  EXPECT_EQ(ack.rejected(1).reason(),
            "responseStatus.details: byte 5: whitespace outside strings (not compact)");
  EXPECT_EQ(ack.rejected(2).index(), 3u);
  EXPECT_EQ(ack.rejected(2).reason(), "user.x-extra: byte 0: invalid UTF-8");
  EXPECT_EQ(Count(), 2u);
}

TEST_F(AggregatorTest, ProtocolViolationsEndTheStreamWithInvalidArgument) {
  config_.max_batch_events = 5;
  Start();
  {
    // A batch before the hello.
    auto stub = v1::Ingest::NewStub(channel_);
    auto ctx = Ctx();
    auto stream = stub->Stream(ctx.get());
    v1::IngestRequest req;
    req.mutable_batch()->set_sequence(1);
    stream->Write(req);
    v1::IngestResponse r;
    EXPECT_FALSE(stream->Read(&r));
    grpc::Status s = stream->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("must be a hello"));
  }
  {
    IngestClient bad_name(channel_, "bad cluster!");
    grpc::Status s = bad_name.Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("hello.cluster"));
  }
  {
    IngestClient client(channel_, "c1");
    ASSERT_TRUE(client.Welcome());
    ASSERT_TRUE(client.Send(7, Events(2, 1)));
    ASSERT_TRUE(client.ReadAck());
    client.Send(7, Events(2, 2));  // not increasing
    grpc::Status s = client.Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("not greater than the previous 7"));
  }
  {
    IngestClient client(channel_, "c1");
    std::optional<v1::Welcome> welcome = client.Welcome();
    ASSERT_TRUE(welcome);
    EXPECT_EQ(welcome->max_batch_events(), 5u);
    client.Send(1, Events(6, 3));
    grpc::Status s = client.Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("over this aggregator's limit of 5"));
  }
  EXPECT_EQ(Count(), 2u);
}

// Batch.zstd_events: the events of a batch compressed as one zstd frame.
v1::Batch ZstdBatch(uint64_t sequence, const std::vector<v1::EnvelopedEvent>& events) {
  v1::Batch inner;
  for (const auto& e : events) *inner.add_events() = e;
  v1::Batch batch;
  batch.set_sequence(sequence);
  EXPECT_TRUE(ZstdCompress(inner.SerializeAsString(), 1, batch.mutable_zstd_events()).ok());
  return batch;
}

TEST_F(AggregatorTest, ZstdBatchesAreStoredAsTheEventsTheyHold) {
  Start();
  IngestClient client(channel_, "c1");
  std::optional<v1::Welcome> welcome = client.Welcome();
  ASSERT_TRUE(welcome);
  EXPECT_TRUE(welcome->accepts_zstd_events());
  ASSERT_TRUE(client.Send(ZstdBatch(1, Events(20, 1))));
  std::optional<v1::Ack> ack = client.ReadAck();
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->stored(), 20u);
  // The same events uncompressed are duplicates: the store saw the same events.
  ASSERT_TRUE(client.Send(2, Events(20, 1)));
  ack = client.ReadAck();
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->duplicates(), 20u);
  EXPECT_TRUE(client.Close().ok());
  EXPECT_EQ(Count(), 20u);
}

TEST_F(AggregatorTest, BadZstdBatchesEndTheStreamWithInvalidArgument) {
  config_.max_message_bytes = 64 << 10;
  config_.max_event_bytes = 32 << 10;
  Start();
  auto expect_refused = [&](const v1::Batch& batch, const std::string& why) {
    IngestClient client(channel_, "c1");
    ASSERT_TRUE(client.Welcome());
    client.Send(batch);
    grpc::Status s = client.Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << why;
    EXPECT_THAT(s.error_message(), HasSubstr(why));
  };
  v1::Batch both = ZstdBatch(1, Events(2, 1));
  *both.add_events() = Events(1, 2)[0];
  expect_refused(both, "both events and zstd_events");

  v1::Batch garbage;
  garbage.set_sequence(1);
  garbage.set_zstd_events("not a zstd frame");
  expect_refused(garbage, "zstd_events: not a whole zstd frame");

  // 64 KiB of events compress to far less, but decompress over max_message_bytes.
  std::vector<v1::EnvelopedEvent> big = Events(1, 3);
  big[0].mutable_event()->mutable_annotations()->insert({"pad", std::string(100 << 10, 'a')});
  expect_refused(ZstdBatch(1, big), "over the limit of 65536");

  v1::Batch not_events;
  not_events.set_sequence(1);
  ASSERT_TRUE(ZstdCompress(std::string("\xff\xff\xff"), 1, not_events.mutable_zstd_events()).ok());
  expect_refused(not_events, "does not hold a Batch of events only");
  EXPECT_EQ(Count(), 0u);
}

TEST_F(AggregatorTest, SearchPagesInChunksWithCursorsInBothOrders) {
  Start();
  const auto events = Events(600, 11);
  for (int b = 0; b < 6; ++b) {
    SendBatch("c1", b + 1, {events.begin() + 100 * b, events.begin() + 100 * (b + 1)});
  }
  v1::SearchRequest req;
  req.set_limit(250);
  std::vector<v1::StoredEvent> all;
  int pages = 0;
  for (;;) {
    Page page = Search(req);
    ASSERT_TRUE(page.status.ok()) << page.status.error_message();
    ++pages;
    EXPECT_TRUE(page.last.last());
    EXPECT_FALSE(page.last.cursor().empty());
    EXPECT_EQ(page.chunks, (page.events.size() + 255) / 256 + (page.events.empty() ? 1 : 0));
    all.insert(all.end(), page.events.begin(), page.events.end());
    if (!page.last.more()) break;
    req.set_cursor(page.last.cursor());
  }
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(all.size(), 600u);
  std::set<std::string> ids;
  for (size_t i = 0; i < all.size(); ++i) {
    ids.insert(all[i].event().event().audit_id() + all[i].event().event().stage());
    if (i > 0) {
      EXPECT_LE(all[i - 1].time_us(), all[i].time_us());
    }
    EXPECT_EQ(all[i].event().envelope().cluster(), "c1");
    EXPECT_EQ(all[i].event().envelope().source(), "src");
    EXPECT_GT(all[i].event().envelope().receive_time_us(), 0);
  }
  EXPECT_EQ(ids.size(), 600u);

  v1::SearchRequest desc;
  desc.set_order(v1::ORDER_DESCENDING);
  desc.set_limit(10);
  Page newest = Search(desc);
  ASSERT_EQ(newest.events.size(), 10u);
  EXPECT_EQ(newest.events[0].time_us(), all.back().time_us());
  EXPECT_TRUE(newest.last.more());

  v1::SearchRequest too_many;
  too_many.set_limit(100'001);
  EXPECT_EQ(Search(too_many).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::SearchRequest bad_filter;
  bad_filter.mutable_filter()->add_codes("4x");
  Page bad = Search(bad_filter);
  EXPECT_EQ(bad.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad.status.error_message(), HasSubstr("4x"));
}

// A filter one index answers goes out as the stored bytes (never parsed on the server); one
// that needs the event checked goes out parsed. Both must reach the client as the events
// that were sent, in order, across chunks and pages.
TEST_F(AggregatorTest, SearchResultsAreTheSentEventsWhetherSplicedOrParsed) {
  Start();
  const auto events = Events(600, 12);
  for (int b = 0; b < 6; ++b) {
    SendBatch("c1", b + 1, {events.begin() + 100 * b, events.begin() + 100 * (b + 1)});
  }
  const std::string user = events[10].event().user().username();
  const std::string name = events[10].event().object_ref().name();
  auto sent = [&](bool with_name) {
    std::vector<const v1::EnvelopedEvent*> out;
    for (const v1::EnvelopedEvent& e : events) {
      if (e.event().user().username() != user) continue;
      if (with_name && e.event().object_ref().name() != name) continue;
      out.push_back(&e);
    }
    std::stable_sort(out.begin(), out.end(), [](const auto* a, const auto* b) {
      return storage::EventTimeMicros(*a) < storage::EventTimeMicros(*b);
    });
    return out;
  };
  for (bool with_name : {false, true}) {
    SCOPED_TRACE(with_name ? "user and name (parsed)" : "user only (spliced)");
    v1::SearchRequest req;
    req.mutable_filter()->add_users(user);
    if (with_name) req.mutable_filter()->add_names(name);
    req.set_limit(7);
    std::vector<v1::StoredEvent> got;
    for (int pages = 0; pages < 1000; ++pages) {
      Page page = Search(req);
      ASSERT_TRUE(page.status.ok()) << page.status.error_message();
      got.insert(got.end(), page.events.begin(), page.events.end());
      if (!page.last.more()) break;
      req.set_cursor(page.last.cursor());
    }
    const auto want = sent(with_name);
    ASSERT_GT(want.size(), with_name ? 0u : 7u);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got[i].event().event(),
                                                                     want[i]->event()))
          << "position " << i << ": " << got[i].event().ShortDebugString();
      EXPECT_EQ(got[i].event().envelope().source(), "src");
      EXPECT_GT(got[i].event().envelope().receive_time_us(), 0);
      EXPECT_EQ(got[i].time_us(), storage::EventTimeMicros(*want[i]));
      EXPECT_GT(got[i].sequence(), 0u);
      EXPECT_EQ(got[i].event().envelope().cluster(), "c1");
    }
  }
}

TEST_F(AggregatorTest, GetCountTopAndHistogram) {
  Start();
  const auto events = Events(300, 21);
  SendBatch("c1", 1, events);
  const std::string id = events[17].event().audit_id();

  v1::GetRequest get;
  get.set_audit_id(id);
  v1::GetResponse got;
  ASSERT_TRUE(query_->Get(Ctx().get(), get, &got).ok());
  ASSERT_GE(got.events_size(), 1);
  for (const auto& e : got.events()) EXPECT_EQ(e.event().event().audit_id(), id);
  get.set_audit_id("no-such-id");
  EXPECT_EQ(query_->Get(Ctx().get(), get, &got).error_code(), grpc::StatusCode::NOT_FOUND);

  v1::TopRequest top;
  top.set_dimension(v1::DIMENSION_USER);
  top.set_limit(3);
  v1::TopResponse top_resp;
  ASSERT_TRUE(query_->Top(Ctx().get(), top, &top_resp).ok());
  ASSERT_EQ(top_resp.entries_size(), 3);
  EXPECT_GE(top_resp.entries(0).count(), top_resp.entries(1).count());
  v1::Filter by_top_user;
  by_top_user.add_users(top_resp.entries(0).key());
  EXPECT_EQ(Count(by_top_user), top_resp.entries(0).count());
  top.set_dimension(v1::DIMENSION_UNSPECIFIED);
  EXPECT_EQ(query_->Top(Ctx().get(), top, &top_resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::HistogramRequest hist;
  hist.mutable_filter()->set_from_us(kStart - 86'400'000'000);
  hist.mutable_filter()->set_to_us(kStart + 30LL * 86'400'000'000);
  hist.set_granularity(v1::GRANULARITY_HOUR);
  v1::HistogramResponse hist_resp;
  ASSERT_TRUE(query_->Histogram(Ctx().get(), hist, &hist_resp).ok());
  uint64_t total = 0;
  for (const auto& b : hist_resp.buckets()) total += b.count();
  EXPECT_EQ(total, 300u);
  hist.mutable_filter()->clear_to_us();
  EXPECT_EQ(query_->Histogram(Ctx().get(), hist, &hist_resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// A Get or Histogram answer over limits.max_message_bytes is RESOURCE_EXHAUSTED saying what
// it holds and how to narrow it (rather than a message the client refuses without saying
// why); a narrower question is answered.
TEST_F(AggregatorTest, AnswersOverTheMessageLimitSayHowToNarrowThem) {
  Start();
  const auto events = Events(300, 23);
  SendBatch("c1", 1, events);
  ASSERT_TRUE(agg_->Shutdown().ok());
  agg_.reset();
  config_.max_message_bytes = 256;  // smaller than one event
  config_.max_event_bytes = 256;
  Start();

  v1::GetRequest get;
  get.set_audit_id(events[5].event().audit_id());
  v1::GetResponse got;
  grpc::Status s = query_->Get(Ctx().get(), get, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("over the 256-byte limit of one message"));
  EXPECT_THAT(s.error_message(), HasSubstr("page through them with Search and filter.audit_ids"));

  v1::HistogramRequest hist;
  hist.mutable_filter()->set_from_us(kStart - 86'400'000'000);
  hist.mutable_filter()->set_to_us(kStart + 30LL * 86'400'000'000);
  hist.set_granularity(v1::GRANULARITY_MINUTE);
  hist.set_by(v1::DIMENSION_USER);
  v1::HistogramResponse hist_resp;
  s = query_->Histogram(Ctx().get(), hist, &hist_resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("choose a coarser granularity or no `by`"));
  hist.set_granularity(v1::GRANULARITY_DAY);
  hist.clear_by();
  s = query_->Histogram(Ctx().get(), hist, &hist_resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  uint64_t total = 0;
  for (const auto& b : hist_resp.buckets()) total += b.count();
  EXPECT_EQ(total, 300u);
}

TEST_F(AggregatorTest, FollowFromASearchCursorMissesNothingAndRepeatsNothing) {
  Start();
  SendBatch("c1", 1, Events(100, 31));
  v1::SearchRequest search;
  search.set_limit(1000);
  Page page = Search(search);
  ASSERT_EQ(page.events.size(), 100u);

  // Events stored after the search: new ones, and late ones with old times (an outage's
  // spool) from another cluster.
  SendBatch("c1", 2, Events(50, 32, kStart + 3'600'000'000));
  SendBatch("c2", 1, Events(10, 33, kStart - 86'400'000'000));

  v1::FollowRequest follow;
  follow.set_cursor(page.last.cursor());
  auto ctx = Ctx(absl::Seconds(30));
  auto reader = query_->Follow(ctx.get(), follow);
  std::set<uint64_t> seen;
  v1::FollowResponse r;
  uint64_t last_sequence = 0;
  int heartbeats = 0;
  while (seen.size() < 60 && reader->Read(&r)) {
    if (r.events().empty()) ++heartbeats;
    for (const auto& e : r.events()) EXPECT_TRUE(seen.insert(e.sequence()).second);
    last_sequence = r.last_sequence();
  }
  EXPECT_EQ(seen.size(), 60u);
  for (const auto& e : page.events) EXPECT_FALSE(seen.contains(e.sequence()));
  // Events stored while following arrive too, and only those matching the filter.
  SendBatch("c3", 1, Events(5, 34));
  while (reader->Read(&r)) {
    for (const auto& e : r.events()) EXPECT_TRUE(seen.insert(e.sequence()).second);
    last_sequence = r.last_sequence();
    if (seen.size() == 65u) break;
  }
  EXPECT_EQ(seen.size(), 65u);
  // Quiet: heartbeats carry the resume point.
  ASSERT_TRUE(reader->Read(&r));
  EXPECT_TRUE(r.events().empty());
  EXPECT_EQ(r.last_sequence(), 165u);
  ctx->TryCancel();
  reader->Finish();

  // Resuming with after_sequence and a filter.
  v1::FollowRequest resume;
  resume.set_after_sequence(100);
  resume.mutable_filter()->add_clusters("c2");
  auto ctx2 = Ctx(absl::Seconds(30));
  auto reader2 = query_->Follow(ctx2.get(), resume);
  std::vector<v1::StoredEvent> c2;
  while (c2.size() < 10 && reader2->Read(&r)) {
    for (const auto& e : r.events()) c2.push_back(e);
  }
  ASSERT_EQ(c2.size(), 10u);
  for (const auto& e : c2) EXPECT_EQ(e.event().envelope().cluster(), "c2");
  ctx2->TryCancel();
  reader2->Finish();
  (void)last_sequence;
  (void)heartbeats;

  v1::FollowRequest both;
  both.set_cursor(page.last.cursor());
  both.set_after_sequence(3);
  auto ctx3 = Ctx();
  auto reader3 = query_->Follow(ctx3.get(), both);
  EXPECT_FALSE(reader3->Read(&r));
  EXPECT_EQ(reader3->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AggregatorTest, ShutdownDrainsStreamsAndKeepsEveryAckedEvent) {
  Start();
  IngestClient client(channel_, "c1");
  ASSERT_TRUE(client.Welcome());
  for (int b = 1; b <= 5; ++b) ASSERT_TRUE(client.Send(b, Events(20, 40 + b)));
  int acked = 0;
  for (int b = 1; b <= 5; ++b) acked += client.ReadAck().has_value();
  EXPECT_EQ(acked, 5);
  // A follower is ended too.
  v1::FollowRequest follow;
  auto fctx = Ctx();
  auto follower = query_->Follow(fctx.get(), follow);
  v1::FollowResponse r;
  ASSERT_TRUE(follower->Read(&r));  // the first heartbeat: the follow is established

  std::thread stopper([&] { EXPECT_TRUE(agg_->Shutdown().ok()); });
  grpc::Status s = client.Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  while (follower->Read(&r)) {
  }
  EXPECT_EQ(follower->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  stopper.join();
  agg_.reset();

  storage::RocksDbOptions options;
  options.path = config_.StorePath();
  auto store = storage::RocksDbEventStore::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->Count({}).value_or(0), 100u);
}

// A full disk (the store's space limit): the failing batch is not acked, the stream ends
// UNAVAILABLE, health says NOT_SERVING, every acked event is kept; once space returns
// (SIGHUP raising the limit) the resent batch is stored and health is SERVING again.
TEST_F(AggregatorTest, FullDiskStopsAcksKeepsAckedEventsAndResumes) {
  config_.max_disk_bytes = 3 << 20;
  config_.write_buffer_bytes = 1 << 20;
  config_.block_cache_bytes = 8 << 20;
  Start();
  auto health = grpc::health::v1::Health::NewStub(channel_);
  auto serving = [&] {
    grpc::health::v1::HealthCheckRequest req;
    grpc::health::v1::HealthCheckResponse resp;
    EXPECT_TRUE(health->Check(Ctx().get(), req, &resp).ok());
    return resp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  };
  uint64_t acked = 0;
  uint64_t sequence = 0;
  std::vector<v1::EnvelopedEvent> failed;
  grpc::Status end;
  {
    IngestClient client(channel_, "c1");
    ASSERT_TRUE(client.Welcome());
    while (sequence < 500) {
      auto batch = Events(200, 100 + sequence);
      ++sequence;
      if (!client.Send(sequence, batch)) {
        failed = batch;
        break;
      }
      std::optional<v1::Ack> ack = client.ReadAck();
      if (!ack) {
        failed = batch;
        break;
      }
      acked += ack->stored();
    }
    end = client.Finish();
  }
  ASSERT_FALSE(failed.empty()) << "the space limit was never reached";
  EXPECT_EQ(end.error_code(), grpc::StatusCode::UNAVAILABLE) << end.error_message();
  EXPECT_THAT(end.error_message(), HasSubstr("resend it later"));
  EXPECT_FALSE(serving());
  EXPECT_EQ(Count(), acked);
  EXPECT_EQ(Metric("kubetrail_store_writable"), 0);
  EXPECT_GE(Metric(R"(kubetrail_ingest_write_failures_total{cluster="c1"})"), 1);

  Config more = config_;
  more.max_disk_bytes = 0;
  ASSERT_TRUE(agg_->Reload(more).ok());
  // RocksDB recovers in the background; the collector's resends succeed once it has.
  bool stored = false;
  for (int attempt = 0; attempt < 500 && !stored; ++attempt) {
    IngestClient client(channel_, "c1");
    if (client.Welcome() && client.Send(sequence, failed)) {
      std::optional<v1::Ack> ack = client.ReadAck();
      if (ack) {
        acked += ack->stored();
        stored = true;
      }
    }
    client.Close();
    if (!stored) absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_TRUE(stored);
  EXPECT_TRUE(serving());
  EXPECT_EQ(Count(), acked);
  EXPECT_EQ(Metric("kubetrail_store_writable"), 1);
}

TEST_F(AggregatorTest, AdminBackupAndStats) {
  Start();
  SendBatch("c1", 1, Events(70, 51));
  auto admin = v1::Admin::NewStub(channel_);
  v1::BackupRequest req;
  req.set_name("nightly-1");
  v1::BackupResponse resp;
  grpc::Status s = admin->Backup(Ctx().get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.last_sequence(), 70u);
  EXPECT_GT(resp.bytes(), 0u);
  EXPECT_EQ(admin->Backup(Ctx().get(), req, &resp).error_code(), grpc::StatusCode::ALREADY_EXISTS);
  req.set_name("../escape");
  EXPECT_EQ(admin->Backup(Ctx().get(), req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  {
    storage::RocksDbOptions options;
    options.path = config_.backup_dir.empty() ? config_.data_dir + "/backups/nightly-1"
                                              : config_.backup_dir + "/nightly-1";
    auto backup = storage::RocksDbEventStore::Open(options);
    ASSERT_TRUE(backup.ok()) << backup.status();
    EXPECT_EQ((*backup)->Count({}).value_or(0), 70u);
  }
  v1::StatsResponse stats;
  ASSERT_TRUE(admin->Stats(Ctx().get(), {}, &stats).ok());
  EXPECT_EQ(stats.events(), 70u);
  EXPECT_EQ(stats.last_sequence(), 70u);
  ASSERT_EQ(stats.events_per_cluster_size(), 1);
  EXPECT_EQ(stats.events_per_cluster(0).key(), "c1");
}

v1::Filter ClusterFilter(const std::string& cluster) {
  v1::Filter filter;
  filter.add_clusters(cluster);
  return filter;
}

std::vector<std::pair<std::string, int64_t>> Settings(
    const google::protobuf::RepeatedPtrField<v1::RetentionSetting>& settings) {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const v1::RetentionSetting& s : settings) out.emplace_back(s.cluster(), s.keep_us());
  return out;
}

// Holds and retention changed over gRPC while the aggregator runs; the aggregator's own
// retention runs (its clock is 40 days past the events) apply them.
TEST_F(AggregatorTest, AdminHoldsAndRetentionOnTheRunningStore) {
  constexpr int64_t kDay = 86'400'000'000;
  clock_.Set(absl::FromUnixMicros(kStart + 40 * kDay));
  // The first run comes about 10 s after start, then one every 100 ms.
  config_.retention_interval = absl::Milliseconds(100);
  Start(clock_);
  const uint64_t held = SendBatch("c1", 1, Events(20, 81, kStart)).stored();
  const uint64_t unheld = SendBatch("c1", 2, Events(20, 82, kStart + kDay)).stored();
  const uint64_t other = SendBatch("c2", 1, Events(10, 83, kStart)).stored();
  ASSERT_GT(held, 0u);
  ASSERT_GT(unheld, 0u);
  ASSERT_EQ(Count(ClusterFilter("c1")), held + unheld);
  auto admin = v1::Admin::NewStub(channel_);

  // A hold on c1's first day only.
  v1::PlaceHoldRequest hold;
  hold.set_cluster("c1");
  hold.set_from_us(kStart);
  hold.set_to_us(kStart + kDay);
  hold.set_reason("case 4711");
  v1::PlaceHoldResponse placed;
  grpc::Status s = admin->PlaceHold(Ctx().get(), hold, &placed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(placed.hold().id(), "hold-1");
  EXPECT_EQ(placed.hold().cluster(), "c1");
  EXPECT_EQ(placed.hold().from_us(), kStart);
  EXPECT_EQ(placed.hold().to_us(), kStart + kDay);
  EXPECT_EQ(placed.hold().reason(), "case 4711");
  // Stamped by the aggregator's clock.
  EXPECT_EQ(placed.hold().created_us(), clock_.NowMicros());
  v1::ListHoldsResponse holds;
  ASSERT_TRUE(admin->ListHolds(Ctx().get(), {}, &holds).ok());
  ASSERT_EQ(holds.holds_size(), 1);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(holds.holds(0), placed.hold()));

  // 30 days for every cluster but c2, which keeps 400 days.
  v1::SetRetentionRequest retention;
  retention.set_cluster("*");
  retention.set_keep_us(30 * kDay);
  v1::SetRetentionResponse settings;
  s = admin->SetRetention(Ctx().get(), retention, &settings);
  ASSERT_TRUE(s.ok()) << s.error_message();
  retention.set_cluster("c2");
  retention.set_keep_us(400 * kDay);
  ASSERT_TRUE(admin->SetRetention(Ctx().get(), retention, &settings).ok());
  using Setting = std::pair<std::string, int64_t>;
  EXPECT_THAT(Settings(settings.settings()),
              ::testing::ElementsAre(Setting{"*", 30 * kDay}, Setting{"c2", 400 * kDay}));
  v1::ListRetentionResponse listed;
  ASSERT_TRUE(admin->ListRetention(Ctx().get(), {}, &listed).ok());
  EXPECT_EQ(Settings(listed.settings()), Settings(settings.settings()));

  // Retention runs: c1's second day expires, the held first day stays, c2 is within 400 days.
  EXPECT_EQ(AwaitCount(ClusterFilter("c1"), held), held);
  v1::Filter held_range = ClusterFilter("c1");
  held_range.set_from_us(kStart);
  held_range.set_to_us(kStart + kDay);
  EXPECT_EQ(Count(held_range), held);
  EXPECT_EQ(Count(ClusterFilter("c2")), other);

  // Released, the hold's events expire at the next run.
  v1::ReleaseHoldRequest release;
  release.set_id("hold-1");
  v1::ReleaseHoldResponse released;
  s = admin->ReleaseHold(Ctx().get(), release, &released);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(admin->ListHolds(Ctx().get(), {}, &holds).ok());
  EXPECT_EQ(holds.holds_size(), 0);
  s = admin->ReleaseHold(Ctx().get(), release, &released);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr("hold-1"));
  EXPECT_EQ(AwaitCount(ClusterFilter("c1"), 0), 0u);
  EXPECT_EQ(Count(ClusterFilter("c2")), other);

  // Cleared (keep 0), the settings go; clearing one that is not set is fine.
  retention.set_cluster("*");
  retention.set_keep_us(0);
  ASSERT_TRUE(admin->SetRetention(Ctx().get(), retention, &settings).ok());
  EXPECT_THAT(Settings(settings.settings()), ::testing::ElementsAre(Setting{"c2", 400 * kDay}));
  retention.set_cluster("c2");
  ASSERT_TRUE(admin->SetRetention(Ctx().get(), retention, &settings).ok());
  ASSERT_TRUE(admin->SetRetention(Ctx().get(), retention, &settings).ok());
  EXPECT_EQ(settings.settings_size(), 0);
  // The next hold gets the next number.
  ASSERT_TRUE(admin->PlaceHold(Ctx().get(), hold, &placed).ok());
  EXPECT_EQ(placed.hold().id(), "hold-2");
}

TEST_F(AggregatorTest, AdminHoldAndRetentionInputIsChecked) {
  Start();
  auto admin = v1::Admin::NewStub(channel_);
  auto expect_invalid = [](const grpc::Status& s, const std::string& problem) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr(problem));
  };
  v1::SetRetentionRequest retention;
  v1::SetRetentionResponse settings;
  retention.set_keep_us(86'400'000'000);
  expect_invalid(admin->SetRetention(Ctx().get(), retention, &settings), "empty cluster");
  retention.set_cluster("c1");
  retention.set_keep_us(-1);
  expect_invalid(admin->SetRetention(Ctx().get(), retention, &settings), "negative duration");

  v1::PlaceHoldRequest hold;
  v1::PlaceHoldResponse placed;
  hold.set_from_us(kStart);
  hold.set_to_us(kStart + 1);
  expect_invalid(admin->PlaceHold(Ctx().get(), hold, &placed), "empty cluster");
  hold.set_cluster("c1");
  hold.set_to_us(kStart);
  expect_invalid(admin->PlaceHold(Ctx().get(), hold, &placed), "empty range");
  hold.set_to_us(kStart - 1);
  expect_invalid(admin->PlaceHold(Ctx().get(), hold, &placed), "empty range");
  hold.set_cluster("*");  // retention's default, but no wildcard for a hold
  hold.set_to_us(kStart + 1);
  expect_invalid(admin->PlaceHold(Ctx().get(), hold, &placed), "is no wildcard");

  v1::ReleaseHoldRequest release;
  v1::ReleaseHoldResponse released;
  expect_invalid(admin->ReleaseHold(Ctx().get(), release, &released), "empty id");
  release.set_id("hold-7");
  grpc::Status s = admin->ReleaseHold(Ctx().get(), release, &released);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr("no legal hold \"hold-7\""));

  // Nothing was recorded.
  v1::ListHoldsResponse holds;
  ASSERT_TRUE(admin->ListHolds(Ctx().get(), {}, &holds).ok());
  EXPECT_EQ(holds.holds_size(), 0);
  v1::ListRetentionResponse listed;
  ASSERT_TRUE(admin->ListRetention(Ctx().get(), {}, &listed).ok());
  EXPECT_EQ(listed.settings_size(), 0);
}

// What a caller wrote goes into the admin log quoted and escaped: a newline in a hold's
// reason cannot forge a log line.
TEST_F(AggregatorTest, AdminLogEscapesWhatTheCallerWrote) {
  Start();
  auto admin = v1::Admin::NewStub(channel_);
  v1::PlaceHoldRequest hold;
  hold.set_cluster("c1");
  hold.set_from_us(kStart);
  hold.set_to_us(kStart + 1);
  hold.set_reason("case 4711\n2026-11-27T07:22:39.123456Z I admin: forged \"line\"");
  v1::PlaceHoldResponse placed;
  ::testing::internal::CaptureStderr();
  const grpc::Status s = admin->PlaceHold(Ctx().get(), hold, &placed);
  const std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_THAT(
      log, HasSubstr(R"(reason "case 4711\n2026-11-27T07:22:39.123456Z I admin: forged \"line\"")"))
      << log;
  EXPECT_THAT(log, Not(HasSubstr("\n2026-11-27T07:22:39.123456Z I admin: forged"))) << log;
}

TEST_F(AggregatorTest, HealthServingUntilShutdown) {
  Start();
  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  ASSERT_TRUE(health->Check(Ctx().get(), req, &resp).ok());
  EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  req.set_service("kubetrail.v1.Ingest");
  ASSERT_TRUE(health->Check(Ctx().get(), req, &resp).ok());
  EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  // Watch sees the switch to NOT_SERVING when draining starts.
  grpc::health::v1::HealthCheckRequest all;
  auto ctx = Ctx();
  auto watch = health->Watch(ctx.get(), all);
  ASSERT_TRUE(watch->Read(&resp));
  EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  std::thread stopper([&] { EXPECT_TRUE(agg_->Shutdown().ok()); });
  bool saw_not_serving = false;
  while (watch->Read(&resp)) {
    if (resp.status() == grpc::health::v1::HealthCheckResponse::NOT_SERVING) {
      saw_not_serving = true;
      break;
    }
  }
  EXPECT_TRUE(saw_not_serving);
  ctx->TryCancel();
  watch->Finish();
  stopper.join();
}

// mTLS: the collector's certificate decides which clusters it may write; query clients need
// an allowed certificate or a token; admins are separate.
class AggregatorTlsTest : public AggregatorTest {
 protected:
  void SetUp() override {
    AggregatorTest::SetUp();
    auto ca = kubetrail::testing::TestCa::Create("kubetrail test CA", dir_.path());
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = std::make_unique<kubetrail::testing::TestCa>(std::move(*ca));
    auto server = ca_->IssueServer("server");
    ASSERT_TRUE(server.ok()) << server.status();
    config_.dev = false;
    config_.tls_cert_file = server->cert_file;
    config_.tls_key_file = server->key_file;
    config_.tls_client_ca_file = ca_->cert_file();
    config_.auth.collectors = {{.identity = "collector-a", .clusters = {"prod-a"}},
                               {.identity = "spiffe://kt/collector/b", .clusters = {"prod-b"}}};
    config_.auth.query_identities = {"auditor"};
    config_.auth.admin_identities = {"ops"};
    config_.auth.tokens = {{.name = "grafana", .sha256 = Sha256Hex("s3cret"), .admin = false}};
  }

  std::shared_ptr<grpc::Channel> Channel(const std::string& client_cn,
                                         std::vector<std::string> uri_sans = {}) {
    ClientTlsConfig tls;
    tls.ca_file = ca_->cert_file();
    if (!client_cn.empty()) {
      auto cert = ca_->IssueClient(absl::StrCat("client-", client_cn.size(), "-", ++n_),
                                   {.common_name = client_cn, .uri_sans = uri_sans});
      EXPECT_TRUE(cert.ok()) << cert.status();
      tls.cert_file = cert->cert_file;
      tls.key_file = cert->key_file;
    }
    auto channel = CreateTlsChannel(absl::StrCat("127.0.0.1:", agg_->port()), tls);
    EXPECT_TRUE(channel.ok()) << channel.status();
    return *channel;
  }

  std::unique_ptr<kubetrail::testing::TestCa> ca_;
  int n_ = 0;
};

TEST_F(AggregatorTlsTest, CollectorCertificatesAreBoundToTheirClusters) {
  Start();
  {
    IngestClient allowed(Channel("collector-a"), "prod-a");
    ASSERT_TRUE(allowed.Welcome());
    ASSERT_TRUE(allowed.Send(1, Events(3, 61)));
    EXPECT_EQ(allowed.ReadAck()->stored(), 3u);
    EXPECT_TRUE(allowed.Close().ok());
  }
  {
    IngestClient denied(Channel("collector-a"), "prod-b");
    grpc::Status s = denied.Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_THAT(s.error_message(), HasSubstr("may not write cluster \"prod-b\""));
  }
  {
    // Identity by URI SAN.
    IngestClient by_uri(Channel("whatever", {"spiffe://kt/collector/b"}), "prod-b");
    EXPECT_TRUE(by_uri.Welcome().has_value());
    EXPECT_TRUE(by_uri.Close().ok());
  }
  {
    IngestClient no_cert(Channel(""), "prod-a");
    EXPECT_EQ(no_cert.Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  // Rules reload (SIGHUP): collector-a may now write prod-b as well.
  Config reloaded = config_;
  reloaded.auth.collectors[0].clusters.push_back("prod-b");
  ASSERT_TRUE(agg_->Reload(reloaded).ok());
  IngestClient now_allowed(Channel("collector-a"), "prod-b");
  EXPECT_TRUE(now_allowed.Welcome().has_value());
  EXPECT_TRUE(now_allowed.Close().ok());
}

// Refused streams are counted by the cluster they named and the gRPC code; a caller without
// a client certificate counts under cluster "", whatever it named, so that it cannot add
// series without end.
TEST_F(AggregatorTlsTest, RefusedStreamsAreCountedWithoutTrustingAnonymousNames) {
  Start();
  {
    IngestClient denied(Channel("collector-a"), "prod-b");
    EXPECT_EQ(denied.Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  for (const char* named : {"prod-a", "made-up-1", "made-up-2"}) {
    IngestClient no_cert(Channel(""), named);
    EXPECT_EQ(no_cert.Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  httplib::Client http("127.0.0.1", agg_->http_port());
  httplib::Result metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics) << httplib::to_string(metrics.error());
  const std::string& text = metrics->body;
  EXPECT_EQ(
      kubetrail::testing::SampleValue(
          text,
          R"(kubetrail_ingest_streams_refused_total{cluster="prod-b",code="PERMISSION_DENIED"})"),
      1);
  EXPECT_EQ(
      kubetrail::testing::SampleValue(
          text, R"(kubetrail_ingest_streams_refused_total{cluster="",code="UNAUTHENTICATED"})"),
      3);
  EXPECT_THAT(text, Not(HasSubstr("made-up")));
}

// SIGHUP applies new tokens (the old ones stop working at once); TLS file paths that changed
// are refused as needing a restart, while the rest of the reload still applies.
TEST_F(AggregatorTlsTest, ReloadAppliesTokensAndNamesTlsPathsThatNeedARestart) {
  Start();
  auto count = [&](const std::string& token) {
    auto stub = v1::Query::NewStub(Channel(""));
    auto ctx = Ctx();
    ctx->AddMetadata("authorization", "Bearer " + token);
    v1::CountResponse resp;
    return stub->Count(ctx.get(), {}, &resp).error_code();
  };
  EXPECT_EQ(count("s3cret"), grpc::StatusCode::OK);
  Config reloaded = config_;
  reloaded.auth.tokens = {{.name = "grafana", .sha256 = Sha256Hex("n3w"), .admin = false}};
  ASSERT_TRUE(agg_->Reload(reloaded).ok());
  EXPECT_EQ(count("s3cret"), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(count("n3w"), grpc::StatusCode::OK);

  Config moved = reloaded;
  moved.tls_cert_file = dir_.path() + "/elsewhere.pem";
  moved.auth.tokens.push_back({.name = "ci", .sha256 = Sha256Hex("ci-token"), .admin = false});
  const absl::Status s = agg_->Reload(moved);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(s.message(), HasSubstr("tls.cert_file changed"));
  EXPECT_THAT(s.message(), HasSubstr("restart"));
  EXPECT_EQ(count("ci-token"), grpc::StatusCode::OK);
  EXPECT_EQ(count("n3w"), grpc::StatusCode::OK);
}

TEST_F(AggregatorTlsTest, QueriesNeedAnAllowedCertificateOrToken) {
  Start();
  auto count = [](const std::shared_ptr<grpc::Channel>& channel, const std::string& token) {
    auto stub = v1::Query::NewStub(channel);
    auto ctx = Ctx();
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    v1::CountResponse resp;
    return stub->Count(ctx.get(), {}, &resp).error_code();
  };
  EXPECT_EQ(count(Channel("auditor"), ""), grpc::StatusCode::OK);
  EXPECT_EQ(count(Channel("ops"), ""), grpc::StatusCode::OK);
  EXPECT_EQ(count(Channel(""), "s3cret"), grpc::StatusCode::OK);
  EXPECT_EQ(count(Channel(""), "wrong"), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(count(Channel("collector-a"), ""), grpc::StatusCode::UNAUTHENTICATED);

  auto stats = [](const std::shared_ptr<grpc::Channel>& channel, const std::string& token) {
    auto stub = v1::Admin::NewStub(channel);
    auto ctx = Ctx();
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    v1::StatsResponse resp;
    return stub->Stats(ctx.get(), {}, &resp).error_code();
  };
  EXPECT_EQ(stats(Channel("ops"), ""), grpc::StatusCode::OK);
  EXPECT_EQ(stats(Channel("auditor"), ""), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stats(Channel(""), "s3cret"), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(AggregatorTlsTest, HoldsAndRetentionNeedAnAdmin) {
  config_.auth.tokens.push_back({.name = "legal", .sha256 = Sha256Hex("h0ld"), .admin = true});
  Start();
  // Every hold and retention call of one caller: their codes in call order.
  auto calls = [](const std::shared_ptr<grpc::Channel>& channel, const std::string& token) {
    auto stub = v1::Admin::NewStub(channel);
    auto ctx = [&token] {
      auto c = Ctx();
      if (!token.empty()) c->AddMetadata("authorization", "Bearer " + token);
      return c;
    };
    std::vector<grpc::StatusCode> codes;
    v1::PlaceHoldRequest hold;
    hold.set_cluster("prod-a");
    hold.set_from_us(kStart);
    hold.set_to_us(kStart + 1);
    v1::PlaceHoldResponse placed;
    codes.push_back(stub->PlaceHold(ctx().get(), hold, &placed).error_code());
    v1::ListHoldsResponse holds;
    codes.push_back(stub->ListHolds(ctx().get(), {}, &holds).error_code());
    v1::ReleaseHoldRequest release;
    release.set_id(placed.hold().id().empty() ? "hold-1" : placed.hold().id());
    v1::ReleaseHoldResponse released;
    codes.push_back(stub->ReleaseHold(ctx().get(), release, &released).error_code());
    v1::SetRetentionRequest retention;
    retention.set_cluster("*");
    retention.set_keep_us(86'400'000'000);
    v1::SetRetentionResponse settings;
    codes.push_back(stub->SetRetention(ctx().get(), retention, &settings).error_code());
    v1::ListRetentionResponse listed;
    codes.push_back(stub->ListRetention(ctx().get(), {}, &listed).error_code());
    return codes;
  };
  using ::testing::Each;
  using ::testing::Eq;
  EXPECT_THAT(calls(Channel("auditor"), ""), Each(Eq(grpc::StatusCode::PERMISSION_DENIED)));
  EXPECT_THAT(calls(Channel(""), "s3cret"), Each(Eq(grpc::StatusCode::PERMISSION_DENIED)));
  EXPECT_THAT(calls(Channel("collector-a"), ""), Each(Eq(grpc::StatusCode::UNAUTHENTICATED)));
  EXPECT_THAT(calls(Channel("ops"), ""), Each(Eq(grpc::StatusCode::OK)));
  EXPECT_THAT(calls(Channel(""), "h0ld"), Each(Eq(grpc::StatusCode::OK)));
  // The refused calls changed nothing: the admins' holds are hold-1 and hold-2, both released.
  auto stub = v1::Admin::NewStub(Channel("ops"));
  v1::PlaceHoldRequest hold;
  hold.set_cluster("prod-a");
  hold.set_from_us(kStart);
  hold.set_to_us(kStart + 1);
  v1::PlaceHoldResponse placed;
  ASSERT_TRUE(stub->PlaceHold(Ctx().get(), hold, &placed).ok());
  EXPECT_EQ(placed.hold().id(), "hold-3");
}

TEST_F(AggregatorTest, BadConfigIsRefusedWithTheField) {
  config_.dev = true;
  config_.listen = "0.0.0.0:0";
  auto agg = Aggregator::Start(config_, Clock::Real());
  EXPECT_EQ(agg.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(agg.status().message(), HasSubstr("loopback only"));
  config_.dev = false;
  config_.listen = "127.0.0.1:0";
  agg = Aggregator::Start(config_, Clock::Real());
  EXPECT_THAT(agg.status().message(), HasSubstr("TLS is required outside --dev"));
}

}  // namespace
}  // namespace kubetrail::aggregator
