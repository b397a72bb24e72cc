#include "services/aggregator/ingest_service.h"

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "audit/codec.h"
#include "common/grpc_status.h"
#include "common/logging.h"
#include "common/names.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "google/protobuf/arena.h"
#include "proto/batch_codec.h"

namespace kubetrail::aggregator {

namespace v1 = ::kubetrail::v1;

// One collector stream. Lifetime: deleted when gRPC called OnDone and no batch of it is
// still in the Writer (`jobs_` == 0).
class IngestStream final : public grpc::ServerBidiReactor<v1::IngestRequest, v1::IngestResponse> {
 public:
  IngestStream(IngestService& service, grpc::CallbackServerContext* context)
      : service_(service), context_(context) {
    absl::MutexLock lock(&mu_);
    NewRequestLocked();
    StartRead(request_);
  }

  // From IngestService::StartDraining.
  void Drain() {
    absl::MutexLock lock(&mu_);
    draining_ = true;
    MaybeFinishLocked();
  }

  void OnReadDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    reading_ = false;
    if (finished_) return;
    if (!ok) {
      // The collector half-closed (or the call ended): finish once every batch is acked.
      read_closed_ = true;
      MaybeFinishLocked();
      return;
    }
    absl::Status status = hello_seen_ ? HandleBatchLocked() : HandleHelloLocked();
    if (!status.ok()) {
      FinishLocked(ToGrpcStatus(status));
      return;
    }
    if (finished_ || paused_) return;  // the Writer resumes us when its queue has room
    if (draining_) {
      MaybeFinishLocked();
      return;
    }
    reading_ = true;
    StartRead(request_);
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    outbox_.pop_front();
    if (!ok) {
      // The call is over (cancelled or the peer went away); nothing more can be sent.
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the ack could not be sent"));
      return;
    }
    WriteNextLocked();
    MaybeFinishLocked();
  }

  void OnDone() override {
    service_.Forget(this);
    bool last;
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
      last = jobs_ == 0;
    }
    if (last) delete this;
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    if (!finished_) FinishLocked(grpc::Status::CANCELLED);
  }

 private:
  struct Pending {
    uint64_t sequence = 0;
    v1::Ack ack;  // rejected events filled in when read
    bool written = false;
  };

  absl::Status HandleHelloLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!request_->has_hello()) {
      return absl::InvalidArgumentError("the first message of a stream must be a hello");
    }
    const v1::Hello& hello = request_->hello();
    if (hello.protocol_version() != v1::PROTOCOL_VERSION_1) {
      return absl::InvalidArgumentError(
          absl::StrCat("hello.protocol_version ", hello.protocol_version(),
                       " is not supported (this ", "aggregator speaks PROTOCOL_VERSION_1)"));
    }
    if (absl::Status s = CheckClusterName("hello.cluster", hello.cluster()); !s.ok()) return s;
    if (absl::Status s = CheckSourceName("hello.source", hello.source()); !s.ok()) return s;
    if (absl::Status s = service_.authorizer_.CheckIngest(*context_, hello.cluster()); !s.ok()) {
      service_.metrics_.StreamRefused(hello.cluster(), s);
      return s;
    }
    hello_seen_ = true;
    cluster_ = hello.cluster();
    source_ = hello.source();
    KT_LOG(kInfo, "ingest") << "stream " << cluster_ << "/" << source_ << " opened by collector "
                            << (hello.collector_version().empty() ? "(no version)"
                                                                  : hello.collector_version())
                            << " from " << context_->peer();
    service_.metrics_.CollectorSeen(cluster_, source_, service_.clock_.NowMicros());
    v1::IngestResponse& welcome = outbox_.emplace_back();
    v1::Welcome* w = welcome.mutable_welcome();
    w->set_aggregator_version(service_.options_.version);
    w->set_protocol_version(v1::PROTOCOL_VERSION_1);
    w->set_max_batch_events(service_.options_.max_batch_events);
    w->set_max_event_bytes(service_.options_.max_event_bytes);
    w->set_max_message_bytes(service_.options_.max_message_bytes);
    w->set_accepts_zstd_events(true);
    WriteNextLocked();
    return absl::OkStatus();
  }

  absl::Status HandleBatchLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!request_->has_batch()) {
      return absl::InvalidArgumentError(
          "a stream sends one hello, then batches: got a second hello");
    }
    v1::Batch& batch = *request_->mutable_batch();
    // Runs on the reading thread, as gRPC's own parse of the message does: a batch's frame
    // decompresses in about a millisecond.
    if (!batch.zstd_events().empty()) {
      KT_RETURN_IF_ERROR(InflateBatchEvents(batch, service_.options_.max_message_bytes));
    }
    if (last_sequence_ && batch.sequence() <= *last_sequence_) {
      return absl::InvalidArgumentError(absl::StrCat("batch sequence ", batch.sequence(),
                                                     " is not greater than the previous ",
                                                     *last_sequence_));
    }
    if (static_cast<uint64_t>(batch.events_size()) > service_.options_.max_batch_events) {
      return absl::InvalidArgumentError(absl::StrCat(
          "batch ", batch.sequence(), " has ", batch.events_size(),
          " events, over this aggregator's limit of ", service_.options_.max_batch_events));
    }
    last_sequence_ = batch.sequence();
    const int64_t now_us = service_.clock_.NowMicros();
    service_.metrics_.CollectorSeen(cluster_, source_, now_us);

    Pending& pending = pending_.emplace_back();
    pending.sequence = batch.sequence();
    WriteJob job;
    job.events.reserve(batch.events_size());
    // The size check below sizes every event, and nothing changes an event after it.
    job.event_sizes_cached = true;
    uint64_t bytes = 0;
    for (int i = 0; i < batch.events_size(); ++i) {
      v1::EnvelopedEvent& e = *batch.mutable_events(i);
      // One size computation per event (ByteSizeLong walks the whole message); the store
      // serializes with it (event_sizes_cached).
      const size_t size = e.event().ByteSizeLong();
      std::string reason = CheckEvent(e, size);
      if (!reason.empty()) {
        v1::RejectedEvent* r = pending.ack.add_rejected();
        r->set_index(i);
        r->set_audit_id(e.event().audit_id());
        r->set_reason(std::move(reason));
        continue;
      }
      v1::Envelope* env = e.mutable_envelope();
      if (env->cluster().empty()) env->set_cluster(cluster_);
      if (env->source().empty()) env->set_source(source_);
      if (env->receive_time_us() == 0) env->set_receive_time_us(now_us);
      bytes += size;
      job.events.push_back(&e);
    }
    // The job takes the request's arena with the events on it; the next read parses into a
    // new one.
    job.arena = std::move(arena_);
    NewRequestLocked();
    service_.metrics_.BatchReceived(cluster_, batch.events_size(), bytes,
                                    pending.ack.rejected_size());

    const uint64_t sequence = pending.sequence;
    // This stream's batches are committed in the order sent (the stream outlives its jobs,
    // so its address is a unique key meanwhile).
    job.order_key = reinterpret_cast<uintptr_t>(this);
    job.done = [this, sequence](absl::StatusOr<storage::WriteResult> result) {
      OnWritten(sequence, std::move(result));
    };
    ++jobs_;
    // Enqueue may call `done` at once (shutdown), and `resume` or `done` on a writer thread
    // before it returns; they take mu_, so release it around the call.
    enqueuing_ = true;
    mu_.Unlock();
    const bool more = service_.writer_.Enqueue(std::move(job), [this] { Resume(); });
    mu_.Lock();
    enqueuing_ = false;
    paused_ = !more && !resumed_early_;
    resumed_early_ = false;
    return absl::OkStatus();
  }

  // Why the store must not see `e`, whose event serializes to `size` bytes, or "" when it may.
  std::string CheckEvent(const v1::EnvelopedEvent& e, size_t size) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (e.event().audit_id().empty()) return "auditID is empty";
    if (e.event().stage().empty()) return "stage is empty";
    // Times the store does not keep (event_store.h) would fail the whole batch there.
    if (const int64_t t = storage::EventTimeMicros(e);
        t < storage::kMinEventTimeUs || t > storage::kMaxEventTimeUs) {
      return absl::StrCat("event time ", t,
                          " us is outside the times a store keeps (years 0000 to 6053)");
    }
    if (size > service_.options_.max_event_bytes) {
      return absl::StrCat("event is ", size, " bytes, over the limit of ",
                          service_.options_.max_event_bytes);
    }
    // Readers copy raw JSON values into their output as they are (audit::AppendEventJson):
    // one malformed value would break every JSON answer that holds the event.
    if (absl::Status raw = audit::CheckRawJson(e.event()); !raw.ok()) {
      return std::string(raw.message());
    }
    if (!e.envelope().cluster().empty() && e.envelope().cluster() != cluster_) {
      return absl::StrCat("envelope cluster \"", e.envelope().cluster(),
                          "\" is not the stream's cluster \"", cluster_, "\"");
    }
    if (!e.envelope().source().empty() && e.envelope().source() != source_) {
      return absl::StrCat("envelope source \"", e.envelope().source(),
                          "\" is not the stream's source \"", source_, "\"");
    }
    return "";
  }

  // The Writer has room again (runs on a writer thread).
  void Resume() {
    absl::MutexLock lock(&mu_);
    if (enqueuing_) {
      // Room came back before Enqueue returned: OnReadDone starts the next read itself.
      resumed_early_ = true;
      return;
    }
    paused_ = false;
    if (finished_ || reading_ || read_closed_) return;
    if (draining_) {
      MaybeFinishLocked();
      return;
    }
    reading_ = true;
    StartRead(request_);
  }

  // A batch's write returned (runs on a writer thread, or inline at shutdown).
  void OnWritten(uint64_t sequence, absl::StatusOr<storage::WriteResult> result) {
    bool remove = false;
    {
      absl::MutexLock lock(&mu_);
      --jobs_;
      if (!result.ok()) {
        service_.metrics_.WriteFailed(cluster_, result.status());
        if (!finished_) {
          FinishLocked(
              grpc::Status(grpc::StatusCode::UNAVAILABLE,
                           absl::StrCat("the aggregator could not store batch ", sequence, ": ",
                                        result.status().message(), "; resend it later")));
        }
      } else {
        for (Pending& p : pending_) {
          if (p.sequence != sequence) continue;
          p.ack.set_sequence(sequence);
          p.ack.set_committed_sequence(sequence);
          p.ack.set_stored(static_cast<uint32_t>(result->stored));
          p.ack.set_duplicates(static_cast<uint32_t>(result->duplicates));
          p.ack.set_expired(static_cast<uint32_t>(result->expired));
          p.written = true;
          service_.metrics_.BatchStored(cluster_, result->stored, result->duplicates,
                                        result->expired);
          break;
        }
        // Acks go out in batch order.
        while (!finished_ && !pending_.empty() && pending_.front().written) {
          outbox_.emplace_back().mutable_ack()->Swap(&pending_.front().ack);
          pending_.pop_front();
        }
        WriteNextLocked();
        MaybeFinishLocked();
      }
      remove = done_ && jobs_ == 0;
    }
    if (remove) delete this;
  }

  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || finished_ || outbox_.empty()) return;
    writing_ = true;
    StartWrite(&outbox_.front());
  }

  // A fresh arena and request for the next read.
  void NewRequestLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    google::protobuf::ArenaOptions options;
    // A batch of 400 events of a few KB parses into about 1–2 MB.
    options.start_block_size = 64 << 10;
    options.max_block_size = 1 << 20;
    arena_ = std::make_unique<google::protobuf::Arena>(options);
    request_ = google::protobuf::Arena::CreateMessage<v1::IngestRequest>(arena_.get());
  }

  // Finishes with OK (client closed) or UNAVAILABLE (draining) once nothing is in flight.
  void MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || jobs_ > 0 || !pending_.empty() || writing_ || !outbox_.empty()) return;
    if (read_closed_) {
      FinishLocked(grpc::Status::OK);
    } else if (draining_) {
      // A read may be outstanding; finishing ends it (OnReadDone(false)). A batch that
      // arrives meanwhile is simply not acknowledged and will be resent.
      FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                "the aggregator is shutting down; every acknowledged batch "
                                "is stored, resend the rest"));
    }
  }

  void FinishLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED &&
        status.error_code() != grpc::StatusCode::UNAVAILABLE) {
      KT_LOG(kWarning, "ingest") << "stream " << (cluster_.empty() ? "?" : cluster_) << "/"
                                 << (source_.empty() ? "?" : source_) << " from "
                                 << context_->peer() << " ended: " << status.error_message();
    }
    Finish(std::move(status));
  }

  IngestService& service_;
  grpc::CallbackServerContext* const context_;

  absl::Mutex mu_;
  // Each batch is parsed onto an arena of its own, which its WriteJob takes: its events are
  // written from there and freed at once (freeing them one by one cost a tenth of the
  // aggregator's CPU).
  std::unique_ptr<google::protobuf::Arena> arena_ ABSL_GUARDED_BY(mu_);
  v1::IngestRequest* request_ ABSL_GUARDED_BY(mu_) = nullptr;  // on arena_
  bool hello_seen_ ABSL_GUARDED_BY(mu_) = false;
  std::string cluster_ ABSL_GUARDED_BY(mu_);
  std::string source_ ABSL_GUARDED_BY(mu_);
  std::optional<uint64_t> last_sequence_ ABSL_GUARDED_BY(mu_);
  std::deque<Pending> pending_ ABSL_GUARDED_BY(mu_);            // read, not yet acked
  std::deque<v1::IngestResponse> outbox_ ABSL_GUARDED_BY(mu_);  // front is being written
  int jobs_ ABSL_GUARDED_BY(mu_) = 0;                           // batches in the Writer
  bool reading_ ABSL_GUARDED_BY(mu_) = true;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  bool enqueuing_ ABSL_GUARDED_BY(mu_) = false;      // mu_ released around Writer::Enqueue
  bool resumed_early_ ABSL_GUARDED_BY(mu_) = false;  // Resume ran during Enqueue
  bool read_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

IngestService::IngestService(Writer& writer, const Authorizer& authorizer, Metrics& metrics,
                             Clock& clock, Options options)
    : writer_(writer),
      authorizer_(authorizer),
      metrics_(metrics),
      clock_(clock),
      options_(std::move(options)) {}

IngestService::~IngestService() = default;

grpc::ServerBidiReactor<v1::IngestRequest, v1::IngestResponse>* IngestService::Stream(
    grpc::CallbackServerContext* context) {
  {
    absl::MutexLock lock(&mu_);
    if (!draining_) {
      auto* stream = new IngestStream(*this, context);
      streams_.insert(stream);
      return stream;
    }
  }
  // Refused: a reactor that finishes at once.
  class Refused final : public grpc::ServerBidiReactor<v1::IngestRequest, v1::IngestResponse> {
   public:
    Refused() {
      Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the aggregator is shutting down"));
    }
    void OnDone() override { delete this; }
  };
  return new Refused();
}

void IngestService::StartDraining() {
  absl::MutexLock lock(&mu_);
  draining_ = true;
  // Drain under mu_ so that no stream is deleted meanwhile (OnDone calls Forget first).
  for (IngestStream* s : streams_) s->Drain();
}

size_t IngestService::StreamCount() const {
  absl::MutexLock lock(&mu_);
  return streams_.size();
}

void IngestService::Forget(IngestStream* stream) {
  absl::MutexLock lock(&mu_);
  streams_.erase(stream);
}

}  // namespace kubetrail::aggregator
