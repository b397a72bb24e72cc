#include "services/aggregator/config.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "common/yaml_config.h"

namespace kubetrail::aggregator {

namespace {

using yaml::Bad;
using yaml::Bool;
using yaml::Duration;
using yaml::Map;
using yaml::String;
using yaml::Strings;
using yaml::Unsigned;

}  // namespace

std::string Config::StorePath() const { return absl::StrCat(data_dir, "/store"); }

absl::Status ParseConfig(std::string_view yaml, Config& c) {
  KT_ASSIGN_OR_RETURN(YAML::Node root, yaml::Parse(yaml));
  if (root.IsNull()) return absl::OkStatus();  // an empty file
  using N = const YAML::Node&;
  using P = const std::string&;
  return Map(
      root, "",
      {
          {"listen", [&](N n, P p) { return String(n, p, c.listen); }},
          {"http_listen", [&](N n, P p) { return String(n, p, c.http_listen); }},
          {"data_dir", [&](N n, P p) { return String(n, p, c.data_dir); }},
          {"backup_dir", [&](N n, P p) { return String(n, p, c.backup_dir); }},
          {"dev", [&](N n, P p) { return Bool(n, p, c.dev); }},
          {"tls",
           [&](N n, P p) {
             return Map(n, p,
                        {{"cert_file", [&](N m, P q) { return String(m, q, c.tls_cert_file); }},
                         {"key_file", [&](N m, P q) { return String(m, q, c.tls_key_file); }},
                         {"client_ca_file",
                          [&](N m, P q) { return String(m, q, c.tls_client_ca_file); }}});
           }},
          {"collectors",
           [&](N n, P p) -> absl::Status {
             if (!n.IsSequence()) return Bad(n, p, "want a list of {identity, clusters}");
             c.auth.collectors.clear();
             for (size_t i = 0; i < n.size(); ++i) {
               AuthConfig::Collector& col = c.auth.collectors.emplace_back();
               KT_RETURN_IF_ERROR(
                   Map(n[i], absl::StrCat(p, "[", i, "]"),
                       {{"identity", [&](N m, P q) { return String(m, q, col.identity); }},
                        {"clusters", [&](N m, P q) { return Strings(m, q, col.clusters); }}}));
             }
             return absl::OkStatus();
           }},
          {"query",
           [&](N n, P p) {
             return Map(
                 n, p,
                 {{"identities", [&](N m, P q) { return Strings(m, q, c.auth.query_identities); }},
                  {"tokens", [&](N m, P q) -> absl::Status {
                     if (!m.IsSequence()) return Bad(m, q, "want a list of {name, sha256}");
                     c.auth.tokens.clear();
                     for (size_t i = 0; i < m.size(); ++i) {
                       AuthConfig::Token& t = c.auth.tokens.emplace_back();
                       KT_RETURN_IF_ERROR(
                           Map(m[i], absl::StrCat(q, "[", i, "]"),
                               {{"name", [&](N k, P r) { return String(k, r, t.name); }},
                                {"sha256", [&](N k, P r) { return String(k, r, t.sha256); }},
                                {"admin", [&](N k, P r) { return Bool(k, r, t.admin); }}}));
                     }
                     return absl::OkStatus();
                   }}});
           }},
          {"admins", [&](N n, P p) { return Strings(n, p, c.auth.admin_identities); }},
          {"limits",
           [&](N n, P p) {
             return Map(n, p,
                        {{"max_batch_events",
                          [&](N m, P q) { return Unsigned(m, q, c.max_batch_events, true); }},
                         {"max_event_bytes",
                          [&](N m, P q) { return Unsigned(m, q, c.max_event_bytes, true); }},
                         {"max_message_bytes",
                          [&](N m, P q) { return Unsigned(m, q, c.max_message_bytes, true); }}});
           }},
          {"writer",
           [&](N n, P p) {
             return Map(
                 n, p,
                 {{"threads", [&](N m, P q) { return Unsigned(m, q, c.writer_threads, true); }},
                  {"max_queued_events",
                   [&](N m, P q) { return Unsigned(m, q, c.max_queued_events, true); }}});
           }},
          {"query_threads", [&](N n, P p) { return Unsigned(n, p, c.query_threads, true); }},
          {"store",
           [&](N n, P p) {
             return Map(n, p,
                        {{"block_cache_bytes",
                          [&](N m, P q) { return Unsigned(m, q, c.block_cache_bytes, false); }},
                         {"write_buffer_bytes",
                          [&](N m, P q) { return Unsigned(m, q, c.write_buffer_bytes, true); }},
                         {"max_disk_bytes",
                          [&](N m, P q) { return Unsigned(m, q, c.max_disk_bytes, false); }},
                         {"low_priority_compactions",
                          [&](N m, P q) { return Bool(m, q, c.low_priority_compactions); }}});
           }},
          {"retention_interval", [&](N n, P p) { return Duration(n, p, c.retention_interval); }},
          {"follow_heartbeat", [&](N n, P p) { return Duration(n, p, c.follow_heartbeat); }},
          {"drain_timeout", [&](N n, P p) { return Duration(n, p, c.drain_timeout); }},
      });
}

absl::Status LoadConfigFile(const std::string& path, Config& config) {
  KT_ASSIGN_OR_RETURN(const std::string text, yaml::ReadConfigFile(path));
  absl::Status s = ParseConfig(text, config);
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat("config ", path, ": ", s.message()));
  return absl::OkStatus();
}

absl::Status ValidateConfig(Config& c) {
  if (c.data_dir.empty()) return absl::InvalidArgumentError("data_dir is required (--data-dir)");
  if (c.backup_dir.empty()) c.backup_dir = absl::StrCat(c.data_dir, "/backups");
  if (c.listen.empty()) return absl::InvalidArgumentError("listen is empty");
  if (c.dev) {
    if (!yaml::IsLoopbackAddress(c.listen)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--dev serves plaintext and allows everything, so it listens on loopback only; "
          "listen is ",
          c.listen));
    }
    if (!c.http_listen.empty() && !yaml::IsLoopbackAddress(c.http_listen)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--dev listens on loopback only; http_listen is ", c.http_listen));
    }
  } else {
    if (c.tls_cert_file.empty() || c.tls_key_file.empty()) {
      return absl::InvalidArgumentError(
          "TLS is required outside --dev: set tls.cert_file and tls.key_file (--tls-cert, "
          "--tls-key)");
    }
    if (c.tls_client_ca_file.empty() && !c.auth.collectors.empty()) {
      return absl::InvalidArgumentError(
          "collectors authenticate with client certificates: set tls.client_ca_file "
          "(--tls-client-ca)");
    }
  }
  if (c.max_event_bytes > c.max_message_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("limits.max_event_bytes (", c.max_event_bytes,
                                                   ") exceeds limits.max_message_bytes (",
                                                   c.max_message_bytes, ")"));
  }
  if (c.max_message_bytes > (1u << 31) - 1) {
    return absl::InvalidArgumentError("limits.max_message_bytes must be below 2 GiB");
  }
  if (c.follow_heartbeat <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("follow_heartbeat must be positive");
  }
  // Catch bad token hashes and empty identities now rather than at the first call.
  return Authorizer::Create(c.auth).status();
}

}  // namespace kubetrail::aggregator
