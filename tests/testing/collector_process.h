// kubetrail-collector as a process for cross-process tests (tests/collector, ...): start it
// on loopback and read its ports from the line it prints, make the events it is fed
// (kubetrail-loadgen), wait for them at a kubetrail-aggregator (aggregator_process.h), and
// read its metrics.
//
//   RunningAggregator agg = StartAggregator(dir.File("agg"));
//   RunningCollector collector = StartCollector(
//       With(CollectorDevArgs(agg, dir.File("spool")), {"--webhook-listen", "127.0.0.1:0"}));
//   const std::set<std::string> want = Generate(dir.File("events.jsonl"), 1000, 7);
//   ... post the file to collector.webhook_url (kubetrail-loadgen --send) ...
//   EXPECT_EQ(AwaitStored(agg, want.size()), want);
//   EXPECT_EQ(Sample(Metrics(collector.http_port), "kubetrail_collector_spool_events"), 0);
//
// Failures are reported with gtest's EXPECT_*; a RunningCollector that failed to start has a
// null process (or zero ports).
#ifndef KUBETRAIL_TESTS_TESTING_COLLECTOR_PROCESS_H_
#define KUBETRAIL_TESTS_TESTING_COLLECTOR_PROCESS_H_

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tests/testing/aggregator_process.h"
#include "tests/testing/background_process.h"

namespace kubetrail::testing {

// A running collector and what its ready line says.
struct RunningCollector {
  std::unique_ptr<BackgroundProcess> process;
  std::string webhook_url;  // "http(s)://127.0.0.1:PORT/audit/webhook"; empty without webhook
  int webhook_port = 0;     // 0 without webhook
  int http_port = 0;        // 0 without --http-listen
};

// Starts kubetrail-collector with `args` (and `options`: environment additions) and waits
// (60 s) for its "running cluster=" line.
RunningCollector StartCollector(std::vector<std::string> args,
                                const BackgroundProcessOptions& options = {});

// The events of a kubetrail-loadgen output file (JSON lines), as "auditID/stage".
std::set<std::string> ExpectedIds(const std::string& file);

// Writes `count` kubetrail-loadgen events for `seed` to `path`; returns their ids
// (ExpectedIds).
std::set<std::string> Generate(const std::string& path, int count, int seed);

// Waits until the aggregator holds at least `want` events (or 90 s pass); returns what it
// holds (StoredIds: a pair stored twice is an EXPECT failure).
std::set<std::string> AwaitStored(const RunningAggregator& agg, size_t want);

// The Prometheus exposition at http://127.0.0.1:PORT/metrics; empty when it cannot be read.
std::string Metrics(int port);

// The value of one sample line of an exposition ("name{labels} value"), -1 when absent.
double Sample(const std::string& exposition, const std::string& series);

// Collector arguments for --dev: cluster prod, source apiserver-1, one --aggregator per
// entry of `aggregators` ("host:port", in failover order), the spool in `spool`, HTTP status
// on 127.0.0.1:0, --batch-wait 100ms, --drain-timeout 20s. No source: add --webhook-listen
// or --tail.
std::vector<std::string> CollectorDevArgs(const std::vector<std::string>& aggregators,
                                          const std::string& spool);
// The same to the one aggregator `agg`.
std::vector<std::string> CollectorDevArgs(const RunningAggregator& agg, const std::string& spool);

// `args` followed by `more`. The collector refuses a single-valued flag given twice (exit 2);
// --aggregator and --tail accumulate.
std::vector<std::string> With(std::vector<std::string> args, std::vector<std::string> more);

// `args` with the value after `flag` replaced by `value`, or with `flag value` appended when
// `flag` is not there.
std::vector<std::string> SetFlag(std::vector<std::string> args, const std::string& flag,
                                 const std::string& value);

}  // namespace kubetrail::testing

#endif  // KUBETRAIL_TESTS_TESTING_COLLECTOR_PROCESS_H_
