// libFuzzer target for what a judge's verifier reads from a stranger: the evidence bundle zip
// (notary::ReadBundleZip) and its evidence.json (the strict reader), each followed by every
// check (notary::VerifyBundle) and the re-rendering of the texts. No input may crash, hang,
// leak or read out of bounds; a bundle that reads must verify to a report of every check.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "evidence/bundle.h"
#include "evidence/evidence_json.h"

namespace {

void VerifyAll(const notary::Bundle& bundle) {
  notary::VerifyOptions opt;
  const notary::VerifyReport r = notary::VerifyBundle(bundle, opt);
  if (r.checks.size() != 21) std::abort();
  (void)notary::VerifyReportJson(r);
  (void)notary::CertificateHtml(bundle.evidence);
  (void)notary::VerifyMarkdown(bundle.evidence);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto bundle = notary::ReadBundleZip(in); bundle.ok()) VerifyAll(*bundle);
  // The same bytes as evidence.json, with no files beside it.
  if (auto evidence = notary::ParseEvidenceJson(in); evidence.ok()) {
    notary::Bundle b;
    b.evidence = std::move(*evidence);
    VerifyAll(b);
  }
  return 0;
}
