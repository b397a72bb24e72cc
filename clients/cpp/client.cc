#include "kubetrail/client.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/grpc_status.h"
#include "common/tls.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "grpcpp/support/channel_arguments.h"

namespace kubetrail {

namespace v1 = kubetrail::v1;

absl::Status ValidateClientOptions(const ClientOptions& options) {
  if (options.server.empty()) return absl::InvalidArgumentError("server (--server): empty address");
  if (options.plaintext && (!options.ca_file.empty() || !options.cert_file.empty() ||
                            !options.key_file.empty() || !options.server_name.empty())) {
    return absl::InvalidArgumentError(
        "plaintext (--dev) excludes the TLS settings --tls-ca, --tls-cert, --tls-key and "
        "--tls-server-name");
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError("the client certificate and key (--tls-cert, --tls-key) go together");
  }
  for (const char c : options.token) {
    // An HTTP/2 header value; a space would split "Bearer <token>" in two.
    if (c <= ' ' || c > '~') {
      return absl::InvalidArgumentError("token (--token, $KUBETRAIL_TOKEN): must be printable ASCII without spaces");
    }
  }
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("timeout (--timeout): must be positive");
  }
  return absl::OkStatus();
}

absl::StatusOr<Client> Client::Connect(const ClientOptions& options) {
  if (absl::Status s = ValidateClientOptions(options); !s.ok()) return s;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxReceiveMessageBytes);
  if (options.plaintext) {
    return Client(grpc::CreateCustomChannel(options.server, grpc::InsecureChannelCredentials(),
                                            args),
                  options);
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      CreateTlsChannel(options.server,
                       ClientTlsConfig{.ca_file = options.ca_file,
                                       .cert_file = options.cert_file,
                                       .key_file = options.key_file,
                                       .server_name = options.server_name},
                       std::move(args));
  if (!channel.ok()) return channel.status();
  return Client(*std::move(channel), options);
}

Client Client::FromChannel(std::shared_ptr<grpc::ChannelInterface> channel,
                           const ClientOptions& options) {
  return Client(std::move(channel), options);
}

Client::Client(std::shared_ptr<grpc::ChannelInterface> channel, const ClientOptions& options)
    : options_(options),
      channel_(std::move(channel)),
      query_(v1::Query::NewStub(channel_)),
      admin_(v1::Admin::NewStub(channel_)) {}

Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
Client::~Client() = default;

void Client::Prepare(grpc::ClientContext* context, std::optional<absl::Duration> timeout) const {
  const absl::Duration limit = timeout.value_or(options_.timeout);
  if (limit != absl::InfiniteDuration()) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + limit));
  }
  if (!options_.token.empty()) context->AddMetadata("authorization", "Bearer " + options_.token);
}

// ---- Search ----

// One page's call: its context must outlive its reader.
struct SearchIterator::Page {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::SearchResponse>> reader;
  bool last_seen = false;
};

SearchIterator Client::Search(const v1::Filter& filter, SearchOptions options) const {
  v1::SearchRequest request;
  *request.mutable_filter() = filter;
  request.set_order(options.order);
  request.set_cursor(std::move(options.cursor));
  SearchIterator it(this, std::move(request), options.limit);
  it.page_size_ = options.page_size;
  return it;
}

SearchIterator::SearchIterator(const Client* client, v1::SearchRequest request, uint64_t limit)
    : client_(client), request_(std::move(request)), limit_(limit) {}
SearchIterator::SearchIterator(SearchIterator&&) noexcept = default;
SearchIterator& SearchIterator::operator=(SearchIterator&&) noexcept = default;

SearchIterator::~SearchIterator() {
  if (page_ != nullptr) {
    // Abandoned mid-page: tell the server, then collect the call's status.
    page_->context.TryCancel();
    (void)page_->reader->Finish();
  }
}

const v1::StoredEvent& SearchIterator::event() const { return chunk_.events(index_); }

bool SearchIterator::Fail(absl::Status status) {
  status_ = std::move(status);
  done_ = true;
  return false;
}

bool SearchIterator::StartPage() {
  if (page_size_ < 1 || page_size_ > kMaxPageSize) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("page size must be 1-", kMaxPageSize, ", got ", page_size_)));
  }
  uint64_t page = static_cast<uint64_t>(page_size_);
  if (limit_ != 0) page = std::min(page, limit_ - returned_);
  request_.set_limit(static_cast<int32_t>(page));
  page_ = std::make_unique<Page>();
  client_->Prepare(&page_->context);
  page_->reader = client_->query_->Search(&page_->context, request_);
  return true;
}

bool SearchIterator::Next() {
  while (!done_) {
    if (index_ + 1 < chunk_.events_size()) {
      if (limit_ != 0 && returned_ == limit_) break;
      ++index_;
      ++returned_;
      return true;
    }
    chunk_.Clear();
    index_ = -1;
    if (page_ == nullptr && !StartPage()) return false;
    if (page_->reader->Read(&chunk_)) {
      if (chunk_.last()) {
        page_->last_seen = true;
        more_ = chunk_.more();
        cursor_ = chunk_.cursor();
      }
      continue;
    }
    const bool last_seen = page_->last_seen;
    const grpc::Status status = page_->reader->Finish();
    page_.reset();
    if (!status.ok()) return Fail(FromGrpcStatus(status));
    if (!last_seen) return Fail(absl::InternalError("the page ended without its last chunk"));
    if (!more_ || (limit_ != 0 && returned_ >= limit_)) break;
    if (cursor_.empty()) {
      // Without this the loop would ask for the same page forever.
      return Fail(absl::InternalError("the server said more events match but sent no cursor"));
    }
    request_.set_cursor(cursor_);
  }
  done_ = true;
  return false;
}

// ---- unary calls ----

namespace {

// One unary call: a fresh context from `prepare`, `call(context, &response)`, the status
// converted.
template <typename Response, typename Call>
absl::StatusOr<Response> CallUnary(const std::function<void(grpc::ClientContext*)>& prepare,
                                   Call&& call) {
  Response response;
  grpc::ClientContext context;
  prepare(&context);
  if (absl::Status s = FromGrpcStatus(call(&context, &response)); !s.ok()) return s;
  return response;
}

template <typename T>
std::vector<T> TakeAll(google::protobuf::RepeatedPtrField<T>* items) {
  return std::vector<T>(std::make_move_iterator(items->begin()),
                        std::make_move_iterator(items->end()));
}

}  // namespace

absl::StatusOr<std::vector<v1::StoredEvent>> Client::Get(const std::string& audit_id) const {
  v1::GetRequest request;
  request.set_audit_id(audit_id);
  absl::StatusOr<v1::GetResponse> response = CallUnary<v1::GetResponse>(
      [this](grpc::ClientContext* c) { Prepare(c); },
      [&](grpc::ClientContext* c, v1::GetResponse* r) { return query_->Get(c, request, r); });
  if (!response.ok()) return response.status();
  return TakeAll(response->mutable_events());
}

absl::StatusOr<uint64_t> Client::Count(const v1::Filter& filter) const {
  v1::CountRequest request;
  *request.mutable_filter() = filter;
  absl::StatusOr<v1::CountResponse> response = CallUnary<v1::CountResponse>(
      [this](grpc::ClientContext* c) { Prepare(c); },
      [&](grpc::ClientContext* c, v1::CountResponse* r) { return query_->Count(c, request, r); });
  if (!response.ok()) return response.status();
  return response->count();
}

absl::StatusOr<std::vector<v1::KeyCount>> Client::Top(const v1::Filter& filter,
                                                       v1::Dimension dimension,
                                                       int limit) const {
  v1::TopRequest request;
  *request.mutable_filter() = filter;
  request.set_dimension(dimension);
  request.set_limit(limit);
  absl::StatusOr<v1::TopResponse> response = CallUnary<v1::TopResponse>(
      [this](grpc::ClientContext* c) { Prepare(c); },
      [&](grpc::ClientContext* c, v1::TopResponse* r) { return query_->Top(c, request, r); });
  if (!response.ok()) return response.status();
  return TakeAll(response->mutable_entries());
}

absl::StatusOr<v1::HistogramResponse> Client::Histogram(const v1::Filter& filter,
                                                        v1::Granularity granularity,
                                                        v1::Dimension by) const {
  v1::HistogramRequest request;
  *request.mutable_filter() = filter;
  request.set_granularity(granularity);
  request.set_by(by);
  return CallUnary<v1::HistogramResponse>(
      [this](grpc::ClientContext* c) { Prepare(c); },
      [&](grpc::ClientContext* c, v1::HistogramResponse* r) {
        return query_->Histogram(c, request, r);
      });
}

absl::StatusOr<v1::StatsResponse> Client::Stats() const {
  return CallUnary<v1::StatsResponse>(
      [this](grpc::ClientContext* c) { Prepare(c); },
      [&](grpc::ClientContext* c, v1::StatsResponse* r) {
        return admin_->Stats(c, v1::StatsRequest(), r);
      });
}

absl::StatusOr<std::vector<v1::RetentionSetting>> Client::ListRetention() const {
  absl::StatusOr<v1::ListRetentionResponse> response = CallUnary<v1::ListRetentionResponse>(
      [this](grpc::ClientContext* c) { Prepare(c); },
      [&](grpc::ClientContext* c, v1::ListRetentionResponse* r) {
        return admin_->ListRetention(c, v1::ListRetentionRequest(), r);
      });
  if (!response.ok()) return response.status();
  return TakeAll(response->mutable_settings());
}

absl::StatusOr<std::vector<v1::RetentionSetting>> Client::SetRetention(const std::string& cluster,
                                                                       int64_t keep_us) const {
  v1::SetRetentionRequest request;
  request.set_cluster(cluster);
  request.set_keep_us(keep_us);
  absl::StatusOr<v1::SetRetentionResponse> response =
      CallUnary<v1::SetRetentionResponse>([this](grpc::ClientContext* c) { Prepare(c); },
                                          [&](grpc::ClientContext* c, v1::SetRetentionResponse* r) {
                                            return admin_->SetRetention(c, request, r);
                                          });
  if (!response.ok()) return response.status();
  return TakeAll(response->mutable_settings());
}

absl::StatusOr<v1::LegalHold> Client::PlaceHold(const v1::PlaceHoldRequest& request) const {
  absl::StatusOr<v1::PlaceHoldResponse> response =
      CallUnary<v1::PlaceHoldResponse>([this](grpc::ClientContext* c) { Prepare(c); },
                                       [&](grpc::ClientContext* c, v1::PlaceHoldResponse* r) {
                                         return admin_->PlaceHold(c, request, r);
                                       });
  if (!response.ok()) return response.status();
  return std::move(*response->mutable_hold());
}

absl::StatusOr<std::vector<v1::LegalHold>> Client::ListHolds() const {
  absl::StatusOr<v1::ListHoldsResponse> response =
      CallUnary<v1::ListHoldsResponse>([this](grpc::ClientContext* c) { Prepare(c); },
                                       [&](grpc::ClientContext* c, v1::ListHoldsResponse* r) {
                                         return admin_->ListHolds(c, v1::ListHoldsRequest(), r);
                                       });
  if (!response.ok()) return response.status();
  return TakeAll(response->mutable_holds());
}

absl::Status Client::ReleaseHold(const std::string& id) const {
  v1::ReleaseHoldRequest request;
  request.set_id(id);
  return CallUnary<v1::ReleaseHoldResponse>(
             [this](grpc::ClientContext* c) { Prepare(c); },
             [&](grpc::ClientContext* c, v1::ReleaseHoldResponse* r) {
               return admin_->ReleaseHold(c, request, r);
             })
      .status();
}

absl::StatusOr<std::string> Client::Health() const {
  std::unique_ptr<grpc::health::v1::Health::Stub> health =
      grpc::health::v1::Health::NewStub(channel_);
  absl::StatusOr<grpc::health::v1::HealthCheckResponse> response =
      CallUnary<grpc::health::v1::HealthCheckResponse>(
          [this](grpc::ClientContext* c) { Prepare(c); },
          [&](grpc::ClientContext* c, grpc::health::v1::HealthCheckResponse* r) {
            return health->Check(c, grpc::health::v1::HealthCheckRequest(), r);
          });
  if (!response.ok()) return response.status();
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response->status());
}

// ---- Follow ----

std::unique_ptr<FollowStream> Client::Follow(const v1::Filter& filter,
                                             const FollowOptions& options) const {
  std::unique_ptr<FollowStream> stream(new FollowStream());
  if (!options.cursor.empty() && options.after_sequence.has_value()) {
    stream->status_ =
        absl::InvalidArgumentError("a follow starts from a cursor or a sequence, not both");
    return stream;
  }
  if (options.timeout <= absl::ZeroDuration()) {
    stream->status_ = absl::InvalidArgumentError("follow timeout: must be positive");
    return stream;
  }
  v1::FollowRequest request;
  *request.mutable_filter() = filter;
  request.set_cursor(options.cursor);
  if (options.after_sequence.has_value()) request.set_after_sequence(*options.after_sequence);
  Prepare(&stream->context_, options.timeout);
  stream->reader_ = query_->Follow(&stream->context_, request);
  return stream;
}

absl::Status Client::Follow(
    const v1::Filter& filter, const FollowOptions& options,
    const std::function<bool(const v1::FollowResponse&)>& on_response) const {
  std::unique_ptr<FollowStream> stream = Follow(filter, options);
  v1::FollowResponse response;
  while (stream->Next(&response)) {
    if (!on_response(response)) {
      stream->Cancel();
      (void)stream->status();
      return absl::OkStatus();
    }
  }
  return stream->status();
}

FollowStream::~FollowStream() {
  if (reader_ != nullptr && !status_.has_value()) {
    context_.TryCancel();
    (void)reader_->Finish();
  }
}

bool FollowStream::Next(v1::FollowResponse* response) {
  if (status_.has_value() || reader_ == nullptr) return false;
  if (!reader_->Read(response)) {
    read_ended_ = true;
    (void)status();
    return false;
  }
  last_sequence_ = std::max(last_sequence_, response->last_sequence());
  return true;
}

void FollowStream::Cancel() { context_.TryCancel(); }

absl::Status FollowStream::status() {
  if (!status_.has_value()) {
    if (reader_ == nullptr) return absl::OkStatus();
    // Finish blocks until the server has ended the call: cancel first if it is still going.
    // Not after the reads ended: a cancel then could replace the server's own status.
    if (!read_ended_) context_.TryCancel();
    status_ = FromGrpcStatus(reader_->Finish());
  }
  return *status_;
}

}  // namespace kubetrail
