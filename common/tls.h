// TLS and mutual TLS for kubetrail's gRPC servers (the aggregator) and clients (collectors,
// the CLI), client identities, and bearer tokens.
//
// Server, reloading its files on SIGHUP:
//
//   KT_ASSIGN_OR_RETURN(std::unique_ptr<ServerTls> tls,
//                       ServerTls::Create({.cert_file = "server.pem",
//                                          .key_file = "server-key.pem",
//                                          .client_ca_file = "clients-ca.pem",
//                                          .client_auth = ServerTlsConfig::ClientAuth::kRequire}));
//   builder.AddListeningPort("127.0.0.1:7443", tls->credentials(), &port);
//   ...
//   // On the signal thread, after sigwait() returned SIGHUP:
//   if (absl::Status s = tls->Reload(); !s.ok()) KT_LOG(kError, "tls") << s;  // old certs stay
//
// Client:
//
//   KT_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel,
//                       CreateTlsChannel("aggregator:7443", {.ca_file = "ca.pem",
//                                                            .cert_file = "collector.pem",
//                                                            .key_file = "collector-key.pem"}));
//
// In a handler: `PeerIdentityOf(*context->auth_context())` says who the client is, and
// `TokenSet::Check` authenticates an "authorization: Bearer <token>" header.
//
// Validation policy (the same for servers and clients, at Create and at every Reload): a file
// that is missing or unreadable, holds no PEM certificate / key, or a private key that does
// not match its certificate is an error whose message names the file. A leaf certificate
// (the server's or the client's own) that is expired or not yet valid is an error too
// (FailedPrecondition): every handshake with it would fail, so refusing it at startup or on
// reload gives one clear line instead. Expired certificates inside a CA bundle only log a
// warning — a bundle may legitimately keep old roots — unless every one is expired, which is
// an error. Encrypted private keys are not supported.
#ifndef KUBETRAIL_COMMON_TLS_H_
#define KUBETRAIL_COMMON_TLS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/auth_context.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace kubetrail {
namespace tls_internal {
class ServerTlsState;
}  // namespace tls_internal

// Where a server's TLS material comes from. Paths are read at ServerTls::Create and again
// at every ServerTls::Reload.
struct ServerTlsConfig {
  // What the server asks of clients during the handshake.
  enum class ClientAuth {
    kNone,     // No client certificate is requested.
    kRequest,  // A client certificate is requested and, if sent, verified against
               // client_ca_file; clients without one are still accepted (they may then
               // authenticate with a bearer token).
    kRequire,  // A client certificate verified against client_ca_file is mandatory.
  };

  std::string cert_file = {};       // PEM certificate chain, leaf first. Required.
  std::string key_file = {};        // PEM private key of the leaf, unencrypted. Required.
  std::string client_ca_file = {};  // PEM CA bundle for client certificates. Required unless
                                    // client_auth is kNone (then ignored).
  ClientAuth client_auth = ClientAuth::kNone;  // Default: kNone.
};

// The TLS side of one gRPC server: validated material plus credentials whose certificate,
// key and client CA bundle can be replaced while the server runs.
//
// Reload: every new TLS handshake on a port made from credentials() asks this object
// (through gRPC's SSL certificate-config fetcher, `grpc/grpc_security.h`) whether its
// material changed since that port last looked; when Reload() has succeeded in between, the
// port rebuilds its TLS context before the handshake. So once Reload() returns OK, every
// connection accepted afterwards uses the new files — deterministic, no polling interval.
// Connections already established keep their session. (gRPC's FileWatcherCertificateProvider
// polls on a timer of at least a second and cannot reject bad files under our validation
// policy; its StaticDataCertificateProvider cannot reload at all.)
//
// Thread safety: all methods may be called from any thread, concurrently with handshakes.
// Lifetime: this object must outlive every grpc::Server that listens with its
// credentials() (gRPC calls back into it for each handshake).
class ServerTls {
 public:
  // Reads and validates the files of `config`. Errors: InvalidArgument (a required path is
  // empty), NotFound / PermissionDenied (a file cannot be read), InvalidArgument (no PEM
  // certificate or key in a file, key does not match the certificate), FailedPrecondition
  // (leaf certificate expired or not yet valid; every client CA expired).
  static absl::StatusOr<std::unique_ptr<ServerTls>> Create(ServerTlsConfig config);

  ~ServerTls();
  ServerTls(const ServerTls&) = delete;
  ServerTls& operator=(const ServerTls&) = delete;

  // Credentials for grpc::ServerBuilder::AddListeningPort; may be used for several ports.
  // SetAuthMetadataProcessor is not supported on them (calling it aborts): authenticate
  // calls in the handlers with PeerIdentityOf and TokenSet instead.
  std::shared_ptr<grpc::ServerCredentials> credentials() const;

  // Re-reads and validates the files named in the config. On success, handshakes that start
  // after it returns use the new material. On error nothing changes — the running server
  // keeps the material it had — and the error (as for Create) is returned.
  absl::Status Reload();

  // How many times Reload() has succeeded since Create (0 at first).
  uint64_t reload_count() const;

  // One line describing the loaded leaf certificate: subject, SHA-256 fingerprint, notAfter.
  // For logging at startup and after a reload.
  std::string Describe() const;

 private:
  explicit ServerTls(std::shared_ptr<tls_internal::ServerTlsState> state);

  const std::shared_ptr<tls_internal::ServerTlsState> state_;
  const std::shared_ptr<grpc::ServerCredentials> credentials_;
};

// Where a client's TLS material comes from.
struct ClientTlsConfig {
  // PEM CA bundle trusted for the server certificate. Empty: gRPC's default roots
  // (GRPC_DEFAULT_SSL_ROOTS_FILE_PATH or its bundled roots).
  std::string ca_file = {};
  // PEM client certificate chain and its unencrypted private key, for mutual TLS. Both set,
  // or both empty (no client certificate).
  std::string cert_file = {};
  std::string key_file = {};
  // Name checked against the server certificate instead of the target's host. Empty: the
  // target's host. Takes effect through CreateTlsChannel or ApplyServerNameOverride.
  std::string server_name = {};
};

// Channel credentials for `config`, validated as described at the top of this file. They
// are fixed: to pick up renewed files, call again and make a new channel. Errors as for
// ServerTls::Create; InvalidArgument when only one of cert_file and key_file is set.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeClientCredentials(
    const ClientTlsConfig& config);

// Sets the TLS target-name override in `args` when config.server_name is not empty.
void ApplyServerNameOverride(const ClientTlsConfig& config, grpc::ChannelArguments& args);

// A channel to `target` ("host:port") over TLS per `config`, with `args` plus the
// server-name override. Errors as for MakeClientCredentials; connecting happens later.
absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateTlsChannel(
    const std::string& target, const ClientTlsConfig& config,
    grpc::ChannelArguments args = grpc::ChannelArguments());

// Who the peer of a call is, from its verified certificate.
struct PeerIdentity {
  std::string common_name = {};            // Subject CN of the peer's leaf certificate.
  std::vector<std::string> dns_sans = {};  // Its DNS subjectAltNames, in certificate order.
  std::vector<std::string> uri_sans = {};  // Its URI subjectAltNames (e.g. SPIFFE IDs).
  // True when the peer presented a certificate that the TLS layer verified. With
  // credentials from this file that is exactly "a certificate is present": kRequest and
  // kRequire verify every certificate sent. False for plaintext and certificate-less
  // peers; the other fields are then empty.
  bool authenticated = false;
};

// The identity of the peer described by `context` (a call's ServerContext::auth_context()
// or ClientContext::auth_context()). Reads the peer's PEM certificate so that DNS and URI
// names are told apart (gRPC's x509_subject_alternative_name property mixes them).
PeerIdentity PeerIdentityOf(const grpc::AuthContext& context);

// Lowercase hex SHA-256 of `data` (64 characters).
std::string Sha256Hex(std::string_view data);

// Named bearer tokens, stored only as SHA-256 hashes (as they appear in configuration:
// `sha256sum` of the token without a newline).
//
// Thread safety: Add* must not run concurrently with anything else; Check is const and
// may run concurrently with itself.
class TokenSet {
 public:
  // Adds a token by its hash: 64 hex digits, either case. Errors: InvalidArgument (not a
  // SHA-256 hex string; empty name), AlreadyExists (the name or the hash is already there).
  absl::Status AddHash(std::string_view name, std::string_view sha256_hex);
  // AddHash(name, Sha256Hex(token)). For tests and tools.
  absl::Status AddToken(std::string_view name, std::string_view token);

  // The name of the token in `authorization` (an Authorization header / gRPC
  // "authorization" metadata value "Bearer <token>"; the scheme is case-insensitive), or
  // nullopt when it is malformed or unknown. Compares against every stored hash in
  // constant time, so timing reveals neither which token nor how much of it matched.
  std::optional<std::string> Check(std::string_view authorization) const;

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    std::string name;
    std::string hash;  // 32 raw bytes.
  };
  std::vector<Entry> entries_;
};

}  // namespace kubetrail

#endif  // KUBETRAIL_COMMON_TLS_H_
