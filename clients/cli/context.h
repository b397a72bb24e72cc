// The `kubetrail` CLI's config file: named contexts, each a way to reach one aggregator (like
// kubectl's kubeconfig), so that `kubetrail --context prod query ...` or a current-context
// replace the connection flags.
//
//   CliConfigEnv env;                               // main.cc reads the environment
//   if (const char* v = std::getenv("KUBETRAIL_CONFIG")) env.kubetrail_config = v;
//   if (const char* v = std::getenv("XDG_CONFIG_HOME")) env.xdg_config_home = v;
//   if (const char* v = std::getenv("HOME")) env.home = v;
//   absl::StatusOr<CliConfig> config = LoadCliConfig(env);
//   if (!config.ok()) ...                           // "FILE:LINE: message": exit 1
//
//   kubetrail::ClientOptions options;               // filled from the command line
//   ExplicitFlags given;                            // which flags the command line had
//   given.server = server_flag->count() > 0;
//   absl::Status s = ApplyContext(*config, context_flag, &options, given);
//   if (!s.ok()) ...                                // NotFound: --context names no context
//   s = ValidateServerOptions(options);             // connection.h, as without a context
//
// Where the file is (CliConfigPath): $KUBETRAIL_CONFIG if set, else
// $XDG_CONFIG_HOME/kubetrail/config.yaml, else $HOME/.config/kubetrail/config.yaml. A missing
// file at one of the two default places means no contexts; a missing $KUBETRAIL_CONFIG is an
// error.
//
// The format (YAML):
//
//   current-context: prod            # optional; the context used without --context
//   contexts:
//     - name: prod                   # required, unique
//       server: aggregator.example:7443   # required: the gRPC target (--server)
//       tls-ca: ca.pem               # --tls-ca; a relative path is relative to the directory
//       tls-cert: client.pem         # --tls-cert  } of the config file (also tls-cert,
//       tls-key: client-key.pem      # --tls-key   } tls-key and token-file); both or neither
//       tls-server-name: aggregator.example   # --tls-server-name
//       token-file: token            # the bearer token is the file's content without its
//                                    # trailing newlines; or `token: VALUE`, not both
//       timeout: 30s                 # --timeout; a positive duration (30s, 2m, 1h30m)
//     - name: local
//       server: 127.0.0.1:7443
//       dev: true                    # --dev: plaintext; excludes every tls-* key
//
// Every key is optional unless marked required; a key left out keeps the flag's default.
// The file is read strictly: a syntax error, an unknown or repeated key, a key without a value,
// a value of the wrong type, an empty string, two contexts of one name, token with token-file,
// tls-cert without tls-key (or the reverse), dev: true with a tls-* key, a timeout that is not
// positive, a token that is not printable ASCII without spaces, and a current-context naming
// no context are InvalidArgument "FILE:LINE: KEY.PATH: message", e.g.
// `config.yaml:7: contexts[1].tokn: unknown key (known: dev, name, server, ...)`.
// The token file is read by ApplyContext, only for the context in use, so a broken context
// does not stop the others from working.
//
// Thread safety: the functions keep no state; a CliConfig is a value.
#ifndef KUBETRAIL_CLIENTS_CLI_CONTEXT_H_
#define KUBETRAIL_CLIENTS_CLI_CONTEXT_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kubetrail/client.h"

namespace kubetrail::cli {

// The environment that locates the config file, passed in so that tests choose it. An empty
// string means unset (as for an empty $KUBECONFIG).
struct CliConfigEnv {
  std::string kubetrail_config = {};  // $KUBETRAIL_CONFIG: the file itself
  std::string xdg_config_home = {};   // $XDG_CONFIG_HOME; ignored unless absolute (XDG spec)
  std::string home = {};              // $HOME
};

// One bool per kubetrail::ClientOptions field: which fields the command line gave
// (ExplicitFlags) or a context sets (CliContext::set).
struct ClientOptionFields {
  bool server = false;       // --server / server
  bool plaintext = false;    // --dev / dev
  bool ca_file = false;      // --tls-ca / tls-ca
  bool cert_file = false;    // --tls-cert / tls-cert
  bool key_file = false;     // --tls-key / tls-key
  bool server_name = false;  // --tls-server-name / tls-server-name
  bool token = false;        // --token / token or token-file
  bool timeout = false;      // --timeout / timeout
};

// The connection flags given on the command line, whatever their value (`--dev=false` too).
// main.cc should count a token from $KUBETRAIL_TOKEN as given: the environment of one
// invocation is more specific than a file shared by all.
using ExplicitFlags = ClientOptionFields;

// One entry of `contexts`.
struct CliContext {
  std::string name;
  // The fields named in `set` hold the context's values, with tls-ca, tls-cert and tls-key
  // resolved against the config file's directory; the others keep ClientOptions' defaults.
  // `token` is empty when the context has a token-file (see token_file).
  kubetrail::ClientOptions options;
  ClientOptionFields set;
  // The token-file, resolved like the TLS paths; empty when the context has none. Read by
  // ApplyContext.
  std::string token_file;
  // Where the entry (its `- ` item) and its token-file key are in the file, 1-based; for
  // messages.
  int line = 0;
  int token_file_line = 0;
};

// A parsed config file.
struct CliConfig {
  // The file read, as located (not made absolute); also when it did not exist. Empty when the
  // environment names no place at all (no $HOME).
  std::string path;
  // Empty: no current context (the key is absent or "").
  std::string current_context;
  // In file order; names are unique.
  std::vector<CliContext> contexts;
};

// Where the config file is for `env` (see the top of this file); empty when no variable is
// usable.
std::string CliConfigPath(const CliConfigEnv& env);

// Parses the text of a config file. `path` names the file in messages and is the base of
// relative paths (its directory; the current directory when it has none). Reads no file.
// InvalidArgument "PATH:LINE: message" for any rule broken (see the top of this file). An
// empty document is a config without contexts.
absl::StatusOr<CliConfig> ParseCliConfig(std::string_view yaml, std::string_view path);

// Finds and parses the config file of `env`. A missing file at a default place gives a
// CliConfig with that path and no contexts; a file named by $KUBETRAIL_CONFIG that cannot be
// read is an error (NotFound, PermissionDenied ... from errno, naming the file and the
// variable), as is any other file that exists but cannot be read. Parse errors as
// ParseCliConfig.
absl::StatusOr<CliConfig> LoadCliConfig(const CliConfigEnv& env);

// The context called `name`, or nullptr. The pointer lives as long as `config` is unchanged.
const CliContext* FindContext(const CliConfig& config, std::string_view name);

// Fills `options` from a context, for every field the context sets that `explicit_flags`
// does not mark: flags win over the context, the context wins over the defaults.
//  * The context is `context_name` (--context) if not empty, else config.current_context;
//    when both are empty, `options` is left unchanged and the result is OK.
//  * Plaintext and TLS do not mix: an explicit --dev (true) also keeps the context's tls-*
//    keys out, and any explicit --tls-* flag keeps the context's `dev` out, so that
//    `--dev --server 127.0.0.1:7443` works while a TLS context is current.
//  * A token-file is read now (trailing '\n' and '\r' removed), unless the token was given.
// Errors, leaving `options` unchanged: NotFound `context "NAME" not found in FILE (contexts:
// a, b)` (or `(no contexts)`); for the token file the errno's code (NotFound,
// PermissionDenied ...) or InvalidArgument for an empty or unprintable token, as
// "FILE:LINE: context "NAME": token-file TOKENFILE: message". The result is not validated:
// run ValidateServerOptions (connection.h) on it as on flags alone.
absl::Status ApplyContext(const CliConfig& config, std::string_view context_name,
                          kubetrail::ClientOptions* options, const ExplicitFlags& explicit_flags);

}  // namespace kubetrail::cli

#endif  // KUBETRAIL_CLIENTS_CLI_CONTEXT_H_
