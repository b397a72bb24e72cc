// Small text helpers for tests.
//
//   std::string input = Lines({kEventA, kEventB});   // "A\nB\n"
//   EXPECT_EQ(SampleValue(registry.Expose(), R"(kubetrail_x_total{source="tail"})"), 3);
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

// The value of `sample` (a metric name with its labels, exactly as exposed) in a Prometheus
// text exposition, or -1 when it is not there.
inline double SampleValue(std::string_view exposition, std::string_view sample) {
  const std::string prefix = std::string("\n").append(sample).append(" ");
  const std::string text = std::string("\n").append(exposition);
  const size_t at = text.find(prefix);
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + prefix.size()));
}

}  // namespace kubetrail::testing

#endif  // KUBETRAIL_TESTS_TESTING_TEXT_H_
