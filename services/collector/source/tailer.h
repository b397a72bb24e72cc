// Tailer: follows kube-apiserver's audit log (--audit-log-path, JSON lines each ending in
// '\n') across rotations and hands out complete lines together with the exact position just
// after them. The collector stores that position in the same atomic write as the events it
// spooled, so after a crash it reopens the tailer there: nothing lost, nothing read twice.
// The tailer deals in bytes and lines only; it does not parse JSON.
//
//   TailerConfig config;
//   config.path = "/var/log/kubernetes/audit/audit.log";
//   KT_ASSIGN_OR_RETURN(std::unique_ptr<Tailer> tailer, Tailer::Open(config, committed));
//   while (running) {
//     KT_ASSIGN_OR_RETURN(TailChunk chunk, tailer->Read(1 << 20, absl::Seconds(1)));
//     if (chunk.empty()) continue;
//     ... spool chunk.data's lines with chunk.position.Encode(), in one atomic write ...
//   }
//   // at shutdown, from another thread: tailer->Wake();
//
// Files. `config.path` is the live file. Rotated files are looked for in its directory:
//   - lumberjack (kube-apiserver's own rotation, --audit-log-maxsize): the live file is
//     renamed to <stem>-<2006-01-02T15-04-05.000><ext>, e.g. audit-2026-11-27T06-00-00.000.log
//     (stem and ext split at the last '.' of the name, as Go's filepath.Ext does), and a new
//     live file is created; with --audit-log-compress the rotated file is then replaced by
//     <name>.gz. Ordered by the timestamp in the name (read as UTC, the apiserver's default).
//   - logrotate: <name>.<N>[.gz] (audit.log.1, audit.log.2.gz; a higher N is older) and
//     <name>-<digits and '-'>[.gz] (audit.log-20261127, dateext; ordered by the suffix as
//     text, which is date order for a fixed-width dateformat). Only copytruncate works with
//     kube-apiserver, which never reopens its log (see Losses).
//   The order comes from the names, not from modification times, because compressing
//   (lumberjack's goroutine, logrotate's delaycompress) gives an older file a newer mtime.
//   Files named by different schemes (not expected in one directory) are merged by time: the
//   lumberjack timestamp, or the modification time of a logrotate-named file. When both
//   `x` and `x.gz` exist (compression in progress) `x` is used. Other names are ignored.
//   A .gz file is read through zlib; its offsets and fingerprint are of its uncompressed
//   content. A file the tailer has open stays readable after it is renamed, compressed or
//   deleted: the tailer reads it to its end before moving on.
//
// Following. At the end of its file, the tailer looks for a newer one: while the file is
// still the live file it waits for growth (polling every `poll_interval`); once a newer file
// exists (the live path names another file, or newer rotated files exist) it reads the old
// file to its end once more (the apiserver stops writing a file before lumberjack renames
// it), then continues with the next file in rotation order, and finally the live file. A
// rotated file that ends without '\n' (the apiserver died mid-write) has its unterminated
// tail reported in TailChunk::skipped when the tailer moves past it; a partial last line of
// the live file is waited for.
//
// Positions (TailPosition) name a file by the fingerprint of its first bytes, with its
// device/inode only as a hint (inodes are reused). Reopening with a position finds that
// file among the live and rotated files (also when it is now compressed), continues at the
// offset, and then reads every newer rotated file in order and the live file.
//
// Losses, each reported as a warning in TailChunk::warnings and counted in
// TailerStats::gaps (and logged):
//   - the position's file cannot be found (rotated away and deleted): the tailer continues
//     with the oldest file present (rotated, else the live file);
//   - copytruncate: the live file shrinks below the position, or its first bytes change. The
//     tailer finishes the rotated copy whose content matches (audit.log.1) from the
//     position, then restarts the live file at offset 0. Lines written between logrotate's
//     copy and its truncate are in neither file: copytruncate itself loses them and no
//     reader can recover them. Without a matching copy, the unread rest is lost.
//   - a corrupt .gz file: read up to the damage, then left.
// The fingerprint assumes that different files differ in their first bytes, which audit
// logs do (each event carries a unique auditID near its start). A file is recognised only
// when it holds the fingerprint's bytes, min(offset, kFingerprintBytes): a copytruncate copy
// shorter than that (of a log under 1 KiB) counts as missing. A longer line than max_line_bytes is
// skipped and reported in TailChunk::skipped, never buffered whole.
//
// Thread safety: Read must not be called concurrently (one reader thread); Wake and Stats
// may be called from any thread.
#ifndef KUBETRAIL_SERVICES_COLLECTOR_SOURCE_TAILER_H_
#define KUBETRAIL_SERVICES_COLLECTOR_SOURCE_TAILER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace kubetrail::collector {

namespace tailer_internal {
struct Cursor;
struct LogFileInfo;
}  // namespace tailer_internal

// How many leading bytes of a file its fingerprint covers, at most.
inline constexpr uint32_t kFingerprintBytes = 1024;

// Where the tailer is: which file (by content fingerprint, with device/inode as a hint) and
// how far in it.
struct TailPosition {
  // The file when the position was taken (for a .gz file, the compressed file). A hint only:
  // the file is identified by its fingerprint.
  uint64_t device = 0;
  uint64_t inode = 0;
  // Bytes of the file's (uncompressed) content consumed: handed out in chunks or skipped.
  // Always just after a '\n', except at the end of a file whose unterminated tail was
  // skipped. 0 means "nothing consumed": opening there starts at the beginning of the file
  // with that device/inode if one is present (a truncated live file), else like opening
  // with no position (the default TailPosition).
  uint64_t offset = 0;
  // The fingerprint covers the first min(offset, kFingerprintBytes) bytes of the content.
  uint32_t fingerprint_bytes = 0;
  // Fingerprint(first fingerprint_bytes bytes of the content).
  uint64_t fingerprint = 0;

  // The frozen binary encoding, 37 bytes, integers big-endian. DO NOT CHANGE: positions are
  // stored in the spool and read back by later versions; a new layout gets a new version.
  //   [0]      version = 1
  //   [1, 9)   device
  //   [9, 17)  inode
  //   [17, 25) offset
  //   [25, 29) fingerprint_bytes
  //   [29, 37) fingerprint
  std::string Encode() const;
  // Parses Encode's output. InvalidArgument for an empty input, an unknown version, a wrong
  // length, fingerprint_bytes over kFingerprintBytes or over offset, or no fingerprint for a
  // non-zero offset.
  static absl::StatusOr<TailPosition> Decode(std::string_view bytes);

  // 64-bit FNV-1a (offset basis 0xcbf29ce484222325, prime 0x100000001b3) of `head`. Frozen
  // with the encoding.
  static uint64_t Fingerprint(std::string_view head);

  // For messages: "offset 1234 of the file with fingerprint 9d640921a545147b/1024 (device
  // 2049, inode 77)" (fingerprint in hex / fingerprint_bytes).
  std::string DebugString() const;

  bool operator==(const TailPosition&) const = default;
};

// Where a tailer opened without a position starts.
enum class StartAt {
  kBeginning,  // at offset 0 of the live file (rotated files already present are not read)
  kEnd,        // after the last complete line of the live file
};
// With either, a live file that is missing at Open is read from its beginning once it
// appears, and so is every file rotated from then on (even before the tailer looks again).

struct TailerConfig {
  // The live log, e.g. /var/log/kubernetes/audit/audit.log. Required. It may be missing
  // (the apiserver has not created it yet, or is between rename and create), also with its
  // directory: it is waited for. It must not name a directory.
  std::string path;
  // Where to start without a position. Default: kBeginning.
  StartAt start_at = StartAt::kBeginning;
  // A line with more bytes than this (not counting its '\n') is skipped and reported in
  // TailChunk::skipped; at most about this much of it is ever held. Must be > 0.
  // Default: 16 MiB.
  size_t max_line_bytes = size_t{16} << 20;
  // How often a waiting Read looks for growth, rotation or truncation. Must be > 0.
  // Default: 200 ms.
  absl::Duration poll_interval = absl::Milliseconds(200);
};

// What one Read hands out.
struct TailChunk {
  // Complete lines, each ending in '\n', all from one file, one after the other in it: a line
  // skipped after some of them ends the chunk.
  std::string data;
  size_t lines = 0;
  // Where data's first byte is in the file's (uncompressed) content, so that a line of data
  // can be named by its offset in the file. 0 when there are no lines.
  uint64_t first_offset = 0;
  // The position just after everything this chunk accounts for (its lines and skipped
  // lines), to be committed with them. A chunk without lines or skipped lines needs no
  // commit: nothing was consumed.
  TailPosition position;
  // The path the lines came from (for messages; the name when the tailer last looked).
  std::string file;
  // One message per skipped over-long line or unterminated tail of a rotated file, naming
  // the file, the offset and the length.
  std::vector<std::string> skipped;
  // Data that may have been lost (see "Losses" above); one message each.
  std::vector<std::string> warnings;

  // Nothing new: no lines, no skipped lines, no warnings.
  bool empty() const { return lines == 0 && skipped.empty() && warnings.empty(); }
};

// Counters since Open.
struct TailerStats {
  uint64_t lines = 0;
  uint64_t bytes = 0;
  // Lines (or unterminated tails) reported in TailChunk::skipped.
  uint64_t skipped = 0;
  // Files read to their end and left for the next one.
  uint64_t files_finished = 0;
  // Warnings about possibly lost data (TailChunk::warnings).
  uint64_t gaps = 0;
};

class Tailer {
 public:
  // Validates `config`: InvalidArgument if `path` is empty, ends in '/' or names a directory
  // or another non-regular file, or max_line_bytes / poll_interval are not positive. Then
  // opens the tailer at `resume` (nullopt or offset 0: per config.start_at) and looks for its
  // file at once; a missing file is not an error (it is waited for), a failing directory
  // listing or open is (PermissionDenied etc., naming the path). `clock` times Read's
  // `wait` and must outlive the tailer.
  static absl::StatusOr<std::unique_ptr<Tailer>> Open(TailerConfig config,
                                                      std::optional<TailPosition> resume,
                                                      Clock& clock = Clock::Real());

  ~Tailer();
  Tailer(const Tailer&) = delete;
  Tailer& operator=(const Tailer&) = delete;

  // Returns up to about `max_bytes` of complete lines from one file, at least one whole line
  // when one is available (even a longer one), waiting up to `wait` (measured by the clock;
  // absl::InfiniteDuration() for no limit) for something to hand out. The chunk is empty()
  // when nothing new came within `wait`, or Wake was called. Handing out a chunk advances the
  // tailer's in-memory position; the caller commits chunk.position with the lines it keeps
  // (also for a chunk with only skipped lines).
  // Errors: only real I/O failures (a failing read, open or directory listing), naming the
  // path and the errno text; the position is then unchanged and Read may be called again.
  absl::StatusOr<TailChunk> Read(size_t max_bytes, absl::Duration wait);
  // The same into `chunk`, which is cleared first; its buffers keep their capacity, so a
  // caller that reads in a loop into one chunk allocates (and faults in) its memory once.
  // On error `chunk` is empty.
  absl::Status ReadInto(size_t max_bytes, absl::Duration wait, TailChunk& chunk);

  // Makes a waiting Read return at once with what it has (normally an empty chunk); if no
  // Read is waiting, the next Read that would wait returns instead. Thread-safe; meant for
  // shutdown.
  void Wake();

  TailerStats Stats() const;

 private:
  using Cursor = tailer_internal::Cursor;
  using LogFileInfo = tailer_internal::LogFileInfo;

  Tailer(TailerConfig config, std::optional<TailPosition> resume, Clock& clock);

  // One attempt to make progress: open a file, hand out lines, move to the next file.
  // `progress` is set when the state changed so that another attempt may find more.
  absl::Status Step(size_t max_bytes, TailChunk& chunk, bool& progress);
  // Opens the first file: the resume position's, else the live file (at its end for
  // StartAt::kEnd). No-op while there is none.
  absl::Status OpenFirst();
  // Finds the file holding `resume` and opens it there; on a miss (reported as a warning)
  // opens the oldest file. No-op while there are no files.
  absl::Status OpenResumeFile(const TailPosition& resume);
  // Opens `file` at min(offset, its length) and makes it current.
  absl::Status OpenCurrent(const LogFileInfo& file, uint64_t offset);
  // Whether the current file is shorter than what was read of it, or its first bytes changed.
  absl::StatusOr<bool> CurrentTruncated();
  // After copytruncate: continue in the rotated copy, else at the live file's start.
  absl::Status FollowTruncation();
  // The file to read after the current one; nullopt while the current one is the newest.
  absl::StatusOr<std::optional<LogFileInfo>> NextFile();
  // Leaves the current file: reports its unterminated tail, else opens the next file.
  absl::Status MoveToNext(TailChunk& chunk, bool& progress);
  // Moves complete lines from the read buffer into `chunk`; true when the chunk is full.
  bool Extract(size_t max_bytes, TailChunk& chunk);
  // Reads the next block of the current file into its buffer; 0 at its end.
  absl::StatusOr<size_t> ReadMore();
  // position_ := the current file at its consumed offset.
  void UpdatePosition();
  void AddWarning(std::string message);
  // Waits for a poll interval, Wake or the deadline; false when Read should return.
  bool WaitForPoll(absl::Time deadline);

  // Constant after construction.
  const TailerConfig config_;
  Clock& clock_;

  // Owned by the Read thread.
  std::optional<TailPosition> resume_;  // not yet resolved
  bool start_at_end_ = false;           // config_.start_at applies to the first open
  // Set by the first look for a file without a position. When the live file was missing
  // then, `history_` holds the fingerprints of the rotated files already there: the tailer
  // starts with the oldest file rotated after that, else the live file.
  bool started_ = false;
  std::optional<std::vector<uint64_t>> history_;
  std::unique_ptr<Cursor> current_;  // the file being read; null before there is one
  TailPosition position_;            // after the last line or skip handed out
  std::vector<std::string> pending_warnings_;

  mutable absl::Mutex mu_;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  TailerStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kubetrail::collector

#endif  // KUBETRAIL_SERVICES_COLLECTOR_SOURCE_TAILER_H_
