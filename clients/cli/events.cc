#include "clients/cli/events.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "audit/codec.h"
#include "clients/cli/connection.h"
#include "clients/cli/exit_codes.h"
#include "clients/cli/query.h"
#include "common/strings.h"

namespace kubetrail::cli {

namespace v1 = kubetrail::v1;

// ---- get ----

int RunGet(const GetOptions& options, const kubetrail::Client& client, std::ostream& out,
           std::ostream& err) {
  absl::StatusOr<std::vector<v1::StoredEvent>> stages = client.Get(options.audit_id);
  if (!stages.ok()) return ReportRpcError(client.options().server, stages.status(), err);
  google::protobuf::RepeatedPtrField<v1::StoredEvent> list(stages->begin(), stages->end());
  std::string text;
  AppendRequestSummary(list, options.format, options.output, &text);
  return WriteOutput(text, "kubetrail get: ", out, err) ? kExitOk : kExitFailure;
}

// ---- tail ----

void TailControl::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
  if (stream_ != nullptr) stream_->Cancel();
}

bool TailControl::stopped() {
  absl::MutexLock lock(&mu_);
  return stopped_;
}

bool TailControl::Attach(kubetrail::FollowStream* stream) {
  absl::MutexLock lock(&mu_);
  if (stopped_ && stream != nullptr) return false;
  stream_ = stream;
  return true;
}

namespace {

constexpr std::string_view kTailPrefix = "kubetrail tail: ";

// Detaches the stream from the control when the follow ends, whichever way.
class Attached {
 public:
  Attached(TailControl* control, kubetrail::FollowStream* stream)
      : control_(control), ok_(control->Attach(stream)) {}
  ~Attached() { control_->Attach(nullptr); }
  bool ok() const { return ok_; }

 private:
  TailControl* control_;
  bool ok_;
};

}  // namespace

int RunTail(const TailOptions& options, const kubetrail::Client& client, TailControl* control,
            std::ostream& out, std::ostream& err) {
  const std::string& server = client.options().server;
  if (options.filter.has_to_us()) {
    err << kTailPrefix << "--to cannot be used with tail (it follows new events)\n";
    return kExitUsage;
  }
  EventPrinter printer(options.format, options.output);
  std::string text;
  kubetrail::FollowOptions follow;
  if (options.filter.has_from_us()) {
    // The stored past first, then live from exactly where that search ended.
    kubetrail::SearchIterator it = client.Search(options.filter);
    if (!WriteSearchResults(it, printer, kTailPrefix, out, err)) return kExitFailure;
    if (!it.status().ok()) return ReportRpcError(server, it.status(), err);
    follow.cursor = it.cursor();
  }
  bool reported_unavailable = false;
  v1::FollowResponse response;
  while (!control->stopped()) {
    std::unique_ptr<kubetrail::FollowStream> stream = client.Follow(options.filter, follow);
    absl::Status status;
    {
      Attached attached(control, stream.get());
      if (!attached.ok()) break;
      while (stream->Next(&response)) {
        if (reported_unavailable) {
          err << kTailPrefix << "reconnected\n";
          reported_unavailable = false;
        }
        for (const v1::StoredEvent& event : response.events()) printer.Add(event);
        printer.Flush(&text);
        if (!WriteOutput(text, kTailPrefix, out, err)) return kExitFailure;
        text.clear();
      }
      status = stream->status();
    }
    if (stream->last_sequence() != 0) {
      // Resume after what was seen (a cursor only places the first stream).
      follow.cursor.clear();
      follow.after_sequence = stream->last_sequence();
    }
    if (control->stopped()) break;
    if (status.code() != absl::StatusCode::kUnavailable) {
      return ReportRpcError(server, status.ok() ? absl::UnavailableError("the follow ended")
                                                : status,
                            err);
    }
    if (!reported_unavailable) {
      err << kTailPrefix << server << ": " << status.message() << "; retrying every "
          << absl::FormatDuration(options.retry) << "\n";
      reported_unavailable = true;
    }
    absl::SleepFor(options.retry);
  }
  return kExitOk;
}

// ---- export ----

namespace {

constexpr std::string_view kExportPrefix = "kubetrail export: ";
constexpr std::string_view kCheckpointMagic = "kubetrail-export-checkpoint 1";

// Where an export to a file stands: written after each page, read by --resume.
struct Checkpoint {
  std::string cursor;
  uint64_t bytes = 0;
  uint64_t events = 0;
  v1::Filter filter;
};

std::string CheckpointPath(const std::string& output) { return output + ".checkpoint"; }

std::string ErrnoText() { return std::strerror(errno); }

// Text: the magic line, then `cursor HEX`, `bytes N`, `events N`, `filter HEX`.
std::string EncodeCheckpoint(const Checkpoint& c) {
  return absl::StrCat(ToAbsl(kCheckpointMagic), "\ncursor ", absl::BytesToHexString(c.cursor),
                      "\nbytes ", c.bytes, "\nevents ", c.events, "\nfilter ",
                      absl::BytesToHexString(c.filter.SerializeAsString()), "\n");
}

absl::StatusOr<Checkpoint> ReadCheckpoint(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        Cat("cannot read ", path, ": ", ErrnoText(), " (nothing to resume?)"));
  }
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> lines = absl::StrSplit(text.str(), '\n', absl::SkipEmpty());
  const auto bad = [&path] {
    return absl::DataLossError(Cat(path, ": not a kubetrail export checkpoint"));
  };
  if (lines.size() != 5 || lines[0] != kCheckpointMagic) return bad();
  Checkpoint c;
  std::string filter;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> kv = absl::StrSplit(lines[i], absl::MaxSplits(' ', 1));
    if (kv.size() != 2) return bad();
    if (kv[0] == "cursor") {
      c.cursor = absl::HexStringToBytes(kv[1]);
    } else if (kv[0] == "bytes") {
      if (!absl::SimpleAtoi(kv[1], &c.bytes)) return bad();
    } else if (kv[0] == "events") {
      if (!absl::SimpleAtoi(kv[1], &c.events)) return bad();
    } else if (kv[0] == "filter") {
      filter = absl::HexStringToBytes(kv[1]);
    } else {
      return bad();
    }
  }
  if (!c.filter.ParseFromString(filter)) return bad();
  return c;
}

// Replaces the checkpoint atomically (write, sync, rename).
absl::Status WriteCheckpoint(const std::string& path, const Checkpoint& c) {
  const std::string temp = path + ".tmp";
  const std::string text = EncodeCheckpoint(c);
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::InternalError(Cat("cannot write ", temp, ": ", ErrnoText()));
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  const std::string error = ok ? "" : ErrnoText();
  ::close(fd);
  if (!ok) return absl::InternalError(Cat("cannot write ", temp, ": ", error));
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(Cat("cannot rename ", temp, " to ", path, ": ", ErrnoText()));
  }
  return absl::OkStatus();
}

// The export's destination: a file (opened for append at a known size) or `out`.
class Sink {
 public:
  explicit Sink(std::ostream& out) : out_(&out) {}
  ~Sink() {
    if (fd_ >= 0) ::close(fd_);
  }

  // Opens `path`, cut to `size` bytes (0: a new or emptied file).
  absl::Status Open(const std::string& path, uint64_t size) {
    path_ = path;
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (size == 0 ? O_TRUNC : 0), 0644);
    if (fd_ < 0) return absl::InternalError(Cat("cannot open ", path, ": ", ErrnoText()));
    if (size != 0) {
      struct stat st;
      if (::fstat(fd_, &st) != 0 || static_cast<uint64_t>(st.st_size) < size) {
        return absl::DataLossError(
            Cat(path, " is shorter than its checkpoint says (", size, " bytes)"));
      }
      if (::ftruncate(fd_, static_cast<off_t>(size)) != 0 ||
          ::lseek(fd_, static_cast<off_t>(size), SEEK_SET) < 0) {
        return absl::InternalError(Cat("cannot cut ", path, ": ", ErrnoText()));
      }
    }
    return absl::OkStatus();
  }

  absl::Status Write(std::string_view data) {
    if (fd_ < 0) {
      out_->write(data.data(), static_cast<std::streamsize>(data.size()));
      out_->flush();
      if (!*out_) return absl::InternalError("cannot write output");
      return absl::OkStatus();
    }
    while (!data.empty()) {
      const ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return absl::InternalError(Cat("cannot write ", path_, ": ", ErrnoText()));
      data.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }

  // Makes what was written durable (files only).
  absl::Status Sync() {
    if (fd_ >= 0 && ::fsync(fd_) != 0) {
      return absl::InternalError(Cat("cannot sync ", path_, ": ", ErrnoText()));
    }
    return absl::OkStatus();
  }

  bool is_file() const { return fd_ >= 0; }

 private:
  std::ostream* out_;
  std::string path_;
  int fd_ = -1;
};

std::string Mebibytes(uint64_t bytes) {
  return absl::StrFormat("%.1f MiB", static_cast<double>(bytes) / (1 << 20));
}

}  // namespace

int RunExport(const ExportOptions& options, const kubetrail::Client& client, std::ostream& out,
              std::ostream& err) {
  const std::string& server = client.options().server;
  if (options.page_size < 1 || options.page_size > kubetrail::kMaxPageSize) {
    err << kExportPrefix << "page size must be 1-" << kubetrail::kMaxPageSize << "\n";
    return kExitUsage;
  }
  if (options.resume && options.output_path.empty()) {
    err << kExportPrefix << "--resume needs --file FILE (the file being exported to)\n";
    return kExitUsage;
  }
  if (options.resume && !options.cursor.empty()) {
    err << kExportPrefix << "--resume and --cursor exclude each other\n";
    return kExitUsage;
  }
  Checkpoint state;
  state.filter = options.filter;
  state.cursor = options.cursor;
  if (options.resume) {
    absl::StatusOr<Checkpoint> saved = ReadCheckpoint(CheckpointPath(options.output_path));
    if (!saved.ok()) {
      err << kExportPrefix << saved.status().message() << "\n";
      return kExitFailure;
    }
    state = *std::move(saved);
  }
  Sink sink(out);
  if (!options.output_path.empty()) {
    if (absl::Status s = sink.Open(options.output_path, state.bytes); !s.ok()) {
      err << kExportPrefix << s.message() << "\n";
      return kExitFailure;
    }
  }
  // The total, for the percentage; an export goes on without it.
  std::optional<uint64_t> total;
  if (options.progress_every > absl::ZeroDuration()) {
    if (absl::StatusOr<uint64_t> count = client.Count(state.filter); count.ok()) total = *count;
  }
  absl::Time next_progress = absl::Now() + options.progress_every;
  const auto progress = [&](std::string_view what) {
    err << kExportPrefix << what << state.events;
    if (total.has_value() && *total > 0 && what.empty()) {
      err << " of " << *total << " events ("
          << absl::StrFormat("%.0f", 100.0 * static_cast<double>(state.events) /
                                         static_cast<double>(*total))
          << "%)";
    } else {
      err << " events";
    }
    err << ", " << Mebibytes(state.bytes) << "\n";
  };
  const auto interrupted = [&](const absl::Status& status) {
    const int code = ReportRpcError(server, status, err);
    err << kExportPrefix << "interrupted after " << state.events << " events; ";
    if (sink.is_file()) {
      err << "resume with: kubetrail export --file " << options.output_path << " --resume\n";
    } else if (!state.cursor.empty()) {
      err << "continue with the same flags and --cursor " << state.cursor << "\n";
    } else {
      err << "start again\n";
    }
    return code;
  };

  std::string text;
  while (true) {
    kubetrail::SearchIterator it = client.Search(
        state.filter, {.order = v1::ORDER_ASCENDING,
                       .limit = static_cast<uint64_t>(options.page_size),
                       .page_size = options.page_size,
                       .cursor = state.cursor});
    text.clear();
    uint64_t page_events = 0;
    while (it.Next()) {
      audit::AppendEventJson(it.event().event().event(), &text);
      text.push_back('\n');
      ++page_events;
    }
    if (!it.status().ok()) return interrupted(it.status());
    if (absl::Status s = sink.Write(text); !s.ok()) {
      err << kExportPrefix << s.message() << "\n";
      return kExitFailure;
    }
    state.events += page_events;
    state.bytes += text.size();
    if (!it.cursor().empty()) state.cursor = it.cursor();
    if (sink.is_file()) {
      absl::Status s = sink.Sync();
      if (s.ok()) s = WriteCheckpoint(CheckpointPath(options.output_path), state);
      if (!s.ok()) {
        err << kExportPrefix << s.message() << "\n";
        return kExitFailure;
      }
    }
    if (!it.more()) break;
    if (options.progress_every > absl::ZeroDuration() && absl::Now() >= next_progress) {
      progress("");
      next_progress = absl::Now() + options.progress_every;
    }
  }
  if (sink.is_file() && ::unlink(CheckpointPath(options.output_path).c_str()) != 0) {
    err << kExportPrefix << "cannot remove " << CheckpointPath(options.output_path) << ": "
        << ErrnoText() << "\n";
    return kExitFailure;
  }
  if (options.progress_every > absl::ZeroDuration()) progress("done: ");
  return kExitOk;
}

}  // namespace kubetrail::cli
