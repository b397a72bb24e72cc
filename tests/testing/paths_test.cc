// Tests of paths.h: environment first, the build's directories otherwise, and where the
// corpus is looked for.
#include "tests/testing/paths.h"

#include <stdlib.h>

#include <filesystem>
#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace kubetrail::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Sets (or, with nullptr, unsets) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(PathsTest, EnvironmentComesFirst) {
  ScopedEnv bin("KUBETRAIL_BIN_DIR", "/some/bin");
  ScopedEnv src("KUBETRAIL_SOURCE_DIR", "/some/src");
  EXPECT_EQ(BinDir(), "/some/bin");
  EXPECT_EQ(SourceDir(), "/some/src");
}

TEST(PathsTest, WithoutEnvironmentTheBuildsDirectories) {
  ScopedEnv bin("KUBETRAIL_BIN_DIR", "");
  ScopedEnv src("KUBETRAIL_SOURCE_DIR", nullptr);
  EXPECT_TRUE(fs::is_directory(BinDir())) << BinDir();
  EXPECT_TRUE(fs::is_regular_file(fs::path(SourceDir()) / "tests" / "testing" / "paths.h"))
      << SourceDir();
}

TEST(PathsTest, CorpusDirFromTheEnvironmentOrBesideTheSourceTree) {
  TempDir dir;
  ASSERT_TRUE(dir.ok()) << dir.error();
  fs::create_directories(dir.File("shared/corpus"));
  fs::create_directories(dir.File("src"));
  {
    ScopedEnv corpus("KUBETRAIL_CORPUS_DIR", nullptr);
    ScopedEnv src("KUBETRAIL_SOURCE_DIR", dir.File("src").c_str());
    ASSERT_TRUE(CorpusDir().has_value());
    EXPECT_EQ(fs::canonical(*CorpusDir()), fs::canonical(dir.File("shared/corpus")));
    EXPECT_THAT(CorpusSearchDescription(), HasSubstr(dir.File("shared/corpus")));
    EXPECT_THAT(CorpusSearchDescription(), HasSubstr("KUBETRAIL_SOURCE_DIR"));
  }
  {
    ScopedEnv corpus("KUBETRAIL_CORPUS_DIR", dir.path().c_str());
    ScopedEnv src("KUBETRAIL_SOURCE_DIR", dir.File("src").c_str());
    EXPECT_EQ(CorpusDir(), dir.path());
    EXPECT_THAT(CorpusSearchDescription(), HasSubstr("KUBETRAIL_CORPUS_DIR"));
  }
  {
    // An explicit KUBETRAIL_CORPUS_DIR that is not a directory is not passed over.
    ScopedEnv corpus("KUBETRAIL_CORPUS_DIR", dir.File("missing").c_str());
    ScopedEnv src("KUBETRAIL_SOURCE_DIR", dir.File("src").c_str());
    EXPECT_EQ(CorpusDir(), std::nullopt);
    EXPECT_THAT(CorpusSearchDescription(), HasSubstr(dir.File("missing")));
  }
  {
    // No shared/corpus beside the source tree.
    ScopedEnv corpus("KUBETRAIL_CORPUS_DIR", nullptr);
    ScopedEnv src("KUBETRAIL_SOURCE_DIR", dir.File("shared/corpus").c_str());
    EXPECT_EQ(CorpusDir(), std::nullopt);
  }
}

}  // namespace
}  // namespace kubetrail::testing
