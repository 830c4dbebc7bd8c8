// libFuzzer target for the add-checkpoint body parser (witness/include/witness/request.h),
// built with -DNOTARY_FUZZ=ON (tests/fuzz/CMakeLists.txt; run by scripts/fuzz):
//   build-fuzz/tests/fuzz/witness_request_fuzz -max_len=65536 CORPUS
// Properties: no crash or sanitizer report on any input; an accepted body is exactly what
// FormatAddCheckpointRequest writes back (one spelling per request: nothing is tolerated).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "witness/request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto r = witness::ParseAddCheckpointRequest(body);
  if (r.ok() && witness::FormatAddCheckpointRequest(*r) != body) std::abort();
  return 0;
}
