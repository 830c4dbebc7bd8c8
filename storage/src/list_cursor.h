// Private: the cursor of a list shown newest first, a page at a time (GET /v1/cases,
// GET /v1/holds): "<created_at_us>_<id>", the last row shown. Keyset paging on (time, id), so
// that rows made in the same microsecond are neither repeated nor skipped, and a page costs
// the same however deep it is.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"

namespace storage {

struct ListCursor {
  int64_t at_us = 0;
  std::string id;  // a UUID
};

// nullopt when `text` is not a cursor FormatListCursor could have made: at most 18 digits,
// "_", a UUID.
std::optional<ListCursor> ParseListCursor(const std::string& text);
std::string FormatListCursor(int64_t at_us, const std::string& id);

// A page's request checked: kInvalidInput unless `limit` is 1 to `max` and `after` is "" (the
// first page: a cursor with an empty id) or a cursor.
common::Result<ListCursor> PageStart(int limit, int max, const std::string& after);

}  // namespace storage
