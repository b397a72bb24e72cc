// FakeIngestServer: a real gRPC Ingest server on 127.0.0.1 for tests of the client side of
// ingest (the shipper, kubetrail-loadgen --send). It speaks the protocol of ingest.proto,
// checks that the client does too (hello first, increasing batch sequences), stores events in
// a FakeEventStore by identity (cluster, source, auditID, stage, content) and acks batches in
// order. It can misbehave on request: end a stream after N batches, hold or delay acks,
// refuse the hello.
//
//   FakeEventStore store;
//   auto server = FakeIngestServer::Start(store);          // 127.0.0.1:<free port>
//   ... ship to (*server)->target() ...
//   (*server)->Stop();
//   server = FakeIngestServer::Start(store, port);          // "restart": same store and port
//
// Each stream runs on a sync-server thread plus an ack thread of its own.
//
// Thread safety: all methods of both classes may be called from any thread.
#ifndef KUBETRAIL_SERVICES_COLLECTOR_SHIPPER_TESTING_FAKE_INGEST_SERVER_H_
#define KUBETRAIL_SERVICES_COLLECTOR_SHIPPER_TESTING_FAKE_INGEST_SERVER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/server.h"
#include "kubetrail/v1/ingest.pb.h"

namespace kubetrail::collector::testing {

// Events by identity; outlives servers so that a restarted server still knows them.
class FakeEventStore {
 public:
  // Stores each event of a batch (received under `cluster`/`source`); returns how many were
  // new (stored) in `*stored`, already known in `*duplicates`.
  void Put(const std::string& cluster, const std::string& source, const kubetrail::v1::Batch& batch,
           uint32_t* stored, uint32_t* duplicates);

  // Distinct events stored.
  uint64_t size() const;
  // Events received again after being stored.
  uint64_t duplicates() const;
  // Stored events that were received exactly `times` times.
  uint64_t CountReceivedTimes(uint64_t times) const;

 private:
  mutable absl::Mutex mu_;
  // Identity -> times received.
  std::map<std::string, uint64_t> events_ ABSL_GUARDED_BY(mu_);
  uint64_t duplicates_ ABSL_GUARDED_BY(mu_) = 0;
};

class FakeIngestServer {
 public:
  // Starts serving on 127.0.0.1:`port` (0: a free port, read back with port()).
  static absl::StatusOr<std::unique_ptr<FakeIngestServer>> Start(FakeEventStore& store,
                                                                 int port = 0);
  // Stops (see Stop).
  ~FakeIngestServer();

  // Ends every stream (in-flight handlers are cancelled after `grace`) and stops listening.
  // Idempotent.
  void Stop(absl::Duration grace = absl::Milliseconds(200));

  int port() const { return port_; }
  // "127.0.0.1:<port>".
  std::string target() const;

  // Misbehaviour, effective for the streams and batches that follow.
  // The stream that receives the `n`-th batch from now stores it and then ends with
  // UNAVAILABLE, without acking it or any batch still waiting for its ack. Once.
  void BreakAfterBatches(int n);
  // Acks wait while held (until HoldAcks(false)).
  void HoldAcks(bool hold);
  // Each ack waits this long first. Default: zero.
  void SetAckDelay(absl::Duration delay);
  // Every hello is answered with this status (OK: accept). Default: OK.
  void RefuseHello(grpc::Status status);
  // The limits announced in the welcome. Default: 0 (none).
  void SetMaxBatchEvents(uint32_t max);
  // Whether the welcome says accepts_zstd_events (default: true, as the aggregator).
  void SetAcceptsZstd(bool accepts);

  // Observations.
  int streams() const;
  int batches_received() const;
  // Of them, batches whose events came as zstd_events.
  int zstd_batches_received() const;
  int acks_sent() const;
  // The most batches received and not yet acked on one stream, at any moment.
  int max_outstanding() const;
  // Protocol violations by the client (no hello first, non-increasing sequence, ...).
  int protocol_errors() const;
  // Waits until batches_received() >= n; false after `timeout`.
  bool WaitForBatchesReceived(int n, absl::Duration timeout) const;

 private:
  class Service;
  explicit FakeIngestServer(FakeEventStore& store);

  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  absl::Mutex stop_mu_;
  bool stopped_ ABSL_GUARDED_BY(stop_mu_) = false;
};

}  // namespace kubetrail::collector::testing

#endif  // KUBETRAIL_SERVICES_COLLECTOR_SHIPPER_TESTING_FAKE_INGEST_SERVER_H_
