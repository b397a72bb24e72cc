// The Admin service (proto/kubetrail/v1/admin.proto): a consistent backup of the running
// store (a RocksDB checkpoint), store statistics, and the store's retention settings and
// legal holds, changed while the aggregator runs (the retention thread's ApplyRetention
// reads them under the store's lock, so a change applies from the next run). Calls run on
// the query Executor; every change is logged (component "admin") with who made it
// (Authorizer::DescribeCaller).
//
// Thread safety: as QueryService.
#ifndef KUBETRAIL_SERVICES_AGGREGATOR_ADMIN_SERVICE_H_
#define KUBETRAIL_SERVICES_AGGREGATOR_ADMIN_SERVICE_H_

#include <string>

#include "common/clock.h"
#include "kubetrail/v1/admin.grpc.pb.h"
#include "services/aggregator/auth.h"
#include "services/aggregator/executor.h"
#include "services/aggregator/metrics.h"
#include "storage/rocksdb_event_store.h"

namespace kubetrail::aggregator {

class AdminService final : public kubetrail::v1::Admin::CallbackService {
 public:
  // Backups go under `backup_dir` (created when missing). `clock` stamps the creation time of
  // legal holds (the aggregator's clock). Every reference must outlive the service and the
  // server running it.
  AdminService(storage::RocksDbEventStore& store, Executor& executor, const Authorizer& authorizer,
               Metrics& metrics, std::string backup_dir, Clock& clock);

  grpc::ServerUnaryReactor* Backup(grpc::CallbackServerContext* context,
                                   const kubetrail::v1::BackupRequest* request,
                                   kubetrail::v1::BackupResponse* response) override;
  grpc::ServerUnaryReactor* Stats(grpc::CallbackServerContext* context,
                                  const kubetrail::v1::StatsRequest* request,
                                  kubetrail::v1::StatsResponse* response) override;
  grpc::ServerUnaryReactor* ListRetention(grpc::CallbackServerContext* context,
                                          const kubetrail::v1::ListRetentionRequest* request,
                                          kubetrail::v1::ListRetentionResponse* response) override;
  grpc::ServerUnaryReactor* SetRetention(grpc::CallbackServerContext* context,
                                         const kubetrail::v1::SetRetentionRequest* request,
                                         kubetrail::v1::SetRetentionResponse* response) override;
  grpc::ServerUnaryReactor* PlaceHold(grpc::CallbackServerContext* context,
                                      const kubetrail::v1::PlaceHoldRequest* request,
                                      kubetrail::v1::PlaceHoldResponse* response) override;
  grpc::ServerUnaryReactor* ListHolds(grpc::CallbackServerContext* context,
                                      const kubetrail::v1::ListHoldsRequest* request,
                                      kubetrail::v1::ListHoldsResponse* response) override;
  grpc::ServerUnaryReactor* ReleaseHold(grpc::CallbackServerContext* context,
                                        const kubetrail::v1::ReleaseHoldRequest* request,
                                        kubetrail::v1::ReleaseHoldResponse* response) override;

 private:
  storage::RocksDbEventStore& store_;
  Executor& executor_;
  const Authorizer& authorizer_;
  Metrics& metrics_;
  const std::string backup_dir_;
  Clock& clock_;
};

// Checks a backup name: 1-128 characters of [A-Za-z0-9._-], not starting with '.'.
absl::Status ValidateBackupName(const std::string& name);

}  // namespace kubetrail::aggregator

#endif  // KUBETRAIL_SERVICES_AGGREGATOR_ADMIN_SERVICE_H_
