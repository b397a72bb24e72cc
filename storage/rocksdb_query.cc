// The RocksDB store's queries: the planner (BuildPlan), Search through posting lists, the
// time-ordered event scan or the auditID index, Get, and ReadSince over the sequence log.
#include <algorithm>
#include <functional>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "storage/internal/rocksdb_impl.h"

namespace kubetrail::storage::internal {
namespace {

int64_t MinuteOf(int64_t time_us) {
  int64_t m = FloorDiv(time_us, GranMicros(kGranMinute));
  return std::clamp<int64_t>(m, INT32_MIN, INT32_MAX);
}

bool Before(Order order, int64_t ta, uint64_t sa, int64_t tb, uint64_t sb) {
  if (order == Order::kAscending) return ta != tb ? ta < tb : sa < sb;
  return ta != tb ? ta > tb : sa > sb;
}

// The time bounds [lo, hi) a scan must cover for `filter` from `cursor`.
void ScanBounds(const CompiledFilter& filter, const Cursor& cursor, int64_t* lo, int64_t* hi) {
  *lo = filter.from_us;
  *hi = filter.to_us;
  if (cursor.has_position) {
    if (cursor.order == Order::kAscending) {
      *lo = std::max(*lo, cursor.time_us);
    } else if (cursor.time_us < INT64_MAX) {
      *hi = std::min(*hi, cursor.time_us + 1);
    }
  }
}

// One (kind, cluster, term) posting list, walked bucket by bucket in scan order.
class PostingStream {
 public:
  PostingStream(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, uint8_t kind, uint32_t cluster,
                uint32_t term, int64_t lo_minute, int64_t hi_minute, Order order)
      : order_(order), cluster_(cluster), prefix_(EncodePostingPrefix(kind, cluster, term)) {
    lower_ = prefix_;
    PutBig32(BucketKey(lo_minute), &lower_);
    upper_ = prefix_;
    PutBig32(BucketKey(hi_minute), &upper_);
    upper_.append(9, '\xff');
    lower_slice_ = AsSlice(lower_);
    upper_slice_ = AsSlice(upper_);
    rocksdb::ReadOptions ro;
    ro.iterate_lower_bound = &lower_slice_;
    ro.iterate_upper_bound = &upper_slice_;
    ro.prefix_same_as_start = true;
    it_.reset(db->NewIterator(ro, cf));
    if (order_ == Order::kAscending) {
      it_->Seek(lower_slice_);
    } else {
      it_->SeekForPrev(upper_slice_);
    }
    Load();
  }

  bool valid() const { return valid_; }
  int64_t bucket() const { return key_.bucket; }
  rocksdb::Status status() const { return it_->status(); }

  // Appends the entries of the current bucket and moves past it.
  bool ReadBucket(std::vector<Candidate>* out) {
    const int64_t b = key_.bucket;
    while (valid_ && key_.bucket == b) {
      entries_.clear();
      if (!DecodePostingValue(key_, AsView(it_->value()), &entries_)) return false;
      for (const PostingEntry& e : entries_) out->push_back({e.time_us, e.sequence, cluster_});
      Step();
    }
    return true;
  }

  // Moves to the first bucket at or after `b` in scan order.
  void AdvanceTo(int64_t b) {
    if (!valid_) return;
    const bool behind = order_ == Order::kAscending ? key_.bucket < b : key_.bucket > b;
    if (!behind) return;
    std::string target = prefix_;
    PutBig32(BucketKey(b), &target);
    if (order_ == Order::kAscending) {
      it_->Seek(AsSlice(target));
    } else {
      target.append(9, '\xff');
      it_->SeekForPrev(AsSlice(target));
    }
    Load();
  }

 private:
  void Step() {
    if (order_ == Order::kAscending) {
      it_->Next();
    } else {
      it_->Prev();
    }
    Load();
  }
  void Load() { valid_ = it_->Valid() && DecodePostingKey(AsView(it_->key()), &key_); }

  const Order order_;
  const uint32_t cluster_;
  std::string prefix_, lower_, upper_;
  rocksdb::Slice lower_slice_, upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
  bool valid_ = false;
  PostingKey key_;
  std::vector<PostingEntry> entries_;
};

// More streams than this and the planner reads events in time order instead.
constexpr size_t kMaxStreams = 512;
// Intersect another index only when it needs at most this many streams.
constexpr size_t kMaxIntersectStreams = 64;
// Events fetched per MultiGet.
constexpr size_t kFetchChunk = 128;
// A scan in time order looks at the query's QueryStop once per this many events.
constexpr uint64_t kStopCheckEvents = 256;

}  // namespace

absl::StatusOr<Plan> RocksDbStoreImpl::BuildPlan(const Filter& filter) {
  KT_RETURN_IF_ERROR(filter.stop.Check());  // before any work; scans look again as they go
  Plan plan;
  KT_ASSIGN_OR_RETURN(plan.filter, CompileFilter(filter));
  if (!plan.filter.satisfiable) {
    plan.empty = true;
    return plan;
  }
  const CompiledFilter& cf = plan.filter;
  absl::ReaderMutexLock lock(&dict_mu_);
  const Dictionary& clusters = dict_[kKindCluster];
  if (!filter.clusters.empty()) {
    for (const std::string& name : filter.clusters) {
      if (auto id = clusters.Find(name)) plan.clusters.push_back(*id);
    }
  } else {
    for (uint32_t id = 1; id <= clusters.terms.size(); ++id) plan.clusters.push_back(id);
  }
  std::sort(plan.clusters.begin(), plan.clusters.end());
  plan.clusters.erase(std::unique(plan.clusters.begin(), plan.clusters.end()), plan.clusters.end());
  if (plan.clusters.empty()) {
    plan.empty = true;
    return plan;
  }

  auto add_kind = [&](Kind kind, std::vector<uint32_t> terms) {
    std::sort(terms.begin(), terms.end());
    terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
    uint64_t estimate = 0;
    for (uint32_t c : plan.clusters) {
      for (uint32_t t : terms) {
        auto it = estimates_[kind].find((uint64_t{c} << 32) | t);
        if (it != estimates_[kind].end()) estimate += it->second;
      }
    }
    if (estimate == 0) plan.empty = true;
    plan.kinds.push_back({kind, std::move(terms), estimate});
  };
  auto exact_terms = [&](Kind kind, const std::vector<std::string>& values) {
    std::vector<uint32_t> terms;
    for (const std::string& v : values) {
      if (auto id = dict_[kind].Find(v)) terms.push_back(*id);
    }
    return terms;
  };
  auto pattern_terms = [&](Kind kind, const std::vector<StringPattern>& patterns) {
    std::vector<uint32_t> terms;
    bool any_prefix = false;
    for (const StringPattern& p : patterns) {
      if (!p.prefix) {
        if (auto id = dict_[kind].Find(p.text)) terms.push_back(*id);
      } else {
        any_prefix = true;
      }
    }
    if (any_prefix) {
      const Dictionary& d = dict_[kind];
      for (uint32_t id = 1; id <= d.terms.size(); ++id) {
        for (const StringPattern& p : patterns) {
          if (p.prefix && p.MatchesText(d.terms[id - 1])) {
            terms.push_back(id);
            break;
          }
        }
      }
    }
    return terms;
  };

  int rollup_kinds = 0;
  Kind rollup_kind = kKindTotal;
  bool others = false;
  if (!cf.users.empty()) {
    add_kind(kKindUser, pattern_terms(kKindUser, cf.users));
    ++rollup_kinds;
    rollup_kind = kKindUser;
  }
  if (!cf.impersonated_users.empty()) {
    others = true;
    // Events without an impersonated user have no posting; the index serves only patterns
    // that cannot match "".
    const bool matches_empty =
        std::any_of(cf.impersonated_users.begin(), cf.impersonated_users.end(),
                    [](const StringPattern& p) { return p.MatchesText(""); });
    if (!matches_empty) {
      add_kind(kKindImpersonated, pattern_terms(kKindImpersonated, cf.impersonated_users));
    }
  }
  if (!filter.groups.empty()) {
    others = true;
    add_kind(kKindGroup, exact_terms(kKindGroup, filter.groups));
  }
  if (!filter.verbs.empty()) {
    add_kind(kKindVerb, exact_terms(kKindVerb, filter.verbs));
    ++rollup_kinds;
    rollup_kind = kKindVerb;
  }
  if (!filter.namespaces.empty()) {
    add_kind(kKindNamespace, exact_terms(kKindNamespace, filter.namespaces));
    ++rollup_kinds;
    rollup_kind = kKindNamespace;
  }
  if (!cf.resources.empty() || !filter.api_groups.empty()) {
    std::vector<uint32_t> terms;
    const Dictionary& d = dict_[kKindResource];
    for (uint32_t id = 1; id <= d.terms.size(); ++id) {
      std::string_view resource, group, sub;
      SplitResourceTerm(d.terms[id - 1], &resource, &group, &sub);
      bool ok = cf.resources.empty();
      for (const ResourcePattern& p : cf.resources) {
        if (p.MatchesParts(resource, group, sub)) {
          ok = true;
          break;
        }
      }
      if (ok && !filter.api_groups.empty()) {
        ok = std::find(filter.api_groups.begin(), filter.api_groups.end(), group) !=
             filter.api_groups.end();
      }
      if (ok) terms.push_back(id);
    }
    add_kind(kKindResource, std::move(terms));
    ++rollup_kinds;
    rollup_kind = kKindResource;
  }
  if (!cf.codes.empty()) {
    std::vector<uint32_t> terms;
    const Dictionary& d = dict_[kKindCode];
    for (uint32_t id = 1; id <= d.terms.size(); ++id) {
      int32_t code = 0;
      if (!absl::SimpleAtoi(d.terms[id - 1], &code)) continue;
      for (const CodeRange& r : cf.codes) {
        if (code >= r.min && code <= r.max) {
          terms.push_back(id);
          break;
        }
      }
    }
    add_kind(kKindCode, std::move(terms));
    ++rollup_kinds;
    rollup_kind = kKindCode;
  }
  others = others || !filter.names.empty() || !filter.stages.empty() || !filter.levels.empty() ||
           !filter.audit_ids.empty() || !filter.source_ips.empty() ||
           !filter.user_agent_substring.empty();
  plan.only_time_and_cluster = !others && rollup_kinds == 0;
  if (!others && rollup_kinds == 1) plan.sole_rollup_kind = rollup_kind;
  std::stable_sort(
      plan.kinds.begin(), plan.kinds.end(),
      [](const Plan::KindTerms& a, const Plan::KindTerms& b) { return a.estimate < b.estimate; });
  return plan;
}

RocksDbStoreImpl::ScanKind RocksDbStoreImpl::ChooseScan(const Plan& plan,
                                                        std::vector<size_t>* intersect) const {
  if (plan.empty) return ScanKind::kNone;
  if (!plan.filter.source.audit_ids.empty()) return ScanKind::kAuditIds;
  if (plan.kinds.empty() || plan.kinds.front().terms.size() * plan.clusters.size() > kMaxStreams) {
    return ScanKind::kTime;
  }
  if (intersect != nullptr) {
    for (size_t i = 1; i < plan.kinds.size(); ++i) {
      if (plan.kinds[i].terms.size() * plan.clusters.size() <= kMaxIntersectStreams) {
        intersect->push_back(i);
      }
    }
  }
  return ScanKind::kIndexed;
}

absl::Status RocksDbStoreImpl::Scan(const Plan& plan, const Cursor& cursor,
                                    const std::function<bool(StoredEvent&&)>& emit) {
  KT_RETURN_IF_ERROR(plan.filter.source.stop.Check());
  switch (ChooseScan(plan, nullptr)) {
    case ScanKind::kNone:
      return absl::OkStatus();
    case ScanKind::kAuditIds:
      return ScanAuditIds(plan, cursor, emit);
    case ScanKind::kIndexed:
      return ScanIndexed(plan, cursor, emit);
    case ScanKind::kTime:
      return ScanTime(plan, cursor, emit);
  }
  return absl::OkStatus();
}

absl::Status RocksDbStoreImpl::ScanIndexed(const Plan& plan, const Cursor& cursor,
                                           const std::function<bool(StoredEvent&&)>& emit) {
  int64_t lo = 0, hi = 0;
  ScanBounds(plan.filter, cursor, &lo, &hi);
  if (lo >= hi) return absl::OkStatus();
  const int64_t lo_minute = MinuteOf(lo);
  const int64_t hi_minute = MinuteOf(hi - 1);
  const Order order = cursor.order;
  // With one indexed field and nothing else but time and cluster (what the rollups answer
  // alone), the posting lists decide the match and events need not be parsed to check it.
  const bool exact = plan.prefer_serialized && plan.sole_rollup_kind.has_value();

  auto open_streams = [&](const Plan::KindTerms& k) {
    std::vector<std::unique_ptr<PostingStream>> streams;
    absl::ReaderMutexLock lock(&dict_mu_);
    for (uint32_t c : plan.clusters) {
      for (uint32_t t : k.terms) {
        if (!estimates_[k.kind].contains((uint64_t{c} << 32) | t)) continue;
        streams.push_back(std::make_unique<PostingStream>(db_.get(), postings_, k.kind, c, t,
                                                          lo_minute, hi_minute, order));
      }
    }
    return streams;
  };
  std::vector<std::unique_ptr<PostingStream>> driver = open_streams(plan.kinds.front());
  std::vector<size_t> intersect_kinds;
  ChooseScan(plan, &intersect_kinds);
  std::vector<std::vector<std::unique_ptr<PostingStream>>> intersect;
  for (size_t i : intersect_kinds) intersect.push_back(open_streams(plan.kinds[i]));

  std::vector<Candidate> candidates, chunk;
  std::vector<Candidate> other;
  std::vector<uint64_t> other_seqs;
  const QueryStop& stop = plan.filter.source.stop;
  while (true) {
    // Once per minute of postings, and per chunk of events fetched below.
    KT_RETURN_IF_ERROR(stop.Check());
    bool any = false;
    int64_t bucket = 0;
    for (const auto& s : driver) {
      if (!s->valid()) continue;
      if (!any || (order == Order::kAscending ? s->bucket() < bucket : s->bucket() > bucket)) {
        bucket = s->bucket();
      }
      any = true;
    }
    if (!any) break;
    candidates.clear();
    for (const auto& s : driver) {
      if (s->valid() && s->bucket() == bucket && !s->ReadBucket(&candidates)) {
        return absl::DataLossError(Cat("store ", options_.path, ": corrupt posting list"));
      }
    }
    candidates.erase(std::remove_if(candidates.begin(), candidates.end(),
                                    [&](const Candidate& c) {
                                      return c.time_us < lo || c.time_us >= hi ||
                                             !AfterCursor(cursor, c.time_us, c.sequence);
                                    }),
                     candidates.end());
    std::sort(candidates.begin(), candidates.end(), [&](const Candidate& a, const Candidate& b) {
      return Before(order, a.time_us, a.sequence, b.time_us, b.sequence);
    });
    candidates.erase(std::unique(candidates.begin(), candidates.end(),
                                 [](const Candidate& a, const Candidate& b) {
                                   return a.sequence == b.sequence;
                                 }),
                     candidates.end());
    for (auto& streams : intersect) {
      if (candidates.empty()) break;
      other.clear();
      for (const auto& s : streams) {
        s->AdvanceTo(bucket);
        if (s->valid() && s->bucket() == bucket && !s->ReadBucket(&other)) {
          return absl::DataLossError(Cat("store ", options_.path, ": corrupt posting list"));
        }
      }
      other_seqs.clear();
      for (const Candidate& c : other) other_seqs.push_back(c.sequence);
      std::sort(other_seqs.begin(), other_seqs.end());
      candidates.erase(std::remove_if(candidates.begin(), candidates.end(),
                                      [&](const Candidate& c) {
                                        return !std::binary_search(other_seqs.begin(),
                                                                   other_seqs.end(), c.sequence);
                                      }),
                       candidates.end());
    }
    for (size_t i = 0; i < candidates.size(); i += kFetchChunk) {
      if (i > 0) KT_RETURN_IF_ERROR(stop.Check());
      chunk.assign(candidates.begin() + static_cast<ptrdiff_t>(i),
                   candidates.begin() +
                       static_cast<ptrdiff_t>(std::min(candidates.size(), i + kFetchChunk)));
      KT_ASSIGN_OR_RETURN(std::vector<StoredEvent> events, Fetch(chunk, exact));
      for (StoredEvent& e : events) {
        if (!exact && !Matches(plan.filter, e.event, e.time_us)) continue;
        if (!emit(std::move(e))) return absl::OkStatus();
      }
    }
  }
  for (const auto& s : driver) KT_RETURN_IF_ERROR(FromRocks(s->status(), "reading postings"));
  return absl::OkStatus();
}

absl::Status RocksDbStoreImpl::ScanTime(const Plan& plan, const Cursor& cursor,
                                        const std::function<bool(StoredEvent&&)>& emit) {
  int64_t lo = 0, hi = 0;
  ScanBounds(plan.filter, cursor, &lo, &hi);
  if (lo >= hi) return absl::OkStatus();
  const Order order = cursor.order;
  struct Source {
    std::string lower, upper;
    rocksdb::Slice lower_slice, upper_slice;
    std::unique_ptr<rocksdb::Iterator> it;
    EventKey key;
    bool valid = false;
  };
  std::vector<std::unique_ptr<Source>> sources;
  auto load = [](Source* s) {
    s->valid = s->it->Valid() && DecodeEventKey(AsView(s->it->key()), &s->key);
  };
  for (uint32_t c : plan.clusters) {
    auto s = std::make_unique<Source>();
    s->lower = EncodeEventKey({c, lo, 0});
    s->upper = EncodeEventKey({c, hi, 0});
    s->lower_slice = AsSlice(s->lower);
    s->upper_slice = AsSlice(s->upper);
    rocksdb::ReadOptions ro;
    ro.iterate_lower_bound = &s->lower_slice;
    ro.iterate_upper_bound = &s->upper_slice;
    s->it.reset(db_->NewIterator(ro, events_));
    if (order == Order::kAscending) {
      s->it->Seek(s->lower_slice);
    } else {
      s->it->SeekToLast();
    }
    load(s.get());
    sources.push_back(std::move(s));
  }
  const QueryStop& stop = plan.filter.source.stop;
  for (uint64_t scanned = 1;; ++scanned) {
    if (scanned % kStopCheckEvents == 0) KT_RETURN_IF_ERROR(stop.Check());
    Source* best = nullptr;
    for (const auto& s : sources) {
      if (s->valid && (best == nullptr || Before(order, s->key.time_us, s->key.sequence,
                                                 best->key.time_us, best->key.sequence))) {
        best = s.get();
      }
    }
    if (best == nullptr) break;
    if (AfterCursor(cursor, best->key.time_us, best->key.sequence)) {
      KT_ASSIGN_OR_RETURN(StoredEvent e, DecodeStored(best->key, AsView(best->it->value())));
      if (Matches(plan.filter, e.event, e.time_us) && !emit(std::move(e))) {
        return absl::OkStatus();
      }
    }
    if (order == Order::kAscending) {
      best->it->Next();
    } else {
      best->it->Prev();
    }
    load(best);
  }
  for (const auto& s : sources) KT_RETURN_IF_ERROR(FromRocks(s->it->status(), "reading events"));
  return absl::OkStatus();
}

absl::Status RocksDbStoreImpl::ScanAuditIds(const Plan& plan, const Cursor& cursor,
                                            const std::function<bool(StoredEvent&&)>& emit) {
  std::vector<StoredEvent> found;
  for (const std::string& id : plan.filter.source.audit_ids) {
    // An auditID that is not stored matches nothing; it does not fail the search.
    absl::StatusOr<std::vector<StoredEvent>> events = Get(id);
    if (absl::IsNotFound(events.status())) continue;
    if (!events.ok()) return events.status();
    for (StoredEvent& e : *events) found.push_back(std::move(e));
  }
  std::sort(found.begin(), found.end(), [&](const StoredEvent& a, const StoredEvent& b) {
    return Before(cursor.order, a.time_us, a.sequence, b.time_us, b.sequence);
  });
  found.erase(std::unique(found.begin(), found.end(),
                          [](const StoredEvent& a, const StoredEvent& b) {
                            return a.sequence == b.sequence;
                          }),
              found.end());
  for (StoredEvent& e : found) {
    if (!AfterCursor(cursor, e.time_us, e.sequence)) continue;
    if (!Matches(plan.filter, e.event, e.time_us)) continue;
    if (!emit(std::move(e))) break;
  }
  return absl::OkStatus();
}

absl::StatusOr<SearchPage> RocksDbStoreImpl::Search(const SearchRequest& request) {
  KT_RETURN_IF_ERROR(CheckOpen());
  KT_RETURN_IF_ERROR(CheckLimit(request.limit));
  KT_ASSIGN_OR_RETURN(Cursor cursor, StartCursor(request, LastSequence()));
  KT_ASSIGN_OR_RETURN(Plan plan, BuildPlan(request.filter));
  plan.prefer_serialized = request.prefer_serialized;
  SearchPage page;
  const size_t want = static_cast<size_t>(request.limit) + 1;
  KT_RETURN_IF_ERROR(Scan(plan, cursor, [&](StoredEvent&& e) {
    page.events.push_back(std::move(e));
    return page.events.size() < want;
  }));
  if (page.events.size() == want) {
    page.events.pop_back();
    page.more = true;
  }
  Cursor next = cursor;
  if (!page.events.empty()) {
    next.has_position = true;
    next.time_us = page.events.back().time_us;
    next.sequence = page.events.back().sequence;
  }
  page.cursor = EncodeCursor(next);
  return page;
}

absl::StatusOr<std::vector<StoredEvent>> RocksDbStoreImpl::Get(std::string_view audit_id) {
  KT_RETURN_IF_ERROR(CheckOpen());
  const Hash8 h = AuditIdHash(audit_id);
  const std::string prefix(reinterpret_cast<const char*>(h.data()), h.size());
  // Only published events, as Search: a group written but not yet synced is left out.
  const uint64_t last = LastSequence();
  std::vector<Candidate> candidates;
  {
    rocksdb::ReadOptions ro;
    ro.prefix_same_as_start = true;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, ids_));
    for (it->Seek(AsSlice(prefix)); it->Valid() && it->key().starts_with(AsSlice(prefix));
         it->Next()) {
      EventKey k;
      if (!DecodeEventKey(AsView(it->value()), &k)) {
        return absl::DataLossError(Cat("store ", options_.path, ": corrupt auditID entry"));
      }
      if (k.sequence <= last) candidates.push_back({k.time_us, k.sequence, k.cluster});
    }
    KT_RETURN_IF_ERROR(FromRocks(it->status(), "reading the auditID index"));
  }
  KT_ASSIGN_OR_RETURN(std::vector<StoredEvent> events, Fetch(candidates));
  events.erase(
      std::remove_if(events.begin(), events.end(),
                     [&](const StoredEvent& e) { return e.event.event().audit_id() != audit_id; }),
      events.end());
  if (events.empty()) return absl::NotFoundError(Cat("no events with auditID ", audit_id));
  std::sort(events.begin(), events.end(), [](const StoredEvent& a, const StoredEvent& b) {
    return Before(Order::kAscending, a.time_us, a.sequence, b.time_us, b.sequence);
  });
  return events;
}

absl::StatusOr<std::vector<StoredEvent>> RocksDbStoreImpl::ReadSince(uint64_t after_sequence,
                                                                     const Filter& filter,
                                                                     int limit) {
  KT_RETURN_IF_ERROR(CheckOpen());
  KT_RETURN_IF_ERROR(CheckLimit(limit));
  KT_ASSIGN_OR_RETURN(CompiledFilter compiled, CompileFilter(filter));
  const uint64_t last = LastSequence();
  std::vector<StoredEvent> out;
  if (after_sequence >= last) return out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), seqlog_));
  std::string start;
  PutBig64(after_sequence + 1, &start);
  it->SeekForPrev(AsSlice(start));
  if (!it->Valid()) it->SeekToFirst();
  std::vector<SeqlogEntry> entries;
  std::vector<Candidate> candidates;
  auto flush = [&]() -> absl::Status {
    KT_ASSIGN_OR_RETURN(std::vector<StoredEvent> events, Fetch(candidates));
    candidates.clear();
    for (StoredEvent& e : events) {
      if (static_cast<int>(out.size()) >= limit) break;
      if (Matches(compiled, e.event, e.time_us)) out.push_back(std::move(e));
    }
    return absl::OkStatus();
  };
  for (; it->Valid() && static_cast<int>(out.size()) < limit; it->Next()) {
    if (it->key().size() != 8) return absl::DataLossError("corrupt sequence log key");
    const uint64_t first = GetBig64(it->key().data());
    if (first > last) break;
    entries.clear();
    if (!DecodeSeqlogValue(AsView(it->value()), &entries)) {
      return absl::DataLossError(Cat("store ", options_.path, ": corrupt sequence log"));
    }
    for (size_t i = 0; i < entries.size(); ++i) {
      const uint64_t seq = first + i;
      if (seq <= after_sequence || seq > last) continue;
      candidates.push_back({entries[i].time_us, seq, entries[i].cluster});
    }
    if (candidates.size() >= kFetchChunk) KT_RETURN_IF_ERROR(flush());
  }
  KT_RETURN_IF_ERROR(FromRocks(it->status(), "reading the sequence log"));
  if (!candidates.empty() && static_cast<int>(out.size()) < limit) KT_RETURN_IF_ERROR(flush());
  return out;
}

}  // namespace kubetrail::storage::internal
