// The aggregator, wired: store, writer, follow hub, query executor, the gRPC server (Ingest,
// Query, Admin, grpc.health.v1, reflection), the HTTP status server and the retention timer.
// main.cc adds flags and signals; tests start it in-process too.
//
//   KT_ASSIGN_OR_RETURN(std::unique_ptr<Aggregator> agg, Aggregator::Start(config, clock));
//   ... sigwait ...
//   KT_RETURN_IF_ERROR(agg->Shutdown());
//
// Start order: store → writer → follow hub → executor → services → gRPC server → HTTP
// status → retention. Shutdown runs in reverse: health NOT_SERVING, ingest streams drain
// (in-flight batches are written and acknowledged), follows end, the gRPC server shuts down
// (calls still open at the drain deadline are cancelled), the writer drains, the store is
// synced and closed.
//
// Thread safety: Reload and Shutdown may be called from any one thread (main's signal
// thread); the rest runs on threads the Aggregator owns or gRPC's.
#ifndef KUBETRAIL_SERVICES_AGGREGATOR_SERVER_H_
#define KUBETRAIL_SERVICES_AGGREGATOR_SERVER_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "services/aggregator/config.h"

namespace kubetrail::aggregator {

class Aggregator {
 public:
  // Validates `config`, creates the data directories, opens the store and starts serving.
  // Errors name what failed: the config field, the store (e.g. locked by another process),
  // a TLS file, an address that cannot be bound.
  static absl::StatusOr<std::unique_ptr<Aggregator>> Start(Config config, Clock& clock);

  virtual ~Aggregator() = default;

  // The bound gRPC port, and the HTTP status port (0 when off).
  virtual int port() const = 0;
  virtual int http_port() const = 0;

  // SIGHUP: applies `config`'s max_disk_bytes, re-reads the TLS files and applies its
  // identity/token rules. On error the running TLS and rules stay and the error is returned.
  // FailedPrecondition (after applying all that) when `config` names other TLS files than
  // the server started with: those need a restart.
  virtual absl::Status Reload(const Config& config) = 0;

  // Graceful shutdown (see the file comment); idempotent. Returns the store's close status.
  virtual absl::Status Shutdown() = 0;
};

}  // namespace kubetrail::aggregator

#endif  // KUBETRAIL_SERVICES_AGGREGATOR_SERVER_H_
