#include "proto/enveloped_event_wire.h"

#include <cstring>
#include <string>

#include "gtest/gtest.h"
#include "kubetrail/v1/event.pb.h"

namespace kubetrail {
namespace {

// The head, then the event's bytes, are byte for byte what EnvelopedEvent's serializer
// writes: envelopes and events whose lengths take one, two and three bytes, and empty ones.
TEST(EnvelopedEventWireTest, HeadAndEventAreTheEnvelopedEventsBytes) {
  for (size_t cluster_bytes : {0, 5, 200, 20'000}) {
    for (size_t name_bytes : {0, 10, 300, 70'000}) {
      kubetrail::v1::EnvelopedEvent want;
      if (cluster_bytes > 0) {
        want.mutable_envelope()->set_cluster(std::string(cluster_bytes, 'c'));
        want.mutable_envelope()->set_receive_time_us(1'800'000'000'123'456);
      } else {
        want.mutable_envelope();  // present, and empty
      }
      if (name_bytes > 0) {
        want.mutable_event()->set_audit_id("a-1");
        want.mutable_event()->mutable_object_ref()->set_name(std::string(name_bytes, 'n'));
      } else {
        want.mutable_event();
      }
      const std::string envelope = want.envelope().SerializeAsString();
      const std::string event = want.event().SerializeAsString();
      std::string got(EnvelopedEventSize(envelope.size(), event.size()), '\0');
      uint8_t* start = reinterpret_cast<uint8_t*>(got.data());
      uint8_t* p = WriteEnvelopedEventHead(envelope, event.size(), start);
      ASSERT_EQ(static_cast<size_t>(p - start) + event.size(), got.size())
          << cluster_bytes << " " << name_bytes;
      std::memcpy(p, event.data(), event.size());
      EXPECT_EQ(got, want.SerializeAsString()) << cluster_bytes << " " << name_bytes;

      // The envelope as a message, sized first.
      std::string from_message(got.size(), '\0');
      start = reinterpret_cast<uint8_t*>(from_message.data());
      want.envelope().ByteSizeLong();
      p = WriteEnvelopedEventHead(want.envelope(), event.size(), start);
      ASSERT_EQ(static_cast<size_t>(p - start) + event.size(), from_message.size());
      std::memcpy(p, event.data(), event.size());
      EXPECT_EQ(from_message, got) << cluster_bytes << " " << name_bytes;
    }
  }
}

}  // namespace
}  // namespace kubetrail
