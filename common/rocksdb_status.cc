#include "common/rocksdb_status.h"

#include <string>

#include "common/strings.h"

namespace kubetrail {
namespace {

bool Contains(const rocksdb::Status& s, std::string_view needle) {
  return s.ToString().find(needle) != std::string::npos;
}

// The message RocksDB's PosixEnv::LockFile gives when another process holds the lock
// ("While lock file: DIR/LOCK: Resource temporarily unavailable") or this one does.
bool IsLockHeld(const rocksdb::Status& s) {
  return Contains(s, "While lock file") || Contains(s, "lock hold by current process");
}

}  // namespace

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  const std::string message = Cat(what, ": ", s.ToString());
  if (s.IsNoSpace() || Contains(s, "No space left")) {
    return absl::ResourceExhaustedError(Cat(message, " (disk full)"));
  }
  if (s.subcode() == rocksdb::Status::kSpaceLimit) {
    return absl::ResourceExhaustedError(Cat(message, " (max_disk_bytes reached)"));
  }
  if (s.IsCorruption()) return absl::DataLossError(message);
  if (s.IsBusy() || IsLockHeld(s)) {
    return absl::FailedPreconditionError(
        Cat(what, ": store is in use by another process (", s.ToString(), ")"));
  }
  if (s.IsNotFound() || s.IsPathNotFound() || Contains(s, "No such file or directory")) {
    return absl::NotFoundError(message);
  }
  if (Contains(s, "Permission denied")) return absl::PermissionDeniedError(message);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(message);
  if (s.IsNotSupported()) return absl::UnimplementedError(message);
  if (s.IsTimedOut()) return absl::DeadlineExceededError(message);
  if (s.IsTryAgain() || s.IsIOError()) return absl::UnavailableError(message);
  if (s.IsAborted() || s.IsIncomplete()) return absl::AbortedError(message);
  return absl::InternalError(message);
}

}  // namespace kubetrail
