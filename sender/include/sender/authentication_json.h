// The `authentication` object of the receipt API (and, later, of evidence.json): the results,
// each DNS answer they used with its DNSSEC status and time, and one sentence per signature in
// plain words (docs/sender-evidence.md).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sender/authentication.h"
#include "sender/dns_answer.h"

namespace notary {

struct AuthenticationView {
  AuthenticationResults results;
  std::vector<DnsAnswer> answers;
  int64_t checked_at_us = 0;
  std::optional<int64_t> leaf_index;  // the authentication record's, once sealed
};

// The archived answer for a signature's key record (selector._domainkey.domain, TXT): the
// first, names compared ASCII case-insensitively, as every view and check takes it (and
// web/public/verify.js). Null when the archive has none.
const DnsAnswer* KeyAnswerFor(const std::vector<DnsAnswer>& answers, const DkimSignatureResult& d);

// "signed by d=acme.example (key s1._domainkey.acme.example as published at
// 2026-12-04T10:00Z, DNSSEC-validated)", or why not.
std::string DescribeDkim(const DkimSignatureResult& result, const DnsAnswer* key_answer);

// "ARC chain intact: 2 hops, the first sealed by d=list.example, which recorded: dkim=pass
// header.d=acme.example", or why not.
std::string DescribeArc(const ArcOutcome& arc);

nlohmann::json AuthenticationJson(const AuthenticationView& view);

}  // namespace notary
