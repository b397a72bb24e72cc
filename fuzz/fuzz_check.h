// Property checks for the fuzz targets. A failed check prints what was expected and aborts, so
// that libFuzzer saves the input as a crash and the replay test (replay_main.cc) fails.
//
//   KT_FUZZ_CHECK(reencoded == json, Cat("re-encoding differs:\n", json, "\n", reencoded));
//
// `detail` is evaluated only when the check fails.
#ifndef KUBETRAIL_FUZZ_FUZZ_CHECK_H_
#define KUBETRAIL_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace kubetrail::fuzz {

[[noreturn]] inline void CheckFailed(const char* file, int line, const char* condition,
                                     std::string_view detail) {
  std::fprintf(stderr, "%s:%d: fuzz property violated: %s\n%.*s\n", file, line, condition,
               static_cast<int>(detail.size()), detail.data());
  std::fflush(stderr);
  std::abort();
}

}  // namespace kubetrail::fuzz

#define KT_FUZZ_CHECK(condition, detail)                                        \
  do {                                                                          \
    if (!(condition)) {                                                         \
      ::kubetrail::fuzz::CheckFailed(__FILE__, __LINE__, #condition, (detail)); \
    }                                                                           \
  } while (false)

#endif  // KUBETRAIL_FUZZ_FUZZ_CHECK_H_
