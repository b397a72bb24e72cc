// Fuzz target: loading an audit Policy (audit/policy.h ParsePolicy) from arbitrary bytes, as
// YAML or JSON, then compiling it and evaluating a few events with it.
//
// Properties:
//  - ParsePolicy never crashes and no exception leaves it; errors are InvalidArgument.
//  - A policy that loads strictly loads leniently too, to the same rules, without warnings.
//  - A policy that loads compiles (ParsePolicy has validated it), and evaluating and applying
//    its decisions never crashes, never raises an event's level, and never adds data.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "audit/codec.h"
#include "audit/policy.h"
#include "common/strings.h"
#include "fuzz/fuzz_check.h"
#include "kubetrail/v1/event.pb.h"

namespace {

using ::kubetrail::Cat;
using ::kubetrail::audit::ParsePolicy;
using ::kubetrail::audit::Policy;
using ::kubetrail::audit::PolicyDecision;
using ::kubetrail::audit::PolicyLoadOptions;
using ::kubetrail::audit::PolicySpec;
using ::kubetrail::audit::PolicyWarning;
using ::kubetrail::v1::Event;

// Events that the rules of typical policies tell apart.
const std::vector<Event>& Events() {
  static const std::vector<Event>* events = [] {
    constexpr std::string_view kJsonLines[] = {
        R"({"level":"RequestResponse","auditID":"1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/kube-system/secrets/token?watch=true","verb":"get","user":{"username":"system:serviceaccount:kube-system:default","groups":["system:serviceaccounts","system:authenticated"]},"objectRef":{"resource":"secrets","namespace":"kube-system","name":"token","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestObject":{"kind":"Secret","metadata":{"managedFields":[{"manager":"x"}]}},"responseObject":{"kind":"Secret","metadata":{"name":"token","managedFields":[]}},"requestReceivedTimestamp":"2024-01-01T00:00:00.000000Z","stageTimestamp":"2024-01-01T00:00:00.100000Z"})",
        R"({"level":"Metadata","auditID":"2","stage":"RequestReceived","requestURI":"/healthz","verb":"get","user":{"username":"system:anonymous","groups":["system:unauthenticated"]},"requestReceivedTimestamp":"2024-01-01T00:00:01.000000Z","stageTimestamp":"2024-01-01T00:00:01.000000Z"})",
        R"({"level":"Request","auditID":"3","stage":"ResponseStarted","requestURI":"/apis/apps/v1/namespaces/default/deployments/web/scale","verb":"patch","user":{"username":"alice","groups":["dev"]},"objectRef":{"resource":"deployments","namespace":"default","name":"web","apiGroup":"apps","apiVersion":"v1","subresource":"scale"},"requestObject":{"spec":{"replicas":3},"metadata":{"managedFields":[]}},"requestReceivedTimestamp":"2024-01-01T00:00:02.000000Z","stageTimestamp":"2024-01-01T00:00:02.000000Z"})",
        R"({"level":"None","auditID":"4","stage":"Panic","requestURI":"/api/v1/pods","verb":"list","objectRef":{"resource":"pods"},"responseObject":{"kind":"PodList","items":[{"metadata":{"managedFields":[]}}]}})",
    };
    auto* out = new std::vector<Event>();
    kubetrail::audit::EventDecoder decoder;
    for (std::string_view json : kJsonLines) {
      Event& e = out->emplace_back();
      const absl::Status s = decoder.Decode(json, &e);
      KT_FUZZ_CHECK(s.ok(), s.ToString());
    }
    return out;
  }();
  return *events;
}

// Same rules, as the loader wrote them down (line numbers included).
bool SameSpec(const PolicySpec& a, const PolicySpec& b) {
  if (a.rules.size() != b.rules.size() || a.omit_stages != b.omit_stages ||
      a.omit_managed_fields != b.omit_managed_fields) {
    return false;
  }
  for (size_t i = 0; i < a.rules.size(); ++i) {
    const auto& x = a.rules[i];
    const auto& y = b.rules[i];
    if (x.level != y.level || x.users != y.users || x.user_groups != y.user_groups ||
        x.verbs != y.verbs || x.namespaces != y.namespaces ||
        x.non_resource_urls != y.non_resource_urls || x.omit_stages != y.omit_stages ||
        x.omit_managed_fields != y.omit_managed_fields || x.line != y.line ||
        x.resources.size() != y.resources.size()) {
      return false;
    }
    for (size_t j = 0; j < x.resources.size(); ++j) {
      if (x.resources[j].group != y.resources[j].group ||
          x.resources[j].resources != y.resources[j].resources ||
          x.resources[j].resource_names != y.resources[j].resource_names) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  std::vector<PolicyWarning> warnings;
  const absl::StatusOr<PolicySpec> lenient = ParsePolicy(text, PolicyLoadOptions{}, &warnings);
  std::vector<PolicyWarning> strict_warnings;
  PolicyLoadOptions strict_options;
  strict_options.strict = true;
  const absl::StatusOr<PolicySpec> strict = ParsePolicy(text, strict_options, &strict_warnings);
  for (const absl::StatusOr<PolicySpec>* r : {&lenient, &strict}) {
    KT_FUZZ_CHECK(r->ok() || r->status().code() == absl::StatusCode::kInvalidArgument,
                  r->status().ToString());
  }
  KT_FUZZ_CHECK(strict_warnings.empty(), "strict loading warned instead of failing");
  if (strict.ok()) {
    KT_FUZZ_CHECK(lenient.ok(), "loads strictly but not leniently: " + lenient.status().ToString());
    KT_FUZZ_CHECK(warnings.empty(), "loads strictly, but lenient loading warns");
    KT_FUZZ_CHECK(SameSpec(*strict, *lenient), "strict and lenient loading differ");
  }
  if (!lenient.ok()) return 0;

  absl::StatusOr<Policy> policy = Policy::Compile(*lenient);
  KT_FUZZ_CHECK(policy.ok(), "a loaded policy does not compile: " + policy.status().ToString());
  KT_FUZZ_CHECK(policy->rule_count() == lenient->rules.size(), "rule count");
  for (const Event& event : Events()) {
    const PolicyDecision decision = policy->Evaluate(event);
    KT_FUZZ_CHECK(decision.rule >= -1 && decision.rule < static_cast<int>(lenient->rules.size()),
                  Cat("rule ", decision.rule));
    Event applied = event;
    kubetrail::audit::ApplyDecision(decision, &applied);
    KT_FUZZ_CHECK(
        kubetrail::audit::RankLevel(applied.level()) <= kubetrail::audit::RankLevel(event.level()),
        Cat("level raised from ", event.level(), " to ", applied.level()));
    KT_FUZZ_CHECK(applied.ByteSizeLong() <= event.ByteSizeLong() + 16, "ApplyDecision added data");
  }
  return 0;
}
