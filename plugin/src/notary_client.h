// NotaryClient: POSTs one message with its envelope to notaryd's HTTP ingest
// (POST /v1/messages, docs/mail-server-setup.md lists the X-Envelope-* headers it sends).
//
// Thread-safety: Submit may be called from many threads at once: without a Session each call
// has a connection of its own; a Session (one kept-alive connection) serves one thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/result.h"
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
  NotaryClient(std::string url, std::string api_key, std::chrono::milliseconds timeout);

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

 private:
  std::string scheme_host_port_, path_prefix_;
  std::string api_key_;
  std::chrono::milliseconds timeout_;
};

}  // namespace milter
