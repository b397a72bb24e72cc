#include "services/collector/spool/spool.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <libdeflate.h>
#include <unistd.h>
#include <zlib.h>  // crc32_combine

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <system_error>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/bytes.h"
#include "common/logging.h"
#include "common/rocksdb_status.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "proto/enveloped_event_wire.h"
#include "rocksdb/db.h"
#include "rocksdb/merge_operator.h"
#include "rocksdb/options.h"

namespace kubetrail::collector {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kComponent = "spool";

// The directory (FORMAT.md, version 2).
constexpr std::string_view kFormatFile = "FORMAT";
constexpr std::string_view kLockFile = "spool.lock";
constexpr std::string_view kHeadFile = "HEAD";
constexpr std::string_view kSegmentPrefix = "seg-";
constexpr std::string_view kSegmentSuffix = ".kts";
constexpr int kFormatVersion = 2;
constexpr size_t kMaxPositionKeyBytes = 1024;

// A record: a 36-byte header, then its payload.
//   0  u32 magic "KTS2"        4  u32 payload bytes     8  u64 first sequence
//   16 u32 event count         20 u32 payload CRC-32    24 i64 receive time (µs)
//   32 u32 CRC-32 of bytes 0-31
// Payload: u32 position count, each position as u32 key length, key, u32 value length, value;
// then the events' sizes (u32 each); then the events' bytes, back to back. Little-endian.
constexpr uint32_t kRecordMagic = 0x3253544b;  // "KTS2"
constexpr size_t kHeaderBytes = 36;
// A record larger than this is corruption, whatever its checksums say.
constexpr uint64_t kMaxPayloadBytes = uint64_t{1} << 31;
// The HEAD file: u64 first held sequence, u32 CRC-32 of those 8 bytes.
constexpr size_t kHeadBytes = 12;
// Segment size when SpoolConfig::segment_bytes is 0: a sixteenth of max_bytes, within these.
constexpr uint64_t kMinDefaultSegmentBytes = uint64_t{1} << 20;
constexpr uint64_t kMaxDefaultSegmentBytes = uint64_t{64} << 20;
// A thread keeps its record buffer up to this size between appends.
constexpr size_t kKeptRecordBufferBytes = size_t{8} << 20;
// pwritev takes at most this many buffers at once.
constexpr size_t kMaxIovecs = 512;

// zlib's crc32 (FORMAT.md), computed by libdeflate: the same values about four times as fast
// (carry-less multiplication where the CPU has it), and each event's bytes pass through it.
uint32_t Crc32(std::string_view bytes) {
  return libdeflate_crc32(0, bytes.data(), bytes.size());
}

struct RecordHeader {
  uint32_t payload_bytes = 0;
  // The first sequence of the record's events; for a record without events, the next sequence
  // to be assigned when it was written.
  uint64_t first_sequence = 0;
  uint32_t event_count = 0;
  uint32_t payload_crc = 0;
  int64_t receive_us = 0;
};

void EncodeHeader(const RecordHeader& h, char* out) {
  std::string b;
  b.reserve(kHeaderBytes);
  PutFixed32(kRecordMagic, &b);
  PutFixed32(h.payload_bytes, &b);
  PutFixed64(h.first_sequence, &b);
  PutFixed32(h.event_count, &b);
  PutFixed32(h.payload_crc, &b);
  PutFixed64(static_cast<uint64_t>(h.receive_us), &b);
  PutFixed32(Crc32(b), &b);
  std::memcpy(out, b.data(), kHeaderBytes);
}

// False when `p` is not a header: wrong magic or checksum.
bool DecodeHeader(const char* p, RecordHeader* h) {
  if (GetFixed32(p) != kRecordMagic) return false;
  if (GetFixed32(p + 32) != Crc32(std::string_view(p, 32))) return false;
  h->payload_bytes = GetFixed32(p + 4);
  h->first_sequence = GetFixed64(p + 8);
  h->event_count = GetFixed32(p + 16);
  h->payload_crc = GetFixed32(p + 20);
  h->receive_us = static_cast<int64_t>(GetFixed64(p + 24));
  return true;
}

void PutPosition(std::string_view key, std::string_view value, std::string* out) {
  PutFixed32(static_cast<uint32_t>(key.size()), out);
  out->append(key);
  PutFixed32(static_cast<uint32_t>(value.size()), out);
  out->append(value);
}

using PositionMap = std::map<std::string, std::string, std::less<>>;

// A whole record: `positions`, then `events` (each one serialized event).
std::string EncodeRecord(uint64_t first_sequence, int64_t receive_us, const PositionMap& positions,
                         const std::vector<std::string>& events) {
  std::string record(kHeaderBytes, '\0');
  PutFixed32(static_cast<uint32_t>(positions.size()), &record);
  for (const auto& [key, value] : positions) PutPosition(key, value, &record);
  for (const std::string& e : events) PutFixed32(static_cast<uint32_t>(e.size()), &record);
  for (const std::string& e : events) record.append(e);
  RecordHeader h;
  h.payload_bytes = static_cast<uint32_t>(record.size() - kHeaderBytes);
  h.first_sequence = first_sequence;
  h.event_count = static_cast<uint32_t>(events.size());
  h.payload_crc = Crc32(std::string_view(record).substr(kHeaderBytes));
  h.receive_us = receive_us;
  EncodeHeader(h, record.data());
  return record;
}

// A record's payload, parsed: where its events' bytes start and how long each is.
struct ParsedPayload {
  std::vector<std::pair<std::string, std::string>> positions;
  std::vector<uint32_t> sizes;
  uint64_t data_offset = 0;  // within the payload
};

// False when the payload does not hold together (lengths past its end).
bool ParsePayload(std::string_view payload, uint32_t event_count, ParsedPayload* out) {
  size_t at = 0;
  auto take32 = [&](uint32_t* v) {
    if (payload.size() - at < 4) return false;
    *v = GetFixed32(payload.data() + at);
    at += 4;
    return true;
  };
  auto take = [&](std::string* s) {
    uint32_t n = 0;
    if (!take32(&n) || payload.size() - at < n) return false;
    s->assign(payload.data() + at, n);
    at += n;
    return true;
  };
  uint32_t positions = 0;
  if (!take32(&positions)) return false;
  for (uint32_t i = 0; i < positions; ++i) {
    std::string key;
    std::string value;
    if (!take(&key) || !take(&value)) return false;
    out->positions.emplace_back(std::move(key), std::move(value));
  }
  if ((payload.size() - at) / 4 < event_count) return false;
  out->sizes.resize(event_count);
  uint64_t total = 0;
  for (uint32_t i = 0; i < event_count; ++i) {
    take32(&out->sizes[i]);
    total += out->sizes[i];
  }
  out->data_offset = at;
  return total == payload.size() - at;
}

// One error for a failed system call on `path`: ResourceExhausted when the disk (or the
// process's file size limit) is full, so that the webhook answers 503 and the tailer waits;
// Unavailable otherwise.
absl::Status IoError(int err, std::string_view what, std::string_view path) {
  const std::string message = Cat(what, " ", path, ": ", std::strerror(err));
  if (err == ENOSPC || err == EDQUOT || err == EFBIG) {
    return absl::ResourceExhaustedError(Cat(message, " (the disk is full)"));
  }
  return absl::UnavailableError(message);
}

absl::Status SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError(errno, "opening directory", dir);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return IoError(err, "syncing directory", dir);
  return absl::OkStatus();
}

// Writes all of `iov` at `offset`, however many calls that takes.
absl::Status WriteAllAt(int fd, std::vector<iovec> iov, uint64_t offset, const std::string& path) {
  size_t first = 0;
  while (first < iov.size()) {
    const int count = static_cast<int>(std::min(kMaxIovecs, iov.size() - first));
    const ssize_t n = ::pwritev(fd, iov.data() + first, count, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError(errno, "writing", path);
    }
    offset += static_cast<uint64_t>(n);
    size_t left = static_cast<size_t>(n);
    while (first < iov.size() && left >= iov[first].iov_len) {
      left -= iov[first].iov_len;
      ++first;
    }
    if (left > 0) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return absl::OkStatus();
}

// Reads exactly `n` bytes at `offset`; DataLoss when the file is shorter.
absl::Status ReadAllAt(int fd, char* out, size_t n, uint64_t offset, const std::string& path) {
  while (n > 0) {
    const ssize_t got = ::pread(fd, out, n, static_cast<off_t>(offset));
    if (got < 0) {
      if (errno == EINTR) continue;
      return IoError(errno, "reading", path);
    }
    if (got == 0) {
      return absl::DataLossError(Cat("reading ", path, ": the file ends at offset ", offset,
                                     ", inside a record"));
    }
    out += got;
    n -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return absl::OkStatus();
}

std::string SegmentName(uint64_t number) {
  std::string digits = std::to_string(number);
  return Cat(kSegmentPrefix, std::string(20 - std::min<size_t>(20, digits.size()), '0'), digits,
             kSegmentSuffix);
}

// The segment number in `name`, or 0 when it does not name a segment.
uint64_t SegmentNumber(std::string_view name) {
  if (name.size() != kSegmentPrefix.size() + 20 + kSegmentSuffix.size() ||
      name.substr(0, kSegmentPrefix.size()) != kSegmentPrefix ||
      name.substr(name.size() - kSegmentSuffix.size()) != kSegmentSuffix) {
    return 0;
  }
  uint64_t number = 0;
  for (char c : name.substr(kSegmentPrefix.size(), 20)) {
    if (c < '0' || c > '9') return 0;
    number = number * 10 + static_cast<uint64_t>(c - '0');
  }
  return number;
}

// Version 1 (a RocksDB database; FORMAT.md) is migrated at Open. Its keys and merge operator:
constexpr char kV1EventPrefix = 'e';
constexpr std::string_view kV1FormatKey = "m:format";
constexpr std::string_view kV1NextKey = "m:next";
constexpr std::string_view kV1AckedKey = "m:acked";
constexpr std::string_view kV1PositionPrefix = "p:";

uint64_t ReadBig64(std::string_view s) { return s.size() == 8 ? GetBig64(s.data()) : 0; }

class V1MaxUint64Operator : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice& /*key*/, const rocksdb::Slice* existing,
             const rocksdb::Slice& value, std::string* new_value,
             rocksdb::Logger* /*logger*/) const override {
    const uint64_t v = ReadBig64(std::string_view(value.data(), value.size()));
    const uint64_t e =
        existing == nullptr ? 0 : ReadBig64(std::string_view(existing->data(), existing->size()));
    *new_value = Big64(std::max(v, e));
    return true;
  }
  const char* Name() const override { return "kubetrail.MaxUint64"; }
};

}  // namespace

std::string_view WhenFullName(WhenFull when_full) {
  return when_full == WhenFull::kBlock ? "block" : "drop-oldest";
}

std::optional<WhenFull> ParseWhenFull(std::string_view name) {
  if (name == "block") return WhenFull::kBlock;
  if (name == "drop-oldest") return WhenFull::kDropOldest;
  return std::nullopt;
}

class Spool::Impl {
 public:
  Impl(SpoolConfig config, Clock& clock) : config_(std::move(config)), clock_(clock) {}
  ~Impl();

  absl::Status Open();
  absl::StatusOr<AppendResult> Append(absl::Span<const kubetrail::v1::EnvelopedEvent> events,
                                      const SpoolPosition* position);
  absl::StatusOr<AppendResult> AppendSerialized(absl::Span<const SerializedEvents* const> parts,
                                                const SpoolPosition* position);
  absl::StatusOr<size_t> Read(uint64_t after, size_t max_events, size_t max_bytes,
                              std::vector<SpooledEvent>* out) const;
  bool WaitForEvents(uint64_t after, absl::Duration timeout) const;
  bool WaitForRoom(uint64_t bytes, absl::Duration timeout) const;
  void Wake();
  absl::Status Ack(uint64_t through);
  absl::StatusOr<std::optional<std::string>> Position(std::string_view key) const;
  SpoolStats Stats() const;
  const SpoolConfig& config() const { return config_; }

 private:
  // One segment file: records appended at `size`, never rewritten. Only the last segment is
  // written to; the others are deleted whole once every event in them is acknowledged or
  // dropped. Readers hold a reference while they read, so a deleted segment's descriptor
  // stays open until they are done.
  struct Segment {
    uint64_t number = 0;
    std::string path;
    int fd = -1;
    // Bytes of whole records: where the next record goes.
    uint64_t size = 0;
    // The sequence of its last event (0: none).
    uint64_t last_sequence = 0;
    ~Segment() {
      if (fd >= 0) ::close(fd);
    }
  };
  // Consecutive events appended together (one record): sequences first + head ..
  // first + sizes.size() - 1 are held.
  struct Run {
    uint64_t first = 0;
    int64_t receive_us = 0;
    std::vector<uint32_t> sizes;
    size_t head = 0;
    uint64_t bytes = 0;
    // Its write has returned (OK); until then nothing of it may be dropped.
    bool committed = false;
    // Where its events' bytes are, once written.
    std::shared_ptr<Segment> segment;
    uint64_t data_offset = 0;
    uint64_t last() const { return first + sizes.size() - 1; }
    bool empty() const { return head == sizes.size(); }
  };
  // An append being written: its last sequence and whether its write has returned.
  struct Reservation {
    uint64_t last = 0;
    bool done = false;
  };
  // A record waiting for the writer (group commit: the first waiter writes every queued record
  // with one write and one sync).
  struct PendingWrite {
    // The record: `prefix` (header, filled in under the lock; positions; sizes), then
    // `events` (the events' bytes).
    std::string prefix;
    // The events' bytes, in parts written one after another.
    absl::InlinedVector<std::string_view, 1> events;
    uint64_t event_bytes = 0;
    uint64_t first_sequence = 0;  // as in the header
    uint64_t last_sequence = 0;   // 0: no events
    const SpoolPosition* position = nullptr;
    // Set by the writer.
    bool done = false;
    absl::Status status;
    std::shared_ptr<Segment> segment;
    uint64_t offset = 0;  // of the record in `segment`
  };

  absl::Status OpenDirectory();
  // FORMAT, written whole (temporary file, sync, rename, directory sync).
  absl::Status WriteFormatFile();
  absl::Status MigrateV1();
  // Reads every record of `segment` into the accounting; cuts a torn tail off the last
  // segment. DataLoss for a bad record elsewhere.
  // `next`: the lowest sequence the next record may carry (records only grow).
  absl::Status LoadSegment(const std::shared_ptr<Segment>& segment, bool last, uint64_t& next)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Creates segment `number` holding one record without events: every position and the next
  // sequence, so that the older segments can be deleted without losing them.
  absl::StatusOr<std::shared_ptr<Segment>> CreateSegment(uint64_t number, std::string record);
  // A record without events holding every position; `first_sequence` is the first sequence
  // of the records that follow it (no higher, or loading would find them out of order).
  std::string SnapshotRecordLocked(uint64_t first_sequence) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues `w` and returns once it is written (by this thread or another's group write).
  void WriteLocked(PendingWrite& w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Everything below `head` is gone: deletes the segments that hold nothing else and records
  // the new head (not synced).
  absl::Status AdvanceHeadLocked(uint64_t head) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status WriteHeadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Removes held events with sequence <= `through` from the accounting. Returns how many.
  uint64_t ForgetThroughLocked(uint64_t through) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether an append of `bytes` fits (kBlock semantics: bytes and age).
  bool FitsLocked(uint64_t bytes) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool TooOldLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // kDropOldest: deletes committed events older than max_age and then the oldest committed
  // events until `bytes` fit. Returns the dropped count.
  absl::StatusOr<uint64_t> DropForLocked(uint64_t bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PopEmptyRunsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  uint64_t ReadableThroughLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string PathOf(std::string_view name) const { return (fs::path(config_.dir) / name).string(); }

  const SpoolConfig config_;
  Clock& clock_;
  uint64_t segment_bytes_ = 0;
  int lock_fd_ = -1;
  int head_fd_ = -1;

  mutable absl::Mutex mu_;
  // Oldest first; the last one is written to. Never empty once open.
  std::deque<std::shared_ptr<Segment>> segments_ ABSL_GUARDED_BY(mu_);
  PositionMap positions_ ABSL_GUARDED_BY(mu_);
  std::deque<PendingWrite*> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_now_ ABSL_GUARDED_BY(mu_) = false;
  // The first sequence still held: everything below was acknowledged or dropped.
  uint64_t head_ ABSL_GUARDED_BY(mu_) = 1;
  std::deque<Run> runs_ ABSL_GUARDED_BY(mu_);
  // Appends being written, by first sequence.
  std::map<uint64_t, Reservation> writing_ ABSL_GUARDED_BY(mu_);
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t held_events_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t held_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t wake_generation_ ABSL_GUARDED_BY(mu_) = 0;
  SpoolStats stats_ ABSL_GUARDED_BY(mu_);
};

Spool::Impl::~Impl() {
  {
    absl::MutexLock lock(&mu_);
    segments_.clear();
    runs_.clear();
  }
  if (head_fd_ >= 0) {
    ::fdatasync(head_fd_);
    ::close(head_fd_);
  }
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

absl::Status Spool::Impl::OpenDirectory() {
  std::error_code ec;
  fs::create_directories(config_.dir, ec);
  if (ec) {
    return absl::UnavailableError(
        Cat("creating spool directory ", config_.dir, ": ", ec.message()));
  }
  const std::string lock_path = PathOf(kLockFile);
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) return IoError(errno, "opening", lock_path);
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return absl::FailedPreconditionError(
          Cat("spool ", config_.dir, " is in use by another process (", lock_path, " is locked)"));
    }
    return IoError(errno, "locking", lock_path);
  }
  return absl::OkStatus();
}

absl::Status Spool::Impl::WriteFormatFile() {
  const std::string path = PathOf(kFormatFile);
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return IoError(errno, "creating", tmp);
  const std::string text = Cat("kubetrail-spool ", kFormatVersion, "\n");
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fdatasync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) return IoError(err, "writing", tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return IoError(errno, "renaming", tmp);
  return SyncDirectory(config_.dir);
}

absl::Status Spool::Impl::Open() {
  segment_bytes_ = config_.segment_bytes != 0
                       ? config_.segment_bytes
                       : std::clamp(config_.max_bytes / 16, kMinDefaultSegmentBytes,
                                    kMaxDefaultSegmentBytes);
  KT_RETURN_IF_ERROR(OpenDirectory());

  const std::string format_path = PathOf(kFormatFile);
  std::error_code ec;
  const bool v1 = fs::exists(PathOf("CURRENT"), ec);
  if (fs::exists(format_path, ec)) {
    std::string text;
    {
      const int fd = ::open(format_path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return IoError(errno, "opening", format_path);
      char buf[64];
      const ssize_t n = ::read(fd, buf, sizeof(buf));
      ::close(fd);
      if (n < 0) return IoError(errno, "reading", format_path);
      text.assign(buf, static_cast<size_t>(n));
    }
    const std::string want = Cat("kubetrail-spool ", kFormatVersion, "\n");
    if (text != want) {
      std::string version = text.substr(0, text.find('\n'));
      if (version.rfind("kubetrail-spool ", 0) == 0) version = version.substr(16);
      return absl::FailedPreconditionError(Cat("spool ", config_.dir, " has format version \"",
                                               version, "\"; this build reads version ",
                                               kFormatVersion));
    }
    if (v1) {
      // A migration that ended before version 1's files were all deleted.
      rocksdb::Options options;
      options.merge_operator = std::make_shared<V1MaxUint64Operator>();
      KT_RETURN_IF_ERROR(FromRocks(rocksdb::DestroyDB(config_.dir, options),
                                   Cat("deleting spool ", config_.dir, "'s version 1 files")));
    }
  } else if (v1) {
    KT_RETURN_IF_ERROR(MigrateV1());
  } else {
    // New (or created by a crash before FORMAT was written, with no events in it).
    KT_RETURN_IF_ERROR(WriteFormatFile());
  }

  // HEAD: the first sequence held (a lost or torn HEAD only means acknowledged events are
  // shipped again, and the aggregator recognises them).
  const std::string head_path = PathOf(kHeadFile);
  head_fd_ = ::open(head_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (head_fd_ < 0) return IoError(errno, "opening", head_path);
  char head[kHeadBytes];
  const ssize_t got = ::pread(head_fd_, head, kHeadBytes, 0);
  uint64_t head_sequence = 1;
  if (got == static_cast<ssize_t>(kHeadBytes) &&
      GetFixed32(head + 8) == Crc32(std::string_view(head, 8))) {
    head_sequence = std::max<uint64_t>(1, GetFixed64(head));
  } else if (got != 0) {
    KT_LOG(kWarning, kComponent) << head_path
                                 << " is unreadable: acknowledged events may be shipped again";
  }

  std::vector<uint64_t> numbers;
  for (const fs::directory_entry& entry : fs::directory_iterator(config_.dir, ec)) {
    const uint64_t number = SegmentNumber(entry.path().filename().string());
    if (number != 0) numbers.push_back(number);
  }
  if (ec) return absl::UnavailableError(Cat("listing spool ", config_.dir, ": ", ec.message()));
  std::sort(numbers.begin(), numbers.end());

  absl::MutexLock lock(&mu_);
  head_ = head_sequence;
  // The lowest sequence the next record may carry.
  uint64_t next = 0;
  for (size_t i = 0; i < numbers.size(); ++i) {
    auto segment = std::make_shared<Segment>();
    segment->number = numbers[i];
    segment->path = PathOf(SegmentName(numbers[i]));
    segment->fd = ::open(segment->path.c_str(), O_RDWR | O_CLOEXEC);
    if (segment->fd < 0) return IoError(errno, "opening", segment->path);
    KT_RETURN_IF_ERROR(LoadSegment(segment, i + 1 == numbers.size(), next));
    segments_.push_back(std::move(segment));
  }
  next_sequence_ = std::max(next, head_);
  if (segments_.empty()) {
    KT_ASSIGN_OR_RETURN(std::shared_ptr<Segment> first,
                        CreateSegment(1, SnapshotRecordLocked(next_sequence_)));
    segments_.push_back(std::move(first));
  }
  PopEmptyRunsLocked();
  stats_.last_sequence = next_sequence_ - 1;
  // Segments whose events were all acknowledged before a crash lost their deletion.
  return AdvanceHeadLocked(head_);
}

absl::Status Spool::Impl::LoadSegment(const std::shared_ptr<Segment>& segment, bool last,
                                      uint64_t& next) {
  struct stat st {};
  if (::fstat(segment->fd, &st) != 0) return IoError(errno, "reading", segment->path);
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  uint64_t offset = 0;
  std::string payload;
  std::string problem;
  while (offset < file_size) {
    char header_bytes[kHeaderBytes];
    RecordHeader h;
    if (file_size - offset < kHeaderBytes) {
      problem = "a header cut short";
      break;
    }
    KT_RETURN_IF_ERROR(ReadAllAt(segment->fd, header_bytes, kHeaderBytes, offset, segment->path));
    if (!DecodeHeader(header_bytes, &h)) {
      problem = "a bad record header";
      break;
    }
    if (h.payload_bytes > kMaxPayloadBytes || file_size - offset - kHeaderBytes < h.payload_bytes) {
      problem = "a record cut short";
      break;
    }
    payload.resize(h.payload_bytes);
    KT_RETURN_IF_ERROR(ReadAllAt(segment->fd, payload.data(), payload.size(),
                                 offset + kHeaderBytes, segment->path));
    ParsedPayload parsed;
    if (Crc32(payload) != h.payload_crc || !ParsePayload(payload, h.event_count, &parsed)) {
      problem = "a record whose checksum does not match";
      break;
    }
    if (h.first_sequence < next) {
      // Sequences only grow: an older record here is left over from a failed write.
      problem = Cat("a record out of sequence (", h.first_sequence, " where ", next,
                    " or later belongs)");
      break;
    }
    for (auto& [key, value] : parsed.positions) positions_[key] = std::move(value);
    if (h.event_count > 0) {
      const uint64_t last_sequence = h.first_sequence + h.event_count - 1;
      segment->last_sequence = last_sequence;
      next = std::max(next, last_sequence + 1);
      if (last_sequence >= head_) {
        Run run;
        run.first = h.first_sequence;
        run.receive_us = h.receive_us;
        run.sizes = std::move(parsed.sizes);
        run.head = head_ > run.first ? static_cast<size_t>(head_ - run.first) : 0;
        for (size_t i = run.head; i < run.sizes.size(); ++i) run.bytes += run.sizes[i];
        run.committed = true;
        run.segment = segment;
        run.data_offset = offset + kHeaderBytes + parsed.data_offset;
        held_bytes_ += run.bytes;
        held_events_ += run.sizes.size() - run.head;
        runs_.push_back(std::move(run));
      }
    } else {
      next = h.first_sequence;
    }
    offset += kHeaderBytes + h.payload_bytes;
  }
  segment->size = offset;
  if (offset == file_size) return absl::OkStatus();
  if (!last) {
    return absl::DataLossError(Cat("spool segment ", segment->path, " is corrupt: ", problem,
                                   " at offset ", offset, " of ", file_size,
                                   " bytes; move the file away to open the spool without it"));
  }
  // The last segment ends in a write that never returned (a crash): cut it off.
  KT_LOG(kWarning, kComponent) << segment->path << ": cut off " << file_size - offset
                               << " bytes after offset " << offset << " (" << problem
                               << "): a write torn by a crash, never acknowledged";
  if (::ftruncate(segment->fd, static_cast<off_t>(offset)) != 0 || ::fdatasync(segment->fd) != 0) {
    return IoError(errno, "truncating", segment->path);
  }
  return absl::OkStatus();
}

std::string Spool::Impl::SnapshotRecordLocked(uint64_t first_sequence) const {
  return EncodeRecord(first_sequence, clock_.NowMicros(), positions_, {});
}

absl::StatusOr<std::shared_ptr<Spool::Impl::Segment>> Spool::Impl::CreateSegment(
    uint64_t number, std::string record) {
  auto segment = std::make_shared<Segment>();
  segment->number = number;
  segment->path = PathOf(SegmentName(number));
  segment->fd = ::open(segment->path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (segment->fd < 0) return IoError(errno, "creating", segment->path);
  absl::Status written =
      WriteAllAt(segment->fd, {iovec{record.data(), record.size()}}, 0, segment->path);
  if (written.ok() && ::fdatasync(segment->fd) != 0) {
    written = IoError(errno, "syncing", segment->path);
  }
  if (written.ok()) written = SyncDirectory(config_.dir);
  if (!written.ok()) {
    ::unlink(segment->path.c_str());
    return written;
  }
  segment->size = record.size();
  return segment;
}

void Spool::Impl::WriteLocked(PendingWrite& w) {
  queue_.push_back(&w);
  auto my_turn = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return w.done || (!writing_now_ && queue_.front() == &w);
  };
  mu_.Await(absl::Condition(&my_turn));
  if (w.done) return;
  // This thread writes every queued record, in queue (= sequence) order.
  writing_now_ = true;
  std::vector<PendingWrite*> group(queue_.begin(), queue_.end());
  queue_.clear();
  std::shared_ptr<Segment> segment = segments_.back();
  const bool roll = segment->size >= segment_bytes_;
  std::string snapshot = roll ? SnapshotRecordLocked(group.front()->first_sequence) : std::string();
  mu_.Unlock();

  absl::Status status;
  bool rolled = false;
  if (roll) {
    absl::StatusOr<std::shared_ptr<Segment>> created =
        CreateSegment(segment->number + 1, std::move(snapshot));
    if (created.ok()) {
      segment = *created;
      rolled = true;
    } else {
      status = created.status();
    }
  }
  const uint64_t start = segment->size;
  if (status.ok()) {
    std::vector<iovec> iov;
    iov.reserve(2 * group.size());
    for (PendingWrite* p : group) {
      iov.push_back(iovec{p->prefix.data(), p->prefix.size()});
      for (std::string_view part : p->events) {
        if (!part.empty()) iov.push_back(iovec{const_cast<char*>(part.data()), part.size()});
      }
    }
    status = WriteAllAt(segment->fd, std::move(iov), start, segment->path);
    if (status.ok() && config_.sync && ::fdatasync(segment->fd) != 0) {
      status = IoError(errno, "syncing", segment->path);
    }
    if (!status.ok()) {
      // Whatever reached the file is cut off again: it was never acknowledged.
      if (::ftruncate(segment->fd, static_cast<off_t>(start)) != 0) {
        KT_LOG(kWarning, kComponent) << "cannot cut " << segment->path << " back to " << start
                                     << " bytes after a failed write: " << std::strerror(errno);
      }
    }
  }

  mu_.Lock();
  // The new segment is the one written to from now on, even if this group's write failed.
  if (rolled) segments_.push_back(segment);
  uint64_t offset = start;
  for (PendingWrite* p : group) {
    p->status = status;
    p->done = true;
    if (!status.ok()) continue;
    p->segment = segment;
    p->offset = offset;
    offset += p->prefix.size() + p->event_bytes;
    if (p->last_sequence != 0) segment->last_sequence = p->last_sequence;
    if (p->position != nullptr) positions_[p->position->key] = p->position->value;
  }
  if (status.ok()) segment->size = offset;
  writing_now_ = false;
}

absl::Status Spool::Impl::WriteHeadLocked() {
  std::string head;
  PutFixed64(head_, &head);
  PutFixed32(Crc32(head), &head);
  if (::pwrite(head_fd_, head.data(), head.size(), 0) != static_cast<ssize_t>(head.size())) {
    return IoError(errno, "writing", PathOf(kHeadFile));
  }
  return absl::OkStatus();
}

absl::Status Spool::Impl::AdvanceHeadLocked(uint64_t head) {
  const bool moved = head > head_;
  head_ = std::max(head_, head);
  absl::Status status;
  while (segments_.size() > 1 && segments_.front()->last_sequence < head_) {
    if (::unlink(segments_.front()->path.c_str()) != 0 && errno != ENOENT) {
      status = IoError(errno, "deleting", segments_.front()->path);
      break;
    }
    segments_.pop_front();
  }
  if (moved) status.Update(WriteHeadLocked());
  return status;
}

uint64_t Spool::Impl::ReadableThroughLocked() const {
  return writing_.empty() ? next_sequence_ - 1 : writing_.begin()->first - 1;
}

bool Spool::Impl::TooOldLocked() const {
  for (const Run& run : runs_) {
    if (run.empty()) continue;
    return clock_.NowMicros() - run.receive_us > absl::ToInt64Microseconds(config_.max_age);
  }
  return false;
}

bool Spool::Impl::FitsLocked(uint64_t bytes) const {
  return held_bytes_ + bytes <= config_.max_bytes && !TooOldLocked();
}

void Spool::Impl::PopEmptyRunsLocked() {
  while (!runs_.empty() && runs_.front().empty() && runs_.front().committed) runs_.pop_front();
}

uint64_t Spool::Impl::ForgetThroughLocked(uint64_t through) {
  uint64_t count = 0;
  for (Run& run : runs_) {
    if (run.first + run.head > through) break;
    while (!run.empty() && run.first + run.head <= through) {
      run.bytes -= run.sizes[run.head];
      held_bytes_ -= run.sizes[run.head];
      --held_events_;
      ++run.head;
      ++count;
    }
    if (!run.empty()) break;
  }
  PopEmptyRunsLocked();
  return count;
}

absl::StatusOr<uint64_t> Spool::Impl::DropForLocked(uint64_t bytes) {
  uint64_t expired = 0;
  uint64_t full = 0;
  uint64_t through = 0;
  const int64_t cutoff = clock_.NowMicros() - absl::ToInt64Microseconds(config_.max_age);
  // Only committed events are dropped: an append still being written is not touched.
  const uint64_t readable = ReadableThroughLocked();
  while (!runs_.empty() && runs_.front().committed && runs_.front().receive_us < cutoff) {
    const uint64_t upto = std::min(runs_.front().last(), readable);
    const uint64_t n = ForgetThroughLocked(upto);
    if (n == 0) break;
    expired += n;
    through = upto;
  }
  while (held_bytes_ + bytes > config_.max_bytes && !runs_.empty() && runs_.front().committed) {
    const Run& front = runs_.front();
    const uint64_t upto = std::min(front.first + front.head, readable);
    const uint64_t n = ForgetThroughLocked(upto);
    if (n == 0) break;
    full += n;
    through = upto;
  }
  stats_.dropped_expired += expired;
  stats_.dropped_full += full;
  // Accounting already forgot them; were the head not recorded, a restart counts them again
  // and they are shipped after all (never lost).
  if (through > 0) KT_RETURN_IF_ERROR(AdvanceHeadLocked(through + 1));
  return expired + full;
}

void SerializedEvents::Assign(absl::Span<const kubetrail::v1::EnvelopedEvent> events) {
  sizes.resize(events.size());
  uint64_t total = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    sizes[i] = static_cast<uint32_t>(events[i].ByteSizeLong());
    total += sizes[i];
  }
  bytes.resize(total);
  uint8_t* out = reinterpret_cast<uint8_t*>(bytes.data());
  for (const kubetrail::v1::EnvelopedEvent& event : events) {
    out = event.SerializeWithCachedSizesToArray(out);
  }
  receive_us = events.empty() ? 0 : events[0].envelope().receive_time_us();
  crc = Crc32(bytes);
}

void SerializedEvents::Assign(const kubetrail::v1::Envelope& envelope,
                              absl::Span<const kubetrail::v1::Event* const> events) {
  const std::string head = envelope.SerializeAsString();
  sizes.resize(events.size());
  uint64_t total = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    sizes[i] = static_cast<uint32_t>(EnvelopedEventSize(head.size(), events[i]->ByteSizeLong()));
    total += sizes[i];
  }
  bytes.resize(total);
  uint8_t* out = reinterpret_cast<uint8_t*>(bytes.data());
  for (const kubetrail::v1::Event* event : events) {
    out = WriteEnvelopedEventHead(head, event->GetCachedSize(), out);
    out = event->SerializeWithCachedSizesToArray(out);
  }
  receive_us = events.empty() ? 0 : envelope.receive_time_us();
  crc = Crc32(bytes);
}

SerializedEvents& ScratchSerializedEvents::Buffer() {
  thread_local SerializedEvents buffer;
  return buffer;
}

ScratchSerializedEvents::~ScratchSerializedEvents() {
  if (events_.bytes.capacity() > kKeptRecordBufferBytes) events_ = SerializedEvents();
}

absl::StatusOr<AppendResult> Spool::Impl::Append(
    absl::Span<const kubetrail::v1::EnvelopedEvent> events, const SpoolPosition* position) {
  ScratchSerializedEvents serialized;
  serialized->Assign(events);
  const SerializedEvents* parts[] = {&*serialized};
  return AppendSerialized(parts, position);
}

absl::StatusOr<AppendResult> Spool::Impl::AppendSerialized(
    absl::Span<const SerializedEvents* const> parts, const SpoolPosition* position) {
  if (parts.empty()) return absl::InvalidArgumentError("spool append: no parts");
  size_t count = 0;
  uint64_t bytes = 0;
  for (const SerializedEvents* part : parts) {
    count += part->sizes.size();
    bytes += part->bytes.size();
  }
  if (count == 0 && position == nullptr) {
    return absl::InvalidArgumentError("spool append: no events and no position");
  }
  if (position != nullptr &&
      (position->key.empty() || position->key.size() > kMaxPositionKeyBytes)) {
    return absl::InvalidArgumentError(
        Cat("spool append: position key must be 1-", kMaxPositionKeyBytes, " bytes"));
  }
  // The record's prefix, outside the lock: header (filled in once sequences are assigned),
  // position, sizes. The payload's CRC continues over each part's bytes from their own.
  PendingWrite w;
  w.position = position;
  w.event_bytes = bytes;
  std::string& prefix = w.prefix;
  prefix.reserve(kHeaderBytes + 4 +
                 (position == nullptr ? 0 : 8 + position->key.size() + position->value.size()) +
                 4 * count);
  prefix.resize(kHeaderBytes);
  PutFixed32(position == nullptr ? 0 : 1, &prefix);
  if (position != nullptr) PutPosition(position->key, position->value, &prefix);
  std::vector<uint32_t> sizes;
  sizes.reserve(count);
  for (const SerializedEvents* part : parts) {
    for (uint32_t size : part->sizes) PutFixed32(size, &prefix);
    sizes.insert(sizes.end(), part->sizes.begin(), part->sizes.end());
  }
  RecordHeader header;
  header.payload_bytes = static_cast<uint32_t>(prefix.size() - kHeaderBytes + bytes);
  header.event_count = static_cast<uint32_t>(count);
  uLong crc = Crc32(std::string_view(prefix).substr(kHeaderBytes));
  for (const SerializedEvents* part : parts) {
    if (part->bytes.empty()) continue;
    w.events.push_back(part->bytes);
    crc = crc32_combine(crc, part->crc, static_cast<z_off_t>(part->bytes.size()));
  }
  header.payload_crc = static_cast<uint32_t>(crc);
  const size_t data_offset_in_record = prefix.size();

  AppendResult result;
  absl::MutexLock lock(&mu_);
  if (count == 0) {
    // Only the position moves (every event of its lines was filtered out).
    header.first_sequence = next_sequence_;
    header.receive_us = clock_.NowMicros();
    EncodeHeader(header, prefix.data());
    w.first_sequence = header.first_sequence;
    WriteLocked(w);
    if (!w.status.ok()) ++stats_.refused_error;
    KT_RETURN_IF_ERROR(w.status);
    return result;
  }
  if (bytes > config_.max_bytes) {
    ++stats_.refused_error;
    return absl::FailedPreconditionError(
        Cat("spool ", config_.dir, ": a batch of ", bytes, " bytes is larger than the spool (",
            config_.max_bytes, " bytes); raise spool.max_bytes"));
  }
  if (config_.when_full == WhenFull::kDropOldest) {
    KT_ASSIGN_OR_RETURN(result.dropped, DropForLocked(bytes));
  }
  if (!FitsLocked(bytes)) {
    ++stats_.refused_full;
    stats_.full = true;
    const bool too_old = TooOldLocked();
    return absl::ResourceExhaustedError(
        Cat("spool ", config_.dir, " is full: ", held_bytes_, " of ", config_.max_bytes,
            " bytes held in ", held_events_, " events",
            too_old ? Cat(", the oldest received more than ",
                          absl::FormatDuration(config_.max_age), " ago")
                    : std::string(),
            "; the aggregator has not taken them yet"));
  }
  result.first_sequence = next_sequence_;
  result.last_sequence = next_sequence_ + count - 1;
  next_sequence_ = result.last_sequence + 1;
  Run run;
  run.first = result.first_sequence;
  run.receive_us =
      parts[0]->receive_us != 0 ? parts[0]->receive_us : clock_.NowMicros();
  run.sizes = std::move(sizes);
  run.bytes = bytes;
  runs_.push_back(std::move(run));
  held_bytes_ += bytes;
  held_events_ += count;
  writing_[result.first_sequence] = Reservation{result.last_sequence, false};

  header.first_sequence = result.first_sequence;
  header.receive_us = runs_.back().receive_us;
  EncodeHeader(header, prefix.data());
  w.first_sequence = result.first_sequence;
  w.last_sequence = result.last_sequence;
  WriteLocked(w);

  for (auto it = runs_.rbegin(); it != runs_.rend(); ++it) {
    if (it->first != result.first_sequence) continue;
    it->committed = true;
    if (w.status.ok()) {
      it->segment = w.segment;
      it->data_offset = w.offset + data_offset_in_record;
    } else {
      held_bytes_ -= it->bytes;
      held_events_ -= it->sizes.size() - it->head;
      it->bytes = 0;
      it->head = it->sizes.size();
    }
    break;
  }
  writing_[result.first_sequence].done = true;
  while (!writing_.empty() && writing_.begin()->second.done) writing_.erase(writing_.begin());
  PopEmptyRunsLocked();
  stats_.last_sequence = std::max(stats_.last_sequence, result.last_sequence);
  if (!w.status.ok()) {
    ++stats_.refused_error;
    return absl::Status(w.status.code(), Cat("spool ", config_.dir, ": ", w.status.message()));
  }
  stats_.appended_events += count;
  ++stats_.appended_batches;
  return result;
}

absl::StatusOr<size_t> Spool::Impl::Read(uint64_t after, size_t max_events, size_t max_bytes,
                                         std::vector<SpooledEvent>* out) const {
  // Which bytes to read, found under the lock; read without it.
  struct Piece {
    std::shared_ptr<Segment> segment;
    uint64_t offset = 0;
    uint64_t first = 0;
    std::vector<uint32_t> sizes;
  };
  std::vector<Piece> pieces;
  size_t count = 0;
  {
    absl::MutexLock lock(&mu_);
    const uint64_t readable = ReadableThroughLocked();
    size_t bytes = 0;
    bool done = max_events == 0;
    for (const Run& run : runs_) {
      if (done || run.first > readable) break;
      if (run.empty() || run.last() <= after) continue;
      size_t i = std::max<size_t>(run.head, after >= run.first ? after + 1 - run.first : 0);
      uint64_t offset = run.data_offset;
      for (size_t k = 0; k < i; ++k) offset += run.sizes[k];
      Piece piece{run.segment, offset, run.first + i, {}};
      for (; i < run.sizes.size() && run.first + i <= readable; ++i) {
        const size_t size = run.sizes[i];
        if (count > 0 && (count >= max_events || bytes + size > max_bytes)) {
          done = true;
          break;
        }
        piece.sizes.push_back(run.sizes[i]);
        ++count;
        bytes += size;
      }
      if (!piece.sizes.empty()) pieces.push_back(std::move(piece));
    }
  }
  std::string buffer;
  for (const Piece& piece : pieces) {
    uint64_t total = 0;
    for (uint32_t size : piece.sizes) total += size;
    buffer.resize(total);
    KT_RETURN_IF_ERROR(ReadAllAt(piece.segment->fd, buffer.data(), buffer.size(), piece.offset,
                                 piece.segment->path));
    size_t at = 0;
    for (size_t i = 0; i < piece.sizes.size(); ++i) {
      out->push_back(SpooledEvent{piece.first + i, buffer.substr(at, piece.sizes[i])});
      at += piece.sizes[i];
    }
  }
  return count;
}

bool Spool::Impl::WaitForEvents(uint64_t after, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  const uint64_t generation = wake_generation_;
  auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return ReadableThroughLocked() > after || wake_generation_ != generation;
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  return ReadableThroughLocked() > after;
}

bool Spool::Impl::WaitForRoom(uint64_t bytes, absl::Duration timeout) const {
  if (config_.when_full == WhenFull::kDropOldest) return true;
  absl::MutexLock lock(&mu_);
  const uint64_t generation = wake_generation_;
  auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return FitsLocked(bytes) || wake_generation_ != generation;
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  return FitsLocked(bytes);
}

void Spool::Impl::Wake() {
  absl::MutexLock lock(&mu_);
  ++wake_generation_;
}

absl::Status Spool::Impl::Ack(uint64_t through) {
  absl::MutexLock lock(&mu_);
  through = std::min(through, ReadableThroughLocked());
  const uint64_t removed = ForgetThroughLocked(through);
  stats_.acked_events += removed;
  if (removed > 0) stats_.full = false;
  return AdvanceHeadLocked(through + 1);
}

absl::StatusOr<std::optional<std::string>> Spool::Impl::Position(std::string_view key) const {
  absl::MutexLock lock(&mu_);
  auto it = positions_.find(key);
  if (it == positions_.end()) return std::nullopt;
  return it->second;
}

SpoolStats Spool::Impl::Stats() const {
  absl::MutexLock lock(&mu_);
  SpoolStats stats = stats_;
  stats.events = held_events_;
  stats.bytes = held_bytes_;
  stats.oldest = absl::InfinitePast();
  for (const Run& run : runs_) {
    if (run.empty()) continue;
    stats.oldest = absl::FromUnixMicros(run.receive_us);
    break;
  }
  return stats;
}

// Version 1 → 2: every held event (same sequence) and position goes into the first segment,
// FORMAT is written, and then version 1's files are deleted. A crash before FORMAT exists
// starts the migration over; after it, only the deletion.
absl::Status Spool::Impl::MigrateV1() {
  rocksdb::Options options;
  options.merge_operator = std::make_shared<V1MaxUint64Operator>();
  options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  rocksdb::DB* raw = nullptr;
  KT_RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(options, config_.dir, &raw),
                               Cat("opening version 1 spool ", config_.dir)));
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), std::string(kV1FormatKey), &value);
  if (!s.ok() && !s.IsNotFound()) {
    return FromRocks(s, Cat("reading the format version of spool ", config_.dir));
  }
  if (s.ok() && value != "1") {
    return absl::FailedPreconditionError(Cat("spool ", config_.dir, " has format version \"",
                                             value, "\"; this build reads version ",
                                             kFormatVersion, " (and migrates version 1)"));
  }
  uint64_t next = 1;
  uint64_t acked = 0;
  if (db->Get(rocksdb::ReadOptions(), std::string(kV1NextKey), &value).ok()) {
    next = std::max(next, ReadBig64(value));
  }
  if (db->Get(rocksdb::ReadOptions(), std::string(kV1AckedKey), &value).ok()) {
    acked = ReadBig64(value);
  }

  // Leftovers of a migration that crashed before FORMAT was written.
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(config_.dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (SegmentNumber(name) != 0 || name == kHeadFile) fs::remove(entry.path(), ec);
  }

  // Records of up to 1000 consecutive events, then one without events carrying every position
  // and the next sequence.
  std::string out;
  uint64_t records = 0;
  uint64_t migrated = 0;
  std::vector<std::string> pending;
  uint64_t pending_first = 0;
  int64_t pending_receive_us = 0;
  auto flush = [&] {
    if (pending.empty()) return;
    out.append(EncodeRecord(pending_first, pending_receive_us, {}, pending));
    ++records;
    migrated += pending.size();
    pending.clear();
  };
  const std::string upper(1, static_cast<char>(kV1EventPrefix + 1));
  const rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
  std::string start(1, kV1EventPrefix);
  PutBig64(acked + 1, &start);
  for (it->Seek(start); it->Valid(); it->Next()) {
    if (it->key().size() != 9) continue;
    const uint64_t sequence = GetBig64(it->key().data() + 1);
    if (!pending.empty() && (pending.size() >= 1000 || pending_first + pending.size() != sequence)) {
      flush();
    }
    if (pending.empty()) {
      pending_first = sequence;
      kubetrail::v1::EnvelopedEvent event;
      pending_receive_us =
          event.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))
              ? event.envelope().receive_time_us()
              : clock_.NowMicros();
    }
    pending.emplace_back(it->value().data(), it->value().size());
    next = std::max(next, sequence + 1);
  }
  KT_RETURN_IF_ERROR(FromRocks(it->status(), Cat("reading version 1 spool ", config_.dir)));
  flush();
  PositionMap positions;
  const std::string pupper = Cat(kV1PositionPrefix.substr(0, 1), ";");  // ';' follows ':'
  const rocksdb::Slice pupper_slice(pupper);
  rocksdb::ReadOptions pro;
  pro.iterate_upper_bound = &pupper_slice;
  it.reset(db->NewIterator(pro));
  for (it->Seek(std::string(kV1PositionPrefix)); it->Valid(); it->Next()) {
    positions[it->key().ToString().substr(kV1PositionPrefix.size())] = it->value().ToString();
  }
  KT_RETURN_IF_ERROR(FromRocks(it->status(), Cat("reading version 1 spool ", config_.dir)));
  it.reset();
  {
    absl::MutexLock lock(&mu_);
    positions_ = std::move(positions);
    next_sequence_ = std::max(next, acked + 1);
    out.append(SnapshotRecordLocked(next_sequence_));
    positions_.clear();
    next_sequence_ = 1;
  }
  KT_ASSIGN_OR_RETURN(std::shared_ptr<Segment> segment, CreateSegment(1, std::move(out)));
  segment.reset();
  KT_RETURN_IF_ERROR(FromRocks(db->Close(), Cat("closing version 1 spool ", config_.dir)));
  db.reset();

  KT_RETURN_IF_ERROR(WriteFormatFile());
  KT_RETURN_IF_ERROR(FromRocks(rocksdb::DestroyDB(config_.dir, options),
                               Cat("deleting spool ", config_.dir, "'s version 1 files")));
  KT_LOG(kInfo, kComponent) << "spool " << config_.dir << ": migrated " << migrated
                            << " events in " << records << " records from format version 1";
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Spool>> Spool::Open(SpoolConfig config, Clock& clock) {
  if (config.dir.empty()) return absl::InvalidArgumentError("spool: dir is required");
  if (config.max_bytes == 0) return absl::InvalidArgumentError("spool: max_bytes must be > 0");
  if (config.max_age <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("spool: max_age must be > 0");
  }
  auto impl = std::make_unique<Impl>(std::move(config), clock);
  KT_RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<Spool>(new Spool(std::move(impl)));
}

Spool::Spool(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Spool::~Spool() = default;

absl::StatusOr<AppendResult> Spool::Append(absl::Span<const kubetrail::v1::EnvelopedEvent> events,
                                           const SpoolPosition* position) {
  return impl_->Append(events, position);
}
absl::StatusOr<AppendResult> Spool::AppendSerialized(const SerializedEvents& events,
                                                     const SpoolPosition* position) {
  const SerializedEvents* parts[] = {&events};
  return impl_->AppendSerialized(parts, position);
}
absl::StatusOr<AppendResult> Spool::AppendSerialized(
    absl::Span<const SerializedEvents* const> parts, const SpoolPosition* position) {
  return impl_->AppendSerialized(parts, position);
}
absl::StatusOr<size_t> Spool::Read(uint64_t after, size_t max_events, size_t max_bytes,
                                   std::vector<SpooledEvent>* out) const {
  return impl_->Read(after, max_events, max_bytes, out);
}
bool Spool::WaitForEvents(uint64_t after, absl::Duration timeout) const {
  return impl_->WaitForEvents(after, timeout);
}
bool Spool::WaitForRoom(uint64_t bytes, absl::Duration timeout) const {
  return impl_->WaitForRoom(bytes, timeout);
}
void Spool::Wake() { impl_->Wake(); }
absl::Status Spool::Ack(uint64_t through) { return impl_->Ack(through); }
absl::StatusOr<std::optional<std::string>> Spool::Position(std::string_view key) const {
  return impl_->Position(key);
}
SpoolStats Spool::Stats() const { return impl_->Stats(); }
const SpoolConfig& Spool::config() const { return impl_->config(); }

}  // namespace kubetrail::collector
