// Exponential reconnect backoff with jitter: the shipper's delay between streams, reusable
// by anything else that retries a connection.
//
//   Backoff backoff(policy, /*seed=*/0);
//   while (!Connect()) WaitFor(backoff.Next());
//   backoff.Reset();   // once a connection worked
//
// Thread safety: not thread-safe; owned by one thread.
#ifndef KUBETRAIL_SERVICES_COLLECTOR_SHIPPER_BACKOFF_H_
#define KUBETRAIL_SERVICES_COLLECTOR_SHIPPER_BACKOFF_H_

#include <cstdint>
#include <random>

#include "absl/time/time.h"

namespace kubetrail::collector {

struct BackoffPolicy {
  // The delay before the first retry. Default: 100 ms.
  absl::Duration initial = absl::Milliseconds(100);
  // The delay never grows beyond this. Default: 5 s.
  absl::Duration max = absl::Seconds(5);
  // Each retry multiplies the delay by this. Default: 2.
  double multiplier = 2.0;
  // The fraction of each delay that is random: a delay d becomes a uniform value in
  // [d * (1 - jitter), d], so collectors that lost the same aggregator do not reconnect in
  // step, and no delay exceeds `max`. 0 to 1. Default: 0.2.
  double jitter = 0.2;
};

class Backoff {
 public:
  // `seed` 0 seeds from std::random_device.
  Backoff(const BackoffPolicy& policy, uint64_t seed);

  // The delay before the next attempt; each call grows the base delay by `multiplier` up to
  // `max`.
  absl::Duration Next();
  // Starts over at `initial`.
  void Reset() { base_ = policy_.initial; }

 private:
  const BackoffPolicy policy_;
  absl::Duration base_;
  std::mt19937_64 rng_;
};

}  // namespace kubetrail::collector

#endif  // KUBETRAIL_SERVICES_COLLECTOR_SHIPPER_BACKOFF_H_
