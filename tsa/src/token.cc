#include "tsa/token.h"

#include <openssl/err.h>
#include <openssl/objects.h>

#include <array>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>

#include "common/memo.h"
#include "common/ossl.h"
#include "tsa/openssl_ts.h"

namespace notary {

namespace tsa_internal {

common::BioPtr ReadBio(std::string_view data) {
  // BIO_new_mem_buf refuses a null pointer even for zero bytes.
  const char* p = data.data() != nullptr ? data.data() : "";
  return common::BioPtr{BIO_new_mem_buf(p, static_cast<int>(data.size()))};
}

TsReqPtr DecodeRequest(std::string_view der) {
  return DecodeAll<TS_REQ, TS_REQ_free>(d2i_TS_REQ, der);
}

TsRespPtr DecodeResponse(std::string_view der) {
  return DecodeAll<TS_RESP, TS_RESP_free>(d2i_TS_RESP, der);
}

Pkcs7Ptr DecodePkcs7(std::string_view der) { return DecodeAll<PKCS7, PKCS7_free>(d2i_PKCS7, der); }

const EVP_MD* LegacyMd(TsaHashAlg alg) {
  switch (alg) {
    case TsaHashAlg::kSha256:
      return EVP_sha256();
    case TsaHashAlg::kSha384:
      return EVP_sha384();
    case TsaHashAlg::kSha512:
      return EVP_sha512();
  }
  return EVP_sha256();
}

int HashNid(TsaHashAlg alg) {
  switch (alg) {
    case TsaHashAlg::kSha256:
      return NID_sha256;
    case TsaHashAlg::kSha384:
      return NID_sha384;
    case TsaHashAlg::kSha512:
      return NID_sha512;
  }
  return NID_sha256;
}

std::optional<TsaHashAlg> HashAlgFromNid(int nid) {
  switch (nid) {
    case NID_sha256:
      return TsaHashAlg::kSha256;
    case NID_sha384:
      return TsaHashAlg::kSha384;
    case NID_sha512:
      return TsaHashAlg::kSha512;
    default:
      return std::nullopt;
  }
}

common::Result<X509StackPtr> ReadCertificates(std::string_view pem, std::string_view what) {
  X509StackPtr certs{sk_X509_new_null()};
  if (!certs) return common::Error::Internal("out of memory");
  if (pem.empty()) return certs;
  common::BioPtr bio = ReadBio(pem);
  if (!bio) return common::Error::Internal("out of memory");
  while (true) {
    common::X509Ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)};
    if (!cert) {
      unsigned long err = ERR_peek_last_error();
      if (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE) {
        ERR_clear_error();  // the normal end of the input
        break;
      }
      return common::Error::InvalidInput(std::string(what) +
                                         ": unreadable certificate: " + common::OpenSslError());
    }
    if (sk_X509_push(certs.get(), cert.get()) <= 0) return common::Error::Internal("out of memory");
    cert.release();  // owned by the stack now
  }
  return certs;
}

common::Result<common::EvpPkeyPtr> ReadPrivateKey(std::string_view pem) {
  common::BioPtr bio = ReadBio(pem);
  if (!bio) return common::Error::Internal("out of memory");
  common::EvpPkeyPtr key{PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)};
  if (!key) {
    return common::Error::InvalidInput("unreadable private key: " + common::OpenSslError());
  }
  return key;
}

common::Result<X509StorePtr> MakeTrustStore(std::string_view trusted_pem) {
  ASSIGN_OR_RETURN(auto certs, ReadCertificates(trusted_pem, "trusted CA"));
  if (sk_X509_num(certs.get()) == 0) {
    return common::Error::InvalidInput("no trusted CA certificate given");
  }
  X509StorePtr store{X509_STORE_new()};
  if (!store) return common::Error::Internal("out of memory");
  for (int i = 0; i < sk_X509_num(certs.get()); ++i) {
    if (X509_STORE_add_cert(store.get(), sk_X509_value(certs.get(), i)) != 1) {
      return common::Error::Internal("X509_STORE_add_cert: " + common::OpenSslError());
    }
  }
  return store;
}

std::string IntegerHex(const ASN1_INTEGER* v) {
  BignumPtr bn{ASN1_INTEGER_to_BN(v, nullptr)};
  if (!bn) return {};
  if (BN_is_zero(bn.get())) return "00";
  char* hex = BN_bn2hex(bn.get());
  if (hex == nullptr) return {};
  std::string out(hex);
  OPENSSL_free(hex);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string ObjectText(const ASN1_OBJECT* obj) {
  std::array<char, 128> buf{};
  int len = OBJ_obj2txt(buf.data(), static_cast<int>(buf.size()), obj, 1);
  if (len <= 0) return {};
  if (static_cast<size_t>(len) < buf.size())
    return std::string(buf.data(), static_cast<size_t>(len));
  std::string big(static_cast<size_t>(len) + 1, '\0');
  OBJ_obj2txt(big.data(), len + 1, obj, 1);
  big.resize(static_cast<size_t>(len));
  return big;
}

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

}  // namespace

std::optional<int64_t> GeneralizedTimeMicros(const ASN1_GENERALIZEDTIME* t) {
  if (t == nullptr) return std::nullopt;
  std::string_view s(reinterpret_cast<const char*>(ASN1_STRING_get0_data(t)),
                     static_cast<size_t>(ASN1_STRING_length(t)));
  if (s.size() < 15 || s.back() != 'Z') return std::nullopt;
  auto num = [&](size_t pos, size_t len) -> int64_t {
    int64_t v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  const int64_t year = num(0, 4), month = num(4, 2), day = num(6, 2);
  const int64_t hour = num(8, 2), minute = num(10, 2), second = num(12, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 ||
      minute < 0 || minute > 59 || second < 0 || second > 60) {
    return std::nullopt;
  }
  int64_t micros = 0;
  std::string_view rest = s.substr(14, s.size() - 15);
  if (!rest.empty()) {
    if (rest[0] != '.' || rest.size() < 2) return std::nullopt;
    int64_t scale = 100000;
    for (size_t i = 1; i < rest.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(rest[i]))) return std::nullopt;
      if (scale > 0) micros += (rest[i] - '0') * scale;
      scale /= 10;
    }
  }
  // A real calendar day: DaysFromCivil would carry 31 February into March.
  const std::chrono::year_month_day ymd{std::chrono::year{static_cast<int>(year)},
                                        std::chrono::month{static_cast<unsigned>(month)},
                                        std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return std::nullopt;
  const int64_t days = DaysFromCivil(year, month, day);
  return ((days * 24 + hour) * 60 + minute) * 60'000'000 + second * 1'000'000 + micros;
}

common::Result<TokenInfo> TokenInfoOf(PKCS7* token) {
  TsTstInfoPtr tst{PKCS7_to_TS_TST_INFO(token)};
  if (!tst) {
    return common::Error::InvalidInput("not a time-stamp token: " + common::OpenSslError());
  }
  TokenInfo info;
  info.token_der = EncodeDer<PKCS7>(i2d_PKCS7, token);
  if (info.token_der.empty()) return common::Error::Internal("cannot encode the token");

  TS_MSG_IMPRINT* imprint = TS_TST_INFO_get_msg_imprint(tst.get());
  const ASN1_OBJECT* alg_obj = nullptr;
  X509_ALGOR_get0(&alg_obj, nullptr, nullptr, TS_MSG_IMPRINT_get_algo(imprint));
  auto alg = HashAlgFromNid(OBJ_obj2nid(alg_obj));
  if (!alg) {
    return common::Error::InvalidInput("token imprint uses an unsupported hash algorithm " +
                                       ObjectText(alg_obj));
  }
  info.hash_alg = *alg;
  const ASN1_OCTET_STRING* digest = TS_MSG_IMPRINT_get_msg(imprint);
  info.imprint.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(digest)),
                      static_cast<size_t>(ASN1_STRING_length(digest)));

  auto gen_time = GeneralizedTimeMicros(TS_TST_INFO_get_time(tst.get()));
  if (!gen_time) return common::Error::InvalidInput("token genTime is not a UTC GeneralizedTime");
  info.gen_time_us = *gen_time;
  info.serial_hex = IntegerHex(TS_TST_INFO_get_serial(tst.get()));
  info.policy_oid = ObjectText(TS_TST_INFO_get_policy_id(tst.get()));
  if (const ASN1_INTEGER* nonce = TS_TST_INFO_get_nonce(tst.get())) {
    info.nonce_hex = IntegerHex(nonce);
  }
  if (TS_ACCURACY* acc = TS_TST_INFO_get_accuracy(tst.get())) {
    // RFC 3161 §2.4.2: millis and micros are 1..999 (0 tolerated); seconds are bounded here
    // so that genTime ± accuracy cannot overflow. This runs before any signature is checked:
    // the values are hostile until then.
    auto part = [](const ASN1_INTEGER* v, int64_t max) -> std::optional<int64_t> {
      if (v == nullptr) return 0;
      int64_t out = 0;
      if (ASN1_INTEGER_get_int64(&out, v) != 1 || out < 0 || out > max) return std::nullopt;
      return out;
    };
    auto sec = part(TS_ACCURACY_get_seconds(acc), INT32_MAX);
    auto ms = part(TS_ACCURACY_get_millis(acc), 999);
    auto us = part(TS_ACCURACY_get_micros(acc), 999);
    if (!sec || !ms || !us) {
      return common::Error::InvalidInput("token accuracy out of range");
    }
    info.accuracy_us = *sec * 1'000'000 + *ms * 1'000 + *us;
  }
  if (GENERAL_NAME* tsa = TS_TST_INFO_get_tsa(tst.get())) {
    if (tsa->type == GEN_DIRNAME) {
      info.tsa_name = common::NameRfc2253(tsa->d.directoryName);
    } else {
      common::BioPtr bio{BIO_new(BIO_s_mem())};
      if (bio && GENERAL_NAME_print(bio.get(), tsa) == 1) {
        info.tsa_name = common::BioContents(bio.get());
      }
    }
  }
  return info;
}

}  // namespace tsa_internal

std::string_view TsaHashAlgName(TsaHashAlg alg) {
  switch (alg) {
    case TsaHashAlg::kSha256:
      return "sha256";
    case TsaHashAlg::kSha384:
      return "sha384";
    case TsaHashAlg::kSha512:
      return "sha512";
  }
  return "sha256";
}

std::optional<TsaHashAlg> TsaHashAlgFromName(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "sha256" || lower == "sha-256") return TsaHashAlg::kSha256;
  if (lower == "sha384" || lower == "sha-384") return TsaHashAlg::kSha384;
  if (lower == "sha512" || lower == "sha-512") return TsaHashAlg::kSha512;
  return std::nullopt;
}

size_t TsaDigestSize(TsaHashAlg alg) {
  switch (alg) {
    case TsaHashAlg::kSha256:
      return 32;
    case TsaHashAlg::kSha384:
      return 48;
    case TsaHashAlg::kSha512:
      return 64;
  }
  return 32;
}

std::string TsaFailureInfoNames(uint32_t failure_info) {
  static constexpr std::pair<uint32_t, const char*> kNames[] = {
      {tsa_failure::kBadAlg, "badAlg"},
      {tsa_failure::kBadRequest, "badRequest"},
      {tsa_failure::kBadDataFormat, "badDataFormat"},
      {tsa_failure::kTimeNotAvailable, "timeNotAvailable"},
      {tsa_failure::kUnacceptedPolicy, "unacceptedPolicy"},
      {tsa_failure::kUnacceptedExtension, "unacceptedExtension"},
      {tsa_failure::kAddInfoNotAvailable, "addInfoNotAvailable"},
      {tsa_failure::kSystemFailure, "systemFailure"},
  };
  std::string out;
  uint32_t known = 0;
  for (const auto& [bit, name] : kNames) {
    known |= bit;
    if ((failure_info & bit) == 0) continue;
    if (!out.empty()) out += ',';
    out += name;
  }
  for (int bit = 0; bit < 32; ++bit) {
    uint32_t mask = 1u << bit;
    if ((failure_info & mask) == 0 || (known & mask) != 0) continue;
    if (!out.empty()) out += ',';
    out += "bit" + std::to_string(bit);
  }
  return out;
}

common::Result<TsaReplyStatus> ParseReplyStatus(std::string_view reply_der) {
  tsa_internal::TsRespPtr resp = tsa_internal::DecodeResponse(reply_der);
  if (!resp) {
    ERR_clear_error();
    return common::Error::InvalidInput("not a DER TimeStampResp");
  }
  TS_STATUS_INFO* si = TS_RESP_get_status_info(resp.get());
  long status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(si));
  if (status < 0 || status > 5) {
    return common::Error::InvalidInput("unknown PKIStatus " + std::to_string(status));
  }
  TsaReplyStatus out;
  out.status = static_cast<PkiStatus>(status);
  if (const ASN1_BIT_STRING* fi = TS_STATUS_INFO_get0_failure_info(si)) {
    for (int bit = 0; bit < 32; ++bit) {
      if (ASN1_BIT_STRING_get_bit(fi, bit)) out.failure_info |= 1u << bit;
    }
  }
  if (const STACK_OF(ASN1_UTF8STRING)* text = TS_STATUS_INFO_get0_text(si)) {
    for (int i = 0; i < sk_ASN1_UTF8STRING_num(text); ++i) {
      const ASN1_UTF8STRING* s = sk_ASN1_UTF8STRING_value(text, i);
      if (!out.text.empty()) out.text += "; ";
      out.text.append(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                      static_cast<size_t>(ASN1_STRING_length(s)));
    }
  }
  out.has_token = TS_RESP_get_token(resp.get()) != nullptr;
  return out;
}

common::Result<TokenInfo> ParseToken(std::string_view token_der) {
  // Remembered (common/memo.h): the same block's tokens are read once per message of a
  // production, and d2i_PKCS7 decodes each certificate's key with OpenSSL 3.0's decoders.
  static auto* memo = new common::Memo<common::Result<TokenInfo>>(1024);  // lives until exit
  const common::Hash key = common::MemoKey().Add(token_der).Finish();
  if (auto known = memo->Find(key)) return std::move(*known);
  common::Result<TokenInfo> info = [&]() -> common::Result<TokenInfo> {
    tsa_internal::Pkcs7Ptr token = tsa_internal::DecodePkcs7(token_der);
    if (!token) {
      ERR_clear_error();
      return common::Error::InvalidInput("not a DER TimeStampToken");
    }
    auto parsed = tsa_internal::TokenInfoOf(token.get());
    if (parsed.ok()) parsed->token_der = std::string(token_der);  // the caller's exact bytes
    return parsed;
  }();
  memo->Put(key, info);
  return info;
}

}  // namespace notary
