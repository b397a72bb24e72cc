// HttpStatusServer: the small plain-HTTP endpoint every kubetrail daemon runs beside its real
// service, for Prometheus and for Kubernetes probes:
//
//   GET /metrics   200, the Registry's text exposition
//                  (Content-Type: text/plain; version=0.0.4; charset=utf-8)
//   GET /healthz   200 "ok" while the process runs (liveness)
//   GET /readyz    200 "ready", or 503 with the readiness callback's status message
//   anything else  404
//
// It speaks plain HTTP without authentication: listen on loopback or the pod network only,
// never on an address reachable from outside the cluster. Nothing it serves is secret, but
// metric label values (collector names) may be.
//
//   HttpStatusServer::Options options;
//   options.listen = "127.0.0.1:9090";
//   options.registry = &registry;
//   options.readiness = [&] { return writer.Healthy(); };
//   KT_ASSIGN_OR_RETURN(std::unique_ptr<HttpStatusServer> status,
//                       HttpStatusServer::Start(std::move(options)));
//   ...
//   status->Stop();  // or let the destructor do it
//
// Threads: one accept thread plus a small pool of request threads, all owned and joined by
// Stop(). The readiness callback and Registry::Expose() run on the request threads, possibly
// concurrently with each other.
//
// Thread safety: port() may be called from any thread; Stop() from any thread but not from a
// request handler (it would wait for itself).
#ifndef KUBETRAIL_COMMON_HTTP_STATUS_SERVER_H_
#define KUBETRAIL_COMMON_HTTP_STATUS_SERVER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/metrics.h"

namespace kubetrail {

class HttpStatusServer {
 public:
  struct Options {
    // "host:port" to listen on; IPv6 hosts in brackets ("[::1]:9090"). Port 0 picks a free
    // port (read it back with port()). Default: "127.0.0.1:9090".
    std::string listen = "127.0.0.1:9090";
    // Rendered at every GET /metrics. Borrowed: must outlive the server. Default: nullptr,
    // which serves an empty exposition.
    const Registry* registry = nullptr;
    // Called at every GET /readyz: OK means ready (200), anything else not ready (503 with
    // the status message as body). Must be thread-safe and fast; it runs on a request
    // thread. Default: empty, meaning always ready.
    std::function<absl::Status()> readiness;
  };

  // Binds options.listen and starts serving on a background thread; returns once the server
  // accepts connections.
  // Errors: InvalidArgument for a malformed listen address (no port, port not in 0-65535,
  // empty host, IPv6 host without brackets) or a host that does not resolve; for a failed
  // bind, absl::ErrnoToStatus's code (FailedPrecondition for EADDRINUSE, PermissionDenied
  // for EACCES) with a message naming the address and the system's reason,
  // e.g. "cannot listen on 127.0.0.1:9090: Address already in use".
  static absl::StatusOr<std::unique_ptr<HttpStatusServer>> Start(Options options);

  // Stops.
  ~HttpStatusServer();
  HttpStatusServer(const HttpStatusServer&) = delete;
  HttpStatusServer& operator=(const HttpStatusServer&) = delete;

  // The bound TCP port (the chosen one when options.listen asked for port 0).
  int port() const { return port_; }

  // Stops accepting, finishes the requests in flight and joins every thread. Idempotent;
  // also called by the destructor.
  void Stop();

 private:
  class Impl;
  HttpStatusServer(std::unique_ptr<Impl> impl, int port);

  const std::unique_ptr<Impl> impl_;
  const int port_;
};

}  // namespace kubetrail

#endif  // KUBETRAIL_COMMON_HTTP_STATUS_SERVER_H_
