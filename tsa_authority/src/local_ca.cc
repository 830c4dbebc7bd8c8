#include "tsa_authority/local_ca.h"

#include <openssl/ec.h>
#include <openssl/rand.h>

#include <array>
#include <ctime>
#include <utility>
#include <vector>

#include "common/ossl.h"
#include "tsa/openssl_ts.h"

namespace notary {

namespace {

using tsa_internal::BignumPtr;
using tsa_internal::X509ExtensionPtr;

constexpr int kCaValidityDays = 20 * 365 + 5;   // 20 years (with leap days)
constexpr int kTsaValidityDays = 10 * 365 + 3;  // 10 years
constexpr long kBackdateSeconds = 3600;         // tolerate a slightly slow verifier clock

struct Extension {
  int nid;
  const char* value;  // OpenSSL's x509v3_config syntax
};

common::Result<common::EvpPkeyPtr> NewP256Key() {
  common::EvpPkeyPtr key{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")};
  if (!key) return common::Error::Internal("P-256 key generation: " + common::OpenSslError());
  return key;
}

std::string KeyToPem(EVP_PKEY* key) {
  common::BioPtr bio{BIO_new(BIO_s_mem())};
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return {};
  }
  return common::BioContents(bio.get());
}

// Builds and signs one certificate. `issuer` == nullptr makes it self-signed with `key`.
common::Result<common::X509Ptr> MakeCertificate(const std::string& common_name, EVP_PKEY* key,
                                                X509* issuer, EVP_PKEY* issuer_key,
                                                time_t not_before, int validity_days,
                                                const std::vector<Extension>& extensions) {
  common::X509Ptr cert{X509_new()};
  if (!cert) return common::Error::Internal("out of memory");
  std::array<unsigned char, 16> serial{};
  if (RAND_bytes(serial.data(), static_cast<int>(serial.size())) != 1) {
    return common::Error::Internal("RAND_bytes: " + common::OpenSslError());
  }
  serial[0] &= 0x7f;  // positive
  serial[0] |= 0x01;  // and never zero
  BignumPtr bn{BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr)};
  X509_NAME* subject = X509_get_subject_name(cert.get());  // borrowed
  bool ok =
      bn && BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) != nullptr &&
      X509_set_version(cert.get(), X509_VERSION_3) == 1 &&
      ASN1_TIME_set(X509_getm_notBefore(cert.get()), not_before) != nullptr &&
      ASN1_TIME_adj(X509_getm_notAfter(cert.get()), not_before, validity_days, 0) != nullptr &&
      X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) == 1 &&
      X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : subject) == 1 &&
      X509_set_pubkey(cert.get(), key) == 1;
  if (!ok) return common::Error::Internal("certificate fields: " + common::OpenSslError());

  X509V3_CTX v3;
  X509V3_set_ctx(&v3, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  for (const Extension& e : extensions) {
    X509ExtensionPtr ext{X509V3_EXT_conf_nid(nullptr, &v3, e.nid, e.value)};
    if (!ext || X509_add_ext(cert.get(), ext.get(), -1) != 1) {
      return common::Error::Internal(std::string("extension ") + OBJ_nid2sn(e.nid) + ": " +
                                     common::OpenSslError());
    }
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0) {
    return common::Error::Internal("certificate signature: " + common::OpenSslError());
  }
  return cert;
}

// The CA and TSA certificates for `tsa_key` (public or private) under a fresh CA key.
struct Issued {
  common::EvpPkeyPtr ca_key;
  common::X509Ptr ca_cert, tsa_cert;
};
common::Result<Issued> Issue(std::string_view common_name_prefix, EVP_PKEY* tsa_key,
                             int64_t now_us) {
  if (common_name_prefix.empty() || common_name_prefix.size() > 50) {
    return common::Error::InvalidInput("common name prefix must have 1 to 50 bytes");
  }
  const std::string prefix(common_name_prefix);
  const time_t not_before = static_cast<time_t>(now_us / 1'000'000) - kBackdateSeconds;
  Issued out;
  ASSIGN_OR_RETURN(out.ca_key, NewP256Key());
  // The subject key identifier goes first: the authority key identifier refers to it.
  ASSIGN_OR_RETURN(out.ca_cert,
                   MakeCertificate(prefix + " Root CA", out.ca_key.get(), nullptr, out.ca_key.get(),
                                   not_before, kCaValidityDays,
                                   {{NID_subject_key_identifier, "hash"},
                                    {NID_authority_key_identifier, "keyid:always"},
                                    {NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                                    {NID_key_usage, "critical,keyCertSign,cRLSign"}}));
  // RFC 3161 §2.3: timeStamping must be the only extended key usage, and critical.
  ASSIGN_OR_RETURN(out.tsa_cert,
                   MakeCertificate(prefix + " TSA", tsa_key, out.ca_cert.get(), out.ca_key.get(),
                                   not_before, kTsaValidityDays,
                                   {{NID_subject_key_identifier, "hash"},
                                    {NID_authority_key_identifier, "keyid:always"},
                                    {NID_basic_constraints, "critical,CA:FALSE"},
                                    {NID_key_usage, "critical,digitalSignature,nonRepudiation"},
                                    {NID_ext_key_usage, "critical,timeStamping"}}));
  return out;
}

}  // namespace

common::Result<LocalTsa> GenerateLocalTsa(std::string_view common_name_prefix, int64_t now_us) {
  ASSIGN_OR_RETURN(auto tsa_key, NewP256Key());
  ASSIGN_OR_RETURN(Issued issued, Issue(common_name_prefix, tsa_key.get(), now_us));
  LocalTsa out;
  out.ca_key_pem = KeyToPem(issued.ca_key.get());
  out.ca_cert_pem = common::CertificatePem(issued.ca_cert.get());
  out.tsa_key_pem = KeyToPem(tsa_key.get());
  out.tsa_cert_pem = common::CertificatePem(issued.tsa_cert.get());
  if (out.ca_key_pem.empty() || out.ca_cert_pem.empty() || out.tsa_key_pem.empty() ||
      out.tsa_cert_pem.empty()) {
    return common::Error::Internal("PEM encoding failed");
  }
  return out;
}

common::Result<LocalTsaCertificates> CertifyTsaKey(std::string_view common_name_prefix,
                                                   std::string_view tsa_public_key_der,
                                                   int64_t now_us) {
  const auto* p = reinterpret_cast<const unsigned char*>(tsa_public_key_der.data());
  common::EvpPkeyPtr key{d2i_PUBKEY(nullptr, &p, static_cast<long>(tsa_public_key_der.size()))};
  if (!key || p != reinterpret_cast<const unsigned char*>(tsa_public_key_der.data()) +
                       tsa_public_key_der.size()) {
    return common::Error::InvalidInput("the TSA public key is not one DER SubjectPublicKeyInfo");
  }
  ASSIGN_OR_RETURN(Issued issued, Issue(common_name_prefix, key.get(), now_us));
  LocalTsaCertificates out;
  out.ca_cert_pem = common::CertificatePem(issued.ca_cert.get());
  out.tsa_cert_pem = common::CertificatePem(issued.tsa_cert.get());
  if (out.ca_cert_pem.empty() || out.tsa_cert_pem.empty()) {
    return common::Error::Internal("PEM encoding failed");
  }
  return out;
}

}  // namespace notary
