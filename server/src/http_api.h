// HttpApi: the HTTP listener (cpp-httplib, HTTPS when a certificate is configured) and its
// routes. Every handler runs inside a guard that turns any exception into a JSON 500 with
// no internals; errors share one shape: {"error": {"code", "message"}}.
//
// Thread-safety: handlers run on httplib's worker threads; all state they touch is
// thread-safe. Start() runs the listener on its own thread; Stop() ends it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "auth.h"
#include "common/result.h"
#include "ingest.h"
#include "metrics.h"
#include "storage/admin_store.h"
#include "storage/receipt_store.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace server {

class Sealer;
class TsaService;

struct HttpOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port (tests)
  std::string tls_cert, tls_key;
  uint32_t threads = 8;
  uint64_t max_message_bytes = 50ull << 20;
  std::string node;
};

struct HttpDeps {
  storage::Database& db;
  storage::ReceiptStore& receipts;
  storage::AdminStore& admin;
  Ingestor& ingestor;
  Authenticator& auth;
  Metrics& metrics;
  Sealer* sealer = nullptr;                  // chain routes, when sealing is configured
  TsaService* tsa = nullptr;                 // RFC 3161 routes
  storage::JournalStore* journal = nullptr;  // journal reports, for evidence bundles
};

class HttpApi {
 public:
  HttpApi(HttpOptions options, HttpDeps deps);
  ~HttpApi();

  common::Status Start();  // binds, then serves on a thread
  void Stop();
  uint16_t port() const { return bound_port_; }

 private:
  void Routes();

  HttpOptions options_;
  HttpDeps deps_;
  std::unique_ptr<httplib::Server> server_;
  uint16_t bound_port_ = 0;
  std::jthread thread_;
};

}  // namespace server
