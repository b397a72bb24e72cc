#!/usr/bin/env bash
# Installs every Debian 12 package that kubetrail's build, tests and benchmarks need.
# Idempotent: installs only what is missing (and runs `apt-get update` only then).
# Runs as root, or through sudo when not root.
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ cmake ninja-build make pkg-config git
  # libraries (see the README's "Stack")
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev libabsl-dev libyaml-cpp-dev libsimdjson-dev
  libssl-dev libcpp-httplib-dev libcli11-dev zlib1g-dev libzstd-dev
  # jemalloc: the aggregator's allocator (README "Stack": +25% end-to-end ingest)
  libjemalloc-dev
  # libdeflate: the collector spool's CRC-32 (README "Stack": 4-5x zlib's speed)
  libdeflate-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev python3
  # promtool checks the metrics exposition in tests
  prometheus
  # the Python client (clients/python): its runtime (grpcio, protobuf), its offline build
  # (setuptools, wheel, pip; stubs by protobuf-compiler-grpc's grpc_python_plugin), the venv
  # its test installs it into, and openssl for that test's certificates
  python3-grpcio python3-protobuf python3-setuptools python3-wheel python3-pip python3-venv
  openssl
  # the deploy/ tests: YAML parsing of the manifests, shell script lint
  python3-yaml shellcheck
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
