// kubetrail::Client — the C++ client library of a kubetrail aggregator's query API
// (kubetrail/v1/query.proto, admin.proto): search with transparent paging, get, count, top,
// histogram, live follow, store statistics, retention and legal holds, and health.
//
//   kubetrail::ClientOptions options;
//   options.server = "aggregator.example:7443";
//   options.ca_file = "ca.pem";                     // TLS unless options.plaintext
//   options.token = "s3cret";                       // "authorization: Bearer s3cret"
//   absl::StatusOr<kubetrail::Client> client = kubetrail::Client::Connect(options);
//   if (!client.ok()) ...                           // bad options or unreadable TLS files
//
//   kubetrail::FilterFlags flags;                   // kubetrail/filter.h, as the CLI's flags
//   flags.since = "24h";
//   flags.verbs = {"delete"};
//   kubetrail::v1::Filter filter = *kubetrail::BuildFilter(flags, absl::Now());
//   kubetrail::SearchIterator it = client->Search(filter);
//   while (it.Next()) Use(it.event());              // pages are fetched as needed
//   if (!it.status().ok()) ...                      // UNAVAILABLE, DEADLINE_EXCEEDED, ...
//
//   // Live: every matching event as it is stored, until `stop` returns false or an error.
//   absl::Status s = client->Follow(filter, {}, [](const kubetrail::v1::FollowResponse& r) {
//     for (const auto& e : r.events()) Use(e);
//     return true;
//   });
//
// Errors are absl::Status with the gRPC code of the failed call (INVALID_ARGUMENT: a filter
// value the server refused, NOT_FOUND: Get of an unknown auditID, UNAVAILABLE: unreachable or
// shutting down, UNAUTHENTICATED / PERMISSION_DENIED, DEADLINE_EXCEEDED) and its message.
// Every call carries a deadline of ClientOptions::timeout (Search: per page; Follow: none
// unless FollowOptions::timeout).
//
// Thread safety: a Client may be shared by threads once made (gRPC channels and stubs are
// thread-safe); a SearchIterator or FollowStream belongs to one thread, except
// FollowStream::Cancel, which any thread may call.
#ifndef KUBETRAIL_CLIENTS_CPP_INCLUDE_KUBETRAIL_CLIENT_H_
#define KUBETRAIL_CLIENTS_CPP_INCLUDE_KUBETRAIL_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/sync_stream.h"
#include "kubetrail/filter.h"
#include "kubetrail/v1/admin.grpc.pb.h"
#include "kubetrail/v1/query.grpc.pb.h"

namespace kubetrail {

// The largest message the client accepts (a Search chunk holding one big event). The
// aggregator sends chunks of about 1 MiB and single events up to its own limit.
inline constexpr int kMaxReceiveMessageBytes = 64 << 20;

// The largest Search page the aggregator serves (SearchRequest.limit).
inline constexpr int kMaxPageSize = 100'000;

// How to reach an aggregator.
struct ClientOptions {
  // Any gRPC target ("host:port", "dns:///host:port", "unix:/path"). Default: 127.0.0.1:7443.
  std::string server = "127.0.0.1:7443";
  // Plaintext, for an aggregator started with --dev. Default: false (TLS).
  bool plaintext = false;
  // TLS (not allowed with plaintext): a PEM CA bundle for the server's certificate (empty:
  // gRPC's default roots), a PEM client certificate and unencrypted key for mutual TLS (both
  // or neither), the name checked against the server's certificate (empty: the target's host).
  std::string ca_file = {};
  std::string cert_file = {};
  std::string key_file = {};
  std::string server_name = {};
  // Sent on every call as "authorization: Bearer <token>" when not empty; printable ASCII
  // without spaces.
  std::string token = {};
  // The deadline of each call (each Search page). Must be positive. Default: 30 s.
  absl::Duration timeout = absl::Seconds(30);
};

struct SearchOptions {
  // Default: oldest first (events with equal times by ingest sequence; reversed for desc).
  kubetrail::v1::Order order = kubetrail::v1::ORDER_ASCENDING;
  // Events to return in all; 0: every matching event. Default: 0.
  uint64_t limit = 0;
  // Events per Search call, 1-kMaxPageSize. Default: 1000.
  int page_size = 1000;
  // Resume a search: the cursor() of an earlier SearchIterator with the same filter and order.
  // Default: empty (from the start).
  std::string cursor = {};
};

class Client;

// The events of a search, fetched page by page (each page a Search call with its own
// deadline; every page reads the snapshot of the first, so nothing repeats or goes missing
// while events arrive). Move-only; one thread.
class SearchIterator {
 public:
  SearchIterator(SearchIterator&&) noexcept;
  SearchIterator& operator=(SearchIterator&&) noexcept;
  ~SearchIterator();

  // Moves to the next event. False at the end, when `limit` events were returned, or on an
  // error (then status() says which).
  bool Next();
  // The current event; valid after Next() returned true, until the next call.
  const kubetrail::v1::StoredEvent& event() const;
  // OK while iterating and after a clean end; else the failed call's status. Events returned
  // before an error were correct.
  const absl::Status& status() const { return status_; }
  // After the end: true when more events match than `limit` allowed.
  bool more() const { return more_; }
  // After the end: continues this search (SearchOptions::cursor), or starts a Follow right
  // after it (FollowOptions::cursor). Empty if the search failed or returned no page.
  const std::string& cursor() const { return cursor_; }
  // Events returned so far.
  uint64_t returned() const { return returned_; }

 private:
  friend class Client;
  struct Page;
  SearchIterator(const Client* client, kubetrail::v1::SearchRequest request, uint64_t limit);
  bool StartPage();
  bool Fail(absl::Status status);

  const Client* client_ = nullptr;
  kubetrail::v1::SearchRequest request_;
  uint64_t limit_ = 0;
  int page_size_ = 0;
  std::unique_ptr<Page> page_;
  kubetrail::v1::SearchResponse chunk_;
  int index_ = -1;
  uint64_t returned_ = 0;
  bool done_ = false;
  bool more_ = false;
  std::string cursor_;
  absl::Status status_;
};

struct FollowOptions {
  // Where to start; at most one of the two. Neither: with events stored after the call.
  //  * cursor: the SearchIterator::cursor() of a finished search: continue it without gap or
  //    repeat (late events with old times included).
  //  * after_sequence: the last_sequence of an earlier FollowResponse: resume a follow.
  std::string cursor = {};
  std::optional<uint64_t> after_sequence = {};
  // How long the follow may run. Default: until cancelled.
  absl::Duration timeout = absl::InfiniteDuration();
};

// A live follow: the matching events as the aggregator stores them, in ingest order, with
// heartbeats (responses without events) every few seconds. Move-only.
class FollowStream {
 public:
  ~FollowStream();
  // Blocks for the next response. False when the stream ended: cancelled, the timeout passed,
  // the server went away (see status()).
  bool Next(kubetrail::v1::FollowResponse* response);
  // Ends the stream from any thread; a blocked Next() returns false. status() then is
  // Cancelled.
  void Cancel();
  // After Next() returned false: why (Cancelled after Cancel()). Called earlier, it cancels
  // the stream first.
  absl::Status status();
  // The last_sequence of the last response read (0 before any): resume with
  // FollowOptions::after_sequence after a failure.
  uint64_t last_sequence() const { return last_sequence_; }

 private:
  friend class Client;
  FollowStream() = default;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderInterface<kubetrail::v1::FollowResponse>> reader_;
  std::optional<absl::Status> status_;
  bool read_ended_ = false;
  uint64_t last_sequence_ = 0;
};

class Client {
 public:
  // A client of options.server. InvalidArgument for options that cannot describe a
  // connection (TLS files with plaintext, only one of cert and key, a bad token, a timeout
  // that is not positive); the errors of reading the TLS files. Connecting happens on the
  // first call (an unreachable server: that call fails UNAVAILABLE).
  static absl::StatusOr<Client> Connect(const ClientOptions& options);
  // A client over an existing channel (in-process servers, custom credentials); TLS fields
  // of `options` are ignored, `server` only names the peer.
  static Client FromChannel(std::shared_ptr<grpc::ChannelInterface> channel,
                            const ClientOptions& options);

  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  ~Client();

  const ClientOptions& options() const { return options_; }

  // Matching events in time order, paged transparently. Options out of range (page_size)
  // show as the iterator's status (InvalidArgument) on the first Next().
  SearchIterator Search(const kubetrail::v1::Filter& filter, SearchOptions options = {}) const;
  // Every stored stage of one request, in time order. NotFound when none is stored.
  absl::StatusOr<std::vector<kubetrail::v1::StoredEvent>> Get(const std::string& audit_id) const;
  // How many events match.
  absl::StatusOr<uint64_t> Count(const kubetrail::v1::Filter& filter) const;
  // The `limit` (1-10000) most frequent values of `dimension`, most frequent first.
  absl::StatusOr<std::vector<kubetrail::v1::KeyCount>> Top(const kubetrail::v1::Filter& filter,
                                                            kubetrail::v1::Dimension dimension,
                                                            int limit) const;
  // Events per time bucket (the filter must bound time on both ends), optionally split by a
  // dimension (DIMENSION_UNSPECIFIED: not split).
  absl::StatusOr<kubetrail::v1::HistogramResponse> Histogram(
      const kubetrail::v1::Filter& filter, kubetrail::v1::Granularity granularity,
      kubetrail::v1::Dimension by = kubetrail::v1::DIMENSION_UNSPECIFIED) const;
  // Starts a live follow (see FollowStream). Options out of range: the stream's first Next()
  // returns false with InvalidArgument.
  std::unique_ptr<FollowStream> Follow(const kubetrail::v1::Filter& filter,
                                       const FollowOptions& options) const;
  // Follows until `on_response` returns false (then OK) or the stream ends (its status).
  absl::Status Follow(const kubetrail::v1::Filter& filter, const FollowOptions& options,
                      const std::function<bool(const kubetrail::v1::FollowResponse&)>&
                          on_response) const;
  // Store statistics (Admin.Stats; outside --dev, admin identities only).
  absl::StatusOr<kubetrail::v1::StatsResponse> Stats() const;
  // Retention and legal holds of the running store (Admin.ListRetention, SetRetention,
  // PlaceHold, ListHolds, ReleaseHold; outside --dev, admin identities only). Times and
  // durations are microseconds, as in the store.
  //
  // Every retention setting, sorted by cluster ("*": the default for other clusters).
  absl::StatusOr<std::vector<kubetrail::v1::RetentionSetting>> ListRetention() const;
  // Sets the retention of `cluster` ("*": the default) to `keep_us` (> 0), or clears it
  // (0: kept forever). Returns every setting after the change. INVALID_ARGUMENT for an empty
  // cluster or a negative duration.
  absl::StatusOr<std::vector<kubetrail::v1::RetentionSetting>> SetRetention(
      const std::string& cluster, int64_t keep_us) const;
  // Places a legal hold; returns it with its id ("hold-3") and creation time.
  // INVALID_ARGUMENT for an empty cluster or an empty time range.
  absl::StatusOr<kubetrail::v1::LegalHold> PlaceHold(
      const kubetrail::v1::PlaceHoldRequest& request) const;
  // Every legal hold, in the order they were placed.
  absl::StatusOr<std::vector<kubetrail::v1::LegalHold>> ListHolds() const;
  // Releases the hold `id`. NOT_FOUND for an unknown id.
  absl::Status ReleaseHold(const std::string& id) const;
  // The server's health (grpc.health.v1, the whole server): "SERVING", "NOT_SERVING", ...
  absl::StatusOr<std::string> Health() const;

 private:
  friend class SearchIterator;
  Client(std::shared_ptr<grpc::ChannelInterface> channel, const ClientOptions& options);
  // Sets the deadline (now + timeout, or `timeout` when given) and the token on `context`.
  void Prepare(grpc::ClientContext* context,
               std::optional<absl::Duration> timeout = std::nullopt) const;

  ClientOptions options_;
  std::shared_ptr<grpc::ChannelInterface> channel_;
  std::unique_ptr<kubetrail::v1::Query::Stub> query_;
  std::unique_ptr<kubetrail::v1::Admin::Stub> admin_;
};

// InvalidArgument, naming the field (and the `kubetrail` CLI flag that sets it), when
// `options` cannot describe a connection (see Client::Connect).
absl::Status ValidateClientOptions(const ClientOptions& options);

}  // namespace kubetrail

#endif  // KUBETRAIL_CLIENTS_CPP_INCLUDE_KUBETRAIL_CLIENT_H_
