#include "services/collector/tail_pipeline.h"

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "common/strings.h"
#include "gtest/gtest.h"
#include "services/collector/intake.h"
#include "services/collector/source/tailer.h"
#include "services/collector/spool/spool.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/text.h"

namespace kubetrail::collector {
namespace {

using kubetrail::v1::EnvelopedEvent;

constexpr absl::Duration kDeadline = absl::Seconds(60);

// One audit event as a JSON line of about 400 bytes, with auditID `id`.
std::string Line(std::string_view id) {
  return Cat(R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":")", id,
             R"(","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods",)"
             R"("verb":"list","user":{"username":"system:serviceaccount:default:reader",)"
             R"("groups":["system:serviceaccounts","system:authenticated"]},)"
             R"("sourceIPs":["10.0.0.7"],"userAgent":"kubectl/v1.31.0",)"
             R"("objectRef":{"resource":"pods","namespace":"default","apiVersion":"v1"},)"
             R"("responseStatus":{"metadata":{},"code":200},)"
             R"("requestReceivedTimestamp":"2026-11-27T06:00:00.000000Z",)"
             R"("stageTimestamp":"2026-11-27T06:00:00.002000Z"})",
             "\n");
}

std::string Id(size_t i) { return Cat("line-", i); }

class TailPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(dir_.ok()) << dir_.error(); }
  // A test that failed half way still stops its pipeline.
  void TearDown() override {
    if (runner_.joinable()) Stop();
  }

  void OpenSpool(uint64_t max_bytes) {
    SpoolConfig config;
    config.dir = dir_.File("spool");
    config.max_bytes = max_bytes;
    config.sync = false;  // durability is the spool's own tests' subject
    absl::StatusOr<std::unique_ptr<Spool>> spool = Spool::Open(config, Clock::Real());
    ASSERT_TRUE(spool.ok()) << spool.status();
    spool_ = *std::move(spool);
    intake_ = std::make_unique<Intake>(*spool_, IntakeConfig{.cluster = "c", .source = "s"},
                                       Clock::Real(), &registry_);
  }

  // Starts a tailer of the log at the position stored in the spool, and a pipeline on it.
  void Start(size_t threads, size_t chunk_bytes) {
    std::optional<TailPosition> resume;
    absl::StatusOr<std::optional<std::string>> stored = spool_->Position(Cat("tail:", log_));
    ASSERT_TRUE(stored.ok()) << stored.status();
    if (stored->has_value()) {
      absl::StatusOr<TailPosition> position = TailPosition::Decode(**stored);
      ASSERT_TRUE(position.ok()) << position.status();
      resume = *position;
    }
    TailerConfig tc;
    tc.path = log_;
    tc.poll_interval = absl::Milliseconds(20);
    absl::StatusOr<std::unique_ptr<Tailer>> tailer = Tailer::Open(tc, resume, Clock::Real());
    ASSERT_TRUE(tailer.ok()) << tailer.status();
    tailer_ = *std::move(tailer);
    TailPipelineConfig pc;
    pc.path = log_;
    pc.threads = threads;
    pc.chunk_bytes = chunk_bytes;
    pc.read_wait = pc.room_wait = absl::Milliseconds(50);
    pipeline_ = std::make_unique<TailPipeline>(pc, *tailer_, *intake_, *spool_);
    runner_ = std::thread([this] { pipeline_->Run(); });
  }

  void Stop() {
    pipeline_->Stop();
    spool_->Wake();
    runner_.join();
  }

  // Waits until `done` or the deadline; false on the deadline.
  template <typename F>
  bool WaitFor(F done) {
    const absl::Time deadline = absl::Now() + kDeadline;
    while (!done()) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return true;
  }

  // auditIDs of the spooled events with sequence > `after`, in spool order.
  std::vector<std::string> SpooledIds(uint64_t after = 0) {
    std::vector<SpooledEvent> read;
    absl::StatusOr<size_t> n = spool_->Read(after, 1'000'000, size_t{1} << 30, &read);
    EXPECT_TRUE(n.ok()) << n.status();
    std::vector<std::string> ids;
    for (const SpooledEvent& s : read) {
      EnvelopedEvent e;
      EXPECT_TRUE(e.ParseFromString(s.bytes));
      ids.push_back(e.event().audit_id());
    }
    return ids;
  }

  uint64_t CommittedOffset() {
    absl::StatusOr<std::optional<std::string>> stored = spool_->Position(Cat("tail:", log_));
    EXPECT_TRUE(stored.ok()) << stored.status();
    if (!stored.ok() || !stored->has_value()) return 0;
    absl::StatusOr<TailPosition> position = TailPosition::Decode(**stored);
    EXPECT_TRUE(position.ok()) << position.status();
    return position.ok() ? position->offset : 0;
  }

  testing::TempDir dir_;
  const std::string log_ = dir_.File("audit.log");
  Registry registry_;
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<Intake> intake_;
  std::unique_ptr<Tailer> tailer_;
  std::unique_ptr<TailPipeline> pipeline_;
  std::thread runner_;
};

TEST(LineLocatorTest, NamesABadLineByItsOffsetInTheFile) {
  TailChunk chunk;
  chunk.file = "/var/log/kubernetes/audit/audit.log";
  chunk.first_offset = 1000;
  // Lines start at bytes 0, 8 (blank), 9, 14 and 22 of the chunk.
  chunk.data = "{\"a\":1}\n\n{bad\n{\"b\":2}\n{bad again\n";
  tail_internal::LineLocator locate(chunk);
  EXPECT_EQ(locate.Describe(3, "line 3: byte 2: expected a string as object key"),
            "/var/log/kubernetes/audit/audit.log: line at offset 1009: byte 2: expected a string "
            "as object key");
  EXPECT_EQ(locate.Describe(5, "line 5: byte 2: bad"),
            "/var/log/kubernetes/audit/audit.log: line at offset 1022: byte 2: bad");
  // Not a line's own error: the chunk's start is named instead.
  EXPECT_EQ(locate.Describe(5, "items[3] (line 5): bad"),
            "/var/log/kubernetes/audit/audit.log: in the lines from offset 1000: items[3] (line "
            "5): bad");
}

TEST_F(TailPipelineTest, EveryLineIsSpooledOnceInReadOrderWithThePositionAfterIt) {
  // Chunks of about 4 lines, decoded by 3 workers at once: they finish out of order, and must
  // still be appended in order.
  std::string content;
  std::vector<std::string> want;
  size_t bad = 0;
  for (size_t i = 0; i < 3000; ++i) {
    if (i % 500 == 7) {
      content += "{\"kind\":\"Event\", this is not JSON\n";
      ++bad;
      continue;
    }
    content += Line(Id(i));
    want.push_back(Id(i));
  }
  dir_.Write("audit.log", content);
  OpenSpool(uint64_t{1} << 30);
  Start(/*threads=*/3, /*chunk_bytes=*/1700);

  ASSERT_TRUE(WaitFor([&] { return CommittedOffset() == content.size(); }))
      << "committed " << CommittedOffset() << " of " << content.size() << " bytes";
  Stop();
  EXPECT_EQ(SpooledIds(), want);
  EXPECT_EQ(testing::SampleValue(registry_.Expose(),
                                 R"(kubetrail_collector_events_spooled_total{source="tail"})"),
            want.size());
  EXPECT_EQ(testing::SampleValue(registry_.Expose(),
                                 R"(kubetrail_collector_events_dropped_total{source="tail",)"
                                 R"(reason="undecodable"})"),
            bad);
}

TEST_F(TailPipelineTest, AFullSpoolHoldsLaterChunksAndAfterStopTheNextStartReadsTheRest) {
  std::string content;
  std::vector<size_t> line_end;  // offset after each line
  for (size_t i = 0; i < 400; ++i) {
    content += Line(Id(i));
    line_end.push_back(content.size());
  }
  dir_.Write("audit.log", content);
  // Room for a fraction of the log: the worker whose turn it is waits, the others finish
  // decoding and wait behind it.
  OpenSpool(/*max_bytes=*/24 << 10);
  Start(/*threads=*/3, /*chunk_bytes=*/2000);
  ASSERT_TRUE(WaitFor([&] { return spool_->Stats().full; }));
  Stop();

  // What was spooled is a prefix of the log, and the committed position is exactly its end.
  const std::vector<std::string> first = SpooledIds();
  ASSERT_FALSE(first.empty());
  ASSERT_LT(first.size(), line_end.size());
  for (size_t i = 0; i < first.size(); ++i) ASSERT_EQ(first[i], Id(i)) << i;
  EXPECT_EQ(CommittedOffset(), line_end[first.size() - 1]);

  // The shipper makes room; a new tailer and pipeline resume from the committed position.
  const uint64_t last = spool_->Stats().last_sequence;
  ASSERT_TRUE(spool_->Ack(last).ok());
  pipeline_.reset();
  Start(/*threads=*/3, /*chunk_bytes=*/2000);
  ASSERT_TRUE(WaitFor([&] {
    if (CommittedOffset() == content.size()) return true;
    // Keep acknowledging, as the shipper would.
    const SpoolStats stats = spool_->Stats();
    EXPECT_TRUE(spool_->Ack(stats.last_sequence).ok());
    return false;
  }));
  Stop();
  EXPECT_EQ(spool_->Stats().appended_events, line_end.size())
      << "each line spooled exactly once over both runs";
}

TEST_F(TailPipelineTest, ChunksThatWaitedForRoomAreSpooledTogether) {
  // Four chunks of five lines.
  std::string content;
  std::vector<std::string> want;
  for (size_t i = 0; i < 20; ++i) {
    content += Line(Id(i));
    want.push_back(Id(i));
  }
  dir_.Write("audit.log", content);
  OpenSpool(/*max_bytes=*/64 << 10);
  // Another source's batch fills the spool: no chunk fits.
  EnvelopedEvent filler;
  filler.mutable_event()->set_audit_id("filler");
  filler.mutable_event()->set_user_agent(std::string(63 << 10, 'x'));
  ASSERT_TRUE(spool_->Append({filler}).ok());
  Start(/*threads=*/3, /*chunk_bytes=*/5 * Line(Id(0)).size());
  // Every chunk is read and prepared (counted received) while the first waits for room.
  const std::string received = R"(kubetrail_collector_events_received_total{source="tail"})";
  ASSERT_TRUE(WaitFor([&] { return testing::SampleValue(registry_.Expose(), received) == 20; }));
  ASSERT_EQ(spool_->Stats().appended_batches, 1u);
  ASSERT_TRUE(spool_->Ack(1).ok());

  ASSERT_TRUE(WaitFor([&] { return CommittedOffset() == content.size(); }));
  Stop();
  EXPECT_EQ(SpooledIds(/*after=*/1), want);
  // The first chunk alone at most (its turn came before the others were ready), then the
  // rest in one append.
  EXPECT_LE(spool_->Stats().appended_batches, 1u + 2u);
}

TEST_F(TailPipelineTest, StopReturnsWhileTheLogIsIdle) {
  dir_.Write("audit.log", Line(Id(0)));
  OpenSpool(uint64_t{1} << 30);
  Start(/*threads=*/2, /*chunk_bytes=*/1 << 20);
  ASSERT_TRUE(WaitFor([&] { return spool_->Stats().appended_events == 1; }));
  Stop();  // the reader waits for lines, the workers for chunks: both must end
  EXPECT_EQ(SpooledIds(), std::vector<std::string>{Id(0)});
}

}  // namespace
}  // namespace kubetrail::collector
