// kubetrail — the command-line client. This file only defines the command line: each verb
// registers its flags into an options struct and runs a library function (convert.h, ...)
// that tests can call in-process. Exit codes: exit_codes.h.
#include <functional>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "absl/status/status.h"
#include "clients/cli/convert.h"
#include "clients/cli/exit_codes.h"
#include "clients/cli/policy.h"

#ifndef KUBETRAIL_VERSION
#define KUBETRAIL_VERSION "unknown"
#endif

namespace kubetrail::cli {
namespace {

// One verb: its subcommand and what runs when it was chosen. `run` returns the exit code.
struct Verb {
  CLI::App* command;
  std::function<int()> run;
};

// A CLI11 check that accepts what ParseOutputFormat accepts, with its message otherwise.
CLI::Validator OutputFormatValidator() {
  return CLI::Validator(
      [](std::string& value) {
        OutputFormat format;
        absl::Status status = ParseOutputFormat(value, &format);
        return status.ok() ? std::string() : std::string(status.message());
      },
      "jsonl|eventlist", "output format");
}

// Registers `convert`; its flags fill `*options`, which must outlive the parse and the run.
Verb AddConvert(CLI::App& app, ConvertOptions* options, std::string* output_name) {
  CLI::App* cmd = app.add_subcommand(
      "convert", "Convert audit events to canonical audit.k8s.io/v1 JSON");
  cmd->footer(
      "Reads Kubernetes audit events from FILEs (standard input when none is given, or for\n"
      "FILE \"-\"), in any layout kube-apiserver and its tools write: JSON lines, an\n"
      "EventList body (webhook), or a single (pretty-printed) Event; audit.k8s.io/v1 or\n"
      "v1beta1. Writes them as kube-apiserver's log backend does: one compact\n"
      "audit.k8s.io/v1 Event per line (or, with -o eventlist, one EventList body).\n"
      "\n"
      "A bad event stops the conversion with exit code 1 (the events before it have been\n"
      "written with -o jsonl; nothing is written with -o eventlist). With --skip-invalid\n"
      "every bad event is reported on stderr as FILE:LINE: message and skipped, and the\n"
      "exit code is 0. An unreadable FILE always gives exit code 1.\n"
      "\n"
      "Examples:\n"
      "  kubetrail convert /var/log/kubernetes/audit.log > events.jsonl\n"
      "  kubetrail convert < webhook-body.json\n"
      "  kubetrail convert -o eventlist --skip-invalid a.jsonl b.json > body.json\n"
      "  kubetrail convert --max-event-bytes 16MiB big-events.jsonl\n"
      "\n"
      "Exit codes: 0 success, 1 invalid input or I/O error, 2 usage error.");
  cmd->add_option("FILE", options->inputs, "Input files; \"-\" is standard input");
  cmd->add_option("-o,--output", *output_name,
                  "Output format: jsonl (one Event per line) or eventlist (one EventList)")
      ->check(OutputFormatValidator())
      ->option_text("FORMAT (default jsonl)");
  cmd->add_flag("--skip-invalid", options->skip_invalid,
                "Report bad events on stderr and go on; exit 0 with a summary line");
  cmd->add_option("--max-event-bytes", options->decode.max_event_bytes,
                  "Reject events larger than this; units k, KiB, M, MiB... are 1024-based")
      // AsSizeValue would read "-1" as a huge size: refuse a sign before converting.
      ->check(CLI::Validator(
          [](std::string& value) {
            return value.find('-') == std::string::npos ? std::string()
                                                        : std::string("must be positive");
          },
          "", "non-negative"))
      ->transform(CLI::AsSizeValue(/*kb_is_1000=*/false))
      ->check(CLI::Validator(
          [](std::string& value) {
            return value == "0" ? std::string("must be positive") : std::string();
          },
          "", "positive"))
      ->option_text("BYTES (default 4MiB)");
  return Verb{cmd, [options, output_name] {
                // Validated by the check above; repeated here so the run never sees a
                // default-initialised format.
                if (!ParseOutputFormat(*output_name, &options->output).ok()) return kExitUsage;
                return RunConvert(*options, std::cin, std::cout, std::cerr);
              }};
}

// A CLI11 check that accepts what ParseSimulateFormat accepts.
CLI::Validator SimulateFormatValidator() {
  return CLI::Validator(
      [](std::string& value) {
        SimulateFormat format;
        absl::Status status = ParseSimulateFormat(value, &format);
        return status.ok() ? std::string() : std::string(status.message());
      },
      "table|json", "simulate output format");
}

// Adds the flags every event-reading `policy` subcommand shares.
void AddPolicyEventFlags(CLI::App* cmd, PolicyOptions* options) {
  cmd->add_option("--policy", options->policy_file, "The audit.k8s.io/v1 Policy (YAML or JSON)")
      ->required()
      ->option_text("FILE");
  cmd->add_flag("--strict", options->strict,
                "Reject unknown and duplicate policy fields instead of warning");
  cmd->add_option("EVENTS", options->inputs,
                  "Event files (JSON lines or EventList); \"-\" is standard input");
  cmd->add_flag("--skip-invalid", options->skip_invalid,
                "Report bad events on stderr and go on; exit 0 with a summary line");
}

// Registers `policy` and its subcommands; flags fill `*options` (shared: only one runs).
Verb AddPolicy(CLI::App& app, PolicyOptions* options, std::string* simulate_output) {
  CLI::App* cmd = app.add_subcommand(
      "policy", "Check an audit policy and try it on recorded events");
  cmd->require_subcommand(1);
  cmd->footer(
      "Subcommands: validate, eval, apply, simulate. Run 'kubetrail policy SUBCOMMAND --help'.\n"
      "\n"
      "Exit codes: 0 success, 1 invalid policy or input, or I/O error, 2 usage error.");

  CLI::App* validate = cmd->add_subcommand("validate", "Check that an audit policy loads");
  validate->footer(
      "Loads FILE as kube-apiserver loads --audit-policy-file and prints 'FILE: ok (N rules)'.\n"
      "Fields a lenient load ignores are reported on stderr as warnings; with --strict they\n"
      "are errors. Every problem is reported, one per line; the exit code is then 1.\n"
      "\n"
      "Examples:\n"
      "  kubetrail policy validate audit-policy.yaml\n"
      "  kubetrail policy validate --strict audit-policy.yaml");
  validate->add_option("FILE", options->policy_file, "The audit.k8s.io/v1 Policy")->required();
  validate->add_flag("--strict", options->strict,
                     "Reject unknown and duplicate fields instead of warning");

  CLI::App* eval = cmd->add_subcommand("eval", "Print the policy's decision for each event");
  eval->footer(
      "For each event of EVENTS (standard input when none is given), one JSON line:\n"
      "  {\"auditID\":...,\"stage\":...,\"level\":...,\"omitStages\":[...],\n"
      "   \"omitManagedFields\":...,\"rule\":N}\n"
      "level is the matching rule's level (before capping by the event's), rule its index\n"
      "(-1 when no rule matched).\n"
      "\n"
      "Examples:\n"
      "  kubetrail policy eval --policy audit-policy.yaml audit.log\n"
      "  cat a.log b.json | kubetrail policy eval --policy p.yaml --skip-invalid");
  AddPolicyEventFlags(eval, options);

  CLI::App* apply = cmd->add_subcommand("apply", "Write the events the policy keeps");
  apply->footer(
      "Applies the policy to each event as kube-apiserver would have: events at level None or\n"
      "of an omitted stage are dropped, the others are written as canonical JSON lines with\n"
      "their level capped and request/response bodies and managedFields removed as decided.\n"
      "\n"
      "Examples:\n"
      "  kubetrail policy apply --policy audit-policy.yaml audit.log > reduced.log\n"
      "  kubetrail policy apply --policy p.yaml --strict - < webhook-body.json");
  AddPolicyEventFlags(apply, options);

  CLI::App* simulate =
      cmd->add_subcommand("simulate", "Report what a policy would keep, before rollout");
  simulate->footer(
      "Counts events and bytes (canonical JSON lines) read and kept: in total, per decided\n"
      "level, per rule (and 'no rule'), and the drops by reason (level None, omitted stage).\n"
      "-o table prints aligned columns; -o json one JSON object.\n"
      "\n"
      "Examples:\n"
      "  kubetrail policy simulate --policy audit-policy.yaml /var/log/kubernetes/audit*.log\n"
      "  kubetrail policy simulate --policy p.yaml -o json audit.log | jq .total");
  AddPolicyEventFlags(simulate, options);
  simulate->add_option("-o,--output", *simulate_output, "Report format: table or json")
      ->check(SimulateFormatValidator())
      ->option_text("FORMAT (default table)");

  return Verb{cmd, [options, simulate_output, validate, eval, apply, simulate] {
                if (validate->parsed()) return RunPolicyValidate(*options, std::cout, std::cerr);
                if (eval->parsed()) return RunPolicyEval(*options, std::cin, std::cout, std::cerr);
                if (apply->parsed()) {
                  return RunPolicyApply(*options, std::cin, std::cout, std::cerr);
                }
                if (simulate->parsed()) {
                  if (!ParseSimulateFormat(*simulate_output, &options->format).ok()) {
                    return kExitUsage;
                  }
                  return RunPolicySimulate(*options, std::cin, std::cout, std::cerr);
                }
                return kExitUsage;
              }};
}

int Main(int argc, char** argv) {
  // The verbs write through std::cout in large blocks; no need to interleave with stdio.
  std::ios::sync_with_stdio(false);

  CLI::App app("kubetrail: Kubernetes audit events from many clusters", "kubetrail");
  app.set_version_flag("--version", "kubetrail " KUBETRAIL_VERSION);
  // At most one verb; "none" is reported below, after CLI11 had its say about unknown words
  // (with require_subcommand(1) a misspelt verb would only hear "a subcommand is required").
  app.require_subcommand(0, 1);
  app.footer("Run 'kubetrail VERB --help' for a verb's flags and examples.");

  // Options of every verb; only the chosen verb's are filled.
  ConvertOptions convert_options;
  std::string convert_output = "jsonl";
  PolicyOptions policy_options;
  std::string simulate_output = "table";

  std::vector<Verb> verbs;
  verbs.push_back(AddConvert(app, &convert_options, &convert_output));
  verbs.push_back(AddPolicy(app, &policy_options, &simulate_output));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version arrive here too, with CLI11's success code.
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  std::string names;
  for (const Verb& verb : verbs) {
    if (verb.command->parsed()) return verb.run();
    names += (names.empty() ? "" : ", ") + verb.command->get_name();
  }
  std::cerr << "A verb is required (" << names << ")\nRun with --help for more information.\n";
  return kExitUsage;
}

}  // namespace
}  // namespace kubetrail::cli

int main(int argc, char** argv) { return kubetrail::cli::Main(argc, argv); }
