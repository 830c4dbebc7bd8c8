// Canonical form version 2 (docs/canonical-form.md, "Version 2"): every rule is ours and
// stated in the spec; no GMime in what is hashed (the unhashed search metadata still uses
// GMime's address and date parsers). Called through mime::Canonicalize / mime::ExtractPart.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mime/canonical.h"

namespace mime::internal {

// Canonicalize(raw, 2): parts carry zero salts and parts_root is zero (the caller draws the
// salts and computes PartsRoot(parts, 2)).
Canonical CanonicalizeV2(std::string_view raw);

// ExtractPart(raw, position, 2).
std::optional<std::string> ExtractPartV2(std::string_view raw, const std::string& position);

}  // namespace mime::internal
