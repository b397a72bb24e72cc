// The comparison every end-to-end test relies on: a lost, duplicated or unexpected line is
// counted (so an e2e test cannot pass by comparing nothing). No processes.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/e2e/cluster.h"

namespace kubetrail {
namespace {

TEST(E2eCompareTest, ExactInputIsExact) {
  const std::vector<std::string> in = {"{\"a\":1}", "{\"b\":2}", "{\"c\":3}"};
  const e2e::Figures f = e2e::Compare(in, {"{\"c\":3}", "{\"a\":1}", "{\"b\":2}"});
  EXPECT_TRUE(f.exact()) << e2e::Describe(f);
  EXPECT_EQ(f.expected, 3u);
  EXPECT_EQ(f.stored, 3u);
}

TEST(E2eCompareTest, CountsLostDuplicatedAndUnexpected) {
  const std::vector<std::string> in = {"{\"a\":1}", "{\"b\":2}", "{\"c\":3}", "{\"d\":4}"};
  // b lost, a stored three times, c twice, one line never sent, one that differs by a byte.
  const e2e::Figures f = e2e::Compare(in, {"{\"a\":1}", "{\"a\":1}", "{\"a\":1}", "{\"c\":3}",
                                           "{\"c\":3}", "{\"x\":0}", "{\"d\":4 }"});
  EXPECT_FALSE(f.exact());
  EXPECT_EQ(f.expected, 4u);
  EXPECT_EQ(f.stored, 7u);
  EXPECT_EQ(f.lost, 2u);  // b, and d (only a near copy came back)
  EXPECT_EQ(f.duplicated, 3u);
  EXPECT_EQ(f.unexpected, 2u);
  EXPECT_FALSE(f.examples.empty());
}

TEST(E2eCompareTest, NothingStoredIsAllLost) {
  const e2e::Figures f = e2e::Compare({"{\"a\":1}", "{\"a\":1}", "{\"b\":2}"}, {});
  EXPECT_EQ(f.expected, 2u);  // the same event sent twice is one event
  EXPECT_EQ(f.lost, 2u);
  EXPECT_FALSE(f.exact());
}

}  // namespace
}  // namespace kubetrail
