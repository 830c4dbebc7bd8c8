// Private: the cursor of a list shown newest first, a page at a time (GET /v1/cases,
// GET /v1/holds): "<created_at_us>_<id>", the last row shown. Keyset paging on (time, id), so
// that rows made in the same microsecond are neither repeated nor skipped, and a page costs
// the same however deep it is.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "pg_util.h"
#include "storage/database.h"
#include "storage/list_page.h"
#include "transaction.h"

namespace storage {

struct ListCursor {
  int64_t at_us = 0;
  std::string id;  // a UUID
};

std::string FormatListCursor(int64_t at_us, const std::string& id);

// A page's request checked: kInvalidInput unless `limit` is 1 to `max` and `after` is "" (the
// first page: a cursor with an empty id) or a cursor FormatListCursor could have made (at most
// 18 digits, "_", a UUID).
common::Result<ListCursor> PageStart(int limit, int max, const std::string& after);

// One page of the tenant's rows newest first. `select` is a statement whose parameters are $1
// the tenant, and $2 (the cursor's id, '' for the first page), $3 (its time) and $4 (how many
// rows to give) for the keyset, e.g. "... WHERE t.name = $1 AND ($2 = '' OR (k.created_at_us,
// k.id) < ($3, NULLIF($2, '')::uuid)) ORDER BY k.created_at_us DESC, k.id DESC LIMIT $4".
// `read` makes a T (with created_at_us and id) of a row.
template <typename T, typename Read>
common::Result<ListPage<T>> ReadPage(Database& db, const std::string& select,
                                     const std::string& tenant, int limit, int max,
                                     const std::string& after, const Read& read) {
  ASSIGN_OR_RETURN(const ListCursor from, PageStart(limit, max, after));
  return InAutocommit<ListPage<T>>(
      db, [&](pqxx::nontransaction& tx) -> common::Result<ListPage<T>> {
        ListPage<T> page;
        for (const auto& r : ExecPrepared(tx, select, tenant, from.id, from.at_us, limit + 1)) {
          page.items.push_back(read(r));
        }
        if (page.items.size() > static_cast<size_t>(limit)) {
          page.items.pop_back();
          page.next = FormatListCursor(page.items.back().created_at_us, page.items.back().id);
        }
        return page;
      });
}

}  // namespace storage
