// Private helpers for moving values across libpqxx: bytea, text[] and timestamps.
#pragma once

#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"

namespace storage {

inline pqxx::binarystring Bytea(const common::Hash& h) { return {h.data(), h.size()}; }
inline pqxx::binarystring Bytea(std::string_view s) { return {s.data(), s.size()}; }

// A PostgreSQL array literal for text[]: {"a","b"} with " and \ escaped.
std::string TextArray(const std::vector<std::string>& items);
// Parses the JSON text of array_to_json(text[]).
std::vector<std::string> JsonTextArray(const pqxx::field& f);
common::Hash HashField(const pqxx::field& f);
std::string BytesField(const pqxx::field& f);

}  // namespace storage
