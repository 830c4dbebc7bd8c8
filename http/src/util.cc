#include "util.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>

#include "common/utf8.h"
#include "http/console_sessions.h"
#include "pipeline/ingest.h"

namespace http {

void SendError(httplib::Response& res, int status, const std::string& code,
               const std::string& message) {
  res.status = status;
  nlohmann::json body = {{"error", {{"code", code}, {"message", message}}}};
  res.set_content(body.dump(), "application/json");
}

int HttpStatusFor(common::ErrorCode code) {
  switch (code) {
    case common::ErrorCode::kInvalidInput:
    case common::ErrorCode::kVerifyFailed:
      return 400;
    case common::ErrorCode::kPermissionDenied:
      return 403;
    case common::ErrorCode::kNotFound:
      return 404;
    case common::ErrorCode::kConflict:
      return 409;
    case common::ErrorCode::kTooLarge:
      return 413;
    case common::ErrorCode::kUnavailable:
      return 503;
    case common::ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

void SendErrorFor(httplib::Response& res, const common::Error& error, const std::string& code) {
  const int status = HttpStatusFor(error.code());
  switch (status) {
    case 400:
      return SendError(res, 400, code, error.message());
    case 403:
      return SendError(res, 403, "forbidden", error.message());
    case 404:
      return SendError(res, 404, "not_found", error.message());
    case 409:
      return SendError(res, 409, "conflict", error.message());
    case 413:
      return SendError(res, 413, "too_large", error.message());
    case 503:
      res.set_header("Retry-After", "5");
      return SendError(res, 503, "unavailable", "a dependency is unavailable, try again later");
    default:
      // Not shown to the client (it may name internals); the operator needs it.
      spdlog::error("event=http_internal_error error={}", common::LogSafe(error.ToString(), 300));
      return SendError(res, 500, "internal", "internal error");
  }
}

void SendJson(httplib::Response& res, const nlohmann::json& body, int status) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json");
}

std::optional<pipeline::Principal> RequireScope(HttpDeps& d, const httplib::Request& req,
                                                httplib::Response& res, const std::string& scope) {
  const int64_t now_us = d.clock->NowMicros();
  std::string authorization = req.get_header_value("Authorization");
  // The web console's session cookie stands in for the Bearer key (http/console_sessions.h).
  if (authorization.empty() && req.has_header("Cookie")) {
    auto cookie = ConsoleSessions::Instance().Check(
        req.get_header_value("Cookie"), req.method,
        req.get_header_value(ConsoleSessions::kCsrfHeader), now_us);
    using K = ConsoleSessions::CookieCheck::Kind;
    if (cookie.kind == K::kEnded) {
      SendError(res, 401, "session_ended", "the console session has ended; sign in again");
      return std::nullopt;
    }
    if (cookie.kind == K::kBadCsrf) {
      SendError(res, 403, "csrf", "missing or wrong X-CSRF-Token for this session");
      return std::nullopt;
    }
    authorization = cookie.authorization;
  }
  auto outcome = d.auth.Authenticate(authorization, now_us, req.remote_addr);
  if (!outcome.principal) {
    using F = pipeline::Authenticator::Failure;
    switch (outcome.failure) {
      case F::kMissing:
        res.set_header("WWW-Authenticate", "Bearer");
        SendError(res, 401, "unauthenticated", "an API key is required (Authorization: Bearer)");
        break;
      case F::kMalformed:
        SendError(res, 401, "unauthenticated", "malformed API key");
        break;
      case F::kUnknown:
        SendError(res, 401, "unauthenticated", "unknown API key");
        break;
      case F::kExpired:
        SendError(res, 401, "unauthenticated", "API key expired");
        break;
      case F::kRevoked:
        SendError(res, 401, "unauthenticated", "API key revoked");
        break;
      case F::kRateLimited:
        res.set_header("Retry-After", std::to_string(outcome.retry_after_s));
        SendError(res, 429, "rate_limited",
                  "too many requests for this API key, or too many failed attempts from this "
                  "address");
        break;
      case F::kUnavailable:
        res.set_header("Retry-After", "5");
        SendError(res, 503, "unavailable", "database unavailable, try again later");
        break;
    }
    return std::nullopt;
  }
  if (!outcome.principal->Has(scope)) {
    SendError(res, 403, "forbidden", "this API key lacks the '" + scope + "' scope");
    return std::nullopt;
  }
  return outcome.principal;
}

std::optional<std::string> Param(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) return std::nullopt;
  std::string v = req.get_param_value(name);
  if (v.empty()) return std::nullopt;
  return v;
}

std::optional<uint64_t> ParseU64(const std::string& s) {
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoull(s);
}

std::optional<int> ListLimit(const httplib::Request& req, int fallback, int max) {
  auto v = Param(req, "limit");
  if (!v) return fallback;
  auto n = ParseU64(*v);
  if (!n || *n < 1 || *n > static_cast<uint64_t>(max)) return std::nullopt;
  return static_cast<int>(*n);
}

}  // namespace http
