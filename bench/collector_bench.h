// The collector bench: `kubetrail-bench collector`, which measures the real
// kubetrail-collector binary, run as a child process so that its memory is its own: how fast
// the webhook and the log tailer get events into the spool, how much resident memory the
// collector needs meanwhile, and how long an event takes from the apiserver's POST until a
// Follow at the aggregator (the real kubetrail-aggregator, also a child) sees it stored.
// Issue #6; bench/README.md describes what is measured and how to read the output.
//
//   kubetrail-bench collector --input events.jsonl --dir /tmp/kt-collector --json
//
// kubetrail-collector and kubetrail-aggregator are looked for next to kubetrail-bench.
#ifndef KUBETRAIL_BENCH_COLLECTOR_BENCH_H_
#define KUBETRAIL_BENCH_COLLECTOR_BENCH_H_

namespace kubetrail::bench {

// Runs `kubetrail-bench collector` with the subcommand's own command line: argv[0] is
// "collector" (or any program name), the flags follow. Writes the one result JSON line last
// on stdout, progress and errors on stderr (the children's own logs go to files in --dir).
// Returns the process exit code: 0 on success (and for --help), 1 on any error (one line on
// stderr). Every child process it started has been stopped and reaped when it returns,
// whether it succeeded or not.
int RunCollectorBench(int argc, char** argv);

}  // namespace kubetrail::bench

#endif  // KUBETRAIL_BENCH_COLLECTOR_BENCH_H_
