#include "services/aggregator/admin_service.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "audit/microtime.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "services/aggregator/convert.h"
#include "services/aggregator/unary_call.h"

namespace kubetrail::aggregator {

namespace v1 = ::kubetrail::v1;
namespace fs = std::filesystem;

namespace {

// Every retention setting of `store` into `out`.
absl::Status AddRetention(storage::RocksDbEventStore& store,
                          google::protobuf::RepeatedPtrField<v1::RetentionSetting>* out) {
  KT_ASSIGN_OR_RETURN(std::vector<storage::RetentionSetting> settings, store.ListRetention());
  for (const storage::RetentionSetting& s : settings) {
    v1::RetentionSetting* setting = out->Add();
    setting->set_cluster(s.cluster);
    setting->set_keep_us(s.keep_us);
  }
  return absl::OkStatus();
}

void ToProto(const storage::LegalHold& hold, v1::LegalHold* out) {
  out->set_id(hold.id);
  out->set_cluster(hold.cluster);
  out->set_from_us(hold.from_us);
  out->set_to_us(hold.to_us);
  out->set_user(hold.user);
  out->set_namespace_name(hold.namespace_name);
  out->set_reason(hold.reason);
  out->set_created_us(hold.created_us);
}

// A retention for the log, as kubetrail-admin writes it: whole days as `400d`, else `36h`.
std::string LogKeep(int64_t keep_us) {
  constexpr int64_t kDay = 86'400'000'000;
  if (keep_us % kDay == 0) return absl::StrCat(keep_us / kDay, "d");
  return absl::FormatDuration(absl::Microseconds(keep_us));
}

// A caller's text for the log, quoted and escaped: a newline in it cannot forge a log line.
std::string Quoted(std::string_view text) {
  return absl::StrCat("\"", absl::Utf8SafeCEscape(ToAbsl(text)), "\"");
}

// A hold for the log: `hold-3 cluster "prod" [FROM, TO) user "alice" reason "case 4711"`.
std::string DescribeHold(const storage::LegalHold& hold) {
  std::string out = absl::StrCat(hold.id, " cluster ", Quoted(hold.cluster), " [",
                                 audit::FormatMicroTime(hold.from_us), ", ",
                                 audit::FormatMicroTime(hold.to_us), ")");
  if (!hold.user.empty()) absl::StrAppend(&out, " user ", Quoted(hold.user));
  if (!hold.namespace_name.empty()) {
    absl::StrAppend(&out, " namespace ", Quoted(hold.namespace_name));
  }
  absl::StrAppend(&out, " reason ", Quoted(hold.reason));
  return out;
}

}  // namespace

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
                           const Authorizer& authorizer, Metrics& metrics, std::string backup_dir,
                           Clock& clock)
    : store_(store),
      executor_(executor),
      authorizer_(authorizer),
      metrics_(metrics),
      backup_dir_(std::move(backup_dir)),
      clock_(clock) {}

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

grpc::ServerUnaryReactor* AdminService::ListRetention(grpc::CallbackServerContext* context,
                                                      const v1::ListRetentionRequest* /*request*/,
                                                      v1::ListRetentionResponse* response) {
  return RunUnaryCall(context, executor_, metrics_, "ListRetention",
                      authorizer_.CheckAdmin(*context), [this, response]() -> absl::Status {
                        return AddRetention(store_, response->mutable_settings());
                      });
}

grpc::ServerUnaryReactor* AdminService::SetRetention(grpc::CallbackServerContext* context,
                                                     const v1::SetRetentionRequest* request,
                                                     v1::SetRetentionResponse* response) {
  return RunUnaryCall(
      context, executor_, metrics_, "SetRetention", authorizer_.CheckAdmin(*context),
      [this, context, request, response]() -> absl::Status {
        KT_RETURN_IF_ERROR(store_.SetRetention(request->cluster(), request->keep_us()));
        if (request->keep_us() == 0) {
          KT_LOG(kInfo, "admin") << authorizer_.DescribeCaller(*context)
                                 << " cleared the retention of cluster "
                                 << Quoted(request->cluster());
        } else {
          KT_LOG(kInfo, "admin") << authorizer_.DescribeCaller(*context)
                                 << " set the retention of cluster " << Quoted(request->cluster())
                                 << " to " << LogKeep(request->keep_us());
        }
        return AddRetention(store_, response->mutable_settings());
      });
}

grpc::ServerUnaryReactor* AdminService::PlaceHold(grpc::CallbackServerContext* context,
                                                  const v1::PlaceHoldRequest* request,
                                                  v1::PlaceHoldResponse* response) {
  return RunUnaryCall(context, executor_, metrics_, "PlaceHold", authorizer_.CheckAdmin(*context),
                      [this, context, request, response]() -> absl::Status {
                        storage::LegalHold hold;
                        hold.cluster = request->cluster();
                        hold.from_us = request->from_us();
                        hold.to_us = request->to_us();
                        hold.user = request->user();
                        hold.namespace_name = request->namespace_name();
                        hold.reason = request->reason();
                        hold.created_us = clock_.NowMicros();
                        KT_ASSIGN_OR_RETURN(storage::LegalHold placed, store_.PlaceHold(hold));
                        KT_LOG(kInfo, "admin") << authorizer_.DescribeCaller(*context)
                                               << " placed legal hold " << DescribeHold(placed);
                        ToProto(placed, response->mutable_hold());
                        return absl::OkStatus();
                      });
}

grpc::ServerUnaryReactor* AdminService::ListHolds(grpc::CallbackServerContext* context,
                                                  const v1::ListHoldsRequest* /*request*/,
                                                  v1::ListHoldsResponse* response) {
  return RunUnaryCall(context, executor_, metrics_, "ListHolds", authorizer_.CheckAdmin(*context),
                      [this, response]() -> absl::Status {
                        KT_ASSIGN_OR_RETURN(std::vector<storage::LegalHold> holds,
                                            store_.ListHolds());
                        for (const storage::LegalHold& hold : holds) {
                          ToProto(hold, response->add_holds());
                        }
                        return absl::OkStatus();
                      });
}

grpc::ServerUnaryReactor* AdminService::ReleaseHold(grpc::CallbackServerContext* context,
                                                    const v1::ReleaseHoldRequest* request,
                                                    v1::ReleaseHoldResponse* /*response*/) {
  return RunUnaryCall(
      context, executor_, metrics_, "ReleaseHold", authorizer_.CheckAdmin(*context),
      [this, context, request]() -> absl::Status {
        if (request->id().empty()) {
          return absl::InvalidArgumentError("legal hold: empty id (want an id such as hold-3)");
        }
        KT_RETURN_IF_ERROR(store_.ReleaseHold(request->id()));
        KT_LOG(kInfo, "admin") << authorizer_.DescribeCaller(*context) << " released legal hold "
                               << request->id();
        return absl::OkStatus();
      });
}

}  // namespace kubetrail::aggregator
