// NotaryClient: POSTs one message with its envelope to notaryd's HTTP ingest
// (POST /v1/messages, docs/mail-server-setup.md lists the X-Envelope-* headers it sends).
//
// Thread-safety: Submit may be called from many threads at once: without a Session a call
// borrows a kept-alive connection from a bounded pool (and waits for one when all are busy);
// a Session (one kept-alive connection) serves one thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/thread_annotations.h"
#include "spool_record.h"

namespace milter {

struct NotaryReceipt {
  std::string id;
  std::string canonical_sha256;  // hex
  bool duplicate = false;        // a repeated Idempotency-Key: the first receipt
};

class NotaryClient {
 public:
  // `url`: http://host:port (a path prefix is allowed); `api_key`: an ingest-scope key.
  // `max_connections`: the pool's bound. Each open connection holds one of notaryd's HTTP
  // worker threads while it stays alive, so the bound must stay below notaryd's
  // --http-threads; a connection per call instead would cost both sides a TCP handshake
  // and notaryd a connection set-up for every message.
  NotaryClient(std::string url, std::string api_key, std::chrono::milliseconds timeout,
               int max_connections = 4);
  ~NotaryClient();

  // A connection kept alive across requests, for a thread that sends one after another
  // (the forwarder): no TCP handshake per message for either side.
  class Session {
   public:
    ~Session();

   private:
    friend class NotaryClient;
    struct Impl;
    explicit Session(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
  };
  std::unique_ptr<Session> NewSession() const;

  // kUnavailable: retry later (connection failure, timeout, 5xx, 429, 401/403 while a key is
  // being rotated). kInvalidInput: notaryd refused the message for good (400, 413, 415).
  common::Result<NotaryReceipt> Submit(const SpoolRecord& record,
                                       const std::string& idempotency_key,
                                       Session* session = nullptr) const;

  // Connections open in the pool (idle or lent out), for tests and the status endpoint.
  int pooled_connections() const EXCLUDES(pool_mu_);

 private:
  // Result of one POST; `transport_ok` false when the connection itself failed (it is then
  // not reused).
  common::Result<NotaryReceipt> Post(Session& session, const SpoolRecord& record,
                                     const std::string& idempotency_key, bool& transport_ok) const;
  common::Result<std::unique_ptr<Session>> Borrow() const EXCLUDES(pool_mu_);
  void Return(std::unique_ptr<Session> session, bool reusable) const EXCLUDES(pool_mu_);

  std::string scheme_host_port_, path_prefix_;
  std::string api_key_;
  std::chrono::milliseconds timeout_;
  int max_connections_;
  mutable common::Mutex pool_mu_;
  mutable std::condition_variable_any pool_cv_;
  mutable std::vector<std::unique_ptr<Session>> idle_ GUARDED_BY(pool_mu_);
  mutable int open_ GUARDED_BY(pool_mu_) = 0;
};

}  // namespace milter
