// The aggregator's Prometheus metrics (served at --http-listen's /metrics), named in one
// place. Every family is documented by its help text; see README.md for the list.
//
// Thread safety: every method may be called from any thread. Per-cluster children are looked
// up per batch (a short lock in the family), never per event.
#ifndef KUBETRAIL_SERVICES_AGGREGATOR_METRICS_H_
#define KUBETRAIL_SERVICES_AGGREGATOR_METRICS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/metrics.h"

namespace kubetrail::aggregator {

class Metrics {
 public:
  // Registers the families in `registry`, which must outlive this object.
  explicit Metrics(Registry& registry);

  Registry& registry() { return registry_; }

  // Ingest.
  void StreamRefused(std::string_view cluster, const absl::Status& why);
  void CollectorSeen(std::string_view cluster, std::string_view source, int64_t now_us);
  void BatchReceived(std::string_view cluster, uint64_t events, uint64_t bytes, uint64_t rejected);
  void BatchStored(std::string_view cluster, uint64_t stored, uint64_t duplicates,
                   uint64_t expired);
  void WriteFailed(std::string_view cluster, const absl::Status& why);

  // Writer: one store Write of `events` took `seconds`.
  void Commit(uint64_t events, double seconds, bool ok);

  // Queries: one RPC (by method name) finished with `code` after `seconds`.
  void Query(std::string_view rpc, absl::StatusCode code, double seconds);

  // Store health: false while writes fail (disk full).
  void SetStoreWritable(bool writable) { store_writable_.Set(writable ? 1 : 0); }

 private:
  Registry& registry_;
  Family<Counter>& events_;
  Family<Counter>& bytes_;
  Family<Counter>& batches_;
  Family<Counter>& stored_;
  Family<Counter>& duplicates_;
  Family<Counter>& expired_;
  Family<Counter>& rejected_;
  Family<Counter>& refused_;
  Family<Counter>& write_failures_;
  Histogram& commit_seconds_;
  Counter& commit_events_;
  Family<Histogram>& query_seconds_;
  Family<Counter>& query_errors_;
  Gauge& store_writable_;

  absl::Mutex mu_;
  // (cluster, source) -> seconds since the epoch of the last hello or batch.
  absl::flat_hash_map<std::pair<std::string, std::string>, double> last_seen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kubetrail::aggregator

#endif  // KUBETRAIL_SERVICES_AGGREGATOR_METRICS_H_
