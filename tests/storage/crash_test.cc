// Crash test of the RocksDB event store: a real child process (kubetrail-crash-writer) writes
// deterministic batches from several threads and is killed with SIGKILL at a random moment;
// the test then reopens the store and verifies, round after round on the same store, that
//  * every batch the child reported durable ("ok I") is there, complete and unchanged,
//  * no batch is there in part (all of its events or none),
//  * no event is stored twice (re-sent batches are duplicates; Count equals the distinct
//    events written), nothing unexpected is stored, and no event once present is lost later,
//  * sequence numbers run 1, 2, ... without gaps, Get finds events by auditID, Count and
//    Stats agree, and Check() finds no inconsistency.
// After each kill `kubetrail-admin backup` copies the store as the kill left it; at the end
// `kubetrail-admin check` (a real process) must find the store consistent, and the last
// backup, restored, must check consistent with the same number of events.
//
// The kill delays come from a seeded RNG; the seed is printed, and KUBETRAIL_CRASH_SEED=N
// replays a run. KUBETRAIL_CRASH_ROUNDS=N changes the number of rounds (default 12).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/event_store.h"
#include "storage/filter.h"
#include "storage/rocksdb_event_store.h"
#include "tests/storage/crash_batches.h"
#include "tests/testing/paths.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

extern char** environ;

namespace kubetrail::testing {
namespace {

using ::kubetrail::storage::CheckReport;
using ::kubetrail::storage::EventTimeMicros;
using ::kubetrail::storage::Filter;
using ::kubetrail::storage::RocksDbEventStore;
using ::kubetrail::storage::RocksDbOptions;
using ::kubetrail::storage::StoredEvent;
using ::kubetrail::storage::StoreStats;
using Clock = std::chrono::steady_clock;

constexpr int kThreads = 3;
// Batches a child may write before it stops on its own; more than it manages before the
// latest kill, so nearly every child dies mid-write.
constexpr uint64_t kBatchesPerRound = 2000;
constexpr auto kTimeBudget = std::chrono::seconds(60);

// A child process whose standard output the test reads while it runs.
class Child {
 public:
  // Starts argv[0] with stdout on a pipe and stderr into `stderr_path`.
  static std::unique_ptr<Child> Start(const std::vector<std::string>& argv,
                                      const std::string& stderr_path) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return nullptr;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (rc != 0) {
      close(fds[0]);
      return nullptr;
    }
    return std::unique_ptr<Child>(new Child(pid, fds[0]));
  }

  ~Child() {
    if (!reaped_) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    if (fd_ >= 0) close(fd_);
  }

  // Reads output until `deadline`, end of output, or (when `until_line` is not empty) until a
  // complete line equal to it has arrived. Returns false at end of output.
  bool ReadUntil(Clock::time_point deadline, std::string_view until_line = {}) {
    while (fd_ >= 0) {
      if (!until_line.empty() && HasLine(until_line)) return true;
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return true;
      pollfd p{fd_, POLLIN, 0};
      const int ready = poll(&p, 1, static_cast<int>(left.count()));
      if (ready <= 0) continue;
      char buffer[65536];
      const ssize_t n = read(fd_, buffer, sizeof(buffer));
      if (n > 0) {
        output_.append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fd_);
        fd_ = -1;
      }
    }
    return false;
  }

  // Sends SIGKILL (unless the child has ended), reads the rest of its output and reaps it.
  // Returns the wait status.
  int KillAndReap() {
    kill(pid_, SIGKILL);
    ReadUntil(Clock::time_point::max());
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    return status;
  }

  const std::string& output() const { return output_; }

 private:
  Child(pid_t pid, int fd) : pid_(pid), fd_(fd) {}

  bool HasLine(std::string_view line) const {
    const std::string needle = std::string(line) + "\n";
    return output_.rfind(needle, 0) == 0 || output_.find("\n" + needle) != std::string::npos;
  }

  pid_t pid_;
  int fd_;
  bool reaped_ = false;
  std::string output_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

// What the test knows each event of a tracked batch should look like.
struct Expected {
  uint64_t batch = 0;  // the original batch that holds it
  uint64_t fingerprint = 0;
};

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(temp_.ok()) << temp_.error();
    writer_ = BinDir() + "/kubetrail-crash-writer";
    admin_ = BinDir() + "/kubetrail-admin";
    ASSERT_TRUE(std::filesystem::exists(writer_)) << writer_ << " is missing; build it first";
    store_dir_ = temp_.File("store");
    backup_dir_ = temp_.File("backups");
  }

  // Starts tracking original batch `batch`: the events it must have all or none of.
  void Track(uint64_t batch) {
    if (batch_sizes_.count(batch) > 0) return;
    const std::vector<kubetrail::v1::EnvelopedEvent> events = CrashBatch(batch);
    batch_sizes_[batch] = events.size();
    for (const kubetrail::v1::EnvelopedEvent& e : events) {
      auto [it, inserted] =
          expected_.emplace(CrashEventKey(e), Expected{batch, CrashEventFingerprint(e)});
      // The generator's auditIDs are random UUIDs: a collision is a broken test, not a bug.
      ASSERT_TRUE(inserted) << "batches " << it->second.batch << " and " << batch << " share event "
                            << e.event().audit_id() << " " << e.event().stage();
    }
  }

  // Reopens the store and verifies everything the header comment promises. `ok` holds the
  // batches the last child reported durable; `recent_ok` a few of them to look up by auditID.
  void Verify(const std::set<uint64_t>& ok, const std::vector<uint64_t>& recent_ok) {
    RocksDbOptions options;
    options.path = store_dir_;
    absl::StatusOr<std::unique_ptr<RocksDbEventStore>> opened = RocksDbEventStore::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.status();
    RocksDbEventStore& store = **opened;

    // Every stored event, in sequence order.
    std::map<uint64_t, uint64_t> present;  // original batch -> events found
    std::unordered_set<std::string> seen;
    uint64_t last = 0;
    int reported = 0;
    auto report = [&reported]() { return ++reported <= 20; };
    for (;;) {
      absl::StatusOr<std::vector<StoredEvent>> page = store.ReadSince(last, Filter{}, 5000);
      ASSERT_TRUE(page.ok()) << page.status();
      if (page->empty()) break;
      for (const StoredEvent& e : *page) {
        if (e.sequence != last + 1 && report()) {
          ADD_FAILURE() << "sequence " << e.sequence << " follows " << last;
        }
        last = e.sequence;
        if (e.time_us != EventTimeMicros(e.event) && report()) {
          ADD_FAILURE() << "sequence " << e.sequence << ": time_us " << e.time_us
                        << " != EventTimeMicros " << EventTimeMicros(e.event);
        }
        const std::string key = CrashEventKey(e.event);
        auto it = expected_.find(key);
        if (it == expected_.end()) {
          if (report()) {
            ADD_FAILURE() << "unexpected event at sequence " << e.sequence << ": "
                          << e.event.envelope().cluster() << " " << e.event.event().audit_id()
                          << " " << e.event.event().stage();
          }
          continue;
        }
        if (CrashEventFingerprint(e.event) != it->second.fingerprint && report()) {
          ADD_FAILURE() << "event of batch " << it->second.batch << " at sequence " << e.sequence
                        << " differs from what was written: "
                        << e.event.ShortDebugString().substr(0, 2000);
        }
        if (!seen.insert(key).second) {
          if (report()) {
            ADD_FAILURE() << "event of batch " << it->second.batch << " stored twice (again at "
                          << "sequence " << e.sequence << "): " << e.event.event().audit_id() << " "
                          << e.event.event().stage();
          }
          continue;
        }
        ++present[it->second.batch];
      }
    }
    EXPECT_EQ(store.LastSequence(), last);

    // All or nothing per batch; nothing durable lost, now or later.
    uint64_t total = 0;
    std::map<std::string, uint64_t> per_cluster;
    std::set<uint64_t> complete;
    for (const auto& [batch, size] : batch_sizes_) {
      const uint64_t found = present.count(batch) > 0 ? present[batch] : 0;
      if (found != 0 && found != size && report()) {
        ADD_FAILURE() << "batch " << batch << " is partly stored: " << found << " of " << size
                      << " events";
      }
      if (found == 0 && complete_.count(batch) > 0 && report()) {
        ADD_FAILURE() << "batch " << batch << " was stored before this round and is gone";
      }
      if (found == size) {
        complete.insert(batch);
        total += size;
        per_cluster[absl::StrCat("c", batch % 3)] += size;
      }
    }
    for (uint64_t index : ok) {
      const uint64_t original = CrashBatchOriginal(index);
      if (complete.count(original) == 0 && report()) {
        ADD_FAILURE() << "batch " << index << " (events of batch " << original
                      << ") was acknowledged durable but is missing or partial";
      }
    }
    complete_ = complete;
    EXPECT_EQ(seen.size(), total);

    // Count, per cluster and in all; Stats.
    absl::StatusOr<uint64_t> count = store.Count(Filter{});
    ASSERT_TRUE(count.ok()) << count.status();
    EXPECT_EQ(*count, total);
    for (int c = 0; c < 3; ++c) {
      Filter filter;
      filter.clusters = {absl::StrCat("c", c)};
      absl::StatusOr<uint64_t> n = store.Count(filter);
      ASSERT_TRUE(n.ok()) << n.status();
      EXPECT_EQ(*n, per_cluster[filter.clusters[0]]) << "cluster " << filter.clusters[0];
    }
    absl::StatusOr<StoreStats> stats = store.Stats();
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_EQ(stats->events, total);
    EXPECT_EQ(stats->last_sequence, last);

    // Get by auditID, for every event of a few acknowledged batches.
    for (uint64_t index : recent_ok) {
      for (const kubetrail::v1::EnvelopedEvent& e : CrashBatch(index)) {
        absl::StatusOr<std::vector<StoredEvent>> got = store.Get(e.event().audit_id());
        if (!got.ok()) {
          if (report()) ADD_FAILURE() << "Get(" << e.event().audit_id() << "): " << got.status();
          continue;
        }
        const bool found = std::any_of(got->begin(), got->end(), [&](const StoredEvent& s) {
          return CrashEventKey(s.event) == CrashEventKey(e) &&
                 CrashEventFingerprint(s.event) == CrashEventFingerprint(e);
        });
        if (!found && report()) {
          ADD_FAILURE() << "Get(" << e.event().audit_id() << ") of batch " << index
                        << " lacks stage " << e.event().stage();
        }
      }
    }

    absl::StatusOr<CheckReport> check = store.Check();
    ASSERT_TRUE(check.ok()) << check.status();
    for (size_t i = 0; i < check->problems.size() && i < 20; ++i) {
      ADD_FAILURE() << "Check: " << check->problems[i].what;
    }
    EXPECT_EQ(check->events, total);

    absl::Status closed = store.Close();
    EXPECT_TRUE(closed.ok()) << closed;
    total_events_ = total;
  }

  TempDir temp_;
  std::string writer_;
  std::string admin_;
  std::string store_dir_;
  std::string backup_dir_;
  std::unordered_map<std::string, Expected> expected_;
  std::map<uint64_t, uint64_t> batch_sizes_;  // tracked original batch -> events
  std::set<uint64_t> complete_;               // batches found complete by the last Verify
  uint64_t total_events_ = 0;
};

TEST_F(CrashTest, KilledWriterLeavesEveryAcknowledgedBatchAndNoPartialOne) {
  uint64_t seed = std::random_device{}();
  if (const char* s = std::getenv("KUBETRAIL_CRASH_SEED"); s != nullptr && *s != '\0') {
    seed = std::strtoull(s, nullptr, 10);
  }
  int rounds = 12;
  if (const char* s = std::getenv("KUBETRAIL_CRASH_ROUNDS"); s != nullptr && *s != '\0') {
    rounds = std::atoi(s);
  }
  std::cout << "crash test seed " << seed << " (replay with KUBETRAIL_CRASH_SEED=" << seed << ")"
            << std::endl;
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 rng(seed);

  const Clock::time_point begin = Clock::now();
  int round = 0;
  for (; round < rounds && Clock::now() - begin < kTimeBudget; ++round) {
    const uint64_t first = static_cast<uint64_t>(round) * kCrashRoundStride;
    const int delay_ms = std::uniform_int_distribution<int>(50, 600)(rng);
    // Every fourth child is killed counting from its start, so some die while opening
    // (recovering) the store; the others once they have opened it.
    const bool from_spawn = round % 4 == 3;
    const std::string stderr_path = temp_.File("writer-" + std::to_string(round) + ".stderr");
    std::unique_ptr<Child> child = Child::Start(
        {writer_, "--dir", store_dir_, "--first-batch", std::to_string(first), "--batches",
         std::to_string(kBatchesPerRound), "--threads", std::to_string(kThreads)},
        stderr_path);
    ASSERT_NE(child, nullptr) << "cannot start " << writer_;
    if (!from_spawn) {
      child->ReadUntil(Clock::now() + std::chrono::seconds(60), "ready");
    }
    child->ReadUntil(Clock::now() + std::chrono::milliseconds(delay_ms));
    const int status = child->KillAndReap();
    const bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    const bool finished = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    ASSERT_TRUE(killed || finished) << "writer of round " << round << " failed (wait status "
                                    << status << "): " << ReadFile(stderr_path);

    // What the child said it did.
    std::set<uint64_t> ok;
    std::vector<uint64_t> ok_order;
    uint64_t max_started = first;
    bool any_started = false;
    std::istringstream lines(child->output());
    std::string word;
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      uint64_t index = 0;
      if (!(fields >> word)) continue;
      if (word == "start" && (fields >> index)) {
        max_started = std::max(max_started, index);
        any_started = true;
      } else if (word == "ok" && (fields >> index)) {
        ok.insert(index);
        ok_order.push_back(index);
      }
    }
    // Track every batch the child could have begun, and a few beyond as a control.
    const uint64_t last_tracked =
        std::min(first + kBatchesPerRound - 1, max_started + kThreads + 2);
    for (uint64_t i = first; i <= last_tracked; ++i) {
      ASSERT_NO_FATAL_FAILURE(Track(CrashBatchOriginal(i)));
    }
    std::vector<uint64_t> recent_ok(
        ok_order.end() - std::min<ptrdiff_t>(static_cast<ptrdiff_t>(ok_order.size()), 5),
        ok_order.end());

    // A backup of the store exactly as the kill left it (its write-ahead log unreplayed):
    // restored at the end, it must hold what the reopened store holds.
    absl::StatusOr<SubprocessResult> backup =
        RunSubprocess({admin_, "backup", "--data-dir", store_dir_, "--to", backup_dir_});
    ASSERT_TRUE(backup.ok()) << backup.status();
    ASSERT_EQ(backup->exit_code, 0) << backup->stderr_data;

    ASSERT_NO_FATAL_FAILURE(Verify(ok, recent_ok));
    std::cout << "round " << round << ": killed " << (finished ? "never (finished)" : "")
              << (killed ? "after " + std::to_string(delay_ms) + " ms" : "")
              << (from_spawn ? " from spawn" : " from ready") << "; batches started "
              << (any_started ? max_started - first + 1 : 0) << ", acknowledged " << ok.size()
              << "; store holds " << total_events_ << " events in " << complete_.size()
              << " batches" << std::endl;
    if (HasFailure()) break;
  }
  EXPECT_GE(round, 4) << "too few rounds in the time budget";
  EXPECT_GT(total_events_, 0u) << "no child wrote anything before it was killed";

  // The operator's tool agrees, as a real process.
  absl::StatusOr<SubprocessResult> check =
      RunSubprocess({admin_, "check", "--data-dir", store_dir_});
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_EQ(check->exit_code, 0) << check->stdout_data << check->stderr_data;
  EXPECT_THAT(
      check->stdout_data,
      ::testing::StartsWith(store_dir_ + ": ok (" + std::to_string(total_events_) + " events, "));

  // The last backup, taken before the last reopen, restores to the same events.
  const std::string restored = temp_.File("restored");
  absl::StatusOr<SubprocessResult> restore =
      RunSubprocess({admin_, "restore", "--from", backup_dir_, "--data-dir", restored});
  ASSERT_TRUE(restore.ok()) << restore.status();
  ASSERT_EQ(restore->exit_code, 0) << restore->stderr_data;
  check = RunSubprocess({admin_, "check", "--data-dir", restored});
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_EQ(check->exit_code, 0) << check->stdout_data << check->stderr_data;
  EXPECT_THAT(
      check->stdout_data,
      ::testing::StartsWith(restored + ": ok (" + std::to_string(total_events_) + " events, "));
}

}  // namespace
}  // namespace kubetrail::testing
