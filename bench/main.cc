// kubetrail-bench's entry point: `kubetrail-bench store ...` runs the store bench
// (store_bench.h), `kubetrail-bench aggregator ...` the end-to-end aggregator bench
// (aggregator_bench.h), `kubetrail-bench collector ...` the collector bench over the real
// kubetrail-collector and kubetrail-aggregator binaries (collector_bench.h); every other
// invocation is Google Benchmark's own main, unchanged, over the benchmarks registered in
// codec_bench.cc and policy_bench.cc.
//
//   kubetrail-bench --benchmark_format=json                 (make bench)
//   kubetrail-bench store --input events.jsonl --dir /tmp/store --json
//   kubetrail-bench aggregator --input events.jsonl --dir /tmp/agg --json
//   kubetrail-bench collector --input events.jsonl --dir /tmp/collector --json
#include <benchmark/benchmark.h>

#include <string_view>

#include "bench/aggregator_bench.h"
#include "bench/collector_bench.h"
#include "bench/store_bench.h"
#include "common/mutex_checks.h"

int main(int argc, char** argv) {
  kubetrail::TurnOffMutexDeadlockDetection();
  if (argc >= 2 && std::string_view(argv[1]) == "store") {
    // The subcommand sees itself as argv[0], so its --help reads "store ...".
    return kubetrail::bench::RunStoreBench(argc - 1, argv + 1);
  }
  if (argc >= 2 && std::string_view(argv[1]) == "aggregator") {
    return kubetrail::bench::RunAggregatorBench(argc - 1, argv + 1);
  }
  if (argc >= 2 && std::string_view(argv[1]) == "collector") {
    return kubetrail::bench::RunCollectorBench(argc - 1, argv + 1);
  }
  // What BENCHMARK_MAIN() expands to.
  char arg0_default[] = "benchmark";
  char* args_default = arg0_default;
  if (argv == nullptr) {
    argc = 1;
    argv = &args_default;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
