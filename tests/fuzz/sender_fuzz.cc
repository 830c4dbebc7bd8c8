// libFuzzer target for the sender evidence formats and checks (sender/, log/'s authentication
// record), built with -DNOTARY_FUZZ=ON (tests/fuzz/CMakeLists.txt; run by scripts/fuzz):
//   build-fuzz/tests/fuzz/sender_fuzz -max_len=65536 CORPUS
// The first byte picks what reads the rest: the DNS archive, the encoded results, the
// authentication record (each a future bundle's hostile input: decoded only if re-encoding
// gives the same bytes), a DNS reply read for TXT records, a message whose DKIM signatures
// OpenDKIM verifies (every message at ingest), the DNS reply that every lookup of SPF and
// DMARC gets, or a message whose ARC chain our own verifier reads. Properties: no crash or
// sanitizer report; exact round trips; an ARC outcome always encodes (fields cut to size).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "log/authentication_record.h"
#include "sender/arc.h"
#include "sender/authentication.h"
#include "sender/dkim.h"
#include "sender/dmarc.h"
#include "sender/dns_answer.h"
#include "sender/spf.h"

namespace {

// A real 1024-bit RSA key record, so that signatures get as far as the RSA check.
constexpr const char* kKey =
    "v=DKIM1; k=rsa; p="
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCjSUjwuw/2CUOMUWt7Ueb5uSNSDD0gNSe+FkFK3hdx"
    "rgH+B68Ls82QJbpSTarge5hdo2dWYWbh/Mxx5mLgPFdtMTVDoaXzfrCxLR70IzNjeUGimss0aI6IAaif"
    "1uXElGibSg1b38YBliTccxZVEEDAIwbdDD4K4VC01+HDCGgXbQIDAQAB";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 7) {
    case 0: {
      auto archive = notary::DecodeDnsArchive(in);
      if (!archive.ok()) break;
      auto again = notary::EncodeDnsArchive(*archive);
      if (!again.ok() || *again != in) std::abort();
      for (const notary::DnsAnswer& a : *archive) (void)notary::TxtRecords(a);
      break;
    }
    case 1: {
      auto results = notary::AuthenticationResults::Decode(in);
      if (!results.ok()) break;
      auto again = results->Encode();
      if (!again.ok() || *again != in) std::abort();
      break;
    }
    case 2: {
      auto record = notary::AuthenticationRecord::Decode(in);
      if (!record.ok()) break;
      auto again = record->Encode();
      if (!again.ok() || *again != in) std::abort();
      break;
    }
    case 3: {
      notary::DnsAnswer a;
      a.qname = "s1._domainkey.acme.example";
      a.qtype = notary::kDnsTypeTxt;
      a.outcome = notary::LookupOutcome::kAnswer;
      a.wire = std::string(in);
      (void)notary::TxtRecords(a);
      break;
    }
    case 4: {
      auto fetch = [](std::string_view, std::string_view) {
        return notary::DkimKeyLookup{notary::DkimKeyLookup::Kind::kFound, kKey};
      };
      auto results = notary::VerifyDkim(in, fetch, {.now_s = 1796378400});
      if (results.ok() && results->size() > notary::DkimVerifyOptions::kMaxSignatures) {
        std::abort();
      }
      break;
    }
    case 5: {
      // Every DNS reply is the input: what a hostile name server could send to SPF's DNS layer
      // and to DMARC.
      auto lookup = [in](std::string_view name, uint16_t type) {
        notary::DnsAnswer a;
        a.qname = std::string(name);
        a.qtype = type;
        a.outcome = notary::LookupOutcome::kAnswer;
        a.dnssec = notary::DnssecStatus::kInsecure;
        a.wire = std::string(in);
        return a;
      };
      (void)notary::EvaluateSpf({"192.0.2.1", "alice@acme.example", "mail.acme.example"}, lookup);
      (void)notary::EvaluateDmarc({"acme.example", {"acme.example", "pass"}, {}}, lookup);
      break;
    }
    case 6: {
      auto fetch = [](std::string_view, std::string_view) {
        return notary::DkimKeyLookup{notary::DkimKeyLookup::Kind::kFound, kKey};
      };
      notary::AuthenticationResults results;
      results.arc = notary::VerifyArc(in, fetch);
      if (results.arc->result == "none") break;
      auto bytes = results.Encode();
      if (!bytes.ok()) std::abort();
      auto back = notary::AuthenticationResults::Decode(*bytes);
      // A pass without sets would not decode; VerifyArc never gives one.
      if (!back.ok() || !(*back == results)) std::abort();
      break;
    }
  }
  return 0;
}
