#include "services/collector/spool/spool.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/merge_operator.h"
#include "tests/testing/temp_dir.h"

namespace kubetrail::collector {
namespace {

using kubetrail::v1::EnvelopedEvent;

EnvelopedEvent MakeEvent(const std::string& audit_id, int64_t receive_us, size_t padding = 100) {
  EnvelopedEvent e;
  e.mutable_envelope()->set_cluster("c1");
  e.mutable_envelope()->set_source("s1");
  e.mutable_envelope()->set_receive_time_us(receive_us);
  e.mutable_event()->set_audit_id(audit_id);
  e.mutable_event()->set_user_agent(std::string(padding, 'x'));
  return e;
}

std::vector<EnvelopedEvent> MakeBatch(const std::string& prefix, int n, int64_t receive_us,
                                      size_t padding = 100) {
  std::vector<EnvelopedEvent> out;
  for (int i = 0; i < n; ++i)
    out.push_back(MakeEvent(absl::StrCat(prefix, i), receive_us, padding));
  return out;
}

std::string AuditIdOf(const SpooledEvent& e) {
  EnvelopedEvent parsed;
  EXPECT_TRUE(parsed.ParseFromString(e.bytes));
  return parsed.event().audit_id();
}

std::vector<SpooledEvent> ReadAll(const Spool& spool, uint64_t after = 0) {
  std::vector<SpooledEvent> out;
  absl::StatusOr<size_t> n = spool.Read(after, 1 << 30, size_t{1} << 40, &out);
  EXPECT_TRUE(n.ok()) << n.status();
  return out;
}

// The spool's segment files, oldest first.
std::vector<std::string> Segments(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("seg-", 0) == 0) out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(dir_.ok()) << dir_.error(); }
  SpoolConfig Config() {
    SpoolConfig config;
    config.dir = dir_.File("spool");
    return config;
  }
  std::unique_ptr<Spool> OpenOrDie(SpoolConfig config) {
    absl::StatusOr<std::unique_ptr<Spool>> spool = Spool::Open(std::move(config), clock_);
    EXPECT_TRUE(spool.ok()) << spool.status();
    return spool.ok() ? std::move(*spool) : nullptr;
  }

  void ConcurrentAppendsAreReadExactlyOnceInOrder(const SpoolConfig& config);

  testing::TempDir dir_;
  FakeClock clock_;
};

TEST_F(SpoolTest, AppendReadAckInOrder) {
  std::unique_ptr<Spool> spool = OpenOrDie(Config());
  ASSERT_NE(spool, nullptr);
  const int64_t now = clock_.NowMicros();
  absl::StatusOr<AppendResult> a = spool->Append(MakeBatch("a", 3, now));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->first_sequence, 1u);
  EXPECT_EQ(a->last_sequence, 3u);
  absl::StatusOr<AppendResult> b = spool->Append(MakeBatch("b", 2, now));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->first_sequence, 4u);
  EXPECT_EQ(b->last_sequence, 5u);

  std::vector<SpooledEvent> all = ReadAll(*spool);
  ASSERT_EQ(all.size(), 5u);
  const std::vector<std::string> want = {"a0", "a1", "a2", "b0", "b1"};
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].sequence, i + 1);
    EXPECT_EQ(AuditIdOf(all[i]), want[i]);
  }

  // Count and byte limits; the first event always comes.
  std::vector<SpooledEvent> some;
  ASSERT_EQ(*spool->Read(1, 2, 1 << 20, &some), 2u);
  EXPECT_EQ(some[0].sequence, 2u);
  EXPECT_EQ(some[1].sequence, 3u);
  some.clear();
  ASSERT_EQ(*spool->Read(0, 100, 1, &some), 1u);
  EXPECT_EQ(some[0].sequence, 1u);
  some.clear();
  ASSERT_EQ(*spool->Read(5, 100, 1 << 20, &some), 0u);

  SpoolStats stats = spool->Stats();
  EXPECT_EQ(stats.events, 5u);
  EXPECT_EQ(stats.appended_batches, 2u);
  EXPECT_EQ(stats.last_sequence, 5u);
  EXPECT_EQ(stats.oldest, absl::FromUnixMicros(now));

  ASSERT_TRUE(spool->Ack(3).ok());
  all = ReadAll(*spool);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].sequence, 4u);
  stats = spool->Stats();
  EXPECT_EQ(stats.events, 2u);
  EXPECT_EQ(stats.acked_events, 3u);
  ASSERT_TRUE(spool->Ack(5).ok());
  EXPECT_EQ(spool->Stats().events, 0u);
  EXPECT_EQ(spool->Stats().bytes, 0u);
  EXPECT_EQ(spool->Stats().oldest, absl::InfinitePast());
}

TEST(SerializedEventsTest, ASharedEnvelopeGivesTheBytesOfTheEnvelopedEvents) {
  kubetrail::v1::Envelope envelope;
  envelope.set_cluster(std::string(200, 'c'));  // a two-byte length
  envelope.set_source("apiserver-1");
  envelope.set_receive_time_us(1'800'000'000'123'456);
  // Events whose sizes need one, two and three length bytes, and an empty one (still
  // written: the event field is set).
  std::vector<kubetrail::v1::Event> events(4);
  events[0].set_audit_id("small");
  events[1].set_audit_id("medium");
  events[1].set_user_agent(std::string(300, 'u'));
  events[2].set_audit_id("large");
  events[2].set_request_object(std::string(70'000, 'r'));
  std::vector<EnvelopedEvent> enveloped;
  std::vector<const kubetrail::v1::Event*> pointers;
  for (const kubetrail::v1::Event& event : events) {
    EnvelopedEvent& e = enveloped.emplace_back();
    *e.mutable_envelope() = envelope;
    *e.mutable_event() = event;
    pointers.push_back(&event);
  }

  SerializedEvents want;
  want.Assign(enveloped);
  SerializedEvents got;
  got.bytes = "left over from an earlier batch";
  got.sizes = {1, 2, 3, 4, 5, 6};
  got.Assign(envelope, pointers);
  EXPECT_EQ(got.bytes, want.bytes);
  EXPECT_EQ(got.sizes, want.sizes);
  EXPECT_EQ(got.crc, want.crc);
  EXPECT_EQ(got.receive_us, envelope.receive_time_us());

  size_t at = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    EnvelopedEvent parsed;
    ASSERT_TRUE(parsed.ParseFromString(got.bytes.substr(at, got.sizes[i])));
    at += got.sizes[i];
    EXPECT_EQ(parsed.SerializeAsString(), enveloped[i].SerializeAsString()) << "event " << i;
    EXPECT_TRUE(parsed.has_event()) << "event " << i;
  }
  EXPECT_EQ(at, got.bytes.size());

  got.Assign(envelope, {});
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(got.bytes.empty());
}

// FORMAT.md defines the checksums as zlib's crc32; the spool computes them with libdeflate.
// Sizes around its vector widths and unaligned starts, so every code path is compared.
TEST(SerializedEventsTest, TheChecksumIsZlibsCrc32) {
  kubetrail::v1::Envelope envelope;
  envelope.set_cluster("c");
  envelope.set_source("s");
  envelope.set_receive_time_us(1);
  for (size_t n : {0, 1, 7, 15, 16, 17, 31, 63, 64, 65, 255, 256, 1000, 4099, 70'001}) {
    kubetrail::v1::Event event;
    event.set_audit_id("x");
    std::string payload(n, '\0');
    for (size_t i = 0; i < n; ++i) payload[i] = static_cast<char>(i * 131 + n);
    event.set_request_object(payload);
    SerializedEvents serialized;
    serialized.Assign(envelope, {&event});
    const uint32_t want = static_cast<uint32_t>(crc32_z(
        0, reinterpret_cast<const Bytef*>(serialized.bytes.data()), serialized.bytes.size()));
    EXPECT_EQ(serialized.crc, want) << n << " bytes of payload";
  }
}

TEST_F(SpoolTest, PartsAppendedTogetherAreOneRecordThatSurvivesAReopen) {
  const int64_t first_receive = clock_.NowMicros();
  SerializedEvents a, empty, b;
  a.Assign(MakeBatch("a", 3, first_receive));
  b.Assign(MakeBatch("b", 2, first_receive + 5'000'000));
  const SerializedEvents* parts[] = {&a, &empty, &b};
  const SpoolPosition position{"tail:/var/log/audit.log", "after-b"};
  {
    std::unique_ptr<Spool> spool = OpenOrDie(Config());
    ASSERT_NE(spool, nullptr);
    ASSERT_TRUE(spool->Append(MakeBatch("before", 1, first_receive - 1'000'000)).ok());
    absl::StatusOr<AppendResult> appended = spool->AppendSerialized(parts, &position);
    ASSERT_TRUE(appended.ok()) << appended.status();
    EXPECT_EQ(appended->first_sequence, 2u);
    EXPECT_EQ(appended->last_sequence, 6u);
    EXPECT_EQ(spool->Stats().appended_batches, 2u) << "the parts are one append";

    const SerializedEvents* none[] = {&empty};
    EXPECT_EQ(spool->AppendSerialized(none).status().code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(spool->AppendSerialized(absl::Span<const SerializedEvents* const>()).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  // Reopening reads the record back (its checksum covers every part) with its position.
  std::unique_ptr<Spool> spool = OpenOrDie(Config());
  ASSERT_NE(spool, nullptr);
  std::vector<SpooledEvent> all = ReadAll(*spool);
  std::vector<std::string> ids;
  for (const SpooledEvent& e : all) ids.push_back(AuditIdOf(e));
  EXPECT_EQ(ids, (std::vector<std::string>{"before0", "a0", "a1", "a2", "b0", "b1"}));
  EXPECT_EQ(spool->Stats().bytes, a.bytes.size() + b.bytes.size() + all[0].bytes.size());
  absl::StatusOr<std::optional<std::string>> stored = spool->Position(position.key);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->value_or("none"), "after-b");
  // The record's receive time is its first part's.
  ASSERT_TRUE(spool->Ack(1).ok());
  EXPECT_EQ(spool->Stats().oldest, absl::FromUnixMicros(first_receive));
}

TEST_F(SpoolTest, ReopenKeepsEventsPositionsAndNeverReusesSequences) {
  {
    std::unique_ptr<Spool> spool = OpenOrDie(Config());
    ASSERT_NE(spool, nullptr);
    SpoolPosition position{"tail:/var/log/audit.log", "pos-1"};
    ASSERT_TRUE(spool->Append(MakeBatch("a", 4, clock_.NowMicros()), &position).ok());
    position.value = "pos-2";
    ASSERT_TRUE(spool->Append(MakeBatch("b", 4, clock_.NowMicros()), &position).ok());
    ASSERT_TRUE(spool->Ack(2).ok());
  }
  {
    std::unique_ptr<Spool> spool = OpenOrDie(Config());
    ASSERT_NE(spool, nullptr);
    std::vector<SpooledEvent> all = ReadAll(*spool);
    ASSERT_EQ(all.size(), 6u);
    EXPECT_EQ(all.front().sequence, 3u);
    EXPECT_EQ(AuditIdOf(all.front()), "a2");
    EXPECT_EQ(all.back().sequence, 8u);
    EXPECT_EQ(spool->Stats().events, 6u);
    EXPECT_EQ(spool->Stats().bytes, spool->Stats().events * all[0].bytes.size());
    absl::StatusOr<std::optional<std::string>> position =
        spool->Position("tail:/var/log/audit.log");
    ASSERT_TRUE(position.ok());
    EXPECT_EQ(position->value_or("none"), "pos-2");
    EXPECT_FALSE(spool->Position("tail:other")->has_value());
    ASSERT_TRUE(spool->Ack(8).ok());
  }
  std::unique_ptr<Spool> spool = OpenOrDie(Config());
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(spool->Stats().events, 0u);
  absl::StatusOr<AppendResult> c = spool->Append(MakeBatch("c", 1, clock_.NowMicros()));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->first_sequence, 9u);
}

TEST_F(SpoolTest, BlockModeRefusesWhenFullUntilAcked) {
  SpoolConfig config = Config();
  const size_t event_bytes = MakeEvent("a0", clock_.NowMicros()).ByteSizeLong();
  config.max_bytes = event_bytes * 10;
  std::unique_ptr<Spool> spool = OpenOrDie(config);
  ASSERT_NE(spool, nullptr);
  ASSERT_TRUE(spool->Append(MakeBatch("a", 8, clock_.NowMicros())).ok());
  absl::StatusOr<AppendResult> refused = spool->Append(MakeBatch("b", 3, clock_.NowMicros()));
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
  EXPECT_NE(refused.status().message().find("is full"), std::string::npos) << refused.status();
  EXPECT_EQ(spool->Stats().refused_full, 1u);
  EXPECT_TRUE(spool->Stats().full);
  EXPECT_EQ(spool->Stats().events, 8u);
  EXPECT_FALSE(spool->WaitForRoom(event_bytes * 3, absl::Milliseconds(1)));

  std::thread acker([&] { ASSERT_TRUE(spool->Ack(4).ok()); });
  EXPECT_TRUE(spool->WaitForRoom(event_bytes * 3, absl::Seconds(30)));
  acker.join();
  EXPECT_FALSE(spool->Stats().full);
  ASSERT_TRUE(spool->Append(MakeBatch("b", 3, clock_.NowMicros())).ok());
  EXPECT_EQ(spool->Stats().events, 7u);

  // A batch larger than the whole spool can never fit.
  absl::StatusOr<AppendResult> huge = spool->Append(MakeBatch("h", 11, clock_.NowMicros()));
  ASSERT_EQ(huge.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(huge.status().message().find("larger than the spool"), std::string::npos);
}

TEST_F(SpoolTest, BlockModeIsFullWhileTheOldestIsTooOld) {
  SpoolConfig config = Config();
  config.max_age = absl::Hours(1);
  std::unique_ptr<Spool> spool = OpenOrDie(config);
  ASSERT_NE(spool, nullptr);
  ASSERT_TRUE(spool->Append(MakeBatch("a", 2, clock_.NowMicros())).ok());
  clock_.Advance(absl::Minutes(61));
  absl::StatusOr<AppendResult> refused = spool->Append(MakeBatch("b", 1, clock_.NowMicros()));
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(refused.status().message().find("oldest"), std::string::npos) << refused.status();
  EXPECT_EQ(ReadAll(*spool).size(), 2u);  // nothing dropped
  ASSERT_TRUE(spool->Ack(2).ok());
  EXPECT_TRUE(spool->Append(MakeBatch("b", 1, clock_.NowMicros())).ok());
}

TEST_F(SpoolTest, DropOldestCountsWhatItDrops) {
  SpoolConfig config = Config();
  config.when_full = WhenFull::kDropOldest;
  config.max_age = absl::Hours(1);
  const size_t event_bytes = MakeEvent("a0", clock_.NowMicros()).ByteSizeLong();
  config.max_bytes = event_bytes * 10;
  std::unique_ptr<Spool> spool = OpenOrDie(config);
  ASSERT_NE(spool, nullptr);
  ASSERT_TRUE(spool->Append(MakeBatch("a", 8, clock_.NowMicros())).ok());
  absl::StatusOr<AppendResult> b = spool->Append(MakeBatch("b", 4, clock_.NowMicros()));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->dropped, 2u);
  std::vector<SpooledEvent> all = ReadAll(*spool);
  ASSERT_EQ(all.size(), 10u);
  EXPECT_EQ(AuditIdOf(all.front()), "a2");
  EXPECT_EQ(spool->Stats().dropped_full, 2u);

  // Everything older than max_age goes, counted apart.
  clock_.Advance(absl::Minutes(90));
  absl::StatusOr<AppendResult> c = spool->Append(MakeBatch("c", 1, clock_.NowMicros()));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->dropped, 10u);
  EXPECT_EQ(spool->Stats().dropped_expired, 10u);
  all = ReadAll(*spool);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(AuditIdOf(all.front()), "c0");
  EXPECT_TRUE(spool->WaitForRoom(size_t{1} << 40, absl::ZeroDuration()));
}

TEST_F(SpoolTest, RejectsBadInputAndBadConfig) {
  std::unique_ptr<Spool> spool = OpenOrDie(Config());
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(spool->Append({}).status().code(), absl::StatusCode::kInvalidArgument);
  // A position alone moves; no event appears.
  SpoolPosition alone{"tail:x", "p"};
  ASSERT_TRUE(spool->Append({}, &alone).ok());
  EXPECT_EQ(spool->Position("tail:x")->value_or(""), "p");
  SpoolPosition empty_key{"", "x"};
  EXPECT_EQ(spool->Append(MakeBatch("a", 1, 1), &empty_key).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(spool->Stats().events, 0u);

  // A second opener of the same directory is refused while the first has it.
  absl::StatusOr<std::unique_ptr<Spool>> second = Spool::Open(Config(), clock_);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();

  SpoolConfig no_dir;
  EXPECT_EQ(Spool::Open(no_dir, clock_).status().code(), absl::StatusCode::kInvalidArgument);
  SpoolConfig zero = Config();
  zero.max_bytes = 0;
  EXPECT_EQ(Spool::Open(zero, clock_).status().code(), absl::StatusCode::kInvalidArgument);
}

// Small segments: the spool rolls to new files, deletes the acknowledged ones whole, and
// keeps every position and the sequence count across that and a reopen.
TEST_F(SpoolTest, SegmentsRollAndAcknowledgedOnesAreDeleted) {
  SpoolConfig config = Config();
  config.segment_bytes = 4096;
  {
    std::unique_ptr<Spool> spool = OpenOrDie(config);
    ASSERT_NE(spool, nullptr);
    SpoolPosition a{"tail:a", ""};
    SpoolPosition b{"tail:b", "b-only"};
    ASSERT_TRUE(spool->Append(MakeBatch("first", 2, clock_.NowMicros()), &b).ok());
    for (int i = 0; i < 40; ++i) {
      a.value = absl::StrCat("a-", i);
      ASSERT_TRUE(spool->Append(MakeBatch(absl::StrCat("x", i, "e"), 5, clock_.NowMicros(), 300),
                                &a)
                      .ok());
    }
    const size_t segments = Segments(config.dir).size();
    EXPECT_GE(segments, 10u);
    std::vector<SpooledEvent> all = ReadAll(*spool);
    ASSERT_EQ(all.size(), 202u);
    EXPECT_EQ(AuditIdOf(all[2]), "x0e0");
    EXPECT_EQ(AuditIdOf(all.back()), "x39e4");

    // Acknowledging half deletes about half of the files; all of it, all but the last.
    ASSERT_TRUE(spool->Ack(101).ok());
    EXPECT_LT(Segments(config.dir).size(), segments * 2 / 3);
    EXPECT_EQ(ReadAll(*spool).front().sequence, 102u);
    ASSERT_TRUE(spool->Ack(202).ok());
    EXPECT_EQ(Segments(config.dir).size(), 1u);
    EXPECT_EQ(spool->Position("tail:b")->value_or(""), "b-only");
  }
  std::unique_ptr<Spool> spool = OpenOrDie(config);
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(spool->Stats().events, 0u);
  EXPECT_EQ(spool->Position("tail:a")->value_or(""), "a-39");
  EXPECT_EQ(spool->Position("tail:b")->value_or(""), "b-only");
  absl::StatusOr<AppendResult> next = spool->Append(MakeBatch("n", 1, clock_.NowMicros()));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->first_sequence, 203u);
}

// A crash in the middle of a write leaves a partial record at the end of the last segment:
// Open cuts it off, and later appends follow the last whole record.
TEST_F(SpoolTest, ATornTailIsCutOffAndAppendsContinue) {
  for (const std::string& tail : {std::string(20, 'k'), std::string(5000, '\0')}) {
    SpoolConfig config = Config();
    config.dir = dir_.File(absl::StrCat("torn-", tail.size()));
    std::string segment;
    size_t before_last = 0;
    {
      std::unique_ptr<Spool> spool = OpenOrDie(config);
      ASSERT_NE(spool, nullptr);
      for (int b = 0; b < 3; ++b) {
        if (b == 2) before_last = ReadFile(Segments(config.dir)[0]).size();
        ASSERT_TRUE(
            spool->Append(MakeBatch(absl::StrCat("b", b, "e"), 4, clock_.NowMicros())).ok());
      }
      ASSERT_EQ(Segments(config.dir).size(), 1u);
      segment = Segments(config.dir)[0];
    }
    // The first 300 bytes of a copy of the last record (a whole header), then the torn bytes:
    // the record is either cut short or fails its checksum.
    const std::string whole = ReadFile(segment);
    WriteFile(segment, whole + whole.substr(before_last, 300) + tail);
    {
      std::unique_ptr<Spool> spool = OpenOrDie(config);
      ASSERT_NE(spool, nullptr);
      EXPECT_EQ(ReadFile(segment).size(), whole.size());
      EXPECT_EQ(ReadAll(*spool).size(), 12u);
      absl::StatusOr<AppendResult> more = spool->Append(MakeBatch("b3e", 4, clock_.NowMicros()));
      ASSERT_TRUE(more.ok()) << more.status();
      EXPECT_EQ(more->first_sequence, 13u);
    }
    std::unique_ptr<Spool> spool = OpenOrDie(config);
    ASSERT_NE(spool, nullptr);
    std::vector<SpooledEvent> all = ReadAll(*spool);
    ASSERT_EQ(all.size(), 16u);
    for (size_t i = 0; i < all.size(); ++i) {
      EXPECT_EQ(all[i].sequence, i + 1);
      EXPECT_EQ(AuditIdOf(all[i]), absl::StrCat("b", i / 4, "e", i % 4));
    }
  }
}

// A damaged record in a segment that is not the last is not a torn write: Open refuses with
// DataLoss naming the file instead of skipping events.
TEST_F(SpoolTest, ACorruptOlderSegmentIsDataLoss) {
  SpoolConfig config = Config();
  config.segment_bytes = 2048;
  {
    std::unique_ptr<Spool> spool = OpenOrDie(config);
    ASSERT_NE(spool, nullptr);
    for (int b = 0; b < 10; ++b)
      ASSERT_TRUE(spool->Append(MakeBatch(absl::StrCat("b", b), 4, clock_.NowMicros(), 200)).ok());
  }
  const std::vector<std::string> segments = Segments(config.dir);
  ASSERT_GE(segments.size(), 3u);
  std::string bytes = ReadFile(segments[1]);
  bytes[bytes.size() - 100] ^= 0x20;
  WriteFile(segments[1], bytes);
  absl::StatusOr<std::unique_ptr<Spool>> spool = Spool::Open(config, clock_);
  ASSERT_EQ(spool.status().code(), absl::StatusCode::kDataLoss) << spool.status();
  EXPECT_NE(spool.status().message().find(segments[1]), std::string::npos) << spool.status();
  EXPECT_NE(spool.status().message().find("checksum"), std::string::npos) << spool.status();
}

TEST_F(SpoolTest, RefusesAnotherFormat) {
  SpoolConfig config = Config();
  { ASSERT_NE(OpenOrDie(config), nullptr); }
  WriteFile(config.dir + "/FORMAT", "kubetrail-spool 3\n");
  absl::StatusOr<std::unique_ptr<Spool>> spool = Spool::Open(config, clock_);
  ASSERT_EQ(spool.status().code(), absl::StatusCode::kFailedPrecondition) << spool.status();
  EXPECT_NE(spool.status().message().find("format version \"3\""), std::string::npos)
      << spool.status();
}

// A spool of format version 1 (RocksDB, written here by hand as FORMAT.md describes it) is
// migrated at Open: the unacknowledged events keep their sequences, the positions stay, and
// sequences go on from version 1's next.
TEST_F(SpoolTest, MigratesFormatVersion1) {
  class MaxUint64 : public rocksdb::AssociativeMergeOperator {
   public:
    bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
               std::string* new_value, rocksdb::Logger*) const override {
      uint64_t v = GetBig64(value.data());
      if (existing != nullptr) v = std::max(v, GetBig64(existing->data()));
      *new_value = Big64(v);
      return true;
    }
    const char* Name() const override { return "kubetrail.MaxUint64"; }
  };
  SpoolConfig config = Config();
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.merge_operator = std::make_shared<MaxUint64>();
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, config.dir, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "m:format", "1").ok());
    // Events 1-3 were acknowledged; 4-6 and 9 are held (7 and 8: a failed write).
    for (uint64_t seq : {4, 5, 6, 9}) {
      std::string key = "e";
      PutBig64(seq, &key);
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), key,
                          MakeEvent(absl::StrCat("v1-", seq), clock_.NowMicros() + static_cast<int64_t>(seq))
                              .SerializeAsString())
                      .ok());
    }
    ASSERT_TRUE(db->Merge(rocksdb::WriteOptions(), "m:next", Big64(12)).ok());
    ASSERT_TRUE(db->Merge(rocksdb::WriteOptions(), "m:acked", Big64(3)).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "p:tail:/log", "pos-v1").ok());
  }
  for (int open = 0; open < 2; ++open) {
    std::unique_ptr<Spool> spool = OpenOrDie(config);
    ASSERT_NE(spool, nullptr);
    EXPECT_FALSE(std::filesystem::exists(config.dir + "/CURRENT"));
    std::vector<SpooledEvent> all = ReadAll(*spool);
    ASSERT_EQ(all.size(), 4u);
    const std::vector<uint64_t> sequences = {4, 5, 6, 9};
    for (size_t i = 0; i < all.size(); ++i) {
      EXPECT_EQ(all[i].sequence, sequences[i]);
      EXPECT_EQ(AuditIdOf(all[i]), absl::StrCat("v1-", sequences[i]));
    }
    EXPECT_EQ(spool->Stats().oldest, absl::FromUnixMicros(clock_.NowMicros() + 4));
    EXPECT_EQ(spool->Position("tail:/log")->value_or(""), "pos-v1");
    if (open == 1) {
      absl::StatusOr<AppendResult> next = spool->Append(MakeBatch("v2-", 1, clock_.NowMicros()));
      ASSERT_TRUE(next.ok()) << next.status();
      EXPECT_EQ(next->first_sequence, 12u);
    }
  }
}

// A full disk (here: the file size limit) fails the append with ResourceExhausted naming the
// file; nothing of that batch is spooled, and once there is room again appends go on and
// every confirmed batch reads back intact after a reopen.
TEST_F(SpoolTest, AFullDiskRefusesTheBatchAndLosesNothing) {
  SpoolConfig config = Config();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    absl::StatusOr<std::unique_ptr<Spool>> spool = Spool::Open(config, Clock::Real());
    if (!spool.ok()) ::_exit(10);
    rlimit limit{};
    ::getrlimit(RLIMIT_FSIZE, &limit);
    const rlimit saved = limit;
    limit.rlim_cur = 64 * 1024;
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(11);
    int b = 0;
    absl::StatusOr<AppendResult> r;
    for (;; ++b) {
      r = (*spool)->Append(MakeBatch(absl::StrCat("b", b, "e"), 10, Clock::Real().NowMicros(), 500));
      if (!r.ok()) break;
    }
    if (r.status().code() != absl::StatusCode::kResourceExhausted) ::_exit(12);
    if (r.status().message().find("seg-") == std::string_view::npos) ::_exit(13);
    if ((*spool)->Stats().events != static_cast<uint64_t>(b) * 10) ::_exit(14);
    if (::setrlimit(RLIMIT_FSIZE, &saved) != 0) ::_exit(15);
    if (!(*spool)->Append(MakeBatch(absl::StrCat("b", b, "e"), 10, Clock::Real().NowMicros(), 500))
             .ok()) {
      ::_exit(16);
    }
    ::_exit(b > 0 ? 0 : 17);
  }
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  ASSERT_TRUE(WIFEXITED(wstatus));
  ASSERT_EQ(WEXITSTATUS(wstatus), 0);
  std::unique_ptr<Spool> spool = OpenOrDie(config);
  ASSERT_NE(spool, nullptr);
  std::vector<SpooledEvent> all = ReadAll(*spool);
  ASSERT_GT(all.size(), 10u);
  ASSERT_EQ(all.size() % 10, 0u);
  // The refused batch's sequences stay unused: the retry follows them.
  const size_t confirmed_before = all.size() - 10;
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].sequence, i < confirmed_before ? i + 1 : i + 11);
    EXPECT_EQ(AuditIdOf(all[i]), absl::StrCat("b", i / 10, "e", i % 10));
  }
}

TEST_F(SpoolTest, RefusesANewerFormat) {
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, Config().dir, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "m:format", "2").ok());
  }
  absl::StatusOr<std::unique_ptr<Spool>> spool = Spool::Open(Config(), clock_);
  ASSERT_EQ(spool.status().code(), absl::StatusCode::kFailedPrecondition) << spool.status();
  EXPECT_NE(spool.status().message().find("format version \"2\""), std::string::npos);
}

// Appenders on several threads and one reader following them: every event is read exactly
// once and in sequence order, never skipped because a later append committed first.
TEST_F(SpoolTest, ConcurrentAppendsAreReadExactlyOnceInOrder) {
  for (uint64_t segment_bytes : {uint64_t{0}, uint64_t{4096}}) {
    SpoolConfig config = Config();
    config.dir = dir_.File(absl::StrCat("concurrent-", segment_bytes));
    config.segment_bytes = segment_bytes;
    ConcurrentAppendsAreReadExactlyOnceInOrder(config);
    if (HasFatalFailure()) return;
  }
}

void SpoolTest::ConcurrentAppendsAreReadExactlyOnceInOrder(const SpoolConfig& config) {
  SCOPED_TRACE(absl::StrCat("segment_bytes ", config.segment_bytes));
  std::unique_ptr<Spool> spool = OpenOrDie(config);
  ASSERT_NE(spool, nullptr);
  constexpr int kThreads = 4;
  constexpr int kBatches = 50;
  constexpr int kPerBatch = 7;
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        const SpoolPosition position{absl::StrCat("tail:", t), absl::StrCat("b", b)};
        ASSERT_TRUE(spool
                        ->Append(MakeBatch(absl::StrCat("t", t, "b", b, "e"), kPerBatch,
                                           clock_.NowMicros(), 20),
                                 &position)
                        .ok());
      }
    });
  }
  std::set<std::string> seen;
  uint64_t after = 0;
  constexpr size_t kTotal = kThreads * kBatches * kPerBatch;
  while (seen.size() < kTotal) {
    if (!spool->WaitForEvents(after, absl::Seconds(30))) break;
    std::vector<SpooledEvent> got;
    ASSERT_TRUE(spool->Read(after, 33, 1 << 20, &got).ok());
    for (const SpooledEvent& e : got) {
      ASSERT_EQ(e.sequence, after + 1);
      after = e.sequence;
      ASSERT_TRUE(seen.insert(AuditIdOf(e)).second);
    }
    ASSERT_TRUE(spool->Ack(after).ok());
  }
  for (std::thread& w : writers) w.join();
  EXPECT_EQ(seen.size(), kTotal);
  EXPECT_EQ(spool->Stats().events, 0u);
  // Reopened: nothing held, every source's last position, sequences go on.
  spool.reset();
  spool = OpenOrDie(config);
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(spool->Stats().events, 0u);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(spool->Position(absl::StrCat("tail:", t))->value_or(""),
              absl::StrCat("b", kBatches - 1));
  }
  absl::StatusOr<AppendResult> next = spool->Append(MakeBatch("n", 1, clock_.NowMicros()));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->first_sequence, kTotal + 1);
}

TEST_F(SpoolTest, WakeReleasesWaiters) {
  std::unique_ptr<Spool> spool = OpenOrDie(Config());
  ASSERT_NE(spool, nullptr);
  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    EXPECT_FALSE(spool->WaitForEvents(0, absl::InfiniteDuration()));
    returned = true;
  });
  // Wake until the waiter has been released (it may not be waiting yet at the first call).
  while (!returned) {
    spool->Wake();
    absl::SleepFor(absl::Milliseconds(1));
  }
  waiter.join();
}

// A child process appends batches and reports each one Append confirmed; it is killed with
// SIGKILL at some point. Every confirmed batch must be there after reopening, intact.
TEST_F(SpoolTest, ConfirmedAppendsSurviveSigkill) {
  for (int round = 0; round < 3; ++round) {
    SpoolConfig config = Config();
    config.dir = dir_.File(absl::StrCat("spool-", round));
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      absl::StatusOr<std::unique_ptr<Spool>> spool = Spool::Open(config, Clock::Real());
      if (!spool.ok()) ::_exit(3);
      for (int b = 0;; ++b) {
        absl::StatusOr<AppendResult> r = (*spool)->Append(
            MakeBatch(absl::StrCat("b", b, "e"), 50, Clock::Real().NowMicros(), 2000));
        if (!r.ok()) ::_exit(4);
        const uint64_t last = r->last_sequence;
        if (::write(fds[1], &last, sizeof(last)) != sizeof(last)) ::_exit(5);
      }
    }
    ::close(fds[1]);
    uint64_t confirmed = 0;
    uint64_t value = 0;
    const int wanted = 20 + round * 15;
    for (int i = 0; i < wanted && ::read(fds[0], &value, sizeof(value)) == sizeof(value); ++i) {
      confirmed = value;
    }
    ::kill(pid, SIGKILL);
    int wstatus = 0;
    ::waitpid(pid, &wstatus, 0);
    // Take in what the child confirmed before it died.
    while (::read(fds[0], &value, sizeof(value)) == sizeof(value)) confirmed = value;
    ::close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(wstatus)) << "child exited with " << WEXITSTATUS(wstatus);
    ASSERT_GT(confirmed, 0u);

    std::unique_ptr<Spool> spool = OpenOrDie(config);
    ASSERT_NE(spool, nullptr);
    std::vector<SpooledEvent> all = ReadAll(*spool);
    ASSERT_GE(all.size(), confirmed);
    for (size_t i = 0; i < all.size(); ++i) {
      ASSERT_EQ(all[i].sequence, i + 1);
      ASSERT_EQ(AuditIdOf(all[i]), absl::StrCat("b", i / 50, "e", i % 50));
    }
    // Whole batches only: a torn last batch is cut off entirely.
    EXPECT_EQ(all.size() % 50, 0u);
  }
}

}  // namespace
}  // namespace kubetrail::collector
