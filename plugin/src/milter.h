// Milter: libmilter callbacks that record each message's true envelope and content, and
// at end of data either forward it to notaryd and wait for the receipt (fail-closed) or
// spool it durably for the Forwarder (fail-open).
//
// libmilter calls the callbacks from one thread per SMTP connection; the per-connection state
// lives in smfi_setpriv and is touched only by that connection's thread. The shared objects
// (client, spool, forwarder, stats) are thread-safe.
#pragma once

#include <libmilter/mfapi.h>

#include <string>

#include "forwarder.h"
#include "notary_client.h"
#include "spool.h"
#include "stats.h"

namespace milter {

enum class Mode { kFailOpen, kFailClosed };

struct MilterContext {
  Mode mode = Mode::kFailClosed;
  bool add_header = false;
  const NotaryClient* client = nullptr;
  Spool* spool = nullptr;          // fail-open only
  Forwarder* forwarder = nullptr;  // fail-open only
  Stats* stats = nullptr;
};

// The libmilter filter description; `ctx` must outlive smfi_main().
smfiDesc MakeFilterDescription(MilterContext* ctx);

// libmilter's socket spec from ours: inet:HOST:PORT -> inet:PORT@HOST,
// inet6:[HOST]:PORT -> inet6:PORT@HOST; unix:PATH, local:PATH and libmilter's own forms pass.
common::Result<std::string> MilterSocketSpec(const std::string& listen);

}  // namespace milter
