#include "clients/cli/policy.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "audit/codec.h"
#include "audit/gojson.h"
#include "audit/policy.h"
#include "clients/cli/convert.h"
#include "clients/cli/exit_codes.h"
#include "clients/cli/input.h"
#include "common/strings.h"
#include "kubetrail/v1/event.pb.h"

namespace kubetrail::cli {
namespace {

constexpr std::string_view kPrefix = "kubetrail policy: ";
constexpr std::array<audit::Level, 4> kLevels = {audit::Level::kNone, audit::Level::kMetadata,
                                                 audit::Level::kRequest,
                                                 audit::Level::kRequestResponse};
constexpr std::array<audit::Stage, 4> kStages = {
    audit::Stage::kRequestReceived, audit::Stage::kResponseStarted,
    audit::Stage::kResponseComplete, audit::Stage::kPanic};

// A loaded policy: the spec (for the rules' levels) and its compiled form.
struct LoadedPolicy {
  audit::PolicySpec spec;
  audit::Policy policy;
};

// Loads and compiles options.policy_file, reporting warnings and errors on `err`.
std::optional<LoadedPolicy> LoadPolicy(const PolicyOptions& options, std::ostream& err) {
  std::vector<audit::PolicyWarning> warnings;
  audit::PolicyLoadOptions load;
  load.strict = options.strict;
  absl::StatusOr<audit::PolicySpec> spec =
      audit::LoadPolicyFile(options.policy_file, load, &warnings);
  for (const audit::PolicyWarning& w : warnings) {
    err << kPrefix << options.policy_file;
    if (w.line > 0) err << ':' << w.line;
    err << ": warning: " << w.path << ": " << w.message << '\n';
  }
  absl::Status status = spec.status();
  std::optional<LoadedPolicy> loaded;
  if (status.ok()) {
    absl::StatusOr<audit::Policy> policy = audit::Policy::Compile(*spec);
    if (policy.ok()) {
      loaded.emplace(LoadedPolicy{*std::move(spec), *std::move(policy)});
      return loaded;
    }
    status = policy.status();
  }
  std::string_view message = ToStd(status.message());
  while (!message.empty()) {
    const size_t eol = message.find('\n');
    const std::string_view line = message.substr(0, eol);
    if (!line.empty()) err << kPrefix << line << '\n';
    if (eol == std::string_view::npos) break;
    message.remove_prefix(eol + 1);
  }
  if (ToStd(status.message()).empty()) err << kPrefix << "cannot load the policy\n";
  return loaded;
}

// One line of simulate's figures.
struct Figures {
  uint64_t events = 0;
  uint64_t events_kept = 0;
  uint64_t bytes = 0;
  uint64_t bytes_kept = 0;

  void Add(uint64_t in_bytes, bool kept, uint64_t kept_bytes) {
    ++events;
    bytes += in_bytes;
    if (kept) {
      ++events_kept;
      bytes_kept += kept_bytes;
    }
  }
};

struct Simulation {
  Figures total;
  std::array<Figures, 4> levels;  // by audit::Level
  std::vector<Figures> rules;     // by rule index
  Figures no_rule;
  uint64_t dropped_none = 0;
  uint64_t dropped_stage = 0;
};

void AppendFiguresJson(const Figures& f, std::string* out) {
  absl::StrAppend(out, "\"events\":", f.events, ",\"eventsKept\":", f.events_kept,
                  ",\"bytes\":", f.bytes, ",\"bytesKept\":", f.bytes_kept);
}

std::string SimulationJson(const Simulation& s, const audit::PolicySpec& spec,
                           bool skip_invalid, size_t invalid) {
  std::string out = "{\"total\":{";
  AppendFiguresJson(s.total, &out);
  out += "},\"levels\":[";
  for (size_t i = 0; i < kLevels.size(); ++i) {
    if (i > 0) out += ',';
    out += "{\"level\":";
    audit::AppendGoQuoted(audit::LevelName(kLevels[i]), &out);
    out += ',';
    AppendFiguresJson(s.levels[i], &out);
    out += '}';
  }
  out += "],\"rules\":[";
  for (size_t i = 0; i < s.rules.size(); ++i) {
    if (i > 0) out += ',';
    absl::StrAppend(&out, "{\"rule\":", i, ",\"level\":");
    audit::AppendGoQuoted(spec.rules[i].level, &out);
    out += ',';
    AppendFiguresJson(s.rules[i], &out);
    out += '}';
  }
  out += "],\"noRule\":{";
  AppendFiguresJson(s.no_rule, &out);
  absl::StrAppend(&out, "},\"dropped\":{\"levelNone\":", s.dropped_none,
                  ",\"omittedStage\":", s.dropped_stage, "}");
  if (skip_invalid) absl::StrAppend(&out, ",\"invalid\":", invalid);
  out += "}\n";
  return out;
}

// Rows of text cells; the first `text_columns` cells of a row are left-aligned, the rest
// (numbers) right-aligned; two spaces between columns, no trailing spaces.
std::string Table(const std::vector<std::vector<std::string>>& rows, size_t text_columns) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) line += "  ";
      const std::string pad(widths[i] - row[i].size(), ' ');
      if (i < text_columns) {
        line += row[i] + pad;
      } else {
        line += pad + row[i];
      }
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + '\n';
  }
  return out;
}

std::vector<std::string> FigureRow(std::string label, std::string_view level, const Figures& f) {
  return {std::move(label), std::string(level), absl::StrCat(f.events),
          absl::StrCat(f.events_kept), absl::StrCat(f.bytes), absl::StrCat(f.bytes_kept)};
}

std::string SimulationTable(const Simulation& s, const audit::PolicySpec& spec,
                            bool skip_invalid, size_t invalid) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"", "LEVEL", "EVENTS", "KEPT", "BYTES", "BYTES KEPT"});
  rows.push_back(FigureRow("total", "", s.total));
  for (size_t i = 0; i < kLevels.size(); ++i) {
    rows.push_back(FigureRow("level", audit::LevelName(kLevels[i]), s.levels[i]));
  }
  for (size_t i = 0; i < s.rules.size(); ++i) {
    rows.push_back(FigureRow(absl::StrCat("rule ", i), spec.rules[i].level, s.rules[i]));
  }
  rows.push_back(FigureRow("no rule", audit::LevelName(audit::Level::kNone), s.no_rule));
  std::string out = Table(rows, 2);
  out += '\n';
  std::vector<std::vector<std::string>> dropped;
  dropped.push_back({"DROPPED", "EVENTS"});
  dropped.push_back({"level None", absl::StrCat(s.dropped_none)});
  dropped.push_back({"omitted stage", absl::StrCat(s.dropped_stage)});
  if (skip_invalid) dropped.push_back({"invalid (skipped)", absl::StrCat(invalid)});
  out += Table(dropped, 1);
  return out;
}

}  // namespace

absl::Status ParseSimulateFormat(std::string_view name, SimulateFormat* format) {
  if (name == "table") {
    *format = SimulateFormat::kTable;
  } else if (name == "json") {
    *format = SimulateFormat::kJson;
  } else {
    return absl::InvalidArgumentError(
        Cat("unknown output format \"", name, "\" (want table or json)"));
  }
  return absl::OkStatus();
}

int RunPolicyValidate(const PolicyOptions& options, std::ostream& out, std::ostream& err) {
  std::optional<LoadedPolicy> loaded = LoadPolicy(options, err);
  if (!loaded) return kExitFailure;
  const size_t n = loaded->policy.rule_count();
  out << options.policy_file << ": ok (" << n << " rule" << (n == 1 ? "" : "s") << ")\n";
  out.flush();
  if (!out) {
    err << kPrefix << "cannot write output\n";
    return kExitFailure;
  }
  return kExitOk;
}

int RunPolicyEval(const PolicyOptions& options, std::istream& in, std::ostream& out,
                  std::ostream& err) {
  std::optional<LoadedPolicy> loaded = LoadPolicy(options, err);
  if (!loaded) return kExitFailure;
  EventRun run(EventRunOptions{kPrefix, options.inputs, options.skip_invalid, options.decode}, out,
               err);
  std::vector<std::string_view> stages;
  const bool ok = run.Run(in, [&](kubetrail::v1::Event& event, std::string* buf) {
    const audit::PolicyDecision d = loaded->policy.Evaluate(event);
    buf->append("{\"auditID\":");
    audit::AppendGoQuoted(event.audit_id(), buf);
    buf->append(",\"stage\":");
    audit::AppendGoQuoted(event.stage(), buf);
    buf->append(",\"level\":");
    audit::AppendGoQuoted(audit::LevelName(d.level), buf);
    buf->append(",\"omitStages\":[");
    stages.clear();
    for (audit::Stage stage : kStages) {
      if ((d.omit_stages & audit::StageBit(stage)) != 0) stages.push_back(audit::StageName(stage));
    }
    std::sort(stages.begin(), stages.end());
    for (size_t i = 0; i < stages.size(); ++i) {
      if (i > 0) buf->push_back(',');
      audit::AppendGoQuoted(stages[i], buf);
    }
    absl::StrAppend(buf, "],\"omitManagedFields\":", d.omit_managed_fields ? "true" : "false",
                    ",\"rule\":", d.rule, "}\n");
    return true;
  });
  if (!ok) return kExitFailure;
  run.Summary("read");
  return kExitOk;
}

int RunPolicyApply(const PolicyOptions& options, std::istream& in, std::ostream& out,
                   std::ostream& err) {
  std::optional<LoadedPolicy> loaded = LoadPolicy(options, err);
  if (!loaded) return kExitFailure;
  EventRun run(EventRunOptions{kPrefix, options.inputs, options.skip_invalid, options.decode}, out,
               err);
  const bool ok = run.Run(in, [&](kubetrail::v1::Event& event, std::string* buf) {
    const audit::PolicyDecision d = loaded->policy.Evaluate(event);
    if (audit::ApplyDecision(d, &event) == audit::ApplyOutcome::kKept) {
      audit::AppendEventJson(event, buf);
      buf->push_back('\n');
    }
    return true;
  });
  if (!ok) return kExitFailure;
  run.Summary("read");
  return kExitOk;
}

int RunPolicySimulate(const PolicyOptions& options, std::istream& in, std::ostream& out,
                      std::ostream& err) {
  std::optional<LoadedPolicy> loaded = LoadPolicy(options, err);
  if (!loaded) return kExitFailure;
  Simulation sim;
  sim.rules.resize(loaded->policy.rule_count());
  EventRun run(EventRunOptions{kPrefix, options.inputs, options.skip_invalid, options.decode}, out,
               err);
  std::string scratch;
  const bool ok = run.Run(in, [&](kubetrail::v1::Event& event, std::string*) {
    scratch.clear();
    audit::AppendEventJson(event, &scratch);
    const uint64_t bytes_in = scratch.size() + 1;
    const audit::PolicyDecision d = loaded->policy.Evaluate(event);
    const audit::ApplyOutcome outcome = audit::ApplyDecision(d, &event);
    const bool kept = outcome == audit::ApplyOutcome::kKept;
    uint64_t bytes_kept = 0;
    if (kept) {
      scratch.clear();
      audit::AppendEventJson(event, &scratch);
      bytes_kept = scratch.size() + 1;
    }
    if (outcome == audit::ApplyOutcome::kDroppedNone) ++sim.dropped_none;
    if (outcome == audit::ApplyOutcome::kDroppedStage) ++sim.dropped_stage;
    sim.total.Add(bytes_in, kept, bytes_kept);
    sim.levels[static_cast<size_t>(d.level)].Add(bytes_in, kept, bytes_kept);
    if (d.rule >= 0 && static_cast<size_t>(d.rule) < sim.rules.size()) {
      sim.rules[static_cast<size_t>(d.rule)].Add(bytes_in, kept, bytes_kept);
    } else {
      sim.no_rule.Add(bytes_in, kept, bytes_kept);
    }
    return true;
  });
  if (!ok) return kExitFailure;
  std::string* buf = run.buffer();
  *buf = options.format == SimulateFormat::kJson
             ? SimulationJson(sim, loaded->spec, options.skip_invalid, run.invalid())
             : SimulationTable(sim, loaded->spec, options.skip_invalid, run.invalid());
  if (!run.Flush()) return kExitFailure;
  run.Summary("read");
  return kExitOk;
}

}  // namespace kubetrail::cli
