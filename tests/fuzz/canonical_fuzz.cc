// libFuzzer target for mime::Canonicalize, both versions: any bytes must give a result (no
// crash, hang, leak or undefined behaviour), and the result must be self-consistent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/sha256.h"
#include "mime/canonical.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  // Version 1. Invariants: the digest is over the form, the root over the parts, and
  // canonicalisation is deterministic.
  const mime::Canonical c = mime::Canonicalize(raw);
  if (common::Sha256Of(c.canonical) != c.canonical_sha256) std::abort();
  if (mime::PartsRoot(c.parts) != c.parts_root) std::abort();
  if (mime::Canonicalize(raw).canonical_sha256 != c.canonical_sha256) std::abort();
  if (!mime::Differences(c, c).empty()) std::abort();

  // Version 2: the same, and every part's disclosed bytes (ExtractPart) are the bytes its
  // record holds; records with salts encode and root without trouble.
  mime::Canonical v2 = mime::Canonicalize(raw, 2);
  if (v2.canon_version != 2) std::abort();
  if (common::Sha256Of(v2.canonical) != v2.canonical_sha256) std::abort();
  if (mime::Canonicalize(raw, 2).canonical != v2.canonical) std::abort();
  if (!mime::Differences(v2, v2).empty()) std::abort();
  if (v2.parts.size() > mime::kMaxParts) std::abort();
  for (size_t i = 0; i < v2.parts.size() && i < 8; ++i) {
    const auto bytes = mime::ExtractPart(raw, v2.parts[i].position, 2);
    if (!bytes || common::Sha256Of(*bytes) != v2.parts[i].sha256 ||
        bytes->size() != v2.parts[i].size) {
      std::abort();
    }
    v2.parts[i].salt[0] = static_cast<uint8_t>(i + 1);
  }
  (void)mime::PartsRoot(v2.parts, 2);
  return 0;
}
