// Test helpers for the aggregator's tests (in-process and cross-process): a synchronous
// collector stream and generated events. Test-only (kubetrail::aggregator_testing).
#ifndef KUBETRAIL_SERVICES_AGGREGATOR_TESTING_INGEST_CLIENT_H_
#define KUBETRAIL_SERVICES_AGGREGATOR_TESTING_INGEST_CLIENT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "kubetrail/v1/ingest.grpc.pb.h"

namespace kubetrail::aggregator::testing {

// 2026-10-31T00:00:00Z, the default start of generated events.
inline constexpr int64_t kEventsStartUs = 1'793'491'200'000'000;

// `n` realistic events (bench/loadgen) from `seed`, starting at `start_us`; envelopes empty.
std::vector<kubetrail::v1::EnvelopedEvent> Events(int n, uint64_t seed,
                                                  int64_t start_us = kEventsStartUs);

// A client context whose deadline is `timeout` from now.
std::unique_ptr<grpc::ClientContext> Ctx(absl::Duration timeout = absl::Seconds(20));

// A collector's stream, synchronous: the hello is written at construction; then Welcome,
// Send and ReadAck in the protocol's order. Not thread-safe, except that one thread may
// Send while another reads.
class IngestClient {
 public:
  IngestClient(const std::shared_ptr<grpc::Channel>& channel, const std::string& cluster,
               const std::string& source = "src", absl::Duration timeout = absl::Seconds(60));

  // The welcome, or nullopt when the stream ended instead.
  std::optional<kubetrail::v1::Welcome> Welcome();
  // Writes one batch; false when the stream is broken.
  bool Send(uint64_t sequence, const std::vector<kubetrail::v1::EnvelopedEvent>& events);
  // Writes `batch` as it is.
  bool Send(const kubetrail::v1::Batch& batch);
  // The next ack, or nullopt when the stream ended.
  std::optional<kubetrail::v1::Ack> ReadAck();
  // Half-closes, reads to the end and returns the final status.
  grpc::Status Close();
  // Reads to the end and returns the final status (for streams the server ends).
  grpc::Status Finish();
  // Cancels the call.
  void Cancel() { ctx_->TryCancel(); }

 private:
  std::unique_ptr<kubetrail::v1::Ingest::Stub> stub_;
  std::unique_ptr<grpc::ClientContext> ctx_;
  std::unique_ptr<
      grpc::ClientReaderWriter<kubetrail::v1::IngestRequest, kubetrail::v1::IngestResponse>>
      stream_;
};

}  // namespace kubetrail::aggregator::testing

#endif  // KUBETRAIL_SERVICES_AGGREGATOR_TESTING_INGEST_CLIENT_H_
