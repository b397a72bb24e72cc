// The RocksDB EventStore's implementation class, shared by the files that implement it:
// rocksdb_event_store.cc (open, write path, group commit), rocksdb_query.cc (Search, Get,
// ReadSince), rocksdb_rollup.cc (Count, Top, Histogram), rocksdb_check.cc (Check).
// Not part of the storage contract: only storage/*.cc include this.
#ifndef KUBETRAIL_STORAGE_INTERNAL_ROCKSDB_IMPL_H_
#define KUBETRAIL_STORAGE_INTERNAL_ROCKSDB_IMPL_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/rocksdb_status.h"
#include "rocksdb/compaction_filter.h"
#include "rocksdb/db.h"
#include "rocksdb/sst_file_manager.h"
#include "rocksdb/write_batch.h"
#include "storage/internal/cursor.h"
#include "storage/internal/format.h"
#include "storage/rocksdb_event_store.h"

namespace kubetrail::storage::internal {

inline rocksdb::Slice AsSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
inline std::string_view AsView(const rocksdb::Slice& s) {
  return std::string_view(s.data(), s.size());
}

// Which (cluster, day) ranges retention removed wholesale: shared between the store and the
// compaction filters that drop those days' auditID entries, posting lists and sequence-log
// entries. Thread-safe.
class ExpiryView {
 public:
  using Map = absl::flat_hash_map<uint32_t, ClusterExpiry>;
  std::shared_ptr<const Map> Get() const {
    absl::MutexLock lock(&mu_);
    return map_;
  }
  void Set(std::shared_ptr<const Map> map) {
    absl::MutexLock lock(&mu_);
    map_ = std::move(map);
  }
  // True when `cluster`'s events of the day of `time_us` were removed wholesale.
  static bool Removed(const Map& map, uint32_t cluster, int64_t time_us);

  // The key (first sequence) of the newest sequence-log record. The seqlog filter keeps it
  // even when all its events expired: reopening takes the last sequence from it, so dropping
  // it would hand out sequence numbers again.
  uint64_t NewestSeqlog() const { return newest_seqlog_.load(std::memory_order_acquire); }
  void SetNewestSeqlog(uint64_t first_sequence) {
    newest_seqlog_.store(first_sequence, std::memory_order_release);
  }

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const Map> map_ = std::make_shared<Map>();
  std::atomic<uint64_t> newest_seqlog_{0};
};

// The compaction filters of the ids, postings and seqlog column families (by name).
std::shared_ptr<rocksdb::CompactionFilterFactory> NewExpiryFilterFactory(
    std::shared_ptr<ExpiryView> view, std::string column_family);

// A string dictionary for one kind: term <-> id (ids start at 1).
struct Dictionary {
  absl::flat_hash_map<std::string, uint32_t> ids;
  std::vector<std::string> terms;  // terms[id - 1]
  std::optional<uint32_t> Find(std::string_view term) const;
  const std::string& Term(uint32_t id) const;  // "" for unknown ids
};

// A candidate event found through the indexes.
struct Candidate {
  int64_t time_us = 0;
  uint64_t sequence = 0;
  uint32_t cluster = 0;
};

// A filter mapped onto the store's indexes (see BuildPlan).
struct Plan {
  struct KindTerms {
    Kind kind;
    std::vector<uint32_t> terms;  // sorted
    uint64_t estimate = 0;        // events ever ingested with one of these terms
  };
  CompiledFilter filter;
  std::vector<uint32_t> clusters;  // cluster ids to read, sorted
  std::vector<KindTerms> kinds;    // usable index constraints, most selective first
  bool empty = false;              // nothing can match
  // Constraints per field that the rollups can answer (see rollup code): which kind is
  // constrained, when exactly one rollup kind is and nothing else but time and cluster.
  std::optional<Kind> sole_rollup_kind;
  bool only_time_and_cluster = false;
  // SearchRequest::prefer_serialized.
  bool prefer_serialized = false;
};

class RocksDbStoreImpl final : public RocksDbEventStore {
 public:
  // `env`, when not null, is the RocksDB environment to use instead of the default (tests
  // inject faults through it); it must outlive the store.
  explicit RocksDbStoreImpl(RocksDbOptions options, rocksdb::Env* env = nullptr);
  ~RocksDbStoreImpl() override;

  absl::Status Init();

  absl::StatusOr<WriteResult> DoWrite(
      absl::Span<const kubetrail::v1::EnvelopedEvent* const> batch,
      const WriteOptions& options) override;
  absl::StatusOr<SearchPage> Search(const SearchRequest& request) override;
  absl::StatusOr<std::vector<StoredEvent>> Get(std::string_view audit_id) override;
  absl::StatusOr<uint64_t> Count(const Filter& filter) override;
  absl::StatusOr<std::vector<KeyCount>> Top(const Filter& filter, Dimension dimension,
                                            int limit) override;
  absl::StatusOr<std::vector<HistogramBucket>> Histogram(const Filter& filter,
                                                         Granularity granularity,
                                                         std::optional<Dimension> by) override;
  absl::StatusOr<std::vector<StoredEvent>> ReadSince(uint64_t after_sequence, const Filter& filter,
                                                     int limit) override;
  uint64_t LastSequence() const override { return last_sequence_.load(); }
  absl::StatusOr<StoreStats> Stats() override;
  absl::StatusOr<CheckReport> Check() override;
  absl::StatusOr<std::string> Explain(const Filter& filter) override;
  absl::Status SetRetention(std::string_view cluster, int64_t keep_us) override;
  absl::StatusOr<std::vector<RetentionSetting>> ListRetention() override;
  absl::StatusOr<LegalHold> PlaceHold(const LegalHold& hold) override;
  absl::Status ReleaseHold(std::string_view id) override;
  absl::StatusOr<std::vector<LegalHold>> ListHolds() override;
  absl::StatusOr<RetentionReport> ApplyRetention(int64_t now_us) override;
  absl::Status Checkpoint(const std::string& dir) override;
  absl::Status CompactAll() override;
  void SetMaxDiskBytes(uint64_t bytes) override { sst_files_->SetMaxAllowedSpaceUsage(bytes); }
  absl::Status Close() override;

 private:
  // A caller of Write waiting in the group-commit queue (leveldb's DBImpl::Writer).
  // One event made ready for the leader by its writer's own thread: the serialization and
  // hashing cost most of the CPU of a write, and run in parallel this way.
  struct PreparedEvent {
    const kubetrail::v1::EnvelopedEvent* event = nullptr;
    std::string bytes;   // deterministic serialization of the Event
    std::string id_key;  // ids column family key
    int64_t time_us = 0;
    std::string resource_term;
    std::string code_term;
  };
  struct Writer {
    absl::Span<const kubetrail::v1::EnvelopedEvent* const> batch;
    std::vector<PreparedEvent> prepared;
    bool sync = true;
    bool done = false;
    absl::StatusOr<WriteResult> result;
  };

  // A group of writers' batches committed as one RocksDB write (see Write).
  struct Group {
    struct NewTerm {
      uint8_t kind;
      std::string term;
      uint32_t id;
    };
    struct AllTime {
      uint8_t kind;
      uint64_t cluster_term;
      uint64_t count;
    };
    std::vector<Writer*> writers;
    std::unique_ptr<rocksdb::WriteBatch> batch;
    bool sync = true;
    uint64_t ticket = 0;  // commit order
    uint64_t epoch = 0;   // failure_epoch_ when built
    uint64_t first_sequence = 0;
    uint64_t stored = 0;
    std::vector<NewTerm> new_terms;
    std::vector<AllTime> all_time;
    absl::Status failure;  // set when building failed
  };

  // Group commit in stages, so that one group is built while the one before it is written
  // and the one before that is synced: BuildGroup (under build_mu_: duplicates, sequence
  // numbers, dictionary ids, posting lists, rollups) and CommitGroup (in ticket order: the
  // write, unsynced, under commit_mu_; then the sync of the write-ahead log, shared by the
  // groups written meanwhile; then publishing to readers, under publish_mu_). A failed
  // write or sync voids the groups built on top of it.
  void BuildGroup(Group* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(build_mu_);
  void CommitGroup(Group* g);
  // CommitGroup's write stage; false when the group was not written (its writers have
  // their error).
  bool WriteGroup(Group* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(commit_mu_);
  // Makes everything written before a failed write or sync durable (DB::Resume, and a
  // flush of the memtables when `sync_failed`), before the next group is written.
  absl::Status RecoverFromFailedWrite(bool sync_failed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(commit_mu_);
  // Returns when the write-ahead log is synced through group `ticket`: joins a sync that
  // began after that group was written, or runs one for every group written so far.
  absl::Status SyncThrough(uint64_t ticket) ABSL_LOCKS_EXCLUDED(sync_mu_);
  void ResetBuildState() ABSL_EXCLUSIVE_LOCKS_REQUIRED(build_mu_);
  // Waits until every group up to `ticket` is written (or voided).
  void AwaitWritten(uint64_t ticket) ABSL_EXCLUSIVE_LOCKS_REQUIRED(commit_mu_);
  // Waits until every group up to `ticket` is published (or voided).
  void AwaitPublished(uint64_t ticket) ABSL_EXCLUSIVE_LOCKS_REQUIRED(publish_mu_);
  absl::Status CheckOpen() const;

  // Reads and decodes one event; NotFound when the key has no event. With `serialized`, the
  // event comes as StoredEvent::serialized, not parsed.
  absl::StatusOr<StoredEvent> DecodeStored(const EventKey& key, std::string_view value,
                                           bool serialized = false) const;
  // Fetches the events of `candidates` (any order) and returns those present, in the same
  // order.
  // With `serialized`, each event comes as StoredEvent::serialized, unparsed.
  absl::StatusOr<std::vector<StoredEvent>> Fetch(const std::vector<Candidate>& candidates,
                                                 bool serialized = false);

  absl::StatusOr<Plan> BuildPlan(const Filter& filter);
  // Runs a search; `emit` returns false to stop. Events are delivered in cursor order,
  // after the cursor and within its snapshot.
  absl::Status Scan(const Plan& plan, const Cursor& cursor,
                    const std::function<bool(StoredEvent&&)>& emit);
  // Which scan Scan would run, and for ScanIndexed the kinds it intersects (after the
  // driver, plan.kinds[0]).
  enum class ScanKind { kNone, kAuditIds, kIndexed, kTime };
  ScanKind ChooseScan(const Plan& plan, std::vector<size_t>* intersect) const;
  absl::Status ScanIndexed(const Plan& plan, const Cursor& cursor,
                           const std::function<bool(StoredEvent&&)>& emit);
  absl::Status ScanTime(const Plan& plan, const Cursor& cursor,
                        const std::function<bool(StoredEvent&&)>& emit);
  absl::Status ScanAuditIds(const Plan& plan, const Cursor& cursor,
                            const std::function<bool(StoredEvent&&)>& emit);

  // Rollups: counts per (bucket of `hist_gran` or 0, term) for `kind` over the plan's time
  // range and clusters; nullopt when the rollups cannot answer the plan.
  using RollupSink =
      std::function<void(int64_t bucket_start, uint32_t cluster, uint32_t term, uint64_t count)>;
  absl::Status RollupCount(const Plan& plan, Kind kind, std::optional<Gran> hist_gran,
                           const RollupSink& sink);
  absl::Status CountPostingsInRange(Kind kind, uint32_t cluster, int64_t minute, int64_t from,
                                    int64_t to, const RollupSink& sink, int64_t bucket_start);
  std::optional<std::pair<int64_t, int64_t>> ClusterTimeBounds(uint32_t cluster);
  std::string TermKey(Kind kind, uint32_t term) const ABSL_SHARED_LOCKS_REQUIRED(dict_mu_);

  // Retention (rocksdb_retention.cc).
  absl::Status LoadRetention();
  // True when `event` of cluster id `cluster` has expired and no hold covers it.
  bool ExpiredOnArrival(const kubetrail::v1::EnvelopedEvent& event, uint32_t cluster,
                        int64_t time_us) const ABSL_SHARED_LOCKS_REQUIRED(retention_mu_);
  // Removes the events of `cluster` in days [from_day, to_day) one by one, except those
  // `holds` cover, adding the deletions to `wb`. `delta` collects rollup decrements by rollup key.
  absl::Status RemoveEventsOneByOne(uint32_t cluster, int64_t from_day, int64_t to_day,
                                    const std::vector<LegalHold>& holds, rocksdb::WriteBatch* wb,
                                    absl::flat_hash_map<std::string, int64_t>* delta,
                                    RetentionReport* report);

  const RocksDbOptions options_;
  rocksdb::Env* const env_;

  // Set in Init, constant until Close.
  std::shared_ptr<rocksdb::SstFileManager> sst_files_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* events_ = nullptr;
  rocksdb::ColumnFamilyHandle* ids_ = nullptr;
  rocksdb::ColumnFamilyHandle* postings_ = nullptr;
  rocksdb::ColumnFamilyHandle* rollups_ = nullptr;
  rocksdb::ColumnFamilyHandle* seqlog_ = nullptr;
  std::atomic<bool> closed_{false};

  // Highest committed (visible) sequence number.
  std::atomic<uint64_t> last_sequence_{0};

  // Dictionaries and planner estimates. Written only by the group-commit leader, after its
  // write succeeded; read by queries.
  mutable absl::Mutex dict_mu_;
  Dictionary dict_[kNumKinds] ABSL_GUARDED_BY(dict_mu_);
  // Per kind: (cluster << 32 | term) -> events ever ingested (kGranAll rollups).
  absl::flat_hash_map<uint64_t, uint64_t> estimates_[kNumKinds] ABSL_GUARDED_BY(dict_mu_);

  // Retention settings, holds and expiry state.
  const std::shared_ptr<ExpiryView> expiry_view_ = std::make_shared<ExpiryView>();
  mutable absl::Mutex retention_mu_;
  std::map<std::string, int64_t> retention_ ABSL_GUARDED_BY(retention_mu_);
  std::map<uint64_t, LegalHold> holds_ ABSL_GUARDED_BY(retention_mu_);
  uint64_t next_hold_ ABSL_GUARDED_BY(retention_mu_) = 1;
  absl::flat_hash_map<uint32_t, ClusterExpiry> expiry_ ABSL_GUARDED_BY(retention_mu_);

  // Group commit: the queue of writers.
  absl::Mutex write_mu_;
  absl::CondVar write_cv_;
  std::deque<Writer*> writers_ ABSL_GUARDED_BY(write_mu_);
  int active_writers_ ABSL_GUARDED_BY(write_mu_) = 0;

  // The build stage. Lock order: build_mu_ before write_mu_, commit_mu_, retention_mu_ and
  // dict_mu_.
  absl::Mutex build_mu_;
  bool build_state_ready_ ABSL_GUARDED_BY(build_mu_) = false;
  uint64_t build_epoch_ ABSL_GUARDED_BY(build_mu_) = 0;
  uint64_t next_ticket_ ABSL_GUARDED_BY(build_mu_) = 1;
  uint64_t next_sequence_ ABSL_GUARDED_BY(build_mu_) = 0;
  // Committed and built terms -> ids; the next id per kind.
  absl::flat_hash_map<std::string, uint32_t> builder_dict_[kNumKinds] ABSL_GUARDED_BY(build_mu_);
  uint32_t next_term_id_[kNumKinds] ABSL_GUARDED_BY(build_mu_) = {};
  // Identities of groups built but perhaps not committed yet -> their ticket.
  absl::flat_hash_map<std::string, uint64_t> staged_ids_ ABSL_GUARDED_BY(build_mu_);

  // The commit stage; also held by ApplyRetention (with build_mu_) so that retention never
  // interleaves with writes.
  absl::Mutex commit_mu_;
  uint64_t written_ticket_ ABSL_GUARDED_BY(commit_mu_) = 0;
  std::atomic<uint64_t> written_ticket_seen_{0};  // written_ticket_, for the builder
  // Set when a write failed: the next commit calls RecoverFromFailedWrite first (as it does
  // when sync_failure_ is set).
  bool write_failed_ ABSL_GUARDED_BY(commit_mu_) = false;

  // The sync stage. Lock order: commit_mu_ before sync_mu_; a sync never takes commit_mu_
  // (ApplyRetention holds it while waiting for groups to be published).
  absl::Mutex sync_mu_;
  bool syncing_ ABSL_GUARDED_BY(sync_mu_) = false;
  uint64_t synced_ticket_ ABSL_GUARDED_BY(sync_mu_) = 0;
  // Set when a sync failed: the log may have lost any write before it (the kernel may drop
  // pages it failed to write back), so no group is durable until RecoverFromFailedWrite
  // has flushed the memtables.
  absl::Status sync_failure_ ABSL_GUARDED_BY(sync_mu_);

  // The publish stage: groups reach readers (dictionaries, estimates, last_sequence_) in
  // ticket order. Lock order: build_mu_ and commit_mu_ before publish_mu_, publish_mu_
  // before dict_mu_.
  absl::Mutex publish_mu_;
  uint64_t published_ticket_ ABSL_GUARDED_BY(publish_mu_) = 0;
  // Incremented by every failed build or write; groups built before are void.
  std::atomic<uint64_t> failure_epoch_{0};

  // WriteBatches kept for reuse: their buffers keep their capacity, which spares the page
  // faults of growing fresh multi-megabyte buffers for every group.
  absl::Mutex pool_mu_;
  std::vector<std::unique_ptr<rocksdb::WriteBatch>> batch_pool_ ABSL_GUARDED_BY(pool_mu_);
};

}  // namespace kubetrail::storage::internal

#endif  // KUBETRAIL_STORAGE_INTERNAL_ROCKSDB_IMPL_H_
