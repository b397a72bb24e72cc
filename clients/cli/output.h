// The output formats of the `kubetrail` CLI (`-o table|wide|json|jsonl|yaml`, `--local`,
// colour), as pure functions that append to a std::string: no gRPC, no I/O. The verbs that
// talk to an aggregator (query, get, tail, top, count, histogram, status) call these with the
// responses they receive and write the text themselves.
//
//   OutputOptions options;
//   options.zone = local ? absl::LocalTimeZone() : absl::UTCTimeZone();
//   options.colour = isatty(STDOUT_FILENO);
//   EventFormat format;
//   if (absl::Status s = ParseEventFormat(flag, &format); !s.ok()) ...  // a usage error
//   EventPrinter printer(format, options);
//   for (each chunk received) {
//     for (const kubetrail::v1::StoredEvent& event : chunk.events()) printer.Add(event);
//     std::string text;
//     printer.Flush(&text);                         // a header first, then aligned rows
//     write(text);
//   }
//
// Formats (EventFormat):
//  * kTable (the default), kWide: aligned plain-text columns like kubectl. Times in
//    OutputOptions::zone; user-controlled text escaped (see "Table cells" below).
//  * kJsonLines: each audit.k8s.io/v1 Event exactly as kube-apiserver wrote it
//    (audit::AppendEventJson), one per line.
//  * kJson: one envelope object per line:
//    {"cluster":"…","source":"…","event":{…},"receive_time":"2026-11-27T10:00:00.123456Z",
//    "sequence":N} (receive_time in UTC whatever the zone; sequence may exceed 2^53).
//  * kYaml: each event as one YAML document starting with `---`, the same content as
//    kJsonLines in the same key order (see AppendJsonAsYaml for the quoting). Should the
//    conversion ever fail (it does not for the codec's output), the JSON line is written as
//    the document: JSON is YAML too.
// The reports that are not events (top, count, histogram, status, retention, holds) have a
// table form (kTable and kWide), a one-line JSON form (kJson and kJsonLines) and the YAML of
// that JSON (kYaml).
//
// Table cells: control characters, newlines, DEL, C1 controls, invalid UTF-8 and the
// invisible characters that can reorder or hide text on a terminal (bidi overrides and
// isolates, zero-width characters, U+2028/U+2029, BOM) are escaped (`\n`, `\t`, `\r`,
// `\x1b`, `\u202e`), so a value never breaks a line or a column, and never reaches the
// terminal as an escape sequence. Backslashes are not doubled: tables are for reading, the
// JSON formats give exact values. Widths count terminal columns (East Asian wide characters
// 2, combining marks 0); a value wider than its column's maximum is cut and ends in "…".
//
// Colour (OutputOptions::colour; the caller enables it only for a terminal): ANSI SGR
// sequences around the header (bold) and response codes (2xx green, 3xx cyan, 4xx yellow,
// 5xx red). Alignment counts visible characters only, so removing every `ESC [ … m` from a
// coloured output gives the plain output byte for byte.
//
// Thread safety: the functions are pure and thread-safe; an EventPrinter is not (one per
// output stream).
#ifndef KUBETRAIL_CLIENTS_CLI_OUTPUT_H_
#define KUBETRAIL_CLIENTS_CLI_OUTPUT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "kubetrail/v1/admin.pb.h"
#include "kubetrail/v1/query.pb.h"

namespace kubetrail::cli {

// The `-o` formats; see the file comment.
enum class EventFormat {
  kTable,      // aligned columns: TIME CLUSTER USER VERB RESOURCE NAMESPACE/NAME CODE
  kWide,       // kTable plus LATENCY STAGE LEVEL SOURCE IP AUDIT ID USER AGENT
  kJson,       // one envelope object per line
  kJsonLines,  // one audit.k8s.io/v1 Event per line, as kube-apiserver writes it
  kYaml,       // one YAML document per event
};

// Parses an `-o` value: "table", "wide", "json", "jsonl" or "yaml". InvalidArgument, naming
// the value and listing the formats, for anything else.
absl::Status ParseEventFormat(std::string_view name, EventFormat* format);

struct OutputOptions {
  // Where table times are shown. Default: UTC, written `2026-11-27T10:00:00Z`; any other
  // zone writes its offset (`2026-11-27T11:00:00+01:00`). JSON and YAML keep the events'
  // own (UTC) times.
  absl::TimeZone zone = absl::UTCTimeZone();
  // ANSI colours in tables. Default: off.
  bool colour = false;
  // Tables without their header line. Default: false.
  bool no_headers = false;
};

// Writes events in one format, as they arrive: for `query` (one chunk at a time, possibly
// through many pages) and `tail` (for hours). Add() buffers; Flush() appends what is buffered
// to `out` and empties the buffer.
//
// Tables: the header is written once, at the first Flush() that has rows (never, when no
// event is added or with no_headers). Column widths are the widest cell seen so far,
// computed over what is buffered at each Flush(); they never shrink afterwards, so rows of a
// long tail stay aligned with each other (a later, wider value pushes the columns after it
// to the right from then on, and the header is not rewritten). Each column has a maximum
// width, beyond which values are cut with "…":
//   TIME       event time (requestReceivedTimestamp, else stageTimestamp, else the stored
//              time), whole seconds, in the zone; not cut
//   CLUSTER    24    the envelope's cluster
//   USER       64    user.username; `alice (as bob)` with impersonation; `-` when none
//   VERB       16
//   RESOURCE   48    `pods`, `pods/log`, `deployments.apps`, `deployments.apps/scale`; `-`
//   NAMESPACE/NAME 64  `ns/name`; `name` when cluster-scoped; `ns/` for a request on the
//              namespace's collection (list, create); `-` when neither; the request URI
//              when the event has no objectRef (`/healthz`)
//   CODE       not cut; responseStatus.code, `-` when absent
// kWide adds:
//   LATENCY    stageTimestamp - requestReceivedTimestamp of a ResponseComplete or Panic
//              stage (`850µs`, `1.2ms`, `35ms`, `1.5s`, `42s`, `3m20s`, `2h5m`); `-` otherwise
//   STAGE 24, LEVEL 24, SOURCE IP 40 (every sourceIP, comma-separated), AUDIT ID 40,
//   USER AGENT 60 (last, so a long one does not push other columns)
// JSON, JSON lines and YAML are written per event by Add() (see EventFormat).
//
// Not thread-safe. Copying is not allowed (it holds buffers and a JSON parser).
class EventPrinter {
 public:
  explicit EventPrinter(EventFormat format, OutputOptions options = {});
  ~EventPrinter();
  EventPrinter(const EventPrinter&) = delete;
  EventPrinter& operator=(const EventPrinter&) = delete;

  // Buffers `event` (copied as text: `event` need not outlive the call).
  void Add(const kubetrail::v1::StoredEvent& event);

  // Appends what Add() buffered since the last Flush() to `*out` (nothing when empty).
  void Flush(std::string* out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// For `kubetrail get AUDIT_ID`: every stored stage of one request, in time order.
//  * kTable / kWide: one kubectl-describe-like block merging the stages (`Label:` and the
//    value at column 17): Audit ID; Cluster (each distinct one); User with UID and Groups,
//    Impersonated (user, UID, groups); Verb; Resource; Namespace; Name; Request URI; Source
//    IPs; User Agent; Level (of the last stage); Started (requestReceivedTimestamp); Ended
//    (the stageTimestamp of the ResponseComplete or Panic stage, else `(not finished)`);
//    Duration; Code, Status, Reason, Message (of the last stage with a responseStatus);
//    Stages (each with its stageTimestamp and code); Annotations (of every stage, a later
//    stage's value winning, sorted by key). Each field is taken from the first stage that
//    has it; absent ones are left out. Times with microseconds, in the zone; values
//    escaped as in tables but never cut. Nothing for no stages.
//  * kJson / kJsonLines / kYaml: the stages as EventPrinter writes them.
void AppendRequestSummary(
    const google::protobuf::RepeatedPtrField<kubetrail::v1::StoredEvent>& stages,
    EventFormat format, const OutputOptions& options, std::string* out);

// The table title of a Top / Histogram dimension: "USER", "VERB", "RESOURCE", "NAMESPACE",
// "CODE", "CLUSTER"; "KEY" for DIMENSION_UNSPECIFIED or an unknown value.
std::string_view DimensionTitle(kubetrail::v1::Dimension dimension);

// For `kubetrail top`: the entries as the server ordered them (most frequent first).
//  * kTable / kWide: columns `title` (e.g. "USER") and COUNT (right-aligned); an empty key
//    is shown as `(none)`. Nothing when there are no entries.
//  * kJson / kJsonLines: one line `[{"key":"alice","count":12},…]` (`[]` when empty).
//  * kYaml: that array as YAML.
void AppendTop(const google::protobuf::RepeatedPtrField<kubetrail::v1::KeyCount>& entries,
               std::string_view title, EventFormat format, const OutputOptions& options,
               std::string* out);

// For `kubetrail count`: `12` (tables), `{"count":12}` (JSON), `count: 12` (YAML); each
// followed by a newline.
void AppendCount(uint64_t count, EventFormat format, std::string* out);

// For `kubetrail histogram`: the buckets of `histogram`, whose bucket size is `granularity`
// (GRANULARITY_UNSPECIFIED means hour). `split_title` names the dimension the buckets are
// split by (DimensionTitle), empty when they are not.
//  * kTable / kWide: columns MINUTE|HOUR|DAY (the bucket's start: in UTC a day is written
//    `2026-11-27`, else like table times), the split key (`(none)` for an empty key;
//    `(other)` for what by_key leaves unaccounted), COUNT, and a bar of '#' (at most 40,
//    scaled to the largest count shown; at least one for a count above 0). Split: one row
//    per bucket and key. Nothing when there are no buckets.
//  * kJson / kJsonLines: one line
//    `[{"start":"2026-11-27T10:00:00.000000Z","count":12,"by":[{"key":"alice","count":8}]},…]`
//    (`by` only when split; times in UTC).
//  * kYaml: that array as YAML.
void AppendHistogram(const kubetrail::v1::HistogramResponse& histogram,
                     kubetrail::v1::Granularity granularity, std::string_view split_title,
                     EventFormat format, const OutputOptions& options, std::string* out);

// For `kubetrail status`: the server's address and health (e.g. "SERVING", as the caller got
// it from grpc.health.v1) with its Admin.Stats figures.
//  * kTable / kWide: a `Label:` block (Server, Health — green when SERVING, red otherwise
//    with colour —, Events, Last Sequence, Disk as `1.2 GiB (1288490188 bytes)`), then a
//    CLUSTER / EVENTS table and a PART / BYTES table (bytes human-readable), each after a
//    blank line and only when not empty.
//  * kJson / kJsonLines: one line `{"server":"…","health":"…","events":N,"last_sequence":N,
//    "disk_bytes":N,"clusters":[{"cluster":"…","events":N}],"parts":[{"part":"…","bytes":N}]}`.
//  * kYaml: that object as YAML.
void AppendStatus(const kubetrail::v1::StatsResponse& stats, std::string_view server,
                  std::string_view health, EventFormat format, const OutputOptions& options,
                  std::string* out);

// For `kubetrail retention`: the store's retention settings (Admin.ListRetention), sorted
// by cluster as the server sent them. A duration is written `400d` when it is whole days,
// else as Go writes durations (`36h`, `1h30m`).
//  * kTable / kWide: columns CLUSTER and KEEP; with no setting, the one row `*  forever`.
//  * kJson / kJsonLines: one line `[{"cluster":"*","keep":"400d","keep_us":N},…]` (`[]` when
//    there is no setting: everything is kept forever).
//  * kYaml: that array as YAML.
void AppendRetention(
    const google::protobuf::RepeatedPtrField<kubetrail::v1::RetentionSetting>& settings,
    EventFormat format, const OutputOptions& options, std::string* out);

// For `kubetrail holds` (and `kubetrail hold` in the JSON and YAML formats): legal holds in
// the server's order.
//  * kTable / kWide: columns ID, CLUSTER, FROM, TO, USER, NAMESPACE, CREATED (times like
//    table times, in the zone; `-` for no user or namespace) and REASON (last, escaped, not
//    cut). Nothing when there are no holds.
//  * kJson / kJsonLines: one line `[{"id":"hold-3","cluster":"…","from":"…Z","to":"…Z",
//    "user":"…","namespace":"…","reason":"…","created":"…Z"},…]` (times in UTC with
//    microseconds; `[]` when empty).
//  * kYaml: that array as YAML.
void AppendHolds(const google::protobuf::RepeatedPtrField<kubetrail::v1::LegalHold>& holds,
                 EventFormat format, const OutputOptions& options, std::string* out);

// Appends the JSON value `json` (one complete value, valid JSON) as a block-style YAML
// document, without a `---` line: objects keep their key order; numbers keep their text;
// true, false and null stay plain. A string is double-quoted when YAML 1.1 or 1.2 could read
// it as something else (empty; null, ~, booleans such as true/yes/on/y in any case, .inf,
// .nan, `<<`, `=`; numbers in either version's syntax, `1_000` and base-60 `1:30`
// included; anything starting like a date, `2026-11`), when it holds a C1 control or
// U+2028/U+2029, and wherever yaml-cpp's emitter needs it (special first characters, `: `,
// ` #`, control characters); other strings are plain (`10.0.0.7`, `system:masters`). A lone
// UTF-16 surrogate escape becomes U+FFFD, as Go's encoding/json reads it. `json` should be
// valid JSON (the codec's output is); what is found invalid gives InvalidArgument and
// writes nothing.
absl::Status AppendJsonAsYaml(std::string_view json, std::string* out);

}  // namespace kubetrail::cli

#endif  // KUBETRAIL_CLIENTS_CLI_OUTPUT_H_
