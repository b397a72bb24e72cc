// The verbs of `kubetrail-admin`, the operator's tool for a RocksDB event store on local
// disk: check its consistency, print its statistics, and back it up and restore it while the
// aggregator is stopped. Each verb is a function that writes its report to `out` and its
// errors to `err` and returns the exit code, so tests run it in-process; main.cc only defines
// the command line.
//
//   CheckOptions options;
//   options.data_dir = "/var/lib/kubetrail/store";
//   int code = RunCheck(options, std::cout, std::cerr);
//
// Errors are one line on `err`, "kubetrail-admin: <what failed, naming the directory>".
//
// Thread safety: the functions keep no state between calls; concurrent calls must not share
// streams or directories.
#ifndef KUBETRAIL_CLIENTS_ADMIN_ADMIN_H_
#define KUBETRAIL_CLIENTS_ADMIN_ADMIN_H_

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace kubetrail::admin {

// Exit codes of every verb. Frozen: scripts depend on them.
// The verb did what was asked; `check` found the store consistent.
inline constexpr int kExitOk = 0;
// `check` found inconsistencies (each one reported on stdout).
inline constexpr int kExitProblems = 1;
// The verb could not do its job: the store is missing, in use, of a newer format or
// unreadable; a backup or restore failed or was refused; or the command line was wrong.
inline constexpr int kExitError = 2;

struct CheckOptions {
  std::string data_dir;  // the store's directory; required
};

// Opens the store read-only and runs RocksDbEventStore::Check. Prints
// "DIR: ok (N events, M index entries, K auditID entries, R rollup counts)" and returns
// kExitOk; or one "DIR: problem: WHAT" line per problem and "DIR: N problems", kExitProblems;
// or, when the store cannot be opened or read, one error line on `err`, kExitError.
int RunCheck(const CheckOptions& options, std::ostream& out, std::ostream& err);

struct StatsOptions {
  std::string data_dir;  // the store's directory; required
};

// Opens the store read-only and prints its statistics (StoreStats), one "name: value" line
// each, then the events of each cluster. kExitOk, or kExitError with one line on `err`.
int RunStats(const StatsOptions& options, std::ostream& out, std::ostream& err);

struct BackupOptions {
  std::string data_dir;    // the (closed) store's directory; required
  std::string backup_dir;  // created when missing; required
};

// Adds a backup of the closed store to the backup directory (storage/backup.h) and prints
// "DIR: backup ID in BACKUPDIR (N files, B bytes)". kExitOk, or kExitError.
int RunBackup(const BackupOptions& options, std::ostream& out, std::ostream& err);

struct ListBackupsOptions {
  std::string backup_dir;  // required
};

// Prints a table of the backups in the backup directory (id, UTC creation time, bytes,
// files), oldest first; a header only when there are none. kExitOk, or kExitError.
int RunListBackups(const ListBackupsOptions& options, std::ostream& out, std::ostream& err);

struct RestoreOptions {
  std::string backup_dir;             // required
  std::string data_dir;               // must not exist, or be empty; required
  std::optional<uint32_t> backup_id;  // nullopt: the latest
};

// Verifies and restores a backup into a new store directory and prints
// "restored backup ID of BACKUPDIR into DIR". kExitOk, or kExitError (nothing written).
int RunRestore(const RestoreOptions& options, std::ostream& out, std::ostream& err);

// Retention and legal holds of a store no process has open (a running aggregator's store is
// managed through its Admin RPC). Settings and holds live in the store itself.

struct RetentionOptions {
  std::string data_dir;  // required
  std::string cluster;   // with `keep`: the cluster to set ("*": the default)
  std::string keep;      // "90d", "2160h", "45m"; "0" clears; empty: only list
};
// Sets (when `cluster` and `keep` are given) and prints every setting, one
// "CLUSTER KEEP" line each ("forever" when none is set). kExitOk or kExitError.
int RunRetention(const RetentionOptions& options, std::ostream& out, std::ostream& err);

struct HoldOptions {
  std::string data_dir;        // required
  std::string cluster;         // required
  std::string from;            // RFC 3339, required
  std::string to;              // RFC 3339, required; the hold covers [from, to)
  std::string user;            // optional: only this user's events
  std::string namespace_name;  // optional: only this namespace's events
  std::string reason;          // free text for the record
};
// Places a legal hold and prints its id. kExitOk or kExitError.
int RunHold(const HoldOptions& options, std::ostream& out, std::ostream& err);

struct HoldsOptions {
  std::string data_dir;  // required
  std::string release;   // when set: the id of a hold to release first
};
// Releases `release` (when given) and prints every hold, one line each. kExitOk, or
// kExitError (an unknown id included).
int RunHolds(const HoldsOptions& options, std::ostream& out, std::ostream& err);

struct ExpireOptions {
  std::string data_dir;  // required
  std::string now;       // RFC 3339; empty: the current time
};
// Applies retention as of `now` and prints "expired N events, kept M under legal holds".
int RunExpire(const ExpireOptions& options, std::ostream& out, std::ostream& err);

// Parses a retention duration: "90d" (days), or Go syntax ("2160h", "90m", "1h30m"); "0" is
// zero. InvalidArgument otherwise (negative included).
absl::StatusOr<int64_t> ParseRetention(const std::string& text);

}  // namespace kubetrail::admin

#endif  // KUBETRAIL_CLIENTS_ADMIN_ADMIN_H_
