// Loading an audit.k8s.io/v1 Policy: ParsePolicy and LoadPolicyFile (policy.h).
//
// Upstream (k8s.io/apiserver pkg/audit/policy/reader.go) converts YAML to JSON, decodes it
// strictly and, when only strictness failed, leniently; then it checks the group/version, runs
// ValidatePolicy and rejects a policy without rules. This file does the same in one walk of the
// yaml-cpp node tree, so that every problem is reported with its field path and source line:
//   - the walk mirrors Go's decoding: null means "absent", scalars resolve as YAML 1.1 does in
//     go-yaml v2 (so `users: [yes]` is a boolean and a type error, as upstream);
//   - unknown and duplicate fields are errors with options.strict, otherwise warnings (the last
//     duplicate wins, as in Go's lenient decoding);
//   - ValidatePolicy's checks (§4.2 of k8s-audit-semantics.md) run on the decoded values, with
//     messages modelled on k8s.io/apimachinery field errors.
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <exception>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_join.h"
#include "audit/policy.h"
#include "common/strings.h"
#include "yaml-cpp/yaml.h"

namespace kubetrail::audit {
namespace {

constexpr std::string_view kApiVersion = "audit.k8s.io/v1";
constexpr std::string_view kKind = "Policy";
constexpr std::string_view kSupportedLevels = R"("None", "Metadata", "Request", "RequestResponse")";
constexpr std::string_view kAllowedStages =
    "allowed stages are RequestReceived,ResponseStarted,ResponseComplete,Panic";

// 1-based line of `node`, 0 when yaml-cpp has no position for it.
int LineOf(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? 0 : mark.line + 1;
}

// Appends `.name` (or `[index]`) to a field path.
std::string Child(std::string_view path, std::string_view name) {
  return path.empty() ? std::string(name) : Cat(path, ".", name);
}
std::string Index(std::string_view path, size_t i) { return Cat(path, "[", i, "]"); }

// Go's %q of a string, enough for field errors: quotes and backslashes escaped.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  out += '"';
  return out;
}

// Go's %#v of a []string, as field.Invalid prints a list value: []string{"a", "b"}.
std::string QuoteList(const std::vector<std::string>& list) {
  std::vector<std::string> quoted;
  quoted.reserve(list.size());
  for (const std::string& s : list) quoted.push_back(Quote(s));
  return Cat("[]string{", absl::StrJoin(quoted, ", "), "}");
}

// What a scalar means once YAML 1.1 resolution (go-yaml v2, used by sigs.k8s.io/yaml) is done.
enum class ScalarKind { kString, kBool, kNumber };

// go-yaml v2's booleans (YAML 1.1): y/yes/true/on and n/no/false/off in three spellings.
std::optional<bool> ResolveBool(std::string_view s) {
  for (std::string_view t :
       {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"}) {
    if (s == t) return true;
  }
  for (std::string_view f :
       {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"}) {
    if (s == f) return false;
  }
  return std::nullopt;
}

// go-yaml v2's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
bool IsYamlFloat(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    const size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  } else {
    if (!digits()) return false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      digits();
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

// Whether a plain scalar is a number for go-yaml v2: with underscores removed, Go's ParseInt
// (base 0: 0x / 0o / 0b / leading-0 octal), "0b" binary, or a yamlStyleFloat; also YAML's
// .inf / .nan spellings. Only scalars starting with a digit, a sign or a dot are candidates, as
// in go-yaml's resolve table.
bool ResolvesAsNumber(std::string_view s) {
  if (s.empty()) return false;
  const char c0 = s[0];
  if (!(c0 == '+' || c0 == '-' || c0 == '.' || (c0 >= '0' && c0 <= '9'))) return false;
  std::string_view body = s;
  if (body[0] == '+' || body[0] == '-') body.remove_prefix(1);
  for (std::string_view special : {".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN"}) {
    if (body == special) return true;
  }
  std::string plain;
  for (char c : s) {
    if (c != '_') plain += c;
  }
  if (IsYamlFloat(plain)) return true;  // covers decimal integers too
  // Prefixed integers: 0x, 0o, 0b (leading-0 octal is a yamlStyleFloat already).
  std::string_view rest = std::string_view(plain).substr(plain[0] == '+' || plain[0] == '-');
  if (rest.size() < 3 || rest[0] != '0') return false;
  const char p = rest[1];
  int base = 0;
  if (p == 'x' || p == 'X') base = 16;
  if (p == 'o' || p == 'O') base = 8;
  if (p == 'b' || p == 'B') base = 2;
  if (base == 0) return false;
  const std::string number(rest.substr(2));
  // strtoull would accept leading blanks and signs; Go does not.
  if (!std::isalnum(static_cast<unsigned char>(number[0]))) return false;
  char* end = nullptr;
  std::strtoull(number.c_str(), &end, base);
  return end != number.c_str() && *end == '\0';
}

ScalarKind Resolve(const YAML::Node& node) {
  const std::string& tag = node.Tag();
  // "!" = quoted; an explicit !!str keeps the text a string too.
  if (tag == "!" || tag == "tag:yaml.org,2002:str") return ScalarKind::kString;
  if (ResolveBool(node.Scalar())) return ScalarKind::kBool;
  if (ResolvesAsNumber(node.Scalar())) return ScalarKind::kNumber;
  return ScalarKind::kString;
}

// A short description of a node for type errors: `string "alice"`, `a list`, `a mapping`.
std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      switch (Resolve(node)) {
        case ScalarKind::kBool:
          return Cat("boolean ", node.Scalar(), " (quote it to make it a string)");
        case ScalarKind::kNumber:
          return Cat("number ", node.Scalar(), " (quote it to make it a string)");
        case ScalarKind::kString:
          return Cat("string ", Quote(node.Scalar()));
      }
      break;
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

// One key of a mapping: its line and its value.
struct Field {
  int line = 0;  // the key's line
  YAML::Node value;
};
using Fields = std::map<std::string, Field, std::less<>>;

// The walk over one document: builds the spec, collects errors and ignored fields.
class Loader {
 public:
  Loader(const PolicyLoadOptions& options, std::vector<PolicyWarning>* warnings)
      : options_(options), warnings_(warnings) {}

  absl::StatusOr<PolicySpec> Load(const YAML::Node& root);

 private:
  void Error(std::string_view path, int line, std::string_view message) {
    std::string text = path.empty() ? std::string(message) : Cat(path, ": ", message);
    if (line > 0) text += Cat(" (line ", line, ")");
    errors_.push_back(std::move(text));
  }
  // A field that strict decoding rejects and lenient decoding drops.
  void Ignored(std::string_view path, int line, std::string message) {
    if (options_.strict) {
      Error(path, line, message);
    } else if (warnings_ != nullptr) {
      warnings_->push_back(PolicyWarning{std::string(path), line, std::move(message)});
    }
  }
  void TypeError(std::string_view path, int line, std::string_view want, const YAML::Node& got) {
    Error(path, line, Cat("Invalid type: expected ", want, ", got ", Describe(got)));
  }

  // The known fields of mapping `node` (at `path`); the last of duplicates wins. Unknown and
  // duplicate keys are reported through Ignored().
  Fields MapFields(const YAML::Node& node, std::string_view path,
                   std::initializer_list<std::string_view> known);

  // Decoders for one value at `path` (`line` = its key's line). A null value is absent.
  std::string String(const YAML::Node& node, std::string_view path, int line);
  // `lines`, when given, receives each item's line.
  std::vector<std::string> StringList(const YAML::Node& node, std::string_view path, int line,
                                      std::vector<int>* lines = nullptr);
  std::optional<bool> Bool(const YAML::Node& node, std::string_view path, int line);

  std::vector<std::string> OmitStages(const YAML::Node& node, std::string_view path, int line);
  PolicyRuleSpec Rule(const YAML::Node& node, std::string_view path);
  GroupResourcesSpec Resources(const YAML::Node& node, std::string_view path);
  // Checks apiVersion and kind; false when the document is not an audit.k8s.io/v1 Policy.
  bool CheckTypeMeta(const Fields& fields, int root_line);

  const PolicyLoadOptions& options_;
  std::vector<PolicyWarning>* warnings_;
  std::vector<std::string> errors_;
};

Fields Loader::MapFields(const YAML::Node& node, std::string_view path,
                         std::initializer_list<std::string_view> known) {
  Fields fields;
  for (auto it = node.begin(); it != node.end(); ++it) {
    // Copies: the iterator's -> yields a temporary pair proxy.
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    const int line = LineOf(key);
    // Go object keys are strings; a null or complex key can never name a field.
    std::string name = key.IsScalar() ? key.Scalar() : Cat("<", Describe(key), ">");
    bool is_known = false;
    for (std::string_view k : known) is_known = is_known || (key.IsScalar() && name == k);
    if (!is_known) {
      Ignored(Child(path, name), line, Cat("unknown field ", Quote(name)));
      continue;
    }
    auto [slot, inserted] = fields.try_emplace(name);
    if (!inserted) Ignored(Child(path, name), line, Cat("duplicate field ", Quote(name)));
    slot->second = Field{line, value};
  }
  return fields;
}

std::string Loader::String(const YAML::Node& node, std::string_view path, int line) {
  if (node.IsNull()) return "";
  if (node.IsScalar() && Resolve(node) == ScalarKind::kString) return node.Scalar();
  TypeError(path, line, "a string", node);
  return "";
}

std::vector<std::string> Loader::StringList(const YAML::Node& node, std::string_view path, int line,
                                            std::vector<int>* lines) {
  std::vector<std::string> out;
  if (node.IsNull()) return out;
  if (!node.IsSequence()) {
    TypeError(path, line, "a list of strings", node);
    return out;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node item = node[i];
    const int item_line = LineOf(item) > 0 ? LineOf(item) : line;
    out.push_back(String(item, Index(path, i), item_line));
    if (lines != nullptr) lines->push_back(item_line);
  }
  return out;
}

std::optional<bool> Loader::Bool(const YAML::Node& node, std::string_view path, int line) {
  if (node.IsNull()) return std::nullopt;
  if (node.IsScalar() && Resolve(node) == ScalarKind::kBool) return ResolveBool(node.Scalar());
  TypeError(path, line, "a boolean", node);
  return std::nullopt;
}

// Decodes an omitStages list and validates each entry (validateOmitStages).
std::vector<std::string> Loader::OmitStages(const YAML::Node& node, std::string_view path,
                                            int line) {
  std::vector<int> lines;
  std::vector<std::string> stages = StringList(node, path, line, &lines);
  for (size_t i = 0; i < stages.size(); ++i) {
    if (!ParseStage(stages[i])) {
      Error(Index(path, i), lines[i],
            Cat("Invalid value: ", Quote(stages[i]), ": ", kAllowedStages));
    }
  }
  return stages;
}

// DNS-1123 subdomain (k8s.io/apimachinery IsDNS1123Subdomain) plus the 63-character label limit;
// returns the problems, empty when `s` is valid.
std::vector<std::string> DnsSubdomainErrors(std::string_view s) {
  std::vector<std::string> errors;
  if (s.size() > 253) errors.push_back("must be no more than 253 characters");
  bool well_formed = !s.empty();
  bool long_label = false;
  size_t start = 0;
  while (well_formed && start <= s.size()) {
    size_t end = s.find('.', start);
    if (end == std::string_view::npos) end = s.size();
    const std::string_view label = s.substr(start, end - start);
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (label.empty() || !alnum(label.front()) || !alnum(label.back())) well_formed = false;
    for (char c : label) {
      if (!alnum(c) && c != '-') well_formed = false;
    }
    if (label.size() > 63) long_label = true;
    start = end + 1;
  }
  if (!well_formed) {
    errors.push_back(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
        "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
        "regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
  }
  if (long_label) errors.push_back("each label must be no more than 63 characters");
  return errors;
}

GroupResourcesSpec Loader::Resources(const YAML::Node& node, std::string_view path) {
  GroupResourcesSpec spec;
  if (node.IsNull()) return spec;  // a null entry decodes as the zero GroupResources
  if (!node.IsMap()) {
    TypeError(path, LineOf(node), "a mapping (GroupResources)", node);
    return spec;
  }
  const Fields fields = MapFields(node, path, {"group", "resources", "resourceNames"});
  int group_line = LineOf(node);
  if (auto f = fields.find("group"); f != fields.end()) {
    group_line = f->second.line;
    spec.group = String(f->second.value, Child(path, "group"), f->second.line);
  }
  if (auto f = fields.find("resources"); f != fields.end()) {
    spec.resources = StringList(f->second.value, Child(path, "resources"), f->second.line);
  }
  int names_line = LineOf(node);
  if (auto f = fields.find("resourceNames"); f != fields.end()) {
    names_line = f->second.line;
    spec.resource_names = StringList(f->second.value, Child(path, "resourceNames"), f->second.line);
  }
  // validateResources: "" is the core group; "*" (any group) is accepted since 1.36.
  if (!spec.group.empty() && spec.group != "*") {
    if (std::vector<std::string> msgs = DnsSubdomainErrors(spec.group); !msgs.empty()) {
      Error(Child(path, "group"), group_line,
            Cat("Invalid value: ", Quote(spec.group), ": ", absl::StrJoin(msgs, ",")));
    }
  }
  if (!spec.resource_names.empty() && spec.resources.empty()) {
    Error(Child(path, "resourceNames"), names_line,
          Cat("Invalid value: ", QuoteList(spec.resource_names),
              ": using resourceNames requires at least one resource"));
  }
  return spec;
}

PolicyRuleSpec Loader::Rule(const YAML::Node& node, std::string_view path) {
  PolicyRuleSpec rule;
  rule.line = LineOf(node);
  if (!node.IsNull() && !node.IsMap()) {
    TypeError(path, rule.line, "a mapping (PolicyRule)", node);
    return rule;
  }
  // A null rule decodes as the zero PolicyRule, which then fails validation (no level).
  const Fields fields =
      node.IsNull() ? Fields()
                    : MapFields(node, path,
                                {"level", "users", "userGroups", "verbs", "resources", "namespaces",
                                 "nonResourceURLs", "omitStages", "omitManagedFields"});
  auto list = [&](std::string_view name, std::vector<std::string>* out,
                  std::vector<int>* lines = nullptr) {
    if (auto f = fields.find(name); f != fields.end()) {
      *out = StringList(f->second.value, Child(path, name), f->second.line, lines);
    }
  };
  int level_line = rule.line;
  bool level_typed = true;  // false after a type error, which needs no second error
  if (auto f = fields.find("level"); f != fields.end()) {
    level_line = f->second.line;
    const size_t errors_before = errors_.size();
    rule.level = String(f->second.value, Child(path, "level"), f->second.line);
    level_typed = errors_.size() == errors_before;
  }
  list("users", &rule.users);
  list("userGroups", &rule.user_groups);
  list("verbs", &rule.verbs);
  int resources_line = rule.line;
  if (auto f = fields.find("resources"); f != fields.end()) {
    resources_line = f->second.line;
    const YAML::Node& value = f->second.value;
    const std::string resources_path = Child(path, "resources");
    if (value.IsSequence()) {
      for (size_t i = 0; i < value.size(); ++i) {
        rule.resources.push_back(Resources(value[i], Index(resources_path, i)));
      }
    } else if (!value.IsNull()) {
      TypeError(resources_path, f->second.line, "a list of GroupResources", value);
    }
  }
  list("namespaces", &rule.namespaces);
  std::vector<int> url_lines;
  list("nonResourceURLs", &rule.non_resource_urls, &url_lines);
  if (auto f = fields.find("omitStages"); f != fields.end()) {
    rule.omit_stages = OmitStages(f->second.value, Child(path, "omitStages"), f->second.line);
  }
  if (auto f = fields.find("omitManagedFields"); f != fields.end()) {
    rule.omit_managed_fields =
        Bool(f->second.value, Child(path, "omitManagedFields"), f->second.line);
  }

  // validatePolicyRule.
  if (!level_typed) {
    // Already reported.
  } else if (rule.level.empty()) {
    Error(Child(path, "level"), level_line, "Required value");
  } else if (!ParseLevel(rule.level)) {
    Error(Child(path, "level"), level_line,
          Cat("Unsupported value: ", Quote(rule.level), ": supported values: ", kSupportedLevels));
  }
  const std::string urls_path = Child(path, "nonResourceURLs");
  for (size_t i = 0; i < rule.non_resource_urls.size(); ++i) {
    const std::string& url = rule.non_resource_urls[i];
    if (url == "*") continue;
    if (url.empty() || url[0] != '/') {
      Error(Index(urls_path, i), url_lines[i],
            Cat("Invalid value: ", Quote(url), ": must start with \"/\""));
    }
    if (!url.empty() && url.find('*') < url.size() - 1) {
      Error(Index(urls_path, i), url_lines[i],
            Cat("Invalid value: ", Quote(url),
                ": non-resource URL wildcards '*' must be the final character of the rule"));
    }
  }
  if (!rule.non_resource_urls.empty() && (!rule.resources.empty() || !rule.namespaces.empty())) {
    const auto f = fields.find("nonResourceURLs");
    Error(urls_path, f != fields.end() ? f->second.line : resources_line,
          Cat("Invalid value: ", QuoteList(rule.non_resource_urls),
              ": rules cannot apply to both regular resources and non-resource URLs"));
  }
  return rule;
}

bool Loader::CheckTypeMeta(const Fields& fields, int root_line) {
  bool ok = true;
  // Missing apiVersion/kind is what upstream reports as "unknown group version field".
  auto value = [&](std::string_view name, int* line) -> std::string {
    const auto f = fields.find(name);
    if (f == fields.end()) return "";
    *line = f->second.line;
    return String(f->second.value, name, f->second.line);
  };
  int line = root_line;
  size_t errors_before = errors_.size();
  const std::string api_version = value("apiVersion", &line);
  if (errors_.size() > errors_before) {
    ok = false;  // not a string: already reported
  } else if (api_version.empty()) {
    Error("apiVersion", line,
          Cat("Required value: unknown group version field in policy (want ", Quote(kApiVersion),
              ")"));
    ok = false;
  } else if (api_version == "audit.k8s.io/v1beta1" || api_version == "audit.k8s.io/v1alpha1") {
    Error("apiVersion", line,
          Cat("Unsupported value: ", Quote(api_version), ": ", api_version,
              " was removed in Kubernetes 1.24; supported values: ", Quote(kApiVersion)));
    ok = false;
  } else if (api_version != kApiVersion) {
    Error(
        "apiVersion", line,
        Cat("Unsupported value: ", Quote(api_version), ": supported values: ", Quote(kApiVersion)));
    ok = false;
  }
  line = root_line;
  errors_before = errors_.size();
  const std::string kind = value("kind", &line);
  if (errors_.size() > errors_before) {
    ok = false;
  } else if (kind.empty()) {
    Error("kind", line,
          Cat("Required value: unknown group version field in policy (want ", Quote(kKind), ")"));
    ok = false;
  } else if (kind != kKind) {
    Error("kind", line,
          Cat("Unsupported value: ", Quote(kind), ": supported values: ", Quote(kKind)));
    ok = false;
  }
  return ok;
}

absl::StatusOr<PolicySpec> Loader::Load(const YAML::Node& root) {
  PolicySpec spec;
  // An empty document (or one holding only comments / null) has no rules: the loader's error.
  if (!root.IsDefined() || root.IsNull()) {
    return absl::InvalidArgumentError(
        "loaded illegal policy with 0 rules (the policy document is empty)");
  }
  if (!root.IsMap()) {
    TypeError("", LineOf(root), "a Policy mapping (object)", root);
    return absl::InvalidArgumentError(errors_.front());
  }
  const Fields fields = MapFields(
      root, "", {"apiVersion", "kind", "metadata", "rules", "omitStages", "omitManagedFields"});
  // With the wrong type the rest of the schema is unknown: report only what is known so far.
  if (CheckTypeMeta(fields, LineOf(root))) {
    // metadata (ObjectMeta) is ignored whatever it holds.
    bool rules_ok = true;
    int rules_line = 0;
    if (auto f = fields.find("rules"); f != fields.end()) {
      rules_line = f->second.line;
      const YAML::Node& value = f->second.value;
      if (value.IsSequence()) {
        for (size_t i = 0; i < value.size(); ++i) {
          spec.rules.push_back(Rule(value[i], Index("rules", i)));
        }
      } else if (!value.IsNull()) {
        TypeError("rules", f->second.line, "a list of rules", value);
        rules_ok = false;
      }
    }
    if (auto f = fields.find("omitStages"); f != fields.end()) {
      spec.omit_stages = OmitStages(f->second.value, "omitStages", f->second.line);
    }
    if (auto f = fields.find("omitManagedFields"); f != fields.end()) {
      spec.omit_managed_fields =
          Bool(f->second.value, "omitManagedFields", f->second.line).value_or(false);
    }
    if (rules_ok && spec.rules.empty()) {
      Error("", rules_line, "loaded illegal policy with 0 rules");
    }
  }
  if (!errors_.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors_, "\n"));
  return spec;
}

// Reads the whole file; NotFound / PermissionDenied / ... carry the path and strerror.
absl::StatusOr<std::string> ReadFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, Cat("cannot open audit policy file ", path));
  std::string text;
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      return absl::ErrnoToStatus(error, Cat("cannot read audit policy file ", path));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

}  // namespace

absl::StatusOr<PolicySpec> ParsePolicy(std::string_view text, const PolicyLoadOptions& options,
                                       std::vector<PolicyWarning>* warnings) {
  // yaml-cpp reports through exceptions; none may leave this function.
  try {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      // JSON is YAML, so this covers malformed JSON too. e.mark.line is 0-based.
      std::string message = Cat("malformed policy (YAML/JSON): ", e.msg);
      if (!e.mark.is_null()) message += Cat(" (line ", e.mark.line + 1, ")");
      return absl::InvalidArgumentError(message);
    }
    Loader loader(options, warnings);
    return loader.Load(root);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(Cat("malformed policy (YAML/JSON): ", e.msg));
  } catch (const std::exception& e) {
    return absl::InternalError(Cat("loading the audit policy failed: ", e.what()));
  }
}

absl::StatusOr<PolicySpec> LoadPolicyFile(const std::string& path, const PolicyLoadOptions& options,
                                          std::vector<PolicyWarning>* warnings) {
  absl::StatusOr<std::string> text;
  try {
    text = ReadFile(path);
  } catch (const std::exception& e) {  // std::bad_alloc from a huge file
    return absl::ResourceExhaustedError(
        Cat("cannot read audit policy file ", path, ": ", e.what()));
  }
  if (!text.ok()) return text.status();
  absl::StatusOr<PolicySpec> spec = ParsePolicy(*text, options, warnings);
  if (!spec.ok()) {
    return absl::Status(spec.status().code(), Cat(path, ": ", ToStd(spec.status().message())));
  }
  return spec;
}

}  // namespace kubetrail::audit
