// kubetrail — the command-line client. This file only defines the command line: each verb
// registers its flags into an options struct and runs a library function (convert.h, ...)
// that tests can call in-process. Exit codes: exit_codes.h.
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/cli/connection.h"
#include "clients/cli/convert.h"
#include "clients/cli/exit_codes.h"
#include "clients/cli/policy.h"
#include "clients/cli/query.h"
#include "grpc/support/log.h"
#include "grpcpp/channel.h"
#include "kubetrail/v1/query.grpc.pb.h"

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

// The global client flags, as given; Resolve() turns them into ServerOptions.
struct ClientFlags {
  ServerOptions server;
  std::string timeout = "30s";
  CLI::Option* token = nullptr;
};

// A CLI11 check for a positive absl::ParseDuration value.
CLI::Validator PositiveDurationValidator() {
  return CLI::Validator(
      [](std::string& value) {
        absl::Duration d;
        if (absl::ParseDuration(value, &d) && d > absl::ZeroDuration()) return std::string();
        return "want a positive duration such as 30s or 2m, got \"" + value + "\"";
      },
      "DURATION", "positive duration");
}

// A CLI11 check refusing an empty value (for flags where "" would mean "not given").
CLI::Validator NonEmptyValidator() {
  return CLI::Validator(
      [](std::string& value) { return value.empty() ? std::string("empty value") : std::string(); },
      "", "non-empty");
}

// Registers the global client flags on `app`: they go before the verb, and (for the verbs
// that fall through to `app`) after it too.
void AddClientFlags(CLI::App& app, ClientFlags* flags) {
  app.add_flag("--dev", flags->server.dev,
               "Plaintext, for an aggregator started with --dev (default: TLS)");
  app.add_option("--server", flags->server.server, "The aggregator's gRPC address")
      ->option_text("HOST:PORT (default 127.0.0.1:7443)");
  app.add_option("--tls-ca", flags->server.tls.ca_file,
                 "CA bundle for the server certificate (default: system roots)")
      ->option_text("FILE");
  app.add_option("--tls-cert", flags->server.tls.cert_file,
                 "Client certificate chain for mutual TLS (with --tls-key)")
      ->option_text("FILE");
  app.add_option("--tls-key", flags->server.tls.key_file, "Client private key (with --tls-cert)")
      ->option_text("FILE");
  app.add_option("--tls-server-name", flags->server.tls.server_name,
                 "Name checked against the server certificate (default: the server's host)")
      ->option_text("NAME");
  flags->token = app.add_option("--token", flags->server.token,
                                "Bearer token sent on every call (default: $KUBETRAIL_TOKEN)")
                     ->option_text("TOKEN");
  app.add_option("--timeout", flags->timeout, "Deadline of each call (each page of a query)")
      ->check(PositiveDurationValidator())
      ->option_text("DURATION (default 30s)");
}

// The ServerOptions the global flags describe; prints a usage error and returns false when
// they describe none.
bool ResolveClientFlags(ClientFlags* flags, std::string_view prefix) {
  if (!absl::ParseDuration(flags->timeout, &flags->server.timeout)) {
    std::cerr << prefix << "--timeout: bad duration \"" << flags->timeout << "\"\n";
    return false;
  }
  if (flags->token->count() == 0) {
    if (const char* token = std::getenv("KUBETRAIL_TOKEN"); token != nullptr) {
      flags->server.token = token;
    }
  }
  if (absl::Status s = ValidateServerOptions(flags->server); !s.ok()) {
    std::cerr << prefix << s.message() << "\n";
    return false;
  }
  return true;
}

// The flags of `query`, as given.
struct QueryFlags {
  QueryFilterFlags filter;
  std::string order = "asc";
  std::string output = "jsonl";
  int limit = 100;
  bool all = false;
};

// Registers `query`; its flags fill `*flags`, the global ones `*client`; both must outlive
// the parse and the run.
Verb AddQuery(CLI::App& app, QueryFlags* flags, ClientFlags* client) {
  CLI::App* cmd = app.add_subcommand("query", "Search the audit events stored by an aggregator");
  // The global flags (--dev, --server, ...) are accepted after the verb too.
  cmd->fallthrough();
  cmd->footer(
      "Writes the matching events in time order (--order desc: newest first), one per line:\n"
      "with -o jsonl (default) each audit.k8s.io/v1 Event exactly as kube-apiserver wrote it;\n"
      "with -o json an envelope per event:\n"
      "  "
      "{\"cluster\":...,\"source\":...,\"event\":{...},\"receive_time\":\"...Z\",\"sequence\":N}\n"
      "\n"
      "Time: --since D (from now-D: 2h, 90m, 7d, 1d12h), or --from T [--to T] (T: RFC 3339\n"
      "2026-11-27T10:00:00Z, a date 2026-11-27 (UTC midnight), now or now-D); the range is\n"
      "[from, to) on the event's time. No time flag: all time.\n"
      "Filter flags may be repeated or hold comma-separated alternatives (OR); different\n"
      "flags combine with AND. --user and --impersonated-user accept a trailing '*' (prefix);\n"
      "--resource accepts pods, pods/log, pods/*, */status, deployments.apps; --code 403 or\n"
      "4xx; --namespace \"\" selects cluster-scoped requests.\n"
      "\n"
      "At most --limit events (default 100) are written; when more match, a hint goes to\n"
      "stderr. --all pages through every match.\n"
      "\n"
      "Global flags (before or after the verb): --dev (plaintext), --server HOST:PORT\n"
      "(default 127.0.0.1:7443), --tls-ca, --tls-cert, --tls-key, --tls-server-name,\n"
      "--token (default $KUBETRAIL_TOKEN), --timeout (per call, default 30s).\n"
      "\n"
      "Examples:\n"
      "  kubetrail --dev query --since 2h --user alice\n"
      "  kubetrail --server aggregator:7443 --tls-ca ca.pem query --cluster prod \\\n"
      "      --resource secrets --verb get,list --from 2026-11-27 --to 2026-11-28 --all\n"
      "  kubetrail query --dev --namespace kube-system --code 4xx --order desc --limit 10 -o json\n"
      "\n"
      "Exit codes: 0 success, 1 server, connection or output error, 2 usage error (including a\n"
      "filter value the server refuses).");
  QueryFilterFlags& f = flags->filter;
  CLI::Option* since =
      cmd->add_option("--since", f.since, "Events from this long ago until now (2h, 7d)")
          ->check(NonEmptyValidator())
          ->option_text("DURATION");
  CLI::Option* from = cmd->add_option("--from", f.from, "Events at or after this time")
                          ->check(NonEmptyValidator())
                          ->option_text("TIME");
  CLI::Option* to = cmd->add_option("--to", f.to, "Events before this time")
                        ->check(NonEmptyValidator())
                        ->option_text("TIME");
  since->excludes(from);
  since->excludes(to);
  CLI::Option* limit = cmd->add_option("--limit", flags->limit, "Events to write at most")
                           ->check(CLI::Range(1, kMaxQueryLimit))
                           ->option_text("N (default 100)");
  CLI::Option* all = cmd->add_flag("--all", flags->all, "Write every matching event (pages)");
  limit->excludes(all);
  cmd->add_option("--order", flags->order, "asc (oldest first) or desc (newest first)")
      ->check(CLI::IsMember({"asc", "desc"}))
      ->option_text("ORDER (default asc)");
  cmd->add_option("-o,--output", flags->output, "Output format: jsonl or json (envelope)")
      ->check(CLI::IsMember({"jsonl", "json"}))
      ->option_text("FORMAT (default jsonl)");
  struct ListFlag {
    const char* name;
    std::vector<std::string>* values;
    const char* help;
  };
  for (const ListFlag& list : {
           ListFlag{"--cluster", &f.clusters, "Cluster name"},
           ListFlag{"--user", &f.users, "user.username (trailing * for a prefix)"},
           ListFlag{"--impersonated-user", &f.impersonated_users,
                    "impersonatedUser.username (trailing * for a prefix)"},
           ListFlag{"--group", &f.groups, "One of user.groups"},
           ListFlag{"--verb", &f.verbs, "verb (get, list, delete, ...)"},
           ListFlag{"--namespace", &f.namespaces, "objectRef.namespace (\"\": none)"},
           ListFlag{"--resource", &f.resources, "Resource pattern (pods, pods/log, */status)"},
           ListFlag{"--api-group", &f.api_groups, "objectRef.apiGroup (\"\": core)"},
           ListFlag{"--name", &f.names, "objectRef.name"},
           ListFlag{"--code", &f.codes, "responseStatus.code (403) or class (4xx)"},
           ListFlag{"--stage", &f.stages, "stage (ResponseComplete, ...)"},
           ListFlag{"--level", &f.levels, "level (Metadata, Request, ...)"},
           ListFlag{"--audit-id", &f.audit_ids, "auditID"},
           ListFlag{"--source-ip", &f.source_ips, "One of sourceIPs"},
       }) {
    // One value per occurrence: `--user a b` is an error, not two users.
    cmd->add_option(list.name, *list.values, list.help)
        ->allow_extra_args(false)
        ->option_text("VALUE[,VALUE...]");
  }
  cmd->add_option("--user-agent", f.user_agent, "Substring of userAgent (case-sensitive)")
      ->option_text("TEXT");

  return Verb{
      cmd, [flags, client] {
        constexpr std::string_view kPrefix = "kubetrail query: ";
        if (!ResolveClientFlags(client, kPrefix)) return kExitUsage;
        QueryOptions options;
        if (absl::Status s = ParseQueryFormat(flags->output, &options.format); !s.ok()) {
          std::cerr << kPrefix << s.message() << "\n";
          return kExitUsage;
        }
        if (absl::Status s = ParseQueryOrder(flags->order, &options.order); !s.ok()) {
          std::cerr << kPrefix << s.message() << "\n";
          return kExitUsage;
        }
        absl::StatusOr<kubetrail::v1::Filter> filter = BuildFilter(flags->filter, absl::Now());
        if (!filter.ok()) {
          std::cerr << kPrefix << filter.status().message() << "\n";
          return kExitUsage;
        }
        options.filter = *std::move(filter);
        options.limit = flags->limit;
        options.all = flags->all;
        absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
            CreateServerChannel(client->server);
        if (!channel.ok()) {
          std::cerr << kPrefix << channel.status().message() << "\n";
          return kExitFailure;
        }
        std::unique_ptr<kubetrail::v1::Query::Stub> stub = kubetrail::v1::Query::NewStub(*channel);
        return RunQuery(options, client->server, *stub, std::cout, std::cerr);
      }};
}

int Main(int argc, char** argv) {
  // The verbs write through std::cout in large blocks; no need to interleave with stdio.
  std::ios::sync_with_stdio(false);
  // gRPC logs some failures itself (a failed TLS handshake, ...); the verbs report each
  // failure in one line of their own. Set GRPC_VERBOSITY or GRPC_TRACE to see gRPC's logs.
  if (std::getenv("GRPC_VERBOSITY") == nullptr && std::getenv("GRPC_TRACE") == nullptr) {
    gpr_set_log_function([](gpr_log_func_args*) {});
  }

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
  ClientFlags client_flags;
  QueryFlags query_flags;

  AddClientFlags(app, &client_flags);

  std::vector<Verb> verbs;
  verbs.push_back(AddConvert(app, &convert_options, &convert_output));
  verbs.push_back(AddPolicy(app, &policy_options, &simulate_output));
  verbs.push_back(AddQuery(app, &query_flags, &client_flags));

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
