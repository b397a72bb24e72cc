// Go-compatible JSON writing (see gojson.h).
//
// Both writers are table driven: a 256-entry class table says, per byte, whether it may be
// copied as is, and runs of such bytes are appended with a single call (string runs are first
// skipped eight bytes at a time). This matters because AppendGoQuoted runs ~30 times per event
// and AppendCompactGoJson copies whole request and response bodies; the common case (nothing to
// escape, or already compact JSON) is one append.
#include "audit/gojson.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace kubetrail::audit {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

// ---------------------------------------------------------------------------------------------
// AppendGoQuoted
// ---------------------------------------------------------------------------------------------

// Entries of kQuoteTable. Any other value is the letter of a two-byte short escape (`\n`,
// `\"`, ...); all of those letters are >= 0x22, so they cannot collide with the classes below.
constexpr uint8_t kQuoteSafe = 0;     // copied as is
constexpr uint8_t kQuoteUnicode = 1;  // written as \u00XX
constexpr uint8_t kQuoteE2 = 2;       // lead byte of U+2028/U+2029 (E2 80 A8/A9), or not

constexpr std::array<uint8_t, 256> kQuoteTable = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = kQuoteUnicode;
  // Go >= 1.22 writes \b and \f in short form as well.
  t['\b'] = 'b';
  t['\f'] = 'f';
  t['\n'] = 'n';
  t['\r'] = 'r';
  t['\t'] = 't';
  t['"'] = '"';
  t['\\'] = '\\';
  // HTML escaping (json.Encoder's default, which kube-apiserver keeps).
  t['<'] = kQuoteUnicode;
  t['>'] = kQuoteUnicode;
  t['&'] = kQuoteUnicode;
  t[0xE2] = kQuoteE2;
  return t;
}();

// True when p[i..i+2] (i + 2 < n) is U+2028 or U+2029 (E2 80 A8 / E2 80 A9).
inline bool IsLineOrParagraphSeparator(const unsigned char* p, size_t i, size_t n) {
  return i + 2 < n && p[i] == 0xE2 && p[i + 1] == 0x80 && (p[i + 2] & 0xFE) == 0xA8;
}

// Appends \u2028 or \u2029 for the separator whose last byte is `last` (0xA8 or 0xA9).
inline void AppendSeparatorEscape(unsigned char last, std::string* out) {
  const char esc[6] = {'\\', 'u', '2', '0', '2', kHexDigits[last & 0xF]};
  out->append(esc, sizeof(esc));
}

// Appends \u00XX for byte `c`.
inline void AppendUnicodeEscape(unsigned char c, std::string* out) {
  const char esc[6] = {'\\', 'u', '0', '0', kHexDigits[c >> 4], kHexDigits[c & 0xF]};
  out->append(esc, sizeof(esc));
}

// ---------------------------------------------------------------------------------------------
// AppendCompactGoJson
// ---------------------------------------------------------------------------------------------

// Classes of bytes inside a JSON string (kStringTable).
constexpr uint8_t kStrSafe = 0;       // copied as is
constexpr uint8_t kStrQuote = 1;      // closing quote
constexpr uint8_t kStrBackslash = 2;  // start of an escape sequence, copied verbatim
constexpr uint8_t kStrControl = 3;    // raw byte < 0x20: not allowed in a JSON string
constexpr uint8_t kStrHtml = 4;       // < > &: rewritten as \u00XX
constexpr uint8_t kStrE2 = 5;         // possibly U+2028/U+2029: rewritten as \u2028/\u2029

constexpr std::array<uint8_t, 256> kStringTable = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = kStrControl;
  t['"'] = kStrQuote;
  t['\\'] = kStrBackslash;
  t['<'] = kStrHtml;
  t['>'] = kStrHtml;
  t['&'] = kStrHtml;
  t[0xE2] = kStrE2;
  return t;
}();

// Both tables single out the same bytes; the word-at-a-time scan below relies on it.
constexpr bool SameSafeBytes() {
  for (int c = 0; c < 256; ++c) {
    if ((kQuoteTable[c] == kQuoteSafe) != (kStringTable[c] == kStrSafe)) return false;
  }
  return true;
}
static_assert(SameSafeBytes());

// Whether any byte of `w` is one the tables above single out: < 0x20, '"', '\\', '<', '>',
// '&' or 0xE2. Uses the has-zero-byte / has-less-than tricks ("Bit Twiddling Hacks"), which are
// exact as existence tests whatever the byte order. Masking out the one bit in which they differ
// folds '"'/'&' (0x22/0x26, bit 2) and '<'/'>' (0x3C/0x3E, bit 1) into one test each.
inline bool HasNonPlainByte(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  constexpr uint64_t kNotBit1 = kOnes * 0xFD;
  constexpr uint64_t kNotBit2 = kOnes * 0xFB;
  auto has_zero = [](uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  const uint64_t control = (w - kOnes * 0x20) & ~w & kHigh;
  return (control | has_zero((w ^ (kOnes * 0x22)) & kNotBit2) |
          has_zero((w ^ (kOnes * 0x3C)) & kNotBit1) | has_zero(w ^ (kOnes * '\\')) |
          has_zero(w ^ (kOnes * 0xE2))) != 0;
}

// Returns the first index >= i whose byte is not kStrSafe/kQuoteSafe, or n. Skips eight bytes
// at a time and finishes with the table, so the run is found in about a cycle per byte.
inline size_t SkipPlainStringBytes(const unsigned char* p, size_t i, size_t n) {
#if defined(__SSE2__)
  // Sixteen bytes at a time, and the exact stop from the compare mask (SSE2 is part of the
  // x86-64 baseline, so no dispatch is needed).
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i lt = _mm_set1_epi8('<');
  const __m128i gt = _mm_set1_epi8('>');
  const __m128i amp = _mm_set1_epi8('&');
  const __m128i e2 = _mm_set1_epi8(static_cast<char>(0xE2));
  const __m128i control_max = _mm_set1_epi8(0x1F);
  while (n - i >= 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(x, control_max), x);  // x <= 0x1F
    const __m128i hit = _mm_or_si128(
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)),
                     _mm_or_si128(_mm_cmpeq_epi8(x, lt), _mm_cmpeq_epi8(x, gt))),
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, amp), _mm_cmpeq_epi8(x, e2)), control));
    const int mask = _mm_movemask_epi8(hit);
    if (mask != 0) return i + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    i += 16;
  }
#endif
  while (n - i >= 8) {
    uint64_t w;
    std::memcpy(&w, p + i, sizeof(w));
    if (HasNonPlainByte(w)) break;
    i += 8;
  }
  while (i < n && kStringTable[p[i]] == kStrSafe) ++i;
  return i;
}

inline bool IsJsonWhitespace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
inline bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
inline bool IsHexDigit(unsigned char c) {
  return IsDigit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

constexpr char kInvalidLiteral[] = "invalid literal (expected true, false or null)";

// One bit per open container (1 = object, 0 = array). The first kInlineWords * 64 levels live
// inline so typical documents never allocate; deeper nesting (only when the caller allows it)
// spills to the heap.
class ContainerStack {
 public:
  size_t depth() const { return depth_; }

  void Push(bool is_object) {
    const size_t word = depth_ / 64;
    const uint64_t mask = uint64_t{1} << (depth_ % 64);
    uint64_t* w;
    if (word < kInlineWords) {
      w = &inline_[word];
    } else {
      if (word - kInlineWords >= spill_.size()) spill_.push_back(0);
      w = &spill_[word - kInlineWords];
    }
    *w = is_object ? (*w | mask) : (*w & ~mask);
    ++depth_;
  }

  // Requires depth() > 0.
  void Pop() { --depth_; }

  // Requires depth() > 0.
  bool TopIsObject() const {
    const size_t level = depth_ - 1;
    const size_t word = level / 64;
    const uint64_t w = word < kInlineWords ? inline_[word] : spill_[word - kInlineWords];
    return (w >> (level % 64)) & 1;
  }

 private:
  static constexpr size_t kInlineWords = 8;  // 512 levels
  size_t depth_ = 0;
  uint64_t inline_[kInlineWords] = {};
  std::vector<uint64_t> spill_;
};

// A single-pass validating scanner that copies `raw` to `out` as Go's compact() does.
//
// The bytes in raw[flushed_, pos_) are valid and still to be copied unchanged; they are
// appended in one go only when something has to be dropped (whitespace) or rewritten (HTML
// characters, U+2028/U+2029), so compact input costs one append in total.
class Compactor {
 public:
  // Compacts `raw` into `out`; with `out` null, only checks that `raw` is compact already
  // (Run then also fails on what compacting would change).
  Compactor(std::string_view raw, int max_depth, std::string* out)
      : p_(reinterpret_cast<const unsigned char*>(raw.data())),
        n_(raw.size()),
        max_depth_(std::max(max_depth, 0)),
        out_(out) {}

  absl::Status Run();

 private:
  // What the scanner expects next.
  enum class State { kValue, kKey, kAfterValue };

  void Flush() {
    if (out_ != nullptr) {
      out_->append(reinterpret_cast<const char*>(p_) + flushed_, pos_ - flushed_);
    }
    flushed_ = pos_;
  }

  // Checking only: the first byte that compacting would change, and why.
  void NotCompact(absl::string_view why) {
    if (not_compact_at_ == kNone) {
      not_compact_at_ = pos_;
      not_compact_why_ = why;
    }
  }

  void SkipWhitespace() {
    if (pos_ < n_ && IsJsonWhitespace(p_[pos_])) {
      if (out_ == nullptr) NotCompact("whitespace outside strings (not compact)");
      Flush();
      do {
        ++pos_;
      } while (pos_ < n_ && IsJsonWhitespace(p_[pos_]));
      flushed_ = pos_;
    }
  }

  // absl::string_view: Debian builds Abseil with its own string_view, distinct from std::.
  static absl::Status Error(size_t offset, absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("byte ", offset, ": ", what));
  }

  absl::Status ScanValue(State* state);
  absl::Status OpenContainer(bool is_object, State* state);
  absl::Status ScanString();
  absl::Status ScanNumber();
  absl::Status ScanLiteral();

  const unsigned char* const p_;
  const size_t n_;
  const int max_depth_;
  std::string* const out_;
  static constexpr size_t kNone = ~size_t{0};
  size_t not_compact_at_ = kNone;
  absl::string_view not_compact_why_;
  size_t pos_ = 0;      // next byte to scan
  size_t flushed_ = 0;  // first byte not yet appended or dropped
  ContainerStack stack_;
};

absl::Status Compactor::Run() {
  State state = State::kValue;
  for (;;) {
    SkipWhitespace();
    switch (state) {
      case State::kValue: {
        absl::Status s = ScanValue(&state);
        if (!s.ok()) return s;
        break;
      }
      case State::kKey: {
        if (pos_ == n_) return Error(pos_, "unexpected end of input");
        if (p_[pos_] != '"') return Error(pos_, "expected a string as object key");
        absl::Status s = ScanString();
        if (!s.ok()) return s;
        SkipWhitespace();
        if (pos_ == n_) return Error(pos_, "unexpected end of input");
        if (p_[pos_] != ':') return Error(pos_, "expected ':' after object key");
        ++pos_;
        state = State::kValue;
        break;
      }
      case State::kAfterValue: {
        if (stack_.depth() == 0) {
          if (pos_ != n_) return Error(pos_, "unexpected data after the JSON value");
          Flush();
          if (not_compact_at_ != kNone) return Error(not_compact_at_, not_compact_why_);
          return absl::OkStatus();
        }
        if (pos_ == n_) return Error(pos_, "unexpected end of input");
        const unsigned char c = p_[pos_];
        if (stack_.TopIsObject()) {
          if (c == ',') {
            state = State::kKey;
          } else if (c == '}') {
            stack_.Pop();
          } else {
            return Error(pos_, "expected ',' or '}' after object member");
          }
        } else {
          if (c == ',') {
            state = State::kValue;
          } else if (c == ']') {
            stack_.Pop();
          } else {
            return Error(pos_, "expected ',' or ']' after array element");
          }
        }
        ++pos_;
        break;
      }
    }
  }
}

// Scans one value starting at pos_ (whitespace already skipped) and sets the next state.
absl::Status Compactor::ScanValue(State* state) {
  if (pos_ == n_) return Error(pos_, "unexpected end of input");
  const unsigned char c = p_[pos_];
  *state = State::kAfterValue;
  switch (c) {
    case '{':
      return OpenContainer(/*is_object=*/true, state);
    case '[':
      return OpenContainer(/*is_object=*/false, state);
    case '"':
      return ScanString();
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
      return ScanNumber();
    case 't':
    case 'f':
    case 'n':
      return ScanLiteral();
    case '+':
    case '.':
      return Error(pos_, "invalid number (must start with '-' or a digit)");
    default:
      // Letters (NaN, Infinity, True, ...) read as a misspelt literal; anything else (a stray
      // ',' ']' '}' ':' or a control byte) simply is not a value.
      if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return Error(pos_, kInvalidLiteral);
      return Error(pos_, "expected a JSON value");
  }
}

// Handles '{' or '[' at pos_, including the empty container `{}` / `[]`.
absl::Status Compactor::OpenContainer(bool is_object, State* state) {
  if (stack_.depth() >= static_cast<size_t>(max_depth_)) {
    return Error(pos_, absl::StrCat("nesting deeper than ", max_depth_));
  }
  stack_.Push(is_object);
  ++pos_;
  SkipWhitespace();
  if (pos_ < n_ && p_[pos_] == (is_object ? '}' : ']')) {
    ++pos_;
    stack_.Pop();
    *state = State::kAfterValue;
  } else {
    *state = is_object ? State::kKey : State::kValue;
  }
  return absl::OkStatus();
}

// Scans the string whose opening quote is at pos_ and leaves pos_ after the closing quote.
absl::Status Compactor::ScanString() {
  const size_t open = pos_;
  ++pos_;
  for (;;) {
    pos_ = SkipPlainStringBytes(p_, pos_, n_);
    if (pos_ == n_) return Error(open, "unterminated string");
    const unsigned char c = p_[pos_];
    switch (kStringTable[c]) {
      case kStrQuote:
        ++pos_;
        return absl::OkStatus();
      case kStrBackslash: {
        // Escapes are validated but copied verbatim (`\u003C` and `\/` stay as they are).
        if (pos_ + 1 == n_) return Error(open, "unterminated string");
        const unsigned char e = p_[pos_ + 1];
        switch (e) {
          case '"':
          case '\\':
          case '/':
          case 'b':
          case 'f':
          case 'n':
          case 'r':
          case 't':
            pos_ += 2;
            break;
          case 'u':
            for (size_t k = 2; k < 6; ++k) {
              if (pos_ + k == n_) return Error(open, "unterminated string");
              if (!IsHexDigit(p_[pos_ + k])) {
                return Error(pos_, "invalid escape \\u (expected 4 hex digits)");
              }
            }
            pos_ += 6;
            break;
          default:
            if (e > 0x20 && e < 0x7F) {  // printable: quote the two bytes, e.g. `\x`
              const absl::string_view escape(reinterpret_cast<const char*>(p_ + pos_), 2);
              return Error(pos_, absl::StrCat("invalid escape ", escape));
            }
            return Error(pos_, absl::StrFormat("invalid escape: '\\' followed by byte 0x%02x", e));
        }
        break;
      }
      case kStrControl:
        return Error(pos_,
                     absl::StrFormat("control character 0x%02x in string (must be escaped)", c));
      case kStrHtml:
        if (out_ == nullptr) {
          NotCompact(c == '<'   ? "'<' in a string (Go writes \\u003c)"
                     : c == '>' ? "'>' in a string (Go writes \\u003e)"
                                : "'&' in a string (Go writes \\u0026)");
        } else {
          Flush();
          AppendUnicodeEscape(c, out_);
        }
        flushed_ = ++pos_;
        break;
      case kStrE2:
        if (IsLineOrParagraphSeparator(p_, pos_, n_)) {
          if (out_ == nullptr) {
            NotCompact("U+2028 or U+2029 unescaped in a string (Go writes \\u2028, \\u2029)");
          } else {
            Flush();
            AppendSeparatorEscape(p_[pos_ + 2], out_);
          }
          pos_ += 3;
          flushed_ = pos_;
        } else {
          ++pos_;  // any other character starting with E2: copied
        }
        break;
      default:
        break;  // unreachable: kStrSafe bytes were consumed above
    }
  }
}

// Scans a number starting at pos_ ('-' or a digit); its text is copied untouched.
// Grammar: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
absl::Status Compactor::ScanNumber() {
  size_t i = pos_;
  if (p_[i] == '-') ++i;
  if (i == n_ || !IsDigit(p_[i])) return Error(i, "invalid number (expected a digit)");
  if (p_[i] == '0') {
    ++i;
    if (i < n_ && IsDigit(p_[i])) return Error(i, "invalid number (leading zero)");
  } else {
    while (i < n_ && IsDigit(p_[i])) ++i;
  }
  if (i < n_ && p_[i] == '.') {
    ++i;
    if (i == n_ || !IsDigit(p_[i])) return Error(i, "invalid number (expected a digit after '.')");
    while (i < n_ && IsDigit(p_[i])) ++i;
  }
  if (i < n_ && (p_[i] | 0x20) == 'e') {
    ++i;
    if (i < n_ && (p_[i] == '+' || p_[i] == '-')) ++i;
    if (i == n_ || !IsDigit(p_[i])) {
      return Error(i, "invalid number (expected a digit in the exponent)");
    }
    while (i < n_ && IsDigit(p_[i])) ++i;
  }
  pos_ = i;
  return absl::OkStatus();
}

// Scans true, false or null starting at pos_ ('t', 'f' or 'n'); the error names the first byte
// that does not match.
absl::Status Compactor::ScanLiteral() {
  const std::string_view word = p_[pos_] == 't' ? "true" : p_[pos_] == 'f' ? "false" : "null";
  for (size_t k = 1; k < word.size(); ++k) {
    if (pos_ + k == n_ || p_[pos_ + k] != static_cast<unsigned char>(word[k])) {
      return Error(pos_ + k, kInvalidLiteral);
    }
  }
  pos_ += word.size();
  return absl::OkStatus();
}

}  // namespace

void AppendGoQuoted(std::string_view s, std::string* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  out->push_back('"');
  size_t start = 0;  // first byte not yet appended
  size_t i = 0;
  for (;;) {
    i = SkipPlainStringBytes(p, i, n);
    if (i == n) break;
    const unsigned char c = p[i];
    const uint8_t cls = kQuoteTable[c];
    if (cls == kQuoteE2) {
      if (IsLineOrParagraphSeparator(p, i, n)) {
        out->append(s.data() + start, i - start);
        AppendSeparatorEscape(p[i + 2], out);
        i += 3;
        start = i;
      } else {
        ++i;  // any other character starting with E2 (e.g. '€'): part of the run
      }
      continue;
    }
    out->append(s.data() + start, i - start);
    if (cls == kQuoteUnicode) {
      AppendUnicodeEscape(c, out);
    } else {
      const char esc[2] = {'\\', static_cast<char>(cls)};
      out->append(esc, sizeof(esc));
    }
    start = ++i;
  }
  out->append(s.data() + start, n - start);
  out->push_back('"');
}

absl::Status AppendCompactGoJson(std::string_view raw, int max_depth, std::string* out) {
  return Compactor(raw, max_depth, out).Run();
}

absl::Status CheckCompactGoJson(std::string_view raw, int max_depth) {
  if (const size_t bad = FindInvalidUtf8(raw); bad != std::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("byte ", bad, ": invalid UTF-8"));
  }
  return Compactor(raw, max_depth, nullptr).Run();
}

TextPosition PositionOf(std::string_view text, size_t offset) {
  // Offsets past the end (e.g. "unexpected end of input" at text.size()) clamp to the end.
  offset = std::min(offset, text.size());
  TextPosition pos;
  size_t line_start = 0;
  while (line_start < offset) {
    const void* nl = std::memchr(text.data() + line_start, '\n', offset - line_start);
    if (nl == nullptr) break;
    ++pos.line;
    line_start = static_cast<size_t>(static_cast<const char*>(nl) - text.data()) + 1;
  }
  pos.column = offset - line_start + 1;
  return pos;
}

size_t FindInvalidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    // ASCII fast path: eight bytes at a time while none has the high bit set.
    while (n - i >= 8) {
      uint64_t word;
      std::memcpy(&word, p + i, sizeof(word));
      if (word & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i == n) break;
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    // RFC 3629 / Unicode table 3-7: the range of the second byte depends on the lead byte,
    // which is what excludes overlongs (C0, C1, E0 80..9F, F0 80..8F), surrogates
    // (ED A0..BF) and code points above U+10FFFF (F4 90.., F5..FF).
    size_t len;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;  // continuation byte without a lead, C0, C1 or F5..FF
    }
    if (n - i < len) return i;  // truncated sequence
    if (p[i + 1] < lo || p[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

}  // namespace kubetrail::audit
