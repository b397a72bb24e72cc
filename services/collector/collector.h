// Collector: the whole kubetrail-collector, wired from a validated CollectorConfig:
// sources (webhook receiver, log tailers) → Intake (policy, envelope) → Spool → Forwarder
// (→ aggregator), plus the HTTP status endpoint and the policy watcher.
//
//   KT_ASSIGN_OR_RETURN(std::unique_ptr<Collector> collector, Collector::Start(config, clock));
//   ... SIGHUP: collector->Reload(fresh_config);
//   ... SIGTERM: collector->Shutdown();
//
// Shutdown order (SIGTERM): stop the sources (the webhook stops accepting and finishes the
// requests in flight, which are spooled or refused; the tailers commit what they read), ship
// what the spool holds for up to drain_timeout, stop the stream, close the spool. Events not
// acknowledged by then stay spooled and are shipped after the next start.
#ifndef KUBETRAIL_SERVICES_COLLECTOR_COLLECTOR_H_
#define KUBETRAIL_SERVICES_COLLECTOR_COLLECTOR_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "services/collector/config.h"

namespace kubetrail::collector {

class Collector {
 public:
  // Opens the spool, loads the policy, starts the forwarder, the sources and the status
  // endpoint. Errors: InvalidArgument for what the config names but cannot be used (policy
  // file, TLS files, listen addresses); the spool's errors (e.g. FailedPrecondition when
  // another collector has it open).
  static absl::StatusOr<std::unique_ptr<Collector>> Start(const CollectorConfig& config,
                                                          Clock& clock);
  // Shuts down.
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  // Bound ports (0 when that endpoint is off).
  int webhook_port() const;
  int http_port() const;

  // SIGHUP: re-reads the policy file and the client certificate files (a new stream uses
  // them). Other changes need a restart. The two are independent: each is attempted, and one
  // that fails (logged with its file and the reason, and counted) keeps its running version
  // without holding back the other. OK when both worked; otherwise the failure(s), e.g.
  // InvalidArgument for a broken policy, FailedPrecondition for a changed policy_file path,
  // the TLS loader's error naming the certificate file.
  absl::Status Reload(const CollectorConfig& fresh);

  // See the header comment. OK, or what could not be finished (e.g. events left spooled).
  // Idempotent.
  absl::Status Shutdown();

 private:
  class Impl;
  explicit Collector(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kubetrail::collector

#endif  // KUBETRAIL_SERVICES_COLLECTOR_COLLECTOR_H_
