#include "clients/cli/convert.h"

#include <cstddef>
#include <istream>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "audit/codec.h"
#include "clients/cli/exit_codes.h"
#include "clients/cli/input.h"
#include "kubetrail/v1/event.pb.h"

namespace kubetrail::cli {
namespace {

constexpr std::string_view kPrefix = "kubetrail convert: ";

}  // namespace

absl::Status ParseOutputFormat(std::string_view name, OutputFormat* format) {
  if (name == "jsonl") {
    *format = OutputFormat::kJsonLines;
  } else if (name == "eventlist") {
    *format = OutputFormat::kEventList;
  } else {
    return absl::InvalidArgumentError("unknown output format \"" + std::string(name) +
                                      "\" (want jsonl or eventlist)");
  }
  return absl::OkStatus();
}

int RunConvert(const ConvertOptions& options, std::istream& in, std::ostream& out,
               std::ostream& err) {
  EventRun run(EventRunOptions{kPrefix, options.inputs, options.skip_invalid, options.decode}, out,
               err);
  // Good events kept for an EventList output, written once all inputs are read.
  std::vector<kubetrail::v1::Event> kept;
  const bool eventlist = options.output == OutputFormat::kEventList;
  const bool ok = run.Run(in, [&](kubetrail::v1::Event& event, std::string* buffer) {
    if (eventlist) {
      kept.push_back(std::move(event));
    } else {
      audit::AppendEventJson(event, buffer);
      buffer->push_back('\n');
    }
    return true;
  });
  if (!ok) return kExitFailure;
  if (eventlist) {
    std::vector<const kubetrail::v1::Event*> events;
    events.reserve(kept.size());
    for (const kubetrail::v1::Event& event : kept) events.push_back(&event);
    audit::AppendEventListJson(events, run.buffer());
    run.buffer()->push_back('\n');
    if (!run.Flush()) return kExitFailure;
  }
  run.Summary("written");
  return kExitOk;
}

}  // namespace kubetrail::cli
