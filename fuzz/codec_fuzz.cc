// Fuzz target: the audit codec (audit/codec.h, audit/event_batch.h) on arbitrary bytes, read as
// a webhook body or a chunk of an audit log.
//
// Properties:
//  - EventReader ends (at most one result per input byte) and never crashes; it returns the
//    same events and errors whether the input comes without padding (a buffer of exactly its
//    size: ASan catches any read past it), with the promised kReadPadding (a buffer of exactly
//    size + kReadPadding bytes, the padding filled with bytes that would change a parse), and
//    through a reused reader (Reset) into a reused EventBatch, as the webhook source reads.
//  - EventDecoder::Decode of the whole input never crashes.
//  - Every decoded event passes CheckRawJson (what the aggregator asks of what it stores).
//  - Round trip: every decoded event encodes (AppendEventJson) to JSON that decodes to the
//    same event and encodes to the same bytes; the events read back the same from an EventList
//    body and from JSON lines.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "audit/codec.h"
#include "audit/codec_testing.h"
#include "audit/event_batch.h"
#include "common/strings.h"
#include "fuzz/fuzz_check.h"
#include "kubetrail/v1/event.pb.h"

namespace kubetrail::audit {
namespace {

using ::kubetrail::v1::Event;

// One result of EventReader::Next: an event (as its JSON) or an error.
struct Result {
  bool ok = false;
  std::string text;  // the event's JSON, or the error
  size_t line = 0;
  bool operator==(const Result&) const = default;
};

std::string Describe(const std::vector<Result>& results) {
  std::string out;
  for (const Result& r : results) {
    out += Cat(r.ok ? "event" : "error", " (line ", r.line, "): ", r.text, "\n");
  }
  return out;
}

// Reads everything `next` (a call of EventReader::Next or EventBatch::ReadNext) yields.
template <typename Next>
std::vector<Result> ReadAll(size_t input_size, EventReader& reader, Next next,
                            std::vector<Event>* events) {
  std::vector<Result> results;
  Event event;
  while (true) {
    absl::StatusOr<bool> more = next(&event);
    // Each event or error consumes at least one byte of the input.
    KT_FUZZ_CHECK(results.size() <= input_size + 1, "EventReader does not end");
    if (!more.ok()) {
      const absl::StatusCode code = more.status().code();
      KT_FUZZ_CHECK(code == absl::StatusCode::kInvalidArgument ||
                        code == absl::StatusCode::kResourceExhausted,
                    more.status().ToString());
      results.push_back({false, std::string(more.status().message()), reader.line()});
      continue;
    }
    if (!*more) break;
    results.push_back({true, EncodeEventJson(event), reader.line()});
    if (events != nullptr) events->push_back(event);
  }
  return results;
}

// The events of `text` (JSON lines or an EventList) must be `expected`, in order.
void CheckReadsBack(std::string_view what, std::string_view text,
                    const std::vector<Event>& expected) {
  EventReader reader(text);
  Event event;
  size_t i = 0;
  while (true) {
    absl::StatusOr<bool> more = reader.Next(&event);
    KT_FUZZ_CHECK(more.ok(),
                  Cat(what, " does not read back: ", more.status().ToString(), "\n", text));
    if (!*more) break;
    KT_FUZZ_CHECK(i < expected.size(), Cat(what, " reads back more events\n", text));
    std::string diff;
    KT_FUZZ_CHECK(testing::SameEvent(expected[i], event, &diff),
                  Cat(what, " reads back event ", i, " differently: ", diff, "\n", text));
    ++i;
  }
  KT_FUZZ_CHECK(i == expected.size(), Cat(what, " reads back fewer events\n", text));
}

// Decode -> encode -> decode gives the same event and the same bytes; the aggregator takes
// every decoded event (CheckRawJson).
void CheckRoundTrip(EventDecoder& decoder, const Event& event) {
  const std::string json = EncodeEventJson(event);
  const absl::Status raw = CheckRawJson(event);
  KT_FUZZ_CHECK(raw.ok(), Cat("decoded event fails CheckRawJson: ", raw.ToString(), "\n", json));
  Event again;
  absl::Status s = decoder.Decode(json, &again);
  KT_FUZZ_CHECK(s.ok(), Cat("encoded event does not decode: ", s.ToString(), "\n", json));
  std::string diff;
  KT_FUZZ_CHECK(testing::SameEvent(event, again, &diff),
                Cat("round trip changed the event: ", diff, "\n", json));
  const std::string json_again = EncodeEventJson(again);
  KT_FUZZ_CHECK(json_again == json, Cat("re-encoding differs:\n", json, "\n", json_again));
}

}  // namespace
}  // namespace kubetrail::audit

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ::kubetrail::audit;  // NOLINT(build/namespaces): one function
  using ::kubetrail::v1::Event;

  // Exactly `size` readable bytes.
  std::unique_ptr<char[]> exact(new char[size == 0 ? 1 : size]);
  std::memcpy(exact.get(), data, size);
  const std::string_view input(exact.get(), size);

  // Exactly size + kReadPadding readable bytes. The padding holds what would extend a token
  // or open a value if a parser took it for input.
  std::unique_ptr<char[]> padded(new char[size + kReadPadding]);
  std::memcpy(padded.get(), data, size);
  for (size_t i = 0; i < kReadPadding; ++i) padded[size + i] = "1\"{["[i % 4];
  const std::string_view padded_input(padded.get(), size);

  std::vector<Event> events;
  EventReader reader(input);
  const std::vector<Result> plain = ReadAll(
      size, reader, [&](Event* e) { return reader.Next(e); }, &events);

  reader.Reset(padded_input, kReadPadding);
  const std::vector<Result> with_padding = ReadAll(
      size, reader, [&](Event* e) { return reader.Next(e); }, nullptr);
  KT_FUZZ_CHECK(with_padding == plain,
                "with padding:\n" + Describe(with_padding) + "without:\n" + Describe(plain));

  // A reused reader and batch, as the webhook source reads bodies.
  EventBatch batch;
  for (int round = 0; round < 2; ++round) {
    batch.Clear();
    reader.Reset(round == 0 ? input : padded_input, round == 0 ? 0 : kReadPadding);
    const std::vector<Result> batched = ReadAll(
        size, reader,
        [&](Event* e) {
          absl::StatusOr<bool> more = batch.ReadNext(reader);
          if (more.ok() && *more) *e = *batch.events().back();
          return more;
        },
        nullptr);
    KT_FUZZ_CHECK(batched == plain,
                  "through EventBatch:\n" + Describe(batched) + "directly:\n" + Describe(plain));
  }

  EventDecoder decoder;
  Event single;
  if (decoder.Decode(input, &single).ok()) CheckRoundTrip(decoder, single);

  if (events.empty()) return 0;
  std::string lines;
  std::vector<const Event*> pointers;
  for (const Event& e : events) {
    CheckRoundTrip(decoder, e);
    AppendEventJson(e, &lines);
    lines.push_back('\n');
    pointers.push_back(&e);
  }
  CheckReadsBack("JSON lines", lines, events);
  std::string list;
  AppendEventListJson(pointers, &list);
  CheckReadsBack("EventList", list, events);
  return 0;
}
