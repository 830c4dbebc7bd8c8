// Cases (docs/cases.md, `cases` scope): POST /v1/cases, GET /v1/cases, GET /v1/cases/{id},
// POST /v1/cases/{id}/messages (add by receipt ids or by search), DELETE
// /v1/cases/{id}/messages (remove, with a reason), GET /v1/cases/{id}/export (the production,
// pipeline/case_export.h; with a sealer only). Opening a case, each change and each export are
// recorded in the log and on the access trail. A case's messages are listed by
// GET /v1/messages?case={id} (`read` scope).
#include <httplib.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "common/time.h"
#include "pipeline/case_export.h"
#include "pipeline/cases.h"
#include "pipeline/sealer.h"
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

// A temporary folder of the export's own, removed with everything in it when the download
// ends (or fails).
struct ExportFiles {
  std::string dir;
  ~ExportFiles() {
    if (dir.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    if (ec) spdlog::warn("event=case_export_cleanup_failed error=\"{}\"", ec.message());
  }
};

// One of the few exports a process builds at a time (kMaxExports), held for the request.
class ExportSlot {
 public:
  static constexpr int kMaxExports = 2;
  ExportSlot() : taken_(running_.fetch_add(1) < kMaxExports) {
    if (!taken_) running_.fetch_sub(1);
  }
  ~ExportSlot() {
    if (taken_) running_.fetch_sub(1);
  }
  bool taken() const { return taken_; }

 private:
  static inline std::atomic<int> running_{0};
  const bool taken_;
};

using storage::ExportProgressStore;

// Ends an export's progress entry however the route returns: ready once the file is built,
// failed (with the reason when there is one) otherwise.
struct ProgressGuard {
  ProgressGuard(ExportProgressStore& s, std::string t, const common::Clock& c)
      : store(s), token(std::move(t)), clock(c) {}
  ~ProgressGuard() {
    auto ended =
        store.End(token, ok, ok || !error.empty() ? error : "the export failed", clock.NowMicros());
    if (!ended.ok()) {
      spdlog::warn("event=export_progress_not_kept error=\"{}\"", ended.error().ToString());
    }
  }
  ExportProgressStore& store;
  std::string token;
  const common::Clock& clock;
  bool ok = false;
  std::string error;
};

// How often a building export writes its count: a poll every second or so sees it move, and
// a production of 10,000 messages makes tens of writes, not 10,000.
constexpr int64_t kProgressEveryUs = 250000;

const char* StateName(ExportProgressStore::State s) {
  switch (s) {
    case ExportProgressStore::State::kBuilding:
      return "building";
    case ExportProgressStore::State::kReady:
      return "ready";
    case ExportProgressStore::State::kFailed:
      return "failed";
  }
  return "failed";
}

nlohmann::json CustodyEventJson(const storage::CustodyEvent& ev) {
  nlohmann::json j = {{"at", common::FormatRfc3339Micros(ev.at_us)},
                      {"event", ev.event},
                      {"by", ev.actor},
                      {"detail", ev.detail},
                      {"record", nullptr}};
  if (ev.record) j["record"] = ActionRecordJson(*ev.record);
  return j;
}

// GET /v1/cases/{id}/export: ?bates_prefix, bates_start, bates_width, custodian, lang,
// template (certificate.pdf's), progress (a token to follow it by, export_progress_store.h).
common::Result<pipeline::CaseExportRequest> ExportRequestFrom(const httplib::Request& req) {
  for (const auto& [name, value] : req.params) {
    if (name != "bates_prefix" && name != "bates_start" && name != "bates_width" &&
        name != "custodian" && name != "lang" && name != "template" && name != "progress") {
      return common::Error::InvalidInput("unknown parameter '" + name + "'");
    }
  }
  pipeline::CaseExportRequest r;
  if (auto v = Param(req, "bates_prefix")) r.options.bates_prefix = *v;
  if (auto v = Param(req, "bates_start")) {
    auto n = ParseU64(*v);
    if (!n) return common::Error::InvalidInput("bates_start is a number");
    r.options.bates_start = *n;
  }
  if (auto v = Param(req, "bates_width")) {
    auto n = ParseU64(*v);
    if (!n || *n > 12) return common::Error::InvalidInput("bates_width is 1 to 12 digits");
    r.options.bates_width = static_cast<int>(*n);
  }
  if (auto v = Param(req, "custodian")) r.options.custodian = *v;
  if (auto v = Param(req, "lang")) r.lang = *v;
  if (r.lang != "en" && r.lang != "ko" && r.lang != "zh") {
    return common::Error::InvalidInput("lang is en, ko or zh");
  }
  if (auto v = Param(req, "template")) {
    auto t = pipeline::ParseCertificateTemplate(*v);
    if (!t) return common::Error::InvalidInput("template is default, us-fre-902, kr or cn");
    r.certificate_template = *t;
  }
  return r;
}

}  // namespace

void RegisterCaseExportRoute(httplib::Server& s, HttpDeps& d, pipeline::Sealer& sealer) {
  if (d.cases == nullptr) return;
  s.Get(R"(/v1/cases/([^/]+)/export)", [&d, &sealer](const httplib::Request& req,
                                                     httplib::Response& res) {
    // The production holds every message of the case: the key must also be allowed to read.
    auto who = RequireScope(d, req, res, "cases");
    if (!who) return;
    const std::string case_id = req.matches[1];
    // Followed by the console: from here on the outcome is kept under the client's token
    // (export_progress_store.h), refusals included, so that the page can say why.
    std::optional<ProgressGuard> progress;
    if (auto token = Param(req, "progress")) {
      if (!ExportProgressStore::ValidToken(*token)) {
        return SendError(res, 400, "bad_query", "progress is 16 to 64 characters of 0-9 and a-f");
      }
      if (d.export_progress == nullptr) {
        return SendError(res, 400, "bad_query", "this notary does not follow exports");
      }
      auto begun = d.export_progress->Begin(who->tenant, case_id, *token, d.clock->NowMicros());
      if (!begun.ok()) return SendErrorFor(res, begun.error(), "bad_query");
      switch (*begun) {
        case ExportProgressStore::Begun::kStarted:
          break;
        case ExportProgressStore::Begun::kInUse:
          return SendError(res, 409, "conflict", "that progress token is in use; choose another");
        case ExportProgressStore::Begun::kFull:
          res.set_header("Retry-After", "30");
          return SendError(res, 429, "too_many_exports",
                           "too many exports are being followed; retry when one has finished");
      }
      progress.emplace(*d.export_progress, *token, *d.clock);
    }
    auto refuse = [&](int status, const std::string& code, const std::string& message) {
      if (progress) progress->error = message;
      SendError(res, status, code, message);
    };
    if (!who->Has("read")) return refuse(403, "forbidden", "an export needs the read scope too");
    auto request = ExportRequestFrom(req);
    if (!request.ok()) {
      if (progress) progress->error = request.error().message();
      return SendErrorFor(res, request.error(), "bad_query");
    }
    // A few exports at a time: each holds a worker, a core and disk for its whole length.
    ExportSlot slot;
    if (!slot.taken()) {
      res.set_header("Retry-After", "30");
      return refuse(429, "too_many_exports",
                    "other exports are being built; retry when one has finished");
    }
    if (progress) {
      // On the export's own thread, between messages: a write at the start, at the end and
      // every kProgressEveryUs between. A failed write is not the export's failure.
      request->on_progress = [store = d.export_progress, token = progress->token, clock = d.clock,
                              last_us = int64_t{-1}](int64_t done, int64_t total) mutable {
        const int64_t now_us = clock->NowMicros();
        if (done != 0 && done != total && now_us - last_us < kProgressEveryUs) return;
        last_us = now_us;
        auto updated = store->Update(token, done, total, now_us);
        if (!updated.ok()) {
          spdlog::warn("event=export_progress_not_kept error=\"{}\"", updated.error().ToString());
        }
      };
    }
    request->actor = who->key_id;
    request->issued_to = "API key " + who->key_id + " (tenant " + who->tenant + ")";
    request->now_us = d.clock->NowMicros();
    request->certificate = d.certificate;

    auto files = std::make_shared<ExportFiles>();
    std::string tmpl = (std::filesystem::temp_directory_path() / "notary-export.XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      return refuse(503, "unavailable", "no room for the export's files");
    }
    files->dir = tmpl;
    const std::string staging = files->dir + "/staging";
    const std::string zip_path = files->dir + "/production.zip";
    std::error_code made;
    std::filesystem::create_directory(staging, made);
    if (made) return refuse(503, "unavailable", "no room for the export's files");
    // As for one bundle: a message still within the sender checks' window waits for them
    // (409, retry) rather than go out without its sender evidence.
    std::optional<int64_t> checks_since;
    if (d.authentications != nullptr) {
      checks_since =
          request->now_us -
          std::chrono::duration_cast<std::chrono::microseconds>(d.sender_check_max_delay).count();
    }
    const pipeline::EvidenceSources sources{
        d.receipts,          sealer.chain(),    d.admin,
        sealer.tsa(),        d.journal,         d.publisher != nullptr,
        sealer.tsa_quorum(), d.authentications, checks_since,
        d.erasures};
    auto done =
        pipeline::ExportCase(*d.cases, sources, who->tenant, case_id, *request, staging, zip_path);
    if (!done.ok()) {
      if (progress) progress->error = done.error().message();
      if (done.error().code() == common::ErrorCode::kConflict) res.set_header("Retry-After", "5");
      return SendErrorFor(res, done.error(), "bad_export");
    }
    std::filesystem::remove_all(staging);
    LogAccess(d, *who, req, "GET /v1/cases/{id}/export", "",
              "case " + case_id + ": " + std::to_string(done->messages) + " messages, record " +
                  common::ToHex(done->recorded.record.leaf_hash));
    std::error_code ec;
    const auto size = std::filesystem::file_size(zip_path, ec);
    if (ec) return refuse(503, "unavailable", "the export's file is gone");
    auto file = std::shared_ptr<std::FILE>(std::fopen(zip_path.c_str(), "rb"), [](std::FILE* f) {
      if (f != nullptr) std::fclose(f);
    });
    if (!file) return refuse(503, "unavailable", "the export's file cannot be read");
    // Streamed from the open file: from here on it has no name, so a crash during the download
    // leaves no copy of the case's mail on the disk.
    std::filesystem::remove(zip_path, ec);
    if (progress) progress->ok = true;
    res.set_header("Content-Disposition", "attachment; filename=\"case-" + case_id + ".zip\"");
    // Streamed from the file in pieces; the folder goes when the download ends.
    res.set_content_provider(
        size, "application/zip",
        [file](size_t offset, size_t length, httplib::DataSink& sink) {
          char buf[64 * 1024];
          if (std::fseek(file.get(), static_cast<long>(offset), SEEK_SET) != 0) return false;
          const size_t n = std::fread(buf, 1, std::min(length, sizeof(buf)), file.get());
          if (n == 0) return false;
          return sink.write(buf, n);
        },
        [files, file](bool) {});
  });
}

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
    const std::optional<int> limit = ListLimit(req, 100, storage::CaseStore::kMaxListLimit);
    if (!limit) return SendError(res, 400, "bad_query", "limit is 1 to 1000");
    auto cases = d.cases->List(who->tenant, *limit, Param(req, "next").value_or(""));
    if (!cases.ok()) return SendErrorFor(res, cases.error(), "bad_query");
    nlohmann::json items = nlohmann::json::array();
    for (const auto& c : cases->items) items.push_back(CaseJson(c));
    LogAccess(d, *who, req, "GET /v1/cases", "", "");
    SendJson(res, {{"items", items},
                   {"next", cases->next.empty() ? nlohmann::json() : nlohmann::json(cases->next)}});
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

  // ?progress=TOKEN of an export of the case: {"state", "done", "total"} (and "error").
  s.Get(R"(/v1/cases/([^/]+)/export/progress)", [&d](const httplib::Request& req,
                                                     httplib::Response& res) {
    auto who = RequireScope(d, req, res, "cases");
    if (!who) return;
    const auto token = Param(req, "progress");
    if (!token || !ExportProgressStore::ValidToken(*token)) {
      return SendError(res, 400, "bad_query", "progress is 16 to 64 characters of 0-9 and a-f");
    }
    if (d.export_progress == nullptr) {
      return SendError(res, 404, "not_found", "no such export of this case");
    }
    // From the primary, where the node building the export writes, whichever node that is.
    auto found = d.export_progress->Find(who->tenant, req.matches[1], *token, d.clock->NowMicros());
    if (!found.ok()) return SendErrorFor(res, found.error());
    if (!found->has_value()) return SendError(res, 404, "not_found", "no such export of this case");
    const ExportProgressStore::Snapshot& p = **found;
    nlohmann::json j = {{"state", StateName(p.state)},
                        {"done", p.done},
                        {"total", p.total >= 0 ? nlohmann::json(p.total) : nlohmann::json()}};
    if (p.state == ExportProgressStore::State::kFailed) j["error"] = p.error;
    SendJson(res, j);
  });

  // ?receipt=ID of a message in the case now: its chain of custody, as custody.json's.
  s.Get(R"(/v1/cases/([^/]+)/custody)", [&d](const httplib::Request& req, httplib::Response& res) {
    auto who = RequireScope(d, req, res, "cases");
    if (!who) return;
    if (!who->Has("read")) {
      return SendError(res, 403, "forbidden", "a message's custody needs the read scope too");
    }
    const std::string case_id = req.matches[1];
    const auto receipt = Param(req, "receipt");
    if (!receipt || receipt->empty() || receipt->size() > 64) {
      return SendError(res, 400, "bad_query", "receipt names one message of the case");
    }
    auto member = d.cases->HasMember(who->tenant, case_id, *receipt);
    if (!member.ok()) return SendErrorFor(res, member.error());
    if (!*member) return SendError(res, 404, "not_found", "no such message in this case");
    auto events = d.cases->Custody(who->tenant, {*receipt});
    if (!events.ok()) return SendErrorFor(res, events.error());
    nlohmann::json list = nlohmann::json::array();
    for (const auto& ev : *events) {
      if (ev.receipt_id == *receipt) list.push_back(CustodyEventJson(ev));
    }
    LogAccess(d, *who, req, "GET /v1/cases/{id}/custody", *receipt, "case " + case_id);
    SendJson(res, {{"case", case_id}, {"receipt_id", *receipt}, {"events", std::move(list)}});
  });

  s.Post(R"(/v1/cases/([^/]+)/messages)",
         [&d](const httplib::Request& req, httplib::Response& res) { Change(d, req, res, true); });
  s.Delete(
      R"(/v1/cases/([^/]+)/messages)",
      [&d](const httplib::Request& req, httplib::Response& res) { Change(d, req, res, false); });
}

}  // namespace http
