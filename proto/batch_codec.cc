#include "proto/batch_codec.h"

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/zstd_frame.h"

namespace kubetrail {

absl::Status CompressBatchEvents(kubetrail::v1::Batch& batch, int level) {
  // Without its sequence, the batch serializes to exactly its events (those spliced in as
  // unknown fields included): the content zstd_events carries.
  const uint64_t sequence = batch.sequence();
  batch.clear_sequence();
  std::string events;
  batch.SerializeToString(&events);
  batch.Clear();
  batch.set_sequence(sequence);
  return ZstdCompress(events, level, batch.mutable_zstd_events());
}

absl::Status InflateBatchEvents(kubetrail::v1::Batch& batch, size_t max_bytes) {
  if (batch.events_size() > 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch ", batch.sequence(), " has both events and zstd_events"));
  }
  std::string bytes;
  if (absl::Status s = ZstdDecompress(batch.zstd_events(), max_bytes, &bytes); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch ", batch.sequence(), ": zstd_events: ", s.message()));
  }
  kubetrail::v1::Batch inner;
  if (!inner.ParseFromString(bytes) || inner.sequence() != 0 || !inner.zstd_events().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batch ", batch.sequence(), ": zstd_events does not hold a Batch of events only"));
  }
  batch.clear_zstd_events();
  batch.mutable_events()->Swap(inner.mutable_events());
  return absl::OkStatus();
}

}  // namespace kubetrail
