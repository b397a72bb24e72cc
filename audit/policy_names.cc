// Level and Stage names, exactly as audit.k8s.io/v1 spells them.
#include <array>

#include "audit/policy.h"

namespace kubetrail::audit {
namespace {

constexpr std::array<std::string_view, 4> kLevelNames = {"None", "Metadata", "Request",
                                                         "RequestResponse"};
constexpr std::array<std::string_view, 4> kStageNames = {"RequestReceived", "ResponseStarted",
                                                         "ResponseComplete", "Panic"};

}  // namespace

std::optional<Level> ParseLevel(std::string_view name) {
  for (size_t i = 0; i < kLevelNames.size(); ++i) {
    if (name == kLevelNames[i]) return static_cast<Level>(i);
  }
  return std::nullopt;
}

std::string_view LevelName(Level level) { return kLevelNames[static_cast<size_t>(level)]; }

Level RankLevel(std::string_view name) { return ParseLevel(name).value_or(Level::kNone); }

std::optional<Stage> ParseStage(std::string_view name) {
  for (size_t i = 0; i < kStageNames.size(); ++i) {
    if (name == kStageNames[i]) return static_cast<Stage>(i);
  }
  return std::nullopt;
}

std::string_view StageName(Stage stage) { return kStageNames[static_cast<size_t>(stage)]; }

}  // namespace kubetrail::audit
