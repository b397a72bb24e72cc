// Count, Top and Histogram. Answered from the rollups (counters per kind, cluster, time
// bucket and term, maintained by every write) when the filter constrains nothing but time,
// clusters and at most one rolled-up field; otherwise by scanning the matching events.
//
// A time range [from, to) is covered by whole days, then whole hours, then whole minutes at
// its edges; what remains (less than a minute at either end) is counted from the posting
// lists of that minute, which hold each event's exact time.
#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "storage/internal/rocksdb_impl.h"

namespace kubetrail::storage::internal {
namespace {

int64_t CeilDiv(int64_t a, int64_t w) { return -FloorDiv(-a, w); }

Kind KindOf(Dimension d) {
  switch (d) {
    case Dimension::kUser:
      return kKindUser;
    case Dimension::kVerb:
      return kKindVerb;
    case Dimension::kResource:
      return kKindResource;
    case Dimension::kNamespace:
      return kKindNamespace;
    case Dimension::kCode:
      return kKindCode;
    case Dimension::kCluster:
      return kKindTotal;
  }
  return kKindTotal;
}

// A piece of a time range: whole buckets [first, last) of `gran`, or (gran == kGranAll) a
// sub-minute interval [from, to) inside one minute.
struct Piece {
  Gran gran;
  int64_t first = 0, last = 0;  // bucket numbers, for whole buckets
  int64_t from = 0, to = 0;     // times, for sub-minute pieces
};

void Cover(int64_t a, int64_t b, Gran g, std::vector<Piece>* out) {
  if (a >= b) return;
  const int64_t w = GranMicros(g);
  const int64_t first = CeilDiv(a, w);
  const int64_t last = FloorDiv(b, w);
  auto finer = [&](int64_t x, int64_t y) {
    if (x >= y) return;
    if (g == kGranMinute) {
      out->push_back({kGranAll, 0, 0, x, y});
    } else {
      Cover(x, y, static_cast<Gran>(g - 1), out);
    }
  };
  if (first > last) {  // [a, b) lies inside one bucket
    finer(a, b);
    return;
  }
  // Split at every boundary, also when no whole bucket lies between (first == last): a
  // finer piece must not straddle one, since a sub-minute piece is counted from the posting
  // lists of its own minute.
  finer(a, first * w);
  if (first < last) out->push_back({g, first, last, 0, 0});
  finer(last * w, b);
}

}  // namespace

std::optional<std::pair<int64_t, int64_t>> RocksDbStoreImpl::ClusterTimeBounds(uint32_t cluster) {
  std::string lower, upper;
  PutBig32(cluster, &lower);
  PutBig32(cluster + 1, &upper);
  rocksdb::Slice lo = AsSlice(lower), hi = AsSlice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lo;
  ro.iterate_upper_bound = &hi;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, events_));
  EventKey first, last;
  it->Seek(lo);
  if (!it->Valid() || !DecodeEventKey(AsView(it->key()), &first)) return std::nullopt;
  it->SeekToLast();
  if (!it->Valid() || !DecodeEventKey(AsView(it->key()), &last)) return std::nullopt;
  return std::make_pair(first.time_us, last.time_us + 1);
}

absl::Status RocksDbStoreImpl::CountPostingsInRange(Kind kind, uint32_t cluster, int64_t minute,
                                                    int64_t from, int64_t to,
                                                    const RollupSink& sink, int64_t bucket_start) {
  // The terms present in this minute, from its rollup keys; the total counts via the verb
  // postings (every event has exactly one verb term).
  const Kind posting_kind = kind == kKindTotal ? kKindVerb : kind;
  std::string prefix = EncodeRollupKey({posting_kind, cluster, kGranMinute, minute, 0});
  prefix.resize(kRollupKeySize - 4);
  std::vector<uint32_t> terms;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), rollups_));
    for (it->Seek(AsSlice(prefix)); it->Valid() && it->key().starts_with(AsSlice(prefix));
         it->Next()) {
      RollupKey k;
      if (DecodeRollupKey(AsView(it->key()), &k)) terms.push_back(k.term);
    }
    KT_RETURN_IF_ERROR(FromRocks(it->status(), "reading rollups"));
  }
  rocksdb::ReadOptions ro;
  ro.prefix_same_as_start = true;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, postings_));
  std::vector<PostingEntry> entries;
  for (uint32_t term : terms) {
    const std::string p = EncodePostingPrefix(posting_kind, cluster, term, minute);
    uint64_t n = 0;
    for (it->Seek(AsSlice(p)); it->Valid() && it->key().starts_with(AsSlice(p)); it->Next()) {
      PostingKey k;
      entries.clear();
      if (!DecodePostingKey(AsView(it->key()), &k) ||
          !DecodePostingValue(k, AsView(it->value()), &entries)) {
        return absl::DataLossError(Cat("store ", options_.path, ": corrupt posting list"));
      }
      for (const PostingEntry& e : entries) n += e.time_us >= from && e.time_us < to;
    }
    KT_RETURN_IF_ERROR(FromRocks(it->status(), "reading postings"));
    if (n > 0) sink(bucket_start, cluster, kind == kKindTotal ? 0 : term, n);
  }
  return absl::OkStatus();
}

absl::Status RocksDbStoreImpl::RollupCount(const Plan& plan, Kind kind,
                                           std::optional<Gran> hist_gran, const RollupSink& sink) {
  // The term constraint on `kind`, if any.
  const std::vector<uint32_t>* terms = nullptr;
  for (const Plan::KindTerms& k : plan.kinds) {
    if (k.kind == kind) terms = &k.terms;
  }
  auto wanted = [&](uint32_t term) {
    return terms == nullptr || std::binary_search(terms->begin(), terms->end(), term);
  };
  const int64_t hist_width = hist_gran ? GranMicros(*hist_gran) : 0;
  auto bucket_of = [&](int64_t t) { return hist_gran ? FloorDiv(t, hist_width) * hist_width : 0; };
  const RollupSink filtered = [&](int64_t b, uint32_t c, uint32_t term, uint64_t n) {
    if (n != 0 && wanted(term)) sink(b, c, term, n);
  };

  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), rollups_));
  for (uint32_t cluster : plan.clusters) {
    std::optional<std::pair<int64_t, int64_t>> bounds = ClusterTimeBounds(cluster);
    if (!bounds) continue;
    const int64_t from = std::max(plan.filter.from_us, bounds->first);
    const int64_t to = std::min(plan.filter.to_us, bounds->second);
    std::vector<Piece> pieces;
    Cover(from, to, hist_gran ? *hist_gran : kGranDay, &pieces);
    for (const Piece& piece : pieces) {
      if (piece.gran == kGranAll) {
        KT_RETURN_IF_ERROR(
            CountPostingsInRange(kind, cluster, FloorDiv(piece.from, GranMicros(kGranMinute)),
                                 piece.from, piece.to, filtered, bucket_of(piece.from)));
        continue;
      }
      const std::string start = EncodeRollupKey({kind, cluster, piece.gran, piece.first, 0});
      const std::string end = EncodeRollupKey({kind, cluster, piece.gran, piece.last, 0});
      const int64_t w = GranMicros(piece.gran);
      for (it->Seek(AsSlice(start)); it->Valid() && AsView(it->key()) < std::string_view(end);
           it->Next()) {
        RollupKey k;
        if (!DecodeRollupKey(AsView(it->key()), &k) || it->value().size() != 8) {
          return absl::DataLossError(Cat("store ", options_.path, ": corrupt rollup"));
        }
        filtered(bucket_of(k.bucket * w), cluster, k.term, GetFixed64(it->value().data()));
      }
      KT_RETURN_IF_ERROR(FromRocks(it->status(), "reading rollups"));
    }
  }
  return absl::OkStatus();
}

std::string RocksDbStoreImpl::TermKey(Kind kind, uint32_t term) const {
  const std::string& t = dict_[kind].Term(term);
  if (kind == kKindResource) {
    std::string_view resource, group, sub;
    SplitResourceTerm(t, &resource, &group, &sub);
    return ResourceKey(resource, group, sub);
  }
  return t;
}

namespace {

std::vector<KeyCount> Sorted(const absl::flat_hash_map<std::string, uint64_t>& counts) {
  std::vector<KeyCount> out;
  out.reserve(counts.size());
  for (const auto& [k, n] : counts) out.push_back({k, n});
  std::sort(out.begin(), out.end(), [](const KeyCount& a, const KeyCount& b) {
    return a.count != b.count ? a.count > b.count : a.key < b.key;
  });
  return out;
}

}  // namespace

absl::StatusOr<uint64_t> RocksDbStoreImpl::Count(const Filter& filter) {
  KT_RETURN_IF_ERROR(CheckOpen());
  KT_ASSIGN_OR_RETURN(Plan plan, BuildPlan(filter));
  if (plan.empty) return 0;
  uint64_t total = 0;
  const RollupSink add = [&](int64_t, uint32_t, uint32_t, uint64_t n) { total += n; };
  if (plan.only_time_and_cluster) {
    KT_RETURN_IF_ERROR(RollupCount(plan, kKindTotal, std::nullopt, add));
  } else if (plan.sole_rollup_kind) {
    KT_RETURN_IF_ERROR(RollupCount(plan, *plan.sole_rollup_kind, std::nullopt, add));
  } else {
    Cursor cursor;
    cursor.snapshot = LastSequence();
    KT_RETURN_IF_ERROR(Scan(plan, cursor, [&](StoredEvent&&) {
      ++total;
      return true;
    }));
  }
  return total;
}

absl::StatusOr<std::vector<KeyCount>> RocksDbStoreImpl::Top(const Filter& filter,
                                                            Dimension dimension, int limit) {
  KT_RETURN_IF_ERROR(CheckOpen());
  if (limit < 1) return absl::InvalidArgumentError(Cat("top: limit ", limit, " must be >= 1"));
  KT_ASSIGN_OR_RETURN(Plan plan, BuildPlan(filter));
  absl::flat_hash_map<std::string, uint64_t> counts;
  if (!plan.empty) {
    const Kind kind = KindOf(dimension);
    std::optional<Kind> source;
    if (plan.only_time_and_cluster) {
      source = kind;
    } else if (plan.sole_rollup_kind &&
               (*plan.sole_rollup_kind == kind || dimension == Dimension::kCluster)) {
      source = *plan.sole_rollup_kind;
    }
    if (source) {
      absl::flat_hash_map<uint64_t, uint64_t> by_term;
      KT_RETURN_IF_ERROR(RollupCount(plan, *source, std::nullopt,
                                     [&](int64_t, uint32_t c, uint32_t term, uint64_t n) {
                                       by_term[dimension == Dimension::kCluster ? c : term] += n;
                                     }));
      absl::ReaderMutexLock lock(&dict_mu_);
      for (const auto& [term, n] : by_term) {
        counts[dimension == Dimension::kCluster
                   ? dict_[kKindCluster].Term(static_cast<uint32_t>(term))
                   : TermKey(kind, static_cast<uint32_t>(term))] += n;
      }
    } else {
      Cursor cursor;
      cursor.snapshot = LastSequence();
      KT_RETURN_IF_ERROR(Scan(plan, cursor, [&](StoredEvent&& e) {
        counts[DimensionKey(e.event, dimension)] += 1;
        return true;
      }));
    }
  }
  std::vector<KeyCount> out = Sorted(counts);
  if (out.size() > static_cast<size_t>(limit)) out.resize(static_cast<size_t>(limit));
  return out;
}

absl::StatusOr<std::vector<HistogramBucket>> RocksDbStoreImpl::Histogram(
    const Filter& filter, Granularity granularity, std::optional<Dimension> by) {
  KT_RETURN_IF_ERROR(CheckOpen());
  KT_ASSIGN_OR_RETURN(Plan plan, BuildPlan(filter));
  const Gran gran = granularity == Granularity::kMinute ? kGranMinute
                    : granularity == Granularity::kHour ? kGranHour
                                                        : kGranDay;
  const int64_t width = GranMicros(gran);
  std::map<int64_t, absl::flat_hash_map<std::string, uint64_t>> buckets;
  if (!plan.empty) {
    const Kind by_kind = by ? KindOf(*by) : kKindTotal;
    std::optional<Kind> source;
    if (plan.only_time_and_cluster) {
      source = by_kind;
    } else if (plan.sole_rollup_kind &&
               (!by || *plan.sole_rollup_kind == by_kind || *by == Dimension::kCluster)) {
      source = *plan.sole_rollup_kind;
    }
    if (source) {
      std::map<int64_t, absl::flat_hash_map<uint64_t, uint64_t>> raw;
      const bool by_cluster = by && *by == Dimension::kCluster;
      KT_RETURN_IF_ERROR(
          RollupCount(plan, *source, gran, [&](int64_t b, uint32_t c, uint32_t term, uint64_t n) {
            raw[b][by_cluster ? c : (by ? term : 0)] += n;
          }));
      absl::ReaderMutexLock lock(&dict_mu_);
      for (const auto& [b, terms] : raw) {
        auto& out = buckets[b];
        for (const auto& [term, n] : terms) {
          const auto t = static_cast<uint32_t>(term);
          out[!by          ? std::string()
              : by_cluster ? dict_[kKindCluster].Term(t)
                           : TermKey(by_kind, t)] += n;
        }
      }
    } else {
      Cursor cursor;
      cursor.snapshot = LastSequence();
      KT_RETURN_IF_ERROR(Scan(plan, cursor, [&](StoredEvent&& e) {
        buckets[FloorDiv(e.time_us, width) * width][by ? DimensionKey(e.event, *by) : ""] += 1;
        return true;
      }));
    }
  }
  std::vector<HistogramBucket> out;
  for (const auto& [start, counts] : buckets) {
    HistogramBucket b;
    b.start_us = start;
    for (const auto& [k, n] : counts) b.count += n;
    if (b.count == 0) continue;
    if (by) b.by_key = Sorted(counts);
    out.push_back(std::move(b));
  }
  return out;
}

absl::StatusOr<std::string> RocksDbStoreImpl::Explain(const Filter& filter) {
  KT_RETURN_IF_ERROR(CheckOpen());
  KT_ASSIGN_OR_RETURN(Plan plan, BuildPlan(filter));
  std::string out = "search: ";
  std::vector<size_t> intersect;
  auto describe = [&](const Plan::KindTerms& k) {
    return Cat(KindName(k.kind), " (", k.terms.size(), k.terms.size() == 1 ? " term" : " terms",
               ", ~", k.estimate, " events)");
  };
  switch (ChooseScan(plan, &intersect)) {
    case ScanKind::kNone:
      out += "nothing can match";
      break;
    case ScanKind::kAuditIds:
      out += "auditID index";
      break;
    case ScanKind::kTime:
      out += Cat("events in time order (", plan.clusters.size(),
                 plan.clusters.size() == 1 ? " cluster)" : " clusters)");
      break;
    case ScanKind::kIndexed:
      out += Cat("index ", describe(plan.kinds.front()));
      for (size_t i : intersect) out += Cat(" then ", describe(plan.kinds[i]));
      break;
  }
  out += "; count: ";
  if (plan.empty) {
    out += "nothing can match";
  } else if (plan.only_time_and_cluster) {
    out += "rollups";
  } else if (plan.sole_rollup_kind) {
    out += Cat("rollups of ", KindName(*plan.sole_rollup_kind));
  } else {
    out += "scan";
  }
  return out;
}

}  // namespace kubetrail::storage::internal
