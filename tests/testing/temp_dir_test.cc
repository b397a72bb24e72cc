// Tests of TempDir: a fresh directory per object, files in it, recursive removal.
#include "tests/testing/temp_dir.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kubetrail::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

TEST(TempDirTest, CreatesDistinctDirectoriesAndRemovesThemWithTheirContents) {
  std::string kept;
  {
    TempDir a;
    TempDir b;
    ASSERT_TRUE(a.ok()) << a.error();
    ASSERT_TRUE(b.ok()) << b.error();
    EXPECT_TRUE(a.error().empty());
    EXPECT_NE(a.path(), b.path());
    EXPECT_TRUE(fs::path(a.path()).is_absolute()) << a.path();
    EXPECT_THAT(fs::path(a.path()).filename().string(), StartsWith("kubetrail-test-"));
    EXPECT_TRUE(fs::is_directory(a.path()));
    EXPECT_TRUE(fs::is_empty(a.path()));
    fs::create_directories(a.File("sub/deeper"));
    a.Write("sub/deeper/file", "x");
    kept = a.path();
  }
  EXPECT_FALSE(fs::exists(kept)) << kept;
}

TEST(TempDirTest, FileAndWrite) {
  TempDir dir;
  ASSERT_TRUE(dir.ok()) << dir.error();
  EXPECT_EQ(dir.File("a.jsonl"), dir.path() + "/a.jsonl");
  EXPECT_FALSE(fs::exists(dir.File("a.jsonl")));
  const std::string binary("one\0two\n", 8);
  const std::string path = dir.Write("a.jsonl", binary);
  EXPECT_EQ(path, dir.File("a.jsonl"));
  EXPECT_EQ(ReadFile(path), binary);
  dir.Write("a.jsonl", "short");
  EXPECT_EQ(ReadFile(path), "short");
}

TEST(TempDirTest, HonoursTmpdirAndReportsFailure) {
  TempDir outer;
  ASSERT_TRUE(outer.ok()) << outer.error();
  const char* old = std::getenv("TMPDIR");
  const std::string saved = old != nullptr ? old : "";
  ASSERT_EQ(setenv("TMPDIR", (outer.path() + "/").c_str(), 1), 0);
  {
    TempDir inner;
    ASSERT_TRUE(inner.ok()) << inner.error();
    EXPECT_EQ(fs::path(inner.path()).parent_path().string(), outer.path());
  }
  ASSERT_EQ(setenv("TMPDIR", outer.File("missing").c_str(), 1), 0);
  {
    TempDir failed;
    EXPECT_FALSE(failed.ok());
    EXPECT_TRUE(failed.path().empty());
    EXPECT_THAT(failed.error(), HasSubstr("missing/kubetrail-test-"));
  }
  if (old != nullptr) {
    setenv("TMPDIR", saved.c_str(), 1);
  } else {
    unsetenv("TMPDIR");
  }
}

}  // namespace
}  // namespace kubetrail::testing
