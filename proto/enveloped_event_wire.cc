#include "proto/enveloped_event_wire.h"

#include <cstring>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "kubetrail/v1/event.pb.h"

namespace kubetrail {
namespace {

using google::protobuf::internal::WireFormatLite;
using Coded = google::protobuf::io::CodedOutputStream;

constexpr uint32_t kEnvelopeTag = WireFormatLite::MakeTag(
    kubetrail::v1::EnvelopedEvent::kEnvelopeFieldNumber, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
constexpr uint32_t kEventTag = WireFormatLite::MakeTag(
    kubetrail::v1::EnvelopedEvent::kEventFieldNumber, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);

// The event field's tag and length, after the envelope field.
uint8_t* WriteEventFieldHead(size_t event_bytes, uint8_t* out) {
  out = Coded::WriteVarint32ToArray(kEventTag, out);
  return Coded::WriteVarint32ToArray(static_cast<uint32_t>(event_bytes), out);
}

}  // namespace

size_t EnvelopedEventSize(size_t envelope_bytes, size_t event_bytes) {
  return Coded::VarintSize32(kEnvelopeTag) +
         Coded::VarintSize32(static_cast<uint32_t>(envelope_bytes)) + envelope_bytes +
         Coded::VarintSize32(kEventTag) + Coded::VarintSize32(static_cast<uint32_t>(event_bytes)) +
         event_bytes;
}

uint8_t* WriteEnvelopedEventHead(std::string_view envelope, size_t event_bytes, uint8_t* out) {
  out = Coded::WriteVarint32ToArray(kEnvelopeTag, out);
  out = Coded::WriteVarint32ToArray(static_cast<uint32_t>(envelope.size()), out);
  std::memcpy(out, envelope.data(), envelope.size());
  return WriteEventFieldHead(event_bytes, out + envelope.size());
}

uint8_t* WriteEnvelopedEventHead(const kubetrail::v1::Envelope& envelope, size_t event_bytes,
                                 uint8_t* out) {
  out = Coded::WriteVarint32ToArray(kEnvelopeTag, out);
  out = Coded::WriteVarint32ToArray(static_cast<uint32_t>(envelope.GetCachedSize()), out);
  out = envelope.SerializeWithCachedSizesToArray(out);
  return WriteEventFieldHead(event_bytes, out);
}

}  // namespace kubetrail
