// Route helpers and route groups registered by HttpApi.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"
#include "http/api.h"
#include "pipeline/auth.h"
#include "pipeline/message_sink.h"
#include "storage/receipt_store.h"

namespace http {

// The envelope an HTTP client states (http/envelope.h: the X-Envelope-From/-To headers or the
// envelope body form) and, for a key with the `relay` scope only, what the forwarding MTA
// observed: X-Envelope-Client-Address, -Client-Port, -Client-Name, -Helo, -TLS-Version,
// -TLS-Cipher, -Auth-User, -Queue-Id, -Source. The envelope records which key stated it
// (asserted_by) and whether the key is a trusted journaling source (`journal` scope).
// `message` is set to the message bytes within the body. Errors: kInvalidInput (400),
// kPermissionDenied (403: relay headers without the `relay` scope).
common::Result<pipeline::Arrival> ArrivalFromRequest(const httplib::Request& req,
                                                     const pipeline::Principal& who,
                                                     size_t max_recipients,
                                                     std::string_view& message);

// GET /v1/messages query parameters -> a search within `tenant`.
common::Result<storage::SearchQuery> SearchFromRequest(const httplib::Request& req,
                                                       const std::string& tenant);

// The stores a read route uses: the replica's when it shows everything the primary had
// acknowledged before this call (`scope` then holds that floor, and must outlive the reads),
// else the primary's. `chain` is null without a sealer. Writes (the access trail) always go to
// HttpDeps' own stores. Errors: the primary is unreachable (kUnavailable).
struct ReadStores {
  storage::ReceiptStore* receipts = nullptr;
  storage::ChainStore* chain = nullptr;
  storage::AdminStore* admin = nullptr;
  storage::JournalStore* journal = nullptr;
  storage::AuthenticationStore* authentications = nullptr;
  storage::HoldStore* holds = nullptr;
  storage::ErasureStore* erasures = nullptr;
};
common::Result<ReadStores> PickReadStores(HttpDeps& d, storage::ReadReplica::Scope& scope);

// Indexes the tenant's receipts still queued for the search index (storage/receipt_index.h),
// on the primary, so that a search or a hold's coverage read after it sees every message
// acknowledged before. Call it before PickReadStores: the replica then waits for these rows too.
common::Status CatchUpIndex(HttpDeps& d, const std::string& tenant);

// Appends to the access trail; a failure is logged, never shown to the client.
void LogAccess(HttpDeps& d, const pipeline::Principal& who, const httplib::Request& req,
               const std::string& route, const std::string& receipt_id, const std::string& detail);

// Checkpoint, keys, blocks, proofs, tiles (and evidence bundles): chain_routes.cc.
void RegisterChainRoutes(httplib::Server& s, HttpDeps& d, const HttpOptions& options);
// GET /v1/messages/{id}/evidence: evidence_routes.cc.
void RegisterEvidenceRoutes(httplib::Server& s, HttpDeps& d, pipeline::Sealer& sealer,
                            std::chrono::milliseconds wait_recheck);
// Legal holds (/v1/holds): hold_routes.cc. ActionRecordJson: where the log holds an action
// record (its leaf hash, and index and block once sealed), as holds and erasures show it.
void RegisterHoldRoutes(httplib::Server& s, HttpDeps& d);
nlohmann::json ActionRecordJson(const storage::ActionRef& a);
// Erasure (POST /v1/messages/{id}/erase): erasure_routes.cc. ErasureJson: the `erasure` object
// of GET /v1/messages/{id}.
void RegisterErasureRoutes(httplib::Server& s, HttpDeps& d);
// Cases (/v1/cases): case_routes.cc.
// SearchQueryJson: a stored search (storage::SearchQueryToJson) as GET /v1/messages parameters,
// times in RFC 3339, as holds and case changes show it.
void RegisterCaseRoutes(httplib::Server& s, HttpDeps& d);
// GET /v1/cases/{id}/export (case_routes.cc): with a sealer, as evidence bundles.
void RegisterCaseExportRoute(httplib::Server& s, HttpDeps& d, pipeline::Sealer& sealer);
nlohmann::json SearchQueryJson(const std::string& stored);
// Retention (GET and PUT /v1/retention): retention_routes.cc.
void RegisterRetentionRoutes(httplib::Server& s, HttpDeps& d);
nlohmann::json ErasureJson(const storage::Erasure& e);
// The web console's pages, assets and /v1/session: console_routes.cc.
void RegisterConsoleRoutes(httplib::Server& s, HttpDeps& d);

}  // namespace http
