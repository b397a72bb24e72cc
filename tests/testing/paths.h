// Where tests find the build's binaries, the source tree and the shared corpus of real audit
// events. ctest sets KUBETRAIL_BIN_DIR and KUBETRAIL_SOURCE_DIR for every test (see
// cmake/KubetrailHelpers.cmake); a test binary run by hand falls back to the directories of
// the build it came from, compiled into this library.
//
//   const std::string kubetrail = BinDir() + "/kubetrail";
//   const std::optional<std::string> corpus = CorpusDir();
//   if (!corpus) GTEST_SKIP() << "no corpus: " << CorpusSearchDescription();
#ifndef KUBETRAIL_TESTS_TESTING_PATHS_H_
#define KUBETRAIL_TESTS_TESTING_PATHS_H_

#include <optional>
#include <string>

namespace kubetrail::testing {

// $KUBETRAIL_BIN_DIR when set and non-empty, else the build's bin directory (build/bin).
std::string BinDir();

// $KUBETRAIL_SOURCE_DIR when set and non-empty, else the source tree the build came from.
std::string SourceDir();

// The directory of the shared corpus (*.jsonl files of real audit events): with
// $KUBETRAIL_CORPUS_DIR set and non-empty, that directory; otherwise
// SourceDir()/../shared/corpus. nullopt when the chosen path is not a directory (an explicit
// KUBETRAIL_CORPUS_DIR is never passed over for the default).
std::optional<std::string> CorpusDir();

// Where CorpusDir() looks and how to point it elsewhere, for skip messages, e.g.
// "/src/../shared/corpus (from KUBETRAIL_SOURCE_DIR; set KUBETRAIL_CORPUS_DIR to override)".
std::string CorpusSearchDescription();

}  // namespace kubetrail::testing

#endif  // KUBETRAIL_TESTS_TESTING_PATHS_H_
