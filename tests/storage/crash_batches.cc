#include "tests/storage/crash_batches.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/loadgen/generator.h"
#include "bench/loadgen/rng.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace kubetrail::testing {
namespace {

// 2026-11-01T00:00:00Z; batch i starts i * 17 minutes later, so batches overlap in time only
// by their watch events' late ResponseComplete stages.
constexpr int64_t kBaseTimeUs = 1'793'491'200'000'000;
constexpr int64_t kBatchSpacingUs = 17LL * 60 * 1'000'000;

bool IsResend(uint64_t index) {
  const uint64_t offset = index % kCrashRoundStride;
  return index % 10 == 7 || (offset == 1 && index >= kCrashRoundStride);
}

}  // namespace

uint64_t CrashBatchOriginal(uint64_t index) {
  if (!IsResend(index)) return index;
  if (index % 10 == 7) return index - 4;
  // The second batch of a round re-sends a batch the previous round's writer probably
  // wrote: a collector resending after the aggregator restarted.
  return index - kCrashRoundStride + 2;
}

std::vector<kubetrail::v1::EnvelopedEvent> CrashBatch(uint64_t index) {
  const uint64_t original = CrashBatchOriginal(index);
  const uint64_t seed = loadgen::Mix64(original ^ 0xc4a5'b0a7'0000'0000ULL);
  const int64_t start_us = kBaseTimeUs + static_cast<int64_t>(original) * kBatchSpacingUs;
  loadgen::Generator generator(seed, start_us);
  const int count = 50 + static_cast<int>(loadgen::Mix64(seed) % 351);  // 50..400
  std::vector<kubetrail::v1::EnvelopedEvent> batch(static_cast<size_t>(count));
  for (int k = 0; k < count; ++k) {
    kubetrail::v1::EnvelopedEvent& e = batch[static_cast<size_t>(k)];
    generator.Next(e.mutable_event());
    e.mutable_envelope()->set_cluster(absl::StrCat("c", original % 3));
    e.mutable_envelope()->set_source("s1");
    // A re-send arrives later; the receive time is not part of the identity.
    e.mutable_envelope()->set_receive_time_us(start_us + 1'000'000 +
                                              static_cast<int64_t>(index - original));
  }
  return batch;
}

std::string CrashEventKey(const kubetrail::v1::EnvelopedEvent& event) {
  std::string key = event.envelope().cluster();
  key.push_back('\0');
  key += event.envelope().source();
  key.push_back('\0');
  key += event.event().audit_id();
  key.push_back('\0');
  key += event.event().stage();
  return key;
}

uint64_t CrashEventFingerprint(const kubetrail::v1::EnvelopedEvent& event) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    event.event().SerializeToCodedStream(&coded);
  }
  bytes += event.envelope().cluster();
  bytes.push_back('\0');
  bytes += event.envelope().source();
  // FNV-1a, then mixed: stable across runs and platforms.
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return loadgen::Mix64(h);
}

}  // namespace kubetrail::testing
