// WebhookServer: the receiving end of kube-apiserver's audit webhook backend
// (--audit-webhook-config-file). The apiserver POSTs batches of events as an `EventList`
// (`Content-Type: application/json`, up to --audit-webhook-batch-max-size = 400 events) and
// retries a batch on any error, up to 5 attempts, before dropping it. So the server answers
// 2xx only after the sink has made the batch durable, and answers errors the apiserver's retry
// can cure (503) whenever it cannot.
//
//   WebhookConfig config;
//   config.listen = "0.0.0.0:8443";
//   config.tls_cert_file = ...; config.tls_key_file = ...; config.client_ca_file = ...;
//   KT_ASSIGN_OR_RETURN(std::unique_ptr<WebhookServer> webhook,
//                       WebhookServer::Start(config, [&](WebhookRequest& request) {
//                         return intake.Accept(request.events);   // durable before OK
//                       }, &registry));
//
// Replies:
//   200  {"accepted":N,"rejected":M} — the sink took the N decoded events; M events of the body
//        could not be decoded (each is passed to the sink in `errors`, to be counted and logged;
//        one bad event never costs its neighbours).
//   400  the body cannot be decoded at all (not JSON, a broken EventList, no decodable event)
//        or is empty (no bytes, or only whitespace; an EventList with no items is a 200):
//        the reason, as text. The sink is not called for an empty body.
//   405  a method other than POST on the path.
//   413  a body over max_body_bytes (after gzip decompression too).
//   415  a Content-Encoding other than gzip, deflate or br.
//   503  the sink is out of room (ResourceExhausted, e.g. the spool is full in block mode) or
//        unavailable: with Retry-After, so the apiserver's retry brings the batch again.
//   500  any other sink error.
// A body may also be a single Event or JSON lines. `Content-Encoding: gzip` is accepted.
//
// TLS: HTTPS with the configured certificate; with client_ca_file, clients must present a
// certificate signed by that CA (the kubeconfig's client-certificate). Plain HTTP only when
// `plaintext` is set (the collector's --dev). The certificate files are read once at Start.
//
// Threads: one accept thread and `threads` request threads (each request runs the sink on
// its thread; concurrent requests run the sink concurrently).
#ifndef KUBETRAIL_SERVICES_COLLECTOR_WEBHOOK_WEBHOOK_H_
#define KUBETRAIL_SERVICES_COLLECTOR_WEBHOOK_WEBHOOK_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "kubetrail/v1/event.pb.h"

namespace kubetrail::collector {

struct WebhookConfig {
  // "host:port"; IPv6 hosts in brackets. Port 0 picks a free port (see port()).
  // Default: "127.0.0.1:8443".
  std::string listen = "127.0.0.1:8443";
  // The URL path the apiserver's kubeconfig points at. Default: "/audit/webhook".
  std::string path = "/audit/webhook";
  // Largest accepted body, in bytes after decompression. Default: 16 MiB.
  size_t max_body_bytes = size_t{16} << 20;
  // Largest accepted event (JSON bytes of one item); larger ones are rejected one by one.
  // Default: 4 MiB.
  size_t max_event_bytes = size_t{4} << 20;
  // Plain HTTP instead of HTTPS (development only). Default: false.
  bool plaintext = false;
  // PEM files of the server certificate (chain) and its key; required unless plaintext.
  std::string tls_cert_file;
  std::string tls_key_file;
  // PEM file of the CA that signs clients' certificates; when set, a client without a valid
  // certificate is refused during the handshake. Default: "" (no client certificates).
  std::string client_ca_file;
  // Request threads, each serving one kept-alive connection at a time. Default: 16.
  size_t threads = 16;
  // The Retry-After of a 503, in whole seconds (at least 1). Default: 1 s.
  absl::Duration retry_after = absl::Seconds(1);
};

// One POST, decoded.
struct WebhookRequest {
  // Every event the body held that decoded, in body order. They live on the request's arena
  // (audit/event_batch.h): valid during the sink call; the sink may change them.
  absl::Span<kubetrail::v1::Event* const> events;
  // One message per event that did not decode, e.g. `items[3] (line 1): missing required
  // field "stage"`.
  std::vector<std::string> errors;
  // The client's address, "ip:port".
  std::string peer;
};

// Makes a request's events durable. OK means they are (the reply is 200). Called on a
// request thread, possibly concurrently; it may block (the apiserver waits up to 30 s). Also
// called for a body none of whose events decoded (`events` empty), so that the errors are
// counted; the reply is then 400 whatever it returns.
using WebhookSink = std::function<absl::Status(WebhookRequest& request)>;

class WebhookServer {
 public:
  // Validates `config`, loads the TLS files, binds and starts serving. Errors:
  // InvalidArgument for a bad config or unloadable TLS files (naming them); the bind errors
  // of HttplibRunner (e.g. "cannot listen on 127.0.0.1:8443: Address already in use").
  // `registry` (may be null) gets kubetrail_collector_webhook_requests_total{code} and
  // kubetrail_collector_webhook_request_duration_seconds; it must outlive the server, as must
  // `clock`.
  static absl::StatusOr<std::unique_ptr<WebhookServer>> Start(WebhookConfig config,
                                                              WebhookSink sink,
                                                              Registry* registry = nullptr,
                                                              Clock& clock = Clock::Real());
  // Stops.
  ~WebhookServer();
  WebhookServer(const WebhookServer&) = delete;
  WebhookServer& operator=(const WebhookServer&) = delete;

  // The bound port.
  int port() const;
  // Stops accepting, lets the requests in flight finish (their sink calls return) and joins
  // every thread. Idempotent.
  void Stop();

 private:
  class Impl;
  explicit WebhookServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace kubetrail::collector

#endif  // KUBETRAIL_SERVICES_COLLECTOR_WEBHOOK_WEBHOOK_H_
