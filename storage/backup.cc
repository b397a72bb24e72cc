// Offline backup and restore of a store directory with RocksDB's BackupEngine.
//
// The store is opened read-only for the backup: a read-only RocksDB never flushes, compacts
// or writes a file, so the store's options are not needed (a placeholder merge operator
// stands in for the store's, see ReadOnlyDb) and the directory is left exactly as it was. A
// read-only open does not take RocksDB's LOCK file, so BackupStore takes it itself: that is what
// refuses a store some process has open.
#include "storage/backup.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/merge_operator.h"
#include "rocksdb/options.h"
#include "rocksdb/status.h"
#include "rocksdb/utilities/backup_engine.h"
#include "common/rocksdb_status.h"

namespace kubetrail::storage {
namespace {

namespace fs = std::filesystem;

// Converts a filesystem error (an errno value) as FromRocks converts RocksDB's.
absl::Status FromErrorCode(const std::error_code& ec, std::string_view what) {
  const std::string message = Cat(what, ": ", ec.message());
  switch (ec.value()) {
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(message);
    case ENOENT:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(message);
    case EEXIST:
    case ENOTEMPTY:
    case ENOTDIR:
      return absl::FailedPreconditionError(message);
    default:
      return absl::InternalError(message);
  }
}

// Discards RocksDB's informational log, which would otherwise be written into (and rotate
// the LOG files of) the directories we only read.
class NullLogger : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char* /*format*/, va_list /*ap*/) override {}
};

// Lets a read-only DB accept the store's Merge records while it replays the write-ahead log
// (memtables only keep them). Nothing is ever read, so a merge is never computed; should one
// be, it fails rather than produce a value.
class UnusedMergeOperator : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput& /*merge_in*/,
                   MergeOperationOutput* /*merge_out*/) const override {
    return false;
  }
  const char* Name() const override { return "kubetrail.BackupUnusedMergeOperator"; }
};

std::shared_ptr<rocksdb::MergeOperator> SharedUnusedMergeOperator() {
  static const auto* const op =
      new std::shared_ptr<rocksdb::MergeOperator>(new UnusedMergeOperator);
  return *op;
}

std::shared_ptr<rocksdb::Logger> SharedNullLogger() {
  static const auto* const logger = new std::shared_ptr<rocksdb::Logger>(new NullLogger);
  return *logger;
}

rocksdb::BackupEngineOptions EngineOptions(const std::string& backup_dir) {
  rocksdb::BackupEngineOptions options(backup_dir);
  options.info_log = SharedNullLogger().get();
  options.max_background_operations = 4;
  return options;
}

// The store's LOCK file, held from construction until destruction (or Unlock).
class StoreLock {
 public:
  // Takes the lock of the store in `data_dir`; FailedPrecondition when a process (this one
  // included) has the store open.
  static absl::StatusOr<std::unique_ptr<StoreLock>> Acquire(const std::string& data_dir) {
    rocksdb::FileLock* lock = nullptr;
    rocksdb::Status s = rocksdb::Env::Default()->LockFile(data_dir + "/LOCK", &lock);
    if (!s.ok()) return FromRocks(s, data_dir);
    return std::unique_ptr<StoreLock>(new StoreLock(lock));
  }

  ~StoreLock() {
    // Unlocking a lock we hold only fails on a broken file descriptor; nothing to do then.
    rocksdb::Status ignored = rocksdb::Env::Default()->UnlockFile(lock_);
    (void)ignored;
  }
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;

 private:
  explicit StoreLock(rocksdb::FileLock* lock) : lock_(lock) {}
  rocksdb::FileLock* lock_;
};

// A read-only RocksDB with all its column families, closed on destruction.
class ReadOnlyDb {
 public:
  static absl::StatusOr<std::unique_ptr<ReadOnlyDb>> Open(const std::string& data_dir) {
    rocksdb::DBOptions options;
    options.info_log = SharedNullLogger();
    std::vector<std::string> names;
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(options, data_dir, &names);
    if (!s.ok()) return FromRocks(s, Cat("listing the column families of ", data_dir));
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    families.reserve(names.size());
    for (const std::string& name : names) {
      // A read-only DB never merges, compacts or flushes, so the store's own options are not
      // needed. It does replay the write-ahead log into memtables, and RocksDB refuses a
      // Merge record for a family without a merge operator (it then stops the replay and
      // fails the open with "SST file is ahead of WALs" when another family was flushed
      // later), so every family gets a merge operator that is never called.
      rocksdb::ColumnFamilyOptions family_options;
      family_options.merge_operator = SharedUnusedMergeOperator();
      families.emplace_back(name, family_options);
    }
    auto db = std::unique_ptr<ReadOnlyDb>(new ReadOnlyDb);
    rocksdb::DB* raw = nullptr;
    s = rocksdb::DB::OpenForReadOnly(options, data_dir, families, &db->handles_, &raw);
    if (!s.ok()) return FromRocks(s, Cat("opening ", data_dir));
    db->db_.reset(raw);
    return db;
  }

  ~ReadOnlyDb() {
    if (db_ == nullptr) return;
    for (rocksdb::ColumnFamilyHandle* handle : handles_) {
      rocksdb::Status ignored = db_->DestroyColumnFamilyHandle(handle);
      (void)ignored;
    }
    // Closing a read-only DB writes nothing; there is no error worth reporting.
    rocksdb::Status ignored = db_->Close();
    (void)ignored;
  }
  ReadOnlyDb(const ReadOnlyDb&) = delete;
  ReadOnlyDb& operator=(const ReadOnlyDb&) = delete;

  rocksdb::DB* db() const { return db_.get(); }

 private:
  ReadOnlyDb() = default;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::unique_ptr<rocksdb::DB> db_;
};

// NotFound unless `backup_dir` is an existing directory.
absl::Status CheckBackupDir(const std::string& backup_dir) {
  std::error_code ec;
  const fs::file_status status = fs::status(backup_dir, ec);
  if (status.type() == fs::file_type::not_found) {
    return absl::NotFoundError(Cat("backup directory ", backup_dir, " does not exist"));
  }
  if (ec) return FromErrorCode(ec, Cat("backup directory ", backup_dir));
  if (!fs::is_directory(status)) {
    return absl::FailedPreconditionError(
        Cat("backup directory ", backup_dir, " is not a directory"));
  }
  return absl::OkStatus();
}

// A read-only engine on `backup_dir`; nullptr when the directory exists but has never held a
// backup (a read-only engine refuses a directory without its "meta" subdirectory).
absl::StatusOr<std::unique_ptr<rocksdb::BackupEngineReadOnly>> OpenReadOnlyEngine(
    const std::string& backup_dir) {
  KT_RETURN_IF_ERROR(CheckBackupDir(backup_dir));
  std::error_code ec;
  if (!fs::exists(fs::path(backup_dir) / "meta", ec) && !ec) return nullptr;
  rocksdb::BackupEngineReadOnly* raw = nullptr;
  rocksdb::IOStatus s =
      rocksdb::BackupEngineReadOnly::Open(EngineOptions(backup_dir), rocksdb::Env::Default(), &raw);
  if (!s.ok()) return FromRocks(s, Cat("opening backup directory ", backup_dir));
  return std::unique_ptr<rocksdb::BackupEngineReadOnly>(raw);
}

BackupInfo ToBackupInfo(const rocksdb::BackupInfo& info) {
  BackupInfo out;
  out.id = info.backup_id;
  out.timestamp_s = info.timestamp;
  out.size_bytes = info.size;
  out.number_files = info.number_files;
  return out;
}

// Makes `dir` durable in its parent after a rename; errors are reported, as a restore that
// may vanish on power loss is not done.
absl::Status SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return FromErrorCode(std::error_code(errno, std::generic_category()), Cat("opening ", dir));
  }
  const int rc = ::fsync(fd);
  const int saved_errno = errno;
  ::close(fd);
  if (rc != 0) {
    return FromErrorCode(std::error_code(saved_errno, std::generic_category()),
                         Cat("syncing ", dir));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status BackupStore(const std::string& data_dir, const std::string& backup_dir) {
  std::error_code ec;
  const fs::file_status status = fs::status(data_dir, ec);
  if (status.type() == fs::file_type::not_found) {
    return absl::NotFoundError(Cat("store directory ", data_dir, " does not exist"));
  }
  if (ec) return FromErrorCode(ec, Cat("store directory ", data_dir));
  if (!fs::is_directory(status)) {
    return absl::FailedPreconditionError(Cat("store directory ", data_dir, " is not a directory"));
  }
  if (!fs::exists(fs::path(data_dir) / "CURRENT", ec)) {
    return absl::NotFoundError(Cat(data_dir, " holds no store (no CURRENT file)"));
  }

  // Held until the backup is complete, so no process opens the store meanwhile.
  KT_ASSIGN_OR_RETURN(std::unique_ptr<StoreLock> lock, StoreLock::Acquire(data_dir));
  KT_ASSIGN_OR_RETURN(std::unique_ptr<ReadOnlyDb> db, ReadOnlyDb::Open(data_dir));

  fs::create_directories(backup_dir, ec);
  if (ec) return FromErrorCode(ec, Cat("creating backup directory ", backup_dir));

  rocksdb::BackupEngine* raw = nullptr;
  rocksdb::IOStatus s =
      rocksdb::BackupEngine::Open(EngineOptions(backup_dir), rocksdb::Env::Default(), &raw);
  if (!s.ok()) return FromRocks(s, Cat("opening backup directory ", backup_dir));
  std::unique_ptr<rocksdb::BackupEngine> engine(raw);

  rocksdb::CreateBackupOptions options;
  // The store is closed: its memtables are empty, and whatever a crash left in the
  // write-ahead log is copied with the log files.
  options.flush_before_backup = false;
  rocksdb::BackupID id = 0;
  s = engine->CreateNewBackup(options, db->db(), &id);
  if (!s.ok()) {
    // Removes the files of the failed backup now rather than at the next backup.
    rocksdb::IOStatus ignored = engine->GarbageCollect();
    (void)ignored;
    return FromRocks(s, Cat("backing up ", data_dir, " to ", backup_dir));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<BackupInfo>> ListBackups(const std::string& backup_dir) {
  KT_ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::BackupEngineReadOnly> engine,
                      OpenReadOnlyEngine(backup_dir));
  std::vector<rocksdb::BackupInfo> infos;
  if (engine != nullptr) engine->GetBackupInfo(&infos);
  std::vector<BackupInfo> out;
  out.reserve(infos.size());
  for (const rocksdb::BackupInfo& info : infos) out.push_back(ToBackupInfo(info));
  std::sort(out.begin(), out.end(),
            [](const BackupInfo& a, const BackupInfo& b) { return a.id < b.id; });
  return out;
}

absl::Status RestoreStore(const std::string& backup_dir, const std::string& data_dir,
                          std::optional<uint32_t> backup_id) {
  // Refuse before reading any backup: an existing store is never overwritten.
  std::error_code ec;
  const fs::file_status status = fs::status(data_dir, ec);
  if (status.type() != fs::file_type::not_found) {
    if (ec) return FromErrorCode(ec, Cat("restore target ", data_dir));
    if (!fs::is_directory(status)) {
      return absl::FailedPreconditionError(
          Cat("refusing to restore into ", data_dir, ": it exists and is not a directory"));
    }
    if (!fs::is_empty(data_dir, ec) || ec) {
      return absl::FailedPreconditionError(
          Cat("refusing to restore into ", data_dir,
              ": the directory exists and is not empty (restore into a new directory)"));
    }
  }

  KT_ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::BackupEngineReadOnly> engine,
                      OpenReadOnlyEngine(backup_dir));
  std::vector<rocksdb::BackupInfo> infos;
  if (engine != nullptr) engine->GetBackupInfo(&infos);
  if (infos.empty()) return absl::NotFoundError(Cat("no backups in ", backup_dir));
  uint32_t id = 0;
  if (backup_id.has_value()) {
    const bool found = std::any_of(infos.begin(), infos.end(), [&](const rocksdb::BackupInfo& i) {
      return i.backup_id == *backup_id;
    });
    if (!found) {
      std::string ids;
      for (const rocksdb::BackupInfo& info : infos) {
        ids += Cat(ids.empty() ? "" : ", ", info.backup_id);
      }
      return absl::NotFoundError(
          Cat("no backup ", *backup_id, " in ", backup_dir, " (backups: ", ids, ")"));
    }
    id = *backup_id;
  } else {
    for (const rocksdb::BackupInfo& info : infos) id = std::max(id, info.backup_id);
  }

  rocksdb::IOStatus s = engine->VerifyBackup(id, /*verify_with_checksum=*/true);
  if (!s.ok()) {
    absl::Status converted = FromRocks(s, Cat("backup ", id, " in ", backup_dir));
    // The backup exists (checked above): a missing or mismatching file means it is damaged.
    if (absl::IsNotFound(converted) || absl::IsInvalidArgument(converted) ||
        absl::IsDataLoss(converted)) {
      return absl::DataLossError(
          Cat("backup ", id, " in ", backup_dir, " failed verification: ", s.ToString()));
    }
    return converted;
  }

  // Restore beside the target and rename it into place: the target never holds half a store.
  fs::path target(data_dir);
  while (!target.empty() && !target.has_filename()) target = target.parent_path();  // "a/b/"
  fs::path parent = target.parent_path();
  if (parent.empty()) parent = ".";
  fs::create_directories(parent, ec);
  if (ec) return FromErrorCode(ec, Cat("creating ", parent.string()));
  std::string temp_template =
      (parent / Cat(".", target.filename().string(), ".restore-XXXXXX")).string();
  if (::mkdtemp(temp_template.data()) == nullptr) {
    return FromErrorCode(std::error_code(errno, std::generic_category()),
                         Cat("creating a temporary directory in ", parent.string()));
  }
  const std::string temp_dir = temp_template;
  auto fail = [&temp_dir](absl::Status error) {
    std::error_code ignored;
    fs::remove_all(temp_dir, ignored);
    return error;
  };

  s = engine->RestoreDBFromBackup(rocksdb::RestoreOptions(), id, temp_dir, temp_dir);
  if (!s.ok()) {
    return fail(
        FromRocks(s, Cat("restoring backup ", id, " of ", backup_dir, " to ", data_dir)));
  }
  // rename(2) replaces an empty directory; it fails (ENOTEMPTY) if the target filled
  // meanwhile.
  fs::rename(temp_dir, target, ec);
  if (ec) return fail(FromErrorCode(ec, Cat("moving the restored store to ", data_dir)));
  return SyncDir(parent.string());
}

}  // namespace kubetrail::storage
