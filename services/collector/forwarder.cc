#include "services/collector/forwarder.h"

#include <algorithm>
#include <utility>

#include "common/logging.h"
#include "common/status_macros.h"
#include "common/strings.h"

namespace kubetrail::collector {
namespace {

// How long the thread waits for spooled events before it looks at acks, failover and stop.
constexpr absl::Duration kIdleWait = absl::Milliseconds(200);
// Aggregator rejections logged per batch at most (all are counted).
constexpr int kLoggedRejections = 3;

}  // namespace

Forwarder::Forwarder(ForwarderConfig config, Spool& spool, Clock& clock, Registry* registry)
    : config_(std::move(config)), spool_(spool), clock_(clock) {
  credentials_ = config_.credentials;
  if (registry == nullptr) return;
  Family<Counter>& acked = registry->AddCounter(
      "kubetrail_collector_events_acked_total",
      "Events the aggregator acknowledged, by result: stored, duplicate (stored before), "
      "expired (older than the cluster's retention), rejected (refused; see the log).",
      {"result"});
  acked_stored_ = &acked.WithLabels({"stored"});
  acked_duplicate_ = &acked.WithLabels({"duplicate"});
  acked_expired_ = &acked.WithLabels({"expired"});
  acked_rejected_ = &acked.WithLabels({"rejected"});
  batches_ = &registry
                  ->AddCounter("kubetrail_collector_batches_acked_total",
                               "Batches the aggregator acknowledged.")
                  .WithLabels();
  Family<Counter>& sent_batches = registry->AddCounter(
      "kubetrail_collector_batches_sent_total",
      "Batch writes to the aggregator, by kind: first (the batch's first write), resend (written "
      "again after a broken stream, a switch of aggregator or a reloaded client certificate, "
      "because it was not acknowledged).",
      {"kind"});
  sent_batches_first_ = &sent_batches.WithLabels({"first"});
  sent_batches_resend_ = &sent_batches.WithLabels({"resend"});
  Family<Counter>& sent_events = registry->AddCounter(
      "kubetrail_collector_events_sent_total",
      "Events in the batch writes of kubetrail_collector_batches_sent_total, by the batch's kind "
      "(first, resend).",
      {"kind"});
  sent_events_first_ = &sent_events.WithLabels({"first"});
  sent_events_resend_ = &sent_events.WithLabels({"resend"});
  failovers_ = &registry
                    ->AddCounter("kubetrail_collector_failovers_total",
                                 "Switches to the next aggregator after one stopped acking.")
                    .WithLabels();
  ship_seconds_ = &registry
                       ->AddHistogram("kubetrail_collector_ship_seconds",
                                      "Time from a batch's submission to its ack (durable at "
                                      "the aggregator).",
                                      ExponentialBuckets(0.001, 2, 16))
                       .WithLabels();
}

Forwarder::~Forwarder() { Stop(); }

absl::Status Forwarder::Start() {
  if (config_.targets.empty()) return absl::InvalidArgumentError("forwarder: no aggregator");
  if (config_.batch_events == 0 || config_.batch_bytes == 0) {
    return absl::InvalidArgumentError("forwarder: batch_events and batch_bytes must be > 0");
  }
  if (config_.qps < 0 || config_.burst == 0) {
    return absl::InvalidArgumentError("forwarder: qps must be >= 0 and burst > 0");
  }
  // The first shipper is made here, so that a bad shipper config fails Start.
  KT_RETURN_IF_ERROR(NewShipper());
  absl::MutexLock lock(&thread_mu_);
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

absl::Status Forwarder::NewShipper() {
  ShipperConfig sc;
  std::shared_ptr<Shipper> old;
  {
    absl::MutexLock lock(&mu_);
    sc.target = config_.targets[target_index_ % config_.targets.size()];
    sc.credentials = credentials_;
    credentials_changed_ = false;
  }
  sc.tls_server_name = config_.tls_server_name;
  sc.cluster = config_.cluster;
  sc.source = config_.source;
  sc.window = config_.window;
  sc.max_pending_batches = MaxPendingBatches();
  sc.reconnect_backoff = config_.backoff;
  sc.compression = config_.compression;
  sc.zstd_level = config_.zstd_level;
  if (sent_batches_first_ != nullptr) {
    // A new shipper starts over from the oldest unacknowledged event: what an earlier one
    // wrote goes out again, and is a resend although it is new to this shipper. (Batches are
    // cut anew; one that straddles the last written sequence counts as first.)
    sc.on_send = [this](uint64_t sequence, size_t events, bool resend) {
      uint64_t seen = sent_through_.load();
      resend = resend || sequence <= seen;
      while (seen < sequence && !sent_through_.compare_exchange_weak(seen, sequence)) {
      }
      (resend ? sent_batches_resend_ : sent_batches_first_)->Increment();
      (resend ? sent_events_resend_ : sent_events_first_)->IncrementBy(events);
    };
  }
  absl::StatusOr<std::unique_ptr<Shipper>> shipper =
      Shipper::Create(std::move(sc), clock_, [this](BatchAck&& ack) { OnAck(std::move(ack)); });
  if (!shipper.ok()) return shipper.status();
  {
    absl::MutexLock lock(&mu_);
    old = std::move(shipper_);
    shipper_ = std::move(*shipper);
    submitted_at_.clear();
  }
  // Stops the old stream (its unacknowledged batches are sent again on the new one).
  if (old != nullptr) old->Shutdown();
  cursor_ = acked_through_.load();
  progress_at_ = clock_.Now();
  return absl::OkStatus();
}

void Forwarder::OnAck(BatchAck&& ack) {
  uint64_t seen = acked_through_.load();
  while (seen < ack.sequence && !acked_through_.compare_exchange_weak(seen, ack.sequence)) {
  }
  absl::Time submitted = absl::InfinitePast();
  {
    absl::MutexLock lock(&mu_);
    auto it = submitted_at_.find(ack.sequence);
    if (it != submitted_at_.end()) {
      submitted = it->second;
      submitted_at_.erase(submitted_at_.begin(), std::next(it));
    }
  }
  if (acked_stored_ != nullptr) {
    acked_stored_->IncrementBy(ack.stored);
    acked_duplicate_->IncrementBy(ack.duplicates);
    acked_expired_->IncrementBy(ack.expired);
    acked_rejected_->IncrementBy(ack.rejected.size());
    batches_->Increment();
    if (submitted != absl::InfinitePast()) {
      ship_seconds_->Observe(absl::ToDoubleSeconds(clock_.Now() - submitted));
    }
  }
  for (int i = 0; i < static_cast<int>(ack.rejected.size()) && i < kLoggedRejections; ++i) {
    KT_LOG(kWarning, "collector") << "the aggregator rejected event " << ack.rejected[i].audit_id()
                                  << ": " << ack.rejected[i].reason()
                                  << (ack.rejected.size() > kLoggedRejections &&
                                              i == kLoggedRejections - 1
                                          ? Cat(" (and ", ack.rejected.size() - kLoggedRejections,
                                                " more in this batch)")
                                          : std::string());
  }
}

void Forwarder::ApplyAcks() {
  const uint64_t acked = acked_through_.load();
  if (acked <= applied_through_) return;
  if (absl::Status s = spool_.Ack(acked); !s.ok()) {
    // They stay spooled and are shipped again after a restart: duplicates, not losses.
    KT_LOG(kWarning, "collector") << "deleting acknowledged events from the spool: " << s;
  }
  applied_through_ = acked;
  progress_at_ = clock_.Now();
}

size_t Forwarder::MaxPendingBatches() const { return static_cast<size_t>(config_.window) * 2; }

bool Forwarder::Stopping() const {
  absl::MutexLock lock(&mu_);
  return stop_;
}

bool Forwarder::Throttle() {
  if (config_.qps <= 0) return true;
  const absl::Time now = clock_.Now();
  if (tokens_at_ == absl::Time()) {
    tokens_ = config_.burst;
  } else {
    tokens_ = std::min<double>(config_.burst,
                               tokens_ + absl::ToDoubleSeconds(now - tokens_at_) * config_.qps);
  }
  tokens_at_ = now;
  if (tokens_ < 1) {
    const absl::Duration wait = absl::Seconds((1 - tokens_) / config_.qps);
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&stop_), wait)) return false;
    tokens_ = 1;
    tokens_at_ = clock_.Now();
  }
  tokens_ -= 1;
  return true;
}

void Forwarder::Run() {
  Backoff retry(config_.backoff, 0);
  while (!Stopping()) {
    ApplyAcks();
    std::shared_ptr<Shipper> shipper;
    bool renew = false;
    {
      absl::MutexLock lock(&mu_);
      shipper = shipper_;
      renew = credentials_changed_;
    }
    if (shipper == nullptr || renew) {
      if (absl::Status s = NewShipper(); !s.ok()) {
        KT_LOG(kError, "collector") << "cannot start shipping: " << s;
        absl::MutexLock lock(&mu_);
        health_ = s;
        mu_.AwaitWithTimeout(absl::Condition(&stop_), retry.Next());
      }
      continue;
    }
    if (absl::Status s = shipper->status(); !s.ok()) {
      // A permanent refusal (identity, cluster binding, protocol): report it, wait long, and
      // try again (the aggregator's access rules may be fixed meanwhile), the next aggregator
      // first.
      bool first = false;
      {
        absl::MutexLock lock(&mu_);
        first = health_.ok();
        health_ = s;
      }
      if (first) {
        KT_LOG(kError, "collector")
            << "aggregator " << CurrentTarget() << " refused this collector; retrying in "
            << config_.backoff.max << ": " << s;
      }
      {
        absl::MutexLock lock(&mu_);
        mu_.AwaitWithTimeout(absl::Condition(&stop_), config_.backoff.max);
        ++target_index_;
        shipper_.reset();
      }
      continue;
    }
    {
      absl::MutexLock lock(&mu_);
      health_ = absl::OkStatus();
    }

    const ShipperStats stats = shipper->Stats();
    if (stats.pending_batches == 0) progress_at_ = clock_.Now();
    if (config_.targets.size() > 1 && clock_.Now() - progress_at_ > config_.failover_after) {
      const std::string from = CurrentTarget();
      {
        absl::MutexLock lock(&mu_);
        ++target_index_;
      }
      KT_LOG(kWarning, "collector")
          << "no ack from aggregator " << from << " for " << config_.failover_after << " ("
          << stats.pending_batches << " batches waiting; last error: " << stats.last_stream_error
          << "); switching to " << CurrentTarget();
      if (failovers_ != nullptr) failovers_->Increment();
      if (absl::Status s = NewShipper(); !s.ok()) {
        KT_LOG(kError, "collector") << "cannot start shipping: " << s;
      }
      continue;
    }

    // The shipper's queue is full (the aggregator is slow or unreachable): wait here rather
    // than in Submit, so that acks, failover and stop are still looked at.
    if (stats.pending_batches >= MaxPendingBatches()) {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stop_), kIdleWait);
      continue;
    }
    if (!spool_.WaitForEvents(cursor_, kIdleWait)) continue;
    // Let the batch fill up, unless a whole one is there already.
    const absl::Time fill_until = clock_.Now() + config_.batch_wait;
    while (!draining_.load() && !Stopping() &&
           !spool_.WaitForEvents(cursor_ + config_.batch_events - 1,
                                 std::min(kIdleWait, fill_until - clock_.Now())) &&
           clock_.Now() < fill_until) {
    }
    std::vector<SpooledEvent> events;
    absl::StatusOr<size_t> read =
        spool_.Read(cursor_, config_.batch_events, config_.batch_bytes, &events);
    if (!read.ok()) {
      KT_LOG(kError, "collector") << "reading the spool: " << read.status();
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stop_), retry.Next());
      continue;
    }
    if (events.empty()) continue;
    const uint64_t sequence = events.back().sequence;
    if (!Throttle()) break;
    {
      absl::MutexLock lock(&mu_);
      submitted_at_[sequence] = clock_.Now();
    }
    if (absl::Status s = Submit(*shipper, sequence, events); !s.ok()) {
      // Shut down or permanently failed: the next round sorts it out (the cursor stays).
      continue;
    }
    cursor_ = events.back().sequence;
    retry.Reset();
  }
}

absl::Status Forwarder::Submit(Shipper& shipper, uint64_t sequence,
                               const std::vector<SpooledEvent>& events) {
  // The spooled bytes go out as they are. The spool's checksums make a damaged event all but
  // impossible; should one not even be an EnvelopedEvent, the batch is parsed event by event
  // instead and the damaged ones are skipped, so that one bad record cannot stop shipping.
  std::vector<std::string> serialized;
  serialized.reserve(events.size());
  for (const SpooledEvent& e : events) serialized.push_back(e.bytes);
  absl::Status s = shipper.SubmitSerialized(sequence, std::move(serialized));
  if (s.code() != absl::StatusCode::kInvalidArgument) return s;
  kubetrail::v1::Batch batch;
  batch.set_sequence(sequence);
  for (const SpooledEvent& e : events) {
    if (!batch.add_events()->ParseFromString(e.bytes)) {
      batch.mutable_events()->RemoveLast();
      KT_LOG(kError, "collector") << "spooled event " << e.sequence
                                  << " does not parse; it is skipped";
    }
  }
  return shipper.Submit(std::move(batch));
}

void Forwarder::UpdateCredentials(std::shared_ptr<grpc::ChannelCredentials> credentials) {
  absl::MutexLock lock(&mu_);
  credentials_ = std::move(credentials);
  credentials_changed_ = true;
}

absl::Status Forwarder::Drain(absl::Duration timeout) {
  draining_ = true;
  spool_.Wake();
  const absl::Time deadline = clock_.Now() + timeout;
  while (true) {
    const SpoolStats stats = spool_.Stats();
    if (stats.events == 0) return absl::OkStatus();
    if (clock_.Now() >= deadline) {
      return absl::DeadlineExceededError(Cat(stats.events, " events are still spooled (",
                                             stats.bytes,
                                             " bytes); they are shipped after the next start"));
    }
    absl::SleepFor(absl::Milliseconds(10));
    // The forwarder thread applies acks; make sure it looks soon.
    spool_.Wake();
  }
}

void Forwarder::Stop() {
  std::shared_ptr<Shipper> shipper;
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    shipper = shipper_;
  }
  spool_.Wake();
  // Unblocks a Submit waiting for the window.
  if (shipper != nullptr) shipper->Shutdown();
  {
    absl::MutexLock lock(&thread_mu_);
    if (thread_.joinable()) thread_.join();
  }
  shipper.reset();
  {
    absl::MutexLock lock(&mu_);
    shipper = std::move(shipper_);
  }
  if (shipper != nullptr) shipper->Shutdown();
  ApplyAcks();
}

absl::Status Forwarder::Health() const {
  absl::MutexLock lock(&mu_);
  return health_;
}

std::string Forwarder::CurrentTarget() const {
  absl::MutexLock lock(&mu_);
  return config_.targets[target_index_ % config_.targets.size()];
}

}  // namespace kubetrail::collector
