// Audit: re-verifies the whole chain from genesis against the stored data: each receipt's
// raw and canonical hashes recomputed from its stored bytes, each leaf record rebuilt from
// its receipt, each leaf hash, batch root, tree root, previous-hash link, block hash and
// signature, and each checkpoint. Stops at the first inconsistency and names it.
#pragma once

#include <ostream>

#include "storage/database.h"

namespace server {

// Returns the process exit code: 0 when everything holds, 1 at the first inconsistency
// (described on `err`), 2 when the database cannot be read.
int RunAudit(storage::Database& db, bool progress, std::ostream& out, std::ostream& err);

}  // namespace server
