// The certificate of a case's production (docs/cases.md, "The certificate"): certificate.pdf,
// the operator's statement of what the production holds, how it was checked when issued, who
// time-stamped its messages and what that proves and does not. PDF/A-2b, signed by the
// operator's document certificate (PAdES B-T when an authority stamps the signature).
//
// Thread-safety: a pure function of its inputs (and of the signing functions it calls).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "pdf/signature.h"
#include "production/writer.h"
#include "storage/case_store.h"

namespace pipeline {

// Who runs this notary, as the operator states it (notaryd --operator-name, --operator-address,
// --operator-contact). Empty: the certificate says the operator has not stated it.
struct OperatorIdentity {
  std::string name, address, contact;
};

struct CertificateOptions {
  OperatorIdentity op;
  std::string producer = "notaryd";  // the PDF's producer
  // Signs certificate.pdf (chain, signing function, and the time-stamp of the signature).
  // No `signer.sign`: the certificate is issued unsigned and says so on its first page.
  pdf::PadesSigner signer;
  std::string signature_tsa;  // which authority stamps the signature: "local" or its URL
};

// Which certificate: the notary's own statement (English), or one shaped for a court
// (docs/cases.md, "Jurisdiction templates").
enum class CertificateTemplate {
  kDefault,   // "default"
  kUsFre902,  // "us-fre-902": a certification under FRE 902(11), (13) and (14), to be signed
  kKorea,  // "kr": 전자문서 보관 사실 증명서 (author, recipient, times, the fact of storage)
  kChina,  // "cn": 电子数据存证证明 (hash check, trusted time, platform, collection)
};
// nullopt for a name that is none of the above.
std::optional<CertificateTemplate> ParseCertificateTemplate(std::string_view name);

// What the export learned of one message while building it.
struct CertifiedMessage {
  std::string bates, receipt_id;
  int64_t received_at_us = 0;
  std::optional<int64_t> date_sent_us;  // the Date header
  std::string from, to;                 // as the headers state them; "" once erased
  std::string source;                   // provenance: smtp, http, milter or journal
  bool observed = false;                // the notary saw the envelope itself (its SMTP listener)
  std::string tls;                      // the TLS protocol it arrived over; "" without
  common::Hash raw_sha256{};
  bool erased = false;
  bool checked = false;  // every check of notary-verify passed on its bundle at issue
  std::string problems;  // the checks that failed, when not
};

// A time-stamp authority seen on the production's blocks.
struct SeenAuthority {
  std::string tsa;      // "local" or its URL
  std::string subject;  // the token signer's certificate subject
  bool built_in = false;
  int64_t messages = 0;  // messages whose block it stamped
};

struct ProductionCertificateInput {
  storage::Case c;
  production::ProductionOptions options;
  production::ListDigests digests;
  std::vector<CertifiedMessage> messages;  // in Bates order
  std::vector<SeenAuthority> authorities;
  std::vector<std::string> key_fingerprints;  // the notary keys that signed the blocks
  storage::ActionRef record;                  // the case-export record
  std::string issued_to;
  int64_t issued_at_us = 0;
  CertificateTemplate kind = CertificateTemplate::kDefault;
};

// certificate.pdf's bytes. Errors: those of pdf::RenderPdf, MakeArchival and SignPades.
common::Result<std::string> ProductionCertificatePdf(const ProductionCertificateInput& in,
                                                     const CertificateOptions& options);

}  // namespace pipeline
