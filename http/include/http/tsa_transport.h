// The HTTP(S) client that carries RFC 3161 queries to external time-stamp authorities
// (--tsa-url) for pipeline::TsaService, which opens no sockets itself.
//
// Thread-safety: the returned transport may be called from any thread; each call opens its
// own connection.
#pragma once

#include "pipeline/tsa_service.h"

namespace http {

// POSTs the query to `url` ("http://host[:port]/path" or "https://…") as
// application/timestamp-query with a 5 s connect and 10 s read/write timeout, and a 1 MiB
// limit on the reply. kInvalidInput for a URL without a scheme; kUnavailable when the
// authority cannot be reached, answers other than 200, or sends more than the limit.
pipeline::TsaTransport HttpTsaTransport();

}  // namespace http
