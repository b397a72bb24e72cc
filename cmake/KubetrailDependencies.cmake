# Third-party dependencies, all from Debian 12 packages (scripts/install-deps.sh installs them).
# Their include directories are marked SYSTEM by CMake for imported targets, so their warnings
# never count against -Werror.
find_package(Threads REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(Protobuf REQUIRED)          # module mode: Debian ships no protobuf CMake config
find_package(gRPC CONFIG REQUIRED)
find_package(simdjson CONFIG REQUIRED)
find_package(yaml-cpp CONFIG REQUIRED)
find_package(RocksDB CONFIG REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(ZLIB REQUIRED)             # gzip: webhook bodies, rotated audit logs
find_package(PkgConfig REQUIRED)
find_package(CLI11 CONFIG QUIET)
if(NOT CLI11_FOUND)
  # Debian's libcli11-dev installs the headers without always shipping a CMake package.
  find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)
  add_library(CLI11::CLI11 INTERFACE IMPORTED)
  set_target_properties(CLI11::CLI11 PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${CLI11_INCLUDE_DIR}")
endif()
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
# zstd (libzstd-dev, which RocksDB's package depends on anyway): Batch.zstd_events.
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
# libdeflate (libdeflate-dev): the spool's CRC-32s, zlib's values about four times as fast.
pkg_check_modules(LIBDEFLATE REQUIRED IMPORTED_TARGET libdeflate)

# jemalloc replaces glibc's malloc in the aggregator (and the bench that runs it in-process):
# measured +25% end-to-end ingest, glibc's malloc_consolidate having been the largest single
# cost. Not with sanitizers, which bring their own allocator.
if(KUBETRAIL_SANITIZE)
  add_library(kubetrail_malloc INTERFACE)
else()
  pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc)
  add_library(kubetrail_malloc INTERFACE)
  target_link_libraries(kubetrail_malloc INTERFACE PkgConfig::JEMALLOC)
  # Its options (how long freed memory stays mapped), compiled into each program linking it.
  target_sources(kubetrail_malloc INTERFACE ${PROJECT_SOURCE_DIR}/common/malloc_conf.cc)
endif()
add_library(kubetrail::malloc ALIAS kubetrail_malloc)

if(KUBETRAIL_TESTS)
  find_package(GTest CONFIG REQUIRED)
  include(GoogleTest)
endif()
find_package(benchmark CONFIG REQUIRED)
