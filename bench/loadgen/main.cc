// kubetrail-loadgen: writes realistic Kubernetes audit events as apiserver log lines, or sends
// them to an aggregator.
//
//   kubetrail-loadgen --count 1000000 --seed 7 [--start 2026-11-01T00:00:00Z] [--output FILE]
//   kubetrail-loadgen --send grpc://127.0.0.1:7443 --cluster NAME [--source NAME]
//       [--streams K] [--rate R] [--batch N] [--timeout S]
//       [--tls-ca F --tls-cert F --tls-key F --tls-server-name N]   (grpcs:// only)
//       (--count N [--seed S] [--start T] | FILE.jsonl)
//   kubetrail-loadgen --send http(s)://HOST:PORT/audit/webhook [--streams K] [--rate R]
//       [--batch N] [--timeout S] [--gzip] [--tls-ca F --tls-cert F --tls-key F]
//       (--count N [--seed S] [--start T] | FILE.jsonl)
//
// Output is one compact JSON Event per line, exactly as kube-apiserver's log backend writes
// it, to stdout or FILE. The same flags always give the same bytes. With --send the events
// (read from FILE.jsonl, or generated) go to the aggregator instead, and one JSON summary line
// is printed (see send.h). With an http:// or https:// URL they are POSTed to a collector's
// webhook as kube-apiserver does (see webhook_send.h); --streams is then the number of
// connections.
//
// Exit codes: 0 success (with --send: every event acknowledged), 1 I/O error, or with --send a
// permanent ingest error or timeout, 2 bad command line.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "audit/codec.h"
#include "audit/microtime.h"
#include "bench/loadgen/generator.h"
#include "bench/loadgen/send.h"
#include "bench/loadgen/webhook_send.h"
#include "common/mutex_checks.h"
#include "common/tls.h"
#include "grpcpp/security/credentials.h"
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

// The flags of --send; see AddSendFlags.
struct SendFlags {
  std::string url;
  std::string cluster;
  std::string source = "loadgen";
  int streams = 1;
  double rate = 0;
  size_t batch = 400;
  double timeout_s = 0;
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_server_name;
  bool gzip = false;
  std::string file;
};

bool IsWebhookUrl(std::string_view url) {
  return url.substr(0, 7) == "http://" || url.substr(0, 8) == "https://";
}

// Reads all of `path` into `*out`. Returns false with errno set on error.
bool ReadWholeFile(const std::string& path, std::string* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      errno = saved;
      return false;
    }
    if (n == 0) break;
    out->append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

// Writes `count` generated events as JSON lines to `output` (stdout when empty).
int WriteLines(uint64_t count, uint64_t seed, int64_t start_us, const std::string& output) {
  int fd = STDOUT_FILENO;
  if (!output.empty()) {
    fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Fail(1, "cannot open " + output + ": " + std::strerror(errno));
  }

  kubetrail::loadgen::Generator generator(seed, start_us);
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

// The events to send: FILE's, or `count` generated ones. Returns 0, or the exit code after
// printing the error.
int LoadEvents(const SendFlags& flags, uint64_t count, uint64_t seed, int64_t start_us,
               std::vector<kubetrail::v1::Event>& events) {
  if (!flags.file.empty()) {
    std::string input;
    if (!ReadWholeFile(flags.file, &input)) {
      return Fail(1, "cannot read " + flags.file + ": " + std::strerror(errno));
    }
    kubetrail::audit::ReserveReadPadding(input);
    kubetrail::audit::EventReader reader(input, {}, kubetrail::audit::kReadPadding);
    while (true) {
      kubetrail::v1::Event event;
      const absl::StatusOr<bool> more = reader.Next(&event);
      if (!more.ok()) return Fail(1, flags.file + ": " + std::string(more.status().message()));
      if (!*more) break;
      events.push_back(std::move(event));
    }
  } else {
    kubetrail::loadgen::Generator generator(seed, start_us);
    events.resize(count);
    for (kubetrail::v1::Event& event : events) generator.Next(&event);
  }

  return 0;
}

// --send http(s)://: posts EventList batches to a collector's webhook.
int SendWebhook(const SendFlags& flags, uint64_t count, uint64_t seed, int64_t start_us) {
  kubetrail::loadgen::WebhookSendOptions options;
  options.url = flags.url;
  options.connections = flags.streams;
  options.batch_events = flags.batch;
  options.rate = flags.rate;
  options.gzip = flags.gzip;
  if (flags.timeout_s > 0) options.timeout = absl::Seconds(flags.timeout_s);
  const bool any_tls_flag =
      !flags.tls_ca.empty() || !flags.tls_cert.empty() || !flags.tls_key.empty();
  if (flags.url.rfind("http://", 0) == 0 && any_tls_flag) {
    return Fail(2, "--tls-* flags need an https:// URL");
  }
  if (!flags.tls_server_name.empty()) return Fail(2, "--tls-server-name is for grpcs:// only");
  if (flags.tls_cert.empty() != flags.tls_key.empty()) {
    return Fail(2, "--tls-cert and --tls-key go together");
  }
  options.ca_file = flags.tls_ca;
  options.cert_file = flags.tls_cert;
  options.key_file = flags.tls_key;
  std::vector<kubetrail::v1::Event> events;
  if (int code = LoadEvents(flags, count, seed, start_us, events); code != 0) return code;
  const kubetrail::loadgen::WebhookSendResult result =
      kubetrail::loadgen::SendWebhook(options, events);
  std::printf("%s\n", kubetrail::loadgen::FormatWebhookSummaryJson(result).c_str());
  std::fflush(stdout);
  if (!result.status.ok()) return Fail(1, std::string(result.status.message()));
  return 0;
}

// --send: prepares the events (before the clock starts), ships them, prints the summary.
int Send(const SendFlags& flags, uint64_t count, uint64_t seed, int64_t start_us) {
  if (IsWebhookUrl(flags.url)) return SendWebhook(flags, count, seed, start_us);
  kubetrail::loadgen::SendOptions options;
  constexpr std::string_view kPlain = "grpc://";
  constexpr std::string_view kTls = "grpcs://";
  const std::string_view url = flags.url;
  bool tls = false;
  std::string_view address;
  if (url.substr(0, kPlain.size()) == kPlain) {
    address = url.substr(kPlain.size());
  } else if (url.substr(0, kTls.size()) == kTls) {
    address = url.substr(kTls.size());
    tls = true;
  } else {
    return Fail(
        2, "--send: expected grpc://HOST:PORT, grpcs://HOST:PORT or http(s)://HOST:PORT/PATH, "
           "got \"" + flags.url + "\"");
  }
  const size_t colon = address.rfind(':');
  if (address.empty() || colon == std::string_view::npos || colon == 0 ||
      colon + 1 == address.size() || address.find('/') != std::string_view::npos) {
    return Fail(2, "--send: expected HOST:PORT after the scheme, got \"" + flags.url + "\"");
  }
  options.shipper.target = std::string(address);
  options.shipper.cluster = flags.cluster;
  options.shipper.source = flags.source;
  options.streams = flags.streams;
  options.rate = flags.rate;
  options.batch_events = flags.batch;
  if (flags.timeout_s > 0) options.timeout = absl::Seconds(flags.timeout_s);

  const bool any_tls_flag = !flags.tls_ca.empty() || !flags.tls_cert.empty() ||
                            !flags.tls_key.empty() || !flags.tls_server_name.empty();
  if (!tls && any_tls_flag) return Fail(2, "--tls-* flags need a grpcs:// URL");
  if (tls) {
    if (flags.tls_cert.empty() != flags.tls_key.empty()) {
      return Fail(2, "--tls-cert and --tls-key go together");
    }
    // The same validation as every kubetrail client (common/tls.h): errors name the file.
    // An empty --tls-ca means gRPC's default roots.
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
        kubetrail::MakeClientCredentials(
            {.ca_file = flags.tls_ca, .cert_file = flags.tls_cert, .key_file = flags.tls_key});
    if (!credentials.ok()) return Fail(1, std::string(credentials.status().message()));
    options.shipper.credentials = *std::move(credentials);
    options.shipper.tls_server_name = flags.tls_server_name;
  }

  std::vector<kubetrail::v1::Event> events;
  if (int code = LoadEvents(flags, count, seed, start_us, events); code != 0) return code;

  const kubetrail::loadgen::SendResult result =
      kubetrail::loadgen::SendEvents(options, std::move(events));
  std::printf("%s\n", kubetrail::loadgen::FormatSummaryJson(result).c_str());
  std::fflush(stdout);
  for (const std::string& rejection : result.rejections) {
    std::fprintf(stderr, "%.*s: rejected: %s\n", static_cast<int>(kProgram.size()), kProgram.data(),
                 rejection.c_str());
  }
  if (!result.status.ok()) return Fail(1, result.status.ToString());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  kubetrail::TurnOffMutexDeadlockDetection();
  // A server that hangs up while a TLS write is under way must give an error, not SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  CLI::App app{
      "Writes realistic Kubernetes audit events (audit.k8s.io/v1) as JSON lines, "
      "deterministically for a seed; or, with --send, ships them (generated, or read from "
      "FILE.jsonl) to a kubetrail aggregator exactly as a collector does and prints one JSON "
      "summary line. Events are decoded or generated before the clock starts, so events_per_s "
      "measures shipping only.",
      std::string(kProgram)};
  uint64_t count = 0;
  uint64_t seed = 1;
  std::string start = kDefaultStart;
  std::string output;
  SendFlags send;
  CLI::Option* count_opt =
      app.add_option("--count,-n", count, "Number of events to write")->check(kUint64);
  app.add_option("--seed,-s", seed, "Seed: selects the simulated cluster and the event stream")
      ->capture_default_str()
      ->check(kUint64);
  app.add_option("--start", start, "requestReceivedTimestamp of the first request (RFC 3339)")
      ->capture_default_str();
  CLI::Option* output_opt = app.add_option("--output,-o", output, "Output file (default: stdout)");

  CLI::Option* send_opt =
      app.add_option("--send", send.url,
                     "Send instead of writing: to an aggregator, grpc://HOST:PORT (plaintext) or "
                     "grpcs://HOST:PORT (TLS); or to a collector's webhook as kube-apiserver "
                     "does, http(s)://HOST:PORT/PATH");
  std::vector<CLI::Option*> send_only;
  send_only.push_back(app.add_option("--cluster", send.cluster,
                                     "With --send: the cluster of the hello (required)"));
  send_only.push_back(
      app.add_option("--source", send.source,
                     "With --send: the source of the hello; the same for every stream and "
                     "run, so that sending the same events again stores them once")
          ->capture_default_str());
  send_only.push_back(app.add_option("--streams", send.streams, "With --send: concurrent streams")
                          ->capture_default_str()
                          ->check(CLI::Range(1, 1024)));
  send_only.push_back(app.add_option("--rate", send.rate,
                                     "With --send: total events per second over all "
                                     "streams (default: unlimited)")
                          ->check(CLI::NonNegativeNumber));
  send_only.push_back(app.add_option("--batch", send.batch, "With --send: events per batch")
                          ->capture_default_str()
                          ->check(CLI::Range(size_t{1}, size_t{1} << 20)));
  send_only.push_back(app.add_option("--timeout", send.timeout_s,
                                     "With --send: give up (exit 1) when not everything is "
                                     "acknowledged after this many seconds (default: never)")
                          ->check(CLI::NonNegativeNumber));
  send_only.push_back(app.add_option("--tls-ca", send.tls_ca,
                                     "With grpcs://: PEM CA bundle to verify the aggregator "
                                     "(default: the system's)"));
  send_only.push_back(
      app.add_option("--tls-cert", send.tls_cert, "With grpcs://: PEM client certificate"));
  send_only.push_back(
      app.add_option("--tls-key", send.tls_key, "With grpcs://: PEM client private key"));
  send_only.push_back(app.add_option("--tls-server-name", send.tls_server_name,
                                     "With grpcs://: the name to check the aggregator's "
                                     "certificate against (default: HOST)"));
  send_only.push_back(app.add_flag("--gzip", send.gzip,
                                   "With --send http(s)://: Content-Encoding: gzip bodies"));
  send_only.push_back(
      app.add_option("file", send.file,
                     "With --send: JSON lines (or any kube audit JSON) to send instead of "
                     "generated events"));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    return Fail(2, std::string(e.what()) + " (run with --help for usage)");
  }
  constexpr char kUsage[] = " (run with --help for usage)";

  if (send_opt->count() == 0) {
    for (const CLI::Option* opt : send_only) {
      if (opt->count() > 0) {
        return Fail(2, (opt->get_positional() ? std::string("FILE") : opt->get_name()) +
                           " needs --send" + kUsage);
      }
    }
    if (count_opt->count() == 0) return Fail(2, std::string("--count is required") + kUsage);
  } else {
    if (output_opt->count() > 0) return Fail(2, std::string("--output and --send") + kUsage);
    if (send.cluster.empty() && !IsWebhookUrl(send.url)) {
      return Fail(2, std::string("--send grpc(s):// needs --cluster") + kUsage);
    }
    if (send.file.empty() == (count_opt->count() == 0)) {
      return Fail(2, std::string("--send needs either --count or FILE") + kUsage);
    }
  }

  const absl::StatusOr<int64_t> start_us = kubetrail::audit::ParseRfc3339Micros(start);
  if (!start_us.ok()) {
    return Fail(2, "--start: " + std::string(start_us.status().message()));
  }
  if (send_opt->count() > 0) return Send(send, count, seed, *start_us);
  return WriteLines(count, seed, *start_us, output);
}
