#include "signer/document_signing.h"

#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "common/ossl.h"
#include "common/sha256.h"
#include "common/signing_key_file.h"
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

namespace {

// The first certificate of the PEM at `cert_path`, its text kept in `d`.
common::Result<common::X509Ptr> ReadCertificate(const std::string& cert_path, DocumentSigning& d) {
  ASSIGN_OR_RETURN(d.cert_pem, ReadFile(cert_path));
  common::BioPtr cb{BIO_new_mem_buf(d.cert_pem.data(), static_cast<int>(d.cert_pem.size()))};
  common::X509Ptr cert{PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr)};
  if (!cert) {
    ERR_clear_error();
    return common::Error::InvalidInput(cert_path + ": no PEM certificate");
  }
  return cert;
}

common::Status SetSigningCertificate(X509* cert, DocumentSigning& d) {
  EssV2Ptr ess{OSSL_ESS_signing_cert_v2_new_init(EVP_sha256(), cert, nullptr, 0)};
  unsigned char* der = nullptr;
  const int len = ess ? i2d_ESS_SIGNING_CERT_V2(ess.get(), &der) : -1;
  if (len <= 0) return common::Error::Internal("SigningCertificateV2: " + common::OpenSslError());
  d.signing_cert_v2_der.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return common::Ok();
}

}  // namespace

common::Result<DocumentSigning> OpenDocumentSigning(const std::string& key_path,
                                                    const std::string& cert_path) {
  DocumentSigning d;
  ASSIGN_OR_RETURN(common::X509Ptr cert, ReadCertificate(cert_path, d));
  ASSIGN_OR_RETURN(d.key, common::ReadSigningKeyFile(key_path, cert.get(), cert_path));
  RETURN_IF_ERROR(SetSigningCertificate(cert.get(), d));
  return d;
}

std::string TokenPublicKeyPem(const Pkcs11EcdsaP256Key& key) {
  const std::string& der = key.public_spki_der();
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  common::EvpPkeyPtr pub{d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()))};
  common::BioPtr bio{BIO_new(BIO_s_mem())};
  if (!pub || !bio || PEM_write_bio_PUBKEY(bio.get(), pub.get()) != 1) return "";
  return common::BioContents(bio.get());
}

common::Result<DocumentSigning> OpenTokenDocumentSigning(std::unique_ptr<Pkcs11EcdsaP256Key> key,
                                                         const std::string& cert_path) {
  DocumentSigning d;
  ASSIGN_OR_RETURN(common::X509Ptr cert, ReadCertificate(cert_path, d));
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(X509_get0_pubkey(cert.get()), &der);
  const bool same = len > 0 && std::string_view(reinterpret_cast<char*>(der),
                                                static_cast<size_t>(len)) == key->public_spki_der();
  OPENSSL_free(der);
  if (!same) {
    return common::Error::InvalidInput(
        cert_path + " is not the certificate of the token's document key " + key->uri() +
        ": have one issued for its public key,\n" + TokenPublicKeyPem(*key));
  }
  RETURN_IF_ERROR(SetSigningCertificate(cert.get(), d));
  d.token = std::move(key);
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
  if (document.token) return document.token->SignDigest(digest);
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
