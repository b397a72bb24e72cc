// The bodies of the EventStoreConformance suite (event_store_conformance.h). Every expected
// answer is computed here by brute force over the events the test wrote, with Matches
// (filter.h) as the definition of a match; the store under test must agree exactly.
#include "storage/event_store_conformance.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "bench/loadgen/generator.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "kubetrail/v1/event.pb.h"
#include "storage/filter.h"

namespace kubetrail::storage {

void PrintTo(const EventStoreFactory& /*factory*/, std::ostream* os) { *os << "EventStoreFactory"; }

void EventStoreConformance::SetUp() {
  dir_ = std::make_unique<kubetrail::testing::TempDir>();
  ASSERT_TRUE(dir_->ok()) << dir_->error();
  store_ = GetParam()(dir_->path());
  ASSERT_NE(store_, nullptr) << "the factory made no store in " << dir_->path();
}

void EventStoreConformance::TearDown() {
  store_.reset();
  dir_.reset();
}

// A binary that links the suite without instantiating it (say, with the RocksDB tests
// disabled) is not an error.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(EventStoreConformance);

namespace {

using ::kubetrail::v1::EnvelopedEvent;
using ::kubetrail::v1::Event;
using ::testing::HasSubstr;

constexpr int64_t kMinuteUs = 60'000'000;
constexpr int64_t kHourUs = 60 * kMinuteUs;
constexpr int64_t kDayUs = 24 * kHourUs;
// 2026-11-01T00:00:00Z plus an offset, so that nothing is aligned to a minute by accident.
constexpr int64_t kStartUs = 1'793'491'200'000'000 + 5 * kHourUs + 1'234'567;
// The generator's requests are about 1 ms apart; stretched by this factor 1000 events
// per cluster span about two hours, so minutes, hours and days all have several buckets.
constexpr int64_t kStretch = 8000;

const WriteOptions kNoSync{.sync = false};

constexpr Dimension kAllDimensions[] = {Dimension::kUser,     Dimension::kVerb,
                                        Dimension::kResource, Dimension::kNamespace,
                                        Dimension::kCode,     Dimension::kCluster};

// --- Test data -------------------------------------------------------------------------------

// Loadgen events of clusters "east" and "west" (seeds `seed` and `seed + 1000`), interleaved,
// `per_cluster` each, in the order a collector would deliver them. Distorted on purpose: some
// arrive late with timestamps days old; some share the previous event's time exactly; some
// lack requestReceivedTimestamp (time from stageTimestamp) or both timestamps (time from the
// envelope); some have no user at all.
std::vector<EnvelopedEvent> MakeEvents(int per_cluster, uint64_t seed) {
  kubetrail::loadgen::Generator east(seed, kStartUs);
  kubetrail::loadgen::Generator west(seed + 1000, kStartUs);
  std::vector<EnvelopedEvent> out;
  out.reserve(2 * per_cluster);
  int64_t previous_time = kStartUs;
  for (int i = 0; i < 2 * per_cluster; ++i) {
    EnvelopedEvent e;
    Event* ev = e.mutable_event();
    (i % 2 == 0 ? east : west).Next(ev);
    e.mutable_envelope()->set_cluster(i % 2 == 0 ? "east" : "west");
    e.mutable_envelope()->set_source((i / 2) % 3 == 0 ? "apiserver-1" : "apiserver-0");

    // Stretch time, keeping each event's latency (stage - received).
    const int64_t received = ev->request_received_timestamp_us();
    const int64_t latency = ev->stage_timestamp_us() - received;
    int64_t t = kStartUs + (received - kStartUs) * kStretch;
    if (i % 41 == 5) t -= (1 + i % 3) * kDayUs + (i % 7) * kHourUs + 13'000'017;  // late
    if (i % 53 == 7) t = previous_time;                                           // a tie
    ev->set_request_received_timestamp_us(t);
    ev->set_stage_timestamp_us(t + latency);
    e.mutable_envelope()->set_receive_time_us(t + latency + 1'500 + (i % 5) * 1'000);
    if (i % 97 == 11) ev->clear_request_received_timestamp_us();
    if (i % 89 == 13) {
      ev->clear_request_received_timestamp_us();
      ev->clear_stage_timestamp_us();
    }
    if (i % 67 == 17) ev->clear_user();
    previous_time = EventTimeMicros(e);
    out.push_back(std::move(e));
  }
  return out;
}

// The standard data set: 2000 events, shared by the tests that only read it.
const std::vector<EnvelopedEvent>& Corpus() {
  static const auto* corpus = new std::vector<EnvelopedEvent>(MakeEvents(1000, 1));
  return *corpus;
}

// A small hand-made event.
EnvelopedEvent MakeEvent(std::string cluster, std::string audit_id, int64_t time_us) {
  EnvelopedEvent e;
  e.mutable_envelope()->set_cluster(std::move(cluster));
  e.mutable_envelope()->set_source("apiserver-0");
  e.mutable_envelope()->set_receive_time_us(time_us + 1'000);
  Event* ev = e.mutable_event();
  ev->set_level("Metadata");
  ev->set_audit_id(std::move(audit_id));
  ev->set_stage("ResponseComplete");
  ev->set_verb("get");
  ev->mutable_user()->set_username("alice");
  ev->mutable_object_ref()->set_resource("pods");
  ev->mutable_object_ref()->set_namespace_("default");
  ev->mutable_response_status()->set_code(200);
  ev->set_request_received_timestamp_us(time_us);
  ev->set_stage_timestamp_us(time_us + 300);
  return e;
}

// --- Brute force -----------------------------------------------------------------------------

CompiledFilter MustCompile(const Filter& filter) {
  absl::StatusOr<CompiledFilter> c = CompileFilter(filter);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *std::move(c) : CompiledFilter{};
}

bool TimeSeqLess(const StoredEvent& a, const StoredEvent& b) {
  return a.time_us != b.time_us ? a.time_us < b.time_us : a.sequence < b.sequence;
}

// Expected events: pointers into the vector of everything the test wrote (cheaper than
// copies; only valid until that vector changes).
using Expected = std::vector<const StoredEvent*>;

// The events of `all` matching `filter`, in `order`.
Expected BruteSearch(const std::vector<StoredEvent>& all, const Filter& filter, Order order) {
  const CompiledFilter c = MustCompile(filter);
  Expected out;
  for (const StoredEvent& e : all) {
    if (Matches(c, e.event, e.time_us)) out.push_back(&e);
  }
  std::sort(out.begin(), out.end(),
            [](const StoredEvent* a, const StoredEvent* b) { return TimeSeqLess(*a, *b); });
  if (order == Order::kDescending) std::reverse(out.begin(), out.end());
  return out;
}

// The events of `all` with sequence > `after` matching `filter`, in sequence order.
Expected BruteSince(const std::vector<StoredEvent>& all, uint64_t after, const Filter& filter) {
  const CompiledFilter c = MustCompile(filter);
  Expected out;
  for (const StoredEvent& e : all) {
    if (e.sequence > after && Matches(c, e.event, e.time_us)) out.push_back(&e);
  }
  std::sort(out.begin(), out.end(),
            [](const StoredEvent* a, const StoredEvent* b) { return a->sequence < b->sequence; });
  return out;
}

std::vector<KeyCount> SortCounts(const std::map<std::string, uint64_t>& counts, size_t limit) {
  std::vector<KeyCount> out;
  for (const auto& [key, count] : counts) out.push_back({key, count});
  std::sort(out.begin(), out.end(), [](const KeyCount& a, const KeyCount& b) {
    return a.count != b.count ? a.count > b.count : a.key < b.key;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

std::vector<KeyCount> BruteTop(const std::vector<StoredEvent>& all, const Filter& filter,
                               Dimension dimension, int limit) {
  const CompiledFilter c = MustCompile(filter);
  std::map<std::string, uint64_t> counts;
  for (const StoredEvent& e : all) {
    if (Matches(c, e.event, e.time_us)) ++counts[DimensionKey(e.event, dimension)];
  }
  return SortCounts(counts, static_cast<size_t>(limit));
}

int64_t BucketStart(int64_t t, int64_t width) {
  const int64_t rem = ((t % width) + width) % width;  // in [0, width) also for t < 0
  return t - rem;
}

std::vector<HistogramBucket> BruteHistogram(const std::vector<StoredEvent>& all,
                                            const Filter& filter, Granularity granularity,
                                            std::optional<Dimension> by) {
  const CompiledFilter c = MustCompile(filter);
  const int64_t width = GranularityMicros(granularity);
  std::map<int64_t, std::map<std::string, uint64_t>> per_key;
  std::map<int64_t, uint64_t> counts;
  for (const StoredEvent& e : all) {
    if (!Matches(c, e.event, e.time_us)) continue;
    const int64_t start = BucketStart(e.time_us, width);
    ++counts[start];
    if (by) ++per_key[start][DimensionKey(e.event, *by)];
  }
  std::vector<HistogramBucket> out;
  for (const auto& [start, count] : counts) {
    HistogramBucket b;
    b.start_us = start;
    b.count = count;
    if (by) b.by_key = SortCounts(per_key[start], SIZE_MAX);
    out.push_back(std::move(b));
  }
  return out;
}

// --- Readable comparisons --------------------------------------------------------------------

std::string Describe(const std::vector<KeyCount>& counts) {
  std::string out;
  for (const KeyCount& kc : counts) {
    out += "\"" + kc.key + "\"=" + std::to_string(kc.count) + " ";
  }
  return out;
}

std::string Describe(const std::vector<HistogramBucket>& buckets) {
  std::string out;
  for (const HistogramBucket& b : buckets) {
    out += std::to_string(b.start_us) + ":" + std::to_string(b.count);
    if (!b.by_key.empty()) out += " [" + Describe(b.by_key) + "]";
    out += "\n";
  }
  return out;
}

// Expects the same events in the same order: same sequence and time; with `content`, the
// same envelope and event too.
void ExpectSameEvents(const std::vector<StoredEvent>& got, const Expected& want,
                      bool content = false) {
  EXPECT_EQ(got.size(), want.size());
  const size_t n = std::min(got.size(), want.size());
  for (size_t i = 0; i < n; ++i) {
    ASSERT_EQ(got[i].sequence, want[i]->sequence) << "first difference at position " << i;
    EXPECT_EQ(got[i].time_us, want[i]->time_us) << "sequence " << want[i]->sequence;
    if (content) {
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got[i].event, want[i]->event))
          << "sequence " << want[i]->sequence << "\n got: " << got[i].event.ShortDebugString()
          << "\nwant: " << want[i]->event.ShortDebugString();
    }
  }
  if (got.size() != want.size()) {
    ADD_FAILURE() << "first extra event: sequence "
                  << (got.size() > n ? got[n].sequence : want[n]->sequence) << " ("
                  << (got.size() > n ? "got" : "want") << ")";
  }
}

void ExpectSameEvents(const std::vector<StoredEvent>& got, const std::vector<StoredEvent>& want,
                      bool content = false) {
  Expected pointers;
  for (const StoredEvent& e : want) pointers.push_back(&e);
  ExpectSameEvents(got, pointers, content);
}

// --- Store helpers ---------------------------------------------------------------------------

// Writes `events` (all new) in batches of `batch_size` and returns them as the store must now
// hold them: sequence numbers continue from `after_sequence` in input order.
std::vector<StoredEvent> WriteNew(EventStore& store, const std::vector<EnvelopedEvent>& events,
                                  uint64_t after_sequence, size_t batch_size = 100) {
  std::vector<StoredEvent> out;
  for (size_t begin = 0; begin < events.size(); begin += batch_size) {
    const size_t end = std::min(events.size(), begin + batch_size);
    absl::StatusOr<WriteResult> r =
        store.Write(absl::MakeConstSpan(events.data() + begin, end - begin), kNoSync);
    if (!r.ok()) {
      ADD_FAILURE() << "Write: " << r.status();
      return out;
    }
    EXPECT_EQ(r->stored, end - begin);
    EXPECT_EQ(r->duplicates, 0u);
    EXPECT_EQ(r->last_sequence, after_sequence + end);
    for (size_t i = begin; i < end; ++i) {
      EXPECT_EQ(r->outcomes.at(i - begin), WriteOutcome::kStored) << "event " << i;
      StoredEvent s;
      s.sequence = after_sequence + i + 1;
      s.time_us = EventTimeMicros(events[i]);
      s.event = events[i];
      out.push_back(std::move(s));
    }
  }
  return out;
}

// Follows Search page by page with `request` (its cursor empty) until `more` is false,
// checking each page against the contract, and returns every event seen. When
// `between_pages` is set it runs after every page but the last. `*snapshot_out`, when given,
// gets the pages' snapshot sequence.
std::vector<StoredEvent> SearchAll(EventStore& store, SearchRequest request,
                                   const std::function<void()>& between_pages = nullptr,
                                   uint64_t* snapshot_out = nullptr) {
  std::vector<StoredEvent> out;
  std::optional<uint64_t> snapshot;
  for (int pages = 0;; ++pages) {
    if (pages > 100'000) {
      ADD_FAILURE() << "Search never ends";
      return out;
    }
    absl::StatusOr<SearchPage> page = store.Search(request);
    if (!page.ok()) {
      ADD_FAILURE() << "Search page " << pages << ": " << page.status();
      return out;
    }
    EXPECT_LE(page->events.size(), static_cast<size_t>(request.limit));
    if (page->events.size() < static_cast<size_t>(request.limit)) {
      EXPECT_FALSE(page->more) << "a short page says more may follow";
    }
    EXPECT_FALSE(page->cursor.empty());
    absl::StatusOr<uint64_t> s = SnapshotSequence(page->cursor);
    EXPECT_TRUE(s.ok()) << s.status();
    if (s.ok()) {
      if (snapshot) {
        EXPECT_EQ(*s, *snapshot) << "the snapshot moved on page " << pages;
      }
      snapshot = *s;
    }
    for (StoredEvent& e : page->events) out.push_back(std::move(e));
    request.cursor = page->cursor;
    if (!page->more) break;
    if (between_pages) between_pages();
  }
  // Past the end: empty pages that stay put.
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<SearchPage> page = store.Search(request);
    if (!page.ok()) {
      ADD_FAILURE() << "Search past the end: " << page.status();
      break;
    }
    EXPECT_TRUE(page->events.empty()) << "events after a page with more == false";
    EXPECT_FALSE(page->more);
    absl::StatusOr<uint64_t> s = SnapshotSequence(page->cursor);
    EXPECT_TRUE(s.ok() && snapshot && *s == *snapshot) << "the cursor of an empty page moved";
    request.cursor = page->cursor;
  }
  if (snapshot_out != nullptr && snapshot) *snapshot_out = *snapshot;
  return out;
}

// One Search of everything matching `filter` in one page.
std::vector<StoredEvent> SearchOnePage(EventStore& store, const Filter& filter, Order order) {
  SearchRequest req;
  req.filter = filter;
  req.order = order;
  req.limit = kMaxSearchLimit;
  absl::StatusOr<SearchPage> page = store.Search(req);
  if (!page.ok()) {
    ADD_FAILURE() << "Search: " << page.status();
    return {};
  }
  EXPECT_FALSE(page->more);
  return std::move(page->events);
}

std::vector<StoredEvent> ReadAllSince(EventStore& store, uint64_t after, const Filter& filter,
                                      int limit) {
  std::vector<StoredEvent> out;
  for (int calls = 0; calls < 100'000; ++calls) {
    absl::StatusOr<std::vector<StoredEvent>> got = store.ReadSince(after, filter, limit);
    if (!got.ok()) {
      ADD_FAILURE() << "ReadSince(" << after << "): " << got.status();
      return out;
    }
    EXPECT_LE(got->size(), static_cast<size_t>(limit));
    if (got->empty()) return out;
    for (StoredEvent& e : *got) {
      EXPECT_GT(e.sequence, after);
      after = e.sequence;
      out.push_back(std::move(e));
    }
  }
  ADD_FAILURE() << "ReadSince never ends";
  return out;
}

// Filters over Corpus(), each named, covering every field. `may_be_empty` marks those that
// need not select anything in the corpus.
struct NamedFilter {
  std::string name;
  Filter filter;
  bool may_be_empty = false;
};

std::vector<NamedFilter> FieldFilters(const std::vector<EnvelopedEvent>& corpus) {
  // Values taken from the data, so that the filters select something.
  std::string user, name;
  for (const EnvelopedEvent& e : corpus) {
    const std::string& username = e.event().user().username();
    if (user.empty() && !username.empty() && username.rfind("system:", 0) != 0) user = username;
    if (name.empty() && e.event().object_ref().name().size() > 3) {
      name = e.event().object_ref().name();
    }
  }
  const std::vector<std::string> audit_ids = {
      corpus[0].event().audit_id(), corpus[1].event().audit_id(), corpus[500].event().audit_id()};
  auto make = [](std::string n, auto set, bool may_be_empty = false) {
    NamedFilter f;
    f.name = std::move(n);
    set(f.filter);
    f.may_be_empty = may_be_empty;
    return f;
  };
  const int64_t from = kStartUs + 17 * kMinuteUs + 123'457;  // not minute aligned
  const int64_t to = from + 41 * kMinuteUs + 7'654'321;
  std::vector<NamedFilter> out = {
      make("all", [](Filter&) {}),
      make("time range",
           [&](Filter& f) {
             f.from_us = from;
             f.to_us = to;
           }),
      make("from only", [&](Filter& f) { f.from_us = from; }),
      make("to only (the late events)", [&](Filter& f) { f.to_us = kStartUs; }),
      make(
          "empty range",
          [&](Filter& f) {
            f.from_us = from;
            f.to_us = from;
          },
          true),
      make(
          "inverted range",
          [&](Filter& f) {
            f.from_us = to;
            f.to_us = from;
          },
          true),
      make("cluster", [](Filter& f) { f.clusters = {"west"}; }),
      make("clusters",
           [](Filter& f) {
             f.clusters = {"west", "east"};
           }),
      make(
          "unknown cluster", [](Filter& f) { f.clusters = {"north"}; }, true),
      make("user exact", [&](Filter& f) { f.users = {user}; }),
      make("user prefix", [](Filter& f) { f.users = {"system:serviceaccount:*"}; }),
      make("users mixed",
           [&](Filter& f) {
             f.users = {user, "system:node:*"};
           }),
      make("any user", [](Filter& f) { f.users = {"*"}; }),
      make("impersonated any", [](Filter& f) { f.impersonated_users = {"*"}; }),
      make("impersonated prefix",
           [](Filter& f) { f.impersonated_users = {"system:serviceaccount:*"}; }),
      make("groups",
           [](Filter& f) {
             f.groups = {"system:masters", "developers"};
           }),
      make("verb", [](Filter& f) { f.verbs = {"delete"}; }),
      make("verbs",
           [](Filter& f) {
             f.verbs = {"list", "watch"};
           }),
      make("namespace", [](Filter& f) { f.namespaces = {"kube-system"}; }),
      make("cluster scoped", [](Filter& f) { f.namespaces = {""}; }),
      make("namespaces",
           [](Filter& f) {
             f.namespaces = {"", "default", "payments"};
           }),
      make("resource", [](Filter& f) { f.resources = {"configmaps"}; }),
      make("resource/sub", [](Filter& f) { f.resources = {"nodes/status"}; }),
      make("resource/*", [](Filter& f) { f.resources = {"pods/*"}; }),
      make("*/sub", [](Filter& f) { f.resources = {"*/status"}; }),
      make("resource.group", [](Filter& f) { f.resources = {"deployments.apps"}; }),
      make(
          "resource.group/sub", [](Filter& f) { f.resources = {"deployments.apps/scale"}; }, true),
      make("resource.dotted.group",
           [](Filter& f) { f.resources = {"leases.coordination.k8s.io"}; }),
      make(
          "pods/log", [](Filter& f) { f.resources = {"pods/log"}; }, true),
      make("resources",
           [](Filter& f) {
             f.resources = {"secrets", "*/status", "pods/exec"};
           }),
      make("core group", [](Filter& f) { f.api_groups = {""}; }),
      make("api groups",
           [](Filter& f) {
             f.api_groups = {"apps", "batch"};
           }),
      make("name", [&](Filter& f) { f.names = {name}; }),
      make("code", [](Filter& f) { f.codes = {"201"}; }),
      make("code class", [](Filter& f) { f.codes = {"4xx"}; }),
      make("codes",
           [](Filter& f) {
             f.codes = {"5xx", "403", "404"};
           }),
      make("stage", [](Filter& f) { f.stages = {"RequestReceived"}; }),
      make("stages",
           [](Filter& f) {
             f.stages = {"ResponseStarted", "ResponseComplete"};
           }),
      make("level", [](Filter& f) { f.levels = {"RequestResponse"}; }),
      make("audit ids", [&](Filter& f) { f.audit_ids = audit_ids; }),
      make("source ip", [](Filter& f) { f.source_ips = {"10.0.0.10"}; }),
      make("user agent", [](Filter& f) { f.user_agent_substring = "kubectl/"; }),
      make("combination",
           [&](Filter& f) {
             f.clusters = {"east"};
             f.users = {"system:*"};
             f.verbs = {"get", "update", "patch"};
             f.codes = {"2xx"};
             f.from_us = from;
             f.to_us = to + kHourUs;
           }),
      make("combination 2",
           [](Filter& f) {
             f.namespaces = {"kube-system", ""};
             f.levels = {"Metadata"};
             f.stages = {"ResponseComplete"};
             f.user_agent_substring = "/v1.";
           }),
  };
  return out;
}

// Filters for the aggregates: ranges not aligned to minutes, cluster, user prefix, verb,
// namespace and combinations.
std::vector<NamedFilter> AggregateFilters() {
  const int64_t from = kStartUs + 3 * kMinuteUs + 17'000'001;
  const int64_t to = from + 70 * kMinuteUs + 29'999'999;
  auto make = [](std::string n, auto set) {
    NamedFilter f;
    f.name = std::move(n);
    set(f.filter);
    return f;
  };
  return {
      make("all", [](Filter&) {}),
      make("unaligned range",
           [&](Filter& f) {
             f.from_us = from;
             f.to_us = to;
           }),
      make("cluster", [](Filter& f) { f.clusters = {"east"}; }),
      make("user prefix", [](Filter& f) { f.users = {"system:node:*"}; }),
      make("verb", [](Filter& f) { f.verbs = {"update"}; }),
      make("namespace", [](Filter& f) { f.namespaces = {"kube-system"}; }),
      make("cluster+verb+range",
           [&](Filter& f) {
             f.clusters = {"west"};
             f.verbs = {"get", "list"};
             f.from_us = from;
             f.to_us = to;
           }),
      make("user prefix+namespace",
           [](Filter& f) {
             f.users = {"system:serviceaccount:*"};
             f.namespaces = {"kube-system", "monitoring"};
           }),
  };
}

// --- Writes and identity ---------------------------------------------------------------------

TEST_P(EventStoreConformance, EmptyStore) {
  EXPECT_EQ(store().LastSequence(), 0u);
  absl::StatusOr<WriteResult> r = store().Write(absl::Span<const EnvelopedEvent>(), WriteOptions{});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->outcomes.empty());
  EXPECT_EQ(r->last_sequence, 0u);

  SearchRequest req;
  absl::StatusOr<SearchPage> page = store().Search(req);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_TRUE(page->events.empty());
  EXPECT_FALSE(page->more);
  EXPECT_FALSE(page->cursor.empty());
  absl::StatusOr<uint64_t> snapshot = SnapshotSequence(page->cursor);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(*snapshot, 0u);

  EXPECT_EQ(store().Get("nope").status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<uint64_t> count = store().Count({});
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 0u);
  absl::StatusOr<std::vector<KeyCount>> top = store().Top({}, Dimension::kUser, 10);
  ASSERT_TRUE(top.ok()) << top.status();
  EXPECT_TRUE(top->empty());
  absl::StatusOr<std::vector<HistogramBucket>> hist =
      store().Histogram({}, Granularity::kHour, Dimension::kVerb);
  ASSERT_TRUE(hist.ok()) << hist.status();
  EXPECT_TRUE(hist->empty());
  absl::StatusOr<std::vector<StoredEvent>> since = store().ReadSince(0, {}, 10);
  ASSERT_TRUE(since.ok()) << since.status();
  EXPECT_TRUE(since->empty());
  absl::StatusOr<StoreStats> stats = store().Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->events, 0u);
  EXPECT_EQ(stats->last_sequence, 0u);
  EXPECT_TRUE(stats->events_per_cluster.empty());
}

TEST_P(EventStoreConformance, StoresEventsUnchangedWithSequencesInInputOrder) {
  std::vector<EnvelopedEvent> events(Corpus().begin(), Corpus().begin() + 300);
  // Durable writes, one batch of each size.
  std::vector<StoredEvent> want;
  uint64_t last = 0;
  size_t begin = 0;
  for (size_t size : {1, 2, 97, 200}) {
    absl::StatusOr<WriteResult> r =
        store().Write(absl::MakeConstSpan(events.data() + begin, size), WriteOptions{});
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->outcomes.size(), size);
    EXPECT_EQ(r->stored, size);
    EXPECT_EQ(r->duplicates, 0u);
    EXPECT_EQ(r->last_sequence, last + size);
    for (size_t i = 0; i < size; ++i) {
      EXPECT_EQ(r->outcomes[i], WriteOutcome::kStored);
      StoredEvent s;
      s.sequence = ++last;
      s.time_us = EventTimeMicros(events[begin + i]);
      s.event = events[begin + i];
      want.push_back(std::move(s));
    }
    EXPECT_EQ(store().LastSequence(), last);
    begin += size;
  }
  ExpectSameEvents(ReadAllSince(store(), 0, {}, kMaxSearchLimit), want, /*content=*/true);
  ExpectSameEvents(SearchOnePage(store(), {}, Order::kAscending),
                   BruteSearch(want, {}, Order::kAscending), /*content=*/true);
}

TEST_P(EventStoreConformance, SameEventTwiceInOneBatch) {
  const EnvelopedEvent& e = Corpus()[3];
  const std::vector<EnvelopedEvent> batch = {e, Corpus()[4], e};
  absl::StatusOr<WriteResult> r = store().Write(batch, kNoSync);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->outcomes, ::testing::ElementsAre(WriteOutcome::kStored, WriteOutcome::kStored,
                                                  WriteOutcome::kDuplicate));
  EXPECT_EQ(r->stored, 2u);
  EXPECT_EQ(r->duplicates, 1u);
  EXPECT_EQ(r->last_sequence, 2u);
  EXPECT_EQ(store().LastSequence(), 2u);
  absl::StatusOr<std::vector<StoredEvent>> got = store().Get(e.event().audit_id());
  ASSERT_TRUE(got.ok()) << got.status();
  // Corpus()[3] and [4] are from different clusters, so [4] is a different request.
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].sequence, 1u);
}

TEST_P(EventStoreConformance, RewriteOfStoredBatchIsAllDuplicates) {
  const std::vector<EnvelopedEvent> batch(Corpus().begin() + 100, Corpus().begin() + 400);
  const std::vector<StoredEvent> stored = WriteNew(store(), batch, 0, batch.size());
  for (int round = 0; round < 2; ++round) {
    absl::StatusOr<WriteResult> r = store().Write(batch, WriteOptions{});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->stored, 0u);
    EXPECT_EQ(r->duplicates, batch.size());
    EXPECT_EQ(r->last_sequence, batch.size());
    for (WriteOutcome o : r->outcomes) EXPECT_EQ(o, WriteOutcome::kDuplicate);
  }
  // A resend split differently, mixed with new events: only the new ones are stored, in
  // input order.
  std::vector<EnvelopedEvent> mixed = {Corpus()[10], batch[5], Corpus()[11], batch[299],
                                       Corpus()[10]};
  absl::StatusOr<WriteResult> r = store().Write(mixed, kNoSync);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->outcomes, ::testing::ElementsAre(WriteOutcome::kStored, WriteOutcome::kDuplicate,
                                                  WriteOutcome::kStored, WriteOutcome::kDuplicate,
                                                  WriteOutcome::kDuplicate));
  EXPECT_EQ(r->stored, 2u);
  EXPECT_EQ(r->duplicates, 3u);
  EXPECT_EQ(r->last_sequence, batch.size() + 2);
  absl::StatusOr<std::vector<StoredEvent>> tail = store().ReadSince(batch.size(), {}, 10);
  ASSERT_TRUE(tail.ok()) << tail.status();
  ASSERT_EQ(tail->size(), 2u);
  EXPECT_EQ((*tail)[0].event.event().audit_id(), Corpus()[10].event().audit_id());
  EXPECT_EQ((*tail)[1].event.event().audit_id(), Corpus()[11].event().audit_id());
  absl::StatusOr<uint64_t> count = store().Count({});
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, batch.size() + 2);
}

TEST_P(EventStoreConformance, IdentityIsClusterSourceAuditIdStageAndContent) {
  const EnvelopedEvent base = MakeEvent("east", "id-1", kStartUs);
  ASSERT_TRUE(store().Write(absl::MakeConstSpan(&base, 1), kNoSync).ok());

  auto outcome = [&](const EnvelopedEvent& e) {
    absl::StatusOr<WriteResult> r = store().Write(absl::MakeConstSpan(&e, 1), kNoSync);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() && !r->outcomes.empty() ? r->outcomes[0] : WriteOutcome::kDuplicate;
  };

  // Only the receive time differs: a resend, not a new event.
  EnvelopedEvent resent = base;
  resent.mutable_envelope()->set_receive_time_us(base.envelope().receive_time_us() + 60'000'000);
  EXPECT_EQ(outcome(resent), WriteOutcome::kDuplicate);

  // Same auditID and stage, different content: both kept.
  EnvelopedEvent other_content = base;
  other_content.mutable_event()->set_user_agent("curl/8.5.0");
  EXPECT_EQ(outcome(other_content), WriteOutcome::kStored);
  EnvelopedEvent other_time = base;
  other_time.mutable_event()->set_stage_timestamp_us(base.event().stage_timestamp_us() + 1);
  EXPECT_EQ(outcome(other_time), WriteOutcome::kStored);

  // Same content from another cluster or another source: both kept.
  EnvelopedEvent other_cluster = base;
  other_cluster.mutable_envelope()->set_cluster("west");
  EXPECT_EQ(outcome(other_cluster), WriteOutcome::kStored);
  EnvelopedEvent other_source = base;
  other_source.mutable_envelope()->set_source("apiserver-9");
  EXPECT_EQ(outcome(other_source), WriteOutcome::kStored);

  // Another stage of the same request.
  EnvelopedEvent other_stage = base;
  other_stage.mutable_event()->set_stage("ResponseStarted");
  EXPECT_EQ(outcome(other_stage), WriteOutcome::kStored);

  // The content is compared in a deterministic encoding: map insertion order is no
  // difference.
  EnvelopedEvent annotated_a = MakeEvent("east", "id-2", kStartUs + 10);
  EnvelopedEvent annotated_b = annotated_a;
  const char* keys[] = {"authorization.k8s.io/decision",
                        "authorization.k8s.io/reason",
                        "pod-security.kubernetes.io/enforce-policy",
                        "mutation.webhook/round_0",
                        "a",
                        "z",
                        "m"};
  for (const char* k : keys) (*annotated_a.mutable_event()->mutable_annotations())[k] = k;
  for (auto it = std::rbegin(keys); it != std::rend(keys); ++it) {
    (*annotated_b.mutable_event()->mutable_annotations())[*it] = *it;
  }
  EXPECT_EQ(outcome(annotated_a), WriteOutcome::kStored);
  EXPECT_EQ(outcome(annotated_b), WriteOutcome::kDuplicate);

  // Each duplicate above again.
  for (const EnvelopedEvent* e : std::initializer_list<const EnvelopedEvent*>{
           &base, &other_content, &other_time, &other_cluster, &other_source, &other_stage,
           &annotated_a}) {
    EXPECT_EQ(outcome(*e), WriteOutcome::kDuplicate);
  }
  EXPECT_EQ(store().LastSequence(), 7u);
  absl::StatusOr<std::vector<StoredEvent>> got = store().Get("id-1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->size(), 6u);
}

TEST_P(EventStoreConformance, InvalidEventsRejectTheWholeBatch) {
  std::vector<EnvelopedEvent> batch(Corpus().begin(), Corpus().begin() + 5);
  struct Case {
    const char* what;
    void (*spoil)(EnvelopedEvent*);
  };
  for (const Case& c :
       {Case{"empty cluster", [](EnvelopedEvent* e) { e->mutable_envelope()->clear_cluster(); }},
        Case{"no envelope", [](EnvelopedEvent* e) { e->clear_envelope(); }},
        Case{"empty auditID", [](EnvelopedEvent* e) { e->mutable_event()->clear_audit_id(); }},
        // Found by fuzz/ingest_fuzz.cc: times near the ends of int64 overflowed the stores'
        // bucket arithmetic, and minutes after 6053 shared one bucket.
        Case{"time before 0000",
             [](EnvelopedEvent* e) {
               e->mutable_event()->set_request_received_timestamp_us(kMinEventTimeUs - 1);
             }},
        Case{"time after 6053",
             [](EnvelopedEvent* e) {
               e->mutable_event()->set_request_received_timestamp_us(kMaxEventTimeUs + 1);
             }},
        Case{"time at the end of int64",
             [](EnvelopedEvent* e) {
               e->mutable_event()->set_stage_timestamp_us(INT64_MAX);
               e->mutable_event()->clear_request_received_timestamp_us();
             }},
        Case{"receive time as the time, after 6053", [](EnvelopedEvent* e) {
               e->mutable_event()->clear_request_received_timestamp_us();
               e->mutable_event()->clear_stage_timestamp_us();
               e->mutable_envelope()->set_receive_time_us(kMaxEventTimeUs + 1);
             }}}) {
    SCOPED_TRACE(c.what);
    std::vector<EnvelopedEvent> bad = batch;
    c.spoil(&bad[3]);
    absl::StatusOr<WriteResult> r = store().Write(bad, WriteOptions{});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("3")) << "names the index";
    EXPECT_EQ(store().LastSequence(), 0u);
    absl::StatusOr<uint64_t> count = store().Count({});
    ASSERT_TRUE(count.ok());
    EXPECT_EQ(*count, 0u);
  }
  // Nothing of the rejected batches was remembered: the valid events are new.
  const std::vector<StoredEvent> stored = WriteNew(store(), batch, 0);
  EXPECT_EQ(stored.size(), batch.size());
}

TEST_P(EventStoreConformance, ConcurrentWritersStoreEachEventOnce) {
  // Four writers, each writing its own range and the range of the next one, so that every
  // event is offered twice, concurrently.
  const std::vector<EnvelopedEvent>& corpus = Corpus();
  constexpr int kWriters = 4;
  constexpr size_t kPerWriter = 200;
  std::atomic<uint64_t> stored{0}, duplicates{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int part = 0; part < 2; ++part) {
        const size_t first = ((w + part) % kWriters) * kPerWriter;
        for (size_t b = first; b < first + kPerWriter; b += 25) {
          absl::StatusOr<WriteResult> r =
              store().Write(absl::MakeConstSpan(corpus.data() + b, 25), kNoSync);
          if (!r.ok()) {
            ADD_FAILURE() << r.status();
            return;
          }
          stored += r->stored;
          duplicates += r->duplicates;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const uint64_t n = kWriters * kPerWriter;
  EXPECT_EQ(stored.load(), n);
  EXPECT_EQ(duplicates.load(), n);
  EXPECT_EQ(store().LastSequence(), n);
  const std::vector<StoredEvent> all = ReadAllSince(store(), 0, {}, 64);
  ASSERT_EQ(all.size(), n);
  std::set<std::pair<std::string, std::string>> seen;
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].sequence, i + 1);
    EXPECT_TRUE(seen.insert({all[i].event.envelope().cluster(),
                             all[i].event.event().audit_id() + "/" + all[i].event.event().stage()})
                    .second)
        << "stored twice: " << all[i].event.event().audit_id();
  }
}

// --- Search ----------------------------------------------------------------------------------

TEST_P(EventStoreConformance, SearchEveryFilterFieldBothOrders) {
  const std::vector<StoredEvent> all = WriteNew(store(), Corpus(), 0);
  for (const NamedFilter& nf : FieldFilters(Corpus())) {
    SCOPED_TRACE(nf.name);
    const Expected want = BruteSearch(all, nf.filter, Order::kAscending);
    if (!nf.may_be_empty) {
      EXPECT_FALSE(want.empty()) << "the filter selects nothing; the test data changed?";
    }
    if (nf.name != "all" && nf.name != "clusters") {
      EXPECT_LT(want.size(), all.size()) << "the filter selects everything";
    }
    ExpectSameEvents(SearchOnePage(store(), nf.filter, Order::kAscending), want);
    const Expected want_desc(want.rbegin(), want.rend());
    ExpectSameEvents(SearchOnePage(store(), nf.filter, Order::kDescending), want_desc);
  }
}

// prefer_serialized changes only the form of the results: every filter field, both orders,
// pages of 37, each event either parsed or encoded (never both), the same events and
// contents as the parsed search.
TEST_P(EventStoreConformance, SearchPreferringSerializedReturnsTheSameEvents) {
  const std::vector<StoredEvent> all = WriteNew(store(), Corpus(), 0);
  std::vector<NamedFilter> filters = FieldFilters(Corpus());
  for (NamedFilter& nf : AggregateFilters()) filters.push_back(std::move(nf));
  for (const NamedFilter& nf : filters) {
    for (Order order : {Order::kAscending, Order::kDescending}) {
      SCOPED_TRACE(::testing::Message()
                   << nf.name << (order == Order::kAscending ? " asc" : " desc"));
      SearchRequest req;
      req.filter = nf.filter;
      req.order = order;
      req.limit = 37;
      req.prefer_serialized = true;
      std::vector<StoredEvent> got = SearchAll(store(), req);
      for (StoredEvent& e : got) {
        if (e.serialized.empty()) continue;
        EXPECT_EQ(e.event.ByteSizeLong(), 0u) << "sequence " << e.sequence << " has both forms";
        ASSERT_TRUE(e.event.ParseFromString(e.serialized)) << "sequence " << e.sequence;
        e.serialized.clear();
      }
      ExpectSameEvents(got, BruteSearch(all, nf.filter, order), /*content=*/true);
    }
  }
}

TEST_P(EventStoreConformance, CountAndReadSinceEveryFilterField) {
  const std::vector<StoredEvent> all = WriteNew(store(), Corpus(), 0);
  for (const NamedFilter& nf : FieldFilters(Corpus())) {
    SCOPED_TRACE(nf.name);
    absl::StatusOr<uint64_t> count = store().Count(nf.filter);
    ASSERT_TRUE(count.ok()) << count.status();
    EXPECT_EQ(*count, BruteSearch(all, nf.filter, Order::kAscending).size());
    ExpectSameEvents(ReadAllSince(store(), 0, nf.filter, kMaxSearchLimit),
                     BruteSince(all, 0, nf.filter));
  }
}

TEST_P(EventStoreConformance, SearchReturnsFullEventsInTimeThenSequenceOrder) {
  const std::vector<StoredEvent> all = WriteNew(store(), Corpus(), 0);
  const std::vector<StoredEvent> asc = SearchOnePage(store(), {}, Order::kAscending);
  // The data has late events, ties and every time fallback; the order is (time, sequence).
  ExpectSameEvents(asc, BruteSearch(all, {}, Order::kAscending), /*content=*/true);
  bool saw_tie = false, saw_out_of_order = false;
  for (size_t i = 1; i < asc.size(); ++i) {
    saw_tie |= asc[i].time_us == asc[i - 1].time_us;
    saw_out_of_order |= asc[i].sequence < asc[i - 1].sequence;
  }
  EXPECT_TRUE(saw_tie);
  EXPECT_TRUE(saw_out_of_order);
  ExpectSameEvents(SearchOnePage(store(), {}, Order::kDescending),
                   BruteSearch(all, {}, Order::kDescending), /*content=*/true);
}

TEST_P(EventStoreConformance, PagingEqualsTheFullResult) {
  const std::vector<StoredEvent> all = WriteNew(store(), Corpus(), 0);
  Filter subset;
  subset.clusters = {"east"};
  subset.verbs = {"get", "watch"};
  struct Case {
    const char* name;
    Filter filter;
    int limit;
  };
  for (const Case& c :
       {Case{"all/7", {}, 7}, Case{"all/64", {}, 64}, Case{"all/333", {}, 333},
        Case{"all/2000", {}, 2000}, Case{"subset/1", subset, 1}, Case{"subset/10", subset, 10}}) {
    for (Order order : {Order::kAscending, Order::kDescending}) {
      SCOPED_TRACE(::testing::Message()
                   << c.name << (order == Order::kAscending ? " asc" : " desc"));
      SearchRequest req;
      req.filter = c.filter;
      req.order = order;
      req.limit = c.limit;
      const std::vector<StoredEvent> got = SearchAll(store(), req);
      ExpectSameEvents(got, BruteSearch(all, c.filter, order));
      std::set<uint64_t> unique;
      for (const StoredEvent& e : got) unique.insert(e.sequence);
      EXPECT_EQ(unique.size(), got.size()) << "an event was repeated";
    }
  }
}

TEST_P(EventStoreConformance, FullPagesSayMoreWhenMoreFollow) {
  const std::vector<StoredEvent> all = WriteNew(store(), Corpus(), 0);
  SearchRequest req;
  req.limit = 50;
  absl::StatusOr<SearchPage> page = store().Search(req);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->events.size(), 50u);
  EXPECT_TRUE(page->more);
  // Exactly at the end: a page of exactly the remaining events.
  req.filter.clusters = {"west"};
  req.limit = static_cast<int>(BruteSearch(all, req.filter, Order::kAscending).size());
  page = store().Search(req);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->events.size(), static_cast<size_t>(req.limit));
  if (page->more) {  // allowed: "more may follow"; the next page must then be empty
    req.cursor = page->cursor;
    absl::StatusOr<SearchPage> next = store().Search(req);
    ASSERT_TRUE(next.ok()) << next.status();
    EXPECT_TRUE(next->events.empty());
    EXPECT_FALSE(next->more);
  }
}

TEST_P(EventStoreConformance, PagingIsStableWhileEventsArrive) {
  std::vector<StoredEvent> all = WriteNew(store(), Corpus(), 0);
  // Events of the same period (and some late ones) arrive between the pages.
  const std::vector<EnvelopedEvent> arriving = MakeEvents(150, 77);

  struct Session {
    const char* name;
    Filter filter;
    Order order;
    int limit;
  };
  Filter west;
  west.clusters = {"west"};
  west.namespaces = {"", "kube-system", "kube-node-lease"};
  size_t next_arrival = 0;
  for (const Session& s : {Session{"asc, all", {}, Order::kAscending, 40},
                           Session{"desc, filtered", west, Order::kDescending, 9}}) {
    SCOPED_TRACE(s.name);
    const uint64_t snapshot = store().LastSequence();
    const Expected want = BruteSearch(all, s.filter, s.order);
    std::vector<StoredEvent> arrived;
    SearchRequest req;
    req.filter = s.filter;
    req.order = s.order;
    req.limit = s.limit;
    const std::vector<StoredEvent> got = SearchAll(store(), req, [&] {
      if (next_arrival >= arriving.size()) return;
      const size_t n = std::min<size_t>(5, arriving.size() - next_arrival);
      std::vector<EnvelopedEvent> batch(arriving.begin() + next_arrival,
                                        arriving.begin() + next_arrival + n);
      next_arrival += n;
      for (StoredEvent& e : WriteNew(store(), batch, store().LastSequence())) {
        arrived.push_back(std::move(e));
      }
    });
    ASSERT_FALSE(arrived.empty());
    ExpectSameEvents(got, want);

    // The first page's cursor pins the store as it was; a follower from there gets exactly
    // the events that arrived meanwhile (that match).
    SearchRequest first = req;
    first.limit = 1;
    absl::StatusOr<SearchPage> page = store().Search(first);
    ASSERT_TRUE(page.ok()) << page.status();
    absl::StatusOr<uint64_t> now = SnapshotSequence(page->cursor);
    ASSERT_TRUE(now.ok()) << now.status();
    EXPECT_EQ(*now, store().LastSequence());
    for (StoredEvent& e : arrived) all.push_back(std::move(e));
    ExpectSameEvents(ReadAllSince(store(), snapshot, s.filter, 7),
                     BruteSince(all, snapshot, s.filter), /*content=*/true);
  }
}

// As above, with the events arriving from another thread while the pages are read (in both
// orders): the pages hold exactly the events committed before the first page, once each, and
// a follower from the snapshot gets exactly the rest.
TEST_P(EventStoreConformance, PagingIsStableWhileAnotherThreadWrites) {
  std::vector<StoredEvent> all = WriteNew(store(), Corpus(), 0);
  const std::vector<EnvelopedEvent> arriving = MakeEvents(300, 91);
  std::atomic<size_t> next{0};  // the next of `arriving` to write, over both orders
  for (const Order order : {Order::kAscending, Order::kDescending}) {
    SCOPED_TRACE(order == Order::kAscending ? "ascending" : "descending");
    std::atomic<bool> paged{false};
    std::vector<StoredEvent> arrived;
    std::thread writer([&] {
      // Small batches, until the pages are read or the events run out.
      while (!paged.load() && next.load() < arriving.size()) {
        const size_t at = next.load();
        const size_t n = std::min<size_t>(3, arriving.size() - at);
        next.store(at + n);
        const std::vector<EnvelopedEvent> batch(arriving.begin() + at, arriving.begin() + at + n);
        for (StoredEvent& e : WriteNew(store(), batch, store().LastSequence())) {
          arrived.push_back(std::move(e));
        }
      }
    });
    SearchRequest req;
    req.order = order;
    req.limit = 17;
    uint64_t snapshot = 0;
    const std::vector<StoredEvent> got = SearchAll(store(), req, nullptr, &snapshot);
    paged.store(true);
    writer.join();
    for (StoredEvent& e : arrived) all.push_back(std::move(e));
    std::vector<StoredEvent> before;
    for (const StoredEvent& e : all) {
      if (e.sequence <= snapshot) before.push_back(e);
    }
    ExpectSameEvents(got, BruteSearch(before, {}, order));
    ExpectSameEvents(ReadAllSince(store(), snapshot, {}, 23), BruteSince(all, snapshot, {}),
                     /*content=*/true);
  }
}

TEST_P(EventStoreConformance, CursorOfAnEmptyPageStaysPut) {
  std::vector<StoredEvent> all = WriteNew(store(), Corpus(), 0);
  SearchRequest req;
  req.filter.clusters = {"east"};
  req.limit = 1000;
  const std::vector<StoredEvent> first = SearchAll(store(), req);
  ASSERT_FALSE(first.empty());
  // A search that matches nothing yet: its cursor pins the present.
  SearchRequest none;
  none.filter.clusters = {"south"};
  absl::StatusOr<SearchPage> empty = store().Search(none);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->events.empty());
  EXPECT_FALSE(empty->more);
  absl::StatusOr<uint64_t> snapshot = SnapshotSequence(empty->cursor);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(*snapshot, all.size());
  // Events for it arrive: the old cursor still sees none of them; ReadSince does.
  EnvelopedEvent south = MakeEvent("south", "south-1", kStartUs - kDayUs);
  ASSERT_TRUE(store().Write(absl::MakeConstSpan(&south, 1), kNoSync).ok());
  none.cursor = empty->cursor;
  absl::StatusOr<SearchPage> again = store().Search(none);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->events.empty());
  EXPECT_FALSE(again->more);
  EXPECT_EQ(SnapshotSequence(again->cursor).value_or(0), all.size());
  absl::StatusOr<std::vector<StoredEvent>> since = store().ReadSince(*snapshot, none.filter, 10);
  ASSERT_TRUE(since.ok()) << since.status();
  ASSERT_EQ(since->size(), 1u);
  EXPECT_EQ((*since)[0].event.event().audit_id(), "south-1");
  // A fresh search sees it.
  none.cursor.clear();
  absl::StatusOr<SearchPage> fresh = store().Search(none);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(fresh->events.size(), 1u);
}

TEST_P(EventStoreConformance, AQueryGivesUpAtItsDeadlineOrWhenCancelled) {
  WriteNew(store(), Corpus(), 0);
  // No index answers a userAgent substring: every query scans all 2000 events.
  Filter scan;
  scan.user_agent_substring = "no-such-agent";
  // Each query kind, with `f` as its filter.
  const std::vector<std::pair<std::string, std::function<absl::Status(const Filter&)>>> queries = {
      {"Search",
       [&](const Filter& f) {
         SearchRequest r;
         r.filter = f;
         return store().Search(r).status();
       }},
      {"Count", [&](const Filter& f) { return store().Count(f).status(); }},
      {"Top", [&](const Filter& f) { return store().Top(f, Dimension::kUser, 10).status(); }},
      {"Histogram", [&](const Filter& f) {
         return store().Histogram(f, Granularity::kHour, std::nullopt).status();
       }}};
  for (const auto& [name, query] : queries) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(query(scan).ok());

    Filter late = scan;
    late.stop.deadline = absl::InfinitePast();
    EXPECT_EQ(query(late).code(), absl::StatusCode::kDeadlineExceeded);
    Filter rollup;  // answered from rollups where a store has them: also refused
    rollup.stop.deadline = absl::InfinitePast();
    EXPECT_EQ(query(rollup).code(), absl::StatusCode::kDeadlineExceeded);

    // The caller goes away during the scan: the store notices at its next look, long before
    // the end of the 2000 events, and looks no more.
    int looks = 0;
    Filter cancelled = scan;
    cancelled.stop.cancelled = [&looks] { return ++looks == 4; };
    EXPECT_EQ(query(cancelled).code(), absl::StatusCode::kCancelled);
    EXPECT_EQ(looks, 4);
  }
}

TEST_P(EventStoreConformance, BadRequestsAreInvalidArgument) {
  WriteNew(store(), std::vector<EnvelopedEvent>(Corpus().begin(), Corpus().begin() + 50), 0);
  SearchRequest asc;
  asc.limit = 10;
  absl::StatusOr<SearchPage> page = store().Search(asc);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_TRUE(page->more);

  SearchRequest desc;
  desc.order = Order::kDescending;
  desc.cursor = page->cursor;
  EXPECT_EQ(store().Search(desc).status().code(), absl::StatusCode::kInvalidArgument);

  for (const std::string& bad : {std::string("kt1.AAAA"), std::string("garbage"),
                                 page->cursor.substr(0, page->cursor.size() - 3)}) {
    SearchRequest req;
    req.cursor = bad;
    EXPECT_EQ(store().Search(req).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  for (int limit : {0, -1, kMaxSearchLimit + 1}) {
    SearchRequest req;
    req.limit = limit;
    EXPECT_EQ(store().Search(req).status().code(), absl::StatusCode::kInvalidArgument) << limit;
    EXPECT_EQ(store().ReadSince(0, {}, limit).status().code(), absl::StatusCode::kInvalidArgument)
        << limit;
  }
  EXPECT_EQ(store().Top({}, Dimension::kUser, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store().Top({}, Dimension::kUser, -3).status().code(),
            absl::StatusCode::kInvalidArgument);

  Filter bad_filter;
  bad_filter.codes = {"4x"};
  SearchRequest req;
  req.filter = bad_filter;
  EXPECT_EQ(store().Search(req).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store().Count(bad_filter).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store().Top(bad_filter, Dimension::kVerb, 5).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store().Histogram(bad_filter, Granularity::kHour, std::nullopt).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store().ReadSince(0, bad_filter, 10).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// --- Get -------------------------------------------------------------------------------------

TEST_P(EventStoreConformance, GetFindsEveryStageAcrossClusters) {
  std::vector<EnvelopedEvent> events = Corpus();
  // A request with several stages, also delivered by the other cluster's collector (a
  // shared auditID across clusters must not hide either).
  std::map<std::string, std::vector<size_t>> by_id;
  for (size_t i = 0; i < events.size(); ++i) by_id[events[i].event().audit_id()].push_back(i);
  std::string multi;
  for (const auto& [id, indexes] : by_id) {
    if (indexes.size() >= 2) {
      multi = id;
      break;
    }
  }
  ASSERT_FALSE(multi.empty());
  for (size_t i : by_id[multi]) {
    EnvelopedEvent copy = events[i];
    copy.mutable_envelope()->set_cluster(copy.envelope().cluster() == "east" ? "west" : "east");
    copy.mutable_event()->set_request_received_timestamp_us(
        EventTimeMicros(events[i]) - 5 * kMinuteUs);  // earlier than the originals
    events.push_back(std::move(copy));
  }
  const std::vector<StoredEvent> all = WriteNew(store(), events, 0);

  absl::StatusOr<std::vector<StoredEvent>> got = store().Get(multi);
  ASSERT_TRUE(got.ok()) << got.status();
  Filter f;
  f.audit_ids = {multi};
  const Expected want = BruteSearch(all, f, Order::kAscending);
  EXPECT_EQ(want.size(), 2 * by_id[multi].size());
  ExpectSameEvents(*got, want, /*content=*/true);
  std::set<std::string> clusters;
  for (const StoredEvent& e : *got) clusters.insert(e.event.envelope().cluster());
  EXPECT_EQ(clusters.size(), 2u);

  // A few more, single or not.
  for (size_t i : {0, 1, 777, 1999}) {
    const std::string& id = events[i].event().audit_id();
    f.audit_ids = {id};
    absl::StatusOr<std::vector<StoredEvent>> one = store().Get(id);
    ASSERT_TRUE(one.ok()) << one.status();
    ExpectSameEvents(*one, BruteSearch(all, f, Order::kAscending));
  }
  EXPECT_EQ(store().Get("00000000-0000-4000-8000-000000000000").status().code(),
            absl::StatusCode::kNotFound);
  // A prefix of an auditID is not an auditID.
  EXPECT_EQ(store().Get(multi.substr(0, 8)).status().code(), absl::StatusCode::kNotFound);
}

// --- Aggregates ------------------------------------------------------------------------------

TEST_P(EventStoreConformance, CountTopAndHistogramAgreeWithBruteForce) {
  const std::vector<StoredEvent> all = WriteNew(store(), Corpus(), 0);
  for (const NamedFilter& nf : AggregateFilters()) {
    SCOPED_TRACE(nf.name);
    absl::StatusOr<uint64_t> count = store().Count(nf.filter);
    ASSERT_TRUE(count.ok()) << count.status();
    const uint64_t want_count = BruteSearch(all, nf.filter, Order::kAscending).size();
    EXPECT_GT(want_count, 0u);
    EXPECT_EQ(*count, want_count);
    for (Dimension d : kAllDimensions) {
      for (int limit : {1, 3, 1000}) {
        absl::StatusOr<std::vector<KeyCount>> top = store().Top(nf.filter, d, limit);
        ASSERT_TRUE(top.ok()) << top.status();
        EXPECT_EQ(Describe(*top), Describe(BruteTop(all, nf.filter, d, limit)))
            << "Top " << DimensionName(d) << " limit " << limit;
      }
    }
    for (Granularity g : {Granularity::kMinute, Granularity::kHour, Granularity::kDay}) {
      const std::vector<std::optional<Dimension>> bys =
          g == Granularity::kMinute
              ? std::vector<std::optional<Dimension>>{std::nullopt, Dimension::kVerb}
              : std::vector<std::optional<Dimension>>{std::nullopt, Dimension::kUser,
                                                      Dimension::kCode, Dimension::kCluster};
      for (const std::optional<Dimension>& by : bys) {
        absl::StatusOr<std::vector<HistogramBucket>> hist = store().Histogram(nf.filter, g, by);
        ASSERT_TRUE(hist.ok()) << hist.status();
        EXPECT_EQ(Describe(*hist), Describe(BruteHistogram(all, nf.filter, g, by)))
            << "granularity " << GranularityMicros(g) << " by "
            << (by ? DimensionName(*by) : "nothing");
      }
    }
  }
}

TEST_P(EventStoreConformance, HistogramOfEveryDimension) {
  const std::vector<StoredEvent> all = WriteNew(store(), Corpus(), 0);
  Filter f;
  f.from_us = kStartUs + 20 * kMinuteUs + 1;
  f.to_us = kStartUs + 80 * kMinuteUs - 1;
  for (Dimension d : kAllDimensions) {
    absl::StatusOr<std::vector<HistogramBucket>> hist = store().Histogram(f, Granularity::kHour, d);
    ASSERT_TRUE(hist.ok()) << hist.status();
    EXPECT_EQ(Describe(*hist), Describe(BruteHistogram(all, f, Granularity::kHour, d)))
        << DimensionName(d);
  }
  // The shape of the data: several buckets at each granularity, starts aligned.
  for (Granularity g : {Granularity::kMinute, Granularity::kHour, Granularity::kDay}) {
    absl::StatusOr<std::vector<HistogramBucket>> hist = store().Histogram({}, g, std::nullopt);
    ASSERT_TRUE(hist.ok()) << hist.status();
    EXPECT_GE(hist->size(), 3u);
    uint64_t total = 0;
    for (size_t i = 0; i < hist->size(); ++i) {
      EXPECT_EQ((*hist)[i].start_us % GranularityMicros(g), 0);
      EXPECT_GT((*hist)[i].count, 0u);
      EXPECT_TRUE((*hist)[i].by_key.empty());
      if (i > 0) {
        EXPECT_LT((*hist)[i - 1].start_us, (*hist)[i].start_us);
      }
      total += (*hist)[i].count;
    }
    EXPECT_EQ(total, all.size());
  }
}

TEST_P(EventStoreConformance, EventsWithoutAKeyCountUnderEmptyKey) {
  std::vector<EnvelopedEvent> events;
  for (int i = 0; i < 6; ++i) {
    EnvelopedEvent e = MakeEvent("east", "k-" + std::to_string(i), kStartUs + i * kMinuteUs);
    if (i < 3) e.mutable_event()->clear_user();                       // no user
    if (i == 3) e.mutable_event()->mutable_user()->set_username("");  // an empty one
    if (i % 2 == 0) {
      e.mutable_event()->set_stage("RequestReceived");
      e.mutable_event()->clear_response_status();  // no code
      e.mutable_event()->clear_object_ref();       // no resource, no namespace
      e.mutable_event()->clear_verb();
    }
    events.push_back(std::move(e));
  }
  const std::vector<StoredEvent> all = WriteNew(store(), events, 0);
  absl::StatusOr<std::vector<KeyCount>> users = store().Top({}, Dimension::kUser, 10);
  ASSERT_TRUE(users.ok()) << users.status();
  EXPECT_EQ(Describe(*users), "\"\"=4 \"alice\"=2 ");
  for (Dimension d : kAllDimensions) {
    absl::StatusOr<std::vector<KeyCount>> top = store().Top({}, d, 10);
    ASSERT_TRUE(top.ok()) << top.status();
    EXPECT_EQ(Describe(*top), Describe(BruteTop(all, {}, d, 10))) << DimensionName(d);
  }
  absl::StatusOr<std::vector<KeyCount>> codes = store().Top({}, Dimension::kCode, 10);
  ASSERT_TRUE(codes.ok());
  EXPECT_EQ(Describe(*codes), "\"\"=3 \"200\"=3 ");
  absl::StatusOr<std::vector<HistogramBucket>> hist =
      store().Histogram({}, Granularity::kHour, Dimension::kUser);
  ASSERT_TRUE(hist.ok()) << hist.status();
  EXPECT_EQ(Describe(*hist),
            Describe(BruteHistogram(all, {}, Granularity::kHour, Dimension::kUser)));
  // "*" selects only events that have a user.
  Filter any_user;
  any_user.users = {"*"};
  absl::StatusOr<uint64_t> count = store().Count(any_user);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 2u);
}

TEST_P(EventStoreConformance, NegativeAndBoundaryTimes) {
  // Times before the epoch and exactly on bucket edges.
  const int64_t times[] = {-kDayUs - 1, -kMinuteUs - 1, -kMinuteUs, -1,     0,  kMinuteUs - 1,
                           kMinuteUs,   kHourUs,        kDayUs - 1, kDayUs, -1, 0};
  std::vector<EnvelopedEvent> events;
  for (size_t i = 0; i < std::size(times); ++i) {
    events.push_back(MakeEvent(i % 2 ? "east" : "west", "t-" + std::to_string(i), times[i]));
  }
  const std::vector<StoredEvent> all = WriteNew(store(), events, 0, 5);

  absl::StatusOr<std::vector<HistogramBucket>> minutes =
      store().Histogram({}, Granularity::kMinute, std::nullopt);
  ASSERT_TRUE(minutes.ok()) << minutes.status();
  EXPECT_EQ(Describe(*minutes),
            Describe(BruteHistogram(all, {}, Granularity::kMinute, std::nullopt)));
  ASSERT_FALSE(minutes->empty());
  EXPECT_EQ(minutes->front().start_us, -kDayUs - kMinuteUs);
  absl::StatusOr<std::vector<HistogramBucket>> days =
      store().Histogram({}, Granularity::kDay, Dimension::kCluster);
  ASSERT_TRUE(days.ok()) << days.status();
  EXPECT_EQ(Describe(*days),
            Describe(BruteHistogram(all, {}, Granularity::kDay, Dimension::kCluster)));
  ASSERT_EQ(days->size(), 4u);
  EXPECT_EQ((*days)[0].start_us, -2 * kDayUs);
  EXPECT_EQ((*days)[0].count, 1u);
  EXPECT_EQ((*days)[1].start_us, -kDayUs);
  EXPECT_EQ((*days)[1].count, 4u);
  EXPECT_EQ((*days)[2].start_us, 0);
  EXPECT_EQ((*days)[2].count, 6u);
  EXPECT_EQ((*days)[3].start_us, kDayUs);
  EXPECT_EQ((*days)[3].count, 1u);

  // Time order and ranges across zero.
  for (Order order : {Order::kAscending, Order::kDescending}) {
    SearchRequest req;
    req.order = order;
    req.limit = 2;
    ExpectSameEvents(SearchAll(store(), req), BruteSearch(all, {}, order));
  }
  Filter around_zero;
  around_zero.from_us = -kMinuteUs;
  around_zero.to_us = 1;
  const Expected want = BruteSearch(all, around_zero, Order::kAscending);
  EXPECT_EQ(want.size(), 5u);
  ExpectSameEvents(SearchOnePage(store(), around_zero, Order::kAscending), want);
  absl::StatusOr<uint64_t> count = store().Count(around_zero);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 5u);
}

// --- Following, sequence, stats --------------------------------------------------------------

TEST_P(EventStoreConformance, ReadSincePagesInSequenceOrder) {
  const std::vector<StoredEvent> all = WriteNew(store(), Corpus(), 0, 250);
  ExpectSameEvents(ReadAllSince(store(), 0, {}, 7), all, /*content=*/true);
  Filter f;
  f.clusters = {"west"};
  f.users = {"system:*"};
  ExpectSameEvents(ReadAllSince(store(), 0, f, 13), BruteSince(all, 0, f));
  ExpectSameEvents(ReadAllSince(store(), 1234, f, 5), BruteSince(all, 1234, f));
  // Exactly `limit` when that many follow.
  absl::StatusOr<std::vector<StoredEvent>> page = store().ReadSince(10, {}, 25);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->size(), 25u);
  EXPECT_EQ(page->front().sequence, 11u);
  EXPECT_EQ(page->back().sequence, 35u);
  // At and beyond the end.
  for (uint64_t after : {uint64_t{2000}, uint64_t{2001}, ~uint64_t{0}}) {
    absl::StatusOr<std::vector<StoredEvent>> none = store().ReadSince(after, {}, 10);
    ASSERT_TRUE(none.ok()) << none.status();
    EXPECT_TRUE(none->empty()) << after;
  }
}

TEST_P(EventStoreConformance, LastSequenceAndStats) {
  const std::vector<EnvelopedEvent>& corpus = Corpus();
  std::vector<EnvelopedEvent> events(corpus.begin(), corpus.begin() + 501);
  events.push_back(MakeEvent("a-cluster", "a-1", kStartUs));
  events.push_back(MakeEvent("zzz", "z-1", kStartUs));
  WriteNew(store(), events, 0, 64);
  EXPECT_EQ(store().LastSequence(), events.size());
  // Duplicates change nothing.
  ASSERT_TRUE(store().Write(events, kNoSync).ok());
  EXPECT_EQ(store().LastSequence(), events.size());

  absl::StatusOr<StoreStats> stats = store().Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->events, events.size());
  EXPECT_EQ(stats->last_sequence, events.size());
  EXPECT_EQ(Describe(stats->events_per_cluster),
            "\"a-cluster\"=1 \"east\"=251 \"west\"=250 \"zzz\"=1 ");
}

LegalHold Hold(std::string cluster, int64_t from_us, int64_t to_us, std::string user = "",
               std::string namespace_name = "", std::string reason = "") {
  LegalHold h;
  h.cluster = std::move(cluster);
  h.from_us = from_us;
  h.to_us = to_us;
  h.user = std::move(user);
  h.namespace_name = std::move(namespace_name);
  h.reason = std::move(reason);
  return h;
}

// Retention removes whole days per cluster, keeps what holds cover, refuses late events of
// expired days, and keeps Count / Top / Histogram equal to the events that remain.
TEST_P(EventStoreConformance, RetentionAndLegalHolds) {
  // 1200 events over ten days, two clusters.
  std::vector<EnvelopedEvent> events = MakeEvents(600, 21);
  for (size_t i = 0; i < events.size(); ++i) {
    Event* ev = events[i].mutable_event();
    const int64_t t = kStartUs + static_cast<int64_t>(i) * (10 * kDayUs / 1200) +
                      static_cast<int64_t>((i * 7919) % 600'000'000);
    ev->set_request_received_timestamp_us(t);
    ev->set_stage_timestamp_us(t + 2'000);
  }
  std::vector<StoredEvent> all = WriteNew(store(), events, 0);
  const int64_t now = kStartUs + 10 * kDayUs + 3 * kHourUs;

  // A user of cluster east to hold, and a namespace of west.
  std::string held_user, held_namespace;
  for (const EnvelopedEvent& e : events) {
    if (held_user.empty() && e.envelope().cluster() == "east" &&
        !e.event().user().username().empty()) {
      held_user = e.event().user().username();
    }
    if (held_namespace.empty() && e.envelope().cluster() == "west" &&
        !e.event().object_ref().namespace_().empty()) {
      held_namespace = e.event().object_ref().namespace_();
    }
  }
  ASSERT_FALSE(held_user.empty());
  ASSERT_FALSE(held_namespace.empty());

  // Bad settings and holds.
  EXPECT_EQ(store().SetRetention("", kDayUs).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store().SetRetention("east", -1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store().PlaceHold(Hold("", 0, 1)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store().PlaceHold(Hold("*", 0, 1)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store().PlaceHold(Hold("east", 5, 5)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store().ReleaseHold("hold-99").code(), absl::StatusCode::kNotFound);

  ASSERT_TRUE(store().SetRetention("east", 4 * kDayUs).ok());
  ASSERT_TRUE(store().SetRetention("*", 7 * kDayUs).ok());
  ASSERT_TRUE(store().SetRetention("gone", kDayUs).ok());
  ASSERT_TRUE(store().SetRetention("gone", 0).ok());  // cleared
  absl::StatusOr<std::vector<RetentionSetting>> settings = store().ListRetention();
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(*settings, (std::vector<RetentionSetting>{{"*", 7 * kDayUs}, {"east", 4 * kDayUs}}));

  std::vector<LegalHold> holds = {
      Hold("east", kStartUs + kDayUs, kStartUs + 5 * kDayUs / 2, held_user, "", "case 1"),
      Hold("east", kStartUs + 3 * kDayUs + 5 * kHourUs, kStartUs + 3 * kDayUs + 9 * kHourUs, "", "",
           "case 2"),
      Hold("west", 0, now, "", held_namespace),
  };
  holds[2].created_us = now;
  for (LegalHold& h : holds) {
    absl::StatusOr<LegalHold> placed = store().PlaceHold(h);
    ASSERT_TRUE(placed.ok()) << placed.status();
    EXPECT_FALSE(placed->id.empty());
    h.id = placed->id;
    EXPECT_EQ(*placed, h);
  }
  absl::StatusOr<std::vector<LegalHold>> listed = store().ListHolds();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, holds);

  auto expected_after = [&](const std::vector<LegalHold>& active, uint64_t* expired,
                            uint64_t* held) {
    std::vector<StoredEvent> keep;
    *expired = 0;
    *held = 0;
    for (const StoredEvent& e : all) {
      const int64_t keep_us = e.event.envelope().cluster() == "east" ? 4 * kDayUs : 7 * kDayUs;
      if (BucketStart(e.time_us, kDayUs) / kDayUs >= FirstKeptDay(now, keep_us)) {
        keep.push_back(e);
        continue;
      }
      bool covered = false;
      for (const LegalHold& h : active) covered = covered || h.Covers(e.event, e.time_us);
      if (covered) {
        ++*held;
        keep.push_back(e);
      } else {
        ++*expired;
      }
    }
    return keep;
  };
  uint64_t want_expired = 0, want_held = 0;
  std::vector<StoredEvent> remaining = expected_after(holds, &want_expired, &want_held);
  ASSERT_GT(want_expired, 0u);
  ASSERT_GT(want_held, 0u);

  absl::StatusOr<RetentionReport> report = store().ApplyRetention(now);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->expired_events, want_expired);
  EXPECT_EQ(report->held_events, want_held);

  auto check_remaining = [&](const std::vector<StoredEvent>& want) {
    SearchRequest request;
    request.limit = 500;
    ExpectSameEvents(SearchAll(store(), request), BruteSearch(want, {}, Order::kAscending));
    absl::StatusOr<uint64_t> count = store().Count({});
    ASSERT_TRUE(count.ok());
    EXPECT_EQ(*count, want.size());
    Filter east;
    east.clusters = {"east"};
    absl::StatusOr<std::vector<KeyCount>> top = store().Top(east, Dimension::kUser, 1000);
    ASSERT_TRUE(top.ok());
    EXPECT_EQ(Describe(*top), Describe(BruteTop(want, east, Dimension::kUser, 1000)));
    Filter verbs;
    verbs.verbs = {"get", "list", "watch"};
    top = store().Top(verbs, Dimension::kVerb, 10);
    ASSERT_TRUE(top.ok());
    EXPECT_EQ(Describe(*top), Describe(BruteTop(want, verbs, Dimension::kVerb, 10)));
    absl::StatusOr<std::vector<HistogramBucket>> hist =
        store().Histogram({}, Granularity::kDay, Dimension::kCluster);
    ASSERT_TRUE(hist.ok());
    EXPECT_EQ(Describe(*hist),
              Describe(BruteHistogram(want, {}, Granularity::kDay, Dimension::kCluster)));
    absl::StatusOr<std::vector<StoredEvent>> since = store().ReadSince(0, {}, 5000);
    ASSERT_TRUE(since.ok());
    ExpectSameEvents(*since, BruteSince(want, 0, {}));
    absl::StatusOr<StoreStats> stats = store().Stats();
    ASSERT_TRUE(stats.ok());
    EXPECT_EQ(stats->events, want.size());
  };
  check_remaining(remaining);

  // Get: the removed stages are gone.
  for (const StoredEvent& e : all) {
    bool kept = false;
    for (const StoredEvent& r : remaining) kept = kept || r.sequence == e.sequence;
    if (kept) continue;
    absl::StatusOr<std::vector<StoredEvent>> got = store().Get(e.event.event().audit_id());
    if (got.ok()) {
      for (const StoredEvent& g : *got) EXPECT_NE(g.sequence, e.sequence);
    } else {
      EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound);
    }
    break;
  }

  // Again at the same time: nothing more to do.
  report = store().ApplyRetention(now);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->expired_events, 0u);
  EXPECT_EQ(report->held_events, want_held);

  // Late arrivals of expired days are refused unless held; re-sent expired events too.
  const StoredEvent* expired_one = nullptr;
  for (const StoredEvent& e : all) {
    bool kept = false;
    for (const StoredEvent& r : remaining) kept = kept || r.sequence == e.sequence;
    if (!kept) {
      expired_one = &e;
      break;
    }
  }
  ASSERT_NE(expired_one, nullptr);
  std::vector<EnvelopedEvent> late = {expired_one->event,
                                      MakeEvent("east", "late-held", kStartUs + kDayUs + kHourUs),
                                      MakeEvent("east", "late-new", kStartUs + 9 * kDayUs)};
  late[1].mutable_event()->mutable_user()->set_username(held_user);
  absl::StatusOr<WriteResult> w = store().Write(late, kNoSync);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->outcomes, (std::vector<WriteOutcome>{WriteOutcome::kExpired, WriteOutcome::kStored,
                                                    WriteOutcome::kStored}));
  EXPECT_EQ(w->expired, 1u);
  EXPECT_EQ(w->stored, 2u);
  const uint64_t last = all.back().sequence;
  for (size_t i = 1; i < late.size(); ++i) {
    StoredEvent s;
    s.sequence = last + i;
    s.time_us = EventTimeMicros(late[i]);
    s.event = late[i];
    all.push_back(s);
    remaining.push_back(s);
  }
  check_remaining(remaining);

  // Releasing the first hold lets its events expire at the next run.
  ASSERT_TRUE(store().ReleaseHold(holds[0].id).ok());
  EXPECT_EQ(store().ReleaseHold(holds[0].id).code(), absl::StatusCode::kNotFound);
  holds.erase(holds.begin());
  listed = store().ListHolds();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, holds);
  remaining = expected_after(holds, &want_expired, &want_held);
  report = store().ApplyRetention(now);
  ASSERT_TRUE(report.ok());
  EXPECT_GT(report->expired_events, 0u);
  EXPECT_EQ(report->held_events, want_held);
  check_remaining(remaining);
}

// A day that retention removed wholesale (no hold touched it then) stays removed: a hold
// placed afterwards does not bring it back, so a late event of that day is refused every
// time it is sent, instead of stored where the duplicate check and the index cannot keep it.
TEST_P(EventStoreConformance, ALaterHoldDoesNotReopenADayRemovedWholesale) {
  ASSERT_TRUE(store().SetRetention("east", 2 * kDayUs).ok());
  const std::vector<EnvelopedEvent> events = {MakeEvent("east", "old", kStartUs + kHourUs),
                                              MakeEvent("east", "new", kStartUs + 5 * kDayUs)};
  ASSERT_TRUE(store().Write(events, kNoSync).ok());
  absl::StatusOr<RetentionReport> report = store().ApplyRetention(kStartUs + 6 * kDayUs);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->expired_events, 1u);

  LegalHold hold;
  hold.cluster = "east";
  hold.from_us = kStartUs;
  hold.to_us = kStartUs + kDayUs;
  ASSERT_TRUE(store().PlaceHold(hold).ok());
  const std::vector<EnvelopedEvent> late = {MakeEvent("east", "late", kStartUs + 2 * kHourUs)};
  for (int attempt = 0; attempt < 2; ++attempt) {
    absl::StatusOr<WriteResult> w = store().Write(late, kNoSync);
    ASSERT_TRUE(w.ok()) << w.status();
    EXPECT_EQ(w->outcomes, std::vector<WriteOutcome>{WriteOutcome::kExpired}) << attempt;
  }
  absl::StatusOr<uint64_t> count = store().Count({});
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 1u);
  EXPECT_EQ(store().Get("late").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace kubetrail::storage
