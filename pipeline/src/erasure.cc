#include "pipeline/erasure.h"

#include <nlohmann/json.hpp>

#include "log/action_record.h"
#include "pipeline/holds.h"
#include "text_rules.h"

namespace pipeline {

common::Result<storage::Erasure> EraseMessage(storage::ErasureStore& store,
                                              const std::string& tenant,
                                              const std::string& receipt_id,
                                              const std::string& actor, const std::string& reason,
                                              int64_t now_us) {
  RETURN_IF_ERROR(CheckText("reason", reason, kMaxErasureReasonBytes));
  if (!storage::IsUuid(receipt_id)) return common::Error::NotFound("no such message");
  nlohmann::json details = {{"receipt", receipt_id}, {"reason", reason}};
  ASSIGN_OR_RETURN(auto action, MakeAction(notary::ActionRecord::kErasure, tenant, receipt_id,
                                           actor, now_us, details.dump()));
  return store.Erase(tenant, receipt_id, reason, action);
}

}  // namespace pipeline
