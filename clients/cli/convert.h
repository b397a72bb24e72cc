// `kubetrail convert`: reads Kubernetes audit events in any layout the codec understands
// (JSON lines, an EventList body, a single pretty-printed Event; audit.k8s.io/v1 or v1beta1)
// and writes them back as canonical audit.k8s.io/v1 JSON, exactly as kube-apiserver writes
// them.
//
//   ConvertOptions options;
//   options.inputs = {"audit.log", "-"};          // "-" (or no input at all) is stdin
//   int code = RunConvert(options, std::cin, std::cout, std::cerr);
//
// Behaviour (also in README.md):
//  * Inputs are read one after the other, each one whole into memory, and decoded with
//    audit::EventReader (format detected per input).
//  * Output kJsonLines: one event per line, in input order. kEventList: one EventList body
//    holding every good event, then '\n'.
//  * A bad event without skip_invalid: `kubetrail convert: FILE:LINE: <message>` on `err`,
//    exit 1, nothing more is read. For kJsonLines every event before the bad one has been
//    written (and nothing after it); for kEventList nothing is written.
//  * A bad event with skip_invalid: reported the same way, then skipped. At the end a summary
//    `kubetrail convert: N invalid events skipped, M written` goes to `err`; exit 0.
//  * An unreadable input: `kubetrail convert: cannot read FILE: <strerror>`, exit 1, even with
//    skip_invalid (what was written before it stays written, as for a bad event).
//
// Thread safety: RunConvert keeps no state between calls; concurrent calls must not share
// streams.
#ifndef KUBETRAIL_CLIENTS_CLI_CONVERT_H_
#define KUBETRAIL_CLIENTS_CLI_CONVERT_H_

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "audit/codec.h"

namespace kubetrail::cli {

// How `kubetrail convert` lays out its output.
enum class OutputFormat {
  kJsonLines,  // one compact Event per line (the apiserver's log backend)
  kEventList,  // one EventList body (the apiserver's webhook backend)
};

// Parses an `-o` value: "jsonl" or "eventlist". InvalidArgument for anything else.
absl::Status ParseOutputFormat(std::string_view name, OutputFormat* format);

struct ConvertOptions {
  // Files to read, in order; "-" is standard input. Empty: standard input alone.
  std::vector<std::string> inputs;
  // Default: kJsonLines.
  OutputFormat output = OutputFormat::kJsonLines;
  // Report bad events and go on instead of stopping at the first. Default: false.
  bool skip_invalid = false;
  // Passed to the decoder (max_event_bytes, max_depth); defaults as in audit::DecodeOptions.
  audit::DecodeOptions decode;
};

// Runs `kubetrail convert`; returns the process exit code (exit_codes.h): kExitOk or
// kExitFailure. `in` stands for standard input; it is read only if an input is "-" or none
// is given. Events go to `out`, buffered, flushed before returning; diagnostics go to `err`.
// A failed write to `out` is reported on `err` and gives kExitFailure.
int RunConvert(const ConvertOptions& options, std::istream& in, std::ostream& out,
               std::ostream& err);

}  // namespace kubetrail::cli

#endif  // KUBETRAIL_CLIENTS_CLI_CONVERT_H_
