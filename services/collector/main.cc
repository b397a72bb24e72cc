// kubetrail-collector: flags and config file → CollectorConfig, signals → Reload / Shutdown.
//
//   kubetrail-collector --dev --cluster prod-eu --aggregator 127.0.0.1:7443
//       --webhook-listen 127.0.0.1:8443 --tail /var/log/kubernetes/audit/audit.log
//       --spool-dir DIR --http-listen 127.0.0.1:9091
//   kubetrail-collector --config /etc/kubetrail/collector.yaml
//
// Exit codes: 0 after a clean shutdown (SIGTERM / SIGINT; events still spooled then are
// shipped after the next start, and said so on stderr), 1 when the collector could not start,
// 2 for bad flags or config.
#include <cstdio>
#include <iostream>
#include <string>
#include <tuple>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/mutex_checks.h"
#include "common/signals.h"
#include "services/collector/collector.h"
#include "services/collector/config.h"

namespace {

using kubetrail::collector::CollectorConfig;

constexpr char kProgram[] = "kubetrail-collector";

// Flags as given; each overrides the config file when set.
struct Flags {
  std::string config_file;
  bool dev = false;
  std::string cluster, source, tls_ca, tls_cert, tls_key, tls_server_name;
  std::vector<std::string> aggregators, tail;
  std::string webhook_listen, webhook_path, webhook_tls_cert, webhook_tls_key,
      webhook_tls_client_ca;
  uint64_t webhook_max_body_bytes = 0;
  std::string policy_file, spool_dir, when_full, spool_max_age;
  uint64_t spool_max_bytes = 0;
  uint32_t batch_events = 0;
  uint32_t tail_threads = 0;
  uint64_t batch_bytes = 0;
  std::string batch_wait, drain_timeout, compression;
  double qps = 0;
  uint32_t burst = 0;
  std::string http_listen;
  CLI::App* app = nullptr;
};

bool Given(const Flags& f, const char* name) { return f.app->get_option(name)->count() > 0; }

// The config file (when given) with the flags applied on top, validated.
absl::Status Resolve(const Flags& f, CollectorConfig& c) {
  c = CollectorConfig();
  if (!f.config_file.empty()) {
    if (absl::Status s = kubetrail::collector::LoadCollectorConfigFile(f.config_file, c); !s.ok()) {
      return s;
    }
  }
  if (Given(f, "--dev")) c.dev = f.dev;  // --dev=false overrides `dev: true`
  for (auto [flag, from, to] : {
           std::tuple{"--cluster", &f.cluster, &c.cluster},
           std::tuple{"--source", &f.source, &c.source},
           std::tuple{"--tls-ca", &f.tls_ca, &c.tls_ca_file},
           std::tuple{"--tls-cert", &f.tls_cert, &c.tls_cert_file},
           std::tuple{"--tls-key", &f.tls_key, &c.tls_key_file},
           std::tuple{"--tls-server-name", &f.tls_server_name, &c.tls_server_name},
           std::tuple{"--webhook-listen", &f.webhook_listen, &c.webhook_listen},
           std::tuple{"--webhook-path", &f.webhook_path, &c.webhook_path},
           std::tuple{"--webhook-tls-cert", &f.webhook_tls_cert, &c.webhook_tls_cert_file},
           std::tuple{"--webhook-tls-key", &f.webhook_tls_key, &c.webhook_tls_key_file},
           std::tuple{"--webhook-tls-client-ca", &f.webhook_tls_client_ca,
                      &c.webhook_tls_client_ca_file},
           std::tuple{"--policy", &f.policy_file, &c.policy_file},
           std::tuple{"--spool-dir", &f.spool_dir, &c.spool_dir},
           std::tuple{"--compression", &f.compression, &c.compression},
           std::tuple{"--http-listen", &f.http_listen, &c.http_listen},
       }) {
    if (Given(f, flag)) *to = *from;
  }
  if (Given(f, "--aggregator")) c.aggregators = f.aggregators;
  if (Given(f, "--tail")) c.tail = f.tail;
  if (Given(f, "--tail-threads")) c.tail_threads = f.tail_threads;
  if (Given(f, "--webhook-max-body-bytes")) c.webhook_max_body_bytes = f.webhook_max_body_bytes;
  if (Given(f, "--spool-max-bytes")) c.spool_max_bytes = f.spool_max_bytes;
  if (Given(f, "--batch-events")) c.batch_events = f.batch_events;
  if (Given(f, "--batch-bytes")) c.batch_bytes = f.batch_bytes;
  if (Given(f, "--qps")) c.qps = f.qps;
  if (Given(f, "--burst")) c.burst = f.burst;
  if (Given(f, "--when-full")) {
    std::optional<kubetrail::collector::WhenFull> when =
        kubetrail::collector::ParseWhenFull(f.when_full);
    if (!when) {
      return absl::InvalidArgumentError(
          absl::StrCat("--when-full: want block or drop-oldest, got \"", f.when_full, "\""));
    }
    c.when_full = *when;
  }
  for (auto [flag, text, out] :
       {std::tuple{"--spool-max-age", &f.spool_max_age, &c.spool_max_age},
        std::tuple{"--batch-wait", &f.batch_wait, &c.batch_wait},
        std::tuple{"--drain-timeout", &f.drain_timeout, &c.drain_timeout}}) {
    if (!Given(f, flag)) continue;
    if (!absl::ParseDuration(*text, out) || *out < absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": want a duration such as 30s or 1h, got \"", *text, "\""));
    }
  }
  return kubetrail::collector::ValidateCollectorConfig(c);
}

std::string HostOf(const std::string& listen) { return listen.substr(0, listen.rfind(':')); }

}  // namespace

int main(int argc, char** argv) {
  kubetrail::TurnOffMutexDeadlockDetection();
  CLI::App app(
      "kubetrail-collector: receives kube-apiserver audit events (webhook, audit log), "
      "applies a policy, spools them durably and ships them to a kubetrail aggregator.");
  Flags f;
  f.app = &app;
  app.add_option("--config", f.config_file, "YAML config file; flags override its values");
  app.add_flag("--dev", f.dev,
               "Plaintext webhook and aggregator connection, loopback listen addresses only "
               "(--dev=false overrides the config file's dev: true)");
  app.add_option("--cluster", f.cluster, "Cluster name (required)");
  app.add_option("--source", f.source, "Source name (default: the host name)");
  app.add_option("--aggregator", f.aggregators,
                 "Aggregator host:port; repeat for failover, tried in order "
                 "(default 127.0.0.1:7443)");
  app.add_option("--tls-ca", f.tls_ca, "CA bundle that verifies the aggregator (PEM)");
  app.add_option("--tls-cert", f.tls_cert, "This collector's client certificate (PEM)");
  app.add_option("--tls-key", f.tls_key, "Its private key (PEM)");
  app.add_option("--tls-server-name", f.tls_server_name,
                 "Name expected in the aggregator's certificate (default: its host)");
  app.add_option("--webhook-listen", f.webhook_listen, "Webhook receiver host:port (default: off)");
  app.add_option("--webhook-path", f.webhook_path, "Webhook URL path (default /audit/webhook)");
  app.add_option("--webhook-tls-cert", f.webhook_tls_cert, "Webhook server certificate (PEM)");
  app.add_option("--webhook-tls-key", f.webhook_tls_key, "Webhook server key (PEM)");
  app.add_option("--webhook-tls-client-ca", f.webhook_tls_client_ca,
                 "Require webhook clients (kube-apiserver) to present a certificate from this "
                 "CA");
  app.add_option("--webhook-max-body-bytes", f.webhook_max_body_bytes,
                 "Largest webhook body, after decompression (default 16 MiB)");
  app.add_option("--tail", f.tail, "Audit log file to follow; repeatable");
  app.add_option("--tail-threads", f.tail_threads,
                 "Threads per followed log that decode, filter and serialize it (default 2)");
  app.add_option("--policy", f.policy_file,
                 "Collector policy (audit.k8s.io/v1 Policy); reloaded on SIGHUP and change");
  app.add_option("--spool-dir", f.spool_dir, "Spool directory (created when missing; required)");
  app.add_option("--spool-max-bytes", f.spool_max_bytes, "Spool bound in bytes (default 1 GiB)");
  app.add_option("--spool-max-age", f.spool_max_age, "Spool bound in age (default 24h)");
  app.add_option("--when-full", f.when_full, "block (default) or drop-oldest");
  app.add_option("--batch-events", f.batch_events, "Events per batch at most (default 400)");
  app.add_option("--batch-bytes", f.batch_bytes, "Bytes per batch at most (default 4 MiB)");
  app.add_option("--batch-wait", f.batch_wait, "Longest wait to fill a batch (default 1s)");
  app.add_option("--qps", f.qps, "Batches per second at most; 0: no throttle (default)");
  app.add_option("--burst", f.burst, "Throttle burst in batches (default 1)");
  app.add_option("--compression", f.compression, "zstd (default), gzip, deflate or none");
  app.add_option("--http-listen", f.http_listen,
                 "HTTP address for /metrics, /healthz, /readyz (default: off)");
  app.add_option("--drain-timeout", f.drain_timeout,
                 "Bound on shipping the spool at shutdown (default 30s)");
  CLI11_PARSE(app, argc, argv);

  CollectorConfig config;
  if (absl::Status s = Resolve(f, config); !s.ok()) {
    std::cerr << kProgram << ": " << s.message() << "\n";
    return 2;
  }

  // Signals are taken by WaitForShutdownSignal on this thread: blocked before any thread starts
  // (and SIGPIPE ignored: a webhook client that hangs up mid-reply must not kill the collector).
  kubetrail::BlockDaemonSignals();

  absl::StatusOr<std::unique_ptr<kubetrail::collector::Collector>> collector =
      kubetrail::collector::Collector::Start(config, kubetrail::Clock::Real());
  if (!collector.ok()) {
    std::cerr << kProgram << ": " << collector.status().message() << "\n";
    return collector.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  // One machine-readable line on stdout (tests and scripts read the ports from it).
  std::string line =
      absl::StrCat(kProgram, ": running cluster=", config.cluster, " source=", config.source);
  if ((*collector)->webhook_port() != 0) {
    absl::StrAppend(&line, " webhook=", config.dev ? "http" : "https", "://",
                    HostOf(config.webhook_listen), ":", (*collector)->webhook_port(),
                    config.webhook_path);
  }
  if ((*collector)->http_port() != 0) {
    absl::StrAppend(&line, " http=", HostOf(config.http_listen), ":", (*collector)->http_port());
  }
  absl::StrAppend(&line, " tail=", config.tail.size(),
                  " aggregators=", absl::StrJoin(config.aggregators, ","),
                  config.dev ? " (dev: plaintext, loopback only)" : " (TLS)", "\n");
  std::fputs(line.c_str(), stdout);
  std::fflush(stdout);

  const std::string_view why = kubetrail::WaitForShutdownSignal([&] {
    CollectorConfig fresh;
    if (absl::Status s = Resolve(f, fresh); !s.ok()) {
      KT_LOG(kError, "collector") << "SIGHUP: reload failed, keeping the running "
                                     "configuration: "
                                  << s;
      return;
    }
    // The policy and the client certificate are reloaded independently; Reload has logged
    // what failed (and kept its previous version) and what was reloaded.
    if (absl::Status s = (*collector)->Reload(fresh); !s.ok()) {
      KT_LOG(kWarning, "collector") << "SIGHUP: reload incomplete: " << s;
    } else {
      KT_LOG(kInfo, "collector") << "SIGHUP: reloaded the policy and the client certificate";
    }
  });
  KT_LOG(kInfo, "collector") << why << ": shutting down";
  absl::Status s = (*collector)->Shutdown();
  if (!s.ok()) std::cerr << kProgram << ": " << s.message() << "\n";
  return 0;
}
