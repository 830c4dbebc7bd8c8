// Builders of PostgreSQL binary COPY streams (PostgreSQL docs, "COPY", Binary Format), for the
// tests of the COPY reader: the parser's own (copy_parser_test.cc) and BlobScan's through
// libpq (blob_scan_copy_test.cc). Integers are big-endian.
#pragma once

#include <cstdint>
#include <string>

namespace copystream {

inline std::string Be(uint64_t v, int bytes) {
  std::string out;
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

inline const std::string kSignature("PGCOPY\n\377\r\n\0", 11);

// Signature, flags, header extension length and the extension.
inline std::string Header(uint32_t flags = 0, const std::string& extension = "") {
  return kSignature + Be(flags, 4) + Be(extension.size(), 4) + extension;
}
inline std::string Field(const std::string& bytes) { return Be(bytes.size(), 4) + bytes; }
// A tuple of two fields, as BlobScan reads them (sha256, data).
inline std::string Tuple(const std::string& key, const std::string& data) {
  return Be(2, 2) + Field(key) + Field(data);
}

}  // namespace copystream
