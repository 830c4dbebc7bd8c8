// Legal holds (docs/retention.md, admin scope): POST /v1/holds, GET /v1/holds,
// GET /v1/holds/{id}, DELETE /v1/holds/{id}. Each hold and release is recorded in the log
// (pipeline/holds.h) and on the access trail.
#include <httplib.h>

#include "common/bytes.h"
#include "common/time.h"
#include "pipeline/holds.h"
#include "routes.h"
#include "util.h"

namespace http {
namespace {

common::Result<nlohmann::json> HoldJson(HttpDeps& d, const storage::Hold& h) {
  // A hold by search counts what the index shows: every message received before this call.
  if (h.query) RETURN_IF_ERROR(CatchUpIndex(d, h.tenant));
  ASSIGN_OR_RETURN(int64_t covered, d.holds->CountCovered(h));
  nlohmann::json j = {{"id", h.id},
                      {"name", h.name},
                      {"reason", h.reason},
                      {"status", h.released_at_us ? "released" : "active"},
                      {"messages", covered},
                      {"created_at", common::FormatRfc3339Micros(h.created_at_us)},
                      {"created_by", h.created_by},
                      {"record", ActionRecordJson(h.placed)},
                      {"query", nullptr},
                      {"include_future", h.include_future},
                      {"case", h.case_id ? nlohmann::json(*h.case_id) : nlohmann::json()}};
  if (h.query) j["query"] = SearchQueryJson(*h.query);
  if (h.released_at_us) {
    j["released_at"] = common::FormatRfc3339Micros(*h.released_at_us);
    j["released_by"] = h.released_by;
    j["release_reason"] = h.release_reason;
    j["release_record"] = ActionRecordJson(*h.released);
  }
  return j;
}

// The body of POST /v1/holds: {"name", "reason", and "receipt_ids": [...], "query": {the
// parameters of GET /v1/messages}, optionally with "include_future": true, or "case": id}.
common::Result<pipeline::HoldRequest> HoldRequestFrom(const std::string& body,
                                                      const std::string& tenant) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return common::Error::InvalidInput("the body is not a JSON object");
  }
  pipeline::HoldRequest r;
  for (const auto& [key, value] : j.items()) {
    if (key == "name" || key == "reason") {
      if (!value.is_string()) return common::Error::InvalidInput(key + " must be a string");
      (key == "name" ? r.name : r.reason) = value.get<std::string>();
    } else if (key == "receipt_ids") {
      if (!value.is_array() || value.empty() ||
          value.size() > pipeline::HoldRequest::kMaxReceipts) {
        return common::Error::InvalidInput("receipt_ids must be an array of 1 to 10000 ids");
      }
      for (const auto& id : value) {
        if (!id.is_string()) return common::Error::InvalidInput("receipt_ids are strings");
        r.receipt_ids.push_back(id.get<std::string>());
      }
    } else if (key == "query") {
      if (!value.is_object()) {
        return common::Error::InvalidInput("query must be an object of search parameters");
      }
      // The same parameters, rules and errors as GET /v1/messages, without paging.
      httplib::Request search;
      for (const auto& [name, v] : value.items()) {
        // Not "case" either: a case's messages change when someone with the cases scope
        // changes the case, and a hold must not shrink by that.
        if (name == "limit" || name == "next" || name == "status" || name == "case") {
          return common::Error::InvalidInput("a hold's query has no '" + name + "'");
        }
        if (!v.is_string()) return common::Error::InvalidInput("query." + name + " is a string");
        search.params.emplace(name, v.get<std::string>());
      }
      ASSIGN_OR_RETURN(r.query, SearchFromRequest(search, tenant));
    } else if (key == "case") {
      if (!value.is_string() || value.get<std::string>().empty()) {
        return common::Error::InvalidInput("case is a case's id");
      }
      r.case_id = value.get<std::string>();
    } else if (key == "include_future") {
      if (!value.is_boolean()) return common::Error::InvalidInput("include_future is a boolean");
      r.include_future = value.get<bool>();
    } else {
      return common::Error::InvalidInput("unknown field '" + key + "'");
    }
  }
  return r;
}

}  // namespace

nlohmann::json ActionRecordJson(const storage::ActionRef& a) {
  return {{"action_id", a.id},
          {"leaf_hash", common::ToHex(a.leaf_hash)},
          {"leaf_index", a.leaf_index ? nlohmann::json(*a.leaf_index) : nlohmann::json()},
          {"block_height", a.block_height ? nlohmann::json(*a.block_height) : nlohmann::json()}};
}

void RegisterHoldRoutes(httplib::Server& s, HttpDeps& d) {
  s.Post("/v1/holds", [&d](const httplib::Request& req, httplib::Response& res) {
    auto who = RequireScope(d, req, res, "admin");
    if (!who) return;
    auto request = HoldRequestFrom(req.body, who->tenant);
    if (!request.ok()) return SendErrorFor(res, request.error(), "bad_hold");
    auto hold =
        pipeline::PlaceHold(*d.holds, who->tenant, who->key_id, *request, d.clock->NowMicros());
    if (!hold.ok()) return SendErrorFor(res, hold.error(), "bad_hold");
    LogAccess(d, *who, req, "POST /v1/holds", "", "hold " + hold->id);
    auto body = HoldJson(d, *hold);
    if (!body.ok()) return SendErrorFor(res, body.error());
    SendJson(res, *body, 201);
  });

  s.Get("/v1/holds", [&d](const httplib::Request& req, httplib::Response& res) {
    auto who = RequireScope(d, req, res, "admin");
    if (!who) return;
    // A page at a time (?limit=, ?next=), as GET /v1/cases: each hold's count of messages is
    // worked out for the page only.
    const std::optional<int> limit = ListLimit(req, 100, storage::HoldStore::kMaxListLimit);
    if (!limit) return SendError(res, 400, "bad_query", "limit is 1 to 1000");
    auto holds = d.holds->List(who->tenant, *limit, Param(req, "next").value_or(""));
    if (!holds.ok()) return SendErrorFor(res, holds.error(), "bad_query");
    nlohmann::json items = nlohmann::json::array();
    for (const auto& h : holds->items) {
      auto j = HoldJson(d, h);
      if (!j.ok()) return SendErrorFor(res, j.error());
      items.push_back(std::move(*j));
    }
    LogAccess(d, *who, req, "GET /v1/holds", "", "");
    SendJson(res, {{"items", items},
                   {"next", holds->next.empty() ? nlohmann::json() : nlohmann::json(holds->next)}});
  });

  s.Get(R"(/v1/holds/([^/]+))", [&d](const httplib::Request& req, httplib::Response& res) {
    auto who = RequireScope(d, req, res, "admin");
    if (!who) return;
    auto hold = d.holds->Get(who->tenant, req.matches[1]);
    if (!hold.ok()) return SendErrorFor(res, hold.error());
    if (!hold->has_value()) return SendError(res, 404, "not_found", "no such hold");
    auto body = HoldJson(d, **hold);
    if (!body.ok()) return SendErrorFor(res, body.error());
    LogAccess(d, *who, req, "GET /v1/holds/{id}", "", "hold " + (*hold)->id);
    SendJson(res, *body);
  });

  // Release, with {"reason": "..."}: recorded in the log like the hold; the hold stays listed.
  s.Delete(R"(/v1/holds/([^/]+))", [&d](const httplib::Request& req, httplib::Response& res) {
    auto who = RequireScope(d, req, res, "admin");
    if (!who) return;
    auto j = nlohmann::json::parse(req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("reason") || !j["reason"].is_string() ||
        j.size() != 1) {
      return SendError(res, 400, "bad_release",
                       "send {\"reason\": \"...\"}: why the hold is released");
    }
    auto hold = pipeline::ReleaseHold(*d.holds, who->tenant, req.matches[1], who->key_id,
                                      j["reason"].get<std::string>(), d.clock->NowMicros());
    if (!hold.ok()) return SendErrorFor(res, hold.error(), "bad_release");
    LogAccess(d, *who, req, "DELETE /v1/holds/{id}", "", "release " + hold->id);
    auto body = HoldJson(d, *hold);
    if (!body.ok()) return SendErrorFor(res, body.error());
    SendJson(res, *body);
  });
}

}  // namespace http
