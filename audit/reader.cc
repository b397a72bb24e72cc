// EventReader: finds the events in an input of any supported layout and hands each to the
// EventDecoder, so that one bad event is reported alone.
//
// Layout detection: if the first non-blank line is a complete JSON object, the input is JSON
// lines (each line an Event, or an EventList such as a captured webhook body). Otherwise, if the
// whole input is one JSON document, it is a pretty-printed Event or EventList. Otherwise it is
// read as JSON lines anyway, so that every bad line is reported and every good one kept.
#include <simdjson.h>

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

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

absl::Status Prefixed(std::string_view where, const absl::Status& s) {
  return absl::Status(s.code(), Cat(where, ": ", ToStd(s.message())));
}

}  // namespace

std::string_view InputFormatName(InputFormat format) {
  switch (format) {
    case InputFormat::kEmpty: return "empty";
    case InputFormat::kJsonLines: return "jsonl";
    case InputFormat::kEventList: return "eventlist";
    case InputFormat::kEvent: return "event";
  }
  return "unknown";
}

struct EventReader::Impl {
  // The input with simdjson's padding after it, so that every line and item can be parsed in
  // place.
  std::string buffer;
  size_t size = 0;  // bytes of input in `buffer`
  od::parser parser;  // for scanning EventList items

  bool detected = false;
  bool whole_document = false;  // a single (multi-line) document rather than JSON lines
  bool whole_done = false;
  size_t pos = 0;        // JSON lines: the next unread byte
  size_t pos_line = 1;   // JSON lines: the line number at `pos`

  // Items of the EventList being read.
  struct Item {
    size_t offset = 0;
    size_t size = 0;
    size_t line = 0;
    size_t index = 0;
    std::string error;  // set when the item is not even an object
  };
  std::vector<Item> items;
  size_t next_item = 0;
  std::string list_api_version;

  std::string_view text() const { return std::string_view(buffer.data(), size); }
  size_t padding_after(size_t end) const { return buffer.size() - end; }

  // 1-based line number of byte `offset`, counting from a known (offset, line) pair.
  static size_t LineAt(std::string_view text, size_t from, size_t from_line, size_t offset) {
    size_t line = from_line;
    for (size_t i = from; i < offset && i < text.size(); ++i) line += text[i] == '\n';
    return line;
  }

  // Whether [begin, end) holds exactly one complete JSON object.
  bool IsCompleteObject(size_t begin, size_t end) {
    od::document doc;
    if (parser.iterate(simdjson::padded_string_view(buffer.data() + begin, end - begin,
                                                    buffer.size() - begin))
            .get(doc)) {
      return false;
    }
    od::object obj;
    std::string_view raw;
    if (doc.get_object().get(obj) || obj.raw_json().get(raw)) return false;
    const char* loc = nullptr;
    return doc.current_location().get(loc) != simdjson::SUCCESS;  // nothing after it
  }

  // Reads the EventList in [begin, end) (starting on line `line`) into `items`. Errors concern
  // the list as a whole.
  absl::Status ScanList(size_t begin, size_t end, size_t line, int max_depth) {
    items.clear();
    next_item = 0;
    list_api_version.clear();
    const std::string_view all = text();
    od::document doc;
    auto err = parser.iterate(simdjson::padded_string_view(buffer.data() + begin, end - begin,
                                                           buffer.size() - begin))
                   .get(doc);
    od::object obj;
    if (!err) err = doc.get_object().get(obj);
    if (err) return absl::InvalidArgumentError(DescribeSimdjsonError(err, max_depth));
    size_t cursor = begin;
    size_t cursor_line = line;
    for (auto member : obj) {
      od::field field;
      if ((err = std::move(member).get(field))) break;
      std::string_view key;
      if ((err = field.unescaped_key().get(key))) break;
      od::value v = field.value();
      if (key == "apiVersion") {
        std::string_view version;
        if (v.get_string().get(version) ||
            (version != kApiVersionV1 && version != kApiVersionV1beta1)) {
          return absl::InvalidArgumentError(
              "EventList: unsupported apiVersion (expected audit.k8s.io/v1 or "
              "audit.k8s.io/v1beta1)");
        }
        list_api_version.assign(version);
      } else if (key == "items") {
        od::array arr;
        if ((err = v.get_array().get(arr))) {
          return absl::InvalidArgumentError("EventList: \"items\": expected an array");
        }
        size_t index = 0;
        for (auto element : arr) {
          od::value item;
          if ((err = std::move(element).get(item))) break;
          Item it;
          it.index = index++;
          const size_t at = static_cast<size_t>(item.raw_json_token().data() - buffer.data());
          it.line = LineAt(all, cursor, cursor_line, at);
          cursor = at;
          cursor_line = it.line;
          od::json_type t{};
          if ((err = item.type().get(t))) break;
          if (t != od::json_type::object) {
            it.error = "expected an object (an audit Event)";
            items.push_back(std::move(it));
            continue;
          }
          od::object o;
          std::string_view raw;
          if ((err = item.get_object().get(o)) || (err = o.raw_json().get(raw))) break;
          it.offset = static_cast<size_t>(raw.data() - buffer.data());
          it.size = raw.size();
          items.push_back(std::move(it));
        }
        if (err) break;
      }
      // kind, metadata and anything else at list level carry no events.
    }
    if (err) {
      items.clear();
      return absl::InvalidArgumentError(DescribeSimdjsonError(err, max_depth));
    }
    return absl::OkStatus();
  }
};

EventReader::EventReader(std::string_view input, DecodeOptions options)
    : decoder_(options), impl_(std::make_unique<Impl>()) {
  impl_->size = input.size();
  impl_->buffer.reserve(input.size() + simdjson::SIMDJSON_PADDING);
  impl_->buffer.assign(input.data(), input.size());
  impl_->buffer.append(simdjson::SIMDJSON_PADDING, ' ');
  // A UTF-8 byte-order mark is not part of the JSON.
  if (input.substr(0, 3) == "\xEF\xBB\xBF") impl_->pos = 3;
}

EventReader::~EventReader() = default;

absl::StatusOr<bool> EventReader::Next(kubetrail::v1::Event* event) {
  Impl& m = *impl_;
  const std::string_view all = m.text();
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
    const bool line_complete = m.IsCompleteObject(first, eol);
    size_t rest = eol;
    while (rest < all.size() && IsSpace(all[rest])) ++rest;
    if (line_complete) {
      format_ = InputFormat::kJsonLines;
    } else if (m.IsCompleteObject(first, all.size())) {
      m.whole_document = true;
      format_ = InputFormat::kEvent;
    } else {
      // Broken either way. JSON lines whose first line is bad still have a complete second
      // line; a broken pretty-printed document does not, and is reported once, as a whole.
      size_t second = rest;
      size_t second_end = all.find('\n', second);
      if (second_end == std::string_view::npos) second_end = all.size();
      const bool lines = second < all.size() && m.IsCompleteObject(second, second_end);
      m.whole_document = !lines;
      format_ = lines ? InputFormat::kJsonLines : InputFormat::kEvent;
    }
    // A single line holding a list (a webhook body) is an EventList input.
    if (line_complete && rest == all.size()) m.whole_document = true;
  }

  // Items of a list that is being read.
  while (m.next_item < m.items.size()) {
    const Impl::Item& it = m.items[m.next_item++];
    line_ = it.line;
    const std::string where = Cat("items[", it.index, "] (line ", it.line, ")");
    if (!it.error.empty()) return absl::InvalidArgumentError(Cat(where, ": ", it.error));
    DecodeExtras extras;
    extras.default_api_version = m.list_api_version;
    absl::Status s = decoder_.DecodePadded(m.buffer.data() + it.offset, it.size,
                                           m.padding_after(it.offset + it.size), event, &extras);
    if (!s.ok()) return Prefixed(where, s);
    return true;
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
    DecodeExtras extras;
    extras.is_list = &is_list;
    absl::Status s = decoder_.DecodePadded(m.buffer.data() + first, end - first,
                                           m.padding_after(end), event, &extras);
    if (s.ok()) return true;
    if (!is_list) return Prefixed(Cat("line ", first_line), s);
    format_ = InputFormat::kEventList;
    if (absl::Status ls = m.ScanList(first, end, first_line, decoder_.options().max_depth);
        !ls.ok()) {
      return Prefixed(Cat("line ", first_line), ls);
    }
    return Next(event);
  }

  // JSON lines.
  while (m.pos < all.size()) {
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
    bool is_list = false;
    DecodeExtras extras;
    extras.is_list = &is_list;
    absl::Status s = decoder_.DecodePadded(m.buffer.data() + begin, end - begin,
                                           m.padding_after(end), event, &extras);
    if (s.ok()) return true;
    if (!is_list) return Prefixed(Cat("line ", line), s);
    if (absl::Status ls = m.ScanList(begin, end, line, decoder_.options().max_depth); !ls.ok()) {
      return Prefixed(Cat("line ", line), ls);
    }
    return Next(event);
  }
  return false;
}

}  // namespace kubetrail::audit
