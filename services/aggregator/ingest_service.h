// The Ingest service (proto/kubetrail/v1/ingest.proto): one bidirectional stream per
// collector. Each stream reads a hello, then batches; every batch goes to the Writer and is
// acknowledged, in order, after the store's group commit that holds it is synced.
//
// Flow control: a stream has at most one read outstanding, and does not start the next read
// while the Writer's queue is full (Writer::Enqueue's resume callback restarts it). Acks are
// written one at a time, the next from OnWriteDone.
//
// Thread safety: gRPC calls the reactors on its threads, the Writer calls back on its own;
// each stream's state is guarded by its own mutex, held only briefly and never across I/O.
#ifndef KUBETRAIL_SERVICES_AGGREGATOR_INGEST_SERVICE_H_
#define KUBETRAIL_SERVICES_AGGREGATOR_INGEST_SERVICE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "kubetrail/v1/ingest.grpc.pb.h"
#include "services/aggregator/auth.h"
#include "services/aggregator/metrics.h"
#include "services/aggregator/writer.h"

namespace kubetrail::aggregator {

class IngestStream;

class IngestService final : public kubetrail::v1::Ingest::CallbackService {
 public:
  struct Options {
    // Events per batch; a bigger batch ends the stream with INVALID_ARGUMENT. Default 10,000.
    uint32_t max_batch_events = 10'000;
    // Bytes of one serialized event; bigger events are rejected one by one. Default 4 MiB
    // (kube-apiserver's own default limit for a webhook batch is 10 MiB).
    uint64_t max_event_bytes = 4 << 20;
    // Bytes of one message (also the server's receive limit). Default 64 MiB.
    uint64_t max_message_bytes = 64 << 20;
    // Reported in the welcome.
    std::string version = "0.1.0";
  };

  // Every reference must outlive the service (and the gRPC server that runs it).
  IngestService(Writer& writer, const Authorizer& authorizer, Metrics& metrics, Clock& clock,
                Options options);
  ~IngestService() override;

  grpc::ServerBidiReactor<kubetrail::v1::IngestRequest, kubetrail::v1::IngestResponse>* Stream(
      grpc::CallbackServerContext* context) override;

  // Refuses new streams (UNAVAILABLE) and asks every open stream to stop reading, have its
  // in-flight batches written and acknowledged, and finish with UNAVAILABLE ("draining").
  void StartDraining();

  // Open streams.
  size_t StreamCount() const;

 private:
  friend class IngestStream;
  void Forget(IngestStream* stream);

  Writer& writer_;
  const Authorizer& authorizer_;
  Metrics& metrics_;
  Clock& clock_;
  const Options options_;

  mutable absl::Mutex mu_;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<IngestStream*> streams_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kubetrail::aggregator

#endif  // KUBETRAIL_SERVICES_AGGREGATOR_INGEST_SERVICE_H_
