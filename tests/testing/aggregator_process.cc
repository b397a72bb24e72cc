#include "tests/testing/aggregator_process.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "kubetrail/v1/query.grpc.pb.h"
#include "tests/testing/paths.h"

namespace kubetrail::testing {

RunningAggregator StartAggregator(const std::string& data_dir, std::vector<std::string> args,
                                  std::shared_ptr<grpc::ChannelCredentials> credentials) {
  if (args.empty()) {
    args = {"--dev",         "--listen",        "127.0.0.1:0",
            "--http-listen", "127.0.0.1:0",     "--data-dir",
            data_dir,        "--drain-timeout", "10s"};
  }
  std::vector<std::string> argv = {BinDir() + "/kubetrail-aggregator"};
  argv.insert(argv.end(), args.begin(), args.end());
  RunningAggregator r;
  auto process = BackgroundProcess::Start(argv);
  EXPECT_TRUE(process.ok()) << process.status();
  if (!process.ok()) return r;
  r.process = std::move(*process);
  absl::StatusOr<std::string> line = r.process->WaitForLine("serving grpc=", absl::Seconds(60));
  EXPECT_TRUE(line.ok()) << line.status();
  if (!line.ok()) return r;
  // "kubetrail-aggregator: serving grpc=127.0.0.1:PORT http=127.0.0.1:PORT (dev: ...)"
  for (absl::string_view word : absl::StrSplit(*line, ' ')) {
    int* out = absl::ConsumePrefix(&word, "grpc=")   ? &r.port
               : absl::ConsumePrefix(&word, "http=") ? &r.http_port
                                                     : nullptr;
    if (out != nullptr) {
      EXPECT_TRUE(absl::SimpleAtoi(word.substr(word.rfind(':') + 1), out));
    }
  }
  r.channel = grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", r.port),
      credentials != nullptr ? credentials : grpc::InsecureChannelCredentials());
  return r;
}

std::set<std::string> StoredIds(const std::shared_ptr<grpc::Channel>& channel) {
  auto query = kubetrail::v1::Query::NewStub(channel);
  std::set<std::string> ids;
  kubetrail::v1::SearchRequest req;
  req.set_limit(100'000);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto reader = query->Search(&ctx, req);
  kubetrail::v1::SearchResponse r;
  while (reader->Read(&r)) {
    for (const auto& e : r.events()) {
      EXPECT_TRUE(ids.insert(e.event().event().audit_id() + "/" + e.event().event().stage()).second)
          << "stored twice: " << e.event().event().audit_id();
    }
  }
  EXPECT_TRUE(reader->Finish().ok());
  return ids;
}

}  // namespace kubetrail::testing
