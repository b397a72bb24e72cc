#include "services/collector/source/tailer.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/time/civil_time.h"
#include "common/bytes.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "common/strings.h"

namespace kubetrail::collector {

namespace {

constexpr std::string_view kComponent = "tailer";

// TailPosition's encoding.
constexpr uint8_t kPositionVersion = 1;
constexpr size_t kPositionBytes = 1 + 8 + 8 + 8 + 4 + 8;

// Bytes read from a file at a time.
constexpr size_t kReadBlock = size_t{64} << 10;
// Directory listings taken until two in a row agree (readdir may miss a file that is being
// renamed); the last one is used if none agree.
constexpr int kListAttempts = 5;
// Steps that change state without handing anything out (moving between empty files) before
// Read waits a poll interval anyway, so that a racing rename cannot make it spin.
constexpr int kMaxStepsWithoutOutput = 256;

absl::Status ErrnoError(int error_number, std::string_view what, std::string_view path) {
  return absl::ErrnoToStatus(error_number, ToAbsl(Cat(what, " ", path)));
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}
bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

absl::Time ModTime(const struct stat& st) {
  return absl::FromUnixSeconds(st.st_mtim.tv_sec) + absl::Nanoseconds(st.st_mtim.tv_nsec);
}

// A missing or vanished file, or an unreadable .gz: a candidate that does not count.
bool IsGone(const absl::Status& status) {
  return absl::IsNotFound(status) || absl::IsDataLoss(status);
}

}  // namespace

namespace tailer_internal {

// A file the tailer may read: the live file or a rotated one, as found in the directory.
struct LogFileInfo {
  std::string path;
  bool live = false;
  bool compressed = false;
  uint64_t device = 0;
  uint64_t inode = 0;
  // As stored (for a .gz file, the compressed size).
  uint64_t size = 0;
  absl::Time mtime;
  // Rotated files: the lumberjack timestamp, else the modification time; orders files of
  // different naming schemes (see tailer.h).
  absl::Time order_time;
};

// One open log file, plain or gzip, read sequentially. Holding it open keeps a file readable
// after it is renamed or deleted.
class LogFile {
 public:
  // NotFound when `path` does not exist (any more).
  static absl::StatusOr<std::unique_ptr<LogFile>> Open(const std::string& path, bool compressed) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoError(errno, "open", path);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      const int error = errno;
      ::close(fd);
      return ErrnoError(error, "stat", path);
    }
    std::unique_ptr<LogFile> file(new LogFile(path, fd, st));
    if (compressed) {
      // On success the gzFile owns the descriptor (gzclose closes it).
      file->gz_ = gzdopen(fd, "rb");
      if (file->gz_ == nullptr) {
        return absl::ResourceExhaustedError(ToAbsl(Cat("gzdopen ", path, ": out of memory")));
      }
      file->fd_ = -1;
      gzbuffer(file->gz_, 2 * kReadBlock);
    }
    return file;
  }

  ~LogFile() {
    if (gz_ != nullptr) gzclose(gz_);
    if (fd_ >= 0) ::close(fd_);
  }
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;

  // Reads up to `n` bytes at the read position and advances it; 0 at the (current) end.
  // DataLoss for corrupt gzip data.
  absl::StatusOr<size_t> Read(char* out, size_t n) {
    if (gz_ != nullptr) {
      const int got = gzread(gz_, out, static_cast<unsigned>(std::min(n, kReadBlock)));
      const int error = errno;
      if (got < 0) {
        int code = Z_OK;
        const char* message = gzerror(gz_, &code);
        if (code == Z_ERRNO) return ErrnoError(error, "read", path_);
        return absl::DataLossError(ToAbsl(Cat("read ", path_, ": corrupt gzip data: ", message)));
      }
      if (got == 0) {
        int code = Z_OK;
        gzerror(gz_, &code);
        gzip_ended_early_ = code == Z_BUF_ERROR;
      }
      return static_cast<size_t>(got);
    }
    while (true) {
      const ssize_t got = ::pread(fd_, out, n, static_cast<off_t>(pos_));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return ErrnoError(errno, "read", path_);
      pos_ += static_cast<uint64_t>(got);
      return static_cast<size_t>(got);
    }
  }

  // Plain files: reads `n` bytes at `offset` (fewer at the end) without moving the read
  // position.
  absl::StatusOr<std::string> ReadAt(uint64_t offset, size_t n) const {
    std::string out(n, '\0');
    size_t done = 0;
    while (done < n) {
      const ssize_t got =
          ::pread(fd_, out.data() + done, n - done, static_cast<off_t>(offset + done));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return ErrnoError(errno, "read", path_);
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    out.resize(done);
    return out;
  }

  // Plain files: moves the read position.
  void Seek(uint64_t offset) { pos_ = offset; }

  // Plain files: the current size and modification time.
  absl::StatusOr<struct stat> Stat() const {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return ErrnoError(errno, "stat", path_);
    return st;
  }

  // Whether the gzip stream ended before its trailer (a truncated .gz file).
  bool gzip_ended_early() const { return gzip_ended_early_; }
  uint64_t device() const { return device_; }
  uint64_t inode() const { return inode_; }
  absl::Time mtime() const { return mtime_; }

 private:
  LogFile(std::string path, int fd, const struct stat& st)
      : path_(std::move(path)),
        fd_(fd),
        device_(st.st_dev),
        inode_(st.st_ino),
        mtime_(ModTime(st)) {}

  const std::string path_;
  int fd_ = -1;  // plain files; -1 once gz_ owns it
  gzFile gz_ = nullptr;
  uint64_t pos_ = 0;  // plain files: the read position
  bool gzip_ended_early_ = false;
  const uint64_t device_;
  const uint64_t inode_;
  const absl::Time mtime_;
};

// The file being read and how far.
struct Cursor {
  std::unique_ptr<LogFile> file;
  // Where it was last seen (it may have been renamed since).
  std::string path;
  bool compressed = false;
  uint64_t device = 0;
  uint64_t inode = 0;
  // LogFileInfo::order_time once seen among the rotated files.
  std::optional<absl::Time> order_time;
  // The first min(read_offset, kFingerprintBytes) bytes of the content.
  std::string head;
  // Content handed out or skipped: the position's offset.
  uint64_t consumed = 0;
  // Content read from the file: buffer[buffer_pos..] is [read_offset - its size, read_offset).
  uint64_t read_offset = 0;
  std::string buffer;
  size_t buffer_pos = 0;
  // Bytes from buffer_pos on known to hold no '\n' (a long partial line is not searched
  // again after every block).
  size_t searched = 0;
  // An over-long line is being skipped from `consumed` on; `skip_bytes` of it seen so far.
  bool skipping = false;
  uint64_t skip_bytes = 0;
  // A newer file exists: read to the end, then move on.
  bool finishing = false;
  // Unreadable from read_offset on (corrupt gzip): treated as its end.
  bool broken = false;
};

}  // namespace tailer_internal

using tailer_internal::Cursor;
using tailer_internal::LogFile;
using tailer_internal::LogFileInfo;

namespace {

// The live path split the ways rotated names are built from it.
struct LogNames {
  std::string dir;   // "." for a bare name
  std::string base;  // audit.log
  std::string stem;  // audit   (lumberjack: base without filepath.Ext)
  std::string ext;   // .log
};

LogNames SplitPath(std::string_view path) {
  const size_t slash = path.rfind('/');
  const std::string_view dir = slash == std::string_view::npos ? std::string_view(".")
                               : slash == 0                    ? std::string_view("/")
                                                               : path.substr(0, slash);
  const std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const size_t dot = base.rfind('.');
  const std::string_view stem = dot == std::string_view::npos ? base : base.substr(0, dot);
  const std::string_view ext =
      dot == std::string_view::npos ? std::string_view() : base.substr(dot);
  return LogNames{std::string(dir), std::string(base), std::string(stem), std::string(ext)};
}

// The naming schemes of rotated files, in the order used for ties between schemes.
enum class Scheme { kLumberjack = 0, kDated = 1, kNumbered = 2 };
constexpr int kSchemes = 3;

struct RotatedName {
  Scheme scheme = Scheme::kLumberjack;
  bool compressed = false;
  // The name without ".gz": `x` and `x.gz` are one file.
  std::string key;
  absl::Time stamp;     // kLumberjack
  uint64_t number = 0;  // kNumbered
  std::string suffix;   // kDated
};

// lumberjack's backupTimeFormat "2006-01-02T15-04-05.000", read as UTC.
std::optional<absl::Time> ParseLumberjackTime(std::string_view s) {
  static constexpr std::string_view kLayout = "dddd-dd-ddTdd-dd-dd.ddd";
  if (s.size() != kLayout.size()) return std::nullopt;
  for (size_t i = 0; i < s.size(); ++i) {
    if (kLayout[i] == 'd' ? !IsDigit(s[i]) : s[i] != kLayout[i]) return std::nullopt;
  }
  const auto number = [s](size_t at, size_t len) {
    int value = 0;
    for (size_t i = at; i < at + len; ++i) value = value * 10 + (s[i] - '0');
    return value;
  };
  const int year = number(0, 4), month = number(5, 2), day = number(8, 2);
  const int hour = number(11, 2), minute = number(14, 2), second = number(17, 2);
  const absl::CivilSecond civil(year, month, day, hour, minute, second);
  // CivilSecond normalises 2026-13-40; such a name is not lumberjack's.
  if (civil.year() != year || civil.month() != month || civil.day() != day ||
      civil.hour() != hour || civil.minute() != minute || civil.second() != second) {
    return std::nullopt;
  }
  return absl::FromCivil(civil, absl::UTCTimeZone()) + absl::Milliseconds(number(20, 3));
}

std::optional<RotatedName> ParseRotatedName(const LogNames& names, std::string_view name) {
  RotatedName rotated;
  if (EndsWith(name, ".gz")) {
    rotated.compressed = true;
    name.remove_suffix(3);
  }
  if (name == names.base) return std::nullopt;
  rotated.key = std::string(name);

  // lumberjack: <stem>-<timestamp><ext>
  const std::string prefix = names.stem + "-";
  constexpr size_t kStampBytes = 23;
  if (name.size() == prefix.size() + kStampBytes + names.ext.size() && StartsWith(name, prefix) &&
      EndsWith(name, names.ext)) {
    if (std::optional<absl::Time> stamp =
            ParseLumberjackTime(name.substr(prefix.size(), kStampBytes))) {
      rotated.scheme = Scheme::kLumberjack;
      rotated.stamp = *stamp;
      return rotated;
    }
  }
  if (name.size() <= names.base.size() + 1 || !StartsWith(name, names.base)) return std::nullopt;
  const std::string_view suffix = name.substr(names.base.size() + 1);
  // logrotate: <base>.<N>
  if (name[names.base.size()] == '.') {
    if (suffix.size() > 9 || !std::all_of(suffix.begin(), suffix.end(), IsDigit)) {
      return std::nullopt;
    }
    rotated.scheme = Scheme::kNumbered;
    for (char c : suffix) rotated.number = rotated.number * 10 + static_cast<uint64_t>(c - '0');
    return rotated;
  }
  // logrotate dateext: <base>-<digits and '-'>
  if (name[names.base.size()] == '-' && IsDigit(suffix.front()) &&
      std::all_of(suffix.begin(), suffix.end(), [](char c) { return IsDigit(c) || c == '-'; })) {
    rotated.scheme = Scheme::kDated;
    rotated.suffix = std::string(suffix);
    return rotated;
  }
  return std::nullopt;
}

std::string JoinPath(const std::string& dir, std::string_view name) {
  return dir == "/" ? Cat("/", name) : Cat(dir, "/", name);
}

// The live file; nullopt when it (or its directory) is missing or it is not a regular file.
absl::StatusOr<std::optional<LogFileInfo>> StatLive(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    return ErrnoError(errno, "stat", path);
  }
  if (!S_ISREG(st.st_mode)) return std::nullopt;
  LogFileInfo live;
  live.path = path;
  live.live = true;
  live.device = st.st_dev;
  live.inode = st.st_ino;
  live.size = static_cast<uint64_t>(st.st_size);
  live.mtime = ModTime(st);
  live.order_time = absl::InfiniteFuture();
  return live;
}

// Rotated files oldest first (see tailer.h for the order), then the live file if it exists.
absl::StatusOr<std::vector<LogFileInfo>> ListOnce(const LogNames& names, const std::string& path) {
  struct Entry {
    RotatedName name;
    LogFileInfo info;
  };
  std::vector<Entry> entries;
  DIR* dir = ::opendir(names.dir.c_str());
  if (dir == nullptr) {
    if (errno != ENOENT && errno != ENOTDIR) return ErrnoError(errno, "list", names.dir);
  } else {
    while (true) {
      errno = 0;
      const struct dirent* entry = ::readdir(dir);
      if (entry == nullptr) {
        const int error = errno;
        ::closedir(dir);
        if (error != 0) return ErrnoError(error, "list", names.dir);
        break;
      }
      std::optional<RotatedName> name = ParseRotatedName(names, entry->d_name);
      if (!name) continue;
      Entry e{std::move(*name), {}};
      e.info.path = JoinPath(names.dir, entry->d_name);
      struct stat st;
      if (::stat(e.info.path.c_str(), &st) != 0) {
        if (errno == ENOENT) continue;  // rotated or deleted meanwhile
        const int error = errno;
        ::closedir(dir);
        return ErrnoError(error, "stat", e.info.path);
      }
      if (!S_ISREG(st.st_mode)) continue;
      e.info.compressed = e.name.compressed;
      e.info.device = st.st_dev;
      e.info.inode = st.st_ino;
      e.info.size = static_cast<uint64_t>(st.st_size);
      e.info.mtime = ModTime(st);
      e.info.order_time = e.name.scheme == Scheme::kLumberjack ? e.name.stamp : e.info.mtime;
      entries.push_back(std::move(e));
    }
  }

  // `x` and `x.gz` both exist while `x` is being compressed; the .gz may be incomplete.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.name.key, a.name.compressed) < std::tie(b.name.key, b.name.compressed);
  });
  entries.erase(
      std::unique(entries.begin(), entries.end(),
                  [](const Entry& a, const Entry& b) { return a.name.key == b.name.key; }),
      entries.end());

  // Within a scheme by the order its names encode; between schemes by order_time.
  std::array<std::vector<Entry>, kSchemes> groups;
  for (Entry& e : entries) groups[static_cast<int>(e.name.scheme)].push_back(std::move(e));
  std::sort(groups[0].begin(), groups[0].end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.name.stamp, a.name.key) < std::tie(b.name.stamp, b.name.key);
  });
  std::sort(groups[1].begin(), groups[1].end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.name.suffix, a.name.key) < std::tie(b.name.suffix, b.name.key);
  });
  std::sort(groups[2].begin(), groups[2].end(),
            [](const Entry& a, const Entry& b) { return a.name.number > b.name.number; });
  std::vector<LogFileInfo> files;
  std::array<size_t, kSchemes> next{};
  while (true) {
    int best = -1;
    for (int g = 0; g < kSchemes; ++g) {
      if (next[g] == groups[g].size()) continue;
      if (best < 0 ||
          groups[g][next[g]].info.order_time < groups[best][next[best]].info.order_time) {
        best = g;
      }
    }
    if (best < 0) break;
    files.push_back(std::move(groups[best][next[best]++].info));
  }

  KT_ASSIGN_OR_RETURN(std::optional<LogFileInfo> live, StatLive(path));
  if (live) files.push_back(std::move(*live));
  return files;
}

bool SameListing(const std::vector<LogFileInfo>& a, const std::vector<LogFileInfo>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const LogFileInfo& x, const LogFileInfo& y) {
                      return x.path == y.path && x.device == y.device && x.inode == y.inode;
                    });
}

absl::StatusOr<std::vector<LogFileInfo>> ListFiles(const LogNames& names, const std::string& path) {
  KT_ASSIGN_OR_RETURN(std::vector<LogFileInfo> previous, ListOnce(names, path));
  for (int i = 1; i < kListAttempts; ++i) {
    KT_ASSIGN_OR_RETURN(std::vector<LogFileInfo> files, ListOnce(names, path));
    if (SameListing(previous, files)) return files;
    previous = std::move(files);
  }
  return previous;
}

absl::StatusOr<std::unique_ptr<LogFile>> OpenInfo(const LogFileInfo& info) {
  KT_ASSIGN_OR_RETURN(std::unique_ptr<LogFile> file, LogFile::Open(info.path, info.compressed));
  if (file->device() != info.device || file->inode() != info.inode) {
    return absl::NotFoundError(ToAbsl(Cat(info.path, " was replaced while being opened")));
  }
  return file;
}

// The first `n` bytes of `info`'s (uncompressed) content, fewer if it is shorter. NotFound
// when it vanished, DataLoss when it is corrupt.
absl::StatusOr<std::string> ReadHead(const LogFileInfo& info, size_t n) {
  KT_ASSIGN_OR_RETURN(std::unique_ptr<LogFile> file, OpenInfo(info));
  std::string head(n, '\0');
  size_t done = 0;
  while (done < n) {
    KT_ASSIGN_OR_RETURN(size_t got, file->Read(head.data() + done, n - done));
    if (got == 0) break;
    done += got;
  }
  head.resize(done);
  return head;
}

// Whether `info` holds the content the tailer read of some file: it starts with the same
// bytes as `head` (what was read of that file's start), and has at least the first
// min(consumed, kFingerprintBytes) of them.
absl::StatusOr<bool> SameContent(const LogFileInfo& info, const std::string& head,
                                 uint64_t consumed) {
  if (head.empty()) return false;
  absl::StatusOr<std::string> theirs = ReadHead(info, head.size());
  if (!theirs.ok()) {
    if (IsGone(theirs.status())) return false;
    return theirs.status();
  }
  const size_t n = theirs->size();
  if (n == 0 || n < std::min<uint64_t>(consumed, kFingerprintBytes)) return false;
  return head.compare(0, n, *theirs) == 0;
}

// The offset just after the last '\n' of a plain file.
absl::StatusOr<uint64_t> EndOfLastLine(const LogFileInfo& info) {
  KT_ASSIGN_OR_RETURN(std::unique_ptr<LogFile> file, OpenInfo(info));
  KT_ASSIGN_OR_RETURN(struct stat st, file->Stat());
  uint64_t end = static_cast<uint64_t>(st.st_size);
  while (end > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(end, kReadBlock));
    KT_ASSIGN_OR_RETURN(std::string block, file->ReadAt(end - n, n));
    const size_t newline = block.rfind('\n');
    if (newline != std::string::npos) return end - n + newline + 1;
    end -= n;
  }
  return 0;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// TailPosition

std::string TailPosition::Encode() const {
  std::string out;
  out.reserve(kPositionBytes);
  out.push_back(static_cast<char>(kPositionVersion));
  PutBig64(device, &out);
  PutBig64(inode, &out);
  PutBig64(offset, &out);
  PutBig32(fingerprint_bytes, &out);
  PutBig64(fingerprint, &out);
  return out;
}

absl::StatusOr<TailPosition> TailPosition::Decode(std::string_view bytes) {
  if (bytes.empty()) return absl::InvalidArgumentError("tail position: empty");
  if (static_cast<uint8_t>(bytes[0]) != kPositionVersion) {
    return absl::InvalidArgumentError(ToAbsl(
        Cat("tail position: unknown version ", static_cast<int>(static_cast<uint8_t>(bytes[0])))));
  }
  if (bytes.size() != kPositionBytes) {
    return absl::InvalidArgumentError(
        ToAbsl(Cat("tail position: ", bytes.size(), " bytes, version 1 has ", kPositionBytes)));
  }
  TailPosition position;
  position.device = GetBig64(bytes.data() + 1);
  position.inode = GetBig64(bytes.data() + 9);
  position.offset = GetBig64(bytes.data() + 17);
  position.fingerprint_bytes = GetBig32(bytes.data() + 25);
  position.fingerprint = GetBig64(bytes.data() + 29);
  // The fingerprint covers min(offset, kFingerprintBytes) bytes when it is taken; a larger
  // kFingerprintBytes in a later version keeps old positions valid.
  if (position.fingerprint_bytes > kFingerprintBytes ||
      position.fingerprint_bytes > position.offset ||
      (position.offset > 0 && position.fingerprint_bytes == 0)) {
    return absl::InvalidArgumentError(ToAbsl(
        Cat("tail position: fingerprint of ", position.fingerprint_bytes, " bytes at offset ",
            position.offset, " (1 to min(offset, ", kFingerprintBytes, ") when offset > 0)")));
  }
  return position;
}

uint64_t TailPosition::Fingerprint(std::string_view head) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (char c : head) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::string TailPosition::DebugString() const {
  return Cat("offset ", offset, " of the file with fingerprint ",
             absl::Hex(fingerprint, absl::kZeroPad16), "/", fingerprint_bytes, " (device ", device,
             ", inode ", inode, ")");
}

// ---------------------------------------------------------------------------------------------
// Tailer

absl::StatusOr<std::unique_ptr<Tailer>> Tailer::Open(TailerConfig config,
                                                     std::optional<TailPosition> resume,
                                                     Clock& clock) {
  if (config.path.empty()) return absl::InvalidArgumentError("tailer: path is empty");
  if (config.path.back() == '/') {
    return absl::InvalidArgumentError(
        ToAbsl(Cat("tailer: path ", config.path, " names a directory")));
  }
  if (config.max_line_bytes == 0) {
    return absl::InvalidArgumentError("tailer: max_line_bytes must be positive");
  }
  if (config.poll_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("tailer: poll_interval must be positive");
  }
  struct stat st;
  if (::stat(config.path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError(
          ToAbsl(Cat("tailer: path ", config.path, " names a directory")));
    }
    if (!S_ISREG(st.st_mode)) {
      return absl::InvalidArgumentError(
          ToAbsl(Cat("tailer: path ", config.path, " is not a regular file")));
    }
  } else if (errno != ENOENT && errno != ENOTDIR) {
    return ErrnoError(errno, "stat", config.path);
  }
  std::unique_ptr<Tailer> tailer(new Tailer(std::move(config), resume, clock));
  KT_RETURN_IF_ERROR(tailer->OpenFirst());
  return tailer;
}

Tailer::Tailer(TailerConfig config, std::optional<TailPosition> resume, Clock& clock)
    : config_(std::move(config)), clock_(clock) {
  if (resume) {
    position_ = *resume;  // handed out unchanged until something is consumed
    resume_ = resume;
  } else {
    start_at_end_ = config_.start_at == StartAt::kEnd;
  }
}

Tailer::~Tailer() = default;

absl::StatusOr<TailChunk> Tailer::Read(size_t max_bytes, absl::Duration wait) {
  TailChunk chunk;
  KT_RETURN_IF_ERROR(ReadInto(max_bytes, wait, chunk));
  return chunk;
}

absl::Status Tailer::ReadInto(size_t max_bytes, absl::Duration wait, TailChunk& chunk) {
  const absl::Time deadline =
      wait == absl::InfiniteDuration() ? absl::InfiniteFuture() : clock_.Now() + wait;
  chunk.data.clear();
  chunk.lines = 0;
  chunk.first_offset = 0;
  chunk.position = TailPosition();
  chunk.file.clear();
  chunk.skipped.clear();
  chunk.warnings.clear();
  int steps_without_output = 0;
  while (true) {
    bool progress = false;
    const absl::Status status = Step(max_bytes, chunk, progress);
    const bool output = chunk.lines > 0 || !chunk.skipped.empty();
    if (!status.ok()) {
      // What was consumed must be handed out; the failure shows again on the next Read.
      if (!output) {
        chunk.data.clear();
        chunk.file.clear();
        chunk.warnings.clear();
        return status;
      }
      break;
    }
    if (output) break;
    if (progress && ++steps_without_output < kMaxStepsWithoutOutput) continue;
    steps_without_output = 0;
    if (!pending_warnings_.empty()) break;
    if (!WaitForPoll(deadline)) break;
  }
  chunk.position = position_;
  if (chunk.file.empty() && current_ != nullptr) chunk.file = current_->path;
  chunk.warnings = std::move(pending_warnings_);
  pending_warnings_.clear();
  absl::MutexLock lock(&mu_);
  stats_.lines += chunk.lines;
  stats_.bytes += chunk.data.size();
  stats_.skipped += chunk.skipped.size();
  return absl::OkStatus();
}

void Tailer::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
}

TailerStats Tailer::Stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

bool Tailer::WaitForPoll(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  if (!woken_) {
    const absl::Duration left = deadline - clock_.Now();
    if (left <= absl::ZeroDuration()) return false;
    mu_.AwaitWithTimeout(absl::Condition(&woken_), std::min(left, config_.poll_interval));
  }
  if (woken_) {
    woken_ = false;
    return false;
  }
  // Look once more even when the deadline has just passed; the next call ends the Read.
  return true;
}

absl::Status Tailer::Step(size_t max_bytes, TailChunk& chunk, bool& progress) {
  if (current_ == nullptr) {
    KT_RETURN_IF_ERROR(OpenFirst());
    if (current_ == nullptr) return absl::OkStatus();
    progress = true;
  }
  // A rotated file that is being finished is no longer written, so not truncated either.
  if (!current_->compressed && !current_->finishing) {
    KT_ASSIGN_OR_RETURN(bool truncated, CurrentTruncated());
    if (truncated) {
      KT_RETURN_IF_ERROR(FollowTruncation());
      progress = true;
      return absl::OkStatus();
    }
  }
  chunk.file = current_->path;
  while (!Extract(max_bytes, chunk)) {
    KT_ASSIGN_OR_RETURN(size_t read, ReadMore());
    if (read == 0) break;
  }
  if (chunk.lines > 0 || !chunk.skipped.empty()) return absl::OkStatus();
  // At the end of the file with nothing to hand out.
  if (current_->finishing) return MoveToNext(chunk, progress);
  KT_ASSIGN_OR_RETURN(std::optional<LogFileInfo> next, NextFile());
  if (next) {
    // Everything written to the file before it was rotated is readable now: read to the
    // end once more, then move on.
    current_->finishing = true;
    progress = true;
  }
  return absl::OkStatus();
}

absl::Status Tailer::OpenFirst() {
  if (resume_) {
    const TailPosition resume = *resume_;
    KT_RETURN_IF_ERROR(OpenResumeFile(resume));
    if (current_ != nullptr) {
      resume_.reset();
      return absl::OkStatus();
    }
    if (resume_) return absl::OkStatus();  // no file yet: wait
  }
  KT_ASSIGN_OR_RETURN(std::optional<LogFileInfo> live, StatLive(config_.path));
  if (!started_) {
    started_ = true;
    if (!live) {
      // The log does not exist yet: everything that appears from now on is new, also files
      // rotated before the tailer gets to see the live file. Remember what is history.
      start_at_end_ = false;
      KT_ASSIGN_OR_RETURN(std::vector<LogFileInfo> files,
                          ListFiles(SplitPath(config_.path), config_.path));
      history_.emplace();
      for (const LogFileInfo& file : files) {
        absl::StatusOr<std::string> head = ReadHead(file, kFingerprintBytes);
        if (IsGone(head.status())) continue;
        KT_RETURN_IF_ERROR(head.status());
        history_->push_back(TailPosition::Fingerprint(*head));
      }
      return absl::OkStatus();
    }
  }
  if (history_) {
    // The oldest file rotated since the tailer started, else the live file.
    KT_ASSIGN_OR_RETURN(std::vector<LogFileInfo> files,
                        ListFiles(SplitPath(config_.path), config_.path));
    for (const LogFileInfo& file : files) {
      if (file.live) break;
      absl::StatusOr<std::string> head = ReadHead(file, kFingerprintBytes);
      if (IsGone(head.status())) continue;
      KT_RETURN_IF_ERROR(head.status());
      const uint64_t fingerprint = TailPosition::Fingerprint(*head);
      if (std::find(history_->begin(), history_->end(), fingerprint) != history_->end()) {
        continue;
      }
      const absl::Status opened = OpenCurrent(file, 0);
      if (absl::IsNotFound(opened)) return absl::OkStatus();
      KT_RETURN_IF_ERROR(opened);
      history_.reset();
      return absl::OkStatus();
    }
    if (!live) return absl::OkStatus();
    history_.reset();
  }
  if (!live) return absl::OkStatus();
  uint64_t offset = 0;
  if (start_at_end_) {
    absl::StatusOr<uint64_t> end = EndOfLastLine(*live);
    if (absl::IsNotFound(end.status())) return absl::OkStatus();  // rotated meanwhile
    KT_RETURN_IF_ERROR(end.status());
    offset = *end;
  }
  const absl::Status opened = OpenCurrent(*live, offset);
  if (absl::IsNotFound(opened)) return absl::OkStatus();
  KT_RETURN_IF_ERROR(opened);
  if (start_at_end_) {
    start_at_end_ = false;
    UpdatePosition();
  }
  return absl::OkStatus();
}

absl::Status Tailer::OpenResumeFile(const TailPosition& resume) {
  KT_ASSIGN_OR_RETURN(std::vector<LogFileInfo> files,
                      ListFiles(SplitPath(config_.path), config_.path));
  if (files.empty()) return absl::OkStatus();  // nothing to read yet

  if (resume.offset == 0) {
    // Nothing consumed: the hinted file from its start if it is still there, else start as
    // without a position.
    for (const LogFileInfo& file : files) {
      if (file.compressed || file.device != resume.device || file.inode != resume.inode) continue;
      const absl::Status opened = OpenCurrent(file, 0);
      if (absl::IsNotFound(opened)) return absl::OkStatus();
      return opened;
    }
    resume_.reset();
    start_at_end_ = config_.start_at == StartAt::kEnd;  // and started_ is still false
    return absl::OkStatus();
  }

  // The hinted file first, then newest to oldest: usually the position is recent.
  std::vector<size_t> order;
  for (size_t i = files.size(); i-- > 0;) {
    const LogFileInfo& file = files[i];
    if (!file.compressed && file.device == resume.device && file.inode == resume.inode) {
      order.push_back(i);
    }
  }
  for (size_t i = files.size(); i-- > 0;) {
    if (std::find(order.begin(), order.end(), i) == order.end()) order.push_back(i);
  }
  std::optional<size_t> shorter;  // matches, but is shorter than the offset
  for (size_t i : order) {
    const LogFileInfo& file = files[i];
    absl::StatusOr<std::string> head = ReadHead(file, resume.fingerprint_bytes);
    if (!head.ok()) {
      if (IsGone(head.status())) continue;
      return head.status();
    }
    if (head->size() != resume.fingerprint_bytes ||
        TailPosition::Fingerprint(*head) != resume.fingerprint) {
      continue;
    }
    if (!file.compressed && file.size < resume.offset) {
      if (!shorter && !file.live) shorter = i;
      continue;
    }
    const absl::Status opened = OpenCurrent(file, resume.offset);
    if (IsGone(opened)) continue;
    KT_RETURN_IF_ERROR(opened);
    if (current_->consumed < resume.offset && !current_->broken) {
      AddWarning(Cat(file.path, " holds ", resume.DebugString(), " but ends at offset ",
                     current_->consumed,
                     ": its lines after that may be lost; continuing with the next file"));
    }
    return absl::OkStatus();
  }
  if (shorter) {
    const LogFileInfo& file = files[*shorter];
    const absl::Status opened = OpenCurrent(file, resume.offset);
    if (IsGone(opened)) return absl::OkStatus();  // look again on the next step
    KT_RETURN_IF_ERROR(opened);
    AddWarning(Cat(file.path, " holds ", resume.DebugString(), " but ends at offset ",
                   current_->consumed,
                   " (a copytruncate copy taken before the position?): lines written after the "
                   "copy may be lost; continuing with the next file"));
    return absl::OkStatus();
  }
  const absl::Status opened = OpenCurrent(files.front(), 0);
  if (IsGone(opened)) return absl::OkStatus();
  KT_RETURN_IF_ERROR(opened);
  AddWarning(Cat("no file holds ", resume.DebugString(),
                 " (rotated away and deleted?): the lines after it may be lost; continuing with ",
                 files.front().path, " from its beginning"));
  return absl::OkStatus();
}

absl::Status Tailer::OpenCurrent(const LogFileInfo& info, uint64_t offset) {
  KT_ASSIGN_OR_RETURN(std::unique_ptr<LogFile> file, OpenInfo(info));
  auto cursor = std::make_unique<Cursor>();
  cursor->path = info.path;
  cursor->compressed = info.compressed;
  cursor->device = info.device;
  cursor->inode = info.inode;
  if (!info.live) cursor->order_time = info.order_time;
  if (offset > 0 && !info.compressed) {
    KT_ASSIGN_OR_RETURN(struct stat st, file->Stat());
    offset = std::min<uint64_t>(offset, static_cast<uint64_t>(st.st_size));
    KT_ASSIGN_OR_RETURN(
        cursor->head,
        file->ReadAt(0, static_cast<size_t>(std::min<uint64_t>(offset, kFingerprintBytes))));
    file->Seek(offset);
    cursor->read_offset = offset;
  } else if (offset > 0) {
    // gzip: decompress up to the offset, keeping the head for the fingerprint.
    std::string block(kReadBlock, '\0');
    while (cursor->read_offset < offset) {
      const size_t want =
          static_cast<size_t>(std::min<uint64_t>(kReadBlock, offset - cursor->read_offset));
      absl::StatusOr<size_t> got = file->Read(block.data(), want);
      if (absl::IsDataLoss(got.status())) {
        cursor->broken = true;
        AddWarning(Cat(got.status().message(), " at offset ", cursor->read_offset,
                       ": the rest of the file is lost"));
        break;
      }
      KT_RETURN_IF_ERROR(got.status());
      if (*got == 0) break;
      if (cursor->read_offset < kFingerprintBytes) {
        cursor->head.append(block.data(),
                            std::min<size_t>(*got, kFingerprintBytes - cursor->read_offset));
      }
      cursor->read_offset += *got;
    }
  }
  cursor->consumed = cursor->read_offset;
  cursor->file = std::move(file);
  KT_LOG(kDebug, kComponent) << "reading " << info.path << " from offset " << cursor->consumed;
  current_ = std::move(cursor);
  return absl::OkStatus();
}

absl::StatusOr<bool> Tailer::CurrentTruncated() {
  const Cursor& c = *current_;
  KT_ASSIGN_OR_RETURN(struct stat st, c.file->Stat());
  if (static_cast<uint64_t>(st.st_size) < c.read_offset) return true;
  if (c.head.empty()) return false;
  KT_ASSIGN_OR_RETURN(std::string head, c.file->ReadAt(0, c.head.size()));
  return head != c.head;
}

absl::Status Tailer::FollowTruncation() {
  const std::string path = current_->path;
  const std::string head = current_->head;
  const uint64_t consumed = current_->consumed;
  const uint64_t device = current_->device;
  const uint64_t inode = current_->inode;
  KT_ASSIGN_OR_RETURN(std::vector<LogFileInfo> files,
                      ListFiles(SplitPath(config_.path), config_.path));
  // logrotate's copytruncate copied the content to a rotated file (newest first) before
  // truncating: finish that copy from the position.
  for (size_t i = files.size(); i-- > 0;) {
    const LogFileInfo& file = files[i];
    if (file.live || (!file.compressed && file.device == device && file.inode == inode)) continue;
    KT_ASSIGN_OR_RETURN(bool same, SameContent(file, head, consumed));
    if (!same) continue;
    const absl::Status opened = OpenCurrent(file, consumed);
    if (IsGone(opened)) continue;
    KT_RETURN_IF_ERROR(opened);
    if (current_->consumed < consumed) {
      AddWarning(Cat(path, " was truncated (copytruncate) and its copy ", file.path,
                     " ends at offset ", current_->consumed, ", before the position ", consumed,
                     ": lines written between the copy and the truncation are lost"));
    } else {
      KT_LOG(kInfo, kComponent) << path << " was truncated; finishing its copy " << file.path
                                << " from offset " << consumed;
    }
    return absl::OkStatus();
  }
  AddWarning(Cat(path,
                 " was truncated (copytruncate?) and no rotated file holds its old content: "
                 "its lines after offset ",
                 consumed, " that had not been read are lost; reading it again from offset 0"));
  current_.reset();
  resume_.reset();
  start_at_end_ = false;
  started_ = true;
  // The next content is the start of the truncated file: say so, so that a restart before
  // the next line reads it from there and does not look for the old content.
  position_ = TailPosition{};
  position_.device = device;
  position_.inode = inode;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<LogFileInfo>> Tailer::NextFile() {
  Cursor& c = *current_;
  if (!c.compressed) {
    KT_ASSIGN_OR_RETURN(std::optional<LogFileInfo> live, StatLive(config_.path));
    if (live && live->device == c.device && live->inode == c.inode) return std::nullopt;
  }
  KT_ASSIGN_OR_RETURN(std::vector<LogFileInfo> files,
                      ListFiles(SplitPath(config_.path), config_.path));
  std::optional<size_t> at;
  for (size_t i = 0; i < files.size() && !at; ++i) {
    if (files[i].compressed == c.compressed && files[i].device == c.device &&
        files[i].inode == c.inode) {
      at = i;
    }
  }
  // Compressed and deleted since it was opened: the .gz file with the same content.
  for (size_t i = 0; i < files.size() && !at; ++i) {
    if (files[i].live) continue;
    KT_ASSIGN_OR_RETURN(bool same, SameContent(files[i], c.head, c.consumed));
    if (same) at = i;
  }
  if (at) {
    if (files[*at].live) return std::nullopt;  // the live file after all (a racing rename)
    c.path = files[*at].path;
    c.order_time = files[*at].order_time;
    if (*at + 1 < files.size()) return files[*at + 1];
    return std::nullopt;
  }
  // Deleted while open (retention): the next file is the oldest one rotated after it. A file
  // never seen rotated was the live file until after its last write.
  const absl::Time after = c.order_time.value_or(c.file->mtime());
  for (const LogFileInfo& file : files) {
    if (file.live || file.order_time > after) return file;
  }
  return std::nullopt;
}

absl::Status Tailer::MoveToNext(TailChunk& chunk, bool& progress) {
  Cursor& c = *current_;
  if (c.skipping || c.buffer_pos < c.buffer.size()) {
    // The file ends inside a line (the writer died mid-line): report the tail in a chunk of
    // its own, with the position at the file's end.
    chunk.skipped.push_back(Cat(c.path, ": skipped ", c.read_offset - c.consumed,
                                " bytes at offset ", c.consumed,
                                ": the file ends without a newline"));
    c.buffer.clear();
    c.buffer_pos = 0;
    c.searched = 0;
    c.skipping = false;
    c.skip_bytes = 0;
    c.consumed = c.read_offset;
    UpdatePosition();
    return absl::OkStatus();
  }
  KT_ASSIGN_OR_RETURN(std::optional<LogFileInfo> next, NextFile());
  if (!next) {
    c.finishing = false;  // the newer file is gone again: keep following this one
    return absl::OkStatus();
  }
  const std::string left = c.path;
  const bool ended_early = c.file->gzip_ended_early();
  const uint64_t end = c.read_offset;
  const absl::Status opened = OpenCurrent(*next, 0);  // replaces `c`
  progress = true;
  if (absl::IsNotFound(opened)) return absl::OkStatus();  // renamed meanwhile: look again
  KT_RETURN_IF_ERROR(opened);
  if (ended_early) {
    AddWarning(Cat(left, " ends early (truncated gzip data) at offset ", end,
                   ": the rest of the file is lost"));
  }
  KT_LOG(kDebug, kComponent) << "finished " << left << ", continuing with " << next->path;
  absl::MutexLock lock(&mu_);
  ++stats_.files_finished;
  return absl::OkStatus();
}

bool Tailer::Extract(size_t max_bytes, TailChunk& chunk) {
  Cursor& c = *current_;
  bool full = false;
  bool moved = false;
  while (c.buffer_pos < c.buffer.size()) {
    const char* begin = c.buffer.data() + c.buffer_pos;
    const size_t available = c.buffer.size() - c.buffer_pos;
    const char* newline =
        static_cast<const char*>(std::memchr(begin + c.searched, '\n', available - c.searched));
    c.searched = 0;
    if (c.skipping) {
      if (newline == nullptr) {
        c.skip_bytes += available;
        c.buffer_pos = c.buffer.size();
        break;
      }
      const size_t rest = static_cast<size_t>(newline - begin) + 1;
      c.skip_bytes += rest;
      chunk.skipped.push_back(Cat(c.path, ": skipped a line of ", c.skip_bytes - 1,
                                  " bytes at offset ", c.consumed, " (max_line_bytes ",
                                  config_.max_line_bytes, ")"));
      c.consumed += c.skip_bytes;
      c.buffer_pos += rest;
      c.skipping = false;
      c.skip_bytes = 0;
      moved = true;
      if (chunk.lines > 0) {  // the chunk's lines stay contiguous: it ends here
        full = true;
        break;
      }
      continue;
    }
    if (newline == nullptr) {
      if (available > config_.max_line_bytes) {
        // Too long already: drop what there is and skip to its end as it is read.
        c.skipping = true;
        c.skip_bytes = available;
        c.buffer_pos = c.buffer.size();
      } else {
        c.searched = available;
      }
      break;
    }
    const size_t length = static_cast<size_t>(newline - begin);
    const bool skip = length > config_.max_line_bytes;
    if (skip) {
      chunk.skipped.push_back(Cat(c.path, ": skipped a line of ", length, " bytes at offset ",
                                  c.consumed, " (max_line_bytes ", config_.max_line_bytes, ")"));
    } else {
      if (chunk.lines > 0 && chunk.data.size() + length + 1 > max_bytes) {
        full = true;
        break;
      }
      if (chunk.lines == 0) chunk.first_offset = c.consumed;
      chunk.data.append(begin, length + 1);
      ++chunk.lines;
    }
    c.consumed += length + 1;
    c.buffer_pos += length + 1;
    moved = true;
    // A skipped line after some lines ends the chunk, so that its lines stay contiguous.
    if (chunk.lines > 0 && (skip || chunk.data.size() >= max_bytes)) {
      full = true;
      break;
    }
  }
  if (moved) UpdatePosition();
  return full;
}

absl::StatusOr<size_t> Tailer::ReadMore() {
  Cursor& c = *current_;
  if (c.broken) return 0;
  if (c.buffer_pos > 0) {
    c.buffer.erase(0, c.buffer_pos);
    c.buffer_pos = 0;
  }
  const size_t old_size = c.buffer.size();
  c.buffer.resize(old_size + kReadBlock);
  absl::StatusOr<size_t> got = c.file->Read(c.buffer.data() + old_size, kReadBlock);
  if (!got.ok()) {
    c.buffer.resize(old_size);
    if (!absl::IsDataLoss(got.status())) return got.status();
    c.broken = true;
    AddWarning(Cat(got.status().message(), " at offset ", c.read_offset,
                   ": the rest of the file is lost"));
    return 0;
  }
  c.buffer.resize(old_size + *got);
  if (c.read_offset < kFingerprintBytes) {
    c.head.append(c.buffer.data() + old_size,
                  std::min<size_t>(*got, kFingerprintBytes - c.read_offset));
  }
  c.read_offset += *got;
  return *got;
}

void Tailer::UpdatePosition() {
  const Cursor& c = *current_;
  position_.device = c.device;
  position_.inode = c.inode;
  position_.offset = c.consumed;
  const size_t covered = static_cast<size_t>(std::min<uint64_t>(c.consumed, kFingerprintBytes));
  position_.fingerprint_bytes = static_cast<uint32_t>(covered);
  position_.fingerprint = TailPosition::Fingerprint(std::string_view(c.head).substr(0, covered));
}

void Tailer::AddWarning(std::string message) {
  KT_LOG(kWarning, kComponent) << message;
  pending_warnings_.push_back(std::move(message));
  absl::MutexLock lock(&mu_);
  ++stats_.gaps;
}

}  // namespace kubetrail::collector
