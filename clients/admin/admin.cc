#include "clients/admin/admin.h"

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
#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "audit/microtime.h"
#include "common/clock.h"
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

// Opens the store in `data_dir` for writing (it must exist and no process may have it open).
absl::StatusOr<std::unique_ptr<RocksDbEventStore>> OpenReadWrite(const std::string& data_dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(data_dir, ec)) {
    return absl::NotFoundError(Cat("store directory ", data_dir, " does not exist"));
  }
  RocksDbOptions options;
  options.path = data_dir;
  options.create_if_missing = false;
  options.block_cache_bytes = 32ull << 20;
  return RocksDbEventStore::Open(options);
}

std::string FormatKeep(int64_t keep_us) {
  constexpr int64_t kDay = 86'400'000'000;
  if (keep_us % kDay == 0) return Cat(keep_us / kDay, "d");
  return absl::FormatDuration(absl::Microseconds(keep_us));
}

// A time as RFC 3339 UTC to the second.
std::string FormatUtc(absl::Time t) {
  return absl::FormatTime("%E4Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
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
    out << std::setw(6) << info.id << std::setw(22)
        << FormatUtc(absl::FromUnixSeconds(info.timestamp_s)) << std::setw(16) << info.size_bytes
        << info.number_files << "\n";
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

absl::StatusOr<int64_t> ParseRetention(const std::string& text) {
  if (text == "0") return 0;
  if (!text.empty() && text.back() == 'd') {
    int64_t days = 0;
    if (absl::SimpleAtoi(text.substr(0, text.size() - 1), &days) && days >= 0) {
      return days * 86'400'000'000;
    }
  } else {
    absl::Duration d;
    if (absl::ParseDuration(text, &d) && d >= absl::ZeroDuration()) {
      return absl::ToInt64Microseconds(d);
    }
  }
  return absl::InvalidArgumentError(
      Cat("bad retention \"", text, "\": expected days (90d), a duration (2160h) or 0"));
}

int RunRetention(const RetentionOptions& options, std::ostream& out, std::ostream& err) {
  if (options.cluster.empty() != options.keep.empty()) {
    return Fail(err, "retention: --cluster and --keep go together");
  }
  absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store =
      options.keep.empty() ? OpenReadOnly(options.data_dir) : OpenReadWrite(options.data_dir);
  if (!store.ok()) return Fail(err, store.status());
  if (!options.keep.empty()) {
    absl::StatusOr<int64_t> keep = ParseRetention(options.keep);
    if (!keep.ok()) return Fail(err, keep.status());
    absl::Status set = (*store)->SetRetention(options.cluster, *keep);
    if (!set.ok()) return Fail(err, set);
  }
  absl::StatusOr<std::vector<storage::RetentionSetting>> settings = (*store)->ListRetention();
  if (!settings.ok()) return Fail(err, settings.status());
  absl::Status closed = (*store)->Close();
  if (!closed.ok()) return Fail(err, closed);
  if (settings->empty()) out << "* forever\n";
  for (const storage::RetentionSetting& s : *settings) {
    out << s.cluster << " " << FormatKeep(s.keep_us) << "\n";
  }
  out.flush();
  return kExitOk;
}

int RunHold(const HoldOptions& options, std::ostream& out, std::ostream& err) {
  absl::StatusOr<int64_t> from = audit::ParseRfc3339Micros(options.from);
  if (!from.ok()) return Fail(err, Cat("--from: ", from.status().message()));
  absl::StatusOr<int64_t> to = audit::ParseRfc3339Micros(options.to);
  if (!to.ok()) return Fail(err, Cat("--to: ", to.status().message()));
  absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = OpenReadWrite(options.data_dir);
  if (!store.ok()) return Fail(err, store.status());
  storage::LegalHold hold;
  hold.cluster = options.cluster;
  hold.from_us = *from;
  hold.to_us = *to;
  hold.user = options.user;
  hold.namespace_name = options.namespace_name;
  hold.reason = options.reason;
  hold.created_us = Clock::Real().NowMicros();
  absl::StatusOr<storage::LegalHold> placed = (*store)->PlaceHold(hold);
  if (!placed.ok()) return Fail(err, placed.status());
  absl::Status closed = (*store)->Close();
  if (!closed.ok()) return Fail(err, closed);
  out << placed->id << "\n";
  out.flush();
  return kExitOk;
}

int RunHolds(const HoldsOptions& options, std::ostream& out, std::ostream& err) {
  absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store =
      options.release.empty() ? OpenReadOnly(options.data_dir) : OpenReadWrite(options.data_dir);
  if (!store.ok()) return Fail(err, store.status());
  if (!options.release.empty()) {
    absl::Status released = (*store)->ReleaseHold(options.release);
    if (!released.ok()) return Fail(err, released);
  }
  absl::StatusOr<std::vector<storage::LegalHold>> holds = (*store)->ListHolds();
  if (!holds.ok()) return Fail(err, holds.status());
  absl::Status closed = (*store)->Close();
  if (!closed.ok()) return Fail(err, closed);
  for (const storage::LegalHold& h : *holds) {
    out << h.id << " cluster=" << h.cluster
        << " from=" << FormatUtc(absl::FromUnixMicros(h.from_us))
        << " to=" << FormatUtc(absl::FromUnixMicros(h.to_us));
    if (!h.user.empty()) out << " user=" << h.user;
    if (!h.namespace_name.empty()) out << " namespace=" << h.namespace_name;
    if (!h.reason.empty()) out << " reason=\"" << h.reason << "\"";
    out << "\n";
  }
  out.flush();
  return kExitOk;
}

int RunExpire(const ExpireOptions& options, std::ostream& out, std::ostream& err) {
  int64_t now = Clock::Real().NowMicros();
  if (!options.now.empty()) {
    absl::StatusOr<int64_t> parsed = audit::ParseRfc3339Micros(options.now);
    if (!parsed.ok()) return Fail(err, Cat("--now: ", parsed.status().message()));
    now = *parsed;
  }
  absl::StatusOr<std::unique_ptr<RocksDbEventStore>> store = OpenReadWrite(options.data_dir);
  if (!store.ok()) return Fail(err, store.status());
  absl::StatusOr<storage::RetentionReport> report = (*store)->ApplyRetention(now);
  if (!report.ok()) return Fail(err, report.status());
  absl::Status closed = (*store)->Close();
  if (!closed.ok()) return Fail(err, closed);
  out << options.data_dir << ": expired " << report->expired_events << " events, kept "
      << report->held_events << " under legal holds\n";
  out.flush();
  return kExitOk;
}

}  // namespace kubetrail::admin
