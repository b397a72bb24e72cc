#include "bench/loadgen/send.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/strings.h"

namespace kubetrail::loadgen {
namespace {

constexpr size_t kMaxRejectionsShown = 5;

void Add(const collector::ShipperStats& from, collector::ShipperStats* to) {
  to->submitted_batches += from.submitted_batches;
  to->submitted_events += from.submitted_events;
  to->sent_batches += from.sent_batches;
  to->resent_batches += from.resent_batches;
  to->acked_batches += from.acked_batches;
  to->acked_events += from.acked_events;
  to->stored += from.stored;
  to->duplicates += from.duplicates;
  to->expired += from.expired;
  to->rejected += from.rejected;
  to->streams += from.streams;
  to->reconnects += from.reconnects;
  to->pending_batches += from.pending_batches;
  to->pending_events += from.pending_events;
}

// A batch as a collector ships it from its spool: serialized kubetrail.v1.EnvelopedEvents.
struct SerializedBatch {
  uint64_t sequence = 0;
  std::vector<std::string> events;
};

// Submits `batches` in order, pacing them to `rate` events/s (0: no limit) from `start`, and
// waits for their acks (or for SendEvents to shut the shipper down).
absl::Status Feed(collector::Shipper& shipper, std::vector<SerializedBatch>& batches, double rate,
                  absl::Time start) {
  uint64_t events = 0;
  for (SerializedBatch& batch : batches) {
    if (rate > 0) {
      const absl::Time due = start + absl::Seconds(static_cast<double>(events) / rate);
      const absl::Time now = absl::Now();
      if (due > now) absl::SleepFor(due - now);
    }
    events += batch.events.size();
    if (absl::Status s = shipper.SubmitSerialized(batch.sequence, std::move(batch.events));
        !s.ok()) {
      return s;
    }
  }
  return shipper.WaitForAcks();
}

}  // namespace

SendResult SendEvents(const SendOptions& options, std::vector<kubetrail::v1::Event> events) {
  SendResult result;
  const int k = std::max(options.streams, 1);
  const size_t per_batch = std::max<size_t>(options.batch_events, 1);
  result.streams = k;

  // Batch b goes to stream b % k as that stream's batch b / k + 1. A batch ends after
  // per_batch events, or before the event that would take it over max_batch_bytes. The events
  // are serialized here, before the clock starts, as a collector's spool holds them.
  std::vector<std::vector<SerializedBatch>> batches(static_cast<size_t>(k));
  size_t b = 0;
  kubetrail::v1::EnvelopedEvent enveloped;
  for (size_t i = 0; i < events.size(); ++b) {
    std::vector<SerializedBatch>& mine = batches[b % static_cast<size_t>(k)];
    SerializedBatch& batch = mine.emplace_back();
    batch.sequence = mine.size();
    size_t bytes = 0;
    while (i < events.size() && batch.events.size() < per_batch) {
      // Borrowed, not copied; released below.
      enveloped.unsafe_arena_set_allocated_event(&events[i]);
      // Proto framing of an event in a batch: a few bytes of tags and lengths.
      const size_t event_bytes = enveloped.ByteSizeLong() + 16;
      const bool fits = batch.events.empty() || bytes + event_bytes <= options.max_batch_bytes;
      if (fits) batch.events.push_back(enveloped.SerializeAsString());
      enveloped.unsafe_arena_release_event();
      if (!fits) break;
      bytes += event_bytes;
      kubetrail::v1::Event().Swap(&events[i++]);  // frees it: the batches hold it now
    }
  }
  events.clear();
  events.shrink_to_fit();

  absl::Mutex mu;
  std::vector<std::string> rejections;
  auto on_ack = [&mu, &rejections](collector::BatchAck&& ack) {
    if (ack.rejected.empty()) return;
    absl::MutexLock lock(&mu);
    for (const kubetrail::v1::RejectedEvent& r : ack.rejected) {
      if (rejections.size() >= kMaxRejectionsShown) break;
      rejections.push_back(Cat("batch ", ack.sequence, " event ", r.index(), " (auditID \"",
                               r.audit_id(), "\"): ", r.reason()));
    }
  };

  std::vector<std::unique_ptr<collector::Shipper>> shippers;
  for (int i = 0; i < k; ++i) {
    absl::StatusOr<std::unique_ptr<collector::Shipper>> shipper =
        collector::Shipper::Create(options.shipper, Clock::Real(), on_ack);
    if (!shipper.ok()) {
      result.status = shipper.status();
      return result;
    }
    shippers.push_back(std::move(*shipper));
  }

  // Per-stream share of the rate.
  const double rate = options.rate > 0 ? options.rate / k : 0;
  std::vector<absl::Status> statuses(static_cast<size_t>(k));
  const absl::Time start = absl::Now();
  const absl::Time deadline = options.timeout == absl::InfiniteDuration() ? absl::InfiniteFuture()
                                                                          : start + options.timeout;
  std::vector<std::thread> feeders;
  int finished = 0;  // guarded by mu
  for (size_t i = 0; i < static_cast<size_t>(k); ++i) {
    feeders.emplace_back([&, i] {
      statuses[i] = Feed(*shippers[i], batches[i], rate, start);
      absl::MutexLock lock(&mu);
      ++finished;
    });
  }
  bool timed_out = false;
  {
    absl::MutexLock lock(&mu);
    auto all_finished = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return finished == k; };
    timed_out = !mu.AwaitWithDeadline(absl::Condition(&all_finished), deadline);
  }
  result.elapsed = absl::Now() - start;
  // On timeout, shutting the shippers down releases feeders blocked in Submit or WaitForAcks.
  if (timed_out) {
    for (auto& shipper : shippers) shipper->Shutdown();
  }
  for (std::thread& t : feeders) t.join();
  if (timed_out) {
    result.status = absl::DeadlineExceededError(
        Cat("not every batch was acknowledged within ", absl::FormatDuration(options.timeout)));
  }

  for (size_t i = 0; i < shippers.size(); ++i) {
    shippers[i]->Shutdown();
    Add(shippers[i]->Stats(), &result.stats);
    if (!statuses[i].ok() && result.status.ok() && !timed_out) {
      result.status = absl::Status(statuses[i].code(),
                                   Cat("stream ", i + 1, " of ", k, ": ", statuses[i].message()));
    }
  }
  absl::MutexLock lock(&mu);
  result.rejections = std::move(rejections);
  return result;
}

std::string FormatSummaryJson(const SendResult& r) {
  const double seconds = absl::ToDoubleSeconds(r.elapsed);
  const double rate = seconds > 0 ? static_cast<double>(r.stats.acked_events) / seconds : 0;
  char numbers[96];
  std::snprintf(numbers, sizeof(numbers), "\"events_per_s\":%.1f,\"seconds\":%.3f", rate, seconds);
  return Cat("{\"sent\":", r.stats.submitted_events, ",\"acked\":", r.stats.acked_events,
             ",\"stored\":", r.stats.stored, ",\"duplicates\":", r.stats.duplicates,
             ",\"expired\":", r.stats.expired, ",\"rejected\":", r.stats.rejected, ",", numbers,
             ",\"streams\":", r.streams, ",\"reconnects\":", r.stats.reconnects, "}");
}

}  // namespace kubetrail::loadgen
