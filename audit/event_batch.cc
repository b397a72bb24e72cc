#include "audit/event_batch.h"

#include <algorithm>

namespace kubetrail::audit {
namespace {

// The first block of a new batch; it grows to what inputs use (a 400-event webhook body of
// ~2 KB events takes about 1 MB of arena).
constexpr size_t kFirstBlockBytes = size_t{64} << 10;
// Blocks beyond the first, for an input larger than the first block.
constexpr size_t kMaxExtraBlockBytes = size_t{1} << 20;
// The first block grows in steps of this much.
constexpr size_t kBlockGranule = size_t{64} << 10;

std::unique_ptr<google::protobuf::Arena> NewArena(char* block, size_t bytes) {
  google::protobuf::ArenaOptions options;
  options.initial_block = block;
  options.initial_block_size = bytes;
  options.start_block_size = kBlockGranule;
  options.max_block_size = kMaxExtraBlockBytes;
  return std::make_unique<google::protobuf::Arena>(options);
}

}  // namespace

EventBatch::EventBatch(size_t max_kept_bytes)
    : max_kept_bytes_(std::max(max_kept_bytes, kFirstBlockBytes)),
      block_(new char[kFirstBlockBytes]),
      block_bytes_(kFirstBlockBytes),
      arena_(NewArena(block_.get(), block_bytes_)) {}

EventBatch::~EventBatch() {
  // The arena goes first: it runs its cleanups and frees its blocks, except block_.
  arena_.reset();
}

kubetrail::v1::Event* EventBatch::Spare() {
  if (spare_ == nullptr) {
    spare_ = google::protobuf::Arena::CreateMessage<kubetrail::v1::Event>(arena_.get());
  }
  return spare_;
}

absl::StatusOr<bool> EventBatch::ReadNext(EventReader& reader) {
  kubetrail::v1::Event* event = Spare();
  absl::StatusOr<bool> more = reader.Next(event);
  if (more.ok() && *more) {
    events_.push_back(event);
    spare_ = nullptr;
  }
  return more;
}

kubetrail::v1::Event* EventBatch::Add() {
  kubetrail::v1::Event* event = Spare();
  event->Clear();
  events_.push_back(event);
  spare_ = nullptr;
  return event;
}

void EventBatch::Clear() {
  events_.clear();
  spare_ = nullptr;
  const uint64_t used = arena_->SpaceAllocated();
  if (used <= block_bytes_ || block_bytes_ >= max_kept_bytes_) {
    arena_->Reset();  // keeps block_, frees the rest
    return;
  }
  // The last input needed more than the first block: make the first block hold that much.
  arena_.reset();
  block_bytes_ =
      std::min(max_kept_bytes_, (used + kBlockGranule - 1) / kBlockGranule * kBlockGranule);
  block_.reset(new char[block_bytes_]);
  arena_ = NewArena(block_.get(), block_bytes_);
}

}  // namespace kubetrail::audit
