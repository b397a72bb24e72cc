#include "services/aggregator/testing/ingest_client.h"

#include "absl/time/clock.h"
#include "bench/loadgen/generator.h"

namespace kubetrail::aggregator::testing {

namespace v1 = ::kubetrail::v1;

std::vector<v1::EnvelopedEvent> Events(int n, uint64_t seed, int64_t start_us) {
  loadgen::Generator gen(seed, start_us);
  std::vector<v1::EnvelopedEvent> out(n);
  for (auto& e : out) gen.Next(e.mutable_event());
  return out;
}

std::unique_ptr<grpc::ClientContext> Ctx(absl::Duration timeout) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return ctx;
}

IngestClient::IngestClient(const std::shared_ptr<grpc::Channel>& channel,
                           const std::string& cluster, const std::string& source,
                           absl::Duration timeout)
    : stub_(v1::Ingest::NewStub(channel)), ctx_(Ctx(timeout)), stream_(stub_->Stream(ctx_.get())) {
  v1::IngestRequest hello;
  hello.mutable_hello()->set_cluster(cluster);
  hello.mutable_hello()->set_source(source);
  hello.mutable_hello()->set_protocol_version(v1::PROTOCOL_VERSION_1);
  stream_->Write(hello);
}

std::optional<v1::Welcome> IngestClient::Welcome() {
  v1::IngestResponse r;
  if (!stream_->Read(&r)) return std::nullopt;
  return r.welcome();
}

bool IngestClient::Send(uint64_t sequence, const std::vector<v1::EnvelopedEvent>& events) {
  v1::IngestRequest req;
  req.mutable_batch()->set_sequence(sequence);
  req.mutable_batch()->mutable_events()->Reserve(static_cast<int>(events.size()));
  for (const auto& e : events) *req.mutable_batch()->add_events() = e;
  return stream_->Write(req);
}

bool IngestClient::Send(const v1::Batch& batch) {
  v1::IngestRequest req;
  *req.mutable_batch() = batch;
  return stream_->Write(req);
}

std::optional<v1::Ack> IngestClient::ReadAck() {
  v1::IngestResponse r;
  if (!stream_->Read(&r)) return std::nullopt;
  return r.ack();
}

grpc::Status IngestClient::Close() {
  stream_->WritesDone();
  return Finish();
}

grpc::Status IngestClient::Finish() {
  v1::IngestResponse r;
  while (stream_->Read(&r)) {
  }
  return stream_->Finish();
}

}  // namespace kubetrail::aggregator::testing
