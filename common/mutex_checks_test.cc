#include "common/mutex_checks.h"

#include <cstdlib>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"

namespace kubetrail {
namespace {

// Takes two mutexes in one order and then in the other: no deadlock happens (one thread),
// but the lock order is inverted, which deadlock detection reports.
void InvertLockOrder() {
  absl::Mutex a;
  absl::Mutex b;
  {
    absl::MutexLock la(&a);
    absl::MutexLock lb(&b);
  }
  {
    absl::MutexLock lb(&b);
    absl::MutexLock la(&a);
  }
}

// Tests run with Debian's default (detection on, aborting), so a lock-order inversion in any
// of them fails it; the daemons turn it off.
TEST(MutexChecksDeathTest, TestsKeepDeadlockDetectionAndTheDaemonsTurnItOff) {
  EXPECT_DEATH(InvertLockOrder(), "deadlock");
  EXPECT_EXIT(
      {
        TurnOffMutexDeadlockDetection();
        InvertLockOrder();
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace kubetrail
