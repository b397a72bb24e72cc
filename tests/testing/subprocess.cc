#include "tests/testing/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/spawn.h"


namespace kubetrail::testing {
namespace {

constexpr size_t kReadChunkBytes = 64 << 10;
// What a DeadlineExceeded message quotes of each output stream, at most.
constexpr size_t kQuoteBytes = 2000;

// Owns a file descriptor; closes it when reset or destroyed.
class Fd {
 public:
  Fd() = default;
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset(int fd = -1) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// A pipe whose ends are close-on-exec (the child gets its copies through dup2, which clears
// the flag on the copy only).
absl::Status MakePipe(Fd* read_end, Fd* write_end) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::ErrnoToStatus(errno, "pipe2");
  read_end->reset(fds[0]);
  write_end->reset(fds[1]);
  return absl::OkStatus();
}

absl::Status SetNonBlocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return absl::ErrnoToStatus(errno, "fcntl(O_NONBLOCK)");
  }
  return absl::OkStatus();
}

// write(2) with SIGPIPE blocked on this thread; a SIGPIPE the write raised (the child closed
// its end) is consumed, so the caller just sees EPIPE and the process's handlers stay as they
// are.
ssize_t WriteWithoutSigpipe(int fd, const char* data, size_t size) {
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  sigset_t old_mask;
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old_mask);
  const ssize_t n = write(fd, data, size);
  const int error = errno;
  if (n < 0 && error == EPIPE) {
    const struct timespec no_wait = {0, 0};
    while (sigtimedwait(&pipe_only, nullptr, &no_wait) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  errno = error;
  return n;
}

// Kills and reaps the child.
void KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

std::string Quote(const std::string& data) {
  if (data.size() <= kQuoteBytes) return data;
  return absl::StrCat(data.substr(0, kQuoteBytes), "...[", data.size() - kQuoteBytes,
                      " more bytes]");
}

}  // namespace

absl::StatusOr<SubprocessResult> RunSubprocess(const std::vector<std::string>& argv,
                                               const SubprocessOptions& options) {
  if (argv.empty()) return absl::InvalidArgumentError("RunSubprocess: empty argv");
  const absl::Time deadline = absl::Now() + options.timeout;

  Fd stdin_read, stdin_write, stdout_read, stdout_write, stderr_read, stderr_write;
  for (auto [r, w] : {std::pair{&stdin_read, &stdin_write}, std::pair{&stdout_read, &stdout_write},
                      std::pair{&stderr_read, &stderr_write}}) {
    absl::Status status = MakePipe(r, w);
    if (!status.ok()) return status;
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, stdin_read.get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, stdout_write.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, stderr_write.get(), STDERR_FILENO);
  pid_t pid = -1;
  const int spawn_error = Spawn(argv, options.env, actions, &pid);
  posix_spawn_file_actions_destroy(&actions);
  // The child's ends belong to the child now; holding them would hide its end-of-file.
  stdin_read.reset();
  stdout_write.reset();
  stderr_write.reset();
  if (spawn_error != 0) return absl::ErrnoToStatus(spawn_error, "cannot start " + argv[0]);

  SubprocessResult result;
  for (const Fd* fd : {&stdin_write, &stdout_read, &stderr_read}) {
    absl::Status status = SetNonBlocking(fd->get());
    if (!status.ok()) {
      KillAndReap(pid);
      return status;
    }
  }
  size_t stdin_written = 0;
  if (options.stdin_data.empty()) stdin_write.reset();

  auto timed_out = [&] {
    KillAndReap(pid);
    return absl::DeadlineExceededError(
        absl::StrCat(argv[0], " still running after ", absl::FormatDuration(options.timeout),
                     "; killed. stdout: ", Quote(result.stdout_data),
                     " stderr: ", Quote(result.stderr_data)));
  };

  // Feed stdin and drain stdout and stderr together, so that a child blocked writing a full
  // pipe never waits for a parent blocked writing to it.
  while (stdin_write.valid() || stdout_read.valid() || stderr_read.valid()) {
    std::vector<pollfd> fds;
    if (stdin_write.valid()) fds.push_back({stdin_write.get(), POLLOUT, 0});
    if (stdout_read.valid()) fds.push_back({stdout_read.get(), POLLIN, 0});
    if (stderr_read.valid()) fds.push_back({stderr_read.get(), POLLIN, 0});
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return timed_out();
    const int64_t wait_ms = std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, INT_MAX);
    const int ready = poll(fds.data(), fds.size(), static_cast<int>(wait_ms));
    if (ready < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      KillAndReap(pid);
      return absl::ErrnoToStatus(error, "poll");
    }
    for (const pollfd& p : fds) {
      if (p.revents == 0) continue;
      if (p.fd == stdin_write.get()) {
        const ssize_t n =
            WriteWithoutSigpipe(p.fd, options.stdin_data.data() + stdin_written,
                                options.stdin_data.size() - stdin_written);
        if (n > 0) stdin_written += static_cast<size_t>(n);
        // EPIPE (or any other failure): the child will not read the rest; drop it.
        const bool failed = n < 0 && errno != EAGAIN && errno != EINTR;
        if (failed || stdin_written == options.stdin_data.size()) stdin_write.reset();
        continue;
      }
      Fd& source = p.fd == stdout_read.get() ? stdout_read : stderr_read;
      std::string& sink = p.fd == stdout_read.get() ? result.stdout_data : result.stderr_data;
      const size_t old_size = sink.size();
      sink.resize(old_size + kReadChunkBytes);
      const ssize_t n = read(p.fd, sink.data() + old_size, kReadChunkBytes);
      sink.resize(old_size + static_cast<size_t>(std::max<ssize_t>(n, 0)));
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) source.reset();
    }
  }

  // Both outputs are closed; the child is exiting or has exited.
  int status = 0;
  while (true) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) {
      const int error = errno;
      KillAndReap(pid);
      return absl::ErrnoToStatus(error, "waitpid");
    }
    if (absl::Now() >= deadline) return timed_out();
    absl::SleepFor(absl::Milliseconds(1));
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.term_signal = WTERMSIG(status);
  }
  return result;
}

}  // namespace kubetrail::testing
