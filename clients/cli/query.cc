#include "clients/cli/query.h"

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "clients/cli/connection.h"
#include "clients/cli/exit_codes.h"
#include "common/strings.h"
#include "kubetrail/v1/query.pb.h"

namespace kubetrail::cli {
namespace {

constexpr std::string_view kPrefix = "kubetrail query: ";

// Events per piece of output (and per computation of table widths).
constexpr size_t kEventsPerWrite = 1000;

}  // namespace

absl::Status ParseQueryOrder(std::string_view name, kubetrail::v1::Order* order) {
  if (name == "asc") {
    *order = kubetrail::v1::ORDER_ASCENDING;
  } else if (name == "desc") {
    *order = kubetrail::v1::ORDER_DESCENDING;
  } else {
    return absl::InvalidArgumentError(Cat("unknown order \"", name, "\" (want asc or desc)"));
  }
  return absl::OkStatus();
}

bool WriteSearchResults(kubetrail::SearchIterator& it, EventPrinter& printer,
                        std::string_view prefix, std::ostream& out, std::ostream& err) {
  std::string buffer;
  size_t pending = 0;
  while (it.Next()) {
    printer.Add(it.event());
    // Written in pieces, so that a long search streams.
    if (++pending == kEventsPerWrite) {
      printer.Flush(&buffer);
      if (!WriteOutput(buffer, prefix, out, err)) return false;
      buffer.clear();
      pending = 0;
    }
  }
  printer.Flush(&buffer);
  return WriteOutput(buffer, prefix, out, err);
}

int RunQuery(const QueryOptions& options, const kubetrail::Client& client, std::ostream& out,
             std::ostream& err) {
  const int page_limit = options.all ? options.page_size : options.limit;
  if (page_limit < 1 || page_limit > kMaxQueryLimit) {
    err << kPrefix << (options.all ? "page size" : "--limit") << " must be 1-" << kMaxQueryLimit
        << ", got " << page_limit << "\n";
    return kExitUsage;
  }
  kubetrail::SearchIterator it =
      client.Search(options.filter, {.order = options.order,
                                     .limit = options.all ? 0 : static_cast<uint64_t>(page_limit),
                                     .page_size = page_limit,
                                     .cursor = {}});
  EventPrinter printer(options.format, options.output);
  if (!WriteSearchResults(it, printer, kPrefix, out, err)) return kExitFailure;
  if (!it.status().ok()) return ReportRpcError(client.options().server, it.status(), err);
  if (it.more() && !options.all) {
    err << kPrefix << "more events match; use --all or --limit N (up to " << kMaxQueryLimit
        << ")\n";
  }
  return kExitOk;
}

}  // namespace kubetrail::cli
