// Clock: the one source of time for everything that batches, backs off, expires or stamps.
// Production code takes a `Clock&`; tests pass a FakeClock and move time by hand, so no test
// sleeps to synchronise.
//
// Thread safety: both implementations are safe to call from any thread.
#ifndef KUBETRAIL_COMMON_CLOCK_H_
#define KUBETRAIL_COMMON_CLOCK_H_

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"

namespace kubetrail {

class Clock {
 public:
  virtual ~Clock() = default;
  // The current wall-clock time.
  virtual absl::Time Now() const = 0;
  // Microseconds since the Unix epoch, the unit of every timestamp in the event model.
  int64_t NowMicros() const { return absl::ToUnixMicros(Now()); }

  // The process-wide real clock.
  static Clock& Real();
};

// A clock that stands still until told to move. Starts at the given time.
class FakeClock : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1'800'000'000))
      : micros_(absl::ToUnixMicros(start)) {}
  absl::Time Now() const override { return absl::FromUnixMicros(micros_.load()); }
  void Advance(absl::Duration d) { micros_ += absl::ToInt64Microseconds(d); }
  void Set(absl::Time t) { micros_ = absl::ToUnixMicros(t); }

 private:
  std::atomic<int64_t> micros_;
};

}  // namespace kubetrail

#endif  // KUBETRAIL_COMMON_CLOCK_H_
