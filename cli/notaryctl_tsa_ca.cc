#include "notaryctl_tsa_ca.h"

#include <openssl/err.h>
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

namespace cli {
namespace {

// Every certificate of a PEM file, in order; empty when none parses.
std::vector<common::X509Ptr> ReadCertificates(const std::string& pem) {
  std::vector<common::X509Ptr> certs;
  common::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return certs;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(cert);
  }
  ERR_clear_error();  // the end of the file reads as an error
  return certs;
}

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
  const std::string own = data_dir + "/tsa/ca.pem";
  const std::string chain = data_dir + "/tsa/signer-chain.pem";
  std::string path;
  if (std::filesystem::exists(own)) {
    path = own;
  } else if (std::filesystem::exists(chain)) {
    path = chain;
  } else {
    return Fail("neither " + own + " nor " + chain +
                " exists: notaryd has not yet started with this data directory (--data-dir), "
                "or it time-stamps with external authorities only (pin their roots)");
  }
  auto pem = pipeline::ReadTextFile(path);
  if (!pem.ok()) return Fail(pem.error().message());
  std::vector<common::X509Ptr> certs = ReadCertificates(*pem);
  if (certs.empty()) return Fail(path + " holds no certificate");
  // In ca.pem the root is the only certificate; in the signer's chain it is the last.
  X509* root = certs.back().get();
  if (path == own && certs.size() != 1) return Fail(path + " holds more than one certificate");
  if (X509_check_issued(root, root) != X509_V_OK || X509_check_ca(root) == 0) {
    return Fail(path + ": its " + (path == own ? "" : "last ") +
                "certificate is not a self-signed CA certificate, so it cannot be a root");
  }
  common::BioPtr out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_X509(out.get(), root) != 1) return Fail(common::OpenSslError());
  char* data = nullptr;
  const long n = BIO_get_mem_data(out.get(), &data);
  std::cout << std::string(data, static_cast<size_t>(n));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (X509_digest(root, EVP_sha256(), md, &md_len) != 1) return Fail(common::OpenSslError());
  std::cerr << "TSA root " << common::TerminalSafe(Subject(root)) << " (from " << path
            << "), SHA-256 fingerprint " << common::ToHex(std::span<const uint8_t>(md, md_len))
            << "\n";
  return 0;
}

}  // namespace cli
