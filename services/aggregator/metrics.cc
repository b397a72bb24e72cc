#include "services/aggregator/metrics.h"

#include <vector>

#include "absl/status/status.h"

namespace kubetrail::aggregator {

Metrics::Metrics(Registry& registry)
    : registry_(registry),
      events_(registry.AddCounter("kubetrail_ingest_events_total",
                                  "Audit events received in batches, per cluster.", {"cluster"})),
      bytes_(registry.AddCounter("kubetrail_ingest_bytes_total",
                                 "Bytes of the accepted events (protobuf), per cluster.",
                                 {"cluster"})),
      batches_(registry.AddCounter("kubetrail_ingest_batches_total",
                                   "Batches received, per cluster.", {"cluster"})),
      stored_(registry.AddCounter("kubetrail_ingest_stored_events_total",
                                  "Events stored (durably, then acknowledged), per cluster.",
                                  {"cluster"})),
      duplicates_(registry.AddCounter(
          "kubetrail_ingest_duplicate_events_total",
          "Events received that were already stored (resends), per cluster.", {"cluster"})),
      expired_(registry.AddCounter(
          "kubetrail_ingest_expired_events_total",
          "Events received older than their cluster's retention, not stored, per cluster.",
          {"cluster"})),
      rejected_(registry.AddCounter(
          "kubetrail_ingest_rejected_events_total",
          "Events refused (no auditID, over the size limit, wrong envelope), per cluster.",
          {"cluster"})),
      refused_(registry.AddCounter(
          "kubetrail_ingest_streams_refused_total",
          "Ingest streams refused at the hello, per cluster named and gRPC code (cluster \"\" "
          "for callers without a client certificate).",
          {"cluster", "code"})),
      write_failures_(registry.AddCounter(
          "kubetrail_ingest_write_failures_total",
          "Batches the store could not write (not acknowledged; the collector resends).",
          {"cluster"})),
      commit_seconds_(registry
                          .AddHistogram("kubetrail_writer_commit_seconds",
                                        "Time of one batch's store write, synced group "
                                        "commit included.",
                                        ExponentialBuckets(0.0005, 2, 14))
                          .WithLabels()),
      commit_events_(registry
                         .AddCounter("kubetrail_writer_events_total",
                                     "Events handed to the store by the writer threads.")
                         .WithLabels()),
      query_seconds_(registry.AddHistogram("kubetrail_query_seconds",
                                           "Query RPC latency, per method.",
                                           ExponentialBuckets(0.0001, 2, 18), {"rpc"})),
      query_errors_(registry.AddCounter("kubetrail_query_errors_total",
                                        "Query RPCs that failed, per method and gRPC code.",
                                        {"rpc", "code"})),
      store_writable_(registry
                          .AddGauge("kubetrail_store_writable",
                                    "1 while the store accepts writes; 0 after a write "
                                    "failed (disk full), until one succeeds again.")
                          .WithLabels()) {
  store_writable_.Set(1);
  registry.AddCallbackGauge(
      "kubetrail_collector_last_seen_timestamp_seconds",
      "When each collector (cluster, source) last sent a hello or a batch, Unix seconds.",
      {"cluster", "source"}, [this] {
        std::vector<Sample> samples;
        absl::MutexLock lock(&mu_);
        samples.reserve(last_seen_.size());
        for (const auto& [key, seconds] : last_seen_) {
          samples.push_back({{key.first, key.second}, seconds});
        }
        return samples;
      });
}

void Metrics::StreamRefused(std::string_view cluster, const absl::Status& why) {
  // A caller without a client certificate counts under cluster "": the name it sent is its
  // own say-so, and anyone who reaches the port could otherwise add series without end.
  // A refused certificate was issued by the client CA, so its names stay few.
  const std::string_view label = why.code() == absl::StatusCode::kUnauthenticated ? "" : cluster;
  refused_.WithLabels({label, absl::StatusCodeToString(why.code())}).Increment();
}

void Metrics::CollectorSeen(std::string_view cluster, std::string_view source, int64_t now_us) {
  absl::MutexLock lock(&mu_);
  last_seen_[{std::string(cluster), std::string(source)}] = static_cast<double>(now_us) / 1e6;
}

void Metrics::BatchReceived(std::string_view cluster, uint64_t events, uint64_t bytes,
                            uint64_t rejected) {
  batches_.WithLabels({cluster}).Increment();
  events_.WithLabels({cluster}).IncrementBy(events);
  bytes_.WithLabels({cluster}).IncrementBy(bytes);
  if (rejected > 0) rejected_.WithLabels({cluster}).IncrementBy(rejected);
}

void Metrics::BatchStored(std::string_view cluster, uint64_t stored, uint64_t duplicates,
                          uint64_t expired) {
  stored_.WithLabels({cluster}).IncrementBy(stored);
  if (duplicates > 0) duplicates_.WithLabels({cluster}).IncrementBy(duplicates);
  if (expired > 0) expired_.WithLabels({cluster}).IncrementBy(expired);
}

void Metrics::WriteFailed(std::string_view cluster, const absl::Status& /*why*/) {
  write_failures_.WithLabels({cluster}).Increment();
}

void Metrics::Commit(uint64_t events, double seconds, bool ok) {
  if (ok) commit_events_.IncrementBy(events);
  commit_seconds_.Observe(seconds);
}

void Metrics::Query(std::string_view rpc, absl::StatusCode code, double seconds) {
  query_seconds_.WithLabels({rpc}).Observe(seconds);
  if (code != absl::StatusCode::kOk) {
    query_errors_.WithLabels({rpc, absl::StatusCodeToString(code)}).Increment();
  }
}

}  // namespace kubetrail::aggregator
