// Bridges between std::string_view and absl::string_view.
//
// Debian's Abseil 20220623 is built with ABSL_OPTION_USE_STD_STRING_VIEW=0: absl::string_view
// is its own class there, and absl::StrCat / absl::Status do not take a std::string_view.
// kubetrail code uses std::string_view everywhere and crosses into Abseil through these.
//
//   return absl::InvalidArgumentError(Cat("unknown key \"", key, "\" at byte ", offset));
#ifndef KUBETRAIL_COMMON_STRINGS_H_
#define KUBETRAIL_COMMON_STRINGS_H_

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace kubetrail {

inline absl::string_view ToAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}
inline std::string_view ToStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

namespace strings_internal {
template <typename T>
decltype(auto) Bridge(T&& v) {
  if constexpr (std::is_convertible_v<T, std::string_view> &&
                !std::is_convertible_v<T, absl::string_view>) {
    return ToAbsl(std::string_view(v));
  } else {
    return std::forward<T>(v);
  }
}
}  // namespace strings_internal

// absl::StrCat that also accepts std::string_view arguments.
template <typename... Args>
std::string Cat(Args&&... args) {
  return absl::StrCat(strings_internal::Bridge(std::forward<Args>(args))...);
}

}  // namespace kubetrail

#endif  // KUBETRAIL_COMMON_STRINGS_H_
