#include "tests/testing/temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>

namespace kubetrail::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = base != nullptr && *base != '\0' ? base : "/tmp";
  while (pattern.size() > 1 && pattern.back() == '/') pattern.pop_back();
  pattern += "/kubetrail-test-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    error_ = "mkdtemp " + pattern + ": " + std::strerror(errno);
    return;
  }
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(pattern, ec);
  path_ = ec ? pattern : absolute.string();
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::File(std::string_view name) const {
  std::string file = path_;
  file.push_back('/');
  file.append(name);
  return file;
}

std::string TempDir::Write(std::string_view name, std::string_view content) const {
  std::string file = File(name);
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  return file;
}

}  // namespace kubetrail::testing
