// Runs a program in the background for the length of a test (a server such as
// kubetrail-aggregator), capturing its standard output and error, so the test can wait for
// the line that says it is ready, talk to it, signal it, and check how it exited.
//
//   absl::StatusOr<std::unique_ptr<BackgroundProcess>> aggregator = BackgroundProcess::Start(
//       {BinDir() + "/kubetrail-aggregator", "--dev", "--listen", "127.0.0.1:0",
//        "--data-dir", dir.path()});
//   ASSERT_TRUE(aggregator.ok()) << aggregator.status();
//   absl::StatusOr<std::string> line =
//       (*aggregator)->WaitForLine("serving grpc=", absl::Seconds(30));
//   ASSERT_TRUE(line.ok()) << line.status();            // quotes stdout and stderr
//   ... talk to it ...
//   ASSERT_TRUE((*aggregator)->Signal(SIGTERM).ok());
//   absl::StatusOr<int> code = (*aggregator)->Wait(absl::Seconds(30));
//   EXPECT_EQ(*code, 0) << (*aggregator)->stderr_data();
//
// The child gets /dev/null as standard input, SIGPIPE at its default action and no blocked
// signal, whatever the test process did to its own. Its output is read as it comes by one
// thread of this object, so a chatty child never blocks on a full pipe. A child still running
// when the object is destroyed is killed (SIGKILL) and reaped.
//
// Thread safety: all methods may be called from any thread; the object must outlive them.
#ifndef KUBETRAIL_TESTS_TESTING_BACKGROUND_PROCESS_H_
#define KUBETRAIL_TESTS_TESTING_BACKGROUND_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace kubetrail::testing {

struct BackgroundProcessOptions {
  // Entries "NAME=value" added to (or replacing in) the parent's environment for the child.
  // Default: none; the child inherits the parent's environment.
  std::vector<std::string> env;
};

class BackgroundProcess {
 public:
  // The child's output streams.
  enum class Stream { kStdout, kStderr };

  // Starts argv[0] (a path; PATH is not searched) with arguments argv[1...]. Errors:
  // InvalidArgument for an empty argv; the errno mapping of posix_spawn's error (NotFound for
  // a missing program, ...); Internal for a failing pipe or thread.
  static absl::StatusOr<std::unique_ptr<BackgroundProcess>> Start(
      const std::vector<std::string>& argv, const BackgroundProcessOptions& options = {});

  // Kills (SIGKILL) and reaps the child unless Wait() has seen it exit; stops the reader.
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Waits until `stream` has a line containing `substring` and returns that line without its
  // '\n'. The search starts after the line the previous successful WaitForLine on the same
  // stream returned, so successive calls find successive lines. A last line without '\n'
  // counts once the stream is closed. Errors: DeadlineExceeded after `timeout`;
  // FailedPrecondition when the stream closed (the child exited) without such a line. Their
  // messages quote what the child wrote to both streams.
  absl::StatusOr<std::string> WaitForLine(std::string_view substring, absl::Duration timeout,
                                          Stream stream = Stream::kStdout);

  // Sends `signal` to the child. FailedPrecondition once Wait() has reaped it; else the errno
  // mapping of kill(2).
  absl::Status Signal(int signal);

  // Waits up to `timeout` for the child to exit and returns its exit status (0-255), or -1
  // when a signal ended it (see term_signal()). After it returns, the output of the child is
  // complete (unless a grandchild still holds the streams open, in which case it returns
  // after `timeout`). Once the child has been reaped, later calls return the same value at
  // once. DeadlineExceeded (the child keeps running) after `timeout`.
  absl::StatusOr<int> Wait(absl::Duration timeout);

  // The signal that ended the child; 0 when it exited or has not been reaped.
  int term_signal() const;

  // Everything the child has written to each stream so far.
  std::string stdout_data() const;
  std::string stderr_data() const;

 private:
  BackgroundProcess(pid_t pid, int stdout_fd, int stderr_fd, int wake_read, int wake_write);

  // The reader thread: appends both streams to their buffers until both close or the
  // object is destroyed.
  void ReadLoop();
  // Both streams quoted (truncated) for error messages.
  std::string QuoteOutput() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  const pid_t pid_;
  const int stdout_fd_;  // read ends of the child's streams; owned by the reader thread
  const int stderr_fd_;
  const int wake_read_;  // a write to wake_write_ stops the reader
  const int wake_write_;

  mutable absl::Mutex mu_;
  std::string stdout_ ABSL_GUARDED_BY(mu_);
  std::string stderr_ ABSL_GUARDED_BY(mu_);
  bool stdout_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool stderr_closed_ ABSL_GUARDED_BY(mu_) = false;
  // Where the next WaitForLine on each stream starts looking.
  size_t stdout_next_line_ ABSL_GUARDED_BY(mu_) = 0;
  size_t stderr_next_line_ ABSL_GUARDED_BY(mu_) = 0;
  // Set once waitpid has reaped the child.
  bool reaped_ ABSL_GUARDED_BY(mu_) = false;
  int exit_code_ ABSL_GUARDED_BY(mu_) = -1;
  int term_signal_ ABSL_GUARDED_BY(mu_) = 0;

  std::thread reader_;
};

}  // namespace kubetrail::testing

#endif  // KUBETRAIL_TESTS_TESTING_BACKGROUND_PROCESS_H_
