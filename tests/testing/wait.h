// Waiting for a condition in tests.
//
//   EXPECT_TRUE(Eventually([&] { return server.Count() == 10; }));
#ifndef KUBETRAIL_TESTS_TESTING_WAIT_H_
#define KUBETRAIL_TESTS_TESTING_WAIT_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kubetrail::testing {

// Polls `done` every 10 ms until it returns true or `timeout` has passed; returns its last
// answer. For conditions only observable by looking (counters, files, other threads).
template <typename F>
bool Eventually(F done, absl::Duration timeout = absl::Seconds(30)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return done();
}

}  // namespace kubetrail::testing

#endif  // KUBETRAIL_TESTS_TESTING_WAIT_H_
