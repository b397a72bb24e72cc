// kubetrail — the command-line client. This file only defines the command line: each verb
// registers its flags into an options struct and runs a library function (convert.h, ...)
// that tests can call in-process. Exit codes: exit_codes.h.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <thread>
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
#include "clients/cli/context.h"
#include "clients/cli/convert.h"
#include "clients/cli/events.h"
#include "clients/cli/exit_codes.h"
#include "clients/cli/output.h"
#include "clients/cli/policy.h"
#include "clients/cli/query.h"
#include "clients/cli/reports.h"
#include "clients/cli/retention.h"
#include "common/signals.h"
#include "common/strings.h"
#include "grpc/support/log.h"
#include "kubetrail/client.h"
#include "kubetrail/filter.h"
#include "kubetrail/v1/query.pb.h"

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

// A CLI11 check that accepts what `parse` accepts, with its message otherwise.
// `description` is what CLI11 shows as the value's type, `name` names the check.
template <typename T>
CLI::Validator ParsedBy(absl::Status (*parse)(std::string_view, T*), std::string description,
                        std::string name) {
  return CLI::Validator(
      [parse](std::string& value) {
        T parsed{};
        absl::Status status = parse(value, &parsed);
        return status.ok() ? std::string() : std::string(status.message());
      },
      std::move(description), std::move(name));
}

CLI::Validator OutputFormatValidator() {
  return ParsedBy(&ParseOutputFormat, "jsonl|eventlist", "output format");
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

CLI::Validator SimulateFormatValidator() {
  return ParsedBy(&ParseSimulateFormat, "table|json", "simulate output format");
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

// The global client flags, as given; ConnectClient() turns them into a kubetrail::Client.
struct ClientFlags {
  ServerOptions server;
  std::string timeout = "30s";
  std::string context;
  // Each connection flag and the field it sets, to tell which ones the command line gave
  // (they win over a context).
  std::vector<std::pair<CLI::Option*, bool ClientOptionFields::*>> given;
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
  flags->given.emplace_back(
      app.add_flag("--dev", flags->server.plaintext,
                   "Plaintext, for an aggregator started with --dev (default: TLS)"),
      &ClientOptionFields::plaintext);
  struct StringFlag {
    const char* name;
    std::string* value;
    bool ClientOptionFields::*field;
    const char* help;
    const char* text;
  };
  ServerOptions& server = flags->server;
  for (const StringFlag& f : {
           StringFlag{"--server", &server.server, &ClientOptionFields::server,
                      "The aggregator's gRPC address", "HOST:PORT (default 127.0.0.1:7443)"},
           StringFlag{"--tls-ca", &server.ca_file, &ClientOptionFields::ca_file,
                      "CA bundle for the server certificate (default: system roots)", "FILE"},
           StringFlag{"--tls-cert", &server.cert_file, &ClientOptionFields::cert_file,
                      "Client certificate chain for mutual TLS (with --tls-key)", "FILE"},
           StringFlag{"--tls-key", &server.key_file, &ClientOptionFields::key_file,
                      "Client private key (with --tls-cert)", "FILE"},
           StringFlag{"--tls-server-name", &server.server_name, &ClientOptionFields::server_name,
                      "Name checked against the server certificate (default: the server's host)",
                      "NAME"},
           StringFlag{"--token", &server.token, &ClientOptionFields::token,
                      "Bearer token sent on every call (default: $KUBETRAIL_TOKEN)", "TOKEN"},
       }) {
    flags->given.emplace_back(app.add_option(f.name, *f.value, f.help)->option_text(f.text),
                              f.field);
  }
  flags->given.emplace_back(
      app.add_option("--timeout", flags->timeout, "Deadline of each call (each page of a query)")
          ->check(PositiveDurationValidator())
          ->option_text("DURATION (default 30s)"),
      &ClientOptionFields::timeout);
  app.add_option("--context", flags->context,
                 "A context of the config file ($KUBETRAIL_CONFIG, else "
                 "~/.config/kubetrail/config.yaml; default: its current-context)")
      ->check(NonEmptyValidator())
      ->option_text("NAME");
}

// The client the global flags (and the config file's context) describe. On failure prints
// one line and sets *code: kExitUsage for flags that describe no connection, kExitFailure
// for an unreadable config, token or TLS file.
std::optional<kubetrail::Client> ConnectClient(ClientFlags* flags, std::string_view prefix,
                                               int* code) {
  *code = kExitUsage;
  if (!absl::ParseDuration(flags->timeout, &flags->server.timeout)) {
    std::cerr << prefix << "--timeout: bad duration \"" << flags->timeout << "\"\n";
    return std::nullopt;
  }
  ExplicitFlags given;
  for (const auto& [option, field] : flags->given) given.*field = option->count() > 0;
  if (!given.token) {
    if (const char* token = std::getenv("KUBETRAIL_TOKEN"); token != nullptr && *token != 0) {
      flags->server.token = token;
      given.token = true;
    }
  }
  CliConfigEnv env;
  for (auto [name, value] : {std::pair{"KUBETRAIL_CONFIG", &env.kubetrail_config},
                             std::pair{"XDG_CONFIG_HOME", &env.xdg_config_home},
                             std::pair{"HOME", &env.home}}) {
    if (const char* v = std::getenv(name); v != nullptr) *value = v;
  }
  absl::StatusOr<CliConfig> config = LoadCliConfig(env);
  if (!config.ok()) {
    std::cerr << prefix << config.status().message() << "\n";
    *code = kExitFailure;
    return std::nullopt;
  }
  if (absl::Status s = ApplyContext(*config, flags->context, &flags->server, given); !s.ok()) {
    std::cerr << prefix << s.message() << "\n";
    *code = s.code() == absl::StatusCode::kNotFound && !flags->context.empty() ? kExitUsage
                                                                              : kExitFailure;
    return std::nullopt;
  }
  if (absl::Status s = ValidateServerOptions(flags->server); !s.ok()) {
    std::cerr << prefix << s.message() << "\n";
    return std::nullopt;
  }
  absl::StatusOr<kubetrail::Client> client = kubetrail::Client::Connect(flags->server);
  if (!client.ok()) {
    std::cerr << prefix << client.status().message() << "\n";
    *code = kExitFailure;
    return std::nullopt;
  }
  return *std::move(client);
}

// `-o`, `--local` and `--no-headers`, as given.
struct OutputFlags {
  std::string format = "table";
  bool local = false;
  bool no_headers = false;
};

void AddOutputFlags(CLI::App* cmd, OutputFlags* flags) {
  cmd->add_option("-o,--output", flags->format,
                  "Output format: table, wide, json (envelope per line), jsonl (audit.k8s.io/v1 "
                  "as kube-apiserver writes it) or yaml")
      ->check(CLI::IsMember({"table", "wide", "json", "jsonl", "yaml"}))
      ->option_text("FORMAT (default table)");
  cmd->add_flag("--local", flags->local, "Times in local time instead of UTC (tables)");
  cmd->add_flag("--no-headers", flags->no_headers, "Tables without their header line");
}

// Colour only for a terminal that wants it (https://no-color.org).
bool ColourWanted() {
  if (!::isatty(STDOUT_FILENO) || std::getenv("NO_COLOR") != nullptr) return false;
  const char* term = std::getenv("TERM");
  return term != nullptr && std::string_view(term) != "dumb";
}

bool ResolveOutput(const OutputFlags& flags, std::string_view prefix, EventFormat* format,
                   OutputOptions* options) {
  if (absl::Status s = ParseEventFormat(flags.format, format); !s.ok()) {
    std::cerr << prefix << s.message() << "\n";
    return false;
  }
  options->zone = flags.local ? absl::LocalTimeZone() : absl::UTCTimeZone();
  options->colour = ColourWanted();
  options->no_headers = flags.no_headers;
  return true;
}

// Registers the filter flags (and, with `time`, --since/--from/--to) on `cmd`.
void AddFilterFlags(CLI::App* cmd, FilterFlags* f, bool with_to = true) {
  CLI::Option* since =
      cmd->add_option("--since", f->since, "Events from this long ago (2h, 90m, 7d, 1d12h)")
          ->check(NonEmptyValidator())
          ->option_text("DURATION");
  CLI::Option* from = cmd->add_option("--from", f->from, "Events at or after this time")
                          ->check(NonEmptyValidator())
                          ->option_text("TIME");
  since->excludes(from);
  if (with_to) {
    CLI::Option* to = cmd->add_option("--to", f->to, "Events before this time")
                          ->check(NonEmptyValidator())
                          ->option_text("TIME");
    since->excludes(to);
  }
  struct ListFlag {
    const char* name;
    std::vector<std::string>* values;
    const char* help;
  };
  for (const ListFlag& list : {
           ListFlag{"--cluster", &f->clusters, "Cluster name"},
           ListFlag{"--user", &f->users, "user.username (trailing * for a prefix)"},
           ListFlag{"--as,--impersonated-user", &f->impersonated_users,
                    "impersonatedUser.username (trailing * for a prefix)"},
           ListFlag{"--group", &f->groups, "One of user.groups"},
           ListFlag{"--verb", &f->verbs, "verb (get, list, delete, ...)"},
           ListFlag{"-n,--namespace", &f->namespaces, "objectRef.namespace (\"\": none)"},
           ListFlag{"--resource", &f->resources,
                    "Resource: pods (any group), pods/log, pods/*, */status, deployments.apps"},
           ListFlag{"--api-group", &f->api_groups, "objectRef.apiGroup (\"\": core)"},
           ListFlag{"--name", &f->names, "objectRef.name"},
           ListFlag{"--code", &f->codes, "responseStatus.code (403) or class (4xx)"},
           ListFlag{"--stage", &f->stages, "stage (ResponseComplete, ...)"},
           ListFlag{"--level", &f->levels, "level (Metadata, Request, ...)"},
           ListFlag{"--audit-id", &f->audit_ids, "auditID"},
           ListFlag{"--source-ip", &f->source_ips, "One of sourceIPs"},
       }) {
    // One value per occurrence: `--user a b` is an error, not two users.
    cmd->add_option(list.name, *list.values, list.help)
        ->allow_extra_args(false)
        ->option_text("VALUE[,VALUE...]");
  }
  cmd->add_option("--user-agent", f->user_agent, "Substring of userAgent (case-sensitive)")
      ->option_text("TEXT");
}

// The text every verb's help shares: filters and global flags.
constexpr std::string_view kFilterHelp =
    "Time: --since D (from now-D: 2h, 90m, 7d, 1d12h), or --from T [--to T] (T: RFC 3339\n"
    "2026-11-27T10:00:00Z, a date 2026-11-27 (UTC midnight), now or now-D); the range is\n"
    "[from, to) on the event's time (requestReceivedTimestamp). No time flag: all time.\n"
    "Filter flags may be repeated or hold comma-separated alternatives (OR); different\n"
    "flags combine with AND. --user and --as accept a trailing '*' (prefix); --resource\n"
    "accepts pods (any API group), pods/log, pods/*, */status, deployments.apps; --code 403\n"
    "or 4xx; -n \"\" selects cluster-scoped requests.\n";
constexpr std::string_view kGlobalHelp =
    "Global flags (before or after the verb): --dev (plaintext), --server HOST:PORT\n"
    "(default 127.0.0.1:7443), --tls-ca, --tls-cert, --tls-key, --tls-server-name,\n"
    "--token (default $KUBETRAIL_TOKEN), --timeout (per call, default 30s), --context NAME\n"
    "(a context of ~/.config/kubetrail/config.yaml or $KUBETRAIL_CONFIG).\n"
    "\n"
    "Exit codes: 0 success, 1 server, connection or output error, 2 usage error (including a\n"
    "filter value the server refuses).";

// The filter of a verb's flags; prints the problem and returns nullopt for a usage error.
std::optional<kubetrail::v1::Filter> ResolveFilter(const FilterFlags& flags,
                                                   std::string_view prefix) {
  absl::StatusOr<kubetrail::v1::Filter> filter = BuildFilter(flags, absl::Now());
  if (!filter.ok()) {
    std::cerr << prefix << filter.status().message() << "\n";
    return std::nullopt;
  }
  return *std::move(filter);
}

// Everything an aggregator verb was given on its command line.
struct AggregatorVerbFlags {
  FilterFlags filter;
  OutputFlags output;
  // query
  std::string order = "asc";
  int limit = 100;
  bool all = false;
  // get
  std::string audit_id;
  // top
  std::string dimension;
  int top_limit = 10;
  // histogram
  std::string by = "hour";
  std::string split;
  // export
  std::string file;
  bool resume = false;
  std::string cursor;
  bool quiet = false;
};

// The pieces every aggregator verb runs first: output, filter, client. Returns the exit code
// to stop with, or nullopt to go on.
struct Prepared {
  EventFormat format = EventFormat::kTable;
  OutputOptions output;
  kubetrail::v1::Filter filter;
  std::optional<kubetrail::Client> client;
};

std::optional<int> Prepare(AggregatorVerbFlags* flags, ClientFlags* client,
                           std::string_view prefix, Prepared* prepared) {
  if (!ResolveOutput(flags->output, prefix, &prepared->format, &prepared->output)) {
    return kExitUsage;
  }
  std::optional<kubetrail::v1::Filter> filter = ResolveFilter(flags->filter, prefix);
  if (!filter.has_value()) return kExitUsage;
  prepared->filter = *std::move(filter);
  int code = kExitOk;
  prepared->client = ConnectClient(client, prefix, &code);
  if (!prepared->client.has_value()) return code;
  return std::nullopt;
}

CLI::App* AddAggregatorVerb(CLI::App& app, std::string_view name, std::string_view summary,
                            std::string_view footer) {
  CLI::App* cmd = app.add_subcommand(std::string(name), std::string(summary));
  // The global flags (--dev, --server, ...) are accepted after the verb too.
  cmd->fallthrough();
  cmd->footer(std::string(footer));
  return cmd;
}

Verb AddQuery(CLI::App& app, AggregatorVerbFlags* flags, ClientFlags* client) {
  CLI::App* cmd = AddAggregatorVerb(
      app, "query", "Search the audit events stored by an aggregator",
      Cat("Writes the matching events in time order (--order desc: newest first). -o table\n"
          "(default) and wide are aligned columns; -o jsonl writes each audit.k8s.io/v1 Event\n"
          "exactly as kube-apiserver wrote it (pipe it into jq or any audit-log tool); -o json\n"
          "an envelope per line: {\"cluster\":...,\"source\":...,\"event\":{...},\n"
          "\"receive_time\":\"...Z\",\"sequence\":N}; -o yaml one document per event.\n"
          "\n",
          kFilterHelp,
          "\n"
          "At most --limit events (default 100) are written; when more match, a hint goes to\n"
          "stderr. --all pages through every match (one snapshot: nothing repeats or goes\n"
          "missing while events arrive).\n"
          "\n"
          "Examples:\n"
          "  kubetrail --dev query --since 2h --user alice\n"
          "  kubetrail query --context prod --cluster prod --resource secrets --verb get,list \\\n"
          "      --from 2026-11-27 --to 2026-11-28 --all -o jsonl > secrets.jsonl\n"
          "  kubetrail query --dev -n kube-system --code 4xx --order desc --limit 10 -o wide\n"
          "  kubetrail query --dev --user 'system:serviceaccount:kube-system:*' --verb delete\n"
          "\n",
          kGlobalHelp));
  AddFilterFlags(cmd, &flags->filter);
  AddOutputFlags(cmd, &flags->output);
  CLI::Option* limit = cmd->add_option("--limit", flags->limit, "Events to write at most")
                           ->check(CLI::Range(1, kMaxQueryLimit))
                           ->option_text("N (default 100)");
  CLI::Option* all = cmd->add_flag("--all", flags->all, "Write every matching event (pages)");
  limit->excludes(all);
  cmd->add_option("--order", flags->order, "asc (oldest first) or desc (newest first)")
      ->check(CLI::IsMember({"asc", "desc"}))
      ->option_text("ORDER (default asc)");
  return Verb{cmd, [flags, client] {
                constexpr std::string_view kPrefix = "kubetrail query: ";
                QueryOptions options;
                if (absl::Status s = ParseQueryOrder(flags->order, &options.order); !s.ok()) {
                  std::cerr << kPrefix << s.message() << "\n";
                  return kExitUsage;
                }
                Prepared p;
                if (std::optional<int> code = Prepare(flags, client, kPrefix, &p)) return *code;
                options.filter = std::move(p.filter);
                options.format = p.format;
                options.output = p.output;
                options.limit = flags->limit;
                options.all = flags->all;
                return RunQuery(options, *p.client, std::cout, std::cerr);
              }};
}

Verb AddGet(CLI::App& app, AggregatorVerbFlags* flags, ClientFlags* client) {
  CLI::App* cmd = AddAggregatorVerb(
      app, "get", "Show one request: every stored stage of an auditID",
      Cat("Fetches every stage stored for AUDIT_ID (RequestReceived, ResponseStarted,\n"
          "ResponseComplete, Panic; from any cluster). -o table (default) and wide merge them\n"
          "into one description: who, what, when it started and ended, the final code. -o\n"
          "json, jsonl and yaml write the stages as events.\n"
          "\n"
          "Examples:\n"
          "  kubetrail --dev get 7e1d2c3b-5b55-4f43-9d47-0b8a3c1f6e12\n"
          "  kubetrail get --context prod 7e1d2c3b-5b55-4f43-9d47-0b8a3c1f6e12 -o jsonl\n"
          "\n",
          kGlobalHelp));
  cmd->add_option("AUDIT_ID", flags->audit_id, "The request's auditID")
      ->required()
      ->check(NonEmptyValidator());
  AddOutputFlags(cmd, &flags->output);
  return Verb{cmd, [flags, client] {
                Prepared p;
                if (std::optional<int> code = Prepare(flags, client, "kubetrail get: ", &p)) {
                  return *code;
                }
                return RunGet({.audit_id = flags->audit_id, .format = p.format,
                               .output = p.output},
                              *p.client, std::cout, std::cerr);
              }};
}

// Stops `control` on SIGINT or SIGTERM (the first one). The signals must be blocked in every
// thread (BlockDaemonSignals before gRPC starts its threads).
void StopOnSignal(TailControl* control) {
  std::thread([control] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int signal = 0;
    if (sigwait(&set, &signal) == 0) control->Stop();
  }).detach();
}

Verb AddTail(CLI::App& app, AggregatorVerbFlags* flags, ClientFlags* client) {
  CLI::App* cmd = AddAggregatorVerb(
      app, "tail", "Follow the audit trail live",
      Cat("Writes the matching events as the aggregator stores them, until Ctrl-C (exit 0).\n"
          "With --since or --from it first writes the stored events from then on, then goes\n"
          "on live from exactly where they ended: events that arrive late (a collector that\n"
          "was cut off catching up) are written when they arrive, none twice. When the\n"
          "aggregator restarts, tail says so on stderr and resumes where it was.\n"
          "\n",
          kFilterHelp,
          "(--to is not accepted.)\n"
          "\n"
          "Examples:\n"
          "  kubetrail --dev tail\n"
          "  kubetrail tail --context prod --verb delete,deletecollection -o wide\n"
          "  kubetrail tail --dev --since 10m --resource secrets -o jsonl | jq .user.username\n"
          "\n",
          kGlobalHelp));
  AddFilterFlags(cmd, &flags->filter, /*with_to=*/false);
  AddOutputFlags(cmd, &flags->output);
  return Verb{cmd, [flags, client] {
                // Before any gRPC thread exists, so that only the signal thread gets them.
                BlockDaemonSignals();
                Prepared p;
                if (std::optional<int> code = Prepare(flags, client, "kubetrail tail: ", &p)) {
                  return *code;
                }
                static TailControl control;  // outlives the detached signal thread
                StopOnSignal(&control);
                TailOptions options;
                options.filter = std::move(p.filter);
                options.format = p.format;
                options.output = p.output;
                return RunTail(options, *p.client, &control, std::cout, std::cerr);
              }};
}

Verb AddCount(CLI::App& app, AggregatorVerbFlags* flags, ClientFlags* client) {
  CLI::App* cmd = AddAggregatorVerb(
      app, "count", "Count the matching events",
      Cat("Prints how many stored events match (-o json: {\"count\":N}).\n\n", kFilterHelp,
          "\n"
          "Examples:\n"
          "  kubetrail --dev count --since 24h --verb delete\n"
          "  kubetrail count --context prod --code 403 --from 2026-11-01 --to 2026-12-01\n"
          "\n",
          kGlobalHelp));
  AddFilterFlags(cmd, &flags->filter);
  AddOutputFlags(cmd, &flags->output);
  return Verb{cmd, [flags, client] {
                Prepared p;
                if (std::optional<int> code = Prepare(flags, client, "kubetrail count: ", &p)) {
                  return *code;
                }
                return RunCount({std::move(p.filter), p.format, p.output}, *p.client, std::cout,
                                std::cerr);
              }};
}

Verb AddTop(CLI::App& app, AggregatorVerbFlags* flags, ClientFlags* client) {
  CLI::App* cmd = AddAggregatorVerb(
      app, "top", "The most frequent users, verbs, resources, namespaces, codes or clusters",
      Cat("Counts the matching stored events by DIMENSION (users, verbs, resources,\n"
          "namespaces, codes, clusters) and writes the --limit (default 10) largest, most\n"
          "frequent first. -o json: one array [{\"key\":...,\"count\":...}, ...].\n"
          "\n",
          kFilterHelp,
          "\n"
          "Examples:\n"
          "  kubetrail --dev top users --since 24h\n"
          "  kubetrail top resources --context prod --verb delete --limit 20 -o json\n"
          "  kubetrail top codes --dev --user alice\n"
          "\n",
          kGlobalHelp));
  cmd->add_option("DIMENSION", flags->dimension,
                  "users, verbs, resources, namespaces, codes or clusters")
      ->required()
      ->check(ParsedBy(&ParseDimension, "DIMENSION", "dimension"));
  cmd->add_option("--limit", flags->top_limit, "Values to write")
      ->check(CLI::Range(1, 10000))
      ->option_text("N (default 10)");
  AddFilterFlags(cmd, &flags->filter);
  AddOutputFlags(cmd, &flags->output);
  return Verb{cmd, [flags, client] {
                kubetrail::v1::Dimension dimension = kubetrail::v1::DIMENSION_UNSPECIFIED;
                (void)ParseDimension(flags->dimension, &dimension);  // checked by CLI11
                Prepared p;
                if (std::optional<int> code = Prepare(flags, client, "kubetrail top: ", &p)) {
                  return *code;
                }
                return RunTop({std::move(p.filter), p.format, p.output}, dimension,
                              flags->top_limit, *p.client, std::cout, std::cerr);
              }};
}

Verb AddHistogram(CLI::App& app, AggregatorVerbFlags* flags, ClientFlags* client) {
  CLI::App* cmd = AddAggregatorVerb(
      app, "histogram", "Matching events per hour or day",
      Cat("Counts the matching stored events per --by bucket (hour, the default; day;\n"
          "minute), UTC-aligned, optionally split by a dimension (--split users, verbs, ...).\n"
          "Without --to the range ends now; without --since/--from it spans 24 h (day: 30\n"
          "days; minute: 1 h) before its end. Only buckets with events are written.\n"
          "\n",
          kFilterHelp,
          "\n"
          "Examples:\n"
          "  kubetrail --dev histogram --since 12h\n"
          "  kubetrail histogram --context prod --by day --since 30d --verb delete --split users\n"
          "\n",
          kGlobalHelp));
  cmd->add_option("--by", flags->by, "Bucket size: hour, day or minute")
      ->check(CLI::IsMember({"minute", "hour", "day"}))
      ->option_text("SIZE (default hour)");
  cmd->add_option("--split", flags->split,
                  "Split each bucket by users, verbs, resources, namespaces, codes or clusters")
      ->option_text("DIMENSION");
  AddFilterFlags(cmd, &flags->filter);
  AddOutputFlags(cmd, &flags->output);
  return Verb{cmd, [flags, client] {
                constexpr std::string_view kPrefix = "kubetrail histogram: ";
                kubetrail::v1::Granularity granularity = kubetrail::v1::GRANULARITY_HOUR;
                kubetrail::v1::Dimension by = kubetrail::v1::DIMENSION_UNSPECIFIED;
                absl::Status s = ParseGranularity(flags->by, &granularity);
                if (s.ok() && !flags->split.empty()) s = ParseDimension(flags->split, &by);
                if (!s.ok()) {
                  std::cerr << kPrefix << s.message() << "\n";
                  return kExitUsage;
                }
                Prepared p;
                if (std::optional<int> code = Prepare(flags, client, kPrefix, &p)) return *code;
                return RunHistogram({std::move(p.filter), p.format, p.output}, granularity, by,
                                    absl::Now(), *p.client, std::cout, std::cerr);
              }};
}

Verb AddExport(CLI::App& app, AggregatorVerbFlags* flags, ClientFlags* client) {
  CLI::App* cmd = AddAggregatorVerb(
      app, "export", "Export matching events as audit.k8s.io/v1 JSON lines",
      Cat("Writes every matching event, oldest first, as JSON lines exactly as kube-apiserver\n"
          "writes its audit log, to standard output or --file. The export reads one snapshot\n"
          "of the store page by page. With --file, after each page the file is synced and a\n"
          "checkpoint FILE.checkpoint written; when interrupted, `--file FILE --resume` goes\n"
          "on where it stopped (same filter, nothing repeated). Progress goes to stderr every\n"
          "5 s (--quiet: none).\n"
          "\n",
          kFilterHelp,
          "\n"
          "Examples:\n"
          "  kubetrail --dev export --since 24h > last-day.jsonl\n"
          "  kubetrail export --context prod --cluster prod --from 2026-10-01 --to 2026-11-01 \\\n"
          "      --file october.jsonl\n"
          "  kubetrail export --context prod --file october.jsonl --resume\n"
          "\n",
          kGlobalHelp));
  AddFilterFlags(cmd, &flags->filter);
  cmd->add_option("--file", flags->file, "Write to FILE (with a checkpoint) instead of stdout")
      ->check(NonEmptyValidator())
      ->option_text("FILE");
  cmd->add_flag("--resume", flags->resume,
                "Continue the interrupted export to --file from its checkpoint");
  cmd->add_option("--cursor", flags->cursor,
                  "Continue after this cursor (printed by an interrupted export to stdout)")
      ->check(NonEmptyValidator())
      ->option_text("CURSOR");
  cmd->add_flag("--quiet,-q", flags->quiet, "No progress lines on stderr");
  return Verb{cmd, [flags, client] {
                constexpr std::string_view kPrefix = "kubetrail export: ";
                std::optional<kubetrail::v1::Filter> filter =
                    ResolveFilter(flags->filter, kPrefix);
                if (!filter.has_value()) return kExitUsage;
                int code = kExitOk;
                std::optional<kubetrail::Client> connected = ConnectClient(client, kPrefix, &code);
                if (!connected.has_value()) return code;
                ExportOptions options;
                options.filter = *std::move(filter);
                options.output_path = flags->file;
                options.resume = flags->resume;
                options.cursor = flags->cursor;
                if (flags->quiet) options.progress_every = absl::ZeroDuration();
                return RunExport(options, *connected, std::cout, std::cerr);
              }};
}

Verb AddStatus(CLI::App& app, AggregatorVerbFlags* flags, ClientFlags* client) {
  CLI::App* cmd = AddAggregatorVerb(
      app, "status", "The aggregator's health and store figures",
      Cat("Prints the server's health (grpc.health.v1), its stored events, last ingest\n"
          "sequence, disk use by part and events per cluster (Admin.Stats: outside --dev,\n"
          "admin identities only). Exit 1 when the server is unreachable or not SERVING.\n"
          "\n"
          "Examples:\n"
          "  kubetrail --dev status\n"
          "  kubetrail status --context prod -o json\n"
          "\n",
          kGlobalHelp));
  AddOutputFlags(cmd, &flags->output);
  return Verb{cmd, [flags, client] {
                Prepared p;
                if (std::optional<int> code = Prepare(flags, client, "kubetrail status: ", &p)) {
                  return *code;
                }
                return RunStatus({{}, p.format, p.output}, *p.client, std::cout, std::cerr);
              }};
}

// Everything the retention and hold verbs were given on their command lines.
struct HoldVerbFlags {
  OutputFlags output;
  RetentionOptions retention;
  HoldOptions hold;
  HoldsOptions holds;
};

// Output and client for a retention or hold verb; the exit code to stop with, or nullopt.
std::optional<int> PrepareAdmin(const OutputFlags& output, ClientFlags* client,
                                std::string_view prefix, EventFormat* format,
                                OutputOptions* options,
                                std::optional<kubetrail::Client>* connected) {
  if (!ResolveOutput(output, prefix, format, options)) return kExitUsage;
  int code = kExitOk;
  *connected = ConnectClient(client, prefix, &code);
  if (!connected->has_value()) return code;
  return std::nullopt;
}

constexpr std::string_view kHoldHelp =
    "Changes apply to the running aggregator's store at once and are logged by it with the\n"
    "caller's identity; its periodic retention run (every retention_interval) applies them.\n"
    "Admin identities only, outside --dev. kubetrail-admin's verbs of the same names do the\n"
    "same on a stopped store.\n"
    "\n";

Verb AddRetention(CLI::App& app, HoldVerbFlags* flags, ClientFlags* client) {
  CLI::App* cmd = AddAggregatorVerb(
      app, "retention", "Show or set how long clusters' events are kept",
      Cat("Without --cluster/--keep, prints every retention setting. With them, sets the\n"
          "retention of one cluster (\"*\": every cluster without its own) and prints the\n"
          "settings; --keep 0 clears it (kept forever). Retention removes whole UTC days.\n"
          "\n",
          kHoldHelp,
          "Examples:\n"
          "  kubetrail --dev retention\n"
          "  kubetrail retention --context prod --cluster prod --keep 400d\n"
          "  kubetrail retention --context prod --cluster '*' --keep 2160h\n"
          "  kubetrail retention --context prod --cluster dev-1 --keep 0\n"
          "\n",
          kGlobalHelp));
  cmd->add_option("--cluster", flags->retention.cluster, "Cluster to set (\"*\": the default)")
      ->check(NonEmptyValidator())
      ->option_text("NAME");
  cmd->add_option("--keep", flags->retention.keep,
                  "How long: 400d, 2160h, 1d12h, or 0 to keep forever")
      ->check(NonEmptyValidator())
      ->option_text("DURATION");
  AddOutputFlags(cmd, &flags->output);
  return Verb{cmd, [flags, client] {
                RetentionOptions& options = flags->retention;
                std::optional<kubetrail::Client> connected;
                if (std::optional<int> code = PrepareAdmin(flags->output, client,
                                                           "kubetrail retention: ", &options.format,
                                                           &options.output, &connected)) {
                  return *code;
                }
                return RunRetention(options, *connected, std::cout, std::cerr);
              }};
}

Verb AddHold(CLI::App& app, HoldVerbFlags* flags, ClientFlags* client) {
  CLI::App* cmd = AddAggregatorVerb(
      app, "hold", "Place a legal hold (keeps events past retention)",
      Cat("Keeps the events of a cluster in [--from, --to), optionally only one user's or one\n"
          "namespace's, past their retention until the hold is released ('kubetrail holds\n"
          "--release ID'). Prints the hold's id. Times as --from/--to of query: RFC 3339\n"
          "2026-11-27T10:00:00Z, a date 2026-11-27 (UTC midnight), now or now-D. A hold does\n"
          "not bring back days retention already removed: place it before they expire.\n"
          "\n",
          kHoldHelp,
          "Examples:\n"
          "  kubetrail hold --context prod --cluster prod --from 2026-01-01 --to 2026-04-01 \\\n"
          "      --reason 'case 4711'\n"
          "  kubetrail hold --context prod --cluster prod --user alice@example.com \\\n"
          "      --from now-30d --to now --reason 'HR request 17'\n"
          "\n",
          kGlobalHelp));
  HoldOptions& hold = flags->hold;
  cmd->add_option("--cluster", hold.cluster, "The cluster")
      ->required()
      ->check(NonEmptyValidator())
      ->option_text("NAME");
  cmd->add_option("--from", hold.from, "Start (inclusive)")->required()->option_text("TIME");
  cmd->add_option("--to", hold.to, "End (exclusive)")->required()->option_text("TIME");
  cmd->add_option("--user", hold.user, "Only this user's events (user.username, exact)")
      ->option_text("USER");
  cmd->add_option("--namespace", hold.namespace_name,
                  "Only this namespace's events (objectRef.namespace, exact)")
      ->option_text("NS");
  cmd->add_option("--reason", hold.reason, "Why (kept with the hold)")
      ->required()
      ->check(NonEmptyValidator())
      ->option_text("TEXT");
  AddOutputFlags(cmd, &flags->output);
  return Verb{cmd, [flags, client] {
                HoldOptions& options = flags->hold;
                std::optional<kubetrail::Client> connected;
                if (std::optional<int> code =
                        PrepareAdmin(flags->output, client, "kubetrail hold: ", &options.format,
                                     &options.output, &connected)) {
                  return *code;
                }
                return RunHold(options, absl::Now(), *connected, std::cout, std::cerr);
              }};
}

Verb AddHolds(CLI::App& app, HoldVerbFlags* flags, ClientFlags* client) {
  CLI::App* cmd = AddAggregatorVerb(
      app, "holds", "List legal holds, or release one",
      Cat("Prints every legal hold (ID, CLUSTER, FROM, TO, USER, NAMESPACE, CREATED, REASON).\n"
          "With --release ID, releases that hold first: the events only it kept expire at the\n"
          "next retention run.\n"
          "\n",
          kHoldHelp,
          "Examples:\n"
          "  kubetrail --dev holds\n"
          "  kubetrail holds --context prod -o json\n"
          "  kubetrail holds --context prod --release hold-3\n"
          "\n",
          kGlobalHelp));
  cmd->add_option("--release", flags->holds.release, "Release this hold first")
      ->check(NonEmptyValidator())
      ->option_text("ID");
  AddOutputFlags(cmd, &flags->output);
  return Verb{cmd, [flags, client] {
                HoldsOptions& options = flags->holds;
                std::optional<kubetrail::Client> connected;
                if (std::optional<int> code =
                        PrepareAdmin(flags->output, client, "kubetrail holds: ", &options.format,
                                     &options.output, &connected)) {
                  return *code;
                }
                return RunHolds(options, *connected, std::cout, std::cerr);
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
  AggregatorVerbFlags aggregator_flags;  // only one verb runs, so they can share
  HoldVerbFlags hold_flags;

  AddClientFlags(app, &client_flags);

  std::vector<Verb> verbs;
  verbs.push_back(AddConvert(app, &convert_options, &convert_output));
  verbs.push_back(AddPolicy(app, &policy_options, &simulate_output));
  verbs.push_back(AddQuery(app, &aggregator_flags, &client_flags));
  verbs.push_back(AddGet(app, &aggregator_flags, &client_flags));
  verbs.push_back(AddTail(app, &aggregator_flags, &client_flags));
  verbs.push_back(AddCount(app, &aggregator_flags, &client_flags));
  verbs.push_back(AddTop(app, &aggregator_flags, &client_flags));
  verbs.push_back(AddHistogram(app, &aggregator_flags, &client_flags));
  verbs.push_back(AddExport(app, &aggregator_flags, &client_flags));
  verbs.push_back(AddStatus(app, &aggregator_flags, &client_flags));
  verbs.push_back(AddRetention(app, &hold_flags, &client_flags));
  verbs.push_back(AddHold(app, &hold_flags, &client_flags));
  verbs.push_back(AddHolds(app, &hold_flags, &client_flags));

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
