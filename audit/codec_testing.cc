#include "audit/codec_testing.h"

#include <string>
#include <vector>

#include "audit/codec.h"
#include "google/protobuf/util/message_differencer.h"
#include "kubetrail/v1/event.pb.h"

namespace kubetrail::audit::testing {

using ::kubetrail::v1::Event;

bool SameEvent(const Event& a, const Event& b, std::string* diff) {
  Event x = a;
  Event y = b;
  x.clear_source_api_version();
  y.clear_source_api_version();
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(diff);
  return differencer.Compare(x, y);
}

std::string EventListJson(const std::vector<Event>& events) {
  std::vector<const Event*> pointers;
  pointers.reserve(events.size());
  for (const Event& event : events) pointers.push_back(&event);
  std::string body;
  AppendEventListJson(pointers, &body);
  return body;
}

}  // namespace kubetrail::audit::testing
