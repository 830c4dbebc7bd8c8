// HttpApi: the HTTP listener and its routes. Connections (HTTPS when a certificate is
// configured) are handled by an Asio event loop with per-connection limits and deadlines
// (HttpFrontDoor, http/front_door.h); complete requests are routed by cpp-httplib on a
// fixed pool of worker threads. Every handler runs inside a guard that turns any exception
// into a JSON 500 with no internals; errors share one shape: {"error": {"code", "message"}}.
//
// Thread-safety: handlers run on the front door's worker threads; all state they touch is
// thread-safe. Start() starts the listener's threads; Stop() ends them.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/result.h"
#include "pipeline/auth.h"
#include "pipeline/ingest.h"
#include "pipeline/production_certificate.h"
#include "storage/admin_store.h"
#include "storage/authentication_store.h"
#include "storage/case_store.h"
#include "storage/chain_store.h"
#include "storage/erasure_store.h"
#include "storage/export_progress_store.h"
#include "storage/hold_store.h"
#include "storage/journal_store.h"
#include "storage/read_replica.h"
#include "storage/receipt_store.h"
#include "storage/retention_store.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace pipeline {
class CheckpointPublisher;
class Sealer;
class TsaService;
}  // namespace pipeline

namespace http {

class HttpFrontDoor;
class HttpRouter;

struct HttpOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port (tests)
  std::string tls_cert, tls_key;
  uint32_t threads = 8;  // workers running the routes
  uint64_t max_message_bytes = 50ull << 20;
  size_t max_recipients = 1000;  // per message, as on SMTP (--max-recipients)
  std::string node;
  // The front door's limits (HttpFrontDoorConfig says what happens at each).
  uint32_t max_connections = 4096;
  uint32_t max_connections_per_ip = 128;
  std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds keepalive_timeout{std::chrono::seconds(5)};
  std::chrono::milliseconds body_timeout{std::chrono::seconds(60)};
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
  // GET .../evidence?wait=: a waiting request sleeps on the sealer's notifier and is woken
  // when a block commits; it also re-reads its receipt this often in case a notification was
  // lost (a hung LISTEN session).
  std::chrono::milliseconds evidence_wait_recheck{std::chrono::seconds(5)};
  // POST /v1/tsa without an API key. Off: a key with the `tsa` scope is needed.
  bool public_tsa = false;
};

// The stores over a read replica (--read-database-url): messages, search, evidence bundles,
// blocks, proofs, tiles and checkpoints are read there whenever `gate` finds the replica as
// fresh as the primary, and from the primary otherwise (docs/high-availability.md).
struct ReplicaStores {
  storage::ReadReplica& gate;
  storage::ReceiptStore& receipts;
  storage::ChainStore& chain;
  storage::AdminStore& admin;
  storage::JournalStore* journal = nullptr;
  storage::AuthenticationStore* authentications = nullptr;
  storage::HoldStore* holds = nullptr;
  storage::ErasureStore* erasures = nullptr;
};

struct HttpDeps {
  storage::Database& db;
  storage::ReceiptStore& receipts;
  storage::AdminStore& admin;
  pipeline::Ingestor& ingestor;
  pipeline::Authenticator& auth;
  common::Metrics& metrics;
  pipeline::Sealer* sealer = nullptr;        // chain routes, when sealing is configured
  pipeline::TsaService* tsa = nullptr;       // RFC 3161 routes
  storage::JournalStore* journal = nullptr;  // journal reports, for evidence bundles
  // Witnesses (--witness): /v1/checkpoint publishes only what their quorum cosigned.
  pipeline::CheckpointPublisher* publisher = nullptr;
  // Sender evidence (--sender-checks): the receipt's `authentication` object.
  storage::AuthenticationStore* authentications = nullptr;
  // The checker's window (--sender-check-max-delay-s): a bundle of a message received within it
  // waits for the message's checks (pipeline::EvidenceSources::checks_expected_since_us).
  std::chrono::seconds sender_check_max_delay{3600};
  // Legal holds (/v1/holds), and the holds in force on a message in GET /v1/messages/{id}.
  storage::HoldStore* holds = nullptr;
  // Erasure (POST /v1/messages/{id}/erase), and a message's `erasure` once erased.
  storage::ErasureStore* erasures = nullptr;
  // Retention periods (/v1/retention).
  storage::RetentionStore* retention = nullptr;
  // Cases (/v1/cases), and how their productions' certificate.pdf is made and signed.
  storage::CaseStore* cases = nullptr;
  // Where each export being built has got, on the primary: any node answers a poll.
  storage::ExportProgressStore* export_progress = nullptr;
  const pipeline::CertificateOptions* certificate = nullptr;
  const common::Clock* clock = &common::Clock::System();  // sessions, keys, issued_at
  ReplicaStores* replica = nullptr;                       // --read-database-url
};

class HttpApi {
 public:
  HttpApi(HttpOptions options, HttpDeps deps);
  ~HttpApi();

  // Binds, then serves; its counters are added to deps.metrics (http_connections_*).
  common::Status Start();
  void Stop();
  uint16_t port() const { return bound_port_; }

 private:
  void Routes();

  HttpOptions options_;
  HttpDeps deps_;
  std::unique_ptr<HttpRouter> server_;
  std::unique_ptr<HttpFrontDoor> front_door_;  // after server_: stopped before it goes
  uint16_t bound_port_ = 0;
};

}  // namespace http
