// Private helpers for moving values across libpqxx: bytea, text[] and timestamps.
#pragma once

#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <utility>
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

// "p" and the first 24 hex digits of SHA-256 of the statement's text: its name as a prepared
// statement, the same on every connection and for every caller that runs the same text.
std::string PreparedName(std::string_view sql);

// Runs `sql` as a statement prepared once per connection (libpqxx prepares it on the
// connection's first use and re-prepares it on a new connection). For the lookups that run
// once per message of a production or a bundle: PostgreSQL spent more of its time parsing
// and planning each of them again than running it (docs/benchmarks.md). The text must be
// fixed for a given caller (parameters, never values, vary).
template <typename Tx, typename... Args>
pqxx::result ExecPrepared(Tx& tx, const std::string& sql, Args&&... args) {
  const std::string name = PreparedName(sql);
  tx.conn().prepare(name, sql);  // a no-op once this connection has it
  return tx.exec_prepared(name, std::forward<Args>(args)...);
}

}  // namespace storage
