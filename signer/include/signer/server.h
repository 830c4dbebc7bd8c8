// Serve: notary-signer's Unix stream socket. One thread polls the listening socket and every
// connection; each complete request frame is answered by the Service before the next is
// read, so requests are handled one at a time in arrival order. A connection that sends a
// bad frame, more than one frame's worth of unanswered bytes, or stays silent past the idle
// timeout is closed; at most `max_clients` connections are open at once (more wait in the
// listen backlog). Nothing here can block on one peer.
//
// Thread-safety: Serve runs on the calling thread until `stop_fd` becomes readable.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "signer/service.h"

namespace signer {

struct ServerOptions {
  int max_clients = 16;
  int idle_timeout_ms = 60'000;
};

// A listening socket; requests on an `admin` one may also rotate keys (the operator's
// socket, mode 0600), on the other not (notaryd's, mode 0660 for its group).
struct Listener {
  int fd = -1;
  bool admin = false;
};

// Binds a Unix socket at `path` with `mode` (and group `gid` unless -1): created with no
// access, then opened, so no one else can connect in between. A socket left by a dead signer
// is replaced; one that a live process still serves is not (kConflict), nor anything that is
// not a socket (kInvalidInput). kUnavailable when the socket cannot be made.
common::Result<int> Listen(const std::string& path, unsigned mode, int gid = -1);
// Serves until `stop_fd` is readable.
common::Status Serve(const ServerOptions& options, const std::vector<Listener>& listeners,
                     Service& service, int stop_fd);

}  // namespace signer
