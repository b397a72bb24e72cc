// `kubetrail export` and `tail` in-process against the fake Query service: an export to a
// file interrupted mid-way resumes from its checkpoint without repeating or losing a line;
// a tail stops cleanly and survives the server going away. (Against a real aggregator:
// tests/clients/clients_process_test.cc.)
#include "clients/cli/events.h"

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "audit/codec.h"
#include "clients/cli/exit_codes.h"
#include "clients/cpp/testing/fake_query_service.h"
#include "gmock/gmock.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace kubetrail::cli {
namespace {

namespace v1 = kubetrail::v1;
using ::testing::HasSubstr;

v1::StoredEvent MakeStored(int i) {
  v1::StoredEvent stored;
  stored.set_sequence(100 + static_cast<uint64_t>(i));
  stored.set_time_us(1'795'773'600'000'000 + i);
  v1::Event* event = stored.mutable_event()->mutable_event();
  event->set_level("Metadata");
  event->set_audit_id(absl::StrCat("id-", i));
  event->set_stage("ResponseComplete");
  event->set_verb("get");
  event->set_request_received_timestamp_us(stored.time_us());
  return stored;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class EventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 7; ++i) events_.push_back(MakeStored(i));
    service_ = std::make_unique<client_testing::FakeQueryService>(events_);
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override {
    if (server_) server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  }
  kubetrail::Client MakeClient() {
    return kubetrail::Client::FromChannel(server_->InProcessChannel(grpc::ChannelArguments()),
                                          {.server = "fake:7443"});
  }
  std::string AllLines() const {
    std::string text;
    for (const v1::StoredEvent& e : events_) {
      audit::AppendEventJson(e.event().event(), &text);
      text += "\n";
    }
    return text;
  }

  std::vector<v1::StoredEvent> events_;
  std::unique_ptr<client_testing::FakeQueryService> service_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(EventsTest, InterruptedExportResumesFromItsCheckpoint) {
  testing::TempDir dir;
  const std::string file = dir.File("out.jsonl");
  ExportOptions options;
  options.output_path = file;
  options.page_size = 3;
  options.progress_every = absl::ZeroDuration();
  const kubetrail::Client client = MakeClient();
  std::ostringstream out;
  std::ostringstream err;

  service_->FailSearchAfter(1);  // the second page fails
  EXPECT_EQ(RunExport(options, client, out, err), kExitFailure);
  EXPECT_THAT(err.str(), HasSubstr("UNAVAILABLE"));
  EXPECT_THAT(err.str(), HasSubstr("interrupted after 3 events; resume with: kubetrail export "
                                   "--file " + file + " --resume"));
  EXPECT_TRUE(std::ifstream(file + ".checkpoint").good());
  // A partial line after the checkpoint (a crash mid-write) is cut on resume.
  { std::ofstream(file, std::ios::app) << "{\"kind\":\"Ev"; }

  service_->FailSearchAfter(-1);
  options.resume = true;
  options.filter.add_verbs("ignored on resume");
  err.str("");
  EXPECT_EQ(RunExport(options, client, out, err), kExitOk) << err.str();
  EXPECT_EQ(ReadFile(file), AllLines());
  EXPECT_FALSE(std::ifstream(file + ".checkpoint").good());
  EXPECT_TRUE(out.str().empty());
  // The resumed pages continued the first one's cursor with the checkpoint's filter.
  const auto calls = service_->calls();
  ASSERT_GE(calls.size(), 3u);
  EXPECT_EQ(calls.back().request.cursor(), "6");
  EXPECT_TRUE(calls.back().request.filter().verbs().empty());

  // Nothing to resume now.
  EXPECT_EQ(RunExport(options, client, out, err), kExitFailure);
  EXPECT_THAT(err.str(), HasSubstr("nothing to resume"));
}

TEST_F(EventsTest, ExportToStdoutSaysHowToContinue) {
  ExportOptions options;
  options.page_size = 2;
  const kubetrail::Client client = MakeClient();
  std::ostringstream out;
  std::ostringstream err;
  service_->FailSearchAfter(2);
  EXPECT_EQ(RunExport(options, client, out, err), kExitFailure);
  EXPECT_THAT(err.str(), HasSubstr("interrupted after 4 events; continue with the same flags "
                                   "and --cursor 4"));
  service_->FailSearchAfter(-1);
  options.cursor = "4";
  options.progress_every = absl::ZeroDuration();
  EXPECT_EQ(RunExport(options, client, out, err), kExitOk);
  EXPECT_EQ(out.str(), AllLines());
}

TEST_F(EventsTest, TailStopsCleanly) {
  const kubetrail::Client client = MakeClient();
  TailControl control;
  std::ostringstream out;
  std::ostringstream err;
  std::thread feeder([&] {
    absl::SleepFor(absl::Milliseconds(100));
    service_->AddFollowEvents({MakeStored(20), MakeStored(21)});
    absl::SleepFor(absl::Milliseconds(300));
    control.Stop();
  });
  TailOptions options;
  options.format = EventFormat::kJsonLines;
  EXPECT_EQ(RunTail(options, client, &control, out, err), kExitOk) << err.str();
  feeder.join();
  std::string expected;
  for (int i : {20, 21}) {
    audit::AppendEventJson(MakeStored(i).event().event(), &expected);
    expected += "\n";
  }
  EXPECT_EQ(out.str(), expected);
}

TEST_F(EventsTest, TailWaitsForAServerThatWentAway) {
  const kubetrail::Client client = MakeClient();
  TailControl control;
  std::ostringstream out;
  std::ostringstream err;
  service_->FailWith(grpc::Status(grpc::StatusCode::UNAVAILABLE, "restarting"));
  std::thread server([&] {
    absl::SleepFor(absl::Milliseconds(200));
    service_->FailWith(grpc::Status::OK);  // back
    absl::SleepFor(absl::Milliseconds(200));
    service_->AddFollowEvents({MakeStored(30)});
    absl::SleepFor(absl::Milliseconds(300));
    control.Stop();
  });
  TailOptions options;
  options.format = EventFormat::kJsonLines;
  options.retry = absl::Milliseconds(20);
  EXPECT_EQ(RunTail(options, client, &control, out, err), kExitOk) << err.str();
  server.join();
  std::string expected;
  audit::AppendEventJson(MakeStored(30).event().event(), &expected);
  EXPECT_EQ(out.str(), expected + "\n");
  // Said once, not once per attempt.
  EXPECT_EQ(err.str(),
            "kubetrail tail: fake:7443: restarting; retrying every 20ms\n"
            "kubetrail tail: reconnected\n");
}

TEST_F(EventsTest, TailRefusesTo) {
  const kubetrail::Client client = MakeClient();
  TailControl control;
  std::ostringstream out;
  std::ostringstream err;
  TailOptions options;
  options.filter.set_to_us(5);
  EXPECT_EQ(RunTail(options, client, &control, out, err), kExitUsage);
  EXPECT_THAT(err.str(), HasSubstr("--to"));
}

}  // namespace
}  // namespace kubetrail::cli
