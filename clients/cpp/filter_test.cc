// kubetrail/filter.h: text → kubetrail.v1.Filter, as the CLI's flags give it.
#include "kubetrail/filter.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kubetrail/v1/query.pb.h"

namespace kubetrail {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

// ----- flags → Filter ---------------------------------------------------------------------

const absl::Time kNow = absl::FromUnixSeconds(1'795'773'600);  // 2026-11-27T10:00:00Z

TEST(BuildFilterTest, NoFlagsSelectsEverything) {
  absl::StatusOr<v1::Filter> filter = BuildFilter({}, kNow);
  ASSERT_TRUE(filter.ok()) << filter.status();
  EXPECT_EQ(filter->ByteSizeLong(), 0u) << filter->DebugString();
}

TEST(BuildFilterTest, Since) {
  for (const auto& [text, back] : std::vector<std::pair<std::string, absl::Duration>>{
           {"2h", absl::Hours(2)},
           {"90m", absl::Minutes(90)},
           {"1h30m", absl::Minutes(90)},
           {"7d", absl::Hours(7 * 24)},
           {"1.5d", absl::Hours(36)},
           {"1d12h", absl::Hours(36)},
           {"250ms", absl::Milliseconds(250)},
       }) {
    FilterFlags flags;
    flags.since = text;
    absl::StatusOr<v1::Filter> filter = BuildFilter(flags, kNow);
    ASSERT_TRUE(filter.ok()) << text << ": " << filter.status();
    ASSERT_TRUE(filter->has_from_us()) << text;
    EXPECT_EQ(filter->from_us(), absl::ToUnixMicros(kNow - back)) << text;
    EXPECT_FALSE(filter->has_to_us()) << text;
  }
}

TEST(BuildFilterTest, BadSince) {
  for (const std::string text : {"x", "2", "-2h", "0s", "d", "7dd", "1d-2h", "inf", "2 h", "+2h"}) {
    FilterFlags flags;
    flags.since = text;
    absl::StatusOr<v1::Filter> filter = BuildFilter(flags, kNow);
    EXPECT_EQ(filter.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(filter.status().message()), StartsWith("--since: ")) << text;
  }
}

TEST(BuildFilterTest, FromAndTo) {
  struct Case {
    std::string text;
    int64_t micros;
  };
  const int64_t now_us = absl::ToUnixMicros(kNow);
  for (const Case& c : std::vector<Case>{
           {"2026-11-27T10:00:00Z", now_us},
           {"2026-11-27t10:00:00z", now_us},
           {"2026-11-27T10:00:00.5Z", now_us + 500'000},
           {"2026-11-27T10:00:00.123456789Z", now_us + 123'456},
           {"2026-11-27T11:30:00+01:30", now_us},
           {"2026-11-27T08:00:00-02:00", now_us},
           {"2026-11-27", now_us - 10 * 3'600'000'000LL},
           {"now", now_us},
           {"now-2h", now_us - 2 * 3'600'000'000LL},
           {"now-1d", now_us - 24 * 3'600'000'000LL},
       }) {
    FilterFlags flags;
    flags.from = c.text;
    absl::StatusOr<v1::Filter> filter = BuildFilter(flags, kNow);
    ASSERT_TRUE(filter.ok()) << c.text << ": " << filter.status();
    EXPECT_EQ(filter->from_us(), c.micros) << c.text;
    EXPECT_FALSE(filter->has_to_us()) << c.text;

    flags.from.clear();
    flags.to = c.text;
    filter = BuildFilter(flags, kNow);
    ASSERT_TRUE(filter.ok()) << c.text << ": " << filter.status();
    EXPECT_FALSE(filter->has_from_us()) << c.text;
    EXPECT_EQ(filter->to_us(), c.micros) << c.text;
  }

  FilterFlags flags;
  flags.from = "2026-11-27";
  flags.to = "2026-11-28T00:00:00Z";
  absl::StatusOr<v1::Filter> filter = BuildFilter(flags, kNow);
  ASSERT_TRUE(filter.ok()) << filter.status();
  EXPECT_EQ(filter->to_us() - filter->from_us(), 24 * 3'600'000'000LL);
}

TEST(BuildFilterTest, BadTimes) {
  for (const std::string text : {"yesterday", "2026-13-01", "2026-02-30", "2026-11-27T25:00:00Z",
                                 "2026-11-27T10:00:00", "1795773600", "now+2h", "now-", "now-x"}) {
    FilterFlags flags;
    flags.from = text;
    absl::StatusOr<v1::Filter> filter = BuildFilter(flags, kNow);
    EXPECT_EQ(filter.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(filter.status().message()), StartsWith("--from: ")) << text;
  }
  FilterFlags flags;
  flags.to = "soon";
  EXPECT_THAT(std::string(BuildFilter(flags, kNow).status().message()), StartsWith("--to: "));
}

TEST(BuildFilterTest, ConflictingTimes) {
  FilterFlags flags;
  flags.since = "2h";
  flags.from = "2026-11-27";
  EXPECT_THAT(std::string(BuildFilter(flags, kNow).status().message()), HasSubstr("--since"));
  flags.from.clear();
  flags.to = "2026-11-27";
  EXPECT_THAT(std::string(BuildFilter(flags, kNow).status().message()), HasSubstr("--since"));

  flags = {};
  flags.from = "2026-11-27T10:00:00Z";
  flags.to = "2026-11-27T10:00:00Z";  // [t, t) is empty
  absl::StatusOr<v1::Filter> filter = BuildFilter(flags, kNow);
  EXPECT_EQ(filter.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(filter.status().message()), HasSubstr("--to"));
  flags.to = "2026-11-26";
  EXPECT_FALSE(BuildFilter(flags, kNow).ok());
}

TEST(BuildFilterTest, ListsAreRepeatedOrCommaSeparated) {
  FilterFlags flags;
  flags.clusters = {"prod-eu,prod-us", "staging"};
  flags.users = {"alice", "system:serviceaccount:kube-system:*"};
  flags.impersonated_users = {"bob"};
  flags.groups = {"system:masters"};
  flags.verbs = {"get,list,watch"};
  flags.namespaces = {"", "kube-system"};  // "" = cluster-scoped
  flags.resources = {"pods/*,*/status", "deployments.apps"};
  flags.api_groups = {",apps"};  // core and apps
  flags.names = {"token"};
  flags.codes = {"403,5xx"};
  flags.stages = {"ResponseComplete"};
  flags.levels = {"Metadata,Request"};
  flags.audit_ids = {"7e1d2c3b-0000-4000-8000-000000000001"};
  flags.source_ips = {"10.0.0.1,::1"};
  flags.user_agent = "kubectl/v1.31, linux";
  absl::StatusOr<v1::Filter> filter = BuildFilter(flags, kNow);
  ASSERT_TRUE(filter.ok()) << filter.status();
  EXPECT_THAT(filter->clusters(), ElementsAre("prod-eu", "prod-us", "staging"));
  EXPECT_THAT(filter->users(), ElementsAre("alice", "system:serviceaccount:kube-system:*"));
  EXPECT_THAT(filter->impersonated_users(), ElementsAre("bob"));
  EXPECT_THAT(filter->groups(), ElementsAre("system:masters"));
  EXPECT_THAT(filter->verbs(), ElementsAre("get", "list", "watch"));
  EXPECT_THAT(filter->namespaces(), ElementsAre("", "kube-system"));
  EXPECT_THAT(filter->resources(), ElementsAre("pods/*", "*/status", "deployments.apps"));
  EXPECT_THAT(filter->api_groups(), ElementsAre("", "apps"));
  EXPECT_THAT(filter->names(), ElementsAre("token"));
  EXPECT_THAT(filter->codes(), ElementsAre("403", "5xx"));
  EXPECT_THAT(filter->stages(), ElementsAre("ResponseComplete"));
  EXPECT_THAT(filter->levels(), ElementsAre("Metadata", "Request"));
  EXPECT_THAT(filter->audit_ids(), ElementsAre("7e1d2c3b-0000-4000-8000-000000000001"));
  EXPECT_THAT(filter->source_ips(), ElementsAre("10.0.0.1", "::1"));
  EXPECT_EQ(filter->user_agent_substring(), "kubectl/v1.31, linux");
  EXPECT_FALSE(filter->has_from_us());
  EXPECT_FALSE(filter->has_to_us());
}

TEST(BuildFilterTest, EmptyAlternativesOnlyWhereTheyMeanSomething) {
  FilterFlags flags;
  flags.verbs = {"get,"};
  absl::StatusOr<v1::Filter> filter = BuildFilter(flags, kNow);
  EXPECT_EQ(filter.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(filter.status().message(), "--verb: empty value in \"get,\"");
  flags = {};
  flags.users = {""};
  EXPECT_THAT(std::string(BuildFilter(flags, kNow).status().message()), StartsWith("--user: "));
}

}  // namespace
}  // namespace kubetrail
