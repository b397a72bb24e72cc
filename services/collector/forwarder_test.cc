#include "services/collector/forwarder.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/collector/shipper/testing/fake_ingest_server.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/text.h"
#include "tests/testing/wait.h"

namespace kubetrail::collector {
namespace {

using kubetrail::testing::SampleValue;
using kubetrail::v1::EnvelopedEvent;

std::vector<EnvelopedEvent> MakeEvents(const std::string& prefix, int n) {
  std::vector<EnvelopedEvent> out;
  for (int i = 0; i < n; ++i) {
    EnvelopedEvent& e = out.emplace_back();
    e.mutable_envelope()->set_cluster("c1");
    e.mutable_envelope()->set_source("s1");
    e.mutable_envelope()->set_receive_time_us(Clock::Real().NowMicros());
    e.mutable_event()->set_audit_id(absl::StrCat(prefix, i));
    e.mutable_event()->set_stage("ResponseComplete");
  }
  return out;
}

using ::kubetrail::testing::Eventually;

class ForwarderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    SpoolConfig sc;
    sc.dir = dir_.File("spool");
    absl::StatusOr<std::unique_ptr<Spool>> spool = Spool::Open(sc);
    ASSERT_TRUE(spool.ok()) << spool.status();
    spool_ = std::move(*spool);
  }
  ForwarderConfig Config(std::vector<std::string> targets) {
    ForwarderConfig config;
    config.targets = std::move(targets);
    config.cluster = "c1";
    config.source = "s1";
    config.batch_events = 10;
    config.batch_wait = absl::Milliseconds(50);
    config.backoff = {absl::Milliseconds(10), absl::Milliseconds(100), 2.0, 0.2};
    return config;
  }

  kubetrail::testing::TempDir dir_;
  std::unique_ptr<Spool> spool_;
  testing::FakeEventStore store_;
};

TEST_F(ForwarderTest, ShipsEverythingInBatchesAndEmptiesTheSpool) {
  absl::StatusOr<std::unique_ptr<testing::FakeIngestServer>> server =
      testing::FakeIngestServer::Start(store_);
  ASSERT_TRUE(server.ok()) << server.status();
  Registry registry;
  Forwarder forwarder(Config({(*server)->target()}), *spool_, Clock::Real(), &registry);
  ASSERT_TRUE(forwarder.Start().ok());
  for (int b = 0; b < 5; ++b)
    ASSERT_TRUE(spool_->Append(MakeEvents(absl::StrCat("b", b, "e"), 7)).ok());
  ASSERT_TRUE(forwarder.Drain(absl::Seconds(30)).ok());
  EXPECT_EQ(store_.size(), 35u);
  EXPECT_EQ(store_.duplicates(), 0u);
  EXPECT_EQ(spool_->Stats().events, 0u);
  // Cut by count: 35 events at 10 per batch need at least 4 batches.
  EXPECT_GE((*server)->batches_received(), 4);
  EXPECT_NE(registry.Expose().find("kubetrail_collector_events_acked_total{result=\"stored\"} 35"),
            std::string::npos)
      << registry.Expose();
  forwarder.Stop();
  EXPECT_TRUE(forwarder.Health().ok());
}

TEST_F(ForwarderTest, AnEventThatDoesNotParseIsSkippedAndTheRestShipped) {
  absl::StatusOr<std::unique_ptr<testing::FakeIngestServer>> server =
      testing::FakeIngestServer::Start(store_);
  ASSERT_TRUE(server.ok()) << server.status();
  Forwarder forwarder(Config({(*server)->target()}), *spool_, Clock::Real(), nullptr);
  std::vector<EnvelopedEvent> events = MakeEvents("e", 7);
  // Event 3 becomes bytes that are no EnvelopedEvent: an envelope (field 1) whose first
  // field's length runs past the envelope's end. The spool's checksums cover it as it is.
  events[3].Clear();
  events[3].GetReflection()->MutableUnknownFields(&events[3])->AddLengthDelimited(1, "\x0a\x09x");
  ASSERT_TRUE(spool_->Append(events).ok());
  ASSERT_TRUE(forwarder.Start().ok());
  ASSERT_TRUE(forwarder.Drain(absl::Seconds(30)).ok());
  EXPECT_EQ(store_.size(), 6u);
  EXPECT_EQ(spool_->Stats().events, 0u);
  EXPECT_EQ((*server)->protocol_errors(), 0);
  forwarder.Stop();
}

TEST_F(ForwarderTest, NothingIsDeletedBeforeItsAck) {
  absl::StatusOr<std::unique_ptr<testing::FakeIngestServer>> server =
      testing::FakeIngestServer::Start(store_);
  ASSERT_TRUE(server.ok());
  (*server)->HoldAcks(true);
  Forwarder forwarder(Config({(*server)->target()}), *spool_, Clock::Real(), nullptr);
  ASSERT_TRUE(forwarder.Start().ok());
  ASSERT_TRUE(spool_->Append(MakeEvents("e", 25)).ok());
  ASSERT_TRUE((*server)->WaitForBatchesReceived(3, absl::Seconds(30)));
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(spool_->Stats().events, 25u);
  EXPECT_EQ(forwarder.Drain(absl::Milliseconds(50)).code(), absl::StatusCode::kDeadlineExceeded);
  (*server)->HoldAcks(false);
  ASSERT_TRUE(forwarder.Drain(absl::Seconds(30)).ok());
  EXPECT_EQ(store_.size(), 25u);
}

TEST_F(ForwarderTest, ResumesAfterRestartWithWhatWasNotAcked) {
  absl::StatusOr<std::unique_ptr<testing::FakeIngestServer>> server =
      testing::FakeIngestServer::Start(store_);
  ASSERT_TRUE(server.ok());
  (*server)->HoldAcks(true);
  {
    Forwarder forwarder(Config({(*server)->target()}), *spool_, Clock::Real(), nullptr);
    ASSERT_TRUE(forwarder.Start().ok());
    ASSERT_TRUE(spool_->Append(MakeEvents("e", 12)).ok());
    ASSERT_TRUE((*server)->WaitForBatchesReceived(1, absl::Seconds(30)));
    forwarder.Stop();
  }
  EXPECT_EQ(spool_->Stats().events, 12u);
  (*server)->HoldAcks(false);
  Forwarder again(Config({(*server)->target()}), *spool_, Clock::Real(), nullptr);
  ASSERT_TRUE(again.Start().ok());
  ASSERT_TRUE(again.Drain(absl::Seconds(30)).ok());
  EXPECT_EQ(store_.size(), 12u);
}

TEST_F(ForwarderTest, FailsOverToTheNextAggregator) {
  // The first target has nothing listening: its stream never gets going.
  absl::StatusOr<std::unique_ptr<testing::FakeIngestServer>> dead =
      testing::FakeIngestServer::Start(store_);
  ASSERT_TRUE(dead.ok());
  const std::string dead_target = (*dead)->target();
  (*dead)->Stop();
  absl::StatusOr<std::unique_ptr<testing::FakeIngestServer>> live =
      testing::FakeIngestServer::Start(store_);
  ASSERT_TRUE(live.ok());
  Registry registry;
  ForwarderConfig config = Config({dead_target, (*live)->target()});
  config.failover_after = absl::Milliseconds(300);
  Forwarder forwarder(config, *spool_, Clock::Real(), &registry);
  ASSERT_TRUE(forwarder.Start().ok());
  // More batches than the shipper holds (2 windows of 8): the forwarder must not block on the
  // dead aggregator before it fails over.
  ASSERT_TRUE(spool_->Append(MakeEvents("e", 300)).ok());
  ASSERT_TRUE(forwarder.Drain(absl::Seconds(30)).ok());
  EXPECT_EQ(store_.size(), 300u);
  EXPECT_EQ(forwarder.CurrentTarget(), (*live)->target());
  EXPECT_NE(registry.Expose().find("kubetrail_collector_failovers_total 1"), std::string::npos)
      << registry.Expose();
}

// Batch writes are counted as first or resend, also across a replaced stream: after new
// credentials the unacknowledged events go out again on a new stream, as resends.
TEST_F(ForwarderTest, SentAndResentBatchesAreCounted) {
  absl::StatusOr<std::unique_ptr<testing::FakeIngestServer>> server =
      testing::FakeIngestServer::Start(store_);
  ASSERT_TRUE(server.ok());
  (*server)->HoldAcks(true);
  Registry registry;
  Forwarder forwarder(Config({(*server)->target()}), *spool_, Clock::Real(), &registry);
  ASSERT_TRUE(forwarder.Start().ok());
  ASSERT_TRUE(spool_->Append(MakeEvents("e", 20)).ok());
  ASSERT_TRUE((*server)->WaitForBatchesReceived(2, absl::Seconds(30)));
  const std::string first_batches = R"(kubetrail_collector_batches_sent_total{kind="first"})";
  const std::string resent_batches = R"(kubetrail_collector_batches_sent_total{kind="resend"})";
  const std::string first_events = R"(kubetrail_collector_events_sent_total{kind="first"})";
  const std::string resent_events = R"(kubetrail_collector_events_sent_total{kind="resend"})";
  std::string metrics = registry.Expose();
  EXPECT_EQ(SampleValue(metrics, first_events), 20) << metrics;
  EXPECT_EQ(SampleValue(metrics, first_batches), (*server)->batches_received());
  EXPECT_EQ(SampleValue(metrics, resent_events), 0);
  EXPECT_EQ(SampleValue(metrics, resent_batches), 0);

  // A new stream (as after a reloaded certificate): the 20 unacknowledged events again.
  forwarder.UpdateCredentials(nullptr);
  ASSERT_TRUE(Eventually([&] { return SampleValue(registry.Expose(), resent_events) == 20; }))
      << registry.Expose();
  (*server)->HoldAcks(false);
  ASSERT_TRUE(forwarder.Drain(absl::Seconds(30)).ok());
  EXPECT_EQ(store_.size(), 20u);

  // Then the aggregator drops the stream after storing a batch it did not ack: the shipper
  // writes it again on its next stream.
  (*server)->BreakAfterBatches(1);
  ASSERT_TRUE(spool_->Append(MakeEvents("f", 5)).ok());
  ASSERT_TRUE(forwarder.Drain(absl::Seconds(30)).ok());
  forwarder.Stop();
  metrics = registry.Expose();
  EXPECT_EQ(SampleValue(metrics, first_events), 25) << metrics;
  EXPECT_EQ(SampleValue(metrics, resent_events), 25) << metrics;
  EXPECT_GE(SampleValue(metrics, resent_batches), 3);
  EXPECT_EQ(SampleValue(metrics, first_batches) + SampleValue(metrics, resent_batches),
            (*server)->batches_received());
  EXPECT_EQ(store_.size(), 25u);
}

TEST_F(ForwarderTest, APermanentRefusalIsReported) {
  absl::StatusOr<std::unique_ptr<testing::FakeIngestServer>> server =
      testing::FakeIngestServer::Start(store_);
  ASSERT_TRUE(server.ok());
  (*server)->RefuseHello(
      grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "cluster c1 is not yours"));
  Forwarder forwarder(Config({(*server)->target()}), *spool_, Clock::Real(), nullptr);
  ASSERT_TRUE(forwarder.Start().ok());
  ASSERT_TRUE(spool_->Append(MakeEvents("e", 3)).ok());
  ASSERT_TRUE(Eventually([&] { return !forwarder.Health().ok(); }));
  EXPECT_EQ(forwarder.Health().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(spool_->Stats().events, 3u);
  forwarder.Stop();
}

TEST_F(ForwarderTest, ThrottleSpacesBatches) {
  absl::StatusOr<std::unique_ptr<testing::FakeIngestServer>> server =
      testing::FakeIngestServer::Start(store_);
  ASSERT_TRUE(server.ok());
  ForwarderConfig config = Config({(*server)->target()});
  config.batch_events = 1;
  config.qps = 20;
  config.burst = 2;
  Forwarder forwarder(config, *spool_, Clock::Real(), nullptr);
  ASSERT_TRUE(forwarder.Start().ok());
  ASSERT_TRUE(spool_->Append(MakeEvents("e", 8)).ok());
  const absl::Time start = absl::Now();
  ASSERT_TRUE(forwarder.Drain(absl::Seconds(30)).ok());
  // 8 batches with a burst of 2 at 20/s take at least 6 / 20 s. (A lower bound only: the
  // throttle can make shipping slower, never faster.)
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
  EXPECT_EQ(store_.size(), 8u);
}

}  // namespace
}  // namespace kubetrail::collector
