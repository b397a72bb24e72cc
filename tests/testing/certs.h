// Test certificates made in-process with the OpenSSL 3 API (no `openssl` binary): a CA,
// server leaves for 127.0.0.1 / localhost and client leaves with a chosen identity, all EC
// P-256, written as PEM files.
//
//   TempDir dir;
//   absl::StatusOr<TestCa> ca = TestCa::Create("kubetrail test CA", dir.path());
//   absl::StatusOr<CertFiles> server = ca->IssueServer("server");
//   absl::StatusOr<CertFiles> client = ca->IssueClient(
//       "collector", {.common_name = "collector-a",
//                     .dns_sans = {"collector-a.example"},
//                     .uri_sans = {"spiffe://kubetrail/collector/a"}});
//   // ca->cert_file(), server->cert_file, server->key_file, ...
//
// A second TestCa::Create is an unrelated CA: certificates it issues do not verify against
// the first one ("untrusted" tests).
//
// Thread safety: a TestCa is not synchronised; distinct TestCas may be used from different
// threads.
#ifndef KUBETRAIL_TESTS_TESTING_CERTS_H_
#define KUBETRAIL_TESTS_TESTING_CERTS_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kubetrail::testing {

// The paths of one leaf certificate and its private key.
struct CertFiles {
  std::string cert_file;  // PEM certificate (the leaf alone, no chain).
  std::string key_file;   // PEM private key (PKCS#8, unencrypted).
};

// What a leaf certificate says and how long it is valid.
struct LeafSpec {
  std::string common_name = {};            // Subject CN; empty: no CN.
  std::vector<std::string> dns_sans = {};  // DNS subjectAltNames.
  std::vector<std::string> uri_sans = {};  // URI subjectAltNames (must not contain ',').
  std::vector<std::string> ip_sans = {};   // IP subjectAltNames, e.g. "127.0.0.1".
  // Validity relative to now. The defaults make a certificate valid for a day; a
  // not_after_offset in the past makes an expired one.
  absl::Duration not_before_offset = absl::Hours(-1);
  absl::Duration not_after_offset = absl::Hours(24);
};

// A self-signed certificate authority whose files live in one directory.
class TestCa {
 public:
  // Makes a new CA with subject CN `common_name` and writes its certificate to
  // `dir`/<stem>-ca.pem, where <stem> is `common_name` with every character outside
  // [A-Za-z0-9-] replaced by '-'. `dir` must exist. Errors: Internal (an OpenSSL
  // failure, with its message) or the failure to write the file.
  static absl::StatusOr<TestCa> Create(std::string_view common_name, std::string_view dir);

  TestCa(TestCa&&) noexcept;
  TestCa& operator=(TestCa&&) noexcept;
  ~TestCa();

  // The PEM file of the CA certificate.
  const std::string& cert_file() const { return cert_file_; }
  // The PEM text of the CA certificate.
  const std::string& cert_pem() const { return cert_pem_; }

  // Issues a leaf with a fresh key and writes `dir`/<name>.pem and `dir`/<name>-key.pem,
  // replacing existing files. The leaf has extendedKeyUsage serverAuth and clientAuth.
  absl::StatusOr<CertFiles> Issue(std::string_view name, const LeafSpec& spec) const;
  // Issue() with CN "localhost", DNS SAN "localhost" and IP SAN 127.0.0.1.
  absl::StatusOr<CertFiles> IssueServer(std::string_view name) const;
  // Issue() with `spec` (its CN and SANs name the client).
  absl::StatusOr<CertFiles> IssueClient(std::string_view name, const LeafSpec& spec) const {
    return Issue(name, spec);
  }

 private:
  struct Impl;
  explicit TestCa(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
  std::string cert_file_;
  std::string cert_pem_;
};

}  // namespace kubetrail::testing

#endif  // KUBETRAIL_TESTS_TESTING_CERTS_H_
