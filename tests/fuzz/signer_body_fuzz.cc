// libFuzzer target for the bodies notary-signer reads from notaryd's socket for encryption at
// rest (signer/include/signer/key_wrap_body.h), built with -DNOTARY_FUZZ=ON
// (tests/fuzz/CMakeLists.txt; run by scripts/fuzz):
//   build-fuzz/tests/fuzz/signer_body_fuzz -max_len=65536 CORPUS
// The first byte picks the decoder (tenant-key request, unwrap-keys request, and the two
// answers notaryd reads back). Properties: no crash or sanitizer report on any input; an
// accepted body is exactly what its encoder writes back (one spelling per request).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "signer/key_wrap_body.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      if (auto r = signer::DecodeTenantKeyRequest(body);
          r.ok() && signer::EncodeTenantKeyRequest(*r) != body) {
        std::abort();
      }
      break;
    case 1:
      if (auto r = signer::DecodeUnwrapRequest(body);
          r.ok() && signer::EncodeUnwrapRequest(*r) != body) {
        std::abort();
      }
      break;
    case 2:
      if (auto r = signer::DecodeTenantKeyAnswer(body);
          r.ok() && signer::EncodeTenantKeyAnswer(*r) != body) {
        std::abort();
      }
      break;
    default:
      if (auto r = signer::DecodeUnwrapAnswer(body);
          r.ok() && signer::EncodeUnwrapAnswer(*r) != body) {
        std::abort();
      }
      break;
  }
  return 0;
}
