// Private: the filters of a SearchQuery as one SQL condition over `receipts r JOIN tenants t`,
// `receipt_index x` for the personal fields (a receipt not indexed yet matches none of
// those) and `leaves l` for status, with its values appended to `params` as $n placeholders.
// When the query has a personal field, the condition names only `x` and `t` outside its own
// subqueries, so that Search can choose a page from receipt_index alone. Used by
// ReceiptStore::Search and by the holds whose coverage is a search (HoldStore).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "storage/database.h"
#include "storage/receipt_store.h"

namespace storage {

common::Result<std::string> SearchFilter(Database& db, const SearchQuery& q,
                                         std::vector<std::optional<std::string>>& params);

}  // namespace storage
