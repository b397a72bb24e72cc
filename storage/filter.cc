#include "storage/filter.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "common/strings.h"

namespace kubetrail::storage {
namespace {

using kubetrail::v1::EnvelopedEvent;

absl::Status BadValue(std::string_view field, std::string_view value, std::string_view why) {
  return absl::InvalidArgumentError(Cat("filter ", field, ": \"", value, "\": ", why));
}

// Checks that no value of `values` is empty.
absl::Status NoEmpty(std::string_view field, const std::vector<std::string>& values) {
  for (const std::string& v : values) {
    if (v.empty()) return BadValue(field, v, "empty value");
  }
  return absl::OkStatus();
}

std::vector<StringPattern> CompilePatterns(const std::vector<std::string>& values) {
  std::vector<StringPattern> out;
  out.reserve(values.size());
  for (const std::string& v : values) {
    if (!v.empty() && v.back() == '*') {
      out.push_back({v.substr(0, v.size() - 1), true});
    } else {
      out.push_back({v, false});
    }
  }
  return out;
}

absl::StatusOr<ResourcePattern> CompileResource(std::string_view text) {
  ResourcePattern p;
  std::string_view left = text;
  const size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    left = text.substr(0, slash);
    std::string_view sub = text.substr(slash + 1);
    if (sub.empty()) return BadValue("resources", text, "empty subresource after '/'");
    if (sub.find('/') != std::string_view::npos) {
      return BadValue("resources", text, "more than one '/'");
    }
    if (sub != "*") p.subresource = std::string(sub);
  } else {
    p.subresource = std::string();
  }
  if (left.empty()) return BadValue("resources", text, "empty resource");
  if (left != "*") {
    const size_t dot = left.find('.');
    if (dot == std::string_view::npos) {
      p.resource = std::string(left);
    } else {
      if (dot == 0 || dot + 1 == left.size()) {
        return BadValue("resources", text, "expected RESOURCE.GROUP");
      }
      p.resource = std::string(left.substr(0, dot));
      p.api_group = std::string(left.substr(dot + 1));
    }
  }
  return p;
}

absl::StatusOr<CodeRange> CompileCode(std::string_view text) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (text.size() == 3 && digit(text[0]) && text[0] != '0') {
    if (digit(text[1]) && digit(text[2])) {
      const int32_t v = (text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0');
      return CodeRange{v, v};
    }
    if ((text[1] == 'x' || text[1] == 'X') && (text[2] == 'x' || text[2] == 'X')) {
      const int32_t base = (text[0] - '0') * 100;
      return CodeRange{base, base + 99};
    }
  }
  return BadValue("codes", text, "expected a code such as 403 or a class such as 4xx");
}

bool InList(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

bool AnyPattern(const std::vector<StringPattern>& patterns, std::string_view value) {
  for (const StringPattern& p : patterns) {
    if (p.MatchesText(value)) return true;
  }
  return false;
}

}  // namespace

int64_t EventTimeMicros(const EnvelopedEvent& event) {
  const kubetrail::v1::Event& e = event.event();
  if (e.has_request_received_timestamp_us()) return e.request_received_timestamp_us();
  if (e.has_stage_timestamp_us()) return e.stage_timestamp_us();
  return event.envelope().receive_time_us();
}

bool StringPattern::MatchesText(std::string_view value) const {
  if (!prefix) return value == text;
  if (text.empty()) return !value.empty();
  return value.substr(0, text.size()) == text;
}

bool ResourcePattern::MatchesParts(std::string_view resource_name, std::string_view group,
                                   std::string_view subresource_name) const {
  if (resource && *resource != resource_name) return false;
  if (api_group && *api_group != group) return false;
  if (subresource && *subresource != subresource_name) return false;
  return true;
}

absl::Status QueryStop::Check() const {
  if (cancelled && cancelled()) return absl::CancelledError("the query was cancelled");
  if (deadline != absl::InfiniteFuture() && absl::Now() >= deadline) {
    return absl::DeadlineExceededError("the query ran past its deadline");
  }
  return absl::OkStatus();
}

absl::StatusOr<CompiledFilter> CompileFilter(const Filter& filter) {
  CompiledFilter c;
  c.source = filter;
  if (filter.from_us) c.from_us = *filter.from_us;
  if (filter.to_us) c.to_us = *filter.to_us;
  c.satisfiable = c.from_us < c.to_us;
  for (const auto& [field, values] :
       {std::pair<std::string_view, const std::vector<std::string>*>{"clusters", &filter.clusters},
        {"users", &filter.users},
        {"impersonated_users", &filter.impersonated_users},
        {"groups", &filter.groups},
        {"verbs", &filter.verbs},
        {"resources", &filter.resources},
        {"names", &filter.names},
        {"codes", &filter.codes},
        {"stages", &filter.stages},
        {"levels", &filter.levels},
        {"audit_ids", &filter.audit_ids},
        {"source_ips", &filter.source_ips}}) {
    if (absl::Status s = NoEmpty(field, *values); !s.ok()) return s;
  }
  c.users = CompilePatterns(filter.users);
  c.impersonated_users = CompilePatterns(filter.impersonated_users);
  for (const std::string& r : filter.resources) {
    absl::StatusOr<ResourcePattern> p = CompileResource(r);
    if (!p.ok()) return p.status();
    c.resources.push_back(*std::move(p));
  }
  for (const std::string& code : filter.codes) {
    absl::StatusOr<CodeRange> range = CompileCode(code);
    if (!range.ok()) return range.status();
    c.codes.push_back(*range);
  }
  return c;
}

bool Matches(const CompiledFilter& filter, const EnvelopedEvent& enveloped, int64_t time_us) {
  if (!filter.satisfiable) return false;
  if (time_us < filter.from_us || time_us >= filter.to_us) return false;
  const Filter& f = filter.source;
  const kubetrail::v1::Event& e = enveloped.event();
  if (!f.clusters.empty() && !InList(f.clusters, enveloped.envelope().cluster())) return false;
  if (!filter.users.empty() && !AnyPattern(filter.users, e.user().username())) return false;
  if (!filter.impersonated_users.empty() &&
      !AnyPattern(filter.impersonated_users, e.impersonated_user().username())) {
    return false;
  }
  if (!f.groups.empty()) {
    bool any = false;
    for (const std::string& g : e.user().groups()) {
      if (InList(f.groups, g)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  if (!f.verbs.empty() && !InList(f.verbs, e.verb())) return false;
  const kubetrail::v1::ObjectReference& ref = e.object_ref();
  if (!f.namespaces.empty() && !InList(f.namespaces, ref.namespace_())) return false;
  if (!filter.resources.empty()) {
    bool any = false;
    for (const ResourcePattern& p : filter.resources) {
      if (p.MatchesParts(ref.resource(), ref.api_group(), ref.subresource())) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  if (!f.api_groups.empty() && !InList(f.api_groups, ref.api_group())) return false;
  if (!f.names.empty() && !InList(f.names, ref.name())) return false;
  if (!filter.codes.empty()) {
    if (!e.response_status().has_code()) return false;
    const int32_t code = e.response_status().code();
    bool any = false;
    for (const CodeRange& r : filter.codes) {
      if (code >= r.min && code <= r.max) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  if (!f.stages.empty() && !InList(f.stages, e.stage())) return false;
  if (!f.levels.empty() && !InList(f.levels, e.level())) return false;
  if (!f.audit_ids.empty() && !InList(f.audit_ids, e.audit_id())) return false;
  if (!f.source_ips.empty()) {
    bool any = false;
    for (const std::string& ip : e.source_ips()) {
      if (InList(f.source_ips, ip)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  if (!f.user_agent_substring.empty() &&
      e.user_agent().find(f.user_agent_substring) == std::string::npos) {
    return false;
  }
  return true;
}

std::string ResourceKey(std::string_view resource, std::string_view api_group,
                        std::string_view subresource) {
  std::string key(resource);
  if (!api_group.empty()) key.append(".").append(api_group);
  if (!subresource.empty()) key.append("/").append(subresource);
  return key;
}

}  // namespace kubetrail::storage
