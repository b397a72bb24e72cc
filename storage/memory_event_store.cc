#include "storage/memory_event_store.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/strings.h"
#include "storage/internal/cursor.h"
#include "storage/internal/format.h"

namespace kubetrail::storage {
namespace {

using kubetrail::v1::EnvelopedEvent;

constexpr int64_t kDayMicros = 86'400'000'000;

// Appends `s` with a length prefix, so that concatenated fields cannot run into each other.
void AppendField(std::string_view s, std::string* out) {
  const uint64_t n = s.size();
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(n >> shift));
  out->append(s);
}

// The identity of an event (event_store.h): cluster, source, auditID, stage and the event's
// content. The content is the deterministic serialization of the Event message itself, so
// the envelope's receive time plays no part. Kept whole rather than hashed: in memory there
// is no reason to risk a collision.
std::string Identity(const EnvelopedEvent& e) {
  std::string content;
  internal::SerializeDeterministic(e.event(), &content);
  std::string id;
  AppendField(e.envelope().cluster(), &id);
  AppendField(e.envelope().source(), &id);
  AppendField(e.event().audit_id(), &id);
  AppendField(e.event().stage(), &id);
  AppendField(content, &id);
  return id;
}

// True when `a` comes before `b` in (time, sequence) order.
bool TimeSeqLess(const StoredEvent& a, const StoredEvent& b) {
  if (a.time_us != b.time_us) return a.time_us < b.time_us;
  return a.sequence < b.sequence;
}

// Counts per key, largest first, ties by key.
std::vector<KeyCount> SortedCounts(const std::map<std::string, uint64_t>& counts) {
  std::vector<KeyCount> out;
  out.reserve(counts.size());
  for (const auto& [key, count] : counts) out.push_back({key, count});
  std::stable_sort(out.begin(), out.end(), [](const KeyCount& a, const KeyCount& b) {
    return a.count > b.count;  // stable: the map already gave key order
  });
  return out;
}

using internal::FloorDiv;

// Every event in a vector in sequence order; every query a scan of all of it. Thread safety:
// one mutex, held exclusively by Write and shared by the queries. WriteOptions::sync means
// nothing here: nothing survives the process.
class MemoryEventStore final : public EventStore {
 public:
  absl::StatusOr<WriteResult> DoWrite(absl::Span<const EnvelopedEvent* const> batch,
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
  uint64_t LastSequence() const override;
  absl::StatusOr<StoreStats> Stats() override;
  absl::Status SetRetention(std::string_view cluster, int64_t keep_us) override;
  absl::StatusOr<std::vector<RetentionSetting>> ListRetention() override;
  absl::StatusOr<LegalHold> PlaceHold(const LegalHold& hold) override;
  absl::Status ReleaseHold(std::string_view id) override;
  absl::StatusOr<std::vector<LegalHold>> ListHolds() override;
  absl::StatusOr<RetentionReport> ApplyRetention(int64_t now_us) override;

 private:
  // Calls `fn` for every stored event matching `filter`, in sequence order; ends early with
  // the filter's QueryStop (looked at before and every 256 events).
  template <typename Fn>
  absl::Status ForEachMatch(const CompiledFilter& filter, Fn fn) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    const QueryStop& stop = filter.source.stop;
    if (absl::Status s = stop.Check(); !s.ok()) return s;
    for (size_t i = 0; i < events_.size(); ++i) {
      if (i % 256 == 255) {
        if (absl::Status s = stop.Check(); !s.ok()) return s;
      }
      const StoredEvent& e = events_[i];
      if (Matches(filter, e.event, e.time_us)) fn(e);
    }
    return absl::OkStatus();
  }

  mutable absl::Mutex mu_;
  // True when the event has expired: its day is before its cluster's first kept day as of
  // the last ApplyRetention, and either no hold covers it or the day was removed wholesale
  // (no hold touched it then; a hold placed later does not bring a removed day back).
  bool Expired(const EnvelopedEvent& e, int64_t time_us) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  // Every stored event, in sequence order (retention removes some).
  std::vector<StoredEvent> events_ ABSL_GUARDED_BY(mu_);
  uint64_t last_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, int64_t> retention_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, LegalHold> holds_ ABSL_GUARDED_BY(mu_);
  uint64_t next_hold_ ABSL_GUARDED_BY(mu_) = 1;
  // Per cluster: the first kept day as of the last ApplyRetention.
  std::map<std::string, int64_t> first_kept_day_ ABSL_GUARDED_BY(mu_);
  // Per cluster: the days ApplyRetention removed wholesale, as [from, to) day ranges: from
  // the day of the cluster's oldest event to its first kept day, except days a hold of the
  // cluster touched (the RocksDB store's rule, FORMAT.md "Retention").
  std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> removed_days_
      ABSL_GUARDED_BY(mu_);
  // Identity() of every stored event.
  std::unordered_set<std::string> identities_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<WriteResult> MemoryEventStore::DoWrite(absl::Span<const EnvelopedEvent* const> batch,
                                                      const WriteOptions& /*options*/) {
  for (size_t i = 0; i < batch.size(); ++i) {
    if (batch[i]->envelope().cluster().empty()) {
      return absl::InvalidArgumentError(Cat("event ", i, ": empty envelope cluster"));
    }
    if (batch[i]->event().audit_id().empty()) {
      return absl::InvalidArgumentError(Cat("event ", i, ": empty auditID"));
    }
    if (const int64_t t = EventTimeMicros(*batch[i]); t < kMinEventTimeUs || t > kMaxEventTimeUs) {
      return absl::InvalidArgumentError(
          Cat("event ", i, ": time ", t,
              " us is outside the times a store keeps (years 0000 to 6053)"));
    }
  }
  std::vector<std::string> ids;
  ids.reserve(batch.size());
  for (const EnvelopedEvent* e : batch) ids.push_back(Identity(*e));

  absl::MutexLock lock(&mu_);
  WriteResult result;
  result.outcomes.reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    const int64_t time_us = EventTimeMicros(*batch[i]);
    if (identities_.contains(ids[i])) {
      result.outcomes.push_back(WriteOutcome::kDuplicate);
      ++result.duplicates;
      continue;
    }
    if (Expired(*batch[i], time_us)) {
      result.outcomes.push_back(WriteOutcome::kExpired);
      ++result.expired;
      continue;
    }
    identities_.insert(std::move(ids[i]));
    StoredEvent stored;
    stored.sequence = ++last_sequence_;
    stored.time_us = time_us;
    stored.event = *batch[i];
    events_.push_back(std::move(stored));
    result.outcomes.push_back(WriteOutcome::kStored);
    ++result.stored;
  }
  result.last_sequence = last_sequence_;
  return result;
}

absl::StatusOr<SearchPage> MemoryEventStore::Search(const SearchRequest& request) {
  if (absl::Status s = internal::CheckLimit(request.limit); !s.ok()) return s;
  absl::StatusOr<CompiledFilter> filter = CompileFilter(request.filter);
  if (!filter.ok()) return filter.status();

  absl::ReaderMutexLock lock(&mu_);
  absl::StatusOr<internal::Cursor> cursor = internal::StartCursor(request, last_sequence_);
  if (!cursor.ok()) return cursor.status();

  std::vector<const StoredEvent*> matching;
  if (absl::Status s = ForEachMatch(*filter,
                                    [&](const StoredEvent& e) {
                                      if (internal::AfterCursor(*cursor, e.time_us, e.sequence))
                                        matching.push_back(&e);
                                    });
      !s.ok()) {
    return s;
  }
  const bool ascending = request.order == Order::kAscending;
  auto before = [ascending](const StoredEvent* a, const StoredEvent* b) {
    return ascending ? TimeSeqLess(*a, *b) : TimeSeqLess(*b, *a);
  };
  const size_t limit = static_cast<size_t>(request.limit);
  const size_t taken = std::min(limit, matching.size());
  std::partial_sort(matching.begin(), matching.begin() + taken, matching.end(), before);

  SearchPage page;
  page.events.reserve(taken);
  for (size_t i = 0; i < taken; ++i) page.events.push_back(*matching[i]);
  page.more = matching.size() > limit;
  internal::Cursor next = *cursor;
  if (!page.events.empty()) {
    next.has_position = true;
    next.time_us = page.events.back().time_us;
    next.sequence = page.events.back().sequence;
  }
  page.cursor = internal::EncodeCursor(next);
  return page;
}

absl::StatusOr<std::vector<StoredEvent>> MemoryEventStore::Get(std::string_view audit_id) {
  std::vector<StoredEvent> out;
  {
    absl::ReaderMutexLock lock(&mu_);
    for (const StoredEvent& e : events_) {
      if (e.event.event().audit_id() == audit_id) out.push_back(e);
    }
  }
  if (out.empty()) return absl::NotFoundError(Cat("no event with auditID \"", audit_id, "\""));
  std::sort(out.begin(), out.end(), TimeSeqLess);
  return out;
}

absl::StatusOr<uint64_t> MemoryEventStore::Count(const Filter& filter) {
  absl::StatusOr<CompiledFilter> compiled = CompileFilter(filter);
  if (!compiled.ok()) return compiled.status();
  uint64_t n = 0;
  absl::ReaderMutexLock lock(&mu_);
  if (absl::Status s = ForEachMatch(*compiled, [&](const StoredEvent&) { ++n; }); !s.ok()) {
    return s;
  }
  return n;
}

absl::StatusOr<std::vector<KeyCount>> MemoryEventStore::Top(const Filter& filter,
                                                            Dimension dimension, int limit) {
  if (limit < 1) return absl::InvalidArgumentError(Cat("top limit ", limit, " must be >= 1"));
  absl::StatusOr<CompiledFilter> compiled = CompileFilter(filter);
  if (!compiled.ok()) return compiled.status();
  std::map<std::string, uint64_t> counts;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (absl::Status s = ForEachMatch(
            *compiled, [&](const StoredEvent& e) { ++counts[DimensionKey(e.event, dimension)]; });
        !s.ok()) {
      return s;
    }
  }
  std::vector<KeyCount> out = SortedCounts(counts);
  if (out.size() > static_cast<size_t>(limit)) out.resize(limit);
  return out;
}

absl::StatusOr<std::vector<HistogramBucket>> MemoryEventStore::Histogram(
    const Filter& filter, Granularity granularity, std::optional<Dimension> by) {
  absl::StatusOr<CompiledFilter> compiled = CompileFilter(filter);
  if (!compiled.ok()) return compiled.status();
  const int64_t width = GranularityMicros(granularity);
  struct Bucket {
    uint64_t count = 0;
    std::map<std::string, uint64_t> by_key;
  };
  std::map<int64_t, Bucket> buckets;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (absl::Status s = ForEachMatch(*compiled,
                                      [&](const StoredEvent& e) {
                                        Bucket& b = buckets[FloorDiv(e.time_us, width) * width];
                                        ++b.count;
                                        if (by) ++b.by_key[DimensionKey(e.event, *by)];
                                      });
        !s.ok()) {
      return s;
    }
  }
  std::vector<HistogramBucket> out;
  out.reserve(buckets.size());
  for (const auto& [start, b] : buckets) {
    HistogramBucket h;
    h.start_us = start;
    h.count = b.count;
    h.by_key = SortedCounts(b.by_key);
    out.push_back(std::move(h));
  }
  return out;
}

absl::StatusOr<std::vector<StoredEvent>> MemoryEventStore::ReadSince(uint64_t after_sequence,
                                                                     const Filter& filter,
                                                                     int limit) {
  if (absl::Status s = internal::CheckLimit(limit); !s.ok()) return s;
  absl::StatusOr<CompiledFilter> compiled = CompileFilter(filter);
  if (!compiled.ok()) return compiled.status();
  std::vector<StoredEvent> out;
  absl::ReaderMutexLock lock(&mu_);
  auto it = std::upper_bound(events_.begin(), events_.end(), after_sequence,
                             [](uint64_t seq, const StoredEvent& e) { return seq < e.sequence; });
  for (; it != events_.end() && out.size() < static_cast<size_t>(limit); ++it) {
    if (Matches(*compiled, it->event, it->time_us)) out.push_back(*it);
  }
  return out;
}

uint64_t MemoryEventStore::LastSequence() const {
  absl::ReaderMutexLock lock(&mu_);
  return last_sequence_;
}

absl::StatusOr<StoreStats> MemoryEventStore::Stats() {
  StoreStats stats;
  std::map<std::string, uint64_t> per_cluster;
  absl::ReaderMutexLock lock(&mu_);
  for (const StoredEvent& e : events_) ++per_cluster[e.event.envelope().cluster()];
  stats.events = events_.size();
  stats.last_sequence = last_sequence_;
  for (const auto& [cluster, count] : per_cluster) {
    stats.events_per_cluster.push_back({cluster, count});
  }
  return stats;
}

bool MemoryEventStore::Expired(const EnvelopedEvent& e, int64_t time_us) const {
  auto kept = first_kept_day_.find(e.envelope().cluster());
  if (kept == first_kept_day_.end()) return false;
  const int64_t day = FloorDiv(time_us, kDayMicros);
  if (day >= kept->second) return false;
  auto removed = removed_days_.find(e.envelope().cluster());
  if (removed != removed_days_.end()) {
    for (const auto& [from, to] : removed->second) {
      if (day >= from && day < to) return true;
    }
  }
  for (const auto& [n, hold] : holds_) {
    if (hold.Covers(e, time_us)) return false;
  }
  return true;
}

absl::Status MemoryEventStore::SetRetention(std::string_view cluster, int64_t keep_us) {
  if (cluster.empty()) return absl::InvalidArgumentError("retention: empty cluster name");
  if (keep_us < 0) return absl::InvalidArgumentError("retention: negative duration");
  absl::MutexLock lock(&mu_);
  if (keep_us == 0) {
    retention_.erase(std::string(cluster));
  } else {
    retention_[std::string(cluster)] = keep_us;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<RetentionSetting>> MemoryEventStore::ListRetention() {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<RetentionSetting> out;
  for (const auto& [cluster, keep] : retention_) out.push_back({cluster, keep});
  return out;
}

absl::StatusOr<LegalHold> MemoryEventStore::PlaceHold(const LegalHold& hold) {
  if (absl::Status s = hold.Check(); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  LegalHold placed = hold;
  const uint64_t n = next_hold_++;
  placed.id = Cat("hold-", n);
  holds_[n] = placed;
  return placed;
}

absl::Status MemoryEventStore::ReleaseHold(std::string_view id) {
  absl::MutexLock lock(&mu_);
  for (auto it = holds_.begin(); it != holds_.end(); ++it) {
    if (it->second.id == id) {
      holds_.erase(it);
      return absl::OkStatus();
    }
  }
  return absl::NotFoundError(Cat("no legal hold \"", id, "\""));
}

absl::StatusOr<std::vector<LegalHold>> MemoryEventStore::ListHolds() {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<LegalHold> out;
  for (const auto& [n, hold] : holds_) out.push_back(hold);
  return out;
}

absl::StatusOr<RetentionReport> MemoryEventStore::ApplyRetention(int64_t now_us) {
  absl::MutexLock lock(&mu_);
  std::set<std::string> clusters;
  for (const StoredEvent& e : events_) clusters.insert(e.event.envelope().cluster());
  for (const auto& [cluster, keep] : retention_) {
    if (cluster != "*") clusters.insert(cluster);
  }
  auto fallback = retention_.find("*");
  std::vector<LegalHold> holds;
  for (const auto& [n, hold] : holds_) holds.push_back(hold);
  for (const std::string& cluster : clusters) {
    auto it = retention_.find(cluster);
    if (it == retention_.end()) it = fallback;
    if (it == retention_.end()) continue;
    const int64_t day = FirstKeptDay(now_us, it->second);
    int64_t& kept = first_kept_day_.try_emplace(cluster, day).first->second;
    kept = std::max(kept, day);
    std::optional<int64_t> start;
    for (const StoredEvent& e : events_) {
      if (e.event.envelope().cluster() != cluster) continue;
      const int64_t d = FloorDiv(e.time_us, kDayMicros);
      start = start ? std::min(*start, d) : d;
    }
    if (!start || *start >= kept) continue;
    const ExpiredDays days = SplitExpiredDays(cluster, *start, kept, holds);
    std::vector<std::pair<int64_t, int64_t>>& removed = removed_days_[cluster];
    removed.insert(removed.end(), days.removed.begin(), days.removed.end());
  }
  RetentionReport report;
  std::vector<StoredEvent> remaining;
  for (StoredEvent& e : events_) {
    auto kept = first_kept_day_.find(e.event.envelope().cluster());
    if (kept == first_kept_day_.end() || FloorDiv(e.time_us, kDayMicros) >= kept->second) {
      remaining.push_back(std::move(e));
    } else if (!Expired(e.event, e.time_us)) {
      ++report.held_events;
      remaining.push_back(std::move(e));
    } else {
      ++report.expired_events;
      identities_.erase(Identity(e.event));
    }
  }
  events_ = std::move(remaining);
  return report;
}

}  // namespace

std::unique_ptr<EventStore> NewMemoryEventStore() { return std::make_unique<MemoryEventStore>(); }

}  // namespace kubetrail::storage
