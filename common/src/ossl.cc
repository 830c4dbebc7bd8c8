#include "common/ossl.h"

#include <openssl/err.h>

namespace common {

std::string OpenSslError() {
  std::string out;
  const char* data = nullptr;
  int flags = 0;
  unsigned long e;
  while ((e = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
    // The detail some errors carry (e.g. which ASN.1 field did not parse).
    if (data != nullptr && (flags & ERR_TXT_STRING) != 0 && *data != '\0') {
      out += " (";
      out += data;
      out += ')';
    }
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

}  // namespace common
