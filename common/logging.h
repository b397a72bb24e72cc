// The one logging facade (Debian's Abseil has no absl/log). Lines go to stderr as
//   2026-11-27T07:22:39.123456Z W component: message
// Nothing on a per-event hot path logs; errors that concern one event travel as absl::Status.
//
//   KT_LOG(kWarning, "policy") << "ignored unknown field " << path;
//
// Thread safety: safe from any thread; each line is written with one write(2).
#ifndef KUBETRAIL_COMMON_LOGGING_H_
#define KUBETRAIL_COMMON_LOGGING_H_

#include <sstream>
#include <string_view>

namespace kubetrail {

enum class LogSeverity { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Lines below this severity are discarded. Default: kInfo.
void SetMinLogSeverity(LogSeverity severity);
LogSeverity MinLogSeverity();

namespace logging_internal {

// Collects one line and writes it when destroyed.
class LogLine {
 public:
  LogLine(LogSeverity severity, std::string_view component);
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  LogSeverity severity_;
  std::ostringstream stream_;
};

}  // namespace logging_internal
}  // namespace kubetrail

#define KT_LOG(severity, component)                                       \
  if (::kubetrail::LogSeverity::severity < ::kubetrail::MinLogSeverity()) \
    ;                                                                     \
  else                                                                    \
    ::kubetrail::logging_internal::LogLine(::kubetrail::LogSeverity::severity, component).stream()

#endif  // KUBETRAIL_COMMON_LOGGING_H_
