// What the store bench (store_bench.h) and the aggregator bench (aggregator_bench.h) share:
// the decoded input, the raw-put baseline, the choice of query parameters and the timing of
// queries. Internal to kubetrail-bench; not a library contract.
//
//   KT_ASSIGN_OR_RETURN(const Input input, LoadInput(path));
//   KT_ASSIGN_OR_RETURN(const QueryParams params, ChooseParams(input, {}, "my-bench"));
//   KT_ASSIGN_OR_RETURN(const double raw_put, RawPut(dir / "rawput", input, 4, "my-bench"));
//   KT_ASSIGN_OR_RETURN(QueryStats stats, TimeQuery("get", 100, [&] { ... }));
//
// Thread safety: the functions may run on any thread; an Input is immutable once loaded.
#ifndef KUBETRAIL_BENCH_BENCH_COMMON_H_
#define KUBETRAIL_BENCH_BENCH_COMMON_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iostream>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "bench/loadgen/json_writer.h"
#include "kubetrail/v1/event.pb.h"

namespace kubetrail::bench {

// Events per Write, and per WriteBatch of the raw put: what a collector ships at a time.
inline constexpr size_t kBatchEvents = 400;
// The envelope every input event gets.
inline constexpr std::string_view kCluster = "bench";
inline constexpr std::string_view kSource = "apiserver-1";
inline constexpr int64_t kReceiveDelayUs = 1'000'000;  // receive_time_us = event time + 1 s

inline constexpr int64_t kHourUs = 3'600'000'000;
inline constexpr int64_t kDayUs = 24 * kHourUs;

// The input, decoded. `lines[i]` is the JSON of `events[i]`; both point into / live as long as
// the Input.
struct Input {
  std::string text;
  std::vector<std::string_view> lines;
  std::vector<kubetrail::v1::EnvelopedEvent> events;
  std::vector<int64_t> times_us;  // EventTimeMicros(events[i])
  uint64_t skipped_lines = 0;     // non-blank lines of the file that the LineFilter left out

  size_t batch_count() const { return (events.size() + kBatchEvents - 1) / kBatchEvents; }
  absl::Span<const kubetrail::v1::EnvelopedEvent> batch(size_t b) const {
    const size_t begin = b * kBatchEvents;
    return absl::MakeConstSpan(events).subspan(begin, kBatchEvents);
  }
};

// Which lines of the input file LoadInput keeps, by their length in bytes (without the line
// end). The defaults keep every line.
struct LineFilter {
  // Shortest line kept. Default: 0.
  size_t min_bytes = 0;
  // Longest line kept. Default: no limit.
  size_t max_bytes = std::numeric_limits<size_t>::max();

  bool all() const { return min_bytes == 0 && max_bytes == std::numeric_limits<size_t>::max(); }
};

// What the queries ask for (bench/README.md lists the queries).
struct QueryParams {
  std::string user;
  int64_t from_us = 0;
  std::string audit_id;
  std::string namespace_name;
};

// Values fixed by --params; the others are chosen from the data.
struct ParamOverrides {
  std::optional<std::string> user;
  std::optional<int64_t> from_us;
  std::optional<std::string> audit_id;
  std::optional<std::string> namespace_name;
};

struct QueryStats {
  double p50_ms = 0;
  double p99_ms = 0;
  uint64_t results = 0;  // results of the warm-up run
  int runs = 0;
  // The process's CPU time (every thread) over the timed runs, in µs per run: for a query the
  // bench both asks and answers, the CPU of the whole round trip. Background work running
  // at the same time (compactions) counts too.
  double cpu_us = 0;
};

// `v` with `decimals` digits after the point; "null" when not finite (a JSON value).
std::string Fixed(double v, int decimals);

double Seconds(std::chrono::steady_clock::duration d);

// CPU seconds (user + system) this process has used so far, on all its threads, RocksDB's
// background threads included. On a machine whose speed varies by tens of percent between
// runs, the CPU a phase costs per event is steadier than its events/s.
double ProcessCpuSeconds();

// CPU seconds spent on `events` events, as microseconds per event with one decimal.
std::string CpuUsPerEvent(double cpu_seconds, uint64_t events);

// Keeps the first error that any of several threads reports, and lets the others see that
// one happened so they stop early. Thread-safe.
class FirstError {
 public:
  void Set(absl::Status status);
  bool failed() const { return failed_.load(std::memory_order_relaxed); }
  absl::Status Get();

 private:
  absl::Mutex mu_;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> failed_{false};
};

// Runs `write(b)` for every batch b in [0, batches) on `writers` threads, each taking the
// next batch from a shared index, and returns the wall time from the first start to the last
// finish. Stops at the first error and returns it.
absl::StatusOr<double> RunWriters(int writers, size_t batches,
                                  const std::function<absl::Status(size_t)>& write);

// Reads `path` (JSON lines, one Event per line; blank lines skipped), keeps the lines that
// `filter` admits (reading the file a line at a time then, so that only those are held in
// memory) and wraps every event in the bench's envelope. Errors: NotFound (cannot
// open), DataLoss (read failed), InvalidArgument (no event left, or a line that does not
// decode; the message names the event's position among the kept lines).
absl::StatusOr<Input> LoadInput(const std::string& path, const LineFilter& filter = {});

// The raw put: every input line into a plain RocksDB database at `path` (which must not
// exist: AlreadyExists; it is removed afterwards), key = big-endian event time + big-endian
// line index, value = the line; batches of kBatchEvents written with sync = true by
// `writers` threads (RunWriters). Returns events/s. `log_component` names the bench in the
// warning logged when the database cannot be removed.
absl::StatusOr<double> RawPut(const std::filesystem::path& path, const Input& input, int writers,
                              std::string_view log_component);

// Fills whatever `overrides` leaves open from the data (see bench/README.md for the rules).
// InvalidArgument when no event has a username and no user is given. `log_component` names
// the bench in the warnings about fallbacks.
absl::StatusOr<QueryParams> ChooseParams(const Input& input, const ParamOverrides& overrides,
                                         std::string_view log_component);

// Nearest-rank percentile of sorted, non-empty `values`.
double Percentile(const std::vector<double>& sorted, double p);

// Runs `query` (returning its number of results) once to warm up and `runs` times timed.
// A failed run ends it with that error, prefixed with "query NAME: ".
absl::StatusOr<QueryStats> TimeQuery(std::string_view name, int runs,
                                     const std::function<absl::StatusOr<uint64_t>()>& query);

// DIR without a trailing separator, absolute.
std::filesystem::path NormalizeDir(const std::string& dir);

// A bench must write into a new directory: measuring into an existing store would mix runs.
// FailedPrecondition when `dir` is a file or holds files (the message names `bench`, e.g.
// "the store bench needs a new or empty directory").
absl::Status CheckNewDir(const std::filesystem::path& dir, std::string_view bench);

// Writes `"name":{"p50_ms":..,"p99_ms":..,"results":..,"runs":..}` into the open object of `w`:
// one query's figures in every bench's result line.
void WriteQueryStats(loadgen::JsonWriter& w, std::string_view name, const QueryStats& stats);

// "p50 … ms, p99 … ms, CPU … us per run, N results": a query's line in the progress log.
std::string DescribeQueryStats(const QueryStats& stats);

// A query's row in a bench's text report: `name` padded to `name_width`, then the figures in
// aligned columns, ending in a newline.
std::string QueryStatsRow(std::string_view name, int name_width, const QueryStats& stats);

// The end of every bench command: parses `argv` with `app` (--help exits 0), runs `run`, and
// prints the report: `text(report)` first unless `json_only`, then `json(report)` as the last
// line of stdout. Errors are one line on stderr prefixed with `program`, exit code 1.
template <typename Report>
int RunBenchCommand(CLI::App& app, int argc, char** argv, std::string_view program,
                    const bool& json_only, const std::function<absl::StatusOr<Report>()>& run,
                    const std::function<std::string(const Report&)>& text,
                    const std::function<std::string(const Report&)>& json) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::cerr << program << ": " << e.what() << " (see --help)\n";
    return 1;
  }
  absl::StatusOr<Report> report = run();
  if (!report.ok()) {
    std::cerr << program << ": " << report.status().message() << "\n";
    return 1;
  }
  if (!json_only) std::cout << text(*report);
  std::cout << json(*report) << std::endl;
  return std::cout.good() ? 0 : 1;
}

}  // namespace kubetrail::bench

#endif  // KUBETRAIL_BENCH_BENCH_COMMON_H_
