#include "tests/testing/paths.h"

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>

// Set by tests/testing/CMakeLists.txt to the build's directories.
#if !defined(KUBETRAIL_DEFAULT_BIN_DIR) || !defined(KUBETRAIL_DEFAULT_SOURCE_DIR)
#error "KUBETRAIL_DEFAULT_BIN_DIR and KUBETRAIL_DEFAULT_SOURCE_DIR must be defined by the build"
#endif

namespace kubetrail::testing {
namespace {

// The environment variable `name` when set and non-empty, else nullopt.
std::optional<std::string> Env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

// The directory CorpusDir() checks, and whether it came from KUBETRAIL_CORPUS_DIR.
std::string CorpusCandidate(bool* from_env) {
  if (std::optional<std::string> dir = Env("KUBETRAIL_CORPUS_DIR")) {
    *from_env = true;
    return *dir;
  }
  *from_env = false;
  return (std::filesystem::path(SourceDir()) / ".." / "shared" / "corpus").string();
}

}  // namespace

std::string BinDir() { return Env("KUBETRAIL_BIN_DIR").value_or(KUBETRAIL_DEFAULT_BIN_DIR); }

std::string SourceDir() {
  return Env("KUBETRAIL_SOURCE_DIR").value_or(KUBETRAIL_DEFAULT_SOURCE_DIR);
}

std::optional<std::string> CorpusDir() {
  bool from_env = false;
  std::string dir = CorpusCandidate(&from_env);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return std::nullopt;
  return dir;
}

std::string CorpusSearchDescription() {
  bool from_env = false;
  const std::string dir = CorpusCandidate(&from_env);
  const std::string shown = std::filesystem::path(dir).lexically_normal().string();
  if (from_env) return shown + " (from KUBETRAIL_CORPUS_DIR)";
  const char* source =
      Env("KUBETRAIL_SOURCE_DIR") ? "KUBETRAIL_SOURCE_DIR" : "the build's source dir";
  return shown + " (from " + source + "; set KUBETRAIL_CORPUS_DIR to look elsewhere)";
}

}  // namespace kubetrail::testing
