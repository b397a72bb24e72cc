#include "services/collector/shipper/backoff.h"

#include <algorithm>

namespace kubetrail::collector {

Backoff::Backoff(const BackoffPolicy& policy, uint64_t seed)
    : policy_(policy), base_(policy.initial), rng_(seed != 0 ? seed : std::random_device()()) {}

absl::Duration Backoff::Next() {
  const absl::Duration base = std::min(base_, policy_.max);
  base_ = std::min(base * policy_.multiplier, policy_.max);
  const double jitter = std::clamp(policy_.jitter, 0.0, 1.0);
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  return base * (1.0 - jitter * u);
}

}  // namespace kubetrail::collector
