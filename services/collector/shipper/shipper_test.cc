#include "services/collector/shipper/shipper.h"

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/strings.h"
#include "gtest/gtest.h"
#include "services/collector/shipper/testing/fake_ingest_server.h"

namespace kubetrail::collector {
namespace {

using testing::FakeEventStore;
using testing::FakeIngestServer;

constexpr int kEventsPerBatch = 20;
constexpr absl::Duration kWait = absl::Seconds(30);

kubetrail::v1::Batch MakeBatch(uint64_t sequence, const std::string& prefix = "ev") {
  kubetrail::v1::Batch batch;
  batch.set_sequence(sequence);
  for (int i = 0; i < kEventsPerBatch; ++i) {
    kubetrail::v1::Event* e = batch.add_events()->mutable_event();
    e->set_audit_id(Cat(prefix, "-", sequence, "-", i));
    e->set_stage("ResponseComplete");
    e->set_verb("get");
  }
  return batch;
}

ShipperConfig TestConfig(const FakeIngestServer& server) {
  ShipperConfig config;
  config.target = server.target();
  config.cluster = "test-cluster";
  config.source = "test-source";
  config.reconnect_backoff.initial = absl::Milliseconds(10);
  config.reconnect_backoff.max = absl::Milliseconds(200);
  config.backoff_seed = 1;
  config.connect_timeout = absl::Seconds(5);
  return config;
}

std::unique_ptr<FakeIngestServer> StartServer(FakeEventStore& store, int port = 0) {
  absl::StatusOr<std::unique_ptr<FakeIngestServer>> server = FakeIngestServer::Start(store, port);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(*server) : nullptr;
}

std::unique_ptr<Shipper> MakeShipper(ShipperConfig config, Clock& clock = Clock::Real(),
                                     AckCallback on_ack = nullptr) {
  absl::StatusOr<std::unique_ptr<Shipper>> shipper =
      Shipper::Create(std::move(config), clock, std::move(on_ack));
  EXPECT_TRUE(shipper.ok()) << shipper.status();
  return shipper.ok() ? std::move(*shipper) : nullptr;
}

// Waits (polling) until `done` holds; for conditions only observable through Stats().
bool Eventually(const std::function<bool()>& done, absl::Duration timeout = kWait) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

TEST(ShipperTest, AllBatchesAckedAndStoredOnce) {
  FakeEventStore store;
  auto server = StartServer(store);
  ASSERT_NE(server, nullptr);
  absl::Mutex mu;
  std::vector<uint64_t> acked;
  auto shipper = MakeShipper(TestConfig(*server), Clock::Real(), [&](BatchAck&& ack) {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(ack.events, static_cast<size_t>(kEventsPerBatch));
    EXPECT_EQ(ack.stored, static_cast<uint32_t>(kEventsPerBatch));
    acked.push_back(ack.sequence);
  });
  ASSERT_NE(shipper, nullptr);

  for (uint64_t seq = 1; seq <= 50; ++seq) ASSERT_TRUE(shipper->Submit(MakeBatch(seq * 3)).ok());
  ASSERT_TRUE(shipper->WaitForAcks(kWait).ok());

  const ShipperStats stats = shipper->Stats();
  EXPECT_EQ(stats.submitted_batches, 50u);
  EXPECT_EQ(stats.acked_batches, 50u);
  EXPECT_EQ(stats.acked_events, 50u * kEventsPerBatch);
  EXPECT_EQ(stats.stored, 50u * kEventsPerBatch);
  EXPECT_EQ(stats.duplicates, 0u);
  EXPECT_EQ(stats.sent_batches, 50u);
  EXPECT_EQ(stats.resent_batches, 0u);
  EXPECT_EQ(stats.reconnects, 0u);
  EXPECT_EQ(stats.pending_batches, 0u);
  EXPECT_TRUE(stats.error.ok());
  EXPECT_EQ(store.size(), 50u * kEventsPerBatch);
  EXPECT_EQ(store.duplicates(), 0u);
  EXPECT_EQ(server->protocol_errors(), 0);
  {
    absl::MutexLock lock(&mu);
    ASSERT_EQ(acked.size(), 50u);
    for (size_t i = 0; i < acked.size(); ++i) EXPECT_EQ(acked[i], 3 * (i + 1));
  }
  shipper->Shutdown();
}

TEST(ShipperTest, SubmitRejectsNonIncreasingSequenceAndForeignEnvelope) {
  FakeEventStore store;
  auto server = StartServer(store);
  ASSERT_NE(server, nullptr);
  auto shipper = MakeShipper(TestConfig(*server));
  ASSERT_NE(shipper, nullptr);
  ASSERT_TRUE(shipper->Submit(MakeBatch(5)).ok());
  EXPECT_EQ(shipper->Submit(MakeBatch(5)).code(), absl::StatusCode::kInvalidArgument);
  kubetrail::v1::Batch foreign = MakeBatch(6);
  foreign.mutable_events(3)->mutable_envelope()->set_cluster("other");
  EXPECT_EQ(shipper->Submit(std::move(foreign)).code(), absl::StatusCode::kInvalidArgument);
  kubetrail::v1::Batch own = MakeBatch(7);
  own.mutable_events(0)->mutable_envelope()->set_cluster("test-cluster");
  own.mutable_events(0)->mutable_envelope()->set_source("test-source");
  EXPECT_TRUE(shipper->Submit(std::move(own)).ok());
  EXPECT_TRUE(shipper->WaitForAcks(kWait).ok());
  EXPECT_EQ(store.size(), 2u * kEventsPerBatch);
}

std::vector<std::string> Serialized(const kubetrail::v1::Batch& batch) {
  std::vector<std::string> events;
  for (const kubetrail::v1::EnvelopedEvent& e : batch.events())
    events.push_back(e.SerializeAsString());
  return events;
}

TEST(ShipperTest, SerializedEventsArriveAsTheEventsTheyEncode) {
  FakeEventStore store;
  auto server = StartServer(store);
  ASSERT_NE(server, nullptr);
  auto shipper = MakeShipper(TestConfig(*server));
  ASSERT_NE(shipper, nullptr);
  kubetrail::v1::Batch batch = MakeBatch(1);
  batch.mutable_events(2)->mutable_envelope()->set_cluster("test-cluster");
  batch.mutable_events(2)->mutable_envelope()->set_receive_time_us(1234);
  batch.mutable_events(4)->mutable_event()->mutable_annotations()->insert({"k", "v"});
  ASSERT_TRUE(shipper->SubmitSerialized(1, Serialized(batch)).ok());
  ASSERT_TRUE(shipper->WaitForAcks(kWait).ok());
  EXPECT_EQ(store.size(), static_cast<uint64_t>(kEventsPerBatch));
  EXPECT_EQ(store.duplicates(), 0u);
  // The same events submitted parsed are all duplicates: the aggregator received the events
  // the bytes encode, content included.
  batch.set_sequence(2);
  ASSERT_TRUE(shipper->Submit(batch).ok());
  ASSERT_TRUE(shipper->WaitForAcks(kWait).ok());
  EXPECT_EQ(store.size(), static_cast<uint64_t>(kEventsPerBatch));
  EXPECT_EQ(store.duplicates(), static_cast<uint64_t>(kEventsPerBatch));
  const ShipperStats stats = shipper->Stats();
  EXPECT_EQ(stats.submitted_events, 2u * kEventsPerBatch);
  EXPECT_EQ(stats.acked_events, 2u * kEventsPerBatch);
  EXPECT_EQ(server->protocol_errors(), 0);
}

TEST(ShipperTest, SubmitSerializedChecksEachEventsEnvelope) {
  FakeEventStore store;
  auto server = StartServer(store);
  ASSERT_NE(server, nullptr);
  auto shipper = MakeShipper(TestConfig(*server));
  ASSERT_NE(shipper, nullptr);

  kubetrail::v1::Batch foreign = MakeBatch(1);
  foreign.mutable_events(3)->mutable_envelope()->set_source("other");
  absl::Status s = shipper->SubmitSerialized(1, Serialized(foreign));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("other"), std::string_view::npos) << s;

  std::vector<std::string> events = Serialized(MakeBatch(2));
  events[5] = "\x12\xff\xff";  // field 2, a length past the end
  s = shipper->SubmitSerialized(2, events);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("event 5"), std::string_view::npos) << s;
  events[5] = "\x0a\x03\x0a\x05x";  // an envelope whose cluster runs past the envelope's end
  EXPECT_EQ(shipper->SubmitSerialized(2, events).code(), absl::StatusCode::kInvalidArgument);
  events[5] = "\x0a";  // the envelope's length is missing
  EXPECT_EQ(shipper->SubmitSerialized(2, events).code(), absl::StatusCode::kInvalidArgument);

  // Refused batches were not queued; the next one goes out alone.
  ASSERT_TRUE(shipper->SubmitSerialized(3, Serialized(MakeBatch(3))).ok());
  ASSERT_TRUE(shipper->WaitForAcks(kWait).ok());
  EXPECT_EQ(store.size(), static_cast<uint64_t>(kEventsPerBatch));
  EXPECT_EQ(shipper->Stats().submitted_batches, 1u);
}

TEST(ShipperTest, ZstdBatchesArriveAsTheirEvents) {
  FakeEventStore store;
  auto server = StartServer(store);
  ASSERT_NE(server, nullptr);
  ShipperConfig config = TestConfig(*server);
  config.zstd_level = 1;
  auto shipper = MakeShipper(config);
  ASSERT_NE(shipper, nullptr);
  ASSERT_TRUE(shipper->Submit(MakeBatch(1)).ok());
  ASSERT_TRUE(shipper->SubmitSerialized(2, Serialized(MakeBatch(2))).ok());
  ASSERT_TRUE(shipper->WaitForAcks(kWait).ok());
  EXPECT_EQ(server->zstd_batches_received(), 2);
  EXPECT_EQ(store.size(), 2u * kEventsPerBatch);
  EXPECT_EQ(shipper->Stats().acked_events, 2u * kEventsPerBatch);
  shipper->Shutdown();

  // The same events shipped uncompressed are all duplicates: the same events arrived.
  auto plain = MakeShipper(TestConfig(*server));
  ASSERT_NE(plain, nullptr);
  ASSERT_TRUE(plain->Submit(MakeBatch(1)).ok());
  ASSERT_TRUE(plain->Submit(MakeBatch(2)).ok());
  ASSERT_TRUE(plain->WaitForAcks(kWait).ok());
  EXPECT_EQ(server->zstd_batches_received(), 2);
  EXPECT_EQ(store.size(), 2u * kEventsPerBatch);
  EXPECT_EQ(store.duplicates(), 2u * kEventsPerBatch);
  EXPECT_EQ(server->protocol_errors(), 0);
}

TEST(ShipperTest, ZstdToAnAggregatorThatDoesNotAcceptItIsPermanent) {
  FakeEventStore store;
  auto server = StartServer(store);
  ASSERT_NE(server, nullptr);
  server->SetAcceptsZstd(false);
  ShipperConfig config = TestConfig(*server);
  config.zstd_level = 1;
  auto shipper = MakeShipper(config);
  ASSERT_NE(shipper, nullptr);
  shipper->Submit(MakeBatch(1)).IgnoreError();
  const absl::Status s = shipper->WaitForAcks(kWait);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("does not accept zstd"), std::string_view::npos) << s;
  EXPECT_EQ(store.size(), 0u);
}

TEST(ShipperTest, CreateValidatesConfig) {
  ShipperConfig config;
  // Strings are moved in: assigning literals trips GCC 12's -O3 -Wrestrict false positive.
  config.cluster = std::string("c");
  config.source = std::string("s");
  config.window = 0;
  EXPECT_EQ(Shipper::Create(config).status().code(), absl::StatusCode::kInvalidArgument);
  config.window = 8;
  config.zstd_level = 20;
  EXPECT_EQ(Shipper::Create(config).status().code(), absl::StatusCode::kInvalidArgument);
  config.zstd_level = 1;
  config.compression = GRPC_COMPRESS_GZIP;
  EXPECT_EQ(Shipper::Create(config).status().code(), absl::StatusCode::kInvalidArgument);
  config.zstd_level = 0;
  config.compression = GRPC_COMPRESS_NONE;
  config.cluster = std::string("bad cluster");
  EXPECT_EQ(Shipper::Create(config).status().code(), absl::StatusCode::kInvalidArgument);
  config.cluster = std::string("c");
  config.source = std::string("");
  EXPECT_EQ(Shipper::Create(config).status().code(), absl::StatusCode::kInvalidArgument);
  config.source = std::string("s");
  config.max_pending_batches = 4;
  EXPECT_EQ(Shipper::Create(config).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ShipperTest, ResendAfterStreamBreakStoresEveryEventOnce) {
  FakeEventStore store;
  auto server = StartServer(store);
  ASSERT_NE(server, nullptr);
  // Acks lag a little, so that several batches are stored but unacknowledged at the break.
  server->SetAckDelay(absl::Milliseconds(2));
  server->BreakAfterBatches(7);
  auto shipper = MakeShipper(TestConfig(*server));
  ASSERT_NE(shipper, nullptr);

  constexpr uint64_t kBatches = 30;
  for (uint64_t seq = 1; seq <= kBatches; ++seq) ASSERT_TRUE(shipper->Submit(MakeBatch(seq)).ok());
  ASSERT_TRUE(shipper->WaitForAcks(kWait).ok()) << shipper->Stats().last_stream_error;

  const ShipperStats stats = shipper->Stats();
  EXPECT_EQ(store.size(), kBatches * kEventsPerBatch);
  // Every event is stored once; the ones resent are counted as duplicates, by both ends.
  EXPECT_EQ(store.CountReceivedTimes(1) + store.CountReceivedTimes(2), store.size());
  EXPECT_GE(store.duplicates(), static_cast<uint64_t>(kEventsPerBatch));  // at least batch 7
  EXPECT_EQ(stats.duplicates, store.duplicates());
  // Batches stored but not acknowledged before the break are acknowledged as duplicates.
  EXPECT_EQ(stats.stored + stats.duplicates, kBatches * kEventsPerBatch);
  EXPECT_EQ(stats.acked_events, kBatches * kEventsPerBatch);
  EXPECT_EQ(stats.acked_batches, kBatches);
  EXPECT_GE(stats.reconnects, 1u);
  EXPECT_GE(stats.resent_batches, 1u);
  EXPECT_EQ(stats.sent_batches, kBatches + stats.resent_batches);
  EXPECT_EQ(stats.last_stream_error.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(server->protocol_errors(), 0);
  EXPECT_EQ(server->streams(), 2);
}

TEST(ShipperTest, WindowIsRespected) {
  FakeEventStore store;
  auto server = StartServer(store);
  ASSERT_NE(server, nullptr);
  server->HoldAcks(true);
  ShipperConfig config = TestConfig(*server);
  config.window = 4;
  auto shipper = MakeShipper(config);
  ASSERT_NE(shipper, nullptr);

  for (uint64_t seq = 1; seq <= 20; ++seq) ASSERT_TRUE(shipper->Submit(MakeBatch(seq)).ok());
  ASSERT_TRUE(server->WaitForBatchesReceived(4, kWait));
  // A negative check needs some time to pass: no fifth batch may arrive while acks are held.
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(server->batches_received(), 4);
  EXPECT_EQ(shipper->Stats().sent_batches, 4u);

  server->SetAckDelay(absl::Milliseconds(1));
  server->HoldAcks(false);
  ASSERT_TRUE(shipper->WaitForAcks(kWait).ok());
  EXPECT_EQ(server->batches_received(), 20);
  EXPECT_LE(server->max_outstanding(), 4);
  EXPECT_EQ(store.size(), 20u * kEventsPerBatch);
}

TEST(ShipperTest, SubmitBlocksWhileQueueIsFull) {
  FakeEventStore store;
  auto server = StartServer(store);
  ASSERT_NE(server, nullptr);
  server->HoldAcks(true);
  ShipperConfig config = TestConfig(*server);
  config.window = 2;
  config.max_pending_batches = 3;
  auto shipper = MakeShipper(config);
  ASSERT_NE(shipper, nullptr);

  absl::Mutex mu;
  int submitted = 0;
  std::thread producer([&] {
    for (uint64_t seq = 1; seq <= 6; ++seq) {
      ASSERT_TRUE(shipper->Submit(MakeBatch(seq)).ok());
      absl::MutexLock lock(&mu);
      ++submitted;
    }
  });
  ASSERT_TRUE(Eventually([&] {
    absl::MutexLock lock(&mu);
    return submitted == 3;
  }));
  absl::SleepFor(absl::Milliseconds(100));  // negative check: the fourth Submit stays blocked
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(submitted, 3);
  }
  server->HoldAcks(false);
  producer.join();
  ASSERT_TRUE(shipper->WaitForAcks(kWait).ok());
  EXPECT_EQ(store.size(), 6u * kEventsPerBatch);
}

TEST(ShipperTest, PermissionDeniedIsPermanent) {
  FakeEventStore store;
  auto server = StartServer(store);
  ASSERT_NE(server, nullptr);
  server->RefuseHello(grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                                   "identity may not write cluster \"test-cluster\""));
  auto shipper = MakeShipper(TestConfig(*server));
  ASSERT_NE(shipper, nullptr);
  const absl::Status submitted = shipper->Submit(MakeBatch(1));  // before or after the refusal
  EXPECT_TRUE(submitted.ok() || submitted.code() == absl::StatusCode::kPermissionDenied);

  const absl::Status waited = shipper->WaitForAcks(kWait);
  EXPECT_EQ(waited.code(), absl::StatusCode::kPermissionDenied) << waited;
  EXPECT_NE(waited.message().find("may not write"), absl::string_view::npos) << waited;
  EXPECT_EQ(shipper->status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(shipper->Submit(MakeBatch(2)).code(), absl::StatusCode::kPermissionDenied);
  shipper->Shutdown();
  const ShipperStats stats = shipper->Stats();
  EXPECT_EQ(stats.streams, 1u);  // no retry
  EXPECT_EQ(stats.reconnects, 0u);
  EXPECT_EQ(stats.error.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(server->streams(), 1);
  EXPECT_EQ(store.size(), 0u);
}

TEST(ShipperTest, BatchOverAggregatorLimitIsPermanent) {
  FakeEventStore store;
  auto server = StartServer(store);
  ASSERT_NE(server, nullptr);
  server->SetMaxBatchEvents(kEventsPerBatch - 1);
  auto shipper = MakeShipper(TestConfig(*server));
  ASSERT_NE(shipper, nullptr);
  ASSERT_TRUE(shipper->Submit(MakeBatch(1)).ok());
  const absl::Status waited = shipper->WaitForAcks(kWait);
  EXPECT_EQ(waited.code(), absl::StatusCode::kInvalidArgument) << waited;
  EXPECT_EQ(server->batches_received(), 0);  // never sent
}

TEST(ShipperTest, ServerRestartOnSamePortCompletesDelivery) {
  FakeEventStore store;
  auto server = StartServer(store);
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  auto shipper = MakeShipper(TestConfig(*server));
  ASSERT_NE(shipper, nullptr);

  for (uint64_t seq = 1; seq <= 10; ++seq) ASSERT_TRUE(shipper->Submit(MakeBatch(seq)).ok());
  ASSERT_TRUE(shipper->WaitForAcks(kWait).ok());
  // Batches 11-14 are stored by the first server but never acknowledged.
  server->HoldAcks(true);
  for (uint64_t seq = 11; seq <= 14; ++seq) ASSERT_TRUE(shipper->Submit(MakeBatch(seq)).ok());
  ASSERT_TRUE(server->WaitForBatchesReceived(14, kWait));
  server->Stop();
  server.reset();
  // Submitted while the aggregator is down.
  for (uint64_t seq = 15; seq <= 20; ++seq) ASSERT_TRUE(shipper->Submit(MakeBatch(seq)).ok());
  ASSERT_TRUE(Eventually([&] { return !shipper->Stats().last_stream_error.ok(); }));

  server = StartServer(store, port);
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(shipper->WaitForAcks(kWait).ok()) << shipper->Stats().last_stream_error;

  const ShipperStats stats = shipper->Stats();
  EXPECT_EQ(store.size(), 20u * kEventsPerBatch);
  EXPECT_EQ(store.duplicates(), 4u * kEventsPerBatch);
  EXPECT_EQ(stats.duplicates, 4u * kEventsPerBatch);
  // Batches 11-14 were stored by the first server but acknowledged (as duplicates) by the second.
  EXPECT_EQ(stats.stored, 16u * kEventsPerBatch);
  EXPECT_GE(stats.reconnects, 1u);
  // 11-14, plus any of 15-20 written to the dead stream before its end was noticed.
  EXPECT_GE(stats.resent_batches, 4u);
  EXPECT_LE(stats.resent_batches, 10u);
  EXPECT_EQ(server->protocol_errors(), 0);
}

TEST(ShipperTest, ReconnectWaitsForInjectedClock) {
  FakeEventStore store;
  auto server = StartServer(store);
  ASSERT_NE(server, nullptr);
  server->BreakAfterBatches(1);
  ShipperConfig config = TestConfig(*server);
  config.reconnect_backoff.initial = absl::Seconds(10);
  config.reconnect_backoff.max = absl::Seconds(10);
  config.reconnect_backoff.jitter = 0;
  FakeClock clock;
  auto shipper = MakeShipper(config, clock);
  ASSERT_NE(shipper, nullptr);
  ASSERT_TRUE(shipper->Submit(MakeBatch(1)).ok());
  ASSERT_TRUE(Eventually([&] { return !shipper->Stats().last_stream_error.ok(); }));
  // Negative check: without the clock moving, the backoff does not end.
  EXPECT_EQ(shipper->WaitForAcks(absl::Milliseconds(300)).code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(shipper->Stats().streams, 1u);
  clock.Advance(absl::Seconds(10));
  ASSERT_TRUE(shipper->WaitForAcks(kWait).ok());
  const ShipperStats stats = shipper->Stats();
  EXPECT_EQ(stats.streams, 2u);
  EXPECT_EQ(stats.duplicates, static_cast<uint64_t>(kEventsPerBatch));
  EXPECT_EQ(store.size(), static_cast<uint64_t>(kEventsPerBatch));
}

// The connect timeout bounds the wait for the welcome only: a welcomed stream stays up past
// it (regression: the wait kept the connect deadline and cancelled healthy streams).
TEST(ShipperTest, WelcomedStreamOutlivesTheConnectTimeout) {
  FakeEventStore store;
  auto server = StartServer(store);
  ASSERT_NE(server, nullptr);
  FakeClock clock;
  auto shipper = MakeShipper(TestConfig(*server), clock);
  ASSERT_NE(shipper, nullptr);
  ASSERT_TRUE(shipper->Submit(MakeBatch(1)).ok());
  ASSERT_TRUE(shipper->WaitForAcks(kWait).ok());
  clock.Advance(absl::Minutes(1));          // far past connect_timeout (5 s)
  absl::SleepFor(absl::Milliseconds(300));  // time for a wrongful cancel to happen
  ASSERT_TRUE(shipper->Submit(MakeBatch(2)).ok());
  ASSERT_TRUE(shipper->WaitForAcks(kWait).ok());
  const ShipperStats stats = shipper->Stats();
  EXPECT_EQ(stats.streams, 1u);
  EXPECT_EQ(stats.reconnects, 0u);
  EXPECT_EQ(stats.duplicates, 0u);
}

TEST(ShipperTest, ShutdownWithPendingBatchesReturnsPromptly) {
  FakeEventStore store;
  auto server = StartServer(store);
  ASSERT_NE(server, nullptr);
  server->HoldAcks(true);
  ShipperConfig config = TestConfig(*server);
  config.window = 2;
  config.max_pending_batches = 2;
  auto shipper = MakeShipper(config);
  ASSERT_NE(shipper, nullptr);
  ASSERT_TRUE(shipper->Submit(MakeBatch(1)).ok());
  ASSERT_TRUE(shipper->Submit(MakeBatch(2)).ok());
  ASSERT_TRUE(server->WaitForBatchesReceived(2, kWait));

  absl::Status blocked_submit;
  absl::Status blocked_wait;
  std::thread producer([&] { blocked_submit = shipper->Submit(MakeBatch(3)); });  // queue full
  std::thread waiter([&] { blocked_wait = shipper->WaitForAcks(); });

  const absl::Time start = absl::Now();
  shipper->Shutdown();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  producer.join();
  waiter.join();
  EXPECT_EQ(blocked_submit.code(), absl::StatusCode::kFailedPrecondition) << blocked_submit;
  EXPECT_EQ(blocked_wait.code(), absl::StatusCode::kCancelled) << blocked_wait;
  EXPECT_EQ(shipper->Submit(MakeBatch(4)).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(shipper->Stats().pending_batches, 2u);
  shipper->Shutdown();  // idempotent
}

TEST(ShipperTest, ShutdownWhenIdleClosesCleanly) {
  FakeEventStore store;
  auto server = StartServer(store);
  ASSERT_NE(server, nullptr);
  auto shipper = MakeShipper(TestConfig(*server));
  ASSERT_NE(shipper, nullptr);
  ASSERT_TRUE(shipper->Submit(MakeBatch(1)).ok());
  ASSERT_TRUE(shipper->WaitForAcks(kWait).ok());
  const absl::Time start = absl::Now();
  shipper->Shutdown();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));  // the half-close was answered, not timed out
  EXPECT_TRUE(shipper->status().ok());
}

TEST(ShipperTest, ShutdownWhileWaitingForAggregatorReturnsPromptly) {
  FakeEventStore store;
  auto server = StartServer(store);
  ASSERT_NE(server, nullptr);
  ShipperConfig config = TestConfig(*server);
  server->Stop();
  auto shipper = MakeShipper(config);
  ASSERT_NE(shipper, nullptr);
  ASSERT_TRUE(shipper->Submit(MakeBatch(1)).ok());
  const absl::Time start = absl::Now();
  shipper->Shutdown();  // cancels the stream waiting for a connection
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_EQ(shipper->WaitForAcks().code(), absl::StatusCode::kCancelled);
}

TEST(ShipperTest, ShutdownDuringBackoffReturnsPromptly) {
  FakeEventStore store;
  auto server = StartServer(store);
  ASSERT_NE(server, nullptr);
  server->BreakAfterBatches(1);
  ShipperConfig config = TestConfig(*server);
  config.reconnect_backoff.initial = absl::Seconds(5);
  config.reconnect_backoff.max = absl::Seconds(5);
  auto shipper = MakeShipper(config);
  ASSERT_NE(shipper, nullptr);
  ASSERT_TRUE(shipper->Submit(MakeBatch(1)).ok());
  ASSERT_TRUE(Eventually([&] { return !shipper->Stats().last_stream_error.ok(); }));
  const absl::Time start = absl::Now();
  shipper->Shutdown();  // wakes the backoff wait
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_EQ(shipper->Stats().streams, 1u);
}

}  // namespace
}  // namespace kubetrail::collector
