// The JSON form of a stored receipt, as GET /v1/messages/{id} shows it.
#pragma once

#include <nlohmann/json.hpp>

#include "storage/records.h"

namespace http {

nlohmann::json ReceiptJson(const storage::ReceiptRow& r);

}  // namespace http
