// Retention (docs/retention.md, "Retention", admin scope): GET /v1/retention shows the tenant's
// period in force; PUT /v1/retention with {"days": N} (1 to 36600) or {"days": null} changes
// it, recorded in the log (pipeline/retention.h) and on the access trail.
#include <httplib.h>

#include "common/time.h"
#include "pipeline/retention.h"
#include "routes.h"
#include "util.h"

namespace http {
namespace {

nlohmann::json PolicyJson(const std::optional<storage::RetentionPolicy>& p) {
  if (!p) return {{"days", nullptr}, {"set_at", nullptr}, {"set_by", nullptr}, {"record", nullptr}};
  return {{"days", p->days ? nlohmann::json(*p->days) : nlohmann::json()},
          {"set_at", common::FormatRfc3339Micros(p->set_at_us)},
          {"set_by", p->set_by},
          {"record", ActionRecordJson(p->action)}};
}

}  // namespace

void RegisterRetentionRoutes(httplib::Server& s, HttpDeps& d) {
  s.Get("/v1/retention", [&d](const httplib::Request& req, httplib::Response& res) {
    auto who = RequireScope(d, req, res, "admin");
    if (!who) return;
    auto p = d.retention->Get(who->tenant);
    if (!p.ok()) return SendErrorFor(res, p.error());
    LogAccess(d, *who, req, "GET /v1/retention", "", "");
    SendJson(res, PolicyJson(*p));
  });

  s.Put("/v1/retention", [&d](const httplib::Request& req, httplib::Response& res) {
    auto who = RequireScope(d, req, res, "admin");
    if (!who) return;
    auto j = nlohmann::json::parse(req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || j.size() != 1 || !j.contains("days") ||
        !(j["days"].is_null() || j["days"].is_number_integer())) {
      return SendError(res, 400, "bad_retention",
                       "send {\"days\": N} (1 to 36600) or {\"days\": null} (keep until erased)");
    }
    std::optional<int> days;
    if (!j["days"].is_null()) {
      const int64_t n = j["days"].get<int64_t>();
      if (n < 1 || n > pipeline::kMaxRetentionDays) {
        return SendError(res, 400, "bad_retention", "days must be 1 to 36600, or null");
      }
      days = static_cast<int>(n);
    }
    auto p =
        pipeline::SetRetention(*d.retention, who->tenant, days, who->key_id, d.clock->NowMicros());
    if (!p.ok()) return SendErrorFor(res, p.error(), "bad_retention");
    LogAccess(d, *who, req, "PUT /v1/retention", "",
              days ? "days=" + std::to_string(*days) : "days=null");
    SendJson(res, PolicyJson(*p));
  });
}

}  // namespace http
