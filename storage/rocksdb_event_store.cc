// The RocksDB store: opening, the write path with group commit, statistics and lifecycle.
// Queries live in rocksdb_query.cc and rocksdb_rollup.cc, the consistency check in
// rocksdb_check.cc; the format in internal/format.h and FORMAT.md.
#include "storage/rocksdb_event_store.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "proto/enveloped_event_wire.h"
#include "rocksdb/cache.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/merge_operator.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"
#include "storage/internal/rocksdb_impl.h"

namespace kubetrail::storage {
namespace internal {
namespace {

using kubetrail::v1::EnvelopedEvent;

// Adds fixed64 little-endian counters. Name frozen: it is recorded in the store's OPTIONS.
class Add64Operator : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice& /*key*/, const rocksdb::Slice* existing,
             const rocksdb::Slice& value, std::string* new_value,
             rocksdb::Logger* /*logger*/) const override {
    uint64_t sum = 0;
    if (existing != nullptr) {
      if (existing->size() != 8) return false;
      sum = GetFixed64(existing->data());
    }
    if (value.size() != 8) return false;
    sum += GetFixed64(value.data());
    new_value->clear();
    PutFixed64(sum, new_value);
    return true;
  }
  const char* Name() const override { return "kubetrail.add64"; }
};

// Most events go through this many writers' batches merged into one write at most.
constexpr size_t kMaxGroupEvents = 8192;

struct CfSpec {
  const char* name;
  rocksdb::ColumnFamilyOptions options;
};

std::vector<CfSpec> ColumnFamilies(const RocksDbOptions& o,
                                   const std::shared_ptr<ExpiryView>& expiry) {
  auto cache = rocksdb::NewLRUCache(o.block_cache_bytes);
  auto table = [&](bool bloom, bool whole_key) {
    rocksdb::BlockBasedTableOptions t;
    t.block_cache = cache;
    t.block_size = o.block_size;
    t.cache_index_and_filter_blocks = true;
    t.pin_l0_filter_and_index_blocks_in_cache = true;
    t.format_version = 5;
    if (bloom) t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    t.whole_key_filtering = whole_key;
    return rocksdb::NewBlockBasedTableFactory(t);
  };
  auto base = [&](uint64_t write_buffer) {
    rocksdb::ColumnFamilyOptions c;
    c.write_buffer_size = write_buffer;
    c.level_compaction_dynamic_level_bytes = true;
    c.compression = rocksdb::kLZ4Compression;
    c.bottommost_compression = rocksdb::kZSTD;
    c.bottommost_compression_opts.level = o.zstd_level;
    c.bottommost_compression_opts.enabled = true;
    return c;
  };
  std::vector<CfSpec> cfs;
  {
    rocksdb::ColumnFamilyOptions c = base(4 << 20);
    c.table_factory.reset(table(false, true));
    cfs.push_back({kCfMeta, c});
  }
  {
    rocksdb::ColumnFamilyOptions c = base(o.write_buffer_bytes);
    c.table_factory.reset(table(false, true));
    if (o.zstd_dictionary_bytes > 0) {
      c.bottommost_compression_opts.max_dict_bytes = static_cast<uint32_t>(o.zstd_dictionary_bytes);
      c.bottommost_compression_opts.zstd_max_train_bytes =
          static_cast<uint32_t>(o.zstd_dictionary_bytes) * 100;
    }
    cfs.push_back({kCfEvents, c});
  }
  {
    rocksdb::ColumnFamilyOptions c = base(o.write_buffer_bytes / 2);
    c.compression = rocksdb::kNoCompression;  // hashes do not compress
    c.bottommost_compression = rocksdb::kNoCompression;
    c.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(8));
    c.table_factory.reset(table(true, true));
    // Every write probes this column family for duplicates: a memtable bloom filter answers
    // "not there" without walking the skiplist.
    c.memtable_prefix_bloom_size_ratio = 0.1;
    c.memtable_whole_key_filtering = true;
    c.compaction_filter_factory = NewExpiryFilterFactory(expiry, kCfIds);
    cfs.push_back({kCfIds, c});
  }
  {
    rocksdb::ColumnFamilyOptions c = base(o.write_buffer_bytes / 2);
    c.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(kPostingPrefixSize));
    c.table_factory.reset(table(true, false));
    c.compaction_filter_factory = NewExpiryFilterFactory(expiry, kCfPostings);
    cfs.push_back({kCfPostings, c});
  }
  {
    rocksdb::ColumnFamilyOptions c = base(o.write_buffer_bytes / 4);
    c.merge_operator = std::make_shared<Add64Operator>();
    c.table_factory.reset(table(false, true));
    cfs.push_back({kCfRollups, c});
  }
  {
    rocksdb::ColumnFamilyOptions c = base(o.write_buffer_bytes / 4);
    c.table_factory.reset(table(false, true));
    c.compaction_filter_factory = NewExpiryFilterFactory(expiry, kCfSeqlog);
    cfs.push_back({kCfSeqlog, c});
  }
  return cfs;
}

}  // namespace

std::optional<uint32_t> Dictionary::Find(std::string_view term) const {
  auto it = ids.find(ToAbsl(term));
  if (it == ids.end()) return std::nullopt;
  return it->second;
}

const std::string& Dictionary::Term(uint32_t id) const {
  static const std::string* const kEmpty = new std::string();
  if (id == 0 || id > terms.size()) return *kEmpty;
  return terms[id - 1];
}

RocksDbStoreImpl::RocksDbStoreImpl(RocksDbOptions options, rocksdb::Env* env)
    : options_(std::move(options)), env_(env != nullptr ? env : rocksdb::Env::Default()) {}

RocksDbStoreImpl::~RocksDbStoreImpl() {
  if (!closed_.load()) {
    absl::Status s = Close();
    if (!s.ok()) {
      KT_LOG(kError, "storage") << "closing " << options_.path << ": " << s.ToString();
    }
  }
}

absl::Status RocksDbStoreImpl::Init() {
  if (options_.path.empty()) return absl::InvalidArgumentError("store path is empty");
  std::error_code ec;
  if (!options_.read_only && options_.create_if_missing) {
    std::filesystem::create_directories(options_.path, ec);
    if (ec) {
      return absl::FailedPreconditionError(
          Cat("cannot create store directory ", options_.path, ": ", ec.message()));
    }
  }
  if (!std::filesystem::exists(std::filesystem::path(options_.path) / "CURRENT", ec)) {
    if (!options_.create_if_missing || options_.read_only) {
      return absl::NotFoundError(Cat("no kubetrail store in ", options_.path));
    }
  }

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options_.create_if_missing;
  db_options.create_missing_column_families = options_.create_if_missing;
  db_options.max_background_jobs = options_.background_threads;
  db_options.bytes_per_sync = 1 << 20;
  db_options.wal_bytes_per_sync = 0;
  db_options.max_total_wal_size = 512ull << 20;
  db_options.keep_log_file_num = 4;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db_options.env = env_;
  if (options_.low_priority_compactions && !options_.read_only) {
    rocksdb::Status prio =
        env_->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::LOW, rocksdb::CpuPriority::kLow);
    if (!prio.ok()) {
      KT_LOG(kWarning, "storage") << "compactions keep their CPU priority: " << prio.ToString();
    }
  }
  sst_files_.reset(rocksdb::NewSstFileManager(env_));
  sst_files_->SetMaxAllowedSpaceUsage(options_.max_disk_bytes);
  db_options.sst_file_manager = sst_files_;

  std::vector<CfSpec> specs = ColumnFamilies(options_, expiry_view_);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const CfSpec& spec : specs) descriptors.emplace_back(spec.name, spec.options);

  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      options_.read_only
          ? rocksdb::DB::OpenForReadOnly(db_options, options_.path, descriptors, &handles_, &raw)
          : rocksdb::DB::Open(db_options, options_.path, descriptors, &handles_, &raw);
  if (!s.ok()) {
    return FromRocks(s, Cat("opening store ", options_.path));
  }
  db_.reset(raw);
  meta_ = handles_[0];
  events_ = handles_[1];
  ids_ = handles_[2];
  postings_ = handles_[3];
  rollups_ = handles_[4];
  seqlog_ = handles_[5];

  // Format version: written on creation, refused when newer than this build.
  std::string version;
  s = db_->Get(rocksdb::ReadOptions(), meta_, kMetaFormatVersion, &version);
  if (s.IsNotFound()) {
    if (options_.read_only) {
      return absl::FailedPreconditionError(Cat("store ", options_.path, " has no format version"));
    }
    rocksdb::WriteOptions wo;
    wo.sync = true;
    KT_RETURN_IF_ERROR(
        FromRocks(db_->Put(wo, meta_, kMetaFormatVersion, std::to_string(kStoreFormatVersion)),
                  Cat("initialising store ", options_.path)));
  } else if (!s.ok()) {
    return FromRocks(s, Cat("reading format version of ", options_.path));
  } else {
    uint32_t v = 0;
    if (!absl::SimpleAtoi(version, &v)) {
      return absl::DataLossError(
          Cat("store ", options_.path, ": unreadable format version \"", version, "\""));
    }
    if (v > kStoreFormatVersion) {
      return absl::FailedPreconditionError(Cat("store ", options_.path, " has format version ", v,
                                               "; this kubetrail reads versions up to ",
                                               kStoreFormatVersion, ": upgrade kubetrail"));
    }
  }

  // Dictionaries.
  {
    absl::MutexLock lock(&dict_mu_);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_));
    const std::string prefix(1, kDictRevPrefix);
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      const rocksdb::Slice k = it->key();
      if (k.size() != 6) return absl::DataLossError("bad dictionary key");
      const auto kind = static_cast<uint8_t>(k[1]);
      const uint32_t id = GetBig32(k.data() + 2);
      if (kind >= kNumKinds) return absl::DataLossError("bad dictionary kind");
      Dictionary& d = dict_[kind];
      if (id != d.terms.size() + 1) {
        return absl::DataLossError(Cat("dictionary ", kind, " has a gap at id ", id));
      }
      d.terms.push_back(it->value().ToString());
      d.ids.emplace(d.terms.back(), id);
    }
    KT_RETURN_IF_ERROR(FromRocks(it->status(), "loading dictionaries"));

    // Planner estimates: the kGranAll rollups of every (kind, cluster).
    std::unique_ptr<rocksdb::Iterator> r(db_->NewIterator(rocksdb::ReadOptions(), rollups_));
    const auto cluster_count = static_cast<uint32_t>(dict_[kKindCluster].terms.size());
    for (uint8_t kind = 0; kind < kNumKinds; ++kind) {
      for (uint32_t cluster = 1; cluster <= cluster_count; ++cluster) {
        const std::string start = EncodeRollupKey({kind, cluster, kGranAll, 0, 0});
        const std::string_view section(start.data(), 6);
        for (r->Seek(start);
             r->Valid() && r->key().starts_with(rocksdb::Slice(section.data(), section.size()));
             r->Next()) {
          RollupKey key;
          if (!DecodeRollupKey(std::string_view(r->key().data(), r->key().size()), &key) ||
              r->value().size() != 8) {
            return absl::DataLossError(Cat("store ", options_.path, ": bad rollup record"));
          }
          estimates_[kind][(uint64_t{cluster} << 32) | key.term] = GetFixed64(r->value().data());
        }
      }
    }
    KT_RETURN_IF_ERROR(FromRocks(r->status(), "loading rollup totals"));
  }

  KT_RETURN_IF_ERROR(LoadRetention());

  // Last sequence: the last seqlog batch.
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), seqlog_));
    it->SeekToLast();
    if (it->Valid()) {
      std::vector<SeqlogEntry> entries;
      if (it->key().size() != 8 ||
          !DecodeSeqlogValue(std::string_view(it->value().data(), it->value().size()), &entries)) {
        return absl::DataLossError("bad sequence log entry");
      }
      last_sequence_ = GetBig64(it->key().data()) + entries.size() - 1;
      expiry_view_->SetNewestSeqlog(GetBig64(it->key().data()));
    }
    KT_RETURN_IF_ERROR(FromRocks(it->status(), "reading the sequence log"));
  }
  return absl::OkStatus();
}

absl::Status RocksDbStoreImpl::CheckOpen() const {
  if (closed_.load()) return absl::FailedPreconditionError("store is closed");
  return absl::OkStatus();
}

absl::StatusOr<WriteResult> RocksDbStoreImpl::DoWrite(
    absl::Span<const EnvelopedEvent* const> batch, const WriteOptions& options) {
  KT_RETURN_IF_ERROR(CheckOpen());
  if (options_.read_only) return absl::FailedPreconditionError("store is open read-only");
  for (size_t i = 0; i < batch.size(); ++i) {
    if (batch[i]->envelope().cluster().empty()) {
      return absl::InvalidArgumentError(Cat("event ", i, ": envelope has no cluster"));
    }
    if (batch[i]->event().audit_id().empty()) {
      return absl::InvalidArgumentError(Cat("event ", i, ": no auditID"));
    }
    if (const int64_t t = EventTimeMicros(*batch[i]); t < kMinEventTimeUs || t > kMaxEventTimeUs) {
      return absl::InvalidArgumentError(
          Cat("event ", i, ": time ", t,
              " us is outside the times a store keeps (years 0000 to 6053)"));
    }
  }
  Writer w;
  w.batch = batch;
  w.sync = options.sync;
  w.prepared.resize(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    PreparedEvent& p = w.prepared[i];
    const EnvelopedEvent& e = *batch[i];
    p.event = &e;
    SerializeDeterministic(e.event(), &p.bytes, options.event_sizes_cached);
    p.id_key = EncodeIdKey(AuditIdHash(e.event().audit_id()),
                           IdentityHash(e.envelope().cluster(), e.envelope().source(), p.bytes));
    p.time_us = EventTimeMicros(e);
    p.resource_term = ResourceTerm(e.event().object_ref());
    p.code_term = CodeTerm(e.event());
  }

  absl::MutexLock lock(&write_mu_);
  if (closed_.load()) return absl::FailedPreconditionError("store is closed");
  ++active_writers_;
  writers_.push_back(&w);
  while (!w.done && (writers_.empty() || writers_.front() != &w)) write_cv_.Wait(&write_mu_);
  if (!w.done) {
    // This writer leads. It takes the build slot first and only then its group, so that
    // writers arriving while the previous group builds join this one.
    write_mu_.Unlock();
    build_mu_.Lock();
    {
      // At most one group ahead, the one being written: a group built earlier than needed
      // would only be smaller.
      absl::MutexLock commit(&commit_mu_);
      if (next_ticket_ >= 2) AwaitWritten(next_ticket_ - 2);
    }
    write_mu_.Lock();
    Group group;
    size_t events = 0;
    while (!writers_.empty()) {
      Writer* next = writers_.front();
      if (!group.writers.empty() && events + next->batch.size() > kMaxGroupEvents) break;
      group.writers.push_back(next);
      events += next->batch.size();
      writers_.pop_front();
    }
    write_cv_.SignalAll();  // the next writer in line may lead the next group
    write_mu_.Unlock();
    BuildGroup(&group);
    build_mu_.Unlock();
    CommitGroup(&group);
    write_mu_.Lock();
    for (Writer* done : group.writers) done->done = true;
    write_cv_.SignalAll();
  }
  --active_writers_;
  return std::move(w.result);
}

namespace {

// A posting list being built: (kind, cluster, term, minute).
struct GroupKey {
  uint8_t kind;
  uint32_t cluster;
  uint32_t term;
  int64_t minute;
  friend bool operator==(const GroupKey&, const GroupKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const GroupKey& k) {
    return H::combine(std::move(h), k.kind, k.cluster, k.term, k.minute);
  }
};

}  // namespace

void RocksDbStoreImpl::ResetBuildState() {
  // What readers see is the state to start from: every group built so far must have
  // reached them (a group whose sync failed is in the database all the same).
  {
    absl::MutexLock lock(&publish_mu_);
    AwaitPublished(next_ticket_ - 1);
  }
  next_sequence_ = last_sequence_.load() + 1;
  staged_ids_.clear();
  absl::ReaderMutexLock lock(&dict_mu_);
  for (int kind = 0; kind < kNumKinds; ++kind) {
    builder_dict_[kind].clear();
    const Dictionary& d = dict_[kind];
    for (uint32_t id = 1; id <= d.terms.size(); ++id)
      builder_dict_[kind].emplace(d.terms[id - 1], id);
    next_term_id_[kind] = static_cast<uint32_t>(d.terms.size() + 1);
  }
}

void RocksDbStoreImpl::BuildGroup(Group* g) {
  // After a failed write, the groups built since are void: start again from what is
  // committed.
  const uint64_t epoch = failure_epoch_.load();
  if (!build_state_ready_ || epoch != build_epoch_) {
    ResetBuildState();
    build_epoch_ = epoch;
    build_state_ready_ = true;
  }
  // Identities of committed groups are in the ids column family now.
  const uint64_t written = written_ticket_seen_.load();
  absl::erase_if(staged_ids_, [&](const auto& entry) { return entry.second <= written; });

  g->ticket = next_ticket_++;
  g->epoch = epoch;
  g->sync = std::any_of(g->writers.begin(), g->writers.end(), [](Writer* w) { return w->sync; });
  {
    absl::MutexLock lock(&pool_mu_);
    if (batch_pool_.empty()) {
      g->batch = std::make_unique<rocksdb::WriteBatch>();
    } else {
      g->batch = std::move(batch_pool_.back());
      batch_pool_.pop_back();
    }
  }
  rocksdb::WriteBatch& wb = *g->batch;
  wb.Clear();
  auto fail_all = [&](const absl::Status& s) {
    g->failure = s;
    for (Writer* w : g->writers) w->result = s;
  };

  std::vector<const PreparedEvent*> items;
  for (Writer* w : g->writers) {
    for (const PreparedEvent& p : w->prepared) items.push_back(&p);
  }

  // Duplicates: already stored, in a group not yet committed, or earlier in this group.
  std::vector<bool> duplicate(items.size(), false);
  {
    std::vector<rocksdb::Slice> keys;
    keys.reserve(items.size());
    for (const PreparedEvent* item : items) keys.emplace_back(item->id_key);
    std::vector<rocksdb::PinnableSlice> values(items.size());
    std::vector<rocksdb::Status> statuses(items.size());
    db_->MultiGet(rocksdb::ReadOptions(), ids_, keys.size(), keys.data(), values.data(),
                  statuses.data());
    absl::flat_hash_set<std::string_view> seen;
    const std::shared_ptr<const ExpiryView::Map> removed = expiry_view_->Get();
    for (size_t i = 0; i < items.size(); ++i) {
      EventKey stored;
      if (statuses[i].ok() &&
          !(DecodeEventKey(std::string_view(values[i].data(), values[i].size()), &stored) &&
            ExpiryView::Removed(*removed, stored.cluster, stored.time_us))) {
        // (An entry of a day retention removed wholesale is a leftover for compaction.)
        duplicate[i] = true;
      } else if (!statuses[i].ok() && !statuses[i].IsNotFound()) {
        fail_all(FromRocks(statuses[i], "checking for duplicates"));
        return;
      } else if (staged_ids_.contains(items[i]->id_key)) {
        duplicate[i] = true;
      } else {
        duplicate[i] = !seen.insert(items[i]->id_key).second;
      }
    }
  }

  // Dictionary lookups; new terms get the next ids, committed with the write.
  auto term_id = [&](Kind kind, std::string_view term) -> uint32_t {
    auto& d = builder_dict_[kind];
    auto it = d.find(ToAbsl(term));
    if (it != d.end()) return it->second;
    const uint32_t id = next_term_id_[kind]++;
    d.emplace(std::string(term), id);
    g->new_terms.push_back({kind, std::string(term), id});
    return id;
  };

  const uint64_t first_sequence = next_sequence_;
  uint64_t sequence = first_sequence;
  std::vector<SeqlogEntry> seqlog;
  // Posting lists of this write; their sizes are also the minute rollups. `totals` counts
  // every event per (cluster, minute).
  absl::flat_hash_map<GroupKey, std::vector<PostingEntry>> postings;
  absl::flat_hash_map<GroupKey, uint64_t> totals;
  // (auditID key, event key) of the stored events, put in key order below: a memtable
  // skiplist inserts keys that follow each other much faster than scattered ones.
  std::vector<std::pair<std::string_view, std::string>> id_entries;
  std::string key, value;
  size_t index = 0;
  absl::ReaderMutexLock retention_lock(&retention_mu_);
  for (Writer* w : g->writers) {
    WriteResult result;
    result.outcomes.reserve(w->batch.size());
    for (size_t j = 0; j < w->batch.size(); ++j, ++index) {
      if (duplicate[index]) {
        result.outcomes.push_back(WriteOutcome::kDuplicate);
        ++result.duplicates;
        continue;
      }
      if (!expiry_.empty()) {
        auto c =
            builder_dict_[kKindCluster].find(ToAbsl(items[index]->event->envelope().cluster()));
        if (c != builder_dict_[kKindCluster].end() &&
            ExpiredOnArrival(*items[index]->event, c->second, items[index]->time_us)) {
          result.outcomes.push_back(WriteOutcome::kExpired);
          ++result.expired;
          continue;
        }
      }
      result.outcomes.push_back(WriteOutcome::kStored);
      ++result.stored;
      const PreparedEvent& item = *items[index];
      staged_ids_[item.id_key] = g->ticket;
      const EnvelopedEvent& e = *item.event;
      const kubetrail::v1::Event& ev = e.event();
      const int64_t time = item.time_us;
      const uint32_t cluster = term_id(kKindCluster, e.envelope().cluster());
      const uint32_t source = term_id(kKindSource, e.envelope().source());

      key.clear();
      AppendEventKey({cluster, time, sequence}, &key);
      value.clear();
      AppendEventValueHeader(source, ReceiveDelta(e.envelope().receive_time_us(), time), &value);
      {
        // The event bytes go into the batch once, not through `value` first.
        const rocksdb::Slice key_part(key);
        const rocksdb::Slice value_parts[2] = {rocksdb::Slice(value), rocksdb::Slice(item.bytes)};
        wb.Put(events_, rocksdb::SliceParts(&key_part, 1), rocksdb::SliceParts(value_parts, 2));
      }
      id_entries.emplace_back(item.id_key, key);
      seqlog.push_back({cluster, time});

      const int64_t minute = FloorDiv(time, GranMicros(kGranMinute));
      auto add = [&](Kind kind, std::string_view term) {
        postings[GroupKey{kind, cluster, term_id(kind, term), minute}].push_back({time, sequence});
      };
      totals[GroupKey{kKindTotal, cluster, 0, minute}] += 1;
      ForEachTerm(ev, item.resource_term, item.code_term, add);
      ++sequence;
    }
    w->result = std::move(result);
  }

  g->first_sequence = first_sequence;
  g->stored = sequence - first_sequence;
  next_sequence_ = sequence;
  if (g->stored == 0) return;
  std::sort(id_entries.begin(), id_entries.end());
  for (const auto& [id_key, event_key] : id_entries) wb.Put(ids_, id_key, event_key);

  // Rollups: minute counts from the posting lists, then hours, days and all time.
  absl::flat_hash_map<GroupKey, uint64_t> minute_counts = std::move(totals);
  std::vector<std::pair<std::string, std::string>> posting_entries;
  posting_entries.reserve(postings.size());
  for (auto& [pg, entries] : postings) {
    std::sort(entries.begin(), entries.end(), [](const PostingEntry& a, const PostingEntry& b) {
      return a.time_us != b.time_us ? a.time_us < b.time_us : a.sequence < b.sequence;
    });
    PostingKey pk{pg.kind, pg.cluster, pg.term, pg.minute, first_sequence};
    pk.bucket = BucketFromKey(BucketKey(pg.minute));  // as stored: clamped
    value.clear();
    AppendPostingValue(pk, entries, &value);
    posting_entries.emplace_back(EncodePostingKey(pk), value);
    minute_counts[pg] += entries.size();
  }
  std::sort(posting_entries.begin(), posting_entries.end());
  for (const auto& [pk, pv] : posting_entries) wb.Put(postings_, pk, pv);
  // Ordered, for the same reason as the auditID keys.
  absl::btree_map<std::string, uint64_t> rollups;
  for (const auto& [mg, n] : minute_counts) {
    const bool timed = HasTimedRollups(mg.kind);
    const int64_t time = mg.minute * GranMicros(kGranMinute);
    for (Gran gran : {kGranMinute, kGranHour, kGranDay}) {
      // Groups and impersonated users have day counts only (for retention's bookkeeping).
      if (!timed && gran != kGranDay) continue;
      rollups[EncodeRollupKey(
          {mg.kind, mg.cluster, gran, FloorDiv(time, GranMicros(gran)), mg.term})] += n;
    }
    rollups[EncodeRollupKey({mg.kind, mg.cluster, kGranAll, 0, mg.term})] += n;
    g->all_time.push_back({mg.kind, (uint64_t{mg.cluster} << 32) | mg.term, n});
  }
  for (const auto& [rk, count] : rollups) {
    value.clear();
    PutFixed64(count, &value);
    wb.Merge(rollups_, rk, value);
  }
  key.clear();
  PutBig64(first_sequence, &key);
  value.clear();
  AppendSeqlogValue(seqlog, &value);
  wb.Put(seqlog_, key, value);
  for (const Group::NewTerm& t : g->new_terms) {
    value.clear();
    PutBig32(t.id, &value);
    wb.Put(meta_, EncodeDictKey(t.kind, t.term), value);
    wb.Put(meta_, EncodeDictRevKey(t.kind, t.id), t.term);
  }
}

namespace {

// Waits on `mu` (held) until `*counter >= ticket`.
void AwaitTicket(absl::Mutex& mu, const uint64_t* counter, uint64_t ticket) {
  struct Target {
    const uint64_t* counter;
    uint64_t ticket;
  } target{counter, ticket};
  mu.Await(absl::Condition(
      +[](Target* t) { return *t->counter >= t->ticket; }, &target));
}

}  // namespace

void RocksDbStoreImpl::AwaitWritten(uint64_t ticket) {
  AwaitTicket(commit_mu_, &written_ticket_, ticket);
}

void RocksDbStoreImpl::AwaitPublished(uint64_t ticket) {
  AwaitTicket(publish_mu_, &published_ticket_, ticket);
}

void RocksDbStoreImpl::CommitGroup(Group* g) {
  const uint64_t ticket = g->ticket;
  bool written = false;
  {
    absl::MutexLock lock(&commit_mu_);
    // Groups are written in the order they were built: their sequence numbers and
    // dictionary ids follow each other.
    AwaitWritten(ticket - 1);
    written = WriteGroup(g);
    if (written && g->stored > 0) expiry_view_->SetNewestSeqlog(g->first_sequence);
    written_ticket_ = ticket;
    written_ticket_seen_.store(ticket);
  }
  {
    absl::MutexLock pool(&pool_mu_);
    if (g->batch != nullptr && batch_pool_.size() < 4) batch_pool_.push_back(std::move(g->batch));
  }

  // The sync runs outside commit_mu_, so that the next group is written meanwhile and
  // shares the next sync.
  absl::Status synced;
  if (written && g->sync) {
    synced = SyncThrough(ticket);
    // The next write sees sync_failure_ and recovers first. No commit_mu_ here: retention
    // holds it while it waits for this group to be published.
    if (!synced.ok()) failure_epoch_.fetch_add(1);
  }

  absl::MutexLock lock(&publish_mu_);
  AwaitPublished(ticket - 1);
  if (written && g->stored > 0) {
    // Published even when its sync failed: the group is in the database (and durable once
    // RecoverFromFailedWrite has flushed it), and the groups built after it use its
    // sequence numbers and dictionary ids. Its writers get the error and retry; the retry
    // finds their events stored.
    // Dictionaries and estimates first, then the sequence readers follow.
    absl::MutexLock dict_lock(&dict_mu_);
    for (const Group::NewTerm& t : g->new_terms) {
      Dictionary& d = dict_[t.kind];
      d.terms.push_back(t.term);
      d.ids.emplace(t.term, t.id);
    }
    for (const auto& [kind, cluster_term, n] : g->all_time) estimates_[kind][cluster_term] += n;
    last_sequence_.store(g->first_sequence + g->stored - 1);
  }
  for (Writer* w : g->writers) {
    if (!synced.ok()) {
      w->result = synced;
    } else if (w->result.ok()) {
      w->result->last_sequence = last_sequence_.load();
    }
  }
  published_ticket_ = ticket;
}

bool RocksDbStoreImpl::WriteGroup(Group* g) {
  auto fail_all = [&](const absl::Status& s) {
    for (Writer* w : g->writers) w->result = s;
  };
  if (!g->failure.ok()) {
    failure_epoch_.fetch_add(1);
    return false;
  }
  if (g->epoch != failure_epoch_.load()) {
    // Built on top of a group whose write failed: nothing of it may be written.
    fail_all(absl::UnavailableError(
        Cat("writing to store ", options_.path, ": an earlier write failed; retry")));
    return false;
  }
  bool sync_failed = false;
  {
    absl::MutexLock lock(&sync_mu_);
    sync_failed = !sync_failure_.ok();
  }
  if (write_failed_ || sync_failed) {
    // Also before a group of duplicates only: they are acknowledged as stored once the
    // writes they duplicate are durable.
    absl::Status s = RecoverFromFailedWrite(sync_failed);
    if (!s.ok()) {
      fail_all(s);
      failure_epoch_.fetch_add(1);
      return false;
    }
    write_failed_ = false;
  }
  if (g->stored == 0) return true;
  // Unsynced: CommitGroup syncs after releasing commit_mu_.
  rocksdb::WriteOptions wo;
  wo.sync = false;
  rocksdb::Status s = db_->Write(wo, g->batch.get());
  if (!s.ok()) {
    write_failed_ = true;
    failure_epoch_.fetch_add(1);
    fail_all(FromRocks(s, Cat("writing to store ", options_.path)));
    return false;
  }
  return true;
}

absl::Status RocksDbStoreImpl::RecoverFromFailedWrite(bool sync_failed) {
  // A failed write (a full disk, an I/O error) stops RocksDB's writes until resumed.
  rocksdb::Status s = db_->Resume();
  if (s.IsBusy()) {
    // RocksDB is recovering on its own (for example after space was freed).
    return absl::UnavailableError(
        Cat("store ", options_.path, " is recovering from a failed write; retry"));
  }
  if (!s.ok()) return FromRocks(s, Cat("resuming writes to ", options_.path));
  if (sync_failed) {
    // What the log held before the failed sync may be lost from it: flushing the memtables
    // makes every write so far durable without the log.
    rocksdb::FlushOptions fo;
    fo.wait = true;
    s = db_->Flush(fo, handles_);
    if (!s.ok()) {
      return FromRocks(s, Cat("flushing ", options_.path, " after a failed log sync"));
    }
    absl::MutexLock lock(&sync_mu_);
    sync_failure_ = absl::OkStatus();
    synced_ticket_ = std::max(synced_ticket_, written_ticket_);
  }
  return absl::OkStatus();
}

absl::Status RocksDbStoreImpl::SyncThrough(uint64_t ticket) {
  absl::MutexLock lock(&sync_mu_);
  for (;;) {
    if (!sync_failure_.ok()) return sync_failure_;
    if (synced_ticket_ >= ticket) return absl::OkStatus();
    if (!syncing_) break;
    sync_mu_.Await(absl::Condition(
        +[](bool* syncing) { return !*syncing; }, &syncing_));
  }
  // No sync is running: this one covers every group written so far, this one included.
  syncing_ = true;
  const uint64_t target = written_ticket_seen_.load();
  sync_mu_.Unlock();
  const rocksdb::Status s = db_->SyncWAL();
  sync_mu_.Lock();
  syncing_ = false;
  if (!s.ok()) {
    sync_failure_ = FromRocks(s, Cat("syncing the write-ahead log of store ", options_.path));
    return sync_failure_;
  }
  synced_ticket_ = std::max(synced_ticket_, target);
  return absl::OkStatus();
}

absl::StatusOr<StoredEvent> RocksDbStoreImpl::DecodeStored(const EventKey& key,
                                                           std::string_view value,
                                                           bool serialized) const {
  EventValue v;
  if (!DecodeEventValue(value, &v)) {
    return absl::DataLossError(Cat("store ", options_.path, ": corrupt event record"));
  }
  StoredEvent out;
  out.sequence = key.sequence;
  out.time_us = key.time_us;
  kubetrail::v1::Envelope envelope;
  {
    absl::ReaderMutexLock lock(&dict_mu_);
    envelope.set_cluster(dict_[kKindCluster].Term(key.cluster));
    envelope.set_source(dict_[kKindSource].Term(v.source));
  }
  envelope.set_receive_time_us(ReceiveTime(key.time_us, v.receive_delta));
  if (!serialized) {
    if (!out.event.mutable_event()->ParseFromArray(v.event_bytes.data(),
                                                   static_cast<int>(v.event_bytes.size()))) {
      return absl::DataLossError(
          Cat("store ", options_.path, ": corrupt event at sequence ", key.sequence));
    }
    out.event.mutable_envelope()->Swap(&envelope);
    return out;
  }
  // An EnvelopedEvent around the stored bytes (an encoded Event), written once into a string
  // of the exact size: growing it as a stream does costs more than the copy.
  const size_t envelope_size = envelope.ByteSizeLong();
  const size_t event_size = v.event_bytes.size();
  out.serialized.resize(EnvelopedEventSize(envelope_size, event_size));
  uint8_t* p = WriteEnvelopedEventHead(envelope, event_size,
                                       reinterpret_cast<uint8_t*>(out.serialized.data()));
  std::memcpy(p, v.event_bytes.data(), event_size);
  return out;
}

absl::StatusOr<std::vector<StoredEvent>> RocksDbStoreImpl::Fetch(
    const std::vector<Candidate>& candidates, bool serialized) {
  std::vector<std::string> keys;
  keys.reserve(candidates.size());
  for (const Candidate& c : candidates) {
    keys.push_back(EncodeEventKey({c.cluster, c.time_us, c.sequence}));
  }
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db_->MultiGet(rocksdb::ReadOptions(), events_, slices.size(), slices.data(), values.data(),
                statuses.data());
  std::vector<StoredEvent> out;
  out.reserve(candidates.size());
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;  // expired since the index was read
    KT_RETURN_IF_ERROR(FromRocks(statuses[i], "reading events"));
    const Candidate& c = candidates[i];
    const std::string_view value(values[i].data(), values[i].size());
    KT_ASSIGN_OR_RETURN(StoredEvent e,
                        DecodeStored({c.cluster, c.time_us, c.sequence}, value, serialized));
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<StoreStats> RocksDbStoreImpl::Stats() {
  KT_RETURN_IF_ERROR(CheckOpen());
  StoreStats stats;
  stats.last_sequence = last_sequence_.load();
  {
    absl::ReaderMutexLock lock(&dict_mu_);
    for (const auto& [cluster_term, count] : estimates_[kKindTotal]) {
      if (count == 0) continue;  // every event expired
      stats.events += count;
      stats.events_per_cluster.push_back(
          {dict_[kKindCluster].Term(static_cast<uint32_t>(cluster_term >> 32)), count});
    }
  }
  std::sort(stats.events_per_cluster.begin(), stats.events_per_cluster.end(),
            [](const KeyCount& a, const KeyCount& b) { return a.key < b.key; });
  uint64_t live = 0;
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    uint64_t v = 0, part = 0;
    if (db_->GetIntProperty(h, rocksdb::DB::Properties::kLiveSstFilesSize, &v)) part += v;
    if (db_->GetIntProperty(h, rocksdb::DB::Properties::kCurSizeAllMemTables, &v)) part += v;
    stats.disk_bytes_by_part.push_back({h->GetName(), part});
    live += part;
  }
  std::sort(stats.disk_bytes_by_part.begin(), stats.disk_bytes_by_part.end(),
            [](const KeyCount& a, const KeyCount& b) { return a.count > b.count; });
  stats.disk_bytes = live;
  return stats;
}

absl::Status RocksDbStoreImpl::Checkpoint(const std::string& dir) {
  KT_RETURN_IF_ERROR(CheckOpen());
  rocksdb::Checkpoint* raw = nullptr;
  KT_RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw), "checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  return FromRocks(checkpoint->CreateCheckpoint(dir), Cat("writing checkpoint to ", dir));
}

absl::Status RocksDbStoreImpl::CompactAll() {
  KT_RETURN_IF_ERROR(CheckOpen());
  rocksdb::CompactRangeOptions o;
  o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    KT_RETURN_IF_ERROR(
        FromRocks(db_->CompactRange(o, h, nullptr, nullptr), Cat("compacting ", options_.path)));
  }
  return absl::OkStatus();
}

absl::Status RocksDbStoreImpl::Close() {
  // Refuse new writers, then wait for those in flight.
  {
    absl::MutexLock lock(&write_mu_);
    if (closed_.exchange(true)) return absl::FailedPreconditionError("store is already closed");
    write_mu_.Await(absl::Condition(
        +[](int* n) { return *n == 0; }, &active_writers_));
  }
  absl::Status status;
  if (db_ == nullptr) return status;
  if (!options_.read_only) {
    rocksdb::FlushOptions fo;
    status.Update(FromRocks(db_->Flush(fo, handles_), Cat("flushing ", options_.path)));
  }
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    status.Update(FromRocks(db_->DestroyColumnFamilyHandle(h), "closing column family"));
  }
  handles_.clear();
  status.Update(FromRocks(db_->Close(), Cat("closing ", options_.path)));
  db_.reset();
  return status;
}

}  // namespace internal

absl::StatusOr<std::unique_ptr<RocksDbEventStore>> RocksDbEventStore::Open(
    const RocksDbOptions& options) {
  auto store = std::make_unique<internal::RocksDbStoreImpl>(options);
  absl::Status s = store->Init();
  if (!s.ok()) {
    store->Close().IgnoreError();
    return s;
  }
  return std::unique_ptr<RocksDbEventStore>(std::move(store));
}

}  // namespace kubetrail::storage
