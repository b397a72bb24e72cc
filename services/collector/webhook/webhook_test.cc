#include "services/collector/webhook/webhook.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "audit/codec.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/testing/certs.h"
#include "tests/testing/temp_dir.h"

namespace kubetrail::collector {
namespace {

std::string EventJson(const std::string& audit_id, const std::string& stage = "ResponseComplete") {
  return absl::StrCat(
      R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":")", audit_id,
      R"(","stage":")", stage,
      R"(","requestURI":"/api/v1/pods","verb":"list","user":{"username":"alice"},)",
      R"("requestReceivedTimestamp":"2026-11-27T10:00:00.000000Z",)",
      R"("stageTimestamp":"2026-11-27T10:00:00.100000Z"})");
}

std::string EventList(const std::vector<std::string>& items) {
  std::string out = R"({"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[)";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ",";
    out += items[i];
  }
  return out + "]}";
}

std::string Gzip(const std::string& data) {
  z_stream zs = {};
  EXPECT_EQ(deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY),
            Z_OK);
  std::string out(deflateBound(&zs, data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// Records what it is handed; answers with `answer`.
class RecordingSink {
 public:
  absl::Status operator()(WebhookRequest& request) {
    absl::MutexLock lock(&mu_);
    ++calls_;
    for (const kubetrail::v1::Event* e : request.events) audit_ids_.push_back(e->audit_id());
    errors_.insert(errors_.end(), request.errors.begin(), request.errors.end());
    return answer_;
  }
  void Answer(absl::Status s) {
    absl::MutexLock lock(&mu_);
    answer_ = std::move(s);
  }
  std::vector<std::string> AuditIds() {
    absl::MutexLock lock(&mu_);
    return audit_ids_;
  }
  std::vector<std::string> Errors() {
    absl::MutexLock lock(&mu_);
    return errors_;
  }
  int Calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  absl::Mutex mu_;
  absl::Status answer_;
  int calls_ = 0;
  std::vector<std::string> audit_ids_;
  std::vector<std::string> errors_;
};

// One HTTP/1.1 connection on a plain socket: unlike a library client, it never reconnects
// behind the test's back, so a connection the server closed shows as a failed exchange.
class RawConnection {
 public:
  explicit RawConnection(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ =
        fd_ >= 0 && connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawConnection() {
    if (fd_ >= 0) close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // POSTs `body` to `path`, keeping the connection alive; the status code of the answer, or
  // -1 when the connection failed or the server closed it.
  int Post(const std::string& path, const std::string& body) {
    if (!connected_) return -1;
    const std::string request = absl::StrCat(
        "POST ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\n",
        "Content-Type: application/json\r\nContent-Length: ", body.size(), "\r\n\r\n", body);
    for (size_t sent = 0; sent < request.size();) {
      const ssize_t n = send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return -1;
      sent += static_cast<size_t>(n);
    }
    // The head, then as many body bytes as Content-Length says.
    std::string in;
    size_t head_end = std::string::npos;
    size_t length = 0;
    while (head_end == std::string::npos || in.size() < head_end + 4 + length) {
      char buf[4096];
      const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return -1;
      in.append(buf, static_cast<size_t>(n));
      if (head_end == std::string::npos && (head_end = in.find("\r\n\r\n")) != std::string::npos) {
        const size_t at = in.find("Content-Length: ");
        if (at == std::string::npos || at > head_end ||
            !absl::SimpleAtoi(in.substr(at + 16, in.find("\r\n", at) - at - 16), &length)) {
          return -1;
        }
      }
    }
    int status = -1;
    if (in.size() < 12 || !absl::SimpleAtoi(in.substr(9, 3), &status)) return -1;
    return status;
  }

 private:
  int fd_;
  bool connected_ = false;
};

class WebhookTest : public ::testing::Test {
 protected:
  std::unique_ptr<WebhookServer> StartPlain(WebhookConfig config = {}) {
    config.listen = "127.0.0.1:0";
    config.plaintext = true;
    absl::StatusOr<std::unique_ptr<WebhookServer>> server = WebhookServer::Start(
        config, [this](WebhookRequest& r) { return sink_(r); }, &registry_);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? std::move(*server) : nullptr;
  }

  RecordingSink sink_;
  Registry registry_;
};

TEST_F(WebhookTest, AcceptsAnEventListAndRepliesAfterTheSink) {
  std::unique_ptr<WebhookServer> server = StartPlain();
  ASSERT_NE(server, nullptr);
  httplib::Client client("127.0.0.1", server->port());
  httplib::Result res = client.Post("/audit/webhook", EventList({EventJson("a"), EventJson("b")}),
                                    "application/json");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "{\"accepted\":2,\"rejected\":0}\n");
  EXPECT_EQ(sink_.AuditIds(), (std::vector<std::string>{"a", "b"}));

  // A single Event, and JSON lines, are accepted too.
  res = client.Post("/audit/webhook", EventJson("c"), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  res = client.Post("/audit/webhook", EventJson("d") + "\n" + EventJson("e") + "\n",
                    "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(sink_.AuditIds(), (std::vector<std::string>{"a", "b", "c", "d", "e"}));

  const std::string metrics = registry_.Expose();
  EXPECT_NE(metrics.find("kubetrail_collector_webhook_requests_total{code=\"200\"} 3"),
            std::string::npos)
      << metrics;
}

TEST_F(WebhookTest, GzipBodies) {
  std::unique_ptr<WebhookServer> server = StartPlain();
  ASSERT_NE(server, nullptr);
  httplib::Client client("127.0.0.1", server->port());
  httplib::Headers headers = {{"Content-Encoding", "gzip"}};
  httplib::Result res =
      client.Post("/audit/webhook", headers, Gzip(EventList({EventJson("z")})), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(sink_.AuditIds(), (std::vector<std::string>{"z"}));
}

TEST_F(WebhookTest, OneBadEventDoesNotCostItsNeighbours) {
  std::unique_ptr<WebhookServer> server = StartPlain();
  ASSERT_NE(server, nullptr);
  httplib::Client client("127.0.0.1", server->port());
  const std::string bad = R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"x"})";
  httplib::Result res = client.Post(
      "/audit/webhook", EventList({EventJson("a"), bad, EventJson("b")}), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "{\"accepted\":2,\"rejected\":1}\n");
  EXPECT_EQ(sink_.AuditIds(), (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(sink_.Errors().size(), 1u);
  EXPECT_NE(sink_.Errors()[0].find("items[1]"), std::string::npos) << sink_.Errors()[0];
}

TEST_F(WebhookTest, UndecodableBodiesGet400WithTheReason) {
  std::unique_ptr<WebhookServer> server = StartPlain();
  ASSERT_NE(server, nullptr);
  httplib::Client client("127.0.0.1", server->port());
  httplib::Result res =
      client.Post("/audit/webhook", "{\"kind\":\"EventList\",\"items\":[", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(res->body.find("no event in the body could be decoded"), std::string::npos)
      << res->body;
  res = client.Post("/audit/webhook", "not json at all", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_TRUE(sink_.AuditIds().empty());
  EXPECT_EQ(sink_.Errors().size(), 2u);
}

// A body with nothing in it is a client mistake, not an empty batch: 400 with the reason,
// and the sink is not called. An EventList with no items is a batch and stays 200.
TEST_F(WebhookTest, EmptyBodiesGet400ButAnEmptyEventListIsAccepted) {
  std::unique_ptr<WebhookServer> server = StartPlain();
  ASSERT_NE(server, nullptr);
  RawConnection raw(server->port());
  EXPECT_EQ(raw.Post("/audit/webhook", ""), 400);
  httplib::Client client("127.0.0.1", server->port());
  for (const std::string& body : {std::string(""), std::string(" \r\n\t \n")}) {
    httplib::Result res = client.Post("/audit/webhook", body, "application/json");
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 400) << "body \"" << body << "\"";
    EXPECT_EQ(res->body, "empty body: expected an audit.k8s.io EventList or Event\n");
  }
  // The same when the emptiness only shows after decompression.
  httplib::Result res =
      client.Post("/audit/webhook", {{"Content-Encoding", "gzip"}}, Gzip("\n"), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400) << res->body;
  EXPECT_EQ(sink_.Calls(), 0);

  res = client.Post("/audit/webhook", EventList({}), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->body, "{\"accepted\":0,\"rejected\":0}\n");
  EXPECT_EQ(sink_.Calls(), 1);

  const std::string metrics = registry_.Expose();
  EXPECT_NE(metrics.find("kubetrail_collector_webhook_requests_total{code=\"400\"} 4"),
            std::string::npos)
      << metrics;
}

TEST_F(WebhookTest, OversizedBodiesGet413AlsoWhenCompressed) {
  WebhookConfig config;
  config.max_body_bytes = 4096;
  std::unique_ptr<WebhookServer> server = StartPlain(config);
  ASSERT_NE(server, nullptr);
  httplib::Client client("127.0.0.1", server->port());
  std::vector<std::string> items;
  for (int i = 0; i < 40; ++i) items.push_back(EventJson(absl::StrCat("e", i)));
  const std::string body = EventList(items);
  ASSERT_GT(body.size(), 4096u);
  httplib::Result res = client.Post("/audit/webhook", body, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);

  // Compressed it is small, but not once inflated.
  const std::string gz = Gzip(body);
  ASSERT_LT(gz.size(), 4096u);
  httplib::Client client2("127.0.0.1", server->port());
  res = client2.Post("/audit/webhook", httplib::Headers{{"Content-Encoding", "gzip"}}, gz,
                     "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  EXPECT_NE(res->body.find("after decompression"), std::string::npos) << res->body;
  EXPECT_TRUE(sink_.AuditIds().empty());
}

TEST_F(WebhookTest, SinkErrorsMapToRetryableCodes) {
  std::unique_ptr<WebhookServer> server = StartPlain();
  ASSERT_NE(server, nullptr);
  httplib::Client client("127.0.0.1", server->port());
  sink_.Answer(absl::ResourceExhaustedError("spool is full"));
  httplib::Result res =
      client.Post("/audit/webhook", EventList({EventJson("a")}), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->get_header_value("Retry-After"), "1");
  EXPECT_EQ(res->body, "spool is full\n");
  sink_.Answer(absl::InternalError("boom"));
  res = client.Post("/audit/webhook", EventList({EventJson("a")}), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);

  res = client.Get("/audit/webhook");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
  res = client.Post("/elsewhere", EventList({EventJson("a")}), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
}

TEST_F(WebhookTest, HttpsWithClientCertificates) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  absl::StatusOr<testing::TestCa> ca = testing::TestCa::Create("webhook CA", dir.path());
  ASSERT_TRUE(ca.ok()) << ca.status();
  absl::StatusOr<testing::CertFiles> server_cert = ca->IssueServer("server");
  ASSERT_TRUE(server_cert.ok());
  absl::StatusOr<testing::CertFiles> client_cert =
      ca->IssueClient("apiserver", {.common_name = "kube-apiserver"});
  ASSERT_TRUE(client_cert.ok());
  absl::StatusOr<testing::TestCa> other = testing::TestCa::Create("other CA", dir.path());
  ASSERT_TRUE(other.ok());
  absl::StatusOr<testing::CertFiles> stranger =
      other->IssueClient("stranger", {.common_name = "stranger"});
  ASSERT_TRUE(stranger.ok());

  WebhookConfig config;
  config.listen = "127.0.0.1:0";
  config.tls_cert_file = server_cert->cert_file;
  config.tls_key_file = server_cert->key_file;
  config.client_ca_file = ca->cert_file();
  absl::StatusOr<std::unique_ptr<WebhookServer>> server =
      WebhookServer::Start(config, [this](WebhookRequest& r) { return sink_(r); });
  ASSERT_TRUE(server.ok()) << server.status();

  httplib::SSLClient good("127.0.0.1", (*server)->port(), client_cert->cert_file,
                          client_cert->key_file);
  good.set_ca_cert_path(ca->cert_file().c_str());
  good.enable_server_certificate_verification(true);
  httplib::Result res =
      good.Post("/audit/webhook", EventList({EventJson("tls")}), "application/json");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(sink_.AuditIds(), (std::vector<std::string>{"tls"}));

  // No client certificate, or one from another CA: refused in the handshake.
  httplib::SSLClient anonymous("127.0.0.1", (*server)->port());
  anonymous.set_ca_cert_path(ca->cert_file().c_str());
  EXPECT_FALSE(anonymous.Post("/audit/webhook", EventList({EventJson("x")}), "application/json"));
  httplib::SSLClient wrong("127.0.0.1", (*server)->port(), stranger->cert_file, stranger->key_file);
  wrong.set_ca_cert_path(ca->cert_file().c_str());
  EXPECT_FALSE(wrong.Post("/audit/webhook", EventList({EventJson("y")}), "application/json"));
  EXPECT_EQ(sink_.AuditIds().size(), 1u);
}

// Each request thread serves one kept-alive connection at a time (kube-apiserver opens one
// per batch in flight). With `threads` connections open, the one that arrives last is
// served while the others stay open and idle: none is closed to make room for it.
TEST_F(WebhookTest, EveryThreadServesAConnectionWhileTheOthersStayOpen) {
  WebhookConfig config;
  config.threads = 4;
  std::unique_ptr<WebhookServer> server = StartPlain(config);
  ASSERT_NE(server, nullptr);
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 3; ++i) {
    idle.push_back(std::make_unique<RawConnection>(server->port()));
    ASSERT_EQ(idle.back()->Post("/audit/webhook", EventList({EventJson(absl::StrCat("idle-", i))})),
              200);
  }
  RawConnection last(server->port());
  EXPECT_EQ(last.Post("/audit/webhook", EventList({EventJson("last")})), 200);
  // Had the server waited for an idle connection to time out, that one would be closed now.
  for (size_t i = 0; i < idle.size(); ++i) {
    EXPECT_EQ(idle[i]->Post("/audit/webhook", EventList({EventJson(absl::StrCat("again-", i))})),
              200)
        << "idle connection " << i;
  }
  EXPECT_EQ(sink_.AuditIds().size(), 7u);
}

TEST_F(WebhookTest, BadConfigIsRefusedWithTheReason) {
  WebhookConfig config;
  config.listen = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<WebhookServer>> server =
      WebhookServer::Start(config, [](WebhookRequest&) { return absl::OkStatus(); });
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(server.status().message().find("TLS certificate file is required"), std::string::npos)
      << server.status();
  config.tls_cert_file = "/nonexistent/cert.pem";
  config.tls_key_file = "/nonexistent/key.pem";
  server = WebhookServer::Start(config, [](WebhookRequest&) { return absl::OkStatus(); });
  EXPECT_NE(server.status().message().find("/nonexistent/cert.pem"), std::string::npos);

  testing::TempDir dir;
  ASSERT_TRUE(dir.ok());
  config.tls_cert_file = dir.Write("cert.pem", "not a certificate");
  config.tls_key_file = dir.Write("key.pem", "not a key");
  server = WebhookServer::Start(config, [](WebhookRequest&) { return absl::OkStatus(); });
  EXPECT_NE(server.status().message().find("not PEM"), std::string::npos) << server.status();

  config.plaintext = true;
  config.path = "audit";
  server = WebhookServer::Start(config, [](WebhookRequest&) { return absl::OkStatus(); });
  EXPECT_NE(server.status().message().find("must start with"), std::string::npos);
}

}  // namespace
}  // namespace kubetrail::collector
