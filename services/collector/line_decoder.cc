#include "services/collector/line_decoder.h"

#include <algorithm>
#include <iterator>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace kubetrail::collector {
namespace {

void DecodeAll(audit::EventReader& reader, std::string_view data, size_t readable_after,
               size_t first_line, DecodedLines& out) {
  reader.Reset(data, readable_after, first_line);
  while (true) {
    kubetrail::v1::Event event;
    absl::StatusOr<bool> more = reader.Next(&event);
    if (!more.ok()) {
      out.errors.emplace_back(more.status().message());
      continue;
    }
    if (!*more) break;
    out.events.push_back(std::move(event));
  }
}

// Whether `line` (without its newline) is a whole JSON object on one line, as the apiserver's
// log has them: a piece of a pretty-printed document is not, and such input is not cut.
bool IsObjectLine(std::string_view line) {
  const size_t begin = line.find_first_not_of(" \t");
  const size_t end = line.find_last_not_of(" \t\r");
  return begin != std::string_view::npos && line[begin] == '{' && line[end] == '}';
}

}  // namespace

// A thread with a reader of its own that decodes one piece at a time.
class LineDecoder::Helper {
 public:
  explicit Helper(audit::DecodeOptions options)
      : reader_(std::string_view(), options), thread_([this] { Run(); }) {}
  ~Helper() {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    thread_.join();
  }

  void Start(std::string_view data, size_t readable_after, size_t first_line) {
    absl::MutexLock lock(&mu_);
    job_ = Job{data, readable_after, first_line};
    has_job_ = true;
    done_ = false;
  }
  DecodedLines Wait() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done_));
    return std::move(result_);
  }

 private:
  struct Job {
    std::string_view data;
    size_t readable_after = 0;
    size_t first_line = 1;
  };

  void Run() {
    while (true) {
      Job job;
      {
        absl::MutexLock lock(&mu_);
        auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return has_job_ || stop_; };
        mu_.Await(absl::Condition(&ready));
        if (!has_job_) return;
        job = job_;
        has_job_ = false;
      }
      DecodedLines result;
      DecodeAll(reader_, job.data, job.readable_after, job.first_line, result);
      absl::MutexLock lock(&mu_);
      result_ = std::move(result);
      done_ = true;
    }
  }

  audit::EventReader reader_;
  absl::Mutex mu_;
  Job job_ ABSL_GUARDED_BY(mu_);
  bool has_job_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  DecodedLines result_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;  // last: starts once the rest is constructed
};

LineDecoder::LineDecoder(audit::DecodeOptions options)
    : reader_(std::string_view(), options), helper_(std::make_unique<Helper>(options)) {}

LineDecoder::~LineDecoder() = default;

DecodedLines LineDecoder::Decode(std::string_view data, size_t readable_after) {
  DecodedLines out;
  // Cut after the first newline at or past the middle; the first half may read on into the
  // second, so it has all of that as padding.
  size_t cut = std::string_view::npos;
  if (data.size() >= kMinSplitBytes) {
    const size_t newline = data.find('\n', data.size() / 2);
    if (newline != std::string_view::npos && newline + 1 < data.size()) {
      const size_t before = data.rfind('\n', newline - 1);
      const size_t before_start = before == std::string_view::npos ? 0 : before + 1;
      size_t after_end = data.find('\n', newline + 1);
      if (after_end == std::string_view::npos) after_end = data.size();
      if (IsObjectLine(data.substr(before_start, newline - before_start)) &&
          IsObjectLine(data.substr(newline + 1, after_end - newline - 1))) {
        cut = newline + 1;
      }
    }
  }
  if (cut == std::string_view::npos) {
    DecodeAll(reader_, data, readable_after, 1, out);
    return out;
  }
  const std::string_view first = data.substr(0, cut);
  const std::string_view second = data.substr(cut);
  // The second half's first line number (find is memchr: chunks hold megabytes).
  size_t second_line = 1;
  for (size_t at = first.find('\n'); at != std::string_view::npos; at = first.find('\n', at + 1)) {
    ++second_line;
  }
  helper_->Start(second, readable_after, second_line);
  DecodeAll(reader_, first, second.size() + readable_after, 1, out);
  DecodedLines rest = helper_->Wait();
  out.events.reserve(out.events.size() + rest.events.size());
  std::move(rest.events.begin(), rest.events.end(), std::back_inserter(out.events));
  std::move(rest.errors.begin(), rest.errors.end(), std::back_inserter(out.errors));
  return out;
}

}  // namespace kubetrail::collector
