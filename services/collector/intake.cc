#include "services/collector/intake.h"

#include <array>
#include <string_view>
#include <utility>

#include "common/logging.h"

namespace kubetrail::collector {
namespace {

// Undecodable events logged per input at most (all are counted).
constexpr size_t kLoggedErrors = 3;

constexpr std::array<std::string_view, 3> kLevels = {"Metadata", "Request", "RequestResponse"};

Counter* Child(Family<Counter>* family, std::string_view a) {
  return family == nullptr ? nullptr : &family->WithLabels({a});
}
Counter* Child(Family<Counter>* family, std::string_view a, std::string_view b) {
  return family == nullptr ? nullptr : &family->WithLabels({a, b});
}
void Add(Counter* counter, uint64_t n) {
  if (counter != nullptr && n > 0) counter->IncrementBy(n);
}

}  // namespace

void LogUndecodable(std::string_view what, const std::vector<std::string>& errors) {
  for (size_t i = 0; i < errors.size() && i < kLoggedErrors; ++i) {
    KT_LOG(kWarning, "collector") << what << ": " << errors[i];
  }
  if (errors.size() > kLoggedErrors) {
    KT_LOG(kWarning, "collector") << what << ": " << errors.size() - kLoggedErrors
                                  << " more undecodable events";
  }
}

Intake::Intake(Spool& spool, IntakeConfig config, Clock& clock, Registry* registry)
    : spool_(spool), config_(std::move(config)), clock_(clock) {
  if (registry == nullptr) return;
  Family<Counter>& received = registry->AddCounter(
      "kubetrail_collector_events_received_total",
      "Audit events received (decoded), by source (webhook, tail).", {"source"});
  Family<Counter>& spooled = registry->AddCounter(
      "kubetrail_collector_events_spooled_total",
      "Audit events appended to the spool (after the policy), by source.", {"source"});
  Family<Counter>& dropped = registry->AddCounter(
      "kubetrail_collector_events_dropped_total",
      "Audit events dropped by the collector, by source and reason (undecodable, "
      "policy_level_none, policy_omitted_stage; the spool's drops are in "
      "kubetrail_collector_spool_dropped_events_total).",
      {"source", "reason"});
  Family<Counter>& refused = registry->AddCounter(
      "kubetrail_collector_events_refused_total",
      "Audit events not taken because the spool refused them (full or failing); the webhook "
      "answered 503 and the apiserver retries, the tailer waits and reads them again.",
      {"source"});
  kept_ = &registry->AddCounter(
      "kubetrail_collector_events_policy_kept_total",
      "Audit events the collector policy kept, by the level they were kept at.", {"level"});
  for (size_t i = 0; i < kept_levels_.size(); ++i)
    kept_levels_[i] = &kept_->WithLabels({kLevels[i]});
  for (auto [source, per] :
       {std::pair<std::string_view, PerSource*>{"webhook", &webhook_}, {"tail", &tail_}}) {
    per->received = Child(&received, source);
    per->spooled = Child(&spooled, source);
    per->undecodable = Child(&dropped, source, "undecodable");
    per->refused = Child(&refused, source);
  }
  // The policy's drops are counted over both sources.
  filtered_level_ = Child(&dropped, "any", "policy_level_none");
  filtered_stage_ = Child(&dropped, "any", "policy_omitted_stage");
}

void Intake::CountKept(std::string_view level) {
  if (kept_ == nullptr) return;
  for (size_t i = 0; i < kept_levels_.size(); ++i) {
    if (level == kLevels[i]) {
      kept_levels_[i]->Increment();
      return;
    }
  }
  kept_->WithLabels({level}).Increment();  // a level the schema does not know
}

void Intake::SetPolicy(std::shared_ptr<const audit::Policy> policy) {
  absl::MutexLock lock(&mu_);
  policy_ = std::move(policy);
}

void Intake::Prepare(Source source, absl::Span<kubetrail::v1::Event* const> events,
                     size_t undecodable, SerializedEvents& out) {
  PerSource& per = source == Source::kWebhook ? webhook_ : tail_;
  Add(per.received, events.size());
  Add(per.undecodable, undecodable);
  std::shared_ptr<const audit::Policy> policy;
  {
    absl::MutexLock lock(&mu_);
    policy = policy_;
  }
  // What the policy keeps (all of `events` without one).
  thread_local std::vector<const kubetrail::v1::Event*> kept;
  kept.clear();
  for (kubetrail::v1::Event* event : events) {
    if (policy != nullptr) {
      const audit::ApplyOutcome outcome = audit::ApplyDecision(policy->Evaluate(*event), event);
      if (outcome == audit::ApplyOutcome::kDroppedNone) {
        Add(filtered_level_, 1);
        continue;
      }
      if (outcome == audit::ApplyOutcome::kDroppedStage) {
        Add(filtered_stage_, 1);
        continue;
      }
    }
    CountKept(event->level());
    kept.push_back(event);
  }
  kubetrail::v1::Envelope envelope;
  envelope.set_cluster(config_.cluster);
  envelope.set_source(config_.source);
  envelope.set_receive_time_us(clock_.NowMicros());
  out.Assign(envelope, kept);
}

absl::Status Intake::Counted(Source source, size_t n, absl::Status status) {
  PerSource& per = source == Source::kWebhook ? webhook_ : tail_;
  Add(status.ok() ? per.spooled : per.refused, n);
  return status;
}

absl::Status Intake::Append(Source source, const SerializedEvents& kept,
                            const SpoolPosition* position) {
  const SerializedEvents* parts[] = {&kept};
  return Append(source, parts, position);
}

absl::Status Intake::Append(Source source, absl::Span<const SerializedEvents* const> parts,
                            const SpoolPosition* position) {
  size_t n = 0;
  for (const SerializedEvents* part : parts) n += part->sizes.size();
  if (n == 0 && position == nullptr) return absl::OkStatus();
  return Counted(source, n, spool_.AppendSerialized(parts, position).status());
}

absl::Status Intake::Accept(Source source, absl::Span<kubetrail::v1::Event* const> events,
                            size_t undecodable, const SpoolPosition* position) {
  ScratchSerializedEvents kept;
  Prepare(source, events, undecodable, *kept);
  return Append(source, *kept, position);
}

}  // namespace kubetrail::collector
