// Spool: the collector's durable buffer between its sources (webhook, log tailer) and the
// shipper. A source appends a batch of events; once Append returns OK the batch survives a
// crash of the process or the machine (synced write), so the webhook may answer 2xx and the
// tailer may move on. The shipper reads events in append order and acknowledges them once the
// aggregator stored them; only then are they deleted.
//
//   SpoolConfig config;
//   config.dir = "/var/lib/kubetrail-collector/spool";
//   KT_ASSIGN_OR_RETURN(std::unique_ptr<Spool> spool, Spool::Open(config, clock));
//   KT_ASSIGN_OR_RETURN(AppendResult appended, spool->Append(events));   // durable now
//   std::vector<SpooledEvent> out;
//   KT_RETURN_IF_ERROR(spool->Read(after, 400, 4 << 20, &out));          // oldest first
//   ... ship, await the ack ...
//   KT_RETURN_IF_ERROR(spool->Ack(out.back().sequence));                  // deleted
//
// Bounds. The spool holds at most `max_bytes` of serialized events, and none older than
// `max_age` (by receive time). When a batch does not fit, `when_full` decides: kBlock refuses
// it (ResourceExhausted: the webhook answers 503 so the apiserver retries, the tailer pauses),
// kDropOldest deletes the oldest events until it fits and counts them (Stats().dropped_full);
// events older than max_age are then deleted too (Stats().dropped_expired). In kBlock mode an
// event older than max_age makes the spool full until it is shipped: nothing is dropped.
//
// Positions. A source that must resume exactly where it stopped (the tailer) passes its
// position with the batch; it is written in the same atomic write as the events, so after a
// crash Position() returns the position that belongs to the last batch that was spooled.
//
// On disk (format in services/collector/spool/FORMAT.md): append-only segment files in `dir`,
// one checksummed record per Append, synced before Append returns, so a torn write at a crash
// loses only a batch whose Append had not returned (the torn tail is cut off at Open). A
// segment is deleted whole once every event in it was acknowledged or dropped. A spool of
// format version 1 (RocksDB) is migrated at Open, every held event and position kept. A full
// disk fails Append with ResourceExhausted naming the file; the spool retries the disk on the
// next Append.
//
// Thread safety: every method is safe to call from any thread. Appends may run concurrently
// (one thread writes every waiting append with one write and one sync: group commit); readers
// see events only up to the end of the oldest append that is still being written, so no event
// is ever skipped.
#ifndef KUBETRAIL_SERVICES_COLLECTOR_SPOOL_SPOOL_H_
#define KUBETRAIL_SERVICES_COLLECTOR_SPOOL_SPOOL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/clock.h"
#include "kubetrail/v1/event.pb.h"

namespace kubetrail::collector {

enum class WhenFull {
  kBlock,       // refuse new batches (ResourceExhausted) until the shipper makes room
  kDropOldest,  // delete the oldest unacknowledged events to make room, counted
};

// "block" / "drop-oldest".
std::string_view WhenFullName(WhenFull when_full);
std::optional<WhenFull> ParseWhenFull(std::string_view name);

struct SpoolConfig {
  // The directory of the spool's database; created when missing. Required.
  std::string dir;
  // Serialized event bytes held at most. Default: 1 GiB.
  uint64_t max_bytes = uint64_t{1} << 30;
  // Receive age of the oldest event held at most. Default: 24 h.
  absl::Duration max_age = absl::Hours(24);
  WhenFull when_full = WhenFull::kBlock;
  // Bytes after which the spool starts a new segment file (acknowledged segments are deleted
  // whole). 0: a sixteenth of max_bytes, within 1-64 MiB.
  uint64_t segment_bytes = 0;
  // Sync every append to disk before it returns (the durability promise). Tests and benchmarks
  // that measure other things may turn it off. Default: true.
  bool sync = true;
};

// A source's resume point, stored with the batch it belongs to.
struct SpoolPosition {
  // Which source: for the tailer, "tail:" + the log's path. 1-1024 bytes.
  std::string key;
  // Opaque to the spool (the tailer's encoded position).
  std::string value;
};

struct AppendResult {
  // The sequence numbers the batch's events got: first..last, consecutive.
  uint64_t first_sequence = 0;
  uint64_t last_sequence = 0;
  // Events deleted to make room (kDropOldest only).
  uint64_t dropped = 0;
};

// Events serialized ahead of an Append, so that a source may do that work on another thread
// than the one that appends (the tailer decodes and serializes one chunk while the previous
// one is written and synced).
struct SerializedEvents {
  // Serialized kubetrail.v1.EnvelopedEvents (envelope filled in), back to back.
  std::string bytes;
  std::vector<uint32_t> sizes;
  // The first event's receive time (µs), the batch's age in the spool.
  int64_t receive_us = 0;
  // CRC-32 of `bytes` (see FORMAT.md).
  uint32_t crc = 0;

  // Replaces the contents with `events` (keeping the buffer's memory).
  void Assign(absl::Span<const kubetrail::v1::EnvelopedEvent> events);
  // The same for `events` that all share `envelope`: the bytes are those of EnvelopedEvents
  // holding `envelope` and each event, without building them (the envelope is serialized
  // once).
  void Assign(const kubetrail::v1::Envelope& envelope,
              absl::Span<const kubetrail::v1::Event* const> events);
  bool empty() const { return sizes.empty(); }
};

// This thread's SerializedEvents for one append, reused by its next one: a batch is large
// (400 events are about 1.2 MB), and fresh memory for each would be faulted in again every
// time. One that an unusually large batch grew is let go at the end of the scope. At most
// one per thread at a time.
//
//   ScratchSerializedEvents serialized;
//   serialized->Assign(envelope, events);
//   return spool.AppendSerialized(*serialized);
class ScratchSerializedEvents {
 public:
  ScratchSerializedEvents() : events_(Buffer()) {}
  ~ScratchSerializedEvents();
  ScratchSerializedEvents(const ScratchSerializedEvents&) = delete;
  ScratchSerializedEvents& operator=(const ScratchSerializedEvents&) = delete;

  SerializedEvents& operator*() { return events_; }
  SerializedEvents* operator->() { return &events_; }

 private:
  static SerializedEvents& Buffer();
  SerializedEvents& events_;
};

// One spooled event, as handed to the shipper.
struct SpooledEvent {
  uint64_t sequence = 0;
  // A serialized kubetrail.v1.EnvelopedEvent.
  std::string bytes;
};

struct SpoolStats {
  // Held now.
  uint64_t events = 0;
  uint64_t bytes = 0;
  // Receive time of the oldest event held (absl::InfinitePast() when empty).
  absl::Time oldest;
  // The last append was refused for lack of room (kBlock) and nothing was acknowledged or
  // dropped since: sources are being turned away.
  bool full = false;
  // The highest sequence appended so far (0: none ever).
  uint64_t last_sequence = 0;
  // Since Open.
  uint64_t appended_events = 0;
  uint64_t appended_batches = 0;
  uint64_t acked_events = 0;
  // Appends refused because the spool was full (kBlock), or for another reason (the disk
  // failed, a batch larger than the whole spool).
  uint64_t refused_full = 0;
  uint64_t refused_error = 0;
  // Events deleted unshipped (kDropOldest): to make room, and for being older than max_age.
  uint64_t dropped_full = 0;
  uint64_t dropped_expired = 0;
};

class Spool {
 public:
  // Opens (creating when missing) the spool in config.dir and counts what it holds. Errors:
  // InvalidArgument for a bad config; FailedPrecondition when another process has it open or
  // its format version is newer than this build's; DataLoss for corruption; the I/O error
  // otherwise — each naming the directory. `clock` gives receive times their age; it must
  // outlive the spool.
  static absl::StatusOr<std::unique_ptr<Spool>> Open(SpoolConfig config,
                                                     Clock& clock = Clock::Real());
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Appends `events` (each with its envelope filled in, receive_time_us included) and
  // `position` (may be null) in one atomic, synced write. With no events only the position is
  // written (AppendResult all zero); with neither it is InvalidArgument. Errors:
  // InvalidArgument (a bad position key); ResourceExhausted when the spool is full (kBlock)
  // or the disk is full; FailedPrecondition when the batch alone is larger than max_bytes;
  // Unavailable for another I/O error. On error nothing of the batch is spooled.
  absl::StatusOr<AppendResult> Append(absl::Span<const kubetrail::v1::EnvelopedEvent> events,
                                      const SpoolPosition* position = nullptr);
  // The same for events serialized beforehand (a receive time of 0 means now).
  absl::StatusOr<AppendResult> AppendSerialized(const SerializedEvents& events,
                                                const SpoolPosition* position = nullptr);
  // The same for several parts' events, in order, as one record: one write and one sync for
  // all of them, which a source that fell behind uses to catch up (a sync costs less per byte
  // the more it writes). The record's receive time is the first part's. At least one part;
  // empty parts are allowed.
  absl::StatusOr<AppendResult> AppendSerialized(absl::Span<const SerializedEvents* const> parts,
                                                const SpoolPosition* position = nullptr);

  // Appends to `out` the held events with sequence > `after`, oldest first: at most
  // `max_events` (>= 1), and no more than `max_bytes` of them (the first one always comes).
  // Returns how many were appended (0: none yet).
  absl::StatusOr<size_t> Read(uint64_t after, size_t max_events, size_t max_bytes,
                              std::vector<SpooledEvent>* out) const;

  // Blocks until an event with sequence > `after` can be read, Wake() is called or `timeout`
  // passes. Returns whether one can be read.
  bool WaitForEvents(uint64_t after, absl::Duration timeout) const;
  // Blocks until an append of `bytes` would not be refused as full, Wake() is called or
  // `timeout` passes. Returns whether it would fit. Always true in kDropOldest mode.
  bool WaitForRoom(uint64_t bytes, absl::Duration timeout) const;
  // Makes every waiting WaitForEvents / WaitForRoom return now.
  void Wake();

  // Deletes every held event with sequence <= `through` (they reached the aggregator).
  // Not synced: after a crash an acknowledged batch may be shipped again, and the aggregator
  // recognises it as a duplicate.
  absl::Status Ack(uint64_t through);

  // The position last appended under `key`, if any.
  absl::StatusOr<std::optional<std::string>> Position(std::string_view key) const;

  SpoolStats Stats() const;
  const SpoolConfig& config() const;

 private:
  class Impl;
  explicit Spool(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kubetrail::collector

#endif  // KUBETRAIL_SERVICES_COLLECTOR_SPOOL_SPOOL_H_
