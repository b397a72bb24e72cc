#include "clients/cli/connection.h"

#include <chrono>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "clients/cli/exit_codes.h"
#include "common/grpc_status.h"
#include "common/tls.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace kubetrail::cli {

absl::Status ValidateServerOptions(const ServerOptions& options) {
  if (options.server.empty()) return absl::InvalidArgumentError("--server: empty address");
  if (options.dev && (!options.tls.ca_file.empty() || !options.tls.cert_file.empty() ||
                      !options.tls.key_file.empty() || !options.tls.server_name.empty())) {
    return absl::InvalidArgumentError(
        "--dev is plaintext: drop it to use --tls-ca, --tls-cert, --tls-key or "
        "--tls-server-name");
  }
  if (options.tls.cert_file.empty() != options.tls.key_file.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  for (const char c : options.token) {
    // An HTTP/2 header value; a space would split "Bearer <token>" in two.
    if (c <= ' ' || c > '~') {
      return absl::InvalidArgumentError(
          "--token (or $KUBETRAIL_TOKEN): must be printable ASCII without spaces");
    }
  }
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--timeout: must be positive");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateServerChannel(const ServerOptions& options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxReceiveMessageBytes);
  if (options.dev) {
    return grpc::CreateCustomChannel(options.server, grpc::InsecureChannelCredentials(), args);
  }
  return CreateTlsChannel(options.server, options.tls, std::move(args));
}

void PrepareContext(const ServerOptions& options, grpc::ClientContext* context) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + options.timeout));
  if (!options.token.empty()) context->AddMetadata("authorization", "Bearer " + options.token);
}

int ExitCodeForRpcError(const grpc::Status& status) {
  if (status.ok()) return kExitOk;
  return status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ? kExitUsage : kExitFailure;
}

int ReportRpcError(std::string_view server, const grpc::Status& status, std::ostream& err) {
  const absl::Status converted = FromGrpcStatus(status);
  std::string message(converted.message());
  for (char& c : message) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  err << "kubetrail: " << server << ": " << absl::StatusCodeToString(converted.code()) << ": "
      << message << "\n";
  err.flush();
  return ExitCodeForRpcError(status);
}

}  // namespace kubetrail::cli
