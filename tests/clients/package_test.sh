#!/usr/bin/env bash
# Installs kubetrail's client package (cmake --install --component client) into a temporary
# prefix, builds clients/cpp/example against it as a separate CMake project using
# find_package(kubetrail), and runs the program: it must start and report an unreachable
# server in one line with exit code 1.
#
#   package_test.sh BUILD_DIR EXAMPLE_SOURCE_DIR [BUILD_TYPE]
set -euo pipefail
build_dir=$1
example_dir=$2
build_type=${3:-Release}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build_dir" --prefix "$work/prefix" --component client > "$work/install.log"
for f in include/kubetrail/client.h include/kubetrail/filter.h \
         include/kubetrail/v1/query.pb.h lib/cmake/kubetrail/kubetrailConfig.cmake; do
  if [ ! -f "$work/prefix/$f" ]; then
    echo "package_test: $f was not installed" >&2
    exit 1
  fi
done
cmake -S "$example_dir" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" \
  -DCMAKE_PREFIX_PATH="$work/prefix" > "$work/configure.log" 2>&1 \
  || { cat "$work/configure.log" >&2; exit 1; }
cmake --build "$work/build" > "$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }

set +e
"$work/build/kubetrail-client-example" --dev --server 127.0.0.1:1 > "$work/out" 2> "$work/err"
code=$?
set -e
if [ "$code" -ne 1 ] || ! grep -q "UNAVAILABLE" "$work/err"; then
  echo "package_test: want exit 1 and UNAVAILABLE, got exit $code:" >&2
  cat "$work/out" "$work/err" >&2
  exit 1
fi
"$work/build/kubetrail-client-example" --bogus > /dev/null 2>&1 && exit 1
echo "package_test: installed, found with find_package(kubetrail), built and ran the example"
