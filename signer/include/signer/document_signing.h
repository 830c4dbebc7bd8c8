// The operator's document key in notary-signer (notary-signer --document-key, --document-cert):
// what signs certificate.pdf (pdf/signature.h) when notaryd runs with --signer, so that the
// key never sits in the process that parses the internet.
//
// notaryd sends the DER signed attributes of the CMS SignerInfo it built; the signer signs them
// only when they are exactly what pdf::SignPades writes: contentType id-data, a 32-byte
// messageDigest, and signingCertificateV2 naming the document certificate, each once and
// single-valued, nothing else. The content itself (the PDF) is not sent: a compromised notaryd
// can still have any PDF signed as the operator's; what it cannot do is have the key sign a
// certificate, a time-stamp token, or a CMS message of another kind.
//
// Thread-safety: DocumentSigning is used by one thread at a time (the signer's).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/ossl.h"
#include "common/result.h"
#include "signer/pkcs11_key.h"

namespace signer {

inline constexpr size_t kMaxDocumentAttributesBytes = 4096;

struct DocumentSigning {
  common::EvpPkeyPtr key;                     // from a file, or
  std::unique_ptr<Pkcs11EcdsaP256Key> token;  // in a PKCS#11 token (never leaves it)
  std::string cert_pem;                       // the document certificate, then its chain
  std::string signing_cert_v2_der;            // the SigningCertificateV2 value it must carry
};

// `key_path`: PEM private key (EC of 256 bits or more, or RSA of 2048 or more) readable by its
// owner only; `cert_path`: PEM, its certificate first. Errors: kNotFound, or kInvalidInput
// naming what is wrong (mode, parse, strength, a key that is not the certificate's).
common::Result<DocumentSigning> OpenDocumentSigning(const std::string& key_path,
                                                    const std::string& cert_path);
// The same with the key in a token (ECDSA P-256, sensitive, not extractable): kInvalidInput
// when the certificate is not for that key, saying so and giving the key's public key (PEM)
// for a certificate to be issued for it.
common::Result<DocumentSigning> OpenTokenDocumentSigning(std::unique_ptr<Pkcs11EcdsaP256Key> key,
                                                         const std::string& cert_path);
// The PEM SubjectPublicKeyInfo of a token key, for a CA to certify.
std::string TokenPublicKeyPem(const Pkcs11EcdsaP256Key& key);

// SHA-256 of `signed_attrs_der` when it is such a request. Errors: kInvalidInput for malformed
// or oversize input, kPermissionDenied (naming why) for well-formed attributes of another kind.
common::Result<common::Hash> CheckDocumentSigningRequest(std::string_view signed_attrs_der,
                                                         const DocumentSigning& document);

// The signature over `digest`: DER ECDSA-Sig-Value, or RSA PKCS#1 v1.5 with SHA-256.
common::Result<std::string> SignDocumentDigest(const DocumentSigning& document,
                                               const common::Hash& digest);

}  // namespace signer
