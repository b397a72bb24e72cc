// kubetrail-bench collector: the real kubetrail-collector (and, for the last phase,
// kubetrail-aggregator) as child processes, measured from outside (issue #6). See
// collector_bench.h and bench/README.md.
//
// Phases, in order (only the ones marked "timed" are measured for a rate or latency); each
// starts its own children and stops them (SIGTERM, reaped) before the next begins:
//   1. read and decode the input (the first --events lines), not timed;
//   2. webhook_to_spool (timed): a collector whose aggregator does not exist (127.0.0.1:1:
//      every event stays spooled) gets the events POSTed to its webhook, 400 per EventList,
//      over --connections connections as fast as it answers; its /metrics must then count
//      every event as spooled;
//   3. tail_to_spool (timed): the input lines written to DIR/log/audit.log first (not timed),
//      then a new collector that follows that file, timed from its start until /metrics
//      counts every event as spooled;
//   4. end_to_end (timed): an aggregator and a collector shipping to it; events POSTed at
//      --rate for --latency-seconds over --connections paced lanes, each followed
//      (Query.Follow) until the aggregator has stored it: latency = arrival at the follower -
//      the time its POST was due.
// The collector's peak resident memory (VmHWM) is read from /proc in each phase before it
// is stopped.
#include "bench/collector_bench.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/bench_common.h"
#include "bench/loadgen/json_writer.h"
#include "bench/loadgen/webhook_send.h"
#include "common/grpc_status.h"
#include "common/logging.h"
#include "common/spawn.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "grpcpp/grpcpp.h"
#include "httplib.h"
#include "kubetrail/v1/event.pb.h"
#include "kubetrail/v1/query.grpc.pb.h"
#include "kubetrail/v1/query.pb.h"

namespace kubetrail::bench {
namespace {

namespace fs = std::filesystem;

using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kProgram = "kubetrail-bench collector";
constexpr std::string_view kLogComponent = "collector-bench";

constexpr std::string_view kCollectorBinary = "kubetrail-collector";
constexpr std::string_view kAggregatorBinary = "kubetrail-aggregator";
// An address nothing listens on: the collector's shipper keeps failing to connect, so
// everything received stays in the spool.
constexpr std::string_view kNoAggregator = "127.0.0.1:1";
// The spool bound of the spool phases: far above any input, so that the spool never refuses.
constexpr std::string_view kSpoolMaxBytes = "64000000000";
// Events per POST: kube-apiserver's --audit-webhook-batch-max-size default.
constexpr size_t kPostEvents = 400;

// How long a child may take to print its ready line.
constexpr absl::Duration kReadyTimeout = absl::Seconds(30);
// How long a child may take to exit after SIGTERM before it gets SIGKILL.
constexpr absl::Duration kStopGrace = absl::Seconds(20);
// How often /metrics is read while waiting for the tailer.
constexpr std::chrono::milliseconds kPollInterval{20};
// Waiting for the tailer (or the follower) fails when nothing moves for this long: a bound,
// not an expectation.
constexpr absl::Duration kStallTimeout = absl::Seconds(60);
// The webhook phase's send gives up (an error) on what is not accepted after this long: a
// bound, not an expectation. The end-to-end send gets its own length plus kSendGrace.
constexpr absl::Duration kSendTimeout = absl::Minutes(30);
constexpr absl::Duration kSendGrace = absl::Minutes(2);
// Every /metrics request's timeout.
constexpr time_t kScrapeTimeoutSeconds = 10;

struct Options {
  std::string input;
  std::string dir;
  uint64_t events = 0;  // 0: every event of the input
  int connections = 8;
  double rate = 10'000;
  double latency_seconds = 10;
  bool json = false;  // stdout holds only the result line
};

// A child's resident memory, from /proc/PID/status.
struct Memory {
  uint64_t hwm_bytes = 0;  // VmHWM: the peak
  uint64_t rss_bytes = 0;  // VmRSS: now
};

struct WebhookPhase {
  int connections = 0;
  double seconds = 0;  // SendWebhook's clock: first POST to last reply
  double post_p50_ms = 0;
  double post_p99_ms = 0;
  double cpu_seconds = 0;  // the collector's, user + system, during the send
  Memory memory;
};

struct TailPhase {
  double seconds = 0;             // from just before the collector was started
  double seconds_from_ready = 0;  // from its ready line
  double cpu_seconds = 0;         // the collector's, user + system, from its start
  Memory memory;
};

struct EndToEndPhase {
  double rate = 0;
  int connections = 0;
  uint64_t sent = 0;
  uint64_t received = 0;
  double send_seconds = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  Memory memory;
};

struct Report {
  uint64_t events = 0;
  double event_bytes = 0;  // mean JSON line length, without the newline
  WebhookPhase webhook;
  TailPhase tail;
  EndToEndPhase e2e;

  double webhook_events_per_s() const { return static_cast<double>(events) / webhook.seconds; }
  double tail_events_per_s() const { return static_cast<double>(events) / tail.seconds; }
  double tail_events_per_s_from_ready() const {
    return static_cast<double>(events) / tail.seconds_from_ready;
  }
};

double Mebibytes(uint64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

// The last non-blank line of the file at `path` (trimmed, at most 300 bytes): what a child
// said last before it failed, for a one-line error. Empty when there is none.
std::string LastLogLine(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string line, last;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  }
  while (!last.empty() && (last.back() == '\r' || last.back() == ' ')) last.pop_back();
  if (last.size() > 300) last = last.substr(0, 300) + "...";
  return last;
}

// A server binary (kubetrail-collector, kubetrail-aggregator) run as a child process for one
// phase of the bench. The child gets /dev/null as standard input, a pipe as standard output
// (read for the one line a server prints when it is ready), its standard error appended to
// a log file (so that its log never mixes with the bench's output), SIGPIPE at its default
// action and no blocked signal. It stays in the bench's process group, so a Ctrl-C at the
// terminal reaches it too.
//
// Stop() ends it with SIGTERM (SIGKILL after a grace period) and reaps it. Destroying a
// ChildProcess that was not stopped kills (SIGKILL) and reaps the child: an error anywhere in
// the bench leaves no orphan behind.
//
// Thread safety: none; one thread owns the object.
class ChildProcess {
 public:
  // Starts argv[0] (a path; PATH is not searched) with arguments argv[1...], its standard
  // error appended to `stderr_log` (created when missing). Errors: the errno mapping of the
  // failing open, pipe2 or posix_spawn (NotFound for a missing program), naming what failed.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(const std::vector<std::string>& argv,
                                                             const fs::path& stderr_log) {
    const std::string name = fs::path(argv.at(0)).filename().string();
    int out_pipe[2] = {-1, -1};
    if (pipe2(out_pipe, O_CLOEXEC) != 0) return absl::ErrnoToStatus(errno, "pipe2");
    // The descriptors posix_spawn hands over: the child's copies (dup2) lose O_CLOEXEC.
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_log.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    pid_t pid = -1;
    const int error = Spawn(argv, {}, actions, &pid);
    posix_spawn_file_actions_destroy(&actions);
    // The write end belongs to the child now; holding it would hide the child's end-of-file.
    close(out_pipe[1]);
    if (error != 0) {
      close(out_pipe[0]);
      return absl::ErrnoToStatus(error, Cat("cannot start ", argv[0]));
    }
    return std::unique_ptr<ChildProcess>(new ChildProcess(name, stderr_log, pid, out_pipe[0]));
  }

  ~ChildProcess() {
    if (!reaped_) {
      kill(pid_, SIGKILL);
      Reap(/*block=*/true);
    }
    close(stdout_fd_);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }
  const fs::path& log() const { return log_; }

  // Reads standard output until a line containing `marker` and returns that line (without
  // its '\n'). Errors: DeadlineExceeded after `timeout`; FailedPrecondition when the child
  // closes its standard output first (it exited: it is reaped then). Both quote the last
  // line of the child's log.
  absl::StatusOr<std::string> WaitForLine(std::string_view marker, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    std::string chunk(4096, '\0');
    for (;;) {
      for (size_t end; (end = stdout_.find('\n')) != std::string::npos;) {
        std::string line = stdout_.substr(0, end);
        stdout_.erase(0, end + 1);
        if (line.find(marker) != std::string::npos) return line;
      }
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) {
        return absl::DeadlineExceededError(Cat(name_, " printed no \"", marker, "\" line in ",
                                               absl::FormatDuration(timeout), Said()));
      }
      pollfd polled = {stdout_fd_, POLLIN, 0};
      const int ready = poll(&polled, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
      if (ready < 0 && errno != EINTR) return absl::ErrnoToStatus(errno, "poll");
      if (ready <= 0) continue;
      const ssize_t n = read(stdout_fd_, chunk.data(), chunk.size());
      if (n < 0 && errno == EINTR) continue;
      if (n > 0) {
        stdout_.append(chunk.data(), static_cast<size_t>(n));
        continue;
      }
      // End of file (or a read error): the child is gone or going.
      Reap(/*block=*/true);
      return absl::FailedPreconditionError(
          Cat(name_, " ", Ended(), " before it was ready", Said()));
    }
  }

  // The child's resident memory now. Errors: NotFound (the child is gone), DataLoss (the
  // file lacks the fields).
  absl::StatusOr<Memory> ReadMemory() const {
    const std::string path = Cat("/proc/", pid_, "/status");
    std::ifstream in(path);
    if (!in) return absl::NotFoundError(Cat(path, ": ", std::strerror(errno)));
    Memory memory;
    bool hwm = false, rss = false;
    std::string line;
    while (std::getline(in, line)) {
      // "VmHWM:\t  123456 kB"
      for (auto [field, out, seen] : {std::tuple{"VmHWM:", &memory.hwm_bytes, &hwm},
                                      std::tuple{"VmRSS:", &memory.rss_bytes, &rss}}) {
        if (line.rfind(field, 0) != 0) continue;
        std::istringstream value(line.substr(std::strlen(field)));
        uint64_t kib = 0;
        if (value >> kib) {
          *out = kib << 10;
          *seen = true;
        }
      }
    }
    if (!hwm || !rss) return absl::DataLossError(Cat(path, ": no VmHWM or VmRSS"));
    return memory;
  }

  // The CPU time (user + system, every thread) the child has used so far, from
  // /proc/PID/stat. Errors: NotFound (the child is gone), DataLoss (an unreadable line).
  absl::StatusOr<double> ReadCpuSeconds() const {
    const std::string path = Cat("/proc/", pid_, "/stat");
    std::ifstream in(path);
    if (!in) return absl::NotFoundError(Cat(path, ": ", std::strerror(errno)));
    std::string line;
    std::getline(in, line);
    // "PID (comm) state ppid ...": utime and stime are the 12th and 13th fields after the
    // command, which may itself hold spaces and parentheses.
    const size_t close = line.rfind(')');
    if (close == std::string::npos) return absl::DataLossError(Cat(path, ": no \")\""));
    std::istringstream fields(line.substr(close + 1));
    std::string field;
    for (int i = 0; i < 11 && fields >> field; ++i) {
    }
    uint64_t utime = 0, stime = 0;
    if (!(fields >> utime >> stime)) return absl::DataLossError(Cat(path, ": no utime/stime"));
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }

  // Sends SIGTERM, waits up to `grace` for the child to exit, then sends SIGKILL; reaps it.
  // OK when it exited with status 0; otherwise Internal, saying how it ended and quoting its
  // log. The child is reaped either way.
  absl::Status Stop(absl::Duration grace) {
    if (!reaped_) {
      kill(pid_, SIGTERM);
      const absl::Time deadline = absl::Now() + grace;
      // waitpid cannot wait with a timeout; poll it.
      while (!Reap(/*block=*/false) && absl::Now() < deadline) {
        absl::SleepFor(absl::Milliseconds(5));
      }
      if (!reaped_) {
        KT_LOG(kWarning, kLogComponent)
            << name_ << " (pid " << pid_ << ") still running " << absl::FormatDuration(grace)
            << " after SIGTERM; killing it";
        kill(pid_, SIGKILL);
        Reap(/*block=*/true);
      }
    }
    if (exit_code_ == 0) return absl::OkStatus();
    return absl::InternalError(Cat(name_, " ", Ended(), Said()));
  }

 private:
  ChildProcess(std::string name, fs::path log, pid_t pid, int stdout_fd)
      : name_(std::move(name)), log_(std::move(log)), pid_(pid), stdout_fd_(stdout_fd) {}

  // waitpid; true once the child has been reaped (exit_code_ / term_signal_ are set then).
  bool Reap(bool block) {
    if (reaped_) return true;
    int status = 0;
    pid_t done;
    while ((done = waitpid(pid_, &status, block ? 0 : WNOHANG)) < 0 && errno == EINTR) {
    }
    if (done < 0 && errno == ECHILD) {
      // Not ours to wait for any more (cannot happen unless someone else reaped it): never
      // signal that pid again.
      reaped_ = true;
      return true;
    }
    if (done != pid_) return false;
    reaped_ = true;
    if (WIFEXITED(status)) exit_code_ = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) term_signal_ = WTERMSIG(status);
    return true;
  }

  // "exited with status 2", "was killed by signal 9", or "is still running".
  std::string Ended() const {
    if (!reaped_) return "is still running";
    if (term_signal_ != 0) return Cat("was killed by signal ", term_signal_);
    return Cat("exited with status ", exit_code_);
  }

  // "; its log LOG ends: LINE" (or says it is empty).
  std::string Said() const {
    const std::string last = LastLogLine(log_);
    if (last.empty()) return Cat("; its log ", log_.string(), " is empty");
    return Cat("; its log ", log_.string(), " ends: ", last);
  }

  // Constant after construction.
  const std::string name_;
  const fs::path log_;
  const pid_t pid_;
  const int stdout_fd_;  // the read end of the child's standard output

  std::string stdout_;  // read but not yet returned by WaitForLine
  bool reaped_ = false;
  int exit_code_ = -1;
  int term_signal_ = 0;
};

// Stops `child` (see ChildProcess::Stop); an unclean exit is logged, not an error: the
// measurements are taken by then. Children are stopped in the reverse order of their start.
void StopChild(ChildProcess& child) {
  const absl::Status status = child.Stop(kStopGrace);
  if (!status.ok()) {
    KT_LOG(kWarning, kLogComponent) << status.message();
  }
}

// The value of `key=VALUE` in a ready line ("... webhook=http://127.0.0.1:8443/audit/webhook
// http=127.0.0.1:9091 ..."): up to the next space. nullopt when the key is missing.
std::optional<std::string> Field(std::string_view line, std::string_view key) {
  const std::string needle = Cat(" ", key, "=");
  const size_t at = line.find(needle);
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view rest = line.substr(at + needle.size());
  return std::string(rest.substr(0, rest.find(' ')));
}

// "HOST:PORT" into its parts. InvalidArgument (naming `what`) when it is not that.
absl::StatusOr<std::pair<std::string, int>> HostPort(std::string_view address,
                                                     std::string_view what) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string_view::npos ||
      std::from_chars(address.data() + colon + 1, address.data() + address.size(), port).ec !=
          std::errc() ||
      port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(Cat(what, ": want HOST:PORT, got \"", address, "\""));
  }
  return std::pair<std::string, int>(std::string(address.substr(0, colon)), port);
}

// A running kubetrail-collector: the child and what its ready line says.
struct Collector {
  std::unique_ptr<ChildProcess> process;
  std::string webhook_url;
  std::string http_host;
  int http_port = 0;
  SteadyClock::time_point ready;  // when the ready line was read
};

// Where the bench finds the servers it runs: the directory of its own executable.
absl::StatusOr<fs::path> BinDir() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return absl::InternalError(Cat("/proc/self/exe: ", ec.message()));
  return self.parent_path();
}

// The path of `binary` next to kubetrail-bench; NotFound when it is not there.
absl::StatusOr<std::string> FindBinary(std::string_view binary) {
  KT_ASSIGN_OR_RETURN(const fs::path dir, BinDir());
  const fs::path path = dir / binary;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return absl::NotFoundError(Cat(binary, " is not next to kubetrail-bench (no ", path.string(),
                                   "); build it: ninja ", binary));
  }
  return path.string();
}

// Starts a collector (dev, cluster and source of the bench's envelope) with its webhook and
// /metrics on free loopback ports, spooling into `spool_dir`, its log in `log`; `extra`
// flags are appended. Returns once it printed its ready line.
absl::StatusOr<Collector> StartCollector(std::string_view aggregator, const fs::path& spool_dir,
                                         const fs::path& log,
                                         const std::vector<std::string>& extra) {
  KT_ASSIGN_OR_RETURN(const std::string binary, FindBinary(kCollectorBinary));
  std::vector<std::string> argv = {binary,
                                   "--dev",
                                   "--cluster",
                                   std::string(kCluster),
                                   "--source",
                                   std::string(kSource),
                                   "--aggregator",
                                   std::string(aggregator),
                                   "--webhook-listen",
                                   "127.0.0.1:0",
                                   "--http-listen",
                                   "127.0.0.1:0",
                                   "--spool-dir",
                                   spool_dir.string(),
                                   "--spool-max-bytes",
                                   std::string(kSpoolMaxBytes)};
  argv.insert(argv.end(), extra.begin(), extra.end());
  Collector collector;
  KT_ASSIGN_OR_RETURN(collector.process, ChildProcess::Start(argv, log));
  KT_ASSIGN_OR_RETURN(const std::string line,
                      collector.process->WaitForLine(": running ", kReadyTimeout));
  collector.ready = SteadyClock::now();
  const std::optional<std::string> webhook = Field(line, "webhook");
  const std::optional<std::string> http = Field(line, "http");
  if (!webhook || !http) {
    return absl::InternalError(
        Cat("the collector's ready line lacks webhook= or http=: \"", line, "\""));
  }
  collector.webhook_url = *webhook;
  KT_ASSIGN_OR_RETURN(const auto http_host_port, HostPort(*http, "the collector's http="));
  collector.http_host = http_host_port.first;
  collector.http_port = http_host_port.second;
  KT_LOG(kInfo, kLogComponent) << "collector pid " << collector.process->pid() << ": webhook "
                               << collector.webhook_url << ", metrics http://" << *http
                               << "/metrics, log " << log.string();
  return collector;
}

// Reads the value of `sample` (a metric name with its labels exactly as exposed:
// `kubetrail_collector_events_spooled_total{source="webhook"}`) from the collector's /metrics.
// Errors: Unavailable (no answer, or not 200), NotFound (no such sample).
absl::StatusOr<double> Scrape(httplib::Client& client, std::string_view sample) {
  httplib::Result res = client.Get("/metrics");
  if (!res) {
    return absl::UnavailableError(Cat("GET /metrics: ", httplib::to_string(res.error())));
  }
  if (res->status != 200) {
    return absl::UnavailableError(Cat("GET /metrics: HTTP ", res->status));
  }
  const std::string prefix = Cat(sample, " ");
  std::string_view text = res->body;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (line.substr(0, prefix.size()) != prefix) continue;
    double value = 0;
    const std::string_view number = line.substr(prefix.size());
    if (std::from_chars(number.data(), number.data() + number.size(), value).ec != std::errc()) {
      return absl::DataLossError(Cat("/metrics: ", sample, " is not a number: \"", line, "\""));
    }
    return value;
  }
  return absl::NotFoundError(Cat("/metrics has no ", sample));
}

std::unique_ptr<httplib::Client> MetricsClient(const Collector& collector) {
  auto client = std::make_unique<httplib::Client>(collector.http_host, collector.http_port);
  client->set_connection_timeout(kScrapeTimeoutSeconds, 0);
  client->set_read_timeout(kScrapeTimeoutSeconds, 0);
  client->set_keep_alive(true);
  return client;
}

std::string SpooledSample(std::string_view source) {
  return Cat("kubetrail_collector_events_spooled_total{source=\"", source, "\"}");
}

// Posts `events` (kPostEvents per POST) to `url` as kube-apiserver would, at `rate` events/s
// (0: as fast as the replies come); an event not accepted within `timeout` is an error.
absl::StatusOr<loadgen::WebhookSendResult> Post(std::string_view url, int connections, double rate,
                                                absl::Duration timeout,
                                                const std::vector<kubetrail::v1::Event>& events) {
  loadgen::WebhookSendOptions send;
  send.url = std::string(url);
  send.connections = connections;
  send.batch_events = kPostEvents;
  send.rate = rate;
  send.timeout = timeout;
  loadgen::WebhookSendResult result = loadgen::SendWebhook(send, events);
  if (!result.status.ok()) {
    return absl::Status(result.status.code(),
                        Cat("webhook send: ", ToStd(result.status.message())));
  }
  if (result.accepted != events.size()) {
    return absl::InternalError(Cat("webhook send: ", events.size(), " events, but ",
                                   result.accepted, " accepted and ", result.failed, " failed"));
  }
  return result;
}

// Phase 2: every event POSTed to a collector that only spools.
absl::StatusOr<WebhookPhase> WebhookToSpool(const fs::path& dir, const Options& options,
                                            const std::vector<kubetrail::v1::Event>& events) {
  KT_ASSIGN_OR_RETURN(Collector collector,
                      StartCollector(kNoAggregator, dir / "webhook-spool",
                                     dir / "webhook-collector.log", {"--drain-timeout", "0s"}));
  KT_ASSIGN_OR_RETURN(const double cpu_before, collector.process->ReadCpuSeconds());
  KT_ASSIGN_OR_RETURN(const loadgen::WebhookSendResult sent,
                      Post(collector.webhook_url, options.connections, 0, kSendTimeout, events));
  KT_ASSIGN_OR_RETURN(const double cpu_after, collector.process->ReadCpuSeconds());
  WebhookPhase phase;
  phase.cpu_seconds = cpu_after - cpu_before;
  phase.connections = options.connections;
  phase.seconds = absl::ToDoubleSeconds(sent.elapsed);
  phase.post_p50_ms = sent.p50_ms;
  phase.post_p99_ms = sent.p99_ms;

  // A 200 comes after the spool append: the count is complete by now.
  std::unique_ptr<httplib::Client> metrics = MetricsClient(collector);
  KT_ASSIGN_OR_RETURN(const double spooled, Scrape(*metrics, SpooledSample("webhook")));
  if (spooled != static_cast<double>(events.size())) {
    return absl::InternalError(Cat("webhook: ", events.size(), " events accepted, but /metrics ",
                                   "counts ", spooled, " spooled"));
  }
  KT_ASSIGN_OR_RETURN(phase.memory, collector.process->ReadMemory());
  StopChild(*collector.process);
  KT_LOG(kInfo, kLogComponent) << "webhook -> spool: "
                               << Fixed(static_cast<double>(events.size()) / phase.seconds, 0)
                               << " events/s (" << Fixed(phase.seconds, 2) << " s), POST p50 "
                               << Fixed(phase.post_p50_ms, 2) << " ms, p99 "
                               << Fixed(phase.post_p99_ms, 2) << " ms; collector VmHWM "
                               << Fixed(Mebibytes(phase.memory.hwm_bytes), 1) << " MiB";
  return phase;
}

// Writes `lines`, each followed by '\n', to `path`.
absl::Status WriteLines(const fs::path& path, const std::vector<std::string_view>& lines) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return absl::InternalError(Cat(path.string(), ": ", std::strerror(errno)));
  for (const std::string_view line : lines) {
    out.write(line.data(), static_cast<std::streamsize>(line.size()));
    out.put('\n');
  }
  out.close();
  if (!out) return absl::DataLossError(Cat(path.string(), ": write failed"));
  return absl::OkStatus();
}

// Phase 3: the lines in an audit log that a new collector follows from its beginning.
absl::StatusOr<TailPhase> TailToSpool(const fs::path& dir,
                                      const std::vector<std::string_view>& lines) {
  const fs::path log_dir = dir / "log";
  std::error_code ec;
  fs::create_directories(log_dir, ec);
  if (ec) return absl::InternalError(Cat(log_dir.string(), ": ", ec.message()));
  const fs::path audit_log = log_dir / "audit.log";
  KT_RETURN_IF_ERROR(WriteLines(audit_log, lines));

  const SteadyClock::time_point start = SteadyClock::now();
  KT_ASSIGN_OR_RETURN(Collector collector,
                      StartCollector(kNoAggregator, dir / "tail-spool", dir / "tail-collector.log",
                                     {"--tail", audit_log.string(), "--drain-timeout", "0s"}));
  std::unique_ptr<httplib::Client> metrics = MetricsClient(collector);
  const double want = static_cast<double>(lines.size());
  double spooled = -1;
  SteadyClock::time_point moved = SteadyClock::now();
  for (;;) {
    KT_ASSIGN_OR_RETURN(const double now_spooled, Scrape(*metrics, SpooledSample("tail")));
    const SteadyClock::time_point now = SteadyClock::now();
    if (now_spooled >= want) break;
    if (now_spooled != spooled) {
      spooled = now_spooled;
      moved = now;
    } else if (now - moved > absl::ToChronoNanoseconds(kStallTimeout)) {
      return absl::DeadlineExceededError(
          Cat("tail: ", spooled, " of ", lines.size(), " events spooled, and no more for ",
              absl::FormatDuration(kStallTimeout), "; see ", collector.process->log().string()));
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  const SteadyClock::time_point done = SteadyClock::now();
  TailPhase phase;
  phase.seconds = Seconds(done - start);
  phase.seconds_from_ready = Seconds(done - collector.ready);
  KT_ASSIGN_OR_RETURN(phase.cpu_seconds, collector.process->ReadCpuSeconds());
  KT_ASSIGN_OR_RETURN(phase.memory, collector.process->ReadMemory());
  StopChild(*collector.process);
  KT_LOG(kInfo, kLogComponent) << "tail -> spool: " << Fixed(want / phase.seconds, 0)
                               << " events/s (" << Fixed(phase.seconds, 2) << " s from start, "
                               << Fixed(phase.seconds_from_ready, 2)
                               << " s from ready); collector VmHWM "
                               << Fixed(Mebibytes(phase.memory.hwm_bytes), 1) << " MiB";
  return phase;
}

// The end-to-end phase's events carry auditIDs of this form, the event's index in the hex
// tail, so that each can be told apart (the input may be used several times over) and traced
// back to its POST.
constexpr std::string_view kAuditIdPrefix = "00000000-0000-4000-8000-";
constexpr size_t kAuditIdHexDigits = 12;

std::string AuditIdOf(uint64_t index) {
  return Cat(kAuditIdPrefix, absl::Hex(index, absl::kZeroPad12));
}

// The index in an auditID made by AuditIdOf; nullopt for any other auditID.
std::optional<uint64_t> IndexOf(std::string_view audit_id) {
  if (audit_id.size() != kAuditIdPrefix.size() + kAuditIdHexDigits ||
      audit_id.substr(0, kAuditIdPrefix.size()) != kAuditIdPrefix) {
    return std::nullopt;
  }
  uint64_t index = 0;
  const char* digits = audit_id.data() + kAuditIdPrefix.size();
  if (std::from_chars(digits, digits + kAuditIdHexDigits, index, 16).ec != std::errc()) {
    return std::nullopt;
  }
  return index;
}

// What the follower saw: when each end-to-end event (by index) first arrived. Thread-safe.
class Arrivals {
 public:
  explicit Arrivals(size_t events) : at_(events), seen_(events, false) {}

  // Records the events of one response, all arrived at `now`.
  void Add(const kubetrail::v1::FollowResponse& response, SteadyClock::time_point now) {
    absl::MutexLock lock(&mu_);
    for (const kubetrail::v1::StoredEvent& e : response.events()) {
      const std::optional<uint64_t> index = IndexOf(e.event().event().audit_id());
      if (!index || *index >= at_.size() || seen_[*index]) continue;
      seen_[*index] = true;
      at_[*index] = now;
      ++count_;
    }
  }

  // Waits until every event has arrived, or nothing new for `stall`. Returns how many did.
  uint64_t WaitForAll(absl::Duration stall) {
    absl::MutexLock lock(&mu_);
    uint64_t before = count_;
    const auto changed = [this, &before]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return count_ != before || count_ == at_.size();
    };
    while (count_ < at_.size() && mu_.AwaitWithTimeout(absl::Condition(&changed), stall)) {
      before = count_;
    }
    return count_;
  }

  // The arrival times; only once the follower has stopped.
  std::vector<SteadyClock::time_point> Take() {
    absl::MutexLock lock(&mu_);
    return std::move(at_);
  }

 private:
  absl::Mutex mu_;
  std::vector<SteadyClock::time_point> at_ ABSL_GUARDED_BY(mu_);
  std::vector<bool> seen_ ABSL_GUARDED_BY(mu_);
  uint64_t count_ ABSL_GUARDED_BY(mu_) = 0;
};

// A Follow call at the aggregator behind `stub`, from after sequence 0, whose responses a
// thread of its own records in `arrivals` (both must outlive the object). Stop() or the
// destructor cancels the call, joins the thread and finishes the call.
//
// Thread safety: Stop() from one thread (the owner's).
class FollowStream {
 public:
  FollowStream(kubetrail::v1::Query::Stub& stub, Arrivals& arrivals) {
    // A deadline, as on every call; the phase cancels the call when it is done, so this only
    // bounds a follow that nothing else ends.
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::hours(24));
    kubetrail::v1::FollowRequest request;
    request.set_after_sequence(0);
    reader_ = stub.Follow(&context_, request);
    thread_ = std::thread([this, &arrivals] {
      kubetrail::v1::FollowResponse response;
      while (reader_->Read(&response)) arrivals.Add(response, SteadyClock::now());
    });
  }
  ~FollowStream() { Stop(); }
  FollowStream(const FollowStream&) = delete;
  FollowStream& operator=(const FollowStream&) = delete;

  // Ends the call (once; later calls return the same status): CANCELLED when it was still
  // running, as it is until the aggregator goes away.
  grpc::Status Stop() {
    if (!stopped_) {
      stopped_ = true;
      context_.TryCancel();
      thread_.join();
      status_ = reader_->Finish();
    }
    return status_;
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<kubetrail::v1::FollowResponse>> reader_;
  std::thread thread_;
  bool stopped_ = false;
  grpc::Status status_;
};

// How long after the start of a paced send the POST starting with event `slot` is due.
SteadyClock::duration DueAfter(uint64_t slot, double rate) {
  return std::chrono::duration_cast<SteadyClock::duration>(
      std::chrono::duration<double>(static_cast<double>(slot) / rate));
}

// One lane of the end-to-end send: a SendWebhook call over one connection.
struct Lane {
  std::vector<kubetrail::v1::Event> events;
  absl::StatusOr<loadgen::WebhookSendResult> result;
  // When SendWebhook's clock started: its return - its elapsed time. (Its clock starts after
  // it has encoded the bodies; what it does after reading it last, tallying codes and
  // latencies, takes microseconds.)
  SteadyClock::time_point start;
};

// Phase 4: an aggregator, a collector shipping to it, events POSTed at a fixed rate and
// followed at the aggregator.
absl::StatusOr<EndToEndPhase> EndToEnd(const fs::path& dir, const Options& options,
                                       const std::vector<kubetrail::v1::Event>& input) {
  EndToEndPhase phase;
  phase.rate = options.rate;
  phase.sent = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::llround(options.rate * options.latency_seconds)));

  // The POSTs are dealt to K lanes (K = --connections, at most one per POST): lane k sends
  // POSTs k, k + K, k + 2K, ... over one connection of its own at rate / K, so that its j-th
  // POST is due exactly j * 400 / (rate / K) after its start. (One SendWebhook over K
  // connections paces the total just as well, but its connections take the slots in the
  // order they ask for them, so which POST was due when would be unknown.) Lane k starts
  // k * 400 / rate after lane 0: together they send POST b at about b * 400 / rate.
  const uint64_t posts = (phase.sent + kPostEvents - 1) / kPostEvents;
  std::vector<Lane> lanes(
      static_cast<size_t>(std::min<uint64_t>(static_cast<uint64_t>(options.connections), posts)));
  phase.connections = static_cast<int>(lanes.size());
  // The input over and over, each event with an auditID of its own.
  for (uint64_t i = 0; i < phase.sent; ++i) {
    kubetrail::v1::Event& e =
        lanes[(i / kPostEvents) % lanes.size()].events.emplace_back(input[i % input.size()]);
    e.set_audit_id(AuditIdOf(i));
  }

  KT_ASSIGN_OR_RETURN(const std::string aggregator_binary, FindBinary(kAggregatorBinary));
  KT_ASSIGN_OR_RETURN(
      std::unique_ptr<ChildProcess> aggregator,
      ChildProcess::Start({aggregator_binary, "--dev", "--listen", "127.0.0.1:0", "--data-dir",
                           (dir / "agg").string(), "--retention-interval", "0s"},
                          dir / "e2e-aggregator.log"));
  KT_ASSIGN_OR_RETURN(const std::string aggregator_line,
                      aggregator->WaitForLine(": serving ", kReadyTimeout));
  const std::optional<std::string> grpc_address = Field(aggregator_line, "grpc");
  if (!grpc_address) {
    return absl::InternalError(
        Cat("the aggregator's ready line lacks grpc=: \"", aggregator_line, "\""));
  }
  KT_RETURN_IF_ERROR(HostPort(*grpc_address, "the aggregator's grpc=").status());
  KT_LOG(kInfo, kLogComponent) << "aggregator pid " << aggregator->pid() << ": grpc "
                               << *grpc_address << ", log "
                               << (dir / "e2e-aggregator.log").string();
  KT_ASSIGN_OR_RETURN(Collector collector, StartCollector(*grpc_address, dir / "e2e-spool",
                                                          dir / "e2e-collector.log", {}));

  // The follow starts after sequence 0: the aggregator is new, so that is "now", and no
  // event can slip past a follow that reaches the server late.
  const std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(*grpc_address, grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                 absl::ToChronoNanoseconds(kReadyTimeout))) {
    return absl::UnavailableError(Cat("cannot connect to the aggregator at ", *grpc_address));
  }
  std::unique_ptr<kubetrail::v1::Query::Stub> stub = kubetrail::v1::Query::NewStub(channel);
  Arrivals arrivals(phase.sent);
  FollowStream follow(*stub, arrivals);

  const double lane_rate = options.rate / static_cast<double>(lanes.size());
  const absl::Duration send_timeout = absl::Seconds(options.latency_seconds) + kSendGrace;
  {
    std::vector<std::thread> threads;
    const SteadyClock::time_point first = SteadyClock::now();
    for (size_t k = 0; k < lanes.size(); ++k) {
      threads.emplace_back([&, k] {
        std::this_thread::sleep_until(first + DueAfter(k * kPostEvents, options.rate));
        Lane& lane = lanes[k];
        lane.result =
            Post(collector.webhook_url, /*connections=*/1, lane_rate, send_timeout, lane.events);
        const SteadyClock::time_point returned = SteadyClock::now();
        if (lane.result.ok())
          lane.start = returned - absl::ToChronoNanoseconds(lane.result->elapsed);
      });
    }
    for (std::thread& t : threads) t.join();
  }
  SteadyClock::time_point send_begin = SteadyClock::time_point::max();
  SteadyClock::time_point send_end = SteadyClock::time_point::min();
  for (const Lane& lane : lanes) {
    KT_RETURN_IF_ERROR(lane.result.status());
    send_begin = std::min(send_begin, lane.start);
    send_end = std::max(send_end, lane.start + absl::ToChronoNanoseconds(lane.result->elapsed));
  }
  phase.send_seconds = Seconds(send_end - send_begin);

  phase.received = arrivals.WaitForAll(kStallTimeout);
  KT_ASSIGN_OR_RETURN(phase.memory, collector.process->ReadMemory());
  const grpc::Status follow_status = follow.Stop();
  if (phase.received < phase.sent) {
    return absl::DeadlineExceededError(
        Cat("end to end: ", phase.received, " of ", phase.sent, " events reached the follower, ",
            "and no more for ", absl::FormatDuration(kStallTimeout), " (the follow ended with ",
            FromGrpcStatus(follow_status).ToString(), ")"));
  }

  const std::vector<SteadyClock::time_point> at = arrivals.Take();
  std::vector<double> latencies_ms(at.size());
  for (size_t i = 0; i < at.size(); ++i) {
    // Event i is in POST b, the ((b - k) / K)-th POST of lane k = b mod K.
    const uint64_t b = i / kPostEvents;
    const uint64_t k = b % lanes.size();
    const SteadyClock::time_point due =
        lanes[k].start + DueAfter((b - k) * kPostEvents, options.rate);
    latencies_ms[i] = std::chrono::duration<double, std::milli>(at[i] - due).count();
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  phase.p50_ms = Percentile(latencies_ms, 0.50);
  phase.p99_ms = Percentile(latencies_ms, 0.99);
  phase.max_ms = latencies_ms.back();

  StopChild(*collector.process);
  StopChild(*aggregator);
  KT_LOG(kInfo, kLogComponent) << "end to end at " << Fixed(options.rate, 0) << " events/s ("
                               << phase.sent << " events, " << phase.connections << " connections, "
                               << Fixed(phase.send_seconds, 2) << " s): p50 "
                               << Fixed(phase.p50_ms, 1) << " ms, p99 " << Fixed(phase.p99_ms, 1)
                               << " ms, max " << Fixed(phase.max_ms, 1) << " ms; collector VmHWM "
                               << Fixed(Mebibytes(phase.memory.hwm_bytes), 1) << " MiB";
  return phase;
}

absl::StatusOr<Report> Run(const Options& options) {
  const fs::path dir = NormalizeDir(options.dir);
  KT_RETURN_IF_ERROR(CheckNewDir(dir, "collector bench"));
  // Before any work: a missing server binary is a setup error.
  KT_RETURN_IF_ERROR(FindBinary(kCollectorBinary).status());
  KT_RETURN_IF_ERROR(FindBinary(kAggregatorBinary).status());

  const SteadyClock::time_point start = SteadyClock::now();
  KT_ASSIGN_OR_RETURN(Input input, LoadInput(options.input));
  if (options.events > 0) {
    if (options.events > input.events.size()) {
      return absl::InvalidArgumentError(Cat("--events ", options.events, ": ", options.input,
                                            " has only ", input.events.size(), " events"));
    }
    input.lines.resize(options.events);
    input.events.resize(options.events);
  }
  Report report;
  report.events = input.events.size();
  uint64_t bytes = 0;
  for (const std::string_view line : input.lines) bytes += line.size();
  report.event_bytes = static_cast<double>(bytes) / static_cast<double>(report.events);
  // The collector fills in the envelope itself; the senders take bare events.
  std::vector<kubetrail::v1::Event> events;
  events.reserve(input.events.size());
  for (kubetrail::v1::EnvelopedEvent& e : input.events) {
    events.push_back(std::move(*e.mutable_event()));
  }
  input.events = {};
  input.times_us = {};
  KT_LOG(kInfo, kLogComponent) << "decoded " << report.events << " events ("
                               << Fixed(report.event_bytes, 0) << " B each on average) in "
                               << Fixed(Seconds(SteadyClock::now() - start), 2) << " s";

  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(Cat(dir.string(), ": ", ec.message()));
  KT_ASSIGN_OR_RETURN(report.webhook, WebhookToSpool(dir, options, events));
  KT_ASSIGN_OR_RETURN(report.tail, TailToSpool(dir, input.lines));
  // The first phases leave hundreds of MB of dirty pages behind; written back during the
  // next phase they would stretch its synced writes, which is not what it measures.
  ::sync();
  KT_ASSIGN_OR_RETURN(report.e2e, EndToEnd(dir, options, events));
  return report;
}

void WriteMemory(loadgen::JsonWriter& w, const Memory& memory) {
  w.Key("collector_vmhwm_mb").Raw(Fixed(Mebibytes(memory.hwm_bytes), 1));
  w.Key("collector_vmrss_mb").Raw(Fixed(Mebibytes(memory.rss_bytes), 1));
}

std::string ResultJson(const Report& r) {
  std::string out;
  loadgen::JsonWriter w(&out);
  w.BeginObject();
  w.Num("events", static_cast<int64_t>(r.events));
  w.Key("event_bytes").Raw(Fixed(r.event_bytes, 1));

  w.Obj("webhook_to_spool");
  w.Key("events_per_s").Raw(Fixed(r.webhook_events_per_s(), 1));
  w.Key("seconds").Raw(Fixed(r.webhook.seconds, 3));
  w.Num("connections", r.webhook.connections);
  w.Num("batch_events", static_cast<int64_t>(kPostEvents));
  w.Key("post_p50_ms").Raw(Fixed(r.webhook.post_p50_ms, 3));
  w.Key("post_p99_ms").Raw(Fixed(r.webhook.post_p99_ms, 3));
  w.Key("collector_cpu_us_per_event").Raw(CpuUsPerEvent(r.webhook.cpu_seconds, r.events));
  WriteMemory(w, r.webhook.memory);
  w.EndObject();

  w.Obj("tail_to_spool");
  w.Key("events_per_s").Raw(Fixed(r.tail_events_per_s(), 1));
  w.Key("seconds").Raw(Fixed(r.tail.seconds, 3));
  w.Key("events_per_s_from_ready").Raw(Fixed(r.tail_events_per_s_from_ready(), 1));
  w.Key("seconds_from_ready").Raw(Fixed(r.tail.seconds_from_ready, 3));
  w.Key("collector_cpu_us_per_event").Raw(CpuUsPerEvent(r.tail.cpu_seconds, r.events));
  WriteMemory(w, r.tail.memory);
  w.EndObject();

  w.Obj("end_to_end");
  w.Key("rate").Raw(Fixed(r.e2e.rate, 1));
  w.Num("connections", r.e2e.connections);
  w.Num("sent", static_cast<int64_t>(r.e2e.sent));
  w.Num("events", static_cast<int64_t>(r.e2e.received));
  w.Key("send_seconds").Raw(Fixed(r.e2e.send_seconds, 3));
  w.Key("p50_ms").Raw(Fixed(r.e2e.p50_ms, 3));
  w.Key("p99_ms").Raw(Fixed(r.e2e.p99_ms, 3));
  w.Key("max_ms").Raw(Fixed(r.e2e.max_ms, 3));
  WriteMemory(w, r.e2e.memory);
  w.EndObject();

  w.EndObject();
  return out;
}

// The human-readable form of the report, for a terminal (without --json).
std::string ResultText(const Report& r) {
  auto memory = [](const Memory& m) {
    return Cat("collector VmHWM ", Fixed(Mebibytes(m.hwm_bytes), 1), " MiB, VmRSS ",
               Fixed(Mebibytes(m.rss_bytes), 1), " MiB");
  };
  std::ostringstream out;
  out << "collector bench: " << r.events << " events of " << Fixed(r.event_bytes, 0)
      << " B (mean JSON)\n"
      << "  webhook -> spool  " << Fixed(r.webhook_events_per_s(), 0) << " events/s ("
      << Fixed(r.webhook.seconds, 2) << " s, " << r.webhook.connections << " connections, POSTs of "
      << kPostEvents << "); POST p50 " << Fixed(r.webhook.post_p50_ms, 2) << " ms, p99 "
      << Fixed(r.webhook.post_p99_ms, 2) << " ms; collector CPU "
      << CpuUsPerEvent(r.webhook.cpu_seconds, r.events) << " us/event\n"
      << "                    " << memory(r.webhook.memory) << "\n"
      << "  tail -> spool     " << Fixed(r.tail_events_per_s(), 0) << " events/s ("
      << Fixed(r.tail.seconds, 2) << " s from start; " << Fixed(r.tail_events_per_s_from_ready(), 0)
      << " events/s, " << Fixed(r.tail.seconds_from_ready, 2) << " s from ready); collector CPU "
      << CpuUsPerEvent(r.tail.cpu_seconds, r.events) << " us/event\n"
      << "                    " << memory(r.tail.memory) << "\n"
      << "  end to end        " << Fixed(r.e2e.rate, 0) << " events/s for "
      << Fixed(r.e2e.send_seconds, 2) << " s (" << r.e2e.received << " of " << r.e2e.sent
      << " events followed, " << r.e2e.connections << " connections); latency p50 "
      << Fixed(r.e2e.p50_ms, 1) << " ms, p99 " << Fixed(r.e2e.p99_ms, 1) << " ms, max "
      << Fixed(r.e2e.max_ms, 1) << " ms\n"
      << "                    " << memory(r.e2e.memory) << "\n";
  return out.str();
}

}  // namespace

int RunCollectorBench(int argc, char** argv) {
  Options options;
  CLI::App app(
      "Measure a kubetrail-collector process: webhook and tail into the spool, memory, and "
      "POST-to-queryable latency through an aggregator",
      std::string(kProgram));
  app.footer(
      "Decodes FILE (JSON lines of audit events, e.g. from kubetrail-loadgen) and runs\n"
      "kubetrail-collector (and kubetrail-aggregator), found next to kubetrail-bench, as child\n"
      "processes (plaintext, 127.0.0.1, free ports; their data and logs in DIR, left there):\n"
      "  webhook_to_spool  every event POSTed (400 per EventList, N connections) to a collector\n"
      "                    that cannot ship, timed from the first POST to the last reply;\n"
      "  tail_to_spool     every line in DIR/log/audit.log, followed by a new collector, timed\n"
      "                    from its start until /metrics counts every event spooled;\n"
      "  end_to_end        events POSTed at R events/s for S seconds (over N connections) to a\n"
      "                    collector shipping to an aggregator; latency from each POST's due\n"
      "                    time until a Follow at the aggregator receives the event.\n"
      "The collector's peak resident memory (VmHWM) is reported for each. DIR must not exist\n"
      "or be empty.\n"
      "\n"
      "Prints one JSON line, last on stdout (with --json, nothing else on stdout); progress\n"
      "goes to stderr. Exit codes: 0 success, 1 any error.\n"
      "\n"
      "Example:\n"
      "  kubetrail-loadgen --count 400000 --seed 1 --output /tmp/events.jsonl\n"
      "  kubetrail-bench collector --input /tmp/events.jsonl --dir /tmp/kt-collector --json");
  app.add_option("--input", options.input, "Audit events, one JSON object per line")
      ->required()
      ->check(CLI::ExistingFile)
      ->option_text("FILE.jsonl");
  app.add_option("--dir", options.dir,
                 "Directory for the spools, the audit log, the aggregator's data and the "
                 "children's logs (new or empty)")
      ->required()
      ->option_text("DIR");
  app.add_option("--events", options.events,
                 "Use the first N events of the input (webhook and tail phases)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1'000'000'000}))
      ->option_text("N (default: all)");
  app.add_option("--connections", options.connections,
                 "Webhook connections (webhook and end-to-end phases)")
      ->check(CLI::Range(1, 256))
      ->option_text("N (default 8)");
  app.add_option("--rate", options.rate, "Events per second (end-to-end phase)")
      ->check(CLI::Range(1.0, 10'000'000.0))
      ->option_text("R (default 10000)");
  app.add_option("--latency-seconds", options.latency_seconds,
                 "How long to send at --rate (end-to-end phase)")
      ->check(CLI::Range(0.1, 3600.0))
      ->option_text("S (default 10)");
  app.add_flag("--json", options.json, "Print only the result JSON line on stdout");
  return RunBenchCommand<Report>(
      app, argc, argv, kProgram, options.json, [&] { return Run(options); }, ResultText,
      ResultJson);
}

}  // namespace kubetrail::bench
