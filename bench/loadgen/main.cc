// kubetrail-loadgen: writes realistic Kubernetes audit events as apiserver log lines.
//
//   kubetrail-loadgen --count 1000000 --seed 7 [--start 2026-11-01T00:00:00Z] [--output FILE]
//
// Output is one compact JSON Event per line, exactly as kube-apiserver's log backend writes
// it, to stdout or FILE. The same flags always give the same bytes.
//
// Exit codes: 0 success, 1 I/O error, 2 bad command line.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "audit/codec.h"
#include "audit/microtime.h"
#include "bench/loadgen/generator.h"
#include "kubetrail/v1/event.pb.h"

namespace {

constexpr std::string_view kProgram = "kubetrail-loadgen";
constexpr char kDefaultStart[] = "2026-11-01T00:00:00Z";
// Output is built in memory and written in chunks of about this size.
constexpr size_t kChunkBytes = size_t{1} << 20;

// Writes all of `data` to `fd`, retrying short writes. Returns false with errno set on error.
bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Accepts plain decimal integers that fit in 64 bits; on its own CLI11 would wrap "-5" into a
// huge unsigned value and saturate overflowing input.
const CLI::Validator kUint64(
    [](std::string& value) -> std::string {
      uint64_t parsed = 0;
      const char* end = value.data() + value.size();
      const std::from_chars_result r = std::from_chars(value.data(), end, parsed);
      if (value.empty() || r.ec != std::errc() || r.ptr != end) {
        return "expected an integer from 0 to 18446744073709551615, got \"" + value + "\"";
      }
      return std::string();
    },
    "");

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(kProgram.size()), kProgram.data(),
               message.c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Writes realistic Kubernetes audit events (audit.k8s.io/v1) as JSON lines, "
      "deterministically for a seed.",
      std::string(kProgram)};
  uint64_t count = 0;
  uint64_t seed = 1;
  std::string start = kDefaultStart;
  std::string output;
  app.add_option("--count,-n", count, "Number of events to write")->required()->check(kUint64);
  app.add_option("--seed,-s", seed, "Seed: selects the simulated cluster and the event stream")
      ->capture_default_str()
      ->check(kUint64);
  app.add_option("--start", start, "requestReceivedTimestamp of the first request (RFC 3339)")
      ->capture_default_str();
  app.add_option("--output,-o", output, "Output file (default: stdout)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    return Fail(2, std::string(e.what()) + " (run with --help for usage)");
  }

  const absl::StatusOr<int64_t> start_us = kubetrail::audit::ParseRfc3339Micros(start);
  if (!start_us.ok()) {
    return Fail(2, "--start: " + std::string(start_us.status().message()));
  }

  int fd = STDOUT_FILENO;
  if (!output.empty()) {
    fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Fail(1, "cannot open " + output + ": " + std::strerror(errno));
  }

  kubetrail::loadgen::Generator generator(seed, *start_us);
  kubetrail::v1::Event event;
  std::string buffer;
  buffer.reserve(kChunkBytes + (size_t{1} << 20));
  for (uint64_t i = 0; i < count; ++i) {
    generator.Next(&event);
    kubetrail::audit::AppendEventJson(event, &buffer);
    buffer.push_back('\n');
    if (buffer.size() >= kChunkBytes) {
      if (!WriteAll(fd, buffer)) return Fail(1, std::string("write: ") + std::strerror(errno));
      buffer.clear();
    }
  }
  if (!WriteAll(fd, buffer)) return Fail(1, std::string("write: ") + std::strerror(errno));
  if (fd != STDOUT_FILENO && ::close(fd) != 0) {
    return Fail(1, "close " + output + ": " + std::strerror(errno));
  }
  return 0;
}
