#include "clients/cli/output.h"

#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "audit/codec.h"
#include "audit/gojson.h"
#include "audit/microtime.h"
#include "common/strings.h"
#include "kubetrail/v1/admin.pb.h"
#include "kubetrail/v1/event.pb.h"
#include "kubetrail/v1/query.pb.h"
#include "yaml-cpp/yaml.h"

namespace kubetrail::cli {
namespace {

namespace od = simdjson::ondemand;
using kubetrail::v1::Event;
using kubetrail::v1::KeyCount;
using kubetrail::v1::StoredEvent;

using KeyCounts = google::protobuf::RepeatedPtrField<KeyCount>;

// ---------------------------------------------------------------------------------------
// Text of table cells: escaping and terminal widths.

// Decodes the UTF-8 sequence at the start of `s` (not empty) into `*cp`. Returns its length
// in bytes, or 0 when it is not valid UTF-8 (RFC 3629: no overlongs, no surrogates, nothing
// above U+10FFFF).
size_t DecodeUtf8(std::string_view s, char32_t* cp) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  size_t len;
  char32_t c;
  char32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, c = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, c = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, c = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() < len) return 0;
  for (size_t i = 1; i < len; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0) != 0x80) return 0;
    c = (c << 6) | (b & 0x3F);
  }
  if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  *cp = c;
  return len;
}

// Characters that print nothing yet change how a terminal shows the text around them: bidi
// marks, embeddings, overrides and isolates ("Trojan Source"), zero-width characters, the
// line and paragraph separators, the BOM, interlinear annotation marks.
bool IsInvisible(char32_t c) {
  return c == 0x061C || (c >= 0x200B && c <= 0x200F) || (c >= 0x2028 && c <= 0x202E) ||
         (c >= 0x2060 && c <= 0x2069) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFB);
}

// `s` with everything that could break a table or drive the terminal escaped (see the file
// comment of output.h). The result is valid UTF-8 of printable characters only.
std::string Escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  while (!s.empty()) {
    char32_t c = 0;
    const size_t n = DecodeUtf8(s, &c);
    if (n == 0) {
      absl::StrAppend(&out, "\\x", absl::Hex(static_cast<unsigned char>(s[0]), absl::kZeroPad2));
      s.remove_prefix(1);
      continue;
    }
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      absl::StrAppend(&out, "\\x", absl::Hex(static_cast<uint32_t>(c), absl::kZeroPad2));
    } else if ((c >= 0x80 && c <= 0x9F) || IsInvisible(c)) {
      absl::StrAppend(&out, "\\u", absl::Hex(static_cast<uint32_t>(c), absl::kZeroPad4));
    } else {
      out.append(s.substr(0, n));
    }
    s.remove_prefix(n);
  }
  return out;
}

// Terminal columns of a printable code point: 0 for combining marks and variation selectors,
// 2 for East Asian wide and fullwidth characters and the common emoji blocks, else 1. An
// approximation of wcwidth() that needs no locale.
size_t CodePointWidth(char32_t c) {
  if ((c >= 0x0300 && c <= 0x036F) || (c >= 0x1AB0 && c <= 0x1AFF) ||
      (c >= 0x1DC0 && c <= 0x1DFF) || (c >= 0x20D0 && c <= 0x20FF) ||
      (c >= 0xFE00 && c <= 0xFE0F) || (c >= 0xFE20 && c <= 0xFE2F)) {
    return 0;
  }
  if ((c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0x303E) ||
      (c >= 0x3041 && c <= 0x33FF) || (c >= 0x3400 && c <= 0x4DBF) ||
      (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xA000 && c <= 0xA4CF) ||
      (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
      (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
      (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1F64F) ||
      (c >= 0x1F900 && c <= 0x1F9FF) || (c >= 0x20000 && c <= 0x3FFFD)) {
    return 2;
  }
  return 1;
}

// Terminal columns of escaped text (valid UTF-8, printable).
size_t DisplayWidth(std::string_view s) {
  size_t width = 0;
  while (!s.empty()) {
    char32_t c = 0;
    const size_t n = std::max<size_t>(DecodeUtf8(s, &c), 1);
    width += CodePointWidth(c);
    s.remove_prefix(n);
  }
  return width;
}

constexpr std::string_view kEllipsis = "…";

// ANSI SGR colours.
enum class Colour { kNone, kBold, kRed, kGreen, kYellow, kCyan };

std::string_view Sgr(Colour colour) {
  switch (colour) {
    case Colour::kNone:
      return "";
    case Colour::kBold:
      return "\x1b[1m";
    case Colour::kRed:
      return "\x1b[31m";
    case Colour::kGreen:
      return "\x1b[32m";
    case Colour::kYellow:
      return "\x1b[33m";
    case Colour::kCyan:
      return "\x1b[36m";
  }
  return "";
}
constexpr std::string_view kReset = "\x1b[0m";

Colour CodeColour(int32_t code) {
  if (code >= 200 && code < 300) return Colour::kGreen;
  if (code >= 300 && code < 400) return Colour::kCyan;
  if (code >= 400 && code < 500) return Colour::kYellow;
  if (code >= 500 && code < 600) return Colour::kRed;
  return Colour::kNone;
}

// Appends `text` in `colour` (only when `enabled`).
void AppendColoured(std::string_view text, Colour colour, bool enabled, std::string* out) {
  if (!enabled || colour == Colour::kNone) {
    out->append(text);
    return;
  }
  absl::StrAppend(out, ToAbsl(Sgr(colour)), ToAbsl(text), ToAbsl(kReset));
}

// ---------------------------------------------------------------------------------------
// Tables.

// One table cell: safe text, its width in terminal columns, its colour.
struct Cell {
  std::string text;
  size_t width = 0;
  Colour colour = Colour::kNone;
};
using Row = std::vector<Cell>;

// A cell for text we wrote ourselves (numbers, times, fixed words): not escaped, not cut.
Cell PlainCell(std::string text, Colour colour = Colour::kNone) {
  const size_t width = DisplayWidth(text);
  return Cell{std::move(text), width, colour};
}

// A cell for a value from the data: escaped, and cut to `max_width` columns with "…"
// (0: never cut).
Cell ValueCell(std::string_view value, size_t max_width, Colour colour = Colour::kNone) {
  Cell cell = PlainCell(Escape(value), colour);
  if (max_width == 0 || cell.width <= max_width) return cell;
  std::string_view rest = cell.text;
  std::string cut;
  size_t width = 0;
  while (!rest.empty()) {
    char32_t c = 0;
    const size_t n = std::max<size_t>(DecodeUtf8(rest, &c), 1);
    const size_t w = CodePointWidth(c);
    if (width + w > max_width - 1) break;
    cut.append(rest.substr(0, n));
    width += w;
    rest.remove_prefix(n);
  }
  cut.append(kEllipsis);
  return Cell{std::move(cut), width + 1, colour};
}

struct Column {
  std::string_view title;
  size_t max_width;  // values are cut beyond it; 0: never
  bool right_aligned;
};

constexpr std::string_view kGap = "   ";  // between columns, as kubectl

void GrowWidths(const Row& row, std::vector<size_t>* widths) {
  if (widths->size() < row.size()) widths->resize(row.size(), 0);
  for (size_t i = 0; i < row.size(); ++i) (*widths)[i] = std::max((*widths)[i], row[i].width);
}

Row HeaderRow(const std::vector<Column>& columns) {
  Row row;
  for (const Column& column : columns) row.push_back(PlainCell(std::string(column.title)));
  return row;
}

// Appends one line: `indent`, the cells padded to `widths` and separated by kGap. Trailing
// empty cells are left out and the last cell is not padded on the right, so no line ends in
// spaces. A header line is bold as a whole when `colour`.
void AppendRow(const Row& row, const std::vector<Column>& columns,
               const std::vector<size_t>& widths, std::string_view indent, bool header, bool colour,
               std::string* out) {
  size_t count = row.size();
  while (count > 0 && row[count - 1].width == 0) --count;
  out->append(indent);
  if (header && colour) out->append(Sgr(Colour::kBold));
  for (size_t i = 0; i < count; ++i) {
    const Cell& cell = row[i];
    const size_t pad = widths[i] - cell.width;
    const bool right = i < columns.size() && columns[i].right_aligned;
    if (i > 0) out->append(kGap);
    if (right) out->append(pad, ' ');
    AppendColoured(cell.text, cell.colour, colour && !header, out);
    if (!right && i + 1 < count) out->append(pad, ' ');
  }
  if (header && colour) out->append(kReset);
  out->push_back('\n');
}

// A whole table: the header (unless options.no_headers) and `rows`, aligned over all of
// them. Nothing when there are no rows.
void AppendTable(const std::vector<Column>& columns, const std::vector<Row>& rows,
                 const OutputOptions& options, std::string_view indent, std::string* out) {
  if (rows.empty()) return;
  std::vector<size_t> widths(columns.size(), 0);
  const Row header = HeaderRow(columns);
  if (!options.no_headers) GrowWidths(header, &widths);
  for (const Row& row : rows) GrowWidths(row, &widths);
  if (!options.no_headers) AppendRow(header, columns, widths, indent, true, options.colour, out);
  for (const Row& row : rows) AppendRow(row, columns, widths, indent, false, options.colour, out);
}

// ---------------------------------------------------------------------------------------
// Times and durations.

bool IsUtc(const absl::TimeZone& zone) { return zone == absl::UTCTimeZone(); }

// `micros` in `zone`: 2026-11-27T10:00:00Z in UTC, 2026-11-27T11:00:00+01:00 elsewhere;
// with `fraction`, six fractional digits.
std::string FormatTime(int64_t micros, const absl::TimeZone& zone, bool fraction) {
  // %E4Y: years below 1000 keep four digits (a hold from the first instant is 0001-...).
  std::string format = fraction ? "%E4Y-%m-%dT%H:%M:%E6S" : "%E4Y-%m-%dT%H:%M:%S";
  format += IsUtc(zone) ? "Z" : "%Ez";
  return absl::FormatTime(format, absl::FromUnixMicros(micros), zone);
}

// A duration for people, truncated: 850µs, 1.2ms, 35ms, 1.5s, 42s, 3m20s, 2h5m.
std::string FormatLatency(int64_t micros) {
  const bool negative = micros < 0;
  // Two's complement magnitude, so that INT64_MIN does not overflow.
  const uint64_t us = negative ? ~static_cast<uint64_t>(micros) + 1 : static_cast<uint64_t>(micros);
  const std::string_view sign = negative ? "-" : "";
  if (us < 1000) return Cat(sign, us, "µs");
  if (us < 10'000) return Cat(sign, us / 1000, ".", us / 100 % 10, "ms");
  if (us < 1'000'000) return Cat(sign, us / 1000, "ms");
  if (us < 10'000'000) return Cat(sign, us / 1'000'000, ".", us / 100'000 % 10, "s");
  const uint64_t s = us / 1'000'000;
  if (s < 60) return Cat(sign, s, "s");
  if (s < 3600) return Cat(sign, s / 60, "m", s % 60, "s");
  return Cat(sign, s / 3600, "h", s % 3600 / 60, "m");
}

// 512 B, 1.5 KiB, 1.2 GiB.
std::string HumanBytes(uint64_t bytes) {
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes) / 1024;
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  return absl::StrFormat("%.1f %s", value, kUnits[unit]);
}

// ---------------------------------------------------------------------------------------
// Events as table rows.

// The event's time: requestReceivedTimestamp, else stageTimestamp, else the stored time (the
// server's choice, possibly the receive time); nullopt when there is none.
std::optional<int64_t> EventTime(const StoredEvent& stored) {
  const Event& e = stored.event().event();
  if (e.has_request_received_timestamp_us()) return e.request_received_timestamp_us();
  if (e.has_stage_timestamp_us()) return e.stage_timestamp_us();
  if (stored.time_us() != 0) return stored.time_us();
  return std::nullopt;
}

std::string OrDash(std::string_view s) { return s.empty() ? "-" : std::string(s); }

std::string UserText(const Event& e) {
  std::string user = OrDash(e.user().username());
  if (e.has_impersonated_user()) {
    absl::StrAppend(&user, " (as ", OrDash(e.impersonated_user().username()), ")");
  }
  return user;
}

// "pods", "pods/log", "deployments.apps", "deployments.apps/scale"; "" without a resource.
std::string ResourceText(const Event& e) {
  if (!e.has_object_ref() || e.object_ref().resource().empty()) return "";
  const kubetrail::v1::ObjectReference& ref = e.object_ref();
  std::string text = ref.resource();
  if (!ref.api_group().empty()) absl::StrAppend(&text, ".", ref.api_group());
  if (!ref.subresource().empty()) absl::StrAppend(&text, "/", ref.subresource());
  return text;
}

// "ns/name", "name", "ns/", the request URI without objectRef; "" when nothing applies.
std::string ObjectText(const Event& e) {
  if (!e.has_object_ref()) return e.request_uri();
  const std::string& ns = e.object_ref().namespace_();
  const std::string& name = e.object_ref().name();
  if (ns.empty()) return name;
  return absl::StrCat(ns, "/", name);
}

bool IsFinalStage(std::string_view stage) {
  return stage == "ResponseComplete" || stage == "Panic";
}

std::string LatencyText(const Event& e) {
  if (!IsFinalStage(e.stage()) || !e.has_request_received_timestamp_us() ||
      !e.has_stage_timestamp_us()) {
    return "-";
  }
  return FormatLatency(e.stage_timestamp_us() - e.request_received_timestamp_us());
}

Cell CodeCell(const Event& e) {
  if (!e.has_response_status() || !e.response_status().has_code()) return PlainCell("-");
  const int32_t code = e.response_status().code();
  return PlainCell(absl::StrCat(code), CodeColour(code));
}

const std::vector<Column>& EventColumns(bool wide) {
  static const std::vector<Column> kTable = {
      {"TIME", 0, false},  {"CLUSTER", 24, false},  {"USER", 64, false},
      {"VERB", 16, false}, {"RESOURCE", 48, false}, {"NAMESPACE/NAME", 64, false},
      {"CODE", 0, false},
  };
  static const std::vector<Column> kWide = [] {
    std::vector<Column> columns = kTable;
    columns.insert(columns.end(), {{"LATENCY", 0, false},
                                   {"STAGE", 24, false},
                                   {"LEVEL", 24, false},
                                   {"SOURCE IP", 40, false},
                                   {"AUDIT ID", 40, false},
                                   {"USER AGENT", 60, false}});
    return columns;
  }();
  return wide ? kWide : kTable;
}

Row EventRow(const StoredEvent& stored, bool wide, const absl::TimeZone& zone) {
  const Event& e = stored.event().event();
  const std::vector<Column>& columns = EventColumns(wide);
  auto value = [&](size_t column, std::string_view text) {
    return ValueCell(text.empty() ? "-" : text, columns[column].max_width);
  };
  const std::optional<int64_t> time = EventTime(stored);
  Row row;
  row.reserve(columns.size());
  row.push_back(PlainCell(time ? FormatTime(*time, zone, false) : "-"));
  row.push_back(value(1, stored.event().envelope().cluster()));
  row.push_back(value(2, UserText(e)));
  row.push_back(value(3, e.verb()));
  row.push_back(value(4, ResourceText(e)));
  row.push_back(value(5, ObjectText(e)));
  row.push_back(CodeCell(e));
  if (wide) {
    row.push_back(PlainCell(LatencyText(e)));
    row.push_back(value(8, e.stage()));
    row.push_back(value(9, e.level()));
    std::string ips;
    for (const std::string& ip : e.source_ips()) absl::StrAppend(&ips, ips.empty() ? "" : ",", ip);
    row.push_back(value(10, ips));
    row.push_back(value(11, e.audit_id()));
    row.push_back(value(12, e.user_agent()));
  }
  return row;
}

// ---------------------------------------------------------------------------------------
// JSON -> YAML.

// YAML 1.1 and 1.2 words that are not read as strings when plain (compared lower-cased).
bool IsYamlKeyword(std::string_view s) {
  if (s.size() > 6) return false;
  const std::string lower = absl::AsciiStrToLower(ToAbsl(s));
  for (std::string_view word : {"~", "null", "true", "false", "yes", "no", "on", "off", "y", "n",
                                ".inf", "+.inf", "-.inf", ".nan", "<<", "="}) {
    if (lower == word) return true;
  }
  return false;
}

bool AllOf(std::string_view s, std::string_view alphabet) {
  return !s.empty() && s.find_first_not_of(alphabet) == std::string_view::npos;
}
constexpr std::string_view kDigits = "0123456789";

// Whether `s` reads as a number in YAML 1.2's core schema or YAML 1.1: integers (decimal,
// 0b, 0o, 0x, 1.1's leading-zero octal and base 60 `1:30`), floats (`1.`, `.5`, `1e3`,
// base 60 `1:30.5`), with a sign and, for 1.1, `_` between digits.
bool IsYamlNumber(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  std::string t;
  for (char c : s) {
    if (c != '_') t.push_back(c);
  }
  if (t.size() > 2 && t[0] == '0') {
    const std::string_view rest = std::string_view(t).substr(2);
    if (t[1] == 'b' && AllOf(rest, "01")) return true;
    if (t[1] == 'o' && AllOf(rest, "01234567")) return true;
    if (t[1] == 'x' && AllOf(rest, "0123456789abcdefABCDEF")) return true;
  }
  std::string_view v = t;
  if (v.find(':') != std::string_view::npos) {
    // Base 60: digits, then `:` and one or two digits, repeated; a fraction may end it.
    size_t colon = v.find(':');
    if (!AllOf(v.substr(0, colon), kDigits)) return false;
    v.remove_prefix(colon + 1);
    while ((colon = v.find(':')) != std::string_view::npos) {
      if (colon > 2 || !AllOf(v.substr(0, colon), kDigits)) return false;
      v.remove_prefix(colon + 1);
    }
    const size_t dot = v.find('.');
    const std::string_view last = v.substr(0, dot);
    if (last.size() > 2 || !AllOf(last, kDigits)) return false;
    return dot == std::string_view::npos || v.size() == dot + 1 ||
           AllOf(v.substr(dot + 1), kDigits);
  }
  // ( \.[0-9]+ | [0-9]+ ( \.[0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
  if (const size_t e = v.find_first_of("eE"); e != std::string_view::npos) {
    std::string_view exponent = v.substr(e + 1);
    if (!exponent.empty() && (exponent[0] == '-' || exponent[0] == '+')) {
      exponent.remove_prefix(1);
    }
    if (!AllOf(exponent, kDigits)) return false;
    v = v.substr(0, e);
  }
  const size_t dot = v.find('.');
  if (dot == std::string_view::npos) return AllOf(v, kDigits);
  const std::string_view whole = v.substr(0, dot);
  const std::string_view fraction = v.substr(dot + 1);
  if (whole.empty()) return AllOf(fraction, kDigits);
  return AllOf(whole, kDigits) && (fraction.empty() || AllOf(fraction, kDigits));
}

// Whether `s` starts like a YAML 1.1 timestamp: YYYY-M.
bool StartsWithDate(std::string_view s) {
  return s.size() >= 6 && AllOf(s.substr(0, 4), kDigits) && s[4] == '-' &&
         absl::ascii_isdigit(static_cast<unsigned char>(s[5]));
}

// Whether the string `s` must be double-quoted to read back as the same string, beyond what
// yaml-cpp's emitter quotes by itself; see AppendJsonAsYaml. C1 controls (U+0080-U+009F:
// YAML 1.1 reads NEL as a line break) and U+2028/U+2029 are quoted too: yaml-cpp leaves them
// raw in plain scalars, and escapes C1 controls only in quoted ones.
bool NeedsQuotes(std::string_view s) {
  if (s.empty() || IsYamlKeyword(s) || IsYamlNumber(s) || StartsWithDate(s)) return true;
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    const auto b1 = static_cast<unsigned char>(s[i + 1]);
    if (b0 == 0xC2 && b1 >= 0x80 && b1 <= 0x9F) return true;
    if (b0 == 0xE2 && b1 == 0x80 && i + 2 < s.size() &&
        (static_cast<unsigned char>(s[i + 2]) == 0xA8 ||
         static_cast<unsigned char>(s[i + 2]) == 0xA9)) {
      return true;
    }
  }
  return false;
}

void AppendUtf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

// Reads 4 hex digits at `text[i]`.
std::optional<char32_t> Hex4(std::string_view text, size_t i) {
  if (i + 4 > text.size()) return std::nullopt;
  char32_t value = 0;
  for (size_t k = i; k < i + 4; ++k) {
    const char c = text[k];
    value <<= 4;
    if (c >= '0' && c <= '9') {
      value |= static_cast<char32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      value |= static_cast<char32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      value |= static_cast<char32_t>(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
  }
  return value;
}

// Unescapes the JSON string whose text (after its opening quote) starts `text`, up to its
// closing quote, into `*out`. Lone UTF-16 surrogates become U+FFFD, as Go's encoding/json
// reads them (simdjson 3.0.1 refuses them). False when the string is malformed.
bool UnescapeJsonString(std::string_view text, std::string* out) {
  out->clear();
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '"') return true;
    if (c != '\\') {
      out->push_back(c);
      ++i;
      continue;
    }
    if (i + 1 >= text.size()) return false;
    const char e = text[i + 1];
    i += 2;
    switch (e) {
      case '"':
      case '\\':
      case '/':
        out->push_back(e);
        break;
      case 'b':
        out->push_back('\b');
        break;
      case 'f':
        out->push_back('\f');
        break;
      case 'n':
        out->push_back('\n');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'u': {
        std::optional<char32_t> u = Hex4(text, i);
        if (!u) return false;
        i += 4;
        char32_t cp = *u;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          std::optional<char32_t> low;
          if (i + 1 < text.size() && text[i] == '\\' && text[i + 1] == 'u') low = Hex4(text, i + 2);
          if (low && *low >= 0xDC00 && *low <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (*low - 0xDC00);
            i += 6;
          } else {
            cp = 0xFFFD;
          }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          cp = 0xFFFD;
        }
        AppendUtf8(cp, out);
        break;
      }
      default:
        return false;
    }
  }
  return false;
}

// Whether `s` is a JSON number (RFC 8259 grammar).
bool IsJsonNumber(std::string_view s) {
  size_t i = 0;
  const auto digits = [&] {
    const size_t start = i;
    while (i < s.size() && absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) ++i;
    return i - start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (digits() == 0) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (digits() == 0) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == s.size();
}

// Walks one JSON document with simdjson On-Demand and feeds it to a YAML::Emitter. Strings
// are unescaped here (UnescapeJsonString), numbers copied as their text.
class YamlWriter {
 public:
  absl::Status Append(std::string_view json, std::string* out) {
    input_.assign(json.data(), json.size());
    input_.reserve(json.size() + simdjson::SIMDJSON_PADDING);
    od::document doc;
    simdjson::error_code err =
        parser_
            .iterate(simdjson::padded_string_view(input_.data(), input_.size(), input_.capacity()))
            .get(doc);
    od::value root;
    if (!err) err = doc.get_value().get(root);
    YAML::Emitter emitter;
    emitter.SetNullFormat(YAML::LowerNull);
    emitter.SetBoolFormat(YAML::TrueFalseBool);
    if (!err) err = EmitValue(root, emitter);
    // Anything after the value: current_location() succeeds only while input remains.
    const char* rest = nullptr;
    if (!err && doc.current_location().get(rest) == simdjson::SUCCESS) {
      err = simdjson::TRAILING_CONTENT;
    }
    if (err) {
      return absl::InvalidArgumentError(Cat("not valid JSON: ", simdjson::error_message(err)));
    }
    if (!emitter.good()) {
      return absl::InternalError(Cat("YAML emitter: ", emitter.GetLastError()));
    }
    out->append(emitter.c_str(), emitter.size());
    out->push_back('\n');
    return absl::OkStatus();
  }

 private:
  void EmitString(std::string_view s, YAML::Emitter& emitter) {
    if (NeedsQuotes(s)) emitter << YAML::DoubleQuoted;
    emitter << std::string(s);
  }

  simdjson::error_code EmitValue(od::value value, YAML::Emitter& emitter) {
    od::json_type type;
    if (simdjson::error_code err = value.type().get(type)) return err;
    switch (type) {
      case od::json_type::object: {
        od::object object;
        bool empty = false;
        if (simdjson::error_code err = value.get_object().get(object)) return err;
        if (simdjson::error_code err = object.is_empty().get(empty)) return err;
        if (empty) {
          emitter << YAML::Flow << YAML::BeginMap << YAML::EndMap;
          return simdjson::SUCCESS;
        }
        emitter << YAML::BeginMap;
        for (auto field_result : object) {
          od::field field;
          if (simdjson::error_code err = std::move(field_result).get(field)) return err;
          const char* key = field.key().raw();
          const char* end = input_.data() + input_.size();
          std::string unescaped;
          if (key < input_.data() || key > end ||
              !UnescapeJsonString(std::string_view(key, static_cast<size_t>(end - key)),
                                  &unescaped)) {
            return simdjson::STRING_ERROR;
          }
          emitter << YAML::Key;
          EmitString(unescaped, emitter);
          emitter << YAML::Value;
          if (simdjson::error_code err = EmitValue(field.value(), emitter)) return err;
        }
        emitter << YAML::EndMap;
        return simdjson::SUCCESS;
      }
      case od::json_type::array: {
        od::array array;
        bool empty = false;
        if (simdjson::error_code err = value.get_array().get(array)) return err;
        if (simdjson::error_code err = array.is_empty().get(empty)) return err;
        if (empty) {
          emitter << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
          return simdjson::SUCCESS;
        }
        emitter << YAML::BeginSeq;
        for (auto element_result : array) {
          od::value element;
          if (simdjson::error_code err = std::move(element_result).get(element)) return err;
          if (simdjson::error_code err = EmitValue(element, emitter)) return err;
        }
        emitter << YAML::EndSeq;
        return simdjson::SUCCESS;
      }
      case od::json_type::string: {
        const std::string_view token = value.raw_json_token();
        std::string unescaped;
        if (token.empty() || !UnescapeJsonString(token.substr(1), &unescaped)) {
          return simdjson::STRING_ERROR;
        }
        EmitString(unescaped, emitter);
        return simdjson::SUCCESS;
      }
      case od::json_type::number: {
        std::string_view token = value.raw_json_token();
        while (!token.empty() && absl::ascii_isspace(static_cast<unsigned char>(token.back()))) {
          token.remove_suffix(1);
        }
        if (!IsJsonNumber(token)) return simdjson::NUMBER_ERROR;
        emitter << std::string(token);
        return simdjson::SUCCESS;
      }
      case od::json_type::boolean: {
        bool b = false;
        if (simdjson::error_code err = value.get_bool().get(b)) return err;
        emitter << b;
        return simdjson::SUCCESS;
      }
      case od::json_type::null: {
        bool is_null = false;
        if (simdjson::error_code err = value.is_null().get(is_null)) return err;
        if (!is_null) return simdjson::N_ATOM_ERROR;
        emitter << YAML::Null;
        return simdjson::SUCCESS;
      }
    }
    return simdjson::INCORRECT_TYPE;
  }

  simdjson::ondemand::parser parser_;
  std::string input_;  // a copy of the input with SIMDJSON_PADDING bytes of capacity after it
};

// JSON text of a report (top, count, histogram, status) in `format`: the line itself for
// JSON, its YAML otherwise.
void AppendReport(std::string json, EventFormat format, std::string* out) {
  if (format == EventFormat::kYaml) {
    YamlWriter yaml;
    if (yaml.Append(json, out).ok()) return;
  }
  // JSON formats, and (never for what this file writes) JSON that YAML conversion refused.
  out->append(json);
  out->push_back('\n');
}

bool IsTable(EventFormat format) {
  return format == EventFormat::kTable || format == EventFormat::kWide;
}

void AppendKeyCountsJson(const KeyCounts& entries, std::string* out) {
  out->push_back('[');
  for (int i = 0; i < entries.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->append("{\"key\":");
    audit::AppendGoQuoted(entries[i].key(), out);
    absl::StrAppend(out, ",\"count\":", entries[i].count(), "}");
  }
  out->push_back(']');
}

std::string KeyOrNone(std::string_view key) { return key.empty() ? "(none)" : std::string(key); }

// `Label:` padded so that values start at column 17, then the value.
constexpr size_t kLabelWidth = 16;

void AppendField(std::string_view label, std::string_view safe_value, Colour colour, bool colour_on,
                 std::string* out) {
  if (safe_value.empty()) safe_value = "-";  // never a line ending in spaces
  const size_t start = out->size();
  absl::StrAppend(out, ToAbsl(label), ":");
  const size_t used = out->size() - start;
  out->append(used < kLabelWidth ? kLabelWidth - used : 1, ' ');
  AppendColoured(safe_value, colour, colour_on, out);
  out->push_back('\n');
}

}  // namespace

absl::Status ParseEventFormat(std::string_view name, EventFormat* format) {
  static constexpr std::pair<std::string_view, EventFormat> kFormats[] = {
      {"table", EventFormat::kTable}, {"wide", EventFormat::kWide},
      {"json", EventFormat::kJson},   {"jsonl", EventFormat::kJsonLines},
      {"yaml", EventFormat::kYaml},
  };
  for (const auto& [known, value] : kFormats) {
    if (name == known) {
      *format = value;
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(
      Cat("unknown output format \"", name, "\" (want table, wide, json, jsonl or yaml)"));
}

absl::Status AppendJsonAsYaml(std::string_view json, std::string* out) {
  YamlWriter yaml;
  return yaml.Append(json, out);
}

// ---------------------------------------------------------------------------------------
// EventPrinter.

struct EventPrinter::Impl {
  Impl(EventFormat f, OutputOptions o) : format(f), options(std::move(o)) {}

  const EventFormat format;
  const OutputOptions options;
  // JSON, JSON lines, YAML: the text not yet flushed.
  std::string pending;
  // Tables: the rows not yet flushed, the column widths so far, whether the header is out.
  std::vector<Row> rows;
  std::vector<size_t> widths;
  bool header_written = false;
  // YAML: the converter (its parser is reused) and the event's JSON.
  YamlWriter yaml;
  std::string json;
};

EventPrinter::EventPrinter(EventFormat format, OutputOptions options)
    : impl_(std::make_unique<Impl>(format, std::move(options))) {}

EventPrinter::~EventPrinter() = default;

void EventPrinter::Add(const StoredEvent& stored) {
  Impl& p = *impl_;
  const kubetrail::v1::EnvelopedEvent& enveloped = stored.event();
  switch (p.format) {
    case EventFormat::kTable:
    case EventFormat::kWide:
      p.rows.push_back(EventRow(stored, p.format == EventFormat::kWide, p.options.zone));
      return;
    case EventFormat::kJsonLines:
      audit::AppendEventJson(enveloped.event(), &p.pending);
      p.pending.push_back('\n');
      return;
    case EventFormat::kJson:
      p.pending.append("{\"cluster\":");
      audit::AppendGoQuoted(enveloped.envelope().cluster(), &p.pending);
      p.pending.append(",\"source\":");
      audit::AppendGoQuoted(enveloped.envelope().source(), &p.pending);
      p.pending.append(",\"event\":");
      audit::AppendEventJson(enveloped.event(), &p.pending);
      p.pending.append(",\"receive_time\":\"");
      audit::AppendMicroTime(enveloped.envelope().receive_time_us(), &p.pending);
      absl::StrAppend(&p.pending, "\",\"sequence\":", stored.sequence(), "}\n");
      return;
    case EventFormat::kYaml: {
      p.json.clear();
      audit::AppendEventJson(enveloped.event(), &p.json);
      p.pending.append("---\n");
      if (!p.yaml.Append(p.json, &p.pending).ok()) {
        // Not expected for the codec's output; JSON is YAML too, so the document still reads.
        p.pending.append(p.json);
        p.pending.push_back('\n');
      }
      return;
    }
  }
}

void EventPrinter::Flush(std::string* out) {
  Impl& p = *impl_;
  if (!IsTable(p.format)) {
    out->append(p.pending);
    p.pending.clear();
    return;
  }
  if (p.rows.empty()) return;
  const std::vector<Column>& columns = EventColumns(p.format == EventFormat::kWide);
  const bool write_header = !p.header_written && !p.options.no_headers;
  const Row header = HeaderRow(columns);
  if (write_header) GrowWidths(header, &p.widths);
  for (const Row& row : p.rows) GrowWidths(row, &p.widths);
  if (write_header) AppendRow(header, columns, p.widths, "", true, p.options.colour, out);
  p.header_written = true;
  for (const Row& row : p.rows) AppendRow(row, columns, p.widths, "", false, p.options.colour, out);
  p.rows.clear();
}

// ---------------------------------------------------------------------------------------
// get.

void AppendRequestSummary(const google::protobuf::RepeatedPtrField<StoredEvent>& stages,
                          EventFormat format, const OutputOptions& options, std::string* out) {
  if (stages.empty()) return;
  if (!IsTable(format)) {
    EventPrinter printer(format, options);
    for (const StoredEvent& stage : stages) printer.Add(stage);
    printer.Flush(out);
    return;
  }
  const bool colour = options.colour;
  const auto field = [&](std::string_view label, std::string_view value, Colour c = Colour::kNone) {
    AppendField(label, Escape(value), c, colour, out);
  };
  // The first stage for which `has` is true, or null.
  const auto first = [&](auto has) -> const Event* {
    for (const StoredEvent& stage : stages) {
      if (has(stage.event().event())) return &stage.event().event();
    }
    return nullptr;
  };
  const auto last = [&](auto has) -> const Event* {
    for (int i = stages.size() - 1; i >= 0; --i) {
      if (has(stages[i].event().event())) return &stages[i].event().event();
    }
    return nullptr;
  };
  const auto join = [](const auto& list) {
    std::string joined;
    for (const std::string& item : list) absl::StrAppend(&joined, joined.empty() ? "" : ", ", item);
    return joined;
  };

  field("Audit ID", stages[0].event().event().audit_id());
  std::vector<std::string> clusters;
  for (const StoredEvent& stage : stages) {
    const std::string& cluster = stage.event().envelope().cluster();
    if (std::find(clusters.begin(), clusters.end(), cluster) == clusters.end()) {
      clusters.push_back(cluster);
    }
  }
  field("Cluster", join(clusters));
  for (const auto& [label, has, get] :
       {std::tuple{"User", &Event::has_user, &Event::user},
        std::tuple{"Impersonated", &Event::has_impersonated_user, &Event::impersonated_user}}) {
    const Event* e = first([has = has](const Event& ev) { return (ev.*has)(); });
    if (e == nullptr) continue;
    const kubetrail::v1::UserInfo& user = (e->*get)();
    field(label, OrDash(user.username()));
    if (user.has_uid()) field("  UID", user.uid());
    if (!user.groups().empty()) field("  Groups", join(user.groups()));
  }
  if (const Event* e = first([](const Event& ev) { return ev.has_verb(); })) {
    field("Verb", e->verb());
  }
  const Event* with_ref = first([](const Event& ev) { return ev.has_object_ref(); });
  if (with_ref != nullptr) {
    if (std::string resource = ResourceText(*with_ref); !resource.empty()) {
      field("Resource", resource);
    }
    if (!with_ref->object_ref().namespace_().empty()) {
      field("Namespace", with_ref->object_ref().namespace_());
    }
    if (!with_ref->object_ref().name().empty()) field("Name", with_ref->object_ref().name());
  }
  if (const Event* e = first([](const Event& ev) { return ev.has_request_uri(); })) {
    field("Request URI", e->request_uri());
  }
  if (const Event* e = first([](const Event& ev) { return !ev.source_ips().empty(); })) {
    field("Source IPs", join(e->source_ips()));
  }
  if (const Event* e = first([](const Event& ev) { return ev.has_user_agent(); })) {
    field("User Agent", e->user_agent());
  }
  field("Level", OrDash(stages[stages.size() - 1].event().event().level()));

  const Event* started =
      first([](const Event& ev) { return ev.has_request_received_timestamp_us(); });
  const Event* ended =
      last([](const Event& ev) { return IsFinalStage(ev.stage()) && ev.has_stage_timestamp_us(); });
  if (started != nullptr) {
    field("Started", FormatTime(started->request_received_timestamp_us(), options.zone, true));
  }
  field("Ended", ended != nullptr ? FormatTime(ended->stage_timestamp_us(), options.zone, true)
                                  : "(not finished)");
  if (started != nullptr && ended != nullptr) {
    field("Duration",
          FormatLatency(ended->stage_timestamp_us() - started->request_received_timestamp_us()));
  }
  if (const Event* e = last([](const Event& ev) { return ev.has_response_status(); })) {
    const kubetrail::v1::ResponseStatus& status = e->response_status();
    if (status.has_code()) field("Code", absl::StrCat(status.code()), CodeColour(status.code()));
    if (status.has_status()) field("Status", status.status());
    if (status.has_reason()) field("Reason", status.reason());
    if (status.has_message()) field("Message", status.message());
  }

  out->append("Stages:\n");
  static const std::vector<Column> kStageColumns = {
      {"STAGE", 0, false}, {"TIME", 0, false}, {"CODE", 0, false}};
  std::vector<Row> rows;
  for (const StoredEvent& stage : stages) {
    const Event& e = stage.event().event();
    rows.push_back({ValueCell(OrDash(e.stage()), 0),
                    PlainCell(e.has_stage_timestamp_us()
                                  ? FormatTime(e.stage_timestamp_us(), options.zone, true)
                                  : "-"),
                    CodeCell(e)});
  }
  OutputOptions stage_options = options;
  stage_options.no_headers = true;
  AppendTable(kStageColumns, rows, stage_options, "  ", out);

  std::map<std::string, std::string> annotations;
  for (const StoredEvent& stage : stages) {
    for (const auto& [key, value] : stage.event().event().annotations()) annotations[key] = value;
  }
  if (!annotations.empty()) {
    out->append("Annotations:\n");
    for (const auto& [key, value] : annotations) {
      // An empty value leaves `key:` alone, so that no line ends in a space.
      absl::StrAppend(out, "  ", Escape(key), ":", value.empty() ? "" : " ", Escape(value), "\n");
    }
  }
}

// ---------------------------------------------------------------------------------------
// top, count, histogram, status.

std::string_view DimensionTitle(kubetrail::v1::Dimension dimension) {
  switch (dimension) {
    case kubetrail::v1::DIMENSION_USER:
      return "USER";
    case kubetrail::v1::DIMENSION_VERB:
      return "VERB";
    case kubetrail::v1::DIMENSION_RESOURCE:
      return "RESOURCE";
    case kubetrail::v1::DIMENSION_NAMESPACE:
      return "NAMESPACE";
    case kubetrail::v1::DIMENSION_CODE:
      return "CODE";
    case kubetrail::v1::DIMENSION_CLUSTER:
      return "CLUSTER";
    default:
      return "KEY";
  }
}

void AppendTop(const KeyCounts& entries, std::string_view title, EventFormat format,
               const OutputOptions& options, std::string* out) {
  if (!IsTable(format)) {
    std::string json;
    AppendKeyCountsJson(entries, &json);
    AppendReport(std::move(json), format, out);
    return;
  }
  const std::vector<Column> columns = {{title, 0, false}, {"COUNT", 0, true}};
  std::vector<Row> rows;
  for (const KeyCount& entry : entries) {
    rows.push_back({ValueCell(KeyOrNone(entry.key()), 0), PlainCell(absl::StrCat(entry.count()))});
  }
  AppendTable(columns, rows, options, "", out);
}

void AppendCount(uint64_t count, EventFormat format, std::string* out) {
  if (IsTable(format)) {
    absl::StrAppend(out, count, "\n");
    return;
  }
  AppendReport(absl::StrCat("{\"count\":", count, "}"), format, out);
}

void AppendHistogram(const kubetrail::v1::HistogramResponse& histogram,
                     kubetrail::v1::Granularity granularity, std::string_view split_title,
                     EventFormat format, const OutputOptions& options, std::string* out) {
  const bool split = !split_title.empty();
  if (!IsTable(format)) {
    std::string json = "[";
    for (int i = 0; i < histogram.buckets_size(); ++i) {
      const kubetrail::v1::HistogramBucket& bucket = histogram.buckets(i);
      if (i > 0) json.push_back(',');
      json.append("{\"start\":\"");
      audit::AppendMicroTime(bucket.start_us(), &json);
      absl::StrAppend(&json, "\",\"count\":", bucket.count());
      if (split) {
        json.append(",\"by\":");
        AppendKeyCountsJson(bucket.by_key(), &json);
      }
      json.push_back('}');
    }
    json.push_back(']');
    AppendReport(std::move(json), format, out);
    return;
  }

  std::string_view title = "HOUR";
  if (granularity == kubetrail::v1::GRANULARITY_MINUTE) title = "MINUTE";
  if (granularity == kubetrail::v1::GRANULARITY_DAY) title = "DAY";
  const bool date_only = granularity == kubetrail::v1::GRANULARITY_DAY && IsUtc(options.zone);
  std::vector<Column> columns = {{title, 0, false}};
  if (split) columns.push_back({split_title, 0, false});
  columns.push_back({"COUNT", 0, true});
  columns.push_back({"", 0, false});  // the bar

  // (start, key, count) per row; the bars are scaled once the largest count is known.
  struct Line {
    int64_t start_us;
    std::string key;
    uint64_t count;
  };
  std::vector<Line> lines;
  for (const kubetrail::v1::HistogramBucket& bucket : histogram.buckets()) {
    if (!split) {
      lines.push_back({bucket.start_us(), "", bucket.count()});
      continue;
    }
    uint64_t accounted = 0;
    for (const KeyCount& entry : bucket.by_key()) {
      lines.push_back({bucket.start_us(), KeyOrNone(entry.key()), entry.count()});
      accounted += entry.count();
    }
    if (accounted < bucket.count()) {
      lines.push_back({bucket.start_us(), "(other)", bucket.count() - accounted});
    }
  }
  uint64_t largest = 0;
  for (const Line& line : lines) largest = std::max(largest, line.count);
  constexpr size_t kBarWidth = 40;
  std::vector<Row> rows;
  for (const Line& line : lines) {
    Row row;
    row.push_back(PlainCell(
        date_only ? absl::FormatTime("%E4Y-%m-%d", absl::FromUnixMicros(line.start_us), options.zone)
                  : FormatTime(line.start_us, options.zone, false)));
    if (split) row.push_back(ValueCell(line.key, 0));
    row.push_back(PlainCell(absl::StrCat(line.count)));
    size_t bar = 0;
    if (line.count > 0) {
      const long double share = static_cast<long double>(line.count) / largest;
      bar = std::clamp<size_t>(static_cast<size_t>(share * kBarWidth + 0.5L), 1, kBarWidth);
    }
    row.push_back(PlainCell(std::string(bar, '#')));
    rows.push_back(std::move(row));
  }
  AppendTable(columns, rows, options, "", out);
}

void AppendStatus(const kubetrail::v1::StatsResponse& stats, std::string_view server,
                  std::string_view health, EventFormat format, const OutputOptions& options,
                  std::string* out) {
  if (!IsTable(format)) {
    std::string json = "{\"server\":";
    audit::AppendGoQuoted(server, &json);
    json.append(",\"health\":");
    audit::AppendGoQuoted(health, &json);
    absl::StrAppend(&json, ",\"events\":", stats.events(),
                    ",\"last_sequence\":", stats.last_sequence(),
                    ",\"disk_bytes\":", stats.disk_bytes(), ",\"clusters\":[");
    for (int i = 0; i < stats.events_per_cluster_size(); ++i) {
      if (i > 0) json.push_back(',');
      json.append("{\"cluster\":");
      audit::AppendGoQuoted(stats.events_per_cluster(i).key(), &json);
      absl::StrAppend(&json, ",\"events\":", stats.events_per_cluster(i).count(), "}");
    }
    json.append("],\"parts\":[");
    for (int i = 0; i < stats.disk_bytes_by_part_size(); ++i) {
      if (i > 0) json.push_back(',');
      json.append("{\"part\":");
      audit::AppendGoQuoted(stats.disk_bytes_by_part(i).key(), &json);
      absl::StrAppend(&json, ",\"bytes\":", stats.disk_bytes_by_part(i).count(), "}");
    }
    json.append("]}");
    AppendReport(std::move(json), format, out);
    return;
  }
  const bool colour = options.colour;
  AppendField("Server", Escape(server), Colour::kNone, colour, out);
  AppendField("Health", Escape(OrDash(health)), health == "SERVING" ? Colour::kGreen : Colour::kRed,
              colour, out);
  AppendField("Events", absl::StrCat(stats.events()), Colour::kNone, colour, out);
  AppendField("Last Sequence", absl::StrCat(stats.last_sequence()), Colour::kNone, colour, out);
  AppendField("Disk",
              absl::StrCat(HumanBytes(stats.disk_bytes()), " (", stats.disk_bytes(), " bytes)"),
              Colour::kNone, colour, out);
  if (!stats.events_per_cluster().empty()) {
    std::vector<Row> rows;
    for (const KeyCount& entry : stats.events_per_cluster()) {
      rows.push_back(
          {ValueCell(KeyOrNone(entry.key()), 0), PlainCell(absl::StrCat(entry.count()))});
    }
    out->push_back('\n');
    AppendTable({{"CLUSTER", 0, false}, {"EVENTS", 0, true}}, rows, options, "", out);
  }
  if (!stats.disk_bytes_by_part().empty()) {
    std::vector<Row> rows;
    for (const KeyCount& entry : stats.disk_bytes_by_part()) {
      rows.push_back({ValueCell(KeyOrNone(entry.key()), 0), PlainCell(HumanBytes(entry.count()))});
    }
    out->push_back('\n');
    AppendTable({{"PART", 0, false}, {"BYTES", 0, true}}, rows, options, "", out);
  }
}

namespace {

// A retention duration: whole days as `400d`, anything else as Go writes it (`36h`).
std::string KeepText(int64_t keep_us) {
  constexpr int64_t kDay = 86'400'000'000;
  if (keep_us > 0 && keep_us % kDay == 0) return absl::StrCat(keep_us / kDay, "d");
  return absl::FormatDuration(absl::Microseconds(keep_us));
}

void AppendUtcJson(int64_t micros, std::string* out) {
  out->push_back('"');
  audit::AppendMicroTime(micros, out);
  out->push_back('"');
}

}  // namespace

void AppendRetention(
    const google::protobuf::RepeatedPtrField<kubetrail::v1::RetentionSetting>& settings,
    EventFormat format, const OutputOptions& options, std::string* out) {
  if (!IsTable(format)) {
    std::string json = "[";
    for (int i = 0; i < settings.size(); ++i) {
      if (i > 0) json.push_back(',');
      json.append("{\"cluster\":");
      audit::AppendGoQuoted(settings[i].cluster(), &json);
      json.append(",\"keep\":");
      audit::AppendGoQuoted(KeepText(settings[i].keep_us()), &json);
      absl::StrAppend(&json, ",\"keep_us\":", settings[i].keep_us(), "}");
    }
    json.push_back(']');
    AppendReport(std::move(json), format, out);
    return;
  }
  std::vector<Row> rows;
  for (const kubetrail::v1::RetentionSetting& setting : settings) {
    rows.push_back({ValueCell(setting.cluster(), 0), PlainCell(KeepText(setting.keep_us()))});
  }
  if (rows.empty()) rows.push_back({PlainCell("*"), PlainCell("forever")});
  AppendTable({{"CLUSTER", 0, false}, {"KEEP", 0, false}}, rows, options, "", out);
}

void AppendHolds(const google::protobuf::RepeatedPtrField<kubetrail::v1::LegalHold>& holds,
                 EventFormat format, const OutputOptions& options, std::string* out) {
  if (!IsTable(format)) {
    std::string json = "[";
    for (int i = 0; i < holds.size(); ++i) {
      const kubetrail::v1::LegalHold& hold = holds[i];
      if (i > 0) json.push_back(',');
      json.append("{\"id\":");
      audit::AppendGoQuoted(hold.id(), &json);
      json.append(",\"cluster\":");
      audit::AppendGoQuoted(hold.cluster(), &json);
      json.append(",\"from\":");
      AppendUtcJson(hold.from_us(), &json);
      json.append(",\"to\":");
      AppendUtcJson(hold.to_us(), &json);
      json.append(",\"user\":");
      audit::AppendGoQuoted(hold.user(), &json);
      json.append(",\"namespace\":");
      audit::AppendGoQuoted(hold.namespace_name(), &json);
      json.append(",\"reason\":");
      audit::AppendGoQuoted(hold.reason(), &json);
      json.append(",\"created\":");
      AppendUtcJson(hold.created_us(), &json);
      json.push_back('}');
    }
    json.push_back(']');
    AppendReport(std::move(json), format, out);
    return;
  }
  std::vector<Row> rows;
  for (const kubetrail::v1::LegalHold& hold : holds) {
    rows.push_back({ValueCell(hold.id(), 0), ValueCell(hold.cluster(), 0),
                    PlainCell(FormatTime(hold.from_us(), options.zone, false)),
                    PlainCell(FormatTime(hold.to_us(), options.zone, false)),
                    ValueCell(OrDash(hold.user()), 0), ValueCell(OrDash(hold.namespace_name()), 0),
                    PlainCell(FormatTime(hold.created_us(), options.zone, false)),
                    ValueCell(hold.reason(), 0)});
  }
  AppendTable({{"ID", 0, false},
               {"CLUSTER", 0, false},
               {"FROM", 0, false},
               {"TO", 0, false},
               {"USER", 0, false},
               {"NAMESPACE", 0, false},
               {"CREATED", 0, false},
               {"REASON", 0, false}},
              rows, options, "", out);
}

}  // namespace kubetrail::cli
