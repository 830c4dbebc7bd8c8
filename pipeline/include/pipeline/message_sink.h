// MessageSink: where a front end (SMTP, HTTP) hands a received message to be made durable.
// The sink commits raw bytes, envelope and metadata to PostgreSQL and only then calls `done`
// with kAccepted; the front end must not acknowledge the message before that call.
//
// Thread-safety: Submit may be called from any thread; it must not block (it queues).
// `done` is called exactly once, from an unspecified thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace pipeline {

struct Envelope {
  std::string mail_from;             // reverse-path without angle brackets; "" for <>
  std::vector<std::string> rcpt_to;  // forward-paths without angle brackets, in order
  std::string client_ip;             // textual address of the peer
  uint16_t client_port = 0;
  std::string client_name;      // reverse DNS or what the MTA reported (milter)
  std::string helo;             // EHLO/HELO argument
  std::string tls_protocol;     // e.g. "TLSv1.3"; empty without TLS
  std::string tls_cipher;       // e.g. "TLS_AES_256_GCM_SHA384"
  std::string auth_user;        // authenticated user reported by a milter
  std::string queue_id;         // the MTA's queue id reported by a milter
  std::string source = "smtp";  // "smtp", "http", "milter", "journal"
  std::string listener;         // the listener that received it, e.g. "smtp:127.0.0.1:2525"
  // The API key whose holder stated this envelope (HTTP ingest, the milter); "" when the
  // notary observed it on its own SMTP listener. Bound by the leaf record.
  std::string asserted_by;
  // The operator declared this source a trusted journaling source (an SMTP client network of
  // --smtp-journal-from, or an API key with the `journal` scope): an Exchange journal report
  // from it is unwrapped and notarised with the envelope it states. From anywhere else a
  // report is notarised as received, with the envelope the notary saw (issue 17, finding 1).
  bool journal_trusted = false;
  bool smtputf8 = false;
  std::string body_type;  // "7BIT", "8BITMIME", "BINARYMIME" or empty
};

struct SubmitOutcome {
  enum class Kind {
    kAccepted,  // committed: reply 250 / 201
    kTempFail,  // not stored; the sender should retry (451 / 503)
    kPermFail,  // not stored; do not retry (554 / 4xx client error)
    kConflict,  // not stored: the idempotency key names another message (409)
  };
  Kind kind = Kind::kTempFail;
  std::string receipt_id;
  std::string raw_sha256_hex;
  std::string canonical_sha256_hex;
  std::string received_at;  // RFC 3339 UTC with microseconds
  std::string message;      // safe to show to the client (no SQL, no content)
};

class MessageSink {
 public:
  virtual ~MessageSink() = default;
  virtual void Submit(Envelope envelope, std::string raw,
                      std::function<void(SubmitOutcome)> done) = 0;
};

}  // namespace pipeline
