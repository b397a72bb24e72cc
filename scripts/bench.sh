#!/usr/bin/env bash
# `make bench`: runs every benchmark; machine-readable results land in
# $BUILD_DIR/bench-results.json (Google Benchmark's JSON format).
set -euo pipefail
BUILD_DIR=${1:-build}
"$BUILD_DIR/bin/kubetrail-bench" --benchmark_out="$BUILD_DIR/bench-results.json" \
  --benchmark_out_format=json --benchmark_counters_tabular=true "${@:2}"
echo "results: $BUILD_DIR/bench-results.json"
