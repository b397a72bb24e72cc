// Input handling shared by the verbs that read audit events (convert, policy ...): reading a
// whole file or stream, and the wording of a bad event's report.
#ifndef KUBETRAIL_CLIENTS_CLI_INPUT_H_
#define KUBETRAIL_CLIENTS_CLI_INPUT_H_

#include <cstddef>
#include <istream>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace kubetrail::cli {

// How standard input is named in messages.
inline constexpr std::string_view kStdinName = "<stdin>";

// Reads the whole file at `path` into `*content` (replacing it). Errors carry the errno
// mapping (NotFound, PermissionDenied, ...) and the message `cannot read PATH: <strerror>`.
absl::Status ReadWholeFile(const std::string& path, std::string* content);

// Reads `in` to its end into `*content` (replacing it); `name` is used in the error message,
// `cannot read NAME: <strerror>`.
absl::Status ReadWholeStream(std::istream& in, std::string_view name, std::string* content);

// The message of an EventReader error for a report that is already prefixed `FILE:LINE:`:
// the reader's own `line N: ` location is dropped when it names `line`, and
// `items[i] (line N): ` becomes `items[i]: `. Any other message is kept whole.
std::string EventErrorMessage(std::string_view message, size_t line);

}  // namespace kubetrail::cli

#endif  // KUBETRAIL_CLIENTS_CLI_INPUT_H_
