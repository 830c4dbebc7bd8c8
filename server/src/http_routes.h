// Route helpers and route groups registered by HttpApi.
#pragma once

#include <httplib.h>

#include <string>

#include "auth.h"
#include "common/result.h"
#include "http_api.h"
#include "message_sink.h"
#include "storage/receipt_store.h"

namespace server {

// The envelope an HTTP client declares: X-Envelope-From, X-Envelope-To (comma-separated),
// and the milter's X-Envelope-Client-Address, -Client-Port, -Client-Name, -Helo,
// -TLS-Version, -TLS-Cipher, -Auth-User, -Queue-Id, -Source.
common::Result<Envelope> EnvelopeFromHeaders(const httplib::Request& req);

// GET /v1/messages query parameters -> a search within `tenant`.
common::Result<storage::SearchQuery> SearchFromRequest(const httplib::Request& req,
                                                       const std::string& tenant);

// Appends to the access trail; a failure is logged, never shown to the client.
void LogAccess(HttpDeps& d, const Principal& who, const httplib::Request& req,
               const std::string& route, const std::string& receipt_id, const std::string& detail);

// Checkpoint, keys, blocks, proofs, tiles (and evidence bundles): http_chain_routes.cc.
void RegisterChainRoutes(httplib::Server& s, HttpDeps& d);
// GET /v1/messages/{id}/evidence: http_evidence_routes.cc.
void RegisterEvidenceRoutes(httplib::Server& s, HttpDeps& d, Sealer& sealer);
// The web console's pages, assets and /v1/session: http_console_routes.cc.
void RegisterConsoleRoutes(httplib::Server& s, HttpDeps& d);

}  // namespace server
