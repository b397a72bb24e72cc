#include "clients/cli/input.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <string>
#include <system_error>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace kubetrail::cli {
namespace {

using ::kubetrail::ToStd;

// Unit of growth when the final size of an input is not known in advance (pipes).
constexpr size_t kReadChunkBytes = size_t{1} << 20;
// Output is handed to the stream in pieces of about this size: large enough that writes are
// few, small enough that memory stays flat.
constexpr size_t kFlushBytes = size_t{1} << 20;

// Consumes a run of decimal digits at the front of `*s` into `*value`.
bool ConsumeNumber(std::string_view* s, size_t* value) {
  const char* end = s->data() + s->size();
  const std::from_chars_result result = std::from_chars(s->data(), end, *value);
  if (result.ec != std::errc() || result.ptr == s->data()) return false;
  s->remove_prefix(static_cast<size_t>(result.ptr - s->data()));
  return true;
}

bool ConsumePrefix(std::string_view* s, std::string_view prefix) {
  if (s->substr(0, prefix.size()) != prefix) return false;
  s->remove_prefix(prefix.size());
  return true;
}

}  // namespace

// The reader starts its messages with where the event is: `line 7: ...` or
// `items[3] (line 12): ...`; the caller's `FILE:LINE:` prefix already names the line.
std::string EventErrorMessage(std::string_view message, size_t line) {
  std::string_view rest = message;
  size_t number = 0;
  if (ConsumePrefix(&rest, "line ") && ConsumeNumber(&rest, &number) && number == line &&
      ConsumePrefix(&rest, ": ")) {
    return std::string(rest);
  }
  rest = message;
  size_t item = 0;
  if (ConsumePrefix(&rest, "items[") && ConsumeNumber(&rest, &item) &&
      ConsumePrefix(&rest, "] (line ") && ConsumeNumber(&rest, &number) && number == line &&
      ConsumePrefix(&rest, "): ")) {
    return absl::StrCat("items[", item, "]: ") + std::string(rest);
  }
  return std::string(message);
}

absl::Status ReadWholeFile(const std::string& path, std::string* content) {
  content->clear();
  int fd;
  do {
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("cannot read ", path));
  // A regular file is read in one go into a buffer of its size (plus one byte, so the read
  // that sees end-of-file needs no growth); anything else grows chunk by chunk.
  struct stat st;
  size_t capacity = kReadChunkBytes;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) capacity = static_cast<size_t>(st.st_size) + 1;
  content->resize(capacity);
  size_t size = 0;
  while (true) {
    if (size == content->size()) content->resize(content->size() + kReadChunkBytes);
    ssize_t n = read(fd, content->data() + size, content->size() - size);
    if (n < 0) {
      if (errno == EINTR) continue;
      int error = errno;
      close(fd);
      content->clear();
      return absl::ErrnoToStatus(error, absl::StrCat("cannot read ", path));
    }
    if (n == 0) break;
    size += static_cast<size_t>(n);
  }
  close(fd);
  content->resize(size);
  return absl::OkStatus();
}

absl::Status ReadWholeStream(std::istream& in, std::string_view name, std::string* content) {
  content->clear();
  size_t size = 0;
  errno = 0;
  while (in) {
    content->resize(size + kReadChunkBytes);
    in.read(content->data() + size, static_cast<std::streamsize>(kReadChunkBytes));
    size += static_cast<size_t>(in.gcount());
  }
  content->resize(size);
  if (in.bad()) {
    int error = errno != 0 ? errno : EIO;
    content->clear();
    return absl::ErrnoToStatus(error, "cannot read " + std::string(name));
  }
  // End of input is not an error; clearing it lets a second "-" read (nothing) again.
  in.clear();
  return absl::OkStatus();
}

EventRun::EventRun(EventRunOptions options, std::ostream& out, std::ostream& err)
    : options_(std::move(options)), out_(out), err_(err) {}

bool EventRun::Run(std::istream& in, const Handler& handle) {
  static const std::vector<std::string> kStdinOnly = {"-"};
  const std::vector<std::string>& inputs = options_.inputs.empty() ? kStdinOnly : options_.inputs;
  // One buffer for all inputs: it keeps its capacity from one input to the next.
  std::string body;
  for (const std::string& input : inputs) {
    const bool is_stdin = input == "-";
    const std::string_view name = is_stdin ? kStdinName : std::string_view(input);
    absl::Status read =
        is_stdin ? ReadWholeStream(in, kStdinName, &body) : ReadWholeFile(input, &body);
    if (!read.ok()) {
      Flush();  // reports its own failure, if any
      err_ << options_.prefix << ToStd(read.message()) << '\n';
      return false;
    }
    // Spare capacity after the text lets the reader parse the last line in place.
    audit::ReserveReadPadding(body);
    if (!RunInput(name, body, handle)) return false;
  }
  return Flush();
}

void EventRun::Summary(std::string_view what) {
  if (!options_.skip_invalid) return;
  err_ << options_.prefix << invalid_ << " invalid event" << (invalid_ == 1 ? "" : "s")
       << " skipped, " << read_ << ' ' << what << '\n';
}

bool EventRun::Flush() {
  if (write_failed_) return false;
  errno = 0;
  out_.write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
  out_.flush();
  buffer_.clear();
  if (!out_) {
    const int error = errno;
    write_failed_ = true;
    err_ << options_.prefix;
    if (error != 0) {
      err_ << ToStd(absl::ErrnoToStatus(error, "cannot write output").message()) << '\n';
    } else {
      err_ << "cannot write output\n";
    }
    return false;
  }
  return true;
}

bool EventRun::RunInput(std::string_view name, std::string_view body, const Handler& handle) {
  audit::EventReader reader(body, options_.decode, audit::kReadPadding);
  kubetrail::v1::Event event;
  while (true) {
    absl::StatusOr<bool> more = reader.Next(&event);
    if (!more.ok()) {
      ++invalid_;
      // Whatever precedes the bad event reaches `out` before the report reaches `err`.
      if (!Flush()) return false;
      err_ << options_.prefix << name;
      if (reader.line() > 0) err_ << ':' << reader.line();
      err_ << ": " << EventErrorMessage(ToStd(more.status().message()), reader.line()) << '\n';
      if (!options_.skip_invalid) return false;
      continue;
    }
    if (!*more) return true;
    ++read_;
    if (!handle(event, &buffer_)) return false;
    if (buffer_.size() >= kFlushBytes && !Flush()) return false;
  }
}

}  // namespace kubetrail::cli
