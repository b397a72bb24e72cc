// The collector's configuration: a YAML file (every key optional, unknown keys are errors)
// overridden by command-line flags (main.cc), validated before anything starts so that a bad
// config exits with one clear line.
//
//   cluster: prod-eu                      # required; bound to the client certificate
//   source: apiserver-1                   # default: the host name
//   aggregators: [agg-0.example:7443, agg-1.example:7443]   # failover order
//   tls:                                  # to the aggregator (mTLS)
//     ca_file: /etc/kubetrail/tls/ca.pem
//     cert_file: /etc/kubetrail/tls/collector.pem
//     key_file: /etc/kubetrail/tls/collector-key.pem
//     server_name: aggregator.example     # default: the aggregator's host
//   webhook:
//     listen: 0.0.0.0:8443                # "" turns the webhook off
//     path: /audit/webhook
//     max_body_bytes: 16777216
//     max_event_bytes: 4194304
//     threads: 16
//     tls: {cert_file: ..., key_file: ..., client_ca_file: ...}
//   tail: [/var/log/kubernetes/audit/audit.log]
//   tail_threads: 2                       # per log: decode, filter, serialize
//   policy_file: /etc/kubetrail/collector-policy.yaml
//   spool: {dir: /var/lib/kubetrail-collector/spool, max_bytes: 1073741824, max_age: 24h,
//           when_full: block}             # or drop-oldest
//   ship: {batch_events: 400, batch_bytes: 4194304, batch_wait: 1s, qps: 0, burst: 1,
//          backoff_initial: 100ms, backoff_max: 30s, failover_after: 15s, compression: zstd,
//          window: 8}
//   http_listen: 127.0.0.1:9091           # /metrics, /healthz, /readyz; "" turns it off
//   drain_timeout: 30s
//
// `dev: true` (--dev) means plaintext on both sides (the webhook and the connection to the
// aggregator), and so every listen address must be on loopback.
#ifndef KUBETRAIL_SERVICES_COLLECTOR_CONFIG_H_
#define KUBETRAIL_SERVICES_COLLECTOR_CONFIG_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/collector/spool/spool.h"

namespace kubetrail::collector {

struct CollectorConfig {
  std::string cluster;
  std::string source;  // ValidateCollectorConfig fills in the host name when empty
  bool dev = false;

  // Aggregators as gRPC targets ("host:port", "dns:///name:port"), tried in this order.
  std::vector<std::string> aggregators = {"127.0.0.1:7443"};
  // TLS to the aggregators (required unless dev): CA to verify them, and this collector's
  // client certificate.
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_server_name;

  // Webhook receiver; empty listen: off.
  std::string webhook_listen;
  std::string webhook_path = "/audit/webhook";
  uint64_t webhook_max_body_bytes = uint64_t{16} << 20;
  uint64_t max_event_bytes = uint64_t{4} << 20;
  uint32_t webhook_threads = 16;
  std::string webhook_tls_cert_file;
  std::string webhook_tls_key_file;
  std::string webhook_tls_client_ca_file;

  // Audit log files to follow.
  std::vector<std::string> tail;
  // Threads per log that decode, filter and serialize its lines at once (TailPipeline).
  uint32_t tail_threads = 2;

  // Collector policy (audit.k8s.io/v1 Policy); empty: keep what the apiserver sends.
  std::string policy_file;

  // Spool (see SpoolConfig). `spool_dir` is required.
  std::string spool_dir;
  uint64_t spool_max_bytes = uint64_t{1} << 30;
  absl::Duration spool_max_age = absl::Hours(24);
  WhenFull when_full = WhenFull::kBlock;

  // Shipping.
  uint32_t batch_events = 400;
  uint64_t batch_bytes = uint64_t{4} << 20;
  absl::Duration batch_wait = absl::Seconds(1);
  // Batches per second (token bucket with `burst`); 0: no throttle.
  double qps = 0;
  uint32_t burst = 1;
  absl::Duration backoff_initial = absl::Milliseconds(100);
  absl::Duration backoff_max = absl::Seconds(30);
  // With several aggregators: move to the next one when batches have waited this long for
  // an ack (ForwarderConfig::failover_after).
  absl::Duration failover_after = absl::Seconds(15);
  // Compression of the batches sent to the aggregator: "zstd" (the events of each batch as
  // one zstd frame, Batch.zstd_events; needs an aggregator that accepts it), gRPC's message
  // compression "gzip" or "deflate", or "none".
  std::string compression = "zstd";
  // Batches in flight (unacknowledged) per stream.
  uint32_t window = 8;

  // /metrics, /healthz, /readyz; empty: off.
  std::string http_listen;
  // Bound on a graceful shutdown's shipping of what is spooled.
  absl::Duration drain_timeout = absl::Seconds(30);
};

// Parses YAML into `config` (keys not in the text keep their values). InvalidArgument naming
// the line and key; unknown keys are errors.
absl::Status ParseCollectorConfig(std::string_view yaml, CollectorConfig& config);
// Reads `path` and parses it; errors name the file.
absl::Status LoadCollectorConfigFile(const std::string& path, CollectorConfig& config);
// Checks a complete config (after flags) and fills in defaults that depend on others (source
// = host name). InvalidArgument naming the field (and its flag).
absl::Status ValidateCollectorConfig(CollectorConfig& config);

}  // namespace kubetrail::collector

#endif  // KUBETRAIL_SERVICES_COLLECTOR_CONFIG_H_
