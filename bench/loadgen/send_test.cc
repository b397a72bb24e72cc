// kubetrail-loadgen --send as a process, against an in-memory Ingest server in this test.
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "grpcpp/support/status.h"
#include "gtest/gtest.h"
#include "services/collector/shipper/testing/fake_ingest_server.h"
#include "tests/testing/paths.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace kubetrail::loadgen {
namespace {

using collector::testing::FakeEventStore;
using collector::testing::FakeIngestServer;
using ::testing::HasSubstr;
using ::testing::StartsWith;

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

RunResult RunTool(std::vector<std::string> args) {
  args.insert(args.begin(), kubetrail::testing::BinDir() + "/kubetrail-loadgen");
  absl::StatusOr<kubetrail::testing::SubprocessResult> result =
      kubetrail::testing::RunSubprocess(args);
  RunResult r;
  if (!result.ok()) {
    ADD_FAILURE() << "cannot run " << args[0] << ": " << result.status();
    return r;
  }
  r.exit_code = result->exit_code;
  r.out = std::move(result->stdout_data);
  r.err = std::move(result->stderr_data);
  return r;
}

std::unique_ptr<FakeIngestServer> StartServer(FakeEventStore& store) {
  absl::StatusOr<std::unique_ptr<FakeIngestServer>> server = FakeIngestServer::Start(store);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(*server) : nullptr;
}

TEST(SendTest, GeneratedEventsOverSeveralStreamsAreStoredOnceAcrossRuns) {
  FakeEventStore store;
  auto server = StartServer(store);
  ASSERT_NE(server, nullptr);
  const std::vector<std::string> args = {"--send",    "grpc://" + server->target(),
                                         "--cluster", "bench",
                                         "--count",   "500",
                                         "--seed",    "3",
                                         "--batch",   "40",
                                         "--streams", "3"};
  const RunResult first = RunTool(args);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_THAT(first.out, StartsWith("{\"sent\":500,\"acked\":500,\"stored\":500,\"duplicates\":0,"
                                    "\"expired\":0,\"rejected\":0,\"events_per_s\":"));
  EXPECT_THAT(first.out, HasSubstr(",\"streams\":3,\"reconnects\":0}\n"));
  EXPECT_EQ(std::count(first.out.begin(), first.out.end(), '\n'), 1);
  EXPECT_EQ(store.size(), 500u);
  EXPECT_EQ(server->streams(), 3);
  EXPECT_EQ(server->batches_received(), 13);  // ceil(500 / 40)
  EXPECT_EQ(server->protocol_errors(), 0);

  // The same events again, from the same source: all duplicates.
  const RunResult second = RunTool(args);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_THAT(second.out,
              StartsWith("{\"sent\":500,\"acked\":500,\"stored\":0,\"duplicates\":500,"));
  EXPECT_EQ(store.size(), 500u);
}

TEST(SendTest, FileIsDecodedAndSent) {
  const kubetrail::testing::TempDir dir;
  ASSERT_TRUE(dir.ok()) << dir.error();
  const std::string file = dir.File("events.jsonl");
  const RunResult written = RunTool({"--count", "120", "--seed", "5", "--output", file});
  ASSERT_EQ(written.exit_code, 0) << written.err;

  FakeEventStore store;
  auto server = StartServer(store);
  ASSERT_NE(server, nullptr);
  const RunResult r = RunTool({"--send", "grpc://" + server->target(), "--cluster", "bench",
                               "--source", "file-test", "--rate", "100000", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("{\"sent\":120,\"acked\":120,\"stored\":120,\"duplicates\":0,"));
  EXPECT_THAT(r.out, HasSubstr(",\"streams\":1,"));
  EXPECT_EQ(store.size(), 120u);
}

TEST(SendTest, PermissionDeniedExitsOne) {
  FakeEventStore store;
  auto server = StartServer(store);
  ASSERT_NE(server, nullptr);
  server->RefuseHello(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "not your cluster"));
  const RunResult r =
      RunTool({"--send", "grpc://" + server->target(), "--cluster", "bench", "--count", "10"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("PERMISSION_DENIED"));
  EXPECT_THAT(r.err, HasSubstr("not your cluster"));
  EXPECT_THAT(r.out, StartsWith("{\"sent\":"));
  EXPECT_EQ(store.size(), 0u);
}

TEST(SendTest, TimeoutExitsOne) {
  // Nothing listens on port 1: the stream waits for a connection until the timeout.
  const RunResult r = RunTool(
      {"--send", "grpc://127.0.0.1:1", "--cluster", "bench", "--count", "10", "--timeout", "0.5"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("DEADLINE_EXCEEDED"));
  EXPECT_THAT(r.out, StartsWith("{\"sent\":10,\"acked\":0,"));
}

TEST(SendTest, BadUsageExitsTwo) {
  const std::string url = "grpc://127.0.0.1:1";
  EXPECT_EQ(RunTool({"--send", url, "--count", "1"}).exit_code, 2);  // no --cluster
  EXPECT_EQ(RunTool({"--send", "ftp://127.0.0.1:1", "--cluster", "c", "-n", "1"}).exit_code, 2);
  // http(s):// posts to a webhook: --tls-* needs https://, --tls-server-name is for grpcs://.
  EXPECT_EQ(RunTool({"--send", "http://127.0.0.1:1/h", "-n", "1", "--tls-ca", "x"}).exit_code, 2);
  EXPECT_EQ(
      RunTool({"--send", "https://127.0.0.1:1/h", "-n", "1", "--tls-server-name", "x"}).exit_code,
      2);
  EXPECT_EQ(RunTool({"--send", "grpc://127.0.0.1", "--cluster", "c", "-n", "1"}).exit_code, 2);
  EXPECT_EQ(RunTool({"--send", url, "--cluster", "c"}).exit_code, 2);  // no events
  EXPECT_EQ(RunTool({"--send", url, "--cluster", "c", "-n", "1", "x.jsonl"}).exit_code, 2);
  EXPECT_EQ(RunTool({"--send", url, "--cluster", "c", "-n", "1", "--streams", "0"}).exit_code, 2);
  EXPECT_EQ(RunTool({"--send", url, "--cluster", "c", "-n", "1", "--tls-ca", "x"}).exit_code, 2);
  EXPECT_EQ(RunTool({"--send", url, "--cluster", "c", "-n", "1", "-o", "x"}).exit_code, 2);
  const RunResult no_send = RunTool({"--count", "1", "--cluster", "c"});
  EXPECT_EQ(no_send.exit_code, 2);
  EXPECT_THAT(no_send.err, HasSubstr("--cluster needs --send"));
}

TEST(SendTest, HelpMentionsSendAndTheClock) {
  const RunResult r = RunTool({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("--send"));
  EXPECT_THAT(r.out, HasSubstr("before the clock starts"));
}

}  // namespace
}  // namespace kubetrail::loadgen
