#include "common/zstd_frame.h"

#include <zstd.h>

#include <string>

#include "gtest/gtest.h"

namespace kubetrail {
namespace {

std::string Sample() {
  std::string s;
  for (int i = 0; i < 5000; ++i) s += "{\"verb\":\"get\",\"n\":" + std::to_string(i) + "}";
  return s;
}

TEST(ZstdTest, RoundTripsAndCompresses) {
  const std::string in = Sample();
  std::string frame;
  ASSERT_TRUE(ZstdCompress(in, 1, &frame).ok());
  EXPECT_LT(frame.size(), in.size() / 4);
  std::string out = "old contents";
  ASSERT_TRUE(ZstdDecompress(frame, in.size(), &out).ok());
  EXPECT_EQ(out, in);
  // The empty buffer too.
  ASSERT_TRUE(ZstdCompress("", 1, &frame).ok());
  ASSERT_TRUE(ZstdDecompress(frame, 0, &out).ok());
  EXPECT_EQ(out, "");
}

TEST(ZstdTest, DecompressRefusesWhatItMustNot) {
  const std::string in = Sample();
  std::string frame;
  ASSERT_TRUE(ZstdCompress(in, 1, &frame).ok());
  std::string out;

  absl::Status s = ZstdDecompress(frame, in.size() - 1, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("over the limit"), std::string_view::npos) << s;

  s = ZstdDecompress(std::string_view(frame).substr(0, frame.size() - 3), in.size(), &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;

  s = ZstdDecompress(frame + "xx", in.size(), &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("follow the zstd frame"), std::string_view::npos) << s;

  s = ZstdDecompress("not zstd at all", 1000, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;

  // A streamed frame does not record its size: refused (the limit is checked up front).
  std::string streamed(ZSTD_compressBound(in.size()), '\0');
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ASSERT_FALSE(ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0)));
  ZSTD_outBuffer o{streamed.data(), streamed.size(), 0};
  ZSTD_inBuffer i{in.data(), in.size(), 0};
  ASSERT_EQ(ZSTD_compressStream2(c, &o, &i, ZSTD_e_end), 0u);
  ZSTD_freeCCtx(c);
  streamed.resize(o.pos);
  s = ZstdDecompress(streamed, in.size(), &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("content size"), std::string_view::npos) << s;

  // A corrupted body with an intact header: refused, nothing kept.
  std::string bad = frame;
  bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x5a);
  s = ZstdDecompress(bad, in.size(), &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace kubetrail
