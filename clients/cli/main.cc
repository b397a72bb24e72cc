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

  std::vector<Verb> verbs;
  verbs.push_back(AddConvert(app, &convert_options, &convert_output));

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
