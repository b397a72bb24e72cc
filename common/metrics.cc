#include "common/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <utility>

#include "common/logging.h"
#include "common/strings.h"

namespace kubetrail {
namespace {

static_assert(std::atomic<double>::is_always_lock_free, "metrics need lock-free doubles");
static_assert(std::atomic<uint64_t>::is_always_lock_free, "metrics need lock-free counts");

// A programming error in how metrics are declared: one log line, then abort.
[[noreturn]] void Fatal(std::string_view metric, std::string_view what) {
  KT_LOG(kError, "metrics") << "metric \"" << metric << "\": " << what;
  std::abort();
}

// [a-zA-Z_:][a-zA-Z0-9_:]* for metric names; label names are the same without ':'.
bool IsValidName(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// A float as Prometheus parses it: integral values below 2^53 without a fraction or
// exponent, others in the shortest form that round-trips, and +Inf, -Inf, NaN.
void AppendDouble(double v, std::string& out) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[32];
  std::to_chars_result r;
  if (std::trunc(v) == v && std::fabs(v) < 9007199254740992.0) {
    r = std::to_chars(buf, buf + sizeof(buf), static_cast<int64_t>(v));
  } else {
    r = std::to_chars(buf, buf + sizeof(buf), v);
  }
  out.append(buf, r.ptr);
}

void AppendEscaped(std::string_view s, bool escape_quote, std::string& out) {
  for (const char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '"':
        out += escape_quote ? "\\\"" : "\"";
        break;
      default:
        out += c;
    }
  }
}

// Appends `{n1="v1",n2="v2"[,le="bound"]}`, or nothing when there are no labels at all.
void AppendLabels(const std::vector<std::string>& names, absl::Span<const std::string> values,
                  const std::string* le, std::string& out) {
  if (names.empty() && le == nullptr) return;
  out += '{';
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    AppendEscaped(values[i], /*escape_quote=*/true, out);
    out += '"';
  }
  if (le != nullptr) {
    if (!names.empty()) out += ',';
    out += "le=\"";
    out += *le;
    out += '"';
  }
  out += '}';
}

void AppendSample(std::string_view name, const std::vector<std::string>& label_names,
                  absl::Span<const std::string> label_values, double value, std::string& out) {
  out += name;
  AppendLabels(label_names, label_values, nullptr, out);
  out += ' ';
  AppendDouble(value, out);
  out += '\n';
}

template <typename A, typename B>
bool LexLess(absl::Span<const A> a, absl::Span<const B> b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                      [](std::string_view x, std::string_view y) { return x < y; });
}

// A family whose samples a callback computes at scrape time.
class CallbackFamily final : public metrics_internal::FamilyBase {
 public:
  CallbackFamily(std::string name, std::string help, metrics_internal::MetricType type,
                 std::vector<std::string> label_names,
                 std::function<std::vector<Sample>()> callback)
      : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)),
        callback_(std::move(callback)) {}

 private:
  void RenderSamples(std::string& out) const override {
    std::vector<Sample> samples = callback_();
    for (const Sample& s : samples) {
      if (s.label_values.size() != label_names_.size()) {
        Fatal(name_, Cat("callback returned ", s.label_values.size(), " label values for ",
                         label_names_.size(), " label names"));
      }
    }
    std::stable_sort(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) {
      return a.label_values < b.label_values;
    });
    const Sample* previous = nullptr;
    for (const Sample& s : samples) {
      if (previous != nullptr && previous->label_values == s.label_values) continue;
      AppendSample(name_, label_names_, s.label_values, s.value, out);
      previous = &s;
    }
  }

  const std::function<std::vector<Sample>()> callback_;
};

const char* TypeName(metrics_internal::MetricType type) {
  switch (type) {
    case metrics_internal::MetricType::kCounter:
      return "counter";
    case metrics_internal::MetricType::kGauge:
      return "gauge";
    case metrics_internal::MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// The sample names a family claims in the exposition.
std::vector<std::string> SampleNames(const metrics_internal::FamilyBase& family) {
  std::vector<std::string> names = {family.name()};
  if (family.type() == metrics_internal::MetricType::kHistogram) {
    for (const char* suffix : {"_bucket", "_sum", "_count"})
      names.push_back(family.name() + suffix);
  }
  return names;
}

}  // namespace

// ---- Counter, Histogram ---------------------------------------------------------------------

void Counter::Add(double v) {
  if (!(v >= 0)) return;  // also rejects NaN
  fraction_.fetch_add(v, std::memory_order_relaxed);
}

double Counter::Value() const {
  return static_cast<double>(count_.load(std::memory_order_relaxed)) +
         fraction_.load(std::memory_order_relaxed);
}

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), counts_(new std::atomic<uint64_t>[bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  // The first bound >= v; NaN compares false everywhere and so lands in +Inf.
  const size_t bucket =
      std::isnan(v) ? bounds_.size()
                    : static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                          bounds_.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Snap() const {
  Snapshot snap;
  snap.cumulative_counts.reserve(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    snap.cumulative_counts.push_back(total);
  }
  snap.count = total;
  snap.sum = sum_.load(std::memory_order_relaxed);
  return snap;
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  if (!(start > 0) || !(factor > 1) || count < 1) {
    Fatal("ExponentialBuckets", "needs start > 0, factor > 1, count >= 1");
  }
  std::vector<double> bounds;
  bounds.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) bounds.push_back(start * std::pow(factor, i));
  return bounds;
}

std::vector<double> LinearBuckets(double start, double width, int count) {
  if (!(width > 0) || count < 1) Fatal("LinearBuckets", "needs width > 0, count >= 1");
  std::vector<double> bounds;
  bounds.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) bounds.push_back(start + width * i);
  return bounds;
}

// ---- families -------------------------------------------------------------------------------

namespace metrics_internal {

bool LabelValuesLess::operator()(absl::Span<const std::string> a,
                                 absl::Span<const std::string> b) const {
  return LexLess(a, b);
}
bool LabelValuesLess::operator()(absl::Span<const std::string> a,
                                 absl::Span<const std::string_view> b) const {
  return LexLess(a, b);
}
bool LabelValuesLess::operator()(absl::Span<const std::string_view> a,
                                 absl::Span<const std::string> b) const {
  return LexLess(a, b);
}

FamilyBase::FamilyBase(std::string name, std::string help, MetricType type,
                       std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)) {}

void FamilyBase::Render(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  AppendEscaped(help_, /*escape_quote=*/false, out);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += TypeName(type_);
  out += '\n';
  RenderSamples(out);
}

}  // namespace metrics_internal

template <typename T>
Family<T>::Family(std::string name, std::string help, metrics_internal::MetricType type,
                  std::vector<std::string> label_names, std::vector<double> bounds)
    : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)),
      bounds_(std::move(bounds)) {
  if (label_names_.empty()) WithLabels();
}

template <typename T>
T& Family<T>::WithLabels(absl::Span<const std::string_view> label_values) {
  if (label_values.size() != label_names_.size()) {
    Fatal(name_, Cat("WithLabels got ", label_values.size(), " label values for ",
                     label_names_.size(), " label names"));
  }
  absl::MutexLock lock(&mu_);
  auto it = children_.find(label_values);
  if (it == children_.end()) {
    std::unique_ptr<T> child;
    if constexpr (std::is_same_v<T, Histogram>) {
      child = std::make_unique<Histogram>(bounds_);
    } else {
      child = std::make_unique<T>();
    }
    it = children_
             .emplace(std::vector<std::string>(label_values.begin(), label_values.end()),
                      std::move(child))
             .first;
  }
  return *it->second;
}

template <typename T>
void Family<T>::RenderSamples(std::string& out) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [values, child] : children_) {
    if constexpr (std::is_same_v<T, Histogram>) {
      const Histogram::Snapshot snap = child->Snap();
      std::string le;
      for (size_t i = 0; i < snap.cumulative_counts.size(); ++i) {
        le.clear();
        AppendDouble(i < bounds_.size() ? bounds_[i] : std::numeric_limits<double>::infinity(), le);
        out += name_;
        out += "_bucket";
        AppendLabels(label_names_, values, &le, out);
        out += ' ';
        AppendDouble(static_cast<double>(snap.cumulative_counts[i]), out);
        out += '\n';
      }
      AppendSample(name_ + "_sum", label_names_, values, snap.sum, out);
      AppendSample(name_ + "_count", label_names_, values, static_cast<double>(snap.count), out);
    } else {
      AppendSample(name_, label_names_, values, child->Value(), out);
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---- Registry -------------------------------------------------------------------------------

Registry::Registry() = default;
Registry::~Registry() = default;

Family<Counter>& Registry::AddCounter(std::string_view name, std::string_view help,
                                      std::vector<std::string> label_names) {
  std::unique_ptr<Family<Counter>> family(
      new Family<Counter>(std::string(name), std::string(help),
                          metrics_internal::MetricType::kCounter, std::move(label_names), {}));
  Family<Counter>& ref = *family;
  Register(std::move(family));
  return ref;
}

Family<Gauge>& Registry::AddGauge(std::string_view name, std::string_view help,
                                  std::vector<std::string> label_names) {
  std::unique_ptr<Family<Gauge>> family(new Family<Gauge>(std::string(name), std::string(help),
                                                          metrics_internal::MetricType::kGauge,
                                                          std::move(label_names), {}));
  Family<Gauge>& ref = *family;
  Register(std::move(family));
  return ref;
}

Family<Histogram>& Registry::AddHistogram(std::string_view name, std::string_view help,
                                          std::vector<double> bucket_bounds,
                                          std::vector<std::string> label_names) {
  if (!bucket_bounds.empty() && bucket_bounds.back() == std::numeric_limits<double>::infinity()) {
    bucket_bounds.pop_back();
  }
  if (bucket_bounds.empty()) Fatal(name, "a histogram needs at least one finite bucket bound");
  for (size_t i = 0; i < bucket_bounds.size(); ++i) {
    if (!std::isfinite(bucket_bounds[i]) || (i > 0 && !(bucket_bounds[i - 1] < bucket_bounds[i]))) {
      Fatal(name, "bucket bounds must be finite and strictly increasing");
    }
  }
  for (const std::string& label : label_names) {
    if (label == "le") Fatal(name, "label name \"le\" is reserved for histogram buckets");
  }
  std::unique_ptr<Family<Histogram>> family(new Family<Histogram>(
      std::string(name), std::string(help), metrics_internal::MetricType::kHistogram,
      std::move(label_names), std::move(bucket_bounds)));
  Family<Histogram>& ref = *family;
  Register(std::move(family));
  return ref;
}

void Registry::AddCallbackGauge(std::string_view name, std::string_view help,
                                std::vector<std::string> label_names,
                                std::function<std::vector<Sample>()> callback) {
  if (!callback) Fatal(name, "callback is empty");
  Register(std::make_unique<CallbackFamily>(std::string(name), std::string(help),
                                            metrics_internal::MetricType::kGauge,
                                            std::move(label_names), std::move(callback)));
}

void Registry::AddCallbackCounter(std::string_view name, std::string_view help,
                                  std::vector<std::string> label_names,
                                  std::function<std::vector<Sample>()> callback) {
  if (!callback) Fatal(name, "callback is empty");
  Register(std::make_unique<CallbackFamily>(std::string(name), std::string(help),
                                            metrics_internal::MetricType::kCounter,
                                            std::move(label_names), std::move(callback)));
}

void Registry::Register(std::unique_ptr<metrics_internal::FamilyBase> family) {
  const std::string& name = family->name();
  if (!IsValidName(name, /*allow_colon=*/true))
    Fatal(name, "invalid metric name (want [a-zA-Z_:][a-zA-Z0-9_:]*)");
  const std::vector<std::string>& labels = family->label_names();
  for (size_t i = 0; i < labels.size(); ++i) {
    if (!IsValidName(labels[i], /*allow_colon=*/false) || labels[i].starts_with("__")) {
      Fatal(name, Cat("invalid label name \"", labels[i],
                      "\" (want [a-zA-Z_][a-zA-Z0-9_]*, not starting with __)"));
    }
    for (size_t j = 0; j < i; ++j) {
      if (labels[i] == labels[j]) Fatal(name, Cat("duplicate label name \"", labels[i], "\""));
    }
  }
  const std::vector<std::string> sample_names = SampleNames(*family);

  absl::MutexLock lock(&mu_);
  for (const std::string& s : sample_names) {
    if (sample_names_.contains(s)) Fatal(name, Cat("\"", s, "\" is already registered"));
  }
  sample_names_.insert(sample_names.begin(), sample_names.end());
  families_.emplace(name, std::move(family));
}

std::string Registry::Expose() const {
  std::vector<const metrics_internal::FamilyBase*> families;
  {
    absl::MutexLock lock(&mu_);
    families.reserve(families_.size());
    for (const auto& [name, family] : families_) families.push_back(family.get());
  }
  // Families are never removed, so the pointers stay valid without the lock; callbacks run
  // unlocked and may read other metrics.
  std::string out;
  for (const metrics_internal::FamilyBase* family : families) family->Render(out);
  return out;
}

}  // namespace kubetrail
