#include "common/yaml_config.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace kubetrail::yaml {
namespace {

struct Sample {
  std::string name;
  uint32_t count = 0;
  bool on = false;
  double rate = 0;
  absl::Duration wait;
  std::vector<std::string> tags;
};

absl::Status Read(std::string_view text, Sample& s) {
  absl::StatusOr<YAML::Node> root = Parse(text);
  if (!root.ok()) return root.status();
  using N = const YAML::Node&;
  using P = const std::string&;
  return Map(*root, "",
             {{"name", [&](N n, P p) { return String(n, p, s.name); }},
              {"nested",
               [&](N n, P p) {
                 return Map(n, p,
                            {{"count", [&](N m, P q) { return Unsigned(m, q, s.count, true); }},
                             {"on", [&](N m, P q) { return Bool(m, q, s.on); }}});
               }},
              {"rate", [&](N n, P p) { return Double(n, p, s.rate); }},
              {"wait", [&](N n, P p) { return Duration(n, p, s.wait); }},
              {"tags", [&](N n, P p) { return Strings(n, p, s.tags); }}});
}

TEST(YamlConfigTest, ReadsEveryKind) {
  Sample s;
  ASSERT_TRUE(Read("name: x\nnested: {count: 7, on: true}\nrate: 2.5\nwait: 1m30s\n"
                   "tags: [a, b]\n",
                   s)
                  .ok());
  EXPECT_EQ(s.name, "x");
  EXPECT_EQ(s.count, 7u);
  EXPECT_TRUE(s.on);
  EXPECT_EQ(s.rate, 2.5);
  EXPECT_EQ(s.wait, absl::Seconds(90));
  EXPECT_EQ(s.tags, (std::vector<std::string>{"a", "b"}));
}

TEST(YamlConfigTest, ErrorsNameTheLineAndKey) {
  Sample s;
  absl::Status st = Read("name: x\nnested:\n  count: ten\n", s);
  EXPECT_EQ(st.message(), "line 3: nested.count: want a positive integer, got \"ten\"");
  EXPECT_EQ(s.count, 0u);
  st = Read("nmae: x\n", s);
  EXPECT_EQ(st.message(), "line 1: nmae: unknown key (known: name, nested, rate, tags, wait)");
  st = Read("nested: {count: 0}\n", s);
  EXPECT_NE(st.message().find("positive"), std::string::npos);
  st = Read("nested: {count: 4294967296}\n", s);
  EXPECT_NE(st.message().find("want a positive integer"), std::string::npos);
  st = Read("wait: soon\n", s);
  EXPECT_EQ(st.message(), "line 1: wait: want a duration such as 30s, 5m or 1h, got \"soon\"");
  st = Read("rate: -1\n", s);
  EXPECT_NE(st.message().find("non-negative number"), std::string::npos);
  st = Read("name: [unclosed\n", s);
  EXPECT_NE(st.message().find("not valid YAML"), std::string::npos);
}

TEST(YamlConfigTest, LoopbackAddresses) {
  EXPECT_TRUE(IsLoopbackAddress("127.0.0.1:7443"));
  EXPECT_TRUE(IsLoopbackAddress("[::1]:7443"));
  EXPECT_TRUE(IsLoopbackAddress("localhost:1"));
  EXPECT_FALSE(IsLoopbackAddress("0.0.0.0:7443"));
  EXPECT_FALSE(IsLoopbackAddress("10.0.0.1:7443"));
}

}  // namespace
}  // namespace kubetrail::yaml
