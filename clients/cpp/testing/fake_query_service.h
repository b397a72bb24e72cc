// A fake kubetrail.v1.Query service for the unit tests of the client library and the CLI:
// serves a fixed list of stored events over a real (in-process) gRPC server, records what
// each call asked, and can be told to fail, stall or misbehave.
//
//   FakeQueryService service(events);               // in ascending time order
//   grpc::ServerBuilder builder;
//   builder.RegisterService(&service);
//   std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
//   auto client = kubetrail::Client::FromChannel(
//       server->InProcessChannel(grpc::ChannelArguments()), {.server = "fake:7443"});
//
// Search: the cursor is the offset into the list (reversed for ORDER_DESCENDING); each page
// is sent in chunks of 2 events. Get: the events with that auditID, NOT_FOUND if none.
// Count: the number of events (the filter is recorded, not applied). Top / Histogram: what
// SetTop / SetHistogram gave. Follow: the events given to AddFollowEvents after the call
// started (or after `after_sequence`), and a heartbeat every 50 ms.
//
// Thread safety: every method may be called from any thread.
#ifndef KUBETRAIL_CLIENTS_CPP_TESTING_FAKE_QUERY_SERVICE_H_
#define KUBETRAIL_CLIENTS_CPP_TESTING_FAKE_QUERY_SERVICE_H_

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"
#include "grpcpp/support/sync_stream.h"
#include "kubetrail/v1/query.grpc.pb.h"

namespace kubetrail::client_testing {

class FakeQueryService final : public kubetrail::v1::Query::Service {
 public:
  // One received call.
  struct Call {
    std::string method;                    // "Search", "Get", ...
    kubetrail::v1::SearchRequest request;  // Search only
    kubetrail::v1::Filter filter;          // every call that has one
    std::string authorization;             // "" when absent
    absl::Duration deadline_in;            // InfiniteDuration when none
  };

  explicit FakeQueryService(std::vector<kubetrail::v1::StoredEvent> events);

  grpc::Status Search(grpc::ServerContext* context, const kubetrail::v1::SearchRequest* request,
                      grpc::ServerWriter<kubetrail::v1::SearchResponse>* writer) override;
  grpc::Status Get(grpc::ServerContext* context, const kubetrail::v1::GetRequest* request,
                   kubetrail::v1::GetResponse* response) override;
  grpc::Status Count(grpc::ServerContext* context, const kubetrail::v1::CountRequest* request,
                     kubetrail::v1::CountResponse* response) override;
  grpc::Status Top(grpc::ServerContext* context, const kubetrail::v1::TopRequest* request,
                   kubetrail::v1::TopResponse* response) override;
  grpc::Status Histogram(grpc::ServerContext* context,
                         const kubetrail::v1::HistogramRequest* request,
                         kubetrail::v1::HistogramResponse* response) override;
  grpc::Status Follow(grpc::ServerContext* context, const kubetrail::v1::FollowRequest* request,
                      grpc::ServerWriter<kubetrail::v1::FollowResponse>* writer) override;

  // Every later call fails with `status` (OK: stop failing).
  void FailWith(grpc::Status status);
  // Search calls after the next `n` fail UNAVAILABLE (negative: never, the default).
  void FailSearchAfter(int n);
  // Search pages end without their last chunk.
  void OmitLastChunk();
  // Search waits until the client gives up (at most 30 s).
  void Stall();
  void SetTop(kubetrail::v1::TopResponse response);
  void SetHistogram(kubetrail::v1::HistogramResponse response);
  // Events for running and later Follow calls (with increasing sequences).
  void AddFollowEvents(const std::vector<kubetrail::v1::StoredEvent>& events);
  std::vector<Call> calls();

 private:
  // Records the call; returns the error to fail it with (OK: go on).
  grpc::Status Record(grpc::ServerContext* context, std::string method,
                      const kubetrail::v1::Filter& filter,
                      const kubetrail::v1::SearchRequest* search);

  const std::vector<kubetrail::v1::StoredEvent> events_;
  const int chunk_events_ = 2;
  absl::Mutex mu_;
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
  grpc::Status error_ ABSL_GUARDED_BY(mu_);
  bool omit_last_ ABSL_GUARDED_BY(mu_) = false;
  int searches_left_ ABSL_GUARDED_BY(mu_) = -1;
  bool stall_ ABSL_GUARDED_BY(mu_) = false;
  kubetrail::v1::TopResponse top_ ABSL_GUARDED_BY(mu_);
  kubetrail::v1::HistogramResponse histogram_ ABSL_GUARDED_BY(mu_);
  std::vector<kubetrail::v1::StoredEvent> follow_events_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kubetrail::client_testing

#endif  // KUBETRAIL_CLIENTS_CPP_TESTING_FAKE_QUERY_SERVICE_H_
