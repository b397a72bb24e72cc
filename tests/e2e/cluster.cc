#include "tests/e2e/cluster.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/strings.h"
#include "httplib.h"
#include "tests/testing/paths.h"
#include "tests/testing/subprocess.h"

namespace kubetrail::e2e {
namespace {

using testing::BinDir;
using testing::RunSubprocess;

// Waits for a process that was sent SIGKILL.
absl::Status Reap(testing::BackgroundProcess& process) {
  absl::StatusOr<int> code = process.Wait(absl::Seconds(30));
  return code.ok() ? absl::OkStatus() : code.status();
}

absl::Status StopProcess(testing::BackgroundProcess& process, absl::Duration timeout,
                         std::string_view what) {
  if (absl::Status s = process.Signal(SIGTERM); !s.ok()) return s;
  absl::StatusOr<int> code = process.Wait(timeout);
  if (!code.ok()) return code.status();
  if (*code != 0) {
    return absl::InternalError(Cat(what, " exited ", *code, " (signal ", process.term_signal(),
                                   ") after SIGTERM; stderr:\n", process.stderr_data()));
  }
  return absl::OkStatus();
}

// A run of a CLI that must exit 0; its stdout.
absl::StatusOr<std::string> Run(const std::vector<std::string>& argv,
                                absl::Duration timeout = absl::Seconds(120)) {
  testing::SubprocessOptions options;
  options.timeout = timeout;
  absl::StatusOr<testing::SubprocessResult> r = RunSubprocess(argv, options);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    return absl::InternalError(Cat(absl::StrJoin(argv, " "), ": exit ", r->exit_code, " signal ",
                                   r->term_signal, ": ", r->stderr_data.substr(0, 2000)));
  }
  return std::move(r->stdout_data);
}

std::vector<std::string> SplitLines(std::string_view text) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(ToAbsl(text), '\n', absl::SkipEmpty())) {
    lines.emplace_back(line);
  }
  return lines;
}

std::string Shorten(std::string_view line) {
  return line.size() <= 240 ? std::string(line) : Cat(line.substr(0, 240), "…");
}

absl::Status ErrnoError(std::string_view what, const std::string& path) {
  return absl::InternalError(Cat(what, " ", path, ": ", std::strerror(errno)));
}

absl::Status WriteFully(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// Compresses `path` to `path.gz`, then removes `path`, as lumberjack's mill and logrotate do:
// while it runs, a reader may see both files and a partial .gz.
absl::Status GzipFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoError("open", path);
  const std::string gz_path = path + ".gz";
  gzFile gz = gzopen(gz_path.c_str(), "wb");
  if (gz == nullptr) return ErrnoError("gzopen", gz_path);
  char buffer[1 << 16];
  bool ok = true;
  while (ok && in) {
    in.read(buffer, sizeof(buffer));
    const std::streamsize n = in.gcount();
    if (n > 0) ok = gzwrite(gz, buffer, static_cast<unsigned>(n)) == static_cast<int>(n);
  }
  if (gzclose(gz) != Z_OK || !ok) return absl::InternalError(Cat("gzip ", gz_path));
  if (::unlink(path.c_str()) != 0) return ErrnoError("unlink", path);
  return absl::OkStatus();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// AggregatorProcess

absl::Status AggregatorProcess::Start() {
  if (running()) return absl::FailedPreconditionError("the aggregator is running");
  std::vector<std::string> args;  // empty: StartAggregator's defaults (127.0.0.1:0)
  if (port_ != 0) {
    args = {"--dev",         "--listen",        Cat("127.0.0.1:", port_),
            "--http-listen", "127.0.0.1:0",     "--data-dir",
            data_dir_,       "--drain-timeout", "10s"};
  }
  agg_ = testing::StartAggregator(data_dir_, args);
  if (agg_.process == nullptr || agg_.port == 0) {
    agg_ = {};
    return absl::UnavailableError(
        Cat("kubetrail-aggregator on ", data_dir_, " did not start (see above)"));
  }
  port_ = agg_.port;
  return absl::OkStatus();
}

absl::Status AggregatorProcess::Kill() {
  if (!running()) return absl::FailedPreconditionError("the aggregator is not running");
  absl::Status s = agg_.process->Signal(SIGKILL);
  if (s.ok()) s = Reap(*agg_.process);
  agg_ = {};
  return s;
}

absl::Status AggregatorProcess::Stop(absl::Duration timeout) {
  if (!running()) return absl::FailedPreconditionError("the aggregator is not running");
  absl::Status s = StopProcess(*agg_.process, timeout, "kubetrail-aggregator");
  agg_ = {};
  return s;
}

std::string AggregatorProcess::address() const {
  return port_ == 0 ? std::string() : Cat("127.0.0.1:", port_);
}

// ---------------------------------------------------------------------------------------------
// CollectorProcess

absl::Status CollectorProcess::Start() {
  if (running()) return absl::FailedPreconditionError("the collector is running");
  std::vector<std::string> argv = {BinDir() + "/kubetrail-collector"};
  argv.insert(argv.end(), args_.begin(), args_.end());
  auto process = testing::BackgroundProcess::Start(argv);
  if (!process.ok()) return process.status();
  absl::StatusOr<std::string> line = (*process)->WaitForLine("running cluster=", absl::Seconds(60));
  if (!line.ok()) {
    return absl::UnavailableError(
        Cat("kubetrail-collector did not start: ", line.status().message()));
  }
  // "kubetrail-collector: running cluster=C source=S webhook=http://127.0.0.1:P/PATH
  //  http=127.0.0.1:P tail=N aggregators=..."
  webhook_url_.clear();
  http_port_ = 0;
  int webhook_port = 0;
  for (absl::string_view word : absl::StrSplit(*line, ' ')) {
    if (absl::ConsumePrefix(&word, "webhook=")) {
      webhook_url_ = std::string(word);
      absl::string_view hostport = word.substr(word.find("://") + 3);
      hostport = hostport.substr(0, hostport.find('/'));
      if (!absl::SimpleAtoi(hostport.substr(hostport.rfind(':') + 1), &webhook_port)) {
        return absl::InternalError(Cat("no webhook port in: ", *line));
      }
    } else if (absl::ConsumePrefix(&word, "http=")) {
      if (!absl::SimpleAtoi(word.substr(word.rfind(':') + 1), &http_port_)) {
        return absl::InternalError(Cat("no http port in: ", *line));
      }
    }
  }
  // Later starts listen where the apiserver (loadgen) keeps posting.
  for (size_t i = 0; i + 1 < args_.size(); ++i) {
    if (args_[i] == "--webhook-listen" && args_[i + 1] == "127.0.0.1:0" && webhook_port != 0) {
      args_[i + 1] = Cat("127.0.0.1:", webhook_port);
    }
  }
  process_ = std::move(*process);
  return absl::OkStatus();
}

absl::Status CollectorProcess::Kill() {
  if (!running()) return absl::FailedPreconditionError("the collector is not running");
  absl::Status s = process_->Signal(SIGKILL);
  if (s.ok()) s = Reap(*process_);
  process_.reset();
  return s;
}

absl::Status CollectorProcess::Stop(absl::Duration timeout) {
  if (!running()) return absl::FailedPreconditionError("the collector is not running");
  absl::Status s = StopProcess(*process_, timeout, "kubetrail-collector");
  process_.reset();
  return s;
}

double CollectorProcess::Metric(std::string_view series) const {
  if (!running() || http_port_ == 0) return -1;
  httplib::Client http("127.0.0.1", http_port_);
  http.set_connection_timeout(5, 0);
  http.set_read_timeout(10, 0);
  httplib::Result res = http.Get("/metrics");
  if (!res || res->status != 200) return -1;
  for (absl::string_view line : absl::StrSplit(res->body, '\n')) {
    if (absl::ConsumePrefix(&line, ToAbsl(series)) && absl::ConsumePrefix(&line, " ")) {
      double v = 0;
      if (absl::SimpleAtod(line, &v)) return v;
    }
  }
  return -1;
}

double CollectorProcess::AwaitMetric(std::string_view series,
                                     const std::function<bool(double)>& done,
                                     absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  double v = Metric(series);
  while (!done(v) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
    v = Metric(series);
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// AuditLogWriter

AuditLogWriter::AuditLogWriter(AuditLogOptions options, std::vector<std::string> lines)
    : options_(std::move(options)), lines_(std::move(lines)), thread_([this] { Run(); }) {}

AuditLogWriter::~AuditLogWriter() {
  stop_.store(true);
  thread_.join();
}

absl::Status AuditLogWriter::Wait(absl::Duration timeout) {
  if (!done_.WaitForNotificationWithTimeout(timeout)) {
    return absl::DeadlineExceededError(
        Cat("the audit log writer is not done after ", absl::FormatDuration(timeout)));
  }
  absl::MutexLock lock(&mu_);
  return status_;
}

void AuditLogWriter::Run() {
  absl::Status s = WriteAll();
  {
    absl::MutexLock lock(&mu_);
    status_ = s;
  }
  done_.Notify();
}

absl::Status AuditLogWriter::WriteAll() {
  const std::string& path = options_.path;
  std::mt19937_64 rng(options_.seed);
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("open", path);
  absl::Time start = absl::Now();
  size_t in_file = 0;  // lines in the live file
  absl::Status status;
  bool paused = false;
  for (size_t i = 0; i < lines_.size() && status.ok() && !stop_.load();) {
    if (options_.resume != nullptr && !paused && i >= options_.pause_after_lines) {
      paused = true;
      while (!stop_.load() &&
             !options_.resume->WaitForNotificationWithTimeout(absl::Milliseconds(50))) {
      }
      // The same pace from here on, not a burst to catch up.
      if (options_.lines_per_second > 0) {
        start = absl::Now() - absl::Seconds(static_cast<double>(i) / options_.lines_per_second);
      }
    }
    if (options_.lines_per_second > 0) {
      const absl::Time due =
          start + absl::Seconds(static_cast<double>(i) / options_.lines_per_second);
      while (absl::Now() < due && !stop_.load()) {
        absl::SleepFor(std::min(due - absl::Now(), absl::Milliseconds(50)));
      }
    }
    // A few lines per write, never across a rotation.
    size_t n =
        std::min<size_t>(std::uniform_int_distribution<size_t>(1, 8)(rng), lines_.size() - i);
    if (options_.rotate_every_lines > 0) n = std::min(n, options_.rotate_every_lines - in_file);
    if (options_.resume != nullptr && !paused) n = std::min(n, options_.pause_after_lines - i);
    std::string chunk;
    for (size_t j = i; j < i + n; ++j) absl::StrAppend(&chunk, lines_[j], "\n");
    if (std::uniform_int_distribution<int>(0, 2)(rng) == 0) {
      // Cut inside the chunk: the reader may see a partial last line for a moment.
      const size_t cut = std::uniform_int_distribution<size_t>(1, chunk.size() - 1)(rng);
      status = WriteFully(fd, std::string_view(chunk).substr(0, cut), path);
      absl::SleepFor(absl::Milliseconds(2));
      if (status.ok()) status = WriteFully(fd, std::string_view(chunk).substr(cut), path);
    } else {
      status = WriteFully(fd, chunk, path);
    }
    i += n;
    in_file += n;
    if (status.ok() && options_.rotate_every_lines > 0 && in_file == options_.rotate_every_lines &&
        i < lines_.size()) {
      status = Rotate(&fd);
      in_file = 0;
    }
  }
  if (fd >= 0 && ::close(fd) != 0 && status.ok()) status = ErrnoError("close", path);
  return status;
}

absl::Status AuditLogWriter::Rotate(int* fd) {
  namespace fs = std::filesystem;
  const std::string& path = options_.path;
  if (::close(*fd) != 0) return ErrnoError("close", path);
  *fd = -1;
  const int n = rotations_.load() + 1;
  std::string to_compress;
  if (options_.rotation == Rotation::kLumberjack) {
    // lumberjack's backupName: <dir>/<stem>-<UTC time as 2006-01-02T15-04-05.000><ext>.
    const fs::path live(path);
    const absl::Time when =
        absl::FromCivil(absl::CivilMinute(2026, 11, 27, 6, 0), absl::UTCTimeZone()) +
        absl::Minutes(n);
    const std::string rotated =
        (live.parent_path() /
         Cat(live.stem().string(), "-",
             absl::FormatTime("%Y-%m-%dT%H-%M-%E3S", when, absl::UTCTimeZone()),
             live.extension().string()))
            .string();
    if (::rename(path.c_str(), rotated.c_str()) != 0) return ErrnoError("rename", path);
    if (options_.compress && n % 2 == 0) to_compress = rotated;
  } else {
    // logrotate: shift the numbered files up by one, oldest first.
    int highest = 0;
    while (fs::exists(Cat(path, ".", highest + 1)) ||
           fs::exists(Cat(path, ".", highest + 1, ".gz"))) {
      ++highest;
    }
    for (int k = highest; k >= 1; --k) {
      for (const char* suffix : {"", ".gz"}) {
        const std::string from = Cat(path, ".", k, suffix);
        if (!fs::exists(from)) continue;
        const std::string to = Cat(path, ".", k + 1, suffix);
        if (::rename(from.c_str(), to.c_str()) != 0) return ErrnoError("rename", from);
      }
    }
    const std::string first = Cat(path, ".1");
    if (::rename(path.c_str(), first.c_str()) != 0) return ErrnoError("rename", path);
    // delaycompress: the previous rotation's file, now .2, is compressed.
    const std::string second = Cat(path, ".2");
    if (options_.compress && fs::exists(second)) to_compress = second;
  }
  *fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (*fd < 0) return ErrnoError("open", path);
  rotations_.store(n);
  if (!to_compress.empty()) return GzipFile(to_compress);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Inputs

absl::StatusOr<std::vector<std::string>> ReadLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(Cat("cannot read ", path));
  std::ostringstream text;
  text << in.rdbuf();
  return SplitLines(text.str());
}

absl::Status WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (const std::string& line : lines) out << line << '\n';
  out.close();
  if (!out) return absl::InternalError(Cat("cannot write ", path));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> Convert(const std::vector<std::string>& files) {
  std::vector<std::string> argv = {BinDir() + "/kubetrail", "convert", "--skip-invalid"};
  argv.insert(argv.end(), files.begin(), files.end());
  absl::StatusOr<std::string> out = Run(argv);
  if (!out.ok()) return out.status();
  return SplitLines(*out);
}

absl::StatusOr<std::vector<std::string>> PolicyApply(const std::string& policy,
                                                     const std::vector<std::string>& files) {
  std::vector<std::string> argv = {BinDir() + "/kubetrail", "policy", "apply", "--policy", policy};
  argv.insert(argv.end(), files.begin(), files.end());
  absl::StatusOr<std::string> out = Run(argv);
  if (!out.ok()) return out.status();
  return SplitLines(*out);
}

absl::StatusOr<std::vector<std::string>> Generate(const std::string& path, int count,
                                                  uint64_t seed) {
  absl::StatusOr<std::string> out = Run({BinDir() + "/kubetrail-loadgen", "--count", Cat(count),
                                         "--seed", Cat(seed), "--output", path});
  if (!out.ok()) return out.status();
  return Convert({path});
}

absl::StatusOr<std::vector<std::string>> CorpusLines() {
  const std::optional<std::string> dir = testing::CorpusDir();
  if (!dir) {
    return absl::NotFoundError(Cat("no shared corpus at ", testing::CorpusSearchDescription()));
  }
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(*dir)) {
    if (entry.path().extension() == ".jsonl") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) return absl::NotFoundError(Cat("no *.jsonl files in ", *dir));
  return Convert(files);
}

// ---------------------------------------------------------------------------------------------
// Queries and the comparison

absl::StatusOr<uint64_t> Count(const std::string& server, const std::string& cluster) {
  absl::StatusOr<std::string> out = Run({BinDir() + "/kubetrail", "--dev", "--server", server,
                                         "--timeout", "20s", "count", "--cluster", cluster},
                                        absl::Seconds(30));
  if (!out.ok()) return out.status();
  uint64_t n = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*out), &n)) {
    return absl::InternalError(Cat("kubetrail count printed: ", *out));
  }
  return n;
}

absl::StatusOr<uint64_t> AwaitCount(const std::string& server, const std::string& cluster,
                                    uint64_t want, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::optional<uint64_t> last;
  absl::Status error;
  while (true) {
    absl::StatusOr<uint64_t> n = Count(server, cluster);
    if (n.ok()) {
      last = *n;
      if (*n >= want) break;
    } else {
      error = n.status();
    }
    if (absl::Now() >= deadline) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  if (last.has_value()) return *last;
  return error;
}

absl::StatusOr<std::vector<std::string>> QueryJsonl(const std::string& server,
                                                    const std::string& cluster) {
  absl::StatusOr<std::string> out = Run({BinDir() + "/kubetrail", "--dev", "--server", server,
                                         "query", "--cluster", cluster, "--all", "-o", "jsonl"});
  if (!out.ok()) return out.status();
  return SplitLines(*out);
}

Figures Compare(const std::vector<std::string>& expected, const std::vector<std::string>& stored) {
  Figures f;
  std::unordered_set<std::string_view> want(expected.begin(), expected.end());
  std::unordered_map<std::string_view, int> got;
  for (const std::string& line : stored) ++got[line];
  f.expected = want.size();
  f.stored = stored.size();
  auto example = [&](std::string_view kind, std::string_view line) {
    if (f.examples.size() < 6) f.examples.push_back(Cat(kind, ": ", Shorten(line)));
  };
  for (std::string_view line : want) {
    if (got.find(line) == got.end()) {
      ++f.lost;
      example("lost", line);
    }
  }
  for (const auto& [line, n] : got) {
    if (n > 1) {
      f.duplicated += static_cast<size_t>(n - 1);
      example(Cat("stored ", n, " times"), line);
    }
    if (want.find(line) == want.end()) {
      ++f.unexpected;
      example("unexpected", line);
    }
  }
  return f;
}

absl::StatusOr<Figures> CompareCluster(const std::string& server, const std::string& cluster,
                                       const std::vector<std::string>& expected) {
  absl::StatusOr<std::vector<std::string>> stored = QueryJsonl(server, cluster);
  if (!stored.ok()) return stored.status();
  return Compare(expected, *stored);
}

std::string Describe(const Figures& f) {
  std::string out = Cat("expected=", f.expected, " stored=", f.stored, " lost=", f.lost,
                        " duplicated=", f.duplicated, " unexpected=", f.unexpected);
  for (const std::string& e : f.examples) absl::StrAppend(&out, "\n  ", e);
  return out;
}

uint64_t TestSeed() {
  if (const char* env = std::getenv("KUBETRAIL_E2E_SEED"); env != nullptr && *env != '\0') {
    uint64_t seed = 0;
    if (absl::SimpleAtoi(env, &seed)) return seed;
  }
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) | device();
}

std::vector<std::string> WebhookCollectorArgs(const std::string& aggregator,
                                              const std::string& spool_dir,
                                              const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"--dev",          "--cluster",      "e2e-webhook",
                                    "--source",       "apiserver-1",    "--aggregator",
                                    aggregator,       "--spool-dir",    spool_dir,
                                    "--webhook-listen", "127.0.0.1:0",  "--http-listen",
                                    "127.0.0.1:0",    "--batch-wait",   "100ms"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::vector<std::string> TailCollectorArgs(const std::string& aggregator,
                                           const std::string& spool_dir, const std::string& log,
                                           const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"--dev",       "--cluster",    "e2e-tail",      "--source",
                                    "apiserver-1", "--aggregator", aggregator,      "--spool-dir",
                                    spool_dir,     "--tail",       log,             "--http-listen",
                                    "127.0.0.1:0", "--batch-wait", "100ms"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

void ExpectSpoolsEmptyThenStop(AggregatorProcess& agg,
                               const std::vector<CollectorProcess*>& collectors) {
  for (const CollectorProcess* c : collectors) {
    EXPECT_EQ(
        c->AwaitMetric(
            "kubetrail_collector_spool_events", [](double v) { return v == 0; }, absl::Seconds(30)),
        0)
        << "a collector's spool did not empty";
  }
  for (CollectorProcess* c : collectors) KT_E2E_EXPECT_OK(c->Stop());
  KT_E2E_EXPECT_OK(agg.Stop());
}

}  // namespace kubetrail::e2e
