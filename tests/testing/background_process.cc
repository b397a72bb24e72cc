#include "tests/testing/background_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/strings.h"
#include "common/spawn.h"

namespace kubetrail::testing {
namespace {

constexpr size_t kReadChunkBytes = 64 << 10;
// What an error message quotes of each output stream, at most (its end: the latest output).
constexpr size_t kQuoteBytes = 4000;

void CloseIfOpen(int fd) {
  if (fd >= 0) close(fd);
}

std::string QuoteTail(std::string_view data) {
  if (data.size() <= kQuoteBytes) return std::string(data);
  return absl::StrCat("[", data.size() - kQuoteBytes, " bytes]...",
                      ToAbsl(data.substr(data.size() - kQuoteBytes)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<BackgroundProcess>> BackgroundProcess::Start(
    const std::vector<std::string>& argv, const BackgroundProcessOptions& options) {
  if (argv.empty()) return absl::InvalidArgumentError("BackgroundProcess: empty argv");

  // Every descriptor is close-on-exec; the child gets its copies through dup2, which clears
  // the flag on the copy only. fds: stdout pipe, stderr pipe, wake pipe, /dev/null.
  int out_pipe[2] = {-1, -1};
  int err_pipe[2] = {-1, -1};
  int wake_pipe[2] = {-1, -1};
  auto close_all = [&] {
    for (int fd :
         {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1], wake_pipe[0], wake_pipe[1]}) {
      CloseIfOpen(fd);
    }
  };
  for (int* p : {out_pipe, err_pipe, wake_pipe}) {
    if (pipe2(p, O_CLOEXEC) != 0) {
      const int error = errno;
      close_all();
      return absl::ErrnoToStatus(error, "pipe2");
    }
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  pid_t pid = -1;
  const int spawn_error = Spawn(argv, options.env, actions, &pid);
  posix_spawn_file_actions_destroy(&actions);
  // The child's ends belong to the child now; holding them would hide its end-of-file.
  close(out_pipe[1]);
  close(err_pipe[1]);
  out_pipe[1] = err_pipe[1] = -1;
  if (spawn_error != 0) {
    close_all();
    return absl::ErrnoToStatus(spawn_error, "cannot start " + argv[0]);
  }

  std::unique_ptr<BackgroundProcess> process(
      new BackgroundProcess(pid, out_pipe[0], err_pipe[0], wake_pipe[0], wake_pipe[1]));
  try {
    process->reader_ = std::thread([p = process.get()] { p->ReadLoop(); });
  } catch (const std::system_error& e) {
    // The destructor kills the child; the reader never ran, so close its descriptors here.
    close(out_pipe[0]);
    close(err_pipe[0]);
    return absl::InternalError(absl::StrCat("cannot start the reader thread: ", e.what()));
  }
  return process;
}

BackgroundProcess::BackgroundProcess(pid_t pid, int stdout_fd, int stderr_fd, int wake_read,
                                     int wake_write)
    : pid_(pid),
      stdout_fd_(stdout_fd),
      stderr_fd_(stderr_fd),
      wake_read_(wake_read),
      wake_write_(wake_write) {}

BackgroundProcess::~BackgroundProcess() {
  {
    absl::MutexLock lock(&mu_);
    if (!reaped_) {
      kill(pid_, SIGKILL);
      while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
      }
      reaped_ = true;
    }
  }
  if (reader_.joinable()) {
    // Wakes the reader even when a grandchild still holds the streams open.
    const char byte = 0;
    while (write(wake_write_, &byte, 1) < 0 && errno == EINTR) {
    }
    reader_.join();
  }
  close(wake_read_);
  close(wake_write_);
}

void BackgroundProcess::ReadLoop() {
  int fds[2] = {stdout_fd_, stderr_fd_};
  std::string chunk(kReadChunkBytes, '\0');
  while (fds[0] >= 0 || fds[1] >= 0) {
    pollfd polled[3] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}, {wake_read_, POLLIN, 0}};
    if (poll(polled, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (polled[2].revents != 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i] < 0 || polled[i].revents == 0) continue;
      const ssize_t n = read(fds[i], chunk.data(), chunk.size());
      if (n < 0 && errno == EINTR) continue;
      absl::MutexLock lock(&mu_);
      if (n > 0) {
        (i == 0 ? stdout_ : stderr_).append(chunk.data(), static_cast<size_t>(n));
        continue;
      }
      // End of file (or a read error, treated alike).
      close(fds[i]);
      fds[i] = -1;
      (i == 0 ? stdout_closed_ : stderr_closed_) = true;
    }
  }
  for (int fd : fds) CloseIfOpen(fd);
  // Waiters see "closed" for any stream that ended without EOF too: nothing more will come.
  absl::MutexLock lock(&mu_);
  stdout_closed_ = stderr_closed_ = true;
}

absl::StatusOr<std::string> BackgroundProcess::WaitForLine(std::string_view substring,
                                                           absl::Duration timeout, Stream stream) {
  absl::MutexLock lock(&mu_);
  const std::string& data = stream == Stream::kStdout ? stdout_ : stderr_;
  const bool& closed = stream == Stream::kStdout ? stdout_closed_ : stderr_closed_;
  size_t& next = stream == Stream::kStdout ? stdout_next_line_ : stderr_next_line_;
  std::string line;
  // Scans the complete lines from `next`, advancing it; true when one matched (in `line`).
  auto found = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    while (next < data.size()) {
      size_t end = data.find('\n', next);
      if (end == std::string::npos) {
        if (!closed) return false;  // the line may not be complete yet
        end = data.size();
      }
      const std::string_view candidate(data.data() + next, end - next);
      next = std::min(end + 1, data.size());
      if (candidate.find(substring) != std::string_view::npos) {
        line.assign(candidate);
        return true;
      }
    }
    return false;
  };
  const absl::Time deadline = absl::Now() + timeout;
  while (!found()) {
    if (closed) {
      // Quote everything the child wrote: its other stream closes when it exits too (a grandchild
      // holding it open delays the message by a second at most).
      auto both_closed = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stdout_closed_ && stderr_closed_;
      };
      mu_.AwaitWithTimeout(absl::Condition(&both_closed), absl::Seconds(1));
      return absl::FailedPreconditionError(
          absl::StrCat("the output closed without a line containing \"", ToAbsl(substring), "\"; ",
                       QuoteOutput()));
    }
    const absl::Duration left = deadline - absl::Now();
    const size_t size = data.size();
    auto changed = [&]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return data.size() != size || closed; };
    if (left <= absl::ZeroDuration() || !mu_.AwaitWithTimeout(absl::Condition(&changed), left)) {
      return absl::DeadlineExceededError(absl::StrCat("no line containing \"", ToAbsl(substring),
                                                      "\" after ", absl::FormatDuration(timeout),
                                                      "; ", QuoteOutput()));
    }
  }
  return line;
}

absl::Status BackgroundProcess::Signal(int signal) {
  absl::MutexLock lock(&mu_);
  // Checked under the lock: after waitpid the pid may belong to another process.
  if (reaped_) return absl::FailedPreconditionError("the process has already been reaped");
  if (kill(pid_, signal) != 0) return absl::ErrnoToStatus(errno, "kill");
  return absl::OkStatus();
}

absl::StatusOr<int> BackgroundProcess::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  while (!reaped_) {
    int status = 0;
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      reaped_ = true;
      if (WIFEXITED(status)) {
        exit_code_ = WEXITSTATUS(status);
      } else if (WIFSIGNALED(status)) {
        term_signal_ = WTERMSIG(status);
      }
      break;
    }
    if (done < 0 && errno != EINTR) return absl::ErrnoToStatus(errno, "waitpid");
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("still running after ", absl::FormatDuration(timeout), "; ", QuoteOutput()));
    }
    // waitpid cannot wait with a timeout; poll it, without holding the lock meanwhile.
    mu_.Unlock();
    absl::SleepFor(absl::Milliseconds(2));
    mu_.Lock();
  }
  // Let the reader catch the child's last words.
  auto all_closed = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stdout_closed_ && stderr_closed_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&all_closed),
                       std::max(deadline - absl::Now(), absl::ZeroDuration()));
  return exit_code_;
}

int BackgroundProcess::term_signal() const {
  absl::MutexLock lock(&mu_);
  return term_signal_;
}

std::string BackgroundProcess::stdout_data() const {
  absl::MutexLock lock(&mu_);
  return stdout_;
}

std::string BackgroundProcess::stderr_data() const {
  absl::MutexLock lock(&mu_);
  return stderr_;
}

std::string BackgroundProcess::QuoteOutput() const {
  return absl::StrCat("stdout: ", QuoteTail(stdout_), " stderr: ", QuoteTail(stderr_));
}

}  // namespace kubetrail::testing
