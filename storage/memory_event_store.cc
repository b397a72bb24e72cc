#include "storage/memory_event_store.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
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
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "storage/internal/cursor.h"

namespace kubetrail::storage {
namespace {

using kubetrail::v1::EnvelopedEvent;

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
  {
    google::protobuf::io::StringOutputStream raw(&content);
    google::protobuf::io::CodedOutputStream coded(&raw);
    coded.SetSerializationDeterministic(true);
    e.event().SerializeToCodedStream(&coded);
  }
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

// floor(a / b) for b > 0, also for negative a.
int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if (a % b != 0 && a < 0) --q;
  return q;
}

// Every event in a vector in sequence order; every query a scan of all of it. Thread safety:
// one mutex, held exclusively by Write and shared by the queries. WriteOptions::sync means
// nothing here: nothing survives the process.
class MemoryEventStore final : public EventStore {
 public:
  absl::StatusOr<WriteResult> Write(absl::Span<const EnvelopedEvent> batch,
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

 private:
  // Calls `fn` for every stored event matching `filter`, in sequence order.
  template <typename Fn>
  void ForEachMatch(const CompiledFilter& filter, Fn fn) const ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    for (const StoredEvent& e : events_) {
      if (Matches(filter, e.event, e.time_us)) fn(e);
    }
  }

  mutable absl::Mutex mu_;
  // Every stored event; events_[i].sequence == i + 1.
  std::vector<StoredEvent> events_ ABSL_GUARDED_BY(mu_);
  // Identity() of every stored event.
  std::unordered_set<std::string> identities_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<WriteResult> MemoryEventStore::Write(absl::Span<const EnvelopedEvent> batch,
                                                    const WriteOptions& /*options*/) {
  for (size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].envelope().cluster().empty()) {
      return absl::InvalidArgumentError(Cat("event ", i, ": empty envelope cluster"));
    }
    if (batch[i].event().audit_id().empty()) {
      return absl::InvalidArgumentError(Cat("event ", i, ": empty auditID"));
    }
  }
  std::vector<std::string> ids;
  ids.reserve(batch.size());
  for (const EnvelopedEvent& e : batch) ids.push_back(Identity(e));

  absl::MutexLock lock(&mu_);
  WriteResult result;
  result.outcomes.reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!identities_.insert(std::move(ids[i])).second) {
      result.outcomes.push_back(WriteOutcome::kDuplicate);
      ++result.duplicates;
      continue;
    }
    StoredEvent stored;
    stored.sequence = events_.size() + 1;
    stored.time_us = EventTimeMicros(batch[i]);
    stored.event = batch[i];
    events_.push_back(std::move(stored));
    result.outcomes.push_back(WriteOutcome::kStored);
    ++result.stored;
  }
  result.last_sequence = events_.size();
  return result;
}

absl::StatusOr<SearchPage> MemoryEventStore::Search(const SearchRequest& request) {
  if (absl::Status s = internal::CheckLimit(request.limit); !s.ok()) return s;
  absl::StatusOr<CompiledFilter> filter = CompileFilter(request.filter);
  if (!filter.ok()) return filter.status();

  absl::ReaderMutexLock lock(&mu_);
  absl::StatusOr<internal::Cursor> cursor = internal::StartCursor(request, events_.size());
  if (!cursor.ok()) return cursor.status();

  std::vector<const StoredEvent*> matching;
  ForEachMatch(*filter, [&](const StoredEvent& e) {
    if (internal::AfterCursor(*cursor, e.time_us, e.sequence)) matching.push_back(&e);
  });
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
  ForEachMatch(*compiled, [&](const StoredEvent&) { ++n; });
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
    ForEachMatch(*compiled,
                 [&](const StoredEvent& e) { ++counts[DimensionKey(e.event, dimension)]; });
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
    ForEachMatch(*compiled, [&](const StoredEvent& e) {
      Bucket& b = buckets[FloorDiv(e.time_us, width) * width];
      ++b.count;
      if (by) ++b.by_key[DimensionKey(e.event, *by)];
    });
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
  // events_[i] holds sequence i + 1, so the first candidate is at index after_sequence.
  for (uint64_t i = after_sequence; i < events_.size() && out.size() < static_cast<size_t>(limit);
       ++i) {
    const StoredEvent& e = events_[i];
    if (Matches(*compiled, e.event, e.time_us)) out.push_back(e);
  }
  return out;
}

uint64_t MemoryEventStore::LastSequence() const {
  absl::ReaderMutexLock lock(&mu_);
  return events_.size();
}

absl::StatusOr<StoreStats> MemoryEventStore::Stats() {
  StoreStats stats;
  std::map<std::string, uint64_t> per_cluster;
  absl::ReaderMutexLock lock(&mu_);
  for (const StoredEvent& e : events_) ++per_cluster[e.event.envelope().cluster()];
  stats.events = events_.size();
  stats.last_sequence = events_.size();
  for (const auto& [cluster, count] : per_cluster) {
    stats.events_per_cluster.push_back({cluster, count});
  }
  return stats;
}

}  // namespace

std::unique_ptr<EventStore> NewMemoryEventStore() { return std::make_unique<MemoryEventStore>(); }

}  // namespace kubetrail::storage
