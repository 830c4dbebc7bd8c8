// Files that survive a crash: written whole beside their name, fsync'd, moved into place, and
// the folder fsync'd, so after a power cut the name holds the old bytes or the new, never a
// part. (The same steps as signer/src/key_ring.cc; the witness does not link the signer.)
//
// Thread-safety: safe for concurrent calls on different paths.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace witness {

// Replaces `path` with `data` (mode 0600) through `path`.new and rename(). `sync` false skips
// the fsyncs (the benchmark's "logic alone"; never in the product).
common::Status WriteDurably(const std::string& path, std::string_view data, bool sync = true);

// Creates `path` (mode 0600) holding `data`; kConflict when it exists: link() never replaces
// a file, so two processes racing to create a key keep the first.
common::Status CreateSecretFile(const std::string& path, std::string_view data);

// Reads a whole file of at most `max_bytes`; kNotFound when it does not exist.
common::Result<std::string> ReadSmallFile(const std::string& path, size_t max_bytes);

}  // namespace witness
