#include "tsa_authority/tst_signing_check.h"

#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>

#include <climits>
#include <cstring>
#include <ctime>

#include "common/sha256.h"
#include "token_signer.h"
#include "tsa/openssl_ts.h"

namespace notary {
namespace {

common::Error Malformed(std::string why) {
  ERR_clear_error();  // what OpenSSL queued is in `why`, in our words
  return common::Error::InvalidInput("TSA signing request: " + std::move(why));
}

common::Error Refused(std::string why) {
  return common::Error::PermissionDenied("TSA signing request refused: " + std::move(why));
}

// |a - b| <= skew without overflow for any two int64 values.
bool Within(int64_t a, int64_t b, int64_t skew) {
  const uint64_t d = a >= b ? static_cast<uint64_t>(a) - static_cast<uint64_t>(b)
                            : static_cast<uint64_t>(b) - static_cast<uint64_t>(a);
  return d <= static_cast<uint64_t>(skew);
}

// signingTime is UTCTime or GeneralizedTime (RFC 5652 §11.3), whole seconds.
common::Result<int64_t> TimeMicros(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return Malformed("signingTime does not parse");
  const time_t sec = timegm(&tm);
  if (sec == static_cast<time_t>(-1)) return Malformed("signingTime out of range");
  return static_cast<int64_t>(sec) * 1'000'000;
}

}  // namespace

void FreeAttributes(STACK_OF(X509_ATTRIBUTE) * s) {
  sk_X509_ATTRIBUTE_pop_free(s, X509_ATTRIBUTE_free);
}

// The SET OF Attribute, decoded as the signature input it is (PKCS7_ATTR_SIGN: universal
// SET, tag 0x31, sorted on encoding), and accepted only if encoding it again gives the same
// bytes: DER, not merely BER, so that what is checked is what is signed.
common::Result<AttributesPtr> DecodeDerSignedAttributes(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* end = p + der.size();
  ERR_clear_error();
  AttributesPtr attrs{reinterpret_cast<STACK_OF(X509_ATTRIBUTE)*>(
      ASN1_item_d2i(nullptr, &p, static_cast<long>(der.size()), ASN1_ITEM_rptr(PKCS7_ATTR_SIGN)))};
  if (!attrs) {
    ERR_clear_error();
    return common::Error::InvalidInput("signed attributes are not a SET OF Attribute");
  }
  if (p != end) return common::Error::InvalidInput("trailing bytes after the signed attributes");
  unsigned char* again = nullptr;
  const int len = ASN1_item_i2d(reinterpret_cast<ASN1_VALUE*>(attrs.get()), &again,
                                ASN1_ITEM_rptr(PKCS7_ATTR_SIGN));
  const bool same = len > 0 && static_cast<size_t>(len) == der.size() &&
                    std::memcmp(again, der.data(), der.size()) == 0;
  OPENSSL_free(again);
  if (!same) return common::Error::InvalidInput("signed attributes are not DER");
  return attrs;
}

common::Result<common::Hash> CheckTstSigningRequest(std::string_view signed_attrs_der,
                                                    std::string_view tst_info_der,
                                                    const TstSigningPolicy& policy) {
  if (signed_attrs_der.size() > kMaxTstSigningInputBytes ||
      tst_info_der.size() > kMaxTstSigningInputBytes) {
    return Malformed("input over " + std::to_string(kMaxTstSigningInputBytes) + " bytes");
  }
  if (policy.max_skew_us < 0) return common::Error::InvalidInput("negative max_skew_us");

  // The TSTInfo: exactly one, DER (OpenSSL writes back the same bytes), version 1, dated
  // at the signer's clock.
  auto tst = tsa_internal::DecodeAll<TS_TST_INFO, TS_TST_INFO_free>(d2i_TS_TST_INFO, tst_info_der);
  if (!tst) return Malformed("not exactly one TSTInfo");
  if (tsa_internal::EncodeDer<TS_TST_INFO>(i2d_TS_TST_INFO, tst.get()) != tst_info_der) {
    return Malformed("TSTInfo is not DER");
  }
  if (TS_TST_INFO_get_version(tst.get()) != 1) return Refused("TSTInfo version is not 1");
  const auto gen_time = tsa_internal::GeneralizedTimeMicros(TS_TST_INFO_get_time(tst.get()));
  if (!gen_time) return Malformed("genTime is not a UTC GeneralizedTime");
  if (!Within(*gen_time, policy.now_us, policy.max_skew_us)) {
    return Refused("genTime is off the signer's clock by more than " +
                   std::to_string(policy.max_skew_us / 1'000'000) + " s");
  }

  // The attribute signingCertificateV2 must have: that of TsaResponder for this certificate.
  ASSIGN_OR_RETURN(auto certs, tsa_internal::ReadCertificates(policy.tsa_cert_pem, "policy"));
  if (sk_X509_num(certs.get()) != 1) {
    return common::Error::InvalidInput("policy: tsa_cert_pem must hold exactly one certificate");
  }
  ASSIGN_OR_RETURN(const std::string expected_ess,
                   tsa_internal::EncodeSigningCertV2(EVP_sha256(), sk_X509_value(certs.get(), 0)));
  const common::Hash content_digest = common::Sha256Of(tst_info_der);

  auto decoded = DecodeDerSignedAttributes(signed_attrs_der);
  if (!decoded.ok()) return Malformed(decoded.error().message());
  AttributesPtr attrs = std::move(*decoded);
  bool content_type = false, message_digest = false, signing_cert = false, signing_time = false;
  for (int i = 0; i < sk_X509_ATTRIBUTE_num(attrs.get()); ++i) {
    X509_ATTRIBUTE* attr = sk_X509_ATTRIBUTE_value(attrs.get(), i);
    const ASN1_OBJECT* type = X509_ATTRIBUTE_get0_object(attr);
    const int nid = OBJ_obj2nid(type);
    // Each attribute once, with one value (RFC 5652 §11: contentType, messageDigest and
    // signingTime are single-valued; so is the ESS attribute as TsaResponder writes it).
    bool* seen = nid == NID_pkcs9_contentType                  ? &content_type
                 : nid == NID_pkcs9_messageDigest              ? &message_digest
                 : nid == NID_id_smime_aa_signingCertificateV2 ? &signing_cert
                 : nid == NID_pkcs9_signingTime                ? &signing_time
                                                               : nullptr;
    if (seen == nullptr) {
      return Refused("unexpected attribute " + tsa_internal::ObjectText(type));
    }
    if (*seen) return Refused("attribute " + tsa_internal::ObjectText(type) + " twice");
    *seen = true;
    if (X509_ATTRIBUTE_count(attr) != 1) {
      return Refused("attribute " + tsa_internal::ObjectText(type) + " without exactly one value");
    }
    const ASN1_TYPE* value = X509_ATTRIBUTE_get0_type(attr, 0);
    const int value_type = ASN1_TYPE_get(value);
    switch (nid) {
      case NID_pkcs9_contentType:
        if (value_type != V_ASN1_OBJECT ||
            OBJ_obj2nid(value->value.object) != NID_id_smime_ct_TSTInfo) {
          return Refused("contentType is not id-ct-TSTInfo");
        }
        break;
      case NID_pkcs9_messageDigest:
        if (value_type != V_ASN1_OCTET_STRING ||
            ASN1_STRING_length(value->value.octet_string) !=
                static_cast<int>(content_digest.size()) ||
            std::memcmp(ASN1_STRING_get0_data(value->value.octet_string), content_digest.data(),
                        content_digest.size()) != 0) {
          return Refused("messageDigest is not SHA-256 of the TSTInfo");
        }
        break;
      case NID_id_smime_aa_signingCertificateV2:
        // The value is kept as its DER SEQUENCE, so equal bytes mean the same ESSCertIDv2.
        if (value_type != V_ASN1_SEQUENCE ||
            std::string_view(
                reinterpret_cast<const char*>(ASN1_STRING_get0_data(value->value.sequence)),
                static_cast<size_t>(ASN1_STRING_length(value->value.sequence))) != expected_ess) {
          return Refused("signingCertificateV2 does not name the TSA certificate");
        }
        break;
      case NID_pkcs9_signingTime: {
        if (value_type != V_ASN1_UTCTIME && value_type != V_ASN1_GENERALIZEDTIME) {
          return Malformed("signingTime is not a time");
        }
        // Both string types are ASN1_TIME.
        ASSIGN_OR_RETURN(const int64_t at, TimeMicros(value->value.utctime));
        // Whole seconds, truncated: allow the second that was cut off.
        if (!Within(at, policy.now_us, policy.max_skew_us) &&
            !Within(at + 1'000'000, policy.now_us, policy.max_skew_us)) {
          return Refused("signingTime is off the signer's clock");
        }
        break;
      }
      default:
        break;
    }
  }
  if (!content_type) return Refused("no contentType attribute");
  if (!message_digest) return Refused("no messageDigest attribute");
  if (!signing_cert) return Refused("no signingCertificateV2 attribute");
  return common::Sha256Of(signed_attrs_der);
}

}  // namespace notary
