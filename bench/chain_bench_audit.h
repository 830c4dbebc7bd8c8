// chain_bench's audit figures, apart so that they can change without touching the rest.
#pragma once

#include <cstdint>
#include <string>

#include "storage/database.h"
#include "vault/key_wrapper.h"

// Runs the audit over everything in the database and prints its pace next to the hashing
// reference; returns the audit's exit code.
// `wrapper` opens what is sealed at rest, for a third run with the key holder.
int AuditFigures(storage::Database& db, const std::string& owner, int64_t n,
                 vault::Wrapper& wrapper);
