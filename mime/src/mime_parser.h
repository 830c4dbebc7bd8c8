// The MIME structure parser of canonical form version 2 (docs/canonical-form.md §V2.2,
// §V2.4, §V2.5): header blocks, Content-Type with the defaults of RFC 2045/2046, and
// multipart bodies split per RFC 2046 §5.1.1, with every choice stated in the spec. No GMime.
//
// One pass over the lines of the message with an explicit stack of open multiparts: no
// recursion, no rescanning per part. A line is compared with the open boundaries through a
// hash table, outermost first, so time is linear in the input whatever the boundaries are
// (prefixes of each other, repeated, 100,000 parts). At most kMaxMultipartDepth multiparts
// nest; the walk stops after kMaxParts + 1 leaves.
//
// Thread-safety: pure function. Ownership: the result refers to `prepared` by offsets only.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "header_fields.h"
#include "rfc2231.h"
#include "warnings.h"

namespace mime::internal {

// A multipart nested inside this many multiparts is not split (it is a leaf).
inline constexpr size_t kMaxMultipartDepth = 100;

// One entity of the MIME tree: a multipart container or a leaf.
struct MimeNode {
  bool multipart = false;
  std::string position;  // "" for a top-level multipart, else "1", "2.1", ...
  // Content-Type after the defaults: type and subtype in ASCII lower case, and the
  // parameters (empty when defaulted, except the default charset=us-ascii).
  std::string type;
  std::string subtype;
  std::vector<Parameter> params;
  // The first Content-Disposition and Content-Transfer-Encoding fields' values, if any.
  bool has_disposition = false;
  std::string disposition;
  std::string transfer_encoding;
  // Leaves: the body (content before transfer decoding), as offsets into the input.
  size_t body_begin = 0;
  size_t body_end = 0;
};

struct MimeTree {
  std::vector<HeaderField> headers;  // the message's own header fields, in order
  std::vector<MimeNode> nodes;       // multiparts and leaves, depth-first pre-order
  size_t leaves = 0;
  bool too_many_parts = false;  // more than kMaxParts leaves: nodes is incomplete
};

// REQUIRES: `prepared` is the message after input preparation (§V2.1): every LF is preceded
// by CR. Problems found become content-free warnings.
MimeTree ParseMime(std::string_view prepared, ParameterStats* param_stats,
                   HeaderStats* header_stats, Warnings* warnings);

}  // namespace mime::internal
