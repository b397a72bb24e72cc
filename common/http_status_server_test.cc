#include "common/http_status_server.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/metrics.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace kubetrail {
namespace {

std::unique_ptr<HttpStatusServer> StartOrDie(HttpStatusServer::Options options) {
  absl::StatusOr<std::unique_ptr<HttpStatusServer>> server =
      HttpStatusServer::Start(std::move(options));
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(*server) : nullptr;
}

HttpStatusServer::Options Loopback(const Registry* registry = nullptr) {
  HttpStatusServer::Options options;
  options.listen = "127.0.0.1:0";
  options.registry = registry;
  return options;
}

TEST(HttpStatusServerTest, ServesMetrics) {
  Registry registry;
  registry.AddCounter("kubetrail_test_total", "A test counter.", {"k"})
      .WithLabels({"v"})
      .Increment();
  std::unique_ptr<HttpStatusServer> server = StartOrDie(Loopback(&registry));
  ASSERT_NE(server, nullptr);
  ASSERT_GT(server->port(), 0);

  httplib::Client client("127.0.0.1", server->port());
  httplib::Result res = client.Get("/metrics");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(res->body, registry.Expose());
  EXPECT_NE(res->body.find("kubetrail_test_total{k=\"v\"} 1\n"), std::string::npos);

  // A scrape sees later updates.
  registry.AddGauge("kubetrail_late", "Registered after start.").WithLabels().Set(3);
  res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_NE(res->body.find("kubetrail_late 3\n"), std::string::npos);
}

TEST(HttpStatusServerTest, NoRegistryServesEmptyMetrics) {
  std::unique_ptr<HttpStatusServer> server = StartOrDie(Loopback());
  ASSERT_NE(server, nullptr);
  httplib::Client client("127.0.0.1", server->port());
  httplib::Result res = client.Get("/metrics");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "");
}

TEST(HttpStatusServerTest, Healthz) {
  std::unique_ptr<HttpStatusServer> server = StartOrDie(Loopback());
  ASSERT_NE(server, nullptr);
  httplib::Client client("127.0.0.1", server->port());
  httplib::Result res = client.Get("/healthz");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "ok");
}

TEST(HttpStatusServerTest, ReadyzFollowsTheCallback) {
  absl::Mutex mu;
  absl::Status readiness = absl::UnavailableError("store is still opening");
  HttpStatusServer::Options options = Loopback();
  options.readiness = [&] {
    absl::MutexLock lock(&mu);
    return readiness;
  };
  std::unique_ptr<HttpStatusServer> server = StartOrDie(std::move(options));
  ASSERT_NE(server, nullptr);
  httplib::Client client("127.0.0.1", server->port());

  httplib::Result res = client.Get("/readyz");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->body, "store is still opening");

  {
    absl::MutexLock lock(&mu);
    readiness = absl::OkStatus();
  }
  res = client.Get("/readyz");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "ready");
}

TEST(HttpStatusServerTest, ReadyzWithoutCallbackIsReady) {
  std::unique_ptr<HttpStatusServer> server = StartOrDie(Loopback());
  ASSERT_NE(server, nullptr);
  httplib::Client client("127.0.0.1", server->port());
  httplib::Result res = client.Get("/readyz");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
}

TEST(HttpStatusServerTest, UnknownPathIs404) {
  std::unique_ptr<HttpStatusServer> server = StartOrDie(Loopback());
  ASSERT_NE(server, nullptr);
  httplib::Client client("127.0.0.1", server->port());
  for (const char* path : {"/", "/metrics/x", "/nope"}) {
    httplib::Result res = client.Get(path);
    ASSERT_TRUE(res) << path << ": " << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 404) << path;
  }
  httplib::Result res = client.Post("/metrics", "x", "text/plain");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 404);
}

TEST(HttpStatusServerTest, BindConflictNamesAddressAndReason) {
  std::unique_ptr<HttpStatusServer> first = StartOrDie(Loopback());
  ASSERT_NE(first, nullptr);
  const std::string address = "127.0.0.1:" + std::to_string(first->port());
  HttpStatusServer::Options options;
  options.listen = address;
  absl::StatusOr<std::unique_ptr<HttpStatusServer>> second =
      HttpStatusServer::Start(std::move(options));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
  const std::string message(second.status().message());
  EXPECT_NE(message.find(address), std::string::npos) << message;
  EXPECT_NE(message.find("Address already in use"), std::string::npos) << message;

  // The first server is unaffected.
  httplib::Client client("127.0.0.1", first->port());
  httplib::Result res = client.Get("/healthz");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
}

TEST(HttpStatusServerTest, BadListenAddressIsInvalidArgument) {
  for (const char* listen : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:65536",
                             "127.0.0.1:-1", ":9090", "::1:9090", "[::1]", "[::1]9090"}) {
    HttpStatusServer::Options options;
    options.listen = listen;
    absl::StatusOr<std::unique_ptr<HttpStatusServer>> server =
        HttpStatusServer::Start(std::move(options));
    ASSERT_FALSE(server.ok()) << listen;
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument)
        << listen << ": " << server.status();
    EXPECT_NE(server.status().message().find(listen), absl::string_view::npos) << server.status();
  }
}

TEST(HttpStatusServerTest, StopIsIdempotentAndRefusesConnections) {
  std::unique_ptr<HttpStatusServer> server = StartOrDie(Loopback());
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  {
    httplib::Client client("127.0.0.1", port);
    ASSERT_TRUE(client.Get("/healthz"));
  }
  server->Stop();
  server->Stop();
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(1);
  EXPECT_FALSE(client.Get("/healthz"));
  server.reset();  // the destructor stops once more
}

TEST(HttpStatusServerTest, StartThenImmediateStop) {
  for (int i = 0; i < 20; ++i) {
    std::unique_ptr<HttpStatusServer> server = StartOrDie(Loopback());
    ASSERT_NE(server, nullptr);
  }
}

}  // namespace
}  // namespace kubetrail
