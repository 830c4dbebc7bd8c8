// Erasure (docs/retention.md, "Erasure", admin scope): POST /v1/messages/{id}/erase with
// {"reason": "..."}. The erasure is recorded in the log (pipeline/erasure.h) and on the access
// trail; GET /v1/messages/{id} then answers status "erased" with this object.
#include <httplib.h>

#include "common/time.h"
#include "pipeline/erasure.h"
#include "routes.h"
#include "util.h"

namespace http {

nlohmann::json ErasureJson(const storage::Erasure& e) {
  return {{"erased_at", common::FormatRfc3339Micros(e.erased_at_us)},
          {"erased_by", e.erased_by},
          {"reason", e.reason},
          {"record", ActionRecordJson(e.action)}};
}

void RegisterErasureRoutes(httplib::Server& s, HttpDeps& d) {
  s.Post(
      R"(/v1/messages/([^/]+)/erase)", [&d](const httplib::Request& req, httplib::Response& res) {
        auto who = RequireScope(d, req, res, "admin");
        if (!who) return;
        auto j = nlohmann::json::parse(req.body, nullptr, false);
        if (j.is_discarded() || !j.is_object() || !j.contains("reason") ||
            !j["reason"].is_string() || j.size() != 1) {
          return SendError(res, 400, "bad_erasure",
                           "send {\"reason\": \"...\"}: why the message is erased");
        }
        const std::string id = req.matches[1];
        auto erasure = pipeline::EraseMessage(*d.erasures, who->tenant, id, who->key_id,
                                              j["reason"].get<std::string>(), d.clock->NowMicros());
        if (!erasure.ok()) return SendErrorFor(res, erasure.error(), "bad_erasure");
        LogAccess(d, *who, req, "POST /v1/messages/{id}/erase", id, "erasure");
        nlohmann::json body = ErasureJson(*erasure);
        body["id"] = id;
        body["status"] = "erased";
        body["stored_copies_removed"] = erasure->copies_removed;
        SendJson(res, body);
      });
}

}  // namespace http
