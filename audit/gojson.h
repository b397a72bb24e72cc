// Go-compatible JSON writing: the exact bytes Go's encoding/json produces, as used by
// kube-apiserver (json.Encoder with HTML escaping on, Go >= 1.22).
//
//   std::string out;
//   AppendGoQuoted("a<b", &out);                    // "a\u003cb"
//   absl::Status s = AppendCompactGoJson(raw, 256, &out);  // a json.RawMessage as Go writes it
//
// Thread safety: all functions are pure and thread-safe.
#ifndef KUBETRAIL_AUDIT_GOJSON_H_
#define KUBETRAIL_AUDIT_GOJSON_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace kubetrail::audit {

// Appends `s` (UTF-8) as a quoted JSON string exactly as Go's encoding/json writes a string
// with HTML escaping: `"` and `\` as \" and \\; \n \r \t \b \f short forms; other bytes below
// 0x20 as \u00XX (lower-case hex); `<` `>` `&` as \u003c \u003e \u0026; U+2028 and U+2029 as
// \u2028 \u2029; every other byte, including multi-byte UTF-8, as is. The input must be valid
// UTF-8 (the decoder guarantees it); invalid bytes are copied through.
void AppendGoQuoted(std::string_view s, std::string* out);

// Appends the JSON value in `raw` exactly as Go's json.Marshal writes a json.RawMessage:
// whitespace outside strings removed; inside strings `<` `>` `&` become \u003c \u003e \u0026
// and raw U+2028/U+2029 become \u2028/\u2029; existing escapes, number text and key order are
// left untouched (`1e400` and 30-digit integers pass through). Leading/trailing whitespace
// around the value is dropped.
//
// Validates the full JSON grammar (RFC 8259) while copying. Errors (InvalidArgument) name the
// byte offset within `raw` and what was expected, e.g.
//   "byte 17: invalid literal (expected true, false or null)"
//   "byte 40: nesting deeper than 256"
// Objects and arrays count one level each; `max_depth` levels are allowed. On error `out` may
// hold a partial value: callers that care truncate it back.
absl::Status AppendCompactGoJson(std::string_view raw, int max_depth, std::string* out);

// OK when `raw` is valid UTF-8 and exactly what AppendCompactGoJson writes for it: one JSON
// value in Go's compact form, which an encoder may copy into its output as it is. Errors
// (InvalidArgument) name the byte offset, e.g. "byte 3: whitespace outside strings (not
// compact)", "byte 9: '<' in a string (Go writes \u003c)", or AppendCompactGoJson's error.
absl::Status CheckCompactGoJson(std::string_view raw, int max_depth);

// The 1-based line and column of byte `offset` in `text` (for error messages).
struct TextPosition {
  size_t line = 1;
  size_t column = 1;
};
TextPosition PositionOf(std::string_view text, size_t offset);

// Returns the offset of the first byte of `s` that is not part of valid UTF-8 (RFC 3629: no
// overlongs, no surrogates, nothing above U+10FFFF), or std::string_view::npos when valid.
size_t FindInvalidUtf8(std::string_view s);

}  // namespace kubetrail::audit

#endif  // KUBETRAIL_AUDIT_GOJSON_H_
