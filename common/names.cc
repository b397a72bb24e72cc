#include "common/names.h"

#include "common/strings.h"

namespace kubetrail {
namespace {

absl::Status CheckName(std::string_view field, std::string_view value, std::string_view extra) {
  if (value.empty() || value.size() > 253) {
    return absl::InvalidArgumentError(Cat(field, " must be 1-253 characters, got ", value.size()));
  }
  for (const char c : value) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    extra.find(c) != std::string_view::npos;
    if (!ok) {
      return absl::InvalidArgumentError(
          Cat(field, " \"", value, "\" has a character outside [A-Za-z0-9", extra, "]"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckClusterName(std::string_view field, std::string_view value) {
  return CheckName(field, value, "._-");
}

absl::Status CheckSourceName(std::string_view field, std::string_view value) {
  return CheckName(field, value, "._:-");
}

}  // namespace kubetrail
