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

#include "common/result.h"
#include "signer/service.h"

namespace signer {

struct ServerOptions {
  std::string socket_path;
  unsigned socket_mode = 0660;  // owner and the group that may ask (notaryd's)
  int socket_gid = -1;          // -1: the process's group
  int max_clients = 16;
  int idle_timeout_ms = 60'000;
};

// Binds the socket (replacing a stale one at the path), then serves until `stop_fd` is
// readable. kUnavailable when the socket cannot be made.
common::Result<int> Listen(const ServerOptions& options);
common::Status Serve(const ServerOptions& options, int listen_fd, Service& service, int stop_fd);

}  // namespace signer
