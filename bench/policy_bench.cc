// kubetrail-bench: audit policy evaluation throughput.
//
// BM_PolicyEvaluate evaluates the Kubernetes documentation's example audit policy
// (https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/, audit-policy.yaml) against
// 20k decoded loadgen events (seed 1), one event per iteration, on one core; items_per_second is
// evaluations per second. BM_PolicyEvaluateApply adds ApplyDecision on a copy of each event
// (copying dominates; it is there to catch gross regressions in stripping).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "audit/codec.h"
#include "audit/policy.h"
#include "bench/loadgen/generator.h"

namespace kubetrail {
namespace {

constexpr int64_t kStartUs = 1793491200000000;  // 2026-11-01T00:00:00Z
constexpr int kEvents = 20000;

// Loadgen events as the collector sees them: encoded to a log line and decoded back.
const std::vector<kubetrail::v1::Event>& Events() {
  static const auto* events = [] {
    auto* out = new std::vector<kubetrail::v1::Event>(kEvents);
    loadgen::Generator gen(1, kStartUs);
    audit::EventDecoder decoder;
    kubetrail::v1::Event event;
    for (int i = 0; i < kEvents; ++i) {
      gen.Next(&event);
      if (!decoder.Decode(audit::EncodeEventJson(event), &(*out)[i]).ok()) std::abort();
    }
    return out;
  }();
  return *events;
}

audit::GroupResourcesSpec Group(std::string group, std::vector<std::string> resources,
                                std::vector<std::string> names = {}) {
  return audit::GroupResourcesSpec{std::move(group), std::move(resources), std::move(names)};
}

audit::PolicyRuleSpec Rule(std::string level) {
  audit::PolicyRuleSpec r;
  r.level = std::move(level);
  return r;
}

// The documentation's example policy, rule for rule.
audit::PolicySpec DocsExamplePolicy() {
  audit::PolicySpec spec;
  spec.omit_stages = {"RequestReceived"};
  // Log pod changes at RequestResponse level.
  audit::PolicyRuleSpec r = Rule("RequestResponse");
  r.resources = {Group("", {"pods"})};
  spec.rules.push_back(r);
  // Log "pods/log", "pods/status" at Metadata level.
  r = Rule("Metadata");
  r.resources = {Group("", {"pods/log", "pods/status"})};
  spec.rules.push_back(r);
  // Don't log requests to a configmap called "controller-leader".
  r = Rule("None");
  r.resources = {Group("", {"configmaps"}, {"controller-leader"})};
  spec.rules.push_back(r);
  // Don't log watch requests by "system:kube-proxy" on endpoints or services.
  r = Rule("None");
  r.users = {"system:kube-proxy"};
  r.verbs = {"watch"};
  r.resources = {Group("", {"endpoints", "services"})};
  spec.rules.push_back(r);
  // Don't log authenticated requests to certain non-resource URL paths.
  r = Rule("None");
  r.user_groups = {"system:authenticated"};
  r.non_resource_urls = {"/api*", "/version"};
  spec.rules.push_back(r);
  // Log the request body of configmap changes in kube-system.
  r = Rule("Request");
  r.resources = {Group("", {"configmaps"})};
  r.namespaces = {"kube-system"};
  spec.rules.push_back(r);
  // Log configmap and secret changes in all other namespaces at the Metadata level, and
  // tokenreviews (whose bodies hold tokens).
  r = Rule("Metadata");
  r.resources = {Group("", {"secrets", "configmaps"}),
                 Group("authentication.k8s.io", {"tokenreviews"})};
  spec.rules.push_back(r);
  // Log all other resources in core and extensions at the Request level.
  r = Rule("Request");
  r.resources = {Group("", {}), Group("extensions", {})};
  spec.rules.push_back(r);
  // A catch-all rule to log all other requests at the Metadata level.
  r = Rule("Metadata");
  r.omit_stages = {"RequestReceived"};
  spec.rules.push_back(r);
  return spec;
}

const audit::Policy& DocsPolicy() {
  static const auto* policy = [] {
    absl::StatusOr<audit::Policy> p = audit::Policy::Compile(DocsExamplePolicy());
    if (!p.ok()) std::abort();
    return new audit::Policy(std::move(*p));
  }();
  return *policy;
}

// Evaluates the first `window` events round and round (all of them when window is 0).
void EvaluateLoop(benchmark::State& state, size_t window) {
  const std::vector<kubetrail::v1::Event>& events = Events();
  const audit::Policy& policy = DocsPolicy();
  const size_t n = window == 0 ? events.size() : std::min(window, events.size());
  size_t i = 0;
  for (auto _ : state) {
    audit::PolicyDecision d = policy.Evaluate(events[i]);
    benchmark::DoNotOptimize(d);
    if (++i == n) i = 0;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_PolicyEvaluate(benchmark::State& state) { EvaluateLoop(state, 0); }
BENCHMARK(BM_PolicyEvaluate);

// The same over the first 256 events only (they stay in cache): the matching cost alone.
void BM_PolicyEvaluateHot(benchmark::State& state) { EvaluateLoop(state, 256); }
BENCHMARK(BM_PolicyEvaluateHot);

void BM_PolicyEvaluateApply(benchmark::State& state) {
  const std::vector<kubetrail::v1::Event>& events = Events();
  const audit::Policy& policy = DocsPolicy();
  kubetrail::v1::Event event;
  size_t i = 0;
  for (auto _ : state) {
    event = events[i];
    audit::ApplyOutcome outcome = ApplyDecision(policy.Evaluate(event), &event);
    benchmark::DoNotOptimize(outcome);
    if (++i == events.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_PolicyEvaluateApply);

}  // namespace
}  // namespace kubetrail
