// SealedForErasure: whether a receipt is sealed, with its sender evidence (when checked) too,
// as the database requires before an erasure (migration 0013). Read as the superuser.
#pragma once

#include <string>

#include "support/test_support.h"

namespace e2e {

inline bool SealedForErasure(const std::string& super_url, const std::string& id) {
  return testsupport::Psql(super_url,
                           "SELECT count(*) FROM leaves WHERE receipt_id = '" + id + "'") == "1" &&
         testsupport::Psql(super_url, "SELECT count(*) FROM pending WHERE receipt_id = '" + id +
                                          "' OR authentication_of = '" + id + "'") == "0";
}

}  // namespace e2e
