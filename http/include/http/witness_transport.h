// The HTTP(S) client that carries C2SP tlog-witness add-checkpoint requests to witnesses
// (--witness) for pipeline::CheckpointPublisher, which opens no sockets itself.
//
// Thread-safety: the returned transport may be called from any thread; each call opens its
// own connection.
#pragma once

#include "pipeline/checkpoint_publisher.h"

namespace http {

// POSTs the body to `url` ("http://host[:port]/path" or "https://…") as text/plain and
// returns the status, Content-Type and body whatever the status. The whole exchange is bounded
// by the timeout the publisher passes (connect, send and every read; a witness that trickles
// its answer is cut at the deadline) and the answer by 64 KiB. kInvalidInput for a URL without
// a scheme; kUnavailable when the witness cannot be reached, is too slow or answers too much.
pipeline::WitnessTransport HttpWitnessTransport();

}  // namespace http
