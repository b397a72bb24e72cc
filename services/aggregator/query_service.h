// The Query service (proto/kubetrail/v1/query.proto) over an EventStore.
//
// Store reads never run inside gRPC reactions: unary calls and each chunk of a Search run on
// an Executor (a bounded pool; when its queue is full a call fails with RESOURCE_EXHAUSTED),
// and Follow streams are fed by the FollowHub's thread.
//
// Limits: Search pages of 1-100,000 events (default 100), sent in chunks of at most
// `max_chunk_bytes`; Top 1-10,000 values (default 10); Histogram at most 100,000 buckets.
//
// Thread safety: gRPC calls it from its threads; it holds no state of its own besides the
// references it was given.
#ifndef KUBETRAIL_SERVICES_AGGREGATOR_QUERY_SERVICE_H_
#define KUBETRAIL_SERVICES_AGGREGATOR_QUERY_SERVICE_H_

#include <cstddef>
#include <string_view>

#include "absl/status/status.h"
#include "kubetrail/v1/query.grpc.pb.h"
#include "services/aggregator/auth.h"
#include "services/aggregator/executor.h"
#include "services/aggregator/follow.h"
#include "services/aggregator/metrics.h"
#include "storage/event_store.h"

namespace kubetrail::aggregator {

class QueryService final : public kubetrail::v1::Query::CallbackService {
 public:
  struct Options {
    // Bytes of events per Search chunk (a single bigger event goes alone). Default 1 MiB,
    // well under gRPC clients' default 4 MiB receive limit.
    size_t max_chunk_bytes = 1 << 20;
    // Events read from the store per Search chunk. Default 256.
    int chunk_events = 256;
    // Bytes of a Get or Histogram response at most (config limits.max_message_bytes, the
    // C++ client's receive limit): a bigger answer is RESOURCE_EXHAUSTED saying how to
    // narrow it, rather than a message the client refuses without saying why.
    size_t max_response_bytes = 64 << 20;
  };

  // Every reference must outlive the service and the server running it.
  QueryService(storage::EventStore& store, Executor& executor, FollowHub& follow,
               const Authorizer& authorizer, Metrics& metrics, Options options);

  grpc::ServerWriteReactor<kubetrail::v1::SearchResponse>* Search(
      grpc::CallbackServerContext* context, const kubetrail::v1::SearchRequest* request) override;
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* context,
                                const kubetrail::v1::GetRequest* request,
                                kubetrail::v1::GetResponse* response) override;
  grpc::ServerUnaryReactor* Count(grpc::CallbackServerContext* context,
                                  const kubetrail::v1::CountRequest* request,
                                  kubetrail::v1::CountResponse* response) override;
  grpc::ServerUnaryReactor* Top(grpc::CallbackServerContext* context,
                                const kubetrail::v1::TopRequest* request,
                                kubetrail::v1::TopResponse* response) override;
  grpc::ServerUnaryReactor* Histogram(grpc::CallbackServerContext* context,
                                      const kubetrail::v1::HistogramRequest* request,
                                      kubetrail::v1::HistogramResponse* response) override;
  grpc::ServerWriteReactor<kubetrail::v1::FollowResponse>* Follow(
      grpc::CallbackServerContext* context, const kubetrail::v1::FollowRequest* request) override;

 private:
  friend class SearchReactor;
  friend class FollowReactor;

  // OK when `response` fits options_.max_response_bytes; else RESOURCE_EXHAUSTED naming its
  // size, the limit and `what` (what the answer holds and how to narrow it).
  absl::Status CheckResponseSize(const google::protobuf::MessageLite& response,
                                 std::string_view what) const;

  storage::EventStore& store_;
  Executor& executor_;
  FollowHub& follow_;
  const Authorizer& authorizer_;
  Metrics& metrics_;
  const Options options_;
};

}  // namespace kubetrail::aggregator

#endif  // KUBETRAIL_SERVICES_AGGREGATOR_QUERY_SERVICE_H_
