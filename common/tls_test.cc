#include "common/tls.h"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/testing/certs.h"
#include "tests/testing/temp_dir.h"

namespace kubetrail {
namespace {

using ::kubetrail::testing::CertFiles;
using ::kubetrail::testing::LeafSpec;
using ::kubetrail::testing::TempDir;
using ::kubetrail::testing::TestCa;
using ::testing::HasSubstr;

constexpr char kMethod[] = "/kubetrail.test.WhoAmI/Get";

// "auth=1 cn=... dns=a,b uri=c": a PeerIdentity as one comparable string.
std::string Encode(const PeerIdentity& id) {
  return absl::StrCat("auth=", id.authenticated ? 1 : 0, " cn=", id.common_name,
                      " dns=", absl::StrJoin(id.dns_sans, ","),
                      " uri=", absl::StrJoin(id.uri_sans, ","));
}

// Answers every call to kMethod with Encode(PeerIdentityOf(caller)).
class WhoAmIService final : public grpc::CallbackGenericService {
 public:
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    return new Reactor(context);
  }

 private:
  class Reactor final : public grpc::ServerGenericBidiReactor {
   public:
    explicit Reactor(grpc::GenericCallbackServerContext* context) : context_(context) {
      StartRead(&request_);
    }
    void OnReadDone(bool ok) override {
      if (!ok) {
        Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request"));
        return;
      }
      grpc::Slice slice(Encode(PeerIdentityOf(*context_->auth_context())));
      response_ = grpc::ByteBuffer(&slice, 1);
      StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    }
    void OnDone() override { delete this; }

   private:
    grpc::GenericCallbackServerContext* const context_;
    grpc::ByteBuffer request_;
    grpc::ByteBuffer response_;
  };
};

// A server on 127.0.0.1 with `ports` ports, all using `credentials`.
class TestServer {
 public:
  explicit TestServer(const std::shared_ptr<grpc::ServerCredentials>& credentials, int ports = 1)
      : ports_(ports, 0) {
    grpc::ServerBuilder builder;
    for (int& port : ports_) builder.AddListeningPort("127.0.0.1:0", credentials, &port);
    builder.RegisterCallbackGenericService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~TestServer() {
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
  }
  bool ok() const {
    if (server_ == nullptr) return false;
    for (int port : ports_) {
      if (port == 0) return false;
    }
    return true;
  }
  int port(int i = 0) const { return ports_[i]; }

 private:
  WhoAmIService service_;
  std::vector<int> ports_;
  std::unique_ptr<grpc::Server> server_;
};

struct CallResult {
  std::string server_saw;  // What the server's PeerIdentityOf said about the client.
  PeerIdentity server;     // The server, as the client's PeerIdentityOf saw it.
};

// One call over a new connection (a channel with its own subchannel pool, so no connection
// is reused). Errors: the channel's validation error, or the call's status as Unavailable.
absl::StatusOr<CallResult> WhoAmI(int port, const ClientTlsConfig& config) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      CreateTlsChannel(absl::StrCat("127.0.0.1:", port), config, args);
  if (!channel.ok()) return channel.status();
  grpc::GenericStub stub(*channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  grpc::Slice request_slice(std::string("?"));
  grpc::ByteBuffer request(&request_slice, 1);
  grpc::ByteBuffer response;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(&context, kMethod, grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
    status = std::move(s);
    done.Notify();
  });
  done.WaitForNotification();
  if (!status.ok()) {
    return absl::UnavailableError(
        absl::StrCat("call failed: code ", status.error_code(), ": ", status.error_message()));
  }
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(response.Dump(&slices).ok());
  CallResult result;
  for (const grpc::Slice& s : slices) {
    result.server_saw.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  result.server = PeerIdentityOf(*context.auth_context());
  return result;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok()) << dir_.error();
    absl::StatusOr<TestCa> ca = TestCa::Create("kubetrail test CA", dir_.path());
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = std::make_unique<TestCa>(*std::move(ca));
    absl::StatusOr<TestCa> other = TestCa::Create("unrelated CA", dir_.path());
    ASSERT_TRUE(other.ok()) << other.status();
    other_ca_ = std::make_unique<TestCa>(*std::move(other));

    absl::StatusOr<CertFiles> server = ca_->IssueServer("server");
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *server;
    absl::StatusOr<CertFiles> client =
        ca_->IssueClient("collector-a", {.common_name = "collector-a",
                                         .dns_sans = {"collector-a.example"},
                                         .uri_sans = {"spiffe://kubetrail/collector/a"}});
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *client;
  }

  ServerTlsConfig ServerConfig(ServerTlsConfig::ClientAuth auth) const {
    return {.cert_file = server_.cert_file,
            .key_file = server_.key_file,
            .client_ca_file = ca_->cert_file(),
            .client_auth = auth};
  }
  // A client trusting `ca` (ca_ by default) and presenting `cert` (none by default).
  ClientTlsConfig ClientConfig(const CertFiles* cert = nullptr, const TestCa* ca = nullptr) const {
    return {.ca_file = (ca != nullptr ? ca : ca_.get())->cert_file(),
            .cert_file = cert != nullptr ? cert->cert_file : "",
            .key_file = cert != nullptr ? cert->key_file : "",
            .server_name = "localhost"};
  }

  std::unique_ptr<ServerTls> MustCreate(const ServerTlsConfig& config) {
    absl::StatusOr<std::unique_ptr<ServerTls>> tls = ServerTls::Create(config);
    EXPECT_TRUE(tls.ok()) << tls.status();
    return tls.ok() ? *std::move(tls) : nullptr;
  }

  TempDir dir_;
  std::unique_ptr<TestCa> ca_;
  std::unique_ptr<TestCa> other_ca_;
  CertFiles server_;
  CertFiles client_;
};

TEST_F(TlsTest, MutualTlsServerSeesClientIdentity) {
  std::unique_ptr<ServerTls> tls = MustCreate(ServerConfig(ServerTlsConfig::ClientAuth::kRequire));
  ASSERT_NE(tls, nullptr);
  TestServer server(tls->credentials());
  ASSERT_TRUE(server.ok());

  absl::StatusOr<CallResult> result = WhoAmI(server.port(), ClientConfig(&client_));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->server_saw,
            "auth=1 cn=collector-a dns=collector-a.example uri=spiffe://kubetrail/collector/a");
  EXPECT_TRUE(result->server.authenticated);
  EXPECT_EQ(result->server.common_name, "localhost");
  EXPECT_THAT(result->server.dns_sans, ::testing::ElementsAre("localhost"));
}

TEST_F(TlsTest, ServerIpSanMatchesWithoutNameOverride) {
  std::unique_ptr<ServerTls> tls = MustCreate(ServerConfig(ServerTlsConfig::ClientAuth::kNone));
  ASSERT_NE(tls, nullptr);
  TestServer server(tls->credentials());
  ASSERT_TRUE(server.ok());
  ClientTlsConfig config = ClientConfig();
  config.server_name.clear();
  absl::StatusOr<CallResult> result = WhoAmI(server.port(), config);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->server_saw, "auth=0 cn= dns= uri=");
}

TEST_F(TlsTest, RequireRefusesClientWithoutCertificate) {
  std::unique_ptr<ServerTls> tls = MustCreate(ServerConfig(ServerTlsConfig::ClientAuth::kRequire));
  ASSERT_NE(tls, nullptr);
  TestServer server(tls->credentials());
  ASSERT_TRUE(server.ok());
  EXPECT_FALSE(WhoAmI(server.port(), ClientConfig()).ok());
}

TEST_F(TlsTest, RefusesClientCertificateFromUntrustedCa) {
  absl::StatusOr<CertFiles> intruder = other_ca_->IssueClient("intruder", {.common_name = "x"});
  ASSERT_TRUE(intruder.ok()) << intruder.status();
  for (auto auth : {ServerTlsConfig::ClientAuth::kRequest, ServerTlsConfig::ClientAuth::kRequire}) {
    std::unique_ptr<ServerTls> tls = MustCreate(ServerConfig(auth));
    ASSERT_NE(tls, nullptr);
    TestServer server(tls->credentials());
    ASSERT_TRUE(server.ok());
    EXPECT_FALSE(WhoAmI(server.port(), ClientConfig(&*intruder)).ok());
    EXPECT_TRUE(WhoAmI(server.port(), ClientConfig(&client_)).ok());
  }
}

TEST_F(TlsTest, RequestAcceptsClientWithoutCertificate) {
  std::unique_ptr<ServerTls> tls = MustCreate(ServerConfig(ServerTlsConfig::ClientAuth::kRequest));
  ASSERT_NE(tls, nullptr);
  TestServer server(tls->credentials());
  ASSERT_TRUE(server.ok());

  absl::StatusOr<CallResult> anonymous = WhoAmI(server.port(), ClientConfig());
  ASSERT_TRUE(anonymous.ok()) << anonymous.status();
  EXPECT_EQ(anonymous->server_saw, "auth=0 cn= dns= uri=");
  absl::StatusOr<CallResult> identified = WhoAmI(server.port(), ClientConfig(&client_));
  ASSERT_TRUE(identified.ok()) << identified.status();
  EXPECT_THAT(identified->server_saw, HasSubstr("auth=1 cn=collector-a"));
}

TEST_F(TlsTest, ClientRefusesServerFromUntrustedCa) {
  std::unique_ptr<ServerTls> tls = MustCreate(ServerConfig(ServerTlsConfig::ClientAuth::kNone));
  ASSERT_NE(tls, nullptr);
  TestServer server(tls->credentials());
  ASSERT_TRUE(server.ok());
  EXPECT_FALSE(WhoAmI(server.port(), ClientConfig(nullptr, other_ca_.get())).ok());
}

TEST_F(TlsTest, ReloadSwitchesServerCertificateOnEveryPort) {
  std::unique_ptr<ServerTls> tls = MustCreate(ServerConfig(ServerTlsConfig::ClientAuth::kNone));
  ASSERT_NE(tls, nullptr);
  TestServer server(tls->credentials(), /*ports=*/2);
  ASSERT_TRUE(server.ok());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(WhoAmI(server.port(i), ClientConfig()).ok());
    ASSERT_FALSE(WhoAmI(server.port(i), ClientConfig(nullptr, other_ca_.get())).ok());
  }

  // The same file names, now a certificate from the other CA with another CN.
  ASSERT_TRUE(
      other_ca_
          ->Issue("server",
                  {.common_name = "server-v2", .dns_sans = {"localhost"}, .ip_sans = {"127.0.0.1"}})
          .ok());
  // Nothing changes before Reload().
  EXPECT_FALSE(WhoAmI(server.port(), ClientConfig(nullptr, other_ca_.get())).ok());

  ASSERT_TRUE(tls->Reload().ok());
  EXPECT_EQ(tls->reload_count(), 1u);
  EXPECT_THAT(tls->Describe(), HasSubstr("CN=server-v2"));
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<CallResult> result =
        WhoAmI(server.port(i), ClientConfig(nullptr, other_ca_.get()));
    ASSERT_TRUE(result.ok()) << "port " << i << ": " << result.status();
    EXPECT_EQ(result->server.common_name, "server-v2");
    EXPECT_FALSE(WhoAmI(server.port(i), ClientConfig()).ok()) << "port " << i;
  }
}

TEST_F(TlsTest, ReloadSwitchesClientCa) {
  ServerTlsConfig config = ServerConfig(ServerTlsConfig::ClientAuth::kRequire);
  config.client_ca_file = dir_.Write("client-ca.pem", ca_->cert_pem());
  std::unique_ptr<ServerTls> tls = MustCreate(config);
  ASSERT_NE(tls, nullptr);
  TestServer server(tls->credentials());
  ASSERT_TRUE(server.ok());
  ASSERT_TRUE(WhoAmI(server.port(), ClientConfig(&client_)).ok());
  absl::StatusOr<CertFiles> other_client =
      other_ca_->IssueClient("collector-b", {.common_name = "collector-b"});
  ASSERT_TRUE(other_client.ok()) << other_client.status();
  ASSERT_FALSE(WhoAmI(server.port(), ClientConfig(&*other_client)).ok());

  // Trust the other CA for clients from now on (the server keeps its own certificate).
  dir_.Write("client-ca.pem", other_ca_->cert_pem());
  ASSERT_TRUE(tls->Reload().ok());

  ClientTlsConfig to_server = ClientConfig(&*other_client);
  absl::StatusOr<CallResult> result = WhoAmI(server.port(), to_server);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->server_saw, HasSubstr("cn=collector-b"));
  to_server.cert_file = client_.cert_file;
  to_server.key_file = client_.key_file;
  EXPECT_FALSE(WhoAmI(server.port(), to_server).ok());
}

TEST_F(TlsTest, FailedReloadKeepsOldCertificates) {
  std::unique_ptr<ServerTls> tls = MustCreate(ServerConfig(ServerTlsConfig::ClientAuth::kRequire));
  ASSERT_NE(tls, nullptr);
  TestServer server(tls->credentials());
  ASSERT_TRUE(server.ok());
  const std::string good_cert = tls->Describe();

  absl::StatusOr<CertFiles> unrelated = ca_->IssueServer("unrelated");
  ASSERT_TRUE(unrelated.ok()) << unrelated.status();

  dir_.Write("server.pem", "-----BEGIN CERTIFICATE-----\nnot base64 at all\n");
  absl::Status status = tls->Reload();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(server_.cert_file));
  ASSERT_TRUE(WhoAmI(server.port(), ClientConfig(&client_)).ok());

  // A valid certificate that does not belong to the key.
  std::rename(unrelated->cert_file.c_str(), server_.cert_file.c_str());
  status = tls->Reload();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(server_.key_file));
  EXPECT_THAT(std::string(status.message()), HasSubstr("does not match"));
  ASSERT_TRUE(WhoAmI(server.port(), ClientConfig(&client_)).ok());

  std::remove(server_.key_file.c_str());
  status = tls->Reload();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(server_.key_file));
  EXPECT_EQ(tls->reload_count(), 0u);
  EXPECT_EQ(tls->Describe(), good_cert);
  absl::StatusOr<CallResult> result = WhoAmI(server.port(), ClientConfig(&client_));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->server_saw, HasSubstr("cn=collector-a"));

  // Fixed files load again.
  ASSERT_TRUE(ca_->IssueServer("server").ok());
  EXPECT_TRUE(tls->Reload().ok());
  EXPECT_TRUE(WhoAmI(server.port(), ClientConfig(&client_)).ok());
}

TEST_F(TlsTest, ServerValidationErrorsNameTheFile) {
  ServerTlsConfig config = ServerConfig(ServerTlsConfig::ClientAuth::kRequire);

  config.cert_file = dir_.File("missing.pem");
  absl::StatusOr<std::unique_ptr<ServerTls>> tls = ServerTls::Create(config);
  EXPECT_EQ(tls.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(tls.status().message()), HasSubstr(config.cert_file));

  config.cert_file = dir_.Write("garbage.pem", "not a certificate\n");
  tls = ServerTls::Create(config);
  EXPECT_EQ(tls.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(tls.status().message()), HasSubstr(config.cert_file));

  config.cert_file = server_.cert_file;
  config.key_file = client_.key_file;
  tls = ServerTls::Create(config);
  EXPECT_EQ(tls.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(tls.status().message()), HasSubstr(client_.key_file));

  config.key_file = dir_.Write("garbage-key.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n");
  tls = ServerTls::Create(config);
  EXPECT_EQ(tls.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(tls.status().message()), HasSubstr(config.key_file));

  absl::StatusOr<CertFiles> expired = ca_->Issue("expired", {.common_name = "localhost",
                                                             .not_before_offset = absl::Hours(-48),
                                                             .not_after_offset = absl::Hours(-1)});
  ASSERT_TRUE(expired.ok()) << expired.status();
  config.cert_file = expired->cert_file;
  config.key_file = expired->key_file;
  tls = ServerTls::Create(config);
  EXPECT_EQ(tls.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(tls.status().message()), HasSubstr(expired->cert_file));
  EXPECT_THAT(std::string(tls.status().message()), HasSubstr("expired"));

  config = ServerConfig(ServerTlsConfig::ClientAuth::kRequire);
  config.client_ca_file = dir_.File("no-ca.pem");
  tls = ServerTls::Create(config);
  EXPECT_EQ(tls.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(tls.status().message()), HasSubstr(config.client_ca_file));

  config.client_ca_file.clear();
  EXPECT_EQ(ServerTls::Create(config).status().code(), absl::StatusCode::kInvalidArgument);
  config.client_auth = ServerTlsConfig::ClientAuth::kNone;
  EXPECT_TRUE(ServerTls::Create(config).ok());
}

TEST_F(TlsTest, ClientValidationErrorsNameTheFile) {
  ClientTlsConfig config = ClientConfig(&client_);
  EXPECT_TRUE(MakeClientCredentials(config).ok());

  config.ca_file = dir_.File("missing-ca.pem");
  absl::Status status = MakeClientCredentials(config).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(status.message()), HasSubstr(config.ca_file));

  config = ClientConfig(&client_);
  config.key_file.clear();
  EXPECT_EQ(MakeClientCredentials(config).status().code(), absl::StatusCode::kInvalidArgument);

  config = ClientConfig(&client_);
  config.key_file = server_.key_file;
  status = MakeClientCredentials(config).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr(server_.key_file));

  absl::StatusOr<CertFiles> future = ca_->Issue("future", {.common_name = "collector-a",
                                                           .not_before_offset = absl::Hours(2),
                                                           .not_after_offset = absl::Hours(48)});
  ASSERT_TRUE(future.ok()) << future.status();
  status = MakeClientCredentials(ClientConfig(&*future)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr(future->cert_file));
}

TEST(Sha256HexTest, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(TokenSetTest, ChecksBearerTokens) {
  TokenSet tokens;
  ASSERT_TRUE(tokens.AddToken("alice", "s3cret-a").ok());
  // As configured: uppercase hex is accepted.
  std::string bob_hash = Sha256Hex("s3cret-b");
  for (char& c : bob_hash) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ASSERT_TRUE(tokens.AddHash("bob", bob_hash).ok());
  EXPECT_EQ(tokens.size(), 2u);

  EXPECT_EQ(tokens.Check("Bearer s3cret-a"), "alice");
  EXPECT_EQ(tokens.Check("bearer s3cret-b"), "bob");
  EXPECT_EQ(tokens.Check("  BEARER   s3cret-b "), "bob");
  EXPECT_EQ(tokens.Check("Bearer s3cret-c"), std::nullopt);
  EXPECT_EQ(tokens.Check("Bearer s3cret-a2"), std::nullopt);
  EXPECT_EQ(tokens.Check("Basic s3cret-a"), std::nullopt);
  EXPECT_EQ(tokens.Check("Bearers3cret-a"), std::nullopt);
  EXPECT_EQ(tokens.Check("Bearer"), std::nullopt);
  EXPECT_EQ(tokens.Check("Bearer   "), std::nullopt);
  EXPECT_EQ(tokens.Check("s3cret-a"), std::nullopt);
  EXPECT_EQ(tokens.Check("Bearer s3cret-a extra"), std::nullopt);
  EXPECT_EQ(tokens.Check(""), std::nullopt);
  EXPECT_EQ(TokenSet().Check("Bearer s3cret-a"), std::nullopt);
}

TEST(TokenSetTest, RejectsBadOrDuplicateEntries) {
  TokenSet tokens;
  ASSERT_TRUE(tokens.AddToken("alice", "a").ok());
  EXPECT_EQ(tokens.AddHash("x", "abc").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tokens.AddHash("x", std::string(64, 'g')).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tokens.AddHash("", Sha256Hex("b")).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tokens.AddToken("alice", "b").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(tokens.AddToken("carol", "a").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(tokens.size(), 1u);
}

}  // namespace
}  // namespace kubetrail
