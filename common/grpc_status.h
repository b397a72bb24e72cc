// The one place where absl::Status and grpc::Status meet (gRPC 1.51 has no converter).
// Canonical codes have the same numbers in both, so the code carries over unchanged.
//
//   return ToGrpcStatus(store.Get(id).status());      // in a service
//   absl::Status s = FromGrpcStatus(stub->Count(...)); // in a client
#ifndef KUBETRAIL_COMMON_GRPC_STATUS_H_
#define KUBETRAIL_COMMON_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace kubetrail {

// The same code and message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The same code and message; the error details of `status` are dropped.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace kubetrail

#endif  // KUBETRAIL_COMMON_GRPC_STATUS_H_
