// Small helpers shared by the HTTP route files: the one error shape, JSON replies,
// authentication and parameter parsing.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/result.h"
#include "http/api.h"
#include "pipeline/auth.h"

namespace http {

// {"error": {"code": code, "message": message}} with `status`.
void SendError(httplib::Response& res, int status, const std::string& code,
               const std::string& message);
void SendJson(httplib::Response& res, const nlohmann::json& body, int status = 200);

// The one map from an error to a reply, for every route: kInvalidInput and kVerifyFailed 400,
// kPermissionDenied 403, kNotFound 404, kConflict 409, kTooLarge 413, kUnavailable 503 with
// Retry-After (only a dependency that is down: the database, the signer), kInternal 500.
// `code` names the error for 400s ("bad_query", "bad_envelope"); the others have fixed codes.
// The message of a kUnavailable or kInternal error is not shown: it may name internals.
int HttpStatusFor(common::ErrorCode code);
void SendErrorFor(httplib::Response& res, const common::Error& error,
                  const std::string& code = "bad_request");

// Authenticates the request (API key, or a console session cookie) at d.clock's time and
// checks `scope`; on failure sends 401/403/429/503 and returns nullopt.
std::optional<pipeline::Principal> RequireScope(HttpDeps& d, const httplib::Request& req,
                                                httplib::Response& res, const std::string& scope);

// A query parameter, when present (and non-empty).
std::optional<std::string> Param(const httplib::Request& req, const char* name);
// Parses a non-negative decimal integer; nullopt on anything else.
std::optional<uint64_t> ParseU64(const std::string& s);
// A list's ?limit=: `fallback` when absent, nullopt when not 1 to `max`.
std::optional<int> ListLimit(const httplib::Request& req, int fallback, int max);

}  // namespace http
