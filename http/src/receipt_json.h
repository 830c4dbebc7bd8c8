// The JSON form of a stored receipt, as GET /v1/messages/{id} shows it.
#pragma once

#include <nlohmann/json.hpp>

#include "receipt/receipt.h"

namespace http {

nlohmann::json ReceiptJson(const notary::Receipt& r);

}  // namespace http
