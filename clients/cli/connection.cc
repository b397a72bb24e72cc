#include "clients/cli/connection.h"

#include <ostream>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "clients/cli/exit_codes.h"
#include "common/strings.h"

namespace kubetrail::cli {

int ExitCodeForRpcError(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  return status.code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

int ReportRpcError(std::string_view server, const absl::Status& status, std::ostream& err) {
  std::string message(status.message());
  for (char& c : message) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  err << "kubetrail: " << server << ": " << absl::StatusCodeToString(status.code()) << ": "
      << message << "\n";
  err.flush();
  return ExitCodeForRpcError(status);
}

bool WriteOutput(std::string_view data, std::string_view prefix, std::ostream& out,
                 std::ostream& err) {
  if (!data.empty()) out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.flush();
  if (out) return true;
  err << prefix << "cannot write output\n";
  return false;
}

int WriteVerbOutput(std::string_view data, std::string_view verb, std::ostream& out,
                    std::ostream& err) {
  return WriteOutput(data, Cat("kubetrail ", verb, ": "), out, err) ? kExitOk : kExitFailure;
}

}  // namespace kubetrail::cli
