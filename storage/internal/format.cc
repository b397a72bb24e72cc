#include "storage/internal/format.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace kubetrail::storage::internal {

std::string_view KindName(uint8_t kind) {
  static constexpr std::string_view kNames[kNumKinds] = {
      "total", "cluster", "source",    "user",     "impersonated",
      "group", "verb",    "namespace", "resource", "code"};
  return kind < kNumKinds ? kNames[kind] : "unknown";
}

int64_t GranMicros(Gran g) {
  switch (g) {
    case kGranMinute:
      return 60'000'000;
    case kGranHour:
      return 3'600'000'000;
    case kGranDay:
      return 86'400'000'000;
    case kGranAll:
      return 0;
  }
  return 0;
}

std::string ResourceTerm(const kubetrail::v1::ObjectReference& ref) {
  std::string term = ref.resource();
  term.push_back('\0');
  term += ref.api_group();
  term.push_back('\0');
  term += ref.subresource();
  return term;
}

std::string CodeTerm(const kubetrail::v1::Event& event) {
  return event.response_status().has_code() ? std::to_string(event.response_status().code())
                                            : std::string();
}

void SplitResourceTerm(std::string_view term, std::string_view* resource, std::string_view* group,
                       std::string_view* subresource) {
  const size_t a = term.find('\0');
  if (a == std::string_view::npos) {
    *resource = term;
    *group = {};
    *subresource = {};
    return;
  }
  *resource = term.substr(0, a);
  const size_t b = term.find('\0', a + 1);
  if (b == std::string_view::npos) {
    *group = term.substr(a + 1);
    *subresource = {};
    return;
  }
  *group = term.substr(a + 1, b - a - 1);
  *subresource = term.substr(b + 1);
}


std::string EncodeEventKey(const EventKey& k) {
  std::string out;
  out.reserve(kEventKeySize);
  AppendEventKey(k, &out);
  return out;
}
void AppendEventKey(const EventKey& k, std::string* out) {
  PutBig32(k.cluster, out);
  PutBig64(TimeKey(k.time_us), out);
  PutBig64(k.sequence, out);
}
bool DecodeEventKey(std::string_view key, EventKey* k) {
  if (key.size() != kEventKeySize) return false;
  k->cluster = GetBig32(key.data());
  k->time_us = TimeFromKey(GetBig64(key.data() + 4));
  k->sequence = GetBig64(key.data() + 12);
  return true;
}

void AppendEventValueHeader(uint32_t source, int64_t receive_delta, std::string* out) {
  PutVarint(source, out);
  PutVarint(ZigZag(receive_delta), out);
}

bool DecodeEventValue(std::string_view value, EventValue* v) {
  const char* p = value.data();
  const char* end = p + value.size();
  uint64_t source = 0, delta = 0;
  if (!GetVarint(&p, end, &source) || !GetVarint(&p, end, &delta)) return false;
  if (source > UINT32_MAX) return false;
  v->source = static_cast<uint32_t>(source);
  v->receive_delta = UnZigZag(delta);
  v->event_bytes = std::string_view(p, static_cast<size_t>(end - p));
  return true;
}

namespace {
// SHA-256 fetched from OpenSSL's provider once: EVP_sha256() makes every EVP_DigestInit_ex
// look the algorithm up again (OpenSSL 3), which cost as much as hashing a 1 KB event.
const EVP_MD* Sha256() {
  static const EVP_MD* const md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched != nullptr ? fetched : EVP_sha256();
  }();
  return md;
}

// One digest context per thread, reset by each EVP_DigestInit_ex.
EVP_MD_CTX* ThreadDigestContext() {
  struct Free {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  thread_local const std::unique_ptr<EVP_MD_CTX, Free> ctx(EVP_MD_CTX_new());
  return ctx.get();
}

Hash8 Sha256Prefix(std::initializer_list<std::string_view> parts) {
  EVP_MD_CTX* ctx = ThreadDigestContext();
  EVP_DigestInit_ex(ctx, Sha256(), nullptr);
  for (std::string_view part : parts) EVP_DigestUpdate(ctx, part.data(), part.size());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, digest, &len);
  Hash8 out;
  std::memcpy(out.data(), digest, out.size());
  return out;
}
std::string LengthPrefix(std::string_view s) {
  std::string out;
  PutVarint(s.size(), &out);
  return out;
}
}  // namespace

Hash8 AuditIdHash(std::string_view audit_id) { return Sha256Prefix({audit_id}); }

Hash8 IdentityHash(std::string_view cluster, std::string_view source,
                   std::string_view event_bytes) {
  const std::string lc = LengthPrefix(cluster);
  const std::string ls = LengthPrefix(source);
  return Sha256Prefix({lc, cluster, ls, source, event_bytes});
}

std::string EncodeIdKey(const Hash8& audit, const Hash8& identity) {
  std::string out(reinterpret_cast<const char*>(audit.data()), audit.size());
  out.append(reinterpret_cast<const char*>(identity.data()), identity.size());
  return out;
}

std::string EncodePostingKey(const PostingKey& k) {
  std::string out;
  out.reserve(kPostingKeySize);
  out.push_back(static_cast<char>(k.kind));
  PutBig32(k.cluster, &out);
  PutBig32(k.term, &out);
  PutBig32(BucketKey(k.bucket), &out);
  PutBig64(k.first_sequence, &out);
  return out;
}
std::string EncodePostingPrefix(uint8_t kind, uint32_t cluster, uint32_t term) {
  std::string out;
  out.push_back(static_cast<char>(kind));
  PutBig32(cluster, &out);
  PutBig32(term, &out);
  return out;
}

std::string EncodePostingPrefix(uint8_t kind, uint32_t cluster, uint32_t term, int64_t minute) {
  std::string out = EncodePostingPrefix(kind, cluster, term);
  PutBig32(BucketKey(minute), &out);
  return out;
}

bool DecodePostingKey(std::string_view key, PostingKey* k) {
  if (key.size() != kPostingKeySize) return false;
  k->kind = static_cast<uint8_t>(key[0]);
  k->cluster = GetBig32(key.data() + 1);
  k->term = GetBig32(key.data() + 5);
  k->bucket = BucketFromKey(GetBig32(key.data() + 9));
  k->first_sequence = GetBig64(key.data() + 13);
  return true;
}

void AppendPostingValue(const PostingKey& key, const std::vector<PostingEntry>& entries,
                        std::string* out) {
  PutVarint(entries.size(), out);
  int64_t prev_time = key.bucket * GranMicros(kGranMinute);
  uint64_t prev_seq = key.first_sequence;
  for (const PostingEntry& e : entries) {
    PutVarint(static_cast<uint64_t>(e.time_us - prev_time), out);
    PutVarint(ZigZag(static_cast<int64_t>(e.sequence - prev_seq)), out);
    prev_time = e.time_us;
    prev_seq = e.sequence;
  }
}
bool DecodePostingValue(const PostingKey& key, std::string_view value,
                        std::vector<PostingEntry>* entries) {
  const char* p = value.data();
  const char* end = p + value.size();
  uint64_t n = 0;
  if (!GetVarint(&p, end, &n) || n > value.size()) return false;
  int64_t time = key.bucket * GranMicros(kGranMinute);
  uint64_t seq = key.first_sequence;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t dt = 0, ds = 0;
    if (!GetVarint(&p, end, &dt) || !GetVarint(&p, end, &ds)) return false;
    time += static_cast<int64_t>(dt);
    seq += static_cast<uint64_t>(UnZigZag(ds));
    entries->push_back({time, seq});
  }
  return p == end;
}

std::string EncodeRollupKey(const RollupKey& k) {
  std::string out;
  out.reserve(kRollupKeySize);
  out.push_back(static_cast<char>(k.kind));
  PutBig32(k.cluster, &out);
  out.push_back(static_cast<char>(k.gran));
  PutBig32(BucketKey(k.bucket), &out);
  PutBig32(k.term, &out);
  return out;
}
bool DecodeRollupKey(std::string_view key, RollupKey* k) {
  if (key.size() != kRollupKeySize) return false;
  k->kind = static_cast<uint8_t>(key[0]);
  k->cluster = GetBig32(key.data() + 1);
  k->gran = static_cast<uint8_t>(key[5]);
  k->bucket = BucketFromKey(GetBig32(key.data() + 6));
  k->term = GetBig32(key.data() + 10);
  return true;
}

void AppendSeqlogValue(const std::vector<SeqlogEntry>& entries, std::string* out) {
  PutVarint(entries.size(), out);
  int64_t prev = 0;
  for (const SeqlogEntry& e : entries) {
    PutVarint(e.cluster, out);
    PutVarint(ZigZag(e.time_us - prev), out);
    prev = e.time_us;
  }
}
bool DecodeSeqlogValue(std::string_view value, std::vector<SeqlogEntry>* entries) {
  const char* p = value.data();
  const char* end = p + value.size();
  uint64_t n = 0;
  if (!GetVarint(&p, end, &n) || n > value.size()) return false;
  int64_t time = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t c = 0, dt = 0;
    if (!GetVarint(&p, end, &c) || !GetVarint(&p, end, &dt) || c > UINT32_MAX) return false;
    time += UnZigZag(dt);
    entries->push_back({static_cast<uint32_t>(c), time});
  }
  return p == end;
}

std::string EncodeDictKey(uint8_t kind, std::string_view term) {
  std::string out;
  out.push_back(kDictPrefix);
  out.push_back(static_cast<char>(kind));
  out.append(term);
  return out;
}
std::string EncodeDictRevKey(uint8_t kind, uint32_t id) {
  std::string out;
  out.push_back(kDictRevPrefix);
  out.push_back(static_cast<char>(kind));
  PutBig32(id, &out);
  return out;
}

namespace {
void PutString(std::string_view s, std::string* out) {
  PutVarint(s.size(), out);
  out->append(s);
}
bool GetString(const char** p, const char* end, std::string* s) {
  uint64_t n = 0;
  if (!GetVarint(p, end, &n) || n > static_cast<uint64_t>(end - *p)) return false;
  s->assign(*p, n);
  *p += n;
  return true;
}
bool GetSigned(const char** p, const char* end, int64_t* v) {
  uint64_t u = 0;
  if (!GetVarint(p, end, &u)) return false;
  *v = UnZigZag(u);
  return true;
}
}  // namespace

std::string EncodeHold(const LegalHoldRecord& hold) {
  std::string out;
  PutVarint(ZigZag(hold.from_us), &out);
  PutVarint(ZigZag(hold.to_us), &out);
  PutVarint(ZigZag(hold.created_us), &out);
  PutString(hold.cluster, &out);
  PutString(hold.user, &out);
  PutString(hold.namespace_name, &out);
  PutString(hold.reason, &out);
  return out;
}

bool DecodeHold(std::string_view value, LegalHoldRecord* hold) {
  const char* p = value.data();
  const char* end = p + value.size();
  return GetSigned(&p, end, &hold->from_us) && GetSigned(&p, end, &hold->to_us) &&
         GetSigned(&p, end, &hold->created_us) && GetString(&p, end, &hold->cluster) &&
         GetString(&p, end, &hold->user) && GetString(&p, end, &hold->namespace_name) &&
         GetString(&p, end, &hold->reason) && p == end;
}

bool ClusterExpiry::Removed(int64_t day) const {
  auto it =
      std::upper_bound(removed.begin(), removed.end(), day,
                       [](int64_t d, const std::pair<int64_t, int64_t>& r) { return d < r.first; });
  if (it == removed.begin()) return false;
  --it;
  return day >= it->first && day < it->second;
}

std::string EncodeClusterExpiry(const ClusterExpiry& expiry) {
  std::string out;
  PutVarint(ZigZag(expiry.first_kept_day), &out);
  PutVarint(expiry.removed.size(), &out);
  for (const auto& [from, to] : expiry.removed) {
    PutVarint(ZigZag(from), &out);
    PutVarint(ZigZag(to), &out);
  }
  return out;
}

bool DecodeClusterExpiry(std::string_view value, ClusterExpiry* expiry) {
  const char* p = value.data();
  const char* end = p + value.size();
  uint64_t n = 0;
  if (!GetSigned(&p, end, &expiry->first_kept_day) || !GetVarint(&p, end, &n) || n > value.size()) {
    return false;
  }
  expiry->removed.clear();
  for (uint64_t i = 0; i < n; ++i) {
    int64_t from = 0, to = 0;
    if (!GetSigned(&p, end, &from) || !GetSigned(&p, end, &to)) return false;
    expiry->removed.emplace_back(from, to);
  }
  return p == end;
}

namespace {
// Serializes into exactly `size` bytes; false when the message did not fill them exactly
// (its cached sizes were stale).
bool SerializeWithSize(const google::protobuf::Message& message, size_t size, std::string* out) {
  out->resize(size);
  google::protobuf::io::ArrayOutputStream stream(out->data(), static_cast<int>(size));
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  message.SerializeWithCachedSizes(&coded);
  coded.Trim();
  return !coded.HadError() && static_cast<size_t>(coded.ByteCount()) == size;
}
}  // namespace

void SerializeDeterministic(const google::protobuf::Message& message, std::string* out,
                            bool size_cached) {
  // Sized once up front: a StringOutputStream would grow the string from 16 bytes by doubling,
  // copying it each time.
  if (size_cached &&
      SerializeWithSize(message, static_cast<size_t>(message.GetCachedSize()), out)) {
    return;
  }
  SerializeWithSize(message, message.ByteSizeLong(), out);
}

}  // namespace kubetrail::storage::internal
