// The operator's document certificate and, without notary-signer, its key (notaryd
// --document-cert, --document-key): what signs certificate.pdf (production_certificate.h).
//
// Thread-safety: the returned functions may be called from several threads at once.
#pragma once

#include <string>

#include "common/result.h"
#include "pdf/signature.h"

namespace pipeline {

// The chain of `cert_path` (PEM certificates, the signer's first), `sign` and `timestamp`
// unset: with notary-signer, which holds the key, notaryd sets `sign` to ask it.
// Errors: kNotFound, kInvalidInput for a file without a PEM certificate.
common::Result<pdf::PadesSigner> LoadDocumentChain(const std::string& cert_path);

// `cert_path`: PEM certificates, the signer's first, then its chain. `key_path`: its private
// key (PEM, EC P-256/P-384 or RSA of at least 2048 bits), readable by its owner only.
// Returns a signer whose `sign` signs with that key (`timestamp` left unset).
// Errors: kNotFound for a missing file; kInvalidInput for a file that does not parse, a key
//   readable by group or others, a weak key, or a key that is not the certificate's.
common::Result<pdf::PadesSigner> LoadDocumentSigner(const std::string& cert_path,
                                                    const std::string& key_path);

// notaryd's start-up check that `signer.sign` (notary-signer's document key) signs for the
// chain's certificate: a one-line PDF signed without a time-stamp, whose signature SignPades
// checks against the certificate. Errors: kInvalidInput naming the mismatch (the signer
// refused, or its signature is another key's), and `sign`'s own (kUnavailable: the signer is
// down).
common::Status CheckDocumentSigner(const pdf::PadesSigner& signer);

}  // namespace pipeline
