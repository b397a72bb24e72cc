#include "services/collector/spool/spool.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
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
  std::unique_ptr<Spool> spool = OpenOrDie(Config());
  ASSERT_NE(spool, nullptr);
  constexpr int kThreads = 4;
  constexpr int kBatches = 50;
  constexpr int kPerBatch = 7;
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        ASSERT_TRUE(spool
                        ->Append(MakeBatch(absl::StrCat("t", t, "b", b, "e"), kPerBatch,
                                           clock_.NowMicros(), 20))
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
