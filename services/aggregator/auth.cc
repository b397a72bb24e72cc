#include "services/aggregator/auth.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/strings.h"
#include "common/tls.h"

namespace kubetrail::aggregator {

struct Authorizer::Rules {
  absl::flat_hash_map<std::string, std::vector<std::string>> collectors;
  absl::flat_hash_set<std::string> query;
  absl::flat_hash_set<std::string> admin;
  TokenSet tokens;
  absl::flat_hash_set<std::string> admin_tokens;
};

namespace {

// Every name the peer's certificate carries: CN first, then DNS and URI SANs.
std::vector<std::string> NamesOf(const PeerIdentity& peer) {
  std::vector<std::string> names;
  if (!peer.common_name.empty()) names.push_back(peer.common_name);
  names.insert(names.end(), peer.dns_sans.begin(), peer.dns_sans.end());
  names.insert(names.end(), peer.uri_sans.begin(), peer.uri_sans.end());
  return names;
}

PeerIdentity PeerOf(const grpc::ServerContextBase& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr) return {};
  return PeerIdentityOf(*auth);
}

std::string Describe(const PeerIdentity& peer) {
  if (!peer.authenticated) return "a client without a certificate";
  return absl::StrCat("certificate \"", absl::StrJoin(NamesOf(peer), "\", \""), "\"");
}

// The token name of the call's `authorization` metadata, if valid.
std::optional<std::string> TokenOf(const grpc::ServerContextBase& context, const TokenSet& set) {
  auto [begin, end] = context.client_metadata().equal_range("authorization");
  for (auto it = begin; it != end; ++it) {
    std::optional<std::string> name =
        set.Check(std::string_view(it->second.data(), it->second.size()));
    if (name) return name;
  }
  return std::nullopt;
}

}  // namespace

Authorizer::Authorizer(std::shared_ptr<const Rules> rules) : rules_(std::move(rules)) {}
Authorizer::~Authorizer() = default;

std::unique_ptr<Authorizer> Authorizer::AllowAll() {
  return std::unique_ptr<Authorizer>(new Authorizer(nullptr));
}

absl::StatusOr<std::unique_ptr<Authorizer>> Authorizer::Create(const AuthConfig& config) {
  auto rules = std::make_shared<Rules>();
  for (const AuthConfig::Collector& c : config.collectors) {
    if (c.identity.empty()) return absl::InvalidArgumentError("collectors: empty identity");
    if (c.clusters.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("collectors: identity \"", c.identity, "\" lists no clusters"));
    }
    auto& clusters = rules->collectors[c.identity];
    clusters.insert(clusters.end(), c.clusters.begin(), c.clusters.end());
  }
  for (const std::string& id : config.query_identities) {
    if (id.empty()) return absl::InvalidArgumentError("query_identities: empty identity");
    rules->query.insert(id);
  }
  for (const std::string& id : config.admin_identities) {
    if (id.empty()) return absl::InvalidArgumentError("admin_identities: empty identity");
    rules->admin.insert(id);
  }
  for (const AuthConfig::Token& t : config.tokens) {
    if (absl::Status s = rules->tokens.AddHash(t.name, t.sha256); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("tokens: ", s.message()));
    }
    if (t.admin) rules->admin_tokens.insert(t.name);
  }
  return std::unique_ptr<Authorizer>(new Authorizer(std::move(rules)));
}

std::shared_ptr<const Authorizer::Rules> Authorizer::Current() const {
  absl::MutexLock lock(&mu_);
  return rules_;
}

absl::Status Authorizer::Update(const AuthConfig& config) {
  absl::StatusOr<std::unique_ptr<Authorizer>> fresh = Create(config);
  if (!fresh.ok()) return fresh.status();
  std::shared_ptr<const Rules> rules = (*fresh)->Current();
  absl::MutexLock lock(&mu_);
  rules_ = std::move(rules);
  return absl::OkStatus();
}

absl::Status Authorizer::CheckIngest(const grpc::ServerContextBase& context,
                                     std::string_view cluster) const {
  const std::shared_ptr<const Rules> rules = Current();
  if (rules == nullptr) return absl::OkStatus();
  const PeerIdentity peer = PeerOf(context);
  if (!peer.authenticated) {
    return absl::UnauthenticatedError("ingest needs a client certificate (mutual TLS)");
  }
  for (const std::string& name : NamesOf(peer)) {
    auto it = rules->collectors.find(name);
    if (it == rules->collectors.end()) continue;
    for (const std::string& allowed : it->second) {
      if (allowed == "*" || allowed == cluster) return absl::OkStatus();
    }
  }
  return absl::PermissionDeniedError(
      absl::StrCat(Describe(peer), " may not write cluster \"", ToAbsl(cluster), "\""));
}

absl::Status Authorizer::CheckQuery(const grpc::ServerContextBase& context) const {
  const std::shared_ptr<const Rules> rules = Current();
  if (rules == nullptr) return absl::OkStatus();
  const PeerIdentity peer = PeerOf(context);
  for (const std::string& name : NamesOf(peer)) {
    if (rules->query.contains(name) || rules->admin.contains(name)) return absl::OkStatus();
  }
  if (TokenOf(context, rules->tokens)) return absl::OkStatus();
  return absl::UnauthenticatedError(absl::StrCat(
      "queries need an allowed client certificate or a valid bearer token; got ", Describe(peer),
      peer.authenticated ? " that is not allowed to query" : "", " and no valid token"));
}

absl::Status Authorizer::CheckAdmin(const grpc::ServerContextBase& context) const {
  const std::shared_ptr<const Rules> rules = Current();
  if (rules == nullptr) return absl::OkStatus();
  const PeerIdentity peer = PeerOf(context);
  for (const std::string& name : NamesOf(peer)) {
    if (rules->admin.contains(name)) return absl::OkStatus();
  }
  if (std::optional<std::string> token = TokenOf(context, rules->tokens)) {
    if (rules->admin_tokens.contains(*token)) return absl::OkStatus();
    return absl::PermissionDeniedError(
        absl::StrCat("token \"", *token, "\" may not call the Admin service"));
  }
  if (absl::Status s = CheckQuery(context); !s.ok()) return s;
  return absl::PermissionDeniedError(
      absl::StrCat(Describe(peer), " may not call the Admin service"));
}

std::string Authorizer::DescribeCaller(const grpc::ServerContextBase& context) const {
  const PeerIdentity peer = PeerOf(context);
  std::string who = Describe(peer);
  if (const std::shared_ptr<const Rules> rules = Current(); rules != nullptr) {
    if (std::optional<std::string> token = TokenOf(context, rules->tokens)) {
      who = peer.authenticated ? absl::StrCat(who, " with token \"", *token, "\"")
                               : absl::StrCat("token \"", *token, "\"");
    }
  }
  return absl::StrCat(who, " from ", context.peer());
}

}  // namespace kubetrail::aggregator
