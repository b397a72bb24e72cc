// Process tests of `kubetrail-admin` ($KUBETRAIL_BIN_DIR/kubetrail-admin) on real stores in a
// temp dir: check, stats, backup, backups, restore; exit codes and messages.
#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/event_store.h"
#include "storage/rocksdb_event_store.h"
#include "tests/storage/crash_batches.h"
#include "tests/testing/paths.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace kubetrail::testing {
namespace {

namespace fs = std::filesystem;
using ::kubetrail::storage::RocksDbEventStore;
using ::kubetrail::storage::RocksDbOptions;
using ::kubetrail::storage::WriteOptions;
using ::kubetrail::storage::WriteResult;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

size_t CountLines(std::string_view text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

class AdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    binary_ = BinDir() + "/kubetrail-admin";
    ASSERT_TRUE(fs::exists(binary_)) << binary_ << " is missing; build it first";
    ASSERT_TRUE(temp_.ok()) << temp_.error();
  }

  SubprocessResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), binary_);
    absl::StatusOr<SubprocessResult> result = RunSubprocess(args);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *std::move(result) : SubprocessResult{};
  }

  // Creates a store in `dir` holding batches 0..count-1 of crash_batches.h (one re-send
  // among them); returns the number of events stored.
  uint64_t MakeStore(const std::string& dir, int count) {
    RocksDbOptions options;
    options.path = dir;
    absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(options);
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return 0;
    uint64_t stored = 0;
    for (int i = 0; i < count; ++i) {
      absl::StatusOr<WriteResult> written =
          (*store)->Write(CrashBatch(static_cast<uint64_t>(i)), WriteOptions{});
      EXPECT_TRUE(written.ok()) << written.status();
      if (written.ok()) stored += written->stored;
    }
    absl::Status closed = (*store)->Close();
    EXPECT_TRUE(closed.ok()) << closed;
    return stored;
  }

  std::string binary_;
  TempDir temp_;
};

TEST_F(AdminTest, ChecksAFreshStore) {
  const std::string dir = temp_.File("store");
  const uint64_t events = MakeStore(dir, 8);  // batch 7 re-sends batch 3
  ASSERT_GT(events, 0u);
  SubprocessResult r = Run({"check", "--data-dir", dir});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_THAT(r.stdout_data, MatchesRegex(dir + ": ok \\(" + std::to_string(events) +
                                          " events, [0-9]+ index entries, [0-9]+ auditID "
                                          "entries, [0-9]+ rollup counts\\)\n"));
  EXPECT_THAT(r.stderr_data, IsEmpty());

  // A store that never received an event.
  const std::string empty = temp_.File("empty-store");
  ASSERT_EQ(MakeStore(empty, 0), 0u);
  r = Run({"check", "--data-dir", empty});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_THAT(r.stdout_data, StartsWith(empty + ": ok (0 events, 0 index entries, 0 auditID "
                                                "entries, 0 rollup counts)\n"));
}

TEST_F(AdminTest, BackupRestoreCheckGivesTheSameStats) {
  const std::string dir = temp_.File("store");
  const uint64_t events = MakeStore(dir, 5);
  const std::string backups = temp_.File("backups");

  SubprocessResult r = Run({"backup", "--data-dir", dir, "--to", backups});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_THAT(r.stdout_data, StartsWith(dir + ": backup 1 in " + backups + " ("));
  r = Run({"backup", "--data-dir", dir, "--to", backups});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_THAT(r.stdout_data, StartsWith(dir + ": backup 2 in "));

  r = Run({"backups", "--dir", backups});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_EQ(CountLines(r.stdout_data), 3u) << r.stdout_data;  // header and two backups
  EXPECT_THAT(r.stdout_data, MatchesRegex("ID +CREATED \\(UTC\\) +BYTES +FILES\n"
                                          "1 +20[0-9-]+T[0-9:]+Z +[0-9]+ +[0-9]+\n"
                                          "2 +20[0-9-]+T[0-9:]+Z +[0-9]+ +[0-9]+\n"));

  const std::string restored = temp_.File("restored");
  r = Run({"restore", "--from", backups, "--data-dir", restored});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_EQ(r.stdout_data, "restored backup 2 of " + backups + " into " + restored + "\n");

  r = Run({"check", "--data-dir", restored});
  EXPECT_EQ(r.exit_code, 0) << r.stdout_data << r.stderr_data;
  EXPECT_THAT(r.stdout_data, StartsWith(restored + ": ok (" + std::to_string(events) + " events"));

  SubprocessResult original_stats = Run({"stats", "--data-dir", dir});
  SubprocessResult restored_stats = Run({"stats", "--data-dir", restored});
  ASSERT_EQ(original_stats.exit_code, 0) << original_stats.stderr_data;
  ASSERT_EQ(restored_stats.exit_code, 0) << restored_stats.stderr_data;
  EXPECT_THAT(original_stats.stdout_data, HasSubstr("\nevents: " + std::to_string(events) + "\n"));
  EXPECT_THAT(original_stats.stdout_data, HasSubstr("\n  c0: "));
  // Equal but for the first line, which names the directory. (disk bytes: the restored
  // store holds the same SST files.)
  auto without_first_line = [](const std::string& s) { return s.substr(s.find('\n')); };
  EXPECT_EQ(without_first_line(restored_stats.stdout_data),
            without_first_line(original_stats.stdout_data));

  // A restore never overwrites a store.
  r = Run({"restore", "--from", backups, "--data-dir", restored});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(CountLines(r.stderr_data), 1u) << r.stderr_data;
  EXPECT_THAT(r.stderr_data, StartsWith("kubetrail-admin: "));
  EXPECT_THAT(r.stderr_data, HasSubstr("not empty"));

  r = Run({"restore", "--from", backups, "--data-dir", temp_.File("one"), "--backup-id", "1"});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_EQ(Run({"check", "--data-dir", temp_.File("one")}).exit_code, 0);

  r = Run({"restore", "--from", backups, "--data-dir", temp_.File("nine"), "--backup-id", "9"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_data, HasSubstr("no backup 9"));
  EXPECT_FALSE(fs::exists(temp_.File("nine")));
}

TEST_F(AdminTest, MissingStoreIsOneLineAndExitTwo) {
  const std::string missing = temp_.File("missing");
  for (const char* verb : {"check", "stats"}) {
    SubprocessResult r = Run({verb, "--data-dir", missing});
    EXPECT_EQ(r.exit_code, 2) << verb;
    EXPECT_THAT(r.stdout_data, IsEmpty()) << verb;
    EXPECT_EQ(CountLines(r.stderr_data), 1u) << r.stderr_data;
    EXPECT_THAT(r.stderr_data, StartsWith("kubetrail-admin: ")) << verb;
    EXPECT_THAT(r.stderr_data, HasSubstr(missing)) << verb;
  }
  SubprocessResult r = Run({"backup", "--data-dir", missing, "--to", temp_.File("b")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(CountLines(r.stderr_data), 1u) << r.stderr_data;
  EXPECT_FALSE(fs::exists(missing)) << "a read-only verb created the store directory";

  // An empty directory holds no store either.
  fs::create_directory(temp_.File("empty"));
  r = Run({"check", "--data-dir", temp_.File("empty")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(CountLines(r.stderr_data), 1u) << r.stderr_data;

  r = Run({"backups", "--dir", temp_.File("no-backups")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_data, HasSubstr("does not exist"));
}

TEST_F(AdminTest, BackupRefusesAStoreInUse) {
  const std::string dir = temp_.File("store");
  MakeStore(dir, 1);
  RocksDbOptions options;
  options.path = dir;
  absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = RocksDbEventStore::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();

  SubprocessResult r = Run({"backup", "--data-dir", dir, "--to", temp_.File("b")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(CountLines(r.stderr_data), 1u) << r.stderr_data;
  EXPECT_THAT(r.stderr_data, HasSubstr("in use by another process"));
  EXPECT_THAT(r.stderr_data, HasSubstr(dir));
  EXPECT_TRUE((*store)->Close().ok());
}

TEST_F(AdminTest, StoreWithADeletedSstFileFailsTheCheck) {
  const std::string dir = temp_.File("store");
  MakeStore(dir, 4);
  std::vector<fs::path> ssts;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".sst") ssts.push_back(entry.path());
  }
  ASSERT_FALSE(ssts.empty()) << "Close() flushed no SST file";
  std::sort(ssts.begin(), ssts.end());
  fs::remove(ssts.back());
  SubprocessResult r = Run({"check", "--data-dir", dir});
  EXPECT_NE(r.exit_code, 0) << r.stdout_data;
  if (r.exit_code == 2) {
    EXPECT_EQ(CountLines(r.stderr_data), 1u) << r.stderr_data;
    EXPECT_THAT(r.stderr_data, HasSubstr(ssts.back().stem().string()));  // or .ldb
  } else {
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.stdout_data, HasSubstr(": problem: "));
  }
}

TEST_F(AdminTest, HelpShowsExamplesForEveryVerb) {
  SubprocessResult r = Run({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* verb : {"check", "stats", "backup", "backups", "restore"}) {
    EXPECT_THAT(r.stdout_data, HasSubstr(verb));
    SubprocessResult help = Run({verb, "--help"});
    EXPECT_EQ(help.exit_code, 0) << verb;
    EXPECT_THAT(help.stdout_data, HasSubstr("Examples:\n  kubetrail-admin " + std::string(verb)))
        << verb;
  }
  r = Run({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  r = Run({});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_data, HasSubstr("A verb is required"));
  r = Run({"check"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_data, HasSubstr("--data-dir"));
}

TEST_F(AdminTest, RetentionHoldsAndExpire) {
  const std::string dir = temp_.path() + "/store";
  const uint64_t stored = MakeStore(dir, 6);  // clusters c0, c1, c2
  ASSERT_GT(stored, 0u);

  SubprocessResult r = Run({"retention", "--data-dir", dir});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_EQ(r.stdout_data, "* forever\n");

  r = Run({"retention", "--data-dir", dir, "--cluster", "c0", "--keep", "soon"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(CountLines(r.stderr_data), 1u) << r.stderr_data;
  EXPECT_THAT(r.stderr_data, HasSubstr("bad retention \"soon\""));

  r = Run({"retention", "--data-dir", dir, "--cluster", "*", "--keep", "30d"});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  r = Run({"retention", "--data-dir", dir, "--cluster", "c0", "--keep", "48h"});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_EQ(r.stdout_data, "* 30d\nc0 2d\n");

  r = Run({"hold", "--data-dir", dir, "--cluster", "c1", "--from", "2000-01-01T00:00:00Z", "--to",
           "2100-01-01T00:00:00Z", "--reason", "case 1"});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_EQ(r.stdout_data, "hold-1\n");
  r = Run({"holds", "--data-dir", dir});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_THAT(r.stdout_data, StartsWith("hold-1 cluster=c1 from=2000-01-01T00:00:00Z"));
  EXPECT_THAT(r.stdout_data, HasSubstr("reason=\"case 1\""));

  // Far in the future every day has expired: only the held cluster's events stay.
  r = Run({"expire", "--data-dir", dir, "--now", "2099-01-01T00:00:00Z"});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_THAT(r.stdout_data, MatchesRegex(".*: expired [1-9][0-9]* events, kept [1-9][0-9]* "
                                          "under legal holds\n"));
  r = Run({"check", "--data-dir", dir});
  EXPECT_EQ(r.exit_code, 0) << r.stdout_data << r.stderr_data;
  r = Run({"stats", "--data-dir", dir});
  EXPECT_THAT(r.stdout_data, HasSubstr("  c1: "));
  EXPECT_THAT(r.stdout_data, Not(HasSubstr("  c0: ")));

  r = Run({"holds", "--data-dir", dir, "--release", "hold-9"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_data, HasSubstr("hold-9"));
  r = Run({"holds", "--data-dir", dir, "--release", "hold-1"});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_data;
  EXPECT_EQ(r.stdout_data, "");
  r = Run({"expire", "--data-dir", dir, "--now", "2099-01-01T00:00:00Z"});
  EXPECT_THAT(r.stdout_data, HasSubstr("kept 0 under legal holds"));
  r = Run({"stats", "--data-dir", dir});
  EXPECT_THAT(r.stdout_data, HasSubstr("events: 0\n"));
  r = Run({"check", "--data-dir", dir});
  EXPECT_EQ(r.exit_code, 0) << r.stdout_data << r.stderr_data;
}

}  // namespace
}  // namespace kubetrail::testing
