// The replay driver: runs a fuzz target's LLVMFuzzerTestOneInput as a bounded, deterministic
// unit test, for builds without libFuzzer (GCC; CI). Linked with one <name>_fuzz.cc, which the
// build names through compile definitions:
//   KT_FUZZ_NAME           the target's name; its seeds are fuzz/corpus/<name>/*
//   KT_FUZZ_SUITE          the gtest suite (unique per target, as ctest names come from it)
//   KT_FUZZ_MUTATIONS      how many mutated inputs the Mutations test runs
//   KT_FUZZ_SHARED_CORPUS  1: also run each line of the shared corpus (../shared/corpus)
//
// Tests: <Suite>.Seeds (every seed file as is), <Suite>.Mutations (KT_FUZZ_MUTATIONS inputs made
// from the seeds by a fixed-seed pseudo-random mutator: the same inputs on every run and every
// machine) and <Suite>.SharedCorpus (when enabled; skipped without the corpus).
//
// A target reports a bug by crashing (fuzz_check.h, a sanitizer, a signal). The input that
// crashed is then written to $TMPDIR/kubetrail-<name>-crash (or /tmp/...) and its path printed,
// so it can be replayed with the libFuzzer binary and added to the seeds.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/paths.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) __attribute__((weak));
// From the sanitizer runtimes (GCC's and clang's), when linked: called before a sanitizer
// report ends the process.
extern "C" void __sanitizer_set_death_callback(void (*callback)()) __attribute__((weak));

namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Saving the input that crashed.

// The input being run, for the crash handlers. Written only between runs.
const uint8_t* g_input = nullptr;
size_t g_input_size = 0;
char g_crash_path[512] = "";

// Async-signal-safe: writes the current input to g_crash_path and says so on stderr.
void SaveCrashingInput() {
  if (g_input == nullptr || g_crash_path[0] == '\0') return;
  const int fd = open(g_crash_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  size_t done = 0;
  while (done < g_input_size) {
    const ssize_t n = write(fd, g_input + done, g_input_size - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  close(fd);
  constexpr char kSaved[] = "\n*** fuzz replay: the crashing input was saved to ";
  (void)!write(STDERR_FILENO, kSaved, sizeof(kSaved) - 1);
  (void)!write(STDERR_FILENO, g_crash_path, strlen(g_crash_path));
  (void)!write(STDERR_FILENO, "\n", 1);
  g_input = nullptr;  // once
}

void OnFatalSignal(int sig) {
  SaveCrashingInput();
  signal(sig, SIG_DFL);
  raise(sig);
}

void InstallCrashHandlers() {
  const char* tmp = std::getenv("TMPDIR");
  const std::string path = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                           "/kubetrail-" KT_FUZZ_NAME "-crash";
  if (path.size() < sizeof(g_crash_path)) std::memcpy(g_crash_path, path.c_str(), path.size() + 1);
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP}) signal(sig, OnFatalSignal);
  if (__sanitizer_set_death_callback != nullptr) __sanitizer_set_death_callback(SaveCrashingInput);
}

// Runs one input from a heap buffer of exactly its size, as libFuzzer does, so that ASan sees
// any read past its end.
void RunInput(std::string_view input) {
  static const bool initialized = [] {
    InstallCrashHandlers();
    if (LLVMFuzzerInitialize != nullptr) {
      int argc = 0;
      char** argv = nullptr;
      LLVMFuzzerInitialize(&argc, &argv);
    }
    return true;
  }();
  (void)initialized;
  std::unique_ptr<uint8_t[]> copy(new uint8_t[std::max<size_t>(input.size(), 1)]);
  std::memcpy(copy.get(), input.data(), input.size());
  g_input = copy.get();
  g_input_size = input.size();
  LLVMFuzzerTestOneInput(copy.get(), input.size());
  g_input = nullptr;
}

// ---------------------------------------------------------------------------------------------
// Seeds.

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The seed files of this target, in name order.
std::vector<std::string> Seeds() {
  const fs::path dir = fs::path(kubetrail::testing::SourceDir()) / "fuzz" / "corpus" / KT_FUZZ_NAME;
  std::vector<fs::path> paths;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file()) paths.push_back(e.path());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<std::string> seeds;
  for (const fs::path& p : paths) seeds.push_back(ReadFile(p));
  return seeds;
}

// ---------------------------------------------------------------------------------------------
// The mutator: a small, deterministic cousin of libFuzzer's. std::mt19937_64's sequence is
// fixed by the standard; the distributions are not, so none is used.

class Mutator {
 public:
  Mutator(uint64_t seed, std::vector<std::string> seeds) : rng_(seed), seeds_(std::move(seeds)) {
    if (seeds_.empty()) seeds_.emplace_back();
    for (const std::string& s : seeds_) max_size_ = std::max(max_size_, s.size());
    max_size_ = max_size_ * 2 + 256;
  }

  std::string Next() {
    std::string s = seeds_[Below(seeds_.size())];
    const int rounds = 1 + static_cast<int>(Below(4));
    for (int i = 0; i < rounds; ++i) MutateOnce(s);
    if (s.size() > max_size_) s.resize(max_size_);
    return s;
  }

 private:
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : rng_() % n; }
  size_t Pos(const std::string& s) { return Below(s.size() + 1); }  // insertion point

  void MutateOnce(std::string& s) {
    // Bytes and tokens that matter to JSON, YAML, base64 and protobuf parsers.
    static constexpr char kBytes[] = "{}[]\":,\\/ \t\r\n0123456789-+.eE#&*!|>'?%@`~abtfnuAZ=_";
    static constexpr std::string_view kTokens[] = {"null",
                                                   "true",
                                                   "false",
                                                   "{}",
                                                   "[]",
                                                   "\"\"",
                                                   "\\u0000",
                                                   "\\ud800",
                                                   "\\u2028",
                                                   "\xE2\x80\xA8",
                                                   "\xEF\xBB\xBF",
                                                   "\xC0\x80",
                                                   "\xFF",
                                                   "\r\n",
                                                   "1e400",
                                                   "-0",
                                                   "9223372036854775807",
                                                   "-9223372036854775808",
                                                   "18446744073709551616",
                                                   "0.000001",
                                                   "\"level\":\"Metadata\"",
                                                   "\"auditID\":\"a\"",
                                                   "\"stage\":\"ResponseComplete\"",
                                                   "\"items\":[",
                                                   "\"kind\":\"EventList\"",
                                                   "\"apiVersion\":\"audit.k8s.io/v1beta1\"",
                                                   "\"timestamp\":",
                                                   "\"requestReceivedTimestamp\":",
                                                   "\"2024-02-29T23:59:59.999999999-23:59\"",
                                                   "0000-01-01T00:00:00+00:01",
                                                   "9999-12-31T23:59:59Z",
                                                   "- ",
                                                   ": ",
                                                   "&a ",
                                                   "*a",
                                                   "!!str ",
                                                   "---\n",
                                                   "...\n",
                                                   "rules:",
                                                   "level: None",
                                                   "\x08\x01",
                                                   "\x12\x00",
                                                   "\x1a\x05",
                                                   "\xff\xff\xff\xff\x0f",
                                                   "kt1.",
                                                   "==",
                                                   "/*",
                                                   "*/",
                                                   "xx",
                                                   "\x01"};
    switch (Below(11)) {
      case 0:  // flip a bit
        if (!s.empty()) s[Below(s.size())] ^= static_cast<char>(1u << Below(8));
        break;
      case 1:  // replace a byte
        if (!s.empty()) s[Below(s.size())] = kBytes[Below(sizeof(kBytes) - 1)];
        break;
      case 2:  // insert a byte
        s.insert(Pos(s), 1, kBytes[Below(sizeof(kBytes) - 1)]);
        break;
      case 3:  // insert a random byte
        s.insert(Pos(s), 1, static_cast<char>(Below(256)));
        break;
      case 4: {  // erase a few bytes
        if (s.empty()) break;
        const size_t at = Below(s.size());
        s.erase(at, 1 + Below(8));
        break;
      }
      case 5: {  // copy a range elsewhere
        if (s.empty()) break;
        const size_t from = Below(s.size());
        const std::string piece = s.substr(from, 1 + Below(32));
        s.insert(Pos(s), piece);
        break;
      }
      case 6: {  // insert a token
        const std::string_view t = kTokens[Below(std::size(kTokens))];
        s.insert(Pos(s), t.data(), t.size());
        break;
      }
      case 7:  // truncate
        s.resize(Below(s.size() + 1));
        break;
      case 8: {  // splice with another seed
        const std::string& other = seeds_[Below(seeds_.size())];
        s = s.substr(0, Pos(s)) + other.substr(Below(other.size() + 1));
        break;
      }
      case 9: {  // overwrite a few bytes with random ones
        if (s.empty()) break;
        const size_t at = Below(s.size());
        const size_t n = std::min<size_t>(1 + Below(4), s.size() - at);
        for (size_t i = 0; i < n; ++i) s[at + i] = static_cast<char>(Below(256));
        break;
      }
      default: {  // repeat a byte many times (deep nesting, long runs)
        const char c = s.empty() ? '[' : s[Below(s.size())];
        s.insert(Pos(s), 1 + Below(300), c);
        break;
      }
    }
  }

  std::mt19937_64 rng_;
  std::vector<std::string> seeds_;
  size_t max_size_ = 0;
};

// A fixed seed per target, so that the targets do not all try the same mutations.
uint64_t TargetSeed() {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : std::string_view(KT_FUZZ_NAME))
    h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ULL;
  return h;
}

TEST(KT_FUZZ_SUITE, Seeds) {
  const std::vector<std::string> seeds = Seeds();
  ASSERT_FALSE(seeds.empty()) << "no seeds in fuzz/corpus/" KT_FUZZ_NAME;
  for (const std::string& seed : seeds) RunInput(seed);
}

TEST(KT_FUZZ_SUITE, Mutations) {
  Mutator mutator(TargetSeed(), Seeds());
  for (int i = 0; i < KT_FUZZ_MUTATIONS; ++i) RunInput(mutator.Next());
}

#if KT_FUZZ_SHARED_CORPUS
// Every line of the shared corpus of real audit events, read in place.
TEST(KT_FUZZ_SUITE, SharedCorpus) {
  const std::optional<std::string> dir = kubetrail::testing::CorpusDir();
  if (!dir) GTEST_SKIP() << "no corpus: " << kubetrail::testing::CorpusSearchDescription();
  std::vector<fs::path> files;
  for (const fs::directory_entry& e : fs::directory_iterator(*dir)) {
    if (e.path().extension() == ".jsonl") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  size_t lines = 0;
  for (const fs::path& file : files) {
    std::istringstream in(ReadFile(file));
    for (std::string line; std::getline(in, line); ++lines) RunInput(line);
  }
  EXPECT_GT(lines, 0u);
}
#endif

}  // namespace
