// `make run`'s script (scripts/run.sh) as a newcomer runs it, on free loopback ports and a
// private state directory: it must start the aggregator and the collector, print the webhook
// URL first, round-trip the demo events through the policy byte for byte, and when the script
// is stopped (SIGTERM; Ctrl-C's SIGINT takes the same trap) stop both daemons.
#include <signal.h>

#include <cerrno>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/background_process.h"
#include "tests/testing/paths.h"
#include "tests/testing/ports.h"
#include "tests/testing/temp_dir.h"

namespace kubetrail {
namespace {

using ::testing::HasSubstr;

// The pid in "… (pid 1234; …" of the line of `text` that contains `marker`; 0 if none.
int PidAfter(const std::string& text, const std::string& marker) {
  const size_t at = text.find(marker);
  if (at == std::string::npos) return 0;
  const size_t pid = text.find("(pid ", at);
  const size_t end = text.find(';', pid);
  int value = 0;
  if (pid == std::string::npos || end == std::string::npos ||
      !absl::SimpleAtoi(ToAbsl(std::string_view(text).substr(pid + 5, end - pid - 5)), &value)) {
    return 0;
  }
  return value;
}

bool Alive(int pid) { return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM); }

TEST(MakeRunTest, StartsBothRoundTripsThePolicyAndStopsWhenStopped) {
  testing::TempDir state;
  ASSERT_TRUE(state.ok()) << state.error();
  std::vector<std::string> env = {"KUBETRAIL_STATE_DIR=" + state.path()};
  const char* names[] = {"KUBETRAIL_GRPC_LISTEN", "KUBETRAIL_HTTP_LISTEN",
                         "KUBETRAIL_WEBHOOK_LISTEN", "KUBETRAIL_COLLECTOR_HTTP_LISTEN"};
  std::string webhook;
  for (const char* name : names) {
    const int port = testing::UnusedLoopbackPort();
    ASSERT_NE(port, 0);
    const std::string address = absl::StrCat("127.0.0.1:", port);
    if (std::string(name) == "KUBETRAIL_WEBHOOK_LISTEN") webhook = address;
    env.push_back(absl::StrCat(name, "=", address));
  }
  // run.sh takes the build directory: the parent of bin/.
  const std::string build_dir = testing::BinDir() + "/..";
  absl::StatusOr<std::unique_ptr<testing::BackgroundProcess>> run =
      testing::BackgroundProcess::Start(
          {"/bin/bash", testing::SourceDir() + "/scripts/run.sh", build_dir}, {.env = env});
  ASSERT_TRUE(run.ok()) << run.status();
  absl::StatusOr<std::string> queried =
      (*run)->WaitForLine("queried back:", absl::Seconds(180));
  ASSERT_TRUE(queried.ok()) << queried.status();
  EXPECT_THAT(*queried, HasSubstr("identical to what the policy keeps"));

  const std::string out = (*run)->stdout_data();
  // The first loopback URL printed is the webhook's.
  const size_t first_url = out.find("http://127.0.0.1:");
  ASSERT_NE(first_url, std::string::npos);
  EXPECT_EQ(out.substr(0, first_url).rfind("webhook: "), first_url - 9) << out;
  EXPECT_THAT(out, HasSubstr("webhook: http://" + webhook + "/audit/webhook\n"));
  EXPECT_THAT(out, HasSubstr("--audit-webhook-config-file="));
  EXPECT_THAT(out, HasSubstr("server: http://" + webhook + "/audit/webhook"));
  const int aggregator = PidAfter(out, "A local aggregator is running");
  const int collector = PidAfter(out, "A local collector is running");
  EXPECT_TRUE(Alive(aggregator)) << out;
  EXPECT_TRUE(Alive(collector)) << out;

  // SIGTERM, not SIGINT: a test run in the background (as CI may run it) inherits SIGINT
  // ignored, and a shell cannot trap a signal ignored at its start. run.sh handles both alike.
  ASSERT_TRUE((*run)->Signal(SIGTERM).ok());
  absl::StatusOr<int> code = (*run)->Wait(absl::Seconds(60));
  ASSERT_TRUE(code.ok()) << code.status();
  // Both daemons were stopped (and reaped) by the script's exit trap.
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while ((Alive(aggregator) || Alive(collector)) && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_FALSE(Alive(aggregator));
  EXPECT_FALSE(Alive(collector));
}

}  // namespace
}  // namespace kubetrail
