// Who may do what on an aggregator.
//
// Outside --dev every connection is TLS. Collectors present client certificates; their
// identity (the certificate's CN, any DNS SAN or any URI SAN) is looked up in `collectors`
// to learn which clusters they may write. Query clients present a client certificate listed
// in `query_identities` (or `admin_identities`), or a bearer token (`authorization: Bearer
// ...` metadata) whose SHA-256 is listed in `tokens`. Admin RPCs need an identity in
// `admin_identities` or a token marked `admin`.
//
// In --dev mode (plaintext on loopback) everything is allowed.
//
// Thread safety: Check* may run concurrently with each other and with Update (SIGHUP).
#ifndef KUBETRAIL_SERVICES_AGGREGATOR_AUTH_H_
#define KUBETRAIL_SERVICES_AGGREGATOR_AUTH_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/server_context.h"

namespace kubetrail::aggregator {

struct AuthConfig {
  struct Collector {
    // A certificate identity: the subject CN, a DNS SAN or a URI SAN, exact.
    std::string identity;
    // Clusters it may write; "*" allows any.
    std::vector<std::string> clusters;
  };
  struct Token {
    std::string name;    // for logs and metrics
    std::string sha256;  // hex SHA-256 of the token (`printf %s TOKEN | sha256sum`)
    bool admin = false;  // may also call the Admin service
  };
  std::vector<Collector> collectors;
  std::vector<std::string> query_identities;
  std::vector<std::string> admin_identities;
  std::vector<Token> tokens;
};

class Authorizer {
 public:
  // Allows everything: for --dev.
  static std::unique_ptr<Authorizer> AllowAll();
  // Checks per `config`. InvalidArgument for a malformed token hash or an empty identity.
  static absl::StatusOr<std::unique_ptr<Authorizer>> Create(const AuthConfig& config);

  // Replaces the rules (SIGHUP). On error the old rules stay.
  absl::Status Update(const AuthConfig& config);

  // PermissionDenied naming the identity and cluster when the caller may not write
  // `cluster`; Unauthenticated without a client certificate.
  absl::Status CheckIngest(const grpc::ServerContextBase& context, std::string_view cluster) const;
  // Unauthenticated when the caller has neither an allowed certificate nor a valid token.
  absl::Status CheckQuery(const grpc::ServerContextBase& context) const;
  // As CheckQuery, and PermissionDenied when the caller is not an admin.
  absl::Status CheckAdmin(const grpc::ServerContextBase& context) const;
  // Who the caller is, for the log lines of admin actions: `certificate "ops"` (every name
  // the certificate carries), `token "grafana"` (a valid token's name; after the certificate
  // when there is both), or `a client without a certificate` (--dev), then ` from PEER`
  // (gRPC's peer address, "ipv4:10.0.0.7:51234").
  std::string DescribeCaller(const grpc::ServerContextBase& context) const;

  ~Authorizer();

 private:
  struct Rules;
  explicit Authorizer(std::shared_ptr<const Rules> rules);
  std::shared_ptr<const Rules> Current() const;

  mutable absl::Mutex mu_;
  std::shared_ptr<const Rules> rules_ ABSL_GUARDED_BY(mu_);  // null: allow all
};

}  // namespace kubetrail::aggregator

#endif  // KUBETRAIL_SERVICES_AGGREGATOR_AUTH_H_
