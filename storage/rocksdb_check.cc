// Check: recomputes every index entry, auditID entry, sequence-log entry and rollup count
// from the stored events and compares them with what the store holds. Posting lists are
// compared per (kind, cluster, term, minute) by entry count and an order-independent hash
// of their (time, sequence) entries, which keeps memory proportional to the number of
// lists, not of entries.
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "storage/internal/rocksdb_impl.h"

namespace kubetrail::storage::internal {
namespace {

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
uint64_t EntryHash(int64_t time, uint64_t seq) {
  return Mix(static_cast<uint64_t>(time) ^ Mix(seq));
}

struct ListSummary {
  uint64_t count = 0;
  uint64_t hash = 0;
};

constexpr size_t kMaxProblems = 100;

std::string Hex(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

}  // namespace

absl::StatusOr<CheckReport> RocksDbStoreImpl::Check() {
  KT_RETURN_IF_ERROR(CheckOpen());
  CheckReport report;
  uint64_t problems = 0;
  auto problem = [&](std::string what) {
    ++problems;
    if (report.problems.size() < kMaxProblems) report.problems.push_back({std::move(what)});
  };

  // Pin one view of the store.
  const rocksdb::Snapshot* snapshot = db_->GetSnapshot();
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  ro.fill_cache = false;
  struct Release {
    rocksdb::DB* db;
    const rocksdb::Snapshot* s;
    ~Release() { db->ReleaseSnapshot(s); }
  } release{db_.get(), snapshot};

  // Entries of days retention removed wholesale are left for compaction to drop, and
  // sequence-log entries of expired events stay: neither is a problem.
  const std::shared_ptr<const ExpiryView::Map> removed = expiry_view_->Get();
  auto expired = [&](uint32_t cluster, int64_t time_us) {
    if (ExpiryView::Removed(*removed, cluster, time_us)) return true;
    auto it = removed->find(cluster);
    return it != removed->end() &&
           FloorDiv(time_us, GranMicros(kGranDay)) < it->second.first_kept_day;
  };

  absl::flat_hash_map<std::string, std::string> expected_ids;  // id key -> event key
  absl::flat_hash_map<std::string, ListSummary> expected_lists;
  absl::flat_hash_map<std::string, uint64_t> expected_rollups;
  absl::flat_hash_map<uint64_t, std::string> expected_seq;  // sequence -> event key

  {
    absl::ReaderMutexLock lock(&dict_mu_);
    auto term_id = [&](Kind kind, std::string_view term) -> std::optional<uint32_t> {
      auto id = dict_[kind].Find(term);
      if (!id) {
        problem(Cat("dictionary ", static_cast<int>(kind), " lacks term \"", term, "\""));
      }
      return id;
    };
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, events_));
    kubetrail::v1::Event event;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++report.events;
      EventKey ek;
      EventValue ev;
      const std::string key(AsView(it->key()));
      if (!DecodeEventKey(key, &ek) || !DecodeEventValue(AsView(it->value()), &ev) ||
          !event.ParseFromArray(ev.event_bytes.data(), static_cast<int>(ev.event_bytes.size()))) {
        problem(Cat("event ", Hex(key), ": undecodable record"));
        continue;
      }
      const std::string& cluster = dict_[kKindCluster].Term(ek.cluster);
      const std::string& source = dict_[kKindSource].Term(ev.source);
      if (cluster.empty()) problem(Cat("event ", ek.sequence, ": unknown cluster id"));
      expected_ids[EncodeIdKey(AuditIdHash(event.audit_id()),
                               IdentityHash(cluster, source, ev.event_bytes))] = key;
      if (!expected_seq.emplace(ek.sequence, key).second) {
        problem(Cat("sequence ", ek.sequence, " is used by two events"));
      }
      const int64_t minute = FloorDiv(ek.time_us, GranMicros(kGranMinute));
      auto add = [&](Kind kind, std::string_view term_text, bool posting, bool rollup) {
        std::optional<uint32_t> term = term_id(kind, term_text);
        if (!term) return;
        if (posting) {
          ListSummary& s = expected_lists[EncodePostingPrefix(kind, ek.cluster, *term, minute)];
          ++s.count;
          s.hash += EntryHash(ek.time_us, ek.sequence);
        }
        for (Gran g : {kGranMinute, kGranHour, kGranDay}) {
          if (rollup || g == kGranDay) {
            expected_rollups[EncodeRollupKey(
                {kind, ek.cluster, g, FloorDiv(ek.time_us, GranMicros(g)), *term})] += 1;
          }
        }
        expected_rollups[EncodeRollupKey({kind, ek.cluster, kGranAll, 0, *term})] += 1;
      };
      for (Gran g : {kGranMinute, kGranHour, kGranDay}) {
        expected_rollups[EncodeRollupKey(
            {kKindTotal, ek.cluster, g, FloorDiv(ek.time_us, GranMicros(g)), 0})] += 1;
      }
      expected_rollups[EncodeRollupKey({kKindTotal, ek.cluster, kGranAll, 0, 0})] += 1;
      ForEachTerm(
          event, ResourceTerm(event.object_ref()), CodeTerm(event),
          [&](Kind kind, std::string_view term) { add(kind, term, true, HasTimedRollups(kind)); });
    }
    KT_RETURN_IF_ERROR(FromRocks(it->status(), "check: reading events"));
  }

  // auditID / identity entries.
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, ids_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++report.audit_id_entries;
      const std::string key(AsView(it->key()));
      auto e = expected_ids.find(key);
      if (e == expected_ids.end()) {
        EventKey target;
        if (DecodeEventKey(AsView(it->value()), &target) &&
            ExpiryView::Removed(*removed, target.cluster, target.time_us)) {
          continue;
        }
        problem(Cat("auditID entry ", Hex(key), " points at no stored event"));
        continue;
      }
      if (e->second != AsView(it->value())) {
        problem(Cat("auditID entry ", Hex(key), " points at the wrong event"));
      }
      expected_ids.erase(e);
    }
    KT_RETURN_IF_ERROR(FromRocks(it->status(), "check: reading the auditID index"));
    for (const auto& [id, event_key] : expected_ids) {
      problem(Cat("event ", Hex(event_key), " has no auditID entry"));
    }
  }

  // Posting lists.
  {
    absl::flat_hash_map<std::string, ListSummary> actual;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, postings_));
    std::vector<PostingEntry> entries;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      PostingKey k;
      entries.clear();
      const std::string_view key = AsView(it->key());
      if (!DecodePostingKey(key, &k) || !DecodePostingValue(k, AsView(it->value()), &entries)) {
        problem(Cat("posting list ", Hex(key), ": undecodable"));
        continue;
      }
      if (ExpiryView::Removed(*removed, k.cluster, k.bucket * GranMicros(kGranMinute))) continue;
      ListSummary& s = actual[std::string(key.substr(0, kPostingKeySize - 8))];
      for (const PostingEntry& e : entries) {
        ++report.index_entries;
        ++s.count;
        s.hash += EntryHash(e.time_us, e.sequence);
      }
    }
    KT_RETURN_IF_ERROR(FromRocks(it->status(), "check: reading postings"));
    for (const auto& [prefix, s] : actual) {
      auto e = expected_lists.find(prefix);
      if (e == expected_lists.end()) {
        problem(Cat("posting list ", Hex(prefix), ": ", s.count, " entries for no events"));
        continue;
      }
      if (e->second.count != s.count || e->second.hash != s.hash) {
        problem(Cat("posting list ", Hex(prefix), ": ", s.count, " entries, events say ",
                    e->second.count, s.count == e->second.count ? " (different events)" : ""));
      }
      expected_lists.erase(e);
    }
    for (const auto& [prefix, s] : expected_lists) {
      problem(Cat("posting list ", Hex(prefix), " is missing ", s.count, " entries"));
    }
  }

  // Rollups.
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, rollups_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++report.rollup_counts;
      const std::string key(AsView(it->key()));
      const uint64_t n = it->value().size() == 8 ? GetFixed64(it->value().data()) : ~0ull;
      auto e = expected_rollups.find(key);
      const uint64_t want = e == expected_rollups.end() ? 0 : e->second;
      if (n != want) problem(Cat("rollup ", Hex(key), " counts ", n, ", events say ", want));
      if (e != expected_rollups.end()) expected_rollups.erase(e);
    }
    KT_RETURN_IF_ERROR(FromRocks(it->status(), "check: reading rollups"));
    for (const auto& [key, n] : expected_rollups) {
      problem(Cat("rollup ", Hex(key), " is missing (events say ", n, ")"));
    }
  }

  // Sequence log.
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, seqlog_));
    std::vector<SeqlogEntry> entries;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      entries.clear();
      if (it->key().size() != 8 || !DecodeSeqlogValue(AsView(it->value()), &entries)) {
        problem(Cat("sequence log entry ", Hex(AsView(it->key())), ": undecodable"));
        continue;
      }
      const uint64_t first = GetBig64(it->key().data());
      for (size_t i = 0; i < entries.size(); ++i) {
        auto e = expected_seq.find(first + i);
        if (e == expected_seq.end()) {
          if (expired(entries[i].cluster, entries[i].time_us)) continue;
          problem(Cat("sequence ", first + i, " is logged but has no event"));
          continue;
        }
        if (e->second != EncodeEventKey({entries[i].cluster, entries[i].time_us, first + i})) {
          problem(Cat("sequence ", first + i, " is logged with another cluster or time"));
        }
        expected_seq.erase(e);
      }
    }
    KT_RETURN_IF_ERROR(FromRocks(it->status(), "check: reading the sequence log"));
    for (const auto& [seq, key] : expected_seq) {
      problem(Cat("event at sequence ", seq, " is missing from the sequence log"));
    }
  }
  if (problems > report.problems.size()) {
    report.problems.push_back(
        {Cat("... and ", problems - report.problems.size(), " more problems")});
  }
  return report;
}

}  // namespace kubetrail::storage::internal
