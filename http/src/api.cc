#include "http/api.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <future>

#include "common/time.h"
#include "common/utf8.h"
#include "http/envelope.h"
#include "http/front_door.h"
#include "openapi.h"
#include "pipeline/checkpoint_publisher.h"
#include "pipeline/sender_checker.h"
#include "receipt_json.h"
#include "routes.h"
#include "sender/authentication_json.h"
#include "util.h"

namespace http {
namespace {

// The largest request body: a message of the configured size, plus room for the envelope
// body form's command lines (512 octets each, one per recipient, MAIL and DATA).
size_t MaxBody(const HttpOptions& o) {
  return static_cast<size_t>(o.max_message_bytes) + 512 * (o.max_recipients + 2) + 1;
}

}  // namespace

HttpApi::HttpApi(HttpOptions options, HttpDeps deps) : options_(std::move(options)), deps_(deps) {}

HttpApi::~HttpApi() { Stop(); }

common::Status HttpApi::Start() {
  if (front_door_) return common::Error::Internal("HTTP API already started");
  server_ = std::make_unique<HttpRouter>();
  server_->set_payload_max_length(MaxBody(options_));
  // Only for the Keep-Alive header cpp-httplib writes; the front door enforces both.
  server_->set_keep_alive_timeout(
      std::chrono::duration_cast<std::chrono::seconds>(options_.keepalive_timeout).count());
  server_->set_keep_alive_max_count(1000);
  Routes();

  HttpFrontDoorConfig c;
  c.listen_address = options_.host;
  c.port = options_.port;
  c.tls_cert_file = options_.tls_cert;
  c.tls_key_file = options_.tls_key;
  c.worker_threads = static_cast<int>(options_.threads);
  c.max_connections = options_.max_connections;
  c.max_connections_per_ip = options_.max_connections_per_ip;
  c.header_timeout = options_.header_timeout;
  c.keepalive_timeout = options_.keepalive_timeout;
  c.body_timeout = options_.body_timeout;
  c.write_timeout = options_.write_timeout;
  // The same bound as cpp-httplib's payload limit: a larger declared body gets 413 at once.
  c.max_body_bytes = MaxBody(options_);
  c.max_requests_per_connection = 1000;
  front_door_ = std::make_unique<HttpFrontDoor>(std::move(c), *server_);
  if (auto st = front_door_->Start(); !st.ok()) {
    front_door_.reset();
    return st;
  }
  bound_port_ = front_door_->port();
  deps_.metrics.AddCollector([stats = front_door_->shared_stats()](std::string& out) {
    AppendHttpFrontDoorMetrics(stats->Snapshot(), out);
  });
  spdlog::info("event=http_listening address={}:{} tls={}", options_.host, bound_port_,
               !options_.tls_cert.empty());
  return common::Ok();
}

void HttpApi::Stop() {
  if (front_door_) front_door_->Stop();
}

void HttpApi::Routes() {
  httplib::Server& s = *server_;
  HttpDeps& d = deps_;

  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    SendError(res, 500, "internal", "internal error");
  });
  s.set_pre_routing_handler([&d](const httplib::Request&, httplib::Response& res) {
    d.metrics.http_requests.fetch_add(1, std::memory_order_relaxed);
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Cache-Control", "no-store");
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    switch (res.status) {
      case 404:
        SendError(res, 404, "not_found", "no such route");
        break;
      case 413:
        SendError(res, 413, "too_large", "request body too large");
        break;
      case 400:
        SendError(res, 400, "bad_request", "malformed request");
        break;
      default:
        SendError(res, res.status, "error", "request failed");
        break;
    }
  });

  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    SendJson(res, {{"status", "ok"}});
  });
  s.Get("/readyz", [&d](const httplib::Request&, httplib::Response& res) {
    if (d.db.Ping()) {
      // Ready means "can take mail": receipts are durable without the signer, so a signer
      // that is down pauses sealing and says so here, without turning mail away.
      nlohmann::json body = {{"status", "ready"}};
      const int signer = d.metrics.signer_up.load();
      if (signer >= 0) {
        body["signer"] = signer == 1 ? "reachable" : "unreachable";
        // A signer that refuses every block (a fork, a clock off by minutes, a key it does not
        // hold) stops sealing as surely as one that is down: say which.
        body["sealing"] = signer != 1                             ? "paused"
                          : d.metrics.signer_refusing.load() == 1 ? "refused"
                                                                  : "running";
      }
      if (d.publisher != nullptr) {
        // Mail is still taken and sealed without witnesses; what waits is publishing.
        const bool reached = d.publisher->quorum_reached();
        body["witness_quorum"] = reached ? "reached" : "unreachable";
        if (!reached) body["publishing"] = "waiting: " + d.publisher->last_problem();
      }
      SendJson(res, body);
    } else {
      res.set_header("Retry-After", "5");
      SendError(res, 503, "unavailable", "database unreachable");
    }
  });
  s.Get("/metrics", [&d](const httplib::Request&, httplib::Response& res) {
    res.set_content(d.metrics.Render(), "text/plain; version=0.0.4");
  });

  // Ingest: the raw message as the body; durable before 201.
  s.Post("/v1/messages", [&d, this](const httplib::Request& req, httplib::Response& res) {
    auto who = RequireScope(d, req, res, "ingest");
    if (!who) return;
    const std::string ctype = req.get_header_value("Content-Type");
    if (!ctype.empty() && ctype.rfind("message/rfc822", 0) != 0 &&
        ctype.rfind("application/octet-stream", 0) != 0 && ctype.rfind(kEnvelopeBodyType, 0) != 0) {
      return SendError(res, 415, "unsupported_media_type",
                       "send the message as Content-Type: message/rfc822, or with its envelope "
                       "as " +
                           std::string(kEnvelopeBodyType));
    }
    std::string_view message;
    auto arrival = ArrivalFromRequest(req, *who, options_.max_recipients, message);
    if (!arrival.ok()) return SendErrorFor(res, arrival.error(), "bad_envelope");
    if (message.size() > options_.max_message_bytes) {
      return SendError(res, 413, "too_large", "message larger than the configured limit");
    }
    // A bare message must have bytes; the envelope form may carry an empty one, as SMTP may.
    if (req.body.empty()) return SendError(res, 400, "empty_body", "the message body is empty");
    pipeline::Ingestor::Extra extra;
    extra.tenant = who->tenant;
    extra.idempotency_key = req.get_header_value("Idempotency-Key");
    if (extra.idempotency_key.size() > 200) {
      return SendError(res, 400, "bad_idempotency_key", "Idempotency-Key is at most 200 bytes");
    }
    // Stored as text: other bytes would fail the commit, and the client would retry forever.
    for (unsigned char ch : extra.idempotency_key) {
      if (ch < 0x20 || ch > 0x7e) {
        return SendError(res, 400, "bad_idempotency_key",
                         "Idempotency-Key must be printable ASCII");
      }
    }
    std::promise<pipeline::SubmitOutcome> promise;
    auto future = promise.get_future();
    d.ingestor.SubmitWithExtra(
        std::move(*arrival), std::string(message), std::move(extra),
        [&promise](pipeline::SubmitOutcome o) { promise.set_value(std::move(o)); });
    pipeline::SubmitOutcome out = future.get();
    if (out.kind == pipeline::SubmitOutcome::Kind::kConflict) {
      return SendError(res, 409, "idempotency_conflict", out.message);
    }
    if (out.kind != pipeline::SubmitOutcome::Kind::kAccepted) {
      res.set_header("Retry-After", "5");
      return SendError(res, 503, "unavailable", out.message);
    }
    d.metrics.http_ingest_accepted.fetch_add(1);
    SendJson(res,
             {{"id", out.receipt_id},
              {"raw_sha256", out.raw_sha256_hex},
              {"canonical_sha256", out.canonical_sha256_hex},
              {"received_at", out.received_at},
              {"status", "pending"},
              {"duplicate", out.message == "duplicate"}},
             out.message == "duplicate" ? 200 : 201);
  });

  s.Get(R"(/v1/messages/([^/]+))", [&d](const httplib::Request& req, httplib::Response& res) {
    auto who = RequireScope(d, req, res, "read");
    if (!who) return;
    const std::string id = req.matches[1];
    // The holds in force below include those by search, which read the index.
    if (d.holds != nullptr) {
      if (auto st = CatchUpIndex(d, who->tenant); !st.ok()) return SendErrorFor(res, st.error());
    }
    storage::ReadReplica::Scope scope;
    auto reads = PickReadStores(d, scope);
    if (!reads.ok()) return SendErrorFor(res, reads.error());
    auto row = reads->receipts->Get(id, who->tenant);
    if (!row.ok()) return SendErrorFor(res, row.error());
    if (!row->has_value()) return SendError(res, 404, "not_found", "no such message");
    LogAccess(d, *who, req, "GET /v1/messages/{id}", id, "");
    nlohmann::json body = ReceiptJson(**row);
    // null: not checked (sender checks off, not yet, or received before they were on).
    body["authentication"] = nullptr;
    if (reads->authentications != nullptr) {
      auto a = reads->authentications->Get(id);
      if (!a.ok()) return SendErrorFor(res, a.error());
      if (a->has_value()) {
        auto view = pipeline::AuthenticationViewOf(**a);
        if (!view.ok()) return SendErrorFor(res, view.error());
        body["authentication"] = notary::AuthenticationJson(*view);
      }
    }
    if (reads->holds != nullptr) {
      // The holds in force on it: while any is, nobody can erase it (docs/retention.md).
      auto holds = reads->holds->Covering(who->tenant, id);
      if (!holds.ok()) return SendErrorFor(res, holds.error());
      nlohmann::json list = nlohmann::json::array();
      for (const auto& h : *holds) list.push_back({{"id", h.id}, {"name", h.name}});
      body["holds"] = list;
    }
    if (reads->erasures != nullptr && (*row)->erased_at_us) {
      auto e = reads->erasures->Get(who->tenant, id);
      if (!e.ok()) return SendErrorFor(res, e.error());
      if (e->has_value()) body["erasure"] = ErasureJson(**e);
    }
    SendJson(res, body);
  });

  s.Get("/v1/messages", [&d](const httplib::Request& req, httplib::Response& res) {
    auto who = RequireScope(d, req, res, "read");
    if (!who) return;
    auto q = SearchFromRequest(req, who->tenant);
    if (!q.ok()) return SendError(res, 400, "bad_query", q.error().message());
    if (auto st = CatchUpIndex(d, who->tenant); !st.ok()) return SendErrorFor(res, st.error());
    storage::ReadReplica::Scope scope;
    auto reads = PickReadStores(d, scope);
    if (!reads.ok()) return SendErrorFor(res, reads.error());
    auto page = reads->receipts->Search(*q);
    if (!page.ok()) return SendErrorFor(res, page.error());
    nlohmann::json items = nlohmann::json::array();
    for (const auto& r : page->items) items.push_back(ReceiptJson(r));
    LogAccess(d, *who, req, "GET /v1/messages", "", req.params.empty() ? "" : "search");
    SendJson(res, {{"items", items},
                   {"next", page->next ? nlohmann::json(*page->next) : nlohmann::json()}});
  });

  // The access trail of the key's own tenant (admin scope).
  s.Get("/v1/access-log", [&d](const httplib::Request& req, httplib::Response& res) {
    auto who = RequireScope(d, req, res, "admin");
    if (!who) return;
    std::optional<std::string> receipt = Param(req, "receipt_id");
    if (receipt && !storage::IsUuid(*receipt)) {
      return SendError(res, 400, "bad_query", "receipt_id is a receipt id");
    }
    int limit = 100;
    if (auto v = Param(req, "limit")) {
      auto n = ParseU64(*v);
      if (!n || *n < 1 || *n > 1000) return SendError(res, 400, "bad_query", "limit is 1 to 1000");
      limit = static_cast<int>(*n);
    }
    auto entries = d.admin.ListAccess(who->tenant, receipt, limit);
    if (!entries.ok()) return SendErrorFor(res, entries.error());
    nlohmann::json items = nlohmann::json::array();
    for (const auto& e : *entries) {
      items.push_back(
          {{"at", common::FormatRfc3339Micros(e.at_us)},
           {"key_id", e.key_id},
           {"tenant", e.tenant},
           {"route", e.route},
           {"receipt_id", e.receipt_id.empty() ? nlohmann::json() : nlohmann::json(e.receipt_id)},
           {"client_ip", e.client_ip},
           {"detail", e.detail}});
    }
    SendJson(res, {{"items", items}});
  });

  // The API description (docs/openapi.yaml, compiled in).
  s.Get("/v1/openapi.yaml", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(OpenApiYaml()), "application/yaml");
  });

  RegisterChainRoutes(s, d, options_);
  if (d.holds != nullptr) RegisterHoldRoutes(s, d);
  if (d.erasures != nullptr) RegisterErasureRoutes(s, d);
  if (d.retention != nullptr) RegisterRetentionRoutes(s, d);
  if (d.cases != nullptr) RegisterCaseRoutes(s, d);
  RegisterConsoleRoutes(s, d);
}

}  // namespace http
