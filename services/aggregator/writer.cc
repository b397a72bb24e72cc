#include "services/aggregator/writer.h"

#include <chrono>
#include <utility>

namespace kubetrail::aggregator {

Writer::Writer(storage::EventStore& store, Options options, CommitListener on_commit,
               WriteObserver observer)
    : store_(store),
      options_(options),
      on_commit_(std::move(on_commit)),
      observer_(std::move(observer)) {
  const int n = options_.threads > 0 ? options_.threads : 1;
  threads_.reserve(n);
  for (int i = 0; i < n; ++i) threads_.emplace_back([this] { Run(); });
}

Writer::~Writer() { Drain(); }

bool Writer::Enqueue(WriteJob job, absl::AnyInvocable<void()> resume) {
  {
    absl::MutexLock lock(&mu_);
    if (!draining_) {
      queued_events_ += job.events.size();
      queue_.push_back(std::move(job));
      if (queued_events_ < options_.max_queued_events) return true;
      waiting_.push_back(std::move(resume));
      return false;
    }
  }
  job.done(absl::UnavailableError("the aggregator is shutting down; resend the batch"));
  return false;
}

size_t Writer::QueuedEvents() const {
  absl::MutexLock lock(&mu_);
  return queued_events_;
}

std::deque<WriteJob>::iterator Writer::NextRunnable() {
  auto it = queue_.begin();
  while (it != queue_.end() && it->order_key != 0 && busy_keys_.contains(it->order_key)) ++it;
  return it;
}

void Writer::Run() {
  for (;;) {
    WriteJob job;
    std::vector<absl::AnyInvocable<void()>> resume;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](Writer* w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(w->mu_) {
            return w->NextRunnable() != w->queue_.end() || (w->draining_ && w->queue_.empty());
          },
          this));
      if (queue_.empty()) {
        // Draining and nothing left: release streams still waiting for room (they will
        // see the shutdown on their next Enqueue).
        while (!waiting_.empty()) {
          resume.push_back(std::move(waiting_.front()));
          waiting_.pop_front();
        }
      } else {
        auto it = NextRunnable();
        job = std::move(*it);
        queue_.erase(it);
        if (job.order_key != 0) busy_keys_.insert(job.order_key);
        queued_events_ -= job.events.size();
        while (!waiting_.empty() && queued_events_ < options_.max_queued_events) {
          resume.push_back(std::move(waiting_.front()));
          waiting_.pop_front();
        }
      }
    }
    for (auto& r : resume) r();
    if (!job.done) return;  // drained

    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<storage::WriteResult> result = store_.Write(
        job.events, {.sync = true, .event_sizes_cached = job.event_sizes_cached});
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (observer_) observer_(job.events.size(), result.status(), seconds);
    const uint64_t last = result.ok() ? result->last_sequence : 0;
    const uint64_t key = job.order_key;
    job.done(std::move(result));
    if (key != 0) {
      absl::MutexLock lock(&mu_);
      busy_keys_.erase(key);
    }
    if (last != 0 && on_commit_) on_commit_(last);
  }
}

void Writer::Drain() {
  absl::MutexLock join(&join_mu_);
  if (joined_) return;
  {
    absl::MutexLock lock(&mu_);
    draining_ = true;
  }
  for (auto& t : threads_) t.join();
  joined_ = true;
}

}  // namespace kubetrail::aggregator
