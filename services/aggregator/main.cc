// kubetrail-aggregator: flags and config file → Config, signals → Reload / Shutdown.
//
//   kubetrail-aggregator --dev --listen 127.0.0.1:7443 --http-listen 127.0.0.1:9090
//       --data-dir DIR
//   kubetrail-aggregator --config /etc/kubetrail/aggregator.yaml
//
// Exit codes: 0 after a clean shutdown (SIGTERM / SIGINT), 1 when the aggregator could not
// start or the store did not close cleanly, 2 for bad flags or config.
#include <cstdio>
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/mutex_checks.h"
#include "common/signals.h"
#include "services/aggregator/config.h"
#include "services/aggregator/server.h"

namespace {

using kubetrail::aggregator::Config;

// Flags as given on the command line; each overrides the config file when set.
struct Flags {
  std::string config_file;
  bool dev_value = false;
  std::string listen, http_listen, data_dir, backup_dir, tls_cert, tls_key, tls_client_ca;
  uint64_t max_disk_bytes = 0;
  int writer_threads = 0;
  std::string drain_timeout, retention_interval;
  CLI::App* app = nullptr;
};

bool Given(const Flags& f, const char* name) { return f.app->get_option(name)->count() > 0; }

// The config file (when given) with the flags applied on top.
absl::Status Resolve(const Flags& f, Config& config) {
  config = Config();
  if (!f.config_file.empty()) {
    if (absl::Status s = kubetrail::aggregator::LoadConfigFile(f.config_file, config); !s.ok()) {
      return s;
    }
  }
  if (Given(f, "--dev")) config.dev = f.dev_value;  // --dev=false overrides `dev: true`
  if (Given(f, "--listen")) config.listen = f.listen;
  if (Given(f, "--http-listen")) config.http_listen = f.http_listen;
  if (Given(f, "--data-dir")) config.data_dir = f.data_dir;
  if (Given(f, "--backup-dir")) config.backup_dir = f.backup_dir;
  if (Given(f, "--tls-cert")) config.tls_cert_file = f.tls_cert;
  if (Given(f, "--tls-key")) config.tls_key_file = f.tls_key;
  if (Given(f, "--tls-client-ca")) config.tls_client_ca_file = f.tls_client_ca;
  if (Given(f, "--max-disk-bytes")) config.max_disk_bytes = f.max_disk_bytes;
  if (Given(f, "--writer-threads")) config.writer_threads = f.writer_threads;
  for (auto [flag, text, out] :
       {std::tuple{"--drain-timeout", &f.drain_timeout, &config.drain_timeout},
        std::tuple{"--retention-interval", &f.retention_interval, &config.retention_interval}}) {
    if (!Given(f, flag)) continue;
    if (!absl::ParseDuration(*text, out) || *out < absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": want a duration such as 30s or 1h, got \"", *text, "\""));
    }
  }
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  kubetrail::TurnOffMutexDeadlockDetection();
  CLI::App app(
      "kubetrail-aggregator: stores Kubernetes audit events from many collectors "
      "exactly once and answers queries (gRPC).");
  Flags f;
  f.app = &app;
  app.add_option("--config", f.config_file, "YAML config file; flags override its values");
  app.add_flag("--dev", f.dev_value,
               "Plaintext on loopback only, every client allowed: for local use and tests "
               "(--dev=false overrides the config file's dev: true)");
  app.add_option("--listen", f.listen, "gRPC address host:port (default 127.0.0.1:7443)");
  app.add_option("--http-listen", f.http_listen,
                 "HTTP address for /metrics, /healthz, /readyz (default: off)");
  app.add_option("--data-dir", f.data_dir, "Data directory (created when missing)");
  app.add_option("--backup-dir", f.backup_dir,
                 "Where Admin.Backup writes checkpoints (default DATA_DIR/backups)");
  app.add_option("--tls-cert", f.tls_cert, "Server certificate chain (PEM)");
  app.add_option("--tls-key", f.tls_key, "Server private key (PEM)");
  app.add_option("--tls-client-ca", f.tls_client_ca,
                 "CA bundle for client certificates (collectors, query clients)");
  app.add_option("--max-disk-bytes", f.max_disk_bytes,
                 "Refuse writes (stop acking) above this many bytes of store files; 0: no "
                 "limit");
  app.add_option("--writer-threads", f.writer_threads, "Threads writing to the store");
  app.add_option("--drain-timeout", f.drain_timeout, "Bound on a graceful shutdown, e.g. 30s");
  app.add_option("--retention-interval", f.retention_interval,
                 "How often retention runs, e.g. 1h; 0s disables");
  CLI11_PARSE(app, argc, argv);

  Config config;
  if (absl::Status s = Resolve(f, config); !s.ok()) {
    std::cerr << "kubetrail-aggregator: " << s.message() << "\n";
    return 2;
  }

  // Signals are taken by WaitForShutdownSignal on this thread: blocked before any thread starts.
  kubetrail::BlockDaemonSignals();

  absl::StatusOr<std::unique_ptr<kubetrail::aggregator::Aggregator>> aggregator =
      kubetrail::aggregator::Aggregator::Start(config, kubetrail::Clock::Real());
  if (!aggregator.ok()) {
    std::cerr << "kubetrail-aggregator: " << aggregator.status().message() << "\n";
    return aggregator.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  // One machine-readable line on stdout (tests and scripts read the ports from it).
  const std::string host = config.listen.substr(0, config.listen.rfind(':'));
  std::string line =
      absl::StrCat("kubetrail-aggregator: serving grpc=", host, ":", (*aggregator)->port());
  if ((*aggregator)->http_port() != 0) {
    absl::StrAppend(&line, " http=", config.http_listen.substr(0, config.http_listen.rfind(':')),
                    ":", (*aggregator)->http_port());
  }
  absl::StrAppend(&line, config.dev ? " (dev: plaintext, loopback only)" : " (TLS)", "\n");
  std::fputs(line.c_str(), stdout);
  std::fflush(stdout);

  const std::string_view why = kubetrail::WaitForShutdownSignal([&] {
    Config fresh;
    absl::Status s = Resolve(f, fresh);
    if (s.ok()) s = (*aggregator)->Reload(fresh);
    if (absl::IsFailedPrecondition(s)) {
      // Applied, except what needs a restart (the message says what).
      KT_LOG(kWarning, "aggregator") << "SIGHUP: " << s.message();
    } else if (!s.ok()) {
      KT_LOG(kError, "aggregator") << "SIGHUP: reload failed, keeping the running "
                                      "configuration: "
                                   << s;
    } else {
      KT_LOG(kInfo, "aggregator") << "SIGHUP: reloaded certificates and access rules";
    }
  });
  KT_LOG(kInfo, "aggregator") << why << ": shutting down";
  absl::Status s = (*aggregator)->Shutdown();
  if (!s.ok()) {
    std::cerr << "kubetrail-aggregator: " << s.message() << "\n";
    return 1;
  }
  return 0;
}
