#include "services/collector/tail_pipeline.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "audit/codec.h"
#include "audit/event_batch.h"
#include "common/logging.h"
#include "common/strings.h"

namespace kubetrail::collector {

namespace tail_internal {

std::string LineLocator::Describe(size_t line, std::string_view message) {
  const std::string& data = chunk_.data;
  while (line_ < line && at_ < data.size()) {
    const void* newline = std::memchr(data.data() + at_, '\n', data.size() - at_);
    if (newline == nullptr) break;
    at_ = static_cast<size_t>(static_cast<const char*>(newline) - data.data()) + 1;
    ++line_;
  }
  const std::string prefix = Cat("line ", line, ": ");
  if (line_ == line && message.substr(0, prefix.size()) == prefix) {
    return Cat(chunk_.file, ": line at offset ", chunk_.first_offset + at_, ": ",
               message.substr(prefix.size()));
  }
  // Not a line of its own (an item of an EventList, say): name where the chunk starts.
  return Cat(chunk_.file, ": in the lines from offset ", chunk_.first_offset, ": ", message);
}

}  // namespace tail_internal

TailPipeline::TailPipeline(TailPipelineConfig config, Tailer& tailer, Intake& intake, Spool& spool)
    : config_(std::move(config)),
      position_key_(Cat("tail:", config_.path)),
      tailer_(tailer),
      intake_(intake),
      spool_(spool),
      threads_(std::max<size_t>(config_.threads, 1)),
      max_append_bytes_(static_cast<size_t>(
          std::min<uint64_t>(config_.max_append_bytes, spool.config().max_bytes / 4))) {
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < 2 * threads_ + 2; ++i) {
    jobs_.push_back(std::make_unique<Job>());
    free_.push_back(jobs_.back().get());
  }
}

TailPipeline::~TailPipeline() = default;

void TailPipeline::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  tailer_.Wake();
}

bool TailPipeline::Stopped() const {
  absl::MutexLock lock(&mu_);
  return stop_;
}

TailPipeline::Job* TailPipeline::AwaitFree() {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || !free_.empty(); };
  mu_.Await(absl::Condition(&ready));
  if (stop_) return nullptr;
  Job* job = free_.back();
  free_.pop_back();
  return job;
}

void TailPipeline::Release(Job* job) {
  absl::MutexLock lock(&mu_);
  free_.push_back(job);
}

TailPipeline::Job* TailPipeline::Take() {
  absl::MutexLock lock(&mu_);
  auto ready = [this]()
                   ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return reading_done_ || !read_.empty(); };
  mu_.Await(absl::Condition(&ready));
  if (read_.empty()) return nullptr;
  Job* job = read_.front();
  read_.pop_front();
  return job;
}

void TailPipeline::Run() {
  std::vector<std::thread> workers;
  for (size_t i = 0; i < threads_; ++i) workers.emplace_back([this] { Work(); });
  std::thread appender([this] { AppendInOrder(); });
  while (Job* job = AwaitFree()) {
    TailChunk& chunk = job->chunk;
    if (absl::Status s = tailer_.ReadInto(config_.chunk_bytes, config_.read_wait, chunk); !s.ok()) {
      KT_LOG(kError, "collector") << "tail " << config_.path << ": " << s;
      Release(job);
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stop_), config_.error_wait);
      continue;
    }
    for (const std::string& w : chunk.warnings) {
      KT_LOG(kError, "collector") << "tail " << config_.path << ": " << w;
    }
    if (chunk.empty()) {
      Release(job);
      continue;
    }
    job->position = SpoolPosition{position_key_, chunk.position.Encode()};
    absl::MutexLock lock(&mu_);
    job->seq = next_read_++;
    read_.push_back(job);
  }
  {
    absl::MutexLock lock(&mu_);
    reading_done_ = true;
  }
  for (std::thread& w : workers) w.join();
  {
    absl::MutexLock lock(&mu_);
    workers_done_ = true;
  }
  appender.join();
}

void TailPipeline::Work() {
  audit::DecodeOptions options;
  options.max_event_bytes = config_.max_event_bytes;
  audit::EventReader reader(std::string_view(), options);
  // Kept across chunks, so its memory is faulted in once.
  audit::EventBatch batch;
  std::vector<std::string> errors;
  while (Job* job = Take()) {
    TailChunk& chunk = job->chunk;
    errors.clear();
    audit::ReserveReadPadding(chunk.data);
    reader.Reset(chunk.data, chunk.data.capacity() - chunk.data.size());
    tail_internal::LineLocator locate(chunk);
    while (true) {
      absl::StatusOr<bool> more = batch.ReadNext(reader);
      if (!more.ok()) {
        errors.push_back(locate.Describe(reader.line(), ToStd(more.status().message())));
        continue;
      }
      if (!*more) break;
    }
    errors.insert(errors.end(), chunk.skipped.begin(), chunk.skipped.end());
    LogUndecodable(Cat("tail ", config_.path), errors);
    intake_.Prepare(Source::kTail, batch.events(), errors.size(), job->serialized);
    batch.Clear();
    absl::MutexLock lock(&mu_);
    prepared_.push_back(job);
  }
}

void TailPipeline::AppendInOrder() {
  std::vector<Job*> group;
  while (true) {
    group.clear();
    {
      absl::MutexLock lock(&mu_);
      // The prepared job with sequence `seq`, if any (the condition may be evaluated on other
      // threads, any number of times: it only looks).
      auto find = [this](uint64_t seq) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return std::find_if(prepared_.begin(), prepared_.end(),
                            [seq](const Job* j) { return j->seq == seq; });
      };
      auto ready = [this, &find]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        // Or every chunk read was prepared and appended.
        return find(next_append_) != prepared_.end() ||
               (workers_done_ && next_append_ == next_read_);
      };
      mu_.Await(absl::Condition(&ready));
      // This turn's job, and those after it that are prepared too, within max_append_bytes.
      size_t bytes = 0;
      for (auto it = find(next_append_); it != prepared_.end();
           it = find(next_append_ + group.size())) {
        const size_t more = (*it)->serialized.bytes.size();
        if (!group.empty() && bytes + more > max_append_bytes_) break;
        bytes += more;
        group.push_back(*it);
        prepared_.erase(it);
      }
    }
    if (group.empty()) return;
    if (!Append(group)) return;  // these chunks and every later one stay unspooled
    absl::MutexLock lock(&mu_);
    next_append_ += group.size();
    free_.insert(free_.end(), group.begin(), group.end());
  }
}

bool TailPipeline::Append(absl::Span<Job* const> jobs) {
  std::vector<const SerializedEvents*> parts;
  size_t chunk_bytes = 0;
  for (const Job* job : jobs) {
    parts.push_back(&job->serialized);
    chunk_bytes += job->chunk.data.size();
  }
  const SpoolPosition& position = jobs.back()->position;
  while (true) {
    const absl::Status s = intake_.Append(Source::kTail, parts, &position);
    if (s.ok()) return true;
    if (s.code() != absl::StatusCode::kResourceExhausted || !spool_.Stats().full) {
      // Not for lack of room in the spool (a full or failing disk): retry after a pause, not
      // in a tight loop.
      KT_LOG(kError, "collector") << "tail " << config_.path << ": cannot spool, retrying: " << s;
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stop_), config_.error_wait)) return false;
      continue;
    }
    // Full: wait for room (the apiserver's log keeps the lines). Stopping meanwhile leaves
    // these chunks and every later one unspooled, their positions uncommitted: the next start
    // reads those lines again.
    while (!spool_.WaitForRoom(chunk_bytes, config_.room_wait)) {
      if (Stopped()) return false;
    }
    if (Stopped()) return false;
  }
}

}  // namespace kubetrail::collector
