// The kube-JSON codec: audit.k8s.io Events <-> kubetrail.v1.Event, losslessly.
//
// Decoding accepts what apiservers and the tools around them write: an EventList body (the
// webhook backend), a single Event (compact or pretty-printed), or JSON lines (the log
// backend; each line an Event or an EventList). audit.k8s.io/v1 and v1beta1, mapped to v1: the
// output says apiVersion audit.k8s.io/v1, Event.source_api_version records the input's, the
// v1beta1-only keys (`metadata`, `timestamp`) are kept as unknown fields, and an absent
// requestReceivedTimestamp / stageTimestamp is set from `timestamp` (the one change the mapping
// makes to content: v1 consumers need those two timestamps). An event without apiVersion is read
// as v1; an EventList item without one inherits the list's. Encoding writes exactly what
// kube-apiserver writes, so decode -> encode of an apiserver line gives the same bytes.
//
//   EventReader reader(body);                    // format detected from the content
//   kubetrail::v1::Event event;
//   while (true) {
//     absl::StatusOr<bool> more = reader.Next(&event);
//     if (!more.ok()) { report(more.status()); continue; }   // one bad event; go on
//     if (!*more) break;
//     std::string line; AppendEventJson(event, &line);
//   }
//
// Thread safety: EventDecoder and EventReader are not thread-safe (they own a parser and
// scratch buffers, reused across calls); use one per thread. The encoding functions are pure.
#ifndef KUBETRAIL_AUDIT_CODEC_H_
#define KUBETRAIL_AUDIT_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kubetrail/v1/event.pb.h"

namespace kubetrail::audit {

inline constexpr std::string_view kApiVersionV1 = "audit.k8s.io/v1";
inline constexpr std::string_view kApiVersionV1beta1 = "audit.k8s.io/v1beta1";

struct DecodeExtras;  // internal

struct DecodeOptions {
  // Largest accepted event, in bytes of its JSON as received (one line, or one EventList
  // item). Larger events are rejected with ResourceExhausted. Default: 4 MiB.
  size_t max_event_bytes = size_t{4} << 20;
  // Deepest accepted JSON nesting; every object or array is one level, the event itself
  // included. Default: 256.
  int max_depth = 256;
};

// Decodes one Event object. Reuse one decoder for many events: it keeps its parser and
// buffers, so steady-state decoding allocates little.
class EventDecoder {
 public:
  explicit EventDecoder(DecodeOptions options = {});
  ~EventDecoder();
  EventDecoder(const EventDecoder&) = delete;
  EventDecoder& operator=(const EventDecoder&) = delete;

  // Decodes `json`, which must hold exactly one JSON object (surrounding whitespace allowed),
  // into `*event` (cleared first). Errors are InvalidArgument (ResourceExhausted for an event
  // over max_event_bytes) with a message naming the byte offset within `json`, the field and
  // what was expected, e.g. `byte 12: "auditID": expected a string, got number`,
  // `missing required field "stage"`, `invalid UTF-8 at byte 301`. On error `*event` holds
  // unspecified partial content.
  absl::Status Decode(std::string_view json, kubetrail::v1::Event* event);

  const DecodeOptions& options() const { return options_; }

 private:
  friend class EventReader;
  struct Impl;
  // Decode() on input that is followed by at least `padding` readable bytes
  // (simdjson::SIMDJSON_PADDING or more), so no copy is needed. `extras` (may be null)
  // carries the reader's context; see internal/decode_internal.h.
  absl::Status DecodePadded(const char* data, size_t size, size_t padding,
                            kubetrail::v1::Event* event, const DecodeExtras* extras);

  DecodeOptions options_;
  std::unique_ptr<Impl> impl_;
};

// Bytes past the end of an input that the parser may read (never write); see EventReader.
inline constexpr size_t kReadPadding = 64;

// Makes sure kReadPadding bytes after `s`'s contents may be read, without changing `s`.
// Call it after filling `s` and before handing it to an EventReader with
// readable_after = kReadPadding.
inline void ReserveReadPadding(std::string& s) { s.reserve(s.size() + kReadPadding); }

// How an input was laid out.
enum class InputFormat {
  kEmpty,      // nothing but whitespace / a byte-order mark
  kJsonLines,  // one JSON object per line (each an Event or an EventList)
  kEventList,  // one EventList document, possibly spanning lines
  kEvent,      // one Event document spanning several lines (pretty-printed)
};
std::string_view InputFormatName(InputFormat format);

// Iterates over every event of an input, auto-detecting its format. A UTF-8 byte-order mark at
// the start is skipped; lines may end in CRLF and carry trailing whitespace; blank lines are
// skipped. One bad event never hides the others: Next() reports it and the following call
// goes on with the next event. Only an input whose structure is broken as a whole (for
// example a truncated multi-line EventList) ends with a single error.
class EventReader {
 public:
  // `input` must outlive the reader. Parsing needs kReadPadding readable bytes after each
  // event; when the caller can promise `readable_after` >= kReadPadding bytes after the input
  // may be read (for example a std::string with that much spare capacity, see
  // ReserveReadPadding), the reader never copies. Otherwise it copies only what lies within
  // kReadPadding of the end (the last line, or a single-document input).
  explicit EventReader(std::string_view input, DecodeOptions options = {},
                       size_t readable_after = 0);
  ~EventReader();
  EventReader(const EventReader&) = delete;
  EventReader& operator=(const EventReader&) = delete;

  // Starts over on a new input, keeping the parsers and buffers (and so the memory they have
  // touched) of earlier inputs: a long-lived reader per thread avoids re-allocating them for
  // every webhook body.
  void Reset(std::string_view input, size_t readable_after = 0);

  // Returns true with `*event` filled, or false when the input is exhausted. A bad event
  // yields its error, whose message starts with where it is: `line 7: ...` for JSON lines,
  // `items[3] (line 12): ...` for an EventList item; then the decoder's message.
  absl::StatusOr<bool> Next(kubetrail::v1::Event* event);

  // The detected format; valid after the first call to Next().
  InputFormat format() const { return format_; }
  // 1-based line on which the event (or error) last returned by Next() starts.
  size_t line() const { return line_; }

 private:
  struct Impl;
  // Decodes the object in [begin, end) of the input (on line `line`) as one event, or, when it
  // is an EventList, queues its items and sets *is_list.
  absl::Status DecodeOrScan(size_t begin, size_t end, size_t line, kubetrail::v1::Event* event,
                            bool* is_list);

  EventDecoder decoder_;
  std::unique_ptr<Impl> impl_;
  InputFormat format_ = InputFormat::kEmpty;
  size_t line_ = 0;
};

// Appends `event` as one compact JSON object exactly as kube-apiserver writes it (Go struct
// key order, sorted map keys, MicroTime, Go escaping), without a trailing newline. Always
// writes `"kind":"Event","apiVersion":"audit.k8s.io/v1"` first; then every field that is
// present (see event.proto for presence); unknown fields last, in their stored order.
void AppendEventJson(const kubetrail::v1::Event& event, std::string* out);
std::string EncodeEventJson(const kubetrail::v1::Event& event);

// OK when every raw JSON value of `event` (requestObject, responseObject, responseStatus's
// metadata and details, unknown fields' values) is in the form the decoder stores and
// AppendEventJson copies verbatim: valid UTF-8, one JSON value at most `max_depth` deep, in
// Go's compact form (gojson.h CheckCompactGoJson). Events this codec decoded always pass;
// an event built by other code may not, and encoding it would write invalid JSON. Errors
// (InvalidArgument) name the value, e.g. "requestObject: byte 3: expected a JSON value",
// "user.x-extra: byte 0: unexpected end of input".
absl::Status CheckRawJson(const kubetrail::v1::Event& event, int max_depth = 256);

// Appends an EventList body as the webhook backend sends it:
// {"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[...]}.
void AppendEventListJson(const std::vector<const kubetrail::v1::Event*>& events, std::string* out);

}  // namespace kubetrail::audit

#endif  // KUBETRAIL_AUDIT_CODEC_H_
