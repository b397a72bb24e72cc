#include "common/zstd_frame.h"

#include <zstd.h>

#include <memory>

#include "common/strings.h"

namespace kubetrail {
namespace {

struct CCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

}  // namespace

absl::Status ZstdCompress(std::string_view in, int level, std::string* out) {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxFree> cctx(ZSTD_createCCtx());
  if (cctx == nullptr) return absl::ResourceExhaustedError("zstd: cannot create a context");
  // A checksum of the content too (4 bytes): damage inside the frame is an error rather than
  // different bytes.
  size_t n = ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, level);
  if (!ZSTD_isError(n)) n = ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 1);
  if (!ZSTD_isError(n)) {
    out->resize(ZSTD_compressBound(in.size()));
    n = ZSTD_compress2(cctx.get(), out->data(), out->size(), in.data(), in.size());
  }
  if (ZSTD_isError(n)) {
    out->clear();
    return absl::InternalError(Cat("zstd compression failed: ", ZSTD_getErrorName(n)));
  }
  out->resize(n);
  return absl::OkStatus();
}

absl::Status ZstdDecompress(std::string_view frame, size_t max_bytes, std::string* out) {
  out->clear();
  const size_t frame_size = ZSTD_findFrameCompressedSize(frame.data(), frame.size());
  if (ZSTD_isError(frame_size)) {
    return absl::InvalidArgumentError(
        Cat("not a whole zstd frame (", frame.size(), " bytes): ", ZSTD_getErrorName(frame_size)));
  }
  if (frame_size != frame.size()) {
    return absl::InvalidArgumentError(
        Cat(frame.size() - frame_size, " bytes follow the zstd frame; one frame expected"));
  }
  const unsigned long long size = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (size == ZSTD_CONTENTSIZE_UNKNOWN || size == ZSTD_CONTENTSIZE_ERROR) {
    return absl::InvalidArgumentError("the zstd frame does not record its content size");
  }
  if (size > max_bytes) {
    return absl::InvalidArgumentError(
        Cat("the zstd frame holds ", size, " bytes, over the limit of ", max_bytes));
  }
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxFree> dctx(ZSTD_createDCtx());
  if (dctx == nullptr) return absl::ResourceExhaustedError("zstd: cannot create a context");
  out->resize(static_cast<size_t>(size));
  const size_t n =
      ZSTD_decompressDCtx(dctx.get(), out->data(), out->size(), frame.data(), frame.size());
  if (ZSTD_isError(n) || n != size) {
    out->clear();
    return absl::InvalidArgumentError(
        Cat("the zstd frame does not decompress: ",
            ZSTD_isError(n) ? ZSTD_getErrorName(n) : "its content is not the size it records"));
  }
  return absl::OkStatus();
}

}  // namespace kubetrail
