// Private: owning libpq handles and big-endian reads, for the audit's readers that use libpq
// directly (binary COPY and binary results, which libpqxx 6 does not offer).
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <string>

#include "common/deleter.h"

namespace storage {

using PgConnPtr = std::unique_ptr<PGconn, common::Deleter<PQfinish>>;
using PgResultPtr = std::unique_ptr<PGresult, common::Deleter<PQclear>>;

inline uint32_t Be32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
}
inline uint16_t Be16(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>((u[0] << 8) | u[1]);
}
inline uint64_t Be64(const char* p) { return (uint64_t{Be32(p)} << 32) | Be32(p + 4); }

// The SQLSTATE of a failed result, for messages that never carry SQL text or values.
inline std::string SqlState(const PGresult* r) {
  const char* s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  return s ? s : "?";
}

}  // namespace storage
