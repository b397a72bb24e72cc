// A fresh private directory for one test, removed with everything in it when the TempDir goes
// away. Each TempDir is its own mkdtemp directory, so concurrent test processes (two ctest
// runs, ctest -j) never share a path.
//
//   TempDir dir;
//   ASSERT_TRUE(dir.ok()) << dir.error();
//   const std::string input = dir.Write("in.jsonl", "{...}\n");  // returns the file's path
//   const std::string output = dir.File("out.jsonl");             // just the path
//
// Thread safety: distinct TempDirs may be used from different threads; one TempDir is not
// synchronised.
#ifndef KUBETRAIL_TESTS_TESTING_TEMP_DIR_H_
#define KUBETRAIL_TESTS_TESTING_TEMP_DIR_H_

#include <string>
#include <string_view>

namespace kubetrail::testing {

class TempDir {
 public:
  // Creates $TMPDIR/kubetrail-test-XXXXXX (/tmp when TMPDIR is unset or empty). On failure
  // ok() is false and error() says why.
  TempDir();
  // Removes the directory and everything below it (std::filesystem::remove_all); errors are
  // ignored.
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  bool ok() const { return !path_.empty(); }
  // Why the directory could not be created; empty when ok().
  const std::string& error() const { return error_; }
  // The directory's absolute path, without a trailing '/'; empty unless ok().
  const std::string& path() const { return path_; }
  // path() + "/" + name. `name` may contain '/' (the subdirectories are not created).
  std::string File(std::string_view name) const;
  // Writes `content` to File(name), replacing it, and returns that path. A failed write is
  // not reported here: the test finds the file missing or short.
  std::string Write(std::string_view name, std::string_view content) const;

 private:
  std::string path_;
  std::string error_;
};

}  // namespace kubetrail::testing

#endif  // KUBETRAIL_TESTS_TESTING_TEMP_DIR_H_
