// What the certificates of a production share (production_certificate.cc for the notary's
// own, jurisdiction_certificates.cc for the courts'): counts, times, the authorities' table,
// each built as a pdf::Block.
#pragma once

#include <string>
#include <vector>

#include "pdf/document.h"
#include "pipeline/production_certificate.h"

namespace pipeline::certificate_parts {

struct Counts {
  size_t messages = 0, passed = 0, erased = 0;
  std::string first_bates, last_bates;
};
Counts CountOf(const ProductionCertificateInput& in);

// "2026-12-06 21:54:52 UTC" (whole seconds).
std::string Utc(int64_t us);

pdf::Block Table(std::vector<std::string> columns, std::vector<double> widths,
                 std::vector<bool> mono);

// The fingerprints, one per line; `none` when there are none.
std::string Fingerprints(const ProductionCertificateInput& in, const std::string& none);

// The three documents with their SHA-256, as label/value fields.
std::vector<pdf::Field> ListDigestFields(const ProductionCertificateInput& in);

// The authority that stamped the document's signature, as the certificate names it: `local`
// for the built-in one, its URL otherwise, `none` when the signature has no token.
std::string SignatureAuthority(const CertificateOptions& o, const std::string& local,
                               const std::string& none);

// The time-stamp authorities as a table: `columns` (authority, certificate, whose, messages),
// the built-in authority's name, and the words for the operator's own and independent.
pdf::Block AuthoritiesTable(const ProductionCertificateInput& in, std::vector<std::string> columns,
                            const std::string& built_in, const std::string& own,
                            const std::string& independent, const std::string& none);

// The document for each template.
pdf::Document DefaultCertificate(const ProductionCertificateInput& in, const CertificateOptions& o);
pdf::Document UsFre902Certificate(const ProductionCertificateInput& in,
                                  const CertificateOptions& o);
pdf::Document KoreanCertificate(const ProductionCertificateInput& in, const CertificateOptions& o);
pdf::Document ChineseCertificate(const ProductionCertificateInput& in, const CertificateOptions& o);

}  // namespace pipeline::certificate_parts
