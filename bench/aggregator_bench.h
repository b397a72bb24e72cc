// The aggregator bench: `kubetrail-bench aggregator`, which measures the whole ingest path end
// to end — events shipped by collector shippers over K gRPC streams on loopback to an
// aggregator started in this process, counted when acknowledged (that is, durably stored) —
// against a plain RocksDB put of the same bytes, and then the latency of queries over gRPC.
// Issue #5; bench/README.md describes what is measured and how to read the output.
#ifndef KUBETRAIL_BENCH_AGGREGATOR_BENCH_H_
#define KUBETRAIL_BENCH_AGGREGATOR_BENCH_H_

namespace kubetrail::bench {

// Runs `kubetrail-bench aggregator` with the subcommand's own command line: argv[0] is
// "aggregator" (or any program name), the flags follow. Writes the one result JSON line last
// on stdout, progress and errors on stderr. Returns the process exit code: 0 on success (and
// for --help), 1 on any error (one line on stderr).
int RunAggregatorBench(int argc, char** argv);

}  // namespace kubetrail::bench

#endif  // KUBETRAIL_BENCH_AGGREGATOR_BENCH_H_
