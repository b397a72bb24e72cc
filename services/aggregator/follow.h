// Live tails (Query.Follow): a hub that wakes on every commit and on a heartbeat timer, reads
// each follower's new matching events from the store (EventStore::ReadSince, in ingest
// order) and hands them to the follower's stream. One thread does the reading, so gRPC
// reactions never touch the store; each follower has at most one write in flight and is
// skipped while it has one.
//
// Thread safety: all methods are safe from any thread.
#ifndef KUBETRAIL_SERVICES_AGGREGATOR_FOLLOW_H_
#define KUBETRAIL_SERVICES_AGGREGATOR_FOLLOW_H_

#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kubetrail/v1/query.pb.h"
#include "storage/event_store.h"

namespace kubetrail::aggregator {

// One follower as the hub sees it; implemented by the Follow reactor.
class FollowSink {
 public:
  virtual ~FollowSink() = default;
  // Starts writing `response`; the sink calls FollowHub::Wake when the write is done.
  // Returns false when the call is over (the hub then forgets the sink).
  virtual bool Send(kubetrail::v1::FollowResponse response) = 0;
  // Ends the call with UNAVAILABLE (the aggregator is shutting down).
  virtual void Close() = 0;
};

class FollowHub {
 public:
  struct Options {
    // An empty response is sent after this long without one. Default 5 s.
    absl::Duration heartbeat = absl::Seconds(5);
    // Events per response. Default 256.
    int batch_events = 256;
  };

  // `store` must outlive the hub. Starts the thread.
  FollowHub(storage::EventStore& store, Options options);
  // Stop(), then joins.
  ~FollowHub();

  // A follower whose events after `after_sequence` matching `filter` are to be sent.
  // Returns its id, for Remove/Ready.
  uint64_t Add(std::shared_ptr<FollowSink> sink, storage::Filter filter, uint64_t after_sequence);
  // Forgets a follower (its call ended). The sink is not used after this returns.
  void Remove(uint64_t id);
  // The follower's write completed: it may be sent to again.
  void Ready(uint64_t id);
  // New events were committed up to `last_sequence`.
  void Notify(uint64_t last_sequence);

  size_t FollowerCount() const;

  // Stops the thread and closes every follower (FollowSink::Close). Idempotent.
  void Stop();

 private:
  struct Follower {
    uint64_t id = 0;
    std::shared_ptr<FollowSink> sink;
    storage::Filter filter;
    uint64_t after = 0;    // every event up to here was considered
    bool busy = false;     // a write in flight, or the hub is reading for it
    absl::Time last_sent;  // for heartbeats
  };

  void Run();
  // Reads and sends for `f` (a copy made under mu_): advances f.after; true when a response
  // was sent (the follower stays busy until Ready).
  bool Serve(Follower& f, bool heartbeat_due);

  storage::EventStore& store_;
  const Options options_;

  mutable absl::Mutex mu_;
  std::vector<Follower> followers_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t wakeups_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
  absl::Mutex join_mu_;
};

}  // namespace kubetrail::aggregator

#endif  // KUBETRAIL_SERVICES_AGGREGATOR_FOLLOW_H_
