// kubetrail-bench aggregator: end-to-end ingest rate and query latency of an aggregator over
// gRPC on loopback (issue #5). See aggregator_bench.h and bench/README.md.
//
// Phases, in order (only the ones marked "timed" are measured for a rate or latency):
//   1. read and decode the input, keeping the lines within --min/--max-line-bytes;
//   2. raw put (timed): the same lines into a plain RocksDB database in DIR/rawput, removed
//      afterwards — the store bench's ceiling for synced batches on this disk;
//   3. an aggregator started in this process (dev, 127.0.0.1:0, its store in DIR/aggregator);
//   4. ingest (timed): the events shipped over --streams collector shippers
//      (loadgen::SendEvents), from the first Submit until the last ack;
//   5. queries (timed) over gRPC to that aggregator: one warm-up, then --query-runs runs;
//   6. the aggregator shut down (drain, close of the store).
#include "bench/aggregator_bench.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "audit/microtime.h"
#include "bench/bench_common.h"
#include "bench/loadgen/json_writer.h"
#include "bench/loadgen/send.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "grpcpp/grpcpp.h"
#include "kubetrail/v1/event.pb.h"
#include "kubetrail/v1/query.grpc.pb.h"
#include "kubetrail/v1/query.pb.h"
#include "services/aggregator/config.h"
#include "services/aggregator/server.h"
#include "storage/rocksdb_event_store.h"

namespace kubetrail::bench {
namespace {

namespace fs = std::filesystem;

using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kProgram = "kubetrail-bench aggregator";
constexpr std::string_view kLogComponent = "aggregator-bench";

// Writer threads of the raw put: the store bench's default, so that raw_put_events_per_s is
// the figure `kubetrail-bench store` reports for the same input.
constexpr int kRawPutWriters = 4;
// Every query call's deadline.
constexpr std::chrono::seconds kQueryDeadline{10};
// The whole send gives up (an error) after this long: a bound, not an expectation.
constexpr absl::Duration kSendTimeout = absl::Minutes(30);

struct Options {
  std::string input;
  std::string dir;
  int streams = 4;
  int batch = 400;
  int query_runs = 100;
  size_t min_line_bytes = 0;
  size_t max_line_bytes = std::numeric_limits<size_t>::max();
  bool json = false;  // stdout holds only the result line
};

struct Report {
  uint64_t events = 0;
  uint64_t input_bytes = 0;
  int streams = 0;
  int batch_events = 0;
  double e2e_seconds = 0;
  // The process's CPU while shipping: the aggregator's and the four shippers'.
  double e2e_cpu_seconds = 0;
  double raw_put_events_per_s = 0;
  uint64_t stored = 0;
  uint64_t duplicates = 0;
  uint64_t reconnects = 0;
  QueryParams params;
  // Right after ingest (RocksDB still compacting), then after a full compaction and a
  // restart of the aggregator on the same store (as the store bench measures).
  QueryStats user_window;
  QueryStats get;
  QueryStats user_window_compacted;
  QueryStats get_compacted;

  double e2e_events_per_s() const { return static_cast<double>(events) / e2e_seconds; }
  double ratio() const { return e2e_events_per_s() / raw_put_events_per_s; }
};

absl::Status FromGrpc(const grpc::Status& status, std::string_view what) {
  if (status.ok()) return absl::OkStatus();
  // gRPC's and Abseil's canonical codes have the same numbers.
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      Cat(what, ": ", status.error_message()));
}

void SetDeadline(grpc::ClientContext& context) {
  context.set_deadline(std::chrono::system_clock::now() + kQueryDeadline);
}

// Ships `events` to the aggregator at `port` as a collector would and checks that every one
// was acknowledged as stored or duplicate.
absl::StatusOr<loadgen::SendResult> Ship(int port, const Options& options,
                                         std::vector<kubetrail::v1::Event> events) {
  const uint64_t count = events.size();
  loadgen::SendOptions send;
  send.shipper.target = Cat("127.0.0.1:", port);
  send.shipper.cluster = std::string(kCluster);
  send.shipper.source = std::string(kSource);
  send.streams = options.streams;
  send.batch_events = static_cast<size_t>(options.batch);
  send.timeout = kSendTimeout;
  loadgen::SendResult result = loadgen::SendEvents(send, std::move(events));
  if (!result.status.ok()) {
    return absl::Status(result.status.code(), Cat("send: ", ToStd(result.status.message())));
  }
  const collector::ShipperStats& stats = result.stats;
  if (stats.rejected > 0 || stats.expired > 0 || stats.acked_events != count ||
      stats.stored + stats.duplicates != count) {
    return absl::InternalError(
        Cat("send: ", count, " events, but ", stats.acked_events, " acknowledged (", stats.stored,
            " stored, ", stats.duplicates, " duplicates, ", stats.expired, " expired, ",
            stats.rejected, " rejected)",
            result.rejections.empty() ? "" : Cat("; first rejection: ", result.rejections[0])));
  }
  return result;
}

// The store bench's user_window and get queries, each a whole RPC over `channel`.
absl::Status RunQueries(const std::shared_ptr<grpc::Channel>& channel, const QueryParams& params,
                        int runs, QueryStats& user_window_stats, QueryStats& get_stats) {
  std::unique_ptr<kubetrail::v1::Query::Stub> stub = kubetrail::v1::Query::NewStub(channel);
  auto log = [](std::string_view name, const QueryStats& stats) {
    KT_LOG(kInfo, kLogComponent) << "query " << name << ": " << DescribeQueryStats(stats);
  };

  kubetrail::v1::SearchRequest user_window;
  user_window.mutable_filter()->add_users(params.user);
  user_window.mutable_filter()->set_from_us(params.from_us);
  user_window.mutable_filter()->set_to_us(params.from_us + kHourUs);
  user_window.set_limit(100);
  user_window.set_order(kubetrail::v1::ORDER_ASCENDING);
  KT_ASSIGN_OR_RETURN(user_window_stats,
                      TimeQuery("user_window", runs, [&]() -> absl::StatusOr<uint64_t> {
                        grpc::ClientContext context;
                        SetDeadline(context);
                        std::unique_ptr<grpc::ClientReader<kubetrail::v1::SearchResponse>> reader =
                            stub->Search(&context, user_window);
                        kubetrail::v1::SearchResponse chunk;
                        uint64_t results = 0;
                        while (reader->Read(&chunk))
                          results += static_cast<uint64_t>(chunk.events_size());
                        KT_RETURN_IF_ERROR(FromGrpc(reader->Finish(), "Search"));
                        return results;
                      }));
  log("user_window", user_window_stats);

  kubetrail::v1::GetRequest get;
  get.set_audit_id(params.audit_id);
  KT_ASSIGN_OR_RETURN(get_stats, TimeQuery("get", runs, [&]() -> absl::StatusOr<uint64_t> {
                        grpc::ClientContext context;
                        SetDeadline(context);
                        kubetrail::v1::GetResponse response;
                        const grpc::Status status = stub->Get(&context, get, &response);
                        // A miss is an answer too.
                        if (status.error_code() == grpc::StatusCode::NOT_FOUND) return 0;
                        KT_RETURN_IF_ERROR(FromGrpc(status, "Get"));
                        return static_cast<uint64_t>(response.events_size());
                      }));
  log("get", get_stats);
  return absl::OkStatus();
}

absl::StatusOr<Report> Run(const Options& options) {
  if (options.min_line_bytes > options.max_line_bytes) {
    return absl::InvalidArgumentError(Cat("--min-line-bytes ", options.min_line_bytes,
                                          " is above --max-line-bytes ", options.max_line_bytes));
  }
  const fs::path dir = NormalizeDir(options.dir);
  KT_RETURN_IF_ERROR(CheckNewDir(dir, "aggregator bench"));

  Report report;
  report.streams = options.streams;
  report.batch_events = options.batch;

  const SteadyClock::time_point start = SteadyClock::now();
  LineFilter filter;
  filter.min_bytes = options.min_line_bytes;
  filter.max_bytes = options.max_line_bytes;
  KT_ASSIGN_OR_RETURN(Input input, LoadInput(options.input, filter));
  report.events = input.events.size();
  report.input_bytes = input.text.size();
  KT_LOG(kInfo, kLogComponent) << "decoded " << report.events << " events (" << report.input_bytes
                               << " bytes; " << input.skipped_lines
                               << " lines outside the size limits skipped) in "
                               << Fixed(Seconds(SteadyClock::now() - start), 2) << " s";
  KT_ASSIGN_OR_RETURN(report.params, ChooseParams(input, ParamOverrides{}, kLogComponent));

  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(Cat(dir.string(), ": ", ec.message()));
  KT_ASSIGN_OR_RETURN(report.raw_put_events_per_s,
                      RawPut(dir / "rawput", input, kRawPutWriters, kLogComponent));
  KT_LOG(kInfo, kLogComponent) << "raw put: " << Fixed(report.raw_put_events_per_s, 0)
                               << " events/s";

  // The shippers take the events; the rest of the input is no longer needed.
  std::vector<kubetrail::v1::Event> events;
  events.reserve(input.events.size());
  for (kubetrail::v1::EnvelopedEvent& e : input.events) {
    events.push_back(std::move(*e.mutable_event()));
  }
  input = Input();

  aggregator::Config config;
  config.dev = true;
  config.listen = "127.0.0.1:0";
  config.data_dir = (dir / "aggregator").string();
  config.retention_interval = absl::ZeroDuration();
  KT_ASSIGN_OR_RETURN(std::unique_ptr<aggregator::Aggregator> server,
                      aggregator::Aggregator::Start(config, Clock::Real()));
  KT_LOG(kInfo, kLogComponent) << "aggregator on 127.0.0.1:" << server->port() << ", store in "
                               << config.data_dir;

  const double cpu_start = ProcessCpuSeconds();
  KT_ASSIGN_OR_RETURN(const loadgen::SendResult sent,
                      Ship(server->port(), options, std::move(events)));
  report.e2e_cpu_seconds = ProcessCpuSeconds() - cpu_start;
  report.e2e_seconds = absl::ToDoubleSeconds(sent.elapsed);
  report.stored = sent.stats.stored;
  report.duplicates = sent.stats.duplicates;
  report.reconnects = sent.stats.reconnects;
  KT_LOG(kInfo, kLogComponent) << "ingest: " << Fixed(report.e2e_events_per_s(), 0)
                               << " events/s over " << options.streams << " streams ("
                               << Fixed(report.e2e_seconds, 2) << " s, "
                               << CpuUsPerEvent(report.e2e_cpu_seconds, report.events)
                               << " us of CPU per event); " << report.stored
                               << " stored, " << report.duplicates << " duplicates, "
                               << report.reconnects << " reconnects; " << Fixed(report.ratio(), 3)
                               << " x raw put";

  auto queries = [&](QueryStats& user_window, QueryStats& get) {
    const std::shared_ptr<grpc::Channel> channel =
        grpc::CreateChannel(Cat("127.0.0.1:", server->port()), grpc::InsecureChannelCredentials());
    return RunQueries(channel, report.params, options.query_runs, user_window, get);
  };
  KT_RETURN_IF_ERROR(queries(report.user_window, report.get));
  KT_RETURN_IF_ERROR(server->Shutdown());
  server.reset();

  // Compacted: what a store that ingest has settled looks like (the store bench's state).
  {
    storage::RocksDbOptions store_options;
    store_options.path = config.StorePath();
    KT_ASSIGN_OR_RETURN(std::unique_ptr<storage::RocksDbEventStore> store,
                        storage::RocksDbEventStore::Open(store_options));
    KT_RETURN_IF_ERROR(store->CompactAll());
    KT_RETURN_IF_ERROR(store->Close());
  }
  KT_ASSIGN_OR_RETURN(server, aggregator::Aggregator::Start(config, Clock::Real()));
  KT_RETURN_IF_ERROR(queries(report.user_window_compacted, report.get_compacted));
  KT_RETURN_IF_ERROR(server->Shutdown());
  return report;
}

std::string ResultJson(const Report& r) {
  std::string out;
  loadgen::JsonWriter w(&out);
  w.BeginObject();
  w.Num("events", static_cast<int64_t>(r.events));
  w.Num("streams", r.streams);
  w.Num("batch_events", r.batch_events);
  w.Key("input_bytes_per_event")
      .Raw(Fixed(static_cast<double>(r.input_bytes) / static_cast<double>(r.events), 1));
  w.Key("e2e_events_per_s").Raw(Fixed(r.e2e_events_per_s(), 1));
  w.Key("e2e_seconds").Raw(Fixed(r.e2e_seconds, 3));
  w.Key("e2e_cpu_us_per_event").Raw(CpuUsPerEvent(r.e2e_cpu_seconds, r.events));
  w.Key("raw_put_events_per_s").Raw(Fixed(r.raw_put_events_per_s, 1));
  w.Key("ratio").Raw(Fixed(r.ratio(), 3));
  w.Num("stored", static_cast<int64_t>(r.stored));
  w.Num("duplicates", static_cast<int64_t>(r.duplicates));
  w.Num("reconnects", static_cast<int64_t>(r.reconnects));
  w.Obj("params")
      .Str("user", r.params.user)
      .Str("from", audit::FormatMicroTime(r.params.from_us))
      .Str("audit_id", r.params.audit_id)
      .EndObject();
  w.Obj("queries");
  for (const auto& [name, stats] :
       {std::pair<std::string_view, const QueryStats&>{"user_window", r.user_window},
        {"get", r.get},
        {"user_window_compacted", r.user_window_compacted},
        {"get_compacted", r.get_compacted}}) {
    WriteQueryStats(w, name, stats);
  }
  w.EndObject();
  w.EndObject();
  return out;
}

// The human-readable form of the report, for a terminal (without --json).
std::string ResultText(const Report& r) {
  std::ostringstream out;
  out << "aggregator bench: " << r.events << " events of "
      << Fixed(static_cast<double>(r.input_bytes) / static_cast<double>(r.events), 0) << " B, "
      << r.streams << " streams, batches of " << r.batch_events << "; " << r.stored << " stored, "
      << r.duplicates << " duplicates\n"
      << "  end to end        " << Fixed(r.e2e_events_per_s(), 0) << " events/s ("
      << Fixed(r.e2e_seconds, 2) << " s), " << CpuUsPerEvent(r.e2e_cpu_seconds, r.events)
      << " us of CPU per event\n"
      << "  raw put           " << Fixed(r.raw_put_events_per_s, 0) << " events/s\n"
      << "  ratio             " << Fixed(r.ratio(), 3) << "\n"
      << "  params            user=" << r.params.user
      << " from=" << audit::FormatMicroTime(r.params.from_us) << " audit_id=" << r.params.audit_id
      << "\n";
  for (const auto& [name, stats] :
       {std::pair<const char*, const QueryStats&>{"user_window", r.user_window},
        {"get", r.get},
        {"user_window_compacted", r.user_window_compacted},
        {"get_compacted", r.get_compacted}}) {
    out << QueryStatsRow(name, 22, stats);
  }
  return out.str();
}

}  // namespace

int RunAggregatorBench(int argc, char** argv) {
  Options options;
  CLI::App app("Measure an aggregator end to end: ingest over gRPC and query latency",
               std::string(kProgram));
  app.footer(
      "Decodes FILE (JSON lines of audit events, e.g. from kubetrail-loadgen), keeping the\n"
      "lines of MIN to MAX bytes; writes them with plain synced RocksDB puts into DIR/rawput\n"
      "(removed afterwards) for comparison; starts an aggregator in this process (plaintext,\n"
      "127.0.0.1, a free port; its store in DIR/aggregator, left there) and ships the events to\n"
      "it over N streams as collectors do, timed from the first batch to the last ack; then\n"
      "times the user_window Search and a Get over gRPC. DIR must not exist or be empty.\n"
      "\n"
      "Prints one JSON line, last on stdout (with --json, nothing else on stdout); progress\n"
      "goes to stderr. Exit codes: 0 success, 1 any error.\n"
      "\n"
      "Example:\n"
      "  kubetrail-loadgen --count 1000000 --seed 1 --output /tmp/events.jsonl\n"
      "  kubetrail-bench aggregator --input /tmp/events.jsonl --dir /tmp/kt-agg \\\n"
      "    --min-line-bytes 1500 --max-line-bytes 2500 --json");
  app.add_option("--input", options.input, "Audit events, one JSON object per line")
      ->required()
      ->check(CLI::ExistingFile)
      ->option_text("FILE.jsonl");
  app.add_option("--dir", options.dir,
                 "Directory for the aggregator's data and the raw put (new or empty)")
      ->required()
      ->option_text("DIR");
  app.add_option("--streams", options.streams, "Concurrent ingest streams (shippers)")
      ->check(CLI::Range(1, 256))
      ->option_text("N (default 4)");
  app.add_option("--batch", options.batch, "Events per batch")
      ->check(CLI::Range(1, 10'000))
      ->option_text("N (default 400)");
  app.add_option("--query-runs", options.query_runs, "Timed runs of each query")
      ->check(CLI::Range(100, 1'000'000))
      ->option_text("N (default 100)");
  app.add_option("--min-line-bytes", options.min_line_bytes, "Skip input lines shorter than this")
      ->option_text("MIN (default 0)");
  app.add_option("--max-line-bytes", options.max_line_bytes, "Skip input lines longer than this")
      ->option_text("MAX (default: no limit)");
  app.add_flag("--json", options.json, "Print only the result JSON line on stdout");
  return RunBenchCommand<Report>(
      app, argc, argv, kProgram, options.json, [&] { return Run(options); }, ResultText,
      ResultJson);
}

}  // namespace kubetrail::bench
