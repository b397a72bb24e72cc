#include "services/collector/config.h"

#include <unistd.h>

#include <climits>

#include "common/names.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "common/yaml_config.h"

namespace kubetrail::collector {

absl::Status ParseCollectorConfig(std::string_view text, CollectorConfig& c) {
  KT_ASSIGN_OR_RETURN(YAML::Node root, yaml::Parse(text));
  if (root.IsNull()) return absl::OkStatus();  // an empty file
  using N = const YAML::Node&;
  using P = const std::string&;
  using yaml::Bool;
  using yaml::Duration;
  using yaml::Map;
  using yaml::String;
  using yaml::Strings;
  using yaml::Unsigned;
  return Map(
      root, "",
      {
          {"cluster", [&](N n, P p) { return String(n, p, c.cluster); }},
          {"source", [&](N n, P p) { return String(n, p, c.source); }},
          {"dev", [&](N n, P p) { return Bool(n, p, c.dev); }},
          {"aggregators", [&](N n, P p) { return Strings(n, p, c.aggregators); }},
          {"tls",
           [&](N n, P p) {
             return Map(
                 n, p,
                 {{"ca_file", [&](N m, P q) { return String(m, q, c.tls_ca_file); }},
                  {"cert_file", [&](N m, P q) { return String(m, q, c.tls_cert_file); }},
                  {"key_file", [&](N m, P q) { return String(m, q, c.tls_key_file); }},
                  {"server_name", [&](N m, P q) { return String(m, q, c.tls_server_name); }}});
           }},
          {"webhook",
           [&](N n, P p) {
             return Map(
                 n, p,
                 {{"listen", [&](N m, P q) { return String(m, q, c.webhook_listen); }},
                  {"path", [&](N m, P q) { return String(m, q, c.webhook_path); }},
                  {"max_body_bytes",
                   [&](N m, P q) { return Unsigned(m, q, c.webhook_max_body_bytes, true); }},
                  {"max_event_bytes",
                   [&](N m, P q) { return Unsigned(m, q, c.max_event_bytes, true); }},
                  {"threads", [&](N m, P q) { return Unsigned(m, q, c.webhook_threads, true); }},
                  {"tls", [&](N m, P q) {
                     return Map(m, q,
                                {{"cert_file",
                                  [&](N k, P r) { return String(k, r, c.webhook_tls_cert_file); }},
                                 {"key_file",
                                  [&](N k, P r) { return String(k, r, c.webhook_tls_key_file); }},
                                 {"client_ca_file", [&](N k, P r) {
                                    return String(k, r, c.webhook_tls_client_ca_file);
                                  }}});
                   }}});
           }},
          {"tail", [&](N n, P p) { return Strings(n, p, c.tail); }},
          {"tail_threads", [&](N n, P p) { return Unsigned(n, p, c.tail_threads, true); }},
          {"policy_file", [&](N n, P p) { return String(n, p, c.policy_file); }},
          {"spool",
           [&](N n, P p) {
             return Map(
                 n, p,
                 {{"dir", [&](N m, P q) { return String(m, q, c.spool_dir); }},
                  {"max_bytes", [&](N m, P q) { return Unsigned(m, q, c.spool_max_bytes, true); }},
                  {"max_age", [&](N m, P q) { return Duration(m, q, c.spool_max_age); }},
                  {"when_full", [&](N m, P q) -> absl::Status {
                     std::string name;
                     KT_RETURN_IF_ERROR(String(m, q, name));
                     std::optional<WhenFull> when = ParseWhenFull(name);
                     if (!when) {
                       return yaml::Bad(m, q, Cat("want block or drop-oldest, got \"", name, "\""));
                     }
                     c.when_full = *when;
                     return absl::OkStatus();
                   }}});
           }},
          {"ship",
           [&](N n, P p) {
             return Map(
                 n, p,
                 {{"batch_events", [&](N m, P q) { return Unsigned(m, q, c.batch_events, true); }},
                  {"batch_bytes", [&](N m, P q) { return Unsigned(m, q, c.batch_bytes, true); }},
                  {"batch_wait", [&](N m, P q) { return Duration(m, q, c.batch_wait); }},
                  {"qps", [&](N m, P q) { return yaml::Double(m, q, c.qps); }},
                  {"burst", [&](N m, P q) { return Unsigned(m, q, c.burst, true); }},
                  {"backoff_initial", [&](N m, P q) { return Duration(m, q, c.backoff_initial); }},
                  {"backoff_max", [&](N m, P q) { return Duration(m, q, c.backoff_max); }},
                  {"failover_after", [&](N m, P q) { return Duration(m, q, c.failover_after); }},
                  {"compression", [&](N m, P q) { return String(m, q, c.compression); }},
                  {"window", [&](N m, P q) { return Unsigned(m, q, c.window, true); }}});
           }},
          {"http_listen", [&](N n, P p) { return String(n, p, c.http_listen); }},
          {"drain_timeout", [&](N n, P p) { return Duration(n, p, c.drain_timeout); }},
      });
}

absl::Status LoadCollectorConfigFile(const std::string& path, CollectorConfig& config) {
  KT_ASSIGN_OR_RETURN(const std::string text, yaml::ReadConfigFile(path));
  absl::Status s = ParseCollectorConfig(text, config);
  if (!s.ok()) return absl::Status(s.code(), Cat("config ", path, ": ", s.message()));
  return absl::OkStatus();
}

absl::Status ValidateCollectorConfig(CollectorConfig& c) {
  if (c.cluster.empty()) return absl::InvalidArgumentError("cluster is required (--cluster)");
  KT_RETURN_IF_ERROR(CheckClusterName("cluster", c.cluster));
  if (c.source.empty()) {
    char host[HOST_NAME_MAX + 1] = {};
    if (::gethostname(host, sizeof(host)) != 0 || host[0] == '\0') {
      return absl::InvalidArgumentError(
          "source is empty and the host name is unknown: set "
          "source (--source)");
    }
    c.source = host;
  }
  KT_RETURN_IF_ERROR(CheckSourceName("source", c.source));
  if (c.spool_dir.empty()) return absl::InvalidArgumentError("spool.dir is required (--spool-dir)");
  if (c.aggregators.empty()) {
    return absl::InvalidArgumentError("aggregators: name at least one (--aggregator)");
  }
  for (const std::string& a : c.aggregators) {
    if (a.empty()) return absl::InvalidArgumentError("aggregators: an address is empty");
  }
  if (c.tail_threads < 1 || c.tail_threads > 64) {
    return absl::InvalidArgumentError(
        Cat("tail_threads (--tail-threads) must be 1 to 64, got ", c.tail_threads));
  }
  if (c.webhook_listen.empty() && c.tail.empty()) {
    return absl::InvalidArgumentError(
        "no source: set webhook.listen (--webhook-listen) or tail (--tail), or both");
  }
  if (!c.webhook_path.empty() && c.webhook_path.front() != '/') {
    return absl::InvalidArgumentError(
        Cat("webhook.path \"", c.webhook_path, "\" must start with \"/\""));
  }
  if (c.dev) {
    for (const auto& [name, listen] :
         {std::pair<std::string_view, std::string_view>{"webhook.listen", c.webhook_listen},
          {"http_listen", c.http_listen}}) {
      if (!listen.empty() && !yaml::IsLoopbackAddress(listen)) {
        return absl::InvalidArgumentError(
            Cat("--dev serves plaintext, so it listens on loopback only; ", name, " is ", listen));
      }
    }
  } else {
    if (c.tls_ca_file.empty() || c.tls_cert_file.empty() || c.tls_key_file.empty()) {
      return absl::InvalidArgumentError(
          "TLS to the aggregator is required outside --dev: set tls.ca_file, tls.cert_file and "
          "tls.key_file (--tls-ca, --tls-cert, --tls-key)");
    }
    if (!c.webhook_listen.empty() &&
        (c.webhook_tls_cert_file.empty() || c.webhook_tls_key_file.empty())) {
      return absl::InvalidArgumentError(
          "the webhook serves HTTPS outside --dev: set webhook.tls.cert_file and "
          "webhook.tls.key_file (--webhook-tls-cert, --webhook-tls-key)");
    }
  }
  if (c.compression != "zstd" && c.compression != "gzip" && c.compression != "deflate" &&
      c.compression != "none") {
    return absl::InvalidArgumentError(
        Cat("ship.compression: want zstd, gzip, deflate or none, got \"", c.compression, "\""));
  }
  if (c.batch_wait <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("ship.batch_wait must be positive");
  }
  if (c.backoff_initial <= absl::ZeroDuration() || c.backoff_max < c.backoff_initial) {
    return absl::InvalidArgumentError(
        "ship.backoff_initial must be positive and at most ship.backoff_max");
  }
  if (c.failover_after <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("ship.failover_after must be positive");
  }
  if (c.spool_max_age <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("spool.max_age must be positive");
  }
  return absl::OkStatus();
}

}  // namespace kubetrail::collector
