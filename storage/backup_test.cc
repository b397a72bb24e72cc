// Tests of BackupStore / ListBackups / RestoreStore on plain RocksDB databases with several
// column families (the functions only copy files, so any RocksDB database will do).
#include "storage/backup.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/merge_operator.h"
#include "rocksdb/options.h"
#include "tests/testing/temp_dir.h"

namespace kubetrail::storage {
namespace {

namespace fs = std::filesystem;
using ::kubetrail::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Column family name -> key -> value.
using Contents = std::map<std::string, std::map<std::string, std::string>>;

const std::vector<std::string> kFamilies = {"default", "events", "index"};

// A RocksDB database with kFamilies, open until destroyed.
class TestDb {
 public:
  explicit TestDb(const std::string& path) {
    rocksdb::DBOptions options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const std::string& name : kFamilies)
      families.emplace_back(name, rocksdb::ColumnFamilyOptions());
    rocksdb::DB* raw = nullptr;
    status_ = rocksdb::DB::Open(options, path, families, &handles_, &raw);
    db_.reset(raw);
  }
  ~TestDb() {
    if (db_ == nullptr) return;
    for (rocksdb::ColumnFamilyHandle* handle : handles_) {
      EXPECT_TRUE(db_->DestroyColumnFamilyHandle(handle).ok());
    }
    EXPECT_TRUE(db_->Close().ok());
  }

  const rocksdb::Status& status() const { return status_; }

  // Writes `count` keys "<prefix>NNNNN" into every family, with values of `value_bytes`.
  void Put(const std::string& prefix, int count, int value_bytes, Contents* expected) {
    for (size_t f = 0; f < handles_.size(); ++f) {
      for (int i = 0; i < count; ++i) {
        std::string key = prefix + std::to_string(100000 + i);
        std::string value(static_cast<size_t>(value_bytes), static_cast<char>('a' + (i + f) % 26));
        value += key;
        ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), handles_[f], key, value).ok());
        (*expected)[kFamilies[f]][key] = value;
      }
    }
  }

  void Flush() { ASSERT_TRUE(db_->Flush(rocksdb::FlushOptions(), handles_).ok()); }

  Contents ReadAll() const {
    Contents out;
    for (size_t f = 0; f < handles_.size(); ++f) {
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handles_[f]));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        out[kFamilies[f]][it->key().ToString()] = it->value().ToString();
      }
      EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    }
    return out;
  }

 private:
  rocksdb::Status status_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::unique_ptr<rocksdb::DB> db_;
};

Contents ReadDb(const std::string& path) {
  TestDb db(path);
  EXPECT_TRUE(db.status().ok()) << db.status().ToString();
  if (!db.status().ok()) return {};
  return db.ReadAll();
}

uint64_t DiskBytes(const std::string& dir) {
  uint64_t total = 0;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) total += entry.file_size();
  }
  return total;
}

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(temp_.ok()) << temp_.error(); }
  TempDir temp_;
};

TEST_F(BackupTest, BacksUpTwiceListsAndRestoresEachBackup) {
  const std::string data = temp_.File("data");
  const std::string backups = temp_.File("backups/kubetrail");  // parents created
  Contents first;
  {
    TestDb db(data);
    ASSERT_TRUE(db.status().ok()) << db.status().ToString();
    db.Put("flushed", 2000, 200, &first);
    db.Flush();
    // Only in the write-ahead log when the DB closes: the backup must include the log.
    db.Put("logged", 50, 20, &first);
  }
  ASSERT_TRUE(BackupStore(data, backups).ok());
  // The store was only read: still no SST for the logged keys, and still openable.
  Contents second = first;
  {
    TestDb db(data);
    ASSERT_TRUE(db.status().ok()) << db.status().ToString();
    db.Put("later", 100, 20, &second);
    db.Flush();
    db.Put("logged2", 10, 20, &second);
  }
  ASSERT_TRUE(BackupStore(data, backups).ok());

  absl::StatusOr<std::vector<BackupInfo>> list = ListBackups(backups);
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, 1u);
  EXPECT_EQ((*list)[1].id, 2u);
  for (const BackupInfo& info : *list) {
    EXPECT_GT(info.timestamp_s, 1'600'000'000);
    EXPECT_GT(info.size_bytes, 0u);
    EXPECT_GT(info.number_files, 3u);  // CURRENT, MANIFEST, OPTIONS, SSTs, logs
  }
  // Incremental: the big SSTs of the first backup are shared with the second.
  EXPECT_LT(DiskBytes(backups), (*list)[0].size_bytes + (*list)[1].size_bytes);

  const std::string latest = temp_.File("restored-latest");
  absl::Status restored = RestoreStore(backups, latest, std::nullopt);
  ASSERT_TRUE(restored.ok()) << restored;
  EXPECT_EQ(ReadDb(latest), second);

  const std::string one = temp_.File("nested/restored-1");
  restored = RestoreStore(backups, one, 1);
  ASSERT_TRUE(restored.ok()) << restored;
  EXPECT_EQ(ReadDb(one), first);

  // No temporary directories are left beside the targets.
  for (const fs::directory_entry& entry : fs::directory_iterator(temp_.path())) {
    EXPECT_THAT(entry.path().filename().string(), Not(HasSubstr(".restore-")));
  }
  // The source store is intact too.
  EXPECT_EQ(ReadDb(data), second);
}

// Appends merge operands with ','; the event store's rollups use a merge operator too.
class AppendOperator : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice& /*key*/, const rocksdb::Slice* existing,
             const rocksdb::Slice& value, std::string* new_value,
             rocksdb::Logger* /*logger*/) const override {
    *new_value =
        existing == nullptr ? value.ToString() : existing->ToString() + "," + value.ToString();
    return true;
  }
  const char* Name() const override { return "AppendOperator"; }
};

// Merge records in the write-ahead log, for a family without SSTs past that log while another
// family was flushed later: the state a crash of the event store leaves. BackupStore does not
// know the store's merge operator, and must still back such a store up.
TEST_F(BackupTest, BacksUpMergeRecordsInTheLogWithoutTheMergeOperator) {
  const std::string data = temp_.File("data");
  auto open = [&data](std::vector<rocksdb::ColumnFamilyHandle*>* handles) {
    rocksdb::DBOptions options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    rocksdb::ColumnFamilyOptions counts;
    counts.merge_operator = std::make_shared<AppendOperator>();
    std::vector<rocksdb::ColumnFamilyDescriptor> families = {
        {"default", rocksdb::ColumnFamilyOptions()}, {"counts", counts}};
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(options, data, families, handles, &raw);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return std::unique_ptr<rocksdb::DB>(raw);
  };
  auto close = [](std::unique_ptr<rocksdb::DB> db,
                  const std::vector<rocksdb::ColumnFamilyHandle*>& handles) {
    for (rocksdb::ColumnFamilyHandle* h : handles)
      EXPECT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    EXPECT_TRUE(db->Close().ok());
  };
  {
    std::vector<rocksdb::ColumnFamilyHandle*> h;
    std::unique_ptr<rocksdb::DB> db = open(&h);
    ASSERT_NE(db, nullptr);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), h[0], "event1", "e1").ok());
    ASSERT_TRUE(db->Merge(rocksdb::WriteOptions(), h[1], "total", "1").ok());
    ASSERT_TRUE(db->Flush(rocksdb::FlushOptions(), h[0]).ok());  // default only
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), h[0], "event2", "e2").ok());
    ASSERT_TRUE(db->Merge(rocksdb::WriteOptions(), h[1], "total", "2").ok());
    close(std::move(db), h);  // no flush: the merges stay in the log
  }
  absl::Status backed_up = BackupStore(data, temp_.File("b"));
  ASSERT_TRUE(backed_up.ok()) << backed_up;
  absl::Status restored = RestoreStore(temp_.File("b"), temp_.File("r"), std::nullopt);
  ASSERT_TRUE(restored.ok()) << restored;

  std::vector<rocksdb::ColumnFamilyHandle*> h;
  std::unique_ptr<rocksdb::DB> db;
  {
    rocksdb::DBOptions options;
    rocksdb::ColumnFamilyOptions counts;
    counts.merge_operator = std::make_shared<AppendOperator>();
    std::vector<rocksdb::ColumnFamilyDescriptor> families = {
        {"default", rocksdb::ColumnFamilyOptions()}, {"counts", counts}};
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(options, temp_.File("r"), families, &h, &raw);
    ASSERT_TRUE(s.ok()) << s.ToString();
    db.reset(raw);
  }
  std::string value;
  ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), h[0], "event2", &value).ok());
  EXPECT_EQ(value, "e2");
  ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), h[1], "total", &value).ok());
  EXPECT_EQ(value, "1,2");
  close(std::move(db), h);
}

TEST_F(BackupTest, RestoresIntoAnExistingEmptyDirectory) {
  const std::string data = temp_.File("data");
  Contents expected;
  {
    TestDb db(data);
    ASSERT_TRUE(db.status().ok());
    db.Put("k", 10, 10, &expected);
  }
  ASSERT_TRUE(BackupStore(data, temp_.File("b")).ok());
  fs::create_directory(temp_.File("empty"));
  absl::Status restored = RestoreStore(temp_.File("b"), temp_.File("empty/"), std::nullopt);
  ASSERT_TRUE(restored.ok()) << restored;
  EXPECT_EQ(ReadDb(temp_.File("empty")), expected);
}

TEST_F(BackupTest, RefusesToRestoreIntoANonEmptyDirectory) {
  const std::string data = temp_.File("data");
  {
    Contents ignored;
    TestDb db(data);
    ASSERT_TRUE(db.status().ok());
    db.Put("k", 10, 10, &ignored);
  }
  ASSERT_TRUE(BackupStore(data, temp_.File("b")).ok());
  const std::string target = temp_.File("target");
  fs::create_directory(target);
  temp_.Write("target/keep.txt", "mine");

  absl::Status restored = RestoreStore(temp_.File("b"), target, std::nullopt);
  EXPECT_TRUE(absl::IsFailedPrecondition(restored)) << restored;
  EXPECT_THAT(restored.message(), HasSubstr(target));
  EXPECT_THAT(restored.message(), HasSubstr("not empty"));
  std::vector<std::string> names;
  for (const fs::directory_entry& entry : fs::directory_iterator(target)) {
    names.push_back(entry.path().filename().string());
  }
  EXPECT_THAT(names, ElementsAre("keep.txt"));

  // Restoring over the source store itself is refused the same way.
  EXPECT_TRUE(absl::IsFailedPrecondition(RestoreStore(temp_.File("b"), data, std::nullopt)));
}

TEST_F(BackupTest, RefusesAStoreThatIsOpen) {
  const std::string data = temp_.File("data");
  TestDb db(data);
  ASSERT_TRUE(db.status().ok());
  absl::Status status = BackupStore(data, temp_.File("b"));
  EXPECT_TRUE(absl::IsFailedPrecondition(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("in use by another process"));
  EXPECT_THAT(status.message(), HasSubstr(data));
}

TEST_F(BackupTest, MissingStoreIsNotFound) {
  absl::Status status = BackupStore(temp_.File("nope"), temp_.File("b"));
  EXPECT_TRUE(absl::IsNotFound(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr(temp_.File("nope")));
  EXPECT_FALSE(fs::exists(temp_.File("b")));

  fs::create_directory(temp_.File("empty"));
  status = BackupStore(temp_.File("empty"), temp_.File("b"));
  EXPECT_TRUE(absl::IsNotFound(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("holds no store"));
}

TEST_F(BackupTest, ListsAndRestoresFromMissingOrEmptyBackupDirectories) {
  absl::StatusOr<std::vector<BackupInfo>> list = ListBackups(temp_.File("nope"));
  EXPECT_TRUE(absl::IsNotFound(list.status())) << list.status();

  fs::create_directory(temp_.File("empty"));
  list = ListBackups(temp_.File("empty"));
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_THAT(*list, IsEmpty());

  absl::Status status = RestoreStore(temp_.File("empty"), temp_.File("r"), std::nullopt);
  EXPECT_TRUE(absl::IsNotFound(status)) << status;
  status = RestoreStore(temp_.File("nope"), temp_.File("r"), std::nullopt);
  EXPECT_TRUE(absl::IsNotFound(status)) << status;
  EXPECT_FALSE(fs::exists(temp_.File("r")));
}

TEST_F(BackupTest, UnknownBackupIdIsNotFound) {
  const std::string data = temp_.File("data");
  {
    TestDb db(data);
    ASSERT_TRUE(db.status().ok());
  }
  ASSERT_TRUE(BackupStore(data, temp_.File("b")).ok());
  absl::Status status = RestoreStore(temp_.File("b"), temp_.File("r"), 7);
  EXPECT_TRUE(absl::IsNotFound(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("backups: 1"));
  EXPECT_FALSE(fs::exists(temp_.File("r")));
}

TEST_F(BackupTest, DamagedBackupFailsVerificationAndRestoresNothing) {
  const std::string data = temp_.File("data");
  {
    Contents ignored;
    TestDb db(data);
    ASSERT_TRUE(db.status().ok());
    db.Put("k", 500, 100, &ignored);
    db.Flush();
  }
  ASSERT_TRUE(BackupStore(data, temp_.File("b")).ok());
  // Flip one byte in the middle of every shared SST, keeping its size.
  int damaged = 0;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(temp_.File("b"))) {
    if (entry.path().extension() != ".sst") continue;
    std::fstream file(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
    const auto middle = static_cast<std::streamoff>(entry.file_size() / 2);
    file.seekg(middle);
    char c = 0;
    file.get(c);
    file.seekp(middle);
    file.put(static_cast<char>(c ^ 0x5a));
    ++damaged;
  }
  ASSERT_GT(damaged, 0);
  absl::Status status = RestoreStore(temp_.File("b"), temp_.File("r"), std::nullopt);
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("verification"));
  EXPECT_FALSE(fs::exists(temp_.File("r")));
}

}  // namespace
}  // namespace kubetrail::storage
