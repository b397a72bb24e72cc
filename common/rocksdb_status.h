// The one conversion of rocksdb::Status into absl::Status, for every RocksDB user (storage/,
// the collector's spool).
#ifndef KUBETRAIL_COMMON_ROCKSDB_STATUS_H_
#define KUBETRAIL_COMMON_ROCKSDB_STATUS_H_

#include <string_view>

#include "absl/status/status.h"
#include "rocksdb/status.h"

namespace kubetrail {

// Converts a RocksDB error into the most specific canonical code; `what` says what was being
// done and names the directory ("opening store /var/lib/kubetrail"). A full disk is
// ResourceExhausted, corruption DataLoss, a directory locked by another process
// FailedPrecondition, a transient I/O error Unavailable.
absl::Status FromRocks(const rocksdb::Status& s, std::string_view what);

}  // namespace kubetrail

#endif  // KUBETRAIL_COMMON_ROCKSDB_STATUS_H_
