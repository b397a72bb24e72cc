// Policy::Compile and Policy::Evaluate: upstream's rule matching (pkg/audit/policy/checker.go) as
// specified in ../shared/docs/k8s-audit-semantics.md §4.1, on precompiled rules so that
// evaluating an event compares string_views only and never allocates.
#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "audit/policy.h"
#include "common/strings.h"
#include "kubetrail/v1/event.pb.h"

namespace kubetrail::audit {
namespace {

// Lists at or below this size are scanned linearly; longer ones are sorted and binary-searched.
// Policies' lists are almost always a handful of entries, where a scan is fastest.
constexpr size_t kLinearScanMax = 8;

// An exact, case-sensitive set of strings. Empty means "no restriction" to the caller.
class StringSet {
 public:
  StringSet() = default;
  explicit StringSet(const std::vector<std::string>& items) : items_(items) {
    if (items_.size() > kLinearScanMax) {
      std::sort(items_.begin(), items_.end());
      items_.erase(std::unique(items_.begin(), items_.end()), items_.end());
    }
  }

  bool empty() const { return items_.empty(); }

  bool Contains(std::string_view s) const {
    if (items_.size() > kLinearScanMax) {
      return std::binary_search(items_.begin(), items_.end(), s,
                                [](std::string_view a, std::string_view b) { return a < b; });
    }
    for (const std::string& item : items_) {
      if (item == s) return true;
    }
    return false;
  }

 private:
  std::vector<std::string> items_;
};

// One resource pattern, pre-split for the four ways it can match (§4.1): exact `combined`,
// "*", "*/<sub>" and "<res>/*". A pattern may qualify for several; all are tried, as upstream.
struct ResourcePattern {
  std::string text;           // the pattern as written, compared against `combined`
  bool any = false;           // text == "*"
  bool any_resource = false;  // text starts with "*/": matches subresource `sub`
  std::string sub;            // text after "*/"
  bool all_subs = false;      // text ends with "/*": matches resource `res`, bare or not
  std::string res;            // text before "/*"

  // `combined` is resource, or resource + "/" + subresource when subresource is non-empty;
  // compared piecewise so that no string is built.
  bool Matches(std::string_view resource, std::string_view subresource) const {
    if (any) return true;
    std::string_view t = text;
    if (subresource.empty()) {
      if (t == resource) return true;
    } else {
      if (t.size() == resource.size() + 1 + subresource.size() &&
          t.substr(0, resource.size()) == resource && t[resource.size()] == '/' &&
          t.substr(resource.size() + 1) == subresource) {
        return true;
      }
      if (any_resource && sub == subresource) return true;
    }
    return all_subs && res == resource;
  }
};

struct GroupResources {
  bool any_group = false;  // group "*"
  std::string group;       // "" = core
  std::vector<ResourcePattern> patterns;
  StringSet resource_names;
};

// A non-resource URL spec: "*", an exact path, or a prefix (spec with its trailing '*'s removed).
struct UrlSpec {
  bool any = false;
  bool prefix = false;
  std::string text;  // the exact path, or the prefix
};

struct Rule {
  StringSet users;
  StringSet user_groups;
  StringSet verbs;
  StringSet namespaces;
  std::vector<GroupResources> resources;
  std::vector<UrlSpec> non_resource_urls;
  bool resource_scope = false;      // namespaces or resources set: only the resource check
  bool non_resource_scope = false;  // else nonResourceURLs set: only the non-resource check
  PolicyDecision decision;          // what a match yields, computed once
};

// The authenticated user, or null when there is none: failed authentication logs `user: {}`,
// and neither username nor groups means no user.
const kubetrail::v1::UserInfo* UserOf(const kubetrail::v1::Event& event) {
  if (!event.has_user()) return nullptr;
  const kubetrail::v1::UserInfo& user = event.user();
  return !user.username().empty() || user.groups_size() > 0 ? &user : nullptr;
}

// The attributes of a resource request, read once per evaluation: the loads of the five
// strings are independent, so their cache misses overlap instead of following one another
// through the data-dependent branches of the rules.
struct ResourceAttrs {
  std::string_view group;
  std::string_view resource;
  std::string_view subresource;
  std::string_view name;
  std::string_view namespace_;
};

// The resource check of §4.1.
bool MatchesResource(const Rule& rule, const ResourceAttrs* attrs) {
  if (attrs == nullptr) return false;  // not a resource request
  if (!rule.resources.empty()) {
    bool matched = false;
    for (const GroupResources& gr : rule.resources) {
      if (!gr.any_group && gr.group != attrs->group) continue;
      if (gr.patterns.empty()) {
        matched = true;
        break;
      }
      for (const ResourcePattern& p : gr.patterns) {
        if (p.Matches(attrs->resource, attrs->subresource)) {
          matched = true;
          break;
        }
      }
      // resourceNames applies to every pattern of the entry.
      // As upstream's hasString: a request without a name has name "", which matches only an
      // entry that lists "".
      if (matched && !gr.resource_names.empty() && !gr.resource_names.Contains(attrs->name)) {
        matched = false;
      }
      if (matched) break;
    }
    if (!matched) return false;
  }
  // Cluster-scoped requests and lists across all namespaces have namespace "".
  return rule.namespaces.empty() || rule.namespaces.Contains(attrs->namespace_);
}

// The non-resource check of §4.1; the path is the requestURI without its query.
bool MatchesNonResource(const Rule& rule, const ResourceAttrs* attrs, std::string_view path) {
  if (attrs != nullptr) return false;  // a resource request
  for (const UrlSpec& spec : rule.non_resource_urls) {
    if (spec.any) return true;
    if (spec.prefix ? path.substr(0, spec.text.size()) == spec.text : path == spec.text) {
      return true;
    }
  }
  return false;
}

// §4.1's conditions are a pure conjunction, so they are tested cheapest-and-most-selective
// first (scope, then verb, then user) with the same result as upstream's order.
bool Matches(const Rule& rule, const kubetrail::v1::Event& event, std::string_view verb,
             const ResourceAttrs* attrs, std::string_view path) {
  if (rule.resource_scope) {
    if (!MatchesResource(rule, attrs)) return false;
  } else if (rule.non_resource_scope) {
    if (!MatchesNonResource(rule, attrs, path)) return false;
  }
  if (!rule.verbs.empty() && !rule.verbs.Contains(verb)) return false;
  if (rule.users.empty() && rule.user_groups.empty()) return true;
  const kubetrail::v1::UserInfo* user = UserOf(event);
  if (user == nullptr) return false;  // no user never matches users or userGroups
  if (!rule.users.empty() && !rule.users.Contains(user->username())) return false;
  if (!rule.user_groups.empty()) {
    for (const std::string& g : user->groups()) {
      if (rule.user_groups.Contains(g)) return true;
    }
    return false;
  }
  return true;
}

absl::StatusOr<StageSet> ParseStages(const std::vector<std::string>& names,
                                     std::string_view path) {
  StageSet set = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    std::optional<Stage> stage = ParseStage(names[i]);
    if (!stage.has_value()) {
      return absl::InvalidArgumentError(
          Cat(path, "[", i, "]: Unsupported value: \"", names[i], "\""));
    }
    set |= StageBit(*stage);
  }
  return set;
}

}  // namespace

struct Policy::Compiled {
  std::vector<Rule> rules;
  PolicyDecision no_match;  // level None with the policy's omitStages and omitManagedFields
};

Policy::Policy(std::unique_ptr<Compiled> compiled) : compiled_(std::move(compiled)) {}
Policy::Policy(Policy&&) noexcept = default;
Policy& Policy::operator=(Policy&&) noexcept = default;
Policy::~Policy() = default;

size_t Policy::rule_count() const { return compiled_->rules.size(); }

absl::StatusOr<Policy> Policy::Compile(const PolicySpec& spec) {
  auto compiled = std::make_unique<Compiled>();
  absl::StatusOr<StageSet> policy_stages = ParseStages(spec.omit_stages, "omitStages");
  if (!policy_stages.ok()) return policy_stages.status();
  compiled->no_match.omit_stages = *policy_stages;
  compiled->no_match.omit_managed_fields = spec.omit_managed_fields;

  compiled->rules.reserve(spec.rules.size());
  for (size_t i = 0; i < spec.rules.size(); ++i) {
    const PolicyRuleSpec& rs = spec.rules[i];
    const std::string prefix = Cat("rules[", i, "]");
    std::optional<Level> level = ParseLevel(rs.level);
    if (!level.has_value()) {
      return absl::InvalidArgumentError(
          rs.level.empty() ? Cat(prefix, ".level: Required value")
                           : Cat(prefix, ".level: Unsupported value: \"", rs.level, "\""));
    }
    absl::StatusOr<StageSet> stages = ParseStages(rs.omit_stages, Cat(prefix, ".omitStages"));
    if (!stages.ok()) return stages.status();

    Rule rule;
    rule.users = StringSet(rs.users);
    rule.user_groups = StringSet(rs.user_groups);
    rule.verbs = StringSet(rs.verbs);
    rule.namespaces = StringSet(rs.namespaces);
    for (const GroupResourcesSpec& grs : rs.resources) {
      GroupResources gr;
      gr.any_group = grs.group == "*";
      gr.group = grs.group;
      gr.resource_names = StringSet(grs.resource_names);
      for (const std::string& text : grs.resources) {
        ResourcePattern p;
        p.text = text;
        p.any = text == "*";
        std::string_view t = text;
        // Upstream compares with strings.TrimLeft(res, "*/") and strings.TrimRight(res, "/*"):
        // every leading (trailing) '*' and '/' goes, so "*//status" and "pods/**" work too.
        if (t.size() >= 2 && t.substr(0, 2) == "*/") {
          p.any_resource = true;
          const size_t first = t.find_first_not_of("*/");
          p.sub = first == std::string_view::npos ? std::string() : std::string(t.substr(first));
        }
        if (t.size() >= 2 && t.substr(t.size() - 2) == "/*") {
          p.all_subs = true;
          const size_t last = t.find_last_not_of("/*");
          p.res = last == std::string_view::npos ? std::string() : std::string(t.substr(0, last + 1));
        }
        gr.patterns.push_back(std::move(p));
      }
      rule.resources.push_back(std::move(gr));
    }
    for (const std::string& text : rs.non_resource_urls) {
      UrlSpec u;
      u.any = text == "*";
      std::string_view t = text;
      if (!u.any && !t.empty() && t.back() == '*') {
        u.prefix = true;
        while (!t.empty() && t.back() == '*') t.remove_suffix(1);
      }
      u.text = std::string(t);
      rule.non_resource_urls.push_back(std::move(u));
    }
    rule.resource_scope = !rs.namespaces.empty() || !rs.resources.empty();
    rule.non_resource_scope = !rule.resource_scope && !rs.non_resource_urls.empty();
    rule.decision.level = *level;
    rule.decision.omit_stages = static_cast<StageSet>(*policy_stages | *stages);
    rule.decision.omit_managed_fields = rs.omit_managed_fields.value_or(spec.omit_managed_fields);
    rule.decision.rule = static_cast<int>(i);
    compiled->rules.push_back(std::move(rule));
  }
  return Policy(std::move(compiled));
}

PolicyDecision Policy::Evaluate(const kubetrail::v1::Event& event) const {
  // The request attributes every rule may look at are read up front (independent loads whose
  // cache misses overlap); the user is read only by rules that name users or groups.
  ResourceAttrs attrs;
  const bool is_resource = event.has_object_ref();
  if (is_resource) {
    const kubetrail::v1::ObjectReference& ref = event.object_ref();
    attrs = {ref.api_group(), ref.resource(), ref.subresource(), ref.name(), ref.namespace_()};
  }
  const ResourceAttrs* resource = is_resource ? &attrs : nullptr;  // objectRef <=> resource
  // Non-resource requests are matched on the requestURI without its query.
  std::string_view path;
  if (!is_resource) {
    path = event.request_uri();
    path = path.substr(0, path.find('?'));
  }
  const std::string_view verb = event.verb();
  for (const Rule& rule : compiled_->rules) {
    if (Matches(rule, event, verb, resource, path)) return rule.decision;
  }
  return compiled_->no_match;
}

}  // namespace kubetrail::audit
