#include "text_rules.h"

#include "common/utf8.h"

namespace pipeline {

common::Status CheckText(const std::string& what, const std::string& s, size_t max) {
  if (s.empty() || s.size() > max) {
    return common::Error::InvalidInput(what + " must have 1 to " + std::to_string(max) + " bytes");
  }
  if (common::SanitizeUtf8(s) != s) return common::Error::InvalidInput(what + " is not UTF-8");
  for (unsigned char c : s) {
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
      return common::Error::InvalidInput(what + " has a control character");
    }
  }
  return common::Ok();
}

}  // namespace pipeline
