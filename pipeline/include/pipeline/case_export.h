// A case's production (docs/cases.md, "The production"): the export is recorded first (an
// action record `case-export` binding the Bates number of every message, and each message's
// Bates number in case_export_receipts, so that it appears in the messages' chain of custody),
// then every message's evidence bundle and native are built one at a time into a
// production::ProductionWriter, and the whole zipped into a file.
//
// Thread-safety: a stateless function over thread-safe stores.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/result.h"
#include "pipeline/evidence_assembly.h"
#include "pipeline/production_certificate.h"
#include "production/writer.h"
#include "storage/case_store.h"

namespace pipeline {

struct CaseExportRequest {
  production::ProductionOptions options;  // custodian "" means the tenant's name
  std::string lang = "en";                // of each bundle's certificate
  std::string actor;                      // API key id, or "notaryctl:<user>"
  std::string issued_to;                  // as in EvidenceRequest
  int64_t now_us = 0;
  // Set: every bundle is checked as notary-verify would when built, and the production gets
  // certificate.pdf (production_certificate.h). Unset: neither.
  const CertificateOptions* certificate = nullptr;
  CertificateTemplate certificate_template = CertificateTemplate::kDefault;
  // Told (done, total) once the case's messages are known and after each message goes into
  // the production; called on the exporting thread.
  std::function<void(int64_t done, int64_t total)> on_progress;
};

struct CaseExportResult {
  int64_t messages = 0;
  storage::CaseExport recorded;
};

// Builds the production of the tenant's case in `staging_dir` (an empty folder the caller
// removes) and writes it to `zip_path`. Errors: kNotFound (no such case), kConflict (a
// message is not sealed yet, its bundle is not ready, or the case changed meanwhile: retry),
// kInvalidInput (options), and those of AssembleEvidence.
common::Result<CaseExportResult> ExportCase(storage::CaseStore& cases,
                                            const EvidenceSources& sources,
                                            const std::string& tenant, const std::string& case_id,
                                            const CaseExportRequest& request,
                                            const std::string& staging_dir,
                                            const std::string& zip_path);

}  // namespace pipeline
