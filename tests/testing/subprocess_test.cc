// Tests of RunSubprocess against /bin/sh: stdin in, both outputs out, exit codes, signals,
// large data both ways, timeouts.
#include "tests/testing/subprocess.h"

#include <signal.h>

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kubetrail::testing {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<SubprocessResult> Sh(const std::string& script, SubprocessOptions options = {}) {
  return RunSubprocess({"/bin/sh", "-c", script}, options);
}

TEST(SubprocessTest, CapturesOutputsAndExitCode) {
  SubprocessOptions options;
  options.stdin_data = "hello\n";
  absl::StatusOr<SubprocessResult> r = Sh("cat; echo oops >&2; exit 3", options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->term_signal, 0);
  EXPECT_EQ(r->stdout_data, "hello\n");
  EXPECT_EQ(r->stderr_data, "oops\n");
}

TEST(SubprocessTest, EmptyStdinIsEndOfFile) {
  absl::StatusOr<SubprocessResult> r = Sh("cat; echo done");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->stdout_data, "done\n");
}

TEST(SubprocessTest, LargeDataBothWaysDoesNotDeadlock) {
  SubprocessOptions options;
  options.stdin_data.assign(8 << 20, 'x');
  // The child writes its stderr copy before reading all of stdin: both pipes fill up.
  absl::StatusOr<SubprocessResult> r = Sh("head -c 1000000 /dev/zero >&2; cat", options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->stdout_data.size(), options.stdin_data.size());
  EXPECT_TRUE(r->stdout_data == options.stdin_data);
  EXPECT_EQ(r->stderr_data.size(), 1000000u);
}

TEST(SubprocessTest, ChildThatIgnoresStdinDoesNotKillTheParent) {
  SubprocessOptions options;
  options.stdin_data.assign(4 << 20, 'x');  // more than a pipe holds
  absl::StatusOr<SubprocessResult> r = Sh("exec 0<&-; echo closed", options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->stdout_data, "closed\n");
}

TEST(SubprocessTest, ReportsTheSignal) {
  absl::StatusOr<SubprocessResult> r = Sh("kill -TERM $$");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_EQ(r->term_signal, SIGTERM);
}

TEST(SubprocessTest, EnvironmentIsAddedTo) {
  SubprocessOptions options;
  options.env = {"KT_SUBPROCESS_TEST=42", "PATH=/bin:/usr/bin"};
  absl::StatusOr<SubprocessResult> r = Sh("echo $KT_SUBPROCESS_TEST", options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stdout_data, "42\n");
}

TEST(SubprocessTest, TimeoutKillsTheChild) {
  SubprocessOptions options;
  options.timeout = absl::Milliseconds(200);
  absl::StatusOr<SubprocessResult> r = Sh("echo started; exec sleep 30", options);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(r.status().message(), HasSubstr("started"));
}

TEST(SubprocessTest, MissingProgramIsNotFound) {
  absl::StatusOr<SubprocessResult> r = RunSubprocess({"/nonexistent/program"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(RunSubprocess({}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kubetrail::testing
