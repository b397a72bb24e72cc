// kubetrail-bench store: ingest rate, disk bytes per event and query latency of the event
// store on a JSON-lines file of audit events (issue #4). See store_bench.h and
// bench/README.md.
//
// Phases, in order (only the ones marked "timed" are measured for a rate or latency):
//   1. read and decode the whole input into batches of 400 enveloped events;
//   2. zstd -3 of the input bytes (the yardstick for bytes per event);
//   3. raw put (timed): the same lines into a plain RocksDB database in DIR.rawput, removed
//      afterwards — the ceiling for what a store of synced batches can reach on this disk;
//   4. ingest (timed): the batches into a new store in DIR, N writers, synced group commits;
//   5. disk bytes of DIR; CompactAll; disk bytes again;
//   6. the query mix (timed), warm: one warm-up run, then --query-runs runs of each query.
// The input, the raw put, the choice of query parameters and the query timing are shared with
// the aggregator bench (bench_common.h).
#include "bench/store_bench.h"

#include <simdjson.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "audit/microtime.h"
#include "bench/bench_common.h"
#include "bench/loadgen/json_writer.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "kubetrail/v1/event.pb.h"
#include "storage/event_store.h"
#include "storage/filter.h"
#include "storage/memory_event_store.h"
#include "storage/rocksdb_event_store.h"

namespace kubetrail::bench {
namespace {

namespace fs = std::filesystem;

using Clock = std::chrono::steady_clock;

constexpr std::string_view kProgram = "kubetrail-bench store";
constexpr std::string_view kLogComponent = "store-bench";

struct Options {
  std::string input;
  std::string dir;
  std::string params_file;  // empty: choose the parameters from the data
  int writers = 4;
  int query_runs = 100;
  bool json = false;    // stdout holds only the result line
  bool memory = false;  // hidden: the in-memory store instead of RocksDB (no disk figures)
};

// Size of `data` compressed by zstd at level 3 (one frame, as `zstd -3 FILE` writes it).
absl::StatusOr<uint64_t> Zstd3Bytes(std::string_view data) {
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(), &ZSTD_freeCCtx);
  if (cctx == nullptr) return absl::ResourceExhaustedError("zstd: cannot create a context");
  auto check = [](size_t code) -> absl::Status {
    if (ZSTD_isError(code)) return absl::InternalError(Cat("zstd: ", ZSTD_getErrorName(code)));
    return absl::OkStatus();
  };
  KT_RETURN_IF_ERROR(check(ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, 3)));
  KT_RETURN_IF_ERROR(check(ZSTD_CCtx_setPledgedSrcSize(cctx.get(), data.size())));
  std::vector<char> out(ZSTD_CStreamOutSize());
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  uint64_t total = 0;
  while (true) {
    ZSTD_outBuffer chunk{out.data(), out.size(), 0};
    const size_t remaining = ZSTD_compressStream2(cctx.get(), &chunk, &in, ZSTD_e_end);
    KT_RETURN_IF_ERROR(check(remaining));
    total += chunk.pos;
    if (remaining == 0) return total;
  }
}

// Total size of the regular files below `dir`.
absl::StatusOr<uint64_t> DirBytes(const fs::path& dir) {
  std::error_code ec;
  uint64_t total = 0;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const uintmax_t size = it->file_size(ec);
    if (!ec) total += size;
    // A file RocksDB deleted between listing and stat is simply not counted.
    ec.clear();
  }
  if (ec) return absl::InternalError(Cat(dir.string(), ": ", ec.message()));
  return total;
}

struct IngestResult {
  double seconds = 0;
  double cpu_seconds = 0;  // the process's, background compactions and flushes included
  uint64_t stored = 0;
  uint64_t duplicates = 0;
};

absl::StatusOr<IngestResult> Ingest(storage::EventStore& store, const Input& input, int writers) {
  std::atomic<uint64_t> stored{0};
  std::atomic<uint64_t> duplicates{0};
  storage::WriteOptions options;
  options.sync = true;
  const double cpu_start = ProcessCpuSeconds();
  KT_ASSIGN_OR_RETURN(
      const double seconds, RunWriters(writers, input.batch_count(), [&](size_t b) -> absl::Status {
        const absl::Span<const kubetrail::v1::EnvelopedEvent> batch = input.batch(b);
        absl::StatusOr<storage::WriteResult> result = store.Write(batch, options);
        if (!result.ok()) {
          return absl::Status(result.status().code(),
                              Cat("write of batch ", b, ": ", ToStd(result.status().message())));
        }
        if (result->outcomes.size() != batch.size() ||
            result->stored + result->duplicates != batch.size()) {
          return absl::InternalError(Cat("write of batch ", b, ": ", batch.size(), " events, but ",
                                         result->outcomes.size(), " outcomes (", result->stored,
                                         " stored, ", result->duplicates, " duplicates)"));
        }
        stored.fetch_add(result->stored, std::memory_order_relaxed);
        duplicates.fetch_add(result->duplicates, std::memory_order_relaxed);
        return absl::OkStatus();
      }));
  return IngestResult{seconds, ProcessCpuSeconds() - cpu_start, stored.load(), duplicates.load()};
}

absl::StatusOr<ParamOverrides> LoadParams(const std::string& path) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (const simdjson::error_code error = parser.load(path).get(doc); error != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(Cat(path, ": ", simdjson::error_message(error)));
  }
  simdjson::dom::object object;
  if (doc.get_object().get(object) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(Cat(path, ": expected a JSON object"));
  }
  ParamOverrides params;
  for (const simdjson::dom::key_value_pair field : object) {
    std::string_view value;
    if (field.value.get_string().get(value) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError(Cat(path, ": \"", field.key, "\": expected a string"));
    }
    if (field.key == "user") {
      params.user = std::string(value);
    } else if (field.key == "from") {
      absl::StatusOr<int64_t> from = audit::ParseRfc3339Micros(value);
      if (!from.ok()) {
        return absl::InvalidArgumentError(
            Cat(path, ": \"from\": ", ToStd(from.status().message())));
      }
      params.from_us = *from;
    } else if (field.key == "audit_id") {
      params.audit_id = std::string(value);
    } else if (field.key == "namespace") {
      params.namespace_name = std::string(value);
    } else {
      return absl::InvalidArgumentError(Cat(path, ": unknown key \"", field.key,
                                            "\" (expected user, from, audit_id, namespace)"));
    }
  }
  if (params.user && params.user->empty()) {
    return absl::InvalidArgumentError(Cat(path, ": \"user\" must not be empty"));
  }
  return params;
}

using QueryResults = std::vector<std::pair<std::string_view, QueryStats>>;

absl::StatusOr<QueryResults> RunQueries(storage::EventStore& store, const QueryParams& params,
                                        int runs) {
  QueryResults results;
  auto add = [&](std::string_view name,
                 const std::function<absl::StatusOr<uint64_t>()>& query) -> absl::Status {
    KT_ASSIGN_OR_RETURN(QueryStats stats, TimeQuery(name, runs, query));
    KT_LOG(kInfo, kLogComponent) << "query " << name << ": " << DescribeQueryStats(stats);
    results.emplace_back(name, stats);
    return absl::OkStatus();
  };

  storage::SearchRequest user_window;
  user_window.filter.users = {params.user};
  user_window.filter.from_us = params.from_us;
  user_window.filter.to_us = params.from_us + kHourUs;
  user_window.limit = 100;
  user_window.order = storage::Order::kAscending;
  KT_RETURN_IF_ERROR(add("user_window", [&]() -> absl::StatusOr<uint64_t> {
    KT_ASSIGN_OR_RETURN(storage::SearchPage page, store.Search(user_window));
    return page.events.size();
  }));

  KT_RETURN_IF_ERROR(add("get", [&]() -> absl::StatusOr<uint64_t> {
    absl::StatusOr<std::vector<storage::StoredEvent>> events = store.Get(params.audit_id);
    if (absl::IsNotFound(events.status())) return 0;  // a miss is an answer too
    if (!events.ok()) return events.status();
    return events->size();
  }));

  storage::SearchRequest ns_verbs;
  ns_verbs.filter.namespaces = {params.namespace_name};
  ns_verbs.filter.verbs = {"delete", "patch"};
  ns_verbs.filter.from_us = params.from_us;
  ns_verbs.filter.to_us = params.from_us + kDayUs;
  ns_verbs.limit = 100;
  KT_RETURN_IF_ERROR(add("ns_verbs", [&]() -> absl::StatusOr<uint64_t> {
    KT_ASSIGN_OR_RETURN(storage::SearchPage page, store.Search(ns_verbs));
    return page.events.size();
  }));

  KT_RETURN_IF_ERROR(add("top_users", [&]() -> absl::StatusOr<uint64_t> {
    KT_ASSIGN_OR_RETURN(std::vector<storage::KeyCount> top,
                        store.Top(storage::Filter{}, storage::Dimension::kUser, 10));
    return top.size();
  }));

  KT_RETURN_IF_ERROR(add("histogram", [&]() -> absl::StatusOr<uint64_t> {
    KT_ASSIGN_OR_RETURN(
        std::vector<storage::HistogramBucket> buckets,
        store.Histogram(storage::Filter{}, storage::Granularity::kHour, storage::Dimension::kVerb));
    return buckets.size();
  }));
  return results;
}

struct Report {
  std::string_view store;
  uint64_t events = 0;
  uint64_t input_bytes = 0;
  int writers = 0;
  IngestResult ingest;
  double raw_put_events_per_s = 0;
  double raw_put_cpu_seconds = 0;
  std::optional<uint64_t> bytes_before_compaction;  // nullopt for the memory store
  std::optional<uint64_t> bytes;
  uint64_t zstd3_bytes = 0;
  QueryParams params;
  QueryResults queries;
};

std::string PerEvent(std::optional<uint64_t> bytes, uint64_t events) {
  if (!bytes) return "null";
  return Fixed(static_cast<double>(*bytes) / static_cast<double>(events), 1);
}

std::string ResultJson(const Report& r) {
  std::string out;
  loadgen::JsonWriter w(&out);
  w.BeginObject();
  w.Num("events", static_cast<int64_t>(r.events));
  w.Key("ingest_events_per_s").Raw(Fixed(static_cast<double>(r.events) / r.ingest.seconds, 1));
  w.Key("raw_put_events_per_s").Raw(Fixed(r.raw_put_events_per_s, 1));
  w.Key("ingest_cpu_us_per_event").Raw(CpuUsPerEvent(r.ingest.cpu_seconds, r.events));
  w.Key("raw_put_cpu_us_per_event").Raw(CpuUsPerEvent(r.raw_put_cpu_seconds, r.events));
  w.Key("bytes_per_event").Raw(PerEvent(r.bytes, r.events));
  w.Key("zstd3_bytes_per_event").Raw(PerEvent(r.zstd3_bytes, r.events));
  w.Key("bytes_per_event_before_compaction").Raw(PerEvent(r.bytes_before_compaction, r.events));
  w.Key("input_bytes_per_event").Raw(PerEvent(r.input_bytes, r.events));
  w.Num("stored", static_cast<int64_t>(r.ingest.stored));
  w.Num("duplicates", static_cast<int64_t>(r.ingest.duplicates));
  w.Key("ingest_seconds").Raw(Fixed(r.ingest.seconds, 3));
  w.Num("writers", r.writers);
  w.Num("batch_events", static_cast<int64_t>(kBatchEvents));
  w.Str("store", r.store);
  w.Obj("params")
      .Str("user", r.params.user)
      .Str("from", audit::FormatMicroTime(r.params.from_us))
      .Str("audit_id", r.params.audit_id)
      .Str("namespace", r.params.namespace_name)
      .EndObject();
  w.Obj("queries");
  for (const auto& [name, stats] : r.queries) {
    WriteQueryStats(w, name, stats);
  }
  w.EndObject();
  w.EndObject();
  return out;
}

// The human-readable form of the report, for a terminal (without --json).
std::string ResultText(const Report& r) {
  std::ostringstream out;
  const auto per_event = [&](std::optional<uint64_t> bytes) {
    return bytes ? Fixed(static_cast<double>(*bytes) / static_cast<double>(r.events), 1) + " B"
                 : std::string("n/a");
  };
  out << "store bench (" << r.store << "): " << r.events << " events, " << r.ingest.stored
      << " stored, " << r.ingest.duplicates << " duplicates, " << r.writers << " writers\n"
      << "  ingest            " << Fixed(static_cast<double>(r.events) / r.ingest.seconds, 0)
      << " events/s (" << Fixed(r.ingest.seconds, 2) << " s), "
      << CpuUsPerEvent(r.ingest.cpu_seconds, r.events) << " us of CPU per event\n"
      << "  raw put           " << Fixed(r.raw_put_events_per_s, 0) << " events/s, "
      << CpuUsPerEvent(r.raw_put_cpu_seconds, r.events) << " us of CPU per event\n"
      << "  bytes/event       " << per_event(r.bytes) << " (before compaction "
      << per_event(r.bytes_before_compaction) << "; input " << per_event(r.input_bytes)
      << ", zstd -3 " << per_event(r.zstd3_bytes) << ")\n"
      << "  params            user=" << r.params.user
      << " from=" << audit::FormatMicroTime(r.params.from_us) << " audit_id=" << r.params.audit_id
      << " namespace=" << r.params.namespace_name << "\n";
  for (const auto& [name, stats] : r.queries) {
    out << QueryStatsRow(name, 12, stats);
  }
  return out.str();
}

absl::StatusOr<Report> Run(const Options& options) {
  const fs::path dir = NormalizeDir(options.dir);
  const fs::path raw_dir = fs::path(dir.string() + ".rawput");
  KT_RETURN_IF_ERROR(CheckNewDir(dir, "store bench"));
  std::optional<ParamOverrides> overrides;
  if (!options.params_file.empty()) {
    KT_ASSIGN_OR_RETURN(overrides, LoadParams(options.params_file));
  }

  Report report;
  report.store = options.memory ? "memory" : "rocksdb";
  report.writers = options.writers;

  Clock::time_point start = Clock::now();
  KT_ASSIGN_OR_RETURN(const Input input, LoadInput(options.input));
  report.events = input.events.size();
  report.input_bytes = input.text.size();
  KT_LOG(kInfo, kLogComponent) << "decoded " << report.events << " events (" << report.input_bytes
                               << " bytes) in " << Fixed(Seconds(Clock::now() - start), 2) << " s";

  KT_ASSIGN_OR_RETURN(report.zstd3_bytes, Zstd3Bytes(input.text));
  KT_ASSIGN_OR_RETURN(report.params,
                      ChooseParams(input, overrides.value_or(ParamOverrides{}), kLogComponent));

  std::error_code ec;
  fs::create_directories(dir.parent_path(), ec);
  if (ec) return absl::InternalError(Cat(dir.parent_path().string(), ": ", ec.message()));
  const double raw_cpu_start = ProcessCpuSeconds();
  KT_ASSIGN_OR_RETURN(report.raw_put_events_per_s,
                      RawPut(raw_dir, input, options.writers, kLogComponent));
  report.raw_put_cpu_seconds = ProcessCpuSeconds() - raw_cpu_start;
  KT_LOG(kInfo, kLogComponent) << "raw put: " << Fixed(report.raw_put_events_per_s, 0)
                               << " events/s, "
                               << CpuUsPerEvent(report.raw_put_cpu_seconds, report.events)
                               << " us of CPU per event";

  std::unique_ptr<storage::RocksDbEventStore> rocks;
  std::unique_ptr<storage::EventStore> memory;
  storage::EventStore* store = nullptr;
  if (options.memory) {
    memory = storage::NewMemoryEventStore();
    store = memory.get();
  } else {
    storage::RocksDbOptions rocks_options;
    rocks_options.path = dir.string();
    KT_ASSIGN_OR_RETURN(rocks, storage::RocksDbEventStore::Open(rocks_options));
    store = rocks.get();
  }

  KT_ASSIGN_OR_RETURN(report.ingest, Ingest(*store, input, options.writers));
  KT_LOG(kInfo, kLogComponent) << "ingest: "
                               << Fixed(static_cast<double>(report.events) / report.ingest.seconds,
                                        0)
                               << " events/s; " << report.ingest.stored << " stored, "
                               << report.ingest.duplicates << " duplicates, "
                               << CpuUsPerEvent(report.ingest.cpu_seconds, report.events)
                               << " us of CPU per event";

  if (rocks != nullptr) {
    KT_ASSIGN_OR_RETURN(report.bytes_before_compaction, DirBytes(dir));
    start = Clock::now();
    KT_RETURN_IF_ERROR(rocks->CompactAll());
    KT_ASSIGN_OR_RETURN(report.bytes, DirBytes(dir));
    KT_LOG(kInfo, kLogComponent) << "compaction: " << Fixed(Seconds(Clock::now() - start), 2)
                                 << " s; " << *report.bytes_before_compaction << " -> "
                                 << *report.bytes << " bytes";
    KT_ASSIGN_OR_RETURN(storage::StoreStats stats, rocks->Stats());
    for (const storage::KeyCount& part : stats.disk_bytes_by_part) {
      KT_LOG(kInfo, kLogComponent)
          << "  " << part.key << ": "
          << Fixed(static_cast<double>(part.count) / static_cast<double>(report.events), 1)
          << " bytes/event";
    }
  }

  KT_ASSIGN_OR_RETURN(report.queries, RunQueries(*store, report.params, options.query_runs));
  if (rocks != nullptr) KT_RETURN_IF_ERROR(rocks->Close());
  return report;
}

}  // namespace

int RunStoreBench(int argc, char** argv) {
  Options options;
  CLI::App app("Measure the event store: ingest rate, bytes per event and query latency",
               std::string(kProgram));
  app.footer(
      "Decodes FILE (JSON lines of audit events, e.g. from kubetrail-loadgen), writes it in\n"
      "batches of 400 with synced group commits into a new RocksDB store in DIR (which must\n"
      "not exist or be empty; the store is left there), compacts it and times the query mix.\n"
      "For comparison it also writes the same lines with plain RocksDB puts into DIR.rawput\n"
      "(removed afterwards) and compresses FILE with zstd -3.\n"
      "\n"
      "PARAMS.json fixes what the queries ask for; every key is optional:\n"
      "  {\"user\":\"alice\",\"from\":\"2026-11-01T00:00:00Z\",\"audit_id\":\"...\","
      "\"namespace\":\"shop\"}\n"
      "\n"
      "Prints one JSON line, last on stdout (with --json, nothing else on stdout); progress\n"
      "goes to stderr. Exit codes: 0 success, 1 any error.\n"
      "\n"
      "Example:\n"
      "  kubetrail-loadgen --count 1000000 --seed 1 --output /tmp/events.jsonl\n"
      "  kubetrail-bench store --input /tmp/events.jsonl --dir /tmp/kt-store --json");
  app.add_option("--input", options.input, "Audit events, one JSON object per line")
      ->required()
      ->check(CLI::ExistingFile)
      ->option_text("FILE.jsonl");
  app.add_option("--dir", options.dir, "Directory for the new store (new or empty)")
      ->required()
      ->option_text("DIR");
  app.add_option("--params", options.params_file,
                 "Query parameters (user, from, audit_id, namespace); default: from the data")
      ->check(CLI::ExistingFile)
      ->option_text("PARAMS.json");
  app.add_option("--writers", options.writers, "Writer threads for ingest and raw put")
      ->check(CLI::Range(1, 256))
      ->option_text("N (default 4)");
  app.add_option("--query-runs", options.query_runs, "Timed runs of each query")
      ->check(CLI::Range(100, 1'000'000))
      ->option_text("N (default 100)");
  app.add_flag("--json", options.json, "Print only the result JSON line on stdout");
  // Hidden: the in-memory store, to check the bench itself without RocksDB.
  app.add_flag("--memory", options.memory, "Use the in-memory store")->group("");
  return RunBenchCommand<Report>(
      app, argc, argv, kProgram, options.json, [&] { return Run(options); }, ResultText,
      ResultJson);
}

}  // namespace kubetrail::bench
