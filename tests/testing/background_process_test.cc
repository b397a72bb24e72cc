// Tests of BackgroundProcess against /bin/sh: waiting for lines, signals, exit codes,
// timeouts, chatty children, and the kill on destruction.
#include "tests/testing/background_process.h"

#include <signal.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kubetrail::testing {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<BackgroundProcess> Sh(const std::string& script,
                                      BackgroundProcessOptions options = {}) {
  absl::StatusOr<std::unique_ptr<BackgroundProcess>> p =
      BackgroundProcess::Start({"/bin/sh", "-c", script}, options);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *std::move(p) : nullptr;
}

TEST(BackgroundProcessTest, WaitsForSuccessiveLines) {
  std::unique_ptr<BackgroundProcess> p =
      Sh("echo 'starting'; echo 'serving port=1'; echo oops >&2; echo 'serving port=2'; "
         "printf 'no newline'; exit 3");
  ASSERT_NE(p, nullptr);
  absl::StatusOr<std::string> line = p->WaitForLine("serving", absl::Seconds(30));
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(*line, "serving port=1");
  line = p->WaitForLine("serving", absl::Seconds(30));
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(*line, "serving port=2");
  line = p->WaitForLine("newline", absl::Seconds(30));
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(*line, "no newline");
  line = p->WaitForLine("oops", absl::Seconds(30), BackgroundProcess::Stream::kStderr);
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(*line, "oops");

  absl::StatusOr<int> code = p->Wait(absl::Seconds(30));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 3);
  EXPECT_EQ(p->term_signal(), 0);
  EXPECT_EQ(p->stdout_data(), "starting\nserving port=1\nserving port=2\nno newline");
  EXPECT_EQ(p->stderr_data(), "oops\n");
  // Reaped: the same answer again, and no more signals.
  code = p->Wait(absl::ZeroDuration());
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 3);
  EXPECT_EQ(p->Signal(SIGTERM).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(BackgroundProcessTest, ExitWithoutTheLine) {
  std::unique_ptr<BackgroundProcess> p = Sh("echo hello; echo bye >&2");
  ASSERT_NE(p, nullptr);
  absl::StatusOr<std::string> line = p->WaitForLine("ready", absl::Seconds(30));
  EXPECT_EQ(line.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(line.status().message()), HasSubstr("hello"));
  EXPECT_THAT(std::string(line.status().message()), HasSubstr("bye"));
}

TEST(BackgroundProcessTest, TimeoutsLeaveItRunning) {
  std::unique_ptr<BackgroundProcess> p = Sh("echo waiting; exec sleep 1000");
  ASSERT_NE(p, nullptr);
  absl::StatusOr<std::string> line = p->WaitForLine("ready", absl::Milliseconds(100));
  EXPECT_EQ(line.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(line.status().message()), HasSubstr("waiting"));
  EXPECT_EQ(p->Wait(absl::Milliseconds(50)).status().code(), absl::StatusCode::kDeadlineExceeded);

  ASSERT_TRUE(p->Signal(SIGTERM).ok());
  absl::StatusOr<int> code = p->Wait(absl::Seconds(30));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, -1);
  EXPECT_EQ(p->term_signal(), SIGTERM);
}

TEST(BackgroundProcessTest, ChattyChildNeverBlocks) {
  // More than a pipe holds on stderr before the line the test waits for.
  std::unique_ptr<BackgroundProcess> p =
      Sh("head -c 1000000 /dev/zero >&2; echo >&2; echo ready >&2; exec sleep 1000");
  ASSERT_NE(p, nullptr);
  // The same stream, so everything before the line has been read when it is found.
  absl::StatusOr<std::string> line =
      p->WaitForLine("ready", absl::Seconds(30), BackgroundProcess::Stream::kStderr);
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(p->stderr_data().size(), 1000007u);
}

TEST(BackgroundProcessTest, EnvironmentAndDestructionKills) {
  BackgroundProcessOptions options;
  options.env = {"KT_BACKGROUND_TEST=42"};
  const absl::Time start = absl::Now();
  {
    std::unique_ptr<BackgroundProcess> p =
        Sh("echo \"value=$KT_BACKGROUND_TEST\"; "
           "trap '' TERM; exec sleep 1000",
           options);
    ASSERT_NE(p, nullptr);
    absl::StatusOr<std::string> line = p->WaitForLine("value=", absl::Seconds(30));
    ASSERT_TRUE(line.ok()) << line.status();
    EXPECT_EQ(*line, "value=42");
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
}

TEST(BackgroundProcessTest, MissingProgram) {
  absl::StatusOr<std::unique_ptr<BackgroundProcess>> p =
      BackgroundProcess::Start({"/nonexistent/kubetrail-nothing"});
  EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(BackgroundProcess::Start({}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kubetrail::testing
