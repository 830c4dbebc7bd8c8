// certificate.pdf of one evidence bundle (docs/evidence-bundle.md §7a): the facts of the
// bundle's certificate.html, from the very view it is rendered from (notary::CertificateViewJson)
// and in its language, with the operator's identity and the result of checking the bundle
// when it was issued; PDF/A-2b, signed by the operator's document certificate when one is
// configured (production_certificate.h's CertificateOptions).
//
// Thread-safety: a pure function of its inputs (and of the signing functions it calls).
#pragma once

#include <string>

#include "common/result.h"
#include "evidence/bundle.h"
#include "pipeline/production_certificate.h"

namespace pipeline {

// `report`: VerifyBundle of the bundle as built without the PDF (what the PDF says was
// checked). Errors: kInvalidInput when the evidence cannot be rendered (as certificate.html),
// and those of pdf::RenderPdf, MakeArchival and SignPades.
common::Result<std::string> BundleCertificatePdf(const notary::BundleInput& in,
                                                 const notary::VerifyReport& report,
                                                 const CertificateOptions& options);

// The bundle's zip with certificate.pdf beside certificate.html: built, read back and checked
// as notary-verify would, then the PDF of that result added to it. Errors: those of
// BuildBundleZip, and of BundleCertificatePdf.
common::Result<std::string> BuildBundleZipWithPdf(const notary::BundleInput& in,
                                                  const CertificateOptions& options);

}  // namespace pipeline
