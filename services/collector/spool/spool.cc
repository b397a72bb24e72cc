#include "services/collector/spool/spool.h"

#include <algorithm>
#include <deque>
#include <filesystem>
#include <map>
#include <system_error>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/bytes.h"
#include "common/rocksdb_status.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "rocksdb/db.h"
#include "rocksdb/merge_operator.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"

namespace kubetrail::collector {
namespace {

// Key layout (FORMAT.md): "e" + big-endian sequence -> serialized EnvelopedEvent; "m:*" meta;
// "p:" + source key -> position.
constexpr char kEventPrefix = 'e';
constexpr std::string_view kFormatKey = "m:format";
constexpr std::string_view kNextKey = "m:next";
constexpr std::string_view kAckedKey = "m:acked";
constexpr std::string_view kPositionPrefix = "p:";
constexpr int kFormatVersion = 1;
constexpr size_t kMaxPositionKeyBytes = 1024;
// Events of one accounting run rebuilt at Open (an Append is one run).
constexpr size_t kRebuiltRunEvents = 1024;

// A stored big-endian uint64 (8 bytes; anything else reads as 0).
uint64_t ReadBig64(std::string_view s) { return s.size() == 8 ? GetBig64(s.data()) : 0; }

rocksdb::Slice AsSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
std::string_view AsView(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

std::string EventKey(uint64_t sequence) {
  std::string key(1, kEventPrefix);
  PutBig64(sequence, &key);
  return key;
}

// Keeps the larger of two big-endian uint64 values: "m:next" and "m:acked" only grow, whatever
// order concurrent writes commit in.
class MaxUint64Operator : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice& /*key*/, const rocksdb::Slice* existing,
             const rocksdb::Slice& value, std::string* new_value,
             rocksdb::Logger* /*logger*/) const override {
    const uint64_t v = ReadBig64(AsView(value));
    const uint64_t e = existing == nullptr ? 0 : ReadBig64(AsView(*existing));
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

  absl::Status Open();
  absl::StatusOr<AppendResult> Append(absl::Span<const kubetrail::v1::EnvelopedEvent> events,
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
  // Consecutive events appended together: sequences first + head .. first + sizes.size() - 1
  // are held.
  struct Run {
    uint64_t first = 0;
    int64_t receive_us = 0;
    std::vector<uint32_t> sizes;
    size_t head = 0;
    uint64_t bytes = 0;
    // Its write has returned (OK); until then nothing of it may be dropped.
    bool committed = false;
    uint64_t last() const { return first + sizes.size() - 1; }
    bool empty() const { return head == sizes.size(); }
  };
  // An append being written: its last sequence and whether its write has returned.
  struct Reservation {
    uint64_t last = 0;
    bool done = false;
  };

  // Removes held events with sequence <= `through` from the accounting; appends their
  // sequences to `removed` when not null. Returns how many.
  uint64_t ForgetThroughLocked(uint64_t through, std::vector<uint64_t>* removed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether an append of `bytes` fits (kBlock semantics: bytes and age).
  bool FitsLocked(uint64_t bytes) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool TooOldLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // kDropOldest: deletes committed events older than max_age and then the oldest committed
  // events until `bytes` fit. Returns the dropped count.
  absl::StatusOr<uint64_t> DropForLocked(uint64_t bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Deletes `sequences` from the database (not synced).
  absl::Status DeleteEvents(const std::vector<uint64_t>& sequences, uint64_t acked_through);
  void PopEmptyRunsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  uint64_t ReadableThroughLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const SpoolConfig config_;
  Clock& clock_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::WriteOptions append_options_;

  mutable absl::Mutex mu_;
  std::deque<Run> runs_ ABSL_GUARDED_BY(mu_);
  // Appends being written, by first sequence.
  std::map<uint64_t, Reservation> writing_ ABSL_GUARDED_BY(mu_);
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t held_events_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t held_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t wake_generation_ ABSL_GUARDED_BY(mu_) = 0;
  SpoolStats stats_ ABSL_GUARDED_BY(mu_);
};

absl::Status Spool::Impl::Open() {
  std::error_code ec;
  std::filesystem::create_directories(config_.dir, ec);
  if (ec) {
    return absl::UnavailableError(
        Cat("creating spool directory ", config_.dir, ": ", ec.message()));
  }
  rocksdb::Options options;
  options.create_if_missing = true;
  options.merge_operator = std::make_shared<MaxUint64Operator>();
  // Events live briefly while the aggregator is up: most die in the memtable. No compression:
  // the backlog on disk is bounded by max_bytes anyway, and LZ4 at flush time took 4 % of the
  // CPU of a webhook -> spool run (measured with perf).
  // Two 32 MiB memtables bound the spool's memory (the collector's budget is 200 MB); a
  // backlog goes to disk.
  options.write_buffer_size = size_t{32} << 20;
  options.max_write_buffer_number = 2;
  options.compression = rocksdb::kNoCompression;
  options.max_background_jobs = 2;
  options.max_total_wal_size = size_t{256} << 20;
  options.keep_log_file_num = 2;
  options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  // A torn last record (a crash during a write whose Append never returned) is cut off.
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  rocksdb::DB* raw = nullptr;
  KT_RETURN_IF_ERROR(
      FromRocks(rocksdb::DB::Open(options, config_.dir, &raw), Cat("opening spool ", config_.dir)));
  db_.reset(raw);
  append_options_.sync = config_.sync;

  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), AsSlice(kFormatKey), &value);
  if (s.IsNotFound()) {
    KT_RETURN_IF_ERROR(FromRocks(
        db_->Put(rocksdb::WriteOptions(), AsSlice(kFormatKey), std::to_string(kFormatVersion)),
        Cat("writing the format version of spool ", config_.dir)));
  } else if (!s.ok()) {
    return FromRocks(s, Cat("reading the format version of spool ", config_.dir));
  } else if (value != std::to_string(kFormatVersion)) {
    return absl::FailedPreconditionError(Cat("spool ", config_.dir, " has format version \"", value,
                                             "\"; this build reads version ", kFormatVersion));
  }

  uint64_t next = 1;
  uint64_t acked = 0;
  s = db_->Get(rocksdb::ReadOptions(), AsSlice(kNextKey), &value);
  if (s.ok()) next = std::max(next, ReadBig64(value));
  s = db_->Get(rocksdb::ReadOptions(), AsSlice(kAckedKey), &value);
  if (s.ok()) acked = ReadBig64(value);

  // Count what is held, starting after the acknowledged events (so their delete markers are
  // not walked).
  absl::MutexLock lock(&mu_);
  const std::string upper(1, static_cast<char>(kEventPrefix + 1));
  const rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  kubetrail::v1::EnvelopedEvent event;
  for (it->Seek(EventKey(acked + 1)); it->Valid(); it->Next()) {
    const uint64_t sequence = GetBig64(it->key().data() + 1);
    const size_t size = it->value().size();
    if (runs_.empty() || runs_.back().sizes.size() >= kRebuiltRunEvents ||
        runs_.back().last() + 1 != sequence) {
      Run run;
      run.first = sequence;
      run.committed = true;
      if (event.ParseFromArray(it->value().data(), static_cast<int>(size))) {
        run.receive_us = event.envelope().receive_time_us();
      }
      runs_.push_back(std::move(run));
    }
    runs_.back().sizes.push_back(static_cast<uint32_t>(size));
    runs_.back().bytes += size;
    held_bytes_ += size;
    ++held_events_;
    next = std::max(next, sequence + 1);
  }
  KT_RETURN_IF_ERROR(FromRocks(it->status(), Cat("reading spool ", config_.dir)));
  next_sequence_ = std::max(next, acked + 1);
  stats_.last_sequence = next_sequence_ - 1;
  return absl::OkStatus();
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

uint64_t Spool::Impl::ForgetThroughLocked(uint64_t through, std::vector<uint64_t>* removed) {
  uint64_t count = 0;
  for (Run& run : runs_) {
    if (run.first + run.head > through) break;
    while (!run.empty() && run.first + run.head <= through) {
      if (removed != nullptr) removed->push_back(run.first + run.head);
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

absl::Status Spool::Impl::DeleteEvents(const std::vector<uint64_t>& sequences,
                                       uint64_t acked_through) {
  if (sequences.empty() && acked_through == 0) return absl::OkStatus();
  rocksdb::WriteBatch batch;
  for (uint64_t sequence : sequences) batch.Delete(EventKey(sequence));
  if (acked_through > 0) batch.Merge(AsSlice(kAckedKey), Big64(acked_through));
  return FromRocks(db_->Write(rocksdb::WriteOptions(), &batch),
                   Cat("deleting from spool ", config_.dir));
}

absl::StatusOr<uint64_t> Spool::Impl::DropForLocked(uint64_t bytes) {
  std::vector<uint64_t> expired;
  std::vector<uint64_t> full;
  const int64_t cutoff = clock_.NowMicros() - absl::ToInt64Microseconds(config_.max_age);
  // Only committed events are dropped: an append still being written is not touched.
  const uint64_t readable = ReadableThroughLocked();
  while (!runs_.empty() && runs_.front().committed && runs_.front().receive_us < cutoff) {
    const Run& front = runs_.front();
    if (ForgetThroughLocked(std::min(front.last(), readable), &expired) == 0) break;
  }
  while (held_bytes_ + bytes > config_.max_bytes && !runs_.empty() && runs_.front().committed) {
    const Run& front = runs_.front();
    if (ForgetThroughLocked(std::min(front.first + front.head, readable), &full) == 0) break;
  }
  std::vector<uint64_t> all = expired;
  all.insert(all.end(), full.begin(), full.end());
  // Accounting already forgot them; were the delete to fail, a restart counts them again and
  // they are shipped after all (never lost).
  const absl::Status deleted = DeleteEvents(all, 0);
  stats_.dropped_expired += expired.size();
  stats_.dropped_full += full.size();
  KT_RETURN_IF_ERROR(deleted);
  return all.size();
}

absl::StatusOr<AppendResult> Spool::Impl::Append(
    absl::Span<const kubetrail::v1::EnvelopedEvent> events, const SpoolPosition* position) {
  if (events.empty() && position == nullptr) {
    return absl::InvalidArgumentError("spool append: no events and no position");
  }
  if (position != nullptr &&
      (position->key.empty() || position->key.size() > kMaxPositionKeyBytes)) {
    return absl::InvalidArgumentError(
        Cat("spool append: position key must be 1-", kMaxPositionKeyBytes, " bytes"));
  }
  if (events.empty()) {
    // Only the position moves (every event of its lines was filtered out).
    rocksdb::WriteBatch batch;
    batch.Put(Cat(kPositionPrefix, position->key), position->value);
    KT_RETURN_IF_ERROR(
        FromRocks(db_->Write(append_options_, &batch), Cat("writing to spool ", config_.dir)));
    return AppendResult{};
  }
  // Every event serialized into one buffer (one allocation per batch, not per event).
  std::vector<uint32_t> sizes(events.size());
  uint64_t bytes = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    sizes[i] = static_cast<uint32_t>(events[i].ByteSizeLong());
    bytes += sizes[i];
  }
  std::string serialized(bytes, '\0');
  {
    uint8_t* out = reinterpret_cast<uint8_t*>(serialized.data());
    for (const kubetrail::v1::EnvelopedEvent& event : events) {
      out = event.SerializeWithCachedSizesToArray(out);
    }
  }

  AppendResult result;
  {
    absl::MutexLock lock(&mu_);
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
    result.last_sequence = next_sequence_ + events.size() - 1;
    next_sequence_ = result.last_sequence + 1;
    Run run;
    run.first = result.first_sequence;
    run.receive_us = events[0].envelope().receive_time_us() != 0
                         ? events[0].envelope().receive_time_us()
                         : clock_.NowMicros();
    run.sizes = sizes;
    run.bytes = bytes;
    runs_.push_back(std::move(run));
    held_bytes_ += bytes;
    held_events_ += events.size();
    writing_[result.first_sequence] = Reservation{result.last_sequence, false};
  }

  // Room for every record: value, key and a few bytes of framing each.
  rocksdb::WriteBatch batch(bytes + events.size() * 32 + 256);
  size_t offset = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    batch.Put(EventKey(result.first_sequence + i),
              rocksdb::Slice(serialized.data() + offset, sizes[i]));
    offset += sizes[i];
  }
  batch.Merge(AsSlice(kNextKey), Big64(result.last_sequence + 1));
  if (position != nullptr) {
    batch.Put(Cat(kPositionPrefix, position->key), position->value);
  }
  const absl::Status written =
      FromRocks(db_->Write(append_options_, &batch), Cat("writing to spool ", config_.dir));

  absl::MutexLock lock(&mu_);
  for (auto it = runs_.rbegin(); it != runs_.rend(); ++it) {
    if (it->first != result.first_sequence) continue;
    it->committed = true;
    if (!written.ok()) {
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
  if (!written.ok()) {
    ++stats_.refused_error;
    return written;
  }
  stats_.appended_events += events.size();
  ++stats_.appended_batches;
  return result;
}

absl::StatusOr<size_t> Spool::Impl::Read(uint64_t after, size_t max_events, size_t max_bytes,
                                         std::vector<SpooledEvent>* out) const {
  uint64_t readable;
  {
    absl::MutexLock lock(&mu_);
    readable = ReadableThroughLocked();
    // Start at the oldest held event: the deleted ones before it need not be walked.
    for (const Run& run : runs_) {
      if (run.empty()) continue;
      after = std::max(after, run.first + run.head - 1);
      break;
    }
  }
  if (after >= readable || max_events == 0) return 0;
  const std::string upper = EventKey(readable + 1);
  const rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  size_t count = 0;
  size_t bytes = 0;
  for (it->Seek(EventKey(after + 1)); it->Valid(); it->Next()) {
    const size_t size = it->value().size();
    if (count > 0 && (count >= max_events || bytes + size > max_bytes)) break;
    out->push_back(
        SpooledEvent{GetBig64(it->key().data() + 1), std::string(it->value().data(), size)});
    ++count;
    bytes += size;
  }
  KT_RETURN_IF_ERROR(FromRocks(it->status(), Cat("reading spool ", config_.dir)));
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
  std::vector<uint64_t> removed;
  {
    absl::MutexLock lock(&mu_);
    through = std::min(through, ReadableThroughLocked());
    stats_.acked_events += ForgetThroughLocked(through, &removed);
    if (!removed.empty()) stats_.full = false;
  }
  return DeleteEvents(removed, through);
}

absl::StatusOr<std::optional<std::string>> Spool::Impl::Position(std::string_view key) const {
  std::string value;
  const rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), Cat(kPositionPrefix, key), &value);
  if (s.IsNotFound()) return std::nullopt;
  KT_RETURN_IF_ERROR(FromRocks(s, Cat("reading a position from spool ", config_.dir)));
  return value;
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
