// Reading a daemon's YAML config file into a struct: strict (unknown keys are errors, listing
// the known ones), every error naming the source line and the dotted key path, e.g.
// `line 4: limits.max_batch_events: want a positive integer, got "ten"`. Used by the
// aggregator's and the collector's config.
//
//   using kubetrail::yaml::Field;
//   KT_ASSIGN_OR_RETURN(YAML::Node root, yaml::Parse(text));
//   return yaml::Map(root, "", {
//       {"listen", [&](const YAML::Node& n, const std::string& p) {
//          return yaml::String(n, p, config.listen); }},
//       {"spool", [&](const YAML::Node& n, const std::string& p) {
//          return yaml::Map(n, p, {...}); }},
//   });
//
// Each reader leaves `out` untouched on error.
#ifndef KUBETRAIL_COMMON_YAML_CONFIG_H_
#define KUBETRAIL_COMMON_YAML_CONFIG_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "yaml-cpp/yaml.h"

namespace kubetrail::yaml {

// Parses YAML text; InvalidArgument with the line for a syntax error. An empty text gives a
// null node.
absl::StatusOr<YAML::Node> Parse(std::string_view text);

// InvalidArgument "line L: PATH: WHAT".
absl::Status Bad(const YAML::Node& node, std::string_view path, std::string_view what);

absl::Status String(const YAML::Node& n, std::string_view path, std::string& out);
absl::Status Bool(const YAML::Node& n, std::string_view path, bool& out);
// A decimal integer; `positive` also refuses 0.
absl::Status Uint64(const YAML::Node& n, std::string_view path, uint64_t max, bool positive,
                    uint64_t& out);
template <typename T>
absl::Status Unsigned(const YAML::Node& n, std::string_view path, T& out, bool positive) {
  uint64_t v = 0;
  absl::Status s =
      Uint64(n, path, static_cast<uint64_t>(std::numeric_limits<T>::max()), positive, v);
  if (s.ok()) out = static_cast<T>(v);
  return s;
}
// A non-negative number (e.g. a rate).
absl::Status Double(const YAML::Node& n, std::string_view path, double& out);
// A non-negative Go-style duration: "30s", "5m", "1h30m", "250ms".
absl::Status Duration(const YAML::Node& n, std::string_view path, absl::Duration& out);
// A list of strings.
absl::Status Strings(const YAML::Node& n, std::string_view path, std::vector<std::string>& out);

// Reads the value of one key; `path` is its dotted path for messages.
using Field = std::function<absl::Status(const YAML::Node& value, const std::string& path)>;
// Walks the mapping `n` (at dotted `path`, "" for the root), calling the field of each key;
// a key without a field is an error that lists the known keys.
absl::Status Map(const YAML::Node& n, std::string_view path,
                 const std::map<std::string, Field>& fields);

// Reads a whole file; NotFound naming it when it cannot be read.
absl::StatusOr<std::string> ReadConfigFile(const std::string& path);

// Whether a "host:port" listen address is on loopback (127.x, [::1], localhost): what --dev
// allows.
bool IsLoopbackAddress(std::string_view listen);

}  // namespace kubetrail::yaml

#endif  // KUBETRAIL_COMMON_YAML_CONFIG_H_
