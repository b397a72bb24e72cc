#include "audit/event_batch.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "audit/codec.h"
#include "audit/codec_testing.h"
#include "gtest/gtest.h"

namespace kubetrail::audit {
namespace {

// An event with every kind of field the arena holds: strings, sub-messages, repeated
// fields, a map, raw JSON; `body_bytes` of request object.
kubetrail::v1::Event MakeEvent(int i, size_t body_bytes = 200) {
  kubetrail::v1::Event e;
  e.set_level("RequestResponse");
  e.set_audit_id(absl::StrCat("5f0e8a1c-0000-4000-8000-", 100000000000 + i));
  e.set_stage(i % 2 == 0 ? "ResponseComplete" : "RequestReceived");
  e.set_request_uri(absl::StrCat("/api/v1/namespaces/team-", i, "/pods?limit=500"));
  e.set_verb("list");
  e.mutable_user()->set_username(absl::StrCat("system:serviceaccount:team-", i, ":builder"));
  e.mutable_user()->add_groups("system:serviceaccounts");
  e.mutable_user()->add_groups("system:authenticated");
  e.add_source_ips(absl::StrCat("10.0.", i % 250, ".7"));
  e.mutable_object_ref()->set_resource("pods");
  e.mutable_object_ref()->set_namespace_(absl::StrCat("team-", i));
  e.mutable_response_status()->set_code(200);
  e.set_request_object(
      absl::StrCat("{\"kind\":\"Pod\",\"pad\":\"", std::string(body_bytes, 'p'), "\"}"));
  e.set_request_received_timestamp_us(1'800'000'000'000'000 + i);
  e.set_stage_timestamp_us(1'800'000'000'000'100 + i);
  (*e.mutable_annotations())["authorization.k8s.io/decision"] = "allow";
  (*e.mutable_annotations())["authorization.k8s.io/reason"] = absl::StrCat("rule ", i);
  // As decoded (which records the presence of repeated and map fields).
  kubetrail::v1::Event decoded;
  EXPECT_TRUE(EventDecoder().Decode(EncodeEventJson(e), &decoded).ok());
  return decoded;
}

std::vector<kubetrail::v1::Event> MakeEvents(int n, int first = 0, size_t body_bytes = 200) {
  std::vector<kubetrail::v1::Event> events;
  for (int i = first; i < first + n; ++i) events.push_back(MakeEvent(i, body_bytes));
  return events;
}

// Reads all of `body` into `batch` (cleared first); returns the errors.
std::vector<std::string> ReadAll(const std::string& body, EventBatch& batch) {
  batch.Clear();
  EventReader reader(body);
  std::vector<std::string> errors;
  while (true) {
    absl::StatusOr<bool> more = batch.ReadNext(reader);
    if (!more.ok()) {
      errors.emplace_back(more.status().message());
      continue;
    }
    if (!*more) break;
  }
  return errors;
}

void ExpectSame(const EventBatch& batch, const std::vector<kubetrail::v1::Event>& want) {
  ASSERT_EQ(batch.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    std::string diff;
    EXPECT_TRUE(testing::SameEvent(*batch.events()[i], want[i], &diff)) << "event " << i << diff;
  }
}

TEST(EventBatchTest, HoldsEveryDecodedEventInOrderAndSkipsTheBadOnes) {
  std::vector<kubetrail::v1::Event> events = MakeEvents(5);
  std::string body = testing::EventListJson(events);
  // Make the third event undecodable: its stage becomes a number.
  const std::string stage = absl::StrCat("\"stage\":\"", events[2].stage(), "\"");
  const size_t third = body.find(events[2].audit_id());
  const size_t at = body.find(stage, third);
  ASSERT_NE(at, std::string::npos);
  body.replace(at, stage.size(), "\"stage\":7");

  EventBatch batch;
  const std::vector<std::string> errors = ReadAll(body, batch);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("items[2]"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("\"stage\""), std::string::npos) << errors[0];
  events.erase(events.begin() + 2);
  ExpectSame(batch, events);
}

TEST(EventBatchTest, ClearDropsTheEventsAndTheNextInputDecodesAfresh) {
  EventBatch batch;
  for (int round = 0; round < 5; ++round) {
    // Different sizes each round: what the arena kept must never show through.
    const std::vector<kubetrail::v1::Event> events =
        MakeEvents(50 + 30 * round, 1000 * round, 100 + 400 * static_cast<size_t>(round));
    EXPECT_TRUE(ReadAll(testing::EventListJson(events), batch).empty());
    ExpectSame(batch, events);
  }
  batch.Clear();
  EXPECT_TRUE(batch.empty());
  EXPECT_TRUE(batch.events().empty());
}

TEST(EventBatchTest, TheFirstBlockGrowsToTheLargestInputUpToItsBound) {
  // 400 events of ~2.5 KB: about 1 MB of arena.
  const std::vector<kubetrail::v1::Event> events = MakeEvents(400, 0, 2000);
  const std::string body = testing::EventListJson(events);

  EventBatch grows;
  const size_t first = grows.kept_bytes();
  ReadAll(body, grows);
  grows.Clear();
  const size_t grown = grows.kept_bytes();
  EXPECT_GT(grown, first);
  // The next input of the same size fits: the block stays as it is.
  ReadAll(body, grows);
  ExpectSame(grows, events);
  grows.Clear();
  EXPECT_EQ(grows.kept_bytes(), grown);

  const size_t bound = size_t{128} << 10;
  EventBatch bounded(bound);
  for (int round = 0; round < 3; ++round) {
    ReadAll(body, bounded);
    ExpectSame(bounded, events);  // what does not fit the first block is allocated anyway
    bounded.Clear();
    EXPECT_LE(bounded.kept_bytes(), bound);
  }
}

TEST(EventBatchTest, AddGivesAnEmptyEventInTheBatch) {
  EventBatch batch;
  ReadAll(testing::EventListJson(MakeEvents(2)), batch);
  kubetrail::v1::Event* added = batch.Add();
  EXPECT_EQ(added->ByteSizeLong(), 0u);
  added->set_audit_id("added");
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch.events()[2]->audit_id(), "added");
}

TEST(EventBatchTest, AFailedEventLeavesNothingBehindInTheNextOne) {
  // The bad event's partial content (its auditID was read before the bad stage) must not
  // leak into the event decoded next into the same space.
  kubetrail::v1::Event good = MakeEvent(1);
  const std::string bad = absl::StrCat(
      "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\","
      "\"auditID\":\"bad-one\",\"annotations\":{\"leak\":\"yes\"},\"stage\":[]}");
  const std::string body = absl::StrCat(bad, "\n", EncodeEventJson(good), "\n");
  EventBatch batch;
  const std::vector<std::string> errors = ReadAll(body, batch);
  ASSERT_EQ(errors.size(), 1u);
  ExpectSame(batch, {good});
}

}  // namespace
}  // namespace kubetrail::audit
