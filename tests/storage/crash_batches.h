// The deterministic batches the crash test writes (crash_writer.cc) and then looks for in the
// store (crash_test.cc): both sides derive batch i from i alone, so the test knows exactly
// what a killed writer may have stored.
//
//   std::vector<kubetrail::v1::EnvelopedEvent> events = CrashBatch(17);
//   uint64_t original = CrashBatchOriginal(17);  // 13: batch 17 re-sends batch 13
//
// Batch i holds 50..400 events of kubetrail::loadgen::Generator (seed and start time derived
// from i), in envelopes of cluster "c" + (i % 3) and source "s1". Some batches re-send an
// earlier batch (same events, a later receive time), as a collector does after a lost ack.
//
// Thread safety: the functions are pure; call them from any thread.
#ifndef KUBETRAIL_TESTS_STORAGE_CRASH_BATCHES_H_
#define KUBETRAIL_TESTS_STORAGE_CRASH_BATCHES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "kubetrail/v1/event.pb.h"

namespace kubetrail::testing {

// Each round of the crash test uses batch indices [round * kCrashRoundStride, ...).
inline constexpr uint64_t kCrashRoundStride = 100'000;

// The batch whose events batch `index` carries: `index` itself for an original batch; for a
// re-send an earlier original (of the same round, or of the previous round for the second
// batch of a round).
uint64_t CrashBatchOriginal(uint64_t index);

// The events of batch `index` (a re-send carries its original's events with a later
// envelope receive time, which is not part of an event's identity).
std::vector<kubetrail::v1::EnvelopedEvent> CrashBatch(uint64_t index);

// The identity of a stored event as the crash test tracks it: cluster, source, auditID and
// stage, NUL-separated (the content is compared separately).
std::string CrashEventKey(const kubetrail::v1::EnvelopedEvent& event);

// A 64-bit fingerprint of the event's content (the Event, deterministically serialized,
// plus cluster and source; not the receive time).
uint64_t CrashEventFingerprint(const kubetrail::v1::EnvelopedEvent& event);

}  // namespace kubetrail::testing

#endif  // KUBETRAIL_TESTS_STORAGE_CRASH_BATCHES_H_
