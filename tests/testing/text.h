// Small text helpers for tests.
//
//   std::string input = Lines({kEventA, kEventB});   // "A\nB\n"
#ifndef KUBETRAIL_TESTS_TESTING_TEXT_H_
#define KUBETRAIL_TESTS_TESTING_TEXT_H_

#include <initializer_list>
#include <string>
#include <string_view>

namespace kubetrail::testing {

// Joins `lines`, each followed by '\n' (a JSON-lines file).
inline std::string Lines(std::initializer_list<std::string_view> lines) {
  std::string out;
  for (std::string_view line : lines) {
    out.append(line);
    out.push_back('\n');
  }
  return out;
}

}  // namespace kubetrail::testing

#endif  // KUBETRAIL_TESTS_TESTING_TEXT_H_
