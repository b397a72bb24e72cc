// kubetrail-aggregator as a process for cross-process tests (tests/aggregator, tests/collector,
// ...): start it on loopback, read its ports from the line it prints, and read back what it
// stored.
//
//   RunningAggregator agg = StartAggregator(dir.path());   // --dev on 127.0.0.1:0
//   ... ship to 127.0.0.1:agg.port ...
//   std::set<std::string> ids = StoredIds(agg.channel);     // "auditID/stage", each once
//
// Failures are reported with gtest's EXPECT_*; the returned struct then has a null process.
#ifndef KUBETRAIL_TESTS_TESTING_AGGREGATOR_PROCESS_H_
#define KUBETRAIL_TESTS_TESTING_AGGREGATOR_PROCESS_H_

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "tests/testing/background_process.h"

namespace kubetrail::testing {

// A running aggregator process and a channel to it.
struct RunningAggregator {
  std::unique_ptr<BackgroundProcess> process;
  int port = 0;
  int http_port = 0;
  std::shared_ptr<grpc::Channel> channel;
};

// Starts kubetrail-aggregator with `args` (by default --dev on 127.0.0.1:0, HTTP status on
// 127.0.0.1:0, DATA_DIR, --drain-timeout 10s) and waits for its "serving grpc=" line;
// `channel` is plaintext unless `credentials` are given.
RunningAggregator StartAggregator(const std::string& data_dir, std::vector<std::string> args = {},
                                  std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);

// Every stored event as "auditID/stage" (all clusters, up to 100,000); a pair stored twice is
// an EXPECT failure.
std::set<std::string> StoredIds(const std::shared_ptr<grpc::Channel>& channel);

}  // namespace kubetrail::testing

#endif  // KUBETRAIL_TESTS_TESTING_AGGREGATOR_PROCESS_H_
