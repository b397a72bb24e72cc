#include "services/aggregator/server.h"

#include <atomic>
#include <filesystem>
#include <system_error>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/http_status_server.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "common/tls.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "services/aggregator/admin_service.h"
#include "services/aggregator/auth.h"
#include "services/aggregator/executor.h"
#include "services/aggregator/follow.h"
#include "services/aggregator/ingest_service.h"
#include "services/aggregator/metrics.h"
#include "services/aggregator/query_service.h"
#include "services/aggregator/writer.h"
#include "storage/rocksdb_event_store.h"

namespace kubetrail::aggregator {

namespace {

constexpr char kVersion[] = "0.1.0";
constexpr char kIngestService[] = "kubetrail.v1.Ingest";

absl::Status MakeDirectory(const std::string& path, std::string_view what) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create the ", ToAbsl(what), " ", path, ": ", ec.message()));
  }
  return absl::OkStatus();
}

class AggregatorImpl final : public Aggregator {
 public:
  AggregatorImpl(Config config, Clock& clock)
      : config_(std::move(config)), clock_(clock), metrics_(registry_) {}

  ~AggregatorImpl() override {
    if (absl::Status s = Shutdown(); !s.ok()) {
      KT_LOG(kError, "aggregator") << "shutdown: " << s;
    }
  }

  absl::Status Init() {
    KT_RETURN_IF_ERROR(MakeDirectory(config_.data_dir, "data directory"));
    if (config_.dev) {
      authorizer_ = Authorizer::AllowAll();
    } else {
      KT_ASSIGN_OR_RETURN(authorizer_, Authorizer::Create(config_.auth));
      KT_ASSIGN_OR_RETURN(
          tls_, ServerTls::Create({.cert_file = config_.tls_cert_file,
                                   .key_file = config_.tls_key_file,
                                   .client_ca_file = config_.tls_client_ca_file,
                                   .client_auth = config_.tls_client_ca_file.empty()
                                                      ? ServerTlsConfig::ClientAuth::kNone
                                                      : ServerTlsConfig::ClientAuth::kRequest}));
      KT_LOG(kInfo, "aggregator") << "TLS: " << tls_->Describe();
    }

    storage::RocksDbOptions store_options;
    store_options.path = config_.StorePath();
    store_options.block_cache_bytes = config_.block_cache_bytes;
    store_options.write_buffer_bytes = config_.write_buffer_bytes;
    store_options.max_disk_bytes = config_.max_disk_bytes;
    store_options.low_priority_compactions = config_.low_priority_compactions;
    KT_ASSIGN_OR_RETURN(store_, storage::RocksDbEventStore::Open(store_options));

    follow_ = std::make_unique<FollowHub>(
        *store_, FollowHub::Options{.heartbeat = config_.follow_heartbeat, .batch_events = 256});
    writer_ = std::make_unique<Writer>(
        *store_,
        Writer::Options{.threads = config_.writer_threads,
                        .max_queued_events = config_.max_queued_events},
        [this](uint64_t last) { follow_->Notify(last); },
        [this](size_t events, const absl::Status& status, double seconds) {
          metrics_.Commit(events, seconds, status.ok());
          SetStoreWritable(status.ok(), status);
        });
    executor_ = std::make_unique<Executor>(config_.query_threads, 1024);

    IngestService::Options ingest_options;
    ingest_options.max_batch_events = config_.max_batch_events;
    ingest_options.max_event_bytes = config_.max_event_bytes;
    ingest_options.max_message_bytes = config_.max_message_bytes;
    ingest_options.version = kVersion;
    ingest_ =
        std::make_unique<IngestService>(*writer_, *authorizer_, metrics_, clock_, ingest_options);
    QueryService::Options query_options;
    query_options.max_response_bytes = config_.max_message_bytes;
    query_ = std::make_unique<QueryService>(*store_, *executor_, *follow_, *authorizer_, metrics_,
                                            query_options);
    admin_ = std::make_unique<AdminService>(*store_, *executor_, *authorizer_, metrics_,
                                            config_.backup_dir, clock_);
    RegisterGauges();
    KT_RETURN_IF_ERROR(StartGrpc());

    if (!config_.http_listen.empty()) {
      HttpStatusServer::Options http;
      http.listen = config_.http_listen;
      http.registry = &registry_;
      http.readiness = [this] { return Readiness(); };
      KT_ASSIGN_OR_RETURN(http_, HttpStatusServer::Start(std::move(http)));
    }
    if (config_.retention_interval > absl::ZeroDuration()) {
      retention_thread_ = std::thread([this] { RetentionLoop(); });
    }
    serving_ = true;
    return absl::OkStatus();
  }

  int port() const override { return port_; }
  int http_port() const override { return http_ ? http_->port() : 0; }

  absl::Status Reload(const Config& config) override {
    store_->SetMaxDiskBytes(config.max_disk_bytes);
    if (config_.dev) return absl::OkStatus();
    if (tls_ != nullptr) KT_RETURN_IF_ERROR(tls_->Reload());
    KT_RETURN_IF_ERROR(authorizer_->Update(config.auth));
    if (tls_ != nullptr) {
      KT_LOG(kInfo, "aggregator") << "reloaded; TLS: " << tls_->Describe();
    }
    // The files are re-read from the paths the server started with; other paths need a
    // restart. Say so rather than seem to have applied them.
    std::string moved;
    for (const auto& [field, running, fresh] :
         {std::tuple<const char*, const std::string&, const std::string&>{
              "tls.cert_file", config_.tls_cert_file, config.tls_cert_file},
          {"tls.key_file", config_.tls_key_file, config.tls_key_file},
          {"tls.client_ca_file", config_.tls_client_ca_file, config.tls_client_ca_file}}) {
      if (running == fresh) continue;
      absl::StrAppend(&moved, moved.empty() ? "" : "; ", field, " changed from \"", running,
                      "\" to \"", fresh, "\"");
    }
    if (!moved.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat(moved,
                       ": restart to use other files (the running files were re-read and the "
                       "access rules applied)"));
    }
    return absl::OkStatus();
  }

  absl::Status Shutdown() override {
    absl::MutexLock lock(&shutdown_mu_);
    if (shut_down_) return shutdown_status_;
    shut_down_ = true;
    serving_ = false;
    if (server_ != nullptr) {
      server_->GetHealthCheckService()->SetServingStatus(false);
      KT_LOG(kInfo, "aggregator") << "draining: NOT_SERVING, ingest streams finish their "
                                     "in-flight batches";
      ingest_->StartDraining();
      follow_->Stop();
      server_->Shutdown(absl::ToChronoTime(absl::Now() + config_.drain_timeout));
      server_->Wait();
    }
    if (writer_) writer_->Drain();
    if (follow_) follow_->Stop();
    if (executor_) executor_->Stop();
    {
      absl::MutexLock stop(&retention_mu_);
      retention_stop_ = true;
    }
    if (retention_thread_.joinable()) retention_thread_.join();
    if (http_) http_->Stop();
    if (store_ != nullptr) {
      shutdown_status_ = store_->Close();
      KT_LOG(kInfo, "aggregator") << "store closed: " << shutdown_status_;
    }
    return shutdown_status_;
  }

 private:
  absl::Status StartGrpc() {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    builder.AddListeningPort(
        config_.listen, tls_ ? tls_->credentials() : grpc::InsecureServerCredentials(), &port_);
    builder.SetMaxReceiveMessageSize(static_cast<int>(config_.max_message_bytes));
    // Keepalive: matches the shipper's (30 s pings, 10 s timeout) and tolerates its pings.
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 30'000);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10'000);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
    builder.RegisterService(ingest_.get());
    builder.RegisterService(query_.get());
    builder.RegisterService(admin_.get());
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port_ == 0) {
      server_.reset();
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", config_.listen, " (address in use or not local?)"));
    }
    grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
    for (const char* service : {kIngestService, "kubetrail.v1.Query", "kubetrail.v1.Admin"}) {
      health->SetServingStatus(service, true);
    }
    health->SetServingStatus(true);
    return absl::OkStatus();
  }

  void RegisterGauges() {
    registry_.AddCallbackGauge(
        "kubetrail_writer_queue_events", "Events waiting for a writer thread.", {}, [this] {
          return std::vector<Sample>{{{}, static_cast<double>(writer_->QueuedEvents())}};
        });
    registry_.AddCallbackGauge("kubetrail_ingest_streams", "Open ingest streams.", {}, [this] {
      return std::vector<Sample>{{{}, static_cast<double>(ingest_->StreamCount())}};
    });
    registry_.AddCallbackGauge("kubetrail_follow_streams", "Open Follow calls.", {}, [this] {
      return std::vector<Sample>{{{}, static_cast<double>(follow_->FollowerCount())}};
    });
    registry_.AddCallbackGauge("kubetrail_serving", "1 while the aggregator serves.", {}, [this] {
      return std::vector<Sample>{{{}, serving_.load() ? 1.0 : 0.0}};
    });
    registry_.AddCallbackGauge(
        "kubetrail_store_last_sequence", "Highest ingest sequence number in the store.", {},
        [this] {
          return std::vector<Sample>{{{}, static_cast<double>(store_->LastSequence())}};
        });
    // One Stats() per scrape for the three families below.
    auto stats = [this]() -> absl::StatusOr<storage::StoreStats> {
      absl::MutexLock lock(&stats_mu_);
      if (!stats_cache_.ok() || absl::Now() - stats_time_ > absl::Seconds(1)) {
        stats_cache_ = store_->Stats();
        stats_time_ = absl::Now();
      }
      return stats_cache_;
    };
    registry_.AddCallbackGauge("kubetrail_store_disk_bytes",
                               "Bytes of the store's live files, per part.", {"part"}, [stats] {
                                 std::vector<Sample> out;
                                 absl::StatusOr<storage::StoreStats> s = stats();
                                 if (!s.ok()) return out;
                                 for (const storage::KeyCount& kc : s->disk_bytes_by_part) {
                                   out.push_back({{kc.key}, static_cast<double>(kc.count)});
                                 }
                                 return out;
                               });
    registry_.AddCallbackGauge("kubetrail_store_events", "Stored events, per cluster.", {"cluster"},
                               [stats] {
                                 std::vector<Sample> out;
                                 absl::StatusOr<storage::StoreStats> s = stats();
                                 if (!s.ok()) return out;
                                 for (const storage::KeyCount& kc : s->events_per_cluster) {
                                   out.push_back({{kc.key}, static_cast<double>(kc.count)});
                                 }
                                 return out;
                               });
  }

  // From writer threads after every write.
  void SetStoreWritable(bool writable, const absl::Status& why) {
    if (store_writable_.exchange(writable) == writable) return;
    metrics_.SetStoreWritable(writable);
    if (writable) {
      KT_LOG(kInfo, "aggregator") << "the store accepts writes again";
    } else {
      KT_LOG(kError, "aggregator") << "the store cannot write (" << why
                                   << "); acks stop and ingest reports NOT_SERVING until a "
                                      "write succeeds";
      absl::MutexLock lock(&stats_mu_);
      write_error_ = std::string(why.message());
    }
    if (serving_ && server_ != nullptr) {
      server_->GetHealthCheckService()->SetServingStatus(kIngestService, writable);
      server_->GetHealthCheckService()->SetServingStatus("", writable);
    }
  }

  absl::Status Readiness() {
    if (!serving_) return absl::UnavailableError("not serving (starting or draining)");
    if (!store_writable_) {
      absl::MutexLock lock(&stats_mu_);
      return absl::UnavailableError(absl::StrCat("the store cannot write: ", write_error_));
    }
    return absl::OkStatus();
  }

  void RetentionLoop() {
    absl::Duration wait = absl::Seconds(10);  // first run soon after start
    for (;;) {
      {
        absl::MutexLock lock(&retention_mu_);
        if (retention_mu_.AwaitWithTimeout(absl::Condition(&retention_stop_), wait)) return;
      }
      wait = config_.retention_interval;
      absl::StatusOr<storage::RetentionReport> r = store_->ApplyRetention(clock_.NowMicros());
      if (!r.ok()) {
        KT_LOG(kError, "retention") << r.status();
      } else if (r->expired_events > 0 || r->held_events > 0) {
        KT_LOG(kInfo, "retention") << "expired " << r->expired_events << " events; "
                                   << r->held_events << " kept by legal holds";
      }
    }
  }

  const Config config_;
  Clock& clock_;
  Registry registry_;
  Metrics metrics_;
  std::unique_ptr<Authorizer> authorizer_;
  std::unique_ptr<ServerTls> tls_;
  std::unique_ptr<storage::RocksDbEventStore> store_;
  std::unique_ptr<FollowHub> follow_;
  std::unique_ptr<Writer> writer_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<IngestService> ingest_;
  std::unique_ptr<QueryService> query_;
  std::unique_ptr<AdminService> admin_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::unique_ptr<HttpStatusServer> http_;
  std::thread retention_thread_;
  absl::Mutex retention_mu_;
  bool retention_stop_ ABSL_GUARDED_BY(retention_mu_) = false;

  std::atomic<bool> serving_{false};
  std::atomic<bool> store_writable_{true};
  absl::Mutex stats_mu_;
  absl::StatusOr<storage::StoreStats> stats_cache_ ABSL_GUARDED_BY(stats_mu_) =
      absl::UnavailableError("not read yet");
  absl::Time stats_time_ ABSL_GUARDED_BY(stats_mu_);
  std::string write_error_ ABSL_GUARDED_BY(stats_mu_);

  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
  absl::Status shutdown_status_ ABSL_GUARDED_BY(shutdown_mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<Aggregator>> Aggregator::Start(Config config, Clock& clock) {
  KT_RETURN_IF_ERROR(ValidateConfig(config));
  auto aggregator = std::make_unique<AggregatorImpl>(std::move(config), clock);
  if (absl::Status s = aggregator->Init(); !s.ok()) {
    (void)aggregator->Shutdown();
    return s;
  }
  return aggregator;
}

}  // namespace kubetrail::aggregator
