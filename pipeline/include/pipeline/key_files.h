// Files in the data directory: keys are written once with mode 0600 in a 0700 folder and
// never logged.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "vault/key_wrapper.h"

namespace pipeline {

common::Result<std::string> ReadTextFile(const std::string& path);
// Creates `path` with mode 0600, failing if it exists (no silent overwrite of a key).
common::Status WriteSecretFile(const std::string& path, const std::string& data);
common::Status WritePublicFile(const std::string& path, const std::string& data);
common::Status EnsurePrivateDir(const std::string& path);
bool FileExists(const std::string& path);

// Without a signer, the tenants' key pairs for encryption at rest (docs/retention.md) in
// `<data_dir>/keks.d` (a 0700 folder, made when missing).
common::Result<std::unique_ptr<vault::KeyHolder>> OpenLocalKeyHolder(const std::string& data_dir);

}  // namespace pipeline
