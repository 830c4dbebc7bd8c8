// NotaryClient: POSTs one message with its envelope to notaryd's HTTP ingest
// (POST /v1/messages, docs/mail-server-setup.md lists the X-Envelope-* headers it sends).
//
// Thread-safety: Submit may be called from many threads at once (one connection per call).
#pragma once

#include <chrono>
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

  // kUnavailable: retry later (connection failure, timeout, 5xx, 429, 401/403 while a key is
  // being rotated). kInvalidInput: notaryd refused the message for good (400, 413, 415).
  common::Result<NotaryReceipt> Submit(const SpoolRecord& record,
                                       const std::string& idempotency_key) const;

 private:
  std::string scheme_host_port_, path_prefix_;
  std::string api_key_;
  std::chrono::milliseconds timeout_;
};

}  // namespace milter
