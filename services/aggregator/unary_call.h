// The one shape of every unary query and admin call: refuse early when `allowed` is not OK,
// otherwise run the body on the Executor (never inside the gRPC reaction), then record the
// latency and code in the metrics and finish the call with the body's status.
#ifndef KUBETRAIL_SERVICES_AGGREGATOR_UNARY_CALL_H_
#define KUBETRAIL_SERVICES_AGGREGATOR_UNARY_CALL_H_

#include <chrono>
#include <utility>

#include "absl/status/status.h"
#include "common/grpc_status.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "services/aggregator/executor.h"
#include "services/aggregator/metrics.h"

namespace kubetrail::aggregator {

// `body` is `absl::Status()`; it runs on an executor thread and may fill the response.
// RESOURCE_EXHAUSTED when the executor's queue is full; DEADLINE_EXCEEDED / CANCELLED when
// the call is over before the body starts.
template <typename Body>
grpc::ServerUnaryReactor* RunUnaryCall(grpc::CallbackServerContext* context, Executor& executor,
                                       Metrics& metrics, const char* rpc,
                                       const absl::Status& allowed, Body body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const auto start = std::chrono::steady_clock::now();
  auto finish = [&metrics, reactor, rpc, start](const absl::Status& status) {
    metrics.Query(rpc, status.code(),
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    reactor->Finish(ToGrpcStatus(status));
  };
  if (!allowed.ok()) {
    finish(allowed);
    return reactor;
  }
  const bool queued = executor.TrySubmit([context, body = std::move(body), finish]() mutable {
    absl::Status status;
    if (context->IsCancelled()) {
      status = absl::CancelledError("the call was cancelled");
    } else if (std::chrono::system_clock::now() >= context->deadline()) {
      status = absl::DeadlineExceededError("the deadline passed before the call ran");
    } else {
      status = body();
    }
    finish(status);
  });
  if (!queued) {
    finish(absl::ResourceExhaustedError("too many calls are waiting; retry with backoff"));
  }
  return reactor;
}

}  // namespace kubetrail::aggregator

#endif  // KUBETRAIL_SERVICES_AGGREGATOR_UNARY_CALL_H_
