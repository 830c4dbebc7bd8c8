#include "signer/server.h"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <list>

namespace signer {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct Conn {
  int fd = -1;
  bool admin = false;
  std::string peer;
  FrameReader reader;
  std::string out;  // answer bytes not yet written
  SteadyClock::time_point last_activity;
};

std::string PeerOf(int fd) {
  struct ucred cred {};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return "unknown";
  return "uid=" + std::to_string(cred.uid) + " pid=" + std::to_string(cred.pid);
}

// Writes what the socket takes now; the rest waits for POLLOUT.
bool Flush(Conn& c) {
  while (!c.out.empty()) {
    const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (n <= 0) return false;
    c.out.erase(0, static_cast<size_t>(n));
  }
  return true;
}

// Reads what is there and answers every complete frame. False: close the connection.
bool ReadAndAnswer(Conn& c, Service& service) {
  char buf[16 * 1024];
  const ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) return true;
  if (n <= 0) return false;
  c.last_activity = SteadyClock::now();
  if (auto st = c.reader.Feed(std::string_view(buf, static_cast<size_t>(n))); !st.ok()) {
    spdlog::warn("event=signer_refused request=frame peer=\"{}\" reason=\"invalid {}\"", c.peer,
                 st.error().message());
    return false;
  }
  while (auto frame = c.reader.Next()) {
    const Frame answer = service.Handle(*frame, c.peer, c.admin);
    auto bytes = EncodeFrame(answer.kind, answer.body);
    if (!bytes.ok()) {
      // An answer too long for a frame is refused, not dropped with the connection: the
      // client learns why.
      spdlog::warn("event=signer_refused peer=\"{}\" reason=\"unavailable {}\"", c.peer,
                   bytes.error().message());
      bytes = EncodeFrame(Kind::kRefused, "unavailable the answer does not fit in a frame");
      if (!bytes.ok()) return false;
    }
    c.out += *bytes;
    // A peer that sends requests without reading answers is not served further.
    if (c.out.size() > 4 * kMaxFrameBytes) return false;
  }
  return Flush(c);
}

}  // namespace

common::Result<int> Listen(const std::string& path, unsigned mode, int gid) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return common::Error::InvalidInput("socket path must be 1.." +
                                       std::to_string(sizeof(addr.sun_path) - 1) + " bytes");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  struct stat sb {};
  if (::lstat(path.c_str(), &sb) == 0) {
    if (!S_ISSOCK(sb.st_mode)) {
      return common::Error::InvalidInput(path + " exists and is not a socket");
    }
    // Another signer still serving this socket would keep its own idea of the last block
    // signed: two of them could each sign a different block at one height.
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool live =
        probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (probe >= 0) ::close(probe);
    if (live) return common::Error::Conflict("another process serves " + path);
    ::unlink(path.c_str());
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return common::Error::Unavailable(std::string("socket: ") + std::strerror(errno));
  // Created with no access for anyone, then opened to the owner (and group): no window in
  // which another user could connect.
  const mode_t old = ::umask(0777);
  const int bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (bound != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return common::Error::Unavailable("cannot bind " + path + ": " + why);
  }
  if ((gid >= 0 && ::chown(path.c_str(), static_cast<uid_t>(-1), static_cast<gid_t>(gid)) != 0) ||
      ::chmod(path.c_str(), mode) != 0 || ::listen(fd, 64) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return common::Error::Unavailable("cannot set up " + path + ": " + why);
  }
  return fd;
}

common::Status Serve(const ServerOptions& options, const std::vector<Listener>& listeners,
                     Service& service, int stop_fd) {
  std::list<Conn> conns;
  std::vector<pollfd> fds;
  while (true) {
    fds.clear();
    fds.push_back({stop_fd, POLLIN, 0});
    const bool accepting = static_cast<int>(conns.size()) < options.max_clients;
    for (const Listener& l : listeners) fds.push_back({accepting ? l.fd : -1, POLLIN, 0});
    for (const Conn& c : conns) {
      fds.push_back({c.fd, static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0});
    }
    const int ready = ::poll(fds.data(), fds.size(), 1000);
    if (ready < 0 && errno != EINTR) {
      return common::Error::Unavailable(std::string("poll: ") + std::strerror(errno));
    }
    if (fds[0].revents != 0) break;
    for (size_t l = 0; l < listeners.size(); ++l) {
      if (ready <= 0 || !accepting || (fds[1 + l].revents & POLLIN) == 0) continue;
      const int cfd = ::accept4(listeners[l].fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (cfd >= 0) {
        Conn c;
        c.fd = cfd;
        c.admin = listeners[l].admin;
        c.peer = PeerOf(cfd) + (c.admin ? " admin" : "");
        c.last_activity = SteadyClock::now();
        conns.push_back(std::move(c));
      }
    }
    const auto now = SteadyClock::now();
    size_t i = 1 + listeners.size();
    for (auto it = conns.begin(); it != conns.end(); ++i) {
      bool keep = true;
      // Connections accepted in this round have no pollfd yet.
      if (i < fds.size() && fds[i].fd == it->fd) {
        const short ev = fds[i].revents;
        if ((ev & (POLLERR | POLLNVAL)) != 0) keep = false;
        if (keep && (ev & (POLLIN | POLLHUP)) != 0) keep = ReadAndAnswer(*it, service);
        if (keep && (ev & POLLOUT) != 0) keep = Flush(*it);
      }
      if (keep && now - it->last_activity > std::chrono::milliseconds(options.idle_timeout_ms)) {
        keep = false;
      }
      if (keep) {
        ++it;
      } else {
        ::close(it->fd);
        it = conns.erase(it);
      }
    }
  }
  for (Conn& c : conns) ::close(c.fd);
  return common::Ok();
}

}  // namespace signer
