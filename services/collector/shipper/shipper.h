// Shipper: the client side of the ingest protocol (proto/kubetrail/v1/ingest.proto). It sends
// batches of events to one aggregator over one Ingest.Stream at a time, keeps every batch
// until the aggregator acknowledges it, and on a broken stream reconnects with backoff and
// resends every unacknowledged batch, in sequence order, after a new hello. The aggregator
// stores each event once however often it is resent.
//
//   ShipperConfig config;
//   config.target = "127.0.0.1:7443";
//   config.cluster = "prod-eu";
//   config.source = "apiserver-1";
//   KT_ASSIGN_OR_RETURN(std::unique_ptr<Shipper> shipper, Shipper::Create(std::move(config)));
//   kubetrail::v1::Batch batch;
//   batch.set_sequence(1);
//   *batch.add_events() = ...;
//   KT_RETURN_IF_ERROR(shipper->Submit(std::move(batch)));   // blocks while the queue is full
//   KT_RETURN_IF_ERROR(shipper->WaitForAcks());             // every batch durably stored
//   shipper->Shutdown();
//
// Errors. A stream that fails with UNAVAILABLE (or any other transient code), a lost
// connection or a restarted aggregator is retried without end; see Stats() for how often.
// INVALID_ARGUMENT, PERMISSION_DENIED, UNAUTHENTICATED, UNIMPLEMENTED, RESOURCE_EXHAUSTED,
// FAILED_PRECONDITION and OUT_OF_RANGE from the aggregator are permanent: the shipper stops,
// and Submit, WaitForAcks and status() return that error from then on. Events that an ack
// lists as rejected are counted and handed to the ack callback, never resent.
//
// Threads: each Shipper owns one supervisor thread ("connects, waits, backs off"); the stream
// itself runs on gRPC's callback threads (ClientBidiReactor), one write and one read in flight.
//
// Thread safety: all public methods are safe to call from any thread. Batches must be
// submitted in increasing sequence order, so a single producer thread is the natural use.
#ifndef KUBETRAIL_SERVICES_COLLECTOR_SHIPPER_SHIPPER_H_
#define KUBETRAIL_SERVICES_COLLECTOR_SHIPPER_SHIPPER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "grpc/compression.h"
#include "grpcpp/security/credentials.h"
#include "kubetrail/v1/ingest.grpc.pb.h"
#include "kubetrail/v1/ingest.pb.h"
#include "services/collector/shipper/backoff.h"

namespace kubetrail::collector {

// HTTP/2 keepalive of the connection. These must match the aggregator: it has to permit pings
// this often, also on a connection without a stream (its
// GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS at most `time`, and
// GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS = 1), or it closes the connection with
// "too_many_pings" (GOAWAY ENHANCE_YOUR_CALM).
struct KeepaliveConfig {
  // A ping is sent after this long without any frame (GRPC_ARG_KEEPALIVE_TIME_MS).
  // Default: 30 s.
  absl::Duration time = absl::Seconds(30);
  // The connection is dropped (and the stream fails with UNAVAILABLE) when a ping is not
  // answered within this (GRPC_ARG_KEEPALIVE_TIMEOUT_MS). Default: 10 s.
  absl::Duration timeout = absl::Seconds(10);
  // Ping also while no stream is open (GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS).
  // Default: true.
  bool permit_without_calls = true;
};

// Called for every batch write on a stream, resends included, with the batch's sequence, its
// events, and whether this shipper wrote it before on an earlier stream. It runs under the
// shipper's lock: it must return quickly and must not call the shipper (count, do not log).
using SendCallback = std::function<void(uint64_t sequence, size_t events, bool resend)>;

struct ShipperConfig {
  // The aggregator, as a gRPC target: "127.0.0.1:7443", "[::1]:7443",
  // "dns:///aggregator.example:7443". Default: "127.0.0.1:7443".
  std::string target = "127.0.0.1:7443";
  // How to secure the connection. Default (null): plaintext (grpc::InsecureChannelCredentials,
  // the `grpc://` scheme); use grpc::SslCredentials for `grpcs://`.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // The name checked against the aggregator's TLS certificate instead of the target's host
  // (GRPC_SSL_TARGET_NAME_OVERRIDE_ARG). Default: "" (the target's host).
  std::string tls_server_name;

  // The hello. `cluster`: 1-253 characters of [A-Za-z0-9._-]; `source`: 1-253 characters of
  // [A-Za-z0-9._:-]. Both required. The source is part of every event's identity: keep it
  // stable across restarts so that resent events are recognised as duplicates.
  std::string cluster;
  std::string source;
  // Reported to the aggregator. Default: this build's version.
  std::string collector_version = "0.1.0";

  // Batches written on the current stream but not yet acknowledged, at most. Default: 8.
  int window = 8;
  // Submit blocks while this many batches are unacknowledged (queued, in flight or awaiting
  // a resend), or while their serialized size is at least `max_pending_bytes` (a single batch
  // is always admitted into an empty queue). Must be >= window. Defaults: 64 batches,
  // 256 MiB.
  size_t max_pending_batches = 64;
  size_t max_pending_bytes = size_t{256} << 20;

  // The delay between a failed stream and the next attempt: 100 ms growing to 5 s, 20%
  // jitter; reset once a stream is welcomed. gRPC's own reconnect backoff of the channel
  // (which paces connection attempts while a stream waits for a connection) gets the same
  // bounds and is reset before each new stream.
  BackoffPolicy reconnect_backoff;
  // Seeds the jitter; 0 (the default) seeds from std::random_device.
  uint64_t backoff_seed = 0;
  // A new stream waits for a connection (wait_for_ready: an aggregator that is down or
  // restarting is waited for) and then for the welcome; if that takes longer than this, it is
  // cancelled, counted as failed and retried after the backoff. It is also gRPC's minimum
  // connect timeout (GRPC_ARG_MIN_RECONNECT_BACKOFF_MS). An established stream has no
  // deadline. Default: 10 s.
  absl::Duration connect_timeout = absl::Seconds(10);
  // Shutdown with nothing unacknowledged half-closes the stream and waits this long for the
  // aggregator's OK before cancelling it. Default: 2 s.
  absl::Duration close_timeout = absl::Seconds(2);
  KeepaliveConfig keepalive;
  // Compression of the messages the shipper sends (GRPC_COMPRESS_GZIP, GRPC_COMPRESS_DEFLATE);
  // the aggregator decompresses whatever it is sent. Default: none.
  grpc_compression_algorithm compression = GRPC_COMPRESS_NONE;
  // When above 0, each batch's events are sent as one zstd frame of this level (1-19; 1 is
  // the fastest) in Batch.zstd_events, compressed by Submit's caller, and `compression` must
  // be GRPC_COMPRESS_NONE. An aggregator that does not accept them (Welcome.
  // accepts_zstd_events) is a permanent FailedPrecondition. zstd level 1 takes a fraction of
  // gzip's CPU on both sides (docs/sizing.md). Default: 0.
  int zstd_level = 0;
  // See SendCallback (for metrics). Default: none.
  SendCallback on_send;
  // Give this shipper a TCP connection of its own (GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL), rather
  // than sharing one with other channels to the same target. Default: true.
  bool own_connection = true;
};

// The outcome of one acknowledged batch, as handed to the ack callback.
struct BatchAck {
  uint64_t sequence = 0;
  // Events in the batch.
  size_t events = 0;
  uint32_t stored = 0;
  uint32_t duplicates = 0;
  uint32_t expired = 0;
  // Refused events (index into the batch, auditID, reason); never resent.
  std::vector<kubetrail::v1::RejectedEvent> rejected;
};

// Called once per acknowledged batch, in sequence order, on a gRPC callback thread. It must
// return quickly and must not block (no Submit, WaitForAcks or Shutdown from it; Stats and
// status are fine).
using AckCallback = std::function<void(BatchAck&&)>;

// Counters since Create. Events are counted by batch: `acked_events` = stored + duplicates +
// expired + rejected when the aggregator accounts for every event.
struct ShipperStats {
  uint64_t submitted_batches = 0;
  uint64_t submitted_events = 0;
  // Batch writes, resends included.
  uint64_t sent_batches = 0;
  // Writes of a batch that was already written on an earlier stream.
  uint64_t resent_batches = 0;
  uint64_t acked_batches = 0;
  uint64_t acked_events = 0;
  uint64_t stored = 0;
  uint64_t duplicates = 0;
  uint64_t expired = 0;
  uint64_t rejected = 0;
  // Streams started, and the streams started after the first (reconnects).
  uint64_t streams = 0;
  uint64_t reconnects = 0;
  // Submitted and not yet acknowledged.
  uint64_t pending_batches = 0;
  uint64_t pending_events = 0;
  // How the most recent failed stream ended (OK when none failed).
  absl::Status last_stream_error;
  // The permanent error that stopped the shipper (OK when none); see status().
  absl::Status error;
};

class Shipper {
 public:
  // Validates `config` (InvalidArgument naming the field), creates the channel and starts
  // connecting at once, so that a refused identity shows before the first batch. `clock`
  // times the reconnect backoff and the connect and close timeouts; it must outlive the
  // shipper. `on_ack` (may be empty) is called for every acknowledged batch.
  static absl::StatusOr<std::unique_ptr<Shipper>> Create(ShipperConfig config,
                                                         Clock& clock = Clock::Real(),
                                                         AckCallback on_ack = nullptr);

  // Shuts down (see Shutdown) and waits for the supervisor thread.
  ~Shipper();
  Shipper(const Shipper&) = delete;
  Shipper& operator=(const Shipper&) = delete;

  // Queues `batch` for sending and returns once it is queued; it is kept until acknowledged.
  // Blocks while the queue is full (flow control: a slow aggregator slows the producer).
  // Envelopes may leave cluster and source empty (the aggregator fills them in from the
  // hello). Errors: InvalidArgument for a sequence not greater than the previous batch's, or
  // an envelope naming another cluster or source; FailedPrecondition after Shutdown (also
  // when Shutdown is called while blocked); the permanent error once there is one.
  absl::Status Submit(kubetrail::v1::Batch batch);

  // Submit for a batch whose events are serialized kubetrail.v1.EnvelopedEvent messages, such
  // as a collector's spool holds: each goes on the wire as it is (never parsed and serialized
  // again), in order, as the batch's `events`. Only each event's envelope is read, for the
  // check Submit makes; the rest of an event is the caller's to get right (bytes the
  // aggregator cannot parse fail the stream). InvalidArgument also when an event is not an
  // EnvelopedEvent at its outer level.
  absl::Status SubmitSerialized(uint64_t sequence, std::vector<std::string> events);

  // Blocks until every submitted batch is acknowledged and its ack callback has returned
  // (OK), a permanent error stops the shipper (that error), Shutdown is called with batches
  // unacknowledged (Cancelled), or `timeout` passes (DeadlineExceeded).
  absl::Status WaitForAcks(absl::Duration timeout = absl::InfiniteDuration());

  // Stops the shipper; idempotent. With nothing unacknowledged the stream is half-closed and
  // the aggregator's OK awaited for up to close_timeout; otherwise the stream is cancelled at
  // once and unacknowledged batches are dropped (a collector resends them from its spool).
  // Returns when the stream is over and the supervisor thread has ended. Blocked Submit and
  // WaitForAcks calls return.
  void Shutdown();

  ShipperStats Stats() const;
  // OK, or the permanent error that stopped the shipper.
  absl::Status status() const;

 private:
  class Stream;
  struct Pending {
    std::shared_ptr<const kubetrail::v1::IngestRequest> request;
    uint64_t sequence = 0;
    size_t events = 0;
    size_t bytes = 0;
    // Times it was written (on this and earlier streams).
    int sends = 0;
  };

  Shipper(ShipperConfig config, Clock& clock, AckCallback on_ack,
          std::shared_ptr<grpc::Channel> channel);

  // InvalidArgument unless `env` leaves cluster and source empty or names this shipper's.
  absl::Status CheckEnvelope(uint64_t sequence, const kubetrail::v1::Envelope& env) const;
  // The common part of Submit and SubmitSerialized: waits for room, checks the sequence and
  // queues the request.
  absl::Status Enqueue(std::shared_ptr<kubetrail::v1::IngestRequest> request, size_t events);

  // The supervisor thread: one stream after the other, with backoff between them.
  void Run();
  // Runs one stream until it is over; returns whether it was welcomed.
  bool RunStream(Stream& stream);
  // Waits on mu_ until `cond` holds or `clock_` reaches `deadline`; returns cond's value.
  bool AwaitLocked(const absl::Condition& cond, absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Starts the next write on the current stream when it may: a batch within the window, or
  // the half-close. Never called with mu_ held (gRPC may run reactions inline).
  void MaybeStartWrite() ABSL_LOCKS_EXCLUDED(mu_);
  // Reactions of the current stream.
  void OnStreamRead(Stream* stream, bool ok) ABSL_LOCKS_EXCLUDED(mu_);
  void OnStreamWriteDone(Stream* stream, bool ok) ABSL_LOCKS_EXCLUDED(mu_);
  void OnStreamDone(Stream* stream, const grpc::Status& status) ABSL_LOCKS_EXCLUDED(mu_);
  // Whether the caller must release the stream's hold (no write will be started on it any
  // more and none is in flight); marks it released.
  bool TakeHoldReleaseLocked(Stream* stream) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Stops the shipper with `error` (the first one wins) and asks for the stream's cancel.
  void FailLocked(absl::Status error) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  const ShipperConfig config_;
  Clock& clock_;
  const AckCallback on_ack_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<kubetrail::v1::Ingest::Stub> stub_;

  mutable absl::Mutex mu_;
  // Unacknowledged batches in sequence order; the first `next_to_send_` of them were written
  // on the current stream.
  std::deque<Pending> pending_ ABSL_GUARDED_BY(mu_);
  size_t next_to_send_ ABSL_GUARDED_BY(mu_) = 0;
  size_t pending_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // Acks taken off pending_ whose callback has not returned yet.
  int acks_in_callback_ ABSL_GUARDED_BY(mu_) = 0;
  bool any_submitted_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t last_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  // The stream being run by the supervisor; null between streams. Owned by Run().
  Stream* stream_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  ShipperStats stats_ ABSL_GUARDED_BY(mu_);

  // Serialises Shutdown callers around the join.
  absl::Mutex join_mu_;
  std::thread supervisor_ ABSL_GUARDED_BY(join_mu_);
};

}  // namespace kubetrail::collector

#endif  // KUBETRAIL_SERVICES_COLLECTOR_SHIPPER_SHIPPER_H_
