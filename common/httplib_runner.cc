#include "common/httplib_runner.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>
#include <utility>

#include "common/status_macros.h"
#include "common/strings.h"

namespace kubetrail {
namespace {

// Only SO_REUSEADDR: httplib's default also sets SO_REUSEPORT, which would let a second
// server bind the same port silently instead of failing.
void SetSocketOptions(int sock) {
  int yes = 1;
  setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
}

// httplib reports a failed bind as a bare -1. Repeats the bind to learn why.
absl::Status DiagnoseBindFailure(const HostPort& hp, std::string_view address) {
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* result = nullptr;
  const std::string service = std::to_string(hp.port);
  const int rv = getaddrinfo(hp.host.c_str(), service.c_str(), &hints, &result);
  if (rv != 0) {
    return absl::InvalidArgumentError(Cat("cannot listen on ", address, ": cannot resolve \"",
                                          hp.host, "\": ", gai_strerror(rv)));
  }
  // Like httplib, the bind succeeds when any resolved address works; report the first error.
  int error = 0;
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    const int sock = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    int this_error = 0;
    if (sock < 0) {
      this_error = errno;
    } else {
      SetSocketOptions(sock);
      if (bind(sock, ai->ai_addr, ai->ai_addrlen) != 0 || listen(sock, 1) != 0) this_error = errno;
      close(sock);
    }
    if (this_error == 0) {
      error = 0;
      break;
    }
    if (error == 0) error = this_error;
  }
  freeaddrinfo(result);
  if (error != 0) return absl::ErrnoToStatus(error, ToAbsl(Cat("cannot listen on ", address)));
  return absl::UnavailableError(
      Cat("cannot listen on ", address, ": bind failed, but succeeded when retried"));
}

}  // namespace

absl::StatusOr<HostPort> ParseListen(std::string_view address) {
  HostPort hp;
  std::string_view port;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return absl::InvalidArgumentError(
          Cat("listen address \"", address, "\": want \"[ipv6]:port\""));
    }
    hp.host = std::string(address.substr(1, close - 1));
    port = address.substr(close + 2);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) {
      return absl::InvalidArgumentError(
          Cat("listen address \"", address, "\" has no port; want \"host:port\""));
    }
    hp.host = std::string(address.substr(0, colon));
    if (hp.host.find(':') != std::string::npos) {
      return absl::InvalidArgumentError(
          Cat("listen address \"", address, "\": put an IPv6 host in brackets, \"[::1]:9090\""));
    }
    port = address.substr(colon + 1);
  }
  if (hp.host.empty()) {
    return absl::InvalidArgumentError(
        Cat("listen address \"", address, "\" has no host; name one, e.g. 127.0.0.1"));
  }
  bool digits = !port.empty() && port.size() <= 5;
  for (const char c : port) digits = digits && c >= '0' && c <= '9';
  if (digits) {
    for (const char c : port) hp.port = hp.port * 10 + (c - '0');
  }
  if (!digits || hp.port > 65535) {
    return absl::InvalidArgumentError(
        Cat("listen address \"", address, "\": port \"", port, "\" is not a number in 0-65535"));
  }
  return hp;
}

absl::StatusOr<int> HttplibRunner::Start(httplib::Server& server, std::string_view listen,
                                         size_t threads) {
  KT_ASSIGN_OR_RETURN(HostPort hp, ParseListen(listen));
  server_ = &server;
  server.set_socket_options(SetSocketOptions);
  // httplib calls this once, on the accept thread, right after it marks itself running: from
  // then on server.stop() takes effect (before, it would be lost). The socket already listens
  // since the bind, so no connection is refused meanwhile.
  server.new_task_queue = [this, threads] {
    MarkStarted();
    return new httplib::ThreadPool(threads);
  };
  const int port = hp.port == 0 ? server.bind_to_any_port(hp.host)
                                : (server.bind_to_port(hp.host, hp.port) ? hp.port : -1);
  if (port < 0) return DiagnoseBindFailure(hp, listen);
  {
    absl::MutexLock lock(&stop_mu_);
    thread_ = std::thread([this] {
      server_->listen_after_bind();
      MarkStarted();  // in case the loop ended before it ever created its queue
    });
  }
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(&started_));
  return port;
}

void HttplibRunner::Stop() {
  absl::MutexLock lock(&stop_mu_);
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

void HttplibRunner::MarkStarted() {
  absl::MutexLock lock(&mu_);
  started_ = true;
}

}  // namespace kubetrail
