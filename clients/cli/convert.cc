#include "clients/cli/convert.h"


#include <cerrno>
#include <cstddef>
#include <deque>
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
// Output is collected in memory and handed to the stream in pieces of about this size:
// large enough that writes are few, small enough that memory stays flat.
constexpr size_t kFlushBytes = size_t{1} << 20;

// One run of the verb: the output buffer, the events kept for an EventList, the counts.
// Not thread-safe; lives for one RunConvert call and borrows the streams.
class Converter {
 public:
  Converter(const ConvertOptions& options, std::ostream& out, std::ostream& err)
      : options_(options), out_(out), err_(err) {}

  // Converts every event of `body`, read from `name`. Returns false when the run must stop
  // (a bad event without skip_invalid, or a failed write), after reporting why.
  // `body` must be followed by audit::kReadPadding readable bytes (see ReserveReadPadding).
  bool ConvertInput(std::string_view name, std::string_view body) {
    audit::EventReader reader(body, options_.decode, audit::kReadPadding);
    kubetrail::v1::Event scratch;
    while (true) {
      // For an EventList the event is decoded straight into its final place.
      kubetrail::v1::Event* event = &scratch;
      if (options_.output == OutputFormat::kEventList) event = &kept_.emplace_back();
      absl::StatusOr<bool> more = reader.Next(event);
      if (!more.ok() || !*more) {
        if (options_.output == OutputFormat::kEventList) kept_.pop_back();
      }
      if (!more.ok()) {
        ++invalid_;
        // Whatever precedes the bad event reaches `out` before the report reaches `err`, so
        // the two streams read in order on a terminal.
        if (!Flush()) return false;
        err_ << kPrefix << name;
        if (reader.line() > 0) err_ << ':' << reader.line();
        const absl::string_view message = more.status().message();
        err_ << ": " << EventErrorMessage({message.data(), message.size()}, reader.line()) << '\n';
        if (!options_.skip_invalid) return false;
        continue;
      }
      if (!*more) return true;
      ++written_;
      if (options_.output == OutputFormat::kJsonLines) {
        audit::AppendEventJson(*event, &buffer_);
        buffer_.push_back('\n');
        if (buffer_.size() >= kFlushBytes && !Flush()) return false;
      }
    }
  }

  // Reports an input that could not be read. Always stops the run.
  void ReportReadError(const absl::Status& status) {
    Flush();  // reports its own failure, if any
    err_ << kPrefix << status.message() << '\n';
  }

  // Ends a run whose inputs all went through; returns the exit code.
  int Finish() {
    if (options_.output == OutputFormat::kEventList) {
      std::vector<const kubetrail::v1::Event*> events;
      events.reserve(kept_.size());
      for (const kubetrail::v1::Event& event : kept_) events.push_back(&event);
      audit::AppendEventListJson(events, &buffer_);
      buffer_.push_back('\n');
    }
    if (!Flush()) return kExitFailure;
    if (options_.skip_invalid) {
      err_ << kPrefix << invalid_ << " invalid event" << (invalid_ == 1 ? "" : "s")
           << " skipped, " << written_ << " written\n";
    }
    return kExitOk;
  }

  // Hands the buffered output to `out` and flushes it. Returns false, after reporting, if the
  // stream failed; once failed, it stays failed.
  bool Flush() {
    if (write_failed_) return false;
    errno = 0;
    out_.write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    out_.flush();
    buffer_.clear();
    if (!out_) {
      const int error = errno;
      write_failed_ = true;
      err_ << kPrefix;
      if (error != 0) {
        err_ << absl::ErrnoToStatus(error, "cannot write output").message() << '\n';
      } else {
        err_ << "cannot write output\n";
      }
      return false;
    }
    return true;
  }

 private:
  const ConvertOptions& options_;
  std::ostream& out_;
  std::ostream& err_;
  std::string buffer_;  // encoded output not yet handed to out_
  // Good events kept for an EventList output. A deque: pointers to its elements stay valid
  // as it grows.
  std::deque<kubetrail::v1::Event> kept_;
  size_t written_ = 0;  // good events (written or, for an EventList, to be written)
  size_t invalid_ = 0;
  bool write_failed_ = false;
};

}  // namespace

absl::Status ParseOutputFormat(std::string_view name, OutputFormat* format) {
  if (name == "jsonl") {
    *format = OutputFormat::kJsonLines;
  } else if (name == "eventlist") {
    *format = OutputFormat::kEventList;
  } else {
    return absl::InvalidArgumentError(
        "unknown output format \"" + std::string(name) + "\" (want jsonl or eventlist)");
  }
  return absl::OkStatus();
}

int RunConvert(const ConvertOptions& options, std::istream& in, std::ostream& out,
               std::ostream& err) {
  static const std::vector<std::string> kStdinOnly = {"-"};
  const std::vector<std::string>& inputs = options.inputs.empty() ? kStdinOnly : options.inputs;
  Converter converter(options, out, err);
  // One buffer for all inputs: it keeps its capacity from one input to the next.
  std::string body;
  for (const std::string& input : inputs) {
    const bool is_stdin = input == "-";
    const std::string_view name = is_stdin ? kStdinName : std::string_view(input);
    absl::Status read =
        is_stdin ? ReadWholeStream(in, kStdinName, &body) : ReadWholeFile(input, &body);
    if (!read.ok()) {
      converter.ReportReadError(read);
      return kExitFailure;
    }
    // Spare capacity after the text lets the reader parse the last line in place.
    audit::ReserveReadPadding(body);
    if (!converter.ConvertInput(name, body)) return kExitFailure;
  }
  return converter.Finish();
}

}  // namespace kubetrail::cli
