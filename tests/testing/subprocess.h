// Runs a program as a child process with given standard input and captures its standard
// output, standard error and exit status: for tests that exercise the real binaries
// (build/bin/...), end to end.
//
//   SubprocessOptions options;
//   options.stdin_data = "{...}\n";
//   absl::StatusOr<SubprocessResult> r =
//       RunSubprocess({bin_dir + "/kubetrail", "convert"}, options);
//   ASSERT_TRUE(r.ok()) << r.status();
//   EXPECT_EQ(r->exit_code, 0) << r->stderr_data;
//
// Thread safety: RunSubprocess may be called from several threads at once. It does not
// change the process's signal dispositions: SIGPIPE (a child that stops reading its input)
// is blocked on the calling thread while writing and consumed, never delivered.
#ifndef KUBETRAIL_TESTS_TESTING_SUBPROCESS_H_
#define KUBETRAIL_TESTS_TESTING_SUBPROCESS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kubetrail::testing {

struct SubprocessOptions {
  // Written to the child's standard input, which is then closed. Default: empty (the child
  // reads end-of-file at once). Whatever the child does not read is dropped.
  std::string stdin_data;
  // Entries "NAME=value" added to (or replacing in) the parent's environment for the child.
  // Default: none; the child inherits the parent's environment.
  std::vector<std::string> env;
  // How long the child may run; after that it is killed with SIGKILL and RunSubprocess
  // returns DeadlineExceeded. Default: 60 s.
  absl::Duration timeout = absl::Seconds(60);
};

struct SubprocessResult {
  // The child's exit status (0-255) when it exited; -1 when a signal ended it.
  int exit_code = -1;
  // The signal that ended the child; 0 when it exited.
  int term_signal = 0;
  // Everything the child wrote to standard output and standard error.
  std::string stdout_data;
  std::string stderr_data;
};

// Runs argv[0] (a path; PATH is not searched) with arguments argv[1...] and waits for it.
// Errors: InvalidArgument for an empty argv; the errno mapping of posix_spawn's error
// (NotFound for a missing program, ...) when it cannot start; DeadlineExceeded when it
// outlives options.timeout (the message holds what it wrote so far, truncated); Internal
// for a failing pipe, poll or waitpid.
absl::StatusOr<SubprocessResult> RunSubprocess(const std::vector<std::string>& argv,
                                               const SubprocessOptions& options = {});

}  // namespace kubetrail::testing

#endif  // KUBETRAIL_TESTS_TESTING_SUBPROCESS_H_
