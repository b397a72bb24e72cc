// A fixed pool of threads with a bounded queue, for work that must not run inside gRPC
// reactions (store reads for queries).
//
// Thread safety: all methods are safe from any thread.
#ifndef KUBETRAIL_SERVICES_AGGREGATOR_EXECUTOR_H_
#define KUBETRAIL_SERVICES_AGGREGATOR_EXECUTOR_H_

#include <cstddef>
#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace kubetrail::aggregator {

class Executor {
 public:
  // Starts `threads` threads; at most `max_queued` tasks wait for one.
  Executor(int threads, size_t max_queued);
  // Stop(), then joins.
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues `task`. False (and `task` is dropped unrun) when the queue is full or the
  // executor stopped.
  bool TrySubmit(absl::AnyInvocable<void()> task);

  // Runs the queued tasks, refuses new ones, joins the threads. Idempotent.
  void Stop();

 private:
  void Run();

  const size_t max_queued_;
  absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
  absl::Mutex join_mu_;
};

}  // namespace kubetrail::aggregator

#endif  // KUBETRAIL_SERVICES_AGGREGATOR_EXECUTOR_H_
