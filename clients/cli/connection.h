// How the kubetrail verbs that talk to an aggregator (query, and later get, tail, top ...)
// reach it: the global client flags as a struct, the gRPC channel they describe, the
// per-call deadline and bearer token, and the one wording of an RPC error.
//
//   ServerOptions server;
//   server.server = "aggregator.example:7443";
//   server.tls.ca_file = "ca.pem";
//   server.token = "s3cret";                       // sent as "authorization: Bearer s3cret"
//   if (absl::Status s = ValidateServerOptions(server); !s.ok()) ...  // a usage error
//   KT_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, CreateServerChannel(server));
//   auto stub = kubetrail::v1::Query::NewStub(channel);
//   grpc::ClientContext context;
//   PrepareContext(server, &context);              // deadline = now + server.timeout
//
// Thread safety: pure functions; a ServerOptions may be shared once filled.
#ifndef KUBETRAIL_CLIENTS_CLI_CONNECTION_H_
#define KUBETRAIL_CLIENTS_CLI_CONNECTION_H_

#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/tls.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"

namespace kubetrail::cli {

// The largest message a client accepts from the aggregator (a Search chunk holding one big
// event). The aggregator sends chunks of about 1 MiB, and single events up to its own limit.
inline constexpr int kMaxReceiveMessageBytes = 64 << 20;

// The global client flags: `kubetrail [--dev] [--server HOST:PORT] [--tls-*] [--token T]
// [--timeout D] VERB ...`.
struct ServerOptions {
  // The aggregator's gRPC address (any gRPC target). Default: "127.0.0.1:7443".
  std::string server = "127.0.0.1:7443";
  // Plaintext (an aggregator started with --dev). Default: false, that is TLS.
  bool dev = false;
  // TLS material (ignored with dev; ValidateServerOptions refuses it then). Defaults: the
  // system's roots, no client certificate, the target's host as server name.
  ClientTlsConfig tls;
  // A bearer token sent on every call as "authorization: Bearer <token>"; empty: none.
  // Default: empty (main.cc falls back to $KUBETRAIL_TOKEN).
  std::string token;
  // The deadline of each call (each page of a query). Default: 30 s.
  absl::Duration timeout = absl::Seconds(30);
};

// InvalidArgument, naming the flag, when `options` cannot describe a connection: an empty
// server, TLS flags together with --dev, a token that is not printable ASCII without
// spaces, a timeout that is not positive.
absl::Status ValidateServerOptions(const ServerOptions& options);

// A channel to options.server: plaintext with dev, else TLS per options.tls; receiving
// messages up to kMaxReceiveMessageBytes. Errors as for kubetrail::MakeClientCredentials
// (an unreadable or invalid CA, certificate or key file). Connecting happens later.
absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateServerChannel(const ServerOptions& options);

// Sets the deadline (now + options.timeout) and the bearer token (when set) on `context`,
// which must be fresh (one context per call).
void PrepareContext(const ServerOptions& options, grpc::ClientContext* context);

// The exit code (exit_codes.h) for a failed call: kExitUsage for INVALID_ARGUMENT (the
// server refused the filter or a flag value, e.g. `--code 4x`), kExitFailure otherwise.
int ExitCodeForRpcError(const grpc::Status& status);

// Writes the one line that reports a failed call,
//   `kubetrail: SERVER: CODE: message` (e.g. `kubetrail: 127.0.0.1:7443: UNAVAILABLE: ...`),
// with any line breaks of the message replaced by spaces, and returns
// ExitCodeForRpcError(status).
int ReportRpcError(std::string_view server, const grpc::Status& status, std::ostream& err);

}  // namespace kubetrail::cli

#endif  // KUBETRAIL_CLIENTS_CLI_CONNECTION_H_
