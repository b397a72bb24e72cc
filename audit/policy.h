// The audit.k8s.io/v1 Policy: loading (YAML or JSON, strict then lenient, upstream's
// validation), evaluation of an Event with upstream-exact matching, and applying the decision.
// ../shared/docs/k8s-audit-semantics.md §3-§4 is the specification.
//
//   std::vector<PolicyWarning> warnings;
//   absl::StatusOr<PolicySpec> spec = ParsePolicy(yaml_text, {}, &warnings);
//   absl::StatusOr<Policy> policy = Policy::Compile(*spec);
//   PolicyDecision d = policy->Evaluate(event);        // no allocation
//   if (ApplyDecision(d, &event) == ApplyOutcome::kKept) ship(event);
//
// Thread safety: a Policy is immutable after Compile; Evaluate may run on many threads at once.
// The free functions are thread-safe.
#ifndef KUBETRAIL_AUDIT_POLICY_H_
#define KUBETRAIL_AUDIT_POLICY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kubetrail/v1/event.pb.h"

namespace kubetrail::audit {

// Audit levels, ordered as upstream orders them (None < Metadata < Request < RequestResponse).
enum class Level : uint8_t { kNone = 0, kMetadata = 1, kRequest = 2, kRequestResponse = 3 };
// Exact (case-sensitive) level names; nullopt for anything else.
std::optional<Level> ParseLevel(std::string_view name);
std::string_view LevelName(Level level);
// The rank upstream gives an event's level string: unknown strings rank as None.
Level RankLevel(std::string_view name);

enum class Stage : uint8_t {
  kRequestReceived = 0,
  kResponseStarted = 1,
  kResponseComplete = 2,
  kPanic = 3,
};
std::optional<Stage> ParseStage(std::string_view name);
std::string_view StageName(Stage stage);

// A set of stages: bit (1 << Stage).
using StageSet = uint8_t;
inline constexpr StageSet StageBit(Stage s) { return static_cast<StageSet>(1u << static_cast<int>(s)); }

// ---------------------------------------------------------------------------------------------
// The policy as written (plain data; what ParsePolicy returns and Compile takes).

struct GroupResourcesSpec {
  std::string group;                        // "" = core, "*" = any group
  std::vector<std::string> resources;       // patterns: "pods", "pods/log", "*", "pods/*", "*/scale"
  std::vector<std::string> resource_names;
};

struct PolicyRuleSpec {
  std::string level;  // as written; validated by ParsePolicy
  std::vector<std::string> users;
  std::vector<std::string> user_groups;
  std::vector<std::string> verbs;
  std::vector<GroupResourcesSpec> resources;
  std::vector<std::string> namespaces;
  std::vector<std::string> non_resource_urls;
  std::vector<std::string> omit_stages;
  std::optional<bool> omit_managed_fields;  // absent is not the same as false
  int line = 0;  // 1-based line of the rule in the source, 0 when unknown
};

struct PolicySpec {
  std::vector<PolicyRuleSpec> rules;
  std::vector<std::string> omit_stages;
  bool omit_managed_fields = false;
};

// A field that lenient loading ignored (unknown or duplicate), e.g.
// {"rules[2].resources[0].verbs", 14, "unknown field \"verbs\""}.
struct PolicyWarning {
  std::string path;
  int line = 0;
  std::string message;
};

struct PolicyLoadOptions {
  // Reject unknown and duplicate fields instead of ignoring them with a warning. Default: false
  // (upstream: strict first, then lenient with a warning).
  bool strict = false;
};

// Parses a Policy document (YAML or JSON; yaml-cpp) and validates it exactly as upstream does
// (ValidatePolicy), plus the loader's "at least one rule" and apiVersion audit.k8s.io/v1 /
// kind Policy. Errors are InvalidArgument whose message lists EVERY problem found, one per line,
// each naming the path and the source line:
//   rules[3].nonResourceURLs[0]: Invalid value: "logs": must start with "/" (line 12)
//   rules[0].level: Required value (line 5)
// Ignored fields are appended to *warnings (may be null).
absl::StatusOr<PolicySpec> ParsePolicy(std::string_view text, const PolicyLoadOptions& options,
                                       std::vector<PolicyWarning>* warnings);
// Reads `path` and parses it; errors name the file.
absl::StatusOr<PolicySpec> LoadPolicyFile(const std::string& path,
                                          const PolicyLoadOptions& options,
                                          std::vector<PolicyWarning>* warnings);

// ---------------------------------------------------------------------------------------------
// Evaluation.

// What the policy decides for one request.
struct PolicyDecision {
  Level level = Level::kNone;    // the matching rule's level (before capping by the event's)
  StageSet omit_stages = 0;      // union of the policy's and the rule's omitStages
  bool omit_managed_fields = false;
  int rule = -1;                 // index of the matching rule, -1 when none matched
};

// A compiled policy: rules precompiled for evaluation without allocation.
class Policy {
 public:
  // Compiles a (valid) spec. InvalidArgument when the spec does not validate.
  static absl::StatusOr<Policy> Compile(const PolicySpec& spec);

  // Evaluates `event` as kube-apiserver would evaluate its request: first matching rule wins;
  // user = the authenticated `user` (never impersonatedUser), absent when it has neither
  // username nor groups; resource request <=> objectRef present; non-resource path =
  // requestURI without its query. Never allocates.
  PolicyDecision Evaluate(const kubetrail::v1::Event& event) const;

  size_t rule_count() const;

  Policy(Policy&&) noexcept;
  Policy& operator=(Policy&&) noexcept;
  ~Policy();

 private:
  struct Compiled;
  explicit Policy(std::unique_ptr<Compiled> compiled);
  std::unique_ptr<Compiled> compiled_;
};

enum class ApplyOutcome {
  kKept,           // the event is kept (possibly stripped)
  kDroppedNone,    // the decision's level is None
  kDroppedStage,   // the event's stage is in omit_stages
};

// Applies `decision` to `event` in place: drops it at level None or when its stage is omitted;
// otherwise the effective level = min(RankLevel(event's level), decision.level) — an effective
// level of None drops the event too (kDroppedNone) — `level` is rewritten to its name, requestObject is removed below Request and responseObject below RequestResponse; with
// omit_managed_fields, metadata.managedFields is removed from request/response objects, from
// every item of a list (`items`) and from every Table row object (`rows[].object`) — patch
// bodies (requestObject of verb "patch") are left alone, as upstream. Never adds data and never
// raises a level. Raw objects stay in Go's compact form.
ApplyOutcome ApplyDecision(const PolicyDecision& decision, kubetrail::v1::Event* event);

}  // namespace kubetrail::audit

#endif  // KUBETRAIL_AUDIT_POLICY_H_
