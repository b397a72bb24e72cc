#include "kubetrail/filter.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "audit/microtime.h"
#include "common/strings.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "kubetrail/v1/query.pb.h"

namespace kubetrail {
namespace {

using StringList = google::protobuf::RepeatedPtrField<std::string>;

// True when `text` is "YYYY-MM-DD" (digits in place; the values are checked later).
bool LooksLikeDate(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

// Splits each of `values` at ',' and appends the parts to `*out`. An empty part is refused
// (naming `flag`) unless `allow_empty`.
absl::Status AddList(std::string_view flag, const std::vector<std::string>& values,
                     bool allow_empty, StringList* out) {
  for (const std::string& value : values) {
    for (absl::string_view part : absl::StrSplit(value, ',')) {
      if (part.empty() && !allow_empty) {
        return absl::InvalidArgumentError(Cat(flag, ": empty value in \"", value, "\""));
      }
      out->Add(std::string(part));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<absl::Duration> ParseSince(std::string_view text) {
  const auto bad = [text] {
    return absl::InvalidArgumentError(
        Cat("want a positive duration such as 2h, 90m, 7d or 1d12h, got \"", text, "\""));
  };
  // Signs would make "1d-2h" legal for ParseDuration's part; a duration back is positive.
  if (text.empty() || text.find_first_of("+-") != std::string_view::npos) return bad();
  absl::Duration total = absl::ZeroDuration();
  std::string_view rest = text;
  if (const size_t d = text.find('d'); d != std::string_view::npos) {
    const std::string_view count = text.substr(0, d);
    double days = 0;
    if (count.empty() || count.find_first_not_of("0123456789.") != std::string_view::npos ||
        !absl::SimpleAtod(ToAbsl(count), &days)) {
      return bad();
    }
    total = absl::Hours(24) * days;
    rest = text.substr(d + 1);
  }
  if (!rest.empty()) {
    absl::Duration part;
    if (!absl::ParseDuration(ToAbsl(rest), &part)) return bad();
    total += part;
  }
  if (total <= absl::ZeroDuration() || total == absl::InfiniteDuration()) return bad();
  return total;
}

absl::StatusOr<int64_t> ParseTimeFlag(std::string_view text, absl::Time now) {
  if (text == "now") return absl::ToUnixMicros(now);
  if (text.starts_with("now-")) {
    absl::StatusOr<absl::Duration> back = ParseSince(text.substr(4));
    if (!back.ok()) return back.status();
    return absl::ToUnixMicros(now - *back);
  }
  absl::StatusOr<int64_t> micros = LooksLikeDate(text)
                                       ? audit::ParseRfc3339Micros(Cat(text, "T00:00:00Z"))
                                       : audit::ParseRfc3339Micros(text);
  if (!micros.ok()) {
    return absl::InvalidArgumentError(
        Cat("want an RFC 3339 time (2026-11-27T10:00:00Z), a date (2026-11-27), now "
            "or now-DURATION, got \"",
            text, "\""));
  }
  return *micros;
}

absl::StatusOr<kubetrail::v1::Filter> BuildFilter(const FilterFlags& flags, absl::Time now) {
  kubetrail::v1::Filter filter;
  if (!flags.since.empty()) {
    if (!flags.from.empty() || !flags.to.empty()) {
      return absl::InvalidArgumentError("--since cannot be combined with --from or --to");
    }
    absl::StatusOr<absl::Duration> since = ParseSince(flags.since);
    if (!since.ok()) return absl::InvalidArgumentError(Cat("--since: ", since.status().message()));
    filter.set_from_us(absl::ToUnixMicros(now - *since));
  }
  for (auto [flag, text, setter] :
       {std::tuple{"--from", &flags.from, &kubetrail::v1::Filter::set_from_us},
        std::tuple{"--to", &flags.to, &kubetrail::v1::Filter::set_to_us}}) {
    if (text->empty()) continue;
    absl::StatusOr<int64_t> micros = ParseTimeFlag(*text, now);
    if (!micros.ok()) {
      return absl::InvalidArgumentError(Cat(flag, ": ", micros.status().message()));
    }
    (filter.*setter)(*micros);
  }
  if (filter.has_from_us() && filter.has_to_us() && filter.to_us() <= filter.from_us()) {
    return absl::InvalidArgumentError(Cat("--to (", audit::FormatMicroTime(filter.to_us()),
                                          ") must be after --from (",
                                          audit::FormatMicroTime(filter.from_us()), ")"));
  }

  struct List {
    const char* flag;
    const std::vector<std::string>& values;
    bool allow_empty;
    StringList* out;
  };
  for (const List& list : {
           List{"--cluster", flags.clusters, false, filter.mutable_clusters()},
           List{"--user", flags.users, false, filter.mutable_users()},
           List{"--as", flags.impersonated_users, false,
                filter.mutable_impersonated_users()},
           List{"--group", flags.groups, false, filter.mutable_groups()},
           List{"--verb", flags.verbs, false, filter.mutable_verbs()},
           List{"--namespace", flags.namespaces, true, filter.mutable_namespaces()},
           List{"--resource", flags.resources, false, filter.mutable_resources()},
           List{"--api-group", flags.api_groups, true, filter.mutable_api_groups()},
           List{"--name", flags.names, false, filter.mutable_names()},
           List{"--code", flags.codes, false, filter.mutable_codes()},
           List{"--stage", flags.stages, false, filter.mutable_stages()},
           List{"--level", flags.levels, false, filter.mutable_levels()},
           List{"--audit-id", flags.audit_ids, false, filter.mutable_audit_ids()},
           List{"--source-ip", flags.source_ips, false, filter.mutable_source_ips()},
       }) {
    if (absl::Status s = AddList(list.flag, list.values, list.allow_empty, list.out); !s.ok()) {
      return s;
    }
  }
  filter.set_user_agent_substring(flags.user_agent);
  return filter;
}

}  // namespace kubetrail
