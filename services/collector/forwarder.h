// Forwarder: moves spooled events to an aggregator. One thread reads the spool in sequence
// order, cuts batches (by count, bytes and wait), throttles them (batches per second with a
// burst), and submits them to a Shipper (one Ingest stream, acks, resends on reconnect). An
// acknowledged batch is deleted from the spool; nothing is deleted before its ack.
//
// Failover: with several aggregators, when batches wait for acks and none has come for
// `failover_after` (the stream keeps failing, or the aggregator hangs), the forwarder drops
// the stream and starts again with the next aggregator, from the oldest unacknowledged event
// in the spool (what the old one had stored is recognised as a duplicate).
//
//   Forwarder forwarder(config, spool, clock, &registry);
//   KT_RETURN_IF_ERROR(forwarder.Start());
//   ...
//   forwarder.Drain(absl::Seconds(30));   // ships what is spooled, within the bound
//   forwarder.Stop();
//
// Thread safety: every public method may be called from any thread.
#ifndef KUBETRAIL_SERVICES_COLLECTOR_FORWARDER_H_
#define KUBETRAIL_SERVICES_COLLECTOR_FORWARDER_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "grpcpp/security/credentials.h"
#include "services/collector/shipper/shipper.h"
#include "services/collector/spool/spool.h"

namespace kubetrail::collector {

struct ForwarderConfig {
  // gRPC targets, in failover order; at least one.
  std::vector<std::string> targets;
  // Null: plaintext.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  std::string tls_server_name;
  std::string cluster;
  std::string source;
  // A batch is cut at this many events or bytes (serialized), or when its first event has
  // waited `batch_wait`.
  size_t batch_events = 400;
  size_t batch_bytes = size_t{4} << 20;
  absl::Duration batch_wait = absl::Seconds(1);
  // Batches per second, with bursts of `burst`; 0: unthrottled.
  double qps = 0;
  uint32_t burst = 1;
  BackoffPolicy backoff = {absl::Milliseconds(100), absl::Seconds(30), 2.0, 0.2};
  grpc_compression_algorithm compression = GRPC_COMPRESS_NONE;
  // ShipperConfig::zstd_level. Default: 0 (off).
  int zstd_level = 0;
  int window = 8;
  // See the header comment. Default: 15 s.
  absl::Duration failover_after = absl::Seconds(15);
};

class Forwarder {
 public:
  // `spool`, `clock` and `registry` (may be null) must outlive the forwarder.
  Forwarder(ForwarderConfig config, Spool& spool, Clock& clock, Registry* registry);
  // Stops.
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // Validates the config (InvalidArgument naming the field) and starts the thread.
  absl::Status Start();

  // New client credentials (a reloaded certificate): the current stream is replaced by one
  // that uses them; unacknowledged events are sent again on it.
  void UpdateCredentials(std::shared_ptr<grpc::ChannelCredentials> credentials);

  // Blocks until the spool is empty (every event acknowledged) or `timeout` passes. OK, or
  // DeadlineExceeded saying how many events stay spooled (they ship after the next start).
  absl::Status Drain(absl::Duration timeout);

  // Stops the thread and the stream; unacknowledged events stay in the spool. Idempotent.
  void Stop();

  // OK while shipping works or is being retried; the aggregator's permanent error (e.g.
  // PERMISSION_DENIED for a cluster not bound to this certificate) otherwise.
  absl::Status Health() const;
  // The aggregator currently used.
  std::string CurrentTarget() const;

 private:
  void Run();
  // Replaces the shipper with one for targets_[target_index_]; the read cursor goes back to
  // the last acknowledged event.
  absl::Status NewShipper() ABSL_LOCKS_EXCLUDED(mu_);
  void OnAck(BatchAck&& ack);
  // Deletes acknowledged events from the spool.
  void ApplyAcks();
  // Hands the spooled `events` to `shipper` as batch `sequence`.
  static absl::Status Submit(Shipper& shipper, uint64_t sequence,
                             const std::vector<SpooledEvent>& events);
  // Waits (interruptibly) until the throttle allows a batch.
  bool Throttle();
  bool Stopping() const;
  // Batches the shipper holds unacknowledged at most (queued or in flight): two windows.
  size_t MaxPendingBatches() const;

  const ForwarderConfig config_;
  Spool& spool_;
  Clock& clock_;

  // Metrics (null without a registry).
  // kubetrail_collector_events_acked_total{result}: stored, duplicate, expired, rejected.
  Counter* acked_stored_ = nullptr;
  Counter* acked_duplicate_ = nullptr;
  Counter* acked_expired_ = nullptr;
  Counter* acked_rejected_ = nullptr;
  Counter* batches_ = nullptr;
  // kubetrail_collector_batches_sent_total / _events_sent_total{kind}: first, resend.
  Counter* sent_batches_first_ = nullptr;
  Counter* sent_batches_resend_ = nullptr;
  Counter* sent_events_first_ = nullptr;
  Counter* sent_events_resend_ = nullptr;
  Counter* rejected_ = nullptr;
  Counter* failovers_ = nullptr;
  Histogram* ship_seconds_ = nullptr;

  // Set by Drain: batches are cut without waiting to fill.
  std::atomic<bool> draining_{false};
  // Highest acknowledged sequence (the callback runs on gRPC threads).
  std::atomic<uint64_t> acked_through_{0};
  // What ApplyAcks last gave the spool. Forwarder thread only.
  uint64_t applied_through_ = 0;
  // The last sequence read from the spool into a batch. Forwarder thread only.
  uint64_t cursor_ = 0;
  // The highest batch sequence written to any stream (by any shipper): a batch at or below it
  // that a new shipper writes is a resend. Updated on gRPC threads.
  std::atomic<uint64_t> sent_through_{0};
  // Throttle state. Forwarder thread only.
  double tokens_ = 0;
  absl::Time tokens_at_;
  // When acks last advanced (or the stream was started). Forwarder thread only.
  absl::Time progress_at_;

  mutable absl::Mutex mu_;
  // Shared with Stop(), which shuts it down to unblock a Submit.
  std::shared_ptr<Shipper> shipper_ ABSL_GUARDED_BY(mu_);
  size_t target_index_ ABSL_GUARDED_BY(mu_) = 0;
  std::shared_ptr<grpc::ChannelCredentials> credentials_ ABSL_GUARDED_BY(mu_);
  bool credentials_changed_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status health_ ABSL_GUARDED_BY(mu_);
  // Submit times of batches awaiting their ack, by sequence (for ship latency).
  std::map<uint64_t, absl::Time> submitted_at_ ABSL_GUARDED_BY(mu_);

  absl::Mutex thread_mu_;
  std::thread thread_ ABSL_GUARDED_BY(thread_mu_);
};

}  // namespace kubetrail::collector

#endif  // KUBETRAIL_SERVICES_COLLECTOR_FORWARDER_H_
