#include "services/aggregator/admin_service.h"

#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "services/aggregator/convert.h"
#include "services/aggregator/unary_call.h"

namespace kubetrail::aggregator {

namespace v1 = ::kubetrail::v1;
namespace fs = std::filesystem;

absl::Status ValidateBackupName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 128 && name[0] != '.';
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-');
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("backup name \"", name,
                   "\" must be 1-128 characters of [A-Za-z0-9._-], not starting "
                   "with '.'"));
}

AdminService::AdminService(storage::RocksDbEventStore& store, Executor& executor,
                           const Authorizer& authorizer, Metrics& metrics, std::string backup_dir)
    : store_(store),
      executor_(executor),
      authorizer_(authorizer),
      metrics_(metrics),
      backup_dir_(std::move(backup_dir)) {}

grpc::ServerUnaryReactor* AdminService::Backup(grpc::CallbackServerContext* context,
                                               const v1::BackupRequest* request,
                                               v1::BackupResponse* response) {
  return RunUnaryCall(
      context, executor_, metrics_, "Backup", authorizer_.CheckAdmin(*context),
      [this, request, response]() -> absl::Status {
        KT_RETURN_IF_ERROR(ValidateBackupName(request->name()));
        std::error_code ec;
        fs::create_directories(backup_dir_, ec);
        if (ec) {
          return absl::FailedPreconditionError(
              absl::StrCat("cannot create the backup directory ", backup_dir_, ": ", ec.message()));
        }
        const fs::path path = fs::path(backup_dir_) / request->name();
        if (fs::exists(path, ec)) {
          return absl::AlreadyExistsError(absl::StrCat("backup ", path.string(), " exists"));
        }
        // Every event committed before the checkpoint starts is in it.
        const uint64_t last = store_.LastSequence();
        KT_RETURN_IF_ERROR(store_.Checkpoint(path.string()));
        uint64_t bytes = 0;
        for (const fs::directory_entry& e : fs::recursive_directory_iterator(path, ec)) {
          if (e.is_regular_file(ec)) bytes += e.file_size(ec);
        }
        response->set_path(path.string());
        response->set_last_sequence(last);
        response->set_bytes(bytes);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdminService::Stats(grpc::CallbackServerContext* context,
                                              const v1::StatsRequest* /*request*/,
                                              v1::StatsResponse* response) {
  return RunUnaryCall(context, executor_, metrics_, "Stats", authorizer_.CheckAdmin(*context),
                      [this, response]() -> absl::Status {
                        KT_ASSIGN_OR_RETURN(storage::StoreStats stats, store_.Stats());
                        response->set_events(stats.events);
                        response->set_last_sequence(stats.last_sequence);
                        response->set_disk_bytes(stats.disk_bytes);
                        for (const storage::KeyCount& kc : stats.disk_bytes_by_part) {
                          v1::KeyCount* out = response->add_disk_bytes_by_part();
                          out->set_key(kc.key);
                          out->set_count(kc.count);
                        }
                        for (const storage::KeyCount& kc : stats.events_per_cluster) {
                          v1::KeyCount* out = response->add_events_per_cluster();
                          out->set_key(kc.key);
                          out->set_count(kc.count);
                        }
                        return absl::OkStatus();
                      });
}

}  // namespace kubetrail::aggregator
