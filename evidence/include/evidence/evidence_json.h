// The two documents of a bundle that are not files of the log: evidence.json, and the texts
// for people rendered from it (certificate.html, VERIFY.md). BuildBundleZip and ReadBundleZip
// (bundle.h) use them; they are public for verifiers and fuzzers that start from the JSON.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "evidence/bundle.h"

namespace notary {

// evidence.json of `input` (docs/evidence-bundle.md §3). REQUIRES: the input is one that
// BuildBundleZip accepts.
std::string EvidenceJson(const BundleInput& input);

// Strict reader of evidence.json (docs/evidence-bundle.md §1, §3): kInvalidInput naming the
// first missing, repeated, unknown or mistyped field. Redacted parts come back with
// redacted = true. The message and disclosed part bytes are not filled in.
common::Result<BundleInput> ParseEvidenceJson(std::string_view json);

// certificate.html and VERIFY.md: the view of the evidence (docs/evidence-bundle.md §7)
// rendered with the templates of web/public/. The same evidence gives the same bytes.
// kInvalidInput when the evidence cannot be rendered (a time outside the years 1 to 9999, a
// canonical form that does not parse, an unknown lang).
common::Result<std::string> CertificateHtml(const BundleInput& input);
common::Result<std::string> VerifyMarkdown(const BundleInput& input);
// Both from one view of the evidence: what building and checking a bundle use, since the view
// (time-stamp tokens parsed, canonical form read) costs more than the rendering.
struct BundleTexts {
  std::string certificate_html, verify_md;
};
common::Result<BundleTexts> RenderTexts(const BundleInput& input);

// The view certificate.html is rendered from (docs/evidence-bundle.md §7), as JSON, with the
// labels of input.lang under "l": what the server's PDF of the same certificate
// (certificate.pdf, §7a) shows, so that the two never say different things. Errors as
// CertificateHtml's.
common::Result<std::string> CertificateViewJson(const BundleInput& input);

}  // namespace notary
