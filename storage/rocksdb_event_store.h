// The RocksDB EventStore: events, indexes and rollups in one RocksDB database, in the frozen
// format described in FORMAT.md.
//
//   RocksDbOptions options;
//   options.path = "/var/lib/kubetrail/store";
//   KT_ASSIGN_OR_RETURN(std::unique_ptr<RocksDbEventStore> store,
//                       RocksDbEventStore::Open(options));
//   ... store->Write(batch, {}) ...
//   KT_RETURN_IF_ERROR(store->Close());
//
// Thread safety: as EventStore. Open at most one RocksDbEventStore per directory (RocksDB's
// LOCK file makes a second Open fail with FailedPrecondition).
#ifndef KUBETRAIL_STORAGE_ROCKSDB_EVENT_STORE_H_
#define KUBETRAIL_STORAGE_ROCKSDB_EVENT_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/event_store.h"

namespace kubetrail::storage {

struct RocksDbOptions {
  // Directory of the database; created (with parents) when missing. Required.
  std::string path;
  // Create the database when the directory holds none. Default true.
  bool create_if_missing = true;
  // Open without writing (queries and checks only). Default false.
  bool read_only = false;
  // Shared block cache for all column families, in bytes. Default 256 MiB.
  uint64_t block_cache_bytes = 256ull << 20;
  // Memtable size of the events column family, in bytes. Default 64 MiB.
  uint64_t write_buffer_bytes = 64ull << 20;
  // Background compaction and flush threads. Default 2.
  int background_threads = 2;
  // Run compactions at the lowest CPU priority (nice 19; flushes keep theirs), so that
  // queries and writes come first when the CPU is short: right after a burst of ingest a
  // query waits less for a core. Process-wide (RocksDB's shared thread pool) and not undone
  // when the store closes. Default true.
  bool low_priority_compactions = true;
  // zstd level for the bottommost level of events (and indexes). Default 3.
  int zstd_level = 3;
  // zstd dictionary size for the events column family, in bytes (0 disables). Default 64 KiB.
  int zstd_dictionary_bytes = 64 << 10;
  // Data block size, in bytes. Default 64 KiB.
  uint64_t block_size = 64 << 10;
  // Most bytes of table files the store may hold (0: no limit). When reached, writes fail
  // with ResourceExhausted (nothing acknowledged is harmed) until space is made or the limit
  // raised (SetMaxDiskBytes). Default 0.
  uint64_t max_disk_bytes = 0;
};

// One inconsistency found by Check.
struct CheckProblem {
  std::string what;
};

struct CheckReport {
  uint64_t events = 0;
  uint64_t index_entries = 0;
  uint64_t audit_id_entries = 0;
  uint64_t rollup_counts = 0;
  std::vector<CheckProblem> problems;  // empty when consistent
};

class RocksDbEventStore : public EventStore {
 public:
  // Opens (or creates) the store at options.path. Errors: InvalidArgument for bad options;
  // FailedPrecondition when the directory is in use by another process, or its format
  // version is newer than this build understands (the message names both versions);
  // DataLoss for corruption; the rocksdb error otherwise.
  static absl::StatusOr<std::unique_ptr<RocksDbEventStore>> Open(const RocksDbOptions& options);

  // Verifies that every index entry points at a stored event, every event has its index,
  // auditID and sequence entries, and every rollup count equals the number of events it
  // counts. Reads the whole store; for `kubetrail-admin check`.
  virtual absl::StatusOr<CheckReport> Check() = 0;

  // How the store would answer `filter`: the search strategy and the counting strategy, as
  // one line, for example
  //   "search: index verb (2 terms, ~5120 events) then namespace (1 term); count: scan".
  // For operators (`kubetrail query --explain`) and the planner's tests.
  virtual absl::StatusOr<std::string> Explain(const Filter& filter) = 0;

  // Writes a consistent copy of the open store into `dir` (which must not exist), using hard
  // links where possible (a RocksDB checkpoint). Safe while writes continue.
  virtual absl::Status Checkpoint(const std::string& dir) = 0;

  // Changes RocksDbOptions::max_disk_bytes of the open store (0: no limit). Writes that failed
  // on the limit succeed again once it allows them.
  virtual void SetMaxDiskBytes(uint64_t bytes) = 0;

  // Compacts every column family fully (for measurements and after bulk deletes).
  virtual absl::Status CompactAll() = 0;

  // Flushes memtables and closes the database; further calls fail with FailedPrecondition.
  // Called by the destructor when not called before (errors then are logged).
  virtual absl::Status Close() = 0;
};

// The on-disk format version this build writes and the highest it reads (FORMAT.md).
inline constexpr uint32_t kStoreFormatVersion = 1;

}  // namespace kubetrail::storage

#endif  // KUBETRAIL_STORAGE_ROCKSDB_EVENT_STORE_H_
