#include "pipeline/holds.h"

#include <openssl/rand.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/rfc6962.h"
#include "common/sha256.h"
#include "common/utf8.h"
#include "log/action_record.h"
#include "pipeline/ingest.h"
#include "text_rules.h"

namespace pipeline {

common::Result<storage::NewAction> MakeAction(std::string_view action, const std::string& tenant,
                                              const std::string& subject, const std::string& actor,
                                              int64_t acted_at_us, std::string details) {
  notary::ActionRecord record;
  record.action = std::string(action);
  record.tenant = tenant;
  record.subject = subject;
  record.acted_at_us = acted_at_us;
  record.actor = actor;
  record.details_sha256 = common::Sha256Of(details);
  if (RAND_bytes(record.salt.data(), static_cast<int>(record.salt.size())) != 1) {
    return common::Error::Internal("no randomness for the action record's salt");
  }
  storage::NewAction out;
  ASSIGN_OR_RETURN(out.record, record.Encode());
  out.leaf_hash = common::HashLeaf(common::AsBytes(out.record));
  out.action = record.action;
  out.subject = subject;
  out.actor = actor;
  out.acted_at_us = acted_at_us;
  out.details = std::move(details);
  return out;
}

namespace {

// The hold as the record binds it and the store keeps it, naming `receipt_ids` (a case's
// members, for a hold on a case).
common::Result<storage::Hold> PlaceListedHold(storage::HoldStore& store, const std::string& tenant,
                                              const std::string& actor, const HoldRequest& request,
                                              const std::vector<std::string>& receipt_ids,
                                              int64_t now_us) {
  storage::NewHold h;
  h.id = NewReceiptId(now_us);
  h.tenant = tenant;
  h.name = request.name;
  h.reason = request.reason;
  h.include_future = request.include_future;
  h.created_at_us = now_us;
  h.created_by = actor;
  h.case_id = request.case_id;
  h.receipt_ids = receipt_ids;
  std::sort(h.receipt_ids.begin(), h.receipt_ids.end());
  h.receipt_ids.erase(std::unique(h.receipt_ids.begin(), h.receipt_ids.end()), h.receipt_ids.end());
  for (const std::string& id : h.receipt_ids) {
    if (!storage::IsUuid(id))
      return common::Error::InvalidInput("'" + id + "' is not a receipt id");
  }
  // What the record binds: the hold as placed, in one JSON text (sorted keys).
  nlohmann::json details = {{"hold", h.id}, {"name", h.name}, {"reason", h.reason}};
  if (request.query) {
    h.query = storage::SearchQueryToJson(*request.query);
    details["query"] = nlohmann::json::parse(*h.query);
    details["include_future"] = h.include_future;
  } else {
    details["receipt_ids"] = h.receipt_ids;
  }
  // A hold on a case binds the case and its members then; what is added later is bound by
  // each addition's own record (case-add), sealed after this one.
  if (request.case_id) details["case"] = *request.case_id;
  ASSIGN_OR_RETURN(h.action, MakeAction(notary::ActionRecord::kHold, tenant, h.id, actor, now_us,
                                        details.dump()));
  return store.Create(h);
}

}  // namespace

common::Result<storage::Hold> PlaceHold(storage::HoldStore& store, const std::string& tenant,
                                        const std::string& actor, const HoldRequest& request,
                                        int64_t now_us) {
  RETURN_IF_ERROR(CheckText("name", request.name, HoldRequest::kMaxNameBytes));
  RETURN_IF_ERROR(CheckText("reason", request.reason, HoldRequest::kMaxReasonBytes));
  const int named = static_cast<int>(request.query.has_value()) +
                    static_cast<int>(!request.receipt_ids.empty()) +
                    static_cast<int>(request.case_id.has_value());
  if (named != 1) {
    return common::Error::InvalidInput("a hold names one of receipt_ids, a query or a case");
  }
  if (request.receipt_ids.size() > HoldRequest::kMaxReceipts) {
    return common::Error::InvalidInput("a hold lists at most 10000 receipt ids");
  }
  if (request.include_future && !request.query) {
    return common::Error::InvalidInput("include_future needs a query");
  }
  if (request.case_id) {
    // The members read, then checked again under the case's lock when stored: a case that
    // changed in between is read again (a few times, then the caller is told to retry).
    for (int attempt = 0;; ++attempt) {
      ASSIGN_OR_RETURN(std::vector<std::string> members,
                       store.CaseMembers(tenant, *request.case_id));
      auto placed = PlaceListedHold(store, tenant, actor, request, members, now_us);
      if (placed.ok() || placed.error().code() != common::ErrorCode::kConflict || attempt == 2) {
        return placed;
      }
    }
  }
  return PlaceListedHold(store, tenant, actor, request, request.receipt_ids, now_us);
}

common::Result<storage::Hold> ReleaseHold(storage::HoldStore& store, const std::string& tenant,
                                          const std::string& hold_id, const std::string& actor,
                                          const std::string& reason, int64_t now_us) {
  RETURN_IF_ERROR(CheckText("reason", reason, HoldRequest::kMaxReasonBytes));
  if (!storage::IsUuid(hold_id)) return common::Error::NotFound("no such hold");
  nlohmann::json details = {{"hold", hold_id}, {"reason", reason}};
  ASSIGN_OR_RETURN(auto action, MakeAction(notary::ActionRecord::kRelease, tenant, hold_id, actor,
                                           now_us, details.dump()));
  return store.Release(tenant, hold_id, reason, action);
}

}  // namespace pipeline
