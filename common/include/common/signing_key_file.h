// ReadSigningKeyFile: the operator's own signing key from a file (the document key that signs
// certificate.pdf), read the same way by notaryd without a signer (pipeline/document_key.h)
// and by notary-signer (signer/document_signing.h).
//
// Thread-safety: a pure function of the file and certificate.
#pragma once

#include <openssl/x509.h>

#include <string>

#include "common/ossl.h"
#include "common/result.h"

namespace common {

// The PEM private key at `key_path` when the file is readable by its owner only, the key is
// EC of 256 bits or more or RSA of 2048 or more, and it is the key of `cert` (named
// `cert_name` in errors). The file's bytes are wiped from memory once parsed.
// Errors: kNotFound for a missing file; kInvalidInput naming what is wrong otherwise.
Result<EvpPkeyPtr> ReadSigningKeyFile(const std::string& key_path, X509* cert,
                                      const std::string& cert_name);

}  // namespace common
