// ListPage: one page of a list shown newest first (GET /v1/cases, GET /v1/holds), and the
// cursor of the next page.
#pragma once

#include <string>
#include <vector>

namespace storage {

template <typename T>
struct ListPage {
  std::vector<T> items;
  std::string next;  // give it back as `after` for the next page; "" after the last
};

}  // namespace storage
