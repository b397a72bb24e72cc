// Search cursors: what a page's cursor holds, and its text form. Shared by every EventStore
// implementation so that a cursor means the same thing everywhere.
//
// Text form (frozen): "kt1." followed by unpadded base64url of
//   [order: 1 byte, 'a' or 'd'] [snapshot sequence: 8 bytes BE]
//   [has position: 1 byte, 0 or 1] [time_us: 8 bytes BE, two's complement] [sequence: 8 BE]
#ifndef KUBETRAIL_STORAGE_INTERNAL_CURSOR_H_
#define KUBETRAIL_STORAGE_INTERNAL_CURSOR_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "storage/event_store.h"

namespace kubetrail::storage::internal {

struct Cursor {
  Order order = Order::kAscending;
  // Only events with sequence <= snapshot belong to this paging session.
  uint64_t snapshot = 0;
  // The last event returned: the next page starts strictly after (ascending) or before
  // (descending) (time_us, sequence). Without a position the page starts at the range edge.
  bool has_position = false;
  int64_t time_us = 0;
  uint64_t sequence = 0;
};

std::string EncodeCursor(const Cursor& cursor);
absl::StatusOr<Cursor> DecodeCursor(std::string_view text);

// The cursor a request starts from: decoded from `request.cursor`, or a fresh one pinned at
// `last_sequence`. InvalidArgument when the cursor is malformed or its order differs.
absl::StatusOr<Cursor> StartCursor(const SearchRequest& request, uint64_t last_sequence);

// True when (time_us, sequence) lies after the cursor position in the cursor's order and
// within its snapshot.
bool AfterCursor(const Cursor& cursor, int64_t time_us, uint64_t sequence);

// Validates the limit of a request (InvalidArgument outside [1, kMaxSearchLimit]).
absl::Status CheckLimit(int limit);

}  // namespace kubetrail::storage::internal

#endif  // KUBETRAIL_STORAGE_INTERNAL_CURSOR_H_
