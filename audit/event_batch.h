// EventBatch: the events decoded from one input (a webhook body, a chunk of an audit log),
// allocated together on one protobuf arena that is reused from input to input.
//
// A source decodes hundreds of events per input and drops them all once they are spooled.
// Heap-allocated messages cost a malloc and a destructor for every event and for each of its
// sub-messages, map entries and repeated fields (about a fifth of the collector's CPU in the
// webhook benchmark). On the arena those are bump allocations, freed at once by Clear(); the
// arena's first block grows to fit the largest input seen (up to a bound) and is kept, so
// steady-state decoding allocates little more than the long strings' buffers.
//
//   audit::EventBatch batch;                        // one per thread, reused
//   batch.Clear();
//   reader.Reset(body);
//   while (true) {
//     absl::StatusOr<bool> more = batch.ReadNext(reader);
//     if (!more.ok()) { errors.push_back(...); continue; }
//     if (!*more) break;
//   }
//   for (kubetrail::v1::Event* event : batch.events()) ...
//
// Thread safety: none; one batch per thread.
#ifndef KUBETRAIL_AUDIT_EVENT_BATCH_H_
#define KUBETRAIL_AUDIT_EVENT_BATCH_H_

#include <cstddef>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "audit/codec.h"
#include "google/protobuf/arena.h"
#include "kubetrail/v1/event.pb.h"

namespace kubetrail::audit {

class EventBatch {
 public:
  // The arena's first block never grows beyond `max_kept_bytes`: what an input needs beyond
  // it is allocated for that input and freed by Clear().
  explicit EventBatch(size_t max_kept_bytes = kDefaultMaxKeptBytes);
  ~EventBatch();
  EventBatch(const EventBatch&) = delete;
  EventBatch& operator=(const EventBatch&) = delete;

  static constexpr size_t kDefaultMaxKeptBytes = size_t{8} << 20;

  // Reads the next event of `reader` into the batch; returns what reader.Next() returns. An
  // event that fails to decode is not added (its space is reused by the next one).
  absl::StatusOr<bool> ReadNext(EventReader& reader);

  // A new empty event in the batch, for events that do not come from a reader.
  kubetrail::v1::Event* Add();

  // The events added since the last Clear(), in order. Valid until Clear().
  absl::Span<kubetrail::v1::Event* const> events() const { return events_; }
  size_t size() const { return events_.size(); }
  bool empty() const { return events_.empty(); }

  // Drops every event (invalidating pointers to them) and keeps the arena's first block,
  // resized to what the last input used when that was more.
  void Clear();

  // The size of the arena's first block (kept across Clear()).
  size_t kept_bytes() const { return block_bytes_; }

 private:
  kubetrail::v1::Event* Spare();

  const size_t max_kept_bytes_;
  // The arena's first block, owned here so that it outlives Reset().
  std::unique_ptr<char[]> block_;
  size_t block_bytes_ = 0;
  std::unique_ptr<google::protobuf::Arena> arena_;
  std::vector<kubetrail::v1::Event*> events_;
  // An event allocated but not added (its decode failed); cleared and reused.
  kubetrail::v1::Event* spare_ = nullptr;
};

}  // namespace kubetrail::audit

#endif  // KUBETRAIL_AUDIT_EVENT_BATCH_H_
