// -----------------------------------------------------------------------------
// File: event_store.h
// -----------------------------------------------------------------------------
//
// EventStore: where the aggregator keeps every audit event it accepts, exactly once, and
// how it answers queries. This header is the whole contract; the RocksDB implementation
// (rocksdb_event_store.h) and the in-memory one (memory_event_store.h) implement it, and
// neither RocksDB nor any other engine appears here.
//
//   std::unique_ptr<EventStore> store = ...;
//   KT_ASSIGN_OR_RETURN(WriteResult written, store->Write(batch, WriteOptions{}));
//   SearchRequest req;
//   req.filter.users = {"alice"};
//   req.limit = 100;
//   KT_ASSIGN_OR_RETURN(SearchPage page, store->Search(req));
//   for (const StoredEvent& e : page.events) ...
//   req.cursor = page.cursor;   // the next page, exactly where this one ended
//
// Identity and exactly-once: an event is identified by (cluster, source, auditID, stage, a
// hash of the event's own content). The envelope's receive time is not part of it, so a
// collector that resends a batch after a reconnect stores nothing twice. Writing an event
// that is already stored is a no-op reported as kDuplicate.
//
// Time: an event's time is EventTimeMicros (filter.h). Results come in (time, sequence)
// order; ranges are half-open [from, to).
//
// Sequence numbers: every stored event gets the next ingest sequence number (1, 2, ...) in
// commit order. ReadSince follows the store in that order, so events that arrive late
// (spooled through an outage, with old timestamps) are not skipped by a follower.
//
// Paging: a Search returns a cursor. A cursor pins the page sequence to the events committed
// when the first page was read (its snapshot sequence), so paging through a range is
// consistent while new events arrive: no event is skipped or repeated between pages.
// Events committed later are delivered by ReadSince(SnapshotSequence(cursor)), so a Search
// followed by a follow from its cursor misses nothing and repeats nothing.
//
// Thread safety: every method may be called concurrently from any thread. Concurrent
// Writes are merged into one group commit (one storage write, one sync).
#ifndef KUBETRAIL_STORAGE_EVENT_STORE_H_
#define KUBETRAIL_STORAGE_EVENT_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kubetrail/v1/event.pb.h"
#include "storage/filter.h"

namespace kubetrail::storage {

// A stored event with what the store added to it.
struct StoredEvent {
  uint64_t sequence = 0;  // ingest sequence number, 1-based, unique in the store
  int64_t time_us = 0;    // EventTimeMicros(event)
  kubetrail::v1::EnvelopedEvent event;
  // Only from a Search with `prefer_serialized`: the protobuf encoding of the
  // kubetrail.v1.EnvelopedEvent, and then `event` is empty. Empty otherwise.
  std::string serialized;
};

struct WriteOptions {
  // When true (the default) Write returns OK only once the batch is durable: it survives a
  // crash of the process or of the machine. When false it survives a process crash only.
  bool sync = true;
  // The caller computed every event's `event().ByteSizeLong()` and changed no event since (as
  // a size check before writing does): the store serializes with those cached sizes instead
  // of walking each event once more. A size found stale is computed again; changing an event
  // after sizing it is still the caller's error. Default false.
  bool event_sizes_cached = false;
};

enum class WriteOutcome {
  kStored,
  kDuplicate,
  // The event's day has already expired under its cluster's retention (see ApplyRetention)
  // and no legal hold covers it: it is not stored.
  kExpired,
};

struct WriteResult {
  // One outcome per input event, in input order.
  std::vector<WriteOutcome> outcomes;
  uint64_t stored = 0;
  uint64_t duplicates = 0;
  uint64_t expired = 0;
  // The highest sequence number in the store once this batch was committed.
  uint64_t last_sequence = 0;
};

enum class Order { kAscending, kDescending };

struct SearchRequest {
  Filter filter;
  Order order = Order::kAscending;
  // Maximum events returned; must be in [1, kMaxSearchLimit].
  int limit = 100;
  // Empty for the first page; otherwise SearchPage::cursor of the previous page of the
  // same filter and order (InvalidArgument when malformed or from another order).
  std::string cursor;
  // For callers that pass events on encoded (the query server): the store may return an
  // event as StoredEvent::serialized instead of parsing it, where its indexes alone decide
  // the match. Each returned event has exactly one of `event` and `serialized`.
  bool prefer_serialized = false;
};

inline constexpr int kMaxSearchLimit = 100'000;

struct SearchPage {
  std::vector<StoredEvent> events;
  // Resumes after the last event of this page (or where the request's cursor was, when the
  // page is empty). Always set.
  std::string cursor;
  // True when the page stopped at `limit` and more events may follow.
  bool more = false;
};

// What Top and Histogram group by.
enum class Dimension { kUser, kVerb, kResource, kNamespace, kCode, kCluster };

// "user", "verb", "resource", "namespace", "code", "cluster".
std::string_view DimensionName(Dimension d);
std::optional<Dimension> ParseDimension(std::string_view name);

// The key an event has in `dimension`: username, verb, ResourceKey(...), namespace, the
// response code in decimal, or the cluster name; "" when the event has none.
std::string DimensionKey(const kubetrail::v1::EnvelopedEvent& event, Dimension dimension);

struct KeyCount {
  std::string key;
  uint64_t count = 0;
  friend bool operator==(const KeyCount&, const KeyCount&) = default;
};

enum class Granularity { kMinute, kHour, kDay };
int64_t GranularityMicros(Granularity g);

struct HistogramBucket {
  int64_t start_us = 0;  // UTC-aligned start of the bucket
  uint64_t count = 0;    // events in the bucket (within the filter's time range)
  // When grouped by a dimension: counts per key, largest first (ties by key).
  std::vector<KeyCount> by_key;
};

struct StoreStats {
  uint64_t events = 0;  // stored events (retention included)
  uint64_t last_sequence = 0;
  uint64_t disk_bytes = 0;  // live files on disk (0 for in-memory stores)
  // disk_bytes by part of the store (for RocksDB: per column family), largest first.
  std::vector<KeyCount> disk_bytes_by_part;
  std::vector<KeyCount> events_per_cluster;
};

// Retention: how long a cluster's events are kept. keep_us == 0 keeps them forever.
// The cluster "*" sets the default for clusters without their own setting.
struct RetentionSetting {
  std::string cluster;
  int64_t keep_us = 0;
  friend bool operator==(const RetentionSetting&, const RetentionSetting&) = default;
};

// A legal hold keeps the events it covers past their retention until it is released: events
// of `cluster` with time in [from_us, to_us), and when set, only those of user `user`
// (user.username, exact) and namespace `namespace_name` (objectRef.namespace, exact).
struct LegalHold {
  std::string id;  // assigned by PlaceHold ("hold-1", "hold-2", ...)
  std::string cluster;
  int64_t from_us = 0;
  int64_t to_us = 0;
  std::string user;            // optional
  std::string namespace_name;  // optional
  std::string reason;          // free text, for the record
  int64_t created_us = 0;      // set by the caller
  friend bool operator==(const LegalHold&, const LegalHold&) = default;
  // True when the hold covers `event` (of time `time_us`).
  bool Covers(const kubetrail::v1::EnvelopedEvent& event, int64_t time_us) const;
  // What PlaceHold accepts: a cluster (one name: "*", retention's default, is no wildcard
  // here) and a non-empty range. InvalidArgument naming the problem otherwise.
  absl::Status Check() const;
};

struct RetentionReport {
  uint64_t expired_events = 0;  // removed by this run
  uint64_t held_events = 0;     // past retention, kept by a hold
};

// The event times (EventTimeMicros) a store accepts: from the first instant an event's JSON
// can express (MicroTime, year 0000) to the last one whose minute number, and that of the end
// of a range just after it, fit the 32 bits that keys give them (FORMAT.md). Beyond those the
// stores' bucket arithmetic would overflow near the ends of int64, or put different minutes
// into one bucket.
inline constexpr int64_t kMinEventTimeUs = -62'167'219'200'000'000;  // 0000-01-01T00:00:00Z
inline constexpr int64_t kMaxEventTimeUs =
    int64_t{INT32_MAX} * 60'000'000 - 1;  // 6053-01-23T02:06:59.999999Z

// The first UTC day (number of days since the epoch) that retention `keep_us` keeps at
// `now_us`: every event of an earlier day has expired. An event is kept at least keep_us and
// removed at most one day later.
int64_t FirstKeptDay(int64_t now_us, int64_t keep_us);

// How retention goes through one cluster's expired days [first_day, first_kept_day) (days
// since the epoch): the days a hold of `cluster` touches are gone through event by event,
// the others are removed wholesale (FORMAT.md, "Retention"). Both as sorted, merged [from, to)
// day ranges that together cover the expired days.
struct ExpiredDays {
  std::vector<std::pair<int64_t, int64_t>> held;
  std::vector<std::pair<int64_t, int64_t>> removed;
};
ExpiredDays SplitExpiredDays(std::string_view cluster, int64_t first_day, int64_t first_kept_day,
                             const std::vector<LegalHold>& holds);

class EventStore {
 protected:
  // Write, for every store: the events by pointer, so that they may live anywhere (on the
  // arena of the request that brought them, for example).
  virtual absl::StatusOr<WriteResult> DoWrite(
      absl::Span<const kubetrail::v1::EnvelopedEvent* const> batch,
      const WriteOptions& options) = 0;

 public:
  virtual ~EventStore() = default;

  // Stores `batch` atomically: either every new event of it is stored or none is. Each event
  // needs a non-empty envelope cluster and auditID, and a time within [kMinEventTimeUs,
  // kMaxEventTimeUs] (InvalidArgument naming the index otherwise; nothing is written).
  // Returns the outcome per event. Errors from the storage (for example a full disk:
  // ResourceExhausted) leave the store as it was; the same batch may be written again later.
  // The events are only read, and only during the call.
  absl::StatusOr<WriteResult> Write(absl::Span<const kubetrail::v1::EnvelopedEvent* const> batch,
                                    const WriteOptions& options) {
    return DoWrite(batch, options);
  }
  // The same for events held side by side (a vector of them).
  absl::StatusOr<WriteResult> Write(absl::Span<const kubetrail::v1::EnvelopedEvent> batch,
                                    const WriteOptions& options);

  // Events matching `request.filter`, in time order. See the header comment on paging.
  virtual absl::StatusOr<SearchPage> Search(const SearchRequest& request) = 0;

  // Every stored stage of the request `audit_id`, across clusters, in (time, sequence)
  // order. NotFound when there is none.
  virtual absl::StatusOr<std::vector<StoredEvent>> Get(std::string_view audit_id) = 0;

  // Number of stored events matching `filter`.
  virtual absl::StatusOr<uint64_t> Count(const Filter& filter) = 0;

  // The `limit` keys of `dimension` with most matching events, largest first; ties in key
  // order. An event without a key counts under "".
  virtual absl::StatusOr<std::vector<KeyCount>> Top(const Filter& filter, Dimension dimension,
                                                    int limit) = 0;

  // Matching events counted per UTC-aligned bucket of `granularity`, optionally per key of
  // `by`. Only non-empty buckets are returned, in ascending time.
  virtual absl::StatusOr<std::vector<HistogramBucket>> Histogram(const Filter& filter,
                                                                 Granularity granularity,
                                                                 std::optional<Dimension> by) = 0;

  // Up to `limit` events with sequence > `after_sequence` that match `filter`, in sequence
  // order. Returns fewer (possibly none) when the end of the store is reached; follow again
  // from the last returned sequence.
  virtual absl::StatusOr<std::vector<StoredEvent>> ReadSince(uint64_t after_sequence,
                                                             const Filter& filter, int limit) = 0;

  // Highest committed sequence number (0 for an empty store).
  virtual uint64_t LastSequence() const = 0;

  virtual absl::StatusOr<StoreStats> Stats() = 0;

  // Retention and legal holds. Settings and holds are stored with the events.
  //
  // Sets (keep_us > 0) or clears (keep_us == 0) the retention of `cluster` ("*": the
  // default). InvalidArgument for a negative keep_us or an empty cluster.
  virtual absl::Status SetRetention(std::string_view cluster, int64_t keep_us) = 0;
  // Every setting, sorted by cluster.
  virtual absl::StatusOr<std::vector<RetentionSetting>> ListRetention() = 0;
  // Records `hold` (its id is assigned and returned). InvalidArgument when the cluster is
  // empty or the range is empty.
  virtual absl::StatusOr<LegalHold> PlaceHold(const LegalHold& hold) = 0;
  // NotFound for an unknown id. Events the hold kept expire at the next ApplyRetention.
  virtual absl::Status ReleaseHold(std::string_view id) = 0;
  // Every hold, sorted by id number.
  virtual absl::StatusOr<std::vector<LegalHold>> ListHolds() = 0;
  // Removes every event (with its index entries and rollup counts) whose cluster's retention
  // has expired its day at `now_us` (see FirstKeptDay), except those a hold covers. From
  // then on, Write reports events of those days as kExpired. Time is the caller's: the
  // aggregator passes its clock's now.
  virtual absl::StatusOr<RetentionReport> ApplyRetention(int64_t now_us) = 0;
};

// The snapshot sequence a cursor pins (see paging above): a follower that starts at
// ReadSince(SnapshotSequence(cursor)) after the last page continues without gap or overlap.
// InvalidArgument for a malformed cursor.
absl::StatusOr<uint64_t> SnapshotSequence(std::string_view cursor);

}  // namespace kubetrail::storage

#endif  // KUBETRAIL_STORAGE_EVENT_STORE_H_
