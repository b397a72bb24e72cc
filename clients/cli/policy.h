// `kubetrail policy`: an audit.k8s.io/v1 Policy checked, evaluated and applied offline, so a
// policy can be tried on recorded events before it is rolled out to kube-apiserver.
//
//   PolicyOptions options;
//   options.policy_file = "policy.yaml";
//   options.inputs = {"audit.log"};                 // "-" (or no input at all) is stdin
//   int code = RunPolicySimulate(options, std::cin, std::cout, std::cerr);
//
// Behaviour (also in README.md):
//  * The policy is loaded with audit::LoadPolicyFile (lenient unless `strict`). Every ignored
//    field is reported on `err` as `kubetrail policy: FILE:LINE: warning: PATH: MESSAGE`. A
//    policy that does not load gives exit 1 and one `kubetrail policy: ` line per line of the
//    loader's message (it lists every problem, one per line); nothing is read.
//  * validate: `FILE: ok (N rules)` on `out`.
//  * eval: per event, one JSON line
//      {"auditID":"…","stage":"…","level":"…","omitStages":[…],"omitManagedFields":b,"rule":N}
//    level is the decision's level (before capping by the event's own), omitStages sorted by
//    name, rule the matching rule's index or -1.
//  * apply: the events the policy keeps, after audit::ApplyDecision, as canonical JSON lines.
//  * simulate: events and bytes (canonical JSON line bytes, '\n' included) in and kept, in
//    total, per decided level and per rule (plus "no rule"), and the drops by reason; an
//    aligned plain-text table or (kJson) one JSON object and '\n'.
//  * Events are read as by `kubetrail convert` (audit::EventReader, format detected per
//    input). A bad event without skip_invalid: `kubetrail policy: FILE:LINE: <message>`, exit
//    1, nothing more is read (eval/apply have written the lines before it; simulate writes no
//    report). With skip_invalid it is reported, skipped, and a summary
//    `kubetrail policy: N invalid events skipped, M read` ends the run; exit 0.
//
// Thread safety: the Run functions keep no state between calls; concurrent calls must not
// share streams.
#ifndef KUBETRAIL_CLIENTS_CLI_POLICY_H_
#define KUBETRAIL_CLIENTS_CLI_POLICY_H_

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "audit/codec.h"

namespace kubetrail::cli {

// How `kubetrail policy simulate` writes its report.
enum class SimulateFormat {
  kTable,  // aligned plain-text columns
  kJson,   // one JSON object
};

// Parses a simulate `-o` value: "table" or "json". InvalidArgument for anything else.
absl::Status ParseSimulateFormat(std::string_view name, SimulateFormat* format);

struct PolicyOptions {
  // The policy file (YAML or JSON). Required.
  std::string policy_file;
  // Reject unknown and duplicate policy fields instead of warning. Default: false.
  bool strict = false;
  // Event files, in order; "-" is standard input. Empty: standard input alone. Not used by
  // validate.
  std::vector<std::string> inputs;
  // Report bad events and go on instead of stopping at the first. Default: false.
  bool skip_invalid = false;
  // simulate's report layout. Default: kTable.
  SimulateFormat format = SimulateFormat::kTable;
  // Passed to the decoder; defaults as in audit::DecodeOptions.
  audit::DecodeOptions decode;
};

// The verbs; each returns the exit code (exit_codes.h): kExitOk or kExitFailure. `in` stands
// for standard input (read only if an input is "-" or none is given); results go to `out`,
// diagnostics to `err`. A failed write to `out` is reported on `err` and gives kExitFailure.
int RunPolicyValidate(const PolicyOptions& options, std::ostream& out, std::ostream& err);
int RunPolicyEval(const PolicyOptions& options, std::istream& in, std::ostream& out,
                  std::ostream& err);
int RunPolicyApply(const PolicyOptions& options, std::istream& in, std::ostream& out,
                   std::ostream& err);
int RunPolicySimulate(const PolicyOptions& options, std::istream& in, std::ostream& out,
                      std::ostream& err);

}  // namespace kubetrail::cli

#endif  // KUBETRAIL_CLIENTS_CLI_POLICY_H_
