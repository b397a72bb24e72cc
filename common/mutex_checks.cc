#include "common/mutex_checks.h"

#include "absl/synchronization/mutex.h"

namespace kubetrail {

void TurnOffMutexDeadlockDetection() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

}  // namespace kubetrail
