#include "bench/bench_common.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <system_error>
#include <thread>
#include <utility>

#include "audit/codec.h"
#include "common/bytes.h"
#include "common/logging.h"
#include "common/rocksdb_status.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"
#include "storage/event_store.h"

namespace kubetrail::bench {
namespace {

namespace fs = std::filesystem;

using SteadyClock = std::chrono::steady_clock;

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(Cat(path, ": ", std::strerror(errno)));
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return absl::DataLossError(Cat(path, ": read failed"));
  return std::move(content).str();
}

// Calls `f(line)` for every line of `text` (without its '\n'), blank ones included.
template <typename F>
void ForEachLine(std::string_view text, F&& f) {
  while (!text.empty()) {
    const size_t end = text.find('\n');
    f(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  }
}

bool IsBlank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

// The non-blank lines of `path` that `filter` admits, each ending in '\n'. Reads the file a
// line at a time, so that only the kept lines are held (a filtered file may be many times
// the memory its kept events need).
// `skipped` counts the non-blank lines left out.
absl::StatusOr<std::string> ReadLines(const std::string& path, const LineFilter& filter,
                                      uint64_t& skipped) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(Cat(path, ": ", std::strerror(errno)));
  std::string kept;
  std::string line;
  while (std::getline(in, line)) {
    if (IsBlank(line)) continue;
    if (line.size() < filter.min_bytes || line.size() > filter.max_bytes) {
      ++skipped;
      continue;
    }
    kept.append(line);
    kept.push_back('\n');
  }
  if (in.bad()) return absl::DataLossError(Cat(path, ": read failed"));
  return kept;
}

// Removes a directory tree when it goes out of scope (errors are logged).
class RemoveOnExit {
 public:
  RemoveOnExit(fs::path path, std::string_view log_component)
      : path_(std::move(path)), log_component_(log_component) {}
  ~RemoveOnExit() {
    std::error_code ec;
    fs::remove_all(path_, ec);
    if (ec) {
      KT_LOG(kWarning, log_component_) << "cannot remove " << path_ << ": " << ec.message();
    }
  }
  RemoveOnExit(const RemoveOnExit&) = delete;
  RemoveOnExit& operator=(const RemoveOnExit&) = delete;

 private:
  fs::path path_;
  std::string_view log_component_;
};

// The key with the largest count; ties go to the smallest key. nullopt when `counts` is empty.
std::optional<std::string> MostFrequent(const std::map<std::string_view, uint64_t>& counts) {
  std::optional<std::string> best;
  uint64_t best_count = 0;
  for (const auto& [key, count] : counts) {  // key order: the first maximum wins ties
    if (count > best_count) {
      best = std::string(key);
      best_count = count;
    }
  }
  return best;
}

bool IsRead(std::string_view verb) { return verb == "get" || verb == "list" || verb == "watch"; }

}  // namespace

std::string Fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

double ProcessCpuSeconds() {
  rusage usage = {};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return std::numeric_limits<double>::quiet_NaN();
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::string CpuUsPerEvent(double cpu_seconds, uint64_t events) {
  return Fixed(cpu_seconds * 1e6 / static_cast<double>(events), 1);
}

void FirstError::Set(absl::Status status) {
  absl::MutexLock lock(&mu_);
  if (status_.ok()) status_ = std::move(status);
  failed_.store(true, std::memory_order_relaxed);
}

absl::Status FirstError::Get() {
  absl::MutexLock lock(&mu_);
  return status_;
}

absl::StatusOr<double> RunWriters(int writers, size_t batches,
                                  const std::function<absl::Status(size_t)>& write) {
  std::atomic<size_t> next{0};
  FirstError error;
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(writers));
  const SteadyClock::time_point start = SteadyClock::now();
  for (int t = 0; t < writers; ++t) {
    threads.emplace_back([&] {
      while (!error.failed()) {
        const size_t b = next.fetch_add(1, std::memory_order_relaxed);
        if (b >= batches) return;
        absl::Status status = write(b);
        if (!status.ok()) error.Set(std::move(status));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const double seconds = Seconds(SteadyClock::now() - start);
  KT_RETURN_IF_ERROR(error.Get());
  return seconds;
}

absl::StatusOr<Input> LoadInput(const std::string& path, const LineFilter& filter) {
  Input input;
  if (filter.all()) {
    KT_ASSIGN_OR_RETURN(input.text, ReadFile(path));
  } else {
    KT_ASSIGN_OR_RETURN(input.text, ReadLines(path, filter, input.skipped_lines));
  }
  ForEachLine(input.text, [&](std::string_view line) {
    if (!IsBlank(line)) input.lines.push_back(line);
  });
  if (input.lines.empty()) {
    if (filter.all()) return absl::InvalidArgumentError(Cat(path, ": no events"));
    return absl::InvalidArgumentError(
        Cat(path, ": no events of ", filter.min_bytes, " to ", filter.max_bytes, " bytes"));
  }

  audit::EventDecoder decoder;
  input.events.resize(input.lines.size());
  input.times_us.resize(input.lines.size());
  for (size_t i = 0; i < input.lines.size(); ++i) {
    kubetrail::v1::EnvelopedEvent& enveloped = input.events[i];
    absl::Status status = decoder.Decode(input.lines[i], enveloped.mutable_event());
    if (!status.ok()) {
      // Line numbers count non-blank kept lines: every line of an unfiltered loadgen file.
      return absl::InvalidArgumentError(
          Cat(path, ": event ", i + 1, ": ", ToStd(status.message())));
    }
    kubetrail::v1::Envelope* envelope = enveloped.mutable_envelope();
    envelope->set_cluster(std::string(kCluster));
    envelope->set_source(std::string(kSource));
    // Envelope time is the fallback of EventTimeMicros, so read the event's own time first.
    input.times_us[i] = storage::EventTimeMicros(enveloped);
    envelope->set_receive_time_us(input.times_us[i] + kReceiveDelayUs);
  }
  return input;
}

absl::StatusOr<double> RawPut(const fs::path& path, const Input& input, int writers,
                              std::string_view log_component) {
  std::error_code ec;
  if (fs::exists(path, ec)) {
    return absl::AlreadyExistsError(
        Cat(path.string(), " already exists (left from an interrupted run?); remove it"));
  }
  RemoveOnExit remove(path, log_component);
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw_db = nullptr;
  KT_RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(options, path.string(), &raw_db),
                               Cat("raw put: open ", path.string())));
  std::unique_ptr<rocksdb::DB> db(raw_db);
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  KT_ASSIGN_OR_RETURN(
      const double seconds, RunWriters(writers, input.batch_count(), [&](size_t b) -> absl::Status {
        rocksdb::WriteBatch batch;
        const size_t end = std::min(input.events.size(), (b + 1) * kBatchEvents);
        for (size_t i = b * kBatchEvents; i < end; ++i) {
          const std::string key =
              Big64(static_cast<uint64_t>(input.times_us[i])) + Big64(static_cast<uint64_t>(i));
          const std::string_view line = input.lines[i];
          rocksdb::Status status =
              batch.Put(rocksdb::Slice(key), rocksdb::Slice(line.data(), line.size()));
          if (!status.ok()) return FromRocks(status, "raw put: batch");
        }
        return FromRocks(db->Write(write_options, &batch), "raw put: write");
      }));
  KT_RETURN_IF_ERROR(FromRocks(db->Close(), "raw put: close"));
  return static_cast<double>(input.events.size()) / seconds;
}

absl::StatusOr<QueryParams> ChooseParams(const Input& input, const ParamOverrides& overrides,
                                         std::string_view log_component) {
  QueryParams params;

  if (overrides.user) {
    params.user = *overrides.user;
  } else {
    std::map<std::string_view, uint64_t> writers;
    std::map<std::string_view, uint64_t> everyone;
    for (const kubetrail::v1::EnvelopedEvent& e : input.events) {
      const std::string_view user = e.event().user().username();
      if (user.empty()) continue;
      ++everyone[user];
      if (!IsRead(e.event().verb())) ++writers[user];
    }
    std::optional<std::string> user = MostFrequent(writers);
    if (!user) {
      KT_LOG(kWarning, log_component)
          << "no event changes anything; user_window queries the most frequent user";
      user = MostFrequent(everyone);
    }
    if (!user) {
      return absl::InvalidArgumentError(
          "no event has a username; give the query parameters with --params");
    }
    params.user = *std::move(user);
  }

  if (overrides.from_us) {
    params.from_us = *overrides.from_us;
  } else {
    std::optional<int64_t> first_of_user;
    int64_t first = INT64_MAX;
    for (size_t i = 0; i < input.events.size(); ++i) {
      first = std::min(first, input.times_us[i]);
      if (input.events[i].event().user().username() == params.user) {
        first_of_user = std::min(first_of_user.value_or(INT64_MAX), input.times_us[i]);
      }
    }
    params.from_us = first_of_user.value_or(first);
  }

  params.audit_id =
      overrides.audit_id.value_or(input.events[input.events.size() / 2].event().audit_id());

  if (overrides.namespace_name) {
    params.namespace_name = *overrides.namespace_name;
  } else {
    std::map<std::string_view, uint64_t> counts;
    std::map<std::string_view, uint64_t> changed;  // namespaces with delete or patch events
    for (const kubetrail::v1::EnvelopedEvent& e : input.events) {
      const std::string_view ns = e.event().object_ref().namespace_();
      if (ns.empty()) continue;
      ++counts[ns];
      const std::string_view verb = e.event().verb();
      if (verb == "delete" || verb == "patch") changed[ns] = 0;
    }
    for (auto& [ns, count] : changed) count = counts[ns];
    std::optional<std::string> ns = MostFrequent(changed);
    if (!ns) {
      KT_LOG(kWarning, log_component)
          << "no delete or patch event has a namespace; ns_verbs queries the most frequent one";
      ns = MostFrequent(counts);
    }
    // With no namespaced event at all, "" (events without a namespace) is still a valid query.
    params.namespace_name = ns.value_or("");
  }
  return params;
}

double Percentile(const std::vector<double>& sorted, double p) {
  const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::max<size_t>(rank, 1) - 1];
}

absl::StatusOr<QueryStats> TimeQuery(std::string_view name, int runs,
                                     const std::function<absl::StatusOr<uint64_t>()>& query) {
  auto run = [&]() -> absl::StatusOr<uint64_t> {
    absl::StatusOr<uint64_t> results = query();
    if (!results.ok()) {
      return absl::Status(results.status().code(),
                          Cat("query ", name, ": ", ToStd(results.status().message())));
    }
    return results;
  };
  QueryStats stats;
  KT_ASSIGN_OR_RETURN(stats.results, run());
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(runs));
  const double cpu_start = ProcessCpuSeconds();
  for (int i = 0; i < runs; ++i) {
    const SteadyClock::time_point start = SteadyClock::now();
    KT_RETURN_IF_ERROR(run().status());
    ms.push_back(Seconds(SteadyClock::now() - start) * 1e3);
  }
  if (runs > 0) stats.cpu_us = (ProcessCpuSeconds() - cpu_start) * 1e6 / runs;
  std::sort(ms.begin(), ms.end());
  stats.p50_ms = Percentile(ms, 0.50);
  stats.p99_ms = Percentile(ms, 0.99);
  stats.runs = runs;
  return stats;
}

fs::path NormalizeDir(const std::string& dir) {
  fs::path path = fs::absolute(fs::path(dir)).lexically_normal();
  if (!path.has_filename() && path.has_parent_path()) path = path.parent_path();
  return path;
}

absl::Status CheckNewDir(const fs::path& dir, std::string_view bench) {
  std::error_code ec;
  const fs::file_status status = fs::status(dir, ec);
  if (status.type() == fs::file_type::not_found) return absl::OkStatus();
  if (ec) return absl::InternalError(Cat(dir.string(), ": ", ec.message()));
  if (!fs::is_directory(status)) {
    return absl::FailedPreconditionError(Cat("--dir ", dir.string(), " is not a directory"));
  }
  const bool empty = fs::is_empty(dir, ec);
  if (ec) return absl::InternalError(Cat(dir.string(), ": ", ec.message()));
  if (!empty) {
    return absl::FailedPreconditionError(Cat("--dir ", dir.string(), " already holds files; the ",
                                             bench, " needs a new or empty directory"));
  }
  return absl::OkStatus();
}

void WriteQueryStats(loadgen::JsonWriter& w, std::string_view name, const QueryStats& stats) {
  w.Obj(name);
  w.Key("p50_ms").Raw(Fixed(stats.p50_ms, 3));
  w.Key("p99_ms").Raw(Fixed(stats.p99_ms, 3));
  w.Num("results", static_cast<int64_t>(stats.results));
  w.Num("runs", stats.runs);
  w.Key("cpu_us").Raw(Fixed(stats.cpu_us, 1));
  w.EndObject();
}

std::string DescribeQueryStats(const QueryStats& stats) {
  return Cat("p50 ", Fixed(stats.p50_ms, 3), " ms, p99 ", Fixed(stats.p99_ms, 3), " ms, CPU ",
             Fixed(stats.cpu_us, 1), " us per run, ", stats.results, " results");
}

std::string QueryStatsRow(std::string_view name, int name_width, const QueryStats& stats) {
  char line[200];
  std::snprintf(line, sizeof(line),
                "  %-*s p50 %9.3f ms  p99 %9.3f ms  CPU %8.1f us  %6llu results\n", name_width,
                std::string(name).c_str(), stats.p50_ms, stats.p99_ms, stats.cpu_us,
                static_cast<unsigned long long>(stats.results));
  return line;
}

}  // namespace kubetrail::bench
