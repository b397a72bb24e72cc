// Test helpers shared by the codec's tests (codec_test.cc, corpus_test.cc): comparing decoded
// events, and EventList bodies of decoded events. Test-only: the library kubetrail::audit
// never links this (kubetrail::audit_testing is built with the tests).
//
//   std::string diff;
//   EXPECT_TRUE(testing::SameEvent(decoded, expected, &diff)) << diff;
//   EventReader reader(testing::EventListJson(events));
#ifndef KUBETRAIL_AUDIT_CODEC_TESTING_H_
#define KUBETRAIL_AUDIT_CODEC_TESTING_H_

#include <string>
#include <vector>

#include "kubetrail/v1/event.pb.h"

namespace kubetrail::audit::testing {

// Proto equality of two events, ignoring source_api_version (which is never encoded). When
// they differ, *diff describes the differences (MessageDifferencer's report).
bool SameEvent(const kubetrail::v1::Event& a, const kubetrail::v1::Event& b, std::string* diff);

// The EventList body of `events`, in order (AppendEventListJson into a new string).
std::string EventListJson(const std::vector<kubetrail::v1::Event>& events);

}  // namespace kubetrail::audit::testing

#endif  // KUBETRAIL_AUDIT_CODEC_TESTING_H_
