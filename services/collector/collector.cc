#include "services/collector/collector.h"

#include <sys/stat.h>

#include <algorithm>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "audit/policy.h"
#include "common/http_status_server.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "common/tls.h"
#include "services/collector/forwarder.h"
#include "services/collector/intake.h"
#include "services/collector/source/tailer.h"
#include "services/collector/spool/spool.h"
#include "services/collector/tail_pipeline.h"
#include "services/collector/webhook/webhook.h"

namespace kubetrail::collector {
namespace {

// The tailer hands out up to this much at a time (one spool append), and at most a quarter
// of the spool, so that a chunk always fits once the spool has drained.
constexpr size_t kMaxTailChunkBytes = size_t{4} << 20;
// How often the policy file is looked at for changes.
constexpr absl::Duration kPolicyPoll = absl::Seconds(1);

// zstd's fastest level: audit batches still shrink about as much as with gzip.
constexpr int kZstdLevel = 1;

// gRPC's own message compression for `name`; none for "zstd", which the shipper does itself.
grpc_compression_algorithm CompressionOf(const std::string& name) {
  if (name == "gzip") return GRPC_COMPRESS_GZIP;
  if (name == "deflate") return GRPC_COMPRESS_DEFLATE;
  return GRPC_COMPRESS_NONE;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> CredentialsOf(
    const CollectorConfig& config) {
  if (config.dev) return std::shared_ptr<grpc::ChannelCredentials>();
  return MakeClientCredentials({.ca_file = config.tls_ca_file,
                                .cert_file = config.tls_cert_file,
                                .key_file = config.tls_key_file,
                                .server_name = config.tls_server_name});
}

// The policy file's identity for change detection: modification time and size.
struct FileStamp {
  int64_t mtime_ns = -1;
  int64_t size = -1;
  bool operator==(const FileStamp&) const = default;
};

FileStamp StampOf(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return FileStamp{};
  return FileStamp{static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
                   static_cast<int64_t>(st.st_size)};
}

}  // namespace

class Collector::Impl {
 public:
  Impl(const CollectorConfig& config, Clock& clock) : config_(config), clock_(clock) {}
  ~Impl() { Shutdown().IgnoreError(); }

  absl::Status Start();
  absl::Status Reload(const CollectorConfig& fresh);
  absl::Status Shutdown();
  int webhook_port() const { return webhook_ != nullptr ? webhook_->port() : 0; }
  int http_port() const { return status_ != nullptr ? status_->port() : 0; }

 private:
  // Loads and compiles the policy file (config_.policy_file) and hands it to the intake. On
  // error the intake keeps the policy it has. Without a policy file: OK, nothing to load.
  absl::Status LoadPolicy();
  // SIGHUP's two halves, independent of each other: each logs its outcome, naming the files,
  // and on error leaves the running policy / client certificate in force.
  absl::Status ReloadPolicy(const CollectorConfig& fresh);
  absl::Status ReloadCredentials(const CollectorConfig& fresh);
  void WatchPolicy();
  absl::Status Readiness() const;
  void AddSpoolMetrics();
  void AddTailMetrics();

  const CollectorConfig config_;
  Clock& clock_;
  Registry registry_;
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<Intake> intake_;
  std::unique_ptr<Forwarder> forwarder_;
  std::unique_ptr<WebhookServer> webhook_;
  std::vector<std::unique_ptr<Tailer>> tailers_;
  std::vector<std::unique_ptr<TailPipeline>> pipelines_;
  std::vector<std::thread> threads_;
  std::unique_ptr<HttpStatusServer> status_;
  Counter* policy_reloads_ok_ = nullptr;
  Counter* policy_reloads_failed_ = nullptr;
  Gauge* policy_ok_ = nullptr;
  Counter* cert_reloads_ok_ = nullptr;
  Counter* cert_reloads_failed_ = nullptr;

  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  FileStamp policy_stamp_ ABSL_GUARDED_BY(mu_);
  // Serialises policy loads (SIGHUP and the watcher).
  absl::Mutex policy_mu_;
};

absl::Status Collector::Impl::LoadPolicy() {
  absl::MutexLock lock(&policy_mu_);
  if (config_.policy_file.empty()) {
    // Nothing configured, so nothing failed: an alert on 0 must not fire for collectors that
    // run without a policy.
    if (policy_ok_ != nullptr) policy_ok_->Set(1);
    return absl::OkStatus();
  }
  const FileStamp stamp = StampOf(config_.policy_file);
  absl::Status result = [&]() -> absl::Status {
    std::vector<audit::PolicyWarning> warnings;
    KT_ASSIGN_OR_RETURN(audit::PolicySpec spec,
                        audit::LoadPolicyFile(config_.policy_file, {}, &warnings));
    for (const audit::PolicyWarning& w : warnings) {
      KT_LOG(kWarning, "collector")
          << "policy " << w.path << " line " << w.line << ": " << w.message;
    }
    KT_ASSIGN_OR_RETURN(audit::Policy policy, audit::Policy::Compile(spec));
    intake_->SetPolicy(std::make_shared<const audit::Policy>(std::move(policy)));
    return absl::OkStatus();
  }();
  {
    absl::MutexLock stamp_lock(&mu_);
    policy_stamp_ = stamp;
  }
  if (policy_ok_ != nullptr) policy_ok_->Set(result.ok() ? 1 : 0);
  Counter* counter = result.ok() ? policy_reloads_ok_ : policy_reloads_failed_;
  if (counter != nullptr) counter->Increment();
  return result;
}

void Collector::Impl::WatchPolicy() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stop_), kPolicyPoll)) return;
      if (StampOf(config_.policy_file) == policy_stamp_) continue;
    }
    if (absl::Status s = LoadPolicy(); !s.ok()) {
      KT_LOG(kError, "collector") << "the changed policy file is not used, the previous policy "
                                     "stays: "
                                  << s;
    } else {
      KT_LOG(kInfo, "collector") << "policy " << config_.policy_file << " reloaded (changed)";
    }
  }
}

absl::Status Collector::Impl::Readiness() const {
  if (absl::Status s = forwarder_->Health(); !s.ok()) {
    return absl::UnavailableError(Cat("the aggregator refuses this collector: ", s.message()));
  }
  if (const SpoolStats stats = spool_->Stats(); stats.full) {
    return absl::UnavailableError(Cat("the spool is full (", stats.events, " events, ", stats.bytes,
                                      " bytes): the aggregator is not taking them"));
  }
  return absl::OkStatus();
}

void Collector::Impl::AddSpoolMetrics() {
  Spool* spool = spool_.get();
  Clock* clock = &clock_;
  registry_.AddCallbackGauge(
      "kubetrail_collector_spool_events", "Events held in the spool.", {}, [spool] {
        return std::vector<Sample>{{{}, static_cast<double>(spool->Stats().events)}};
      });
  registry_.AddCallbackGauge(
      "kubetrail_collector_spool_bytes", "Serialized event bytes held in the spool.", {}, [spool] {
        return std::vector<Sample>{{{}, static_cast<double>(spool->Stats().bytes)}};
      });
  registry_.AddCallbackGauge(
      "kubetrail_collector_spool_max_bytes", "The spool's bound (spool.max_bytes).", {}, [spool] {
        return std::vector<Sample>{{{}, static_cast<double>(spool->config().max_bytes)}};
      });
  registry_.AddCallbackGauge(
      "kubetrail_collector_spool_oldest_age_seconds",
      "Age of the oldest event in the spool (receive time); 0 when empty.", {}, [spool, clock] {
        const absl::Time oldest = spool->Stats().oldest;
        const double age =
            oldest == absl::InfinitePast() ? 0 : absl::ToDoubleSeconds(clock->Now() - oldest);
        return std::vector<Sample>{{{}, age}};
      });
  registry_.AddCallbackCounter(
      "kubetrail_collector_spool_dropped_events_total",
      "Events the spool deleted unshipped (when_full: drop-oldest), by reason: full (to make "
      "room), expired (older than spool.max_age).",
      {"reason"}, [spool] {
        const SpoolStats stats = spool->Stats();
        return std::vector<Sample>{{{"full"}, static_cast<double>(stats.dropped_full)},
                                   {{"expired"}, static_cast<double>(stats.dropped_expired)}};
      });
  registry_.AddCallbackCounter(
      "kubetrail_collector_spool_refused_appends_total",
      "Appends the spool refused, by reason: full (when_full: block), error (disk).", {"reason"},
      [spool] {
        const SpoolStats stats = spool->Stats();
        return std::vector<Sample>{{{"full"}, static_cast<double>(stats.refused_full)},
                                   {{"error"}, static_cast<double>(stats.refused_error)}};
      });
}

void Collector::Impl::AddTailMetrics() {
  if (tailers_.empty()) return;
  std::vector<const Tailer*> tailers;
  for (const auto& tailer : tailers_) tailers.push_back(tailer.get());
  // Summed over the tailed files: each event is also logged with its file.
  auto sum = [tailers](uint64_t TailerStats::*field) {
    return [tailers, field] {
      double total = 0;
      for (const Tailer* tailer : tailers) total += static_cast<double>(tailer->Stats().*field);
      return std::vector<Sample>{{{}, total}};
    };
  };
  registry_.AddCallbackCounter(
      "kubetrail_collector_tail_gaps_total",
      "Possible losses of audit data seen by the log tailer (logged with the file): a file "
      "truncated in place without a matching copy (copytruncate), the file of the stored "
      "position deleted before it was read to its end, a damaged .gz file.",
      {}, sum(&TailerStats::gaps));
  registry_.AddCallbackCounter(
      "kubetrail_collector_tail_lines_skipped_total",
      "Lines of the tailed logs not read (logged with file and offset): longer than the "
      "maximum line length, or the unterminated end of a rotated file.",
      {}, sum(&TailerStats::skipped));
  registry_.AddCallbackCounter(
      "kubetrail_collector_tail_files_finished_total",
      "Tailed log files read to their end and left for the next one (rotations followed).", {},
      sum(&TailerStats::files_finished));
}

absl::Status Collector::Impl::Start() {
  SpoolConfig spool_config;
  spool_config.dir = config_.spool_dir;
  spool_config.max_bytes = config_.spool_max_bytes;
  spool_config.max_age = config_.spool_max_age;
  spool_config.when_full = config_.when_full;
  KT_ASSIGN_OR_RETURN(spool_, Spool::Open(spool_config, clock_));
  AddSpoolMetrics();
  intake_ = std::make_unique<Intake>(*spool_, IntakeConfig{config_.cluster, config_.source}, clock_,
                                     &registry_);
  Family<Counter>& reloads = registry_.AddCounter(
      "kubetrail_collector_policy_reloads_total",
      "Loads of the collector policy file, by result (ok, error: the previous policy stays).",
      {"result"});
  policy_reloads_ok_ = &reloads.WithLabels({"ok"});
  policy_reloads_failed_ = &reloads.WithLabels({"error"});
  policy_ok_ = &registry_
                    .AddGauge("kubetrail_collector_policy_last_load_ok",
                              "1 when the last load of the policy file worked (also when no "
                              "policy file is configured), 0 when it failed (the previous "
                              "policy is in use).")
                    .WithLabels();
  if (absl::Status s = LoadPolicy(); !s.ok()) {
    return absl::InvalidArgumentError(Cat("policy: ", s.message()));
  }
  Family<Counter>& cert_reloads = registry_.AddCounter(
      "kubetrail_collector_client_cert_reloads_total",
      "SIGHUP reloads of the client certificate, key and CA files used towards the aggregator, "
      "by result (ok, error: the previous certificate stays in use).",
      {"result"});
  cert_reloads_ok_ = &cert_reloads.WithLabels({"ok"});
  cert_reloads_failed_ = &cert_reloads.WithLabels({"error"});

  KT_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> credentials,
                      CredentialsOf(config_));
  ForwarderConfig fc;
  fc.targets = config_.aggregators;
  fc.credentials = std::move(credentials);
  fc.tls_server_name = config_.tls_server_name;
  fc.cluster = config_.cluster;
  fc.source = config_.source;
  fc.batch_events = config_.batch_events;
  fc.batch_bytes = config_.batch_bytes;
  fc.batch_wait = config_.batch_wait;
  fc.qps = config_.qps;
  fc.burst = config_.burst;
  fc.backoff.initial = config_.backoff_initial;
  fc.backoff.max = config_.backoff_max;
  fc.failover_after = config_.failover_after;
  fc.compression = CompressionOf(config_.compression);
  fc.zstd_level = config_.compression == "zstd" ? kZstdLevel : 0;
  fc.window = static_cast<int>(config_.window);
  forwarder_ = std::make_unique<Forwarder>(std::move(fc), *spool_, clock_, &registry_);
  KT_RETURN_IF_ERROR(forwarder_->Start());

  for (const std::string& path : config_.tail) {
    TailerConfig tc;
    tc.path = path;
    std::optional<TailPosition> resume;
    KT_ASSIGN_OR_RETURN(std::optional<std::string> stored, spool_->Position(Cat("tail:", path)));
    if (stored.has_value()) {
      absl::StatusOr<TailPosition> decoded = TailPosition::Decode(*stored);
      if (!decoded.ok()) {
        return absl::DataLossError(
            Cat("tail ", path,
                ": the position stored in the spool is unreadable: ", decoded.status().message()));
      }
      resume = *decoded;
    }
    KT_ASSIGN_OR_RETURN(std::unique_ptr<Tailer> tailer,
                        Tailer::Open(std::move(tc), resume, clock_));
    tailers_.push_back(std::move(tailer));
  }
  AddTailMetrics();
  for (size_t i = 0; i < tailers_.size(); ++i) {
    TailPipelineConfig pc;
    pc.path = config_.tail[i];
    pc.threads = config_.tail_threads;
    pc.chunk_bytes = static_cast<size_t>(
        std::clamp<uint64_t>(config_.spool_max_bytes / 4, 1, kMaxTailChunkBytes));
    pc.max_event_bytes = config_.max_event_bytes;
    pipelines_.push_back(
        std::make_unique<TailPipeline>(std::move(pc), *tailers_[i], *intake_, *spool_));
    threads_.emplace_back([pipeline = pipelines_.back().get()] { pipeline->Run(); });
  }
  if (!config_.policy_file.empty()) threads_.emplace_back([this] { WatchPolicy(); });

  if (!config_.webhook_listen.empty()) {
    WebhookConfig wc;
    wc.listen = config_.webhook_listen;
    wc.path = config_.webhook_path;
    wc.max_body_bytes = config_.webhook_max_body_bytes;
    wc.max_event_bytes = config_.max_event_bytes;
    wc.threads = config_.webhook_threads;
    wc.plaintext = config_.dev;
    wc.tls_cert_file = config_.webhook_tls_cert_file;
    wc.tls_key_file = config_.webhook_tls_key_file;
    wc.client_ca_file = config_.webhook_tls_client_ca_file;
    KT_ASSIGN_OR_RETURN(webhook_, WebhookServer::Start(
                                      std::move(wc),
                                      [this](WebhookRequest& request) {
                                        LogUndecodable(Cat("webhook POST from ", request.peer),
                                                       request.errors);
                                        return intake_->Accept(Source::kWebhook, request.events,
                                                               request.errors.size());
                                      },
                                      &registry_, clock_));
  }

  if (!config_.http_listen.empty()) {
    HttpStatusServer::Options options;
    options.listen = config_.http_listen;
    options.registry = &registry_;
    options.readiness = [this] { return Readiness(); };
    KT_ASSIGN_OR_RETURN(status_, HttpStatusServer::Start(std::move(options)));
  }
  return absl::OkStatus();
}

absl::Status Collector::Impl::ReloadPolicy(const CollectorConfig& fresh) {
  if (fresh.policy_file != config_.policy_file) {
    const absl::Status s = absl::FailedPreconditionError(
        Cat("policy file changed from \"", config_.policy_file, "\" to \"", fresh.policy_file,
            "\": restart to use another file; the running policy stays"));
    KT_LOG(kError, "collector") << "SIGHUP: " << s.message();
    return s;
  }
  if (config_.policy_file.empty()) return LoadPolicy();
  if (absl::Status s = LoadPolicy(); !s.ok()) {
    // The loader's errors mostly name the file already; the compiler's do not.
    const std::string reason = absl::StrContains(s.message(), config_.policy_file)
                                   ? std::string(s.message())
                                   : Cat(config_.policy_file, ": ", s.message());
    KT_LOG(kError, "collector") << "SIGHUP: the policy is not reloaded, the previous policy "
                                   "stays: "
                                << reason;
    return absl::Status(s.code(), Cat("policy: ", reason));
  }
  KT_LOG(kInfo, "collector") << "SIGHUP: policy " << config_.policy_file << " reloaded";
  return absl::OkStatus();
}

absl::Status Collector::Impl::ReloadCredentials(const CollectorConfig& fresh) {
  // --dev ships in plaintext: there is no certificate to reload.
  if (config_.dev) return absl::OkStatus();
  const std::string files = Cat("certificate \"", fresh.tls_cert_file, "\", key \"",
                                fresh.tls_key_file, "\", CA \"", fresh.tls_ca_file, "\"");
  // The fresh files, never fresh.dev: a reload must not turn TLS off (that needs a restart).
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeClientCredentials({.ca_file = fresh.tls_ca_file,
                             .cert_file = fresh.tls_cert_file,
                             .key_file = fresh.tls_key_file,
                             .server_name = fresh.tls_server_name});
  if (!credentials.ok()) {
    cert_reloads_failed_->Increment();
    KT_LOG(kError, "collector") << "SIGHUP: client " << files
                                << " not reloaded, the previous certificate stays: "
                                << credentials.status();
    return absl::Status(credentials.status().code(),
                        Cat("client certificate: ", credentials.status().message()));
  }
  forwarder_->UpdateCredentials(*std::move(credentials));
  cert_reloads_ok_->Increment();
  KT_LOG(kInfo, "collector") << "SIGHUP: client " << files
                             << " reloaded (the next stream to the aggregator uses it)";
  return absl::OkStatus();
}

absl::Status Collector::Impl::Reload(const CollectorConfig& fresh) {
  // Only what can change at run time: the policy file's content and the client certificate.
  // Both are attempted: a broken policy must not hold back a rotated certificate (which may
  // be about to expire), nor unreadable certificate files an edited policy.
  const absl::Status policy = ReloadPolicy(fresh);
  const absl::Status credentials = ReloadCredentials(fresh);
  if (policy.ok()) return credentials;
  if (credentials.ok()) return policy;
  return absl::Status(policy.code(), Cat(policy.message(), "; ", credentials.message()));
}

absl::Status Collector::Impl::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return absl::OkStatus();
    shut_down_ = true;
  }
  // 1. Sources: no new events. The webhook finishes its requests in flight first.
  if (webhook_ != nullptr) webhook_->Stop();
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  for (auto& pipeline : pipelines_) pipeline->Stop();
  if (spool_ != nullptr) spool_->Wake();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  // 2. Ship what is spooled, within the bound.
  absl::Status drained;
  if (forwarder_ != nullptr) {
    drained = forwarder_->Drain(config_.drain_timeout);
    forwarder_->Stop();
  }
  if (status_ != nullptr) status_->Stop();
  // 3. Close the spool.
  forwarder_.reset();
  intake_.reset();
  spool_.reset();
  return drained;
}

absl::StatusOr<std::unique_ptr<Collector>> Collector::Start(const CollectorConfig& config,
                                                            Clock& clock) {
  auto impl = std::make_unique<Impl>(config, clock);
  KT_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<Collector>(new Collector(std::move(impl)));
}

Collector::Collector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Collector::~Collector() = default;
int Collector::webhook_port() const { return impl_->webhook_port(); }
int Collector::http_port() const { return impl_->http_port(); }
absl::Status Collector::Reload(const CollectorConfig& fresh) { return impl_->Reload(fresh); }
absl::Status Collector::Shutdown() { return impl_->Shutdown(); }

}  // namespace kubetrail::collector
