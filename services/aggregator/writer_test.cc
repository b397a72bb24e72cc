// The Writer's flow control and the ingest stream's use of it, over a store whose writes
// wait at a gate the test opens: a slow disk must slow the collector down (no more reads)
// instead of growing the queue, and nothing may be acknowledged before it is written.
#include "services/aggregator/writer.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "services/aggregator/auth.h"
#include "services/aggregator/ingest_service.h"
#include "services/aggregator/metrics.h"
#include "services/aggregator/testing/ingest_client.h"
#include "storage/memory_event_store.h"

namespace kubetrail::aggregator {
namespace {

namespace v1 = ::kubetrail::v1;

// An EventStore whose Write waits until the gate is open (the rest forwards to a memory
// store). Counts writes started and events written.
class GatedStore : public storage::EventStore {
 public:
  void Open() {
    absl::MutexLock lock(&mu_);
    open_ = true;
  }
  int writes_started() const {
    absl::MutexLock lock(&mu_);
    return started_;
  }
  uint64_t LastSequence() const override { return inner_->LastSequence(); }

  absl::StatusOr<storage::WriteResult> DoWrite(absl::Span<const v1::EnvelopedEvent* const> batch,
                                               const storage::WriteOptions& options) override {
    {
      absl::MutexLock lock(&mu_);
      ++started_;
      mu_.Await(absl::Condition(&open_));
    }
    return inner_->Write(batch, options);
  }
  absl::StatusOr<storage::SearchPage> Search(const storage::SearchRequest& r) override {
    return inner_->Search(r);
  }
  absl::StatusOr<std::vector<storage::StoredEvent>> Get(std::string_view id) override {
    return inner_->Get(id);
  }
  absl::StatusOr<uint64_t> Count(const storage::Filter& f) override { return inner_->Count(f); }
  absl::StatusOr<std::vector<storage::KeyCount>> Top(const storage::Filter& f, storage::Dimension d,
                                                     int l) override {
    return inner_->Top(f, d, l);
  }
  absl::StatusOr<std::vector<storage::HistogramBucket>> Histogram(
      const storage::Filter& f, storage::Granularity g,
      std::optional<storage::Dimension> by) override {
    return inner_->Histogram(f, g, by);
  }
  absl::StatusOr<std::vector<storage::StoredEvent>> ReadSince(uint64_t after,
                                                              const storage::Filter& f,
                                                              int limit) override {
    return inner_->ReadSince(after, f, limit);
  }
  absl::StatusOr<storage::StoreStats> Stats() override { return inner_->Stats(); }
  absl::Status SetRetention(std::string_view c, int64_t k) override {
    return inner_->SetRetention(c, k);
  }
  absl::StatusOr<std::vector<storage::RetentionSetting>> ListRetention() override {
    return inner_->ListRetention();
  }
  absl::StatusOr<storage::LegalHold> PlaceHold(const storage::LegalHold& h) override {
    return inner_->PlaceHold(h);
  }
  absl::Status ReleaseHold(std::string_view id) override { return inner_->ReleaseHold(id); }
  absl::StatusOr<std::vector<storage::LegalHold>> ListHolds() override {
    return inner_->ListHolds();
  }
  absl::StatusOr<storage::RetentionReport> ApplyRetention(int64_t now) override {
    return inner_->ApplyRetention(now);
  }

 private:
  std::unique_ptr<storage::EventStore> inner_ = storage::NewMemoryEventStore();
  mutable absl::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = false;
  int started_ ABSL_GUARDED_BY(mu_) = 0;
};

// A job of `n` events on the job's own arena, as the ingest service makes them.
WriteJob JobOf(int n, uint64_t seed) {
  WriteJob j;
  j.arena = std::make_unique<google::protobuf::Arena>();
  for (v1::EnvelopedEvent& e : testing::Events(n, seed)) {
    auto* on_arena = google::protobuf::Arena::CreateMessage<v1::EnvelopedEvent>(j.arena.get());
    *on_arena = e;
    on_arena->mutable_envelope()->set_cluster("c");
    on_arena->mutable_envelope()->set_source("s");
    j.events.push_back(on_arena);
  }
  return j;
}

TEST(WriterTest, StopsStreamsWhenFullAndResumesThemWhenThereIsRoom) {
  GatedStore store;
  Writer writer(store, {.threads = 1, .max_queued_events = 25});
  std::atomic<int> done{0}, resumed{0};
  auto job = [&](int n, uint64_t seed) {
    WriteJob j = JobOf(n, seed);
    j.done = [&](absl::StatusOr<storage::WriteResult> r) {
      EXPECT_TRUE(r.ok()) << r.status();
      ++done;
    };
    return j;
  };
  // The single writer thread takes the first job and blocks at the gate.
  EXPECT_TRUE(writer.Enqueue(job(10, 1), [&] { ++resumed; }));
  while (store.writes_started() == 0) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_TRUE(writer.Enqueue(job(10, 2), [&] { ++resumed; }));
  EXPECT_FALSE(writer.Enqueue(job(20, 3), [&] { ++resumed; }));  // 30 queued >= 25
  EXPECT_EQ(writer.QueuedEvents(), 30u);
  EXPECT_EQ(resumed.load(), 0);
  EXPECT_EQ(done.load(), 0);  // nothing acknowledged before it is written
  store.Open();
  writer.Drain();
  EXPECT_EQ(done.load(), 3);
  EXPECT_EQ(resumed.load(), 1);
  EXPECT_EQ(store.Count({}).value_or(0), 40u);
}

// Jobs of one order key are written one after another, in order, even with many threads;
// so one stream's events get increasing sequence numbers in the order they were sent.
TEST(WriterTest, JobsWithOneOrderKeyAreWrittenInOrder) {
  GatedStore store;
  store.Open();
  Writer writer(store, {.threads = 4, .max_queued_events = 100'000});
  absl::Mutex mu;
  std::vector<std::pair<int, uint64_t>> done;  // (job, its last sequence)
  for (int i = 0; i < 40; ++i) {
    WriteJob j = JobOf(5, 100 + i);
    j.order_key = 7;
    j.done = [&, i](absl::StatusOr<storage::WriteResult> r) {
      ASSERT_TRUE(r.ok());
      absl::MutexLock lock(&mu);
      done.emplace_back(i, r->last_sequence);
    };
    writer.Enqueue(std::move(j), [] {});
  }
  writer.Drain();
  ASSERT_EQ(done.size(), 40u);
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(done[i].first, i);
    EXPECT_EQ(done[i].second, uint64_t(5 * (i + 1)));
  }
}

TEST(WriterTest, JobsAfterDrainFailUnavailable) {
  GatedStore store;
  store.Open();
  Writer writer(store, {});
  writer.Drain();
  absl::Status status;
  WriteJob j = JobOf(1, 1);
  j.done = [&](absl::StatusOr<storage::WriteResult> r) { status = r.status(); };
  EXPECT_FALSE(writer.Enqueue(std::move(j), [] {}));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
}

// Through gRPC: with the store stuck, a collector that keeps sending is held back by the
// stream (it stops reading), the writer queue stays bounded, and no ack arrives; once the
// store moves, every batch is acknowledged in order.
TEST(IngestFlowControlTest, ASlowStoreSlowsTheCollectorInsteadOfGrowingMemory) {
  GatedStore store;
  Writer writer(store, {.threads = 1, .max_queued_events = 200});
  Registry registry;
  Metrics metrics(registry);
  std::unique_ptr<Authorizer> auth = Authorizer::AllowAll();
  IngestService service(writer, *auth, metrics, Clock::Real(), {});
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(port, 0);

  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  auto stub = v1::Ingest::NewStub(channel);
  grpc::ClientContext ctx;
  auto stream = stub->Stream(&ctx);
  v1::IngestRequest hello;
  hello.mutable_hello()->set_cluster("c");
  hello.mutable_hello()->set_source("s");
  hello.mutable_hello()->set_protocol_version(v1::PROTOCOL_VERSION_1);
  ASSERT_TRUE(stream->Write(hello));
  v1::IngestResponse welcome;
  ASSERT_TRUE(stream->Read(&welcome));

  // 400 batches of 100 events (~100 MB): far more than the queue (200 events) and the
  // transport's buffers hold, so the writer thread blocks once the server stops reading.
  constexpr int kBatches = 400;
  const auto events = testing::Events(100, 9);
  std::atomic<int> written{0};
  std::thread sender([&] {
    for (int b = 1; b <= kBatches; ++b) {
      v1::IngestRequest req;
      req.mutable_batch()->set_sequence(b);
      for (const auto& e : events) {
        v1::EnvelopedEvent* copy = req.mutable_batch()->add_events();
        *copy = e;
        copy->mutable_event()->set_audit_id(absl::StrCat(e.event().audit_id(), "-", b));
      }
      if (!stream->Write(req)) break;
      ++written;
    }
    stream->WritesDone();
  });
  // Wait until the sender is stuck; it must be stuck well before all batches went out.
  int last = -1;
  for (int i = 0; i < 100 && written.load() != last; ++i) {
    last = written.load();
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_LT(written.load(), kBatches);
  EXPECT_LE(writer.QueuedEvents(), 200u + 100u);  // bound + the one batch read last
  EXPECT_EQ(store.writes_started(), 1);

  store.Open();
  for (int b = 1; b <= kBatches; ++b) {
    v1::IngestResponse r;
    ASSERT_TRUE(stream->Read(&r)) << "batch " << b;
    EXPECT_EQ(r.ack().sequence(), static_cast<uint64_t>(b));
    EXPECT_EQ(r.ack().stored(), 100u);
  }
  sender.join();
  v1::IngestResponse r;
  EXPECT_FALSE(stream->Read(&r));
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(store.Count({}).value_or(0), uint64_t{kBatches} * 100);
  server->Shutdown();
  writer.Drain();
}

}  // namespace
}  // namespace kubetrail::aggregator
