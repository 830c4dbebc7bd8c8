// A message's authentication results (DKIM, SPF, DMARC) as the notary records them, and their
// byte encoding, whose SHA-256 the authentication record binds into the log
// (docs/sender-evidence.md, docs/evidence-format.md).
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "sender/arc.h"
#include "sender/dkim.h"

namespace notary {

struct SpfOutcome {
  std::string identity;   // "mailfrom" or "helo": which identity was checked (RFC 7208 §2.3)
  std::string domain;     // the domain whose policy was evaluated
  std::string client_ip;  // the address it was evaluated for
  std::string result;     // pass, fail, softfail, neutral, none, temperror, permerror
  std::string reason;

  bool operator==(const SpfOutcome&) const = default;
};

struct DmarcOutcome {
  std::string domain;      // the From: header's domain
  std::string org_domain;  // its organizational domain (public suffix list)
  std::string policy;      // none, quarantine, reject; "" without a record
  std::string result;      // pass, fail, none, temperror, permerror
  bool dkim_aligned = false;
  bool spf_aligned = false;

  bool operator==(const DmarcOutcome&) const = default;
};

struct AuthenticationResults {
  static constexpr size_t kMaxFieldBytes = 1024;

  std::vector<DkimSignatureResult> dkim;  // header order, at most 16
  std::optional<SpfOutcome> spf;          // nullopt when not evaluated
  std::optional<DmarcOutcome> dmarc;      // nullopt when not evaluated
  // nullopt when the message has no ARC header (or the record predates ARC: version 1).
  std::optional<ArcOutcome> arc;

  bool operator==(const AuthenticationResults&) const = default;

  // "email-notary/auth-results/v1\n" followed by the fields, or, with an ARC outcome,
  // "email-notary/auth-results/v2\n", the same fields and the ARC section
  // (docs/sender-evidence.md). kInvalidInput for a text field over 1,024 bytes, more than 16
  // signatures or more than 50 ARC sets. Decode reads both versions.
  common::Result<std::string> Encode() const;
  static common::Result<AuthenticationResults> Decode(std::string_view bytes);
};

}  // namespace notary
