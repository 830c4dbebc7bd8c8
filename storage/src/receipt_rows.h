// Reading receipt rows: the column list, the row decoder and the parts loader shared by
// ReceiptStore's lookups and its search.
#pragma once

#include <pqxx/pqxx>
#include <vector>

#include "storage/records.h"

namespace storage {

// The columns ReadRow expects, in order, and the FROM clause they need.
extern const char* const kReceiptColumns;
extern const char* const kReceiptFrom;
// kReceiptFrom without its first table: what follows a FROM item that names receipts `r`.
extern const char* const kReceiptJoins;

notary::Receipt ReadRow(const pqxx::row& row);

// The parts of every row in one query (a page of search results is one round trip).
void LoadParts(pqxx::work& tx, std::vector<notary::Receipt*> rows);

}  // namespace storage
