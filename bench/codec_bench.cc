// kubetrail-bench: codec throughput with Google Benchmark.
//
// Every benchmark reports events/s (items_per_second) and input MB/s (bytes_per_second) on one
// core, plus bytes/event. Data: loadgen events (seed 1, the default mix: 1.5 KB median, 2.9 KB
// mean), the subset of them of about 2 KB, and, when it is found beside the checkout, the shared
// corpus of real audit events.
//
//   kubetrail-bench --benchmark_format=json          (make bench writes bench-results.json)
//
// Environment: KUBETRAIL_CORPUS_DIR overrides where the corpus is looked for.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "audit/codec.h"
#include "audit/event_batch.h"
#include "bench/loadgen/generator.h"

namespace kubetrail {
namespace {

constexpr int64_t kStartUs = 1793491200000000;  // 2026-11-01T00:00:00Z

struct Dataset {
  std::vector<std::string> lines;
  std::vector<kubetrail::v1::Event> events;
  size_t bytes = 0;
};

void Finish(Dataset& d) {
  audit::EventDecoder decoder;
  d.events.resize(d.lines.size());
  for (size_t i = 0; i < d.lines.size(); ++i) {
    d.bytes += d.lines[i].size();
    if (!decoder.Decode(d.lines[i], &d.events[i]).ok()) std::abort();
  }
}

const Dataset& Loadgen() {
  static const Dataset* data = [] {
    auto* d = new Dataset;
    loadgen::Generator gen(1, kStartUs);
    kubetrail::v1::Event event;
    for (int i = 0; i < 20000; ++i) {
      gen.Next(&event);
      d->lines.push_back(audit::EncodeEventJson(event));
    }
    Finish(*d);
    return d;
  }();
  return *data;
}

// The yardstick: events of about 2 KB (loadgen events whose line is 1.5-2.5 KB; the
// full mix above averages ~2.9 KB because of its rare very large bodies).
const Dataset& LoadgenAbout2K() {
  static const Dataset* data = [] {
    auto* d = new Dataset;
    loadgen::Generator gen(1, kStartUs);
    kubetrail::v1::Event event;
    while (d->lines.size() < 5000) {
      gen.Next(&event);
      std::string line = audit::EncodeEventJson(event);
      if (line.size() >= 1536 && line.size() <= 2560) d->lines.push_back(std::move(line));
    }
    Finish(*d);
    return d;
  }();
  return *data;
}

std::filesystem::path CorpusDir() {
  if (const char* env = std::getenv("KUBETRAIL_CORPUS_DIR")) return env;
  for (std::filesystem::path p :
       {"../shared/corpus", "../../shared/corpus", "../../../shared/corpus"}) {
    if (std::filesystem::is_directory(p)) return p;
  }
  return {};
}

const Dataset& Corpus() {
  static const Dataset* data = [] {
    auto* d = new Dataset;
    const std::filesystem::path dir = CorpusDir();
    if (dir.empty()) return d;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.path().extension() != ".jsonl") continue;
      std::ifstream in(entry.path());
      for (std::string line; std::getline(in, line);) {
        if (!line.empty()) d->lines.push_back(line);
      }
    }
    Finish(*d);
    return d;
  }();
  return *data;
}

void Report(benchmark::State& state, const Dataset& d, int64_t iterations_events) {
  state.SetItemsProcessed(iterations_events);
  state.SetBytesProcessed(
      static_cast<int64_t>(static_cast<double>(d.bytes) / static_cast<double>(d.lines.size()) *
                           static_cast<double>(iterations_events)));
  state.counters["bytes_per_event"] =
      static_cast<double>(d.bytes) / static_cast<double>(d.lines.size());
}

// Runs `step(i)` once per iteration for event i of the dataset in turn, then reports events
// and bytes. `step` returns nullptr, or an error that fails the benchmark.
template <typename Step>
void PerEvent(benchmark::State& state, const Dataset& d, Step step) {
  if (d.lines.empty()) {
    state.SkipWithError("no data (corpus not found; set KUBETRAIL_CORPUS_DIR)");
    return;
  }
  size_t i = 0;
  for (auto _ : state) {
    if (const char* error = step(i)) {
      state.SkipWithError(error);
      break;
    }
    if (++i == d.lines.size()) i = 0;
  }
  Report(state, d, state.iterations());
}

void DecodeLines(benchmark::State& state, const Dataset& (*data)()) {
  const Dataset& d = data();
  audit::EventDecoder decoder;
  kubetrail::v1::Event event;
  PerEvent(state, d, [&](size_t i) -> const char* {
    if (!decoder.Decode(d.lines[i], &event).ok()) return "decode failed";
    benchmark::DoNotOptimize(event);
    return nullptr;
  });
}

void EncodeEvents(benchmark::State& state, const Dataset& (*data)()) {
  const Dataset& d = data();
  std::string out;
  PerEvent(state, d, [&](size_t i) -> const char* {
    out.clear();
    audit::AppendEventJson(d.events[i], &out);
    benchmark::DoNotOptimize(out.data());
    return nullptr;
  });
}

// What the aggregator's ingest checks of every event (audit::CheckRawJson).
void CheckRawJson(benchmark::State& state, const Dataset& (*data)()) {
  const Dataset& d = data();
  PerEvent(state, d, [&](size_t i) -> const char* {
    return audit::CheckRawJson(d.events[i]).ok() ? nullptr : "an event fails CheckRawJson";
  });
}

// Calls next() (which reads one event) until the input is exhausted; a read error fails the
// benchmark.
template <typename Next>
void ReadAll(benchmark::State& state, Next next) {
  while (true) {
    absl::StatusOr<bool> more = next();
    if (!more.ok()) state.SkipWithError("read failed");
    if (!more.ok() || !*more) break;
  }
}

// The EventList body of the dataset's first 400 events (the apiserver's default batch);
// *events says how many it holds.
std::string WebhookBody(const Dataset& d, size_t* events) {
  std::vector<const kubetrail::v1::Event*> batch;
  for (size_t i = 0; i < 400 && i < d.events.size(); ++i) batch.push_back(&d.events[i]);
  std::string body;
  audit::AppendEventListJson(batch, &body);
  *events = batch.size();
  return body;
}

void ReportBody(benchmark::State& state, const std::string& body, size_t events) {
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(events));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
  state.counters["bytes_per_event"] =
      static_cast<double>(body.size()) / static_cast<double>(events);
}

// A webhook body of 400 events (the apiserver's default batch) through EventReader.
void ReadEventList(benchmark::State& state, const Dataset& (*data)()) {
  const Dataset& d = data();
  if (d.events.empty()) {
    state.SkipWithError("no data");
    return;
  }
  size_t events_in_body = 0;
  const std::string body = WebhookBody(d, &events_in_body);
  kubetrail::v1::Event event;
  audit::EventReader reader("");  // reused, as a webhook worker would
  for (auto _ : state) {
    reader.Reset(body);
    ReadAll(state, [&] { return reader.Next(&event); });
  }
  ReportBody(state, body, events_in_body);
}

// The same body as a webhook worker decodes it: every event kept (in an EventBatch, on its
// reused arena) until the body is done, then all dropped at once.
void ReadEventListToBatch(benchmark::State& state, const Dataset& (*data)()) {
  const Dataset& d = data();
  if (d.events.empty()) {
    state.SkipWithError("no data");
    return;
  }
  size_t events_in_body = 0;
  const std::string body = WebhookBody(d, &events_in_body);
  audit::EventReader reader("");
  audit::EventBatch events;
  for (auto _ : state) {
    events.Clear();
    reader.Reset(body);
    ReadAll(state, [&] { return events.ReadNext(reader); });
    if (events.size() != events_in_body) state.SkipWithError("events lost");
  }
  ReportBody(state, body, events_in_body);
}

// A log file's worth of JSON lines through EventReader (detection, line splitting, decode).
void ReadJsonLines(benchmark::State& state, const Dataset& (*data)()) {
  const Dataset& d = data();
  if (d.lines.empty()) {
    state.SkipWithError("no data");
    return;
  }
  std::string text;
  for (const auto& line : d.lines) text.append(line).push_back('\n');
  kubetrail::v1::Event event;
  audit::EventReader reader("");
  for (auto _ : state) {
    reader.Reset(text);
    ReadAll(state, [&] { return reader.Next(&event); });
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(d.lines.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}

BENCHMARK_CAPTURE(DecodeLines, loadgen, &Loadgen);
BENCHMARK_CAPTURE(EncodeEvents, loadgen, &Loadgen);
BENCHMARK_CAPTURE(DecodeLines, loadgen_2kb, &LoadgenAbout2K);
BENCHMARK_CAPTURE(EncodeEvents, loadgen_2kb, &LoadgenAbout2K);
BENCHMARK_CAPTURE(ReadEventList, loadgen_400, &Loadgen);
BENCHMARK_CAPTURE(ReadEventListToBatch, loadgen_400, &Loadgen);
BENCHMARK_CAPTURE(ReadEventListToBatch, loadgen_2kb_400, &LoadgenAbout2K);
BENCHMARK_CAPTURE(ReadJsonLines, loadgen_20k, &Loadgen)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(CheckRawJson, loadgen_2kb, &LoadgenAbout2K);
BENCHMARK_CAPTURE(DecodeLines, corpus, &Corpus);
BENCHMARK_CAPTURE(EncodeEvents, corpus, &Corpus);

}  // namespace
}  // namespace kubetrail
