// TailPipeline: follows one audit log into the spool, in three stages. The thread that calls
// Run reads chunks of complete lines from the Tailer; `threads` workers decode them, apply the
// policy and serialize them (Intake::Prepare), each its own chunk, at the same time; and one
// appender puts each chunk into the spool together with the log position after it, strictly
// in the order the chunks were read, while the workers go on with the next ones. Chunks that
// were prepared while the appender was busy are appended together, with one sync. A position
// is therefore only ever committed with everything before it, and a restart resumes exactly:
// nothing lost, nothing read twice.
//
//   TailPipeline pipeline({.path = path, .threads = 2}, *tailer, intake, spool);
//   std::thread t([&] { pipeline.Run(); });
//   ...
//   pipeline.Stop();  // also wakes a waiting tailer; then spool.Wake() for a full spool
//   t.join();
//
// Decoding is most of a chunk's cost; a second worker lets a log that fell behind be caught
// up on two cores, and one keeps the tailer to about one core (the appender mostly waits for
// the disk).
//
// A full spool (block mode) holds the appender until there is room: the workers finish the
// chunks they have and reading stops once every chunk buffer is taken (2 × threads + 2 of
// them, of up to chunk_bytes each; the apiserver's log keeps the lines meanwhile). Stop() ends
// reading; chunks already read are still appended in order, unless the spool is full, in
// which case that chunk and every later one are left unspooled with their positions
// uncommitted, to be read again after the next start.
#ifndef KUBETRAIL_SERVICES_COLLECTOR_TAIL_PIPELINE_H_
#define KUBETRAIL_SERVICES_COLLECTOR_TAIL_PIPELINE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "services/collector/intake.h"
#include "services/collector/source/tailer.h"
#include "services/collector/spool/spool.h"

namespace kubetrail::collector {

namespace tail_internal {

// Names the decode errors of one chunk by where their lines are in the log file. The reader
// numbers lines within the chunk ("line 3: byte 17: ..."), which means nothing to an operator;
// this turns that into "audit.log: line at offset 123456: byte 17: ...". Errors must come in
// line order (the reader's); each call scans only past the previous one.
class LineLocator {
 public:
  explicit LineLocator(const TailChunk& chunk) : chunk_(chunk) {}
  // `line`: 1-based, of chunk.data (EventReader::line()); `message`: the reader's error.
  std::string Describe(size_t line, std::string_view message);

 private:
  const TailChunk& chunk_;
  // The line that starts at byte at_ of chunk_.data.
  size_t line_ = 1;
  size_t at_ = 0;
};

}  // namespace tail_internal

struct TailPipelineConfig {
  // The log (for messages and the spool position key, "tail:" + path).
  std::string path;
  // Workers that decode, filter and serialize chunks at the same time. At least 1.
  size_t threads = 2;
  // Bytes of lines per chunk at most: one spool append each.
  size_t chunk_bytes = size_t{4} << 20;
  // Chunks prepared while the one before them was being spooled are spooled together, one
  // write and one sync for all (a sync costs less per byte the more it writes, so a log that
  // fell behind catches up faster), up to this many serialized bytes (always at least one
  // chunk), and at most a quarter of the spool, so that they fit once it has drained.
  size_t max_append_bytes = size_t{16} << 20;
  // A larger line is dropped as undecodable (counted and logged).
  size_t max_event_bytes = size_t{4} << 20;
  // How long a read waits for new lines, the appender for room in the spool, and the reader
  // after a failed read or the appender after a failed append, before each looks at Stop()
  // again.
  absl::Duration read_wait = absl::Milliseconds(500);
  absl::Duration room_wait = absl::Milliseconds(500);
  absl::Duration error_wait = absl::Seconds(1);
};

class TailPipeline {
 public:
  // `tailer`, `intake` and `spool` must outlive the pipeline.
  TailPipeline(TailPipelineConfig config, Tailer& tailer, Intake& intake, Spool& spool);
  ~TailPipeline();
  TailPipeline(const TailPipeline&) = delete;
  TailPipeline& operator=(const TailPipeline&) = delete;

  // Reads until Stop(), then waits for the workers to append what was read (see above).
  // Call once.
  void Run();

  // Makes Run return soon. Thread-safe; may come before Run.
  void Stop();

 private:
  // A chunk on its way through: read, then prepared by one worker, then appended in turn.
  struct Job {
    uint64_t seq = 0;
    TailChunk chunk;
    SpoolPosition position;
    SerializedEvents serialized;
  };

  void Work();
  void AppendInOrder();
  // Appends prepared jobs (consecutive, in order) as one record with the last one's position,
  // waiting while the spool is full. False if they were left: the pipeline stopped meanwhile.
  bool Append(absl::Span<Job* const> jobs);
  // A free job for the reader; null once stopped.
  Job* AwaitFree();
  void Release(Job* job);
  // The next read job for a worker; null once reading is over and none is left.
  Job* Take();
  bool Stopped() const;

  const TailPipelineConfig config_;
  const std::string position_key_;
  Tailer& tailer_;
  Intake& intake_;
  Spool& spool_;
  const size_t threads_;
  // config_.max_append_bytes within a quarter of the spool.
  const size_t max_append_bytes_;
  // Every job: one for each worker, one being read, and as many as there are workers plus
  // one being appended together.
  std::vector<std::unique_ptr<Job>> jobs_;

  mutable absl::Mutex mu_;
  std::vector<Job*> free_ ABSL_GUARDED_BY(mu_);
  std::deque<Job*> read_ ABSL_GUARDED_BY(mu_);
  // Prepared by a worker, waiting for their turn (any order).
  std::vector<Job*> prepared_ ABSL_GUARDED_BY(mu_);
  uint64_t next_read_ ABSL_GUARDED_BY(mu_) = 0;
  // The sequence number of the chunk whose turn it is to be appended.
  uint64_t next_append_ ABSL_GUARDED_BY(mu_) = 0;
  bool reading_done_ ABSL_GUARDED_BY(mu_) = false;
  bool workers_done_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace kubetrail::collector

#endif  // KUBETRAIL_SERVICES_COLLECTOR_TAIL_PIPELINE_H_
