#include "token_signer.h"

#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>

#include <climits>
#include <cstdio>
#include <ctime>

#include "common/ossl.h"

namespace notary::tsa_internal {
namespace {

using Asn1StringPtr = std::unique_ptr<ASN1_STRING, common::Deleter<ASN1_STRING_free>>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, common::Deleter<GENERAL_NAME_free>>;
using TsAccuracyPtr = std::unique_ptr<TS_ACCURACY, common::Deleter<TS_ACCURACY_free>>;
using TsStatusInfoPtr = std::unique_ptr<TS_STATUS_INFO, common::Deleter<TS_STATUS_INFO_free>>;
using EssV2Ptr = std::unique_ptr<ESS_SIGNING_CERT_V2, common::Deleter<ESS_SIGNING_CERT_V2_free>>;

common::Error Failed(const char* what) {
  return common::Error::Internal(std::string(what) + ": " + common::OpenSslError());
}

// ASN1_INTEGER_set through a temporary, for TS_ACCURACY's copying setters.
bool SetAccuracyPart(TS_ACCURACY* acc, int (*set)(TS_ACCURACY*, const ASN1_INTEGER*),
                     uint32_t value) {
  if (value == 0) return true;
  Asn1IntegerPtr v{ASN1_INTEGER_new()};
  return v && ASN1_INTEGER_set(v.get(), static_cast<long>(value)) == 1 && set(acc, v.get()) == 1;
}

// The parts of a TSTInfo that never change: version, policy, accuracy, TSA name. The same
// values TS_RESP_create_response would set (ts_RESP_create_tst_info).
TsTstInfoPtr NewTstTemplate(const TsaSignerConfig& c) {
  TsTstInfoPtr tst{TS_TST_INFO_new()};
  if (!tst || TS_TST_INFO_set_version(tst.get(), 1) != 1 ||
      TS_TST_INFO_set_policy_id(tst.get(), const_cast<ASN1_OBJECT*>(c.policy)) != 1) {
    return nullptr;
  }
  if (c.accuracy_seconds != 0 || c.accuracy_millis != 0 || c.accuracy_micros != 0) {
    TsAccuracyPtr acc{TS_ACCURACY_new()};
    if (!acc || !SetAccuracyPart(acc.get(), TS_ACCURACY_set_seconds, c.accuracy_seconds) ||
        !SetAccuracyPart(acc.get(), TS_ACCURACY_set_millis, c.accuracy_millis) ||
        !SetAccuracyPart(acc.get(), TS_ACCURACY_set_micros, c.accuracy_micros) ||
        TS_TST_INFO_set_accuracy(tst.get(), acc.get()) != 1) {
      return nullptr;
    }
  }
  GeneralNamePtr name{GENERAL_NAME_new()};
  if (!name) return nullptr;
  X509_NAME* subject = X509_NAME_dup(X509_get_subject_name(c.cert));
  if (subject == nullptr) return nullptr;
  GENERAL_NAME_set0_value(name.get(), GEN_DIRNAME, subject);
  if (TS_TST_INFO_set_tsa(tst.get(), name.get()) != 1) return nullptr;
  return tst;
}

}  // namespace

common::Result<std::string> EncodeSigningCertV2(const EVP_MD* md, X509* cert) {
  // As ts_RESP_sign does: the signer certificate only, without IssuerSerial.
  EssV2Ptr sc{OSSL_ESS_signing_cert_v2_new_init(md, cert, nullptr, 0)};
  if (!sc) return Failed("ESSCertIDv2");
  std::string der = EncodeDer<ESS_SIGNING_CERT_V2>(i2d_ESS_SIGNING_CERT_V2, sc.get());
  if (der.empty()) return Failed("ESSCertIDv2 encoding");
  return der;
}

common::Result<std::unique_ptr<TsaTokenSigner>> TsaTokenSigner::Create(const TsaSignerConfig& c) {
  std::unique_ptr<TsaTokenSigner> s{new TsaTokenSigner()};
  s->config_ = &c;
  s->tst_ = NewTstTemplate(c);
  s->tst_nonce_ = NewTstTemplate(c);
  if (!s->tst_ || !s->tst_nonce_) return Failed("TSTInfo template");

  // The SignedData, as ts_RESP_sign builds it: version 3, one SignerInfo with the signer
  // digest, signed attributes contentType, signingCertificateV2 and (set per token)
  // signingTime and messageDigest, encapsulated content of type id-ct-TSTInfo.
  Pkcs7Ptr p7{PKCS7_new()};
  if (!p7 || PKCS7_set_type(p7.get(), NID_pkcs7_signed) != 1 ||
      ASN1_INTEGER_set(p7->d.sign->version, 3) != 1) {
    return Failed("PKCS7 template");
  }
  PKCS7_SIGNER_INFO* si = PKCS7_add_signature(p7.get(), c.cert, c.key, c.sha256);
  if (si == nullptr) return Failed("PKCS7_add_signature");
  if (PKCS7_add_signed_attribute(si, NID_pkcs9_contentType, V_ASN1_OBJECT,
                                 OBJ_nid2obj(NID_id_smime_ct_TSTInfo)) != 1) {
    return Failed("contentType attribute");
  }
  Asn1StringPtr ess{ASN1_STRING_new()};
  if (!ess ||
      ASN1_STRING_set(ess.get(), c.signing_cert_v2_der.data(),
                      static_cast<int>(c.signing_cert_v2_der.size())) != 1 ||
      PKCS7_add_signed_attribute(si, NID_id_smime_aa_signingCertificateV2, V_ASN1_SEQUENCE,
                                 ess.get()) != 1) {
    return Failed("signingCertificateV2 attribute");
  }
  ess.release();  // owned by the attribute now
  Pkcs7Ptr content{PKCS7_new()};
  ASN1_OCTET_STRING* octets = ASN1_OCTET_STRING_new();
  if (!content || octets == nullptr || (content->d.other = ASN1_TYPE_new()) == nullptr) {
    ASN1_OCTET_STRING_free(octets);
    return Failed("PKCS7 content");
  }
  content->type = OBJ_nid2obj(NID_id_smime_ct_TSTInfo);
  ASN1_TYPE_set(content->d.other, V_ASN1_OCTET_STRING, octets);
  if (PKCS7_set_content(p7.get(), content.get()) != 1) return Failed("PKCS7_set_content");
  content.release();
  s->signer_info_ = si;
  s->content_ = octets;

  s->response_.reset(TS_RESP_new());
  TsStatusInfoPtr status{TS_STATUS_INFO_new()};
  if (!s->response_ || !status || TS_STATUS_INFO_set_status(status.get(), TS_STATUS_GRANTED) != 1 ||
      TS_RESP_set_status_info(s->response_.get(), status.get()) != 1) {
    return Failed("TimeStampResp template");
  }
  // The response owns the SignedData from here; its TSTInfo cache stays empty (it is not
  // part of the encoding).
  TS_RESP_set_tst_info(s->response_.get(), p7.release(), nullptr);

  s->certs_.reset(sk_X509_new_null());
  if (!s->certs_ || sk_X509_push(s->certs_.get(), c.cert) == 0) return Failed("certificates");
  X509_up_ref(c.cert);
  for (int i = 0; i < sk_X509_num(c.chain); ++i) {
    X509* x = sk_X509_value(c.chain, i);
    if (sk_X509_push(s->certs_.get(), x) == 0) return Failed("certificates");
    X509_up_ref(x);
  }

  s->sign_ctx_.reset(EVP_PKEY_CTX_new_from_pkey(nullptr, c.key, nullptr));
  const bool external = c.sign != nullptr;
  if (!s->sign_ctx_ ||
      (external ? EVP_PKEY_verify_init(s->sign_ctx_.get())
                : EVP_PKEY_sign_init(s->sign_ctx_.get())) != 1 ||
      EVP_PKEY_CTX_set_signature_md(s->sign_ctx_.get(), c.sha256) != 1) {
    return Failed("signing context");
  }
  s->md_ctx_.reset(EVP_MD_CTX_new());
  s->serial_.reset(ASN1_INTEGER_new());
  s->gen_time_.reset(ASN1_GENERALIZEDTIME_new());
  if (!s->md_ctx_ || !s->serial_ || !s->gen_time_) return Failed("allocation");
  s->signature_.resize(static_cast<size_t>(EVP_PKEY_get_size(c.key)));
  return s;
}

TsaTokenSigner::~TsaTokenSigner() {
  // certReq lends certs_ to the SignedData only while encoding; make sure it is not freed
  // twice if an encoding was interrupted.
  if (response_) {
    PKCS7* p7 = TS_RESP_get_token(response_.get());
    if (p7 != nullptr && p7->d.sign->cert == certs_.get()) p7->d.sign->cert = nullptr;
  }
}

// 127 random bits per serial (top bit cleared: the INTEGER stays positive), as before;
// unique with overwhelming probability and revealing nothing about the number issued.
bool TsaTokenSigner::NextSerial() {
  constexpr size_t kBytes = 16;
  if (random_used_ + kBytes > random_.size()) {
    if (RAND_bytes(random_.data(), static_cast<int>(random_.size())) != 1) return false;
    random_used_ = 0;
  }
  unsigned char* b = random_.data() + random_used_;
  b[0] &= 0x7f;
  size_t skip = 0;
  while (skip + 1 < kBytes && b[skip] == 0) ++skip;  // DER INTEGERs have no leading zeros
  random_used_ += kBytes;
  return ASN1_STRING_set(serial_.get(), b + skip, static_cast<int>(kBytes - skip)) == 1;
}

// GeneralizedTime with microseconds, trailing zeros dropped (DER), as OpenSSL's responder
// writes it with clock precision 6.
bool TsaTokenSigner::SetTime(TS_TST_INFO* tst, int64_t now_us) {
  const time_t sec = static_cast<time_t>(now_us / 1'000'000);
  const long usec = static_cast<long>(now_us % 1'000'000);
  struct tm tm {};
  if (gmtime_r(&sec, &tm) == nullptr || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
    return false;
  }
  char text[32];
  int n = std::snprintf(text, sizeof text, "%04d%02d%02d%02d%02d%02d.%06ldZ", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
  if (n != 22) return false;
  int end = 21;  // index of 'Z'
  while (text[end - 1] == '0') --end;
  if (text[end - 1] == '.') --end;
  text[end++] = 'Z';
  return ASN1_STRING_set(gen_time_.get(), text, end) == 1 &&
         TS_TST_INFO_set_time(tst, gen_time_.get()) == 1;
}

common::Result<std::string> TsaTokenSigner::Sign(TS_REQ* request, int64_t now_us) {
  const ASN1_INTEGER* nonce = TS_REQ_get_nonce(request);
  TS_TST_INFO* tst = nonce != nullptr ? tst_nonce_.get() : tst_.get();

  // messageImprint: echoed as received (algorithm, parameters NULL or absent, digest).
  TS_MSG_IMPRINT* in = TS_REQ_get_msg_imprint(request);
  const ASN1_OBJECT* alg_obj = nullptr;
  int param_type = V_ASN1_UNDEF;
  const void* param = nullptr;
  X509_ALGOR_get0(&alg_obj, &param_type, &param, TS_MSG_IMPRINT_get_algo(in));
  ASN1_OCTET_STRING* digest = TS_MSG_IMPRINT_get_msg(in);
  TS_MSG_IMPRINT* out = TS_TST_INFO_get_msg_imprint(tst);
  if (X509_ALGOR_set0(TS_MSG_IMPRINT_get_algo(out), OBJ_nid2obj(OBJ_obj2nid(alg_obj)),
                      param_type == V_ASN1_NULL ? V_ASN1_NULL : V_ASN1_UNDEF, nullptr) != 1 ||
      TS_MSG_IMPRINT_set_msg(out, digest->data, digest->length) != 1) {
    return Failed("messageImprint");
  }
  if (!NextSerial() || TS_TST_INFO_set_serial(tst, serial_.get()) != 1) return Failed("serial");
  if (!SetTime(tst, now_us)) return Failed("genTime");
  if (nonce != nullptr && TS_TST_INFO_set_nonce(tst, nonce) != 1) return Failed("nonce");

  // eContent = DER TSTInfo.
  const int len = i2d_TS_TST_INFO(tst, nullptr);
  if (len <= 0) return Failed("TSTInfo encoding");
  buffer_.resize(static_cast<size_t>(len));
  unsigned char* p = buffer_.data();
  if (i2d_TS_TST_INFO(tst, &p) != len ||
      ASN1_OCTET_STRING_set(content_, buffer_.data(), len) != 1) {
    return Failed("TSTInfo encoding");
  }

  // signingTime and messageDigest, replacing the previous token's values in place.
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_DigestInit_ex2(md_ctx_.get(), config_->sha256, nullptr) != 1 ||
      EVP_DigestUpdate(md_ctx_.get(), buffer_.data(), buffer_.size()) != 1 ||
      EVP_DigestFinal_ex(md_ctx_.get(), md, &md_len) != 1) {
    return Failed("content digest");
  }
  ASN1_TIME* signing_time = ASN1_TIME_set(nullptr, static_cast<time_t>(now_us / 1'000'000));
  if (signing_time == nullptr ||
      PKCS7_add_signed_attribute(signer_info_, NID_pkcs9_signingTime, signing_time->type,
                                 signing_time) != 1) {
    ASN1_TIME_free(signing_time);
    return Failed("signingTime attribute");
  }
  ASN1_OCTET_STRING* digest_value = ASN1_OCTET_STRING_new();
  if (digest_value == nullptr || ASN1_OCTET_STRING_set(digest_value, md, md_len) != 1 ||
      PKCS7_add_signed_attribute(signer_info_, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING,
                                 digest_value) != 1) {
    ASN1_OCTET_STRING_free(digest_value);
    return Failed("messageDigest attribute");
  }

  // The signature over the DER SET OF signed attributes (PKCS7_ATTR_SIGN sorts them and
  // keeps that order for the SignerInfo's own encoding, as PKCS7_SIGNER_INFO_sign does).
  unsigned char* attrs = nullptr;
  const int attrs_len = ASN1_item_i2d(reinterpret_cast<ASN1_VALUE*>(signer_info_->auth_attr),
                                      &attrs, ASN1_ITEM_rptr(PKCS7_ATTR_SIGN));
  if (attrs_len <= 0) return Failed("signed attributes");
  const bool hashed = EVP_DigestInit_ex2(md_ctx_.get(), config_->sha256, nullptr) == 1 &&
                      EVP_DigestUpdate(md_ctx_.get(), attrs, static_cast<size_t>(attrs_len)) == 1 &&
                      EVP_DigestFinal_ex(md_ctx_.get(), md, &md_len) == 1;
  if (config_->sign != nullptr) {
    // Made elsewhere, over the same bytes; checked here so that a signer holding another key
    // (or answering garbage) costs a rejection, never a token that does not verify.
    auto signature =
        hashed ? (*config_->sign)(std::string_view(reinterpret_cast<const char*>(attrs),
                                                   static_cast<size_t>(attrs_len)),
                                  std::string_view(reinterpret_cast<const char*>(buffer_.data()),
                                                   buffer_.size()))
               : common::Result<std::string>(Failed("signed attributes digest"));
    OPENSSL_free(attrs);
    if (!signature.ok()) return signature.error();
    const auto* sig = reinterpret_cast<const unsigned char*>(signature->data());
    if (signature->empty() || signature->size() > static_cast<size_t>(INT_MAX) ||
        EVP_PKEY_verify(sign_ctx_.get(), sig, signature->size(), md, md_len) != 1) {
      ERR_clear_error();
      return common::Error::VerifyFailed(
          "the external signature does not verify with the TSA certificate's key");
    }
    if (ASN1_STRING_set(signer_info_->enc_digest, sig, static_cast<int>(signature->size())) != 1) {
      return Failed("signature");
    }
  } else {
    OPENSSL_free(attrs);
    size_t sig_len = signature_.size();
    if (!hashed || EVP_PKEY_sign(sign_ctx_.get(), signature_.data(), &sig_len, md, md_len) != 1 ||
        ASN1_STRING_set(signer_info_->enc_digest, signature_.data(), static_cast<int>(sig_len)) !=
            1) {
      return Failed("signature");
    }
  }

  // certReq: the TSA certificate and chain travel in the SignedData for this encoding only.
  PKCS7* p7 = TS_RESP_get_token(response_.get());
  if (TS_REQ_get_cert_req(request)) p7->d.sign->cert = certs_.get();
  std::string der = EncodeDer<TS_RESP>(i2d_TS_RESP, response_.get());
  p7->d.sign->cert = nullptr;
  if (der.empty()) return Failed("TimeStampResp encoding");
  return der;
}

}  // namespace notary::tsa_internal
