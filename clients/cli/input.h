// Input handling shared by the verbs that read audit events (convert, policy ...): reading a
// whole file or stream, and the wording of a bad event's report.
#ifndef KUBETRAIL_CLIENTS_CLI_INPUT_H_
#define KUBETRAIL_CLIENTS_CLI_INPUT_H_

#include <cstddef>
#include <functional>
#include <istream>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "audit/codec.h"
#include "kubetrail/v1/event.pb.h"

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

struct EventRunOptions {
  // Starts every diagnostic line, e.g. "kubetrail convert: ".
  std::string_view prefix;
  // Files to read, in order; "-" is standard input. Empty: standard input alone.
  std::vector<std::string> inputs;
  // Report bad events and go on instead of stopping at the first.
  bool skip_invalid = false;
  // Passed to the decoder.
  audit::DecodeOptions decode;
};

// One run of a verb that reads audit events: reads every input in full, decodes its events
// (layout auto-detected), hands each good one to a handler and reports each bad one on `err`
// as `PREFIX FILE:LINE: message`; owns the verb's buffered output to `out`, flushed in pieces
// of about 1 MiB and before every report, so the two streams read in order.
// Not thread-safe; lives for one verb call and borrows the streams.
class EventRun {
 public:
  // Handles one good event, appending any output to *out. Returns false to stop the run
  // (after reporting why).
  using Handler = std::function<bool(kubetrail::v1::Event& event, std::string* out)>;

  EventRun(EventRunOptions options, std::ostream& out, std::ostream& err);

  // Runs `handle` over every event of every input; `in` is read for "-". Returns false when
  // the run failed: an unreadable input, a bad event without skip_invalid, a handler that
  // said stop, or a failed write (each reported on `err`).
  bool Run(std::istream& in, const Handler& handle);

  // With skip_invalid, writes the summary `PREFIX N invalid events skipped, M <what>` (for
  // example what = "written").
  void Summary(std::string_view what);

  // Bad events seen so far.
  size_t invalid() const { return invalid_; }
  // The output not yet handed to `out`; the verb may append to it.
  std::string* buffer() { return &buffer_; }
  // Hands the buffered output to `out`. Returns false, after reporting, if the stream failed;
  // once failed, it stays failed.
  bool Flush();

 private:
  bool RunInput(std::string_view name, std::string_view body, const Handler& handle);

  const EventRunOptions options_;
  std::ostream& out_;
  std::ostream& err_;
  std::string buffer_;
  size_t read_ = 0;
  size_t invalid_ = 0;
  bool write_failed_ = false;
};

}  // namespace kubetrail::cli

#endif  // KUBETRAIL_CLIENTS_CLI_INPUT_H_
