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
#include "log/cosignature.h"

namespace {

// Check 22 (checkpoint.witnesses) is skipped without a witness policy, and check 26
// (sender.dnssec) without a DNSSEC trust anchor: the second pass pins a witness key and the
// root's anchor, so that the cosignature lines of a hostile checkpoint and the DNSSEC chain of
// a hostile DNS archive are read and checked (the corpus has a bundle with sender evidence).
notary::VerifyOptions WithWitness() {
  notary::VerifyOptions opt;
  notary::Ed25519PublicKey key;
  key.fill(0x11);
  opt.witnesses.push_back(*notary::MakeCosignerKey("witness.example/w1", key));
  opt.dns_trust_anchors =
      ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n";
  return opt;
}

void VerifyAll(const notary::Bundle& bundle) {
  static const notary::VerifyOptions kWitnessed = WithWitness();
  for (const notary::VerifyOptions& opt : {notary::VerifyOptions{}, kWitnessed}) {
    const notary::VerifyReport r = notary::VerifyBundle(bundle, opt);
    if (r.checks.size() != 27) std::abort();  // every check, in the documented order
    (void)notary::VerifyReportJson(r);
  }
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
