#include "services/aggregator/follow.h"

#include <algorithm>
#include <utility>

#include "common/logging.h"
#include "services/aggregator/convert.h"

namespace kubetrail::aggregator {

FollowHub::FollowHub(storage::EventStore& store, Options options)
    : store_(store), options_(options) {
  thread_ = std::thread([this] { Run(); });
}

FollowHub::~FollowHub() { Stop(); }

uint64_t FollowHub::Add(std::shared_ptr<FollowSink> sink, storage::Filter filter,
                        uint64_t after_sequence) {
  absl::MutexLock lock(&mu_);
  Follower& f = followers_.emplace_back();
  f.id = next_id_++;
  f.sink = std::move(sink);
  f.filter = std::move(filter);
  f.after = after_sequence;
  f.last_sent = absl::Now();
  ++wakeups_;
  return f.id;
}

void FollowHub::Remove(uint64_t id) {
  absl::MutexLock lock(&mu_);
  std::erase_if(followers_, [id](const Follower& f) { return f.id == id; });
}

void FollowHub::Ready(uint64_t id) {
  absl::MutexLock lock(&mu_);
  for (Follower& f : followers_) {
    if (f.id == id) f.busy = false;
  }
  ++wakeups_;
}

void FollowHub::Notify(uint64_t /*last_sequence*/) {
  absl::MutexLock lock(&mu_);
  ++wakeups_;
}

size_t FollowHub::FollowerCount() const {
  absl::MutexLock lock(&mu_);
  return followers_.size();
}

void FollowHub::Run() {
  uint64_t seen = 0;
  for (;;) {
    std::vector<Follower> work;
    std::vector<bool> heartbeat;
    {
      absl::MutexLock lock(&mu_);
      const auto changed = [this, &seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return wakeups_ != seen || stopping_;
      };
      mu_.AwaitWithTimeout(absl::Condition(&changed), options_.heartbeat / 4);
      if (stopping_) return;
      seen = wakeups_;
      const uint64_t last = store_.LastSequence();
      const absl::Time now = absl::Now();
      for (Follower& f : followers_) {
        if (f.busy) continue;
        const bool due = now - f.last_sent >= options_.heartbeat;
        if (last <= f.after && !due) continue;
        f.busy = true;
        work.push_back(f);
        heartbeat.push_back(due);
      }
    }
    for (size_t i = 0; i < work.size(); ++i) {
      Follower& w = work[i];
      const bool sent = Serve(w, heartbeat[i]);
      absl::MutexLock lock(&mu_);
      for (Follower& f : followers_) {
        if (f.id != w.id) continue;
        f.after = w.after;
        if (sent) {
          f.last_sent = absl::Now();
        } else {
          f.busy = false;
        }
      }
    }
  }
}

bool FollowHub::Serve(Follower& f, bool heartbeat_due) {
  const uint64_t snapshot = store_.LastSequence();
  kubetrail::v1::FollowResponse response;
  if (snapshot > f.after) {
    absl::StatusOr<std::vector<storage::StoredEvent>> events =
        store_.ReadSince(f.after, f.filter, options_.batch_events);
    if (!events.ok()) {
      // A read error is the store's, not the follower's: try again at the next wakeup.
      KT_LOG(kWarning, "follow") << "reading new events failed: " << events.status();
      return false;
    }
    uint64_t after = f.after;
    if (!events->empty()) after = events->back().sequence;
    // Fewer than asked: every event up to the read's snapshot (>= `snapshot`) was seen.
    if (static_cast<int>(events->size()) < options_.batch_events) {
      after = std::max(after, snapshot);
    }
    f.after = after;
    for (storage::StoredEvent& e : *events) ToProto(std::move(e), *response.add_events());
  }
  if (response.events().empty() && !heartbeat_due) return false;
  response.set_last_sequence(f.after);
  return f.sink->Send(std::move(response));
}

void FollowHub::Stop() {
  absl::MutexLock join(&join_mu_);
  std::vector<Follower> followers;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  {
    absl::MutexLock lock(&mu_);
    followers.swap(followers_);
  }
  for (Follower& f : followers) f.sink->Close();
}

}  // namespace kubetrail::aggregator
