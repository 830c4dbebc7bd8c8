// certificate.pdf of a production: the document laid out (pdf::Document), made archival and
// signed. Every figure on it is one the export computed or checked itself; what rests on the
// operator's word alone (its identity, the built-in authority's clock) is said to.
#include "pipeline/production_certificate.h"

#include <string>
#include <vector>

#include "certificate_parts.h"
#include "common/time.h"
#include "pdf/archival.h"
#include "pdf/document.h"

namespace pipeline {
namespace certificate_parts {
namespace {

using pdf::Block;
using pdf::Field;

std::string OrUnstated(const std::string& s) {
  return s.empty() ? "(not stated by the operator)" : s;
}

}  // namespace

Counts CountOf(const ProductionCertificateInput& in) {
  Counts c;
  c.messages = in.messages.size();
  for (const auto& m : in.messages) {
    c.passed += m.checked ? 1 : 0;
    c.erased += m.erased ? 1 : 0;
  }
  if (!in.messages.empty()) {
    c.first_bates = in.messages.front().bates;
    c.last_bates = in.messages.back().bates;
  }
  return c;
}

std::string Utc(int64_t us) {
  const std::string t = common::FormatRfc3339Micros(us);
  return t.substr(0, 10) + " " + t.substr(11, 8) + " UTC";
}

pdf::Block Table(std::vector<std::string> columns, std::vector<double> widths,
                 std::vector<bool> mono) {
  Block b;
  b.kind = Block::Kind::kTable;
  b.columns = std::move(columns);
  b.widths = std::move(widths);
  b.mono = std::move(mono);
  return b;
}

std::string Fingerprints(const ProductionCertificateInput& in, const std::string& none) {
  std::string s;
  for (const auto& f : in.key_fingerprints) s += (s.empty() ? "" : "\n") + f;
  return s.empty() ? none : s;
}

std::vector<pdf::Field> ListDigestFields(const ProductionCertificateInput& in) {
  return {{"index.csv SHA-256", common::ToHex(in.digests.index_csv), true},
          {"loadfile.dat SHA-256", common::ToHex(in.digests.loadfile_dat), true},
          {"messages.mbox SHA-256", common::ToHex(in.digests.messages_mbox), true}};
}

std::string SignatureAuthority(const CertificateOptions& o, const std::string& local,
                               const std::string& none) {
  if (!o.signer.timestamp) return none;
  return o.signature_tsa == "local" ? local : o.signature_tsa;
}

pdf::Block AuthoritiesTable(const ProductionCertificateInput& in, std::vector<std::string> columns,
                            const std::string& built_in, const std::string& own,
                            const std::string& independent, const std::string& none) {
  Block t = Table(std::move(columns), {0.25, 0.4, 0.22, 0.13}, {false, false, false, false});
  for (const auto& a : in.authorities) {
    t.rows.push_back({a.built_in ? built_in : a.tsa, a.subject, a.built_in ? own : independent,
                      std::to_string(a.messages)});
  }
  if (t.rows.empty()) t.rows.push_back({none, "", "", ""});
  return t;
}

pdf::Document DefaultCertificate(const ProductionCertificateInput& in,
                                 const CertificateOptions& o) {
  const bool signed_pdf = static_cast<bool>(o.signer.sign);
  const std::string issued = common::FormatRfc3339Micros(in.issued_at_us);
  const Counts n = CountOf(in);
  const size_t passed = n.passed, erased = n.erased;
  const std::string first = n.first_bates, last = n.last_bates;

  pdf::Document d;
  d.lang = "en";
  d.title = "Certificate of a court production";
  d.footer = "Case " + in.c.name + ", production of " + issued;
  d.blocks.push_back(Block::Paragraph(
      "The operator named below issues this certificate for the production of the case below, "
      "made by its e-mail evidence notary. " +
      std::string(signed_pdf
                      ? "It is signed with the operator's document certificate: a PDF reader's "
                        "signature panel, or pdfsig, shows the signer and whether the document "
                        "was changed after signing."
                      : "It is NOT signed: the operator has configured no document certificate "
                        "(notaryd --document-cert), so nothing but the checks below binds it.")));

  d.blocks.push_back(Block::Heading("Operator"));
  d.blocks.push_back(Block::Fields({{"Name", OrUnstated(o.op.name)},
                                    {"Address", OrUnstated(o.op.address)},
                                    {"Contact", OrUnstated(o.op.contact)}}));
  d.blocks.push_back(Block::Note(
      "The operator states its identity; the signature's certificate, issued by the authority "
      "named in it, is what binds that identity to this document."));

  d.blocks.push_back(Block::Heading("Case and production"));
  d.blocks.push_back(Block::Fields({
      {"Case", in.c.name},
      {"Reference", in.c.reference.empty() ? "(none)" : in.c.reference},
      {"Case id", in.c.id, true},
      {"Issued at (UTC)", issued},
      {"Issued to", in.issued_to},
      {"Messages",
       std::to_string(in.messages.size()) +
           (erased ? " (" + std::to_string(erased) + " erased: proof of existence only)" : "")},
      {"Bates numbers", first.empty() ? "(none)" : first + " to " + last},
      {"Custodian", in.options.custodian},
      {"Export record (leaf hash)", common::ToHex(in.record.leaf_hash), true},
  }));
  for (pdf::Field& f : ListDigestFields(in)) d.blocks.back().fields.push_back(std::move(f));

  d.blocks.push_back(Block::Heading("Checked at issue"));
  d.blocks.push_back(Block::Fields({
      {"Evidence bundles", std::to_string(passed) + " of " + std::to_string(in.messages.size()) +
                               " passed every check of notary-verify, each with its native "
                               "as --eml"},
      {"Notary keys (SHA-256 fingerprints)",
       [&] {
         std::string s;
         for (const auto& f : in.key_fingerprints) s += (s.empty() ? "" : "\n") + f;
         return s.empty() ? "(none)" : s;
       }(),
       true},
  }));
  for (const auto& m : in.messages) {
    if (!m.checked) {
      d.blocks.push_back(Block::Paragraph("FAILED at issue: " + m.bates + " (receipt " +
                                          m.receipt_id + "): " + m.problems));
    }
  }
  d.blocks.push_back(Block::Note(
      "These checks used the keys and authorities the bundles carry. Anyone can repeat them "
      "offline with notary-verify case.zip, pinning the notary's published key fingerprints "
      "(--fingerprint) and the authorities' roots (--tsa-ca)."));

  d.blocks.push_back(Block::Heading("Time-stamp authorities"));
  d.blocks.push_back(AuthoritiesTable(in, {"Authority", "Certificate", "Whose", "Messages"},
                                      "the notary's built-in authority", "the operator's own",
                                      "independent of the operator", "(none)"));
  d.blocks.push_back(Block::Note(
      "A token of the operator's own authority rests on the operator's clock and word. A token "
      "of an independent authority proves, without trusting the operator, that the block "
      "holding the message existed at the token's time."));
  if (signed_pdf) {
    d.blocks.push_back(
        Block::Note("This document's signature is time-stamped by " +
                    std::string(o.signature_tsa == "local" ? "the notary's built-in authority"
                                : o.signature_tsa.empty()  ? "no authority (PAdES B-B)"
                                                           : o.signature_tsa) +
                    "."));
  }

  d.blocks.push_back(Block::Heading("What this production proves, and what it does not"));
  for (const char* p : {
           "Proven, by the signed log and the time-stamps, for each message: that the notary "
           "received exactly these bytes (the native's SHA-256 below) no later than the time its "
           "block was time-stamped, and that no record of the log has been changed or removed "
           "since.",
           "Proven by the sender's own DKIM signature and DNSSEC answers, where a bundle carries "
           "them: that the sending domain signed the message.",
           "Not proven: that the message's content is true, that its From, To or Date headers "
           "tell who really wrote or received it (they are what the message states), or anything "
           "about a message the notary never received.",
           "Not proven by this certificate alone: index.csv, loadfile.dat and custody.json are "
           "the notary's account; notary-verify checks them against the bundles, and their "
           "SHA-256 above binds them to this signed document.",
       }) {
    d.blocks.push_back(Block::Paragraph(p));
  }

  d.blocks.push_back(Block::Heading("Messages"));
  Block list = Table({"Bates", "Receipt", "SHA-256 of the message as received"}, {0.16, 0.32, 0.52},
                     {false, true, true});
  list.rows.reserve(in.messages.size());
  for (const auto& m : in.messages) {
    list.rows.push_back({m.bates, m.receipt_id, common::ToHex(m.raw_sha256)});
  }
  d.blocks.push_back(std::move(list));

  return d;
}

}  // namespace certificate_parts

std::optional<CertificateTemplate> ParseCertificateTemplate(std::string_view name) {
  if (name == "default") return CertificateTemplate::kDefault;
  if (name == "us-fre-902") return CertificateTemplate::kUsFre902;
  if (name == "kr") return CertificateTemplate::kKorea;
  if (name == "cn") return CertificateTemplate::kChina;
  return std::nullopt;
}

common::Result<std::string> ProductionCertificatePdf(const ProductionCertificateInput& in,
                                                     const CertificateOptions& o) {
  using namespace certificate_parts;
  pdf::Document d;
  switch (in.kind) {
    case CertificateTemplate::kDefault:
      d = DefaultCertificate(in, o);
      break;
    case CertificateTemplate::kUsFre902:
      d = UsFre902Certificate(in, o);
      break;
    case CertificateTemplate::kKorea:
      d = KoreanCertificate(in, o);
      break;
    case CertificateTemplate::kChina:
      d = ChineseCertificate(in, o);
      break;
  }
  d.author = o.op.name.empty() ? "operator not stated" : o.op.name;
  d.created_us = in.issued_at_us;
  ASSIGN_OR_RETURN(std::string rendered, pdf::RenderPdf(d));
  pdf::ArchivalInfo info{d.title, d.author,   "Production of case " + in.c.name,
                         d.lang,  o.producer, in.issued_at_us};
  ASSIGN_OR_RETURN(std::string archival, pdf::MakeArchival(rendered, info));
  if (!o.signer.sign) return archival;
  return pdf::SignPades(
      archival, o.signer,
      {o.op.name, d.title + ": " + in.c.name, o.op.address, o.op.contact, in.issued_at_us});
}

}  // namespace pipeline
