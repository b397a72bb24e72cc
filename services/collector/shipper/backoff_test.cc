#include "services/collector/shipper/backoff.h"

#include "gtest/gtest.h"

namespace kubetrail::collector {
namespace {

TEST(BackoffTest, GrowsToMaxWithinJitterBounds) {
  BackoffPolicy policy;  // 100 ms .. 5 s, x2, jitter 0.2
  Backoff backoff(policy, /*seed=*/7);
  absl::Duration base = absl::Milliseconds(100);
  for (int i = 0; i < 12; ++i) {
    const absl::Duration d = backoff.Next();
    EXPECT_LE(d, base) << i;
    EXPECT_GE(d, base * 0.8) << i;
    base = std::min(base * 2, absl::Seconds(5));
  }
}

TEST(BackoffTest, ResetStartsOver) {
  BackoffPolicy policy;
  policy.jitter = 0;
  Backoff backoff(policy, 1);
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(100));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(200));
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(400));
  backoff.Reset();
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(100));
}

TEST(BackoffTest, NeverExceedsMax) {
  BackoffPolicy policy;
  policy.initial = absl::Seconds(3);
  policy.jitter = 0;
  Backoff backoff(policy, 1);
  EXPECT_EQ(backoff.Next(), absl::Seconds(3));
  EXPECT_EQ(backoff.Next(), absl::Seconds(5));
  EXPECT_EQ(backoff.Next(), absl::Seconds(5));
}

}  // namespace
}  // namespace kubetrail::collector
