// RFC 3161 time-stamping: the values shared by the responder (tsa_authority/responder.h), the
// client side (tsa/client.h) and the local CA (tsa_authority/local_ca.h). Everything here is built
// on OpenSSL 3's TS API; no ASN.1 is written by hand.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"

namespace notary {

// The default TSA policy OID (TSTInfo.policy). It lies under 2.25, the arc of OIDs derived
// from a UUID (ITU-T X.667, no registration needed): 2.25.<UUID 1798bfbb-e7b2-4c00-9df0-
// bd61cd45234e as an integer>, and ".1" names version 1 of the policy in
// docs/timestamping.md. Operators with their own policy configure theirs.
inline constexpr std::string_view kDefaultTsaPolicyOid =
    "2.25.31365361853157631488661919193880666958.1";

// The message-imprint hash algorithms this notary issues and requests tokens for.
enum class TsaHashAlg { kSha256, kSha384, kSha512 };

// "sha256", "sha384", "sha512".
std::string_view TsaHashAlgName(TsaHashAlg alg);
// Accepts the names above (and "SHA256"-style upper case); nullopt otherwise.
std::optional<TsaHashAlg> TsaHashAlgFromName(std::string_view name);
// 32, 48 or 64.
size_t TsaDigestSize(TsaHashAlg alg);

// PKIStatus (RFC 3161 §2.4.2).
enum class PkiStatus : int {
  kGranted = 0,
  kGrantedWithMods = 1,
  kRejection = 2,
  kWaiting = 3,
  kRevocationWarning = 4,
  kRevocationNotification = 5,
};

// PKIFailureInfo bits (RFC 3161 §2.4.2) as a mask: bit n of the BIT STRING is 1u << n.
namespace tsa_failure {
inline constexpr uint32_t kBadAlg = 1u << 0;
inline constexpr uint32_t kBadRequest = 1u << 2;
inline constexpr uint32_t kBadDataFormat = 1u << 5;
inline constexpr uint32_t kTimeNotAvailable = 1u << 14;
inline constexpr uint32_t kUnacceptedPolicy = 1u << 15;
inline constexpr uint32_t kUnacceptedExtension = 1u << 16;
inline constexpr uint32_t kAddInfoNotAvailable = 1u << 17;
inline constexpr uint32_t kSystemFailure = 1u << 25;
}  // namespace tsa_failure

// "badAlg,badDataFormat" for a mask; "" for 0.
std::string TsaFailureInfoNames(uint32_t failure_info);

// The PKIStatusInfo of a TimeStampResp, and whether it carries a token.
struct TsaReplyStatus {
  PkiStatus status = PkiStatus::kRejection;
  uint32_t failure_info = 0;  // tsa_failure bits
  std::string text;           // statusString entries joined with "; " (untrusted text)
  bool has_token = false;
};

// What a TimeStampToken says. Values come from the token's TSTInfo.
struct TokenInfo {
  std::string token_der;    // the TimeStampToken (CMS ContentInfo, SignedData), DER
  int64_t gen_time_us = 0;  // TSTInfo.genTime, microseconds since 1970-01-01T00:00:00Z
  std::string serial_hex;   // TSTInfo.serialNumber, lower-case hex, big-endian
  std::string policy_oid;   // TSTInfo.policy, dotted decimal
  std::string tsa_name;     // TSTInfo.tsa (RFC 2253 text for a directory name), "" if absent
  TsaHashAlg hash_alg = TsaHashAlg::kSha256;
  std::string imprint;                   // TSTInfo.messageImprint.hashedMessage, raw bytes
  std::optional<std::string> nonce_hex;  // TSTInfo.nonce, lower-case hex, when present
  int64_t accuracy_us = -1;              // TSTInfo.accuracy in microseconds; -1 when absent
  // The certificate that signed the token, RFC 2253 text. Filled by VerifyToken and
  // VerifyReply only (after the signature verified); ParseToken leaves them empty.
  std::string signer_subject;
  std::string signer_issuer;
};

// Reads a TimeStampResp's status without verifying anything.
// Errors: kInvalidInput when `reply_der` is not a DER TimeStampResp.
common::Result<TsaReplyStatus> ParseReplyStatus(std::string_view reply_der);

// Reads a TimeStampToken WITHOUT verifying its signature (for display and indexing).
// Errors: kInvalidInput when it is not a DER token with a TSTInfo, or its imprint uses a
// hash algorithm other than SHA-256/384/512.
common::Result<TokenInfo> ParseToken(std::string_view token_der);

}  // namespace notary
