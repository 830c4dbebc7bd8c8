// Structured MIME header values for canonical form version 2 (docs/canonical-form.md §V2.4):
// Content-Type (RFC 2045 §5.1), Content-Disposition (RFC 2183), Content-Transfer-Encoding
// (RFC 2045 §6.1), their parameters, and parameter values by RFC 2231 (continuations,
// charset and language) with the precedence and fallbacks stated in the spec.
//
// Values are the unfolded header text of header_fields.h (valid UTF-8). Pure, linear in the
// input; no GMime. Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rfc2047.h"

namespace mime::internal {

// One parameter as written: attribute `base`, optional RFC 2231 section number, whether it
// is in the extended ("*") form, and its value (unquoted).
struct Parameter {
  std::string base;       // ASCII lower case, without the "*N" / "*" suffixes
  int64_t section = -1;   // -1: not a continuation section
  bool extended = false;  // the attribute ended in "*"
  std::string value;
};

// Counts for warnings.
struct ParameterStats {
  size_t invalid = 0;      // a parameter or trailing text that does not parse (ignored)
  size_t duplicate = 0;    // a parameter whose attribute appeared before (the first is kept)
  size_t malformed = 0;    // U+FFFD produced decoding an RFC 2231 charset
  size_t bad_charset = 0;  // an RFC 2231 charset that is no WHATWG label or is "replacement"
};

struct ContentType {
  bool valid = false;
  std::string type;     // ASCII lower case
  std::string subtype;  // ASCII lower case
  std::vector<Parameter> params;
};
ContentType ParseContentType(std::string_view value, ParameterStats* stats);

struct ContentDisposition {
  enum class Kind { kEmpty, kValid, kInvalid } kind = Kind::kEmpty;
  std::string type;  // ASCII lower case, when kValid
  std::vector<Parameter> params;
};
ContentDisposition ParseContentDisposition(std::string_view value, ParameterStats* stats);

// The lower-case mechanism token, or empty when the value is empty or not one token.
std::string ParseTransferEncoding(std::string_view value);

// The value of parameter `name` (lower case) by RFC 2231: the extended form "name*" first,
// then the continuation "name*0", "name*1"..., then the plain "name". With `rfc2047` not
// null, a value that carries no RFC 2231 charset (plain, or continuations without an
// extended section) is RFC 2047-decoded (rfc2047.h). nullopt when there is no such parameter.
std::optional<std::string> GetParameter(const std::vector<Parameter>& params, std::string_view name,
                                        Rfc2047Stats* rfc2047, ParameterStats* stats);

}  // namespace mime::internal
