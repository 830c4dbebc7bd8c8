// Cases (docs/cases.md, `cases` scope): POST /v1/cases, GET /v1/cases, GET /v1/cases/{id},
// POST /v1/cases/{id}/messages (add by receipt ids or by search), DELETE
// /v1/cases/{id}/messages (remove, with a reason). Opening a case and each change are
// recorded in the log (pipeline/cases.h) and on the access trail. A case's messages are
// listed by GET /v1/messages?case={id} (`read` scope).
#include <httplib.h>

#include "common/time.h"
#include "pipeline/cases.h"
#include "routes.h"
#include "util.h"

namespace http {
namespace {

nlohmann::json ChangeJson(const storage::CaseChange& c) {
  nlohmann::json j = {
      {"change", c.change}, {"receipts", c.receipts},
      {"reason", c.reason}, {"acted_at", common::FormatRfc3339Micros(c.acted_at_us)},
      {"actor", c.actor},   {"record", ActionRecordJson(c.record)},
      {"query", nullptr}};
  if (c.query) j["query"] = SearchQueryJson(*c.query);
  return j;
}

nlohmann::json CaseJson(const storage::Case& c) {
  return {{"id", c.id},
          {"name", c.name},
          {"description", c.description},
          {"reference", c.reference},
          {"messages", c.messages},
          {"created_at", common::FormatRfc3339Micros(c.created_at_us)},
          {"created_by", c.created_by},
          {"record", ActionRecordJson(c.opened)}};
}

common::Result<nlohmann::json> JsonObjectBody(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return common::Error::InvalidInput("the body is not a JSON object");
  }
  return j;
}

// The body of POST /v1/cases: {"name", optionally "description" and "reference"}.
common::Result<pipeline::CaseRequest> CaseRequestFrom(const std::string& body) {
  ASSIGN_OR_RETURN(nlohmann::json j, JsonObjectBody(body));
  pipeline::CaseRequest r;
  for (const auto& [key, value] : j.items()) {
    std::string* field = key == "name"          ? &r.name
                         : key == "description" ? &r.description
                         : key == "reference"   ? &r.reference
                                                : nullptr;
    if (field == nullptr) return common::Error::InvalidInput("unknown field '" + key + "'");
    if (!value.is_string()) return common::Error::InvalidInput(key + " must be a string");
    *field = value.get<std::string>();
  }
  return r;
}

// The body of a change: {"receipt_ids": [...]} or (to add) {"query": {the parameters of
// GET /v1/messages}}, and "reason" (required to remove).
common::Result<pipeline::CaseChangeRequest> ChangeRequestFrom(const std::string& body,
                                                              const std::string& tenant, bool add) {
  ASSIGN_OR_RETURN(nlohmann::json j, JsonObjectBody(body));
  pipeline::CaseChangeRequest r;
  r.add = add;
  for (const auto& [key, value] : j.items()) {
    if (key == "reason") {
      if (!value.is_string()) return common::Error::InvalidInput("reason must be a string");
      r.reason = value.get<std::string>();
    } else if (key == "receipt_ids") {
      if (!value.is_array() || value.empty() ||
          value.size() > pipeline::CaseChangeRequest::kMaxReceipts) {
        return common::Error::InvalidInput("receipt_ids must be an array of 1 to 10000 ids");
      }
      for (const auto& id : value) {
        if (!id.is_string()) return common::Error::InvalidInput("receipt_ids are strings");
        r.receipt_ids.push_back(id.get<std::string>());
      }
    } else if (key == "query" && add) {
      if (!value.is_object()) {
        return common::Error::InvalidInput("query must be an object of search parameters");
      }
      // The same parameters, rules and errors as GET /v1/messages, without paging.
      httplib::Request search;
      for (const auto& [name, v] : value.items()) {
        if (name == "limit" || name == "next" || name == "order") {
          return common::Error::InvalidInput("a case's query has no '" + name + "'");
        }
        if (!v.is_string()) return common::Error::InvalidInput("query." + name + " is a string");
        search.params.emplace(name, v.get<std::string>());
      }
      ASSIGN_OR_RETURN(r.query, SearchFromRequest(search, tenant));
    } else {
      return common::Error::InvalidInput("unknown field '" + key + "'");
    }
  }
  return r;
}

// The case's JSON and its changes, oldest first.
common::Result<nlohmann::json> CaseWithChanges(HttpDeps& d, const storage::Case& c) {
  ASSIGN_OR_RETURN(auto changes, d.cases->Changes(c.tenant, c.id));
  nlohmann::json j = CaseJson(c);
  nlohmann::json list = nlohmann::json::array();
  for (const auto& ch : changes) list.push_back(ChangeJson(ch));
  j["changes"] = std::move(list);
  return j;
}

void Change(HttpDeps& d, const httplib::Request& req, httplib::Response& res, bool add) {
  auto who = RequireScope(d, req, res, "cases");
  if (!who) return;
  const std::string case_id = req.matches[1];
  auto request = ChangeRequestFrom(req.body, who->tenant, add);
  if (!request.ok()) return SendErrorFor(res, request.error(), "bad_case_change");
  if (request->query) {
    // A search counts what the index shows: every message received before this call.
    if (auto st = CatchUpIndex(d, who->tenant); !st.ok()) return SendErrorFor(res, st.error());
  }
  auto change = pipeline::ChangeCase(*d.cases, who->tenant, case_id, who->key_id, *request,
                                     d.clock->NowMicros());
  if (!change.ok()) return SendErrorFor(res, change.error(), "bad_case_change");
  const std::string route = add ? "POST /v1/cases/{id}/messages" : "DELETE /v1/cases/{id}/messages";
  LogAccess(d, *who, req, route, "",
            std::string(add ? "add " : "remove ") + std::to_string(change->receipts) + " to case " +
                case_id);
  auto c = d.cases->Get(who->tenant, case_id);
  if (!c.ok()) return SendErrorFor(res, c.error());
  nlohmann::json body = ChangeJson(*change);
  body["case"] = c->has_value() ? CaseJson(**c) : nlohmann::json();
  SendJson(res, body, add ? 201 : 200);
}

}  // namespace

nlohmann::json SearchQueryJson(const std::string& stored) {
  // As GET /v1/messages parameters, with times in RFC 3339.
  nlohmann::json q = nlohmann::json::parse(stored);
  for (const char* t : {"since", "until"}) {
    const std::string key = std::string(t) + "_us";
    if (q.contains(key)) {
      q[t] = common::FormatRfc3339Micros(q[key].get<int64_t>());
      q.erase(key);
    }
  }
  return q;
}

void RegisterCaseRoutes(httplib::Server& s, HttpDeps& d) {
  s.Post("/v1/cases", [&d](const httplib::Request& req, httplib::Response& res) {
    auto who = RequireScope(d, req, res, "cases");
    if (!who) return;
    auto request = CaseRequestFrom(req.body);
    if (!request.ok()) return SendErrorFor(res, request.error(), "bad_case");
    auto c = pipeline::OpenCase(*d.cases, who->tenant, who->key_id, *request, d.clock->NowMicros());
    if (!c.ok()) return SendErrorFor(res, c.error(), "bad_case");
    LogAccess(d, *who, req, "POST /v1/cases", "", "case " + c->id);
    SendJson(res, CaseJson(*c), 201);
  });

  s.Get("/v1/cases", [&d](const httplib::Request& req, httplib::Response& res) {
    auto who = RequireScope(d, req, res, "cases");
    if (!who) return;
    auto cases = d.cases->List(who->tenant);
    if (!cases.ok()) return SendErrorFor(res, cases.error());
    nlohmann::json items = nlohmann::json::array();
    for (const auto& c : *cases) items.push_back(CaseJson(c));
    LogAccess(d, *who, req, "GET /v1/cases", "", "");
    SendJson(res, {{"items", items}});
  });

  s.Get(R"(/v1/cases/([^/]+))", [&d](const httplib::Request& req, httplib::Response& res) {
    auto who = RequireScope(d, req, res, "cases");
    if (!who) return;
    auto c = d.cases->Get(who->tenant, req.matches[1]);
    if (!c.ok()) return SendErrorFor(res, c.error());
    if (!c->has_value()) return SendError(res, 404, "not_found", "no such case");
    auto body = CaseWithChanges(d, **c);
    if (!body.ok()) return SendErrorFor(res, body.error());
    LogAccess(d, *who, req, "GET /v1/cases/{id}", "", "case " + (*c)->id);
    SendJson(res, *body);
  });

  s.Post(R"(/v1/cases/([^/]+)/messages)",
         [&d](const httplib::Request& req, httplib::Response& res) { Change(d, req, res, true); });
  s.Delete(
      R"(/v1/cases/([^/]+)/messages)",
      [&d](const httplib::Request& req, httplib::Response& res) { Change(d, req, res, false); });
}

}  // namespace http
