// Prometheus metrics: a Registry owns metric families (counters, gauges, histograms and
// scrape-time callbacks) and renders them in the Prometheus text exposition format 0.0.4,
// which HttpStatusServer (http_status_server.h) serves at GET /metrics.
//
//   Registry registry;  // owned by main(), outlives every user and the status server
//   Family<Counter>& received = registry.AddCounter(
//       "kubetrail_ingest_events_total", "Audit events received.", {"collector"});
//   Counter& from_a = received.WithLabels({"node-a"});  // look up once, keep the reference
//   from_a.Increment();                                 // hot path: one atomic add
//
//   Histogram& commit = registry
//       .AddHistogram("kubetrail_writer_commit_seconds", "Batch commit latency.",
//                     ExponentialBuckets(0.001, 2, 12))
//       .WithLabels();
//   commit.Observe(absl::ToDoubleSeconds(elapsed));
//
//   registry.AddCallbackGauge(
//       "kubetrail_collector_last_seen_timestamp_seconds", "Last batch per collector.",
//       {"collector"}, [&sessions] {
//         std::vector<Sample> samples;
//         for (const auto& [id, seen] : sessions.LastSeen()) {
//           samples.push_back({{id}, absl::ToDoubleSeconds(seen - absl::UnixEpoch())});
//         }
//         return samples;
//       });
//
//   std::string text = registry.Expose();
//
// Error policy: metric names, label names, label arity, bucket bounds and duplicate
// registrations are fixed in the code, so a mistake in them is a programming error. The
// registry then logs one line naming the metric and aborts the process; nothing here returns
// an absl::Status. Label *values* may come from untrusted input: any string is accepted and
// escaped on output.
//
// Naming: follow https://prometheus.io/docs/practices/naming/ — base units (seconds, bytes),
// counters end in "_total", every family has help text. `promtool check metrics` lints this;
// the registry does not enforce it.
//
// Thread safety: every method of Registry, Family, Counter, Gauge and Histogram may be called
// from any thread at any time. Counter, Gauge and Histogram updates take no lock and never
// allocate: an integral counter increment is one atomic fetch_add, a double-valued update a
// lock-free compare-and-swap loop. WithLabels() takes a per-family mutex (and allocates the
// first time it sees a label set), so look a child up once and keep the reference. Expose()
// holds no registry lock while it runs callbacks, so a callback may use the registry, e.g.
// read a counter.
//
// Lifetime: families and children are never removed; every reference returned stays valid
// until the Registry is destroyed.
#ifndef KUBETRAIL_COMMON_METRICS_H_
#define KUBETRAIL_COMMON_METRICS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"

namespace kubetrail {

// A monotonically increasing value, e.g. events received or bytes written.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  // Adds 1.
  void Increment() { count_.fetch_add(1, std::memory_order_relaxed); }
  // Adds `n`.
  void IncrementBy(uint64_t n) { count_.fetch_add(n, std::memory_order_relaxed); }
  // Adds a non-integral amount (e.g. CPU seconds). `v` must be >= 0; negative and NaN values
  // are ignored, since a counter never goes down.
  void Add(double v);

  // The current value.
  double Value() const;

 private:
  std::atomic<uint64_t> count_{0};  // integral increments: one lock-free fetch_add
  std::atomic<double> fraction_{0};
};

// A value that goes up and down, e.g. queue depth or the time of the last flush.
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  void Sub(double v) { value_.fetch_sub(v, std::memory_order_relaxed); }
  void Increment() { Add(1); }
  void Decrement() { Sub(1); }

  // The current value.
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into buckets with fixed upper bounds, e.g. latencies in seconds.
class Histogram {
 public:
  // A consistent-enough copy for tests and rendering: `count` always equals
  // `cumulative_counts.back()` (the +Inf bucket); `sum` may lag by in-flight observations.
  struct Snapshot {
    // One per bound, then one for +Inf; each counts the observations <= its bound.
    std::vector<uint64_t> cumulative_counts;
    double sum = 0;
    uint64_t count = 0;
  };

  // `bounds` (strictly increasing, finite) must outlive the histogram; its family owns them.
  explicit Histogram(const std::vector<double>& bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Counts `v` into the first bucket whose bound is >= v; NaN lands in +Inf only.
  void Observe(double v);

  Snapshot Snap() const;

 private:
  const std::vector<double>& bounds_;
  // bounds_.size() + 1 non-cumulative counts; the last is the +Inf overflow bucket.
  const std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

// `count` bounds start, start*factor, start*factor^2, ... Requires start > 0, factor > 1,
// count >= 1 (aborts otherwise).
std::vector<double> ExponentialBuckets(double start, double factor, int count);
// `count` bounds start, start+width, ... Requires width > 0, count >= 1 (aborts otherwise).
std::vector<double> LinearBuckets(double start, double width, int count);

// One sample of a callback metric: the label values (in the order of the family's label
// names) and the value.
struct Sample {
  std::vector<std::string> label_values;
  double value = 0;
};

namespace metrics_internal {

enum class MetricType { kCounter, kGauge, kHistogram };

// Orders label-value tuples; transparent so that lookups need no std::string copies.
struct LabelValuesLess {
  using is_transparent = void;
  bool operator()(absl::Span<const std::string> a, absl::Span<const std::string> b) const;
  bool operator()(absl::Span<const std::string> a, absl::Span<const std::string_view> b) const;
  bool operator()(absl::Span<const std::string_view> a, absl::Span<const std::string> b) const;
};

// What the Registry stores; one per metric name.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, MetricType type,
             std::vector<std::string> label_names);
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const { return name_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  // Appends "# HELP", "# TYPE" and every sample line to `out`.
  void Render(std::string& out) const;

 protected:
  // Appends the sample lines only.
  virtual void RenderSamples(std::string& out) const = 0;

  const std::string name_;
  const std::string help_;
  const MetricType type_;
  const std::vector<std::string> label_names_;
};

}  // namespace metrics_internal

// The children of one metric name, one per distinct tuple of label values. T is Counter,
// Gauge or Histogram. Obtained from Registry::AddCounter / AddGauge / AddHistogram.
template <typename T>
class Family final : public metrics_internal::FamilyBase {
 public:
  // The child for `label_values`, given in the order of the family's label names; created
  // (at zero) on first use. An unlabelled family has one child, WithLabels(), which exists
  // from registration on. Aborts when the number of values differs from the number of label
  // names. The reference stays valid for the registry's lifetime.
  T& WithLabels(absl::Span<const std::string_view> label_values = {});

 private:
  friend class Registry;
  Family(std::string name, std::string help, metrics_internal::MetricType type,
         std::vector<std::string> label_names, std::vector<double> bounds);
  void RenderSamples(std::string& out) const override;

  const std::vector<double> bounds_;  // histograms only; children point at it

  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>, metrics_internal::LabelValuesLess>
      children_ ABSL_GUARDED_BY(mu_);
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

// Owns metric families and renders them. Not copyable or movable: families hand out
// references into it.
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registers a family. `name` must match [a-zA-Z_:][a-zA-Z0-9_:]* and not collide with any
  // name (or histogram _bucket/_sum/_count name) registered before; each label name must
  // match [a-zA-Z_][a-zA-Z0-9_]*, not start with "__" and be distinct ("le" is reserved for
  // histograms). Violations abort. `help` is free text (escaped on output).
  Family<Counter>& AddCounter(std::string_view name, std::string_view help,
                              std::vector<std::string> label_names = {});
  Family<Gauge>& AddGauge(std::string_view name, std::string_view help,
                          std::vector<std::string> label_names = {});
  // `bucket_bounds` must be non-empty, finite and strictly increasing; a trailing +Inf is
  // dropped (the +Inf bucket is always present). Violations abort.
  Family<Histogram>& AddHistogram(std::string_view name, std::string_view help,
                                  std::vector<double> bucket_bounds,
                                  std::vector<std::string> label_names = {});

  // A gauge (or counter) whose samples `callback` computes at every Expose(), for values
  // owned elsewhere: store size, per-collector last-seen times. Each sample's label_values
  // must have one entry per label name (else the process aborts, a programming error); the
  // samples are rendered sorted by label values, and of two samples with equal label values
  // only the first is kept. `callback` runs on the thread calling Expose(), possibly on
  // several threads at once; it and everything it captures must stay valid until the last
  // Expose() returns.
  void AddCallbackGauge(std::string_view name, std::string_view help,
                        std::vector<std::string> label_names,
                        std::function<std::vector<Sample>()> callback);
  void AddCallbackCounter(std::string_view name, std::string_view help,
                          std::vector<std::string> label_names,
                          std::function<std::vector<Sample>()> callback);

  // Every family in the Prometheus text format 0.0.4, sorted by name; within a family the
  // children are sorted by label values. Serve it with Content-Type
  // "text/plain; version=0.0.4; charset=utf-8".
  std::string Expose() const;

 private:
  // Validates and takes ownership of `family`; aborts on a bad or duplicate name.
  void Register(std::unique_ptr<metrics_internal::FamilyBase> family);

  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<metrics_internal::FamilyBase>, std::less<>> families_
      ABSL_GUARDED_BY(mu_);
  // Every sample name in use (histograms claim name, _bucket, _sum and _count).
  std::set<std::string, std::less<>> sample_names_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kubetrail

#endif  // KUBETRAIL_COMMON_METRICS_H_
