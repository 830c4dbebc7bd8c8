// Private helpers of the RFC 3161 code (tsa*.cc): unique_ptr aliases for OpenSSL's TS
// types, PEM/DER reading and writing, and TSTInfo field conversions.
//
// Thread-safety: pure functions.
#pragma once

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <climits>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/ossl.h"
#include "common/result.h"
#include "tsa/token.h"

namespace notary::tsa_internal {

inline void FreeX509Stack(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }

using TsReqPtr = std::unique_ptr<TS_REQ, common::Deleter<TS_REQ_free>>;
using TsRespPtr = std::unique_ptr<TS_RESP, common::Deleter<TS_RESP_free>>;
using TsRespCtxPtr = std::unique_ptr<TS_RESP_CTX, common::Deleter<TS_RESP_CTX_free>>;
using TsVerifyCtxPtr = std::unique_ptr<TS_VERIFY_CTX, common::Deleter<TS_VERIFY_CTX_free>>;
using TsTstInfoPtr = std::unique_ptr<TS_TST_INFO, common::Deleter<TS_TST_INFO_free>>;
using TsMsgImprintPtr = std::unique_ptr<TS_MSG_IMPRINT, common::Deleter<TS_MSG_IMPRINT_free>>;
using Pkcs7Ptr = std::unique_ptr<PKCS7, common::Deleter<PKCS7_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, common::Deleter<X509_STORE_free>>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), common::Deleter<FreeX509Stack>>;
using X509AlgorPtr = std::unique_ptr<X509_ALGOR, common::Deleter<X509_ALGOR_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, common::Deleter<X509_NAME_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, common::Deleter<X509_EXTENSION_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, common::Deleter<ASN1_INTEGER_free>>;
using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, common::Deleter<ASN1_OBJECT_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, common::Deleter<BN_free>>;
using EvpMdPtr = std::unique_ptr<EVP_MD, common::Deleter<EVP_MD_free>>;

// A read-only memory BIO over `data` (which must outlive the BIO).
common::BioPtr ReadBio(std::string_view data);

// Decodes exactly one object filling all of `der`; empty on any error or trailing bytes.
template <class T, auto Free>
std::unique_ptr<T, common::Deleter<Free>> DecodeAll(T* (*d2i)(T**, const unsigned char**, long),
                                                    std::string_view der) {
  std::unique_ptr<T, common::Deleter<Free>> obj;
  if (der.empty() || der.size() > static_cast<size_t>(LONG_MAX)) return obj;
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* end = p + der.size();
  obj.reset(d2i(nullptr, &p, static_cast<long>(der.size())));
  if (obj != nullptr && p != end) obj.reset();
  return obj;
}

// DER of `obj` through its i2d function; "" on failure.
template <class T>
std::string EncodeDer(int (*i2d)(const T*, unsigned char**), const T* obj) {
  int len = i2d(obj, nullptr);
  if (len <= 0) return {};
  std::string out(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  if (i2d(obj, &p) != len) return {};
  return out;
}

TsReqPtr DecodeRequest(std::string_view der);
TsRespPtr DecodeResponse(std::string_view der);
Pkcs7Ptr DecodePkcs7(std::string_view der);

// EVP_sha256() and friends (static objects, never freed).
const EVP_MD* LegacyMd(TsaHashAlg alg);
int HashNid(TsaHashAlg alg);
std::optional<TsaHashAlg> HashAlgFromNid(int nid);

// All certificates in `pem` (possibly none). kInvalidInput when a PEM block does not parse.
common::Result<X509StackPtr> ReadCertificates(std::string_view pem, std::string_view what);
common::Result<common::EvpPkeyPtr> ReadPrivateKey(std::string_view pem);

// An X509_STORE trusting every certificate of `trusted_pem` (at least one).
common::Result<X509StorePtr> MakeTrustStore(std::string_view trusted_pem);

// Lower-case hex of an INTEGER's value ("-" prefixed when negative).
std::string IntegerHex(const ASN1_INTEGER* v);
// Dotted decimal.
std::string ObjectText(const ASN1_OBJECT* obj);
// GeneralizedTime "YYYYMMDDHHMMSS[.f*]Z" to microseconds since the epoch (fraction digits
// past the sixth are dropped); nullopt for any other form.
std::optional<int64_t> GeneralizedTimeMicros(const ASN1_GENERALIZEDTIME* t);

// The TSTInfo fields of a parsed token (no verification).
common::Result<TokenInfo> TokenInfoOf(PKCS7* token);

}  // namespace notary::tsa_internal
