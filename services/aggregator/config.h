// The aggregator's configuration: a YAML file (every key optional, unknown keys are errors)
// overridden by command-line flags (main.cc). Validated into a Config before anything starts,
// so a bad config exits with one clear line.
//
//   listen: 0.0.0.0:7443           # gRPC (ingest, query, admin, health, reflection)
//   http_listen: 0.0.0.0:9090      # /metrics, /healthz, /readyz; empty: off
//   data_dir: /var/lib/kubetrail   # the store lives in DATA_DIR/store
//   backup_dir: /var/lib/kubetrail/backups
//   tls:
//     cert_file: /etc/kubetrail/tls/server.pem
//     key_file: /etc/kubetrail/tls/server-key.pem
//     client_ca_file: /etc/kubetrail/tls/clients-ca.pem
//   collectors:                    # certificate identity (CN, DNS or URI SAN) -> clusters
//     - identity: collector.prod-eu-1
//       clusters: [prod-eu-1]
//   query:
//     identities: [auditor.example.com]
//     tokens:
//       - name: grafana
//         sha256: 9f86d08...        # printf %s TOKEN | sha256sum
//   admins: [ops.example.com]
//   limits: {max_batch_events: 10000, max_event_bytes: 4194304, max_message_bytes: 67108864}
//   writer: {threads: 4, max_queued_events: 20000}
//   query_threads: 4
//   store: {block_cache_bytes: 268435456, write_buffer_bytes: 67108864, max_disk_bytes: 0,
//           low_priority_compactions: true}
//   retention_interval: 1h
//   follow_heartbeat: 5s
//   drain_timeout: 30s
#ifndef KUBETRAIL_SERVICES_AGGREGATOR_CONFIG_H_
#define KUBETRAIL_SERVICES_AGGREGATOR_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/aggregator/auth.h"

namespace kubetrail::aggregator {

struct Config {
  // gRPC listen address, host:port (port 0 picks a free one). Default "127.0.0.1:7443".
  std::string listen = "127.0.0.1:7443";
  // HTTP status address (metrics, health); empty disables it. Default "".
  std::string http_listen;
  // Data directory; created when missing. Required.
  std::string data_dir;
  // Where Admin.Backup writes; default DATA_DIR/backups.
  std::string backup_dir;
  // Plaintext on loopback only, everything allowed: for local use and tests. Default false.
  bool dev = false;

  // TLS (required unless dev).
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  // Who may write which cluster, query and administer.
  AuthConfig auth;

  // Ingest limits (see IngestService::Options).
  uint32_t max_batch_events = 10'000;
  uint64_t max_event_bytes = 4 << 20;
  uint64_t max_message_bytes = 64 << 20;
  // Writer (see Writer::Options).
  int writer_threads = 4;
  uint64_t max_queued_events = 20'000;
  // Threads reading the store for queries. Default 4.
  int query_threads = 4;
  // Store (see storage::RocksDbOptions).
  uint64_t block_cache_bytes = 256 << 20;
  uint64_t write_buffer_bytes = 64 << 20;
  // Above this many bytes of store files writes fail (acks stop) until space is freed or the
  // limit raised; 0: no limit. Applied again on SIGHUP.
  uint64_t max_disk_bytes = 0;
  // Compactions at the lowest CPU priority (storage::RocksDbOptions). Default true.
  bool low_priority_compactions = true;
  // How often retention runs (ApplyRetention with the clock's now). Default 1h; 0 disables.
  absl::Duration retention_interval = absl::Hours(1);
  // Follow heartbeat. Default 5 s.
  absl::Duration follow_heartbeat = absl::Seconds(5);
  // Bound on a graceful shutdown (SIGTERM): streams still open then are cancelled. Default 30 s.
  absl::Duration drain_timeout = absl::Seconds(30);

  // DATA_DIR/store.
  std::string StorePath() const;
};

// Parses YAML text into `config` (fields not in the text keep their values). Errors:
// InvalidArgument naming the key and line ("line 4: limits.max_batch_events: want a
// positive integer, got \"ten\""); unknown keys are errors.
absl::Status ParseConfig(std::string_view yaml, Config& config);
// Reads `path` and parses it; errors name the file.
absl::Status LoadConfigFile(const std::string& path, Config& config);

// Checks a complete config (after flags): required fields, TLS files named outside dev, dev
// only on loopback addresses, positive limits. InvalidArgument naming the field.
absl::Status ValidateConfig(Config& config);

}  // namespace kubetrail::aggregator

#endif  // KUBETRAIL_SERVICES_AGGREGATOR_CONFIG_H_
