// Retention and legal holds for the RocksDB store.
//
// ApplyRetention removes whole UTC days. A day no hold touches is removed wholesale: one
// range delete of the cluster's events of those days, range deletes of their rollups, and
// decrements of the all-time totals; the day is recorded in the cluster's expiry state, and
// the compaction filters below drop the day's auditID entries, posting lists and
// sequence-log entries when RocksDB next compacts them (queries skip index entries whose
// event is gone). A day a hold touches is gone through event by event: held events stay,
// the others are deleted with their index entries, and the rollups are decremented.
#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "storage/internal/rocksdb_impl.h"

namespace kubetrail::storage::internal {
namespace {

constexpr int64_t kDay = 86'400'000'000;

// Every kind with day rollups, whose all-time totals retention decrements.
constexpr std::array<Kind, 8> kDayRollupKinds = {kKindTotal,    kKindUser, kKindImpersonated,
                                                 kKindGroup,    kKindVerb, kKindNamespace,
                                                 kKindResource, kKindCode};

class ExpiryFilter : public rocksdb::CompactionFilter {
 public:
  ExpiryFilter(std::shared_ptr<const ExpiryView::Map> map, std::string column_family,
               uint64_t newest_seqlog)
      : map_(std::move(map)),
        column_family_(std::move(column_family)),
        newest_seqlog_(newest_seqlog) {}

  bool Filter(int /*level*/, const rocksdb::Slice& key, const rocksdb::Slice& value,
              std::string* /*new_value*/, bool* /*value_changed*/) const override {
    if (map_->empty()) return false;
    if (column_family_ == kCfIds) {
      EventKey k;
      return DecodeEventKey(AsView(value), &k) && ExpiryView::Removed(*map_, k.cluster, k.time_us);
    }
    if (column_family_ == kCfPostings) {
      PostingKey k;
      return DecodePostingKey(AsView(key), &k) &&
             ExpiryView::Removed(*map_, k.cluster, k.bucket * GranMicros(kGranMinute));
    }
    if (column_family_ == kCfSeqlog) {
      // The newest record (or any newer than it was when this compaction began) stays: the
      // store's last sequence number is read from it on open.
      if (key.size() != 8 || GetBig64(key.data()) >= newest_seqlog_) return false;
      std::vector<SeqlogEntry> entries;
      if (!DecodeSeqlogValue(AsView(value), &entries)) return false;
      for (const SeqlogEntry& e : entries) {
        if (!ExpiryView::Removed(*map_, e.cluster, e.time_us)) return false;
      }
      return true;
    }
    return false;
  }
  const char* Name() const override { return "kubetrail.expiry"; }

 private:
  std::shared_ptr<const ExpiryView::Map> map_;
  std::string column_family_;
  uint64_t newest_seqlog_;
};

class ExpiryFilterFactory : public rocksdb::CompactionFilterFactory {
 public:
  ExpiryFilterFactory(std::shared_ptr<ExpiryView> view, std::string column_family)
      : view_(std::move(view)), column_family_(std::move(column_family)) {}
  std::unique_ptr<rocksdb::CompactionFilter> CreateCompactionFilter(
      const rocksdb::CompactionFilter::Context& /*context*/) override {
    return std::make_unique<ExpiryFilter>(view_->Get(), column_family_, view_->NewestSeqlog());
  }
  const char* Name() const override { return "kubetrail.expiry"; }

 private:
  std::shared_ptr<ExpiryView> view_;
  std::string column_family_;
};

std::string HoldKey(uint64_t n) {
  std::string key = kHoldPrefix;
  PutBig64(n, &key);
  return key;
}

LegalHold FromRecord(uint64_t n, const LegalHoldRecord& r) {
  LegalHold h;
  h.id = Cat("hold-", n);
  h.cluster = r.cluster;
  h.from_us = r.from_us;
  h.to_us = r.to_us;
  h.user = r.user;
  h.namespace_name = r.namespace_name;
  h.reason = r.reason;
  h.created_us = r.created_us;
  return h;
}

// Sorted, merged union of day ranges.
void MergeRanges(std::vector<std::pair<int64_t, int64_t>>* ranges) {
  std::sort(ranges->begin(), ranges->end());
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const auto& r : *ranges) {
    if (!out.empty() && r.first <= out.back().second) {
      out.back().second = std::max(out.back().second, r.second);
    } else {
      out.push_back(r);
    }
  }
  *ranges = std::move(out);
}

}  // namespace

bool ExpiryView::Removed(const Map& map, uint32_t cluster, int64_t time_us) {
  auto it = map.find(cluster);
  return it != map.end() && it->second.Removed(FloorDiv(time_us, kDay));
}

std::shared_ptr<rocksdb::CompactionFilterFactory> NewExpiryFilterFactory(
    std::shared_ptr<ExpiryView> view, std::string column_family) {
  return std::make_shared<ExpiryFilterFactory>(std::move(view), std::move(column_family));
}

absl::Status RocksDbStoreImpl::LoadRetention() {
  absl::MutexLock lock(&retention_mu_);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_));
  const std::string_view retention_prefix = kRetentionPrefix;
  for (it->Seek(AsSlice(retention_prefix));
       it->Valid() && it->key().starts_with(AsSlice(retention_prefix)); it->Next()) {
    int64_t keep = 0;
    if (!absl::SimpleAtoi(ToAbsl(AsView(it->value())), &keep)) {
      return absl::DataLossError(Cat("store ", options_.path, ": bad retention setting"));
    }
    retention_[std::string(AsView(it->key()).substr(retention_prefix.size()))] = keep;
  }
  const std::string_view hold_prefix = kHoldPrefix;
  for (it->Seek(AsSlice(hold_prefix)); it->Valid() && it->key().starts_with(AsSlice(hold_prefix));
       it->Next()) {
    LegalHoldRecord r;
    if (it->key().size() != hold_prefix.size() + 8 || !DecodeHold(AsView(it->value()), &r)) {
      return absl::DataLossError(Cat("store ", options_.path, ": bad legal hold record"));
    }
    const uint64_t n = GetBig64(it->key().data() + hold_prefix.size());
    holds_[n] = FromRecord(n, r);
  }
  std::string next;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_, kHoldNext, &next);
  if (s.ok() && !absl::SimpleAtoi(next, &next_hold_)) {
    return absl::DataLossError(Cat("store ", options_.path, ": bad hold counter"));
  }
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "reading the hold counter");
  const std::string_view expiry_prefix = kExpiryPrefix;
  for (it->Seek(AsSlice(expiry_prefix));
       it->Valid() && it->key().starts_with(AsSlice(expiry_prefix)); it->Next()) {
    ClusterExpiry e;
    if (it->key().size() != expiry_prefix.size() + 4 ||
        !DecodeClusterExpiry(AsView(it->value()), &e)) {
      return absl::DataLossError(Cat("store ", options_.path, ": bad expiry record"));
    }
    expiry_[GetBig32(it->key().data() + expiry_prefix.size())] = std::move(e);
  }
  KT_RETURN_IF_ERROR(FromRocks(it->status(), "loading retention settings"));
  expiry_view_->Set(std::make_shared<ExpiryView::Map>(expiry_));
  return absl::OkStatus();
}

bool RocksDbStoreImpl::ExpiredOnArrival(const kubetrail::v1::EnvelopedEvent& event,
                                        uint32_t cluster, int64_t time_us) const {
  auto it = expiry_.find(cluster);
  const int64_t day = FloorDiv(time_us, kDay);
  if (it == expiry_.end() || day >= it->second.first_kept_day) return false;
  // A day removed wholesale stays removed, even for an event a hold placed since covers:
  // the day's auditID entries and posting lists are leftovers that the duplicate check
  // ignores and compaction drops, so an event stored there could be stored twice and lose
  // its index entries.
  if (it->second.Removed(day)) return true;
  for (const auto& [n, hold] : holds_) {
    if (hold.Covers(event, time_us)) return false;
  }
  return true;
}

absl::Status RocksDbStoreImpl::SetRetention(std::string_view cluster, int64_t keep_us) {
  KT_RETURN_IF_ERROR(CheckOpen());
  if (cluster.empty()) return absl::InvalidArgumentError("retention: empty cluster name");
  if (keep_us < 0) return absl::InvalidArgumentError("retention: negative duration");
  absl::MutexLock lock(&retention_mu_);
  const std::string key = Cat(kRetentionPrefix, cluster);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  if (keep_us == 0) {
    KT_RETURN_IF_ERROR(FromRocks(db_->Delete(wo, meta_, key), "clearing retention"));
    retention_.erase(std::string(cluster));
  } else {
    KT_RETURN_IF_ERROR(
        FromRocks(db_->Put(wo, meta_, key, std::to_string(keep_us)), "setting retention"));
    retention_[std::string(cluster)] = keep_us;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<RetentionSetting>> RocksDbStoreImpl::ListRetention() {
  KT_RETURN_IF_ERROR(CheckOpen());
  absl::MutexLock lock(&retention_mu_);
  std::vector<RetentionSetting> out;
  for (const auto& [cluster, keep] : retention_) out.push_back({cluster, keep});
  return out;
}

absl::StatusOr<LegalHold> RocksDbStoreImpl::PlaceHold(const LegalHold& hold) {
  KT_RETURN_IF_ERROR(CheckOpen());
  KT_RETURN_IF_ERROR(hold.Check());
  absl::MutexLock lock(&retention_mu_);
  const uint64_t n = next_hold_;
  LegalHoldRecord r{hold.from_us, hold.to_us,          hold.created_us, hold.cluster,
                    hold.user,    hold.namespace_name, hold.reason};
  rocksdb::WriteBatch wb;
  wb.Put(meta_, HoldKey(n), EncodeHold(r));
  wb.Put(meta_, kHoldNext, std::to_string(n + 1));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  KT_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &wb), "placing a legal hold"));
  next_hold_ = n + 1;
  holds_[n] = FromRecord(n, r);
  return holds_[n];
}

absl::Status RocksDbStoreImpl::ReleaseHold(std::string_view id) {
  KT_RETURN_IF_ERROR(CheckOpen());
  absl::MutexLock lock(&retention_mu_);
  for (const auto& [n, hold] : holds_) {
    if (hold.id != id) continue;
    rocksdb::WriteOptions wo;
    wo.sync = true;
    KT_RETURN_IF_ERROR(FromRocks(db_->Delete(wo, meta_, HoldKey(n)), "releasing a legal hold"));
    holds_.erase(n);
    return absl::OkStatus();
  }
  return absl::NotFoundError(Cat("no legal hold \"", id, "\""));
}

absl::StatusOr<std::vector<LegalHold>> RocksDbStoreImpl::ListHolds() {
  KT_RETURN_IF_ERROR(CheckOpen());
  absl::MutexLock lock(&retention_mu_);
  std::vector<LegalHold> out;
  for (const auto& [n, hold] : holds_) out.push_back(hold);
  return out;
}

absl::Status RocksDbStoreImpl::RemoveEventsOneByOne(
    uint32_t cluster, int64_t from_day, int64_t to_day, const std::vector<LegalHold>& holds,
    rocksdb::WriteBatch* wb, absl::flat_hash_map<std::string, int64_t>* delta,
    RetentionReport* report) {
  const std::string lower = EncodeEventKey({cluster, from_day * kDay, 0});
  const std::string upper = EncodeEventKey({cluster, to_day * kDay, 0});
  rocksdb::Slice lo = AsSlice(lower), hi = AsSlice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lo;
  ro.iterate_upper_bound = &hi;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, events_));
  // Posting lists to rewrite: (kind, cluster, term, minute) prefix -> removed sequences.
  absl::flat_hash_map<std::string, std::vector<uint64_t>> removed;
  for (it->Seek(lo); it->Valid(); it->Next()) {
    EventKey k;
    if (!DecodeEventKey(AsView(it->key()), &k)) {
      return absl::DataLossError(Cat("store ", options_.path, ": corrupt event key"));
    }
    KT_ASSIGN_OR_RETURN(StoredEvent e, DecodeStored(k, AsView(it->value())));
    bool held = false;
    for (const LegalHold& hold : holds) held = held || hold.Covers(e.event, e.time_us);
    if (held) {
      ++report->held_events;
      continue;
    }
    ++report->expired_events;
    EventValue v;
    DecodeEventValue(AsView(it->value()), &v);
    wb->Delete(events_, it->key());
    wb->Delete(ids_, EncodeIdKey(AuditIdHash(e.event.event().audit_id()),
                                 IdentityHash(e.event.envelope().cluster(),
                                              e.event.envelope().source(), v.event_bytes)));
    const int64_t minute = FloorDiv(k.time_us, GranMicros(kGranMinute));
    absl::ReaderMutexLock lock(&dict_mu_);
    auto count_down = [&](Kind kind, uint32_t term, bool minute_hour, bool posting) {
      if (minute_hour) {
        for (Gran g : {kGranMinute, kGranHour}) {
          (*delta)[EncodeRollupKey({kind, cluster, g, FloorDiv(k.time_us, GranMicros(g)), term})] -=
              1;
        }
      }
      (*delta)[EncodeRollupKey({kind, cluster, kGranDay, FloorDiv(k.time_us, kDay), term})] -= 1;
      (*delta)[EncodeRollupKey({kind, cluster, kGranAll, 0, term})] -= 1;
      if (posting) {
        removed[EncodePostingPrefix(kind, cluster, term, minute)].push_back(k.sequence);
      }
    };
    auto term = [&](Kind kind, std::string_view text) -> std::optional<uint32_t> {
      return dict_[kind].Find(text);
    };
    const kubetrail::v1::Event& ev = e.event.event();
    count_down(kKindTotal, 0, true, false);
    ForEachTerm(ev, ResourceTerm(ev.object_ref()), CodeTerm(ev),
                [&](Kind kind, std::string_view text) {
                  if (auto id = term(kind, text))
                    count_down(kind, *id, HasTimedRollups(kind), true);
                });
  }
  KT_RETURN_IF_ERROR(FromRocks(it->status(), "retention: reading events"));

  // Rewrite the posting lists that named removed events.
  std::unique_ptr<rocksdb::Iterator> p(db_->NewIterator(rocksdb::ReadOptions(), postings_));
  std::vector<PostingEntry> entries, kept;
  std::string value;
  for (auto& [prefix, seqs] : removed) {
    std::sort(seqs.begin(), seqs.end());
    for (p->Seek(AsSlice(prefix)); p->Valid() && p->key().starts_with(AsSlice(prefix)); p->Next()) {
      PostingKey k;
      entries.clear();
      if (!DecodePostingKey(AsView(p->key()), &k) ||
          !DecodePostingValue(k, AsView(p->value()), &entries)) {
        return absl::DataLossError(Cat("store ", options_.path, ": corrupt posting list"));
      }
      kept.clear();
      for (const PostingEntry& e : entries) {
        if (!std::binary_search(seqs.begin(), seqs.end(), e.sequence)) kept.push_back(e);
      }
      if (kept.size() == entries.size()) continue;
      if (kept.empty()) {
        wb->Delete(postings_, p->key());
      } else {
        value.clear();
        AppendPostingValue(k, kept, &value);
        wb->Put(postings_, p->key(), value);
      }
    }
    KT_RETURN_IF_ERROR(FromRocks(p->status(), "retention: reading postings"));
  }
  return absl::OkStatus();
}

absl::StatusOr<RetentionReport> RocksDbStoreImpl::ApplyRetention(int64_t now_us) {
  KT_RETURN_IF_ERROR(CheckOpen());
  if (options_.read_only) return absl::FailedPreconditionError("store is open read-only");
  // No group is built or written meanwhile: take the build slot, then wait until every
  // group built so far is written and published.
  absl::MutexLock build(&build_mu_);
  absl::MutexLock commit(&commit_mu_);
  AwaitWritten(next_ticket_ - 1);
  {
    absl::MutexLock publish(&publish_mu_);
    AwaitPublished(next_ticket_ - 1);
  }
  RetentionReport report;

  std::map<std::string, int64_t> retention;
  std::vector<LegalHold> holds;
  ExpiryView::Map expiry;
  {
    absl::MutexLock lock(&retention_mu_);
    retention = retention_;
    for (const auto& [n, h] : holds_) holds.push_back(h);
    expiry = expiry_;
  }
  std::vector<std::string> clusters;
  {
    absl::ReaderMutexLock lock(&dict_mu_);
    clusters = dict_[kKindCluster].terms;
  }

  rocksdb::WriteBatch wb;
  absl::flat_hash_map<std::string, int64_t> delta;  // rollup key -> change
  std::unique_ptr<rocksdb::Iterator> r(db_->NewIterator(rocksdb::ReadOptions(), rollups_));
  for (uint32_t c = 1; c <= clusters.size(); ++c) {
    const std::string& name = clusters[c - 1];
    auto setting = retention.find(name);
    if (setting == retention.end()) setting = retention.find("*");
    if (setting == retention.end()) continue;
    ClusterExpiry& ce = expiry[c];
    const int64_t first_kept = std::max(ce.first_kept_day, FirstKeptDay(now_us, setting->second));
    std::optional<std::pair<int64_t, int64_t>> bounds = ClusterTimeBounds(c);
    if (bounds && FloorDiv(bounds->first, kDay) < first_kept) {
      const ExpiredDays days =
          SplitExpiredDays(name, FloorDiv(bounds->first, kDay), first_kept, holds);
      for (const auto& [a, b] : days.removed) {
        // All-time totals lose what the day rollups of these days counted.
        for (Kind kind : kDayRollupKinds) {
          const std::string lo = EncodeRollupKey({kind, c, kGranDay, a, 0});
          const std::string hi = EncodeRollupKey({kind, c, kGranDay, b, 0});
          for (r->Seek(AsSlice(lo)); r->Valid() && AsView(r->key()) < std::string_view(hi);
               r->Next()) {
            RollupKey k;
            if (!DecodeRollupKey(AsView(r->key()), &k) || r->value().size() != 8) {
              return absl::DataLossError(Cat("store ", options_.path, ": corrupt rollup"));
            }
            const auto n = static_cast<int64_t>(GetFixed64(r->value().data()));
            delta[EncodeRollupKey({kind, c, kGranAll, 0, k.term})] -= n;
            if (kind == kKindTotal) report.expired_events += static_cast<uint64_t>(n);
          }
          KT_RETURN_IF_ERROR(FromRocks(r->status(), "retention: reading rollups"));
          for (Gran g : {kGranMinute, kGranHour, kGranDay}) {
            const int64_t w = GranMicros(g);
            wb.DeleteRange(rollups_, EncodeRollupKey({kind, c, g, FloorDiv(a * kDay, w), 0}),
                           EncodeRollupKey({kind, c, g, FloorDiv(b * kDay, w), 0}));
          }
        }
        wb.DeleteRange(events_, EncodeEventKey({c, a * kDay, 0}), EncodeEventKey({c, b * kDay, 0}));
        ce.removed.emplace_back(a, b);
      }
      MergeRanges(&ce.removed);
      for (const auto& [a, b] : days.held) {
        KT_RETURN_IF_ERROR(RemoveEventsOneByOne(c, a, b, holds, &wb, &delta, &report));
      }
    }
    ce.first_kept_day = first_kept;
    std::string key = kExpiryPrefix;
    PutBig32(c, &key);
    wb.Put(meta_, key, EncodeClusterExpiry(ce));
  }
  std::string value;
  for (const auto& [key, change] : delta) {
    if (change == 0) continue;
    value.clear();
    PutFixed64(static_cast<uint64_t>(change), &value);  // modular: adds a negative number
    wb.Merge(rollups_, key, value);
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  KT_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &wb), Cat("retention in ", options_.path)));
  {
    absl::MutexLock lock(&retention_mu_);
    expiry_ = expiry;
    expiry_view_->Set(std::make_shared<ExpiryView::Map>(std::move(expiry)));
  }
  {
    absl::MutexLock lock(&dict_mu_);
    for (const auto& [key, change] : delta) {
      RollupKey k;
      if (!DecodeRollupKey(key, &k) || k.gran != kGranAll) continue;
      uint64_t& n = estimates_[k.kind][(uint64_t{k.cluster} << 32) | k.term];
      n += static_cast<uint64_t>(change);
    }
  }
  return report;
}

}  // namespace kubetrail::storage::internal
