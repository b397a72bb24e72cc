// -----------------------------------------------------------------------------
// File: backup.h
// -----------------------------------------------------------------------------
//
// Offline backups of a RocksDB event store: copies of a store directory that no process has
// open, kept in a backup directory managed by RocksDB's BackupEngine, and restores of them
// into a new directory. For `kubetrail-admin backup | backups | restore`.
//
//   KT_RETURN_IF_ERROR(BackupStore("/var/lib/kubetrail/store", "/backups/kubetrail"));
//   KT_ASSIGN_OR_RETURN(std::vector<BackupInfo> backups, ListBackups("/backups/kubetrail"));
//   KT_RETURN_IF_ERROR(RestoreStore("/backups/kubetrail", "/var/lib/kubetrail/restored",
//                                   /*backup_id=*/std::nullopt));  // the latest
//
// Backups are incremental: SST files are shared between the backups of one backup directory
// (named by checksum), so a second backup of a store that changed little copies little.
// Only files are copied; the store is never written to, flushed or compacted, and its
// write-ahead log files are included, so every event the store had committed (including a
// store left behind by a crash) is in the backup.
//
// A live store is backed up with RocksDbEventStore::Checkpoint instead; these functions
// refuse a directory that a process has open (FailedPrecondition).
//
// Thread safety: the functions may be called concurrently on distinct directories. Two
// concurrent calls writing the same backup directory are not supported.
#ifndef KUBETRAIL_STORAGE_BACKUP_H_
#define KUBETRAIL_STORAGE_BACKUP_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kubetrail::storage {

// One backup in a backup directory.
struct BackupInfo {
  uint32_t id = 0;            // 1, 2, ... in creation order; never reused
  int64_t timestamp_s = 0;    // creation time, seconds since the Unix epoch
  uint64_t size_bytes = 0;    // bytes of all its files (files shared with others included)
  uint32_t number_files = 0;  // files it consists of (shared ones included)
};

// Adds a backup of the closed store in `data_dir` to `backup_dir` (created with its parents
// when missing). Errors: NotFound when `data_dir` does not exist or holds no store;
// FailedPrecondition when a process has the store open; ResourceExhausted when the backup
// disk is full; DataLoss for a corrupt store; the I/O error otherwise. A failed backup leaves
// the earlier backups intact.
absl::Status BackupStore(const std::string& data_dir, const std::string& backup_dir);

// The backups in `backup_dir`, oldest first. NotFound when `backup_dir` does not exist; an
// empty list when it holds no backup.
absl::StatusOr<std::vector<BackupInfo>> ListBackups(const std::string& backup_dir);

// Verifies backup `backup_id` of `backup_dir` (the latest when nullopt) against its
// checksums, then restores it into `data_dir`, which must not exist or be empty (created with
// its parents). The restore is written beside `data_dir` and renamed into place, so
// `data_dir` either holds the whole store or stays as it was. Errors: FailedPrecondition when
// `data_dir` exists and is not an empty directory; NotFound when `backup_dir`, the backup,
// or any backup at all is missing; DataLoss when the backup fails verification;
// ResourceExhausted when the disk is full; the I/O error otherwise.
absl::Status RestoreStore(const std::string& backup_dir, const std::string& data_dir,
                          std::optional<uint32_t> backup_id);

}  // namespace kubetrail::storage

#endif  // KUBETRAIL_STORAGE_BACKUP_H_
