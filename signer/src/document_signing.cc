#include "signer/document_signing.h"

#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "common/sha256.h"
#include "tsa_authority/tst_signing_check.h"

namespace signer {
namespace {

using EssV2Ptr = std::unique_ptr<ESS_SIGNING_CERT_V2, common::Deleter<ESS_SIGNING_CERT_V2_free>>;

common::Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return common::Error::NotFound("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

common::Error Refused(const std::string& why) {
  return common::Error::PermissionDenied("document signing request refused: " + why);
}

}  // namespace

common::Result<DocumentSigning> OpenDocumentSigning(const std::string& key_path,
                                                    const std::string& cert_path) {
  struct stat st {};
  if (::stat(key_path.c_str(), &st) != 0) return common::Error::NotFound("cannot read " + key_path);
  if ((st.st_mode & 077) != 0) {
    return common::Error::InvalidInput(key_path + " is readable by group or others: chmod 600 it");
  }
  DocumentSigning d;
  ASSIGN_OR_RETURN(std::string key_pem, ReadFile(key_path));
  ASSIGN_OR_RETURN(d.cert_pem, ReadFile(cert_path));
  common::BioPtr kb{BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()))};
  d.key.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  common::BioPtr cb{BIO_new_mem_buf(d.cert_pem.data(), static_cast<int>(d.cert_pem.size()))};
  common::X509Ptr cert{PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr)};
  ERR_clear_error();
  if (!d.key) return common::Error::InvalidInput(key_path + ": not a PEM private key");
  if (!cert) return common::Error::InvalidInput(cert_path + ": no PEM certificate");
  const int id = EVP_PKEY_get_base_id(d.key.get());
  const int bits = EVP_PKEY_get_bits(d.key.get());
  if (!((id == EVP_PKEY_EC && bits >= 256) || (id == EVP_PKEY_RSA && bits >= 2048))) {
    return common::Error::InvalidInput(key_path +
                                       ": neither EC of 256 bits or more nor RSA of "
                                       "2048 bits or more");
  }
  if (X509_check_private_key(cert.get(), d.key.get()) != 1) {
    ERR_clear_error();
    return common::Error::InvalidInput(key_path + " is not the key of " + cert_path +
                                       "'s first certificate");
  }
  EssV2Ptr ess{OSSL_ESS_signing_cert_v2_new_init(EVP_sha256(), cert.get(), nullptr, 0)};
  unsigned char* der = nullptr;
  const int len = ess ? i2d_ESS_SIGNING_CERT_V2(ess.get(), &der) : -1;
  if (len <= 0) return common::Error::Internal("SigningCertificateV2: " + common::OpenSslError());
  d.signing_cert_v2_der.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return d;
}

common::Result<common::Hash> CheckDocumentSigningRequest(std::string_view der,
                                                         const DocumentSigning& document) {
  if (der.size() > kMaxDocumentAttributesBytes) {
    return common::Error::InvalidInput("document signing request over " +
                                       std::to_string(kMaxDocumentAttributesBytes) + " bytes");
  }
  ASSIGN_OR_RETURN(notary::AttributesPtr attrs, notary::DecodeDerSignedAttributes(der));
  bool content_type = false, message_digest = false, signing_cert = false;
  for (int i = 0; i < sk_X509_ATTRIBUTE_num(attrs.get()); ++i) {
    X509_ATTRIBUTE* attr = sk_X509_ATTRIBUTE_value(attrs.get(), i);
    const int nid = OBJ_obj2nid(X509_ATTRIBUTE_get0_object(attr));
    if (X509_ATTRIBUTE_count(attr) != 1) return Refused("an attribute with several values");
    const ASN1_TYPE* v = X509_ATTRIBUTE_get0_type(attr, 0);
    if (nid == NID_pkcs9_contentType && !content_type) {
      content_type = true;
      if (v->type != V_ASN1_OBJECT || OBJ_obj2nid(v->value.object) != NID_pkcs7_data) {
        return Refused("contentType is not id-data");
      }
    } else if (nid == NID_pkcs9_messageDigest && !message_digest) {
      message_digest = true;
      if (v->type != V_ASN1_OCTET_STRING || v->value.octet_string->length != 32) {
        return Refused("messageDigest is not a SHA-256 digest");
      }
    } else if (nid == NID_id_smime_aa_signingCertificateV2 && !signing_cert) {
      signing_cert = true;
      const std::string& want = document.signing_cert_v2_der;
      if (v->type != V_ASN1_SEQUENCE ||
          static_cast<size_t>(v->value.sequence->length) != want.size() ||
          std::memcmp(v->value.sequence->data, want.data(), want.size()) != 0) {
        return Refused("signingCertificateV2 does not name the document certificate");
      }
    } else {
      return Refused(
          "an attribute other than contentType, messageDigest and "
          "signingCertificateV2, or one twice");
    }
  }
  if (!content_type || !message_digest || !signing_cert) {
    return Refused("contentType, messageDigest and signingCertificateV2 are all required");
  }
  return common::Sha256Of(der);
}

common::Result<std::string> SignDocumentDigest(const DocumentSigning& document,
                                               const common::Hash& digest) {
  common::EvpPkeyCtxPtr ctx{EVP_PKEY_CTX_new_from_pkey(nullptr, document.key.get(), nullptr)};
  size_t len = 0;
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) != 1 ||
      EVP_PKEY_sign(ctx.get(), nullptr, &len, digest.data(), digest.size()) != 1) {
    return common::Error::Unavailable("document signature: " + common::OpenSslError());
  }
  std::string sig(len, '\0');
  if (EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, digest.data(),
                    digest.size()) != 1) {
    return common::Error::Unavailable("document signature: " + common::OpenSslError());
  }
  sig.resize(len);
  return sig;
}

}  // namespace signer
