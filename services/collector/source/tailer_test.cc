#include "services/collector/source/tailer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace kubetrail::collector {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// One audit-log-like line without its '\n'. The unique auditID comes first, as in the
// apiserver's output, so that every file's first bytes (its fingerprint) differ.
std::string Event(std::string_view id) {
  return Cat(R"({"auditID":")", id, R"(","kind":"Event","stage":"ResponseComplete"})");
}

// Events prefix-from .. prefix-(to-1).
std::vector<std::string> Events(std::string_view prefix, int from, int to) {
  std::vector<std::string> events;
  for (int i = from; i < to; ++i) events.push_back(Event(Cat(prefix, "-", i)));
  return events;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) absl::StrAppend(&out, line, "\n");
  return out;
}

std::vector<std::string> Concat(std::initializer_list<std::vector<std::string>> parts) {
  std::vector<std::string> out;
  for (const auto& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

// The lines of a chunk, without their '\n'; a missing final '\n' shows as "<unterminated>".
std::vector<std::string> SplitLines(std::string_view data) {
  std::vector<std::string> lines;
  while (!data.empty()) {
    const size_t newline = data.find('\n');
    if (newline == std::string_view::npos) {
      lines.push_back("<unterminated>");
      break;
    }
    lines.emplace_back(data.substr(0, newline));
    data.remove_prefix(newline + 1);
  }
  return lines;
}

void AppendFile(const std::string& path, std::string_view text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  while (!text.empty()) {
    const ssize_t written = ::write(fd, text.data(), text.size());
    ASSERT_GT(written, 0) << path << ": " << std::strerror(errno);
    text.remove_prefix(static_cast<size_t>(written));
  }
  ::close(fd);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

// Like lumberjack / logrotate compression: writes `path`.gz, then deletes `path`.
std::string Compress(const std::string& path) {
  const std::string content = ReadFile(path);
  const std::string gz = path + ".gz";
  gzFile out = gzopen(gz.c_str(), "wb");
  EXPECT_NE(out, nullptr) << gz;
  if (out == nullptr) return gz;
  EXPECT_EQ(gzwrite(out, content.data(), static_cast<unsigned>(content.size())),
            static_cast<int>(content.size()));
  EXPECT_EQ(gzclose(out), Z_OK);
  EXPECT_EQ(std::remove(path.c_str()), 0) << path;
  return gz;
}

void SetMtime(const std::string& path, absl::Time t) {
  const timespec when = absl::ToTimespec(t);
  const timespec times[2] = {when, when};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
}

// The position just after `content`, which starts a file (no device/inode hint).
TailPosition PositionAfter(std::string_view content) {
  TailPosition position;
  position.offset = content.size();
  position.fingerprint_bytes =
      static_cast<uint32_t>(std::min<size_t>(content.size(), kFingerprintBytes));
  position.fingerprint = TailPosition::Fingerprint(content.substr(0, position.fingerprint_bytes));
  return position;
}

// A position as the collector gets it back from its spool.
TailPosition RoundTrip(const TailPosition& position) {
  absl::StatusOr<TailPosition> decoded = TailPosition::Decode(position.Encode());
  EXPECT_TRUE(decoded.ok()) << decoded.status();
  return decoded.ok() ? *decoded : TailPosition{};
}

// ---------------------------------------------------------------------------------------------

TEST(TailPositionTest, EncodeDecodeRoundTrip) {
  TailPosition position;
  position.device = 0x0102030405060708;
  position.inode = 0xfffffffffffffff0;
  position.offset = 123456789012;
  position.fingerprint_bytes = kFingerprintBytes;
  position.fingerprint = 0xdeadbeefcafef00d;
  const std::string encoded = position.Encode();
  EXPECT_THAT(encoded, SizeIs(37));
  absl::StatusOr<TailPosition> decoded = TailPosition::Decode(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, position);

  // The default position ("nothing consumed") round-trips too.
  decoded = TailPosition::Decode(TailPosition{}.Encode());
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, TailPosition{});
}

TEST(TailPositionTest, EncodingIsFrozen) {
  TailPosition position;
  position.device = 1;
  position.inode = 2;
  position.offset = 3;
  position.fingerprint_bytes = 3;
  position.fingerprint = 0x0a0b0c0d0e0f1011;
  EXPECT_EQ(absl::BytesToHexString(position.Encode()),
            "01"
            "0000000000000001"
            "0000000000000002"
            "0000000000000003"
            "00000003"
            "0a0b0c0d0e0f1011");
}

TEST(TailPositionTest, FingerprintIsFnv1a64) {
  EXPECT_EQ(TailPosition::Fingerprint(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(TailPosition::Fingerprint("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(TailPosition::Fingerprint("foobar"), 0x85944171f73967e8ULL);
}

TEST(TailPositionTest, DecodeRejectsBadInput) {
  const auto encode = [](uint64_t offset, uint32_t fingerprint_bytes) {
    TailPosition position;
    position.offset = offset;
    position.fingerprint_bytes = fingerprint_bytes;
    return position.Encode();
  };
  std::string future_version = encode(10, 10);
  future_version[0] = 2;
  const std::string good = encode(10, 10);
  for (const std::string& bad :
       {std::string(), future_version, good.substr(0, 36), good + "x",
        encode(5000, kFingerprintBytes + 1), encode(5, 10), encode(5, 0)}) {
    absl::StatusOr<TailPosition> decoded = TailPosition::Decode(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(decoded.status()))
        << absl::BytesToHexString(bad) << ": " << decoded.status();
  }
  absl::StatusOr<TailPosition> decoded = TailPosition::Decode(future_version);
  EXPECT_THAT(std::string(decoded.status().message()), HasSubstr("version 2"));
  EXPECT_TRUE(TailPosition::Decode(good).ok());
}

// ---------------------------------------------------------------------------------------------

class TailerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok()) << dir_.error();
    live_ = dir_.File("audit.log");
  }

  // A short poll interval: waiting Reads notice changes within a millisecond or two.
  TailerConfig Config() const {
    TailerConfig config;
    config.path = live_;
    config.poll_interval = absl::Milliseconds(1);
    return config;
  }

  std::unique_ptr<Tailer> Open(std::optional<TailPosition> resume = std::nullopt) {
    return OpenWith(Config(), resume);
  }
  std::unique_ptr<Tailer> OpenWith(TailerConfig config,
                                   std::optional<TailPosition> resume = std::nullopt) {
    absl::StatusOr<std::unique_ptr<Tailer>> tailer = Tailer::Open(std::move(config), resume);
    EXPECT_TRUE(tailer.ok()) << tailer.status();
    return tailer.ok() ? std::move(*tailer) : nullptr;
  }

  void Append(const std::vector<std::string>& lines) { AppendFile(live_, Join(lines)); }

  // lumberjack's rotation: the live file becomes audit-<stamp>.log, a new live file is created.
  std::string Rotate(std::string_view stamp) {
    const std::string rotated = dir_.File(Cat("audit-", stamp, ".log"));
    EXPECT_EQ(::rename(live_.c_str(), rotated.c_str()), 0) << std::strerror(errno);
    AppendFile(live_, "");
    return rotated;
  }

  // logrotate's copytruncate: copy the live file to `copy`, then truncate it.
  std::string CopyTruncate(std::string_view copy) {
    const std::string path = dir_.File(copy);
    WriteFile(path, ReadFile(live_));
    EXPECT_EQ(::truncate(live_.c_str(), 0), 0) << std::strerror(errno);
    return path;
  }

  // Reads without waiting until nothing is left; returns the lines, and the chunks in `chunks`.
  static std::vector<std::string> Drain(Tailer& tailer, std::vector<TailChunk>* chunks = nullptr,
                                        size_t max_bytes = size_t{1} << 20) {
    std::vector<std::string> lines;
    for (int i = 0; i < 100000; ++i) {
      absl::StatusOr<TailChunk> chunk = tailer.Read(max_bytes, absl::ZeroDuration());
      EXPECT_TRUE(chunk.ok()) << chunk.status();
      if (!chunk.ok() || chunk->empty()) break;
      EXPECT_EQ(SplitLines(chunk->data).size(), chunk->lines);
      for (std::string& line : SplitLines(chunk->data)) lines.push_back(std::move(line));
      if (chunks != nullptr) chunks->push_back(std::move(*chunk));
    }
    return lines;
  }

  // One Read of at most one line.
  static TailChunk ReadOne(Tailer& tailer) {
    absl::StatusOr<TailChunk> chunk = tailer.Read(1, absl::ZeroDuration());
    EXPECT_TRUE(chunk.ok()) << chunk.status();
    return chunk.ok() ? *std::move(chunk) : TailChunk{};
  }

  static std::vector<std::string> AllWarnings(const std::vector<TailChunk>& chunks) {
    std::vector<std::string> out;
    for (const TailChunk& chunk : chunks)
      out.insert(out.end(), chunk.warnings.begin(), chunk.warnings.end());
    return out;
  }
  static std::vector<std::string> AllSkipped(const std::vector<TailChunk>& chunks) {
    std::vector<std::string> out;
    for (const TailChunk& chunk : chunks)
      out.insert(out.end(), chunk.skipped.begin(), chunk.skipped.end());
    return out;
  }

  kubetrail::testing::TempDir dir_;
  std::string live_;
};

TEST_F(TailerTest, OpenRejectsBadConfig) {
  const auto open = [](TailerConfig config) {
    return Tailer::Open(std::move(config), std::nullopt).status();
  };
  TailerConfig config = Config();
  config.path = "";
  EXPECT_TRUE(absl::IsInvalidArgument(open(config))) << open(config);
  config.path = dir_.path();
  EXPECT_TRUE(absl::IsInvalidArgument(open(config))) << open(config);
  config.path = dir_.File("missing/");
  EXPECT_TRUE(absl::IsInvalidArgument(open(config))) << open(config);
  config = Config();
  config.max_line_bytes = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(open(config))) << open(config);
  config = Config();
  config.poll_interval = absl::ZeroDuration();
  EXPECT_TRUE(absl::IsInvalidArgument(open(config))) << open(config);
  // A missing file, even in a missing directory, is fine: it is waited for.
  config = Config();
  config.path = dir_.File("not/yet/audit.log");
  EXPECT_TRUE(open(config).ok()) << open(config);
}

TEST_F(TailerTest, UnreadableFileIsAnErrorNamingIt) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads files regardless of their mode";
  Append(Events("a", 0, 1));
  ASSERT_EQ(::chmod(live_.c_str(), 0), 0);
  absl::StatusOr<std::unique_ptr<Tailer>> tailer = Tailer::Open(Config(), std::nullopt);
  EXPECT_TRUE(absl::IsPermissionDenied(tailer.status())) << tailer.status();
  EXPECT_THAT(std::string(tailer.status().message()), HasSubstr(live_));
  EXPECT_THAT(std::string(tailer.status().message()), HasSubstr("Permission denied"));
}

TEST_F(TailerTest, FollowsAppends) {
  Append(Events("a", 0, 2));
  std::unique_ptr<Tailer> tailer = Open();
  ASSERT_NE(tailer, nullptr);
  absl::StatusOr<TailChunk> chunk = tailer->Read(1 << 20, absl::ZeroDuration());
  ASSERT_TRUE(chunk.ok()) << chunk.status();
  EXPECT_THAT(SplitLines(chunk->data), ElementsAreArray(Events("a", 0, 2)));
  EXPECT_EQ(chunk->lines, 2u);
  EXPECT_EQ(chunk->file, live_);
  EXPECT_EQ(chunk->position.offset, Join(Events("a", 0, 2)).size());
  EXPECT_THAT(chunk->skipped, IsEmpty());
  EXPECT_THAT(chunk->warnings, IsEmpty());

  chunk = tailer->Read(1 << 20, absl::ZeroDuration());
  ASSERT_TRUE(chunk.ok()) << chunk.status();
  EXPECT_TRUE(chunk->empty());
  EXPECT_EQ(chunk->position.offset, Join(Events("a", 0, 2)).size());  // unchanged

  Append(Events("a", 2, 5));
  EXPECT_THAT(Drain(*tailer), ElementsAreArray(Events("a", 2, 5)));
  EXPECT_THAT(Drain(*tailer), IsEmpty());
  const TailerStats stats = tailer->Stats();
  EXPECT_EQ(stats.lines, 5u);
  EXPECT_EQ(stats.bytes, Join(Events("a", 0, 5)).size());
  EXPECT_EQ(stats.gaps, 0u);
}

// ReadInto refills one chunk: each read holds only its own lines, skipped lines and warnings,
// and the buffer keeps its memory.
TEST_F(TailerTest, ReadIntoReusesOneChunk) {
  TailerConfig config = Config();
  config.max_line_bytes = 100;
  Append(Events("a", 0, 3));
  Append({std::string(300, 'x')});
  std::unique_ptr<Tailer> tailer = OpenWith(config);
  ASSERT_NE(tailer, nullptr);
  TailChunk chunk;
  ASSERT_TRUE(tailer->ReadInto(1 << 20, absl::ZeroDuration(), chunk).ok());
  EXPECT_THAT(SplitLines(chunk.data), ElementsAreArray(Events("a", 0, 3)));
  EXPECT_EQ(chunk.skipped.size(), 1u);
  const size_t capacity = chunk.data.capacity();

  Append(Events("b", 0, 1));
  ASSERT_TRUE(tailer->ReadInto(1 << 20, absl::ZeroDuration(), chunk).ok());
  EXPECT_THAT(SplitLines(chunk.data), ElementsAreArray(Events("b", 0, 1)));
  EXPECT_EQ(chunk.lines, 1u);
  EXPECT_THAT(chunk.skipped, IsEmpty());
  EXPECT_EQ(chunk.data.capacity(), capacity);
  EXPECT_EQ(chunk.position.offset, ReadFile(live_).size());

  ASSERT_TRUE(tailer->ReadInto(1 << 20, absl::ZeroDuration(), chunk).ok());
  EXPECT_TRUE(chunk.empty());
  EXPECT_TRUE(chunk.data.empty());
  EXPECT_EQ(chunk.position.offset, ReadFile(live_).size());
}

TEST_F(TailerTest, PartialLineIsReturnedOnceComplete) {
  const std::string second = Event("a-1");
  AppendFile(live_, Join({Event("a-0")}) + second.substr(0, 20));
  std::unique_ptr<Tailer> tailer = Open();
  ASSERT_NE(tailer, nullptr);
  EXPECT_THAT(Drain(*tailer), ElementsAre(Event("a-0")));
  EXPECT_THAT(Drain(*tailer), IsEmpty());
  AppendFile(live_, second.substr(20, 10));
  EXPECT_THAT(Drain(*tailer), IsEmpty());
  AppendFile(live_, second.substr(30) + "\n");
  EXPECT_THAT(Drain(*tailer), ElementsAre(second));
  EXPECT_THAT(Drain(*tailer), IsEmpty());
}

TEST_F(TailerTest, MaxBytesSplitsAtLineBoundaries) {
  Append(Events("a", 0, 9));
  const size_t line = Event("a-0").size() + 1;
  std::unique_ptr<Tailer> tailer = Open();
  ASSERT_NE(tailer, nullptr);
  std::vector<TailChunk> chunks;
  EXPECT_THAT(Drain(*tailer, &chunks, 2 * line + 1), ElementsAreArray(Events("a", 0, 9)));
  ASSERT_THAT(chunks, SizeIs(5));
  uint64_t offset = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_EQ(chunks[i].lines, i < 4 ? 2u : 1u) << i;
    offset += chunks[i].data.size();
    EXPECT_EQ(chunks[i].position.offset, offset) << i;
  }

  // A line longer than max_bytes still comes whole, one per chunk.
  Append(Events("b", 0, 3));
  chunks.clear();
  EXPECT_THAT(Drain(*tailer, &chunks, 1), ElementsAreArray(Events("b", 0, 3)));
  EXPECT_THAT(chunks, SizeIs(3));
}

TEST_F(TailerTest, WaitsForMissingFileAndDirectory) {
  TailerConfig config = Config();
  config.path = dir_.File("audit/audit.log");
  std::unique_ptr<Tailer> tailer = OpenWith(config);
  ASSERT_NE(tailer, nullptr);
  absl::StatusOr<TailChunk> chunk = tailer->Read(1 << 20, absl::Milliseconds(5));
  ASSERT_TRUE(chunk.ok()) << chunk.status();
  EXPECT_TRUE(chunk->empty());
  ASSERT_EQ(::mkdir(dir_.File("audit").c_str(), 0700), 0);
  EXPECT_THAT(Drain(*tailer), IsEmpty());
  AppendFile(config.path, Join(Events("a", 0, 2)));
  EXPECT_THAT(Drain(*tailer), ElementsAreArray(Events("a", 0, 2)));
}

TEST_F(TailerTest, FilesRotatedAfterOpenAreReadEvenIfTheLiveFileWasNeverSeen) {
  // History from before the collector: not read.
  WriteFile(dir_.File("audit-2026-11-26T06-00-00.000.log"), Join(Events("old", 0, 2)));
  std::unique_ptr<Tailer> tailer = Open();  // no live file yet
  ASSERT_NE(tailer, nullptr);
  // The apiserver starts, writes and rotates twice before the tailer looks again.
  Append(Events("a", 0, 2));
  Rotate("2026-11-27T06-00-00.000");
  Append(Events("b", 0, 1));
  Compress(Rotate("2026-11-27T07-00-00.000"));
  Append(Events("c", 0, 1));
  std::vector<TailChunk> chunks;
  EXPECT_THAT(Drain(*tailer, &chunks),
              ElementsAreArray(Concat({Events("a", 0, 2), Events("b", 0, 1), Events("c", 0, 1)})));
  EXPECT_THAT(AllWarnings(chunks), IsEmpty());
}

TEST_F(TailerTest, WaitingReadReturnsAppendedLine) {
  std::unique_ptr<Tailer> tailer = Open();  // the file does not exist yet
  ASSERT_NE(tailer, nullptr);
  absl::StatusOr<TailChunk> chunk;
  std::thread reader([&] { chunk = tailer->Read(1 << 20, absl::Seconds(60)); });
  Append(Events("a", 0, 1));
  reader.join();
  ASSERT_TRUE(chunk.ok()) << chunk.status();
  EXPECT_THAT(SplitLines(chunk->data), ElementsAre(Event("a-0")));
}

TEST_F(TailerTest, WakeEndsAWaitingRead) {
  Append(Events("a", 0, 1));
  std::unique_ptr<Tailer> tailer = Open();
  ASSERT_NE(tailer, nullptr);
  EXPECT_THAT(Drain(*tailer), ElementsAre(Event("a-0")));

  absl::StatusOr<TailChunk> chunk;
  std::thread reader([&] { chunk = tailer->Read(1 << 20, absl::InfiniteDuration()); });
  tailer->Wake();
  reader.join();
  ASSERT_TRUE(chunk.ok()) << chunk.status();
  EXPECT_TRUE(chunk->empty());

  // A Wake with no Read waiting ends the next wait.
  tailer->Wake();
  chunk = tailer->Read(1 << 20, absl::InfiniteDuration());
  ASSERT_TRUE(chunk.ok()) << chunk.status();
  EXPECT_TRUE(chunk->empty());
}

TEST_F(TailerTest, WaitIsMeasuredByTheInjectedClock) {
  FakeClock clock;
  absl::StatusOr<std::unique_ptr<Tailer>> tailer = Tailer::Open(Config(), std::nullopt, clock);
  ASSERT_TRUE(tailer.ok()) << tailer.status();
  absl::Notification done;
  absl::StatusOr<TailChunk> chunk;
  std::thread reader([&] {
    chunk = (*tailer)->Read(1 << 20, absl::Minutes(5));
    done.Notify();
  });
  // Real time passes, the clock does not: the Read keeps waiting.
  EXPECT_FALSE(done.WaitForNotificationWithTimeout(absl::Milliseconds(30)));
  clock.Advance(absl::Minutes(5));
  reader.join();
  ASSERT_TRUE(chunk.ok()) << chunk.status();
  EXPECT_TRUE(chunk->empty());
}

TEST_F(TailerTest, LumberjackRotationFinishesTheRotatedFileFirst) {
  Append(Events("a", 0, 3));
  std::unique_ptr<Tailer> tailer = Open();
  ASSERT_NE(tailer, nullptr);
  EXPECT_THAT(Drain(*tailer), ElementsAreArray(Events("a", 0, 3)));
  // Written before the rotation, not read yet.
  Append(Events("a", 3, 5));
  const std::string rotated = Rotate("2026-11-27T06-00-00.000");
  Append(Events("b", 0, 2));
  std::vector<TailChunk> chunks;
  EXPECT_THAT(Drain(*tailer, &chunks),
              ElementsAreArray(Concat({Events("a", 3, 5), Events("b", 0, 2)})));
  ASSERT_THAT(chunks, SizeIs(2));  // one file per chunk
  EXPECT_EQ(chunks[1].file, live_);
  EXPECT_EQ(chunks[1].position.offset, Join(Events("b", 0, 2)).size());
  EXPECT_THAT(AllWarnings(chunks), IsEmpty());
  EXPECT_EQ(tailer->Stats().files_finished, 1u);

  // And it keeps following the new live file.
  Append(Events("b", 2, 3));
  EXPECT_THAT(Drain(*tailer), ElementsAre(Event("b-2")));
}

TEST_F(TailerTest, WaitsBetweenRenameAndCreate) {
  Append(Events("a", 0, 1));
  std::unique_ptr<Tailer> tailer = Open();
  ASSERT_NE(tailer, nullptr);
  EXPECT_THAT(Drain(*tailer), ElementsAre(Event("a-0")));
  Append(Events("a", 1, 2));
  ASSERT_EQ(::rename(live_.c_str(), dir_.File("audit-2026-11-27T06-00-00.000.log").c_str()), 0);
  EXPECT_THAT(Drain(*tailer), ElementsAre(Event("a-1")));
  EXPECT_THAT(Drain(*tailer), IsEmpty());
  Append(Events("b", 0, 1));  // creates the new live file
  EXPECT_THAT(Drain(*tailer), ElementsAre(Event("b-0")));
}

TEST_F(TailerTest, SeveralRotationsWhileBehind) {
  Append(Events("a", 0, 2));
  std::unique_ptr<Tailer> tailer = Open();
  ASSERT_NE(tailer, nullptr);
  EXPECT_THAT(SplitLines(ReadOne(*tailer).data), ElementsAre(Event("a-0")));
  Append(Events("a", 2, 3));
  Rotate("2026-11-27T06-00-00.000");
  Append(Events("b", 0, 2));
  Rotate("2026-11-27T07-00-00.000");
  Append(Events("c", 0, 1));
  Rotate("2026-11-27T08-00-00.000");
  Append(Events("d", 0, 1));
  EXPECT_THAT(Drain(*tailer), ElementsAreArray(Concat({Events("a", 1, 3), Events("b", 0, 2),
                                                       Events("c", 0, 1), Events("d", 0, 1)})));
  EXPECT_EQ(tailer->Stats().files_finished, 3u);
}

TEST_F(TailerTest, ConcurrentWriterWithRotationsAndCompressionLosesNothing) {
  constexpr int kLines = 6000;
  constexpr int kLinesPerFile = 500;
  std::unique_ptr<Tailer> tailer = Open();
  ASSERT_NE(tailer, nullptr);
  // The apiserver with lumberjack: lines one write each; rotation = rename + create, then
  // (like --audit-log-compress's goroutine, here on the same thread) gzip and delete.
  std::thread writer([&] {
    for (int i = 0; i < kLines; ++i) {
      if (i > 0 && i % kLinesPerFile == 0) {
        const std::string rotated =
            Rotate(absl::StrFormat("2026-11-27T06-00-%02d.000", i / kLinesPerFile));
        if ((i / kLinesPerFile) % 2 == 0) Compress(rotated);
      }
      AppendFile(live_, Join({Event(Cat("w-", i))}));
    }
  });
  std::vector<std::string> lines;
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while (lines.size() < static_cast<size_t>(kLines) && absl::Now() < give_up) {
    absl::StatusOr<TailChunk> chunk = tailer->Read(16 << 10, absl::Milliseconds(20));
    ASSERT_TRUE(chunk.ok()) << chunk.status();
    EXPECT_THAT(chunk->skipped, IsEmpty());
    EXPECT_THAT(chunk->warnings, IsEmpty());
    for (std::string& line : SplitLines(chunk->data)) lines.push_back(std::move(line));
  }
  writer.join();
  EXPECT_THAT(Drain(*tailer), IsEmpty());
  EXPECT_THAT(lines, ElementsAreArray(Events("w", 0, kLines)));
  EXPECT_EQ(tailer->Stats().files_finished, static_cast<uint64_t>(kLines / kLinesPerFile - 1));
}

TEST_F(TailerTest, ResumesAfterRotationsWhileDown) {
  Append(Events("a", 0, 3));
  TailPosition committed;
  {
    std::unique_ptr<Tailer> tailer = Open();
    ASSERT_NE(tailer, nullptr);
    TailChunk chunk = ReadOne(*tailer);
    EXPECT_THAT(SplitLines(chunk.data), ElementsAre(Event("a-0")));
    committed = chunk.position;
  }
  Append(Events("a", 3, 4));
  Rotate("2026-11-27T06-00-00.000");
  Append(Events("b", 0, 2));
  Rotate("2026-11-27T07-00-00.000");
  Append(Events("c", 0, 1));

  std::unique_ptr<Tailer> tailer = Open(RoundTrip(committed));
  ASSERT_NE(tailer, nullptr);
  std::vector<TailChunk> chunks;
  EXPECT_THAT(Drain(*tailer, &chunks),
              ElementsAreArray(Concat({Events("a", 1, 4), Events("b", 0, 2), Events("c", 0, 1)})));
  EXPECT_THAT(AllWarnings(chunks), IsEmpty());
}

TEST_F(TailerTest, ResumesInsideCompressedRotatedFiles) {
  // Large enough that the resume offset lies many read blocks into the decompressed stream.
  const std::vector<std::string> a = Events("a", 0, 3000);
  Append(a);
  TailPosition committed =
      PositionAfter(Join(std::vector<std::string>(a.begin(), a.begin() + 2000)));
  Compress(Rotate("2026-11-27T06-00-00.000"));
  Append(Events("b", 0, 2));
  Compress(Rotate("2026-11-27T07-00-00.000"));
  Append(Events("c", 0, 1));
  ASSERT_FALSE(std::ifstream(dir_.File("audit-2026-11-27T06-00-00.000.log")).good());

  std::unique_ptr<Tailer> tailer = Open(committed);
  ASSERT_NE(tailer, nullptr);
  std::vector<TailChunk> chunks;
  EXPECT_THAT(
      Drain(*tailer, &chunks),
      ElementsAreArray(Concat({Events("a", 2000, 3000), Events("b", 0, 2), Events("c", 0, 1)})));
  EXPECT_THAT(AllWarnings(chunks), IsEmpty());
  ASSERT_FALSE(chunks.empty());
  EXPECT_EQ(chunks.front().file, dir_.File("audit-2026-11-27T06-00-00.000.log.gz"));

  // A position inside the .gz file, taken from a chunk, resumes there too.
  std::unique_ptr<Tailer> again = Open(committed);
  ASSERT_NE(again, nullptr);
  TailChunk first = ReadOne(*again);
  EXPECT_THAT(SplitLines(first.data), ElementsAre(Event("a-2000")));
  again = Open(RoundTrip(first.position));
  ASSERT_NE(again, nullptr);
  EXPECT_THAT(
      Drain(*again),
      ElementsAreArray(Concat({Events("a", 2001, 3000), Events("b", 0, 2), Events("c", 0, 1)})));
}

TEST_F(TailerTest, KeepsReadingAFileCompressedAndDeletedUnderIt) {
  Append(Events("a", 0, 3));
  std::unique_ptr<Tailer> tailer = Open();
  ASSERT_NE(tailer, nullptr);
  EXPECT_THAT(SplitLines(ReadOne(*tailer).data), ElementsAre(Event("a-0")));
  Compress(Rotate("2026-11-27T06-00-00.000"));
  Append(Events("b", 0, 2));
  Compress(Rotate("2026-11-27T07-00-00.000"));
  Append(Events("c", 0, 1));
  EXPECT_THAT(Drain(*tailer),
              ElementsAreArray(Concat({Events("a", 1, 3), Events("b", 0, 2), Events("c", 0, 1)})));
  EXPECT_EQ(tailer->Stats().gaps, 0u);
}

TEST_F(TailerTest, PrefersTheUncompressedFileWhileCompressing) {
  Append(Events("a", 0, 4));
  const std::string rotated = Rotate("2026-11-27T06-00-00.000");
  // lumberjack is half-way through writing the .gz; the plain file still exists.
  const std::string gz = Compress(rotated);
  const std::string compressed = ReadFile(gz);
  WriteFile(gz, compressed.substr(0, compressed.size() / 2));
  Append(Events("b", 0, 1));
  WriteFile(rotated, Join(Events("a", 0, 4)));

  std::unique_ptr<Tailer> tailer = Open(PositionAfter(Join(Events("a", 0, 1))));
  ASSERT_NE(tailer, nullptr);
  std::vector<TailChunk> chunks;
  EXPECT_THAT(Drain(*tailer, &chunks),
              ElementsAreArray(Concat({Events("a", 1, 4), Events("b", 0, 1)})));
  EXPECT_THAT(AllWarnings(chunks), IsEmpty());
  ASSERT_FALSE(chunks.empty());
  EXPECT_EQ(chunks.front().file, rotated);
}

TEST_F(TailerTest, LumberjackFilesAreOrderedByTheirNamesNotMtimes) {
  const std::string first = dir_.File("audit-2026-11-27T01-00-00.000.log");
  const std::string second = dir_.File("audit-2026-11-27T02-00-00.000.log");
  const std::string third = dir_.File("audit-2026-11-27T10-00-00.000.log");
  WriteFile(first, Join(Events("x", 0, 2)));
  WriteFile(second, Join(Events("y", 0, 1)));
  WriteFile(third, Join(Events("z", 0, 1)));
  Append(Events("live", 0, 1));
  // Compression and copies change mtimes: make them say the opposite of the names.
  SetMtime(first, absl::FromUnixSeconds(1'900'000'000));
  SetMtime(second, absl::FromUnixSeconds(1'800'000'000));
  SetMtime(third, absl::FromUnixSeconds(1'700'000'000));
  // Not rotated files of this log: ignored.
  WriteFile(dir_.File("other-2026-11-27T03-00-00.000.log"), Join(Events("o", 0, 1)));
  WriteFile(dir_.File("audit-2026-13-27T03-00-00.000.log"), Join(Events("o", 1, 2)));
  WriteFile(dir_.File("audit.log.tmp"), Join(Events("o", 2, 3)));

  std::unique_ptr<Tailer> tailer = Open(PositionAfter(Join(Events("x", 0, 1))));
  ASSERT_NE(tailer, nullptr);
  EXPECT_THAT(Drain(*tailer), ElementsAreArray(Concat({Events("x", 1, 2), Events("y", 0, 1),
                                                       Events("z", 0, 1), Events("live", 0, 1)})));
}

TEST_F(TailerTest, LogrotateNumberedFilesAreOrderedByNumber) {
  WriteFile(dir_.File("audit.log.3"), Join(Events("n3", 0, 2)));
  WriteFile(dir_.File("audit.log.2"), Join(Events("n2", 0, 1)));
  WriteFile(dir_.File("audit.log.10"), Join(Events("n10", 0, 1)));
  const std::string gz3 = Compress(dir_.File("audit.log.3"));
  const std::string gz2 = Compress(dir_.File("audit.log.2"));
  const std::string gz10 = Compress(dir_.File("audit.log.10"));
  WriteFile(dir_.File("audit.log.1"), Join(Events("n1", 0, 1)));
  Append(Events("live", 0, 1));
  // delaycompress: the older, just compressed file is newer by mtime.
  SetMtime(gz10, absl::FromUnixSeconds(1'700'000'000));
  SetMtime(gz3, absl::FromUnixSeconds(1'800'000'300));
  SetMtime(gz2, absl::FromUnixSeconds(1'800'000'200));
  SetMtime(dir_.File("audit.log.1"), absl::FromUnixSeconds(1'800'000'100));

  std::unique_ptr<Tailer> tailer = Open(PositionAfter(Join(Events("n3", 0, 1))));
  ASSERT_NE(tailer, nullptr);
  std::vector<TailChunk> chunks;
  EXPECT_THAT(Drain(*tailer, &chunks),
              ElementsAreArray(Concat({Events("n3", 1, 2), Events("n2", 0, 1), Events("n1", 0, 1),
                                       Events("live", 0, 1)})));
  EXPECT_THAT(AllWarnings(chunks), IsEmpty());
}

TEST_F(TailerTest, LogrotateDateextFilesAreOrderedByDate) {
  WriteFile(dir_.File("audit.log-20261126"), Join(Events("d26", 0, 2)));
  WriteFile(dir_.File("audit.log-20261125"), Join(Events("d25", 0, 2)));
  Compress(dir_.File("audit.log-20261125"));
  WriteFile(dir_.File("audit.log-20261127"), Join(Events("d27", 0, 1)));
  SetMtime(dir_.File("audit.log-20261125.gz"), absl::FromUnixSeconds(1'800'000'000));
  Append(Events("live", 0, 1));

  std::unique_ptr<Tailer> tailer = Open(PositionAfter(Join(Events("d25", 0, 1))));
  ASSERT_NE(tailer, nullptr);
  EXPECT_THAT(Drain(*tailer),
              ElementsAreArray(Concat({Events("d25", 1, 2), Events("d26", 0, 2),
                                       Events("d27", 0, 1), Events("live", 0, 1)})));
}

TEST_F(TailerTest, CopytruncateFinishesTheCopyThenTheLiveFileFromItsStart) {
  Append(Events("a", 0, 2));
  std::unique_ptr<Tailer> tailer = Open();
  ASSERT_NE(tailer, nullptr);
  EXPECT_THAT(SplitLines(ReadOne(*tailer).data), ElementsAre(Event("a-0")));
  Append(Events("a", 2, 3));
  const std::string copy = CopyTruncate("audit.log.1");
  Append(Events("b", 0, 1));
  std::vector<TailChunk> chunks;
  EXPECT_THAT(Drain(*tailer, &chunks),
              ElementsAreArray(Concat({Events("a", 1, 3), Events("b", 0, 1)})));
  ASSERT_THAT(chunks, SizeIs(2));
  EXPECT_EQ(chunks[0].file, copy);
  EXPECT_EQ(chunks[1].file, live_);
  EXPECT_EQ(chunks[1].position.offset, Join(Events("b", 0, 1)).size());
  EXPECT_THAT(AllWarnings(chunks), IsEmpty());
  Append(Events("b", 1, 2));
  EXPECT_THAT(Drain(*tailer), ElementsAre(Event("b-1")));
}

TEST_F(TailerTest, CopytruncateIsNoticedAfterTheFileRegrewPastThePosition) {
  Append(Events("a", 0, 1));
  std::unique_ptr<Tailer> tailer = Open();
  ASSERT_NE(tailer, nullptr);
  EXPECT_THAT(Drain(*tailer), ElementsAre(Event("a-0")));
  CopyTruncate("audit.log.1");
  Append(Events("b", 0, 4));  // longer than before: only the first bytes tell
  std::vector<TailChunk> chunks;
  EXPECT_THAT(Drain(*tailer, &chunks), ElementsAreArray(Events("b", 0, 4)));
  EXPECT_THAT(AllWarnings(chunks), IsEmpty());
}

TEST_F(TailerTest, TruncationWithoutACopyWarnsAndRestartsTheFile) {
  Append(Events("a", 0, 2));
  std::unique_ptr<Tailer> tailer = Open();
  ASSERT_NE(tailer, nullptr);
  EXPECT_THAT(Drain(*tailer), ElementsAreArray(Events("a", 0, 2)));
  ASSERT_EQ(::truncate(live_.c_str(), 0), 0);
  Append(Events("b", 0, 1));
  std::vector<TailChunk> chunks;
  EXPECT_THAT(Drain(*tailer, &chunks), ElementsAre(Event("b-0")));
  ASSERT_THAT(AllWarnings(chunks), SizeIs(1));
  EXPECT_THAT(AllWarnings(chunks)[0], HasSubstr("truncated"));
  EXPECT_THAT(AllWarnings(chunks)[0], HasSubstr(live_));
  EXPECT_EQ(tailer->Stats().gaps, 1u);
}

TEST_F(TailerTest, RestartRightAfterATruncationReadsTheFileFromItsStart) {
  Append(Events("a", 0, 2));
  TailPosition committed;
  {
    std::unique_ptr<Tailer> tailer = Open();
    ASSERT_NE(tailer, nullptr);
    EXPECT_THAT(Drain(*tailer), ElementsAreArray(Events("a", 0, 2)));
    ASSERT_EQ(::truncate(live_.c_str(), 0), 0);
    absl::StatusOr<TailChunk> chunk = tailer->Read(1 << 20, absl::ZeroDuration());
    ASSERT_TRUE(chunk.ok()) << chunk.status();
    EXPECT_EQ(chunk->lines, 0u);
    EXPECT_THAT(chunk->warnings, SizeIs(1));
    EXPECT_EQ(chunk->position.offset, 0u);
    committed = chunk->position;
  }
  Append(Events("b", 0, 2));
  std::unique_ptr<Tailer> tailer = Open(RoundTrip(committed));
  ASSERT_NE(tailer, nullptr);
  std::vector<TailChunk> chunks;
  EXPECT_THAT(Drain(*tailer, &chunks), ElementsAreArray(Events("b", 0, 2)));
  EXPECT_THAT(AllWarnings(chunks), IsEmpty());
}

TEST_F(TailerTest, RestartAfterEveryLineReadsEachLineOnce) {
  Append(Events("a", 0, 6));
  std::optional<TailPosition> committed;
  std::vector<std::string> lines;
  for (int i = 0; i < 40; ++i) {
    if (i == 4) {
      Append(Events("a", 6, 8));
      Rotate("2026-11-27T06-00-00.000");
      Append(Events("b", 0, 3));
    }
    if (i == 6) Compress(dir_.File("audit-2026-11-27T06-00-00.000.log"));
    std::unique_ptr<Tailer> tailer = Open(committed);
    ASSERT_NE(tailer, nullptr);
    TailChunk chunk = ReadOne(*tailer);
    EXPECT_THAT(chunk.warnings, IsEmpty()) << i;
    if (chunk.empty()) break;
    EXPECT_EQ(chunk.lines, 1u);
    for (std::string& line : SplitLines(chunk.data)) lines.push_back(std::move(line));
    committed = RoundTrip(chunk.position);
  }
  EXPECT_THAT(lines, ElementsAreArray(Concat({Events("a", 0, 8), Events("b", 0, 3)})));
}

TEST_F(TailerTest, ResumesInTheCopyAfterCopytruncate) {
  Append(Events("a", 0, 3));
  TailPosition committed;
  {
    std::unique_ptr<Tailer> tailer = Open();
    ASSERT_NE(tailer, nullptr);
    TailChunk chunk = ReadOne(*tailer);
    committed = chunk.position;
  }
  CopyTruncate("audit.log.1");
  Append(Events("b", 0, 1));
  std::unique_ptr<Tailer> tailer = Open(RoundTrip(committed));
  ASSERT_NE(tailer, nullptr);
  std::vector<TailChunk> chunks;
  EXPECT_THAT(Drain(*tailer, &chunks),
              ElementsAreArray(Concat({Events("a", 1, 3), Events("b", 0, 1)})));
  EXPECT_THAT(AllWarnings(chunks), IsEmpty());
}

// A copy is recognised by the fingerprint's bytes (the first KiB): the files here are larger.
TEST_F(TailerTest, CopyTakenBeforeThePositionIsReportedAsALoss) {
  Append(Events("a", 0, 30));
  std::unique_ptr<Tailer> tailer = Open();
  ASSERT_NE(tailer, nullptr);
  EXPECT_THAT(Drain(*tailer), ElementsAreArray(Events("a", 0, 30)));
  // logrotate copied a-0..a-19; a-20.. were written and read before the truncation.
  WriteFile(dir_.File("audit.log.1"), Join(Events("a", 0, 20)));
  ASSERT_EQ(::truncate(live_.c_str(), 0), 0);
  Append(Events("b", 0, 1));
  std::vector<TailChunk> chunks;
  EXPECT_THAT(Drain(*tailer, &chunks), ElementsAre(Event("b-0")));
  ASSERT_THAT(AllWarnings(chunks), SizeIs(1));
  EXPECT_THAT(AllWarnings(chunks)[0], HasSubstr("between the copy and the truncation"));
  EXPECT_EQ(tailer->Stats().gaps, 1u);
}

TEST_F(TailerTest, ResumeInACopyShorterThanThePositionWarnsAndGoesOn) {
  Append(Events("a", 0, 30));
  const TailPosition committed = PositionAfter(Join(Events("a", 0, 30)));
  WriteFile(dir_.File("audit.log.1"), Join(Events("a", 0, 20)));
  ASSERT_EQ(::truncate(live_.c_str(), 0), 0);
  Append(Events("b", 0, 2));
  std::unique_ptr<Tailer> tailer = Open(committed);
  ASSERT_NE(tailer, nullptr);
  std::vector<TailChunk> chunks;
  EXPECT_THAT(Drain(*tailer, &chunks), ElementsAreArray(Events("b", 0, 2)));
  ASSERT_THAT(AllWarnings(chunks), SizeIs(1));
  EXPECT_THAT(AllWarnings(chunks)[0], HasSubstr("audit.log.1"));
}

TEST_F(TailerTest, DeviceAndInodeAreOnlyAHint) {
  Append(Events("a", 0, 2));
  Rotate("2026-11-27T06-00-00.000");
  Append(Events("b", 0, 2));
  struct stat live;
  ASSERT_EQ(::stat(live_.c_str(), &live), 0);
  // The live file's device/inode, the rotated file's content (as after inode reuse).
  TailPosition position = PositionAfter(Join(Events("a", 0, 1)));
  position.device = live.st_dev;
  position.inode = live.st_ino;
  std::unique_ptr<Tailer> tailer = Open(position);
  ASSERT_NE(tailer, nullptr);
  EXPECT_THAT(Drain(*tailer), ElementsAreArray(Concat({Events("a", 1, 2), Events("b", 0, 2)})));
}

TEST_F(TailerTest, LostPositionWarnsAndContinuesWithTheOldestFile) {
  Append(Events("a", 0, 2));
  TailPosition committed;
  {
    std::unique_ptr<Tailer> tailer = Open();
    ASSERT_NE(tailer, nullptr);
    committed = ReadOne(*tailer).position;
  }
  const std::string gone = Rotate("2026-11-27T06-00-00.000");
  Append(Events("b", 0, 2));
  Rotate("2026-11-27T07-00-00.000");
  Append(Events("c", 0, 1));
  ASSERT_EQ(std::remove(gone.c_str()), 0);  // retention deleted the position's file

  std::unique_ptr<Tailer> tailer = Open(RoundTrip(committed));
  ASSERT_NE(tailer, nullptr);
  std::vector<TailChunk> chunks;
  EXPECT_THAT(Drain(*tailer, &chunks),
              ElementsAreArray(Concat({Events("b", 0, 2), Events("c", 0, 1)})));
  ASSERT_FALSE(chunks.empty());
  ASSERT_THAT(chunks[0].warnings, SizeIs(1));
  EXPECT_THAT(chunks[0].warnings[0], HasSubstr("no file holds"));
  EXPECT_THAT(chunks[0].warnings[0], HasSubstr("audit-2026-11-27T07-00-00.000.log"));
  EXPECT_EQ(tailer->Stats().gaps, 1u);
}

TEST_F(TailerTest, LostPositionWithOnlyTheLiveFile) {
  Append(Events("z", 0, 2));
  std::unique_ptr<Tailer> tailer = Open(PositionAfter(Join(Events("gone", 0, 1))));
  ASSERT_NE(tailer, nullptr);
  std::vector<TailChunk> chunks;
  EXPECT_THAT(Drain(*tailer, &chunks), ElementsAreArray(Events("z", 0, 2)));
  EXPECT_THAT(AllWarnings(chunks), SizeIs(1));
}

TEST_F(TailerTest, LongLineAcrossManyReadBlocksComesWhole) {
  // Several of the tailer's 64 KiB read blocks, written in pieces.
  std::string line =
      Cat(R"({"auditID":"long-0","requestObject":")", std::string(300'000, 'r'), "\"}");
  Append(Events("a", 0, 1));
  AppendFile(live_, line.substr(0, 100'000));
  std::unique_ptr<Tailer> tailer = Open();
  ASSERT_NE(tailer, nullptr);
  EXPECT_THAT(Drain(*tailer), ElementsAre(Event("a-0")));
  AppendFile(live_, line.substr(100'000, 150'000));
  EXPECT_THAT(Drain(*tailer), IsEmpty());
  AppendFile(live_, line.substr(250'000) + "\n" + Join(Events("a", 1, 2)));
  EXPECT_THAT(Drain(*tailer), ElementsAre(line, Event("a-1")));
}

TEST_F(TailerTest, OverlongLinesAreSkippedAndReported) {
  TailerConfig config = Config();
  config.max_line_bytes = 100;
  const std::string first = Event("a-0");
  AppendFile(live_, Join({first, std::string(101, 'x'), std::string(100, 'y'), Event("a-1")}));
  std::unique_ptr<Tailer> tailer = OpenWith(config);
  ASSERT_NE(tailer, nullptr);
  std::vector<TailChunk> chunks;
  EXPECT_THAT(Drain(*tailer, &chunks), ElementsAre(first, std::string(100, 'y'), Event("a-1")));
  ASSERT_THAT(AllSkipped(chunks), SizeIs(1));
  EXPECT_THAT(AllSkipped(chunks)[0], HasSubstr("101 bytes"));
  EXPECT_THAT(AllSkipped(chunks)[0], HasSubstr(Cat("offset ", first.size() + 1)));
  EXPECT_THAT(AllSkipped(chunks)[0], HasSubstr(live_));
  EXPECT_EQ(chunks.back().position.offset, ReadFile(live_).size());
  EXPECT_EQ(tailer->Stats().skipped, 1u);
}

// A chunk's lines are one run of the file from first_offset, so that an error in one of them
// can be named by its offset: a skipped line after some lines ends the chunk.
TEST_F(TailerTest, EachChunksLinesAreContiguousFromItsFirstOffset) {
  TailerConfig config = Config();
  config.max_line_bytes = 100;
  const std::string content =
      Join({Event("a-0"), Event("a-1"), std::string(101, 'x'), Event("a-2"), std::string(150, 'z'),
            std::string(101, 'w'), Event("a-3"), Event("a-4")});
  AppendFile(live_, content);
  std::unique_ptr<Tailer> tailer = OpenWith(config);
  ASSERT_NE(tailer, nullptr);
  std::vector<TailChunk> chunks;
  EXPECT_THAT(Drain(*tailer, &chunks),
              ElementsAre(Event("a-0"), Event("a-1"), Event("a-2"), Event("a-3"), Event("a-4")));
  EXPECT_THAT(AllSkipped(chunks), SizeIs(3));
  size_t with_lines = 0;
  for (const TailChunk& chunk : chunks) {
    if (chunk.lines == 0) continue;
    ++with_lines;
    EXPECT_EQ(content.substr(chunk.first_offset, chunk.data.size()), chunk.data);
  }
  EXPECT_EQ(with_lines, 3u);  // a-0 a-1 | a-2 | a-3 a-4
}

TEST_F(TailerTest, OverlongLineWrittenInPiecesIsSkippedWithoutBufferingIt) {
  TailerConfig config = Config();
  config.max_line_bytes = 100;
  const std::string first = Join({Event("a-0")});
  AppendFile(live_, first + std::string(80, 'x'));
  std::unique_ptr<Tailer> tailer = OpenWith(config);
  ASSERT_NE(tailer, nullptr);
  EXPECT_THAT(Drain(*tailer), ElementsAre(Event("a-0")));
  AppendFile(live_, std::string(80, 'x'));  // 160 bytes without '\n': being skipped
  absl::StatusOr<TailChunk> chunk = tailer->Read(1 << 20, absl::ZeroDuration());
  ASSERT_TRUE(chunk.ok()) << chunk.status();
  EXPECT_TRUE(chunk->empty());
  EXPECT_EQ(chunk->position.offset, first.size());  // a restart would skip it again
  AppendFile(live_, std::string(80, 'x') + "\n" + Join({Event("a-1")}));
  std::vector<TailChunk> chunks;
  EXPECT_THAT(Drain(*tailer, &chunks), ElementsAre(Event("a-1")));
  ASSERT_THAT(AllSkipped(chunks), SizeIs(1));
  EXPECT_THAT(AllSkipped(chunks)[0],
              HasSubstr("a line of 240 bytes at offset " + std::to_string(first.size())));
}

TEST_F(TailerTest, UnterminatedTailOfARotatedFileIsReported) {
  AppendFile(live_, Join({Event("a-0")}) + "{\"auditID\":\"a-1\",\"kind");
  std::unique_ptr<Tailer> tailer = Open();
  ASSERT_NE(tailer, nullptr);
  EXPECT_THAT(Drain(*tailer), ElementsAre(Event("a-0")));
  const std::string rotated = Rotate("2026-11-27T06-00-00.000");
  Append(Events("b", 0, 1));
  std::vector<TailChunk> chunks;
  EXPECT_THAT(Drain(*tailer, &chunks), ElementsAre(Event("b-0")));
  ASSERT_THAT(chunks, SizeIs(2));
  EXPECT_EQ(chunks[0].lines, 0u);
  ASSERT_THAT(chunks[0].skipped, SizeIs(1));
  EXPECT_THAT(chunks[0].skipped[0], HasSubstr("without a newline"));
  EXPECT_THAT(chunks[0].skipped[0], HasSubstr(rotated));
  EXPECT_EQ(chunks[0].position.offset, ReadFile(rotated).size());
  EXPECT_THAT(chunks[1].skipped, IsEmpty());

  // Resuming at the skipped tail's position goes on with the next file.
  std::unique_ptr<Tailer> again = Open(RoundTrip(chunks[0].position));
  ASSERT_NE(again, nullptr);
  std::vector<TailChunk> resumed;
  EXPECT_THAT(Drain(*again, &resumed), ElementsAre(Event("b-0")));
  EXPECT_THAT(AllSkipped(resumed), IsEmpty());
  EXPECT_THAT(AllWarnings(resumed), IsEmpty());
}

TEST_F(TailerTest, TruncatedGzipFileIsReadUpToTheDamage) {
  WriteFile(dir_.File("audit-2026-11-27T06-00-00.000.log"), Join(Events("x", 0, 2)));
  const std::string damaged = dir_.File("audit-2026-11-27T07-00-00.000.log");
  WriteFile(damaged, Join(Events("y", 0, 2000)));
  const std::string gz = Compress(damaged);
  const std::string compressed = ReadFile(gz);
  WriteFile(gz, compressed.substr(0, compressed.size() / 2));
  Append(Events("z", 0, 1));

  std::unique_ptr<Tailer> tailer = Open(PositionAfter(Join(Events("x", 0, 1))));
  ASSERT_NE(tailer, nullptr);
  std::vector<TailChunk> chunks;
  const std::vector<std::string> lines = Drain(*tailer, &chunks);
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines.front(), Event("x-1"));
  EXPECT_EQ(lines.back(), Event("z-0"));
  const std::vector<std::string> y(lines.begin() + 1, lines.end() - 1);
  EXPECT_THAT(y, ElementsAreArray(Events("y", 0, static_cast<int>(y.size()))));
  EXPECT_LT(y.size(), 2000u);
  ASSERT_THAT(AllWarnings(chunks), SizeIs(1));
  EXPECT_THAT(AllWarnings(chunks)[0], HasSubstr("truncated gzip"));
}

TEST_F(TailerTest, StartAtEndSkipsExistingLines) {
  const std::string partial = Event("a-2");
  AppendFile(live_, Join(Events("a", 0, 2)) + partial.substr(0, 10));
  TailerConfig config = Config();
  config.start_at = StartAt::kEnd;
  std::unique_ptr<Tailer> tailer = OpenWith(config);
  ASSERT_NE(tailer, nullptr);
  absl::StatusOr<TailChunk> chunk = tailer->Read(1 << 20, absl::ZeroDuration());
  ASSERT_TRUE(chunk.ok()) << chunk.status();
  EXPECT_TRUE(chunk->empty());
  EXPECT_EQ(chunk->position.offset, Join(Events("a", 0, 2)).size());
  AppendFile(live_, partial.substr(10) + "\n");
  Append(Events("a", 3, 4));
  EXPECT_THAT(Drain(*tailer), ElementsAre(partial, Event("a-3")));

  // A live file that does not exist yet is read from its beginning once it appears.
  config.path = dir_.File("later.log");
  tailer = OpenWith(config);
  ASSERT_NE(tailer, nullptr);
  AppendFile(config.path, Join(Events("l", 0, 1)));
  EXPECT_THAT(Drain(*tailer), ElementsAre(Event("l-0")));
}

}  // namespace
}  // namespace kubetrail::collector
