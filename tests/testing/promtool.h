// `promtool check metrics` (Debian package prometheus, installed by scripts/install-deps.sh)
// over a Prometheus text exposition, as a gtest expectation: the exposition must lint clean.
//
//   ExpectPromtoolClean(http.Get("/metrics")->body);
#ifndef KUBETRAIL_TESTS_TESTING_PROMTOOL_H_
#define KUBETRAIL_TESTS_TESTING_PROMTOOL_H_

#include <string>

#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"

namespace kubetrail::testing {

inline void ExpectPromtoolClean(const std::string& exposition) {
  SubprocessOptions options;
  options.stdin_data = exposition;
  auto promtool = RunSubprocess({"/usr/bin/promtool", "check", "metrics"}, options);
  ASSERT_TRUE(promtool.ok()) << promtool.status()
                             << " (scripts/install-deps.sh installs promtool, package prometheus)";
  EXPECT_EQ(promtool->exit_code, 0) << promtool->stdout_data << promtool->stderr_data;
  EXPECT_EQ(promtool->stdout_data + promtool->stderr_data, "");
}

}  // namespace kubetrail::testing

#endif  // KUBETRAIL_TESTS_TESTING_PROMTOOL_H_
