// Fuzz target: an aggregator's ingest of one kubetrail.v1.IngestRequest from arbitrary bytes
// (what a collector sends; proto/kubetrail/v1/ingest.proto), up to and into the store.
//
// The steps are those of IngestStream (services/aggregator/ingest_service.cc), through their
// public functions: a hello's names are checked (common/names.h); a batch's zstd_events are
// inflated (proto/batch_codec.h) under a 1 MiB limit; events without auditID or stage, of
// another cluster or source, or with a time the store does not take are rejected (as
// IngestStream::CheckEvent does); the envelope is completed; the batch is written to
// a RocksDB store (one per process, in a temp dir, recreated every kStoreInputs inputs); then
// the store is queried over the batch's time range, and its events are encoded as the CLI
// prints them (AppendEventJson).
//
// Properties: nothing crashes (sanitizers included); InflateBatchEvents fails only with
// InvalidArgument, and CompressBatchEvents -> InflateBatchEvents gives back the same events;
// a valid batch writes; every event of the batch is found again by Get; over the time range
// of the events it stored, Count (from the rollups), a paged Search and the Histogram agree.
#include <stdlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "audit/codec.h"
#include "common/names.h"
#include "common/strings.h"
#include "fuzz/fuzz_check.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/util/message_differencer.h"
#include "kubetrail/v1/ingest.pb.h"
#include "proto/batch_codec.h"
#include "storage/event_store.h"
#include "storage/filter.h"
#include "storage/rocksdb_event_store.h"

namespace {

namespace storage = ::kubetrail::storage;
namespace v1 = ::kubetrail::v1;
using ::kubetrail::Cat;

constexpr char kCluster[] = "fuzz-cluster";
constexpr char kSource[] = "fuzz-source";
constexpr int64_t kNowUs = 1'800'000'000'000'000;
constexpr size_t kMaxInflatedBytes = size_t{1} << 20;
constexpr int kStoreInputs = 256;

// The store, recreated every kStoreInputs inputs so that it stays small. Never destroyed: at
// exit it is closed and removed by an atexit handler registered after RocksDB's first open, so
// that it runs before RocksDB's own static destructors.
class ScratchStore {
 public:
  // The process's one scratch store.
  static ScratchStore& Store();

  storage::EventStore& Get() {
    if (store_ == nullptr || ++uses_ > kStoreInputs) Recreate();
    return *store_;
  }

  void Close() {
    store_.reset();
    if (dir_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    dir_.clear();
  }

 private:
  void Recreate() {
    Close();
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                        "/kubetrail-ingest-fuzz-XXXXXX";
    KT_FUZZ_CHECK(mkdtemp(templ.data()) != nullptr, "mkdtemp");
    dir_ = templ;
    storage::RocksDbOptions options;
    options.path = dir_ + "/store";
    options.block_cache_bytes = 8 << 20;
    options.write_buffer_bytes = 4 << 20;
    options.background_threads = 1;
    absl::StatusOr<std::unique_ptr<storage::RocksDbEventStore>> store =
        storage::RocksDbEventStore::Open(options);
    KT_FUZZ_CHECK(store.ok(), store.status().ToString());
    store_ = *std::move(store);
    uses_ = 1;
    static const bool registered = [] { return std::atexit([] { Store().Close(); }) == 0; }();
    (void)registered;
  }

  std::string dir_;
  std::unique_ptr<storage::EventStore> store_;
  int uses_ = 0;
};

ScratchStore& ScratchStore::Store() {
  static ScratchStore* store = new ScratchStore();
  return *store;
}

void CheckNames(const v1::Hello& hello) {
  for (const absl::Status& s : {kubetrail::CheckClusterName("hello.cluster", hello.cluster()),
                                kubetrail::CheckSourceName("hello.source", hello.source())}) {
    KT_FUZZ_CHECK(s.ok() || s.code() == absl::StatusCode::kInvalidArgument, s.ToString());
  }
}

bool SameEvents(const v1::Batch& a, const v1::Batch& b) {
  if (a.events_size() != b.events_size()) return false;
  for (int i = 0; i < a.events_size(); ++i) {
    if (!google::protobuf::util::MessageDifferencer::Equals(a.events(i), b.events(i))) return false;
  }
  return true;
}

// zstd_events both ways: what a collector sends, inflated back, is the batch it compressed.
void CheckCompression(const v1::Batch& batch) {
  v1::Batch compressed = batch;
  const absl::Status c = kubetrail::CompressBatchEvents(compressed, 1);
  KT_FUZZ_CHECK(c.ok(), c.ToString());
  const absl::Status i = kubetrail::InflateBatchEvents(compressed, size_t{64} << 20);
  KT_FUZZ_CHECK(i.ok(), "a compressed batch does not inflate: " + i.ToString());
  KT_FUZZ_CHECK(compressed.sequence() == batch.sequence() && SameEvents(compressed, batch),
                "a batch changed through CompressBatchEvents and InflateBatchEvents");
}

void Ingest(v1::Batch& batch) {
  if (!batch.zstd_events().empty()) {
    const absl::Status s = kubetrail::InflateBatchEvents(batch, kMaxInflatedBytes);
    if (!s.ok()) {
      KT_FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument, s.ToString());
      return;
    }
  }
  CheckCompression(batch);

  std::vector<const v1::EnvelopedEvent*> accepted;
  for (int i = 0; i < batch.events_size(); ++i) {
    v1::EnvelopedEvent& e = *batch.mutable_events(i);
    (void)e.event().ByteSizeLong();
    if (e.event().audit_id().empty() || e.event().stage().empty()) continue;
    if (!e.envelope().cluster().empty() && e.envelope().cluster() != kCluster) continue;
    if (!e.envelope().source().empty() && e.envelope().source() != kSource) continue;
    const int64_t time = storage::EventTimeMicros(e);
    if (time < storage::kMinEventTimeUs || time > storage::kMaxEventTimeUs) continue;
    v1::Envelope* env = e.mutable_envelope();
    if (env->cluster().empty()) env->set_cluster(kCluster);
    if (env->source().empty()) env->set_source(kSource);
    if (env->receive_time_us() == 0) env->set_receive_time_us(kNowUs);
    accepted.push_back(&e);
  }
  if (accepted.empty()) return;

  storage::EventStore& store = ScratchStore::Store().Get();
  storage::WriteOptions options;
  options.sync = false;
  const absl::StatusOr<storage::WriteResult> written = store.Write(accepted, options);
  KT_FUZZ_CHECK(written.ok(), "a valid batch does not write: " + written.status().ToString());
  KT_FUZZ_CHECK(written->outcomes.size() == accepted.size(), "one outcome per event");

  // The events this batch added: found by their auditID, and counted in their time range.
  int64_t min_time = INT64_MAX;
  int64_t max_time = INT64_MIN;
  for (size_t i = 0; i < accepted.size(); ++i) {
    const absl::StatusOr<std::vector<storage::StoredEvent>> got =
        store.Get(accepted[i]->event().audit_id());
    KT_FUZZ_CHECK(got.ok() && !got->empty(),
                  Cat("a written event is not found by its auditID: ", got.status().ToString()));
    for (const storage::StoredEvent& stored : *got) {
      (void)kubetrail::audit::EncodeEventJson(stored.event.event());
    }
    if (written->outcomes[i] != storage::WriteOutcome::kStored) continue;
    const int64_t t = storage::EventTimeMicros(*accepted[i]);
    min_time = std::min(min_time, t);
    max_time = std::max(max_time, t);
  }
  if (written->stored == 0) return;

  // Counted from the rollups (time and cluster only), and by reading the events.
  storage::Filter filter;
  filter.clusters.push_back(kCluster);
  filter.from_us = min_time;
  filter.to_us = max_time + 1;
  const absl::StatusOr<uint64_t> count = store.Count(filter);
  KT_FUZZ_CHECK(count.ok(), count.status().ToString());
  KT_FUZZ_CHECK(*count >= written->stored,
                Cat("Count over the batch's time range is ", *count, ", ", written->stored,
                    " events of the batch were stored in it"));
  uint64_t searched = 0;
  storage::SearchRequest search;
  search.filter = filter;
  search.limit = 1000;
  while (true) {
    const absl::StatusOr<storage::SearchPage> page = store.Search(search);
    KT_FUZZ_CHECK(page.ok(), page.status().ToString());
    searched += page->events.size();
    if (!page->more) break;
    search.cursor = page->cursor;
  }
  KT_FUZZ_CHECK(searched == *count,
                Cat("Count says ", *count, ", a Search of the same filter returns ", searched));
  const absl::StatusOr<std::vector<storage::KeyCount>> top =
      store.Top(filter, storage::Dimension::kResource, 10);
  KT_FUZZ_CHECK(top.ok(), top.status().ToString());
  const absl::StatusOr<std::vector<storage::HistogramBucket>> histogram =
      store.Histogram(filter, storage::Granularity::kMinute, storage::Dimension::kVerb);
  KT_FUZZ_CHECK(histogram.ok(), histogram.status().ToString());
  uint64_t in_buckets = 0;
  for (const storage::HistogramBucket& b : *histogram) in_buckets += b.count;
  KT_FUZZ_CHECK(in_buckets == *count,
                Cat("Count says ", *count, ", the Histogram's buckets hold ", in_buckets));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Strings with invalid UTF-8 (which fail to parse) need no log line each.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  v1::IngestRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  if (request.has_hello()) CheckNames(request.hello());
  if (request.has_batch()) Ingest(*request.mutable_batch());
  return 0;
}
