// Intake: what every source (webhook, tailer) does with the events it decoded — apply the
// collector's policy, put on the envelope (cluster, source, receive time), and append them to
// the spool in one durable write, with the source's position when it has one. It also counts
// them (Prometheus, see the README's metrics table).
//
//   Intake intake(spool, {.cluster = "prod-eu", .source = "apiserver-1"}, clock, &registry);
//   intake.SetPolicy(std::move(policy));            // or never: keep everything
//   KT_RETURN_IF_ERROR(intake.Accept(Source::kWebhook, batch.events(), /*undecodable=*/0));
//
// Thread safety: Accept may run on many threads at once; SetPolicy swaps the policy for the
// Accept calls that start after it.
#ifndef KUBETRAIL_SERVICES_COLLECTOR_INTAKE_H_
#define KUBETRAIL_SERVICES_COLLECTOR_INTAKE_H_

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "audit/policy.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "kubetrail/v1/event.pb.h"
#include "services/collector/spool/spool.h"

namespace kubetrail::collector {

enum class Source { kWebhook, kTail };

// Logs the first few of `errors` (the messages of one input's undecodable events, e.g. one
// webhook request or one chunk of a log) as warnings prefixed with `what`, and how many more
// there were: all are counted, a flood is not logged line by line.
void LogUndecodable(std::string_view what, const std::vector<std::string>& errors);

struct IntakeConfig {
  std::string cluster;
  std::string source;
};

class Intake {
 public:
  // `spool`, `clock` and `registry` (may be null) must outlive the intake.
  Intake(Spool& spool, IntakeConfig config, Clock& clock, Registry* registry);

  // Replaces the policy (null: keep every event as the apiserver sent it).
  void SetPolicy(std::shared_ptr<const audit::Policy> policy);

  // Applies the policy to `events` (changing them: a lower level drops the request and
  // response objects), envelopes what it keeps with this moment as the receive time, and
  // appends it with `position` (may be null) to the spool. `undecodable` counts events of the
  // same input that could not be decoded (they are counted as dropped here). Returns the
  // spool's error (ResourceExhausted when full in block mode), in which case nothing was
  // appended and the source must retry or refuse.
  absl::Status Accept(Source source, absl::Span<kubetrail::v1::Event* const> events,
                      size_t undecodable, const SpoolPosition* position = nullptr);

  // Accept in two steps, for a source that retries a refused append without counting its
  // events twice (the tailer, whose decoding thread hands the events to a spooling thread
  // that runs both): Prepare applies the policy, envelopes, serializes and counts what was
  // received into `out`; Append spools it and counts it spooled or refused. After a refusal
  // the same events may be appended again.
  void Prepare(Source source, absl::Span<kubetrail::v1::Event* const> events, size_t undecodable,
               SerializedEvents& out);
  absl::Status Append(Source source, const SerializedEvents& kept, const SpoolPosition* position);
  // The same for several prepared parts in one spool record (Spool::AppendSerialized).
  absl::Status Append(Source source, absl::Span<const SerializedEvents* const> parts,
                      const SpoolPosition* position);

 private:
  void CountKept(std::string_view level);
  // Counts an append of `n` events that ended with `status`; returns it.
  absl::Status Counted(Source source, size_t n, absl::Status status);

  struct PerSource {
    Counter* received = nullptr;
    Counter* spooled = nullptr;
    Counter* undecodable = nullptr;
    Counter* refused = nullptr;
  };

  Spool& spool_;
  const IntakeConfig config_;
  Clock& clock_;
  PerSource webhook_;
  PerSource tail_;
  Counter* filtered_level_ = nullptr;
  Counter* filtered_stage_ = nullptr;
  Family<Counter>* kept_ = nullptr;
  // kept_'s children for Metadata, Request, RequestResponse, looked up once.
  std::array<Counter*, 3> kept_levels_ = {};

  absl::Mutex mu_;
  std::shared_ptr<const audit::Policy> policy_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kubetrail::collector

#endif  // KUBETRAIL_SERVICES_COLLECTOR_INTAKE_H_
