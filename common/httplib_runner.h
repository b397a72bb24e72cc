// HttplibRunner: binds and runs one cpp-httplib server (plain or TLS) on a background accept
// thread with a pool of request threads, and stops it. Shared by every HTTP endpoint of
// kubetrail (the status server, the collector's webhook receiver), so that each reports a
// failed bind the same way and starts and stops without races.
//
//   httplib::Server server;   // configured (handlers, timeouts) before Start
//   HttplibRunner runner;
//   KT_ASSIGN_OR_RETURN(int port, runner.Start(server, "127.0.0.1:0", /*threads=*/4));
//   ...
//   runner.Stop();            // before `server` is destroyed
//
// Including this header brings in httplib.h: link PkgConfig::HTTPLIB (its Cflags define
// CPPHTTPLIB_OPENSSL_SUPPORT and friends, which every includer must see alike).
#ifndef KUBETRAIL_COMMON_HTTPLIB_RUNNER_H_
#define KUBETRAIL_COMMON_HTTPLIB_RUNNER_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "httplib.h"

namespace kubetrail {

struct HostPort {
  std::string host;
  int port = 0;
};

// Splits "host:port" / "[v6]:port"; the port must be decimal 0-65535. InvalidArgument naming
// the address otherwise.
absl::StatusOr<HostPort> ParseListen(std::string_view address);

class HttplibRunner {
 public:
  HttplibRunner() = default;
  ~HttplibRunner() { Stop(); }
  HttplibRunner(const HttplibRunner&) = delete;
  HttplibRunner& operator=(const HttplibRunner&) = delete;

  // Binds `listen` (port 0 picks a free port), starts the accept thread with `threads` request
  // threads and returns the bound port once the server accepts connections. `server` must
  // outlive Stop(). Call at most once. Errors: InvalidArgument for a malformed listen address
  // or a host that does not resolve; for a failed bind, absl::ErrnoToStatus's code
  // (FailedPrecondition for EADDRINUSE, PermissionDenied for EACCES) with a message naming the
  // address and the system's reason, e.g. "cannot listen on 127.0.0.1:9090: Address already in
  // use".
  absl::StatusOr<int> Start(httplib::Server& server, std::string_view listen, size_t threads);

  // Stops accepting, finishes the requests in flight and joins every thread. Idempotent; not
  // from a request handler (it would wait for itself).
  void Stop();

 private:
  void MarkStarted();

  httplib::Server* server_ = nullptr;
  // Serialises Stop() callers; joinable from Start() until the first Stop() returns.
  absl::Mutex stop_mu_;
  std::thread thread_ ABSL_GUARDED_BY(stop_mu_);
  absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;  // the accept loop has begun (or already ended)
};

}  // namespace kubetrail

#endif  // KUBETRAIL_COMMON_HTTPLIB_RUNNER_H_
