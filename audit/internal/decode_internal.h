// Implementation details of the codec shared between decode.cc and reader.cc. Not part of
// the audit library's contract.
#ifndef KUBETRAIL_AUDIT_INTERNAL_DECODE_INTERNAL_H_
#define KUBETRAIL_AUDIT_INTERNAL_DECODE_INTERNAL_H_

#include <simdjson.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "audit/codec.h"
#include "kubetrail/v1/event.pb.h"

namespace kubetrail::audit {

// What EventReader tells the decoder about the context of one event.
struct DecodeExtras {
  // apiVersion assumed when the event names none (an EventList item inherits the list's).
  std::string_view default_api_version;
  // When set, an object that turns out to be an EventList (kind "EventList", or an `items`
  // array before any kind "Event") stops the decode: *is_list is set and an error returned.
  bool* is_list = nullptr;
};

// EventDecoder's state, shared with EventReader (a friend), which takes over the parsed document
// when it turns out to be an EventList rather than parsing it again.
struct EventDecoder::Impl {
  simdjson::ondemand::parser parser;
  // The document of the last DecodePadded(); valid until the next call.
  simdjson::ondemand::document doc;
  std::string padded;  // copy of the input with simdjson's padding, for Decode()
};

// Decodes the event object `obj`, whose first byte is at `base` (error offsets count from
// there), into *event (cleared first). Used for EventList items, which are walked in place.
absl::Status DecodeEventObject(simdjson::ondemand::object& obj, const char* base,
                               const DecodeOptions& options, const DecodeExtras* extras,
                               kubetrail::v1::Event* event);

// A readable description of a simdjson error (no location).
std::string DescribeSimdjsonError(simdjson::error_code err, int max_depth);

// Rewrites an error from AppendCompactGoJson ("byte N: what", N relative to a value that
// starts at `base_offset`) into "byte <base_offset+N>: \"path\": what".
absl::Status RelocateError(const absl::Status& s, size_t base_offset, std::string_view path);

}  // namespace kubetrail::audit

#endif  // KUBETRAIL_AUDIT_INTERNAL_DECODE_INTERNAL_H_
