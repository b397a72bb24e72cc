// Both halves of Batch.zstd_events (proto/kubetrail/v1/ingest.proto): the sender's
// compression of a batch's events and the receiver's inflation back into them. The shipper,
// the aggregator and the tests' fake aggregator all use these, so the format lives here once.
#ifndef KUBETRAIL_PROTO_BATCH_CODEC_H_
#define KUBETRAIL_PROTO_BATCH_CODEC_H_

#include <cstddef>

#include "absl/status/status.h"
#include "kubetrail/v1/ingest.pb.h"

namespace kubetrail {

// Replaces the events of `batch` (parsed ones, and any spliced in as unknown fields) by one
// zstd frame of `level` (1-19) in zstd_events; the sequence stays. Internal on a zstd failure.
absl::Status CompressBatchEvents(kubetrail::v1::Batch& batch, int level);

// Replaces the zstd_events of `batch` by the events the frame holds. InvalidArgument naming
// the batch and the problem: events and zstd_events both set, a frame ZstdDecompress refuses
// (whose content would exceed `max_bytes` among them), or content that is not a Batch of
// events only.
absl::Status InflateBatchEvents(kubetrail::v1::Batch& batch, size_t max_bytes);

}  // namespace kubetrail

#endif  // KUBETRAIL_PROTO_BATCH_CODEC_H_
