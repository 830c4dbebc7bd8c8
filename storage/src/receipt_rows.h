// Reading receipt rows: the column list, the row decoder and the parts loader shared by
// ReceiptStore's lookups and its search.
#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <vector>

#include "storage/receipt_fields.h"
#include "storage/records.h"
#include "vault/key_wrapper.h"

namespace storage {

// The columns ReadRow expects, in order, and the FROM clause they need.
extern const char* const kReceiptColumns;
extern const char* const kReceiptFrom;
// kReceiptFrom without its first table: what follows a FROM item that names receipts `r`.
extern const char* const kReceiptJoins;

// `sealed`: the receipt's personal fields when they are sealed (migration 0016), to be opened
// by OpenRows once its parts are loaded.
notary::Receipt ReadRow(const pqxx::row& row, std::optional<SealedFields>& sealed);

// The parts of every row in one query (a page of search results is one round trip).
void LoadParts(pqxx::work& tx, std::vector<notary::Receipt*> rows);

// Fills in the sealed personal fields of rows[i] from sealed[i] where it is set (one unwrapping
// per tenant and key pair). kUnavailable without a key holder; kInternal when a row does not
// open or its envelope does not match the receipt's digest (altered behind the notary's back:
// a 500, not the caller's fault); the holder's errors otherwise.
common::Status OpenRows(vault::Wrapper* wrapper, const std::vector<notary::Receipt*>& rows,
                        std::vector<std::optional<SealedFields>>& sealed);

}  // namespace storage
