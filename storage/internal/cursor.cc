#include "storage/internal/cursor.h"

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "common/strings.h"

namespace kubetrail::storage::internal {
namespace {

constexpr std::string_view kPrefix = "kt1.";
constexpr size_t kBinarySize = 1 + 8 + 1 + 8 + 8;

void PutBig64(uint64_t v, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

uint64_t GetBig64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

absl::Status Malformed(std::string_view why) {
  return absl::InvalidArgumentError(Cat("malformed cursor: ", why));
}

}  // namespace

std::string EncodeCursor(const Cursor& cursor) {
  std::string bin;
  bin.push_back(cursor.order == Order::kAscending ? 'a' : 'd');
  PutBig64(cursor.snapshot, &bin);
  bin.push_back(cursor.has_position ? 1 : 0);
  PutBig64(static_cast<uint64_t>(cursor.time_us), &bin);
  PutBig64(cursor.sequence, &bin);
  std::string text(kPrefix);
  text += absl::WebSafeBase64Escape(bin);
  return text;
}

absl::StatusOr<Cursor> DecodeCursor(std::string_view text) {
  if (text.substr(0, kPrefix.size()) != kPrefix) return Malformed("unknown version");
  std::string bin;
  if (!absl::WebSafeBase64Unescape(ToAbsl(text.substr(kPrefix.size())), &bin)) {
    return Malformed("not base64url");
  }
  if (bin.size() != kBinarySize) return Malformed("wrong length");
  Cursor c;
  if (bin[0] == 'a') {
    c.order = Order::kAscending;
  } else if (bin[0] == 'd') {
    c.order = Order::kDescending;
  } else {
    return Malformed("unknown order");
  }
  c.snapshot = GetBig64(bin.data() + 1);
  if (bin[9] != 0 && bin[9] != 1) return Malformed("bad position flag");
  c.has_position = bin[9] == 1;
  c.time_us = static_cast<int64_t>(GetBig64(bin.data() + 10));
  c.sequence = GetBig64(bin.data() + 18);
  return c;
}

absl::StatusOr<Cursor> StartCursor(const SearchRequest& request, uint64_t last_sequence) {
  if (request.cursor.empty()) {
    Cursor c;
    c.order = request.order;
    c.snapshot = last_sequence;
    return c;
  }
  absl::StatusOr<Cursor> c = DecodeCursor(request.cursor);
  if (!c.ok()) return c.status();
  if (c->order != request.order) {
    return absl::InvalidArgumentError("cursor belongs to a search in the other order");
  }
  return c;
}

bool AfterCursor(const Cursor& cursor, int64_t time_us, uint64_t sequence) {
  if (sequence > cursor.snapshot) return false;
  if (!cursor.has_position) return true;
  if (cursor.order == Order::kAscending) {
    return time_us > cursor.time_us || (time_us == cursor.time_us && sequence > cursor.sequence);
  }
  return time_us < cursor.time_us || (time_us == cursor.time_us && sequence < cursor.sequence);
}

absl::Status CheckLimit(int limit) {
  if (limit < 1 || limit > kMaxSearchLimit) {
    return absl::InvalidArgumentError(
        Cat("limit ", limit, " out of range [1, ", kMaxSearchLimit, "]"));
  }
  return absl::OkStatus();
}

}  // namespace kubetrail::storage::internal
