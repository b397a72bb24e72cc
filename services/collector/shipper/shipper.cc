#include "services/collector/shipper/shipper.h"

#include <algorithm>
#include <string_view>
#include <utility>

#include "common/logging.h"
#include "common/names.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/wire_format_lite.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/support/channel_arguments.h"
#include "grpcpp/support/client_callback.h"
#include "proto/batch_codec.h"

namespace kubetrail::collector {
namespace {

constexpr std::string_view kComponent = "shipper";
// The longest real-time wait between two looks at the injected clock: a FakeClock moved by a
// test is noticed within this.
constexpr absl::Duration kClockPollInterval = absl::Milliseconds(50);

// Reads the envelope (field 1) of a serialized kubetrail.v1.EnvelopedEvent into `envelope`
// (cleared first; left empty when there is none), checking the framing of the outer message
// on the way without looking inside the event (field 2), which is skipped. False: not a
// well-formed EnvelopedEvent at that level.
bool ReadEnvelope(std::string_view bytes, kubetrail::v1::Envelope* envelope) {
  using google::protobuf::internal::WireFormatLite;
  envelope->Clear();
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  while (true) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) return in.ConsumedEntireMessage();  // the end, or a bad tag
    if (tag == WireFormatLite::MakeTag(kubetrail::v1::EnvelopedEvent::kEnvelopeFieldNumber,
                                       WireFormatLite::WIRETYPE_LENGTH_DELIMITED)) {
      uint32_t length = 0;
      if (!in.ReadVarint32(&length)) return false;
      const auto limit = in.PushLimit(static_cast<int>(length));
      if (!envelope->MergePartialFromCodedStream(&in) || !in.ConsumedEntireMessage()) return false;
      in.PopLimit(limit);
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return false;
    }
  }
}

// The one place where a grpc::Status becomes an absl::Status (the codes are the same numbers).
absl::Status FromGrpc(const grpc::Status& status, std::string_view context) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      Cat(context, status.error_message()));
}

// Codes after which resending the same batches cannot succeed (see ingest.proto).
bool IsPermanent(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::UNIMPLEMENTED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
      return true;
    default:
      return false;
  }
}

int ToMillis(absl::Duration d) {
  return static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(d), 1, 1 << 30));
}

}  // namespace

// One Ingest.Stream. Created, started and destroyed by the supervisor thread (Run); its
// reactions forward to the Shipper. Its state is guarded by the Shipper's mu_. It holds a
// hold (AddHold) for as long as a write may still be started from outside a reaction, so
// OnDone, after which it is destroyed, cannot come while Submit is about to write.
class Shipper::Stream final
    : public grpc::ClientBidiReactor<kubetrail::v1::IngestRequest, kubetrail::v1::IngestResponse> {
 public:
  explicit Stream(Shipper* shipper) : shipper_(shipper) {}

  void OnReadDone(bool ok) override { shipper_->OnStreamRead(this, ok); }
  void OnWriteDone(bool ok) override { shipper_->OnStreamWriteDone(this, ok); }
  void OnWritesDoneDone(bool ok) override { shipper_->OnStreamWriteDone(this, ok); }
  void OnDone(const grpc::Status& s) override { shipper_->OnStreamDone(this, s); }

  Shipper* const shipper_;
  grpc::ClientContext context;
  kubetrail::v1::IngestRequest hello;
  // The one read in flight.
  kubetrail::v1::IngestResponse response;

  // Guarded by shipper_->mu_.
  bool welcomed = false;
  kubetrail::v1::Welcome welcome;
  // A write (hello, batch or half-close) is in flight, or about to be started.
  bool write_in_flight = false;
  // The batch being written; kept alive until OnWriteDone even if acked or dropped meanwhile.
  std::shared_ptr<const kubetrail::v1::IngestRequest> writing;
  // A read or write failed: the stream is over.
  bool broken = false;
  // Shutdown: half-close once nothing is in flight.
  bool closing = false;
  bool writes_done_started = false;
  bool hold_released = false;
  // Someone asked the supervisor to cancel the stream.
  bool cancel_requested = false;
  // Cancelled because no welcome came within connect_timeout.
  bool connect_timed_out = false;
  bool done = false;
  grpc::Status status;
};

absl::StatusOr<std::unique_ptr<Shipper>> Shipper::Create(ShipperConfig config, Clock& clock,
                                                         AckCallback on_ack) {
  if (config.target.empty()) return absl::InvalidArgumentError("target: must not be empty");
  if (absl::Status s = CheckClusterName("cluster", config.cluster); !s.ok()) return s;
  if (absl::Status s = CheckSourceName("source", config.source); !s.ok()) return s;
  if (config.window < 1) {
    return absl::InvalidArgumentError(Cat("window: must be at least 1, got ", config.window));
  }
  if (config.max_pending_batches < static_cast<size_t>(config.window)) {
    return absl::InvalidArgumentError(Cat("max_pending_batches: must be at least window (",
                                          config.window, "), got ", config.max_pending_batches));
  }
  const BackoffPolicy& b = config.reconnect_backoff;
  if (b.initial <= absl::ZeroDuration() || b.max < b.initial || b.multiplier < 1.0 ||
      b.jitter < 0.0 || b.jitter > 1.0) {
    return absl::InvalidArgumentError(
        "reconnect_backoff: need 0 < initial <= max, multiplier >= 1, 0 <= jitter <= 1");
  }
  if (config.connect_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("connect_timeout: must be positive");
  }
  if (config.zstd_level < 0 || config.zstd_level > 19) {
    return absl::InvalidArgumentError(Cat("zstd_level: want 0-19, got ", config.zstd_level));
  }
  if (config.zstd_level > 0 && config.compression != GRPC_COMPRESS_NONE) {
    return absl::InvalidArgumentError("zstd_level and compression: choose one");
  }
  if (config.keepalive.time <= absl::ZeroDuration() ||
      config.keepalive.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("keepalive: time and timeout must be positive");
  }

  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, ToMillis(config.keepalive.time));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, ToMillis(config.keepalive.timeout));
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, config.keepalive.permit_without_calls);
  // Keep pinging an idle connection (gRPC stops after 2 pings without data by default).
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // gRPC's reconnect backoff of the channel, which paces connection attempts while a stream
  // waits for the connection (wait_for_ready); it is reset before every new stream.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, ToMillis(b.initial));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, ToMillis(b.max));
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, ToMillis(config.connect_timeout));
  if (config.own_connection) args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetCompressionAlgorithm(config.compression);
  if (!config.tls_server_name.empty()) args.SetSslTargetNameOverride(config.tls_server_name);
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      config.credentials != nullptr ? config.credentials : grpc::InsecureChannelCredentials();
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(config.target, credentials, args);

  std::unique_ptr<Shipper> shipper(
      new Shipper(std::move(config), clock, std::move(on_ack), std::move(channel)));
  absl::MutexLock lock(&shipper->join_mu_);
  shipper->supervisor_ = std::thread([s = shipper.get()] { s->Run(); });
  return shipper;
}

Shipper::Shipper(ShipperConfig config, Clock& clock, AckCallback on_ack,
                 std::shared_ptr<grpc::Channel> channel)
    : config_(std::move(config)),
      clock_(clock),
      on_ack_(std::move(on_ack)),
      channel_(std::move(channel)),
      stub_(kubetrail::v1::Ingest::NewStub(channel_)) {}

Shipper::~Shipper() { Shutdown(); }

absl::Status Shipper::CheckEnvelope(uint64_t sequence, const kubetrail::v1::Envelope& env) const {
  if ((!env.cluster().empty() && env.cluster() != config_.cluster) ||
      (!env.source().empty() && env.source() != config_.source)) {
    return absl::InvalidArgumentError(Cat(
        "batch ", sequence, ": envelope (cluster \"", env.cluster(), "\", source \"", env.source(),
        "\") is not the shipper's (\"", config_.cluster, "\", \"", config_.source, "\")"));
  }
  return absl::OkStatus();
}

absl::Status Shipper::Submit(kubetrail::v1::Batch batch) {
  for (const kubetrail::v1::EnvelopedEvent& e : batch.events()) {
    KT_RETURN_IF_ERROR(CheckEnvelope(batch.sequence(), e.envelope()));
  }
  const auto events = static_cast<size_t>(batch.events_size());
  auto request = std::make_shared<kubetrail::v1::IngestRequest>();
  request->mutable_batch()->Swap(&batch);
  return Enqueue(std::move(request), events);
}

absl::Status Shipper::SubmitSerialized(uint64_t sequence, std::vector<std::string> events) {
  auto request = std::make_shared<kubetrail::v1::IngestRequest>();
  kubetrail::v1::Batch* batch = request->mutable_batch();
  batch->set_sequence(sequence);
  google::protobuf::UnknownFieldSet* wire = batch->GetReflection()->MutableUnknownFields(batch);
  kubetrail::v1::Envelope envelope;
  for (size_t i = 0; i < events.size(); ++i) {
    if (!ReadEnvelope(events[i], &envelope)) {
      return absl::InvalidArgumentError(Cat("batch ", sequence, ": event ", i, " (",
                                            events[i].size(),
                                            " bytes) is not a serialized EnvelopedEvent"));
    }
    KT_RETURN_IF_ERROR(CheckEnvelope(sequence, envelope));
    *wire->AddLengthDelimited(kubetrail::v1::Batch::kEventsFieldNumber) = std::move(events[i]);
  }
  return Enqueue(std::move(request), events.size());
}

absl::Status Shipper::Enqueue(std::shared_ptr<kubetrail::v1::IngestRequest> request,
                              size_t events) {
  Pending pending;
  pending.sequence = request->batch().sequence();
  pending.events = events;
  pending.bytes = request->ByteSizeLong();
  if (config_.zstd_level > 0) {
    KT_RETURN_IF_ERROR(CompressBatchEvents(*request->mutable_batch(), config_.zstd_level));
  }
  pending.request = std::move(request);
  {
    absl::MutexLock lock(&mu_);
    auto admitted = [this, &pending]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return shutdown_ || !error_.ok() || pending_.empty() ||
             (pending_.size() < config_.max_pending_batches &&
              pending_bytes_ + pending.bytes <= config_.max_pending_bytes);
    };
    mu_.Await(absl::Condition(&admitted));
    if (!error_.ok()) return error_;
    if (shutdown_) return absl::FailedPreconditionError("the shipper is shut down");
    if (any_submitted_ && pending.sequence <= last_sequence_) {
      return absl::InvalidArgumentError(Cat("batch sequence ", pending.sequence,
                                            " is not greater than the previous one, ",
                                            last_sequence_));
    }
    any_submitted_ = true;
    last_sequence_ = pending.sequence;
    ++stats_.submitted_batches;
    stats_.submitted_events += pending.events;
    pending_bytes_ += pending.bytes;
    pending_.push_back(std::move(pending));
  }
  MaybeStartWrite();
  return absl::OkStatus();
}

absl::Status Shipper::WaitForAcks(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto over = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return (pending_.empty() && acks_in_callback_ == 0) || !error_.ok() || shutdown_;
  };
  if (!mu_.AwaitWithTimeout(absl::Condition(&over), timeout)) {
    return absl::DeadlineExceededError(Cat(pending_.size(), " batches still unacknowledged after ",
                                           absl::FormatDuration(timeout)));
  }
  if (pending_.empty()) return absl::OkStatus();
  if (!error_.ok()) return error_;
  return absl::CancelledError(Cat("shut down with ", pending_.size(), " batches unacknowledged"));
}

void Shipper::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    shutdown_ = true;
  }
  absl::MutexLock lock(&join_mu_);
  if (supervisor_.joinable()) supervisor_.join();
}

ShipperStats Shipper::Stats() const {
  absl::MutexLock lock(&mu_);
  ShipperStats stats = stats_;
  stats.pending_batches = pending_.size();
  stats.pending_events = 0;
  for (const Pending& p : pending_) stats.pending_events += p.events;
  stats.error = error_;
  return stats;
}

absl::Status Shipper::status() const {
  absl::MutexLock lock(&mu_);
  return error_;
}

void Shipper::FailLocked(absl::Status error) {
  if (error_.ok()) {
    error_ = std::move(error);
    KT_LOG(kError, kComponent) << "stopped: " << error_.ToString();
  }
  if (stream_ != nullptr) stream_->cancel_requested = true;
}

bool Shipper::AwaitLocked(const absl::Condition& cond, absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) {
    mu_.Await(cond);
    return true;
  }
  while (!cond.Eval()) {
    const absl::Duration left = deadline - clock_.Now();
    if (left <= absl::ZeroDuration()) return false;
    mu_.AwaitWithTimeout(cond, std::min(left, kClockPollInterval));
  }
  return true;
}

void Shipper::Run() {
  Backoff backoff(config_.reconnect_backoff, config_.backoff_seed);
  while (true) {
    auto stream = std::make_unique<Stream>(this);
    bool reconnect = false;
    {
      absl::MutexLock lock(&mu_);
      if (shutdown_ || !error_.ok()) break;
      reconnect = stats_.streams > 0;
      if (reconnect) ++stats_.reconnects;
      ++stats_.streams;
      stream_ = stream.get();
      next_to_send_ = 0;
    }
    // Our backoff has passed: let the channel try to connect now rather than after its own.
    if (reconnect) grpc::experimental::ChannelResetConnectionBackoff(channel_.get());
    const bool welcomed = RunStream(*stream);
    const grpc::Status status = stream->status;  // final: OnDone has run
    absl::Time retry_at;
    {
      absl::MutexLock lock(&mu_);
      stream_ = nullptr;
      if (shutdown_ || !error_.ok()) break;
      if (IsPermanent(status.error_code())) {
        FailLocked(FromGrpc(status, "aggregator refused the stream: "));
        break;
      }
      stats_.last_stream_error =
          stream->connect_timed_out
              ? absl::DeadlineExceededError(Cat("no welcome from ", config_.target, " within ",
                                                absl::FormatDuration(config_.connect_timeout)))
          : status.ok() ? absl::UnavailableError("the aggregator ended the stream")
                        : FromGrpc(status, "");
      if (welcomed) backoff.Reset();
      const absl::Duration delay = backoff.Next();
      KT_LOG(kWarning, kComponent)
          << "stream to " << config_.target << " failed: " << stats_.last_stream_error.ToString()
          << "; " << pending_.size() << " batches unacknowledged; retry in "
          << absl::FormatDuration(delay);
      retry_at = clock_.Now() + delay;
    }
    stream.reset();
    absl::MutexLock lock(&mu_);
    auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return shutdown_; };
    AwaitLocked(absl::Condition(&stop), retry_at);
  }
}

bool Shipper::RunStream(Stream& stream) {
  kubetrail::v1::Hello* hello = stream.hello.mutable_hello();
  hello->set_cluster(config_.cluster);
  hello->set_source(config_.source);
  hello->set_collector_version(config_.collector_version);
  hello->set_protocol_version(kubetrail::v1::PROTOCOL_VERSION_1);
  {
    absl::MutexLock lock(&mu_);
    stream.write_in_flight = true;  // the hello
  }
  // Wait for the connection instead of failing while the channel is in TRANSIENT_FAILURE:
  // the aggregator may be restarting. connect_timeout bounds the wait.
  stream.context.set_wait_for_ready(true);
  stub_->async()->Stream(&stream.context, &stream);
  stream.AddHold();
  stream.StartWrite(&stream.hello);
  stream.StartRead(&stream.response);
  stream.StartCall();

  const absl::Time connect_deadline = clock_.Now() + config_.connect_timeout;
  absl::Time close_deadline = absl::InfiniteFuture();
  bool cancelled = false;
  bool shutdown_seen = false;
  bool welcomed = false;
  absl::MutexLock lock(&mu_);
  while (true) {
    // The welcome wakes the wait too: it replaces the connect deadline by the close one.
    const bool welcomed_before = stream.welcomed;
    auto wake = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stream.done ||
             (!cancelled && (stream.cancel_requested || (shutdown_ && !shutdown_seen) ||
                             stream.welcomed != welcomed_before));
    };
    absl::Time deadline = absl::InfiniteFuture();
    if (!cancelled) deadline = stream.welcomed ? close_deadline : connect_deadline;
    const bool woken = AwaitLocked(absl::Condition(&wake), deadline);
    welcomed = stream.welcomed;
    if (stream.done) break;
    bool cancel = false;
    bool half_close = false;
    if (!woken) {
      // The connect or close timeout passed.
      if (!stream.welcomed) stream.connect_timed_out = true;
      cancel = true;
    } else if (stream.cancel_requested) {
      cancel = true;
    } else if (shutdown_ && !shutdown_seen) {
      shutdown_seen = true;
      if (pending_.empty() && stream.welcomed && !stream.broken) {
        stream.closing = true;
        close_deadline = clock_.Now() + config_.close_timeout;
        half_close = true;
      } else {
        cancel = true;
      }
    }
    if (cancel) cancelled = true;
    // Outside mu_: gRPC may run reactions inline, and they take mu_.
    mu_.Unlock();
    if (cancel) stream.context.TryCancel();
    if (half_close) MaybeStartWrite();
    mu_.Lock();
  }
  return welcomed;
}

void Shipper::MaybeStartWrite() {
  Stream* stream = nullptr;
  const kubetrail::v1::IngestRequest* message = nullptr;
  {
    absl::MutexLock lock(&mu_);
    stream = stream_;
    if (stream == nullptr || stream->broken || stream->write_in_flight ||
        stream->writes_done_started || !stream->welcomed || stream->cancel_requested) {
      return;
    }
    if (stream->closing) {
      stream->write_in_flight = true;
      stream->writes_done_started = true;
    } else {
      if (next_to_send_ >= pending_.size() ||
          next_to_send_ >= static_cast<size_t>(config_.window)) {
        return;
      }
      Pending& p = pending_[next_to_send_];
      const kubetrail::v1::Welcome& w = stream->welcome;
      if (w.max_batch_events() != 0 && p.events > w.max_batch_events()) {
        FailLocked(absl::InvalidArgumentError(Cat("batch ", p.sequence, " has ", p.events,
                                                  " events, over the aggregator's limit of ",
                                                  w.max_batch_events())));
        return;
      }
      if (w.max_message_bytes() != 0 && p.bytes > w.max_message_bytes()) {
        FailLocked(absl::InvalidArgumentError(Cat("batch ", p.sequence, " is ", p.bytes,
                                                  " bytes, over the aggregator's limit of ",
                                                  w.max_message_bytes())));
        return;
      }
      ++next_to_send_;
      const bool resend = p.sends++ > 0;
      if (resend) ++stats_.resent_batches;
      ++stats_.sent_batches;
      if (config_.on_send) config_.on_send(p.sequence, p.events, resend);
      stream->write_in_flight = true;
      stream->writing = p.request;
      message = p.request.get();
    }
  }
  // The hold keeps `stream` alive: it is released only once write_in_flight is false again.
  if (message != nullptr) {
    stream->StartWrite(message);
  } else {
    stream->StartWritesDone();
  }
}

bool Shipper::TakeHoldReleaseLocked(Stream* stream) {
  if (stream->hold_released || stream->write_in_flight) return false;
  if (!stream->broken && !stream->writes_done_started) return false;
  stream->hold_released = true;
  return true;
}

void Shipper::OnStreamWriteDone(Stream* stream, bool ok) {
  bool release = false;
  {
    absl::MutexLock lock(&mu_);
    stream->write_in_flight = false;
    stream->writing.reset();
    if (!ok) stream->broken = true;
    release = TakeHoldReleaseLocked(stream);
  }
  if (release) {
    stream->RemoveHold();
  } else {
    MaybeStartWrite();
  }
}

void Shipper::OnStreamRead(Stream* stream, bool ok) {
  if (!ok) {
    bool release = false;
    {
      absl::MutexLock lock(&mu_);
      stream->broken = true;
      release = TakeHoldReleaseLocked(stream);
    }
    if (release) stream->RemoveHold();
    return;
  }
  BatchAck ack;
  bool have_ack = false;
  {
    absl::MutexLock lock(&mu_);
    kubetrail::v1::IngestResponse& r = stream->response;
    if (!stream->welcomed) {
      if (!r.has_welcome()) {
        FailLocked(
            absl::InternalError("protocol violation: the aggregator's first message is "
                                "not a welcome"));
      } else if (r.welcome().protocol_version() != kubetrail::v1::PROTOCOL_VERSION_1) {
        FailLocked(absl::FailedPreconditionError(Cat("the aggregator speaks protocol version ",
                                                     r.welcome().protocol_version(), ", not 1")));
      } else if (config_.zstd_level > 0 && !r.welcome().accepts_zstd_events()) {
        FailLocked(absl::FailedPreconditionError(Cat(
            "the aggregator at ", config_.target, " (version \"", r.welcome().aggregator_version(),
            "\") does not accept zstd-compressed batches; ship with gzip or none")));
      } else {
        stream->welcomed = true;
        stream->welcome = r.welcome();
      }
    } else if (!r.has_ack()) {
      FailLocked(absl::InternalError("protocol violation: a second welcome from the aggregator"));
    } else if (next_to_send_ == 0 || pending_.front().sequence != r.ack().sequence()) {
      FailLocked(absl::InternalError(
          Cat("protocol violation: ack for batch ", r.ack().sequence(), ", expected ",
              next_to_send_ == 0 ? std::string("none") : Cat(pending_.front().sequence))));
    } else {
      kubetrail::v1::Ack* a = r.mutable_ack();
      const Pending& p = pending_.front();
      ack.sequence = p.sequence;
      ack.events = p.events;
      ack.stored = a->stored();
      ack.duplicates = a->duplicates();
      ack.expired = a->expired();
      ack.rejected.reserve(static_cast<size_t>(a->rejected_size()));
      for (kubetrail::v1::RejectedEvent& e : *a->mutable_rejected()) {
        ack.rejected.push_back(std::move(e));
      }
      ++stats_.acked_batches;
      stats_.acked_events += p.events;
      stats_.stored += ack.stored;
      stats_.duplicates += ack.duplicates;
      stats_.expired += ack.expired;
      stats_.rejected += ack.rejected.size();
      pending_bytes_ -= p.bytes;
      pending_.pop_front();
      --next_to_send_;
      have_ack = true;
      ++acks_in_callback_;
    }
  }
  if (have_ack) {
    if (on_ack_) on_ack_(std::move(ack));
    absl::MutexLock lock(&mu_);
    --acks_in_callback_;
  }
  MaybeStartWrite();
  // Always keep one read in flight: the stream's end (or cancellation) is seen through it.
  stream->StartRead(&stream->response);
}

void Shipper::OnStreamDone(Stream* stream, const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  stream->status = status;
  stream->done = true;
}

}  // namespace kubetrail::collector
