// One-shot zstd compression of a buffer, and decompression with a cap on the result: the
// codec of the ingest protocol's Batch.zstd_events (proto/kubetrail/v1/ingest.proto).
//
//   std::string frame;
//   KT_RETURN_IF_ERROR(ZstdCompress(bytes, /*level=*/1, &frame));
//   std::string back;
//   KT_RETURN_IF_ERROR(ZstdDecompress(frame, /*max_bytes=*/64 << 20, &back));
//
// Thread safety: both functions may be called from any number of threads (each keeps its own
// zstd context, reused across calls).
#ifndef KUBETRAIL_COMMON_ZSTD_FRAME_H_
#define KUBETRAIL_COMMON_ZSTD_FRAME_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace kubetrail {

// Replaces `*out` by one zstd frame of `in` at `level` (1-19; 1 is the fastest), with the
// content size in the frame header and a checksum of the content. Internal on a zstd
// failure.
absl::Status ZstdCompress(std::string_view in, int level, std::string* out);

// Replaces `*out` by the content of the single zstd frame `frame`. InvalidArgument, naming
// the problem, when `frame` is not one whole zstd frame, does not carry its content size, or
// would decompress to more than `max_bytes` (checked before anything is allocated), or when
// its content is damaged (caught for sure when the frame has a checksum, as ZstdCompress's do).
absl::Status ZstdDecompress(std::string_view frame, size_t max_bytes, std::string* out);

}  // namespace kubetrail

#endif  // KUBETRAIL_COMMON_ZSTD_FRAME_H_
