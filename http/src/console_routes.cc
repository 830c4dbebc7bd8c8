// The web console (docs/console.md): static pages at /, /search, /messages/{id} and /verify,
// their assets at /assets/{name}, and the session routes that trade an API key for a cookie:
// POST /v1/session, GET /v1/session, DELETE /v1/session.
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <string>

#include "common/bytes.h"
#include "common/time.h"
#include "console_assets.h"
#include "http/console_sessions.h"
#include "pipeline/ingest.h"
#include "routes.h"
#include "util.h"

namespace http {
namespace {

using nlohmann::json;

constexpr const char* kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'";

std::string ContentType(std::string_view name) {
  auto ends = [name](std::string_view ext) {
    return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".json")) return "application/json";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  return "application/octet-stream";
}

const ConsoleAsset* FindAsset(std::string_view name) {
  for (const auto& a : ConsoleAssets()) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

void SecurityHeaders(httplib::Response& res) {
  res.set_header("Content-Security-Policy", kCsp);
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cross-Origin-Opener-Policy", "same-origin");
  res.set_header("Permissions-Policy", "camera=(), microphone=(), geolocation=()");
}

void ServeAsset(httplib::Response& res, std::string_view name) {
  const ConsoleAsset* a = FindAsset(name);
  if (a == nullptr) return SendError(res, 404, "not_found", "no such file");
  SecurityHeaders(res);
  res.set_content(std::string(a->body), ContentType(name));
}

std::string SessionCookie(const httplib::Request& req, const std::string& value,
                          int64_t max_age_s) {
  std::string c = std::string(ConsoleSessions::kCookieName) + "=" + value +
                  "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age_s);
  // Secure whenever the listener speaks TLS (--tls-cert).
  if (req.ssl != nullptr) c += "; Secure";
  return c;
}

json SessionJson(const ConsoleSessions::Session& s) {
  return {{"key_id", s.key_id},
          {"tenant", s.tenant},
          {"csrf_token", s.csrf_token},
          {"expires_at", common::FormatRfc3339Micros(s.expires_at_us)},
          {"expires_at_us", s.expires_at_us}};
}

bool IsJson(const httplib::Request& req) {
  return req.get_header_value("Content-Type").rfind("application/json", 0) == 0;
}

}  // namespace

void RegisterConsoleRoutes(httplib::Server& s, HttpDeps& d) {
  for (const char* page : {"/", "/search", "/verify", "/cases"}) {
    s.Get(page,
          [](const httplib::Request&, httplib::Response& res) { ServeAsset(res, "index.html"); });
  }
  for (const char* page : {R"(/messages/[^/]{1,64})", R"(/cases/[^/]{1,64})"}) {
    s.Get(page,
          [](const httplib::Request&, httplib::Response& res) { ServeAsset(res, "index.html"); });
  }
  s.Get(R"(/assets/([A-Za-z0-9_-]{1,64}\.[a-z]{1,5}))",
        [](const httplib::Request& req, httplib::Response& res) {
          ServeAsset(res, req.matches[1].str());
        });

  // Sign-in: {"api_key": "nk_…"} -> a session cookie. The key travels only in this body.
  s.Post("/v1/session", [&d](const httplib::Request& req, httplib::Response& res) {
    // A JSON content type also keeps cross-site forms from signing a browser in (login CSRF).
    if (!IsJson(req)) {
      return SendError(res, 415, "unsupported_media_type", "send application/json");
    }
    if (req.body.size() > 4096) return SendError(res, 413, "too_large", "request too large");
    const json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) return SendError(res, 400, "bad_request", "the body is not JSON");
    if (!body.is_object() || !body.contains("api_key") || !body["api_key"].is_string()) {
      return SendError(res, 400, "bad_request", "expected {\"api_key\": \"nk_…\"}");
    }
    const std::string key = body["api_key"].get<std::string>();
    // Authenticated exactly like a Bearer request with that key.
    httplib::Request probe;
    probe.method = "GET";
    probe.remote_addr = req.remote_addr;  // failed sign-ins count against the address
    probe.headers.emplace("Authorization", "Bearer " + key);
    auto who = RequireScope(d, probe, res, "read");
    if (!who) return;
    ConsoleSessions::Refusal why = ConsoleSessions::Refusal::kNone;
    auto made = ConsoleSessions::Instance().Create(key, who->key_id, who->tenant,
                                                   d.clock->NowMicros(), &why);
    if (!made) {
      res.set_header("Retry-After", "60");
      return SendError(res, 429, "too_many_sessions",
                       why == ConsoleSessions::Refusal::kTenantFull
                           ? "too many console sessions for this tenant; sign out elsewhere"
                           : "too many console sessions; try again later");
    }
    spdlog::info("event=console_sign_in key_id={} tenant={}", who->key_id, who->tenant);
    res.set_header("Set-Cookie",
                   SessionCookie(req, made->token, ConsoleSessions::Instance().ttl_us() / 1000000));
    SendJson(res, SessionJson(made->session));
  });

  // The current session (the page reloads it to learn its CSRF token and tenant).
  s.Get("/v1/session", [&d](const httplib::Request& req, httplib::Response& res) {
    const std::string token =
        ConsoleSessions::CookieValue(req.get_header_value("Cookie"), ConsoleSessions::kCookieName);
    auto session = ConsoleSessions::Instance().Find(token, d.clock->NowMicros());
    if (!session) return SendError(res, 401, "session_ended", "not signed in");
    SendJson(res, SessionJson(*session));
  });

  // Sign-out: needs the session's CSRF token; always clears the cookie.
  s.Delete("/v1/session", [&d](const httplib::Request& req, httplib::Response& res) {
    const std::string token =
        ConsoleSessions::CookieValue(req.get_header_value("Cookie"), ConsoleSessions::kCookieName);
    auto& store = ConsoleSessions::Instance();
    auto session = store.Find(token, d.clock->NowMicros());
    if (!session) return SendError(res, 401, "session_ended", "not signed in");
    if (!common::ConstantTimeEquals(req.get_header_value(ConsoleSessions::kCsrfHeader),
                                    session->csrf_token)) {
      return SendError(res, 403, "csrf", "missing or wrong X-CSRF-Token for this session");
    }
    store.Remove(token);
    spdlog::info("event=console_sign_out key_id={} tenant={}", session->key_id, session->tenant);
    res.set_header("Set-Cookie", SessionCookie(req, "", 0));
    res.status = 204;
  });
}

}  // namespace http
