// What notary-verify can say about a certificate.pdf (docs/evidence-bundle.md §7a) without a
// PDF reader: whether the file carries one signature covering every byte but the signature
// itself, whether that signature verifies over those bytes, and by whose certificate. It
// does not read the PDF's text, trust the certificate, or check the signature's time-stamp:
// `pdfsig` does those.
//
// Thread-safety: a pure function.
#pragma once

#include <string>
#include <string_view>

namespace notary {

struct PdfSignature {
  enum class State {
    kUnsigned,  // no signature dictionary (/ByteRange) at all
    kIntact,    // one signature, over the whole file but its /Contents, that verifies
    kBroken,    // a signature that does not verify, does not cover the whole file, or cannot
                // be read: the file was changed after signing, or was never signed properly
  };
  State state = State::kUnsigned;
  std::string signer;              // the signing certificate's subject (RFC 2253)
  std::string signer_fingerprint;  // SHA-256 of its DER, lower-case hex
  std::string problem;             // kBroken: why
};

PdfSignature CheckPdfSignature(std::string_view pdf);

// "unsigned", "intact" or "broken" (the reports' JSON).
const char* PdfSignatureStateName(PdfSignature::State state);

}  // namespace notary
