// kubetrail-crash-writer — the child of the crash test (crash_test.cc): opens a
// RocksDbEventStore and writes the deterministic batches of crash_batches.h from several
// threads at once until it is killed (or has written them all).
//
//   kubetrail-crash-writer --dir STORE --first-batch 300000 --batches 200 --threads 3
//
// Standard output, one line each, flushed at once so a SIGKILL loses none of them:
//   ready        the store is open
//   start I      batch I is about to be written (it may be in the store from now on)
//   ok I         Write(batch I, sync=true) returned OK: batch I is durable
//   done         every batch was written and the store closed cleanly
// Errors go to standard error as one line, with exit code 1 (the store failed) or 3 (a
// WriteResult contradicted the batches: a batch partly new and partly duplicate, or a
// re-send of a batch this process had stored reporting new events).
#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/event_store.h"
#include "storage/rocksdb_event_store.h"
#include "tests/storage/crash_batches.h"

namespace kubetrail::testing {
namespace {

using ::kubetrail::storage::RocksDbEventStore;
using ::kubetrail::storage::RocksDbOptions;
using ::kubetrail::storage::WriteOptions;
using ::kubetrail::storage::WriteResult;

// Writes whole lines to stdout, flushed, from any thread.
class LineWriter {
 public:
  void Line(const std::string& line) {
    std::lock_guard<std::mutex> lock(mu_);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  }

 private:
  std::mutex mu_;
};

[[noreturn]] void Die(int code, const std::string& message) {
  std::fprintf(stderr, "kubetrail-crash-writer: %s\n", message.c_str());
  std::fflush(stderr);
  std::_Exit(code);
}

int Main(int argc, char** argv) {
  std::string dir;
  uint64_t first_batch = 0;
  uint64_t batches = 100;
  int threads = 3;
  CLI::App app("Writes the crash test's batches into a store until killed",
               "kubetrail-crash-writer");
  app.add_option("--dir", dir, "Store directory")->required();
  app.add_option("--first-batch", first_batch, "Index of the first batch");
  app.add_option("--batches", batches, "How many batches to write");
  app.add_option("--threads", threads, "Concurrent writers")->check(CLI::Range(1, 16));
  CLI11_PARSE(app, argc, argv);

  RocksDbOptions options;
  options.path = dir;
  // Small memtables: the store flushes now and then, so kills also land during flushes.
  options.write_buffer_bytes = 4ull << 20;
  absl::StatusOr<std::unique_ptr<RocksDbEventStore>> opened = RocksDbEventStore::Open(options);
  if (!opened.ok()) Die(1, "open: " + opened.status().ToString());
  std::unique_ptr<RocksDbEventStore> store = std::move(opened).value();

  LineWriter out;
  out.Line("ready");

  std::atomic<uint64_t> next{first_batch};
  const uint64_t end = first_batch + batches;
  std::mutex done_mu;
  std::set<uint64_t> done;  // batches this process has stored, guarded by done_mu

  auto writer = [&] {
    for (;;) {
      const uint64_t index = next.fetch_add(1);
      if (index >= end) return;
      const uint64_t original = CrashBatchOriginal(index);
      bool original_done = false;
      if (original != index) {
        std::lock_guard<std::mutex> lock(done_mu);
        original_done = done.count(original) > 0;
      }
      const std::vector<kubetrail::v1::EnvelopedEvent> batch = CrashBatch(index);
      out.Line("start " + std::to_string(index));
      WriteOptions write_options;
      write_options.sync = true;
      absl::StatusOr<WriteResult> result = store->Write(batch, write_options);
      if (!result.ok()) {
        Die(1, "write of batch " + std::to_string(index) + ": " + result.status().ToString());
      }
      // All of a batch is new or none of it is: its events are only ever written together
      // (by the batch itself or by a re-send of it, which may commit first).
      if (result->outcomes.size() != batch.size() ||
          result->stored + result->duplicates != batch.size() ||
          (result->stored != 0 && result->stored != batch.size())) {
        Die(3, "batch " + std::to_string(index) + " of " + std::to_string(batch.size()) +
                   " events: " + std::to_string(result->outcomes.size()) + " outcomes, stored " +
                   std::to_string(result->stored) + ", duplicates " +
                   std::to_string(result->duplicates));
      }
      if (original_done && result->stored != 0) {
        Die(3, "re-send " + std::to_string(index) + " of stored batch " + std::to_string(original) +
                   ": stored " + std::to_string(result->stored));
      }
      {
        std::lock_guard<std::mutex> lock(done_mu);
        done.insert(index);
        done.insert(original);
      }
      out.Line("ok " + std::to_string(index));
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(writer);
  for (std::thread& t : pool) t.join();

  absl::Status closed = store->Close();
  if (!closed.ok()) Die(1, "close: " + closed.ToString());
  out.Line("done");
  return 0;
}

}  // namespace
}  // namespace kubetrail::testing

int main(int argc, char** argv) { return kubetrail::testing::Main(argc, argv); }
