// Unit tests of `kubetrail retention`, `hold` and `holds` (retention.h): --keep parsing, and
// the verbs against a fake Admin service over an in-process gRPC channel (what each sends,
// what it prints in table and JSON form, usage errors before any call, server errors).
#include "clients/cli/retention.h"

#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "clients/cli/connection.h"
#include "clients/cli/exit_codes.h"
#include "gmock/gmock.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/server_context.h"
#include "gtest/gtest.h"
#include "kubetrail/v1/admin.grpc.pb.h"

namespace kubetrail::cli {
namespace {

namespace v1 = ::kubetrail::v1;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kDay = 86'400'000'000;
// 2026-03-01T00:00:00Z and 2026-03-08T00:00:00Z.
constexpr int64_t kMarch1 = 1'772'323'200'000'000;
constexpr int64_t kMarch8 = kMarch1 + 7 * kDay;

// A fake Admin service with the store's retention and hold semantics (settings by cluster,
// keep 0 clears; holds numbered from 1; INVALID_ARGUMENT for an empty cluster or range,
// NOT_FOUND for an unknown hold). Counts the calls it received.
class FakeAdminService final : public v1::Admin::Service {
 public:
  grpc::Status ListRetention(grpc::ServerContext*, const v1::ListRetentionRequest*,
                             v1::ListRetentionResponse* response) override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    Settings(response->mutable_settings());
    return grpc::Status::OK;
  }
  grpc::Status SetRetention(grpc::ServerContext*, const v1::SetRetentionRequest* request,
                            v1::SetRetentionResponse* response) override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    if (request->cluster().empty()) {
      return {grpc::StatusCode::INVALID_ARGUMENT, "retention: empty cluster name"};
    }
    if (request->keep_us() == 0) {
      retention_.erase(request->cluster());
    } else {
      retention_[request->cluster()] = request->keep_us();
    }
    Settings(response->mutable_settings());
    return grpc::Status::OK;
  }
  grpc::Status PlaceHold(grpc::ServerContext*, const v1::PlaceHoldRequest* request,
                         v1::PlaceHoldResponse* response) override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    if (request->cluster().empty()) {
      return {grpc::StatusCode::INVALID_ARGUMENT, "legal hold: empty cluster"};
    }
    if (request->from_us() >= request->to_us()) {
      return {grpc::StatusCode::INVALID_ARGUMENT, "legal hold: empty range"};
    }
    v1::LegalHold& hold = holds_[next_];
    hold.set_id(absl::StrCat("hold-", next_++));
    hold.set_cluster(request->cluster());
    hold.set_from_us(request->from_us());
    hold.set_to_us(request->to_us());
    hold.set_user(request->user());
    hold.set_namespace_name(request->namespace_name());
    hold.set_reason(request->reason());
    hold.set_created_us(kMarch8 + kDay);
    *response->mutable_hold() = hold;
    return grpc::Status::OK;
  }
  grpc::Status ListHolds(grpc::ServerContext*, const v1::ListHoldsRequest*,
                         v1::ListHoldsResponse* response) override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    for (const auto& [n, hold] : holds_) *response->add_holds() = hold;
    return grpc::Status::OK;
  }
  grpc::Status ReleaseHold(grpc::ServerContext*, const v1::ReleaseHoldRequest* request,
                           v1::ReleaseHoldResponse*) override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    for (auto it = holds_.begin(); it != holds_.end(); ++it) {
      if (it->second.id() != request->id()) continue;
      holds_.erase(it);
      return grpc::Status::OK;
    }
    return {grpc::StatusCode::NOT_FOUND, absl::StrCat("no legal hold \"", request->id(), "\"")};
  }

  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  std::map<std::string, int64_t> retention() {
    absl::MutexLock lock(&mu_);
    return retention_;
  }
  std::vector<v1::LegalHold> holds() {
    absl::MutexLock lock(&mu_);
    std::vector<v1::LegalHold> out;
    for (const auto& [n, hold] : holds_) out.push_back(hold);
    return out;
  }

 private:
  void Settings(google::protobuf::RepeatedPtrField<v1::RetentionSetting>* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const auto& [cluster, keep] : retention_) {
      v1::RetentionSetting* s = out->Add();
      s->set_cluster(cluster);
      s->set_keep_us(keep);
    }
  }

  absl::Mutex mu_;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, int64_t> retention_ ABSL_GUARDED_BY(mu_);
  std::map<int, v1::LegalHold> holds_ ABSL_GUARDED_BY(mu_);
  int next_ ABSL_GUARDED_BY(mu_) = 1;
};

TEST(ParseKeepTest, ZeroOrAPositiveDuration) {
  EXPECT_EQ(ParseKeep("0").value_or(-1), 0);
  EXPECT_EQ(ParseKeep("400d").value_or(-1), 400 * kDay);
  EXPECT_EQ(ParseKeep("2160h").value_or(-1), 90 * kDay);
  EXPECT_EQ(ParseKeep("1d12h").value_or(-1), kDay + kDay / 2);
  for (const char* bad : {"", "soon", "-1h", "0s", "90", "d"}) {
    absl::StatusOr<int64_t> keep = ParseKeep(bad);
    EXPECT_EQ(keep.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(keep.status().message()), HasSubstr("400d")) << bad;
  }
  // Under a microsecond is refused, not rounded to 0 (which would mean keep forever).
  EXPECT_EQ(ParseKeep("1us").value_or(-1), 1);
  absl::StatusOr<int64_t> tiny = ParseKeep("500ns");
  EXPECT_EQ(tiny.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(tiny.status().message()), HasSubstr("at least 1us"));
}

class RetentionVerbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    server_options_.server = "fake:7443";
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  kubetrail::Client Client() {
    out_.str("");
    err_.str("");
    return kubetrail::Client::FromChannel(server_->InProcessChannel(grpc::ChannelArguments()),
                                          server_options_);
  }
  int Retention(const RetentionOptions& options) {
    return RunRetention(options, Client(), out_, err_);
  }
  int Hold(const HoldOptions& options) {
    return RunHold(options, absl::FromUnixMicros(kMarch8), Client(), out_, err_);
  }
  int Holds(const HoldsOptions& options) { return RunHolds(options, Client(), out_, err_); }

  static HoldOptions CaseHold() {
    HoldOptions options;
    options.cluster = "prod";
    options.from = "2026-03-01";
    options.to = "2026-03-08T00:00:00Z";
    options.user = "alice@example.com";
    options.reason = "case 4711";
    return options;
  }

  FakeAdminService service_;
  std::unique_ptr<grpc::Server> server_;
  ServerOptions server_options_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(RetentionVerbTest, RetentionShowsSetsAndClears) {
  EXPECT_EQ(Retention({}), kExitOk);
  EXPECT_EQ(out_.str(), "CLUSTER   KEEP\n*         forever\n");

  RetentionOptions set;
  set.cluster = "*";
  set.keep = "400d";
  ASSERT_EQ(Retention(set), kExitOk) << err_.str();
  set.cluster = "dev-1";
  set.keep = "36h";
  ASSERT_EQ(Retention(set), kExitOk) << err_.str();
  EXPECT_EQ(service_.retention(),
            (std::map<std::string, int64_t>{{"*", 400 * kDay}, {"dev-1", kDay + kDay / 2}}));
  EXPECT_EQ(out_.str(), "CLUSTER   KEEP\n*         400d\ndev-1     36h\n");

  RetentionOptions json;
  json.format = EventFormat::kJson;
  ASSERT_EQ(Retention(json), kExitOk);
  EXPECT_EQ(out_.str(), R"([{"cluster":"*","keep":"400d","keep_us":34560000000000},)"
                        R"({"cluster":"dev-1","keep":"36h","keep_us":129600000000}])"
                        "\n");

  set.keep = "0";
  ASSERT_EQ(Retention(set), kExitOk);
  EXPECT_EQ(service_.retention(), (std::map<std::string, int64_t>{{"*", 400 * kDay}}));
  EXPECT_EQ(out_.str(), "CLUSTER   KEEP\n*         400d\n");
}

TEST_F(RetentionVerbTest, RetentionUsageErrorsCallNothing) {
  RetentionOptions half;
  half.cluster = "prod";
  EXPECT_EQ(Retention(half), kExitUsage);
  EXPECT_EQ(err_.str(), "kubetrail retention: --cluster and --keep go together\n");
  RetentionOptions bad;
  bad.cluster = "prod";
  bad.keep = "a while";
  EXPECT_EQ(Retention(bad), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("kubetrail retention: --keep: want 0 (keep forever)"));
  EXPECT_EQ(service_.calls(), 0);
  EXPECT_THAT(out_.str(), IsEmpty());
}

TEST_F(RetentionVerbTest, HoldPrintsTheIdAndSendsTheParsedRange) {
  ASSERT_EQ(Hold(CaseHold()), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), "hold-1\n");
  ASSERT_EQ(service_.holds().size(), 1u);
  const v1::LegalHold hold = service_.holds()[0];
  EXPECT_EQ(hold.cluster(), "prod");
  EXPECT_EQ(hold.from_us(), kMarch1);
  EXPECT_EQ(hold.to_us(), kMarch8);
  EXPECT_EQ(hold.user(), "alice@example.com");
  EXPECT_EQ(hold.namespace_name(), "");
  EXPECT_EQ(hold.reason(), "case 4711");

  // Relative times are relative to `now`; JSON prints the whole hold.
  HoldOptions relative = CaseHold();
  relative.from = "now-7d";
  relative.to = "now";
  relative.user.clear();
  relative.namespace_name = "payments";
  relative.format = EventFormat::kJson;
  ASSERT_EQ(Hold(relative), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), R"([{"id":"hold-2","cluster":"prod","from":"2026-03-01T00:00:00.000000Z",)"
                        R"("to":"2026-03-08T00:00:00.000000Z","user":"","namespace":"payments",)"
                        R"("reason":"case 4711","created":"2026-03-09T00:00:00.000000Z"}])"
                        "\n");
}

TEST_F(RetentionVerbTest, HoldUsageAndServerErrors) {
  HoldOptions bad_from = CaseHold();
  bad_from.from = "last week";
  EXPECT_EQ(Hold(bad_from), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("kubetrail hold: --from: want an RFC 3339 time"));
  HoldOptions backwards = CaseHold();
  backwards.to = "2026-02-01";
  EXPECT_EQ(Hold(backwards), kExitUsage);
  EXPECT_EQ(err_.str(), "kubetrail hold: --to must be after --from\n");
  EXPECT_EQ(service_.calls(), 0);

  // What the server refuses: INVALID_ARGUMENT is a usage error too.
  HoldOptions no_cluster = CaseHold();
  no_cluster.cluster.clear();
  EXPECT_EQ(Hold(no_cluster), kExitUsage);
  EXPECT_EQ(err_.str(), "kubetrail: fake:7443: INVALID_ARGUMENT: legal hold: empty cluster\n");
  EXPECT_THAT(out_.str(), IsEmpty());
}

TEST_F(RetentionVerbTest, HoldsListsAndReleases) {
  EXPECT_EQ(Holds({}), kExitOk);
  EXPECT_THAT(out_.str(), IsEmpty());
  ASSERT_EQ(Hold(CaseHold()), kExitOk);
  HoldOptions second = CaseHold();
  second.user.clear();
  second.namespace_name = "payments";
  second.reason = "audit \"Q1\"";
  ASSERT_EQ(Hold(second), kExitOk);

  ASSERT_EQ(Holds({}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(),
            "ID       CLUSTER   FROM                   TO                     USER                "
            "NAMESPACE   CREATED                REASON\n"
            "hold-1   prod      2026-03-01T00:00:00Z   2026-03-08T00:00:00Z   alice@example.com   "
            "-           2026-03-09T00:00:00Z   case 4711\n"
            "hold-2   prod      2026-03-01T00:00:00Z   2026-03-08T00:00:00Z   -                   "
            "payments    2026-03-09T00:00:00Z   audit \"Q1\"\n");

  HoldsOptions release;
  release.release = "hold-1";
  ASSERT_EQ(Holds(release), kExitOk) << err_.str();
  ASSERT_EQ(service_.holds().size(), 1u);
  EXPECT_EQ(service_.holds()[0].id(), "hold-2");
  EXPECT_THAT(out_.str(), HasSubstr("hold-2"));
  EXPECT_THAT(out_.str(), ::testing::Not(HasSubstr("hold-1")));

  EXPECT_EQ(Holds(release), kExitFailure);
  EXPECT_EQ(err_.str(), "kubetrail: fake:7443: NOT_FOUND: no legal hold \"hold-1\"\n");
  EXPECT_THAT(out_.str(), IsEmpty());
}

}  // namespace
}  // namespace kubetrail::cli
