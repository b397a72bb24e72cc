#include "clients/admin/admin.h"

#include <time.h>

#include <cstdint>
#include <filesystem>
#include <iomanip>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/strings.h"
#include "storage/backup.h"
#include "storage/event_store.h"
#include "storage/rocksdb_event_store.h"

namespace kubetrail::admin {
namespace {

using ::kubetrail::storage::BackupInfo;
using ::kubetrail::storage::CheckReport;
using ::kubetrail::storage::RocksDbEventStore;
using ::kubetrail::storage::RocksDbOptions;
using ::kubetrail::storage::StoreStats;

// Writes `message` as the one error line of a verb and returns kExitError. Newlines inside
// the message (RocksDB's can hold some) are flattened so the error stays one line.
int Fail(std::ostream& err, std::string_view message) {
  std::string line(message);
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  err << "kubetrail-admin: " << line << "\n";
  err.flush();
  return kExitError;
}

int Fail(std::ostream& err, const absl::Status& status) {
  return Fail(err, ToStd(status.message()));
}

// Opens the store in `data_dir` read-only. A missing directory is reported here rather than
// by the store, so that a typo never creates anything.
absl::StatusOr<std::unique_ptr<RocksDbEventStore>> OpenReadOnly(const std::string& data_dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(data_dir, ec)) {
    return absl::NotFoundError(Cat("store directory ", data_dir, " does not exist",
                                   ec ? Cat(" (", ec.message(), ")") : std::string()));
  }
  RocksDbOptions options;
  options.path = data_dir;
  options.create_if_missing = false;
  options.read_only = true;
  // A check reads every block once: a small cache is as good as a big one.
  options.block_cache_bytes = 32ull << 20;
  return RocksDbEventStore::Open(options);
}

std::string FormatUtc(int64_t seconds) {
  const time_t t = static_cast<time_t>(seconds);
  struct tm tm_utc;
  if (gmtime_r(&t, &tm_utc) == nullptr) return std::to_string(seconds);
  char buffer[32];
  if (strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &tm_utc) == 0) {
    return std::to_string(seconds);
  }
  return buffer;
}

}  // namespace

int RunCheck(const CheckOptions& options, std::ostream& out, std::ostream& err) {
  absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = OpenReadOnly(options.data_dir);
  if (!store.ok()) return Fail(err, store.status());
  absl::StatusOr<CheckReport> report = (*store)->Check();
  if (!report.ok()) {
    return Fail(err, Cat("checking ", options.data_dir, ": ", report.status().message()));
  }
  absl::Status closed = (*store)->Close();
  if (!closed.ok()) return Fail(err, closed);

  const std::string& dir = options.data_dir;
  if (report->problems.empty()) {
    out << dir << ": ok (" << report->events << " events, " << report->index_entries
        << " index entries, " << report->audit_id_entries << " auditID entries, "
        << report->rollup_counts << " rollup counts)\n";
    out.flush();
    return kExitOk;
  }
  for (const storage::CheckProblem& problem : report->problems) {
    out << dir << ": problem: " << problem.what << "\n";
  }
  out << dir << ": " << report->problems.size()
      << (report->problems.size() == 1 ? " problem" : " problems") << "\n";
  out.flush();
  return kExitProblems;
}

int RunStats(const StatsOptions& options, std::ostream& out, std::ostream& err) {
  absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = OpenReadOnly(options.data_dir);
  if (!store.ok()) return Fail(err, store.status());
  absl::StatusOr<StoreStats> stats = (*store)->Stats();
  if (!stats.ok()) {
    return Fail(err,
                Cat("reading statistics of ", options.data_dir, ": ", stats.status().message()));
  }
  absl::Status closed = (*store)->Close();
  if (!closed.ok()) return Fail(err, closed);

  out << "store: " << options.data_dir << "\n"
      << "events: " << stats->events << "\n"
      << "last sequence: " << stats->last_sequence << "\n"
      << "disk bytes: " << stats->disk_bytes << "\n"
      << "clusters: " << stats->events_per_cluster.size() << "\n";
  for (const storage::KeyCount& cluster : stats->events_per_cluster) {
    out << "  " << cluster.key << ": " << cluster.count << "\n";
  }
  out.flush();
  return kExitOk;
}

int RunBackup(const BackupOptions& options, std::ostream& out, std::ostream& err) {
  absl::Status status = storage::BackupStore(options.data_dir, options.backup_dir);
  if (!status.ok()) return Fail(err, status);
  // The backup just made is the newest: ids only grow.
  absl::StatusOr<std::vector<BackupInfo>> backups = storage::ListBackups(options.backup_dir);
  if (!backups.ok()) return Fail(err, backups.status());
  if (backups->empty()) {
    return Fail(err, Cat("backup of ", options.data_dir, " not found in ", options.backup_dir));
  }
  const BackupInfo& info = backups->back();
  out << options.data_dir << ": backup " << info.id << " in " << options.backup_dir << " ("
      << info.number_files << " files, " << info.size_bytes << " bytes)\n";
  out.flush();
  return kExitOk;
}

int RunListBackups(const ListBackupsOptions& options, std::ostream& out, std::ostream& err) {
  absl::StatusOr<std::vector<BackupInfo>> backups = storage::ListBackups(options.backup_dir);
  if (!backups.ok()) return Fail(err, backups.status());
  out << std::left << std::setw(6) << "ID" << std::setw(22) << "CREATED (UTC)" << std::setw(16)
      << "BYTES"
      << "FILES\n";
  for (const BackupInfo& info : *backups) {
    out << std::setw(6) << info.id << std::setw(22) << FormatUtc(info.timestamp_s) << std::setw(16)
        << info.size_bytes << info.number_files << "\n";
  }
  out.flush();
  return kExitOk;
}

int RunRestore(const RestoreOptions& options, std::ostream& out, std::ostream& err) {
  // Which backup "latest" is, for the report; RestoreStore picks the same one.
  uint32_t id = 0;
  if (options.backup_id.has_value()) {
    id = *options.backup_id;
  } else {
    absl::StatusOr<std::vector<BackupInfo>> backups = storage::ListBackups(options.backup_dir);
    if (backups.ok() && !backups->empty()) id = backups->back().id;
  }
  absl::Status status =
      storage::RestoreStore(options.backup_dir, options.data_dir, options.backup_id);
  if (!status.ok()) return Fail(err, status);
  out << "restored backup " << id << " of " << options.backup_dir << " into " << options.data_dir
      << "\n";
  out.flush();
  return kExitOk;
}

}  // namespace kubetrail::admin
