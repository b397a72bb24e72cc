#include "common/yaml_config.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "common/strings.h"

namespace kubetrail::yaml {
namespace {

std::string Text(const YAML::Node& node) {
  return node.IsScalar() ? Cat("\"", node.Scalar(), "\"") : std::string("a non-scalar value");
}

}  // namespace

absl::StatusOr<YAML::Node> Parse(std::string_view text) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(Cat("line ", e.mark.line + 1, ": not valid YAML: ", e.msg));
  }
}

absl::Status Bad(const YAML::Node& node, std::string_view path, std::string_view what) {
  return absl::InvalidArgumentError(Cat("line ", node.Mark().line + 1, ": ", path, ": ", what));
}

absl::Status String(const YAML::Node& n, std::string_view path, std::string& out) {
  if (!n.IsScalar()) return Bad(n, path, "want a string");
  out = n.Scalar();
  return absl::OkStatus();
}

absl::Status Bool(const YAML::Node& n, std::string_view path, bool& out) {
  if (n.IsScalar() && (n.Scalar() == "true" || n.Scalar() == "false")) {
    out = n.Scalar() == "true";
    return absl::OkStatus();
  }
  return Bad(n, path, Cat("want true or false, got ", Text(n)));
}

absl::Status Uint64(const YAML::Node& n, std::string_view path, uint64_t max, bool positive,
                    uint64_t& out) {
  uint64_t v = 0;
  if (!n.IsScalar() || !absl::SimpleAtoi(n.Scalar(), &v) || (positive && v == 0) || v > max) {
    return Bad(n, path,
               Cat("want a ", positive ? "positive" : "non-negative", " integer, got ", Text(n)));
  }
  out = v;
  return absl::OkStatus();
}

absl::Status Double(const YAML::Node& n, std::string_view path, double& out) {
  double v = 0;
  if (!n.IsScalar() || !absl::SimpleAtod(n.Scalar(), &v) || !(v >= 0) ||
      v == std::numeric_limits<double>::infinity()) {
    return Bad(n, path, Cat("want a non-negative number, got ", Text(n)));
  }
  out = v;
  return absl::OkStatus();
}

absl::Status Duration(const YAML::Node& n, std::string_view path, absl::Duration& out) {
  absl::Duration d;
  if (!n.IsScalar() || !absl::ParseDuration(n.Scalar(), &d) || d < absl::ZeroDuration()) {
    return Bad(n, path, Cat("want a duration such as 30s, 5m or 1h, got ", Text(n)));
  }
  out = d;
  return absl::OkStatus();
}

absl::Status Strings(const YAML::Node& n, std::string_view path, std::vector<std::string>& out) {
  if (!n.IsSequence()) return Bad(n, path, "want a list of strings");
  std::vector<std::string> values;
  for (size_t i = 0; i < n.size(); ++i) {
    KT_RETURN_IF_ERROR(String(n[i], Cat(path, "[", i, "]"), values.emplace_back()));
  }
  out = std::move(values);
  return absl::OkStatus();
}

absl::Status Map(const YAML::Node& n, std::string_view path,
                 const std::map<std::string, Field>& fields) {
  if (!n.IsMap()) return Bad(n, path.empty() ? "config" : path, "want a mapping");
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    const std::string child = path.empty() ? key : Cat(path, ".", key);
    auto it = fields.find(key);
    if (it == fields.end()) {
      std::vector<std::string> known;
      for (const auto& [name, f] : fields) known.push_back(name);
      return Bad(kv.first, child, Cat("unknown key (known: ", absl::StrJoin(known, ", "), ")"));
    }
    KT_RETURN_IF_ERROR(it->second(kv.second, child));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return absl::NotFoundError(Cat("config ", path, ": cannot read: ", std::strerror(errno)));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool IsLoopbackAddress(std::string_view listen) {
  return listen.rfind("127.", 0) == 0 || listen.rfind("[::1]:", 0) == 0 ||
         listen.rfind("localhost:", 0) == 0;
}

}  // namespace kubetrail::yaml
