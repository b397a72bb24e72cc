// The wire form of an EnvelopedEvent (proto/kubetrail/v1/event.proto) written around an
// event that is already encoded, without building the message: the collector's spool writes
// its records this way (one envelope for a whole batch) and the store its search results
// (the stored bytes of each event). The bytes are exactly those of EnvelopedEvent's own
// serializer: the envelope field, then the event field.
//
//   const std::string envelope = e.SerializeAsString();
//   std::string out(EnvelopedEventSize(envelope.size(), event.size()), '\0');
//   uint8_t* p = WriteEnvelopedEventHead(envelope, event.size(),
//                                        reinterpret_cast<uint8_t*>(out.data()));
//   std::memcpy(p, event.data(), event.size());
#ifndef KUBETRAIL_PROTO_ENVELOPED_EVENT_WIRE_H_
#define KUBETRAIL_PROTO_ENVELOPED_EVENT_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kubetrail/v1/event.pb.h"

namespace kubetrail {

// The encoded size of an EnvelopedEvent whose envelope encodes to `envelope_bytes` bytes and
// whose event encodes to `event_bytes` bytes.
size_t EnvelopedEventSize(size_t envelope_bytes, size_t event_bytes);

// Writes the envelope field (`envelope`: an encoded Envelope) and the event field's tag and
// length at `out`; the event's `event_bytes` bytes belong right after. Returns the end of what
// it wrote. `out` must have room for EnvelopedEventSize(envelope.size(), 0) + 5 bytes.
uint8_t* WriteEnvelopedEventHead(std::string_view envelope, size_t event_bytes, uint8_t* out);

// The same with the envelope as a message, serialized straight into `out` (no string in
// between): its ByteSizeLong() must have been called since its last change.
uint8_t* WriteEnvelopedEventHead(const kubetrail::v1::Envelope& envelope, size_t event_bytes,
                                 uint8_t* out);

}  // namespace kubetrail

#endif  // KUBETRAIL_PROTO_ENVELOPED_EVENT_WIRE_H_
