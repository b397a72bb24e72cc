#include "services/aggregator/config.h"

#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "yaml-cpp/yaml.h"

namespace kubetrail::aggregator {

namespace {

// Errors carry the line (1-based) and the dotted key path.
absl::Status Bad(const YAML::Node& node, const std::string& path, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("line ", node.Mark().line + 1, ": ", path, ": ", ToAbsl(what)));
}

std::string Text(const YAML::Node& node) {
  return node.IsScalar() ? absl::StrCat("\"", node.Scalar(), "\"") : "a non-scalar value";
}

absl::Status String(const YAML::Node& n, const std::string& path, std::string& out) {
  if (!n.IsScalar()) return Bad(n, path, "want a string");
  out = n.Scalar();
  return absl::OkStatus();
}

absl::Status Bool(const YAML::Node& n, const std::string& path, bool& out) {
  if (n.IsScalar() && (n.Scalar() == "true" || n.Scalar() == "false")) {
    out = n.Scalar() == "true";
    return absl::OkStatus();
  }
  return Bad(n, path, absl::StrCat("want true or false, got ", Text(n)));
}

template <typename T>
absl::Status Unsigned(const YAML::Node& n, const std::string& path, T& out, bool positive) {
  uint64_t v = 0;
  if (!n.IsScalar() || !absl::SimpleAtoi(n.Scalar(), &v) || (positive && v == 0) ||
      v > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
    return Bad(
        n, path,
        absl::StrCat("want a ", positive ? "positive" : "non-negative", " integer, got ", Text(n)));
  }
  out = static_cast<T>(v);
  return absl::OkStatus();
}

absl::Status Duration(const YAML::Node& n, const std::string& path, absl::Duration& out) {
  if (!n.IsScalar() || !absl::ParseDuration(n.Scalar(), &out) || out < absl::ZeroDuration()) {
    return Bad(n, path, absl::StrCat("want a duration such as 30s, 5m or 1h, got ", Text(n)));
  }
  return absl::OkStatus();
}

absl::Status Strings(const YAML::Node& n, const std::string& path, std::vector<std::string>& out) {
  if (!n.IsSequence()) return Bad(n, path, "want a list of strings");
  out.clear();
  for (size_t i = 0; i < n.size(); ++i) {
    KT_RETURN_IF_ERROR(String(n[i], absl::StrCat(path, "[", i, "]"), out.emplace_back()));
  }
  return absl::OkStatus();
}

using Handler = std::function<absl::Status(const YAML::Node&, const std::string&)>;

// Walks the map `n`, calling the handler of each key; unknown keys are errors.
absl::Status Map(const YAML::Node& n, const std::string& path,
                 const std::map<std::string, Handler>& handlers) {
  if (!n.IsMap()) return Bad(n, path.empty() ? "config" : path, "want a mapping");
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    const std::string child = path.empty() ? key : absl::StrCat(path, ".", key);
    auto it = handlers.find(key);
    if (it == handlers.end()) {
      std::vector<std::string> known;
      for (const auto& [name, h] : handlers) known.push_back(name);
      return Bad(kv.first, child,
                 absl::StrCat("unknown key (known: ", absl::StrJoin(known, ", "), ")"));
    }
    KT_RETURN_IF_ERROR(it->second(kv.second, child));
  }
  return absl::OkStatus();
}

bool IsLoopback(const std::string& listen) {
  return listen.rfind("127.", 0) == 0 || listen.rfind("[::1]:", 0) == 0 ||
         listen.rfind("localhost:", 0) == 0;
}

}  // namespace

std::string Config::StorePath() const { return absl::StrCat(data_dir, "/store"); }

absl::Status ParseConfig(std::string_view yaml, Config& c) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("line ", e.mark.line + 1, ": not valid YAML: ", e.msg));
  }
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
                          [&](N m, P q) { return Unsigned(m, q, c.max_disk_bytes, false); }}});
           }},
          {"retention_interval", [&](N n, P p) { return Duration(n, p, c.retention_interval); }},
          {"follow_heartbeat", [&](N n, P p) { return Duration(n, p, c.follow_heartbeat); }},
          {"drain_timeout", [&](N n, P p) { return Duration(n, p, c.drain_timeout); }},
      });
}

absl::Status LoadConfigFile(const std::string& path, Config& config) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("config ", path, ": cannot read: ", std::strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();
  absl::Status s = ParseConfig(text.str(), config);
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat("config ", path, ": ", s.message()));
  return absl::OkStatus();
}

absl::Status ValidateConfig(Config& c) {
  if (c.data_dir.empty()) return absl::InvalidArgumentError("data_dir is required (--data-dir)");
  if (c.backup_dir.empty()) c.backup_dir = absl::StrCat(c.data_dir, "/backups");
  if (c.listen.empty()) return absl::InvalidArgumentError("listen is empty");
  if (c.dev) {
    if (!IsLoopback(c.listen)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--dev serves plaintext and allows everything, so it listens on loopback only; "
          "listen is ",
          c.listen));
    }
    if (!c.http_listen.empty() && !IsLoopback(c.http_listen)) {
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
