// The RocksDB store's on-disk format: column families, key layouts and value encodings.
// FORMAT.md documents the same thing for humans. DO NOT CHANGE any constant or layout here
// without raising kStoreFormatVersion and writing the migration: stores written years ago
// must stay readable.
//
// Conventions: integers in keys are big-endian and fixed width, so byte order is numeric
// order. Signed times in keys are offset by 2^63 (sign bit flipped) so that byte order is
// time order across the epoch. Values use little-endian fixed64 and LEB128 varints.
#ifndef KUBETRAIL_STORAGE_INTERNAL_FORMAT_H_
#define KUBETRAIL_STORAGE_INTERNAL_FORMAT_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "kubetrail/v1/event.pb.h"

namespace kubetrail::storage::internal {

// Column family names.
inline constexpr char kCfMeta[] = "default";
inline constexpr char kCfEvents[] = "events";
inline constexpr char kCfIds[] = "ids";
inline constexpr char kCfPostings[] = "postings";
inline constexpr char kCfRollups[] = "rollups";
inline constexpr char kCfSeqlog[] = "seqlog";

// Meta keys (column family "default").
inline constexpr char kMetaFormatVersion[] = "format_version";  // value: decimal text
inline constexpr char kDictPrefix = 'd';                        // 'd' kind term -> id (4 bytes BE)
inline constexpr char kDictRevPrefix = 'r';                     // 'r' kind id(4 BE) -> term
// Retention and legal holds (see EncodeHold / EncodeClusterExpiry):
inline constexpr char kRetentionPrefix[] = "m/retention/";  // + cluster -> decimal keep_us
inline constexpr char kHoldPrefix[] = "m/hold/";            // + id number (8 BE) -> hold
inline constexpr char kHoldNext[] = "m/hold_next";          // -> decimal next id number
inline constexpr char kExpiryPrefix[] = "m/expiry/";        // + cluster id (4 BE) -> expiry

// String kinds: the dictionaries, the posting-list indexes and the rollup dimensions share
// these numbers. DO NOT CHANGE THESE VALUES.
enum Kind : uint8_t {
  kKindTotal = 0,         // rollups only: every event, term id 0
  kKindCluster = 1,       // dictionary only (cluster ids prefix every key)
  kKindSource = 2,        // dictionary only
  kKindUser = 3,          // user.username ("" when absent): postings, rollups
  kKindImpersonated = 4,  // impersonatedUser.username, only when non-empty: postings
  kKindGroup = 5,         // each of user.groups: postings
  kKindVerb = 6,          // verb: postings, rollups
  kKindNamespace = 7,     // objectRef.namespace: postings, rollups
  kKindResource = 8,      // ResourceTerm(objectRef): postings, rollups
  kKindCode = 9,          // responseStatus.code in decimal, "" when absent: postings, rollups
};
inline constexpr int kNumKinds = 10;
// "total", "cluster", "source", "user", "impersonated", "group", "verb", "namespace",
// "resource", "code".
std::string_view KindName(uint8_t kind);

// Rollup granularities. kGranAll has the single bucket 0 and counts every event ever
// ingested per term, for every posting kind; the planner's estimates come from it.
enum Gran : uint8_t { kGranMinute = 0, kGranHour = 1, kGranDay = 2, kGranAll = 3 };
int64_t GranMicros(Gran g);  // 0 for kGranAll

// The term of a resource: "resource\0group\0subresource".
std::string ResourceTerm(const kubetrail::v1::ObjectReference& ref);
// Splits a ResourceTerm back into its three parts.
void SplitResourceTerm(std::string_view term, std::string_view* resource, std::string_view* group,
                       std::string_view* subresource);

// The term of a response code: decimal, "" when the event has none.
std::string CodeTerm(const kubetrail::v1::Event& event);

// Calls fn(kind, term) for every posting-list term of `event`, in kind order: user,
// impersonated user (only when non-empty), each distinct group, verb, namespace, resource
// (`resource_term`, ResourceTerm of its objectRef) and code (`code_term`, CodeTerm).
template <typename Fn>
void ForEachTerm(const kubetrail::v1::Event& event, std::string_view resource_term,
                 std::string_view code_term, Fn fn) {
  fn(kKindUser, std::string_view(event.user().username()));
  if (!event.impersonated_user().username().empty()) {
    fn(kKindImpersonated, std::string_view(event.impersonated_user().username()));
  }
  const auto& groups = event.user().groups();
  for (int i = 0; i < groups.size(); ++i) {
    bool repeated = false;
    for (int j = 0; j < i && !repeated; ++j) repeated = groups[j] == groups[i];
    if (!repeated) fn(kKindGroup, std::string_view(groups[i]));
  }
  fn(kKindVerb, std::string_view(event.verb()));
  fn(kKindNamespace, std::string_view(event.object_ref().namespace_()));
  fn(kKindResource, resource_term);
  fn(kKindCode, code_term);
}

// True for the kinds with minute and hour rollups (all have day and all-time rollups).
inline bool HasTimedRollups(uint8_t kind) {
  return kind == kKindTotal || kind == kKindUser || kind == kKindVerb || kind == kKindNamespace ||
         kind == kKindResource || kind == kKindCode;
}

// Floor division of a time into buckets of `width` micros.
inline int64_t FloorDiv(int64_t a, int64_t width) {
  int64_t q = a / width;
  if ((a % width) != 0 && ((a < 0) != (width < 0))) --q;
  return q;
}
// A bucket number as stored in keys: clamped to int32 (minutes reach +-4000 years from the
// epoch), then uint32 with the sign flipped.
inline uint32_t BucketKey(int64_t bucket) {
  if (bucket < INT32_MIN) bucket = INT32_MIN;
  if (bucket > INT32_MAX) bucket = INT32_MAX;
  return static_cast<uint32_t>(static_cast<int32_t>(bucket)) ^ 0x80000000u;
}
inline int64_t BucketFromKey(uint32_t key) { return static_cast<int32_t>(key ^ 0x80000000u); }
inline uint64_t TimeKey(int64_t time_us) {
  return static_cast<uint64_t>(time_us) ^ 0x8000000000000000ull;
}
inline int64_t TimeFromKey(uint64_t key) {
  return static_cast<int64_t>(key ^ 0x8000000000000000ull);
}

// Fixed-width big-endian, fixed64 and varint helpers: common/bytes.h.
inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

// events: [cluster 4][time 8][sequence 8] -> EventValue.
inline constexpr size_t kEventKeySize = 20;
struct EventKey {
  uint32_t cluster = 0;
  int64_t time_us = 0;
  uint64_t sequence = 0;
};
std::string EncodeEventKey(const EventKey& k);
void AppendEventKey(const EventKey& k, std::string* out);
bool DecodeEventKey(std::string_view key, EventKey* k);

// Event value: [source id varint][zigzag(receive_time - time) varint][Event protobuf].
// Appends the first two fields; the writer puts the event bytes after them (as a second
// rocksdb::SliceParts part, so that they are copied into the batch once).
void AppendEventValueHeader(uint32_t source, int64_t receive_delta, std::string* out);
struct EventValue {
  uint32_t source = 0;
  int64_t receive_delta = 0;
  std::string_view event_bytes;
};
bool DecodeEventValue(std::string_view value, EventValue* v);
// receive_time - time, and back. Both times come from the collector and may be anywhere in
// int64, so the arithmetic wraps (modulo 2^64) instead of overflowing; time + delta gives the
// receive time back for every pair, and the same bytes as plain subtraction where that fits.
inline int64_t ReceiveDelta(int64_t receive_us, int64_t time_us) {
  return static_cast<int64_t>(static_cast<uint64_t>(receive_us) - static_cast<uint64_t>(time_us));
}
inline int64_t ReceiveTime(int64_t time_us, int64_t receive_delta) {
  return static_cast<int64_t>(static_cast<uint64_t>(time_us) +
                              static_cast<uint64_t>(receive_delta));
}

// ids: [SHA-256(auditID)[0..8)][SHA-256(identity)[0..8)] -> event key (20 bytes).
inline constexpr size_t kIdKeySize = 16;
using Hash8 = std::array<unsigned char, 8>;
Hash8 AuditIdHash(std::string_view audit_id);
// Identity: cluster, source and the deterministic Event serialization (which holds auditID
// and stage).
Hash8 IdentityHash(std::string_view cluster, std::string_view source, std::string_view event_bytes);
std::string EncodeIdKey(const Hash8& audit, const Hash8& identity);

// postings: [kind 1][cluster 4][term 4][minute bucket 4][first sequence of the write 8]
//   -> PostingValue: [count varint] then per entry, sorted by (time, sequence):
//      [time delta varint (first: from the bucket start)][zigzag(seq - previous seq) varint
//      (first: from the key's sequence)].
inline constexpr size_t kPostingPrefixSize = 9;  // kind, cluster, term
inline constexpr size_t kPostingKeySize = 21;
struct PostingKey {
  uint8_t kind = 0;
  uint32_t cluster = 0;
  uint32_t term = 0;
  int64_t bucket = 0;  // minute number
  uint64_t first_sequence = 0;
};
std::string EncodePostingKey(const PostingKey& k);
// The key prefix of one posting list: kind, cluster, term (kPostingPrefixSize bytes), and
// with `minute` the minute too (the prefix of one minute's lists).
std::string EncodePostingPrefix(uint8_t kind, uint32_t cluster, uint32_t term);
std::string EncodePostingPrefix(uint8_t kind, uint32_t cluster, uint32_t term, int64_t minute);
bool DecodePostingKey(std::string_view key, PostingKey* k);
struct PostingEntry {
  int64_t time_us = 0;
  uint64_t sequence = 0;
};
// `entries` must be sorted by (time, sequence) and lie in the key's bucket.
void AppendPostingValue(const PostingKey& key, const std::vector<PostingEntry>& entries,
                        std::string* out);
bool DecodePostingValue(const PostingKey& key, std::string_view value,
                        std::vector<PostingEntry>* entries);

// rollups: [kind 1][cluster 4][gran 1][bucket 4][term 4] -> fixed64 LE count, merged by
// the "kubetrail.add64" merge operator.
inline constexpr size_t kRollupKeySize = 14;
struct RollupKey {
  uint8_t kind = 0;
  uint32_t cluster = 0;
  uint8_t gran = 0;
  int64_t bucket = 0;
  uint32_t term = 0;
};
std::string EncodeRollupKey(const RollupKey& k);
bool DecodeRollupKey(std::string_view key, RollupKey* k);

// seqlog: [first sequence 8] -> [count varint] then per event, in sequence order:
//   [cluster varint][zigzag(time - previous time) varint (first: from 0)].
struct SeqlogEntry {
  uint32_t cluster = 0;
  int64_t time_us = 0;
};
void AppendSeqlogValue(const std::vector<SeqlogEntry>& entries, std::string* out);
bool DecodeSeqlogValue(std::string_view value, std::vector<SeqlogEntry>* entries);

// Dictionary keys.
std::string EncodeDictKey(uint8_t kind, std::string_view term);
std::string EncodeDictRevKey(uint8_t kind, uint32_t id);

// A legal hold: varint fields [from zigzag][to zigzag][created zigzag] then length-prefixed
// strings cluster, user, namespace, reason. The id is "hold-" + the key's number.
struct LegalHoldRecord {
  int64_t from_us = 0, to_us = 0, created_us = 0;
  std::string cluster, user, namespace_name, reason;
};
std::string EncodeHold(const LegalHoldRecord& hold);
bool DecodeHold(std::string_view value, LegalHoldRecord* hold);

// A cluster's expiry state: [first kept day zigzag][range count] then per range
// [from day zigzag][to day zigzag]: the day ranges whose events were removed wholesale
// (range deletes; their auditID entries, posting lists and sequence-log entries are left to
// the compaction filter).
struct ClusterExpiry {
  int64_t first_kept_day = INT64_MIN;
  std::vector<std::pair<int64_t, int64_t>> removed;  // sorted, disjoint, [from, to) days
  bool Removed(int64_t day) const;
};
std::string EncodeClusterExpiry(const ClusterExpiry& expiry);
bool DecodeClusterExpiry(std::string_view value, ClusterExpiry* expiry);

// Deterministic protobuf serialization (map entries sorted), the bytes identity hashes.
// With `size_cached`, the message's ByteSizeLong() was called since its last change and its
// cached sizes are used (WriteOptions::event_sizes_cached); a cached size that turns out
// wrong is computed again.
void SerializeDeterministic(const google::protobuf::Message& message, std::string* out,
                            bool size_cached = false);

}  // namespace kubetrail::storage::internal

#endif  // KUBETRAIL_STORAGE_INTERNAL_FORMAT_H_
