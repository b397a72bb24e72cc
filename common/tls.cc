#include "common/tls.h"

#include <fcntl.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/grpc_security_constants.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "grpcpp/create_channel.h"

namespace kubetrail {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

void FreeGeneralNames(GENERAL_NAMES* names) { GENERAL_NAMES_free(names); }
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, FreeGeneralNames>>;

// OpenSSL's queued error reasons, oldest first, joined by "; "; clears the queue.
std::string TakeOpenSslErrors() {
  std::string reasons;
  while (const unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    if (!reasons.empty()) reasons += "; ";
    reasons += buf;
  }
  return reasons;
}

// `<role> file "<path>"`, the subject of every validation message.
std::string FileLabel(std::string_view role, std::string_view path) {
  return Cat("tls: ", role, " file \"", path, "\"");
}

// Reads the whole file. Errors: NotFound, PermissionDenied, or Unavailable for other I/O
// failures, each naming the role and path.
absl::StatusOr<std::string> ReadFile(std::string_view role, const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  const auto io_error = [&](int err) {
    const std::string message = Cat(FileLabel(role, path), ": cannot read: ", std::strerror(err));
    if (err == ENOENT || err == ENOTDIR) return absl::NotFoundError(message);
    if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(message);
    return absl::UnavailableError(message);
  };
  if (fd < 0) return io_error(errno);
  std::string content;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return io_error(err);
    }
    if (n == 0) break;
    content.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return content;
}

// Every PEM certificate in `pem`, in order. Errors: InvalidArgument when there is none or a
// PEM block is damaged.
absl::StatusOr<std::vector<X509Ptr>> ParseCertificates(std::string_view role,
                                                       const std::string& path,
                                                       const std::string& pem) {
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return absl::ResourceExhaustedError("tls: BIO_new_mem_buf failed");
  std::vector<X509Ptr> certs;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(cert);
  }
  // The loop ends with PEM_R_NO_START_LINE at the end of the input; anything else is damage.
  const unsigned long last = ERR_peek_last_error();
  const bool clean_end =
      ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE;
  const std::string reasons = TakeOpenSslErrors();
  if (!clean_end && last != 0) {
    return absl::InvalidArgumentError(
        Cat(FileLabel(role, path), ": malformed PEM certificate: ", reasons));
  }
  if (certs.empty()) {
    return absl::InvalidArgumentError(
        Cat(FileLabel(role, path), ": does not contain a PEM certificate"));
  }
  return certs;
}

// No passphrase: encrypted keys fail to load instead of prompting on the terminal.
int NoPassphrase(char*, int, int, void*) { return 0; }

absl::StatusOr<PkeyPtr> ParsePrivateKey(std::string_view role, const std::string& path,
                                        const std::string& pem) {
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return absl::ResourceExhaustedError("tls: BIO_new_mem_buf failed");
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  const std::string reasons = TakeOpenSslErrors();
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        Cat(FileLabel(role, path),
            ": does not contain a usable PEM private key (encrypted keys are not supported): ",
            reasons));
  }
  return key;
}

std::string Asn1TimeText(const ASN1_TIME* t) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || ASN1_TIME_print(bio.get(), t) != 1) return "?";
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, n > 0 ? static_cast<size_t>(n) : 0);
}

// FailedPrecondition unless `cert` is valid now.
absl::Status CheckValidNow(std::string_view role, const std::string& path, const X509* cert) {
  if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0) {
    return absl::FailedPreconditionError(Cat(FileLabel(role, path),
                                             ": certificate is not valid before ",
                                             Asn1TimeText(X509_get0_notBefore(cert))));
  }
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) {
    return absl::FailedPreconditionError(Cat(FileLabel(role, path), ": certificate expired at ",
                                             Asn1TimeText(X509_get0_notAfter(cert))));
  }
  return absl::OkStatus();
}

std::string LowerHex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * bytes.size());
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    hex += kHex[byte >> 4];
    hex += kHex[byte & 0xf];
  }
  return hex;
}

std::string SubjectText(const X509* cert) {
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof(buf));
  return buf;
}

std::string Describe(const X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  std::string fingerprint = "?";
  if (X509_digest(cert, EVP_sha256(), md, &md_len) == 1) {
    fingerprint = LowerHex(std::string_view(reinterpret_cast<const char*>(md), md_len));
  }
  return Cat("subject ", SubjectText(cert), ", sha256 ", fingerprint, ", notAfter ",
             Asn1TimeText(X509_get0_notAfter(cert)));
}

// A validated certificate chain and its key, as PEM text for gRPC.
struct Identity {
  std::string cert_chain_pem;
  std::string key_pem;
  std::string description;  // Describe() of the leaf.
};

absl::StatusOr<Identity> LoadIdentity(std::string_view who, const std::string& cert_file,
                                      const std::string& key_file) {
  const std::string cert_role = Cat(who, " certificate");
  const std::string key_role = Cat(who, " private key");
  if (cert_file.empty()) return absl::InvalidArgumentError(Cat("tls: no ", cert_role, " file"));
  if (key_file.empty()) return absl::InvalidArgumentError(Cat("tls: no ", key_role, " file"));
  Identity identity;
  KT_ASSIGN_OR_RETURN(identity.cert_chain_pem, ReadFile(cert_role, cert_file));
  KT_ASSIGN_OR_RETURN(identity.key_pem, ReadFile(key_role, key_file));
  KT_ASSIGN_OR_RETURN(std::vector<X509Ptr> chain,
                      ParseCertificates(cert_role, cert_file, identity.cert_chain_pem));
  KT_ASSIGN_OR_RETURN(PkeyPtr key, ParsePrivateKey(key_role, key_file, identity.key_pem));
  X509* leaf = chain.front().get();
  if (X509_check_private_key(leaf, key.get()) != 1) {
    TakeOpenSslErrors();
    return absl::InvalidArgumentError(Cat(FileLabel(key_role, key_file),
                                          ": private key does not match the certificate in \"",
                                          cert_file, "\""));
  }
  KT_RETURN_IF_ERROR(CheckValidNow(cert_role, cert_file, leaf));
  identity.description = Describe(leaf);
  return identity;
}

// Reads and validates a CA bundle; returns its PEM text. Expired CAs only warn unless all are.
absl::StatusOr<std::string> LoadCaBundle(std::string_view role, const std::string& path) {
  KT_ASSIGN_OR_RETURN(std::string pem, ReadFile(role, path));
  KT_ASSIGN_OR_RETURN(std::vector<X509Ptr> certs, ParseCertificates(role, path, pem));
  size_t valid = 0;
  for (const X509Ptr& cert : certs) {
    if (absl::Status s = CheckValidNow(role, path, cert.get()); s.ok()) {
      ++valid;
    } else {
      KT_LOG(kWarning, "tls") << s.message() << " (" << SubjectText(cert.get()) << ")";
    }
  }
  if (valid == 0) {
    return absl::FailedPreconditionError(
        Cat(FileLabel(role, path), ": every CA certificate is expired or not yet valid"));
  }
  return pem;
}

}  // namespace

namespace tls_internal {

// The material of a ServerTls and the ports that use it. Shared by the ServerTls and its
// credentials object.
class ServerTlsState {
 public:
  // What gRPC's certificate-config fetcher gets as user_data: one per listening port, since
  // each port keeps its own TLS context and must be told about a reload separately.
  struct Port {
    ServerTlsState* state;
    uint64_t seen_generation;  // Guarded by state->mu_. 0: nothing delivered yet.
  };

  // The validated files: what handshakes use.
  struct Material {
    Identity identity;
    std::string client_ca_pem;  // Empty when client_auth is kNone.
  };

  static absl::StatusOr<Material> Load(const ServerTlsConfig& config) {
    Material material;
    KT_ASSIGN_OR_RETURN(material.identity,
                        LoadIdentity("server", config.cert_file, config.key_file));
    if (config.client_auth != ServerTlsConfig::ClientAuth::kNone) {
      if (config.client_ca_file.empty()) {
        return absl::InvalidArgumentError(
            "tls: client authentication is enabled but no client CA file is set");
      }
      KT_ASSIGN_OR_RETURN(material.client_ca_pem, LoadCaBundle("client CA", config.client_ca_file));
    }
    return material;
  }

  ServerTlsState(ServerTlsConfig config, Material material)
      : config_(std::move(config)), material_(std::move(material)) {}

  const ServerTlsConfig& config() const { return config_; }

  absl::Status Reload() {
    KT_ASSIGN_OR_RETURN(Material material, Load(config_));
    absl::MutexLock lock(&mu_);
    material_ = std::move(material);
    ++generation_;
    return absl::OkStatus();
  }

  uint64_t reload_count() const {
    absl::MutexLock lock(&mu_);
    return generation_ - 1;
  }

  std::string Describe() const {
    absl::MutexLock lock(&mu_);
    return material_.identity.description;
  }

  // A new Port, owned by this state (gRPC gets a raw pointer to it).
  Port* AddPort() {
    absl::MutexLock lock(&mu_);
    ports_.push_back(std::make_unique<Port>(Port{this, 0}));
    return ports_.back().get();
  }

  // gRPC's grpc_ssl_server_certificate_config_callback, called before each handshake on
  // the port (and once when the port is set up, which must answer NEW).
  static grpc_ssl_certificate_config_reload_status Fetch(
      void* user_data, grpc_ssl_server_certificate_config** config) {
    Port* port = static_cast<Port*>(user_data);
    ServerTlsState& self = *port->state;
    absl::MutexLock lock(&self.mu_);
    if (port->seen_generation == self.generation_) {
      return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
    }
    const Material& m = self.material_;
    grpc_ssl_pem_key_cert_pair pair{m.identity.key_pem.c_str(), m.identity.cert_chain_pem.c_str()};
    // gRPC 1.51 asserts that a fetched config has root certificates even when no client
    // certificate is requested; without a client CA the server's own chain stands in (it is
    // never used to verify anything then).
    const std::string& roots =
        m.client_ca_pem.empty() ? m.identity.cert_chain_pem : m.client_ca_pem;
    *config = grpc_ssl_server_certificate_config_create(roots.c_str(), &pair, 1);
    if (*config == nullptr) return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_FAIL;
    port->seen_generation = self.generation_;
    return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW;
  }

 private:
  // Constant after construction.
  const ServerTlsConfig config_;

  mutable absl::Mutex mu_;
  Material material_ ABSL_GUARDED_BY(mu_);
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 1;  // 1 + successful reloads.
  std::vector<std::unique_ptr<Port>> ports_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tls_internal

namespace {

grpc_ssl_client_certificate_request_type RequestType(ServerTlsConfig::ClientAuth auth) {
  switch (auth) {
    case ServerTlsConfig::ClientAuth::kNone:
      return GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
    case ServerTlsConfig::ClientAuth::kRequest:
      return GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
    case ServerTlsConfig::ClientAuth::kRequire:
      return GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  std::abort();
}

// grpc::ServerCredentials whose ports fetch their TLS material from a ServerTlsState.
// gRPC 1.51's ServerCredentials lets a subclass bind ports itself (AddPortToServer); each
// port gets C-core SSL server credentials with a certificate-config fetcher.
class ReloadingServerCredentials final : public grpc::ServerCredentials {
 public:
  explicit ReloadingServerCredentials(std::shared_ptr<tls_internal::ServerTlsState> state)
      : state_(std::move(state)) {}

  void SetAuthMetadataProcessor(const std::shared_ptr<grpc::AuthMetadataProcessor>&) override {
    KT_LOG(kError, "tls") << "SetAuthMetadataProcessor is not supported on ServerTls "
                             "credentials; authenticate in the handlers";
    std::abort();
  }

 private:
  int AddPortToServer(const std::string& addr, grpc_server* server) override {
    tls_internal::ServerTlsState::Port* port = state_->AddPort();
    grpc_ssl_server_credentials_options* options =
        grpc_ssl_server_credentials_create_options_using_config_fetcher(
            RequestType(state_->config().client_auth), &tls_internal::ServerTlsState::Fetch, port);
    grpc_server_credentials* creds = grpc_ssl_server_credentials_create_with_options(options);
    if (creds == nullptr) {
      KT_LOG(kError, "tls") << "cannot create SSL server credentials for " << addr;
      return 0;
    }
    const int bound = grpc_server_add_http2_port(server, addr.c_str(), creds);
    grpc_server_credentials_release(creds);  // The server holds its own reference.
    return bound;
  }

  const std::shared_ptr<tls_internal::ServerTlsState> state_;
};

}  // namespace

ServerTls::ServerTls(std::shared_ptr<tls_internal::ServerTlsState> state)
    : state_(state), credentials_(std::make_shared<ReloadingServerCredentials>(state)) {}

ServerTls::~ServerTls() = default;

absl::StatusOr<std::unique_ptr<ServerTls>> ServerTls::Create(ServerTlsConfig config) {
  KT_ASSIGN_OR_RETURN(tls_internal::ServerTlsState::Material material,
                      tls_internal::ServerTlsState::Load(config));
  return std::unique_ptr<ServerTls>(new ServerTls(
      std::make_shared<tls_internal::ServerTlsState>(std::move(config), std::move(material))));
}

std::shared_ptr<grpc::ServerCredentials> ServerTls::credentials() const { return credentials_; }

absl::Status ServerTls::Reload() { return state_->Reload(); }

uint64_t ServerTls::reload_count() const { return state_->reload_count(); }

std::string ServerTls::Describe() const { return state_->Describe(); }

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeClientCredentials(
    const ClientTlsConfig& config) {
  grpc::SslCredentialsOptions options;
  if (!config.ca_file.empty()) {
    KT_ASSIGN_OR_RETURN(options.pem_root_certs, LoadCaBundle("CA", config.ca_file));
  }
  if (config.cert_file.empty() != config.key_file.empty()) {
    return absl::InvalidArgumentError(
        "tls: client certificate and private key files must be set together");
  }
  if (!config.cert_file.empty()) {
    KT_ASSIGN_OR_RETURN(Identity identity,
                        LoadIdentity("client", config.cert_file, config.key_file));
    options.pem_cert_chain = std::move(identity.cert_chain_pem);
    options.pem_private_key = std::move(identity.key_pem);
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::SslCredentials(options);
  if (credentials == nullptr) return absl::InternalError("tls: cannot create SSL credentials");
  return credentials;
}

void ApplyServerNameOverride(const ClientTlsConfig& config, grpc::ChannelArguments& args) {
  if (!config.server_name.empty()) args.SetSslTargetNameOverride(config.server_name);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateTlsChannel(const std::string& target,
                                                                const ClientTlsConfig& config,
                                                                grpc::ChannelArguments args) {
  KT_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> credentials,
                      MakeClientCredentials(config));
  ApplyServerNameOverride(config, args);
  return grpc::CreateCustomChannel(target, credentials, args);
}

PeerIdentity PeerIdentityOf(const grpc::AuthContext& context) {
  PeerIdentity identity;
  const std::vector<grpc::string_ref> pems =
      context.FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (pems.empty()) return identity;
  BioPtr bio(BIO_new_mem_buf(pems.front().data(), static_cast<int>(pems.front().size())));
  X509Ptr cert(bio == nullptr ? nullptr : PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    TakeOpenSslErrors();
    return identity;
  }
  const auto text = [](const ASN1_STRING* s) {
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<size_t>(ASN1_STRING_length(s)));
  };
  const X509_NAME* subject = X509_get_subject_name(cert.get());
  const int cn_index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (cn_index >= 0) {
    identity.common_name = text(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, cn_index)));
  }
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_DNS) identity.dns_sans.push_back(text(name->d.dNSName));
    if (name->type == GEN_URI) identity.uri_sans.push_back(text(name->d.uniformResourceIdentifier));
  }
  identity.authenticated = true;
  return identity;
}

namespace {

std::string RawSha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &md_len, EVP_sha256(), nullptr) != 1) {
    // Only possible when OpenSSL itself is broken: an invariant, not an input error.
    KT_LOG(kError, "tls") << "EVP_Digest(SHA-256) failed: " << TakeOpenSslErrors();
    std::abort();
  }
  return std::string(reinterpret_cast<const char*>(md), md_len);
}

}  // namespace

std::string Sha256Hex(std::string_view data) { return LowerHex(RawSha256(data)); }

absl::Status TokenSet::AddHash(std::string_view name, std::string_view sha256_hex) {
  if (name.empty()) return absl::InvalidArgumentError("tls: token name is empty");
  if (sha256_hex.size() != 64) {
    return absl::InvalidArgumentError(Cat("tls: token \"", name,
                                          "\": hash must be 64 hex digits (SHA-256), got ",
                                          sha256_hex.size(), " characters"));
  }
  std::string hash;
  for (size_t i = 0; i < sha256_hex.size(); i += 2) {
    int byte = 0;
    for (size_t j = i; j < i + 2; ++j) {
      const char c = absl::ascii_tolower(sha256_hex[j]);
      int digit;
      if (c >= '0' && c <= '9') {
        digit = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        digit = c - 'a' + 10;
      } else {
        return absl::InvalidArgumentError(
            Cat("tls: token \"", name, "\": hash is not hexadecimal"));
      }
      byte = byte * 16 + digit;
    }
    hash += static_cast<char>(byte);
  }
  for (const Entry& e : entries_) {
    if (e.name == name) {
      return absl::AlreadyExistsError(Cat("tls: token \"", name, "\" is defined twice"));
    }
    if (e.hash == hash) {
      return absl::AlreadyExistsError(
          Cat("tls: tokens \"", e.name, "\" and \"", name, "\" have the same hash"));
    }
  }
  entries_.push_back(Entry{std::string(name), std::move(hash)});
  return absl::OkStatus();
}

absl::Status TokenSet::AddToken(std::string_view name, std::string_view token) {
  return AddHash(name, Sha256Hex(token));
}

std::optional<std::string> TokenSet::Check(std::string_view authorization) const {
  const std::string_view value = ToStd(absl::StripAsciiWhitespace(ToAbsl(authorization)));
  constexpr std::string_view kScheme = "bearer";
  if (value.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(ToAbsl(value.substr(0, kScheme.size())), ToAbsl(kScheme)) ||
      (value[kScheme.size()] != ' ' && value[kScheme.size()] != '\t')) {
    return std::nullopt;
  }
  const std::string_view token =
      ToStd(absl::StripLeadingAsciiWhitespace(ToAbsl(value.substr(kScheme.size()))));
  if (token.empty()) return std::nullopt;
  for (const char c : token) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) return std::nullopt;
  }
  const std::string hash = RawSha256(token);
  const Entry* found = nullptr;
  for (const Entry& e : entries_) {
    // Every entry is compared in full; only the (rare) match takes a different branch.
    if (CRYPTO_memcmp(hash.data(), e.hash.data(), hash.size()) == 0) found = &e;
  }
  if (found == nullptr) return std::nullopt;
  return found->name;
}

}  // namespace kubetrail
