// Content-Transfer-Encoding decoders for canonical form version 2 (docs/canonical-form.md
// §V2.6): base64 and quoted-printable by our stated rules; every other mechanism (7bit, 8bit,
// binary, x-uuencode, unknown, absent) leaves the bytes as they are.
//
// Pure, linear, streaming (output goes to a sink in pieces; nothing is held but one piece);
// no GMime. Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace mime::internal {

enum class TransferEncoding { kIdentity, kBase64, kQuotedPrintable };

// `mechanism`: the lower-case token of rfc2231.h's ParseTransferEncoding.
TransferEncoding TransferEncodingFor(std::string_view mechanism);

// Counts for warnings.
struct TransferStats {
  size_t base64_skipped = 0;   // bytes outside the alphabet other than "=", CR, LF, SP, HT
  size_t base64_leftover = 0;  // a final lone character of a group (dropped)
  size_t qp_invalid = 0;       // "=" not followed by two hex digits (kept as written)
};

using ByteSink = std::function<void(std::string_view)>;

// Decodes `in`, passing the result to `sink` in consecutive pieces.
void TransferDecode(TransferEncoding encoding, std::string_view in, TransferStats* stats,
                    const ByteSink& sink);

// Convenience: the whole decoded content.
std::string TransferDecodeAll(TransferEncoding encoding, std::string_view in, TransferStats* stats);

}  // namespace mime::internal
