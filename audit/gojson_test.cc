#include "audit/gojson.h"

#include <cstdint>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kubetrail::audit {
namespace {

using ::testing::StartsWith;

// C-escaped copy of `s` for failure messages. (Debian's Abseil has its own string_view, so
// std::string_view does not convert to absl::string_view implicitly.)
std::string Hex(std::string_view s) { return absl::CHexEscape(std::string(s)); }

std::string Quote(std::string_view s) {
  std::string out;
  AppendGoQuoted(s, &out);
  return out;
}

absl::StatusOr<std::string> Compact(std::string_view raw, int max_depth = 256) {
  std::string out;
  absl::Status status = AppendCompactGoJson(raw, max_depth, &out);
  if (!status.ok()) return status;
  return out;
}

// The error message of compacting `raw`, or "OK: <output>" when it unexpectedly succeeds.
std::string CompactError(std::string_view raw, int max_depth = 256) {
  absl::StatusOr<std::string> out = Compact(raw, max_depth);
  if (out.ok()) return "OK: " + *out;
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument) << out.status();
  return std::string(out.status().message());
}

// The N of an error message "byte N: ...", or -1 when the message does not have that form.
int64_t ErrorOffset(const absl::Status& status) {
  const std::string message(status.message());
  if (message.rfind("byte ", 0) != 0) return -1;
  const size_t colon = message.find(": ");
  int64_t n;
  if (colon == std::string::npos || !absl::SimpleAtoi(message.substr(5, colon - 5), &n)) return -1;
  return n;
}

// A deliberately naive byte-at-a-time model of Go's string encoding, to cross-check the table.
std::string ReferenceQuote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = s[i];
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\b') {
      out += "\\b";
    } else if (c == '\f') {
      out += "\\f";
    } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
      out += absl::StrFormat("\\u%04x", c);
    } else if (c == 0xE2 && i + 2 < s.size() && s[i + 1] == '\x80' &&
               (s[i + 2] == '\xA8' || s[i + 2] == '\xA9')) {
      out += s[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// ------------------------------------------------------------------------------------------
// AppendGoQuoted
// ------------------------------------------------------------------------------------------

TEST(AppendGoQuotedTest, PlainText) {
  EXPECT_EQ(Quote(""), R"("")");
  EXPECT_EQ(Quote("hello world"), R"("hello world")");
  EXPECT_EQ(Quote("/api/v1/namespaces/default/pods?watch=true"),
            R"("/api/v1/namespaces/default/pods?watch=true")");
  // '/' and DEL are not escaped by Go.
  EXPECT_EQ(Quote("a/b\x7f"), "\"a/b\x7f\"");
}

TEST(AppendGoQuotedTest, ShortEscapes) {
  EXPECT_EQ(Quote("\""), R"("\"")");
  EXPECT_EQ(Quote("\\"), R"("\\")");
  EXPECT_EQ(Quote("\n"), R"("\n")");
  EXPECT_EQ(Quote("\r"), R"("\r")");
  EXPECT_EQ(Quote("\t"), R"("\t")");
  EXPECT_EQ(Quote("\b"), R"("\b")");  // Go >= 1.22
  EXPECT_EQ(Quote("\f"), R"("\f")");  // Go >= 1.22
  EXPECT_EQ(Quote("say \"hi\"\\\r\n"), R"("say \"hi\"\\\r\n")");
}

TEST(AppendGoQuotedTest, EveryControlByte) {
  const char* const kExpected[0x20] = {
      R"("\u0000")", R"("\u0001")", R"("\u0002")", R"("\u0003")", R"("\u0004")", R"("\u0005")",
      R"("\u0006")", R"("\u0007")", R"("\b")",     R"("\t")",     R"("\n")",     R"("\u000b")",
      R"("\f")",     R"("\r")",     R"("\u000e")", R"("\u000f")", R"("\u0010")", R"("\u0011")",
      R"("\u0012")", R"("\u0013")", R"("\u0014")", R"("\u0015")", R"("\u0016")", R"("\u0017")",
      R"("\u0018")", R"("\u0019")", R"("\u001a")", R"("\u001b")", R"("\u001c")", R"("\u001d")",
      R"("\u001e")", R"("\u001f")",
  };
  for (int c = 0; c < 0x20; ++c) {
    EXPECT_EQ(Quote(std::string(1, static_cast<char>(c))), kExpected[c]) << "byte " << c;
  }
}

TEST(AppendGoQuotedTest, HtmlCharacters) {
  EXPECT_EQ(Quote("<a href=\"x\">&amp;</a>"),
            R"("\u003ca href=\"x\"\u003e\u0026amp;\u003c/a\u003e")");
}

TEST(AppendGoQuotedTest, MultiByteUtf8PassesThrough) {
  EXPECT_EQ(Quote("caf\xC3\xA9"), "\"caf\xC3\xA9\"");                    // é
  EXPECT_EQ(Quote("5 \xC2\xB5s"), "\"5 \xC2\xB5s\"");                    // µ
  EXPECT_EQ(Quote("ok \xF0\x9F\x98\x80!"), "\"ok \xF0\x9F\x98\x80!\"");  // 😀
  EXPECT_EQ(Quote("\xE2\x82\xAC!"), "\"\xE2\x82\xAC!\"");                // € starts with E2 too
  EXPECT_EQ(Quote("\xE2\x80\xAA"), "\"\xE2\x80\xAA\"");                  // U+202A: not escaped
}

TEST(AppendGoQuotedTest, LineAndParagraphSeparators) {
  EXPECT_EQ(Quote("a\xE2\x80\xA8z"), R"("a\u2028z")");
  EXPECT_EQ(Quote("\xE2\x80\xA9"), R"("\u2029")");
  EXPECT_EQ(Quote("\xE2\x80\xA8\xE2\x80\xA9<"), R"("\u2028\u2029\u003c")");
}

TEST(AppendGoQuotedTest, InvalidUtf8IsCopiedThrough) {
  EXPECT_EQ(Quote("\xFF\xFE"), "\"\xFF\xFE\"");
  EXPECT_EQ(Quote("x\xE2\x80"), "\"x\xE2\x80\"");  // truncated separator at the end
  EXPECT_EQ(Quote("\xE2"), "\"\xE2\"");
}

TEST(AppendGoQuotedTest, AppendsToExistingContent) {
  std::string out = "{\"k\":";
  AppendGoQuoted("v<", &out);
  out += "}";
  EXPECT_EQ(out, R"({"k":"v\u003c"})");
}

TEST(AppendGoQuotedTest, EverySingleByteMatchesReference) {
  for (int c = 0; c < 256; ++c) {
    const std::string s(1, static_cast<char>(c));
    EXPECT_EQ(Quote(s), ReferenceQuote(s)) << "byte " << c;
  }
}

TEST(AppendGoQuotedTest, EveryByteInEveryLaneOfTheWordScan) {
  // Long strings go through the eight-bytes-at-a-time scan: put every byte value at every
  // position of two words (and the tail after them).
  for (size_t pos = 0; pos < 19; ++pos) {
    for (int c = 0; c < 256; ++c) {
      std::string s(19, 'a');
      s[pos] = static_cast<char>(c);
      ASSERT_EQ(Quote(s), ReferenceQuote(s)) << "byte " << c << " at " << pos;
    }
  }
}

TEST(AppendGoQuotedTest, RandomStringsMatchReference) {
  std::mt19937_64 rng(20260723);
  // Biased toward the interesting bytes so separators and escapes appear often.
  const std::string kPool = "\"\\<>&\n\t\x01\x1f\xE2\x80\xA8\xA9\xC3\xA9 aZ/";
  for (int iter = 0; iter < 20000; ++iter) {
    std::string s(rng() % 40, '\0');
    for (char& c : s) {
      c = rng() % 4 == 0 ? static_cast<char>(rng() % 256) : kPool[rng() % kPool.size()];
    }
    ASSERT_EQ(Quote(s), ReferenceQuote(s)) << Hex(s);
  }
}

// ------------------------------------------------------------------------------------------
// AppendCompactGoJson: valid input
// ------------------------------------------------------------------------------------------

TEST(AppendCompactGoJsonTest, CompactsPrettyPrintedObject) {
  constexpr std::string_view kPretty = R"(
{
  "kind": "Pod",
  "metadata": {
    "name": "web-0",
    "labels": { "app": "web" },
    "finalizers": [ ]
  },
  "spec": {
    "containers": [
      {
        "name": "nginx",
        "ports": [ { "containerPort": 80 }, { "containerPort": 443 } ],
        "args": [ "a b", "c\td" ]
      }
    ],
    "matrix": [ [ 1, 2 ], [ ], [ [ true, false, null ] ] ]
  }
}
)";
  EXPECT_EQ(*Compact(kPretty),
            R"({"kind":"Pod","metadata":{"name":"web-0","labels":{"app":"web"},"finalizers":[]},)"
            R"("spec":{"containers":[{"name":"nginx","ports":[{"containerPort":80},)"
            R"({"containerPort":443}],"args":["a b","c\td"]}],"matrix":[[1,2],[],[[true,false,)"
            R"(null]]]}})");
}

TEST(AppendCompactGoJsonTest, AllFourWhitespaceBytesAreDropped) {
  EXPECT_EQ(*Compact(" \t\r\n[ \t\r\n1 \t\r\n, \t\r\n{ \"a\" \n:\r\t2 } \t\r\n] \t\r\n"),
            R"([1,{"a":2}])");
}

TEST(AppendCompactGoJsonTest, WhitespaceInsideStringsIsKept) {
  EXPECT_EQ(*Compact(R"({ "a b" : " c  d " })"), R"({"a b":" c  d "})");
}

TEST(AppendCompactGoJsonTest, ScalarsAtTopLevel) {
  EXPECT_EQ(*Compact("\"x\""), "\"x\"");
  EXPECT_EQ(*Compact(" 42 "), "42");
  EXPECT_EQ(*Compact("true"), "true");
  EXPECT_EQ(*Compact("false"), "false");
  EXPECT_EQ(*Compact("\nnull\n"), "null");
  EXPECT_EQ(*Compact("{ }"), "{}");
  EXPECT_EQ(*Compact("[\n]"), "[]");
}

TEST(AppendCompactGoJsonTest, HtmlCharactersInStringsAreEscaped) {
  EXPECT_EQ(*Compact(R"({"<k>" : "a&b", "x": ["</script>"]})"),
            R"({"\u003ck\u003e":"a\u0026b","x":["\u003c/script\u003e"]})");
}

TEST(AppendCompactGoJsonTest, SeparatorsInStringsAreEscaped) {
  EXPECT_EQ(*Compact("[\"a\xE2\x80\xA8z\xE2\x80\xA9\"]"), R"(["a\u2028z\u2029"])");
  EXPECT_EQ(*Compact("\"\xE2\x80\xAA\xE2\x82\xAC\""), "\"\xE2\x80\xAA\xE2\x82\xAC\"");  // kept
}

TEST(AppendCompactGoJsonTest, RewritesInEveryLaneOfTheWordScan) {
  const std::pair<const char*, const char*> kRewrites[] = {
      {"<", "\\u003c"},
      {">", "\\u003e"},
      {"&", "\\u0026"},
      {"\xE2\x80\xA8", "\\u2028"},
      {"\xE2\x80\xA9", "\\u2029"},
  };
  // 40 positions: every lane of the 16-byte (SSE2) and 8-byte scans and of their tails.
  for (size_t pos = 0; pos < 40; ++pos) {
    for (const auto& [raw, escaped] : kRewrites) {
      const std::string a(pos, 'a');
      const std::string b(39 - pos, 'b');
      EXPECT_EQ(*Compact(absl::StrCat("\"", a, raw, b, "\"")),
                absl::StrCat("\"", a, escaped, b, "\""))
          << pos << " " << escaped;
    }
    // A raw control byte in any lane is found.
    std::string doc = "\"" + std::string(40, 'a') + "\"";
    doc[1 + pos] = '\x1f';
    EXPECT_EQ(
        CompactError(doc),
        absl::StrCat("byte ", 1 + pos, ": control character 0x1f in string (must be escaped)"));
    // Bytes that only look special (0x7F, 0x80, 0xE3, 0x20) never stop a string.
    for (char plain : {'\x7f', '\x80', '\xe3', ' '}) {
      std::string text = "\"" + std::string(40, 'a') + "\"";
      text[1 + pos] = plain;
      EXPECT_EQ(*Compact(text), text) << pos;
    }
    // An escaped quote or backslash in any lane is copied and does not end the string.
    for (const char* escape : {"\\\"", "\\\\"}) {
      const std::string text =
          absl::StrCat("\"", std::string(pos, 'a'), escape, std::string(39 - pos, 'b'), "\"");
      EXPECT_EQ(*Compact(text), text) << pos;
    }
  }
}

TEST(AppendCompactGoJsonTest, ExistingEscapesAreCopiedVerbatim) {
  EXPECT_EQ(*Compact(R"("\u003C \u003c \/ \" \\ \b \f \n \r \t \u00e9 \uD83D\uDE00 \u2028")"),
            R"("\u003C \u003c \/ \" \\ \b \f \n \r \t \u00e9 \uD83D\uDE00 \u2028")");
  // A lone surrogate escape is grammatical JSON; Go's compact keeps it too.
  EXPECT_EQ(*Compact(R"("\ud800")"), R"("\ud800")");
}

TEST(AppendCompactGoJsonTest, MultiByteUtf8PassesThrough) {
  EXPECT_EQ(*Compact("{ \"caf\xC3\xA9\" : \"5\xC2\xB5s \xF0\x9F\x98\x80\" }"),
            "{\"caf\xC3\xA9\":\"5\xC2\xB5s \xF0\x9F\x98\x80\"}");
  // DEL is a legal raw string byte.
  EXPECT_EQ(*Compact("\"\x7f\""), "\"\x7f\"");
}

TEST(AppendCompactGoJsonTest, NumberTextIsCopiedUntouched) {
  for (const char* number :
       {"0", "-0", "1e400", "-1e-400", "123456789012345678901234567890", "1.5E-7", "1E+2", "0.0",
        "-0.000", "3.141592653589793238462643383279", "1e0", "10", "-9"}) {
    EXPECT_EQ(*Compact(number), number);
    EXPECT_EQ(*Compact(absl::StrCat("[ ", number, " , ", number, " ]")),
              absl::StrCat("[", number, ",", number, "]"));
    EXPECT_EQ(*Compact(absl::StrCat("{\"n\":", number, "}")), absl::StrCat("{\"n\":", number, "}"));
  }
}

TEST(AppendCompactGoJsonTest, KeyOrderAndDuplicateKeysAreKept) {
  EXPECT_EQ(*Compact(R"({ "z": 1, "a": 2, "m": 3, "a": 4 })"), R"({"z":1,"a":2,"m":3,"a":4})");
}

TEST(AppendCompactGoJsonTest, CompactInputIsCopiedByteForByte) {
  constexpr std::string_view kCompact =
      R"({"apiVersion":"v1","items":[{"n":-1.5e3,"ok":true,"v":null,"s":"\u003c\n"}]})";
  EXPECT_EQ(*Compact(kCompact), kCompact);
}

TEST(AppendCompactGoJsonTest, AppendsToExistingContent) {
  std::string out = "{\"requestObject\":";
  ASSERT_TRUE(AppendCompactGoJson(" { \"a\" : [ 1 ] } ", 256, &out).ok());
  out += "}";
  EXPECT_EQ(out, R"({"requestObject":{"a":[1]}})");
}

TEST(AppendCompactGoJsonTest, CompactingIsIdempotent) {
  for (std::string_view doc : {
           R"({ "a" : [ 1 , 2 , { "b" : "<&>" } ] , "c" : null })",
           "[ \"\xE2\x80\xA8\" , \"\\u2028\" , \"x\\/y\" ]",
           R"( [ [ [ ] ] , { } , "" , 0 , -0.0e-0 , 1E400 ] )",
           R"("just a string with \"quotes\" and \\ backslashes")",
           " {\"k\":\"caf\xC3\xA9\",\"k\":\"\xF0\x9F\x98\x80\"} ",
       }) {
    absl::StatusOr<std::string> once = Compact(doc);
    ASSERT_TRUE(once.ok()) << doc << ": " << once.status();
    absl::StatusOr<std::string> twice = Compact(*once);
    ASSERT_TRUE(twice.ok()) << *once << ": " << twice.status();
    EXPECT_EQ(*twice, *once);
  }
}

// ------------------------------------------------------------------------------------------
// AppendCompactGoJson: errors
// ------------------------------------------------------------------------------------------

TEST(AppendCompactGoJsonTest, ErrorsNameTheOffendingByte) {
  const std::pair<std::string_view, std::string_view> kCases[] = {
      // End of input between tokens.
      {"", "byte 0: unexpected end of input"},
      {" \n\t", "byte 3: unexpected end of input"},
      {"[", "byte 1: unexpected end of input"},
      {"[1,", "byte 3: unexpected end of input"},
      {"{", "byte 1: unexpected end of input"},
      {R"({"a")", "byte 4: unexpected end of input"},
      {R"({"a":)", "byte 5: unexpected end of input"},
      {R"({"a":1)", "byte 6: unexpected end of input"},
      {R"({"a":1,)", "byte 7: unexpected end of input"},
      // Structure.
      {R"({"a" 1})", "byte 5: expected ':' after object key"},
      {R"({"a",1})", "byte 4: expected ':' after object key"},
      {R"({"a":1 "b":2})", "byte 7: expected ',' or '}' after object member"},
      {R"({"a":1])", "byte 6: expected ',' or '}' after object member"},
      {"[1 2]", "byte 3: expected ',' or ']' after array element"},
      {"[1}", "byte 2: expected ',' or ']' after array element"},
      {"{1:2}", "byte 1: expected a string as object key"},
      {R"({"a":1,})", "byte 7: expected a string as object key"},
      {"{,}", "byte 1: expected a string as object key"},
      {"[1,]", "byte 3: expected a JSON value"},
      {"[,1]", "byte 1: expected a JSON value"},
      {"]", "byte 0: expected a JSON value"},
      {":", "byte 0: expected a JSON value"},
      {"\f1", "byte 0: expected a JSON value"},         // form feed is not JSON whitespace
      {"\xC2\xA0-1", "byte 0: expected a JSON value"},  // nor is U+00A0
      {R"({"a":1}})", "byte 7: unexpected data after the JSON value"},
      {"1 2", "byte 2: unexpected data after the JSON value"},
      {"truex", "byte 4: unexpected data after the JSON value"},
      {std::string_view("{}\0", 3), "byte 2: unexpected data after the JSON value"},
      // Strings.
      {"\"abc", "byte 0: unterminated string"},
      {"[\"abc\\", "byte 1: unterminated string"},
      {"[\"\\u12", "byte 1: unterminated string"},
      {R"("\x")", R"(byte 1: invalid escape \x)"},
      {R"("ab\'")", R"(byte 3: invalid escape \')"},
      {R"("\U0041")", R"(byte 1: invalid escape \U)"},
      {"\"\\\x01\"", "byte 1: invalid escape: '\\' followed by byte 0x01"},
      {"\"\\\xC3\xA9\"", "byte 1: invalid escape: '\\' followed by byte 0xc3"},
      {R"("\u12g4")", R"(byte 1: invalid escape \u (expected 4 hex digits))"},
      {R"("x\u00")", R"(byte 2: invalid escape \u (expected 4 hex digits))"},
      {"\"a\tb\"", "byte 2: control character 0x09 in string (must be escaped)"},
      {"[\"\n\"]", "byte 2: control character 0x0a in string (must be escaped)"},
      {std::string_view("\"\0\"", 3), "byte 1: control character 0x00 in string (must be escaped)"},
      // Numbers.
      {"01", "byte 1: invalid number (leading zero)"},
      {"[-00]", "byte 3: invalid number (leading zero)"},
      {"1.", "byte 2: invalid number (expected a digit after '.')"},
      {"[1.e5]", "byte 3: invalid number (expected a digit after '.')"},
      {".5", "byte 0: invalid number (must start with '-' or a digit)"},
      {"+1", "byte 0: invalid number (must start with '-' or a digit)"},
      {"-", "byte 1: invalid number (expected a digit)"},
      {"[-x]", "byte 2: invalid number (expected a digit)"},
      {"1e", "byte 2: invalid number (expected a digit in the exponent)"},
      {"1e+", "byte 3: invalid number (expected a digit in the exponent)"},
      {"1E-x", "byte 3: invalid number (expected a digit in the exponent)"},
      // Literals.
      {"NaN", "byte 0: invalid literal (expected true, false or null)"},
      {"[Infinity]", "byte 1: invalid literal (expected true, false or null)"},
      {"True", "byte 0: invalid literal (expected true, false or null)"},
      {"nul", "byte 3: invalid literal (expected true, false or null)"},
      {"[tru]", "byte 4: invalid literal (expected true, false or null)"},
      {R"({"a":fals})", "byte 9: invalid literal (expected true, false or null)"},
      {"nulL", "byte 3: invalid literal (expected true, false or null)"},
  };
  for (const auto& [raw, expected] : kCases) {
    EXPECT_EQ(CompactError(raw), expected) << "input: " << Hex(raw);
  }
}

TEST(AppendCompactGoJsonTest, DepthLimit) {
  EXPECT_EQ(*Compact("[[[]]]", 3), "[[[]]]");
  EXPECT_EQ(CompactError("[[[[]]]]", 3), "byte 3: nesting deeper than 3");
  EXPECT_EQ(*Compact(R"({"a":{"b":[1]}})", 3), R"({"a":{"b":[1]}})");
  EXPECT_EQ(CompactError(R"({"a":{"b":[1]}})", 2), "byte 10: nesting deeper than 2");
  EXPECT_EQ(CompactError(R"([ { } , { "a" : [ ] } ])", 2), "byte 16: nesting deeper than 2");
  // Depth counts open containers, not containers seen: siblings do not add up.
  EXPECT_EQ(*Compact("[[],[],[[]]]", 3), "[[],[],[[]]]");
  // Zero levels allow scalars only.
  EXPECT_EQ(*Compact("1", 0), "1");
  EXPECT_EQ(CompactError("{}", 0), "byte 0: nesting deeper than 0");
}

TEST(AppendCompactGoJsonTest, DepthLimitAtDefaultAndBeyondInlineStack) {
  for (int depth : {256, 511, 512, 513, 5000}) {
    const std::string ok = std::string(depth, '[') + std::string(depth, ']');
    EXPECT_EQ(*Compact(ok, depth), ok) << depth;
    const std::string deep = "[" + ok + "]";
    EXPECT_EQ(CompactError(deep, depth),
              absl::StrCat("byte ", depth, ": nesting deeper than ", depth));
  }
  // Alternating objects and arrays deeper than the inline stack: closers must still match.
  std::string mixed;
  std::string closers;  // innermost first
  for (int i = 999; i >= 0; --i) closers += i % 3 == 0 ? '}' : ']';
  for (int i = 0; i < 1000; ++i) mixed += i % 3 == 0 ? R"({"k":)" : "[";
  const std::string doc = mixed + "0" + closers;
  EXPECT_EQ(*Compact(doc, 1000), doc);
  std::string wrong = doc;
  wrong[wrong.size() - 1] = wrong.back() == '}' ? ']' : '}';
  EXPECT_THAT(CompactError(wrong, 1000), StartsWith(absl::StrCat("byte ", wrong.size() - 1, ": ")));
}

// ------------------------------------------------------------------------------------------
// AppendCompactGoJson: robustness
// ------------------------------------------------------------------------------------------

constexpr std::string_view kSampleDocument = R"({
  "kind": "Event", "apiVersion": "audit.k8s.io/v1",
  "objectRef": {"resource": "pods", "name": "web-0", "namespace": "default"},
  "sourceIPs": ["10.0.0.1", "::1"], "responseStatus": {"code": 201, "metadata": {}},
  "requestObject": {"spec": {"replicas": 3, "ratio": -1.25e-3, "paused": false,
                             "note": "a<b & \"c\" \u00e9 caf)"
                                             "\xC3\xA9 \xE2\x80\xA8"
                                             R"(", "tags": [null, true, [], [[0]]]}}
})";

TEST(AppendCompactGoJsonTest, EveryTruncationIsAnErrorAtOrBeforeTheEnd) {
  ASSERT_TRUE(Compact(kSampleDocument).ok());
  for (size_t len = 0; len < kSampleDocument.size(); ++len) {
    const std::string_view prefix = kSampleDocument.substr(0, len);
    std::string out;
    const absl::Status status = AppendCompactGoJson(prefix, 256, &out);
    ASSERT_FALSE(status.ok()) << "prefix of length " << len << " accepted";
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    const int64_t offset = ErrorOffset(status);
    EXPECT_GE(offset, 0) << status;
    EXPECT_LE(offset, static_cast<int64_t>(len)) << status;
  }
}

TEST(AppendCompactGoJsonTest, RandomMutationsNeverCrash) {
  std::mt19937_64 rng(1234567);
  const std::string kInteresting = "{}[]:,\"\\ \t\n0-+.eE/utfnl<&\xE2\x80\xA8\x01\xFF";
  const std::string base(kSampleDocument);
  int accepted = 0;
  for (int iter = 0; iter < 30000; ++iter) {
    std::string doc = base;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !doc.empty(); ++e) {
      const size_t at = rng() % doc.size();
      const char c =
          rng() % 2 ? kInteresting[rng() % kInteresting.size()] : static_cast<char>(rng() % 256);
      switch (rng() % 4) {
        case 0:
          doc.insert(doc.begin() + at, c);
          break;
        case 1:
          doc.erase(at, 1 + rng() % 3);
          break;
        case 2:
          doc.resize(at);
          break;
        default:
          doc[at] = c;
          break;
      }
    }
    std::string out = "prefix";
    const absl::Status status = AppendCompactGoJson(doc, 8, &out);
    if (status.ok()) {
      ++accepted;
      // Whatever is accepted compacts to a fixed point.
      const std::string once = out.substr(6);
      ASSERT_EQ(*Compact(once, 8), once) << Hex(doc);
    } else {
      ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
      const int64_t offset = ErrorOffset(status);
      ASSERT_GE(offset, 0) << status;
      ASSERT_LE(offset, static_cast<int64_t>(doc.size())) << status;
    }
    ASSERT_EQ(out.substr(0, 6), "prefix");
  }
  // Mutations inside strings and whitespace keep documents valid, so some must pass.
  EXPECT_GT(accepted, 100);
}

TEST(AppendCompactGoJsonTest, RandomBytesNeverCrash) {
  std::mt19937_64 rng(42);
  const std::string kAlphabet = "{}[]:,\"\\ 0123-.eEtrufalsn";
  for (int iter = 0; iter < 30000; ++iter) {
    std::string doc(rng() % 24, '\0');
    for (char& c : doc) {
      c = rng() % 8 == 0 ? static_cast<char>(rng() % 256) : kAlphabet[rng() % kAlphabet.size()];
    }
    std::string out;
    const absl::Status status = AppendCompactGoJson(doc, 4, &out);
    if (!status.ok()) {
      const int64_t offset = ErrorOffset(status);
      ASSERT_GE(offset, 0) << status;
      ASSERT_LE(offset, static_cast<int64_t>(doc.size())) << status;
    }
  }
}

// Builds a random valid document twice: `pretty` with random whitespace and raw characters,
// and `compact`, the bytes Go would write for it.
class RandomDocument {
 public:
  explicit RandomDocument(uint64_t seed) : rng_(seed) {}

  void Value(int depth) {
    const int kind = static_cast<int>(rng_() % (depth < 5 ? 7 : 5));
    switch (kind) {
      case 0:
        Both(rng_() % 2 ? "true" : rng_() % 2 ? "false" : "null");
        break;
      case 1: {
        static constexpr const char* kNumbers[] = {
            "0", "-0", "1e400", "1.5E-7", "42", "-3.25e+2", "123456789012345678901234567890"};
        Both(kNumbers[rng_() % std::size(kNumbers)]);
        break;
      }
      case 2:
      case 3:
      case 4:
        String();
        break;
      case 5: {
        Both("[");
        const int n = static_cast<int>(rng_() % 4);
        for (int i = 0; i < n; ++i) {
          if (i > 0) Both(",");
          Value(depth + 1);
        }
        Both("]");
        break;
      }
      default: {
        Both("{");
        const int n = static_cast<int>(rng_() % 4);
        for (int i = 0; i < n; ++i) {
          if (i > 0) Both(",");
          String();
          Both(":");
          Value(depth + 1);
        }
        Both("}");
        break;
      }
    }
  }

  std::string pretty;
  std::string compact;

 private:
  void Space() {
    static constexpr char kSpace[] = {' ', '\t', '\n', '\r'};
    for (int n = static_cast<int>(rng_() % 3); n > 0; --n) pretty += kSpace[rng_() % 4];
  }
  void Both(std::string_view token) {
    Space();
    pretty += token;
    compact += token;
    Space();
  }
  void String() {
    // Each piece: what the input holds, what Go writes.
    static constexpr std::pair<const char*, const char*> kPieces[] = {
        {"a", "a"},
        {" ", " "},
        {"<", "\\u003c"},
        {">", "\\u003e"},
        {"&", "\\u0026"},
        {"\xE2\x80\xA8", "\\u2028"},
        {"\xE2\x80\xA9", "\\u2029"},
        {"\xE2\x82\xAC", "\xE2\x82\xAC"},
        {"\xC3\xA9", "\xC3\xA9"},
        {"\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80"},
        {"\\n", "\\n"},
        {"\\/", "\\/"},
        {"\\\"", "\\\""},
        {"\\\\", "\\\\"},
        {"\\u003C", "\\u003C"},
        {"\\uABCD", "\\uABCD"},
    };
    Space();
    pretty += '"';
    compact += '"';
    for (int n = static_cast<int>(rng_() % 6); n > 0; --n) {
      const auto& [in, go] = kPieces[rng_() % std::size(kPieces)];
      pretty += in;
      compact += go;
    }
    pretty += '"';
    compact += '"';
    Space();
  }

  std::mt19937_64 rng_;
};

TEST(AppendCompactGoJsonTest, RandomDocumentsCompactToGoBytes) {
  for (uint64_t seed = 0; seed < 3000; ++seed) {
    RandomDocument doc(seed);
    doc.Value(0);
    absl::StatusOr<std::string> out = Compact(doc.pretty);
    ASSERT_TRUE(out.ok()) << Hex(doc.pretty) << ": " << out.status();
    ASSERT_EQ(*out, doc.compact) << Hex(doc.pretty);
    ASSERT_EQ(*Compact(*out), *out);  // idempotent
  }
}

// ------------------------------------------------------------------------------------------
// PositionOf
// ------------------------------------------------------------------------------------------

TEST(PositionOfTest, LinesAndByteColumns) {
  constexpr std::string_view kText = "ab\ncd\n\nx\xC3\xA9y";
  auto at = [&](size_t offset) {
    const TextPosition p = PositionOf(kText, offset);
    return std::make_pair(p.line, p.column);
  };
  EXPECT_EQ(at(0), std::make_pair(size_t{1}, size_t{1}));
  EXPECT_EQ(at(1), std::make_pair(size_t{1}, size_t{2}));
  EXPECT_EQ(at(2), std::make_pair(size_t{1}, size_t{3}));  // the '\n' itself
  EXPECT_EQ(at(3), std::make_pair(size_t{2}, size_t{1}));
  EXPECT_EQ(at(6), std::make_pair(size_t{3}, size_t{1}));
  EXPECT_EQ(at(7), std::make_pair(size_t{4}, size_t{1}));
  EXPECT_EQ(at(10), std::make_pair(size_t{4}, size_t{4}));   // columns count bytes: é is two
  EXPECT_EQ(at(11), std::make_pair(size_t{4}, size_t{5}));   // end of text
  EXPECT_EQ(at(999), std::make_pair(size_t{4}, size_t{5}));  // clamped to the end
  const TextPosition empty = PositionOf("", 0);
  EXPECT_EQ(empty.line, 1u);
  EXPECT_EQ(empty.column, 1u);
}

TEST(PositionOfTest, LocatesCompactionErrors) {
  constexpr std::string_view kDoc = "{\n  \"a\": 1,\n  \"b\" 2\n}";
  absl::StatusOr<std::string> out = Compact(kDoc);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message(), "byte 18: expected ':' after object key");
  const TextPosition p = PositionOf(kDoc, static_cast<size_t>(ErrorOffset(out.status())));
  EXPECT_EQ(p.line, 3u);
  EXPECT_EQ(p.column, 7u);
}

// ------------------------------------------------------------------------------------------
// FindInvalidUtf8
// ------------------------------------------------------------------------------------------

constexpr size_t kValid = std::string_view::npos;

// ---------------------------------------------------------------------------------------------
// CheckCompactGoJson

TEST(CheckCompactGoJsonTest, WhatTheCompactorWritesPasses) {
  for (std::string_view raw :
       {R"({ "a" : [1, 2.5e3, "x<y & z"],  "b": {"c": null, "d": true} })", "\"\u2028\"",
        "\"caf\xC3\xA9\"", "[]", "0"}) {
    std::string compact;
    ASSERT_TRUE(AppendCompactGoJson(raw, 256, &compact).ok()) << raw;
    EXPECT_TRUE(CheckCompactGoJson(compact, 256).ok()) << compact;
  }
}

TEST(CheckCompactGoJsonTest, EverythingElseIsRefusedWithWhereAndWhy) {
  struct Case {
    std::string_view raw;
    std::string_view error;
  };
  for (const Case& c : std::vector<Case>{
           {"", "byte 0: unexpected end of input"},
           {"{\"a\":", "byte 5: unexpected end of input"},
           {"{\"a\":1}x", "byte 7: unexpected data after the JSON value"},
           {" 1", "byte 0: whitespace outside strings (not compact)"},
           {"[1, 2]", "byte 3: whitespace outside strings (not compact)"},
           {"\"a<b\"", "byte 2: '<' in a string (Go writes \\u003c)"},
           {"\"a&b\"", "byte 2: '&' in a string (Go writes \\u0026)"},
           {"\"\xE2\x80\xA8\"",
            "byte 1: U+2028 or U+2029 unescaped in a string (Go writes \\u2028, \\u2029)"},
           {"\"\xC3\"", "byte 1: invalid UTF-8"},
           {"[[[1]]]", "byte 2: nesting deeper than 2"},
       }) {
    absl::Status s = CheckCompactGoJson(c.raw, 2);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.raw;
    EXPECT_EQ(std::string(s.message()), c.error) << c.raw;
  }
}

// A straightforward decoder (decode, then range-check the code point) to cross-check the
// lead-byte table in FindInvalidUtf8.
size_t ReferenceFindInvalidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    const size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    if (len == 0 || c >= 0xF8 || s.size() - i < len) return i;
    uint32_t cp = c & (0x7F >> len);
    for (size_t k = 1; k < len; ++k) {
      const unsigned char b = s[i + k];
      if ((b & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (b & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return kValid;
}

TEST(FindInvalidUtf8Test, Valid) {
  EXPECT_EQ(FindInvalidUtf8(""), kValid);
  EXPECT_EQ(FindInvalidUtf8("plain ascii, longer than eight bytes"), kValid);
  EXPECT_EQ(FindInvalidUtf8("caf\xC3\xA9 5\xC2\xB5s \xE2\x82\xAC \xF0\x9F\x98\x80"), kValid);
  EXPECT_EQ(FindInvalidUtf8(std::string_view("\0\x7f", 2)), kValid);
  EXPECT_EQ(FindInvalidUtf8("\xC2\x80"), kValid);          // U+0080
  EXPECT_EQ(FindInvalidUtf8("\xE0\xA0\x80"), kValid);      // U+0800
  EXPECT_EQ(FindInvalidUtf8("\xED\x9F\xBF"), kValid);      // U+D7FF
  EXPECT_EQ(FindInvalidUtf8("\xEE\x80\x80"), kValid);      // U+E000
  EXPECT_EQ(FindInvalidUtf8("\xEF\xBF\xBF"), kValid);      // U+FFFF
  EXPECT_EQ(FindInvalidUtf8("\xF0\x90\x80\x80"), kValid);  // U+10000
  EXPECT_EQ(FindInvalidUtf8("\xF4\x8F\xBF\xBF"), kValid);  // U+10FFFF
}

TEST(FindInvalidUtf8Test, Invalid) {
  const std::pair<std::string_view, size_t> kCases[] = {
      {"\x80", 0},              // continuation without lead
      {"ab\xBF", 2},            //
      {"\xC0\x80", 0},          // overlong NUL
      {"\xC1\xBF", 0},          // overlong
      {"\xE0\x80\x80", 0},      // overlong
      {"\xE0\x9F\xBF", 0},      // overlong U+07FF
      {"\xF0\x80\x80\x80", 0},  // overlong
      {"\xF0\x8F\xBF\xBF", 0},  // overlong U+FFFF
      {"x\xED\xA0\x80", 1},     // surrogate U+D800
      {"\xED\xBF\xBF", 0},      // surrogate U+DFFF
      {"\xF4\x90\x80\x80", 0},  // U+110000
      {"\xF5\x80\x80\x80", 0},  //
      {"\xFF", 0},              //
      {"\xFE", 0},              //
      {"abc\xC3", 3},           // truncated
      {"\xE2\x82", 0},          // truncated
      {"\xF0\x9F\x98", 0},      // truncated
      {"\xC3\x28", 0},          // bad continuation
      {"\xE2\x28\xA1", 0},      //
      {"\xE2\x82\x28", 0},      //
      {"\xF0\x9F\x98\x28", 0},  //
      {"0123456789abcdef\xC3\xA9\xFF", 18},
  };
  for (const auto& [s, expected] : kCases) {
    EXPECT_EQ(FindInvalidUtf8(s), expected) << Hex(s);
    EXPECT_EQ(ReferenceFindInvalidUtf8(s), expected) << Hex(s);
  }
}

TEST(FindInvalidUtf8Test, InvalidByteAtEveryPositionOfAsciiRun) {
  for (size_t len = 1; len < 40; ++len) {
    for (size_t at = 0; at < len; ++at) {
      std::string s(len, 'a');
      s[at] = '\xFF';
      ASSERT_EQ(FindInvalidUtf8(s), at) << len << " " << at;
      s[at] = '\x7F';
      ASSERT_EQ(FindInvalidUtf8(s), kValid);
    }
  }
}

TEST(FindInvalidUtf8Test, ExhaustiveShortSequencesMatchReference) {
  // Every 1-, 2- and 3-byte string, each followed by an ASCII byte so the next character's
  // start is checked too.
  std::string s;
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      s.assign({static_cast<char>(a), static_cast<char>(b), 'z'});
      ASSERT_EQ(FindInvalidUtf8(s), ReferenceFindInvalidUtf8(s)) << a << " " << b;
      if (a < 0xE0 || a > 0xF4) continue;  // three-byte leads and four-byte prefixes only
      for (int c = 0; c < 256; ++c) {
        s.assign({static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)});
        ASSERT_EQ(FindInvalidUtf8(s), ReferenceFindInvalidUtf8(s)) << a << " " << b << " " << c;
      }
    }
  }
}

TEST(FindInvalidUtf8Test, RandomStringsMatchReference) {
  std::mt19937_64 rng(777);
  const std::string kPool = "a\x80\xBF\xC2\xDF\xE0\xED\xEF\xF0\xF4\xA0\x9F\x90\x8F\xC0\xF5";
  for (int iter = 0; iter < 50000; ++iter) {
    std::string s(rng() % 24, '\0');
    for (char& c : s) c = rng() % 3 ? kPool[rng() % kPool.size()] : static_cast<char>(rng());
    ASSERT_EQ(FindInvalidUtf8(s), ReferenceFindInvalidUtf8(s)) << Hex(s);
  }
}

}  // namespace
}  // namespace kubetrail::audit
