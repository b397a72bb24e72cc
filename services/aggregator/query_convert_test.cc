// Unit tests of services/aggregator/convert.h: how Search chunks carry events the store parsed and events it left
// encoded.
#include "services/aggregator/convert.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/aggregator/testing/ingest_client.h"

namespace kubetrail::aggregator {
namespace {

namespace v1 = ::kubetrail::v1;

storage::StoredEvent Stored(const v1::EnvelopedEvent& event, uint64_t sequence, int64_t time_us,
                            bool encoded) {
  storage::StoredEvent out;
  out.sequence = sequence;
  out.time_us = time_us;
  if (encoded) {
    out.serialized = event.SerializeAsString();
  } else {
    out.event = event;
  }
  return out;
}

// Every mix of parsed and encoded events reads back, after a trip over the wire, as the
// events in the order they were appended, with their sequence and time (zero and negative
// times included).
TEST(AppendToChunkTest, AnyMixOfParsedAndEncodedEventsKeepsItsOrder) {
  const std::vector<v1::EnvelopedEvent> events = testing::Events(6, 5);
  const std::vector<std::vector<bool>> mixes = {
      {false, false, false, false, false, false}, {true, true, true, true, true, true},
      {false, true, false, true, false, true},    {true, false, false, true, true, false},
      {false, false, false, true, true, true},
  };
  const std::vector<int64_t> times = {0, -1, 1, -1'000'000'000'000, 1'793'491'200'000'000,
                                      INT64_MAX};
  for (const std::vector<bool>& mix : mixes) {
    v1::SearchResponse chunk;
    chunk.set_last(true);
    chunk.set_cursor("next");
    size_t bytes = 0;
    for (size_t i = 0; i < events.size(); ++i) {
      storage::StoredEvent e = Stored(events[i], i + 1, times[i], mix[i]);
      bytes += ChunkBytes(e);
      AppendToChunk(std::move(e), chunk);
    }
    EXPECT_GE(chunk.ByteSizeLong(), bytes);
    v1::SearchResponse wire;
    ASSERT_TRUE(wire.ParseFromString(chunk.SerializeAsString()));
    EXPECT_TRUE(wire.last());
    EXPECT_EQ(wire.cursor(), "next");
    ASSERT_EQ(wire.events_size(), static_cast<int>(events.size()));
    for (int i = 0; i < wire.events_size(); ++i) {
      const v1::StoredEvent& got = wire.events(i);
      EXPECT_EQ(got.sequence(), static_cast<uint64_t>(i + 1));
      EXPECT_EQ(got.time_us(), times[static_cast<size_t>(i)]);
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
          got.event(), events[static_cast<size_t>(i)]))
          << "position " << i;
    }
  }
}

TEST(ToProtoTest, ParsesAnEncodedEvent) {
  const std::vector<v1::EnvelopedEvent> events = testing::Events(1, 9);
  v1::StoredEvent out;
  ToProto(Stored(events[0], 7, 42, /*encoded=*/true), out);
  EXPECT_EQ(out.sequence(), 7u);
  EXPECT_EQ(out.time_us(), 42);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(out.event(), events[0]));
}

}  // namespace
}  // namespace kubetrail::aggregator
