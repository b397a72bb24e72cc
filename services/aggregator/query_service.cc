#include "services/aggregator/query_service.h"

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/grpc_status.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "services/aggregator/convert.h"
#include "services/aggregator/unary_call.h"
#include "storage/filter.h"

namespace kubetrail::aggregator {

namespace v1 = ::kubetrail::v1;

namespace {

using SteadyClock = std::chrono::steady_clock;

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

// DeadlineExceeded / Cancelled when the call is already over, before store work starts.
absl::Status CallAlive(grpc::CallbackServerContext* context) {
  if (context->IsCancelled()) return absl::CancelledError("the call was cancelled");
  if (std::chrono::system_clock::now() >= context->deadline()) {
    return absl::DeadlineExceededError("the deadline passed before the query ran");
  }
  return absl::OkStatus();
}

// The store's filter for a call's `filter`: a store scan gives up with the call, at its
// deadline or when the client goes away (storage::QueryStop).
storage::Filter CallFilter(const v1::Filter& filter, grpc::CallbackServerContext* context) {
  storage::Filter f = FromProto(filter);
  f.stop.deadline = absl::FromChrono(context->deadline());
  f.stop.cancelled = [context] { return context->IsCancelled(); };
  return f;
}

absl::Status Overloaded() {
  return absl::ResourceExhaustedError("too many queries are waiting; retry with backoff");
}

constexpr int kMaxTop = 10'000;
constexpr int64_t kMaxHistogramBuckets = 100'000;

}  // namespace

QueryService::QueryService(storage::EventStore& store, Executor& executor, FollowHub& follow,
                           const Authorizer& authorizer, Metrics& metrics, Options options)
    : store_(store),
      executor_(executor),
      follow_(follow),
      authorizer_(authorizer),
      metrics_(metrics),
      options_(options) {}

absl::Status QueryService::CheckResponseSize(const google::protobuf::MessageLite& response,
                                             std::string_view what) const {
  const size_t bytes = response.ByteSizeLong();
  if (bytes <= options_.max_response_bytes) return absl::OkStatus();
  return absl::ResourceExhaustedError(
      absl::StrCat("the answer would be ", bytes, " bytes, over the ", options_.max_response_bytes,
                   "-byte limit of one message (limits.max_message_bytes): ", ToAbsl(what)));
}

grpc::ServerUnaryReactor* QueryService::Get(grpc::CallbackServerContext* context,
                                            const v1::GetRequest* request,
                                            v1::GetResponse* response) {
  return RunUnaryCall(context, executor_, metrics_, "Get", authorizer_.CheckQuery(*context),
                      [this, request, response]() -> absl::Status {
                        if (request->audit_id().empty())
                          return absl::InvalidArgumentError("audit_id is empty");
                        KT_ASSIGN_OR_RETURN(std::vector<storage::StoredEvent> events,
                                            store_.Get(request->audit_id()));
                        for (storage::StoredEvent& e : events)
                          ToProto(std::move(e), *response->add_events());
                        return CheckResponseSize(
                            *response,
                            absl::StrCat("the ", response->events_size(),
                                         " events of this auditID; page through them with "
                                         "Search and filter.audit_ids"));
                      });
}

grpc::ServerUnaryReactor* QueryService::Count(grpc::CallbackServerContext* context,
                                              const v1::CountRequest* request,
                                              v1::CountResponse* response) {
  return RunUnaryCall(context, executor_, metrics_, "Count", authorizer_.CheckQuery(*context),
                      [this, context, request, response]() -> absl::Status {
                        KT_ASSIGN_OR_RETURN(uint64_t count,
                                            store_.Count(CallFilter(request->filter(), context)));
                        response->set_count(count);
                        return absl::OkStatus();
                      });
}

grpc::ServerUnaryReactor* QueryService::Top(grpc::CallbackServerContext* context,
                                            const v1::TopRequest* request,
                                            v1::TopResponse* response) {
  return RunUnaryCall(
      context, executor_, metrics_, "Top", authorizer_.CheckQuery(*context),
      [this, context, request, response]() -> absl::Status {
        const int limit = request->limit() == 0 ? 10 : request->limit();
        if (limit < 1 || limit > kMaxTop) {
          return absl::InvalidArgumentError(
              absl::StrCat("limit must be 1-", kMaxTop, " (0 means 10), got ", request->limit()));
        }
        KT_ASSIGN_OR_RETURN(storage::Dimension dimension, FromProto(request->dimension()));
        KT_ASSIGN_OR_RETURN(std::vector<storage::KeyCount> top,
                            store_.Top(CallFilter(request->filter(), context), dimension, limit));
        for (storage::KeyCount& kc : top) {
          v1::KeyCount* out = response->add_entries();
          out->set_key(std::move(kc.key));
          out->set_count(kc.count);
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* QueryService::Histogram(grpc::CallbackServerContext* context,
                                                  const v1::HistogramRequest* request,
                                                  v1::HistogramResponse* response) {
  return RunUnaryCall(
      context, executor_, metrics_, "Histogram", authorizer_.CheckQuery(*context),
      [this, context, request, response]() -> absl::Status {
        const v1::Filter& filter = request->filter();
        if (!filter.has_from_us() || !filter.has_to_us()) {
          return absl::InvalidArgumentError("a histogram needs filter.from_us and filter.to_us");
        }
        KT_ASSIGN_OR_RETURN(storage::Granularity granularity, FromProto(request->granularity()));
        const int64_t width = storage::GranularityMicros(granularity);
        if (filter.to_us() > filter.from_us() &&
            (filter.to_us() - filter.from_us()) / width > kMaxHistogramBuckets) {
          return absl::InvalidArgumentError(absl::StrCat("the time range spans more than ",
                                                         kMaxHistogramBuckets,
                                                         " buckets; choose a coarser granularity"));
        }
        std::optional<storage::Dimension> by;
        if (request->by() != v1::DIMENSION_UNSPECIFIED) {
          KT_ASSIGN_OR_RETURN(by, FromProto(request->by()));
        }
        KT_ASSIGN_OR_RETURN(std::vector<storage::HistogramBucket> buckets,
                            store_.Histogram(CallFilter(filter, context), granularity, by));
        size_t keys = 0;
        for (storage::HistogramBucket& b : buckets) {
          v1::HistogramBucket* out = response->add_buckets();
          out->set_start_us(b.start_us);
          out->set_count(b.count);
          keys += b.by_key.size();
          for (storage::KeyCount& kc : b.by_key) {
            v1::KeyCount* k = out->add_by_key();
            k->set_key(std::move(kc.key));
            k->set_count(kc.count);
          }
        }
        return CheckResponseSize(
            *response,
            absl::StrCat("a histogram of ", response->buckets_size(), " buckets and ", keys,
                         " keys; narrow the filter or the time range, or choose "
                         "a coarser granularity or no `by`"));
      });
}

// One Search call: reads the page from the store in chunks on the executor and writes each
// chunk; the next chunk is read after the previous write completed (one write in flight). The
// last chunk goes out with the status (StartWriteAndFinish).
class SearchReactor final : public grpc::ServerWriteReactor<v1::SearchResponse> {
 public:
  SearchReactor(QueryService& service, grpc::CallbackServerContext* context,
                const v1::SearchRequest& request)
      : service_(service), context_(context), start_(SteadyClock::now()) {
    if (absl::Status s = service_.authorizer_.CheckQuery(*context); !s.ok()) {
      End(s);
      return;
    }
    remaining_ = request.limit() == 0 ? 100 : request.limit();
    if (request.limit() < 0 || request.limit() > storage::kMaxSearchLimit) {
      End(absl::InvalidArgumentError(absl::StrCat("limit must be 1-", storage::kMaxSearchLimit,
                                                  " (0 means 100), got ", request.limit())));
      return;
    }
    store_request_.filter = CallFilter(request.filter(), context);
    store_request_.order = request.order() == v1::ORDER_DESCENDING ? storage::Order::kDescending
                                                                   : storage::Order::kAscending;
    store_request_.cursor = request.cursor();
    store_request_.prefer_serialized = true;
    Schedule();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      End(absl::CancelledError("the client went away"));
    } else {
      Schedule();
    }
  }

  void OnDone() override { delete this; }

 private:
  void Schedule() {
    if (!service_.executor_.TrySubmit([this] { NextChunk(); })) End(Overloaded());
  }

  // On the executor.
  void NextChunk() {
    absl::Status status = CallAlive(context_);
    if (status.ok() && buffer_.empty() && remaining_ > 0 && store_more_) {
      store_request_.limit = std::min(remaining_, service_.options_.chunk_events);
      absl::StatusOr<storage::SearchPage> page = service_.store_.Search(store_request_);
      if (page.ok()) {
        for (storage::StoredEvent& e : page->events) buffer_.push_back(std::move(e));
        store_request_.cursor = std::move(page->cursor);
        store_more_ = page->more;
      } else {
        status = page.status();
      }
    }
    if (!status.ok()) {
      End(status);
      return;
    }
    response_.Clear();
    size_t bytes = 0;
    while (!buffer_.empty() && remaining_ > 0) {
      const size_t size = ChunkBytes(buffer_.front());
      if (bytes > 0 && bytes + size > service_.options_.max_chunk_bytes) break;
      bytes += size;
      AppendToChunk(std::move(buffer_.front()), response_);
      buffer_.pop_front();
      --remaining_;
    }
    if (buffer_.empty() && (remaining_ == 0 || !store_more_)) {
      response_.set_last(true);
      response_.set_more(store_more_);
      response_.set_cursor(store_request_.cursor);
      // The last chunk and the status in one step: the client waits for one message less.
      service_.metrics_.Query("Search", absl::StatusCode::kOk, SecondsSince(start_));
      StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
      return;
    }
    StartWrite(&response_);
  }

  void End(const absl::Status& status) {
    service_.metrics_.Query("Search", status.code(), SecondsSince(start_));
    Finish(ToGrpcStatus(status));
  }

  QueryService& service_;
  grpc::CallbackServerContext* const context_;
  const SteadyClock::time_point start_;
  // Touched by one thread at a time: the constructor, then alternately the executor (one
  // chunk) and OnWriteDone, each starting the other.
  storage::SearchRequest store_request_;
  int remaining_ = 0;
  bool store_more_ = true;
  std::deque<storage::StoredEvent> buffer_;
  v1::SearchResponse response_;
};

grpc::ServerWriteReactor<v1::SearchResponse>* QueryService::Search(
    grpc::CallbackServerContext* context, const v1::SearchRequest* request) {
  return new SearchReactor(*this, context, *request);
}

// One Follow call. The hub sends through a Sink that outlives the reactor (the hub may hold
// it a little longer), so the hub never touches a deleted reactor.
class FollowReactor final : public grpc::ServerWriteReactor<v1::FollowResponse> {
 public:
  FollowReactor(QueryService& service, grpc::CallbackServerContext* context,
                const v1::FollowRequest& request)
      : service_(service), start_(SteadyClock::now()) {
    absl::StatusOr<uint64_t> after = Start(*context, request);
    if (!after.ok()) {
      End(after.status());
      return;
    }
    sink_ = std::make_shared<Sink>(this);
    id_ = service_.follow_.Add(sink_, FromProto(request.filter()), *after);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      End(absl::CancelledError("the client went away"));
      return;
    }
    service_.follow_.Ready(id_);
  }

  void OnCancel() override { End(absl::CancelledError("the follow was cancelled")); }

  void OnDone() override {
    if (sink_ != nullptr) {
      service_.follow_.Remove(id_);
      sink_->Detach();
    }
    delete this;
  }

 private:
  class Sink final : public FollowSink {
   public:
    explicit Sink(FollowReactor* reactor) : reactor_(reactor) {}
    bool Send(v1::FollowResponse response) override {
      absl::MutexLock lock(&mu_);
      if (reactor_ == nullptr) return false;
      reactor_->response_ = std::move(response);
      reactor_->StartWrite(&reactor_->response_);
      return true;
    }
    void Close() override {
      absl::MutexLock lock(&mu_);
      if (reactor_ != nullptr) {
        reactor_->End(
            absl::UnavailableError("the aggregator is shutting down; follow again "
                                   "with after_sequence to resume"));
      }
    }
    void Detach() {
      absl::MutexLock lock(&mu_);
      reactor_ = nullptr;
    }

   private:
    absl::Mutex mu_;
    FollowReactor* reactor_ ABSL_GUARDED_BY(mu_);
  };

  // Where the follow starts: the sequence after which events are sent.
  absl::StatusOr<uint64_t> Start(const grpc::CallbackServerContext& context,
                                 const v1::FollowRequest& request) {
    KT_RETURN_IF_ERROR(service_.authorizer_.CheckQuery(context));
    KT_RETURN_IF_ERROR(storage::CompileFilter(FromProto(request.filter())).status());
    if (!request.cursor().empty() && request.has_after_sequence()) {
      return absl::InvalidArgumentError("set cursor or after_sequence, not both");
    }
    if (!request.cursor().empty()) return storage::SnapshotSequence(request.cursor());
    if (request.has_after_sequence()) return request.after_sequence();
    return service_.store_.LastSequence();
  }

  void End(const absl::Status& status) {
    absl::MutexLock lock(&end_mu_);
    if (ended_) return;
    ended_ = true;
    service_.metrics_.Query("Follow", status.code(), SecondsSince(start_));
    Finish(ToGrpcStatus(status));
  }

  QueryService& service_;
  const SteadyClock::time_point start_;
  std::shared_ptr<Sink> sink_;
  uint64_t id_ = 0;
  v1::FollowResponse response_;  // the write in flight
  absl::Mutex end_mu_;
  bool ended_ ABSL_GUARDED_BY(end_mu_) = false;
};

grpc::ServerWriteReactor<v1::FollowResponse>* QueryService::Follow(
    grpc::CallbackServerContext* context, const v1::FollowRequest* request) {
  return new FollowReactor(*this, context, *request);
}

}  // namespace kubetrail::aggregator
