// libFuzzer target for mime::Canonicalize: any bytes must give a result (no crash, hang,
// leak or undefined behaviour), and the result must be self-consistent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/sha256.h"
#include "mime/canonical.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  const mime::Canonical c = mime::Canonicalize(raw);
  // Invariants: the digest is over the form, the root over the parts, and canonicalisation
  // is deterministic.
  if (common::Sha256Of(c.canonical) != c.canonical_sha256) std::abort();
  if (mime::PartsRoot(c.parts) != c.parts_root) std::abort();
  if (mime::Canonicalize(raw).canonical_sha256 != c.canonical_sha256) std::abort();
  if (!mime::Differences(c, c).empty()) std::abort();
  return 0;
}
