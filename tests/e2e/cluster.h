// What the end-to-end tests (tests/e2e/*_test.cc) are made of: kubetrail-aggregator and
// kubetrail-collector processes that can be SIGKILLed and started again on the same data
// directory, spool and ports; an audit log written and rotated while a collector tails it, as
// kube-apiserver's lumberjack (or logrotate) does; and the check that `kubetrail query -o jsonl
// --all` gives back, per cluster, exactly the events that went in.
//
//   AggregatorProcess agg(dir.File("agg"));
//   ASSERT_TRUE(agg.Start().ok());                       // first start: a free port, kept
//   CollectorProcess web({"--dev", "--cluster", "web", "--aggregator", agg.address(),
//                         "--spool-dir", dir.File("spool"), "--webhook-listen", "127.0.0.1:0"});
//   ASSERT_TRUE(web.Start().ok());                       // first start: the webhook port, kept
//   ... kubetrail-loadgen --send web.webhook_url() ...
//   ASSERT_TRUE(web.Kill().ok());                        // SIGKILL, reaped
//   ASSERT_TRUE(web.Start().ok());                       // same spool, same webhook port
//   AwaitCount(agg.address(), "web", expected.size(), absl::Seconds(120));
//   absl::StatusOr<Figures> f = CompareCluster(agg.address(), "web", expected);
//
// Thread safety: AggregatorProcess and CollectorProcess are used from the test's thread only;
// AuditLogWriter runs its own thread (its methods are called from one other thread). The free
// functions are thread-safe.
#ifndef KUBETRAIL_TESTS_E2E_CLUSTER_H_
#define KUBETRAIL_TESTS_E2E_CLUSTER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/aggregator_process.h"
#include "tests/testing/background_process.h"

// ASSERT_TRUE / EXPECT_TRUE that an absl::Status is OK, quoting the expression and the status.
#define KT_E2E_ASSERT_OK(expr)                                         \
  do {                                                                 \
    const absl::Status kt_e2e_status = (expr);                         \
    ASSERT_TRUE(kt_e2e_status.ok()) << #expr << ": " << kt_e2e_status; \
  } while (0)
#define KT_E2E_EXPECT_OK(expr)                                         \
  do {                                                                 \
    const absl::Status kt_e2e_status = (expr);                         \
    EXPECT_TRUE(kt_e2e_status.ok()) << #expr << ": " << kt_e2e_status; \
  } while (0)

namespace kubetrail::e2e {

// kubetrail-aggregator --dev on DATA_DIR, restartable on the same port.
class AggregatorProcess {
 public:
  explicit AggregatorProcess(std::string data_dir) : data_dir_(std::move(data_dir)) {}

  // Starts it (kubetrail::testing::StartAggregator) and waits for its ready line. The first
  // start listens on 127.0.0.1:0; later starts on the port it chose then, so collectors keep
  // their --aggregator address. FailedPrecondition when it is running; Unavailable when it
  // did not come up (its output in the message).
  absl::Status Start();
  // SIGKILL, then reap. FailedPrecondition when it is not running.
  absl::Status Kill();
  // SIGTERM, then waits for exit 0. Internal (with its stderr) for any other exit.
  absl::Status Stop(absl::Duration timeout = absl::Seconds(60));

  bool running() const { return agg_.process != nullptr; }
  // "127.0.0.1:PORT"; empty before the first start.
  std::string address() const;
  int http_port() const { return agg_.http_port; }

 private:
  const std::string data_dir_;
  int port_ = 0;  // 0 until the first start
  testing::RunningAggregator agg_;
};

// kubetrail-collector with fixed flags, restartable on the same spool and webhook port.
class CollectorProcess {
 public:
  // `args`: its flags, without the program. A "--webhook-listen 127.0.0.1:0" is replaced by the
  // port chosen at the first start for every later start.
  explicit CollectorProcess(std::vector<std::string> args) : args_(std::move(args)) {}

  // Starts it and waits for its "running cluster=" line (ports read from it). Errors as
  // AggregatorProcess::Start.
  absl::Status Start();
  // SIGKILL, then reap. FailedPrecondition when it is not running.
  absl::Status Kill();
  // SIGTERM (it ships what is spooled for up to its --drain-timeout), then waits for exit 0.
  absl::Status Stop(absl::Duration timeout = absl::Seconds(60));

  bool running() const { return process_ != nullptr; }
  // "http://127.0.0.1:PORT/audit/webhook"; empty without a webhook.
  const std::string& webhook_url() const { return webhook_url_; }
  // The /metrics port of the running instance (--http-listen); 0 without one.
  int http_port() const { return http_port_; }

  // The value of one sample of its /metrics ("name{labels}"), -1 when absent or unreachable.
  double Metric(std::string_view series) const;
  // Polls Metric(series) every 100 ms until `done` holds for it or `timeout` passes; returns
  // the last value.
  double AwaitMetric(std::string_view series, const std::function<bool(double)>& done,
                     absl::Duration timeout) const;

 private:
  std::vector<std::string> args_;
  std::unique_ptr<testing::BackgroundProcess> process_;
  std::string webhook_url_;
  int http_port_ = 0;
};

// How AuditLogWriter rotates the live file.
enum class Rotation {
  // kube-apiserver's own (lumberjack): audit.log → audit-2026-11-27T06-00-00.000.log, a new
  // audit.log; with compression every other rotated file becomes .log.gz (its original is
  // removed), as lumberjack's mill does after the rename.
  kLumberjack,
  // logrotate's rename ("create"): audit.log.N → audit.log.N+1, audit.log → audit.log.1, a new
  // audit.log; with compression ("compress" + "delaycompress") audit.log.2 becomes
  // audit.log.2.gz.
  kLogrotate,
};

struct AuditLogOptions {
  // The live file, e.g. DIR/audit.log; its directory must exist. Required.
  std::string path;
  Rotation rotation = Rotation::kLumberjack;
  // Lines written to a file before it is rotated; 0 never rotates. Default 1000.
  size_t rotate_every_lines = 1000;
  // gzip rotated files (see Rotation). Default false.
  bool compress = false;
  // Pace of the writes over all lines; 0 = as fast as possible. Default 0.
  double lines_per_second = 0;
  // Seeds where writes are cut: lines are appended a few at a time, some writes end inside a
  // line and the rest follows a moment later (the tailer must wait for the newline).
  uint64_t seed = 1;
  // With `resume` set: after `pause_after_lines` lines the writer waits until `resume` is
  // notified (which must outlive the writer), then goes on at the same pace. Lets a test put
  // the rest of the load after an event of its own (an outage) whatever the machine's speed.
  size_t pause_after_lines = 0;
  absl::Notification* resume = nullptr;
};

// Appends `lines` to an audit log on its own thread as kube-apiserver does, rotating it along
// the way. Rotations happen between complete lines; rotated files are never deleted (that
// would lose lines no tailer has read yet).
class AuditLogWriter {
 public:
  // Starts writing at once. Each of `lines` is written followed by '\n'.
  AuditLogWriter(AuditLogOptions options, std::vector<std::string> lines);
  // Stops writing (if not done) and joins the thread.
  ~AuditLogWriter();
  AuditLogWriter(const AuditLogWriter&) = delete;
  AuditLogWriter& operator=(const AuditLogWriter&) = delete;

  // Waits until every line is written. DeadlineExceeded after `timeout`; else the first I/O
  // error (with the path), or OK.
  absl::Status Wait(absl::Duration timeout);
  bool done() const { return done_.HasBeenNotified(); }
  // Rotations so far.
  int rotations() const { return rotations_.load(); }

 private:
  void Run();
  absl::Status WriteAll();
  absl::Status Rotate(int* fd);

  // Constant after construction.
  const AuditLogOptions options_;
  const std::vector<std::string> lines_;

  std::atomic<bool> stop_{false};
  std::atomic<int> rotations_{0};
  absl::Notification done_;
  absl::Mutex mu_;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;  // last: starts after the members above exist
};

// Reading and making the inputs.

// The lines of a text file, without their '\n' (empty lines skipped); NotFound when it cannot
// be read.
absl::StatusOr<std::vector<std::string>> ReadLines(const std::string& path);
// Writes each line followed by '\n'. Internal when the file cannot be written.
absl::Status WriteLines(const std::string& path, const std::vector<std::string>& lines);
// `kubetrail convert --skip-invalid FILES`: canonical audit.k8s.io/v1 JSON lines.
absl::StatusOr<std::vector<std::string>> Convert(const std::vector<std::string>& files);
// `kubetrail policy apply --policy POLICY FILES`: what a collector with that policy ships.
absl::StatusOr<std::vector<std::string>> PolicyApply(const std::string& policy,
                                                     const std::vector<std::string>& files);
// `kubetrail-loadgen --count COUNT --seed SEED --output PATH`, then Convert(PATH).
absl::StatusOr<std::vector<std::string>> Generate(const std::string& path, int count,
                                                  uint64_t seed);
// Every *.jsonl file of the shared corpus (kubetrail::testing::CorpusDir()) through Convert.
// NotFound, quoting where it looked, when there is no corpus.
absl::StatusOr<std::vector<std::string>> CorpusLines();

// Querying the aggregator (`kubetrail --dev --server SERVER ...`).

// `count --cluster CLUSTER`.
absl::StatusOr<uint64_t> Count(const std::string& server, const std::string& cluster);
// Polls Count every 200 ms until it is at least `want` or `timeout` passes; returns the last
// count (the caller compares: a shortfall is reported as lost events, not as this error).
// Errors only when no count could be read at all.
absl::StatusOr<uint64_t> AwaitCount(const std::string& server, const std::string& cluster,
                                    uint64_t want, absl::Duration timeout);
// `query --cluster CLUSTER --all -o jsonl`: each stored event as kube-apiserver wrote it.
absl::StatusOr<std::vector<std::string>> QueryJsonl(const std::string& server,
                                                    const std::string& cluster);

// What came back against what went in, byte for byte.
struct Figures {
  size_t expected = 0;    // distinct events that went in (after the policy)
  size_t stored = 0;      // lines the query returned
  size_t lost = 0;        // went in, not returned
  size_t duplicated = 0;  // extra copies: returned more than once
  size_t unexpected = 0;  // returned, never went in (distinct lines)
  // A few lost / duplicated / unexpected lines (shortened), for failure messages.
  std::vector<std::string> examples;

  bool exact() const { return lost == 0 && duplicated == 0 && unexpected == 0; }
};
Figures Compare(const std::vector<std::string>& expected, const std::vector<std::string>& stored);
// QueryJsonl + Compare.
absl::StatusOr<Figures> CompareCluster(const std::string& server, const std::string& cluster,
                                       const std::vector<std::string>& expected);
// "expected=… stored=… lost=… duplicated=… unexpected=…" and the examples, for messages.
std::string Describe(const Figures& f);

// The flags of the two collectors the e2e tests run: one for cluster "e2e-webhook" with a
// webhook on a free port, one for "e2e-tail" tailing `log`; both --dev, source "apiserver-1",
// batches sent after at most 100 ms, /metrics on a free port; `extra` flags appended.
std::vector<std::string> WebhookCollectorArgs(const std::string& aggregator,
                                              const std::string& spool_dir,
                                              const std::vector<std::string>& extra = {});
std::vector<std::string> TailCollectorArgs(const std::string& aggregator,
                                           const std::string& spool_dir, const std::string& log,
                                           const std::vector<std::string>& extra = {});

// The end of a run: expects each collector's spool to empty within 30 s (every event acked),
// then stops the collectors in the order given and the aggregator last, expecting each to
// exit cleanly.
void ExpectSpoolsEmptyThenStop(AggregatorProcess& agg,
                               const std::vector<CollectorProcess*>& collectors);

// The seed of a test's randomness: $KUBETRAIL_E2E_SEED when set (to reproduce a run), else a
// fresh one from std::random_device. Tests print it.
uint64_t TestSeed();

}  // namespace kubetrail::e2e

#endif  // KUBETRAIL_TESTS_E2E_CLUSTER_H_
