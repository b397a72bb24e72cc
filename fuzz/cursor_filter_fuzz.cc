// Fuzz target: what a query brings from outside into the store: its paging cursor
// (storage/internal/cursor.h DecodeCursor, StartCursor, SnapshotSequence) and its filter
// strings (storage/filter.h CompileFilter, Matches).
//
// Input: the whole input is tried as a cursor; its first line is the cursor of a search whose
// filter comes from the other lines, one value each, the first byte naming the field
// (see AddValue); a line with another first byte is a resource pattern.
//
// Properties:
//  - DecodeCursor never crashes; errors are InvalidArgument; a decoded cursor encodes to text
//    that decodes to the same cursor.
//  - CompileFilter never crashes; errors are InvalidArgument; Matches never crashes.
//  - A compiled resource pattern matches the event whose objectRef has exactly its parts, and
//    so does the pattern ResourceKey names for that event (Top's keys work as filters).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "common/strings.h"
#include "fuzz/fuzz_check.h"
#include "kubetrail/v1/event.pb.h"
#include "storage/event_store.h"
#include "storage/filter.h"
#include "storage/internal/cursor.h"

namespace {

namespace storage = ::kubetrail::storage;
using ::kubetrail::Cat;
using ::kubetrail::v1::EnvelopedEvent;

void CheckCursor(std::string_view text) {
  const absl::StatusOr<storage::internal::Cursor> c = storage::internal::DecodeCursor(text);
  const absl::StatusOr<uint64_t> snapshot = storage::SnapshotSequence(text);
  KT_FUZZ_CHECK(c.ok() == snapshot.ok(), "SnapshotSequence and DecodeCursor disagree");
  if (!c.ok()) {
    KT_FUZZ_CHECK(c.status().code() == absl::StatusCode::kInvalidArgument, c.status().ToString());
    return;
  }
  KT_FUZZ_CHECK(*snapshot == c->snapshot, "SnapshotSequence");
  const std::string encoded = storage::internal::EncodeCursor(*c);
  const absl::StatusOr<storage::internal::Cursor> again = storage::internal::DecodeCursor(encoded);
  KT_FUZZ_CHECK(again.ok(), again.status().ToString());
  KT_FUZZ_CHECK(again->order == c->order && again->snapshot == c->snapshot &&
                    again->has_position == c->has_position && again->time_us == c->time_us &&
                    again->sequence == c->sequence,
                Cat("cursor changed in a round trip: ", text, " -> ", encoded));
  for (const auto& [time_us, sequence] : {std::pair<int64_t, uint64_t>{0, 0},
                                          {c->time_us, c->sequence},
                                          {INT64_MIN, UINT64_MAX},
                                          {INT64_MAX, c->snapshot}}) {
    (void)storage::internal::AfterCursor(*c, time_us, sequence);
  }
}

// Adds the value of one input line to `filter`.
void AddValue(std::string_view line, storage::Filter& filter) {
  if (line.empty()) return;
  const std::string value(line.substr(1));
  int64_t t = 0;
  switch (line[0]) {
    case 'C':
      filter.clusters.push_back(value);
      break;
    case 'u':
      filter.users.push_back(value);
      break;
    case 'i':
      filter.impersonated_users.push_back(value);
      break;
    case 'g':
      filter.groups.push_back(value);
      break;
    case 'v':
      filter.verbs.push_back(value);
      break;
    case 'n':
      filter.namespaces.push_back(value);
      break;
    case 'a':
      filter.api_groups.push_back(value);
      break;
    case 'N':
      filter.names.push_back(value);
      break;
    case 'c':
      filter.codes.push_back(value);
      break;
    case 's':
      filter.stages.push_back(value);
      break;
    case 'l':
      filter.levels.push_back(value);
      break;
    case 'A':
      filter.audit_ids.push_back(value);
      break;
    case 'p':
      filter.source_ips.push_back(value);
      break;
    case 'U':
      filter.user_agent_substring = value;
      break;
    case 'f':
      if (absl::SimpleAtoi(value, &t)) filter.from_us = t;
      break;
    case 't':
      if (absl::SimpleAtoi(value, &t)) filter.to_us = t;
      break;
    case 'r':
      filter.resources.push_back(value);
      break;
    default:
      filter.resources.push_back(std::string(line));
      break;
  }
}

EnvelopedEvent EventWithResource(std::string_view resource, std::string_view group,
                                 std::string_view subresource) {
  EnvelopedEvent e;
  e.mutable_envelope()->set_cluster("c");
  kubetrail::v1::ObjectReference* ref = e.mutable_event()->mutable_object_ref();
  if (!resource.empty()) ref->set_resource(std::string(resource));
  if (!group.empty()) ref->set_api_group(std::string(group));
  if (!subresource.empty()) ref->set_subresource(std::string(subresource));
  return e;
}

bool MatchesResource(std::string_view pattern, const EnvelopedEvent& e) {
  storage::Filter f;
  f.resources.push_back(std::string(pattern));
  const absl::StatusOr<storage::CompiledFilter> c = storage::CompileFilter(f);
  KT_FUZZ_CHECK(
      c.ok(), Cat("ResourceKey \"", pattern, "\" is not a valid pattern: ", c.status().ToString()));
  return storage::Matches(*c, e, 0);
}

void CheckFilter(const storage::Filter& filter) {
  const absl::StatusOr<storage::CompiledFilter> compiled = storage::CompileFilter(filter);
  if (!compiled.ok()) {
    KT_FUZZ_CHECK(compiled.status().code() == absl::StatusCode::kInvalidArgument,
                  compiled.status().ToString());
    return;
  }
  EnvelopedEvent e;
  e.mutable_envelope()->set_cluster("c");
  e.mutable_envelope()->set_receive_time_us(1);
  (void)storage::Matches(*compiled, e, storage::EventTimeMicros(e));
  e.mutable_event()->set_verb("get");
  e.mutable_event()->mutable_response_status()->set_code(403);
  e.mutable_event()->mutable_user()->set_username("alice");
  e.mutable_event()->mutable_user()->add_groups("dev");
  for (int64_t t : {INT64_MIN, int64_t{0}, INT64_MAX}) (void)storage::Matches(*compiled, e, t);

  for (const storage::ResourcePattern& p : compiled->resources) {
    // Real resource names hold no '.' (a ResourceKey would be ambiguous otherwise).
    const std::string resource = p.resource.value_or("pods");
    if (resource.find_first_of("./") != std::string::npos) continue;
    const std::string group = p.api_group.value_or("");
    const std::string subresource = p.subresource.value_or("status");
    const EnvelopedEvent event = EventWithResource(resource, group, subresource);
    KT_FUZZ_CHECK(p.MatchesParts(resource, group, subresource), "a pattern misses its own parts");
    const std::string key = storage::ResourceKey(resource, group, subresource);
    KT_FUZZ_CHECK(MatchesResource(key, event),
                  Cat("ResourceKey \"", key, "\" does not match its event"));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  CheckCursor(input);

  const size_t eol = input.find('\n');
  const std::string_view cursor = input.substr(0, eol);
  CheckCursor(cursor);

  storage::SearchRequest request;
  request.cursor = std::string(cursor);
  request.order = size % 2 == 0 ? storage::Order::kAscending : storage::Order::kDescending;
  const absl::StatusOr<storage::internal::Cursor> start =
      storage::internal::StartCursor(request, /*last_sequence=*/size);
  KT_FUZZ_CHECK(start.ok() || start.status().code() == absl::StatusCode::kInvalidArgument,
                start.status().ToString());
  if (start.ok()) KT_FUZZ_CHECK(start->order == request.order, "StartCursor's order");

  storage::Filter filter;
  std::string_view rest = eol == std::string_view::npos ? "" : input.substr(eol + 1);
  while (!rest.empty()) {
    const size_t end = rest.find('\n');
    AddValue(rest.substr(0, end), filter);
    rest = end == std::string_view::npos ? "" : rest.substr(end + 1);
  }
  CheckFilter(filter);
  return 0;
}
