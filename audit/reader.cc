// EventReader: finds the events in an input of any supported layout and hands each to the
// EventDecoder, so that one bad event is reported alone.
//
// Layout detection: if the first non-blank line is a complete JSON object, the input is JSON
// lines (each line an Event, or an EventList such as a captured webhook body). Otherwise, if the
// whole input is one JSON document, it is a pretty-printed Event or EventList. Otherwise it is
// read as JSON lines anyway, so that every bad line is reported and every good one kept.
#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "audit/codec.h"
#include "audit/internal/decode_internal.h"
#include "common/strings.h"

namespace kubetrail::audit {
namespace {

namespace od = simdjson::ondemand;

static_assert(kReadPadding >= simdjson::SIMDJSON_PADDING, "kReadPadding must cover simdjson");

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

absl::Status Prefixed(std::string_view where, const absl::Status& s) {
  return absl::Status(s.code(), Cat(where, ": ", ToStd(s.message())));
}

}  // namespace

std::string_view InputFormatName(InputFormat format) {
  switch (format) {
    case InputFormat::kEmpty:
      return "empty";
    case InputFormat::kJsonLines:
      return "jsonl";
    case InputFormat::kEventList:
      return "eventlist";
    case InputFormat::kEvent:
      return "event";
  }
  return "unknown";
}

struct EventReader::Impl {
  // The caller's input; `readable` bytes from input.data() may be read (input plus the
  // caller's promised padding).
  std::string_view input;
  size_t readable = 0;
  od::parser parser;  // for detection and for scanning EventList items

  bool detected = false;
  bool whole_document = false;  // a single (multi-line) document rather than JSON lines
  bool whole_done = false;
  size_t pos = 0;       // JSON lines: the next unread byte
  size_t pos_line = 1;  // JSON lines: the line number at `pos`

  // A stretch of input that simdjson can parse: `size` bytes at `data`, `padding` more
  // readable after them.
  struct Region {
    const char* data = nullptr;
    size_t size = 0;
    size_t padding = 0;
    std::string_view text() const { return std::string_view(data, size); }
  };
  // Padded copy of a line (or the whole document) too close to the end of the input. A list
  // being read lives here too: no other line is read until the list is done.
  std::string line_copy;
  std::string probe_copy;  // the same, for format detection

  // The EventList being read: its items are decoded in place, straight from the list's
  // On-Demand iteration, so a webhook body is parsed once.
  Region list;
  od::document list_doc;
  od::array_iterator item;  // the next item
  od::array_iterator items_end;
  bool list_active = false;
  size_t item_index = 0;
  size_t cursor = 0;  // offset in `list` whose line is `cursor_line`
  size_t cursor_line = 1;
  std::string list_api_version;

  // [begin, end) of the input, in place when simdjson's padding fits before the end of what
  // may be read, else copied into *copy. Only the input's last few hundred bytes ever need
  // the copy (or none, when the caller supplies padding).
  Region Pad(size_t begin, size_t end, std::string* copy) const {
    if (end + simdjson::SIMDJSON_PADDING <= readable) {
      return Region{input.data() + begin, end - begin, readable - end};
    }
    copy->assign(input.data() + begin, end - begin);
    copy->append(simdjson::SIMDJSON_PADDING, ' ');
    return Region{copy->data(), end - begin, simdjson::SIMDJSON_PADDING};
  }

  // 1-based line number of byte `offset` of `text`, counting on from a known (offset, line).
  static size_t LineAt(std::string_view text, size_t from, size_t from_line, size_t offset) {
    offset = std::min(offset, text.size());
    if (offset <= from) return from_line;
    // memchr: most bodies are one long line, which it crosses many bytes at a time.
    size_t lines = from_line;
    const char* p = text.data() + from;
    const char* const end = text.data() + offset;
    while ((p = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)))) !=
           nullptr) {
      ++lines;
      ++p;
    }
    return lines;
  }

  // Whether `r` holds exactly one complete JSON object.
  bool IsCompleteObject(const Region& r) {
    od::document doc;
    if (parser.iterate(simdjson::padded_string_view(r.data, r.size, r.size + r.padding)).get(doc)) {
      return false;
    }
    od::object obj;
    std::string_view raw;
    if (doc.get_object().get(obj) || obj.raw_json().get(raw)) return false;
    const char* loc = nullptr;
    return doc.current_location().get(loc) != simdjson::SUCCESS;  // nothing after it
  }

  // Starts reading the EventList in `r` (which starts on line `line`). Errors concern the list
  // as a whole. Sets *is_list (when given) to whether the object is a list at all: kind
  // "EventList" or an `items` array. Leaves the list unstarted when it is not one.
  // `parsed`, when given, is `r` already parsed (by the decoder, which found it to be a list);
  // it is taken over and rewound instead of parsing `r` again.
  absl::Status StartList(const Region& r, size_t line, int max_depth, bool* is_list,
                         od::document* parsed) {
    if (is_list != nullptr) *is_list = false;
    list_active = false;
    item_index = 0;
    list_api_version.clear();
    list = r;
    cursor = 0;
    cursor_line = line;
    simdjson::error_code err = simdjson::SUCCESS;
    if (parsed != nullptr) {
      list_doc = std::move(*parsed);
      list_doc.rewind();
    } else {
      err = parser.iterate(simdjson::padded_string_view(r.data, r.size, r.size + r.padding))
                .get(list_doc);
    }
    od::object obj;
    if (!err) err = list_doc.get_object().get(obj);
    if (err) return absl::InvalidArgumentError(DescribeSimdjsonError(err, max_depth));
    // Keys may come in any order: look up kind and apiVersion first, then come back for items.
    // A lookup that fails for another reason than a missing key has met broken JSON, and
    // simdjson has abandoned the object then: it must not be looked into again.
    std::string_view kind;
    od::value kind_value;
    err = obj.find_field_unordered("kind").get(kind_value);
    if (!err) err = kind_value.get_string().get(kind);
    const bool kind_list = !err && kind == "EventList";
    if (err && err != simdjson::NO_SUCH_FIELD && err != simdjson::INCORRECT_TYPE) {
      return absl::InvalidArgumentError(DescribeSimdjsonError(err, max_depth));
    }
    od::value version_value;
    err = obj.find_field_unordered("apiVersion").get(version_value);
    if (!err) {
      std::string_view version;
      if (version_value.get_string().get(version) ||
          (version != kApiVersionV1 && version != kApiVersionV1beta1)) {
        return absl::InvalidArgumentError(
            "EventList: unsupported apiVersion (expected audit.k8s.io/v1 or "
            "audit.k8s.io/v1beta1)");
      }
      list_api_version.assign(version);
    } else if (err != simdjson::NO_SUCH_FIELD) {
      return absl::InvalidArgumentError(DescribeSimdjsonError(err, max_depth));
    }
    od::value items_value;
    err = obj.find_field_unordered("items").get(items_value);
    if (err == simdjson::NO_SUCH_FIELD) {
      if (is_list != nullptr) *is_list = kind_list;
      return kind_list ? absl::InvalidArgumentError("EventList: missing \"items\"")
                       : absl::OkStatus();
    }
    od::array arr;
    if (!err) err = items_value.get_array().get(arr);
    if (err == simdjson::INCORRECT_TYPE) {
      if (is_list != nullptr) *is_list = kind_list;
      return kind_list ? absl::InvalidArgumentError("EventList: \"items\": expected an array")
                       : absl::OkStatus();
    }
    if (!err) err = arr.begin().get(item);
    if (!err) err = arr.end().get(items_end);
    if (err) return absl::InvalidArgumentError(DescribeSimdjsonError(err, max_depth));
    if (is_list != nullptr) *is_list = true;
    list_active = true;
    return absl::OkStatus();
  }

  // The next item of the active list: true with *event filled, false at the end of the list,
  // or the item's error. A structural error ends the list.
  absl::StatusOr<bool> NextItem(const DecodeOptions& options, size_t* line,
                                kubetrail::v1::Event* event) {
    if (!list_active) return false;
    if (!(item != items_end)) {
      list_active = false;
      return false;
    }
    const size_t index = item_index++;
    od::value v;
    if (auto err = (*item).get(v)) {
      list_active = false;  // the iteration itself failed: nothing after this can be trusted
      return absl::InvalidArgumentError(
          Cat("items[", index, "]: ", DescribeSimdjsonError(err, options.max_depth)));
    }
    const char* start = v.raw_json_token().data();
    const size_t at = static_cast<size_t>(start - list.data);
    *line = LineAt(list.text(), cursor, cursor_line, at);
    cursor = at;
    cursor_line = *line;
    absl::Status s;
    od::json_type t{};
    od::object obj;
    if (auto err = v.type().get(t)) {
      s = absl::InvalidArgumentError(DescribeSimdjsonError(err, options.max_depth));
    } else if (t != od::json_type::object) {
      s = absl::InvalidArgumentError("expected an object (an audit Event)");
    } else if (auto oerr = v.get_object().get(obj)) {
      s = absl::InvalidArgumentError(DescribeSimdjsonError(oerr, options.max_depth));
    } else {
      DecodeExtras extras;
      extras.default_api_version = list_api_version;
      s = DecodeEventObject(obj, start, options, &extras, event);
    }
    ++item;  // skips whatever of this item the decoder left unread
    if (s.ok()) {
      // The item's size is known once it has been read: where the next token starts.
      const char* next = nullptr;
      const size_t size = list_doc.current_location().get(next) == simdjson::SUCCESS
                              ? static_cast<size_t>(next - start)
                              : list.size - at;
      if (size > options.max_event_bytes + 1) {
        s = absl::ResourceExhaustedError(Cat("event of about ", size,
                                             " bytes is over the limit of ",
                                             options.max_event_bytes, " bytes"));
      }
    }
    if (!s.ok()) return Prefixed(Cat("items[", index, "] (line ", *line, ")"), s);
    return true;
  }
};

EventReader::EventReader(std::string_view input, DecodeOptions options, size_t readable_after)
    : decoder_(options), impl_(std::make_unique<Impl>()) {
  Reset(input, readable_after);
}

void EventReader::Reset(std::string_view input, size_t readable_after) {
  Impl& m = *impl_;
  m.input = input;
  m.readable = input.size() + readable_after;
  m.detected = false;
  m.whole_document = false;
  m.whole_done = false;
  m.list_active = false;
  m.pos = 0;
  m.pos_line = 1;
  format_ = InputFormat::kEmpty;
  line_ = 0;
  // A UTF-8 byte-order mark is not part of the JSON.
  if (input.substr(0, 3) == "\xEF\xBB\xBF") m.pos = 3;
}

EventReader::~EventReader() = default;

absl::Status EventReader::DecodeOrScan(size_t begin, size_t end, size_t line,
                                       kubetrail::v1::Event* event, bool* is_list) {
  Impl& m = *impl_;
  const int max_depth = decoder_.options().max_depth;
  *is_list = false;
  const Impl::Region r = m.Pad(begin, end, &m.line_copy);
  // Too big to be one event, but it may be a list of many.
  if (end - begin > decoder_.options().max_event_bytes) {
    if (m.StartList(r, line, max_depth, is_list, nullptr).ok() && *is_list) {
      return absl::OkStatus();
    }
    *is_list = false;
  }
  DecodeExtras extras;
  extras.is_list = is_list;
  absl::Status s = decoder_.DecodePadded(r.data, r.size, r.padding, event, &extras);
  if (s.ok() || !*is_list) return s;
  return m.StartList(r, line, max_depth, nullptr, &decoder_.impl_->doc);
}

absl::StatusOr<bool> EventReader::Next(kubetrail::v1::Event* event) {
  Impl& m = *impl_;
  const std::string_view all = m.input;
  if (!m.detected) {
    m.detected = true;
    size_t first = m.pos;
    while (first < all.size() && IsSpace(all[first])) ++first;
    if (first == all.size()) {
      format_ = InputFormat::kEmpty;
      return false;
    }
    size_t eol = all.find('\n', first);
    if (eol == std::string_view::npos) eol = all.size();
    size_t rest = eol;
    while (rest < all.size() && IsSpace(all[rest])) ++rest;
    if (rest == all.size()) {
      // One line (a webhook body, a single event): one document, whatever it holds.
      m.whole_document = true;
      format_ = InputFormat::kJsonLines;
    } else if (m.IsCompleteObject(m.Pad(first, eol, &m.probe_copy))) {
      format_ = InputFormat::kJsonLines;
    } else if (m.IsCompleteObject(m.Pad(first, all.size(), &m.probe_copy))) {
      m.whole_document = true;
      format_ = InputFormat::kEvent;
    } else {
      // Broken either way. JSON lines whose first line is bad still have a complete second
      // line; a broken pretty-printed document does not, and is reported once, as a whole.
      size_t second_end = all.find('\n', rest);
      if (second_end == std::string_view::npos) second_end = all.size();
      const bool lines = m.IsCompleteObject(m.Pad(rest, second_end, &m.probe_copy));
      m.whole_document = !lines;
      format_ = lines ? InputFormat::kJsonLines : InputFormat::kEvent;
    }
  }

  // A list found on the way is read from the top of this loop; an empty one yields nothing, so
  // the next line or the end comes next. (A loop, not a recursive call: an input may hold
  // millions of empty lists, one per line.)
  while (true) {
    // Items of a list that is being read.
    if (m.list_active) {
      absl::StatusOr<bool> item = m.NextItem(decoder_.options(), &line_, event);
      if (!item.ok() || *item) return item;
    }

    if (m.whole_document) {
      if (m.whole_done) return false;
      m.whole_done = true;
      size_t first = m.pos;
      size_t first_line = 1;
      while (first < all.size() && IsSpace(all[first])) first_line += all[first++] == '\n';
      size_t end = all.size();
      while (end > first && IsSpace(all[end - 1])) --end;
      line_ = first_line;
      bool is_list = false;
      absl::Status s = DecodeOrScan(first, end, first_line, event, &is_list);
      if (is_list) format_ = InputFormat::kEventList;
      if (!s.ok()) return Prefixed(Cat("line ", first_line), s);
      if (!is_list) return true;
      continue;
    }

    // JSON lines.
    bool is_list = false;
    while (m.pos < all.size() && !is_list) {
      size_t eol = all.find('\n', m.pos);
      if (eol == std::string_view::npos) eol = all.size();
      size_t begin = m.pos;
      size_t end = eol;
      const size_t line = m.pos_line;
      m.pos = eol + 1;
      ++m.pos_line;
      while (begin < end && IsSpace(all[begin])) ++begin;
      while (end > begin && IsSpace(all[end - 1])) --end;
      if (begin == end) continue;  // blank line
      line_ = line;
      absl::Status s = DecodeOrScan(begin, end, line, event, &is_list);
      if (!s.ok()) return Prefixed(Cat("line ", line), s);
      if (!is_list) return true;
    }
    if (!is_list) return false;
  }
}

}  // namespace kubetrail::audit
