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

#include "log/leaf_record.h"

namespace pipeline {

// One message as a front end received it. `envelope` is what the notary observed on SMTP or
// what an API key stated (leaf record: through its digest); `provenance` says how it arrived
// and who stated what (bound from leaf record version 2 on; ingest fills in the node and the
// journal report's hash). Nothing here is trusted: ingest replaces invalid UTF-8 before it
// builds the receipt.
struct Arrival {
  notary::Envelope envelope;
  notary::Provenance provenance;
  // The operator declared this source a trusted journaling source (an SMTP client network of
  // --smtp-journal-from, or an API key with the `journal` scope): an Exchange journal report
  // from it is unwrapped and notarised with the envelope it states. From anywhere else a
  // report is notarised as received, with the envelope the notary saw (issue 17, finding 1).
  bool journal_trusted = false;
  // Transport facts (not bound).
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
  virtual void Submit(Arrival arrival, std::string raw,
                      std::function<void(SubmitOutcome)> done) = 0;
};

}  // namespace pipeline
