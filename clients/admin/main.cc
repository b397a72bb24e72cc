// kubetrail-admin — operator's tool for a kubetrail store on local disk. This file only
// defines the command line: each verb fills an options struct and runs a function of
// admin.h. Exit codes: admin.h.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "clients/admin/admin.h"

#ifndef KUBETRAIL_VERSION
#define KUBETRAIL_VERSION "unknown"
#endif

namespace kubetrail::admin {
namespace {

// One verb: its subcommand and what runs when it was chosen. `run` returns the exit code.
struct Verb {
  CLI::App* command;
  std::function<int()> run;
};

constexpr char kExitCodesCheck[] =
    "Exit codes: 0 consistent, 1 problems found, 2 the store could not be opened or read,\n"
    "or a usage error.";
constexpr char kExitCodes[] = "Exit codes: 0 success, 2 failure or usage error.";

Verb AddCheck(CLI::App& app, CheckOptions* options) {
  CLI::App* cmd = app.add_subcommand("check", "Verify a store's indexes and rollups");
  cmd->footer(
      std::string("Opens the store read-only and verifies that every index entry points at a\n"
                  "stored event, every event has its index, auditID and sequence entries, and\n"
                  "every rollup count equals the number of events it counts. Reads the whole\n"
                  "store. Prints 'DIR: ok (N events, M index entries, K auditID entries,\n"
                  "R rollup counts)', or one 'DIR: problem: ...' line per problem and a last\n"
                  "line 'DIR: N problems'.\n"
                  "\n"
                  "Examples:\n"
                  "  kubetrail-admin check --data-dir /var/lib/kubetrail/store\n"
                  "  kubetrail-admin check --data-dir ./restored || echo inconsistent\n"
                  "\n") +
      kExitCodesCheck);
  cmd->add_option("--data-dir", options->data_dir, "The store's directory")
      ->required()
      ->option_text("DIR");
  return Verb{cmd, [options] { return RunCheck(*options, std::cout, std::cerr); }};
}

Verb AddStats(CLI::App& app, StatsOptions* options) {
  CLI::App* cmd = app.add_subcommand("stats", "Print a store's event counts and size");
  cmd->footer(
      std::string("Opens the store read-only and prints the number of events, the last\n"
                  "sequence number, the bytes of its live files, and the events per cluster.\n"
                  "\n"
                  "Examples:\n"
                  "  kubetrail-admin stats --data-dir /var/lib/kubetrail/store\n"
                  "  kubetrail-admin stats --data-dir ./store | grep '^events:'\n"
                  "\n") +
      kExitCodes);
  cmd->add_option("--data-dir", options->data_dir, "The store's directory")
      ->required()
      ->option_text("DIR");
  return Verb{cmd, [options] { return RunStats(*options, std::cout, std::cerr); }};
}

Verb AddBackup(CLI::App& app, BackupOptions* options) {
  CLI::App* cmd = app.add_subcommand("backup", "Add a backup of a stopped store");
  cmd->footer(
      std::string(
          "Copies the store into BACKUPDIR (created when missing) as a new backup.\n"
          "Backups are incremental: files already in BACKUPDIR are shared, not copied\n"
          "again. The aggregator must be stopped: a store in use is refused. The store\n"
          "is only read.\n"
          "\n"
          "Examples:\n"
          "  kubetrail-admin backup --data-dir /var/lib/kubetrail/store \\\n"
          "      --to /backups/kubetrail\n"
          "  systemctl stop kubetrail-aggregator && \\\n"
          "      kubetrail-admin backup --data-dir /var/lib/kubetrail/store --to /mnt/b; \\\n"
          "      systemctl start kubetrail-aggregator\n"
          "\n") +
      kExitCodes);
  cmd->add_option("--data-dir", options->data_dir, "The store's directory")
      ->required()
      ->option_text("DIR");
  cmd->add_option("--to", options->backup_dir, "The backup directory")
      ->required()
      ->option_text("BACKUPDIR");
  return Verb{cmd, [options] { return RunBackup(*options, std::cout, std::cerr); }};
}

Verb AddListBackups(CLI::App& app, ListBackupsOptions* options) {
  CLI::App* cmd = app.add_subcommand("backups", "List the backups in a backup directory");
  cmd->footer(std::string("Prints one line per backup, oldest first: its id, creation time (UTC),\n"
                          "bytes and number of files (files shared with other backups included).\n"
                          "\n"
                          "Examples:\n"
                          "  kubetrail-admin backups --dir /backups/kubetrail\n"
                          "  kubetrail-admin backups --dir /backups/kubetrail | tail -n 1\n"
                          "\n") +
              kExitCodes);
  cmd->add_option("--dir", options->backup_dir, "The backup directory")
      ->required()
      ->option_text("BACKUPDIR");
  return Verb{cmd, [options] { return RunListBackups(*options, std::cout, std::cerr); }};
}

Verb AddRestore(CLI::App& app, RestoreOptions* options, std::optional<uint32_t>* backup_id) {
  CLI::App* cmd = app.add_subcommand("restore", "Restore a backup into a new store directory");
  cmd->footer(
      std::string("Verifies the backup's checksums, then restores it into DIR, which must not\n"
                  "exist or be empty: an existing store is never overwritten. DIR holds the\n"
                  "whole store or nothing. Without --backup-id the latest backup is restored.\n"
                  "\n"
                  "Examples:\n"
                  "  kubetrail-admin restore --from /backups/kubetrail \\\n"
                  "      --data-dir /var/lib/kubetrail/store.new\n"
                  "  kubetrail-admin restore --from /backups/kubetrail --backup-id 3 \\\n"
                  "      --data-dir /tmp/store-as-of-3\n"
                  "\n") +
      kExitCodes);
  cmd->add_option("--from", options->backup_dir, "The backup directory")
      ->required()
      ->option_text("BACKUPDIR");
  cmd->add_option("--data-dir", options->data_dir, "The new store's directory")
      ->required()
      ->option_text("DIR");
  cmd->add_option("--backup-id", *backup_id, "The backup to restore (default: the latest)")
      ->check(CLI::Range(1u, UINT32_MAX))
      ->option_text("N");
  return Verb{cmd, [options, backup_id] {
                options->backup_id = *backup_id;
                return RunRestore(*options, std::cout, std::cerr);
              }};
}

Verb AddRetention(CLI::App& app, RetentionOptions* options) {
  CLI::App* cmd = app.add_subcommand("retention", "Show or set how long clusters' events are kept");
  cmd->footer(
      std::string("Without --cluster/--keep, prints every setting. With them, sets the retention\n"
                  "of one cluster (\"*\": every cluster without its own); --keep 0 clears it.\n"
                  "Retention removes whole UTC days at the next 'expire' (or, in a running\n"
                  "aggregator, its periodic run). The store must not be open elsewhere to set:\n"
                  "on a running aggregator, use 'kubetrail retention' instead.\n"
                  "\n"
                  "Examples:\n"
                  "  kubetrail-admin retention --data-dir ./store\n"
                  "  kubetrail-admin retention --data-dir ./store --cluster prod --keep 400d\n"
                  "  kubetrail-admin retention --data-dir ./store --cluster '*' --keep 2160h\n"
                  "\n") +
      kExitCodes);
  cmd->add_option("--data-dir", options->data_dir, "The store's directory")
      ->required()
      ->option_text("DIR");
  cmd->add_option("--cluster", options->cluster, "Cluster to set (\"*\": the default)")
      ->option_text("NAME");
  cmd->add_option("--keep", options->keep, "How long: 90d, 2160h, or 0 to keep forever")
      ->option_text("DURATION");
  return Verb{cmd, [options] { return RunRetention(*options, std::cout, std::cerr); }};
}

Verb AddHold(CLI::App& app, HoldOptions* options) {
  CLI::App* cmd = app.add_subcommand("hold", "Place a legal hold (keeps events past retention)");
  cmd->footer(
      std::string(
          "Keeps the events of a cluster in [--from, --to), optionally only one user's\n"
          "or one namespace's, past their retention until the hold is released.\n"
          "Prints the hold's id. The store must not be open elsewhere: on a running\n"
          "aggregator, use 'kubetrail hold' instead.\n"
          "\n"
          "Examples:\n"
          "  kubetrail-admin hold --data-dir ./store --cluster prod \\\n"
          "      --from 2026-01-01T00:00:00Z --to 2026-04-01T00:00:00Z --reason 'case 4711'\n"
          "  kubetrail-admin hold --data-dir ./store --cluster prod --user alice \\\n"
          "      --from 2026-03-01T00:00:00Z --to 2026-03-08T00:00:00Z\n"
          "\n") +
      kExitCodes);
  cmd->add_option("--data-dir", options->data_dir, "The store's directory")
      ->required()
      ->option_text("DIR");
  cmd->add_option("--cluster", options->cluster, "The cluster")->required()->option_text("NAME");
  cmd->add_option("--from", options->from, "Start (RFC 3339, inclusive)")
      ->required()
      ->option_text("TIME");
  cmd->add_option("--to", options->to, "End (RFC 3339, exclusive)")
      ->required()
      ->option_text("TIME");
  cmd->add_option("--user", options->user, "Only this user's events")->option_text("USER");
  cmd->add_option("--namespace", options->namespace_name, "Only this namespace's events")
      ->option_text("NS");
  cmd->add_option("--reason", options->reason, "Why (kept with the hold)")->option_text("TEXT");
  return Verb{cmd, [options] { return RunHold(*options, std::cout, std::cerr); }};
}

Verb AddHolds(CLI::App& app, HoldsOptions* options) {
  CLI::App* cmd = app.add_subcommand("holds", "List legal holds, or release one");
  cmd->footer(std::string("Examples:\n"
                          "  kubetrail-admin holds --data-dir ./store\n"
                          "  kubetrail-admin holds --data-dir ./store --release hold-3\n"
                          "\n") +
              kExitCodes);
  cmd->add_option("--data-dir", options->data_dir, "The store's directory")
      ->required()
      ->option_text("DIR");
  cmd->add_option("--release", options->release, "Release this hold first")->option_text("ID");
  return Verb{cmd, [options] { return RunHolds(*options, std::cout, std::cerr); }};
}

Verb AddExpire(CLI::App& app, ExpireOptions* options) {
  CLI::App* cmd = app.add_subcommand("expire", "Apply retention now (or as of --now)");
  cmd->footer(
      std::string("Removes every event whose UTC day is older than its cluster's retention,\n"
                  "except those legal holds cover, and prints how many.\n"
                  "\n"
                  "Examples:\n"
                  "  kubetrail-admin expire --data-dir ./store\n"
                  "  kubetrail-admin expire --data-dir ./store --now 2027-01-01T00:00:00Z\n"
                  "\n") +
      kExitCodes);
  cmd->add_option("--data-dir", options->data_dir, "The store's directory")
      ->required()
      ->option_text("DIR");
  cmd->add_option("--now", options->now, "The time to apply retention at (RFC 3339)")
      ->option_text("TIME");
  return Verb{cmd, [options] { return RunExpire(*options, std::cout, std::cerr); }};
}

int Main(int argc, char** argv) {
  CLI::App app("kubetrail-admin: check, inspect, back up and restore a kubetrail store",
               "kubetrail-admin");
  app.set_version_flag("--version", "kubetrail-admin " KUBETRAIL_VERSION);
  // At most one verb; "none" is reported below, after CLI11 had its say about unknown words.
  app.require_subcommand(0, 1);
  app.footer(
      "Verbs: check, stats, backup, backups, restore, retention, hold, holds, expire. Run\n"
      "'kubetrail-admin VERB --help' for a verb's flags and examples. Everything but check,\n"
      "stats and listing needs the aggregator stopped.");

  CheckOptions check_options;
  StatsOptions stats_options;
  BackupOptions backup_options;
  ListBackupsOptions list_options;
  RestoreOptions restore_options;
  std::optional<uint32_t> backup_id;
  RetentionOptions retention_options;
  HoldOptions hold_options;
  HoldsOptions holds_options;
  ExpireOptions expire_options;

  std::vector<Verb> verbs;
  verbs.push_back(AddCheck(app, &check_options));
  verbs.push_back(AddStats(app, &stats_options));
  verbs.push_back(AddBackup(app, &backup_options));
  verbs.push_back(AddListBackups(app, &list_options));
  verbs.push_back(AddRestore(app, &restore_options, &backup_id));
  verbs.push_back(AddRetention(app, &retention_options));
  verbs.push_back(AddHold(app, &hold_options));
  verbs.push_back(AddHolds(app, &holds_options));
  verbs.push_back(AddExpire(app, &expire_options));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version arrive here too, with CLI11's success code.
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitError;
  }
  std::string names;
  for (const Verb& verb : verbs) {
    if (verb.command->parsed()) return verb.run();
    names += (names.empty() ? "" : ", ") + verb.command->get_name();
  }
  std::cerr << "A verb is required (" << names << ")\nRun with --help for more information.\n";
  return kExitError;
}

}  // namespace
}  // namespace kubetrail::admin

int main(int argc, char** argv) { return kubetrail::admin::Main(argc, argv); }
