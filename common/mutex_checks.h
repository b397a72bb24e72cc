// Abseil's Mutex deadlock detection in the programs that run kubetrail's load.
//
// Debian's Abseil is built without NDEBUG, so its Mutex keeps deadlock detection on: every
// Lock and Unlock records the lock order in a process-wide graph under a global lock, and a
// detected cycle aborts the process. perf put that bookkeeping (GraphCycles alone) at 2.7% of
// the CPU of back-to-back Get RPCs, and at about 1% of an aggregator bench run. The daemons
// and the benchmarks turn it off as their first step; unit and integration tests keep it, so
// a lock-order inversion still fails them.
//
//   int main(int argc, char** argv) {
//     TurnOffMutexDeadlockDetection();
//     ...
#ifndef KUBETRAIL_COMMON_MUTEX_CHECKS_H_
#define KUBETRAIL_COMMON_MUTEX_CHECKS_H_

namespace kubetrail {

// Call before any Mutex is used (first thing in main).
void TurnOffMutexDeadlockDetection();

}  // namespace kubetrail

#endif  // KUBETRAIL_COMMON_MUTEX_CHECKS_H_
