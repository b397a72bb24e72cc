#include "tests/testing/certs.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace kubetrail::testing {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;

// An Internal error naming the failed step and OpenSSL's queued reason; clears the queue.
absl::Status OpenSslError(const std::string& what) {
  std::string reason;
  while (const unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    if (!reason.empty()) reason += "; ";
    reason += buf;
  }
  return absl::InternalError("certs: " + what + " failed" + (reason.empty() ? "" : ": " + reason));
}

absl::StatusOr<PkeyPtr> NewKey() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (key == nullptr) return OpenSslError("EC P-256 key generation");
  return key;
}

// Reads everything written to a memory BIO.
std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, n > 0 ? static_cast<size_t>(n) : 0);
}

absl::StatusOr<std::string> CertPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return OpenSslError("PEM_write_bio_X509");
  }
  return BioText(bio.get());
}

absl::StatusOr<std::string> KeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslError("PEM_write_bio_PrivateKey");
  }
  return BioText(bio.get());
}

absl::Status WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) return absl::UnavailableError("certs: cannot write " + path);
  return absl::OkStatus();
}

// Adds extension `nid` with OpenSSL config syntax `value` (e.g. "critical,CA:TRUE").
absl::Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (ext == nullptr || X509_add_ext(cert, ext.get(), -1) != 1) {
    return OpenSslError(std::string("extension ") + OBJ_nid2sn(nid) + "=" + value);
  }
  return absl::OkStatus();
}

// A certificate for `key` with subject CN `common_name` (none when empty), a random 63-bit
// serial and the given validity; not yet signed, no extensions.
absl::StatusOr<X509Ptr> NewCert(EVP_PKEY* key, const std::string& common_name,
                                absl::Duration not_before, absl::Duration not_after) {
  X509Ptr cert(X509_new());
  if (cert == nullptr || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return OpenSslError("X509_new");
  }
  unsigned char serial_bytes[8];
  if (RAND_bytes(serial_bytes, sizeof(serial_bytes)) != 1) return OpenSslError("RAND_bytes");
  serial_bytes[0] &= 0x7f;  // Positive.
  BnPtr serial(BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr));
  if (serial == nullptr ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return OpenSslError("serial number");
  }
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), absl::ToInt64Seconds(not_before)) ==
          nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), absl::ToInt64Seconds(not_after)) == nullptr) {
    return OpenSslError("validity");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!common_name.empty() &&
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) != 1) {
    return OpenSslError("subject CN");
  }
  if (X509_set_pubkey(cert.get(), key) != 1) return OpenSslError("X509_set_pubkey");
  return cert;
}

std::string FileStem(std::string_view name) {
  std::string stem(name);
  for (char& c : stem) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') c = '-';
  }
  return stem;
}

}  // namespace

struct TestCa::Impl {
  std::string dir;
  PkeyPtr key;
  X509Ptr cert;
};

TestCa::TestCa(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TestCa::TestCa(TestCa&&) noexcept = default;
TestCa& TestCa::operator=(TestCa&&) noexcept = default;
TestCa::~TestCa() = default;

absl::StatusOr<TestCa> TestCa::Create(std::string_view common_name, std::string_view dir) {
  auto impl = std::make_unique<Impl>();
  impl->dir = std::string(dir);
  absl::StatusOr<PkeyPtr> key = NewKey();
  if (!key.ok()) return key.status();
  impl->key = *std::move(key);
  absl::StatusOr<X509Ptr> cert =
      NewCert(impl->key.get(), std::string(common_name), absl::Hours(-1), absl::Hours(24 * 365));
  if (!cert.ok()) return cert.status();
  impl->cert = *std::move(cert);
  X509* c = impl->cert.get();
  if (X509_set_issuer_name(c, X509_get_subject_name(c)) != 1) {
    return OpenSslError("X509_set_issuer_name");
  }
  const std::vector<std::pair<int, std::string>> extensions = {
      {NID_basic_constraints, "critical,CA:TRUE"},
      {NID_key_usage, "critical,keyCertSign,cRLSign"},
      {NID_subject_key_identifier, "hash"}};
  for (const auto& [nid, value] : extensions) {
    if (absl::Status s = AddExtension(c, c, nid, value); !s.ok()) return s;
  }
  if (X509_sign(c, impl->key.get(), EVP_sha256()) == 0) return OpenSslError("X509_sign (CA)");

  absl::StatusOr<std::string> pem = CertPem(c);
  if (!pem.ok()) return pem.status();
  TestCa ca(std::move(impl));
  ca.cert_pem_ = *std::move(pem);
  ca.cert_file_ = ca.impl_->dir + "/" + FileStem(common_name) + "-ca.pem";
  if (absl::Status s = WriteFile(ca.cert_file_, ca.cert_pem_); !s.ok()) return s;
  return ca;
}

absl::StatusOr<CertFiles> TestCa::Issue(std::string_view name, const LeafSpec& spec) const {
  absl::StatusOr<PkeyPtr> key = NewKey();
  if (!key.ok()) return key.status();
  absl::StatusOr<X509Ptr> made =
      NewCert(key->get(), spec.common_name, spec.not_before_offset, spec.not_after_offset);
  if (!made.ok()) return made.status();
  X509* cert = made->get();
  if (X509_set_issuer_name(cert, X509_get_subject_name(impl_->cert.get())) != 1) {
    return OpenSslError("X509_set_issuer_name");
  }
  std::string sans;
  auto add_sans = [&sans](const char* kind, const std::vector<std::string>& values) {
    for (const std::string& v : values) {
      if (!sans.empty()) sans += ",";
      sans += std::string(kind) + ":" + v;
    }
  };
  add_sans("DNS", spec.dns_sans);
  add_sans("URI", spec.uri_sans);
  add_sans("IP", spec.ip_sans);
  std::vector<std::pair<int, std::string>> extensions = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
      {NID_ext_key_usage, "serverAuth,clientAuth"},
      {NID_subject_key_identifier, "hash"},
      {NID_authority_key_identifier, "keyid:always"}};
  if (!sans.empty()) extensions.emplace_back(NID_subject_alt_name, sans);
  for (const auto& [nid, value] : extensions) {
    if (absl::Status s = AddExtension(cert, impl_->cert.get(), nid, value); !s.ok()) return s;
  }
  if (X509_sign(cert, impl_->key.get(), EVP_sha256()) == 0) return OpenSslError("X509_sign");

  absl::StatusOr<std::string> cert_pem = CertPem(cert);
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> key_pem = KeyPem(key->get());
  if (!key_pem.ok()) return key_pem.status();
  CertFiles files{.cert_file = impl_->dir + "/" + std::string(name) + ".pem",
                  .key_file = impl_->dir + "/" + std::string(name) + "-key.pem"};
  if (absl::Status s = WriteFile(files.cert_file, *cert_pem); !s.ok()) return s;
  if (absl::Status s = WriteFile(files.key_file, *key_pem); !s.ok()) return s;
  return files;
}

absl::StatusOr<CertFiles> TestCa::IssueServer(std::string_view name) const {
  return Issue(name,
               {.common_name = "localhost", .dns_sans = {"localhost"}, .ip_sans = {"127.0.0.1"}});
}

}  // namespace kubetrail::testing
