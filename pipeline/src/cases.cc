#include "pipeline/cases.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "log/action_record.h"
#include "pipeline/holds.h"
#include "pipeline/ingest.h"
#include "text_rules.h"

namespace pipeline {
namespace {

common::Status CheckOptionalText(const std::string& what, const std::string& s, size_t max) {
  if (s.empty()) return common::Ok();
  return CheckText(what, s, max);
}

}  // namespace

common::Result<storage::Case> OpenCase(storage::CaseStore& store, const std::string& tenant,
                                       const std::string& actor, const CaseRequest& request,
                                       int64_t now_us) {
  RETURN_IF_ERROR(CheckText("name", request.name, CaseRequest::kMaxNameBytes));
  RETURN_IF_ERROR(
      CheckOptionalText("description", request.description, CaseRequest::kMaxDescriptionBytes));
  RETURN_IF_ERROR(
      CheckOptionalText("reference", request.reference, CaseRequest::kMaxReferenceBytes));
  storage::NewCase c;
  c.id = NewReceiptId(now_us);
  c.tenant = tenant;
  c.name = request.name;
  c.description = request.description;
  c.reference = request.reference;
  c.created_at_us = now_us;
  c.created_by = actor;
  // What the record binds: the case as opened, in one JSON text (sorted keys).
  nlohmann::json details = {
      {"case", c.id}, {"name", c.name}, {"description", c.description}, {"reference", c.reference}};
  ASSIGN_OR_RETURN(c.action, MakeAction(notary::ActionRecord::kCase, tenant, c.id, actor, now_us,
                                        details.dump()));
  return store.Create(c);
}

common::Result<storage::CaseChange> ChangeCase(storage::CaseStore& store, const std::string& tenant,
                                               const std::string& case_id, const std::string& actor,
                                               const CaseChangeRequest& request, int64_t now_us) {
  if (request.query.has_value() == !request.receipt_ids.empty()) {
    return common::Error::InvalidInput("a change names either receipt_ids or a query");
  }
  if (request.query && !request.add) {
    return common::Error::InvalidInput("messages are removed from a case by receipt_ids");
  }
  if (request.receipt_ids.size() > CaseChangeRequest::kMaxReceipts) {
    return common::Error::InvalidInput("a change lists at most 10000 receipt ids");
  }
  if (request.add) {
    RETURN_IF_ERROR(
        CheckOptionalText("reason", request.reason, CaseChangeRequest::kMaxReasonBytes));
  } else {
    RETURN_IF_ERROR(CheckText("reason", request.reason, CaseChangeRequest::kMaxReasonBytes));
  }
  if (!storage::IsUuid(case_id)) return common::Error::NotFound("no such case");
  storage::NewCaseChange n;
  n.tenant = tenant;
  n.case_id = case_id;
  n.change = request.add ? "add" : "remove";
  n.reason = request.reason;
  if (request.query) {
    // The search's result as of now is what the change records: the same ids are stored and
    // bound by the record, whatever arrives later.
    storage::SearchQuery q = *request.query;
    q.tenant = tenant;
    ASSIGN_OR_RETURN(n.receipt_ids, store.Matching(q, CaseChangeRequest::kMaxReceipts));
    n.query = storage::SearchQueryToJson(q);
  } else {
    n.receipt_ids = request.receipt_ids;
    for (const std::string& id : n.receipt_ids) {
      if (!storage::IsUuid(id)) {
        return common::Error::InvalidInput("'" + id + "' is not a receipt id");
      }
    }
    std::sort(n.receipt_ids.begin(), n.receipt_ids.end());
    n.receipt_ids.erase(std::unique(n.receipt_ids.begin(), n.receipt_ids.end()),
                        n.receipt_ids.end());
  }
  nlohmann::json details = {{"case", case_id},
                            {"change", n.change},
                            {"receipt_ids", n.receipt_ids},
                            {"reason", n.reason}};
  if (n.query) details["query"] = nlohmann::json::parse(*n.query);
  ASSIGN_OR_RETURN(n.action, MakeAction(request.add ? notary::ActionRecord::kCaseAdd
                                                    : notary::ActionRecord::kCaseRemove,
                                        tenant, case_id, actor, now_us, details.dump()));
  return store.Change(n);
}

}  // namespace pipeline
