#include "notaryctl_tsa_ca.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <iostream>
#include <span>
#include <vector>

#include "common/bytes.h"
#include "common/ossl.h"
#include "common/printable.h"
#include "pipeline/key_files.h"
#include "tsa/openssl_ts.h"

namespace cli {
namespace {

std::string Subject(X509* cert) {
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
  return buf;
}

int Fail(const std::string& message) {
  std::cerr << "notaryctl tsa-ca: " << message << "\n";
  return 1;
}

}  // namespace

int RunTsaCa(const std::string& data_dir) {
  // notaryd's own authority (ca.pem) and notary-signer's (the root of signer-chain.pem). After
  // a move to the signer both exist: the old root verifies the tokens issued before, the new
  // one those after, so both are printed (docs/signer.md: publish both).
  const std::string own = data_dir + "/tsa/ca.pem";
  const std::string chain = data_dir + "/tsa/signer-chain.pem";
  std::string out_pem;
  for (const std::string& path : {own, chain}) {
    if (!std::filesystem::exists(path)) continue;
    auto pem = pipeline::ReadTextFile(path);
    if (!pem.ok()) return Fail(pem.error().message());
    auto certs = notary::tsa_internal::ReadCertificates(*pem, path);
    if (!certs.ok()) return Fail(certs.error().message());
    const int n = sk_X509_num(certs->get());
    if (n == 0) return Fail(path + " holds no certificate");
    if (path == own && n != 1) return Fail(path + " holds more than one certificate");
    // In ca.pem the root is the only certificate; in the signer's chain it is the last.
    X509* root = sk_X509_value(certs->get(), n - 1);
    if (X509_check_issued(root, root) != X509_V_OK || X509_check_ca(root) == 0) {
      return Fail(path + ": its " + (path == own ? "" : "last ") +
                  "certificate is not a self-signed CA certificate, so it cannot be a root");
    }
    common::BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), root) != 1) return Fail(common::OpenSslError());
    out_pem += common::BioContents(bio.get());
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (X509_digest(root, EVP_sha256(), md, &md_len) != 1) return Fail(common::OpenSslError());
    std::cerr << "TSA root " << common::TerminalSafe(Subject(root)) << " (from " << path
              << "), SHA-256 fingerprint " << common::ToHex(std::span<const uint8_t>(md, md_len))
              << "\n";
  }
  if (out_pem.empty()) {
    return Fail("neither " + own + " nor " + chain +
                " exists: notaryd has not yet started with this data directory (--data-dir), "
                "or it time-stamps with external authorities only (pin their roots)");
  }
  std::cout << out_pem;
  return 0;
}

}  // namespace cli
