// The leaf record of a receipt: the one builder lives in storage (ingest queues each receipt
// with its record); the audit rebuilds records with it.
#pragma once

#include "storage/leaf_input.h"

namespace server {

using storage::LeafRecordOf;

}  // namespace server
