// The aggregator's write stage: a bounded queue of batches in front of the EventStore, drained
// by a few writer threads. The store merges the writers' concurrent Write calls into group
// commits (one WriteBatch each; a WAL sync covers every group written before it began), so
// more writer threads mean bigger groups, not more syncs.
//
// Ingest streams never block on it: Enqueue always accepts the batch it is handed (it has
// already been read) and says whether the stream may read another; when it may not, the
// writer calls the stream's resume callback once the queue has room again. So the queue holds
// at most `max_queued_events` plus one batch per stream, and a slow disk slows the collectors
// down through gRPC's flow control instead of growing memory.
//
//   Writer writer(store, {.threads = 4, .max_queued_events = 20000});
//   bool more = writer.Enqueue(std::move(job), [reactor] { reactor->ResumeReading(); });
//   if (more) reactor->StartRead(...);
//   ...
//   writer.Drain();  // at shutdown: every queued batch written and its callback run
//
// Thread safety: all methods are safe from any thread. Callbacks (a job's `done`, resume
// callbacks, the commit listener) run on writer threads; they must not block.
#ifndef KUBETRAIL_SERVICES_AGGREGATOR_WRITER_H_
#define KUBETRAIL_SERVICES_AGGREGATOR_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/arena.h"
#include "kubetrail/v1/event.pb.h"
#include "storage/event_store.h"

namespace kubetrail::aggregator {

// One batch to write.
struct WriteJob {
  // The events, valid until the job is destroyed (after `done` ran): they live on `arena`,
  // where the ingest request that brought them was parsed, so that they are freed at once.
  std::vector<const kubetrail::v1::EnvelopedEvent*> events;
  std::unique_ptr<google::protobuf::Arena> arena;
  // Every event's ByteSizeLong() was computed after its last change (storage::WriteOptions::
  // event_sizes_cached): the store need not compute it again.
  bool event_sizes_cached = false;
  // Jobs with the same non-zero key are written one after another, in Enqueue order (one
  // ingest stream's batches get increasing sequence numbers in the order they were sent);
  // jobs with different keys are written concurrently. 0: no ordering.
  uint64_t order_key = 0;
  // Runs on a writer thread after the store's Write returned: the events are durable when
  // the result is OK. Must not block.
  absl::AnyInvocable<void(absl::StatusOr<storage::WriteResult>)> done;
};

class Writer {
 public:
  struct Options {
    // Threads calling EventStore::Write. Default 4.
    int threads = 4;
    // Events queued (not yet handed to the store) above which streams stop reading.
    // Default 20,000 (about 60 MB of typical events).
    size_t max_queued_events = 20'000;
  };

  // Runs after every successful write with the store's last sequence (for followers and
  // metrics). Must not block.
  using CommitListener = std::function<void(uint64_t last_sequence)>;
  // Observes every write: events, the store's result status, and the seconds it took.
  using WriteObserver =
      std::function<void(size_t events, const absl::Status& status, double seconds)>;

  // `store` must outlive the Writer. Starts the threads.
  Writer(storage::EventStore& store, Options options, CommitListener on_commit = nullptr,
         WriteObserver observer = nullptr);
  // Drains (see Drain) and joins.
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Queues `job`. Returns true when the caller may read another batch now; false when the
  // queue is full: `resume` will then run once (on a writer thread) when there is room.
  // After Drain started, the job's `done` runs at once with Unavailable.
  bool Enqueue(WriteJob job, absl::AnyInvocable<void()> resume);

  // Events waiting for a writer thread.
  size_t QueuedEvents() const;

  // Stops accepting jobs, writes every queued one, runs their callbacks and pending resume
  // callbacks, and joins the threads. Idempotent.
  void Drain();

 private:
  void Run();
  // The first queued job a thread may take now (its key not busy), or queue_.end().
  std::deque<WriteJob>::iterator NextRunnable() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  storage::EventStore& store_;
  const Options options_;
  const CommitListener on_commit_;
  const WriteObserver observer_;

  mutable absl::Mutex mu_;
  std::deque<WriteJob> queue_ ABSL_GUARDED_BY(mu_);
  size_t queued_events_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<absl::AnyInvocable<void()>> waiting_ ABSL_GUARDED_BY(mu_);
  // Order keys of the jobs being written.
  absl::flat_hash_set<uint64_t> busy_keys_ ABSL_GUARDED_BY(mu_);
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;  // joined by Drain
  bool joined_ = false;               // only Drain (under join_mu_)
  absl::Mutex join_mu_;
};

}  // namespace kubetrail::aggregator

#endif  // KUBETRAIL_SERVICES_AGGREGATOR_WRITER_H_
