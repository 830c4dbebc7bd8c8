// unique_ptr aliases for OpenSSL objects, with the matching *_free as deleter.
// Wrap only at calls that transfer ownership (*_new, get1, d2i_*), never get0 results.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "common/deleter.h"

namespace common {

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;

// Every error on this thread's OpenSSL queue as text, with the detail some carry, and clears
// the queue: the one OpenSSL error drain, for error messages.
std::string OpenSslError();

// What a memory BIO holds.
std::string BioContents(BIO* bio);
// An X.509 name as RFC 2253 text, as notary-verify, GET /v1/keys and the time-stamp views print
// it; "" when OpenSSL cannot print it.
std::string NameRfc2253(const X509_NAME* name);
// A certificate as PEM; "" when OpenSSL cannot write it.
std::string CertificatePem(X509* cert);

}  // namespace common
