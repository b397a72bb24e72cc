// ApplyDecision: drops an event, caps its level and strips its bodies as kube-apiserver would
// have logged it under the decision (../shared/docs/k8s-audit-semantics.md §3).
//
// managedFields removal works on the raw compact JSON (as AppendCompactGoJson writes it) with a
// small scanner: it finds the member ranges to remove and compacts the string in place, so every
// other byte stays identical. Malformed input is left unchanged (upstream logs and keeps the
// object when removal fails).
#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/policy.h"
#include "kubetrail/v1/event.pb.h"

namespace kubetrail::audit {
namespace {

constexpr size_t kBad = std::string_view::npos;

// A byte range [begin, end) of the body to remove.
struct Range {
  size_t begin;
  size_t end;
};

// The end of the string starting at s[i] == '"', or kBad.
size_t SkipString(std::string_view s, size_t i) {
  if (i >= s.size() || s[i] != '"') return kBad;
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;  // the escaped byte (for \uXXXX the hex digits are plain bytes)
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return kBad;
}

// The end of the value starting at s[i], or kBad. Compact JSON: no whitespace.
size_t SkipValue(std::string_view s, size_t i) {
  if (i >= s.size()) return kBad;
  char c = s[i];
  if (c == '"') return SkipString(s, i);
  if (c == '{' || c == '[') {
    size_t depth = 0;
    while (i < s.size()) {
      c = s[i];
      if (c == '"') {
        i = SkipString(s, i);
        if (i == kBad) return kBad;
        continue;
      }
      if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return kBad;
  }
  // A number or literal: runs to the next delimiter.
  size_t j = i;
  while (j < s.size() && s[j] != ',' && s[j] != '}' && s[j] != ']') ++j;
  return j == i ? kBad : j;
}

struct Member {
  std::string_view key;  // raw, between the quotes
  size_t begin;          // the key's opening quote
  size_t value;          // the value's first byte
  size_t end;            // just past the value
};

// Calls fn(member) for each member of the object at s[i] == '{'. False when malformed.
template <typename Fn>
bool ForEachMember(std::string_view s, size_t i, Fn&& fn) {
  if (i >= s.size() || s[i] != '{') return false;
  ++i;
  if (i < s.size() && s[i] == '}') return true;
  while (true) {
    size_t key_end = SkipString(s, i);
    if (key_end == kBad || key_end >= s.size() || s[key_end] != ':') return false;
    Member m{s.substr(i + 1, key_end - i - 2), i, key_end + 1, SkipValue(s, key_end + 1)};
    if (m.end == kBad || m.end >= s.size()) return false;
    if (!fn(m)) return false;
    if (s[m.end] == '}') return true;
    if (s[m.end] != ',') return false;
    i = m.end + 1;
  }
}

// Calls fn(begin) for the first byte of each element of the array at s[i] == '['.
template <typename Fn>
bool ForEachElement(std::string_view s, size_t i, Fn&& fn) {
  if (i >= s.size() || s[i] != '[') return false;
  ++i;
  if (i < s.size() && s[i] == ']') return true;
  while (true) {
    size_t end = SkipValue(s, i);
    if (end == kBad || end >= s.size()) return false;
    if (!fn(i)) return false;
    if (s[end] == ']') return true;
    if (s[end] != ',') return false;
    i = end + 1;
  }
}

// Appends to *out the ranges that remove every "managedFields" member of the object at s[i]
// (nothing when s[i] is not an object), with exactly the commas that keep it valid: a removed
// member takes its following comma; a trailing run of removed members takes the comma before it.
bool StripManagedFieldsOf(std::string_view s, size_t i, std::vector<Range>* out) {
  if (i >= s.size() || s[i] != '{') return true;
  // Starts of all members, and whether each is removed; metadata objects are small.
  struct Entry {
    size_t begin;
    size_t end;
    bool removed;
  };
  std::vector<Entry> members;
  bool any = false;
  bool ok = ForEachMember(s, i, [&](const Member& m) {
    bool removed = m.key == "managedFields";
    any = any || removed;
    members.push_back({m.begin, m.end, removed});
    return true;
  });
  if (!ok) return false;
  if (!any) return true;
  size_t n = members.size();
  size_t run = n;  // first index of the trailing run of removed members
  while (run > 0 && members[run - 1].removed) --run;
  for (size_t k = 0; k < run; ++k) {
    if (members[k].removed) out->push_back({members[k].begin, members[k + 1].begin});
  }
  if (run < n) {
    size_t begin = run > 0 ? members[run].begin - 1 : members[run].begin;  // with its comma
    out->push_back({begin, members[n - 1].end});
  }
  return true;
}

// The value of member `key` of the object at s[i] (the first one), or kBad.
size_t FindMember(std::string_view s, size_t i, std::string_view key) {
  size_t found = kBad;
  ForEachMember(s, i, [&](const Member& m) {
    if (m.key == key) {
      found = m.value;
      return false;  // stop
    }
    return true;
  });
  return found;
}

// Removes metadata.managedFields from the object in *body, from each items[].metadata and from
// each rows[].object.metadata. Leaves *body alone when it is not an object or is malformed.
void StripManagedFields(std::string* body) {
  std::string_view s = *body;
  if (s.empty() || s[0] != '{') return;
  std::vector<Range> ranges;
  bool ok = ForEachMember(s, 0, [&](const Member& m) {
    if (m.key == "metadata") return StripManagedFieldsOf(s, m.value, &ranges);
    if (m.key == "items" && s[m.value] == '[') {
      return ForEachElement(s, m.value, [&](size_t item) {
        if (s[item] != '{') return true;
        size_t meta = FindMember(s, item, "metadata");
        return meta == kBad || StripManagedFieldsOf(s, meta, &ranges);
      });
    }
    if (m.key == "rows" && s[m.value] == '[') {
      return ForEachElement(s, m.value, [&](size_t row) {
        if (s[row] != '{') return true;
        size_t object = FindMember(s, row, "object");
        if (object == kBad || s[object] != '{') return true;
        size_t meta = FindMember(s, object, "metadata");
        return meta == kBad || StripManagedFieldsOf(s, meta, &ranges);
      });
    }
    return true;
  });
  if (!ok || ranges.empty()) return;
  // Ranges are disjoint and in document order (members are visited in order and each metadata
  // object lies inside the member being visited). Compact in place.
  size_t write = ranges[0].begin;
  for (size_t r = 0; r < ranges.size(); ++r) {
    size_t from = ranges[r].end;
    size_t to = r + 1 < ranges.size() ? ranges[r + 1].begin : body->size();
    // Moves bytes towards the front: the destination never passes the source.
    std::copy(body->begin() + from, body->begin() + to, body->begin() + write);
    write += to - from;
  }
  body->resize(write);
}

}  // namespace

ApplyOutcome ApplyDecision(const PolicyDecision& decision, kubetrail::v1::Event* event) {
  if (decision.level == Level::kNone) return ApplyOutcome::kDroppedNone;
  std::optional<Stage> stage = ParseStage(event->stage());
  if (stage.has_value() && (decision.omit_stages & StageBit(*stage)) != 0) {
    return ApplyOutcome::kDroppedStage;
  }
  Level level = std::min(RankLevel(event->level()), decision.level);
  if (level == Level::kNone) return ApplyOutcome::kDroppedNone;
  std::string_view name = LevelName(level);
  if (event->level() != name) event->set_level(std::string(name));
  if (level < Level::kRequest) event->clear_request_object();
  if (level < Level::kRequestResponse) event->clear_response_object();
  if (decision.omit_managed_fields) {
    // Patch bodies are logged as sent and never stripped (upstream LogRequestPatch).
    if (event->has_request_object() && event->verb() != "patch") {
      StripManagedFields(event->mutable_request_object());
    }
    if (event->has_response_object()) StripManagedFields(event->mutable_response_object());
  }
  return ApplyOutcome::kKept;
}

}  // namespace kubetrail::audit
