#include "services/collector/shipper/testing/fake_ingest_server.h"

#include <algorithm>
#include <deque>
#include <thread>
#include <utility>

#include "common/strings.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/server_context.h"
#include "kubetrail/v1/ingest.grpc.pb.h"
#include "proto/batch_codec.h"

namespace kubetrail::collector::testing {

void FakeEventStore::Put(const std::string& cluster, const std::string& source,
                         const kubetrail::v1::Batch& batch, uint32_t* stored,
                         uint32_t* duplicates) {
  *stored = 0;
  *duplicates = 0;
  absl::MutexLock lock(&mu_);
  for (const kubetrail::v1::EnvelopedEvent& e : batch.events()) {
    // Deterministic: map fields (annotations) otherwise serialize in hash order.
    std::string content;
    {
      google::protobuf::io::StringOutputStream stream(&content);
      google::protobuf::io::CodedOutputStream coded(&stream);
      coded.SetSerializationDeterministic(true);
      e.event().SerializeToCodedStream(&coded);
    }
    std::string key = Cat(cluster, std::string_view("\0", 1), source, std::string_view("\0", 1),
                          e.event().audit_id(), std::string_view("\0", 1), e.event().stage(),
                          std::string_view("\0", 1), content);
    uint64_t& times = events_[std::move(key)];
    if (times++ == 0) {
      ++*stored;
    } else {
      ++*duplicates;
      ++duplicates_;
    }
  }
}

uint64_t FakeEventStore::size() const {
  absl::MutexLock lock(&mu_);
  return events_.size();
}

uint64_t FakeEventStore::duplicates() const {
  absl::MutexLock lock(&mu_);
  return duplicates_;
}

uint64_t FakeEventStore::CountReceivedTimes(uint64_t times) const {
  absl::MutexLock lock(&mu_);
  return static_cast<uint64_t>(std::count_if(events_.begin(), events_.end(),
                                             [times](const auto& e) { return e.second == times; }));
}

class FakeIngestServer::Service final : public kubetrail::v1::Ingest::Service {
 public:
  explicit Service(FakeEventStore& store) : store_(store) {}

  grpc::Status Stream(grpc::ServerContext* context,
                      grpc::ServerReaderWriter<kubetrail::v1::IngestResponse,
                                               kubetrail::v1::IngestRequest>* rw) override {
    kubetrail::v1::IngestRequest request;
    if (!rw->Read(&request)) return grpc::Status(grpc::StatusCode::CANCELLED, "no hello");
    {
      absl::MutexLock lock(&mu_);
      ++streams_;
      if (!request.has_hello() ||
          request.hello().protocol_version() != kubetrail::v1::PROTOCOL_VERSION_1 ||
          request.hello().cluster().empty() || request.hello().source().empty()) {
        ++protocol_errors_;
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "fake: bad hello");
      }
      if (!refusal_.ok()) return refusal_;
    }
    const kubetrail::v1::Hello hello = request.hello();
    kubetrail::v1::IngestResponse welcome;
    welcome.mutable_welcome()->set_aggregator_version("fake");
    welcome.mutable_welcome()->set_protocol_version(kubetrail::v1::PROTOCOL_VERSION_1);
    {
      absl::MutexLock lock(&mu_);
      welcome.mutable_welcome()->set_max_batch_events(max_batch_events_);
      welcome.mutable_welcome()->set_accepts_zstd_events(accepts_zstd_);
    }
    if (!rw->Write(welcome)) return grpc::Status(grpc::StatusCode::CANCELLED, "gone");

    // State of this stream, guarded by mu_: acks queued by the reader for the ack thread.
    std::deque<kubetrail::v1::IngestResponse> acks;
    int received = 0;
    int acked = 0;
    bool reader_done = false;
    bool abort = false;
    std::thread acker([&] {
      while (true) {
        kubetrail::v1::IngestResponse ack;
        absl::Duration delay;
        {
          absl::MutexLock lock(&mu_);
          auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
            return abort || (!acks.empty() && (!hold_acks_ || reader_done)) ||
                   (reader_done && acks.empty());
          };
          mu_.Await(absl::Condition(&ready));
          if (abort || acks.empty()) return;
          ack = std::move(acks.front());
          acks.pop_front();
          ++acked;  // counted before it is written: the client cannot see it any earlier
          ++acks_sent_;
          delay = ack_delay_;
        }
        if (delay > absl::ZeroDuration()) absl::SleepFor(delay);
        if (!rw->Write(ack)) return;
      }
    });

    bool broken = false;
    bool have_sequence = false;
    uint64_t last_sequence = 0;
    grpc::Status end = grpc::Status::OK;
    while (rw->Read(&request)) {
      if (!request.has_batch() || (have_sequence && request.batch().sequence() <= last_sequence)) {
        absl::MutexLock lock(&mu_);
        ++protocol_errors_;
        end = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "fake: bad batch");
        broken = true;
        break;
      }
      if (!request.batch().zstd_events().empty()) {
        absl::MutexLock lock(&mu_);
        if (!accepts_zstd_ || !InflateBatchEvents(*request.mutable_batch(), size_t{1} << 30).ok()) {
          ++protocol_errors_;
          end = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "fake: bad zstd_events");
          broken = true;
          break;
        }
        ++zstd_batches_received_;
      }
      have_sequence = true;
      last_sequence = request.batch().sequence();
      kubetrail::v1::IngestResponse response;
      kubetrail::v1::Ack* ack = response.mutable_ack();
      ack->set_sequence(last_sequence);
      ack->set_committed_sequence(last_sequence);
      uint32_t stored = 0;
      uint32_t duplicates = 0;
      store_.Put(hello.cluster(), hello.source(), request.batch(), &stored, &duplicates);
      ack->set_stored(stored);
      ack->set_duplicates(duplicates);
      absl::MutexLock lock(&mu_);
      ++batches_received_;
      ++received;
      max_outstanding_ = std::max(max_outstanding_, received - acked);
      if (break_after_ > 0 && --break_after_ == 0) {
        end = grpc::Status(grpc::StatusCode::UNAVAILABLE, "fake: stream broken on purpose");
        broken = true;
        break;
      }
      acks.push_back(std::move(response));
    }
    {
      absl::MutexLock lock(&mu_);
      reader_done = true;
      if (broken || context->IsCancelled()) abort = true;
    }
    acker.join();
    return end;
  }

  mutable absl::Mutex mu_;
  FakeEventStore& store_;
  int streams_ ABSL_GUARDED_BY(mu_) = 0;
  int batches_received_ ABSL_GUARDED_BY(mu_) = 0;
  int acks_sent_ ABSL_GUARDED_BY(mu_) = 0;
  int max_outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  int protocol_errors_ ABSL_GUARDED_BY(mu_) = 0;
  int break_after_ ABSL_GUARDED_BY(mu_) = 0;
  bool hold_acks_ ABSL_GUARDED_BY(mu_) = false;
  absl::Duration ack_delay_ ABSL_GUARDED_BY(mu_);
  grpc::Status refusal_ ABSL_GUARDED_BY(mu_);
  uint32_t max_batch_events_ ABSL_GUARDED_BY(mu_) = 0;
  bool accepts_zstd_ ABSL_GUARDED_BY(mu_) = true;
  int zstd_batches_received_ ABSL_GUARDED_BY(mu_) = 0;
};

FakeIngestServer::FakeIngestServer(FakeEventStore& store)
    : service_(std::make_unique<Service>(store)) {}

absl::StatusOr<std::unique_ptr<FakeIngestServer>> FakeIngestServer::Start(FakeEventStore& store,
                                                                          int port) {
  std::unique_ptr<FakeIngestServer> server(new FakeIngestServer(store));
  grpc::ServerBuilder builder;
  builder.AddListeningPort(Cat("127.0.0.1:", port), grpc::InsecureServerCredentials(),
                           &server->port_);
  builder.RegisterService(server->service_.get());
  // Keepalive as the aggregator configures it: permit the shipper's pings every 30 s, also
  // without a stream.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 30000);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(Cat("cannot listen on 127.0.0.1:", port));
  }
  return server;
}

FakeIngestServer::~FakeIngestServer() { Stop(); }

void FakeIngestServer::Stop(absl::Duration grace) {
  absl::MutexLock lock(&stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
}

std::string FakeIngestServer::target() const { return Cat("127.0.0.1:", port_); }

void FakeIngestServer::BreakAfterBatches(int n) {
  absl::MutexLock lock(&service_->mu_);
  service_->break_after_ = n;
}

void FakeIngestServer::HoldAcks(bool hold) {
  absl::MutexLock lock(&service_->mu_);
  service_->hold_acks_ = hold;
}

void FakeIngestServer::SetAckDelay(absl::Duration delay) {
  absl::MutexLock lock(&service_->mu_);
  service_->ack_delay_ = delay;
}

void FakeIngestServer::RefuseHello(grpc::Status status) {
  absl::MutexLock lock(&service_->mu_);
  service_->refusal_ = std::move(status);
}

void FakeIngestServer::SetMaxBatchEvents(uint32_t max) {
  absl::MutexLock lock(&service_->mu_);
  service_->max_batch_events_ = max;
}

int FakeIngestServer::streams() const {
  absl::MutexLock lock(&service_->mu_);
  return service_->streams_;
}

void FakeIngestServer::SetAcceptsZstd(bool accepts) {
  absl::MutexLock lock(&service_->mu_);
  service_->accepts_zstd_ = accepts;
}

int FakeIngestServer::zstd_batches_received() const {
  absl::MutexLock lock(&service_->mu_);
  return service_->zstd_batches_received_;
}

int FakeIngestServer::batches_received() const {
  absl::MutexLock lock(&service_->mu_);
  return service_->batches_received_;
}

int FakeIngestServer::acks_sent() const {
  absl::MutexLock lock(&service_->mu_);
  return service_->acks_sent_;
}

int FakeIngestServer::max_outstanding() const {
  absl::MutexLock lock(&service_->mu_);
  return service_->max_outstanding_;
}

int FakeIngestServer::protocol_errors() const {
  absl::MutexLock lock(&service_->mu_);
  return service_->protocol_errors_;
}

bool FakeIngestServer::WaitForBatchesReceived(int n, absl::Duration timeout) const {
  absl::MutexLock lock(&service_->mu_);
  auto reached = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(service_->mu_) {
    return service_->batches_received_ >= n;
  };
  return service_->mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
}

}  // namespace kubetrail::collector::testing
