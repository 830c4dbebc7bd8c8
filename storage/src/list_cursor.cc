#include "list_cursor.h"

#include <optional>

#include "storage/receipt_store.h"

namespace storage {
namespace {

std::optional<ListCursor> ParseListCursor(const std::string& text) {
  const size_t sep = text.find('_');
  if (sep == std::string::npos) return std::nullopt;
  const std::string us = text.substr(0, sep);
  ListCursor c;
  c.id = text.substr(sep + 1);
  const bool digits =
      !us.empty() && us.size() <= 18 && us.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || !IsUuid(c.id)) return std::nullopt;
  c.at_us = std::stoll(us);
  return c;
}

}  // namespace

std::string FormatListCursor(int64_t at_us, const std::string& id) {
  return std::to_string(at_us) + "_" + id;
}

common::Result<ListCursor> PageStart(int limit, int max, const std::string& after) {
  if (limit < 1 || limit > max) {
    return common::Error::InvalidInput("limit is 1 to " + std::to_string(max));
  }
  if (after.empty()) return ListCursor{};
  std::optional<ListCursor> c = ParseListCursor(after);
  if (!c) return common::Error::InvalidInput("next is not a cursor this list gave");
  return std::move(*c);
}

}  // namespace storage
