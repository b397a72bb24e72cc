// `kubetrail retention`, `hold` and `holds`: the retention settings and legal holds of a
// running aggregator's store (Admin.ListRetention, SetRetention, PlaceHold, ListHolds,
// ReleaseHold; outside --dev, admin identities only), written through output.h. They read
// like `kubetrail-admin`'s verbs of the same names, which do the same on a stopped store.
//
//   HoldOptions options;
//   options.cluster = "prod";
//   options.from = "2026-03-01";
//   options.to = "2026-03-08";
//   options.reason = "case 4711";
//   int code = RunHold(options, absl::Now(), client, std::cout, std::cerr);  // prints hold-3
//
// Every verb returns an exit code (exit_codes.h): a bad flag value is one line
// `kubetrail VERB: --flag: message` on `err` and kExitUsage, before any call; a failed call
// is `kubetrail: SERVER: CODE: message` (ReportRpcError; INVALID_ARGUMENT exit 2).
// Thread safety: none needed (no state between calls).
#ifndef KUBETRAIL_CLIENTS_CLI_RETENTION_H_
#define KUBETRAIL_CLIENTS_CLI_RETENTION_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "clients/cli/output.h"
#include "kubetrail/client.h"

namespace kubetrail::cli {

// Parses a `--keep` duration into microseconds: "0" (keep forever: clears the setting), or a
// positive duration as --since takes it ("90d", "2160h", "1d12h"; kubetrail::ParseSince).
// InvalidArgument otherwise.
absl::StatusOr<int64_t> ParseKeep(std::string_view text);

struct RetentionOptions {
  // Both empty: print the settings. Both set: set the retention of `cluster` ("*": the
  // default for clusters without their own) to `keep` (ParseKeep; "0" clears it), then print
  // the settings. One without the other is a usage error.
  std::string cluster;
  std::string keep;
  EventFormat format = EventFormat::kTable;
  OutputOptions output;
};
// `kubetrail retention`: prints every setting (AppendRetention) after the change, if any.
int RunRetention(const RetentionOptions& options, const kubetrail::Client& client,
                 std::ostream& out, std::ostream& err);

struct HoldOptions {
  std::string cluster;         // required
  std::string from;            // required; a time as --from takes it (kubetrail::ParseTimeFlag)
  std::string to;              // required; exclusive, after `from`
  std::string user;            // optional: only this user's events (user.username)
  std::string namespace_name;  // optional: only this namespace's events
  std::string reason;          // kept with the hold
  EventFormat format = EventFormat::kTable;
  OutputOptions output;
};
// `kubetrail hold`: places the hold and prints its id (tables), or the hold as `holds` prints
// it (JSON, YAML). `now` is what "now" and "now-7d" in --from/--to mean.
int RunHold(const HoldOptions& options, absl::Time now, const kubetrail::Client& client,
            std::ostream& out, std::ostream& err);

struct HoldsOptions {
  std::string release;  // when set: the id of a hold to release first ("hold-3")
  EventFormat format = EventFormat::kTable;
  OutputOptions output;
};
// `kubetrail holds`: releases `release` (when given; an unknown id: NOT_FOUND, exit 1) and
// prints every hold (AppendHolds).
int RunHolds(const HoldsOptions& options, const kubetrail::Client& client, std::ostream& out,
             std::ostream& err);

}  // namespace kubetrail::cli

#endif  // KUBETRAIL_CLIENTS_CLI_RETENTION_H_
