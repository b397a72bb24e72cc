// Status propagation macros with the meaning of Abseil's ABSL_RETURN_IF_ERROR /
// ABSL_ASSIGN_OR_RETURN, which Debian's Abseil (20220623) does not ship.
//
//   absl::Status Load(const std::string& path) {
//     KT_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
//     KT_RETURN_IF_ERROR(Parse(text));
//     return absl::OkStatus();
//   }
#ifndef KUBETRAIL_COMMON_STATUS_MACROS_H_
#define KUBETRAIL_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Evaluates `expr` (an absl::Status); returns it from the enclosing function unless OK.
#define KT_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::absl::Status _kt_status = (expr);      \
    if (!_kt_status.ok()) return _kt_status; \
  } while (0)

#define KT_INTERNAL_CONCAT_(a, b) a##b
#define KT_INTERNAL_CONCAT(a, b) KT_INTERNAL_CONCAT_(a, b)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status, otherwise moves
// the value into `lhs`, which may be a declaration (`auto x`, `std::string s`).
#define KT_ASSIGN_OR_RETURN(lhs, rexpr) \
  KT_INTERNAL_ASSIGN_OR_RETURN(KT_INTERNAL_CONCAT(_kt_statusor_, __LINE__), lhs, rexpr)

#define KT_INTERNAL_ASSIGN_OR_RETURN(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // KUBETRAIL_COMMON_STATUS_MACROS_H_
