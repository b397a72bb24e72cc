// How the kubetrail verbs that talk to an aggregator (query, get, tail, top ...) reach it:
// the global client flags are a kubetrail::ClientOptions (the C++ client library's, see
// clients/cpp/include/kubetrail/client.h), checked here with messages that name the flags,
// and the one wording of a failed call.
//
//   ServerOptions server;                          // = kubetrail::ClientOptions
//   server.server = "aggregator.example:7443";
//   server.ca_file = "ca.pem";
//   if (absl::Status s = ValidateServerOptions(server); !s.ok()) ...  // a usage error
//   absl::StatusOr<kubetrail::Client> client = kubetrail::Client::Connect(server);
//   ...
//   if (!status.ok()) return ReportRpcError(server.server, status, std::cerr);
//
// Thread safety: pure functions.
#ifndef KUBETRAIL_CLIENTS_CLI_CONNECTION_H_
#define KUBETRAIL_CLIENTS_CLI_CONNECTION_H_

#include <ostream>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kubetrail/client.h"

namespace kubetrail::cli {

// The global client flags: `kubetrail [--dev] [--server HOST:PORT] [--tls-*] [--token T]
// [--timeout D] [--context NAME] VERB ...`; `plaintext` is --dev.
using ServerOptions = kubetrail::ClientOptions;

// InvalidArgument, naming the flag, when `options` cannot describe a connection: an empty
// server, TLS flags together with --dev, a token that is not printable ASCII without
// spaces, a timeout that is not positive (kubetrail::ValidateClientOptions).
inline absl::Status ValidateServerOptions(const ServerOptions& options) {
  return kubetrail::ValidateClientOptions(options);
}

// The exit code (exit_codes.h) for a failed call: kExitUsage for INVALID_ARGUMENT (the
// server refused the filter or a flag value, e.g. `--code 4x`), kExitFailure otherwise.
int ExitCodeForRpcError(const absl::Status& status);

// Writes the one line that reports a failed call,
//   `kubetrail: SERVER: CODE: message` (e.g. `kubetrail: 127.0.0.1:7443: UNAVAILABLE: ...`),
// with any line breaks of the message replaced by spaces, and returns
// ExitCodeForRpcError(status).
int ReportRpcError(std::string_view server, const absl::Status& status, std::ostream& err);

// Writes `data` to `out` and flushes it. False, after writing `PREFIXcannot write output` to
// `err`, when the stream failed (a closed pipe, a full disk).
bool WriteOutput(std::string_view data, std::string_view prefix, std::ostream& out,
                 std::ostream& err);

// WriteOutput for `kubetrail VERB`: the exit code, kExitOk or kExitFailure.
int WriteVerbOutput(std::string_view data, std::string_view verb, std::ostream& out,
                    std::ostream& err);

}  // namespace kubetrail::cli

#endif  // KUBETRAIL_CLIENTS_CLI_CONNECTION_H_
