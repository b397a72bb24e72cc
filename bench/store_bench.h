// The store bench: `kubetrail-bench store`, which measures an EventStore on real data —
// ingest rate with synced group commits (against a plain RocksDB put of the same bytes), disk
// bytes per event (against zstd -3 of the input) and the latency of the query mix. Issue #4;
// bench/README.md describes what is measured and how to read the output.
#ifndef KUBETRAIL_BENCH_STORE_BENCH_H_
#define KUBETRAIL_BENCH_STORE_BENCH_H_

namespace kubetrail::bench {

// Runs `kubetrail-bench store` with the subcommand's own command line: argv[0] is "store"
// (or any program name), the flags follow. Writes the one result JSON line last on stdout,
// progress and errors on stderr. Returns the process exit code: 0 on success (and for
// --help), 1 on any error (one line on stderr).
int RunStoreBench(int argc, char** argv);

}  // namespace kubetrail::bench

#endif  // KUBETRAIL_BENCH_STORE_BENCH_H_
