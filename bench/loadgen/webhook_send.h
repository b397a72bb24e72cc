// kubetrail-loadgen --send http(s)://HOST:PORT/PATH: posts events to a collector's webhook
// exactly as kube-apiserver's webhook backend does — EventList bodies of up to 400 events,
// `Content-Type: application/json`, over one or more keep-alive connections — and measures
// the rate. Like the apiserver it sends a batch again when it got no 2xx; unlike it, it keeps
// trying until the overall timeout (the apiserver gives up after 5 attempts), except for
// replies that no retry can cure (400, 404, 405, 413, 415), which count as failed.
//
//   WebhookSendOptions options;
//   options.url = "https://127.0.0.1:8443/audit/webhook";
//   options.ca_file = "ca.pem"; options.cert_file = ...; options.key_file = ...;
//   WebhookSendResult result = SendWebhook(options, events);
//   std::puts(FormatWebhookSummaryJson(result).c_str());
//
// kubetrail::loadgen_webhook, internal to bench/ and tests.
#ifndef KUBETRAIL_BENCH_LOADGEN_WEBHOOK_SEND_H_
#define KUBETRAIL_BENCH_LOADGEN_WEBHOOK_SEND_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "kubetrail/v1/event.pb.h"

namespace kubetrail::loadgen {

struct WebhookSendOptions {
  // http://HOST:PORT/PATH or https://HOST:PORT/PATH.
  std::string url;
  // https only: the CA that signs the collector's certificate (empty: no verification of the
  // server, as the apiserver's insecure-skip-tls-verify), and a client certificate and key.
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  // Concurrent connections, each posting its share of the batches in order. Default: 1.
  int connections = 1;
  // Events per POST. Default: 400 (--audit-webhook-batch-max-size).
  size_t batch_events = 400;
  // Total events per second over all connections; 0: as fast as the replies come.
  double rate = 0;
  // Compress bodies (Content-Encoding: gzip). Default: false (the apiserver does not).
  bool gzip = false;
  // Give up on what is not accepted after this long. Default: never.
  absl::Duration timeout = absl::InfiniteDuration();
  // Delay between attempts of one batch: doubling from `retry_initial` up to `retry_max`.
  absl::Duration retry_initial = absl::Milliseconds(100);
  absl::Duration retry_max = absl::Seconds(2);
};

struct WebhookSendResult {
  uint64_t events = 0;
  uint64_t posts = 0;     // batches
  uint64_t attempts = 0;  // POSTs made, retries included
  uint64_t accepted = 0;  // events in batches answered 2xx
  uint64_t failed = 0;    // events in batches given up on
  // Replies by status code ("0": no reply, e.g. connection refused or reset).
  std::vector<std::pair<int, uint64_t>> codes;
  absl::Duration elapsed;
  // Latency of the successful attempts.
  double p50_ms = 0;
  double p99_ms = 0;
  int connections = 0;
  // OK when every batch was accepted; otherwise the first failure.
  absl::Status status;
};

// Encodes `events` into EventList bodies (before the clock starts), posts them and waits for
// every reply.
WebhookSendResult SendWebhook(const WebhookSendOptions& options,
                              const std::vector<kubetrail::v1::Event>& events);

// {"events":N,"posts":N,"attempts":N,"accepted":N,"failed":N,"events_per_s":X,"seconds":S,
//  "p50_ms":X,"p99_ms":X,"connections":K,"codes":{"200":N,...}} — one line, no newline.
std::string FormatWebhookSummaryJson(const WebhookSendResult& result);

}  // namespace kubetrail::loadgen

#endif  // KUBETRAIL_BENCH_LOADGEN_WEBHOOK_SEND_H_
