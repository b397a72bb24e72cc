#include "clients/cli/context.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <utility>

#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "common/yaml_config.h"

namespace kubetrail::cli {
namespace {

using N = const YAML::Node&;
using P = const std::string&;

// The keys of a context entry that `dev: true` excludes.
constexpr std::string_view kTlsKeys[] = {"tls-ca", "tls-cert", "tls-key", "tls-server-name"};

// The whole file at `path`; the errno's code (NotFound for ENOENT ...) naming nothing (the
// caller words the message).
absl::StatusOr<std::string> ReadFile(const std::string& path, int* error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = errno;
    return absl::ErrnoToStatus(*error, "");
  }
  std::string text;
  char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = errno;
      ::close(fd);
      return absl::ErrnoToStatus(*error, "");
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

// "line L: rest" (common/yaml_config.h's wording) -> "FILE:L: rest"; any other message ->
// "FILE: message". The code is kept.
absl::Status Locate(std::string_view file, const absl::Status& status) {
  const std::string_view message = ToStd(status.message());
  constexpr std::string_view kLine = "line ";
  if (message.substr(0, kLine.size()) == kLine) {
    size_t end = kLine.size();
    while (end < message.size() && std::isdigit(static_cast<unsigned char>(message[end]))) ++end;
    if (end > kLine.size() && message.substr(end, 2) == ": ") {
      return absl::Status(
          status.code(),
          Cat(file, ":", message.substr(kLine.size(), end - kLine.size()), message.substr(end)));
    }
  }
  return absl::Status(status.code(), Cat(file, ": ", message));
}

int Line(N node) { return node.Mark().line + 1; }

std::string Child(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : Cat(path, ".", key);
}

// Before yaml::Map walks a mapping: refuses a key given twice (yaml-cpp keeps both) and a
// known key without a value (yaml-cpp marks such a null at the next token, so the key's line
// is named here). Returns each key's node, for messages about a key.
absl::StatusOr<std::map<std::string, YAML::Node>> Keys(
    N n, std::string_view path, const std::map<std::string, yaml::Field>& fields) {
  if (!n.IsMap()) return yaml::Bad(n, path.empty() ? "config" : path, "want a mapping");
  std::map<std::string, YAML::Node> keys;
  for (const auto& kv : n) {
    if (!kv.first.IsScalar()) continue;  // yaml::Map reports it as an unknown key
    const std::string key = kv.first.Scalar();
    auto [it, inserted] = keys.emplace(key, kv.first);
    if (!inserted) {
      return yaml::Bad(kv.first, Child(path, key),
                       Cat("repeated key (first at line ", Line(it->second), ")"));
    }
    if (kv.second.IsNull() && fields.count(key) > 0) {
      return yaml::Bad(kv.first, Child(path, key), "want a value");
    }
  }
  return keys;
}

// yaml::Map after Keys.
absl::StatusOr<std::map<std::string, YAML::Node>> StrictMap(
    N n, std::string_view path, const std::map<std::string, yaml::Field>& fields) {
  KT_ASSIGN_OR_RETURN(auto keys, Keys(n, path, fields));
  KT_RETURN_IF_ERROR(yaml::Map(n, path, fields));
  return keys;
}

// A string that must not be empty.
absl::Status NonEmpty(N n, P p, std::string& out) {
  std::string value;
  KT_RETURN_IF_ERROR(yaml::String(n, p, value));
  if (value.empty()) return yaml::Bad(n, p, "must not be empty");
  out = std::move(value);
  return absl::OkStatus();
}

// A path relative to the config file's directory `dir` (or absolute).
std::string Resolve(const std::filesystem::path& dir, const std::string& file) {
  const std::filesystem::path p(file);
  if (p.is_absolute() || dir.empty()) return file;
  return (dir / p).string();
}

// What ClientOptions::token allows (kubetrail::ValidateClientOptions): printable ASCII
// without spaces.
bool PrintableToken(std::string_view token) {
  for (const char c : token) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

// "contexts: a, b" or "no contexts", for messages.
std::string ContextNames(const CliConfig& config) {
  if (config.contexts.empty()) return "no contexts";
  return Cat("contexts: ",
             absl::StrJoin(config.contexts, ", ",
                           [](std::string* out, const CliContext& c) { out->append(c.name); }));
}

// One entry of `contexts`, at `path` ("contexts[I]").
absl::StatusOr<CliContext> ParseContext(N n, const std::string& path,
                                        const std::filesystem::path& dir) {
  CliContext c;
  c.line = Line(n);
  ClientOptionFields& set = c.set;
  kubetrail::ClientOptions& o = c.options;
  // Each field fills `o` and marks `set`; paths stay as written until the checks pass.
  auto text = [](std::string& out, bool& flag) {
    return [&out, &flag](N m, P q) {
      flag = true;
      return NonEmpty(m, q, out);
    };
  };
  bool has_name = false;
  bool has_token_file = false;
  const std::map<std::string, yaml::Field> fields = {
      {"name", text(c.name, has_name)},
      {"server", text(o.server, set.server)},
      {"dev",
       [&](N m, P q) {
         set.plaintext = true;
         return yaml::Bool(m, q, o.plaintext);
       }},
      {"tls-ca", text(o.ca_file, set.ca_file)},
      {"tls-cert", text(o.cert_file, set.cert_file)},
      {"tls-key", text(o.key_file, set.key_file)},
      {"tls-server-name", text(o.server_name, set.server_name)},
      {"token", text(o.token, set.token)},
      {"token-file", text(c.token_file, has_token_file)},
      {"timeout",
       [&](N m, P q) -> absl::Status {
         set.timeout = true;
         KT_RETURN_IF_ERROR(yaml::Duration(m, q, o.timeout));
         if (o.timeout <= absl::ZeroDuration()) {
           return yaml::Bad(m, q, Cat("want a positive duration, got \"", m.Scalar(), "\""));
         }
         return absl::OkStatus();
       }},
  };
  KT_ASSIGN_OR_RETURN(const auto keys, StrictMap(n, path, fields));
  // The node of a key present in the entry; for the line of a message about it.
  auto key = [&](std::string_view name) -> const YAML::Node& { return keys.at(std::string(name)); };

  if (!has_name) return yaml::Bad(n, path, "name is required");
  const std::string named = Cat(path, " (\"", c.name, "\")");
  if (!set.server) return yaml::Bad(n, named, "server is required");
  if (set.token && has_token_file) {
    const bool token_first = Line(key("token")) <= Line(key("token-file"));
    return yaml::Bad(key(token_first ? "token-file" : "token"), named,
                     "token and token-file exclude each other");
  }
  if (set.token && !PrintableToken(o.token)) {
    return yaml::Bad(key("token"), Child(path, "token"), "must be printable ASCII without spaces");
  }
  if (set.cert_file != set.key_file) {
    return yaml::Bad(key(set.cert_file ? "tls-cert" : "tls-key"), named,
                     "tls-cert and tls-key go together");
  }
  if (o.plaintext) {
    for (std::string_view tls : kTlsKeys) {
      if (keys.count(std::string(tls)) > 0) {
        return yaml::Bad(key(tls), Child(path, tls),
                         "not allowed with dev: true (plaintext has no TLS)");
      }
    }
  }

  if (set.ca_file) o.ca_file = Resolve(dir, o.ca_file);
  if (set.cert_file) o.cert_file = Resolve(dir, o.cert_file);
  if (set.key_file) o.key_file = Resolve(dir, o.key_file);
  if (has_token_file) {
    set.token = true;
    c.token_file = Resolve(dir, c.token_file);
    c.token_file_line = Line(key("token-file"));
  }
  return c;
}

absl::StatusOr<CliConfig> Parse(std::string_view text, std::string_view path) {
  CliConfig config;
  config.path = std::string(path);
  KT_ASSIGN_OR_RETURN(YAML::Node root, yaml::Parse(text));
  if (root.IsNull()) return config;  // an empty file

  const std::filesystem::path dir = std::filesystem::path(config.path).parent_path();
  YAML::Node contexts_node;
  const std::map<std::string, yaml::Field> fields = {
      {"current-context", [&](N n, P p) { return yaml::String(n, p, config.current_context); }},
      {"contexts",
       [&](N n, P p) -> absl::Status {
         if (!n.IsSequence()) return yaml::Bad(n, p, "want a list of contexts");
         contexts_node = n;
         for (size_t i = 0; i < n.size(); ++i) {
           KT_ASSIGN_OR_RETURN(CliContext c, ParseContext(n[i], Cat(p, "[", i, "]"), dir));
           config.contexts.push_back(std::move(c));
         }
         return absl::OkStatus();
       }},
  };
  KT_ASSIGN_OR_RETURN(const auto keys, StrictMap(root, "", fields));

  std::map<std::string_view, int> first_line;
  for (size_t i = 0; i < config.contexts.size(); ++i) {
    const CliContext& c = config.contexts[i];
    auto [it, inserted] = first_line.emplace(c.name, c.line);
    if (!inserted) {
      return yaml::Bad(std::as_const(contexts_node)[i]["name"], Cat("contexts[", i, "].name"),
                       Cat("duplicate context \"", c.name, "\" (first at line ", it->second, ")"));
    }
  }
  if (!config.current_context.empty() && FindContext(config, config.current_context) == nullptr) {
    return yaml::Bad(
        keys.at("current-context"), "current-context",
        Cat("no context named \"", config.current_context, "\" (", ContextNames(config), ")"));
  }
  return config;
}

// The token of a context's token-file: its content without trailing newlines.
absl::StatusOr<std::string> ReadToken(const CliConfig& config, const CliContext& c) {
  const std::string where = Cat(config.path, ":", c.token_file_line, ": context \"", c.name,
                                "\": token-file ", c.token_file, ": ");
  int error = 0;
  absl::StatusOr<std::string> token = ReadFile(c.token_file, &error);
  if (!token.ok()) return absl::Status(token.status().code(), Cat(where, std::strerror(error)));
  while (!token->empty() && (token->back() == '\n' || token->back() == '\r')) token->pop_back();
  if (token->empty()) return absl::InvalidArgumentError(Cat(where, "empty"));
  if (!PrintableToken(*token)) {
    return absl::InvalidArgumentError(
        Cat(where, "the token must be printable ASCII without spaces"));
  }
  return token;
}

}  // namespace

std::string CliConfigPath(const CliConfigEnv& env) {
  if (!env.kubetrail_config.empty()) return env.kubetrail_config;
  if (!env.xdg_config_home.empty() && env.xdg_config_home.front() == '/') {
    return (std::filesystem::path(env.xdg_config_home) / "kubetrail" / "config.yaml").string();
  }
  if (!env.home.empty()) {
    return (std::filesystem::path(env.home) / ".config" / "kubetrail" / "config.yaml").string();
  }
  return "";
}

absl::StatusOr<CliConfig> ParseCliConfig(std::string_view yaml, std::string_view path) {
  absl::StatusOr<CliConfig> config = Parse(yaml, path);
  if (!config.ok()) return Locate(path, config.status());
  return config;
}

absl::StatusOr<CliConfig> LoadCliConfig(const CliConfigEnv& env) {
  CliConfig empty;
  empty.path = CliConfigPath(env);
  if (empty.path.empty()) return empty;
  int error = 0;
  absl::StatusOr<std::string> text = ReadFile(empty.path, &error);
  if (!text.ok()) {
    const bool named = !env.kubetrail_config.empty();
    if (!named && error == ENOENT) return empty;
    return absl::Status(text.status().code(), Cat(empty.path, named ? " ($KUBETRAIL_CONFIG)" : "",
                                                  ": cannot read: ", std::strerror(error)));
  }
  return ParseCliConfig(*text, empty.path);
}

const CliContext* FindContext(const CliConfig& config, std::string_view name) {
  for (const CliContext& c : config.contexts) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

absl::Status ApplyContext(const CliConfig& config, std::string_view context_name,
                          kubetrail::ClientOptions* options, const ExplicitFlags& explicit_flags) {
  const std::string_view name =
      context_name.empty() ? std::string_view(config.current_context) : context_name;
  if (name.empty()) return absl::OkStatus();
  const CliContext* c = FindContext(config, name);
  if (c == nullptr) {
    return absl::NotFoundError(
        Cat("context \"", name, "\" not found in ",
            config.path.empty() ? std::string("<no config file>") : config.path, " (",
            ContextNames(config), ")"));
  }

  const ExplicitFlags& e = explicit_flags;
  const ClientOptionFields& set = c->set;
  kubetrail::ClientOptions out = *options;
  // The command line's choice between plaintext and TLS wins as a whole (see the header).
  const bool flag_dev = e.plaintext && options->plaintext;
  const bool flag_tls = e.ca_file || e.cert_file || e.key_file || e.server_name;
  auto take = [](bool in_context, bool given) { return in_context && !given; };

  if (take(set.server, e.server)) out.server = c->options.server;
  if (take(set.plaintext, e.plaintext || flag_tls)) out.plaintext = c->options.plaintext;
  if (take(set.ca_file, e.ca_file || flag_dev)) out.ca_file = c->options.ca_file;
  if (take(set.cert_file, e.cert_file || flag_dev)) out.cert_file = c->options.cert_file;
  if (take(set.key_file, e.key_file || flag_dev)) out.key_file = c->options.key_file;
  if (take(set.server_name, e.server_name || flag_dev)) {
    out.server_name = c->options.server_name;
  }
  if (take(set.timeout, e.timeout)) out.timeout = c->options.timeout;
  if (take(set.token, e.token)) {
    if (c->token_file.empty()) {
      out.token = c->options.token;
    } else {
      KT_ASSIGN_OR_RETURN(out.token, ReadToken(config, *c));
    }
  }
  *options = std::move(out);
  return absl::OkStatus();
}

}  // namespace kubetrail::cli
