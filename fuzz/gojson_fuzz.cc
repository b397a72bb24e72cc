// Fuzz target: Go-compatible JSON (audit/gojson.h) on arbitrary bytes.
//
// Properties:
//  - AppendCompactGoJson never crashes, only appends to its output, and fails only with
//    InvalidArgument. On success its output compacts to itself (it is valid, compact, and
//    already escaped: no raw < > & U+2028 U+2029), and a lower depth limit either fails or
//    gives the same output.
//  - It agrees with simdjson: JSON that simdjson accepts is accepted; when the input is valid
//    UTF-8, the output is JSON that simdjson accepts (but for numbers beyond its range and
//    escaped lone surrogates, which JSON's grammar and Go allow and simdjson does not).
//  - AppendGoQuoted of any bytes is a compact JSON string; of valid UTF-8, one that simdjson
//    reads back as the same bytes.
//  - FindInvalidUtf8 agrees with simdjson's UTF-8 validation; PositionOf stays in range.
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "audit/gojson.h"
#include "common/strings.h"
#include "fuzz/fuzz_check.h"

namespace {

using ::kubetrail::Cat;
using ::kubetrail::audit::AppendCompactGoJson;
using ::kubetrail::audit::AppendGoQuoted;
using ::kubetrail::audit::FindInvalidUtf8;
using ::kubetrail::audit::PositionOf;
using ::kubetrail::audit::TextPosition;

constexpr int kMaxDepth = 256;
constexpr std::string_view kPrefix = "prefix:";

// simdjson's DOM verdict on `text`.
simdjson::error_code SimdjsonParse(std::string_view text) {
  static simdjson::dom::parser* parser = new simdjson::dom::parser(/*max_capacity=*/1 << 24);
  simdjson::padded_string padded(text);
  simdjson::dom::element root;
  return parser->parse(padded).get(root);
}

// Whether `text` holds a \u escape of a UTF-16 surrogate (\ud800-\udfff). JSON's grammar and
// Go accept a lone one; simdjson rejects it when it unescapes the string.
bool HasSurrogateEscape(std::string_view text) {
  for (size_t i = 0; i + 3 < text.size(); ++i) {
    if (text[i] == '\\' && text[i + 1] == 'u' && (text[i + 2] | 0x20) == 'd' &&
        std::string_view("89abcdefABCDEF").find(text[i + 3]) != std::string_view::npos) {
      return true;
    }
    if (text[i] == '\\') ++i;  // an escaped backslash escapes nothing after it
  }
  return false;
}

bool IsNumberRangeError(simdjson::error_code err) {
  return err == simdjson::NUMBER_ERROR || err == simdjson::NUMBER_OUT_OF_RANGE;
}

void CheckCompact(std::string_view raw) {
  std::string out(kPrefix);
  const absl::Status s = AppendCompactGoJson(raw, kMaxDepth, &out);
  KT_FUZZ_CHECK(std::string_view(out).substr(0, kPrefix.size()) == kPrefix,
                "AppendCompactGoJson changed what was in its output");
  const simdjson::error_code simd = SimdjsonParse(raw);
  if (!s.ok()) {
    KT_FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument, s.ToString());
    KT_FUZZ_CHECK(absl::StrContains(s.message(), "byte "), s.ToString());
    // simdjson allows 1024 levels.
    KT_FUZZ_CHECK(simd != simdjson::SUCCESS || absl::StrContains(s.message(), "nesting deeper"),
                  Cat("simdjson accepts what AppendCompactGoJson rejects: ", s.ToString()));
    return;
  }
  const std::string compact = out.substr(kPrefix.size());

  std::string again;
  const absl::Status s2 = AppendCompactGoJson(compact, kMaxDepth, &again);
  KT_FUZZ_CHECK(s2.ok(), Cat("output does not compact: ", s2.ToString(), "\n", compact));
  KT_FUZZ_CHECK(again == compact,
                Cat("output compacts to something else:\n", compact, "\n", again));
  KT_FUZZ_CHECK(compact.find_first_of("<>&") == std::string::npos,
                Cat("output holds a raw < > or &:\n", compact));
  KT_FUZZ_CHECK(compact.find("\xE2\x80\xA8") == std::string::npos &&
                    compact.find("\xE2\x80\xA9") == std::string::npos,
                Cat("output holds a raw U+2028 or U+2029:\n", compact));

  std::string shallow;
  if (AppendCompactGoJson(raw, 2, &shallow).ok()) {
    KT_FUZZ_CHECK(shallow == compact, "a lower depth limit gives another output");
  }

  if (FindInvalidUtf8(raw) == std::string_view::npos) {
    const simdjson::error_code out_simd = SimdjsonParse(compact);
    KT_FUZZ_CHECK(
        out_simd == simdjson::SUCCESS || IsNumberRangeError(out_simd) ||
            out_simd == simdjson::DEPTH_ERROR ||
            (out_simd == simdjson::STRING_ERROR && HasSurrogateEscape(compact)),
        Cat("simdjson rejects the output (", simdjson::error_message(out_simd), "):\n", compact));
  }
}

void CheckQuoted(std::string_view s) {
  std::string quoted;
  AppendGoQuoted(s, &quoted);
  std::string compact;
  const absl::Status st = AppendCompactGoJson(quoted, 1, &compact);
  KT_FUZZ_CHECK(st.ok(), Cat("AppendGoQuoted wrote invalid JSON: ", st.ToString(), "\n", quoted));
  KT_FUZZ_CHECK(compact == quoted,
                Cat("AppendGoQuoted's output is not compact:\n", quoted, "\n", compact));
  if (FindInvalidUtf8(s) != std::string_view::npos) return;
  simdjson::dom::parser parser;
  simdjson::padded_string padded(quoted);
  std::string_view back;
  const simdjson::error_code err = parser.parse(padded).get_string().get(back);
  KT_FUZZ_CHECK(err == simdjson::SUCCESS, Cat("simdjson rejects AppendGoQuoted's output (",
                                              simdjson::error_message(err), "):\n", quoted));
  KT_FUZZ_CHECK(back == s, Cat("AppendGoQuoted's output reads back differently:\n", quoted));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  const size_t invalid = FindInvalidUtf8(input);
  const bool simd_valid = simdjson::validate_utf8(input.data(), input.size());
  KT_FUZZ_CHECK((invalid == std::string_view::npos) == simd_valid,
                Cat("FindInvalidUtf8 says ", invalid, ", simdjson says ", simd_valid));
  if (invalid != std::string_view::npos) {
    KT_FUZZ_CHECK(invalid < size, "FindInvalidUtf8 past the end");
    KT_FUZZ_CHECK(FindInvalidUtf8(input.substr(0, invalid)) == std::string_view::npos,
                  "FindInvalidUtf8 is not the first invalid byte");
  }

  for (size_t offset : {size_t{0}, size / 2, size, size + 10}) {
    const TextPosition pos = PositionOf(input, offset);
    KT_FUZZ_CHECK(
        pos.line >= 1 && pos.column >= 1 && pos.line <= size + 1 && pos.column <= size + 1,
        Cat("PositionOf(", offset, ") = ", pos.line, ":", pos.column));
  }

  CheckCompact(input);
  CheckQuoted(input);
  return 0;
}
