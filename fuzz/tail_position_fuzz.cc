// Fuzz target: the tailer's stored position (services/collector/source/tailer.h
// TailPosition::Decode), read back from the collector's spool after a restart, and what the
// tailer does when it resumes there.
//
// Properties:
//  - Decode never crashes; errors are InvalidArgument; what it accepts encodes to the same
//    bytes.
//  - Tailer::Open and Read resume at any position Decode accepts, over a fixed scratch
//    directory with a live log, a rotated log and a gzip-compressed older one, both as decoded
//    and with its fingerprint (and device/inode hint) made to match one of the files, so that
//    the offsets are tried on real content. Every chunk holds whole lines (each ending in
//    '\n', `lines` of them) and a position that Decode accepts.
#include <stdlib.h>
#include <sys/stat.h>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/strings.h"
#include "fuzz/fuzz_check.h"
#include "services/collector/source/tailer.h"

namespace {

using ::kubetrail::Cat;
using ::kubetrail::collector::TailChunk;
using ::kubetrail::collector::Tailer;
using ::kubetrail::collector::TailerConfig;
using ::kubetrail::collector::TailPosition;

// The scratch log directory, made once per process and removed at exit.
struct LogDir {
  std::string dir;
  std::string live;
  // The (uncompressed) contents of audit.log, audit.log.1 and audit.log.2.gz, and the files.
  std::string contents[3];
  std::string paths[3];
};

std::string Lines(std::string_view tag, int n, bool partial_tail) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += Cat(R"({"auditID":")", tag, "-", i, R"(","stage":"ResponseComplete"})",
               std::string(static_cast<size_t>(i * 7 % 40), 'x'), "\n");
  }
  if (partial_tail) out += R"({"auditID":"unterminated)";
  return out;
}

const LogDir& Logs() {
  static const LogDir* logs = [] {
    // Warnings about positions that name no file are expected here; errors still show.
    kubetrail::SetMinLogSeverity(kubetrail::LogSeverity::kError);
    const char* tmp = std::getenv("TMPDIR");
    std::string templ =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/kubetrail-tail-fuzz-XXXXXX";
    KT_FUZZ_CHECK(mkdtemp(templ.data()) != nullptr, "mkdtemp");
    auto* l = new LogDir;
    l->dir = templ;
    l->live = l->dir + "/audit.log";
    l->contents[0] = Lines("live", 30, /*partial_tail=*/true);
    l->contents[1] = Lines("rotated", 40, false);
    l->contents[2] = Lines("old", 25, /*partial_tail=*/true);  // the apiserver died mid-line
    l->paths[0] = l->live;
    l->paths[1] = l->live + ".1";
    l->paths[2] = l->live + ".2.gz";
    for (int i = 0; i < 2; ++i) std::ofstream(l->paths[i], std::ios::binary) << l->contents[i];
    gzFile gz = gzopen(l->paths[2].c_str(), "wb");
    KT_FUZZ_CHECK(gz != nullptr, "gzopen");
    gzwrite(gz, l->contents[2].data(), static_cast<unsigned>(l->contents[2].size()));
    gzclose(gz);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(Logs().dir, ec);
    });
    return l;
  }();
  return *logs;
}

void CheckChunk(const TailChunk& chunk) {
  size_t newlines = 0;
  for (char c : chunk.data) newlines += c == '\n';
  KT_FUZZ_CHECK(newlines == chunk.lines,
                Cat(chunk.lines, " lines in a chunk with ", newlines, " newlines"));
  KT_FUZZ_CHECK(chunk.data.empty() || chunk.data.back() == '\n', "a chunk ends mid-line");
  const std::string encoded = chunk.position.Encode();
  const absl::StatusOr<TailPosition> again = TailPosition::Decode(encoded);
  KT_FUZZ_CHECK(again.ok(), Cat("the tailer handed out a position Decode rejects: ",
                                again.status().ToString()));
  if (chunk.lines > 0) {
    KT_FUZZ_CHECK(chunk.position.offset >= chunk.first_offset + chunk.data.size(),
                  Cat("position ", chunk.position.DebugString(), " before the end of ",
                      chunk.data.size(), " bytes at ", chunk.first_offset));
  }
}

void Resume(const TailPosition& position) {
  static kubetrail::FakeClock* clock = new kubetrail::FakeClock();
  TailerConfig config;
  config.path = Logs().live;
  config.max_line_bytes = 200;  // some lines are longer: skipped
  absl::StatusOr<std::unique_ptr<Tailer>> tailer = Tailer::Open(config, position, *clock);
  KT_FUZZ_CHECK(tailer.ok(), tailer.status().ToString());
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<TailChunk> chunk =
        (*tailer)->Read(size_t{1} << (6 + 2 * i), absl::ZeroDuration());
    KT_FUZZ_CHECK(chunk.ok(), chunk.status().ToString());
    CheckChunk(*chunk);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<TailPosition> position = TailPosition::Decode(bytes);
  if (!position.ok()) {
    KT_FUZZ_CHECK(position.status().code() == absl::StatusCode::kInvalidArgument,
                  position.status().ToString());
    return 0;
  }
  KT_FUZZ_CHECK(position->Encode() == bytes, "Encode(Decode(bytes)) != bytes");
  (void)position->DebugString();
  Resume(*position);

  // The same offset, in a file it names by fingerprint (and, half the time, by device/inode).
  const LogDir& logs = Logs();
  const size_t file = position->device % 3;
  const std::string& content = logs.contents[file];
  TailPosition matching = *position;
  if (matching.fingerprint_bytes > content.size()) return 0;
  matching.fingerprint =
      TailPosition::Fingerprint(std::string_view(content).substr(0, matching.fingerprint_bytes));
  if (position->inode % 2 == 0) {
    struct stat st;
    if (stat(logs.paths[file].c_str(), &st) == 0) {
      matching.device = st.st_dev;
      matching.inode = st.st_ino;
    }
  }
  Resume(matching);
  return 0;
}
