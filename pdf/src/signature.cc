// SignPades in three steps: qpdf adds the signature field and a signature dictionary whose
// /Contents is a run of zero bytes and whose /ByteRange holds wide placeholders, and writes the
// file; the placeholders are found in those bytes and the real ranges written over them,
// padded to the same length; the CMS is built over the ranges and its hex written into
// /Contents, padded with zeros. Nothing moves once written, so the ranges stay right.
#include "pdf/signature.h"

#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include <climits>
#include <exception>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/deleter.h"
#include "common/ossl.h"
#include "common/sha256.h"
#include "common/time.h"
#include "pdf/archival.h"
#include "qpdf_edit.h"

namespace pdf {
namespace {

using Pkcs7Ptr = std::unique_ptr<PKCS7, common::Deleter<PKCS7_free>>;
using EssV2Ptr = std::unique_ptr<ESS_SIGNING_CERT_V2, common::Deleter<ESS_SIGNING_CERT_V2_free>>;

// As QPDFWriter writes the array; the real ranges are written over it, padded with spaces.
constexpr std::string_view kRangePlaceholder = "[ 0 1000000000 1000000000 1000000000 ]";

common::Error Ossl(const std::string& what) {
  return common::Error::Internal(what + ": " + common::OpenSslError());
}

// The file with the signature field, its placeholders unfilled.
common::Result<std::string> WithPlaceholders(std::string_view bytes, const SignatureFields& f) {
  try {
    return qpdf_edit::AddSignatureField(
        std::string(bytes),
        {"/ETSI.CAdES.detached", "[0 1000000000 1000000000 1000000000]", kSignatureReserveBytes,
         PdfDate(f.signing_time_us), f.name, f.reason, f.location, f.contact});
  } catch (const std::exception& e) {
    return common::Error::InvalidInput(std::string("qpdf: ") + e.what());
  }
}

common::Result<std::vector<common::X509Ptr>> ParseChain(const std::vector<std::string>& ders) {
  if (ders.empty()) return common::Error::InvalidInput("no signing certificate");
  std::vector<common::X509Ptr> chain;
  for (const std::string& der : ders) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    common::X509Ptr x{d2i_X509(nullptr, &p, static_cast<long>(der.size()))};
    if (!x || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
      ERR_clear_error();
      return common::Error::InvalidInput("a certificate of the signing chain does not parse");
    }
    chain.push_back(std::move(x));
  }
  return chain;
}

// Adds an attribute whose value is the DER `der` (a SEQUENCE), signed or not.
bool AddSequenceAttribute(PKCS7_SIGNER_INFO* si, int nid, std::string_view der, bool is_signed) {
  ASN1_STRING* s = ASN1_STRING_new();
  if (s == nullptr || ASN1_STRING_set(s, der.data(), static_cast<int>(der.size())) != 1 ||
      (is_signed ? PKCS7_add_signed_attribute(si, nid, V_ASN1_SEQUENCE, s)
                 : PKCS7_add_attribute(si, nid, V_ASN1_SEQUENCE, s)) != 1) {
    ASN1_STRING_free(s);
    return false;
  }
  return true;
}

// The DER CMS SignedData over a content whose SHA-256 is `digest`.
common::Result<std::string> BuildCms(const common::Hash& digest, const PadesSigner& signer) {
  ASSIGN_OR_RETURN(auto chain, ParseChain(signer.chain_der));
  X509* cert = chain.front().get();
  EVP_PKEY* public_key = X509_get0_pubkey(cert);
  if (public_key == nullptr) return common::Error::InvalidInput("the certificate has no key");

  Pkcs7Ptr p7{PKCS7_new()};
  if (!p7 || PKCS7_set_type(p7.get(), NID_pkcs7_signed) != 1 ||
      PKCS7_content_new(p7.get(), NID_pkcs7_data) != 1 || PKCS7_set_detached(p7.get(), 1) != 1) {
    return Ossl("SignedData");
  }
  PKCS7_SIGNER_INFO* si = PKCS7_add_signature(p7.get(), cert, public_key, EVP_sha256());
  if (si == nullptr) return Ossl("SignerInfo");
  for (const auto& x : chain) {
    if (PKCS7_add_certificate(p7.get(), x.get()) != 1) return Ossl("certificates");
  }
  if (PKCS7_add_signed_attribute(si, NID_pkcs9_contentType, V_ASN1_OBJECT,
                                 OBJ_nid2obj(NID_pkcs7_data)) != 1) {
    return Ossl("contentType");
  }
  ASN1_OCTET_STRING* md = ASN1_OCTET_STRING_new();
  if (md == nullptr ||
      ASN1_OCTET_STRING_set(md, digest.data(), static_cast<int>(digest.size())) != 1 ||
      PKCS7_add_signed_attribute(si, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING, md) != 1) {
    ASN1_OCTET_STRING_free(md);
    return Ossl("messageDigest");
  }
  EssV2Ptr ess{OSSL_ESS_signing_cert_v2_new_init(EVP_sha256(), cert, nullptr, 0)};
  unsigned char* ess_der = nullptr;
  const int ess_len = ess ? i2d_ESS_SIGNING_CERT_V2(ess.get(), &ess_der) : -1;
  const bool ess_ok =
      ess_len > 0 &&
      AddSequenceAttribute(
          si, NID_id_smime_aa_signingCertificateV2,
          std::string_view(reinterpret_cast<char*>(ess_der), static_cast<size_t>(ess_len)), true);
  OPENSSL_free(ess_der);
  if (!ess_ok) return Ossl("signingCertificateV2");

  unsigned char* attrs = nullptr;
  const int attrs_len = ASN1_item_i2d(reinterpret_cast<ASN1_VALUE*>(si->auth_attr), &attrs,
                                      ASN1_ITEM_rptr(PKCS7_ATTR_SIGN));
  if (attrs_len <= 0) return Ossl("signed attributes");
  const std::string attrs_der(reinterpret_cast<char*>(attrs), static_cast<size_t>(attrs_len));
  OPENSSL_free(attrs);
  ASSIGN_OR_RETURN(std::string signature, signer.sign(attrs_der));

  // The signature must verify with the certificate's key: a signer holding another key
  // costs an error here, never a PDF whose signature fails.
  const common::Hash attrs_digest = common::Sha256Of(attrs_der);
  common::EvpPkeyCtxPtr ctx{EVP_PKEY_CTX_new_from_pkey(nullptr, public_key, nullptr)};
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) != 1) {
    return Ossl("verification context");
  }
  if (signature.empty() || signature.size() > INT_MAX ||
      EVP_PKEY_verify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                      signature.size(), attrs_digest.data(), attrs_digest.size()) != 1) {
    ERR_clear_error();
    return common::Error::VerifyFailed(
        "the document signature does not verify with the signing certificate's key");
  }
  if (ASN1_STRING_set(si->enc_digest, signature.data(), static_cast<int>(signature.size())) != 1) {
    return Ossl("signature value");
  }
  if (signer.timestamp) {
    ASSIGN_OR_RETURN(std::string token, signer.timestamp(common::Sha256Of(signature)));
    if (!AddSequenceAttribute(si, NID_id_smime_aa_timeStampToken, token, false)) {
      return Ossl("signatureTimeStampToken");
    }
  }
  unsigned char* der = nullptr;
  const int der_len = i2d_PKCS7(p7.get(), &der);
  if (der_len <= 0) return Ossl("CMS encoding");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(der_len));
  OPENSSL_free(der);
  return out;
}

}  // namespace

common::Result<std::string> SignPades(std::string_view bytes, const PadesSigner& signer,
                                      const SignatureFields& fields) {
  if (!signer.sign) return common::Error::InvalidInput("no signing function");
  ASSIGN_OR_RETURN(std::string pdf, WithPlaceholders(bytes, fields));

  // Exactly one placeholder range and one zero-filled /Contents: both are ours.
  const size_t range = pdf.find(kRangePlaceholder);
  const std::string zeros = "<" + std::string(2 * kSignatureReserveBytes, '0') + ">";
  const size_t contents = pdf.find(zeros);
  if (range == std::string::npos || contents == std::string::npos ||
      pdf.find(kRangePlaceholder, range + 1) != std::string::npos ||
      pdf.find(zeros, contents + 1) != std::string::npos) {
    return common::Error::Internal("the signature placeholders were not written as expected");
  }
  const size_t after = contents + zeros.size();
  std::string ranges = "[0 " + std::to_string(contents) + " " + std::to_string(after) + " " +
                       std::to_string(pdf.size() - after) + "]";
  if (ranges.size() > kRangePlaceholder.size()) {
    return common::Error::TooLarge("a PDF too large for the byte range placeholder");
  }
  ranges.append(kRangePlaceholder.size() - ranges.size(), ' ');
  pdf.replace(range, ranges.size(), ranges);

  common::Sha256 h;
  h.Update(std::string_view(pdf).substr(0, contents));
  h.Update(std::string_view(pdf).substr(after));
  ASSIGN_OR_RETURN(std::string cms, BuildCms(h.Finish(), signer));
  if (cms.size() > kSignatureReserveBytes) {
    return common::Error::TooLarge("the signature does not fit the room kept for it");
  }
  const std::string hex = common::ToHex(common::AsBytes(cms));
  pdf.replace(contents + 1, hex.size(), hex);
  return pdf;
}

}  // namespace pdf
