#include "services/collector/intake.h"

#include <memory>
#include <string>
#include <vector>

#include "audit/policy.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "common/strings.h"
#include "gtest/gtest.h"
#include "services/collector/spool/spool.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/text.h"

namespace kubetrail::collector {
namespace {

using kubetrail::v1::EnvelopedEvent;
using kubetrail::v1::Event;

constexpr char kPolicy[] = R"(apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: None
  users: ["system:kube-proxy"]
- level: Metadata
  resources:
  - group: ""
    resources: ["secrets"]
- level: RequestResponse
)";

std::shared_ptr<const audit::Policy> CompiledPolicy() {
  absl::StatusOr<audit::PolicySpec> spec = audit::ParsePolicy(kPolicy, {}, nullptr);
  EXPECT_TRUE(spec.ok()) << spec.status();
  absl::StatusOr<audit::Policy> policy = audit::Policy::Compile(*spec);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return std::make_shared<const audit::Policy>(*std::move(policy));
}

Event MakeEvent(std::string_view audit_id, std::string_view user, std::string_view resource,
                std::string_view stage, std::string_view level = "RequestResponse") {
  Event e;
  e.set_level(std::string(level));
  e.set_audit_id(std::string(audit_id));
  e.set_stage(std::string(stage));
  e.set_verb("get");
  e.set_request_uri(Cat("/api/v1/namespaces/default/", resource, "/x"));
  e.mutable_user()->set_username(std::string(user));
  e.mutable_object_ref()->set_resource(std::string(resource));
  e.mutable_object_ref()->set_namespace_("default");
  e.mutable_object_ref()->set_name("x");
  e.set_request_object(R"({"kind":"Thing","spec":{"a":1}})");
  e.set_response_object(R"({"kind":"Thing","status":{"b":2}})");
  return e;
}

std::vector<Event*> Pointers(std::vector<Event>& events) {
  std::vector<Event*> out;
  for (Event& e : events) out.push_back(&e);
  return out;
}

class IntakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SpoolConfig config;
    ASSERT_TRUE(dir_.ok()) << dir_.error();
    config.dir = dir_.File("spool");
    config.max_bytes = 8000;
    absl::StatusOr<std::unique_ptr<Spool>> spool = Spool::Open(config, clock_);
    ASSERT_TRUE(spool.ok()) << spool.status();
    spool_ = *std::move(spool);
    intake_ = std::make_unique<Intake>(
        *spool_, IntakeConfig{.cluster = "prod-eu", .source = "api-1"}, clock_, &registry_);
  }

  std::vector<EnvelopedEvent> Spooled(uint64_t after = 0) {
    std::vector<SpooledEvent> read;
    absl::StatusOr<size_t> n = spool_->Read(after, 1000, size_t{1} << 30, &read);
    EXPECT_TRUE(n.ok()) << n.status();
    std::vector<EnvelopedEvent> out;
    for (const SpooledEvent& s : read) {
      EXPECT_TRUE(out.emplace_back().ParseFromString(s.bytes));
    }
    return out;
  }

  testing::TempDir dir_;
  FakeClock clock_;
  Registry registry_;
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<Intake> intake_;
};

TEST_F(IntakeTest, WithoutAPolicyEveryEventIsSpooledAsReceivedWithTheEnvelope) {
  std::vector<Event> events = {MakeEvent("a", "alice", "pods", "ResponseComplete"),
                               MakeEvent("b", "bob", "secrets", "RequestReceived")};
  const std::vector<Event> sent = events;
  ASSERT_TRUE(intake_->Accept(Source::kWebhook, Pointers(events), 0).ok());

  const std::vector<EnvelopedEvent> spooled = Spooled();
  ASSERT_EQ(spooled.size(), 2u);
  for (size_t i = 0; i < spooled.size(); ++i) {
    EXPECT_EQ(spooled[i].envelope().cluster(), "prod-eu");
    EXPECT_EQ(spooled[i].envelope().source(), "api-1");
    EXPECT_EQ(spooled[i].envelope().receive_time_us(), clock_.NowMicros());
    EXPECT_EQ(spooled[i].event().SerializeAsString(), sent[i].SerializeAsString()) << i;
  }
  EXPECT_EQ(testing::SampleValue(registry_.Expose(),
                                 R"(kubetrail_collector_events_received_total{source="webhook"})"),
            2);
  EXPECT_EQ(testing::SampleValue(registry_.Expose(),
                                 R"(kubetrail_collector_events_spooled_total{source="webhook"})"),
            2);
  EXPECT_EQ(testing::SampleValue(
                registry_.Expose(),
                R"(kubetrail_collector_events_policy_kept_total{level="RequestResponse"})"),
            2);
}

TEST_F(IntakeTest, ThePolicyDropsLowersAndOmitsStagesAndEachIsCounted) {
  intake_->SetPolicy(CompiledPolicy());
  std::vector<Event> events = {
      MakeEvent("proxy", "system:kube-proxy", "endpoints", "ResponseComplete"),  // level None
      MakeEvent("secret", "alice", "secrets", "ResponseComplete"),               // Metadata
      MakeEvent("early", "alice", "pods", "RequestReceived"),                    // omitted stage
      MakeEvent("pod", "alice", "pods", "ResponseComplete", "Request"),          // kept at Request
  };
  ASSERT_TRUE(intake_->Accept(Source::kTail, Pointers(events), /*undecodable=*/3).ok());

  const std::vector<EnvelopedEvent> spooled = Spooled();
  ASSERT_EQ(spooled.size(), 2u);
  EXPECT_EQ(spooled[0].event().audit_id(), "secret");
  EXPECT_EQ(spooled[0].event().level(), "Metadata");
  EXPECT_FALSE(spooled[0].event().has_request_object());
  EXPECT_FALSE(spooled[0].event().has_response_object());
  EXPECT_EQ(spooled[1].event().audit_id(), "pod");
  EXPECT_EQ(spooled[1].event().level(), "Request");  // the event's own level caps the rule's
  EXPECT_TRUE(spooled[1].event().has_request_object());
  EXPECT_FALSE(spooled[1].event().has_response_object());

  EXPECT_EQ(testing::SampleValue(registry_.Expose(),
                                 R"(kubetrail_collector_events_received_total{source="tail"})"),
            4);
  EXPECT_EQ(testing::SampleValue(registry_.Expose(),
                                 R"(kubetrail_collector_events_spooled_total{source="tail"})"),
            2);
  EXPECT_EQ(
      testing::SampleValue(
          registry_.Expose(),
          R"(kubetrail_collector_events_dropped_total{source="any",reason="policy_level_none"})"),
      1);
  EXPECT_EQ(
      testing::SampleValue(
          registry_.Expose(),
          R"(kubetrail_collector_events_dropped_total{source="any",reason="policy_omitted_stage"})"),
      1);
  EXPECT_EQ(testing::SampleValue(
                registry_.Expose(),
                R"(kubetrail_collector_events_dropped_total{source="tail",reason="undecodable"})"),
            3);
  EXPECT_EQ(
      testing::SampleValue(registry_.Expose(),
                           R"(kubetrail_collector_events_policy_kept_total{level="Metadata"})"),
      1);
  EXPECT_EQ(
      testing::SampleValue(registry_.Expose(),
                           R"(kubetrail_collector_events_policy_kept_total{level="Request"})"),
      1);
}

TEST_F(IntakeTest, PreparedEventsAreAppendedWithThePositionAndAFullSpoolRefusesThem) {
  // Prepare on one thread's data, Append later: the events may be reused in between.
  std::vector<Event> events = {MakeEvent("a", "alice", "pods", "ResponseComplete")};
  SerializedEvents prepared;
  intake_->Prepare(Source::kTail, Pointers(events), 0, prepared);
  events[0].set_audit_id("changed after Prepare");
  const SpoolPosition position{"tail:/var/log/audit.log", "offset 42"};
  ASSERT_TRUE(intake_->Append(Source::kTail, prepared, &position).ok());
  std::vector<EnvelopedEvent> spooled = Spooled();
  ASSERT_EQ(spooled.size(), 1u);
  EXPECT_EQ(spooled[0].event().audit_id(), "a");
  absl::StatusOr<std::optional<std::string>> stored = spool_->Position(position.key);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->value_or(""), "offset 42");

  // Fill the spool (8000 bytes) until it refuses: the refused events are counted, not lost
  // silently, and nothing of them is appended.
  std::vector<Event> big = {MakeEvent("big", "alice", "pods", "ResponseComplete")};
  big[0].set_request_object(Cat("{\"pad\":\"", std::string(3000, 'p'), "\"}"));
  absl::Status status;
  int appended = 0;
  while ((status = intake_->Accept(Source::kWebhook, Pointers(big), 0)).ok()) ++appended;
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_EQ(Spooled().size(), 1u + appended);
  EXPECT_EQ(testing::SampleValue(registry_.Expose(),
                                 R"(kubetrail_collector_events_refused_total{source="webhook"})"),
            1);
  EXPECT_EQ(testing::SampleValue(registry_.Expose(),
                                 R"(kubetrail_collector_events_spooled_total{source="webhook"})"),
            appended);
}

}  // namespace
}  // namespace kubetrail::collector
