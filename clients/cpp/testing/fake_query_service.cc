#include "clients/cpp/testing/fake_query_service.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kubetrail::client_testing {

namespace v1 = kubetrail::v1;

FakeQueryService::FakeQueryService(std::vector<v1::StoredEvent> events)
    : events_(std::move(events)) {}

grpc::Status FakeQueryService::Record(grpc::ServerContext* context, std::string method,
                                      const v1::Filter& filter,
                                      const v1::SearchRequest* search) {
  Call call;
  call.method = std::move(method);
  call.filter = filter;
  if (search != nullptr) call.request = *search;
  const absl::Time deadline = absl::FromChrono(context->deadline());
  call.deadline_in = deadline >= absl::Now() + absl::Hours(24 * 365)
                         ? absl::InfiniteDuration()
                         : deadline - absl::Now();
  for (const auto& [key, value] : context->client_metadata()) {
    if (key == "authorization") call.authorization.assign(value.data(), value.size());
  }
  absl::MutexLock lock(&mu_);
  calls_.push_back(std::move(call));
  return error_;
}

grpc::Status FakeQueryService::Search(grpc::ServerContext* context,
                                      const v1::SearchRequest* request,
                                      grpc::ServerWriter<v1::SearchResponse>* writer) {
  if (grpc::Status error = Record(context, "Search", request->filter(), request); !error.ok()) {
    return error;
  }
  bool omit_last = false;
  bool stall = false;
  {
    absl::MutexLock lock(&mu_);
    if (searches_left_ == 0) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "went away");
    if (searches_left_ > 0) --searches_left_;
    omit_last = omit_last_;
    stall = stall_;
  }
  if (stall) {
    // Until the client gives up (its deadline), at most 30 s.
    const absl::Time give_up = absl::Now() + absl::Seconds(30);
    while (!context->IsCancelled() && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    return grpc::Status(grpc::StatusCode::INTERNAL, "the client did not give up");
  }
  std::vector<v1::StoredEvent> ordered = events_;
  if (request->order() == v1::ORDER_DESCENDING) std::reverse(ordered.begin(), ordered.end());
  const size_t begin = request->cursor().empty() ? 0 : std::stoul(request->cursor());
  const size_t end = std::min(ordered.size(), begin + static_cast<size_t>(request->limit()));
  size_t i = begin;
  do {
    v1::SearchResponse response;
    for (int n = 0; n < chunk_events_ && i < end; ++n, ++i) *response.add_events() = ordered[i];
    if (i == end && !omit_last) {
      response.set_last(true);
      response.set_more(end < ordered.size());
      response.set_cursor(std::to_string(end));
    }
    writer->Write(response);
  } while (i < end);
  return grpc::Status::OK;
}

grpc::Status FakeQueryService::Get(grpc::ServerContext* context,
                                   const v1::GetRequest* request, v1::GetResponse* response) {
  if (grpc::Status error = Record(context, "Get", v1::Filter(), nullptr); !error.ok()) {
    return error;
  }
  for (const v1::StoredEvent& event : events_) {
    if (event.event().event().audit_id() == request->audit_id()) *response->add_events() = event;
  }
  if (response->events().empty()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "no event with auditID " +
                                                         request->audit_id());
  }
  return grpc::Status::OK;
}

grpc::Status FakeQueryService::Count(grpc::ServerContext* context,
                                     const v1::CountRequest* request,
                                     v1::CountResponse* response) {
  if (grpc::Status error = Record(context, "Count", request->filter(), nullptr); !error.ok()) {
    return error;
  }
  response->set_count(events_.size());
  return grpc::Status::OK;
}

grpc::Status FakeQueryService::Top(grpc::ServerContext* context, const v1::TopRequest* request,
                                   v1::TopResponse* response) {
  if (grpc::Status error = Record(context, "Top", request->filter(), nullptr); !error.ok()) {
    return error;
  }
  absl::MutexLock lock(&mu_);
  *response = top_;
  return grpc::Status::OK;
}

grpc::Status FakeQueryService::Histogram(grpc::ServerContext* context,
                                         const v1::HistogramRequest* request,
                                         v1::HistogramResponse* response) {
  if (grpc::Status error = Record(context, "Histogram", request->filter(), nullptr);
      !error.ok()) {
    return error;
  }
  absl::MutexLock lock(&mu_);
  *response = histogram_;
  return grpc::Status::OK;
}

grpc::Status FakeQueryService::Follow(grpc::ServerContext* context,
                                      const v1::FollowRequest* request,
                                      grpc::ServerWriter<v1::FollowResponse>* writer) {
  if (grpc::Status error = Record(context, "Follow", request->filter(), nullptr); !error.ok()) {
    return error;
  }
  uint64_t after = request->has_after_sequence() ? request->after_sequence() : 0;
  if (!request->has_after_sequence()) {
    absl::MutexLock lock(&mu_);
    for (const v1::StoredEvent& event : follow_events_) after = std::max(after, event.sequence());
  }
  while (!context->IsCancelled()) {
    v1::FollowResponse response;
    {
      absl::MutexLock lock(&mu_);
      for (const v1::StoredEvent& event : follow_events_) {
        if (event.sequence() > after) *response.add_events() = event;
      }
    }
    for (const v1::StoredEvent& event : response.events()) {
      after = std::max(after, event.sequence());
    }
    response.set_last_sequence(after);
    if (!writer->Write(response)) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return grpc::Status::OK;
}

void FakeQueryService::FailWith(grpc::Status status) {
  absl::MutexLock lock(&mu_);
  error_ = std::move(status);
}

void FakeQueryService::FailSearchAfter(int n) {
  absl::MutexLock lock(&mu_);
  searches_left_ = n;
}

void FakeQueryService::OmitLastChunk() {
  absl::MutexLock lock(&mu_);
  omit_last_ = true;
}

void FakeQueryService::Stall() {
  absl::MutexLock lock(&mu_);
  stall_ = true;
}

void FakeQueryService::SetTop(v1::TopResponse response) {
  absl::MutexLock lock(&mu_);
  top_ = std::move(response);
}

void FakeQueryService::SetHistogram(v1::HistogramResponse response) {
  absl::MutexLock lock(&mu_);
  histogram_ = std::move(response);
}

void FakeQueryService::AddFollowEvents(const std::vector<v1::StoredEvent>& events) {
  absl::MutexLock lock(&mu_);
  follow_events_.insert(follow_events_.end(), events.begin(), events.end());
}

std::vector<FakeQueryService::Call> FakeQueryService::calls() {
  absl::MutexLock lock(&mu_);
  return calls_;
}

}  // namespace kubetrail::client_testing
