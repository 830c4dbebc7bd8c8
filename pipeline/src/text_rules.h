// Private: the rule for text a person writes and another reads in a record (a hold's name, a
// reason): UTF-8, no control characters but tab and line breaks, 1 to `max` bytes.
#pragma once

#include <cstddef>
#include <string>

#include "common/result.h"

namespace pipeline {

common::Status CheckText(const std::string& what, const std::string& s, size_t max);

}  // namespace pipeline
