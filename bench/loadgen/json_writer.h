// JsonWriter: builds compact JSON in exactly the form Go's json.Marshal writes it (no
// whitespace; strings escaped by audit::AppendGoQuoted, which turns `<` `>` `&` into \u003c
// \u003e \u0026 and keeps non-ASCII as raw UTF-8). Keys are written in the order given, so
// callers follow the Go struct order of the object they build.
//
//   std::string out;
//   JsonWriter w(&out);
//   w.BeginObject().Str("kind", "ConfigMap").Obj("data").Str("a<b", "1").EndObject().EndObject();
//   // out == R"({"kind":"ConfigMap","data":{"a\u003cb":"1"}})"
//
// Commas are inserted automatically. Nesting is limited to 64 levels (Kubernetes objects,
// managedFields included, stay far below that).
#ifndef KUBETRAIL_BENCH_LOADGEN_JSON_WRITER_H_
#define KUBETRAIL_BENCH_LOADGEN_JSON_WRITER_H_

#include <cassert>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "audit/gojson.h"

namespace kubetrail::loadgen {

class JsonWriter {
 public:
  // Appends to `*out`, which must outlive the writer.
  explicit JsonWriter(std::string* out) : out_(out) {}

  JsonWriter& BeginObject() {
    Open('{');
    return *this;
  }
  JsonWriter& EndObject() {
    Close('}');
    return *this;
  }
  JsonWriter& BeginArray() {
    Open('[');
    return *this;
  }
  JsonWriter& EndArray() {
    Close(']');
    return *this;
  }
  JsonWriter& Key(std::string_view key) {
    BeforeValue();
    Quote(key);
    out_->push_back(':');
    after_key_ = true;
    return *this;
  }
  JsonWriter& String(std::string_view value) {
    BeforeValue();
    Quote(value);
    return *this;
  }
  JsonWriter& Int(int64_t value) {
    BeforeValue();
    char buf[24];
    const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), value);
    out_->append(buf, static_cast<size_t>(r.ptr - buf));
    return *this;
  }
  JsonWriter& Bool(bool value) {
    BeforeValue();
    out_->append(value ? "true" : "false");
    return *this;
  }
  JsonWriter& Null() {
    BeforeValue();
    out_->append("null");
    return *this;
  }
  // Writes `json`, which must already be one compact Go-form JSON value.
  JsonWriter& Raw(std::string_view json) {
    BeforeValue();
    out_->append(json);
    return *this;
  }

  // Key/value shortcuts.
  JsonWriter& Str(std::string_view key, std::string_view value) { return Key(key).String(value); }
  JsonWriter& Num(std::string_view key, int64_t value) { return Key(key).Int(value); }
  JsonWriter& Flag(std::string_view key, bool value) { return Key(key).Bool(value); }
  JsonWriter& Obj(std::string_view key) { return Key(key).BeginObject(); }
  JsonWriter& Arr(std::string_view key) { return Key(key).BeginArray(); }
  // `"key":{}`: the empty marker objects of managedFields (`"f:name":{}`) and empty structs.
  JsonWriter& Empty(std::string_view key) {
    Key(key);
    BeforeValue();
    out_->append("{}");
    return *this;
  }

  // Starts a value that the caller appends to out() itself (for example a timestamp written
  // straight into the buffer); the caller must append exactly one valid JSON value.
  std::string* BeginRawValue() {
    BeforeValue();
    return out_;
  }

  std::string* out() { return out_; }

 private:
  // Most keys and values are plain printable ASCII, which Go writes unchanged between quotes;
  // only strings that need escaping go through audit::AppendGoQuoted (same bytes either way,
  // the shortcut just saves time).
  void Quote(std::string_view s) {
    for (const char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&') {
        audit::AppendGoQuoted(s, out_);
        return;
      }
    }
    out_->push_back('"');
    out_->append(s);
    out_->push_back('"');
  }
  void BeforeValue() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (depth_ == 0) return;
    const uint64_t bit = uint64_t{1} << (depth_ - 1);
    if (nonempty_ & bit) {
      out_->push_back(',');
    } else {
      nonempty_ |= bit;
    }
  }
  void Open(char c) {
    BeforeValue();
    out_->push_back(c);
    assert(depth_ < 64);
    nonempty_ &= ~(uint64_t{1} << depth_);
    ++depth_;
  }
  void Close(char c) {
    assert(depth_ > 0);
    --depth_;
    out_->push_back(c);
  }

  std::string* out_;
  uint64_t nonempty_ = 0;  // bit d: the container at depth d+1 already holds an element
  int depth_ = 0;
  bool after_key_ = false;
};

}  // namespace kubetrail::loadgen

#endif  // KUBETRAIL_BENCH_LOADGEN_JSON_WRITER_H_
